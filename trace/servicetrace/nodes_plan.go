package servicetrace

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
)

// The plan of the per-node checks: which nodes they run from (chooseNodes) and which targets every
// node's helper tests (planNodeProbes), the columns of the node x target matrix.

// chooseNodes returns the nodes the checks run from, the main helper's first, and notes on what
// was left out.
func chooseNodes(st *State, opts NodeOptions, mainNode string, nodes []corev1.Node, nodesRead bool) (chosen []string, selection string, notes []string) {
	known := map[string]bool{}
	for i := range nodes {
		known[nodes[i].Name] = true
	}
	add := func(n string) {
		if n != "" && !slices.Contains(chosen, n) {
			chosen = append(chosen, n)
		}
	}
	switch {
	case opts.All:
		selection = "--nodes all"
		add(mainNode)
		for i := range nodes {
			add(nodes[i].Name)
		}
		if !nodesRead {
			notes = append(notes, "--nodes all: the nodes could not be read; only the helper's node is checked")
		}
		if len(chosen) > MaxNodesAll {
			notes = append(notes, fmt.Sprintf("--nodes all: %d of %d nodes checked", MaxNodesAll, len(chosen)))
			chosen = chosen[:MaxNodesAll]
		}
		return chosen, selection, notes
	case len(opts.Nodes) > 0:
		selection = "--nodes " + strings.Join(opts.Nodes, ",")
		for _, n := range opts.Nodes {
			if nodesRead && !known[n] {
				notes = append(notes, fmt.Sprintf("node %s does not exist: not checked", n))
				continue
			}
			add(n)
		}
		if len(chosen) > MaxNodesAll {
			notes = append(notes, fmt.Sprintf("--nodes: %d of %d nodes checked", MaxNodesAll, len(chosen)))
			chosen = chosen[:MaxNodesAll]
		}
		return chosen, selection, notes
	}
	limit := opts.Max
	if limit <= 0 {
		limit = DefaultMaxNodes
	}
	selection = fmt.Sprintf("the helper's node and the nodes of the ready endpoints (at most %d; --nodes to choose)", limit)
	add(mainNode)
	local := localEndpointNodes(st)
	byCount := make([]string, 0, len(local))
	for n := range local {
		byCount = append(byCount, n)
	}
	sort.Slice(byCount, func(i, j int) bool {
		if local[byCount[i]] != local[byCount[j]] {
			return local[byCount[i]] > local[byCount[j]]
		}
		return byCount[i] < byCount[j]
	})
	svc := st.Service
	if iTPLocal(svc) || eTPLocal(svc) {
		// one node without a local endpoint shows what the policy does there
		selection = fmt.Sprintf("the helper's node, the nodes of the ready endpoints and one without (at most %d; --nodes to choose)", limit)
		if len(local) > 0 && local[mainNode] > 0 {
			for i := range nodes {
				if n := &nodes[i]; local[n.Name] == 0 && schedulable(n) {
					add(n.Name)
					break
				}
			}
		}
	}
	for _, n := range byCount {
		add(n)
	}
	if len(chosen) > limit {
		notes = append(notes, fmt.Sprintf("%d of %d relevant nodes checked (--max-nodes, or --nodes a,b to choose)", limit, len(chosen)))
		chosen = chosen[:limit]
	}
	return chosen, selection, notes
}

// nodeProbe is one column of the matrix and the check that tests it.
type nodeProbe struct {
	target report.NodeTarget
	check  agent.Check
	dns    *report.DNSQuery
	// port is the Service port a ClusterIP or NodePort target belongs to.
	port string
}

// planNodeProbes lists the targets every node's helper tests: each ClusterIP port, the NodePorts
// of every node, a DNS query, each ready endpoint's pod IP.
func (st *State) planNodeProbes(ctx context.Context, nodes []corev1.Node) ([]nodeProbe, []string) {
	timeout := agent.Duration{Duration: st.CheckTimeout}
	out := st.clusterIPProbes(timeout)
	nodePorts, notes := st.nodePortProbes(nodes, timeout)
	out = append(out, nodePorts...)
	if p, ok := st.dnsProbe(ctx, timeout); ok {
		out = append(out, p)
	}
	pods, podNotes := st.podProbes(timeout)
	out = append(out, pods...)
	notes = append(notes, podNotes...)
	if len(out) > agent.MaxChecks {
		notes = append(notes, fmt.Sprintf("%d of %d per-node checks run", agent.MaxChecks, len(out)))
		out = out[:agent.MaxChecks]
	}
	return out, notes
}

// l4Check is the agent check of a TCP or UDP target (false for another protocol).
func l4Check(id string, ip string, port int32, proto corev1.Protocol, timeout agent.Duration) (agent.Check, bool) {
	c := agent.Check{ID: id, Timeout: timeout}
	switch proto {
	case corev1.ProtocolTCP:
		c.Type, c.TCP = agent.CheckTCP, &agent.TCPCheck{Host: ip, Port: int(port)}
	case corev1.ProtocolUDP:
		c.Type, c.UDP = agent.CheckUDP, &agent.UDPCheck{Host: ip, Port: int(port)}
	default:
		return c, false
	}
	return c, true
}

// clusterIPProbes test each port of the ClusterIP (none for a headless Service).
func (st *State) clusterIPProbes(timeout agent.Duration) []nodeProbe {
	svc := st.Service
	if semantics.IsHeadless(svc) || svc.Spec.ClusterIP == "" {
		return nil
	}
	var out []nodeProbe
	for i, sp := range st.Ports {
		proto := semantics.Protocol(sp.Protocol)
		id := fmt.Sprintf("clusterIP:%d/%s", sp.Port, proto)
		if c, ok := l4Check(fmt.Sprintf("n-cip-%d", i), svc.Spec.ClusterIP, sp.Port, proto, timeout); ok {
			out = append(out, nodeProbe{target: report.NodeTarget{ID: id, Kind: report.NodeTargetClusterIP,
				Address: net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(sp.Port))) + "/" + string(proto)}, check: c, port: semantics.PortName(&sp)})
		}
	}
	return out
}

// nodePortProbes test the NodePorts of every node (at most maxNodes, by name).
func (st *State) nodePortProbes(nodes []corev1.Node, timeout agent.Duration) ([]nodeProbe, []string) {
	if !hasNodePorts(st.Service) {
		return nil, nil
	}
	var out []nodeProbe
	var notes []string
	for i := range nodes { // sorted by name (trace.Reads.Nodes)
		n := &nodes[i]
		if i == maxNodes {
			notes = append(notes, fmt.Sprintf("the NodePort of %d of %d nodes tested", maxNodes, len(nodes)))
			break
		}
		ip := internalIP(n)
		if ip == "" {
			continue
		}
		for _, sp := range st.Ports {
			if sp.NodePort == 0 {
				continue
			}
			proto := semantics.Protocol(sp.Protocol)
			if c, ok := l4Check(fmt.Sprintf("n-np-%d-%d", i, sp.NodePort), ip, sp.NodePort, proto, timeout); ok {
				out = append(out, nodeProbe{target: report.NodeTarget{ID: fmt.Sprintf("nodePort:%s:%d/%s", n.Name, sp.NodePort, proto), Kind: report.NodeTargetNodePort,
					Address: net.JoinHostPort(ip, strconv.Itoa(int(sp.NodePort))) + "/" + string(proto), Node: n.Name}, check: c, port: semantics.PortName(&sp)})
			}
		}
	}
	return out, notes
}

// dnsProbe looks the Service up as name.namespace, through the search path (whatever the cluster
// domain).
func (st *State) dnsProbe(ctx context.Context, timeout agent.Duration) (nodeProbe, bool) {
	qs := dnsQueries(st, serviceSlices(ctx, st), defaultClusterDomain, false)
	if len(qs) == 0 {
		return nodeProbe{}, false
	}
	q := qs[0]
	return nodeProbe{target: report.NodeTarget{ID: "dns", Kind: report.NodeTargetDNS, Address: q.Name},
		check: agent.Check{ID: "n-dns", Type: agent.CheckDNS, Timeout: timeout, DNS: &agent.DNSCheck{Name: q.Name, QType: q.Type}}, dns: &q}, true
}

// podProbes test each ready endpoint's pod IP, once (its first port), at most st.MaxEndpoints.
func (st *State) podProbes(timeout agent.Duration) ([]nodeProbe, []string) {
	var out []nodeProbe
	var notes []string
	seen := map[string]bool{}
	tested := 0
	for _, t := range st.Targets {
		if !t.Ready || seen[t.IP] {
			continue
		}
		seen[t.IP] = true
		if tested == st.MaxEndpoints {
			notes = append(notes, fmt.Sprintf("the pod IPs of the first %d ready endpoints tested", st.MaxEndpoints))
			break
		}
		c, ok := l4Check(fmt.Sprintf("n-ep-%d", tested), t.IP, t.Port, t.Protocol, timeout)
		if !ok {
			continue
		}
		tested++
		name := t.Pod
		if name == "" {
			name = t.IP
		}
		out = append(out, nodeProbe{target: report.NodeTarget{ID: "pod:" + name + ":" + strconv.Itoa(int(t.Port)) + "/" + string(t.Protocol), Kind: report.NodeTargetPod,
			Address: net.JoinHostPort(t.IP, strconv.Itoa(int(t.Port))) + "/" + string(t.Protocol), Name: name, Node: t.Node}, check: c, port: t.PortName})
	}
	return out, notes
}
