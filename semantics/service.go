package semantics

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Protocol is a port's protocol, TCP when unset (the API server's default).
func Protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// IsHeadless reports whether a Service is headless (clusterIP None): DNS answers with the ready
// pods' addresses, no proxying.
func IsHeadless(svc *corev1.Service) bool { return svc.Spec.ClusterIP == corev1.ClusterIPNone }

// IsExternalName reports whether a Service is a DNS alias (type ExternalName).
func IsExternalName(svc *corev1.Service) bool { return svc.Spec.Type == corev1.ServiceTypeExternalName }

// Type is a Service's type for messages: ClusterIP when unset, "(headless)" added.
func Type(svc *corev1.Service) string {
	t := string(svc.Spec.Type)
	if t == "" {
		t = string(corev1.ServiceTypeClusterIP)
	}
	if IsHeadless(svc) {
		t += " (headless)"
	}
	return t
}

// PortLabel names a Service port in messages: "port http (80/TCP)", "port 80/TCP".
func PortLabel(sp *corev1.ServicePort) string { return "port " + PortName(sp) }

// PortName names a Service port briefly: "http (80/TCP)", or "80/TCP" without a name.
func PortName(sp *corev1.ServicePort) string {
	s := fmt.Sprintf("%d/%s", sp.Port, Protocol(sp.Protocol))
	if sp.Name != "" {
		return sp.Name + " (" + s + ")"
	}
	return s
}

// EffectiveTargetPort is a Service port's targetPort, defaulting to its port as the API server
// does.
func EffectiveTargetPort(sp *corev1.ServicePort) intstr.IntOrString {
	tp := sp.TargetPort
	if (tp.Type == intstr.Int && tp.IntVal == 0) || (tp.Type == intstr.String && tp.StrVal == "") {
		return intstr.FromInt32(sp.Port)
	}
	return tp
}

// SelectorString renders a map selector as k=v,k2=v2 in key order.
func SelectorString(sel map[string]string) string {
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + sel[k]
	}
	return strings.Join(parts, ",")
}
