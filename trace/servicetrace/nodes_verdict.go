package servicetrace

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/trace"
)

// The node-specific verdicts: the node x target matrix compared across nodes. Each class of fault
// has its own function, run in this order (a later class does not claim what an earlier one
// explained): what the traffic policies drop by design, the pod network between two nodes,
// kube-proxy on one node, DNS from one node.

// networkFailure tells whether a failure class means packets do not get there (as opposed to a
// process that refuses or answers wrong).
func networkFailure(f string) bool {
	switch agent.FailureClass(f) {
	case agent.FailTimeout, agent.FailUnreachable, agent.FailDNSTimeout:
		return true
	}
	return false
}

// nodeCellKey names one cell of the matrix: (the row's node, the target's ID).
type nodeCellKey = [2]string

// nodeAnalysis is the matrix being compared and what the comparison has explained so far.
type nodeAnalysis struct {
	svc    *corev1.Service
	m      *report.NodeMatrix
	local  map[string]int
	target map[string]report.NodeTarget
	// rowOf holds the rows whose helper ran, by node.
	rowOf map[string]*report.NodeRow
	// explained holds the failed cells a node-specific finding explains.
	explained map[nodeCellKey]bool
	// inPair holds the nodes of a broken pod-network pair.
	inPair map[string]bool
}

func newNodeAnalysis(st *State, m *report.NodeMatrix) *nodeAnalysis {
	a := &nodeAnalysis{
		svc:       st.Service,
		m:         m,
		local:     localEndpointNodes(st),
		target:    map[string]report.NodeTarget{},
		rowOf:     map[string]*report.NodeRow{},
		explained: map[nodeCellKey]bool{},
		inPair:    map[string]bool{},
	}
	for _, t := range m.Targets {
		a.target[t.ID] = t
	}
	for i := range m.Rows {
		if m.Rows[i].Error == "" {
			a.rowOf[m.Rows[i].Node] = &m.Rows[i]
		}
	}
	return a
}

// cell is the cell of a target in a row (nil when the row has none).
func (a *nodeAnalysis) cell(row *report.NodeRow, id string) *report.NodeCell {
	for i := range row.Cells {
		if row.Cells[i].Target == id {
			return &row.Cells[i]
		}
	}
	return nil
}

// okFromOther lists the nodes other than except from which the target answers.
func (a *nodeAnalysis) okFromOther(id, except string) []string {
	var out []string
	for _, row := range a.m.Rows {
		if row.Error != "" || row.Node == except {
			continue
		}
		if c, ok := row.Cell(id); ok && c.State == report.CellOK {
			out = append(out, row.Node)
		}
	}
	return out
}

// analyzeNodes compares the rows of the matrix and returns the node-specific findings (faults
// first) and whether they explain every failed check.
func analyzeNodes(st *State, m *report.NodeMatrix, nodes []corev1.Node) ([]nodeFinding, bool) {
	a := newNodeAnalysis(st, m)
	// 1. what the traffic policies drop by design
	a.markITPLocalDrops()
	a.markETPLocalDrops()
	// 2. the pod network between two nodes
	faults := a.podNetworkFaults()
	// 3. kube-proxy missing or stale on one node
	faults = append(faults, a.kubeProxyFaults()...)
	// 4. DNS failing from one node only
	faults = append(faults, a.dnsFaults()...)
	all := a.allExplained()
	return append(faults, policyFindings(st, m, nodes)...), all
}

// allExplained tells whether every failed cell of the matrix is explained by a finding.
func (a *nodeAnalysis) allExplained() bool {
	all := true
	for _, row := range a.m.Rows {
		for _, c := range row.Cells {
			if c.State == report.CellFail && !a.explained[nodeCellKey{row.Node, c.Target}] {
				all = false
			}
		}
	}
	return all
}

// nodePair is a way across the pod network: from a node's helper to a pod on another node.
type nodePair struct{ a, b string }

// brokenPath is what does not get across one nodePair.
type brokenPath struct {
	pods []string
	// via says where the pods answer from instead (the first seen).
	via string
	// failure is the failure class seen (the last one).
	failure string
}

// podNetworkFaults finds the pod network broken between two nodes: a pod on B does not answer
// from A, while it does from B's own helper (or another node's). Everything that fails from (or
// to) a node of a broken pair may cross it and is explained by it.
func (a *nodeAnalysis) podNetworkFaults() []nodeFinding {
	broken := a.brokenPodPaths()
	if len(broken) == 0 {
		return nil
	}
	ps := make([]nodePair, 0, len(broken))
	for p := range broken {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].a != ps[j].a {
			return ps[i].a < ps[j].a
		}
		return ps[i].b < ps[j].b
	})
	var faults []nodeFinding
	done := map[nodePair]bool{}
	for _, p := range ps {
		if done[p] {
			continue
		}
		done[p] = true
		a.inPair[p.a], a.inPair[p.b] = true, true
		back := broken[nodePair{p.b, p.a}]
		done[nodePair{p.b, p.a}] = true
		faults = append(faults, podNetworkFinding(p, broken[p], back))
	}
	for i := range a.m.Rows {
		row := &a.m.Rows[i]
		for _, c := range row.Cells {
			t := a.target[c.Target]
			if c.State == report.CellFail && (a.inPair[row.Node] || (t.Node != "" && a.inPair[t.Node])) {
				a.explained[nodeCellKey{row.Node, c.Target}] = true
			}
		}
	}
	return faults
}

// brokenPodPaths collects, per (helper's node, pod's node), the pods that do not answer across
// the network while they answer from elsewhere.
func (a *nodeAnalysis) brokenPodPaths() map[nodePair]*brokenPath {
	broken := map[nodePair]*brokenPath{}
	for _, row := range a.m.Rows {
		if row.Error != "" {
			continue
		}
		for _, c := range row.Cells {
			t := a.target[c.Target]
			if t.Kind != report.NodeTargetPod || c.State != report.CellFail || t.Node == "" || t.Node == row.Node || !networkFailure(c.Failure) {
				continue
			}
			via := a.answersVia(t, c.Target, row.Node)
			if via == "" {
				continue // it answers from nowhere: not the network between two nodes
			}
			p := nodePair{row.Node, t.Node}
			b := broken[p]
			if b == nil {
				b = &brokenPath{}
				broken[p] = b
			}
			b.pods = append(b.pods, "pod/"+t.Name)
			if b.via == "" {
				b.via = via
			}
			b.failure = c.Failure
		}
	}
	return broken
}

// answersVia says where a pod target that fails from node from answers: its own node first, else
// the other nodes ("" when from nowhere).
func (a *nodeAnalysis) answersVia(t report.NodeTarget, id, from string) string {
	if own, ok := a.rowOf[t.Node]; ok {
		if oc := a.cell(own, id); oc != nil && oc.State == report.CellOK {
			return "its own node " + t.Node
		}
	}
	if others := a.okFromOther(id, from); len(others) > 0 {
		return "node " + strings.Join(others, ", ")
	}
	return ""
}

// podNetworkFinding is the fault of one broken pair (back: what fails the other way, nil when
// nothing does).
func podNetworkFinding(p nodePair, fwd, back *brokenPath) nodeFinding {
	what := fmt.Sprintf("%s on node %s %s from node %s's helper (%s) while %s from %s", strings.Join(capList(fwd.pods), ", "), p.b,
		report.Plural(len(fwd.pods), "does not answer", "do not answer"), p.a, fwd.failure, report.Plural(len(fwd.pods), "it answers", "they answer"), fwd.via)
	if back != nil {
		what += fmt.Sprintf("; and %s on node %s %s from node %s", strings.Join(capList(back.pods), ", "), p.a, report.Plural(len(back.pods), "does not answer", "do not answer"), p.b)
	}
	a, b := p.a, p.b
	if a > b {
		a, b = b, a
	}
	return nodeFinding{status: trace.Fail,
		summary: fmt.Sprintf("pod network between nodes %s and %s is broken: %s", a, b, what),
		cause: &trace.Cause{Hop: HopNodes,
			RootCause: fmt.Sprintf("the pod network between nodes %s and %s is broken (the inter-node route or the CNI), not the application: %s", a, b, what),
			Fix:       fmt.Sprintf("check the routes between the nodes' pod CIDRs (on %s: ip route get <a pod IP of %s>, and back), the CNI plugin's agents on both nodes (kubectl -n kube-system get pods -o wide --field-selector spec.nodeName=%s) and any firewall between the node IPs", a, b, a)}}
}

// nodeNotes collects what was seen per node, in the order the nodes were first seen.
type nodeNotes struct {
	order []string
	by    map[string][]string
}

func (n *nodeNotes) add(node, what string) {
	if n.by == nil {
		n.by = map[string][]string{}
	}
	if _, ok := n.by[node]; !ok {
		n.order = append(n.order, node)
	}
	n.by[node] = append(n.by[node], what)
}

// kubeProxyFaults finds kube-proxy missing or stale on one node: the ClusterIP fails only from it
// while the pod IPs answer from it, or its NodePort fails from every node while the others' answer.
func (a *nodeAnalysis) kubeProxyFaults() []nodeFinding {
	var proxy nodeNotes
	a.proxyClusterIPFailures(&proxy)
	a.proxyNodePortFailures(&proxy)
	var faults []nodeFinding
	for _, n := range proxy.order {
		// DNS goes through the kube-dns ClusterIP: with the proxy broken there, it may fail too
		if row, ok := a.rowOf[n]; ok {
			if c := a.cell(row, "dns"); c != nil && c.State == report.CellFail {
				a.explained[nodeCellKey{n, "dns"}] = true
			}
		}
		faults = append(faults, kubeProxyFinding(a.svc, n, strings.Join(proxy.by[n], "; ")))
	}
	return faults
}

// proxyClusterIPFailures notes the ClusterIPs that fail only from a node whose pod IPs answer.
func (a *nodeAnalysis) proxyClusterIPFailures(proxy *nodeNotes) {
	for _, row := range a.m.Rows {
		if row.Error != "" || a.inPair[row.Node] {
			continue
		}
		podsOK := 0
		for _, c := range row.Cells {
			if a.target[c.Target].Kind == report.NodeTargetPod && c.State == report.CellOK {
				podsOK++
			}
		}
		for _, c := range row.Cells {
			t := a.target[c.Target]
			if t.Kind != report.NodeTargetClusterIP || c.State != report.CellFail || podsOK == 0 {
				continue
			}
			if others := a.okFromOther(c.Target, row.Node); len(others) > 0 {
				proxy.add(row.Node, fmt.Sprintf("the ClusterIP %s fails from node %s (%s) while the pod IPs answer from there and the ClusterIP answers from node %s", t.Address, row.Node, c.Failure, strings.Join(others, ", ")))
				a.explained[nodeCellKey{row.Node, c.Target}] = true
			}
		}
	}
}

// proxyNodePortFailures notes the NodePorts of a node that fail from every node while the other
// nodes' NodePort of the same port answers.
func (a *nodeAnalysis) proxyNodePortFailures(proxy *nodeNotes) {
	for _, t := range a.m.Targets {
		if t.Kind != report.NodeTargetNodePort || a.inPair[t.Node] || (a.local[t.Node] == 0 && eTPLocal(a.svc)) {
			continue
		}
		if !a.failsFromEveryNode(t.ID) || !a.otherNodePortAnswers(t) {
			continue
		}
		proxy.add(t.Node, fmt.Sprintf("the NodePort %s of node %s fails from every node while the other nodes' NodePort answers", t.Address, t.Node))
		for _, row := range a.m.Rows {
			a.explained[nodeCellKey{row.Node, t.ID}] = true
		}
	}
}

// failsFromEveryNode tells whether a target fails from every node whose helper ran (and one did).
func (a *nodeAnalysis) failsFromEveryNode(id string) bool {
	failedFrom, checked := 0, 0
	for _, row := range a.m.Rows {
		if row.Error != "" {
			continue
		}
		checked++
		if c, ok := row.Cell(id); ok && c.State == report.CellFail {
			failedFrom++
		}
	}
	return checked > 0 && failedFrom >= checked
}

// otherNodePortAnswers tells whether another node's NodePort of the same port answers from somewhere.
func (a *nodeAnalysis) otherNodePortAnswers(t report.NodeTarget) bool {
	for _, o := range a.m.Targets {
		if o.Kind == report.NodeTargetNodePort && o.Node != t.Node && strings.HasSuffix(o.ID, ":"+strings.SplitN(t.ID, ":", 3)[2]) && len(a.okFromOther(o.ID, "")) > 0 {
			return true
		}
	}
	return false
}

// kubeProxyFinding is the fault of the service proxy on one node.
func kubeProxyFinding(svc *corev1.Service, n, what string) nodeFinding {
	return nodeFinding{status: trace.Fail,
		summary: fmt.Sprintf("kube-proxy on node %s does not forward service/%s: %s", n, svc.Name, what),
		cause: &trace.Cause{Hop: HopNodes,
			RootCause: fmt.Sprintf("the service proxy (kube-proxy) is missing or stale on node %s: %s", n, what),
			Fix:       fmt.Sprintf("check kube-proxy on node %s: is it running (kubectl -n kube-system get pods -o wide --field-selector spec.nodeName=%s -l k8s-app=kube-proxy, or its service on the node) and does it program the Service (on the node: iptables-save | grep %s/%s)? Restart it to resync", n, n, svc.Namespace, svc.Name)}}
}

// dnsFaults finds DNS failing from some nodes only (and not explained by a broken pair or proxy).
func (a *nodeAnalysis) dnsFaults() []nodeFinding {
	var dnsBad, dnsOK []string
	dnsFail := ""
	for _, row := range a.m.Rows {
		if row.Error != "" {
			continue
		}
		c, ok := row.Cell("dns")
		if !ok {
			continue
		}
		switch {
		case c.State == report.CellOK:
			dnsOK = append(dnsOK, row.Node)
		case c.State == report.CellFail && !a.explained[nodeCellKey{row.Node, "dns"}] && !a.inPair[row.Node]:
			dnsBad = append(dnsBad, row.Node)
			dnsFail = c.Failure
		}
	}
	if len(dnsBad) == 0 || len(dnsOK) == 0 {
		return nil
	}
	for _, n := range dnsBad {
		a.explained[nodeCellKey{n, "dns"}] = true
	}
	return []nodeFinding{dnsFinding(a.target["dns"].Address, dnsBad, dnsOK, dnsFail)}
}

// dnsFinding is the fault of DNS from the nodes bad (it answers from the nodes ok).
func dnsFinding(name string, bad, ok []string, failure string) nodeFinding {
	what := fmt.Sprintf("the lookup of %s fails from node %s (%s) while it answers from node %s", name, strings.Join(bad, ", "), failure, strings.Join(ok, ", "))
	return nodeFinding{status: trace.Fail,
		summary: fmt.Sprintf("DNS fails only from node %s: %s", strings.Join(bad, ", "), what),
		cause: &trace.Cause{Hop: HopNodes,
			RootCause: fmt.Sprintf("DNS fails only from node %s, not in CoreDNS or the Service: %s; the way from that node to the cluster DNS is cut", strings.Join(bad, ", "), what),
			Fix:       fmt.Sprintf("on node %s, check what stands between its pods and the cluster DNS Service: host firewall rules dropping UDP/TCP 53 (iptables-save | grep -e 'dport 53' -e kube-dns), kube-proxy's rules for the kube-dns ClusterIP, a node-local DNS cache; compare with node %s", bad[0], ok[0])}}
}
