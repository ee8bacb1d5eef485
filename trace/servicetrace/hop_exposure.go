package servicetrace

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/trace"
)

// maxNodes bounds the nodes whose NodePort is tested.
const maxNodes = 10

func internalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

// localEndpointNodes counts the ready endpoints per node.
func localEndpointNodes(st *State) map[string]int {
	out := map[string]int{}
	seen := map[string]bool{}
	for _, t := range st.Targets {
		if t.Node != "" && t.Ready && !seen[t.IP] {
			seen[t.IP] = true
			out[t.Node]++
		}
	}
	if len(out) == 0 {
		for _, p := range st.Pods {
			if st.ReadyPods[p.Name] && p.Spec.NodeName != "" {
				out[p.Spec.NodeName]++
			}
		}
	}
	return out
}

func runExposure(ctx context.Context, st *State) trace.Result {
	svc := st.Service
	r := trace.Result{Status: trace.Pass}
	var parts []string
	if semantics.IsExternalName(svc) {
		return trace.Result{Status: trace.Skip, Summary: "not applicable: ExternalName Service (no node ports, no load balancer, no backends for policies)"}
	}
	// session affinity
	if part := affinityEvidence(svc, &r); part != "" {
		parts = append(parts, part)
	}
	if len(svc.Spec.ExternalIPs) > 0 {
		r.Evidence = append(r.Evidence, "externalIPs "+strings.Join(svc.Spec.ExternalIPs, ", ")+" (routed to the nodes by you, not by Kubernetes)")
	}

	// node ports
	if hasNodePorts(svc) {
		nr := st.nodePorts(ctx, &r)
		if nr != "" {
			parts = append(parts, nr)
		}
	}

	// load balancer
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		parts = append(parts, loadBalancerEvidence(svc, &r))
	}

	// NetworkPolicies selecting the backends
	var src *trace.Source
	if s, ok := st.AgentSource(); ok && !st.Static {
		src = s
	}
	var pe *policyEvaluation
	if src != nil {
		pe = st.policies(ctx, src)
	} else {
		pe = st.evaluatePolicies(ctx, nil)
	}
	if pe.Unknown != "" {
		r.Evidence = append(r.Evidence, "NetworkPolicies not evaluated: "+pe.Unknown)
	} else {
		if _, already := st.Result(HopConnectivity); !already || src == nil || !pe.Denies() || st.connectivityOK {
			r.Evidence = append(r.Evidence, pe.Lines...)
		}
		switch {
		case len(pe.Ingress) == 0:
		case src == nil && len(pe.DenyAll) == len(pe.Ingress):
			if r.Status == trace.Pass {
				r.Status = trace.Warn
			}
			parts = append(parts, strings.Join(pe.DenyAll, ", ")+" admits no ingress to the backends")
		case src != nil && pe.Denies() && st.connectivityOK:
			if r.Status == trace.Pass {
				r.Status = trace.Warn
			}
			parts = append(parts, "the NetworkPolicies should stop "+src.Description+" but its traffic got through: is a NetworkPolicy enforcer running?")
		default:
			parts = append(parts, fmt.Sprintf("%d NetworkPolic%s select the backends", len(pe.Ingress), report.Plural(len(pe.Ingress), "y", "ies")))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%s Service, no NetworkPolicy selects the backends", orDefault(string(svc.Spec.Type), "ClusterIP")))
	}
	if r.Summary == "" {
		r.Summary = strings.Join(parts, "; ")
	}
	return r
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func hasNodePorts(svc *corev1.Service) bool {
	for _, sp := range svc.Spec.Ports {
		if sp.NodePort != 0 {
			return true
		}
	}
	return false
}

// affinityEvidence says how the Service spreads connections (the summary part of ClientIP
// affinity, "" for none).
func affinityEvidence(svc *corev1.Service, r *trace.Result) string {
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		timeout := int32(10800)
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			timeout = *c.ClientIP.TimeoutSeconds
		}
		r.Evidence = append(r.Evidence, fmt.Sprintf("sessionAffinity ClientIP (timeout %ds): each client IP sticks to one pod; behind a NAT or proxy all clients look like one", timeout))
		return "sessionAffinity ClientIP"
	}
	r.Evidence = append(r.Evidence, "sessionAffinity None: connections are spread over the ready endpoints")
	return ""
}

// loadBalancerEvidence says whether a load balancer has an address (a warning and its cause when
// none was assigned) and returns the summary part.
func loadBalancerEvidence(svc *corev1.Service, r *trace.Result) string {
	var part string
	var addrs []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			addrs = append(addrs, in.IP)
		}
		if in.Hostname != "" {
			addrs = append(addrs, in.Hostname)
		}
	}
	if len(addrs) == 0 {
		if r.Status == trace.Pass {
			r.Status = trace.Warn
		}
		class := "the default load-balancer controller"
		if svc.Spec.LoadBalancerClass != nil {
			class = "a controller for loadBalancerClass " + *svc.Spec.LoadBalancerClass
		}
		r.Evidence = append(r.Evidence, "LoadBalancer status has no ingress address: EXTERNAL-IP <pending>")
		part = "LoadBalancer pending: no load-balancer controller has assigned an address"
		if r.Cause == nil {
			r.Cause = &trace.Cause{RootCause: fmt.Sprintf("service/%s is type LoadBalancer but no address was assigned: %s is not running in this cluster (the NodePorts still work)", svc.Name, class),
				Fix: "install a load-balancer controller (the cloud provider's, MetalLB, kube-vip), or use type NodePort or an Ingress"}
		}
	} else {
		r.Evidence = append(r.Evidence, "LoadBalancer address "+strings.Join(addrs, ", ")+" (not tested: outside the cluster's own addresses)")
		part = "LoadBalancer " + strings.Join(addrs, ",")
	}
	if len(svc.Spec.LoadBalancerSourceRanges) > 0 {
		r.Evidence = append(r.Evidence, "loadBalancerSourceRanges "+strings.Join(svc.Spec.LoadBalancerSourceRanges, ", ")+": other client addresses are dropped")
	}
	return part
}

// nodePorts checks the node ports of the ports under test on every node (from the agent) and
// explains externalTrafficPolicy: Local. It returns a summary part.
func (st *State) nodePorts(ctx context.Context, r *trace.Result) string {
	svc := st.Service
	local := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	nodes, why := st.Reads.Nodes(ctx)
	ports := st.nodePortPorts()
	for _, sp := range ports {
		r.Evidence = append(r.Evidence, fmt.Sprintf("nodePort %d/%s -> port %s", sp.NodePort, semantics.Protocol(sp.Protocol), semantics.PortName(&sp)))
	}
	if why != "" {
		r.Evidence = append(r.Evidence, "nodes not read: "+why)
		return ""
	}
	perNode := localEndpointNodes(st)
	if local {
		r.Evidence = append(r.Evidence, "externalTrafficPolicy: Local: a node forwards NodePort traffic from outside only to its own ready endpoints, keeping the client's IP; nodes without one drop it")
		if svc.Spec.HealthCheckNodePort != 0 {
			r.Evidence = append(r.Evidence, fmt.Sprintf("healthCheckNodePort %d answers 200 only on nodes with a local ready endpoint (load balancers use it to skip the others)", svc.Spec.HealthCheckNodePort))
		}
	}
	withLocal := 0
	for i := range nodes {
		n := &nodes[i]
		if i == maxNodes {
			r.Evidence = append(r.Evidence, fmt.Sprintf("... and %d more nodes", len(nodes)-maxNodes))
			break
		}
		c := perNode[n.Name]
		if c > 0 {
			withLocal++
		}
		if local {
			expect := "answers from outside"
			if c == 0 {
				expect = "drops traffic from outside (no local endpoint)"
			}
			r.Evidence = append(r.Evidence, fmt.Sprintf("node %s (InternalIP %s): %d local ready %s: %s", n.Name, orNone(internalIP(n)), c, report.Plural(c, "endpoint", "endpoints"), expect))
		}
	}
	summary := fmt.Sprintf("NodePort %s on %d %s", nodePortList(ports), len(nodes), report.Plural(len(nodes), "node", "nodes"))
	if local && withLocal < len(nodes) {
		r.Evidence = append(r.Evidence, "from inside the cluster (the helper) a node without a local endpoint may still answer: kube-proxy sends pod-originated NodePort traffic to any endpoint when it knows the cluster CIDR")
	}
	if local {
		summary += fmt.Sprintf(" (externalTrafficPolicy Local: %d/%d nodes have a local ready endpoint)", withLocal, len(nodes))
		if withLocal == 0 && len(st.ReadyPods) > 0 {
			r.Status = trace.Warn
		}
	}
	if st.Static {
		return summary
	}
	return st.testNodePorts(ctx, r, nodes, ports, perNode, summary)
}

// nodePortCheck is a check of one node's NodePort for one Service port.
type nodePortCheck struct {
	node  *corev1.Node
	port  corev1.ServicePort
	check agent.Check
}

// testNodePorts tests the node ports from the helper, only when the backends answer (else the
// cause is known already), and returns the summary part with what answered.
func (st *State) testNodePorts(ctx context.Context, r *trace.Result, nodes []corev1.Node, ports []corev1.ServicePort, perNode map[string]int, summary string) string {
	svc := st.Service
	local := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	if sk, blocked := st.SkipBecause(HopConnectivity); blocked {
		r.Evidence = append(r.Evidence, "NodePort traffic not tested: "+trace.TrimSkipped(sk.Summary))
		return summary
	}
	if res, ok := st.Result(HopConnectivity); ok && res.Status == trace.Skip {
		r.Evidence = append(r.Evidence, "NodePort traffic not tested: "+trace.TrimSkipped(res.Summary))
		return summary
	}
	ag, src, err := st.agentFor(ctx)
	if err != nil {
		r.Evidence = append(r.Evidence, "NodePort traffic not tested: no helper: "+err.Error())
		return summary
	}
	plan := st.planNodePortChecks(nodes, ports)
	if len(plan) == 0 {
		return summary
	}
	req := agent.Request{APIVersion: agent.APIVersion, Kind: agent.KindCheckRequest}
	for _, p := range plan {
		req.Checks = append(req.Checks, p.check)
	}
	resp, err := ag.Run(ctx, req)
	if err != nil {
		r.Evidence = append(r.Evidence, "NodePort traffic not tested: the agent did not run: "+err.Error())
		r.Incomplete = true
		return summary
	}
	okCount := 0
	var bad []string
	for i, p := range plan {
		res := resp.Results[i]
		addr := net.JoinHostPort(internalIP(p.node), strconv.Itoa(int(p.port.NodePort)))
		state := "ok"
		if !res.OK {
			state = string(res.Failure) + ": " + res.Detail
		}
		r.Evidence = append(r.Evidence, fmt.Sprintf("%s %s (node %s) from %s: %s", p.check.Type, addr, p.node.Name, src.Description, state))
		if res.OK {
			okCount++
			continue
		}
		if local && perNode[p.node.Name] == 0 {
			continue // expected to drop: no local endpoint
		}
		bad = append(bad, fmt.Sprintf("%s (node %s, %s)", addr, p.node.Name, res.Failure))
	}
	if len(bad) > 0 {
		r.Status = trace.Fail
		r.Summary = fmt.Sprintf("NodePort does not answer on %s, though the backends answer directly", strings.Join(capList(bad), ", "))
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the NodePort of service/%s does not answer on %s although the endpoints answer: the service proxy on those nodes does not forward it", svc.Name, strings.Join(capList(bad), ", ")),
			Fix: "check kube-proxy on those nodes (is it running, --nodeport-addresses, iptables-save | grep " + nodePortList(ports) + ") and host firewalls"}
		return summary
	}
	return fmt.Sprintf("%s: %d/%d node checks answer", summary, okCount, len(plan))
}

// nodePortPorts are the ports under test that have a node port.
func (st *State) nodePortPorts() []corev1.ServicePort {
	var ports []corev1.ServicePort
	for _, sp := range st.Ports {
		if sp.NodePort != 0 {
			ports = append(ports, sp)
		}
	}
	return ports
}

// nodePortPrefetch returns the checks testNodePorts will send, for the network hops' one
// request (prefetch): nil when the Service has no node port or the nodes cannot be read.
func (st *State) nodePortPrefetch(ctx context.Context) []agent.Check {
	ports := st.nodePortPorts()
	if len(ports) == 0 {
		return nil
	}
	nodes, why := st.Reads.Nodes(ctx)
	if why != "" {
		return nil
	}
	var out []agent.Check
	for _, p := range st.planNodePortChecks(nodes, ports) {
		out = append(out, p.check)
	}
	return out
}

// planNodePortChecks lists a TCP or UDP check of each NodePort on each of the first maxNodes
// nodes that have an InternalIP.
func (st *State) planNodePortChecks(nodes []corev1.Node, ports []corev1.ServicePort) []nodePortCheck {
	var plan []nodePortCheck
	for i := range nodes {
		n := &nodes[i]
		ip := internalIP(n)
		if ip == "" || i >= maxNodes {
			continue
		}
		for _, sp := range ports {
			c, ok := l4Check(fmt.Sprintf("np-%d-%d", i, sp.NodePort), ip, sp.NodePort, semantics.Protocol(sp.Protocol), agent.Duration{Duration: st.CheckTimeout})
			if !ok {
				continue
			}
			plan = append(plan, nodePortCheck{n, sp, c})
		}
	}
	return plan
}

func nodePortList(ports []corev1.ServicePort) string {
	var out []string
	for _, sp := range ports {
		out = append(out, fmt.Sprintf("%d/%s", sp.NodePort, semantics.Protocol(sp.Protocol)))
	}
	return strings.Join(out, ",")
}
