package servicetrace

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/trace/tracetest"
)

func TestIngressAdmits(t *testing.T) {
	backend := tracetest.Pod("web-1", "web", "10.244.0.11")
	dst := peerInfo{namespace: tracetest.TestNS, labels: backend.Labels, ip: backend.Status.PodIP, isPod: true, pod: backend}
	client := peerInfo{namespace: tracetest.TestNS, nsLabels: map[string]string{corev1.LabelMetadataName: tracetest.TestNS, "team": "shop"},
		labels: map[string]string{"role": "client"}, ip: "10.244.0.50", isPod: true}
	other := peerInfo{namespace: "tools", nsLabels: map[string]string{corev1.LabelMetadataName: "tools"}, labels: map[string]string{"role": "client"}, ip: "10.244.0.60", isPod: true}
	sel := func(kv ...string) *metav1.LabelSelector {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return &metav1.LabelSelector{MatchLabels: m}
	}
	tcp := ptr.To(corev1.ProtocolTCP)
	udp := ptr.To(corev1.ProtocolUDP)
	port := func(p intstr.IntOrString, proto *corev1.Protocol) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Port: &p, Protocol: proto}
	}
	tests := []struct {
		name  string
		rules []networkingv1.NetworkPolicyIngressRule
		src   peerInfo
		port  int32
		want  bool
	}{
		{name: "no rule admits nothing", src: client, port: 8080, want: false},
		{name: "empty rule admits everyone", rules: []networkingv1.NetworkPolicyIngressRule{{}}, src: other, port: 8080, want: true},
		{name: "podSelector of the policy's namespace", rules: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("role", "client")}}}}, src: client, port: 8080, want: true},
		{name: "podSelector does not reach other namespaces", rules: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("role", "client")}}}}, src: other, port: 8080, want: false},
		{name: "podSelector mismatch", rules: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("role", "admin")}}}}, src: client, port: 8080, want: false},
		{name: "namespaceSelector", rules: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel(corev1.LabelMetadataName, "tools")}}}}, src: other, port: 8080, want: true},
		{name: "namespaceSelector and podSelector together", rules: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("team", "shop"), PodSelector: sel("role", "admin")}}}}, src: client, port: 8080, want: false},
		{name: "empty namespaceSelector is every namespace", rules: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}}}}, src: other, port: 8080, want: true},
		{name: "ipBlock", rules: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.244.0.0/24"}}}}}, src: other, port: 8080, want: true},
		{name: "ipBlock except", rules: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.244.0.0/24", Except: []string{"10.244.0.48/28"}}}}}}, src: other, port: 8080, want: false},
		{name: "port number", rules: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{port(intstr.FromInt32(8080), tcp)}}}, src: client, port: 8080, want: true},
		{name: "other port number", rules: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{port(intstr.FromInt32(9090), nil)}}}, src: client, port: 8080, want: false},
		{name: "port range", rules: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(8000)), EndPort: ptr.To(int32(8100))}}}}, src: client, port: 8080, want: true},
		{name: "named port resolved on the backend", rules: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{port(intstr.FromString("http"), nil)}}}, src: client, port: 8080, want: true},
		{name: "named port of another number", rules: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{port(intstr.FromString("http"), nil)}}}, src: client, port: 9090, want: false},
		{name: "protocol mismatch", rules: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{port(intstr.FromInt32(8080), udp)}}}, src: client, port: 8080, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: tracetest.TestNS},
				Spec: networkingv1.NetworkPolicySpec{Ingress: tc.rules, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
			if got := ingressAdmits(p, tc.src, dst, tc.port, corev1.ProtocolTCP); got != tc.want {
				t.Errorf("ingressAdmits = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPolicyTypes(t *testing.T) {
	tests := []struct {
		name         string
		spec         networkingv1.NetworkPolicySpec
		ingress, egr bool
	}{
		{name: "default is ingress", spec: networkingv1.NetworkPolicySpec{}, ingress: true},
		{name: "egress rules imply egress", spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}}}, ingress: true, egr: true},
		{name: "explicit egress only", spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}, egr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i, e := policyTypes(&networkingv1.NetworkPolicy{Spec: tc.spec})
			if i != tc.ingress || e != tc.egr {
				t.Errorf("= %v %v, want %v %v", i, e, tc.ingress, tc.egr)
			}
		})
	}
}

// TestNeedsNamespaceLabels checks when a namespaceSelector needs the namespace's labels read (a
// GET): not for the label the API server sets on every namespace, its name.
func TestNeedsNamespaceLabels(t *testing.T) {
	tests := []struct {
		name string
		sel  *metav1.LabelSelector
		want bool
	}{
		{name: "no namespaceSelector", sel: nil},
		{name: "empty: every namespace", sel: &metav1.LabelSelector{}},
		{name: "by name", sel: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "shop"}}},
		{name: "by name, an expression", sel: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: []string{"shop", "web"}}}}},
		{name: "another label", sel: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "shop"}}, want: true},
		{name: "by name and another label", sel: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "shop", "env": "prod"}}, want: true},
		{name: "another label, an expression", sel: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "env", Operator: metav1.LabelSelectorOpExists}}}, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := needsNamespaceLabels(tc.sel); got != tc.want {
				t.Errorf("needsNamespaceLabels = %v, want %v", got, tc.want)
			}
		})
	}
}
