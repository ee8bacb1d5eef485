package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// Node is a node of the cluster under test.
type Node struct {
	Name    string // e.g. svcdoc-node, svcdoc-node2 on the local harness
	IP      string // InternalIP
	PodCIDR string // spec.podCIDR
}

func (n Node) String() string { return n.Name }

func nodesOf(items []corev1.Node) []Node {
	var out []Node
	for _, it := range items {
		n := Node{Name: it.Name, PodCIDR: it.Spec.PodCIDR}
		for _, a := range it.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				n.IP = a.Address
				break
			}
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// EnvCI is set by CI systems: a test that cannot run there fails instead of skipping.
const EnvCI = "CI"

// RequireNodes returns the first n nodes of the cluster (sorted by name). With fewer nodes the test
// is skipped, or fails when CI is set (hack/e2e.sh runs the local harness with SVCDOC_NODES=2).
func (f *F) RequireNodes(n int) []Node {
	f.T.Helper()
	if len(f.Cluster.Nodes) < n {
		msg := fmt.Sprintf("this test needs %d nodes, the cluster has %d (hack/cluster: SVCDOC_NODES=%d)", n, len(f.Cluster.Nodes), n)
		if os.Getenv(EnvCI) != "" {
			f.T.Fatal(msg + " and CI is set")
		}
		f.T.Skip(msg)
	}
	return f.Cluster.Nodes[:n]
}

// RequireHarness skips the test unless the cluster is the local harness of hack/cluster (root and its
// scripts are needed: fault injection, node network namespaces); it fails instead when CI is set.
func (f *F) RequireHarness() {
	f.T.Helper()
	if !f.Cluster.Harness {
		msg := "this test needs the local harness of hack/cluster (run as root; its safety counters answer)"
		if os.Getenv(EnvCI) != "" {
			f.T.Fatal(msg + " and CI is set")
		}
		f.T.Skip(msg)
	}
}

// HarnessNode is a node as the harness configured it (hack/cluster/status.sh nodes).
type HarnessNode struct {
	Number                   int
	Name, IP, PodCIDR, Netns string // Netns is "-" for node 1 (the host's network namespace)
}

// HarnessNodes returns the nodes the harness runs (hack/cluster/status.sh nodes).
func HarnessNodes(t testing.TB) []HarnessNode {
	t.Helper()
	out, err := harnessScript(t, "status.sh", "nodes")
	if err != nil {
		t.Fatalf("status.sh nodes: %v\n%s", err, out)
	}
	var nodes []HarnessNode
	for _, l := range lines(out) {
		var n HarnessNode
		if _, err := fmt.Sscanf(l, "%d %s %s %s %s", &n.Number, &n.Name, &n.IP, &n.PodCIDR, &n.Netns); err != nil {
			t.Fatalf("status.sh nodes: line %q: %v", l, err)
		}
		nodes = append(nodes, n)
	}
	return nodes
}

func harnessScript(t testing.TB, script string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(RepoRoot(), "hack", "cluster", script)}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// Fault runs hack/cluster/fault.sh ARGS... and fails the test when it fails. Prefer the helpers
// below, which restore the fault when the test ends.
func (f *F) Fault(args ...string) {
	f.T.Helper()
	f.RequireHarness()
	out, err := harnessScript(f.T, "fault.sh", args...)
	f.T.Logf("fault.sh %s: %s", strings.Join(args, " "), strings.TrimSpace(out))
	if err != nil {
		f.T.Fatalf("fault.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// restoreFault registers a restore (idempotent) for the end of the test; it reports a failed restore
// as a test error.
func (f *F) restoreFault(args ...string) {
	f.T.Cleanup(func() {
		out, err := harnessScript(f.T, "fault.sh", args...)
		if err != nil {
			f.T.Errorf("restoring a fault: fault.sh %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
}

// DeletePodRoute makes node from lose its route to node to's pod CIDR (one direction: to's pods
// still route to from's), until RestorePodRoutes or the end of the test.
func (f *F) DeletePodRoute(from, to Node) {
	f.T.Helper()
	f.restoreFault("route-restore")
	f.Fault("route-del", from.Name, to.Name)
}

// RestorePodRoutes restores every route between the nodes' pod CIDRs.
func (f *F) RestorePodRoutes() {
	f.T.Helper()
	f.Fault("route-restore")
}

// StopKubeProxy stops node's kube-proxy until StartKubeProxy or the end of the test. Its iptables
// rules stay and go stale as Services change; flush deletes them too.
func (f *F) StopKubeProxy(node Node, flush bool) {
	f.T.Helper()
	f.restoreFault("kube-proxy-start", node.Name)
	args := []string{"kube-proxy-stop", node.Name}
	if flush {
		args = append(args, "--flush")
	}
	f.Fault(args...)
}

// StartKubeProxy starts node's kube-proxy again and waits until it is healthy (it has resynced).
func (f *F) StartKubeProxy(node Node) {
	f.T.Helper()
	f.Fault("kube-proxy-start", node.Name)
}

// BlockDNS drops DNS traffic to the cluster DNS Service from node's pods (and its host-network
// processes) until UnblockDNS or the end of the test.
func (f *F) BlockDNS(node Node) {
	f.T.Helper()
	f.restoreFault("dns-unblock", node.Name)
	f.Fault("dns-block", node.Name)
}

// UnblockDNS removes the block of BlockDNS.
func (f *F) UnblockDNS(node Node) {
	f.T.Helper()
	f.Fault("dns-unblock", node.Name)
}

// StopAPIServer stops the kube-apiserver (clients get "connection refused") until StartAPIServer or
// the end of the test. Only for disruptive tests (NewDisruptive): every other client of the cluster
// loses it meanwhile.
func (f *F) StopAPIServer() {
	f.T.Helper()
	f.restoreFault("apiserver-start")
	f.Fault("apiserver-stop")
}

// StartAPIServer starts the kube-apiserver again and waits until it is ready, every node Ready,
// and the cluster's watchers have caught up: CoreDNS and kube-proxy lost their watches with the
// server and relist with a back-off of up to a minute, so a Service created meanwhile is unknown to
// them (NXDOMAIN, no rules). A canary Service created now must resolve through CoreDNS and be
// programmed by this host's kube-proxy (refused: a Service without endpoints) before the next test.
func (f *F) StartAPIServer() {
	f.T.Helper()
	f.Fault("apiserver-start")
	f.waitWatchersCaughtUp()
}

func (f *F) waitWatchersCaughtUp() {
	f.T.Helper()
	dns, err := f.Client.CoreV1().Services("kube-system").Get(f.Ctx, "kube-dns", metav1.GetOptions{})
	if err != nil {
		f.T.Fatalf("the cluster DNS Service: %v", err)
	}
	name := "canary-" + rand.String(5)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}, Selector: map[string]string{"svc-doctor.io/canary": name}}}
	created, err := f.Client.CoreV1().Services(f.Namespace).Create(f.Ctx, svc, metav1.CreateOptions{})
	if err != nil {
		f.T.Fatalf("create the canary Service: %v", err)
	}
	defer func() { _ = f.Client.CoreV1().Services(f.Namespace).Delete(f.Ctx, name, metav1.DeleteOptions{}) }()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(dns.Spec.ClusterIP, "53"))
	}}
	fqdn := name + "." + f.Namespace + ".svc.cluster.local"
	start := time.Now()
	f.WaitFor("CoreDNS to resolve a new Service after the API server restart", 2*time.Minute, func(ctx context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		addrs, err := r.LookupHost(ctx, fqdn)
		return err == nil && len(addrs) > 0 && addrs[0] == created.Spec.ClusterIP, err
	})
	f.WaitFor("kube-proxy to program a new Service after the API server restart", 2*time.Minute, func(ctx context.Context) (bool, error) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(created.Spec.ClusterIP, "80"), time.Second)
		if c != nil {
			_ = c.Close()
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return true, nil
		}
		return false, fmt.Errorf("the canary's ClusterIP: %v (want connection refused)", err)
	})
	f.T.Logf("CoreDNS and kube-proxy knew a new Service %s after the API server restart", time.Since(start).Round(100*time.Millisecond))
}
