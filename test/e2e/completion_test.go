package e2e

// Shell completion in a real interactive bash, driven through tmux: kubectl's own completion
// (source <(kubectl completion bash)) hands `kubectl svc-doctor ...` to
// hack/completion/kubectl_complete-svc_doctor, which asks kubectl-svc_doctor __complete. Names come
// from the cluster under test. Needs tmux and bash-completion (apt-get install tmux
// bash-completion); skipped with one line without them.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
)

const bashCompletion = "/usr/share/bash-completion/bash_completion"

// tmuxBash is an interactive bash in a private tmux server.
type tmuxBash struct {
	t      *testing.T
	socket string
}

func (b *tmuxBash) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", b.socket}, args...)...).CombinedOutput()
	return string(out), err
}

// pane returns the visible screen.
func (b *tmuxBash) pane() string {
	out, _ := b.tmux("capture-pane", "-p", "-J")
	return out
}

// typeKeys sends keys (tmux key names such as Tab and C-u work) and waits until the screen
// contains want.
func (b *tmuxBash) typeKeys(want string, keys ...string) string {
	b.t.Helper()
	if out, err := b.tmux(append([]string{"send-keys", "-t", "s", "--"}, keys...)...); err != nil {
		b.t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		p := b.pane()
		if strings.Contains(p, want) {
			return p
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("after typing %q the screen does not show %q:\n%s", keys, want, p)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitPromptLine waits until the last prompt line of the screen is exactly READY$ line (plus a
// trailing space at most: a complete word).
func (b *tmuxBash) waitPromptLine(line string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		last := ""
		for _, l := range strings.Split(b.pane(), "\n") {
			if strings.HasPrefix(l, "READY$ ") {
				last = strings.TrimSuffix(strings.TrimPrefix(l, "READY$ "), " ")
			}
		}
		if strings.TrimRight(last, " ") == line {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the command line is %q, want %q:\n%s", last, line, b.pane())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// clearLine empties the command line.
func (b *tmuxBash) clearLine() {
	b.t.Helper()
	if _, err := b.tmux("send-keys", "-t", "s", "C-u", "C-l"); err != nil {
		b.t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
}

// pluginKubectl is the kubectl the plugin is run through: $SVCDOC_KUBECTL, the harness's, or PATH's.
func pluginKubectl(t *testing.T) string {
	if p := os.Getenv("SVCDOC_KUBECTL"); p != "" {
		return p
	}
	cache := os.Getenv("SVCDOC_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "svc-doctor")
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "cluster", "k8s-v*", "bin", "kubectl")); len(m) > 0 {
		sort.Strings(m)
		return m[len(m)-1]
	}
	p, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("completion: no kubectl (set SVCDOC_KUBECTL)")
	}
	return p
}

func startBash(t *testing.T, kubeconfig string) *tmuxBash {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("completion: tmux is not installed (apt-get install tmux)")
	}
	if _, err := os.Stat(bashCompletion); err != nil {
		t.Skip("completion: bash-completion is not installed (apt-get install bash-completion)")
	}
	// not t.TempDir: bash (history) and kubectl (its discovery cache under $HOME) may still write
	// there for a moment after the tmux server is killed, and TempDir's cleanup fails on that
	dir, err := os.MkdirTemp("", "svcdoc-completion-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "hack", "completion", "kubectl_complete-svc_doctor"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "kubectl_complete-svc_doctor"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"kubectl": pluginKubectl(t), "kubectl-svc_doctor": framework.SvcDoctorBinary(t)} {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	rc := filepath.Join(dir, "bashrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf(`source %s
source <(kubectl completion bash)
bind 'set bell-style none'
PS1='READY$ '
`, bashCompletion)), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &tmuxBash{t: t, socket: "svcdoc-e2e-" + rand.String(6)}
	shell := fmt.Sprintf("env -i HOME=%s HISTFILE=/dev/null TERM=xterm PATH=%s:/usr/bin:/bin KUBECONFIG=%s bash --noprofile --rcfile %s -i", dir, bin, kubeconfig, rc)
	if out, err := b.tmux("new-session", "-d", "-s", "s", "-x", "220", "-y", "50", shell); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() {
		_, _ = b.tmux("kill-server")
		// wait until the server is gone (has-session fails), then remove the directory
		for i := 0; i < 50; i++ {
			if _, err := b.tmux("has-session"); err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		_ = os.RemoveAll(dir)
	})
	b.typeKeys("READY$")
	return b
}

func TestCompletionInBash(t *testing.T) {
	f := framework.New(t)
	f.Apply(`apiVersion: v1
kind: Service
metadata: {name: web-frontend}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web-backend}
spec:
  selector: {app: api}
  ports: [{port: 80}]
`)
	b := startBash(t, f.Cluster.Kubeconfig)
	// a subcommand
	b.typeKeys("kubectl svc-doctor lint ", "kubectl svc-doctor li", "Tab")
	b.clearLine()

	// a flag value: rule IDs
	b.typeKeys("yaml-tabs", "kubectl svc-doctor lint --disable yaml-t", "Tab")
	b.clearLine()

	// a flag name
	b.typeKeys("--fail-on ", "kubectl svc-doctor lint --fail-o", "Tab")
	b.clearLine()

	// namespaces from the cluster
	prefix := f.Namespace[:len(f.Namespace)-3]
	b.typeKeys("-n "+f.Namespace+" ", "kubectl svc-doctor lint --live -n "+prefix, "Tab")
	b.clearLine()

	// Service names from the cluster: svc/ first, then the names (two: listed on the second Tab)
	b.typeKeys(f.Namespace+" svc/", "kubectl svc-doctor diagnose -n "+f.Namespace+" s", "Tab")
	b.typeKeys(" svc/web-", "Tab") // the common prefix of the two names
	p := b.typeKeys("svc/web-frontend", "Tab", "Tab")
	if !strings.Contains(p, "svc/web-backend") {
		t.Errorf("both Services should be offered:\n%s", p)
	}
	b.typeKeys("svc/web-frontend", "f", "Tab")
	b.waitPromptLine("kubectl svc-doctor diagnose -n " + f.Namespace + " svc/web-frontend")
	t.Logf("screen:\n%s", b.pane())
	b.clearLine()

	// standalone: the script of `completion bash` completes the executable's own name
	b.typeKeys("READY$", "source <(kubectl-svc_doctor completion bash)", "Enter")
	b.clearLine()
	b.typeKeys("kubectl-svc_doctor diagnose ", "kubectl-svc_doctor diag", "Tab")
	b.typeKeys("svc/web-", "-n "+f.Namespace+" svc/", "Tab")
}
