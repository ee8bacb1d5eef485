package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
)

// The tests in this file prove the raw behaviour of the local harness with two real nodes
// (hack/cluster, SVCDOC_NODES=2): pods on both nodes, traffic between them, Services, NodePorts and
// DNS from both, externalTrafficPolicy Local, and that every fault of hack/cluster/fault.sh really
// happens and its restore clears it. svc-doctor's per-node checks are tested elsewhere; these tests
// are what those can rely on.

// echoReply is what the test server's /echo tells.
type echoReply struct {
	Pod      string `json:"pod"`
	Node     string `json:"node"`
	ClientIP string `json:"clientIP"`
}

// echoFrom asks the test server at url (from pod) for /echo.
func echoFrom(f *framework.F, pod, url string) (echoReply, error) {
	out, err := f.InPod(pod, "get", "-timeout", "3s", url)
	if err != nil {
		return echoReply{}, err
	}
	var e echoReply
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		return echoReply{}, fmt.Errorf("echo %s: %v: %q", url, err, out)
	}
	return e, nil
}

// pinned deploys one test server pod on node, labelled tier=web besides app=NAME.
func pinned(f *framework.F, name string, node framework.Node) corev1.Pod {
	f.T.Helper()
	ts := f.DeployTestserver(framework.TestserverSpec{Name: name, NodeName: node.Name, Labels: map[string]string{"tier": "web"}})
	p := ts.Pods[0]
	if p.Spec.NodeName != node.Name {
		f.T.Fatalf("pod %s runs on %s, not on %s", p.Name, p.Spec.NodeName, node.Name)
	}
	return p
}

// hostConnect opens a TCP connection from the test process (node 1's network namespace) and tells
// whether it worked, was refused, or timed out (dropped).
func hostConnect(addr string, timeout time.Duration) string {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err == nil {
		c.Close()
		return "ok"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "error: " + err.Error()
}

// podConnect is hostConnect from a pod (testserver tcp).
func podConnect(f *framework.F, pod, addr string, timeout time.Duration) string {
	_, err := f.InPod(pod, "tcp", "-timeout", timeout.String(), addr)
	if err == nil {
		return "ok"
	}
	if strings.Contains(err.Error(), "timeout") {
		return "timeout"
	}
	return "error: " + err.Error()
}

func TestMultiNodeNodesAreReal(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.RequireHarness()
	nodes := f.RequireNodes(2)
	// the harness's own view of its nodes is the API's
	hn := framework.HarnessNodes(t)
	if len(hn) != len(f.Cluster.Nodes) {
		t.Fatalf("status.sh nodes lists %d nodes, the API %d: %+v", len(hn), len(f.Cluster.Nodes), hn)
	}
	ips, cidrs := map[string]bool{}, map[string]bool{}
	for i, h := range hn {
		n := f.Cluster.Nodes[i]
		if h.Name != n.Name || h.IP != n.IP || h.PodCIDR != n.PodCIDR {
			t.Errorf("node %d: harness %s %s %s, API %s %s %s", h.Number, h.Name, h.IP, h.PodCIDR, n.Name, n.IP, n.PodCIDR)
		}
		if (h.Number == 1) != (h.Netns == "-") {
			t.Errorf("node %d %s: network namespace %q (node 1 is the host's own)", h.Number, h.Name, h.Netns)
		}
		if ips[n.IP] || cidrs[n.PodCIDR] {
			t.Errorf("node %s shares its IP %s or pod CIDR %s with another node", n.Name, n.IP, n.PodCIDR)
		}
		ips[n.IP], cidrs[n.PodCIDR] = true, true
	}
	for i, n := range nodes {
		node, err := f.Client.CoreV1().Nodes().Get(f.Ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ready := false
		for _, c := range node.Status.Conditions {
			ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
		}
		if !ready {
			t.Errorf("node %s is not Ready", n.Name)
		}
		// a pod on each node: its IP is in the node's pod CIDR, exec and logs go through that node's kubelet
		p := pinned(f, fmt.Sprintf("web-%d", i+1), n)
		prefix, err := netip.ParsePrefix(n.PodCIDR)
		if err != nil || !prefix.Contains(netip.MustParseAddr(p.Status.PodIP)) {
			t.Errorf("pod %s on %s has IP %s, outside the node's pod CIDR %s", p.Name, n.Name, p.Status.PodIP, n.PodCIDR)
		}
		out, err := f.InPod(p.Name, "get", "http://127.0.0.1:8080/echo")
		var e echoReply
		if err != nil || json.Unmarshal([]byte(out), &e) != nil || e.Node != n.Name || e.Pod != p.Name {
			t.Errorf("exec in %s on %s: %q %v", p.Name, n.Name, out, err)
		}
		f.WaitFor("the log of "+p.Name, 15*time.Second, func(_ ctxT) (bool, error) {
			logs, err := f.Logs(p.Name, "", 0)
			return strings.Contains(logs, "GET /echo"), err
		})
	}
	// the NetworkPolicy enforcer and nothing of kube-system is pending: one enforcer per node
	pods, err := f.Client.CoreV1().Pods("kube-system").List(f.Ctx, metav1.ListOptions{LabelSelector: "app=kube-network-policies"})
	if err != nil {
		t.Fatal(err)
	}
	on := map[string]bool{}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning {
			on[p.Spec.NodeName] = true
		}
	}
	for _, n := range f.Cluster.Nodes {
		if !on[n.Name] {
			t.Errorf("no running kube-network-policies pod on %s", n.Name)
		}
	}
}

func TestMultiNodePodTrafficAcrossNodes(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	nodes := f.RequireNodes(2)
	servers := []corev1.Pod{pinned(f, "web-1", nodes[0]), pinned(f, "web-2", nodes[1])}
	clients := []string{f.ClientPodOn("client-1", nodes[0].Name), f.ClientPodOn("client-2", nodes[1].Name)}
	clientIP := map[string]string{}
	for _, c := range f.Pods("role=client") {
		clientIP[c.Name] = c.Status.PodIP
	}
	for _, c := range clients {
		for _, s := range servers {
			e, err := echoFrom(f, c, fmt.Sprintf("http://%s/echo", net.JoinHostPort(s.Status.PodIP, "8080")))
			if err != nil {
				t.Errorf("%s -> %s (%s): %v", c, s.Name, s.Spec.NodeName, err)
				continue
			}
			// no NAT between pods, whatever the nodes
			if e.Pod != s.Name || e.Node != s.Spec.NodeName || e.ClientIP != clientIP[c] {
				t.Errorf("%s -> %s: the server saw %+v, want pod %s on %s seeing client IP %s", c, s.Name, e, s.Name, s.Spec.NodeName, clientIP[c])
			}
		}
	}
	if f.Cluster.Harness {
		// the host (node 1) reaches the pods of both nodes
		for _, s := range servers {
			if body, err := hostGet("http://" + net.JoinHostPort(s.Status.PodIP, "8080") + "/"); err != nil || strings.TrimSpace(body) != s.Name {
				t.Errorf("host -> %s on %s: %q %v", s.Name, s.Spec.NodeName, body, err)
			}
		}
	}
}

const tierWebServices = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {tier: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {tier: web}
  ports: [{name: http, port: 8080, targetPort: http}]
`

func TestMultiNodeServicesAndDNSFromBothNodes(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	nodes := f.RequireNodes(2)
	servers := []corev1.Pod{pinned(f, "web-1", nodes[0]), pinned(f, "web-2", nodes[1])}
	f.Apply(tierWebServices)
	clients := []string{f.ClientPodOn("client-1", nodes[0].Name), f.ClientPodOn("client-2", nodes[1].Name)}
	svc, err := f.Client.CoreV1().Services(f.Namespace).Get(f.Ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodePort := fmt.Sprint(svc.Spec.Ports[0].NodePort)
	names := []string{servers[0].Name, servers[1].Name}
	slices.Sort(names)
	// every URL, from a pod on every node, reaches the backends on both nodes
	urls := []string{"http://" + svc.Spec.ClusterIP + "/", "http://web/"}
	for _, n := range nodes {
		urls = append(urls, "http://"+net.JoinHostPort(n.IP, nodePort)+"/")
	}
	for _, c := range clients {
		for _, u := range urls {
			seen := map[string]bool{}
			f.WaitFor(c+" -> "+u+" reaching both backends", 60*time.Second, func(_ ctxT) (bool, error) {
				body, err := f.InPod(c, "get", "-timeout", "3s", u)
				if err != nil {
					return false, err
				}
				seen[strings.TrimSpace(body)] = true
				return len(seen) == 2, nil
			})
			for b := range seen {
				if !slices.Contains(names, b) {
					t.Errorf("%s -> %s answered from %q", c, u, b)
				}
			}
		}
	}
	if f.Cluster.Harness {
		for _, n := range nodes {
			u := "http://" + net.JoinHostPort(n.IP, nodePort) + "/"
			if body, err := hostGet(u); err != nil || !slices.Contains(names, strings.TrimSpace(body)) {
				t.Errorf("host -> NodePort %s on %s: %q %v", u, n.Name, body, err)
			}
		}
	}
	// DNS from pods on both nodes: the ClusterIP, one A record per pod of both nodes, the API server
	ips := []string{servers[0].Status.PodIP, servers[1].Status.PodIP}
	slices.Sort(ips)
	for _, c := range clients {
		if a, err := f.Lookup(c, "web."+f.Namespace+".svc.cluster.local"); err != nil || !slices.Equal(a, []string{svc.Spec.ClusterIP}) {
			t.Errorf("%s: A web = %v %v, want [%s]", c, a, err, svc.Spec.ClusterIP)
		}
		if a, err := f.Lookup(c, "web-headless."+f.Namespace+".svc.cluster.local"); err != nil || !slices.Equal(a, ips) {
			t.Errorf("%s: A web-headless = %v %v, want %v", c, a, err, ips)
		}
		if a, err := f.Lookup(c, "kubernetes.default.svc.cluster.local"); err != nil || len(a) != 1 {
			t.Errorf("%s: A kubernetes.default = %v %v", c, a, err)
		}
	}
}

// TestMultiNodeExternalTrafficPolicyLocal: a NodePort Service with externalTrafficPolicy Local answers
// outside clients only on the node of its endpoint; the other node drops (timeout, not refused).
func TestMultiNodeExternalTrafficPolicyLocal(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.RequireHarness()
	nodes := f.RequireNodes(2)
	n1, n2 := nodes[0], nodes[1]
	f.DeployTestserver(framework.TestserverSpec{Name: "web", NodeName: n1.Name, Labels: map[string]string{"tier": "web"}})
	f.Apply(tierWebServices)
	svc, err := f.Client.CoreV1().Services(f.Namespace).Get(f.Ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	np := fmt.Sprint(svc.Spec.Ports[0].NodePort)
	at := func(n framework.Node) string { return net.JoinHostPort(n.IP, np) }
	// a client outside node 1: a process of node 2 (host network)
	out2 := f.HostNetworkClientPodOn("node2-host", n2.Name)
	expect := func(desc string, want map[string]string, probe func(addr string) string, addrs ...string) {
		t.Helper()
		got := map[string]string{}
		err := f.Poll(60*time.Second, func(_ ctxT) (bool, error) {
			for _, a := range addrs {
				got[a] = probe(a)
			}
			return maps.Equal(got, want), nil
		})
		if err != nil {
			t.Fatalf("%s: got %v, want %v", desc, got, want)
		}
	}
	fromHost := func(a string) string { return hostConnect(a, 2*time.Second) }
	fromNode2 := func(a string) string { return podConnect(f, out2, a, 2*time.Second) }

	// externalTrafficPolicy Cluster: both nodes answer the host (node 1) and node 2
	expect("eTP Cluster from the host", map[string]string{at(n1): "ok", at(n2): "ok"}, fromHost, at(n1), at(n2))
	expect("eTP Cluster from node 2", map[string]string{at(n1): "ok", at(n2): "ok"}, fromNode2, at(n1), at(n2))

	patch := func(p string) {
		t.Helper()
		if _, err := f.Client.CoreV1().Services(f.Namespace).Patch(f.Ctx, "web", types.MergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	patch(`{"spec":{"externalTrafficPolicy":"Local"}}`)
	// the endpoint is on node 1: node 2 drops what comes from outside it (the host); node 1 answers
	expect("eTP Local, endpoint on node 1, from the host", map[string]string{at(n1): "ok", at(n2): "timeout"}, fromHost, at(n1), at(n2))
	// from node 2 itself, its own NodePort takes the cluster-wide path (kube-proxy: local traffic)
	expect("eTP Local, endpoint on node 1, from node 2", map[string]string{at(n1): "ok", at(n2): "ok"}, fromNode2, at(n1), at(n2))

	// move the endpoint to node 2: now node 1 drops what comes from node 2
	if _, err := f.Client.AppsV1().Deployments(f.Namespace).Patch(f.Ctx, "web", types.MergePatchType,
		[]byte(fmt.Sprintf(`{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/hostname":%q}}}}}`, n2.Name)), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	f.WaitFor("the endpoint to move to "+n2.Name, 2*time.Minute, func(ctx ctxT) (bool, error) {
		pods := f.Pods("app=web")
		return len(pods) == 1 && pods[0].Spec.NodeName == n2.Name && podIsReady(pods[0]), nil
	})
	expect("eTP Local, endpoint on node 2, from node 2", map[string]string{at(n1): "timeout", at(n2): "ok"}, fromNode2, at(n1), at(n2))
	expect("eTP Local, endpoint on node 2, from the host", map[string]string{at(n2): "ok"}, fromHost, at(n2))
}

func podIsReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// --- faults ---

// TestFaults injects each fault of hack/cluster/fault.sh on the two-node cluster, checks that it really
// happens, and that its restore clears it. It has the cluster to itself (the faults break traffic every
// test relies on); the subtests share one server and one client pod per node.
func TestFaults(t *testing.T) {
	t.Parallel()
	f := framework.NewDisruptive(t)
	f.RequireHarness()
	nodes := f.RequireNodes(2)
	fx := &faultFixture{n1: nodes[0], n2: nodes[1]}
	fx.s1, fx.s2 = pinned(f, "web-1", fx.n1), pinned(f, "web-2", fx.n2)
	fx.c1, fx.c2 = f.ClientPodOn("client-1", fx.n1.Name), f.ClientPodOn("client-2", fx.n2.Name)
	for _, tc := range []struct {
		name string
		run  func(*framework.F, *faultFixture)
	}{
		{"PodRouteDeleted", faultPodRouteDeleted},
		{"KubeProxyStopped", faultKubeProxyStopped},
		{"DNSBlocked", faultDNSBlocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := *f // the same namespace and pods; failures and restores belong to the subtest
			sub.T = t
			tc.run(&sub, fx)
		})
	}
}

// faultFixture: a test server pod and a client pod on each of the two nodes.
type faultFixture struct {
	n1, n2 framework.Node
	s1, s2 corev1.Pod
	c1, c2 string
}

// faultPodRouteDeleted deletes the route between the nodes' pod CIDRs in one direction, the other, and
// both: pods on different nodes cannot talk (a TCP reply needs the way back too), pods on the same node
// can, and which direction is gone shows from the host (node 1), which reaches node 2's pods only while
// node 1 routes to them. Each restore brings everything back.
func faultPodRouteDeleted(f *framework.F, fx *faultFixture) {
	t := f.T
	a1, a2 := net.JoinHostPort(fx.s1.Status.PodIP, "8080"), net.JoinHostPort(fx.s2.Status.PodIP, "8080")
	type state struct{ c1s1, c1s2, c2s1, c2s2, hs1, hs2 bool }
	probe := func() state {
		ok := func(c, a string) bool { return f.CanConnect(c, a, 2*time.Second) }
		return state{ok(fx.c1, a1), ok(fx.c1, a2), ok(fx.c2, a1), ok(fx.c2, a2),
			hostConnect(a1, 2*time.Second) == "ok", hostConnect(a2, 2*time.Second) == "ok"}
	}
	expect := func(desc string, want state) {
		t.Helper()
		var got state
		if err := f.Poll(30*time.Second, func(_ ctxT) (bool, error) { got = probe(); return got == want, nil }); err != nil {
			t.Fatalf("%s: got %+v, want %+v", desc, got, want)
		}
	}
	all := state{true, true, true, true, true, true}
	expect("every pod reaching every pod", all)

	f.DeletePodRoute(fx.n1, fx.n2)
	expect("no route from node 1 to node 2's pods", state{c1s1: true, c2s2: true, hs1: true})
	f.RestorePodRoutes()
	expect("the restored route", all)

	f.DeletePodRoute(fx.n2, fx.n1)
	expect("no route from node 2 to node 1's pods", state{c1s1: true, c2s2: true, hs1: true, hs2: true})
	f.RestorePodRoutes()
	expect("the restored route", all)

	f.DeletePodRoute(fx.n1, fx.n2)
	f.DeletePodRoute(fx.n2, fx.n1)
	expect("no route between the nodes' pods", state{c1s1: true, c2s2: true, hs1: true})
	f.RestorePodRoutes()
	expect("the restored routes", all)
}

// faultKubeProxyStopped stops kube-proxy on node 2. Its rules stay: a Service that existed before still
// works from node 2, a Service created after does not (stale rules), from node 1 both work. The restart
// resyncs. Stopped with --flush (rules deleted), nothing of the Services works from node 2.
func faultKubeProxyStopped(f *framework.F, fx *faultFixture) {
	t := f.T
	svc := func(name string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %s}
spec:
  type: NodePort
  selector: {app: web-1}
  ports: [{name: http, port: 80, targetPort: http}]
`, name)
	}
	f.Apply(svc("before"))
	addrs := func(name string) (clusterIP, nodePort2 string) {
		s, err := f.Client.CoreV1().Services(f.Namespace).Get(f.Ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return net.JoinHostPort(s.Spec.ClusterIP, "80"), net.JoinHostPort(fx.n2.IP, fmt.Sprint(s.Spec.Ports[0].NodePort))
	}
	// works: the ClusterIP from both nodes, node 2's NodePort from the host
	works := func(desc, name string, want1, want2, wantNP bool) {
		t.Helper()
		cip, np := addrs(name)
		var g1, g2, gnp bool
		err := f.Poll(45*time.Second, func(_ ctxT) (bool, error) {
			g1, g2 = f.CanConnect(fx.c1, cip, 2*time.Second), f.CanConnect(fx.c2, cip, 2*time.Second)
			gnp = hostConnect(np, 2*time.Second) == "ok"
			return g1 == want1 && g2 == want2 && gnp == wantNP, nil
		})
		if err != nil {
			t.Fatalf("%s: service %s from node 1 %v, from node 2 %v, node 2's NodePort %v; want %v %v %v", desc, name, g1, g2, gnp, want1, want2, wantNP)
		}
	}
	works("before the fault", "before", true, true, true)

	f.StopKubeProxy(fx.n2, false)
	f.Apply(svc("after"))
	works("kube-proxy stopped on node 2 (stale)", "after", true, false, false)
	works("kube-proxy stopped on node 2 (stale)", "before", true, true, true)
	f.StartKubeProxy(fx.n2)
	works("kube-proxy restarted on node 2", "after", true, true, true)

	f.StopKubeProxy(fx.n2, true)
	works("kube-proxy stopped on node 2 and its rules flushed", "before", true, false, false)
	f.StartKubeProxy(fx.n2)
	works("kube-proxy restarted on node 2", "before", true, true, true)
}

// faultDNSBlocked blocks DNS to the cluster DNS Service on node 2: lookups from its pods time out,
// lookups from node 1's pods answer, and CoreDNS itself still answers node 2's pods at its pod IP.
func faultDNSBlocked(f *framework.F, fx *faultFixture) {
	t := f.T
	const name = "kubernetes.default.svc.cluster.local."
	lookup := func(c string, server ...string) error {
		args := []string{"lookup", "-timeout", "2s", "-attempts", "1"}
		if len(server) > 0 {
			args = append(args, "-server", server[0])
		}
		_, err := f.InPod(c, append(args, name)...)
		return err
	}
	answers := func(desc string, want1, want2 bool) {
		t.Helper()
		var e1, e2 error
		err := f.Poll(30*time.Second, func(_ ctxT) (bool, error) {
			e1, e2 = lookup(fx.c1), lookup(fx.c2)
			return (e1 == nil) == want1 && (e2 == nil) == want2, nil
		})
		if err != nil {
			t.Fatalf("%s: lookup from node 1: %v, from node 2: %v; want answers %v %v", desc, e1, e2, want1, want2)
		}
	}
	answers("before the fault", true, true)
	f.BlockDNS(fx.n2)
	answers("DNS blocked on node 2", true, false)
	// three more in a row: the fault is steady, not a glitch, and a timeout, not an error answer
	for range 3 {
		if err := lookup(fx.c2); err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("lookup from node 2 with DNS blocked: %v, want a timeout", err)
		}
		if err := lookup(fx.c1); err != nil {
			t.Fatalf("lookup from node 1 with DNS blocked on node 2: %v", err)
		}
	}
	// CoreDNS answers node 2's pods at its pod IP: only the way to the Service is cut
	dns, err := f.Client.CoreV1().Pods("kube-system").List(f.Ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
	if err != nil || len(dns.Items) == 0 {
		t.Fatalf("CoreDNS pods: %v %v", dns, err)
	}
	if err := lookup(fx.c2, net.JoinHostPort(dns.Items[0].Status.PodIP, "53")); err != nil {
		t.Errorf("lookup from node 2 at CoreDNS's pod IP %s: %v", dns.Items[0].Status.PodIP, err)
	}
	f.UnblockDNS(fx.n2)
	answers("DNS unblocked on node 2", true, true)
}
