package servicetrace

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/trace"
)

// The per-node checks. Most Service faults that survive a first look are node-specific: a node
// without a local endpoint under externalTrafficPolicy or internalTrafficPolicy Local, a broken pod
// route between two nodes, kube-proxy missing or stale on one node, DNS failing from one node. One
// helper sees only its own node, so these faults are missed or blamed on the application. When the
// Service's ready endpoints span nodes, or it has node ports, or a Local traffic policy, the same
// network checks (each ClusterIP port, the NodePort of every node, a DNS query, each endpoint's pod
// IP) run from a helper on each relevant node, and the node x target matrix is compared across
// nodes. This runs after the trace (RunNodes) as the hop "nodes".

// HopNodes is the ID of the per-node hop.
const HopNodes = "nodes"

// DefaultMaxNodes bounds the nodes the checks run from when they are chosen automatically.
const DefaultMaxNodes = 3

// MaxNodesAll bounds --nodes all and an explicit list.
const MaxNodesAll = maxNodes

// NodeAgents starts an agent pinned to a node (the CLI: a helper pod with nodeName).
type NodeAgents interface {
	AgentOn(ctx context.Context, node string) (trace.Agent, *trace.Source, error)
}

// NodeOptions configure the per-node checks.
type NodeOptions struct {
	// Off leaves them out (--nodes none).
	Off bool
	// Nodes names the nodes to run from (--nodes a,b); empty chooses them.
	Nodes []string
	// All runs from every node (--nodes all), at most MaxNodesAll.
	All bool
	// Max bounds the automatic choice (default DefaultMaxNodes).
	Max int
	// Agents starts the helpers on the nodes other than the main helper's.
	Agents NodeAgents
}

// explicit tells whether the nodes were named (--nodes a,b or all): they are then checked even
// when there is nothing to compare.
func (o NodeOptions) explicit() bool { return o.All || len(o.Nodes) > 0 }

// nodeRun is what the per-node hop found, kept for the report and the verdict.
type nodeRun struct {
	matrix *report.NodeMatrix
	// explainsAll is true when every failed check of the matrix is explained by a node-specific
	// finding (or the traffic policy): the verdict then comes from this hop.
	explainsAll bool
	findings    []nodeFinding
}

type nodeFinding struct {
	status  trace.Status
	summary string
	cause   *trace.Cause
}

// RunNodes runs the per-node hop after a trace when it applies (see the comment at the top of
// this file) and returns the steps with it.
func RunNodes(ctx context.Context, st *State, steps []trace.Step, opts NodeOptions) []trace.Step {
	if opts.Off || st.Static || st.Service == nil || st.Fatal() != nil || ctx.Err() != nil || semantics.IsExternalName(st.Service) {
		return steps
	}
	reason := nodesReason(st, opts)
	if reason == "" {
		return steps
	}
	// the cause is known already (and no helper is needed for it)
	for _, id := range []string{HopSelector, HopPorts, HopReadiness, HopEndpoints} {
		if r, ok := st.Result(id); ok && r.Status == trace.Fail {
			return steps
		}
	}
	// one node to check from, and no traffic policy to explain: nothing to compare
	mainNode := ""
	if src, ok := st.AgentSource(); ok {
		mainNode = src.Node
	}
	nodes, why := st.Reads.Nodes(ctx)
	if chosen, _, _ := chooseNodes(st, opts, mainNode, nodes, why == ""); len(chosen) <= 1 && !opts.explicit() && len(policyFindings(st, nil, nodes)) == 0 {
		return steps
	}
	hop := trace.NewHop(HopNodes, "checks from each node", []string{HopService}, []string{HopEndpoints},
		func(ctx context.Context, st *State) trace.Result { return st.runNodes(ctx, opts, reason) })
	return append(steps, trace.Trace(ctx, st, []Hop{hop})...)
}

// nodesReason says why the checks run from several nodes ("" when they do not).
func nodesReason(st *State, opts NodeOptions) string {
	svc := st.Service
	var why []string
	switch {
	case opts.All:
		why = append(why, "--nodes all")
	case len(opts.Nodes) > 0:
		why = append(why, "--nodes "+strings.Join(opts.Nodes, ","))
	}
	if n := len(localEndpointNodes(st)); n > 1 {
		why = append(why, fmt.Sprintf("the ready endpoints span %d nodes", n))
	}
	if hasNodePorts(svc) {
		why = append(why, "the Service has node ports")
	}
	if eTPLocal(svc) {
		why = append(why, "externalTrafficPolicy Local")
	}
	if iTPLocal(svc) {
		why = append(why, "internalTrafficPolicy Local")
	}
	return strings.Join(why, ", ")
}

func eTPLocal(svc *corev1.Service) bool {
	return hasNodePorts(svc) && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

func iTPLocal(svc *corev1.Service) bool {
	return svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
}

// schedulable tells whether ordinary pods run on a node (clients of the Service may be there).
func schedulable(n *corev1.Node) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return false
		}
	}
	return true
}

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

// planNodeProbes lists the targets every node's helper tests.
func (st *State) planNodeProbes(ctx context.Context, nodes []corev1.Node) ([]nodeProbe, []string) {
	svc := st.Service
	timeout := agent.Duration{Duration: st.CheckTimeout}
	var out []nodeProbe
	var notes []string
	l4 := func(id string, ip string, port int32, proto corev1.Protocol) (agent.Check, bool) {
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
	if !semantics.IsHeadless(svc) && svc.Spec.ClusterIP != "" {
		for i, sp := range st.Ports {
			proto := semantics.Protocol(sp.Protocol)
			id := fmt.Sprintf("clusterIP:%d/%s", sp.Port, proto)
			if c, ok := l4(fmt.Sprintf("n-cip-%d", i), svc.Spec.ClusterIP, sp.Port, proto); ok {
				out = append(out, nodeProbe{target: report.NodeTarget{ID: id, Kind: report.NodeTargetClusterIP,
					Address: net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(sp.Port))) + "/" + string(proto)}, check: c, port: semantics.PortName(&sp)})
			}
		}
	}
	if hasNodePorts(svc) {
		sorted := append([]corev1.Node(nil), nodes...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
		for i := range sorted {
			n := &sorted[i]
			if i == maxNodes {
				notes = append(notes, fmt.Sprintf("the NodePort of %d of %d nodes tested", maxNodes, len(sorted)))
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
				if c, ok := l4(fmt.Sprintf("n-np-%d-%d", i, sp.NodePort), ip, sp.NodePort, proto); ok {
					out = append(out, nodeProbe{target: report.NodeTarget{ID: fmt.Sprintf("nodePort:%s:%d/%s", n.Name, sp.NodePort, proto), Kind: report.NodeTargetNodePort,
						Address: net.JoinHostPort(ip, strconv.Itoa(int(sp.NodePort))) + "/" + string(proto), Node: n.Name}, check: c, port: semantics.PortName(&sp)})
				}
			}
		}
	}
	// DNS: name.namespace, through the search path (whatever the cluster domain)
	if qs := dnsQueries(st, serviceSlices(ctx, st), defaultClusterDomain, false); len(qs) > 0 {
		q := qs[0]
		out = append(out, nodeProbe{target: report.NodeTarget{ID: "dns", Kind: report.NodeTargetDNS, Address: q.Name},
			check: agent.Check{ID: "n-dns", Type: agent.CheckDNS, Timeout: timeout, DNS: &agent.DNSCheck{Name: q.Name, QType: q.Type}}, dns: &q})
	}
	// each ready endpoint's pod IP, once (its first port)
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
		c, ok := l4(fmt.Sprintf("n-ep-%d", tested), t.IP, t.Port, t.Protocol)
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
	if len(out) > agent.MaxChecks {
		notes = append(notes, fmt.Sprintf("%d of %d per-node checks run", agent.MaxChecks, len(out)))
		out = out[:agent.MaxChecks]
	}
	return out, notes
}

// nodeAgent is the agent of one row.
type nodeAgent struct {
	node string
	ag   trace.Agent
	src  *trace.Source
	err  error
}

func (st *State) runNodes(ctx context.Context, opts NodeOptions, reason string) trace.Result {
	r := trace.Result{Status: trace.Pass}
	nodes, why := st.Reads.Nodes(ctx)
	if why != "" {
		r.Evidence = append(r.Evidence, "nodes not read: "+why)
	}
	mainAg, mainSrc, mainErr := st.agentFor(ctx)
	mainNode := ""
	if mainErr == nil && mainSrc != nil {
		mainNode = mainSrc.Node
	}
	chosen, selection, notes := chooseNodes(st, opts, mainNode, nodes, why == "")
	m := &report.NodeMatrix{Reason: reason, Selection: selection, Notes: notes}
	run := &nodeRun{matrix: m}
	st.nodes = run
	if len(chosen) == 0 || (len(chosen) == 1 && !opts.explicit()) {
		// the traffic policy alone (one node to check from: nothing to compare)
		st.nodes = &nodeRun{findings: policyFindings(st, nil, nodes), explainsAll: true}
		r.Evidence = append(r.Evidence, fmt.Sprintf("checks from one node only (%s): nothing to compare (--nodes a,b to choose more)", orNone(strings.Join(chosen, ""))))
		r.Evidence = append(r.Evidence, notes...)
		return st.nodesResult(r, 0, 0, 0)
	}
	probes, pnotes := st.planNodeProbes(ctx, nodes)
	m.Notes = append(m.Notes, pnotes...)
	for _, p := range probes {
		m.Targets = append(m.Targets, p.target)
	}
	local := localEndpointNodes(st)

	// acquire the agents (the other nodes' helpers start at the same time) and run the checks
	agents := make([]nodeAgent, len(chosen))
	var wg sync.WaitGroup
	for i, n := range chosen {
		agents[i].node = n
		if n == mainNode {
			agents[i].ag, agents[i].src = mainAg, mainSrc
			continue
		}
		if opts.Agents == nil {
			agents[i].err = trace.ErrNoAgent
			continue
		}
		wg.Add(1)
		go func(a *nodeAgent) {
			defer wg.Done()
			a.ag, a.src, a.err = opts.Agents.AgentOn(ctx, a.node)
		}(&agents[i])
	}
	wg.Wait()
	results := make([][]agent.Result, len(chosen))
	errs := make([]error, len(chosen))
	req := agent.Request{APIVersion: agent.APIVersion, Kind: agent.KindCheckRequest}
	for _, p := range probes {
		req.Checks = append(req.Checks, p.check)
	}
	for i := range agents {
		a := &agents[i]
		if a.err != nil || len(req.Checks) == 0 {
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := agents[i].ag.Run(ctx, req)
			switch {
			case err != nil:
				errs[i] = err
			case len(resp.Results) != len(req.Checks):
				errs[i] = fmt.Errorf("the agent answered %d of %d checks", len(resp.Results), len(req.Checks))
			default:
				results[i] = resp.Results
			}
		}(i)
	}
	wg.Wait()
	ran := 0
	for i, a := range agents {
		row := report.NodeRow{Node: a.node, LocalEndpoints: local[a.node]}
		switch {
		case a.err != nil:
			row.Error = a.err.Error()
		case errs[i] != nil:
			row.From = a.src.Description
			row.Error = "the agent did not run: " + errs[i].Error()
		default:
			row.From = a.src.Description
			ran++
		}
		for j, p := range probes {
			c := report.NodeCell{Target: p.target.ID, State: report.CellNotRun}
			if results[i] != nil {
				res := results[i][j]
				c.State, c.Failure, c.Detail = report.CellOK, string(res.Failure), res.Detail
				switch {
				case p.dns != nil:
					q := *p.dns
					evalDNS(&q, res)
					if q.Status == trace.Fail {
						c.State = report.CellFail
						if c.Failure == "" {
							c.Failure = "wrong answer"
							c.Detail = failText(&q)
						}
					}
				case !res.OK:
					c.State = report.CellFail
				}
				if c.State == report.CellOK {
					c.Failure, c.Detail = "", ""
				}
			}
			row.Cells = append(row.Cells, c)
		}
		m.Rows = append(m.Rows, row)
	}
	if ran == 0 {
		r.Status, r.Incomplete = trace.Skip, true
		r.Summary = "skipped: no helper ran on any of the nodes " + strings.Join(chosen, ", ")
		for _, row := range m.Rows {
			r.Evidence = append(r.Evidence, fmt.Sprintf("node %s: %s", row.Node, row.Error))
		}
		return r
	}
	run.findings, run.explainsAll = analyzeNodes(st, m, nodes)
	r.Evidence = append(r.Evidence, nodeEvidence(m)...)
	r.Evidence = append(r.Evidence, m.Notes...)
	failed, expected := 0, 0
	for _, row := range m.Rows {
		for _, c := range row.Cells {
			switch c.State {
			case report.CellFail:
				failed++
			case report.CellExpected:
				expected++
			}
		}
	}
	r = st.nodesResult(r, len(probes)*ran-expected, failed, ran)
	if ran < len(m.Rows) {
		var missing []string
		for _, row := range m.Rows {
			if row.Error != "" {
				missing = append(missing, row.Node)
			}
		}
		r.Incomplete = r.Status != trace.Fail
		if r.Status == trace.Pass {
			r.Summary += fmt.Sprintf("; node %s not checked: no helper ran there", strings.Join(missing, ", "))
		}
		r.Evidence = append(r.Evidence, fmt.Sprintf("%d of %d nodes could not be checked (see the matrix)", len(m.Rows)-ran, len(m.Rows)))
	}
	return r
}

// nodesResult sets the hop's status, summary and cause from the findings: the first fault, else
// the first warning, else a summary of the checks (answered: how many answered; failed: how many
// failed alike from every node).
func (st *State) nodesResult(r trace.Result, answered, failed, ran int) trace.Result {
	run := st.nodes
	var warn *nodeFinding
	for i := range run.findings {
		f := &run.findings[i]
		if f.status == trace.Fail {
			if r.Status != trace.Fail {
				r.Status, r.Summary, r.Cause = trace.Fail, f.summary, f.cause
			} else {
				r.Evidence = append(r.Evidence, "also: "+f.summary)
			}
		} else if warn == nil {
			warn = f
		} else {
			r.Evidence = append(r.Evidence, "also: "+f.summary)
		}
	}
	if warn != nil {
		if r.Status == trace.Pass {
			r.Status, r.Summary, r.Cause = trace.Warn, warn.summary, warn.cause
		} else {
			r.Evidence = append(r.Evidence, "also: "+warn.summary)
		}
	}
	if r.Status == trace.Pass {
		switch {
		case failed > 0:
			r.Status = trace.Warn
			r.Summary = fmt.Sprintf("%d checks fail alike from every node: not a node-specific fault (see the hops above)", failed)
		case ran == 0:
			r.Summary = "no node-specific difference"
		default:
			r.Summary = fmt.Sprintf("%d checks from %d %s answer alike", answered, ran, report.Plural(ran, "node", "nodes"))
		}
	}
	return r
}

// nodeEvidence is the matrix as evidence lines, one per node: what failed from there.
func nodeEvidence(m *report.NodeMatrix) []string {
	labels := map[string]string{}
	for _, t := range m.Targets {
		labels[t.ID] = t.Label()
	}
	var out []string
	for _, row := range m.Rows {
		if row.Error != "" {
			out = append(out, fmt.Sprintf("from node %s: not checked: %s", row.Node, row.Error))
			continue
		}
		ok := 0
		var bad []string
		for _, c := range row.Cells {
			switch c.State {
			case report.CellOK:
				ok++
			case report.CellFail:
				bad = append(bad, labels[c.Target]+": "+orNone(c.Failure))
			case report.CellExpected:
				bad = append(bad, labels[c.Target]+": "+orNone(c.Failure)+" (by design)")
			}
		}
		line := fmt.Sprintf("from node %s (%s, %d local ready %s): %d/%d answer", row.Node, row.From, row.LocalEndpoints,
			report.Plural(row.LocalEndpoints, "endpoint", "endpoints"), ok, len(row.Cells))
		if len(bad) > 0 {
			line += "; " + strings.Join(capList(bad), "; ")
		}
		out = append(out, line)
	}
	return out
}

// networkFailure tells whether a failure class means packets do not get there (as opposed to a
// process that refuses or answers wrong).
func networkFailure(f string) bool {
	switch agent.FailureClass(f) {
	case agent.FailTimeout, agent.FailUnreachable, agent.FailDNSTimeout:
		return true
	}
	return false
}

// analyzeNodes compares the rows of the matrix and returns the node-specific findings (faults
// first) and whether they explain every failed check.
func analyzeNodes(st *State, m *report.NodeMatrix, nodes []corev1.Node) ([]nodeFinding, bool) {
	svc := st.Service
	local := localEndpointNodes(st)
	target := map[string]report.NodeTarget{}
	for _, t := range m.Targets {
		target[t.ID] = t
	}
	rowOf := map[string]*report.NodeRow{}
	for i := range m.Rows {
		if m.Rows[i].Error == "" {
			rowOf[m.Rows[i].Node] = &m.Rows[i]
		}
	}
	cell := func(row *report.NodeRow, id string) *report.NodeCell {
		for i := range row.Cells {
			if row.Cells[i].Target == id {
				return &row.Cells[i]
			}
		}
		return nil
	}
	okFromOther := func(id, except string) []string {
		var out []string
		for _, row := range m.Rows {
			if row.Error != "" || row.Node == except {
				continue
			}
			if c, ok := row.Cell(id); ok && c.State == report.CellOK {
				out = append(out, row.Node)
			}
		}
		return out
	}
	// 1. what the traffic policies drop by design
	if iTPLocal(svc) && len(local) > 0 {
		for i := range m.Rows {
			if local[m.Rows[i].Node] > 0 {
				continue
			}
			for j := range m.Rows[i].Cells {
				if c := &m.Rows[i].Cells[j]; c.State == report.CellFail && target[c.Target].Kind == report.NodeTargetClusterIP {
					c.State = report.CellExpected
				}
			}
		}
	}
	if eTPLocal(svc) {
		for i := range m.Rows {
			for j := range m.Rows[i].Cells {
				c := &m.Rows[i].Cells[j]
				if t := target[c.Target]; c.State == report.CellFail && t.Kind == report.NodeTargetNodePort && local[t.Node] == 0 {
					c.State = report.CellExpected
				}
			}
		}
	}

	explained := map[[2]string]bool{}
	var faults []nodeFinding

	// 2. the pod network between two nodes: a pod on B does not answer from A, while it does
	// from B's own helper (or another node's)
	type pair struct{ a, b string }
	broken := map[pair][]string{} // (from, pod's node) -> pods
	brokenVia := map[pair]string{}
	failClass := map[pair]string{}
	for _, row := range m.Rows {
		if row.Error != "" {
			continue
		}
		for _, c := range row.Cells {
			t := target[c.Target]
			if t.Kind != report.NodeTargetPod || c.State != report.CellFail || t.Node == "" || t.Node == row.Node || !networkFailure(c.Failure) {
				continue
			}
			via := ""
			if own, ok := rowOf[t.Node]; ok {
				if oc := cell(own, c.Target); oc != nil && oc.State == report.CellOK {
					via = "its own node " + t.Node
				}
			}
			if via == "" {
				if others := okFromOther(c.Target, row.Node); len(others) > 0 {
					via = "node " + strings.Join(others, ", ")
				}
			}
			if via == "" {
				continue // it answers from nowhere: not the network between two nodes
			}
			p := pair{row.Node, t.Node}
			broken[p] = append(broken[p], "pod/"+t.Name)
			if brokenVia[p] == "" {
				brokenVia[p] = via
			}
			failClass[p] = c.Failure
		}
	}
	inPair := map[string]bool{}
	if len(broken) > 0 {
		var ps []pair
		for p := range broken {
			ps = append(ps, p)
		}
		sort.Slice(ps, func(i, j int) bool {
			if ps[i].a != ps[j].a {
				return ps[i].a < ps[j].a
			}
			return ps[i].b < ps[j].b
		})
		done := map[pair]bool{}
		for _, p := range ps {
			if done[p] {
				continue
			}
			done[p] = true
			inPair[p.a], inPair[p.b] = true, true
			back, both := broken[pair{p.b, p.a}]
			done[pair{p.b, p.a}] = true
			what := fmt.Sprintf("%s on node %s %s from node %s's helper (%s) while %s from %s", strings.Join(capList(broken[p]), ", "), p.b,
				report.Plural(len(broken[p]), "does not answer", "do not answer"), p.a, failClass[p], report.Plural(len(broken[p]), "it answers", "they answer"), brokenVia[p])
			if both {
				what += fmt.Sprintf("; and %s on node %s %s from node %s", strings.Join(capList(back), ", "), p.a, report.Plural(len(back), "does not answer", "do not answer"), p.b)
			}
			a, b := p.a, p.b
			if a > b {
				a, b = b, a
			}
			faults = append(faults, nodeFinding{status: trace.Fail,
				summary: fmt.Sprintf("pod network between nodes %s and %s is broken: %s", a, b, what),
				cause: &trace.Cause{Hop: HopNodes,
					RootCause: fmt.Sprintf("the pod network between nodes %s and %s is broken (the inter-node route or the CNI), not the application: %s", a, b, what),
					Fix:       fmt.Sprintf("check the routes between the nodes' pod CIDRs (on %s: ip route get <a pod IP of %s>, and back), the CNI plugin's agents on both nodes (kubectl -n kube-system get pods -o wide --field-selector spec.nodeName=%s) and any firewall between the node IPs", a, b, a)}})
		}
		// everything that fails from (or to) a node of a broken pair may cross it
		for i := range m.Rows {
			row := &m.Rows[i]
			for _, c := range row.Cells {
				t := target[c.Target]
				if c.State == report.CellFail && (inPair[row.Node] || (t.Node != "" && inPair[t.Node])) {
					explained[[2]string{row.Node, c.Target}] = true
				}
			}
		}
	}

	// 3. kube-proxy missing or stale on one node: the ClusterIP fails only from it while the pod
	// IPs answer from it, or its NodePort fails from every node while the others' answer
	proxyNodes := map[string][]string{}
	var proxyOrder []string
	addProxy := func(node, what string) {
		if _, ok := proxyNodes[node]; !ok {
			proxyOrder = append(proxyOrder, node)
		}
		proxyNodes[node] = append(proxyNodes[node], what)
	}
	for _, row := range m.Rows {
		if row.Error != "" || inPair[row.Node] {
			continue
		}
		podsOK := 0
		for _, c := range row.Cells {
			if target[c.Target].Kind == report.NodeTargetPod && c.State == report.CellOK {
				podsOK++
			}
		}
		for _, c := range row.Cells {
			t := target[c.Target]
			if t.Kind != report.NodeTargetClusterIP || c.State != report.CellFail || podsOK == 0 {
				continue
			}
			if others := okFromOther(c.Target, row.Node); len(others) > 0 {
				addProxy(row.Node, fmt.Sprintf("the ClusterIP %s fails from node %s (%s) while the pod IPs answer from there and the ClusterIP answers from node %s", t.Address, row.Node, c.Failure, strings.Join(others, ", ")))
				explained[[2]string{row.Node, c.Target}] = true
			}
		}
	}
	for _, t := range m.Targets {
		if t.Kind != report.NodeTargetNodePort || inPair[t.Node] || (local[t.Node] == 0 && eTPLocal(svc)) {
			continue
		}
		failedFrom, checked := 0, 0
		for _, row := range m.Rows {
			if row.Error != "" {
				continue
			}
			checked++
			if c, ok := row.Cell(t.ID); ok && c.State == report.CellFail {
				failedFrom++
			}
		}
		if checked == 0 || failedFrom < checked {
			continue
		}
		// the other nodes' NodePort of the same port answers from somewhere
		otherOK := false
		for _, o := range m.Targets {
			if o.Kind == report.NodeTargetNodePort && o.Node != t.Node && strings.HasSuffix(o.ID, ":"+strings.SplitN(t.ID, ":", 3)[2]) && len(okFromOther(o.ID, "")) > 0 {
				otherOK = true
			}
		}
		if !otherOK {
			continue
		}
		addProxy(t.Node, fmt.Sprintf("the NodePort %s of node %s fails from every node while the other nodes' NodePort answers", t.Address, t.Node))
		for _, row := range m.Rows {
			explained[[2]string{row.Node, t.ID}] = true
		}
	}
	for _, n := range proxyOrder {
		// DNS goes through the kube-dns ClusterIP: with the proxy broken there, it may fail too
		if row, ok := rowOf[n]; ok {
			if c := cell(row, "dns"); c != nil && c.State == report.CellFail {
				explained[[2]string{n, "dns"}] = true
			}
		}
		what := strings.Join(proxyNodes[n], "; ")
		faults = append(faults, nodeFinding{status: trace.Fail,
			summary: fmt.Sprintf("kube-proxy on node %s does not forward service/%s: %s", n, svc.Name, what),
			cause: &trace.Cause{Hop: HopNodes,
				RootCause: fmt.Sprintf("the service proxy (kube-proxy) is missing or stale on node %s: %s", n, what),
				Fix:       fmt.Sprintf("check kube-proxy on node %s: is it running (kubectl -n kube-system get pods -o wide --field-selector spec.nodeName=%s -l k8s-app=kube-proxy, or its service on the node) and does it program the Service (on the node: iptables-save | grep %s/%s)? Restart it to resync", n, n, svc.Namespace, svc.Name)}})
	}

	// 4. DNS failing from one node only
	var dnsBad []string
	var dnsOK []string
	dnsFail := ""
	for _, row := range m.Rows {
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
		case c.State == report.CellFail && !explained[[2]string{row.Node, "dns"}] && !inPair[row.Node]:
			dnsBad = append(dnsBad, row.Node)
			dnsFail = c.Failure
		}
	}
	if len(dnsBad) > 0 && len(dnsOK) > 0 {
		name := target["dns"].Address
		for _, n := range dnsBad {
			explained[[2]string{n, "dns"}] = true
		}
		what := fmt.Sprintf("the lookup of %s fails from node %s (%s) while it answers from node %s", name, strings.Join(dnsBad, ", "), dnsFail, strings.Join(dnsOK, ", "))
		faults = append(faults, nodeFinding{status: trace.Fail,
			summary: fmt.Sprintf("DNS fails only from node %s: %s", strings.Join(dnsBad, ", "), what),
			cause: &trace.Cause{Hop: HopNodes,
				RootCause: fmt.Sprintf("DNS fails only from node %s, not in CoreDNS or the Service: %s; the way from that node to the cluster DNS is cut", strings.Join(dnsBad, ", "), what),
				Fix:       fmt.Sprintf("on node %s, check what stands between its pods and the cluster DNS Service: host firewall rules dropping UDP/TCP 53 (iptables-save | grep -e 'dport 53' -e kube-dns), kube-proxy's rules for the kube-dns ClusterIP, a node-local DNS cache; compare with node %s", dnsBad[0], dnsOK[0])}})
	}

	all := true
	for _, row := range m.Rows {
		for _, c := range row.Cells {
			if c.State == report.CellFail && !explained[[2]string{row.Node, c.Target}] {
				all = false
			}
		}
	}
	return append(faults, policyFindings(st, m, nodes)...), all
}

// policyFindings are what the traffic policies drop by design: which nodes have a local ready
// endpoint, which drop (m, when not nil, adds what the helpers saw dropped).
func policyFindings(st *State, m *report.NodeMatrix, nodes []corev1.Node) []nodeFinding {
	svc := st.Service
	ns := svc.Namespace
	local := localEndpointNodes(st)
	var withLocal, without []string
	for i := range nodes {
		n := &nodes[i]
		if local[n.Name] > 0 {
			withLocal = append(withLocal, n.Name)
		} else if schedulable(n) {
			without = append(without, n.Name)
		}
	}
	sort.Strings(withLocal)
	sort.Strings(without)
	target := map[string]report.NodeTarget{}
	if m != nil {
		for _, t := range m.Targets {
			target[t.ID] = t
		}
	}
	var policies []nodeFinding
	if len(withLocal) > 0 && len(without) > 0 {
		observed := func(kind string) string {
			if m == nil {
				return ""
			}
			var seen []string
			for _, row := range m.Rows {
				for _, c := range row.Cells {
					if c.State == report.CellExpected && target[c.Target].Kind == kind {
						seen = append(seen, fmt.Sprintf("%s from node %s: %s", target[c.Target].Label(), row.Node, c.Failure))
					}
				}
			}
			if len(seen) == 0 {
				return ""
			}
			return " (seen: " + strings.Join(capList(seen), "; ") + ")"
		}
		if iTPLocal(svc) {
			what := fmt.Sprintf("internalTrafficPolicy Local: nodes %s have a local ready endpoint; pods on nodes %s have none, so their traffic to the ClusterIP is dropped by design%s",
				strings.Join(withLocal, ", "), strings.Join(without, ", "), observed(report.NodeTargetClusterIP))
			policies = append(policies, nodeFinding{status: trace.Fail, summary: what,
				cause: &trace.Cause{Hop: HopNodes,
					RootCause: fmt.Sprintf("service/%s has %s", svc.Name, what),
					Fix: fmt.Sprintf("run a ready endpoint on every node whose pods use the Service (a DaemonSet, or topology spread constraints over %s), or let traffic leave the node: kubectl -n %s patch service %s -p '{\"spec\":{\"internalTrafficPolicy\":\"Cluster\"}}'",
						strings.Join(without, ", "), ns, svc.Name)}})
		}
		if eTPLocal(svc) {
			var nps []string
			for _, sp := range st.Ports {
				if sp.NodePort != 0 {
					nps = append(nps, strconv.Itoa(int(sp.NodePort)))
				}
			}
			what := fmt.Sprintf("externalTrafficPolicy Local: nodes %s have a local ready endpoint and answer on NodePort %s; nodes %s have none and drop traffic from outside the cluster by design%s",
				strings.Join(withLocal, ", "), strings.Join(nps, ","), strings.Join(without, ", "), observed(report.NodeTargetNodePort))
			status := trace.Fail
			fix := fmt.Sprintf("send clients only to nodes %s, run a ready endpoint on every node (a DaemonSet), or give up the client source IP: kubectl -n %s patch service %s -p '{\"spec\":{\"externalTrafficPolicy\":\"Cluster\"}}'",
				strings.Join(withLocal, ", "), ns, svc.Name)
			if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
				// a load balancer health-checks the nodes and sends traffic only to those with an endpoint
				status = trace.Warn
				fix = fmt.Sprintf("nothing, if the load balancer health-checks healthCheckNodePort %d (it then skips nodes %s); clients that address the nodes directly must use nodes %s", svc.Spec.HealthCheckNodePort, strings.Join(without, ", "), strings.Join(withLocal, ", "))
			}
			policies = append(policies, nodeFinding{status: status, summary: what,
				cause: &trace.Cause{Hop: HopNodes, RootCause: fmt.Sprintf("service/%s has %s", svc.Name, what), Fix: fix}})
		}
	}

	return policies
}

// networkHops are the hops whose failure a node-specific finding can explain.
var networkHops = []string{HopDNS, HopConnectivity, HopExposure}

// Conclude is the verdict of a Service trace: the first failing hop's (trace.Conclude), unless the
// per-node hop found a node-specific fault that explains every failed check of its matrix and the
// first failure is in a network hop (DNS, connectivity, exposure): a single helper's view then
// blames the application or the proxy for what the nodes show is a node's fault.
func Conclude(st *State, steps []trace.Step) trace.Verdict {
	v := trace.Conclude(steps)
	if st == nil || st.nodes == nil {
		return v
	}
	var node *trace.Step
	for i := range steps {
		if steps[i].ID == HopNodes {
			node = &steps[i]
		}
	}
	if node == nil || node.Result.Status != trace.Fail || node.Result.Cause == nil {
		return v
	}
	if v.Kind == report.VerdictFault && (!slices.Contains(networkHops, v.Hop) || !st.nodes.explainsAll) {
		return v
	}
	out := trace.Verdict{Kind: report.VerdictFault, Hop: HopNodes, RootCause: node.Result.Cause.RootCause, Fix: node.Result.Cause.Fix}
	if len(st.nodes.findings) > 1 {
		for _, f := range st.nodes.findings {
			out.Problems = append(out.Problems, f.summary)
		}
	}
	return out
}
