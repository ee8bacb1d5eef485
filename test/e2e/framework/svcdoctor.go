package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// SvcDoctorPackage is the main package of the kubectl plugin.
const SvcDoctorPackage = "./cmd/kubectl-svc_doctor"

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// SvcDoctorBinary builds kubectl-svc_doctor from this checkout once per test run and returns its
// path. The test is skipped (not failed) while the package does not exist yet.
func SvcDoctorBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		root := RepoRoot()
		if _, err := os.Stat(filepath.Join(root, SvcDoctorPackage)); err != nil {
			binErr = errSkip
			return
		}
		binDir, binErr = os.MkdirTemp("", "svc-doctor-e2e-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "kubectl-svc_doctor")
		cmd := exec.Command("go", "build", "-o", binPath, SvcDoctorPackage)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build %s: %v\n%s", SvcDoctorPackage, err, out)
		}
	})
	if errors.Is(binErr, errSkip) {
		t.Skipf("%s does not exist yet in this checkout", SvcDoctorPackage)
	}
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

var errSkip = errors.New("skip")

func cleanupBinary() {
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

// Result is the outcome of a kubectl-svc_doctor run.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// SvcDoctor runs `kubectl-svc_doctor ARGS...` against the cluster under test (KUBECONFIG) with a
// 2-minute timeout. A non-zero exit is reported in Result, not as an error.
func (f *F) SvcDoctor(args ...string) Result {
	f.T.Helper()
	bin := SvcDoctorBinary(f.T)
	ctx, cancel := context.WithTimeout(f.Ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+f.Cluster.Kubeconfig)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	default:
		f.T.Fatalf("run %s %v: %v", bin, args, err)
	}
	f.T.Logf("kubectl-svc_doctor %v: exit %d", args, res.ExitCode)
	return res
}
