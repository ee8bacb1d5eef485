package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
)

// hangingServer accepts TCP connections on loopback and never answers: an API server that is up
// but stuck.
func hangingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_, _ = io.Copy(io.Discard, c) // read the request (or TLS hello), answer nothing
				<-done
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() { close(done); ln.Close() })
	return "https://" + ln.Addr().String()
}

func writeKubeconfig(t *testing.T, server string, contexts ...string) string {
	t.Helper()
	if len(contexts) == 0 {
		contexts = []string{"test"}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: %s\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n", server)
	for _, c := range contexts {
		fmt.Fprintf(&b, "- name: %s\n  context:\n    cluster: c\n    user: u\n    namespace: shop\n", c)
	}
	fmt.Fprintf(&b, "current-context: %s\n", contexts[0])
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runRoot(t *testing.T, f *factory, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, f)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// TestUnresponsiveServerBoundsEveryCommand runs every command that talks to a cluster against an
// API server that accepts connections and never answers: each one must end within the request
// timeout plus a second (the first request times out; the others fail at once), exit 3, and name
// the server and what timed out.
func TestUnresponsiveServerBoundsEveryCommand(t *testing.T) {
	server := hangingServer(t)
	kubeconfig := writeKubeconfig(t, server)
	const timeout = time.Second
	tests := []struct {
		name string
		args []string
		// defaultTimeout runs without --request-timeout, with the factory's default lowered
		defaultTimeout bool
	}{
		{name: "lint --live", args: []string{"lint", "--live"}},
		{name: "lint --live -A", args: []string{"lint", "--live", "-A"}},
		{name: "diagnose svc", args: []string{"diagnose", "svc/web"}},
		{name: "diagnose -A", args: []string{"diagnose", "-A"}},
		{name: "dnscheck", args: []string{"dnscheck", "web"}},
		{name: "probes svc", args: []string{"probes", "svc/web"}},
		{name: "probes deploy", args: []string{"probes", "deploy/web"}},
		{name: "ingresscheck URL", args: []string{"ingresscheck", "http://shop.example.com/"}},
		{name: "ingresscheck ing", args: []string{"ingresscheck", "ing/web"}},
		{name: "expose deployment", args: []string{"expose", "deploy/web", "--port", "80"}},
		{name: "expose externalname", args: []string{"expose", "externalname", "pay", "--to", "api.example.com"}},
		{name: "cleanup", args: []string{"cleanup"}},
		{name: "default timeout applies without the flag", args: []string{"diagnose", "svc/web"}, defaultTimeout: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFactory()
			args := append(tc.args, "--kubeconfig", kubeconfig)
			if tc.defaultTimeout {
				f.defaultTimeout = timeout
			} else {
				args = append(args, "--request-timeout", timeout.String())
			}
			start := time.Now()
			_, stderr, err := runRoot(t, f, args...)
			took := time.Since(start)
			if took > timeout+time.Second {
				t.Errorf("took %s, want at most the request timeout %s + 1s", took.Round(10*time.Millisecond), timeout)
			}
			if code := cmdutil.ExitCode(err); code != cmdutil.ExitIncomplete {
				t.Errorf("exit code %d, want %d (err %v)", code, cmdutil.ExitIncomplete, err)
			}
			msg := fmt.Sprint(err) + "\n" + stderr
			if !strings.Contains(msg, "the API server "+server+" did not answer within 1s") {
				t.Errorf("the message does not name the server and the timeout:\n%s", msg)
			}
		})
	}
}

func TestKubeconfigErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	good := writeKubeconfig(t, "https://127.0.0.1:1", "dev", "prod")
	tests := []struct {
		name    string
		env     string
		args    []string
		wantErr string
	}{
		{name: "KUBECONFIG names a missing file", env: filepath.Join(dir, "nope"), args: []string{"diagnose", "svc/web"},
			wantErr: "KUBECONFIG names " + filepath.Join(dir, "nope") + ", which does not exist"},
		{name: "--kubeconfig names a missing file", args: []string{"diagnose", "svc/web", "--kubeconfig", filepath.Join(dir, "nope")},
			wantErr: "--kubeconfig " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{name: "wrong --context lists the contexts", args: []string{"lint", "--live", "--kubeconfig", good, "--context", "nope"},
			wantErr: `--context "nope" is not in ` + good + ": its contexts are dev, prod"},
		{name: "wrong --context through KUBECONFIG", env: good, args: []string{"probes", "svc/web", "--context", "staging"},
			wantErr: `--context "staging" is not in ` + good + ": its contexts are dev, prod"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tc.env)
			_, _, err := runRoot(t, newFactory(), tc.args...)
			if code := cmdutil.ExitCode(err); code != cmdutil.ExitUsage {
				t.Errorf("exit code %d, want %d (err %v)", code, cmdutil.ExitUsage, err)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestKubeconfigFlagsOnlyOnClusterCommands checks that the commands that never talk to a cluster
// do not offer the kubeconfig flags, and the others do.
func TestKubeconfigFlagsOnlyOnClusterCommands(t *testing.T) {
	root := NewRootCmd(genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	for _, c := range root.Commands() {
		has := c.PersistentFlags().Lookup("kubeconfig") != nil && c.PersistentFlags().Lookup("context") != nil
		switch c.Name() {
		case "rules", "explain", "version", "completion", "help":
			if has {
				t.Errorf("%s lists the kubeconfig flags", c.Name())
			}
		default:
			if !has {
				t.Errorf("%s does not take --kubeconfig/--context", c.Name())
			}
		}
		if c.Flags().Lookup("v") == nil && c.InheritedFlags().Lookup("v") == nil {
			t.Errorf("%s has no -v (log verbosity)", c.Name())
		}
	}
}

// TestClientsReadBigClustersQuickly: the Kubernetes client asks for protobuf and is not held back
// by client-go's default rate limit (5 requests/s), the Gateway API client (custom resources)
// asks for JSON.
func TestClientsReadBigClustersQuickly(t *testing.T) {
	accepts := make(chan string, 10)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accepts <- r.URL.Path + " " + r.Header.Get("Accept")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"List","apiVersion":"v1","metadata":{},"items":[]}`)
	}))
	t.Cleanup(srv.Close)
	f := newFactory()
	kc := writeKubeconfig(t, srv.URL)
	f.flags.KubeConfig = &kc
	c, err := f.Clients()
	if err != nil {
		t.Fatal(err)
	}
	rc, ok := c.Kube.CoreV1().RESTClient().(*rest.RESTClient)
	if !ok {
		t.Fatal("no REST client")
	}
	if qps := rc.GetRateLimiter().QPS(); qps < 50 {
		t.Errorf("the Kubernetes client is limited to %v requests/s, want at least 50", qps)
	}
	if _, err := c.Kube.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := <-accepts; !strings.HasPrefix(got, "/api/v1/pods application/vnd.kubernetes.protobuf") {
		t.Errorf("pod LIST sent %q, want protobuf first in Accept", got)
	}
	_, _ = c.Gateway.GatewayV1().HTTPRoutes("").List(context.Background(), metav1.ListOptions{})
	if got := <-accepts; strings.Contains(got, "protobuf") {
		t.Errorf("HTTPRoute LIST sent %q: custom resources are JSON only", got)
	}
}
