package servicetrace

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/trace"
)

// The traffic policies in the per-node checks: under externalTrafficPolicy or
// internalTrafficPolicy Local, a node without a local ready endpoint drops the Service's traffic
// by design. The failures that are this design are marked expected in the matrix (first, before
// the node-specific faults are looked for), and the policy is a finding of its own.

// eTPLocal tells whether the Service has node ports under externalTrafficPolicy Local.
func eTPLocal(svc *corev1.Service) bool {
	return hasNodePorts(svc) && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

// iTPLocal tells whether the Service has internalTrafficPolicy Local.
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

// markITPLocalDrops marks as expected the ClusterIP failures from the nodes without a local ready
// endpoint under internalTrafficPolicy Local.
func (a *nodeAnalysis) markITPLocalDrops() {
	if !iTPLocal(a.svc) || len(a.local) == 0 {
		return
	}
	m := a.m
	for i := range m.Rows {
		if a.local[m.Rows[i].Node] > 0 {
			continue
		}
		for j := range m.Rows[i].Cells {
			if c := &m.Rows[i].Cells[j]; c.State == report.CellFail && a.target[c.Target].Kind == report.NodeTargetClusterIP {
				c.State = report.CellExpected
			}
		}
	}
}

// markETPLocalDrops marks as expected the failures of the NodePorts of the nodes without a local
// ready endpoint under externalTrafficPolicy Local.
func (a *nodeAnalysis) markETPLocalDrops() {
	if !eTPLocal(a.svc) {
		return
	}
	m := a.m
	for i := range m.Rows {
		for j := range m.Rows[i].Cells {
			c := &m.Rows[i].Cells[j]
			if t := a.target[c.Target]; c.State == report.CellFail && t.Kind == report.NodeTargetNodePort && a.local[t.Node] == 0 {
				c.State = report.CellExpected
			}
		}
	}
}

// policyFindings are what the traffic policies drop by design: which nodes have a local ready
// endpoint, which drop (m, when not nil, adds what the helpers saw dropped).
func policyFindings(st *State, m *report.NodeMatrix, nodes []corev1.Node) []nodeFinding {
	svc := st.Service
	withLocal, without := nodesByLocalEndpoint(st, nodes)
	if len(withLocal) == 0 || len(without) == 0 {
		return nil
	}
	var policies []nodeFinding
	if iTPLocal(svc) {
		policies = append(policies, iTPLocalFinding(svc, withLocal, without, observedDrops(m, report.NodeTargetClusterIP)))
	}
	if eTPLocal(svc) {
		policies = append(policies, eTPLocalFinding(st, withLocal, without, observedDrops(m, report.NodeTargetNodePort)))
	}
	return policies
}

// nodesByLocalEndpoint splits the nodes into those with a local ready endpoint and the
// schedulable ones without, each sorted.
func nodesByLocalEndpoint(st *State, nodes []corev1.Node) (withLocal, without []string) {
	local := localEndpointNodes(st)
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
	return withLocal, without
}

// observedDrops says what the helpers saw dropped by design for targets of a kind ("" when
// nothing, or when there is no matrix).
func observedDrops(m *report.NodeMatrix, kind string) string {
	if m == nil {
		return ""
	}
	target := map[string]report.NodeTarget{}
	for _, t := range m.Targets {
		target[t.ID] = t
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

// iTPLocalFinding is what internalTrafficPolicy Local drops: the ClusterIP from the nodes without
// a local ready endpoint.
func iTPLocalFinding(svc *corev1.Service, withLocal, without []string, observed string) nodeFinding {
	what := fmt.Sprintf("internalTrafficPolicy Local: nodes %s have a local ready endpoint; pods on nodes %s have none, so their traffic to the ClusterIP is dropped by design%s",
		strings.Join(withLocal, ", "), strings.Join(without, ", "), observed)
	return nodeFinding{status: trace.Fail, summary: what,
		cause: &trace.Cause{Hop: HopNodes,
			RootCause: fmt.Sprintf("service/%s has %s", svc.Name, what),
			Fix: fmt.Sprintf("run a ready endpoint on every node whose pods use the Service (a DaemonSet, or topology spread constraints over %s), or let traffic leave the node: kubectl -n %s patch service %s -p '{\"spec\":{\"internalTrafficPolicy\":\"Cluster\"}}'",
				strings.Join(without, ", "), svc.Namespace, svc.Name)}}
}

// eTPLocalFinding is what externalTrafficPolicy Local drops: the NodePorts of the nodes without a
// local ready endpoint (a warning behind a load balancer, which health-checks the nodes).
func eTPLocalFinding(st *State, withLocal, without []string, observed string) nodeFinding {
	svc := st.Service
	var nps []string
	for _, sp := range st.Ports {
		if sp.NodePort != 0 {
			nps = append(nps, strconv.Itoa(int(sp.NodePort)))
		}
	}
	what := fmt.Sprintf("externalTrafficPolicy Local: nodes %s have a local ready endpoint and answer on NodePort %s; nodes %s have none and drop traffic from outside the cluster by design%s",
		strings.Join(withLocal, ", "), strings.Join(nps, ","), strings.Join(without, ", "), observed)
	status := trace.Fail
	fix := fmt.Sprintf("send clients only to nodes %s, run a ready endpoint on every node (a DaemonSet), or give up the client source IP: kubectl -n %s patch service %s -p '{\"spec\":{\"externalTrafficPolicy\":\"Cluster\"}}'",
		strings.Join(withLocal, ", "), svc.Namespace, svc.Name)
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		// a load balancer health-checks the nodes and sends traffic only to those with an endpoint
		status = trace.Warn
		fix = fmt.Sprintf("nothing, if the load balancer health-checks healthCheckNodePort %d (it then skips nodes %s); clients that address the nodes directly must use nodes %s", svc.Spec.HealthCheckNodePort, strings.Join(without, ", "), strings.Join(withLocal, ", "))
	}
	return nodeFinding{status: status, summary: what,
		cause: &trace.Cause{Hop: HopNodes, RootCause: fmt.Sprintf("service/%s has %s", svc.Name, what), Fix: fix}}
}
