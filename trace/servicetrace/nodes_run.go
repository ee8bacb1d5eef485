package servicetrace

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/trace"
)

// The run of the per-node hop: start a helper on each chosen node, run the planned checks from
// every one of them at the same time, fill the node x target matrix and sum it up.

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
	agents := acquireNodeAgents(ctx, opts, chosen, mainNode, mainAg, mainSrc)
	results, errs := runNodeChecks(ctx, agents, probes)
	ran := 0
	for i, a := range agents {
		row := nodeMatrixRow(a, errs[i], results[i], probes)
		row.LocalEndpoints = local[a.node]
		if a.err == nil && errs[i] == nil {
			ran++
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
	failed, expected := countNodeCells(m)
	r = st.nodesResult(r, len(probes)*ran-expected, failed, ran)
	if ran < len(m.Rows) {
		r = nodesNotChecked(r, m, ran)
	}
	return r
}

// acquireNodeAgents returns an agent for each chosen node: the main helper's on its node, the
// others started at the same time (their err says why one did not start).
func acquireNodeAgents(ctx context.Context, opts NodeOptions, chosen []string, mainNode string, mainAg trace.Agent, mainSrc *trace.Source) []nodeAgent {
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
	return agents
}

// runNodeChecks runs the probes' checks from every agent at the same time and returns, per agent,
// the results (nil when they did not run) and why the agent did not answer.
func runNodeChecks(ctx context.Context, agents []nodeAgent, probes []nodeProbe) ([][]agent.Result, []error) {
	results := make([][]agent.Result, len(agents))
	errs := make([]error, len(agents))
	req := agent.Request{APIVersion: agent.APIVersion, Kind: agent.KindCheckRequest}
	for _, p := range probes {
		req.Checks = append(req.Checks, p.check)
	}
	var wg sync.WaitGroup
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
	return results, errs
}

// nodeMatrixRow is the row of one node: where its checks ran from (or why they did not) and a
// cell per probe.
func nodeMatrixRow(a nodeAgent, runErr error, results []agent.Result, probes []nodeProbe) report.NodeRow {
	row := report.NodeRow{Node: a.node}
	switch {
	case a.err != nil:
		row.Error = a.err.Error()
	case runErr != nil:
		row.From = a.src.Description
		row.Error = "the agent did not run: " + runErr.Error()
	default:
		row.From = a.src.Description
	}
	for j, p := range probes {
		c := report.NodeCell{Target: p.target.ID, State: report.CellNotRun}
		if results != nil {
			c = nodeMatrixCell(p, results[j])
		}
		row.Cells = append(row.Cells, c)
	}
	return row
}

// nodeMatrixCell is the cell of a probe from the agent's result (a DNS answer is judged like the
// DNS hop does).
func nodeMatrixCell(p nodeProbe, res agent.Result) report.NodeCell {
	c := report.NodeCell{Target: p.target.ID, State: report.CellOK, Failure: string(res.Failure), Detail: res.Detail}
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
	return c
}

// countNodeCells counts the failed cells of the matrix and those failed by design.
func countNodeCells(m *report.NodeMatrix) (failed, expected int) {
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
	return failed, expected
}

// nodesNotChecked adds to the result the nodes where no helper ran (ran of the rows did): the hop
// is then incomplete unless it failed.
func nodesNotChecked(r trace.Result, m *report.NodeMatrix, ran int) trace.Result {
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
