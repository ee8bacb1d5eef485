package servicetrace

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
// nodes. This runs after the trace (RunNodes) as the hop "nodes": nodes_plan.go chooses the nodes and
// the targets, nodes_run.go runs the checks and fills the matrix, nodes_verdict.go compares its
// rows (one function per class of node-specific fault) and nodes_policy.go says what the traffic
// policies drop by design.

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
