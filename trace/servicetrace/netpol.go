package servicetrace

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/trace"
)

// This file evaluates NetworkPolicies statically, the way the API defines them: a pod selected by
// at least one policy of type Ingress accepts only what one of those policies' rules admits
// (peers: podSelector / namespaceSelector / ipBlock; ports by number, range or container port
// name), and the same for Egress on the client side.

// peerInfo is one side of a connection, as NetworkPolicy peers see it.
type peerInfo struct {
	namespace string
	nsLabels  map[string]string
	labels    map[string]string
	ip        string
	isPod     bool
	pod       *corev1.Pod // for named ports of the destination
}

func policyTypes(p *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(p.Spec.PolicyTypes) == 0 {
		return true, len(p.Spec.Egress) > 0
	}
	for _, t := range p.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

func selectorMatches(sel *metav1.LabelSelector, lbls map[string]string) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(lbls))
}

// policySelects reports whether a policy applies to a pod.
func policySelects(p *networkingv1.NetworkPolicy, pod peerInfo) bool {
	return pod.isPod && p.Namespace == pod.namespace && selectorMatches(&p.Spec.PodSelector, pod.labels)
}

// peerMatches reports whether a NetworkPolicy peer of a policy in namespace policyNS covers who.
func peerMatches(peer networkingv1.NetworkPolicyPeer, policyNS string, who peerInfo) bool {
	if peer.IPBlock != nil {
		ip := net.ParseIP(who.ip)
		_, cidr, err := net.ParseCIDR(peer.IPBlock.CIDR)
		if ip == nil || err != nil || !cidr.Contains(ip) {
			return false
		}
		for _, ex := range peer.IPBlock.Except {
			if _, e, err := net.ParseCIDR(ex); err == nil && e.Contains(ip) {
				return false
			}
		}
		return true
	}
	if !who.isPod {
		return false
	}
	if peer.NamespaceSelector == nil {
		if who.namespace != policyNS {
			return false
		}
	} else if !selectorMatches(peer.NamespaceSelector, who.nsLabels) {
		return false
	}
	return peer.PodSelector == nil || selectorMatches(peer.PodSelector, who.labels)
}

// portMatches reports whether a rule's ports admit port/proto on the destination pod dst.
func portMatches(ports []networkingv1.NetworkPolicyPort, port int32, proto corev1.Protocol, dst *corev1.Pod) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp != proto {
			continue
		}
		switch {
		case p.Port == nil:
			return true
		case p.Port.Type == intstr.Int:
			end := p.Port.IntVal
			if p.EndPort != nil {
				end = *p.EndPort
			}
			if port >= p.Port.IntVal && port <= end {
				return true
			}
		case dst != nil:
			for _, cp := range servingPorts(&dst.Spec) {
				if cp.port.Name == p.Port.StrVal && semantics.Protocol(cp.port.Protocol) == proto && cp.port.ContainerPort == port {
					return true
				}
			}
		}
	}
	return false
}

func ingressAdmits(p *networkingv1.NetworkPolicy, src, dst peerInfo, port int32, proto corev1.Protocol) bool {
	for _, rule := range p.Spec.Ingress {
		if !portMatches(rule.Ports, port, proto, dst.pod) {
			continue
		}
		if len(rule.From) == 0 {
			return true
		}
		for _, peer := range rule.From {
			if peerMatches(peer, p.Namespace, src) {
				return true
			}
		}
	}
	return false
}

func egressAdmits(p *networkingv1.NetworkPolicy, dst peerInfo, port int32, proto corev1.Protocol) bool {
	for _, rule := range p.Spec.Egress {
		if !portMatches(rule.Ports, port, proto, dst.pod) {
			continue
		}
		if len(rule.To) == 0 {
			return true
		}
		for _, peer := range rule.To {
			if peerMatches(peer, p.Namespace, dst) {
				return true
			}
		}
	}
	return false
}

// describeRules renders a policy's ingress rules briefly.
func describeRules(p *networkingv1.NetworkPolicy) string {
	if len(p.Spec.Ingress) == 0 {
		return "no ingress rule: admits nothing"
	}
	var parts []string
	for _, r := range p.Spec.Ingress {
		from := "anyone"
		if len(r.From) > 0 {
			var ps []string
			for _, peer := range r.From {
				ps = append(ps, describePeer(peer))
			}
			from = strings.Join(ps, " or ")
		}
		parts = append(parts, fmt.Sprintf("from %s on %s", from, describePorts(r.Ports)))
	}
	return "admits " + strings.Join(parts, "; ")
}

func describePeer(peer networkingv1.NetworkPolicyPeer) string {
	if b := peer.IPBlock; b != nil {
		s := "ipBlock " + b.CIDR
		if len(b.Except) > 0 {
			s += " except " + strings.Join(b.Except, ",")
		}
		return s
	}
	pods := "all pods"
	if peer.PodSelector != nil {
		if s := metav1.FormatLabelSelector(peer.PodSelector); s != "<none>" && s != "" {
			pods = "pods " + s
		}
	}
	switch {
	case peer.NamespaceSelector == nil:
		return pods + " of its namespace"
	case metav1.FormatLabelSelector(peer.NamespaceSelector) == "<none>" || metav1.FormatLabelSelector(peer.NamespaceSelector) == "":
		return pods + " of every namespace"
	}
	return pods + " in namespaces " + metav1.FormatLabelSelector(peer.NamespaceSelector)
}

func describePorts(ports []networkingv1.NetworkPolicyPort) string {
	if len(ports) == 0 {
		return "all ports"
	}
	var ps []string
	for _, p := range ports {
		proto := "TCP"
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		switch {
		case p.Port == nil:
			ps = append(ps, "all "+proto+" ports")
		case p.EndPort != nil:
			ps = append(ps, fmt.Sprintf("%s-%d/%s", p.Port.String(), *p.EndPort, proto))
		default:
			ps = append(ps, p.Port.String()+"/"+proto)
		}
	}
	return "ports " + strings.Join(ps, ", ")
}

// policyEvaluation is what the NetworkPolicies say about traffic from the source to the backends.
type policyEvaluation struct {
	// Ingress lists the policies that select at least one backend pod (for ingress).
	Ingress []*networkingv1.NetworkPolicy
	// Egress lists the policies that select the source pod (for egress).
	Egress []*networkingv1.NetworkPolicy
	// DeniedIngress / DeniedEgress list the backend targets ("pod/x 8080/TCP") the source may not
	// reach; Checked counts the targets evaluated.
	DeniedIngress, DeniedEgress []string
	Checked                     int
	// DenyAll lists ingress policies with no ingress rule (they admit nothing).
	DenyAll []string
	Lines   []string
	// Unknown says why the evaluation could not be done ("" when it was).
	Unknown string
}

// Denies reports whether a policy stops the source from reaching some backend.
func (e *policyEvaluation) Denies() bool {
	return e != nil && len(e.DeniedIngress)+len(e.DeniedEgress) > 0
}

// Blockers names the ingress policies that select the denied backends.
func (e *policyEvaluation) Blockers() []string {
	var out []string
	for _, p := range e.Ingress {
		out = append(out, "networkpolicy/"+p.Name)
	}
	return out
}

// evaluatePolicies evaluates the namespace's NetworkPolicies for traffic from src (nil: no
// source, only which policies select the backends) to the selected pods on their target ports.
//
//nolint:funlen // one pass that fills one policyEvaluation: every policy against every backend pod, then the client's egress
func (st *State) evaluatePolicies(ctx context.Context, src *trace.Source) *policyEvaluation {
	e := &policyEvaluation{}
	snap, err := st.Reads.Snapshot(ctx)
	if err != nil {
		e.Unknown = err.Error()
		return e
	}
	if why, missing := snap.Unavailable["NetworkPolicy"]; missing {
		e.Unknown = "cannot read NetworkPolicies: " + why.Detail
		return e
	}
	svcNS := st.Service.Namespace
	var inNS []*networkingv1.NetworkPolicy
	for _, p := range snap.NetworkPolicies {
		if p.Namespace == svcNS {
			inNS = append(inNS, p.NetworkPolicy)
		}
	}
	sort.Slice(inNS, func(i, j int) bool { return inNS[i].Name < inNS[j].Name })
	backendNSLabels := map[string]string{corev1.LabelMetadataName: svcNS}
	var source peerInfo
	if src != nil {
		source = peerInfo{namespace: src.Namespace, labels: src.Labels, ip: src.IP, isPod: true, pod: src.Pod}
		source.nsLabels = map[string]string{corev1.LabelMetadataName: src.Namespace}
		if policiesNeedNamespaceLabels(inNS) {
			l, why := st.Reads.NamespaceLabels(ctx, src.Namespace)
			source.nsLabels = l
			if why != "" {
				e.Lines = append(e.Lines, fmt.Sprintf("labels of namespace %s not read (%s): namespaceSelectors evaluated with %s only", src.Namespace, why, corev1.LabelMetadataName))
			}
			if src.Namespace == svcNS {
				backendNSLabels = l
			}
		}
	}
	seen := map[string]bool{}
	for _, pod := range st.Pods {
		dst := peerInfo{namespace: pod.Namespace, nsLabels: backendNSLabels, labels: pod.Labels, ip: pod.Status.PodIP, isPod: true, pod: pod}
		var selecting []*networkingv1.NetworkPolicy
		for _, p := range inNS {
			if ing, _ := policyTypes(p); ing && policySelects(p, dst) {
				selecting = append(selecting, p)
				if !seen[p.Name] {
					seen[p.Name] = true
					e.Ingress = append(e.Ingress, p)
				}
			}
		}
		if src == nil {
			continue
		}
		for _, sp := range st.Ports {
			port := st.TargetPorts[pod.Name][sp.Name]
			if port == 0 {
				continue
			}
			e.Checked++
			target := fmt.Sprintf("pod/%s %d/%s", pod.Name, port, semantics.Protocol(sp.Protocol))
			if len(selecting) > 0 {
				ok := false
				for _, p := range selecting {
					if ingressAdmits(p, source, dst, port, semantics.Protocol(sp.Protocol)) {
						ok = true
						break
					}
				}
				if !ok {
					e.DeniedIngress = append(e.DeniedIngress, target)
				}
			}
			// egress of the source, when its policies are in this namespace
			if source.namespace == svcNS {
				var egress []*networkingv1.NetworkPolicy
				for _, p := range inNS {
					if _, eg := policyTypes(p); eg && policySelects(p, source) {
						egress = append(egress, p)
					}
				}
				e.Egress = egress
				if len(egress) > 0 {
					ok := false
					for _, p := range egress {
						if egressAdmits(p, dst, port, semantics.Protocol(sp.Protocol)) {
							ok = true
							break
						}
					}
					if !ok {
						e.DeniedEgress = append(e.DeniedEgress, target)
					}
				}
			}
		}
	}
	for _, p := range e.Ingress {
		if len(p.Spec.Ingress) == 0 {
			e.DenyAll = append(e.DenyAll, "networkpolicy/"+p.Name)
		}
		e.Lines = append(e.Lines, fmt.Sprintf("networkpolicy/%s selects the backends (%s): %s", p.Name, metav1.FormatLabelSelector(&p.Spec.PodSelector), describeRules(p)))
	}
	if len(e.Ingress) == 0 && len(st.Pods) > 0 {
		e.Lines = append(e.Lines, "no NetworkPolicy selects the backend pods: all ingress is admitted")
	}
	for _, p := range e.Egress {
		e.Lines = append(e.Lines, fmt.Sprintf("networkpolicy/%s restricts egress of %s", p.Name, src.Description))
	}
	if src != nil && e.Checked > 0 {
		switch {
		case len(e.DeniedIngress) > 0:
			e.Lines = append(e.Lines, fmt.Sprintf("%s (labels %s) is NOT admitted to %d/%d backend %s (e.g. %s)", src.Description, semantics.SelectorString(src.Labels), len(e.DeniedIngress), e.Checked, report.Plural(e.Checked, "target", "targets"), e.DeniedIngress[0]))
		case len(e.Ingress) > 0:
			e.Lines = append(e.Lines, fmt.Sprintf("%s is admitted to every backend target by the policies", src.Description))
		}
		if len(e.DeniedEgress) > 0 {
			e.Lines = append(e.Lines, fmt.Sprintf("egress policies of %s do NOT admit %d/%d backend targets (e.g. %s)", src.Description, len(e.DeniedEgress), e.Checked, e.DeniedEgress[0]))
		}
	}
	return e
}

// policiesNeedNamespaceLabels reports whether a policy has a peer whose namespaceSelector needs
// the namespaces' labels (read only then): one that asks about more than the namespace's name.
func policiesNeedNamespaceLabels(ps []*networkingv1.NetworkPolicy) bool {
	for _, p := range ps {
		for _, r := range p.Spec.Ingress {
			for _, peer := range r.From {
				if needsNamespaceLabels(peer.NamespaceSelector) {
					return true
				}
			}
		}
		for _, r := range p.Spec.Egress {
			for _, peer := range r.To {
				if needsNamespaceLabels(peer.NamespaceSelector) {
					return true
				}
			}
		}
	}
	return false
}

// needsNamespaceLabels says whether a namespaceSelector needs labels that only a GET of the
// namespace gives: not when it is absent, empty (every namespace) or only about
// kubernetes.io/metadata.name, which the API server sets to the namespace's name.
func needsNamespaceLabels(sel *metav1.LabelSelector) bool {
	if sel == nil {
		return false
	}
	for k := range sel.MatchLabels {
		if k != corev1.LabelMetadataName {
			return true
		}
	}
	for _, e := range sel.MatchExpressions {
		if e.Key != corev1.LabelMetadataName {
			return true
		}
	}
	return false
}

// policyFix proposes the ingress rule that admits the clients.
func policyFix(st *State, e *policyEvaluation) string {
	ns := st.Service.Namespace
	if len(e.DeniedIngress) == 0 && len(e.DeniedEgress) > 0 {
		return fmt.Sprintf("add an egress rule to the client's policy (%s) that admits the backends (podSelector %s) on their target port", policyNames(e.Egress), semantics.SelectorString(st.Service.Spec.Selector))
	}
	port := int32(0)
	proto := "TCP"
	for _, p := range st.Pods {
		for _, sp := range st.Ports {
			if n := st.TargetPorts[p.Name][sp.Name]; n != 0 && port == 0 {
				port, proto = n, string(semantics.Protocol(sp.Protocol))
			}
		}
	}
	rule := map[string]any{"from": []any{map[string]any{"podSelector": map[string]any{"matchLabels": map[string]string{"<client-label>": "<value>"}}}}}
	if port != 0 {
		rule["ports"] = []any{map[string]any{"port": port, "protocol": proto}}
	}
	if len(e.Ingress) == 0 {
		return "see the NetworkPolicies of namespace " + ns
	}
	pol := e.Ingress[0]
	var op map[string]any
	if len(pol.Spec.Ingress) == 0 {
		op = map[string]any{"op": "add", "path": "/spec/ingress", "value": []any{rule}}
	} else {
		op = map[string]any{"op": "add", "path": "/spec/ingress/-", "value": rule}
	}
	patch, _ := json.Marshal([]any{op})
	return fmt.Sprintf("admit the clients that need service/%s in networkpolicy/%s: kubectl -n %s patch networkpolicy %s --type json -p '%s'; to test from a real client's position, add --from pod/<client>",
		st.Service.Name, pol.Name, ns, pol.Name, patch)
}

func policyNames(ps []*networkingv1.NetworkPolicy) string {
	var n []string
	for _, p := range ps {
		n = append(n, "networkpolicy/"+p.Name)
	}
	return strings.Join(n, ", ")
}
