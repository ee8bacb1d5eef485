package diagnose

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/trace/tracetest"
)

// multiNodeObjects is Service web with one ready pod on each of the nodes node-1..node-N.
func multiNodeObjects(n int, svcOpts ...tracetest.SvcOpt) []runtime.Object {
	objs := []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("web", svcOpts...)}
	var eps []tracetest.NodeEP
	for i := range n {
		node, name, ip := fmt.Sprintf("node-%d", i+1), fmt.Sprintf("web-%d", i+1), fmt.Sprintf("10.244.%d.11", i)
		objs = append(objs, tracetest.Node(node, fmt.Sprintf("10.201.0.%d", i+1)), tracetest.Pod(name, "web", ip, tracetest.OnNode(node)))
		eps = append(eps, tracetest.NodeEP{IP: ip, Pod: name, Node: node, Ready: true})
	}
	return append(objs, tracetest.SliceOn("web", eps...))
}

// TestMultiNodeDiagnosisCost counts the API requests of a diagnosis from several nodes, with the
// real helper pod lifecycle on every node: the per-node checks read the nodes once, run one more
// exec on the main helper, and each other node costs its helper (create, watch, exec, delete).
// The single-node diagnosis stays at most 10 (TestDiagnosisCost); from two nodes it is at most
// 10 + 6, and each further node adds 4.
func TestMultiNodeDiagnosisCost(t *testing.T) {
	costOf := func(nodes int, extra ...func(*Options)) (int, string) {
		t.Helper()
		n := tracetest.NewNet()
		tracetest.HealthyZone(n, "web", "10.96.0.20")
		c := newCostCluster(n, multiNodeObjects(nodes)...)
		got, code, out := c.diagnose(t, extra...)
		if code != 0 {
			t.Fatalf("%d nodes: exit code %d\n%s", nodes, code, out)
		}
		if pods, _ := c.cs.CoreV1().Pods(tracetest.TestNS).List(context.Background(), metav1.ListOptions{LabelSelector: helper.LabelName + "=" + helper.NameValue}); len(pods.Items) != 0 {
			t.Errorf("%d nodes: %d helper pods left behind", nodes, len(pods.Items))
		}
		t.Logf("%d nodes: %d API requests (%d execs)\n%s", nodes, got, c.execs.Load(), actions(c.cs))
		return got, out
	}
	one, _ := costOf(1)
	two, out := costOf(2)
	three, _ := costOf(3)
	off, _ := costOf(2, func(o *Options) { o.Nodes = "none" })
	if one > 10 {
		t.Errorf("one node: %d API requests, want at most 10", one)
	}
	if two > 16 {
		t.Errorf("two nodes: %d API requests, want at most 16", two)
	}
	if three-two != 4 {
		t.Errorf("a third node costs %d API requests, want 4 (create, watch, exec, delete of its helper)", three-two)
	}
	if off != one {
		t.Errorf("--nodes none: %d API requests, want %d (as from one node)", off, one)
	}
	if !strings.Contains(out, "on node node-2") || !strings.Contains(out, "PER-NODE CHECKS") {
		t.Errorf("the output does not show the helper on node-2 and the matrix:\n%s", out)
	}
}

func TestMultiNodeGolden(t *testing.T) {
	routeBroken := func() ([]runtime.Object, *tracetest.FakeNet, *tracetest.NodeProvider) {
		n1, n2 := tracetest.NewNet(), tracetest.NewNet()
		for _, n := range []*tracetest.FakeNet{n1, n2} {
			tracetest.HealthyZone(n, "web", "10.96.0.20")
		}
		n1.Addr["10.244.1.11:8080"] = agent.FailTimeout
		n2.Addr["10.244.0.11:8080"] = agent.FailTimeout
		return multiNodeObjects(2, tracetest.NodePort(30080, false)), n1, &tracetest.NodeProvider{Nets: map[string]*tracetest.FakeNet{"node-2": n2}}
	}
	tests := []struct {
		name     string
		format   string
		wantCode int
	}{
		{name: "multinode-route.txt", format: "table", wantCode: 1},
		{name: "multinode-route.json", format: "json", wantCode: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, n1, np := routeBroken()
			out, _, err := runCmd(t, objs, n1, func(o *Options) { o.Name, o.Output, o.NodeAgents = "web", tc.format, np })
			if code := cmdutil.ExitCode(err); code != tc.wantCode {
				t.Errorf("exit code %d (%v), want %d", code, err, tc.wantCode)
			}
			golden(t, tc.name, []byte(out))
		})
	}
}

func TestValidateNodes(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*Options)
		err   string
	}{
		{name: "--nodes all", setup: func(o *Options) { o.Name, o.Nodes = "web", "all" }},
		{name: "--nodes none", setup: func(o *Options) { o.Name, o.Nodes = "web", "none" }},
		{name: "--nodes a list", setup: func(o *Options) { o.Name, o.Nodes = "web", "node-1,node-2" }},
		{name: "--nodes without a Service", setup: func(o *Options) { o.Nodes = "all" }, err: "--nodes applies to the diagnosis of one Service (svc/NAME)"},
		{name: "--nodes a bad name", setup: func(o *Options) { o.Name, o.Nodes = "web", "node-1,,x" }, err: `--nodes "node-1,,x": "" is not a node name`},
		{name: "--max-nodes 0", setup: func(o *Options) { o.Name, o.MaxNodes = "web", 0 }, err: "--max-nodes 0: use 1 to 10"},
		{name: "--nodes too many", setup: func(o *Options) { o.Name, o.Nodes = "web", "a,b,c,d,e,f,g,h,i,j,k" }, err: "--nodes names 11 nodes: at most 10 (or all)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions(genericiooptions.IOStreams{Out: io.Discard, ErrOut: io.Discard})
			tc.setup(o)
			err := o.Validate()
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want %q", err, tc.err)
			case tc.err != "" && cmdutil.ExitCode(err) != cmdutil.ExitUsage:
				t.Errorf("exit code %d, want %d", cmdutil.ExitCode(err), cmdutil.ExitUsage)
			}
		})
	}
}
