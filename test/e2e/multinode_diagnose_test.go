package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/servicetrace"
)

// The tests in this file produce each per-node verdict of `diagnose` on the two-node cluster: the
// traffic policies (externalTrafficPolicy and internalTrafficPolicy Local with the only endpoint on
// node 1), and, with a fault of hack/cluster/fault.sh injected and cleared after, a broken pod route
// between the nodes, kube-proxy stale on node 2 and DNS blocked on node 2. Each asserts the verdict
// of the hop "nodes", which does not exist without the per-node checks.

// mnService is a Service of the tier=web test servers (pinned: a pod on each node).
func mnService(name, spec string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %s}
spec:
  selector: {tier: web}
  ports: [{name: http, port: 80, targetPort: http}]
%s`, name, spec)
}

// mnRow returns the matrix row of node.
func mnRow(t *testing.T, rep report.DiagnoseReport, node string) report.NodeRow {
	t.Helper()
	if rep.Nodes == nil {
		t.Fatalf("the report has no per-node matrix\n%s", diagDump(rep))
	}
	for _, r := range rep.Nodes.Rows {
		if r.Node == node {
			return r
		}
	}
	t.Fatalf("the per-node matrix has no row for node %s: %+v", node, rep.Nodes.Rows)
	return report.NodeRow{}
}

// mnCell returns the state of the first target of kind (and, for pod targets, on node targetNode)
// from node's row.
func mnCell(t *testing.T, rep report.DiagnoseReport, node, kind, targetNode string) string {
	t.Helper()
	row := mnRow(t, rep, node)
	for _, tg := range rep.Nodes.Targets {
		if tg.Kind == kind && (targetNode == "" || tg.Node == targetNode) {
			c, _ := row.Cell(tg.ID)
			return c.State
		}
	}
	t.Fatalf("no %s target (node %q) in the matrix: %+v", kind, targetNode, rep.Nodes.Targets)
	return ""
}

func mnDump(rep report.DiagnoseReport) string {
	if rep.Nodes == nil {
		return diagDump(rep) + "(no per-node matrix)\n"
	}
	var b strings.Builder
	b.WriteString(diagDump(rep))
	for _, r := range rep.Nodes.Rows {
		fmt.Fprintf(&b, "from %s (%s%s):", r.Node, r.From, r.Error)
		for _, c := range r.Cells {
			fmt.Fprintf(&b, " %s=%s%s", c.Target, c.State, map[bool]string{true: "(" + c.Failure + ")", false: ""}[c.Failure != ""])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// mnOneHelper runs the diagnosis from one helper only (--nodes none: as before the per-node
// checks) and logs its verdict, which must not be the per-node one: the fault is what only the
// per-node checks name.
func mnOneHelper(t *testing.T, f *framework.F, target string) {
	t.Helper()
	rep, _ := diagRun(t, f, target, "--nodes", "none")
	if rep.Nodes != nil || rep.Verdict.Hop == servicetrace.HopNodes {
		t.Errorf("--nodes none: the per-node checks ran\n%s", mnDump(rep))
	}
	t.Logf("from one helper (%s): %s verdict in hop %q: %s", rep.From, rep.Verdict.Kind, rep.Verdict.Hop, rep.Verdict.Text())
}

// TestMultiNodeDiagnoseTrafficPolicyLocal: the only endpoint runs on node 1. With
// externalTrafficPolicy Local, the verdict names node 1 as the one that answers on the NodePort and
// node 2 as the one that drops by design; with internalTrafficPolicy Local, node 2's pods cannot use
// the ClusterIP, which the helper on node 2 shows.
func TestMultiNodeDiagnoseTrafficPolicyLocal(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	nodes := f.RequireNodes(2)
	n1, n2 := nodes[0], nodes[1]
	pinned(f, "web-1", n1)
	f.Apply(mnService("web-etp", "  type: NodePort\n  externalTrafficPolicy: Local\n") + "---\n" + mnService("web-itp", "  internalTrafficPolicy: Local\n"))
	diagWaitEndpoints(f, "web-etp", 1)
	diagWaitEndpoints(f, "web-itp", 1)

	rep, res := diagRun(t, f, "svc/web-etp")
	t.Logf("eTP Local:\n%s", mnDump(rep))
	diagExpectFault(t, rep, res, servicetrace.HopNodes, "externalTrafficPolicy Local", "nodes "+n1.Name+" have a local ready endpoint",
		"nodes "+n2.Name+" have none and drop traffic from outside the cluster by design")
	if !strings.Contains(rep.Verdict.Fix, `"externalTrafficPolicy":"Cluster"`) {
		t.Errorf("fix %q does not propose externalTrafficPolicy Cluster", rep.Verdict.Fix)
	}
	if r := mnRow(t, rep, n1.Name); r.LocalEndpoints != 1 {
		t.Errorf("node %s: %d local endpoints in the matrix, want 1", n1.Name, r.LocalEndpoints)
	}
	if r := mnRow(t, rep, n2.Name); r.LocalEndpoints != 0 || r.Error != "" {
		t.Errorf("node %s: %d local endpoints, error %q; want 0 and a helper that ran", n2.Name, r.LocalEndpoints, r.Error)
	}

	rep, res = diagRun(t, f, "svc/web-itp")
	t.Logf("iTP Local:\n%s", mnDump(rep))
	diagExpectFault(t, rep, res, servicetrace.HopNodes, "internalTrafficPolicy Local", "nodes "+n1.Name+" have a local ready endpoint",
		"pods on nodes "+n2.Name+" have none, so their traffic to the ClusterIP is dropped by design")
	// seen, not only predicted: the helper on node 2 cannot reach the ClusterIP, the one on node 1 can
	if got := mnCell(t, rep, n2.Name, report.NodeTargetClusterIP, ""); got != report.CellExpected {
		t.Errorf("the ClusterIP from node %s is %q, want %q (dropped by design)\n%s", n2.Name, got, report.CellExpected, mnDump(rep))
	}
	if got := mnCell(t, rep, n1.Name, report.NodeTargetClusterIP, ""); got != report.CellOK {
		t.Errorf("the ClusterIP from node %s is %q, want ok", n1.Name, got)
	}
	if !strings.Contains(rep.Verdict.Fix, `"internalTrafficPolicy":"Cluster"`) {
		t.Errorf("fix %q does not propose internalTrafficPolicy Cluster", rep.Verdict.Fix)
	}
	diagNoHelperLeft(t, f)
}

// TestMultiNodeDiagnoseFaults injects the faults of hack/cluster/fault.sh on the two-node cluster,
// one at a time, and checks that diagnose names the node (or the pair of nodes) and the cause; each
// fault is cleared after its subtest (and by the framework if a subtest dies). It has the cluster to
// itself. A test server runs on each node, behind the NodePort Service web.
func TestMultiNodeDiagnoseFaults(t *testing.T) {
	t.Parallel()
	f := framework.NewDisruptive(t)
	f.RequireHarness()
	nodes := f.RequireNodes(2)
	fx := &faultFixture{n1: nodes[0], n2: nodes[1]}
	fx.s1, fx.s2 = pinned(f, "web-1", fx.n1), pinned(f, "web-2", fx.n2)
	fx.c1, fx.c2 = f.ClientPodOn("client-1", fx.n1.Name), f.ClientPodOn("client-2", fx.n2.Name)
	f.Apply(mnService("web", "  type: NodePort\n"))
	diagWaitEndpoints(f, "web", 2)
	cip := net.JoinHostPort(f.ServiceIP("web"), "80")
	f.WaitFor("the ClusterIP answering from both nodes", time.Minute, func(_ ctxT) (bool, error) {
		return f.CanConnect(fx.c1, cip, 2*time.Second) && f.CanConnect(fx.c2, cip, 2*time.Second), nil
	})

	// without a fault: checks from both nodes, all alike, healthy
	rep, res := diagRun(t, f, "svc/web")
	if res.ExitCode != 0 || rep.Verdict.Kind != report.VerdictHealthy {
		t.Fatalf("without a fault: exit %d, verdict %+v; want healthy\n%s", res.ExitCode, rep.Verdict, mnDump(rep))
	}
	if h := diagHop(rep, servicetrace.HopNodes); h.Status != trace.Pass || len(rep.Nodes.Rows) != 2 {
		t.Fatalf("without a fault: hop nodes %s (%s), want pass from 2 nodes\n%s", h.Status, h.Summary, mnDump(rep))
	}
	mnRow(t, rep, fx.n1.Name)
	mnRow(t, rep, fx.n2.Name)

	for _, tc := range []struct {
		name string
		run  func(*testing.T, *framework.F, *faultFixture)
	}{
		{"PodRouteDeleted", mnPodRouteDeleted},
		{"KubeProxyStale", mnKubeProxyStale},
		{"DNSBlocked", mnDNSBlocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := *f
			sub.T = t
			tc.run(t, &sub, fx)
		})
	}
	diagNoHelperLeft(t, f)
}

// mnPodRouteDeleted: node 1 loses its route to node 2's pod CIDR. Pods on different nodes cannot
// talk; the verdict is the pod network between the two nodes, not the application.
func mnPodRouteDeleted(t *testing.T, f *framework.F, fx *faultFixture) {
	a1, a2 := net.JoinHostPort(fx.s1.Status.PodIP, "8080"), net.JoinHostPort(fx.s2.Status.PodIP, "8080")
	f.DeletePodRoute(fx.n1, fx.n2)
	f.WaitFor("no pod traffic between the nodes, pod traffic on each node", 30*time.Second, func(_ ctxT) (bool, error) {
		return !f.CanConnect(fx.c1, a2, 2*time.Second) && !f.CanConnect(fx.c2, a1, 2*time.Second) &&
			f.CanConnect(fx.c1, a1, 2*time.Second) && f.CanConnect(fx.c2, a2, 2*time.Second), nil
	})
	rep, res := diagRun(t, f, "svc/web")
	t.Logf("route deleted:\n%s", mnDump(rep))
	diagExpectFault(t, rep, res, servicetrace.HopNodes, "the pod network between nodes "+fx.n1.Name+" and "+fx.n2.Name+" is broken",
		"the inter-node route or the CNI), not the application", "pod/"+fx.s2.Name)
	if got := mnCell(t, rep, fx.n1.Name, report.NodeTargetPod, fx.n2.Name); got != report.CellFail {
		t.Errorf("pod on %s from %s: %q, want fail", fx.n2.Name, fx.n1.Name, got)
	}
	if got := mnCell(t, rep, fx.n2.Name, report.NodeTargetPod, fx.n2.Name); got != report.CellOK {
		t.Errorf("pod on %s from its own node: %q, want ok", fx.n2.Name, got)
	}
	mnOneHelper(t, f, "svc/web")
	f.RestorePodRoutes()
	f.WaitFor("pod traffic between the nodes again", 30*time.Second, func(_ ctxT) (bool, error) {
		return f.CanConnect(fx.c1, a2, 2*time.Second) && f.CanConnect(fx.c2, a1, 2*time.Second), nil
	})
}

// mnKubeProxyStale: kube-proxy stops on node 2 and a Service is created after: its ClusterIP works
// from node 1 only and node 2's NodePort from nowhere, while the pod IPs answer from both nodes.
func mnKubeProxyStale(t *testing.T, f *framework.F, fx *faultFixture) {
	f.StopKubeProxy(fx.n2, false)
	f.Apply(mnService("after", "  type: NodePort\n"))
	diagWaitEndpoints(f, "after", 2)
	cip := net.JoinHostPort(f.ServiceIP("after"), "80")
	f.WaitFor("service after answering from node 1 only", time.Minute, func(_ ctxT) (bool, error) {
		return f.CanConnect(fx.c1, cip, 2*time.Second) && !f.CanConnect(fx.c2, cip, 2*time.Second), nil
	})
	rep, res := diagRun(t, f, "svc/after")
	t.Logf("kube-proxy stale on %s:\n%s", fx.n2.Name, mnDump(rep))
	diagExpectFault(t, rep, res, servicetrace.HopNodes, "the service proxy (kube-proxy) is missing or stale on node "+fx.n2.Name)
	if got := mnCell(t, rep, fx.n2.Name, report.NodeTargetClusterIP, ""); got != report.CellFail {
		t.Errorf("ClusterIP from %s: %q, want fail", fx.n2.Name, got)
	}
	if got := mnCell(t, rep, fx.n1.Name, report.NodeTargetClusterIP, ""); got != report.CellOK {
		t.Errorf("ClusterIP from %s: %q, want ok", fx.n1.Name, got)
	}
	if !strings.Contains(rep.Verdict.Fix, "kube-proxy on node "+fx.n2.Name) {
		t.Errorf("fix %q does not point at kube-proxy on %s", rep.Verdict.Fix, fx.n2.Name)
	}
	mnOneHelper(t, f, "svc/after")
	f.StartKubeProxy(fx.n2)
	f.WaitFor("service after answering from node 2", time.Minute, func(_ ctxT) (bool, error) {
		return f.CanConnect(fx.c2, cip, 2*time.Second), nil
	})
	if err := f.Client.CoreV1().Services(f.Namespace).Delete(f.Ctx, "after", metav1.DeleteOptions{}); err != nil {
		t.Errorf("delete service after: %v", err)
	}
}

// mnDNSBlocked: DNS to the cluster DNS Service is dropped on node 2: lookups from node 2 time out,
// from node 1 they answer; the verdict is DNS from node 2, not CoreDNS or the Service.
func mnDNSBlocked(t *testing.T, f *framework.F, fx *faultFixture) {
	name := "web." + f.Namespace + ".svc.cluster.local."
	lookup := func(c string) error {
		_, err := f.InPod(c, "lookup", "-timeout", "2s", "-attempts", "1", name)
		return err
	}
	f.BlockDNS(fx.n2)
	f.WaitFor("DNS failing from node 2 only", 30*time.Second, func(_ ctxT) (bool, error) {
		return lookup(fx.c1) == nil && lookup(fx.c2) != nil, nil
	})
	rep, res := diagRun(t, f, "svc/web")
	t.Logf("DNS blocked on %s:\n%s", fx.n2.Name, mnDump(rep))
	diagExpectFault(t, rep, res, servicetrace.HopNodes, "DNS fails only from node "+fx.n2.Name, "while it answers from node "+fx.n1.Name)
	if got := mnCell(t, rep, fx.n2.Name, report.NodeTargetDNS, ""); got != report.CellFail {
		t.Errorf("DNS from %s: %q, want fail", fx.n2.Name, got)
	}
	mnOneHelper(t, f, "svc/web")
	f.UnblockDNS(fx.n2)
	f.WaitFor("DNS answering from node 2 again", 30*time.Second, func(_ ctxT) (bool, error) {
		return lookup(fx.c2) == nil, nil
	})
}
