package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
)

type ctxT = context.Context

var metav1GetOptions = metav1.GetOptions{}

// syncBuffer is a bytes.Buffer that a running process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// execStarted matches the -v=6 log line of the pods/exec request that runs the agent's checks
// (client-go logs a request once its response arrives: for an exec, when the stream is open and
// the agent runs).
var execStarted = regexp.MustCompile(`"Response" verb="(GET|POST)" url="[^"]*/pods/[^/"]+/exec\?[^"]*" status="101 `)

// background is a kubectl-svc_doctor process the test watches while it runs.
type background struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	started        time.Time
	done           chan struct{}
	err            error
	ended          time.Time
}

// startSvcDoctor starts kubectl-svc_doctor ARGS... against the cluster under test.
func startSvcDoctor(t *testing.T, f *framework.F, args ...string) *background {
	t.Helper()
	bin := framework.SvcDoctorBinary(t)
	b := &background{cmd: exec.Command(bin, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	b.cmd.Env = append(os.Environ(), "KUBECONFIG="+f.Cluster.Kubeconfig)
	b.cmd.Stdout, b.cmd.Stderr = b.stdout, b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.started = time.Now()
	go func() {
		b.err = b.cmd.Wait()
		b.ended = time.Now()
		close(b.done)
	}()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			_ = b.cmd.Process.Kill()
			<-b.done
		}
	})
	return b
}

// waitStderr waits until stderr matches re, and fails the test when the process ends first or
// timeout passes.
func (b *background) waitStderr(t *testing.T, desc string, re *regexp.Regexp, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !re.MatchString(b.stderr.String()) {
		select {
		case <-b.done:
			if re.MatchString(b.stderr.String()) {
				return
			}
			t.Fatalf("waiting for %s: the process ended first (%v)\nstdout:\n%s\nstderr:\n%s", desc, b.err, b.stdout, b.stderr)
		case <-deadline.C:
			t.Fatalf("waiting for %s: not within %s\nstderr:\n%s", desc, timeout, b.stderr)
		case <-tick.C:
		}
	}
}

// signal sends sig to the process (nothing when it has ended).
func (b *background) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := b.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
}

// wait waits for the end of the process (the test fails after timeout) and returns its exit code
// (-1 when a signal killed it).
func (b *background) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(timeout):
		_ = b.cmd.Process.Kill()
		<-b.done
		t.Fatalf("kubectl-svc_doctor %v did not end within %s\nstderr:\n%s", b.cmd.Args[1:], timeout, b.stderr)
	}
	var ee *exec.ExitError
	switch {
	case b.err == nil:
		return 0
	case errors.As(b.err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("kubectl-svc_doctor %v: %v", b.cmd.Args[1:], b.err)
	return -1
}
