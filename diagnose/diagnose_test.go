package diagnose

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/tracetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./diagnose -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./diagnose -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// runCmd runs the diagnose command's Options against a fake cluster and a fake agent.
func runCmd(t *testing.T, objs []runtime.Object, n *tracetest.FakeNet, setup func(*Options)) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	o := NewOptions(genericiooptions.IOStreams{Out: &out, ErrOut: &errOut})
	o.Client = fake.NewSimpleClientset(objs...)
	o.Namespace = tracetest.TestNS
	o.Now = tracetest.FixedClock
	if n != nil {
		o.Agents = &tracetest.Provider{Net: n}
	} else {
		o.Agents = &tracetest.Provider{Err: errors.New("no agent in this test")}
	}
	setup(o)
	err = o.Validate()
	if err == nil {
		err = o.Run(context.Background())
	}
	return out.String(), errOut.String(), err
}

func healthyCluster() ([]runtime.Object, *tracetest.FakeNet) {
	objs := []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("web"), tracetest.Pod("web-1", "web", "10.244.0.11"), tracetest.Pod("web-2", "web", "10.244.0.12"),
		tracetest.Slice("web", tracetest.SliceEP{IP: "10.244.0.11", Pod: "web-1", Ready: true}, tracetest.SliceEP{IP: "10.244.0.12", Pod: "web-2", Ready: true})}
	n := tracetest.NewNet()
	tracetest.HealthyZone(n, "web", "10.96.0.20")
	return objs, n
}

func TestGolden(t *testing.T) {
	healthyObjs, healthyNet := healthyCluster()
	typo := []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("web", tracetest.WithSelector(map[string]string{"app": "wbe"})), tracetest.Pod("web-1", "web", "10.244.0.11"), tracetest.Deployment("web", 1)}
	notListening := []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("web", tracetest.WithTargetPort(intstr.FromInt32(9090))), tracetest.Pod("web-1", "web", "10.244.0.11"), slice9090Single()}
	nlNet := tracetest.NewNet()
	tracetest.HealthyZone(nlNet, "web", "10.96.0.20")
	nlNet.Addr["10.244.0.11:9090"] = agent.FailRefused
	nlNet.Addr["10.96.0.20:80"] = agent.FailRefused
	tests := []struct {
		name     string
		objects  []runtime.Object
		net      *tracetest.FakeNet
		setup    func(*Options)
		wantCode int
	}{
		{name: "healthy.txt", objects: healthyObjs, net: healthyNet, setup: func(o *Options) { o.Name = "web" }},
		{name: "healthy.json", objects: healthyObjs, net: healthyNet, setup: func(o *Options) { o.Name, o.Output = "web", "json" }},
		{name: "healthy-timing.txt", objects: healthyObjs, net: healthyNet, setup: func(o *Options) { o.Name, o.ShowRequests = "web", true }},
		{name: "selector-typo.txt", objects: typo, net: tracetest.NewNet(), setup: func(o *Options) { o.Name = "web" }, wantCode: 1},
		{name: "selector-typo.json", objects: typo, net: tracetest.NewNet(), setup: func(o *Options) { o.Name, o.Output = "web", "json" }, wantCode: 1},
		{name: "not-listening.txt", objects: notListening, net: nlNet, setup: func(o *Options) { o.Name = "web" }, wantCode: 1},
		{name: "not-listening.yaml", objects: notListening, net: nlNet, setup: func(o *Options) { o.Name, o.Output = "web", "yaml" }, wantCode: 1},
		{name: "summary-static.txt", objects: append(append([]runtime.Object{}, healthyObjs...), tracetest.Service("api", tracetest.WithSelector(map[string]string{"app": "wbe"}))), setup: func(o *Options) {
			o.AllNamespaces, o.ExplicitNamespace, o.Static = true, true, true
		}, wantCode: 1},
		{name: "summary.txt", objects: append(append([]runtime.Object{}, healthyObjs...), tracetest.Service("api", tracetest.WithSelector(map[string]string{"app": "wbe"}))), net: healthyNet, setup: func(o *Options) {}, wantCode: 1},
		{name: "summary.json", objects: healthyObjs, net: healthyNet, setup: func(o *Options) { o.AllNamespaces, o.Output = true, "json" }},
		{name: "summary-static.json", objects: healthyObjs, setup: func(o *Options) { o.AllNamespaces, o.Output, o.Static = true, "json", true }},
		{name: "summary.junit.xml", objects: append(append([]runtime.Object{}, healthyObjs...), tracetest.Service("api", tracetest.WithSelector(map[string]string{"app": "wbe"}))), net: healthyNet, setup: func(o *Options) { o.Output = "junit" }, wantCode: 1},
		{name: "not-listening.junit.xml", objects: notListening, net: nlNet, setup: func(o *Options) { o.Name, o.Output = "web", "junit" }, wantCode: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runCmd(t, tc.objects, tc.net, tc.setup)
			if code := cmdutil.ExitCode(err); code != tc.wantCode {
				t.Errorf("exit code %d (%v), want %d", code, err, tc.wantCode)
			}
			golden(t, tc.name, []byte(out))
		})
	}
}

func slice9090Single() runtime.Object {
	s := tracetest.Slice("web", tracetest.SliceEP{IP: "10.244.0.11", Pod: "web-1", Ready: true})
	p := int32(9090)
	s.Ports[0].Port = &p
	return s
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*Options)
		err   string
	}{
		{name: "no target: every Service of the namespace", setup: func(o *Options) {}},
		{name: "--static with a name", setup: func(o *Options) { o.Name, o.Static = "web", true }, err: "--static applies to the summary of every Service (-A, or no Service named)"},
		{name: "--parallel 0", setup: func(o *Options) { o.Parallel = 0 }, err: "--parallel 0: use 1 to 64"},
		{name: "-A and a name", setup: func(o *Options) { o.Name, o.AllNamespaces = "web", true }, err: "-A summarises every Service: drop svc/web, or drop -A to diagnose it"},
		{name: "bad output", setup: func(o *Options) { o.Name, o.Output = "web", "xml" }, err: `--output "xml" is not supported: use one of table, wide, json, yaml, junit`},
		{name: "bad pull policy", setup: func(o *Options) { o.Name = "web"; o.Helper.ImagePullPolicy = "Sometimes" }, err: `--image-pull-policy "Sometimes": use Always, IfNotPresent or Never`},
		{name: "bad from", setup: func(o *Options) { o.Name = "web"; o.Helper.From = "web" }, err: `--from "web": write pod/NAME (a pod of the namespace)`},
		{name: "from and keep", setup: func(o *Options) { o.Name = "web"; o.Helper.From, o.Helper.KeepHelper = "pod/client", true }, err: "--keep-helper and --from exclude each other: --from uses an ephemeral container of that pod, not a helper pod"},
		{name: "http path", setup: func(o *Options) { o.Name = "web"; o.HTTPPath = "healthz" }, err: `--http-path "healthz" must start with /`},
		{name: "-A with --from", setup: func(o *Options) { o.AllNamespaces = true; o.Helper.From = "pod/x" }, err: "--from and --keep-helper apply to the diagnosis of one Service (svc/NAME): every Service is checked from a helper pod of its own namespace"},
		{name: "timeout", setup: func(o *Options) { o.Name = "web"; o.Helper.Timeout = 0 }, err: "--timeout must be positive, e.g. 2m"},
		{name: "ok", setup: func(o *Options) { o.Name = "web"; o.Helper.From = "pod/client" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions(genericiooptions.IOStreams{})
			tc.setup(o)
			err := o.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tc.err || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
				t.Fatalf("err = %v, want %q (exit 2)", err, tc.err)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	healthyObjs, healthyNet := healthyCluster()
	tests := []struct {
		name    string
		objects []runtime.Object
		net     *tracetest.FakeNet
		want    int
	}{
		{name: "healthy", objects: healthyObjs, net: healthyNet, want: 0},
		{name: "fault", objects: []runtime.Object{tracetest.Service("web")}, net: tracetest.NewNet(), want: 1},
		{name: "helper unavailable: inconclusive", objects: healthyObjs, net: nil, want: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t, tc.objects, tc.net, func(o *Options) { o.Name = "web" })
			if got := cmdutil.ExitCode(err); got != tc.want {
				t.Fatalf("exit code %d (%v), want %d", got, err, tc.want)
			}
		})
	}
}

func TestUnreachableClusterExits3(t *testing.T) {
	cs := fake.NewSimpleClientset()
	cs.PrependReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("dial tcp 10.201.0.1:6443: connect: connection refused")
	})
	var out, errOut bytes.Buffer
	o := NewOptions(genericiooptions.IOStreams{Out: &out, ErrOut: &errOut})
	o.Client, o.Namespace, o.Name, o.Now = cs, tracetest.TestNS, "web", tracetest.FixedClock
	o.Agents = &tracetest.Provider{Net: tracetest.NewNet()}
	err := o.Run(context.Background())
	if cmdutil.ExitCode(err) != cmdutil.ExitIncomplete || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v (exit %d), want exit 3 naming the connection error", err, cmdutil.ExitCode(err))
	}
	if out.Len() != 0 {
		t.Errorf("printed a report for an unreachable cluster:\n%s", out.String())
	}
}

// TestInterruptClosesHelper cancels the context while a check runs: the trace stops, the report
// says so, the exit code is 3 and the session is closed.
func TestInterrupt(t *testing.T) {
	objs, _ := healthyCluster()
	ctx, cancel := context.WithCancel(context.Background())
	blocking := &blockingAgent{cancel: cancel}
	var out, errOut bytes.Buffer
	o := NewOptions(genericiooptions.IOStreams{Out: &out, ErrOut: &errOut})
	o.Client, o.Namespace, o.Name, o.Now = fake.NewSimpleClientset(objs...), tracetest.TestNS, "web", tracetest.FixedClock
	o.Agents = &blockingProvider{a: blocking}
	err := o.Run(ctx)
	if cmdutil.ExitCode(err) != cmdutil.ExitIncomplete || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v, want exit 3 interrupted", err)
	}
	if !strings.Contains(out.String(), "skipped: interrupted") {
		t.Errorf("report does not say the hops were interrupted:\n%s", out.String())
	}
}

type blockingAgent struct{ cancel func() }

func (b *blockingAgent) Run(ctx context.Context, _ agent.Request) (*agent.Response, error) {
	b.cancel()
	<-ctx.Done()
	return nil, ctx.Err()
}

type blockingProvider struct{ a *blockingAgent }

func (p *blockingProvider) Agent(context.Context) (trace.Agent, *trace.Source, error) {
	return p.a, &trace.Source{Description: "helper pod shop/x", Namespace: tracetest.TestNS}, nil
}
