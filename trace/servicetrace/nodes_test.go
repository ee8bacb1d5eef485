package servicetrace

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/tracetest"
)

// Two nodes: web-1 (10.244.0.11) on node-1, web-2 (10.244.1.12) on node-2. The main helper runs on
// node-1 (tracetest.Provider), a helper per other node sees the network of that node.
const (
	ip1, ip2   = "10.244.0.11", "10.244.1.12"
	ep1, ep2   = ip1 + ":8080", ip2 + ":8080"
	cip        = "10.96.0.20:80"
	node1NP    = "10.201.0.1:30080"
	node2NP    = "10.201.0.2:30080"
	node1, nd2 = "node-1", "node-2"
)

type nodesCase struct {
	name string
	svc  *corev1.Service
	// pods: which of web-1, web-2 exist (ready); default both
	onlyNode1 bool
	// nets change what the helper on each node sees
	net1, net2 func(*tracetest.FakeNet)
	opts       NodeOptions
	node2Err   error
	extraNodes []runtime.Object

	noHop      bool
	hopStatus  trace.Status
	verdictHop string
	causeHas   []string
	fixHas     []string
	// cells: node -> target kind (pod: "pod@node") -> state
	cells      map[string]map[string]string
	incomplete bool
	calls      []string
}

func twoNodeObjects(svc *corev1.Service, onlyNode1 bool, extra ...runtime.Object) []runtime.Object {
	objs := []runtime.Object{tracetest.Namespace(tracetest.TestNS), svc,
		tracetest.Pod("web-1", svc.Name, ip1, tracetest.OnNode(node1)),
		tracetest.Node(node1, "10.201.0.1"), tracetest.Node(nd2, "10.201.0.2")}
	eps := []tracetest.NodeEP{{IP: ip1, Pod: "web-1", Node: node1, Ready: true}}
	if !onlyNode1 {
		objs = append(objs, tracetest.Pod("web-2", svc.Name, ip2, tracetest.OnNode(nd2)))
		eps = append(eps, tracetest.NodeEP{IP: ip2, Pod: "web-2", Node: nd2, Ready: true})
	}
	return append(append(objs, tracetest.SliceOn(svc.Name, eps...)), extra...)
}

func runNodesTrace(t *testing.T, tc nodesCase) (traceRun, *tracetest.NodeProvider, trace.Verdict) {
	t.Helper()
	cs := fake.NewSimpleClientset(twoNodeObjects(tc.svc, tc.onlyNode1, tc.extraNodes...)...)
	n1, n2 := tracetest.NewNet(), tracetest.NewNet()
	for _, n := range []*tracetest.FakeNet{n1, n2} {
		tracetest.HealthyZone(n, tc.svc.Name, "10.96.0.20")
	}
	if tc.net1 != nil {
		tc.net1(n1)
	}
	if tc.net2 != nil {
		tc.net2(n2)
	}
	reads := trace.NewReads(cs, tracetest.TestNS)
	reads.OneService = true
	st := NewState(Config{Namespace: tracetest.TestNS, Name: tc.svc.Name, ProxyRetryDelay: time.Nanosecond, CheckTimeout: time.Second}, reads, &tracetest.Provider{Net: n1})
	st.Clock = tracetest.FixedClock
	np := &tracetest.NodeProvider{Nets: map[string]*tracetest.FakeNet{nd2: n2}, Errs: map[string]error{nd2: tc.node2Err}}
	opts := tc.opts
	opts.Agents = np
	steps := Run(context.Background(), st, Hops())
	steps = RunNodes(context.Background(), st, steps, opts)
	return traceRun{st: st, steps: steps, cs: cs}, np, Conclude(st, steps)
}

func TestNodes(t *testing.T) {
	itp := tracetest.Service("web", tracetest.InternalTrafficPolicyLocal())
	tests := []nodesCase{
		{
			name: "healthy, endpoints on two nodes: checks from both, alike", svc: tracetest.Service("web"),
			hopStatus: trace.Pass, verdictHop: "",
			cells: map[string]map[string]string{node1: {"clusterIP": report.CellOK, "pod@node-2": report.CellOK, "dns": report.CellOK},
				nd2: {"clusterIP": report.CellOK, "pod@node-1": report.CellOK, "dns": report.CellOK}},
			calls: []string{nd2},
		},
		{
			name: "endpoints on one node, ClusterIP Service: no per-node checks", svc: tracetest.Service("web"), onlyNode1: true,
			noHop: true,
		},
		{
			name: "--nodes none: no per-node checks", svc: tracetest.Service("web"), opts: NodeOptions{Off: true},
			noHop: true,
		},
		{
			name: "pod route broken between the nodes: the route, not the application", svc: tracetest.Service("web"),
			net1:      func(n *tracetest.FakeNet) { n.Addr[ep2] = agent.FailTimeout },
			net2:      func(n *tracetest.FakeNet) { n.Addr[ep1] = agent.FailTimeout },
			hopStatus: trace.Fail, verdictHop: HopNodes,
			causeHas: []string{"the pod network between nodes node-1 and node-2 is broken (the inter-node route or the CNI), not the application",
				"pod/web-2 on node node-2 does not answer from node node-1's helper (timeout) while it answers from its own node node-2",
				"and pod/web-1 on node node-1 does not answer from node node-2"},
			fixHas: []string{"ip route get"},
			cells: map[string]map[string]string{node1: {"pod@node-1": report.CellOK, "pod@node-2": report.CellFail},
				nd2: {"pod@node-1": report.CellFail, "pod@node-2": report.CellOK}},
		},
		{
			name: "one direction only: the pod on node-2 does not answer from node-1", svc: tracetest.Service("web"),
			net1:      func(n *tracetest.FakeNet) { n.Addr[ep2] = agent.FailUnreachable },
			hopStatus: trace.Fail, verdictHop: HopNodes,
			causeHas: []string{"between nodes node-1 and node-2 is broken", "(unreachable)"},
		},
		{
			name: "kube-proxy stale on node-2: its ClusterIP and its NodePort fail, the pod IPs answer", svc: tracetest.Service("web", tracetest.NodePort(30080, false)),
			net1:      func(n *tracetest.FakeNet) { n.Addr[node2NP] = agent.FailRefused },
			net2:      func(n *tracetest.FakeNet) { n.Addr[cip] = agent.FailTimeout; n.Addr[node2NP] = agent.FailRefused },
			hopStatus: trace.Fail, verdictHop: HopNodes,
			causeHas: []string{"the service proxy (kube-proxy) is missing or stale on node node-2",
				"the ClusterIP 10.96.0.20:80/TCP fails from node node-2 (timeout) while the pod IPs answer from there and the ClusterIP answers from node node-1",
				"the NodePort 10.201.0.2:30080/TCP of node node-2 fails from every node"},
			fixHas: []string{"check kube-proxy on node node-2"},
			cells:  map[string]map[string]string{nd2: {"clusterIP": report.CellFail, "pod@node-1": report.CellOK}, node1: {"clusterIP": report.CellOK}},
		},
		{
			name: "kube-proxy: the ClusterIP fails from node-2 only, ClusterIP Service", svc: tracetest.Service("web"),
			net2:      func(n *tracetest.FakeNet) { n.Addr[cip] = agent.FailTimeout },
			hopStatus: trace.Fail, verdictHop: HopNodes,
			causeHas: []string{"missing or stale on node node-2"},
		},
		{
			name: "the ClusterIP fails from node-2 and so do the pod IPs: not kube-proxy", svc: tracetest.Service("web"),
			net2: func(n *tracetest.FakeNet) {
				n.Addr[cip], n.Addr[ep1], n.Addr[ep2] = agent.FailTimeout, agent.FailTimeout, agent.FailTimeout
			},
			hopStatus: trace.Fail, verdictHop: HopNodes,
			// node-2 reaches none of the pods, its own included: the pair finding needs the pod to answer elsewhere
			causeHas: []string{"pod/web-1 on node node-1 does not answer from node node-2's helper"},
		},
		{
			name: "DNS fails only from node-2", svc: tracetest.Service("web"),
			net2:      func(n *tracetest.FakeNet) { n.DNSDown = agent.FailDNSTimeout },
			hopStatus: trace.Fail, verdictHop: HopNodes,
			causeHas: []string{"DNS fails only from node node-2", "the lookup of web.shop fails from node node-2 (dns-timeout) while it answers from node node-1"},
			cells:    map[string]map[string]string{nd2: {"dns": report.CellFail}, node1: {"dns": report.CellOK}},
		},
		{
			name: "DNS fails only from the main helper's node: the verdict is the node's, not CoreDNS", svc: tracetest.Service("web"),
			net1:      func(n *tracetest.FakeNet) { n.DNSDown = agent.FailDNSTimeout },
			hopStatus: trace.Fail, verdictHop: HopNodes,
			causeHas: []string{"DNS fails only from node node-1"},
		},
		{
			name: "internalTrafficPolicy Local, the endpoint on node-1: node-2's pods are dropped by design", svc: itp, onlyNode1: true,
			net2:      func(n *tracetest.FakeNet) { n.Addr[cip] = agent.FailTimeout },
			hopStatus: trace.Fail, verdictHop: HopNodes,
			causeHas: []string{"internalTrafficPolicy Local: nodes node-1 have a local ready endpoint; pods on nodes node-2 have none, so their traffic to the ClusterIP is dropped by design",
				"clusterIP 10.96.0.20:80/TCP from node node-2: timeout"},
			fixHas: []string{`"internalTrafficPolicy":"Cluster"`},
			cells:  map[string]map[string]string{nd2: {"clusterIP": report.CellExpected}, node1: {"clusterIP": report.CellOK}},
			calls:  []string{nd2},
		},
		{
			name: "internalTrafficPolicy Local, an endpoint on each node: nothing dropped", svc: itp,
			hopStatus: trace.Pass,
		},
		{
			name: "externalTrafficPolicy Local, NodePort, the endpoint on node-1: node-2 drops by design", svc: tracetest.Service("web", tracetest.NodePort(30080, true)), onlyNode1: true,
			hopStatus: trace.Fail, verdictHop: HopNodes,
			causeHas: []string{"externalTrafficPolicy Local: nodes node-1 have a local ready endpoint and answer on NodePort 30080; nodes node-2 have none and drop traffic from outside the cluster by design"},
			fixHas:   []string{`"externalTrafficPolicy":"Cluster"`, "send clients only to nodes node-1"},
		},
		{
			name: "externalTrafficPolicy Local behind a load balancer: a warning (its health check skips node-2)", svc: func() *corev1.Service {
				s := tracetest.Service("web", tracetest.LoadBalancer())
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
				s.Spec.HealthCheckNodePort = 32000
				return s
			}(), onlyNode1: true,
			hopStatus: trace.Warn,
			causeHas:  []string{"externalTrafficPolicy Local"},
			fixHas:    []string{"healthCheckNodePort 32000"},
		},
		{
			name: "the application refuses on every node: the connectivity hop's verdict stands", svc: tracetest.Service("web"),
			net1: func(n *tracetest.FakeNet) {
				n.Addr[ep1], n.Addr[ep2], n.Addr[cip] = agent.FailRefused, agent.FailRefused, agent.FailRefused
			},
			net2: func(n *tracetest.FakeNet) {
				n.Addr[ep1], n.Addr[ep2], n.Addr[cip] = agent.FailRefused, agent.FailRefused, agent.FailRefused
			},
			hopStatus: trace.Warn, verdictHop: HopConnectivity,
			causeHas: []string{"the application does not listen on targetPort 8080"},
		},
		{
			name: "the helper on node-2 does not start: the matrix says so, the diagnosis is incomplete", svc: tracetest.Service("web"),
			node2Err:  errors.New("helper pod on node node-2: image not present"),
			hopStatus: trace.Pass, incomplete: true, verdictHop: HopNodes,
			causeHas: []string{"node node-2 not checked: no helper ran there", "image not present"},
			cells:    map[string]map[string]string{nd2: {"clusterIP": report.CellNotRun}},
		},
		{
			name: "--nodes names a node that does not exist: noted, the others checked", svc: tracetest.Service("web"),
			opts:      NodeOptions{Nodes: []string{"node-9", nd2}},
			hopStatus: trace.Pass,
			causeHas:  []string{},
			calls:     []string{nd2},
		},
		{
			name: "--nodes node-1: checked from the node asked for, even alone", svc: tracetest.Service("web", tracetest.NodePort(30080, false)), onlyNode1: true,
			opts:      NodeOptions{Nodes: []string{node1}},
			hopStatus: trace.Pass,
			cells:     map[string]map[string]string{node1: {"nodePort@node-2": report.CellOK, "clusterIP": report.CellOK}},
			calls:     []string{},
		},
		{
			name: "a NodePort Service with the endpoints on the helper's node: nothing to compare", svc: tracetest.Service("web", tracetest.NodePort(30080, false)), onlyNode1: true,
			noHop: true,
		},
		{
			name: "--max-nodes 1: the helper's node only, nothing to compare", svc: tracetest.Service("web"),
			opts:  NodeOptions{Max: 1},
			noHop: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, np, v := runNodesTrace(t, tc)
			step := r.step(HopNodes)
			if tc.noHop {
				if step.ID != "" {
					t.Fatalf("hop nodes ran: %s %s\n%s", step.Result.Status, step.Result.Summary, dump(r.steps))
				}
				if len(np.Calls) != 0 {
					t.Errorf("helpers started on %v", np.Calls)
				}
				return
			}
			if step.ID == "" {
				t.Fatalf("no hop nodes\n%s", dump(r.steps))
			}
			if step.Result.Status != tc.hopStatus {
				t.Errorf("hop nodes %s (%s), want %s\n%s", step.Result.Status, step.Result.Summary, tc.hopStatus, dump(r.steps))
			}
			if step.Result.Incomplete != tc.incomplete {
				t.Errorf("incomplete %v, want %v", step.Result.Incomplete, tc.incomplete)
			}
			if v.Hop != tc.verdictHop {
				t.Errorf("verdict from hop %q (%s), want %q\n%s", v.Hop, v.Text(), tc.verdictHop, dump(r.steps))
			}
			text := v.RootCause + " " + step.Result.Summary + " " + strings.Join(step.Result.Evidence, " ")
			fix := v.Fix
			if c := step.Result.Cause; c != nil {
				text += " " + c.RootCause
				fix += " " + c.Fix
			}
			for _, want := range tc.causeHas {
				if !strings.Contains(text, want) {
					t.Errorf("cause/summary/evidence does not contain %q:\n%s", want, text)
				}
			}
			for _, want := range tc.fixHas {
				if !strings.Contains(fix, want) {
					t.Errorf("fix does not contain %q:\n%s", want, fix)
				}
			}
			m := r.st.nodes.matrix
			for node, want := range tc.cells {
				if m == nil {
					t.Fatalf("no matrix")
				}
				for key, state := range want {
					if got := cellState(m, node, key); got != state {
						t.Errorf("from %s, %s: %q, want %q", node, key, got, state)
					}
				}
			}
			if tc.calls != nil && strings.Join(np.Calls, ",") != strings.Join(tc.calls, ",") { // nil: not checked
				t.Errorf("helpers started on %v, want %v", np.Calls, tc.calls)
			}
			if tc.verdictHop == HopNodes && v.Kind == report.VerdictFault {
				// from one helper only (--nodes none, as before the per-node checks), the verdict is
				// another hop's, or none
				off := tc
				off.opts = NodeOptions{Off: true}
				_, _, before := runNodesTrace(t, off)
				if before.Hop == HopNodes {
					t.Errorf("with --nodes none the verdict is still from hop nodes: %s", before.Text())
				}
				t.Logf("from one helper: %s (hop %q)", before.Text(), before.Hop)
			}
		})
	}
}

// cellState finds the cell of a target kind ("pod@NODE" for the pod on NODE) in node's row.
func cellState(m *report.NodeMatrix, node, key string) string {
	kind, on, _ := strings.Cut(key, "@")
	for _, row := range m.Rows {
		if row.Node != node {
			continue
		}
		for _, tg := range m.Targets {
			if tg.Kind == kind && (on == "" || tg.Node == on) {
				c, _ := row.Cell(tg.ID)
				return c.State
			}
		}
	}
	return "<none>"
}

func TestChooseNodes(t *testing.T) {
	nodes := []corev1.Node{*tracetest.Node("a", "10.0.0.1"), *tracetest.Node("b", "10.0.0.2"), *tracetest.Node("c", "10.0.0.3"), *tracetest.Node("d", "10.0.0.4")}
	tainted := *tracetest.Node("t", "10.0.0.9")
	tainted.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
	st := func(svc *corev1.Service, on ...string) *State {
		s := &State{Service: svc}
		for i, n := range on {
			s.Targets = append(s.Targets, Target{IP: "10.244.0." + string(rune('1'+i)), Node: n, Ready: true})
		}
		return s
	}
	itp := tracetest.Service("web", tracetest.InternalTrafficPolicyLocal())
	tests := []struct {
		name  string
		st    *State
		opts  NodeOptions
		main  string
		nodes []corev1.Node
		want  string
		note  string
	}{
		{name: "the helper's node first, then the endpoints' by count", st: st(tracetest.Service("web"), "c", "b", "c"), main: "a", nodes: nodes, want: "a,c,b"},
		{name: "bounded", st: st(tracetest.Service("web"), "b", "c", "d"), main: "a", nodes: nodes, opts: NodeOptions{Max: 2}, want: "a,b", note: "2 of 4 relevant nodes checked"},
		{name: "a Local policy adds a node without a local endpoint (not a tainted one)", st: st(itp, "a"), main: "a", nodes: append([]corev1.Node{tainted}, nodes...), want: "a,b"},
		{name: "a Local policy, the helper without a local endpoint: it shows the drop itself", st: st(itp, "c"), main: "a", nodes: nodes, want: "a,c"},
		{name: "--nodes all", st: st(tracetest.Service("web")), main: "c", nodes: nodes, opts: NodeOptions{All: true}, want: "c,a,b,d"},
		{name: "--nodes a list, unknown names noted", st: st(tracetest.Service("web")), main: "a", nodes: nodes, opts: NodeOptions{Nodes: []string{"d", "x", "b"}}, want: "d,b", note: "node x does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, notes := chooseNodes(tc.st, tc.opts, tc.main, tc.nodes, true)
			if strings.Join(got, ",") != tc.want {
				t.Errorf("chose %v, want %s", got, tc.want)
			}
			if tc.note != "" && !strings.Contains(strings.Join(notes, "; "), tc.note) {
				t.Errorf("notes %v do not say %q", notes, tc.note)
			}
		})
	}
}
