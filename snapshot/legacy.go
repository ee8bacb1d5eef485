package snapshot

import (
	networkingv1 "k8s.io/api/networking/v1"
	netv1beta1 "k8s.io/api/networking/v1beta1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// convertNetIngress converts a removed Ingress (networking.k8s.io/v1beta1, or extensions/v1beta1,
// which has the same schema) to networking.k8s.io/v1, so that every other Ingress rule still
// applies to it.
func convertNetIngress(in *netv1beta1.Ingress) *networkingv1.Ingress {
	out := &networkingv1.Ingress{ObjectMeta: in.ObjectMeta}
	out.APIVersion, out.Kind = "networking.k8s.io/v1", "Ingress"
	out.Spec.IngressClassName = in.Spec.IngressClassName
	out.Spec.DefaultBackend = netBackend(in.Spec.Backend)
	for _, t := range in.Spec.TLS {
		out.Spec.TLS = append(out.Spec.TLS, networkingv1.IngressTLS{Hosts: t.Hosts, SecretName: t.SecretName})
	}
	for _, r := range in.Spec.Rules {
		nr := networkingv1.IngressRule{Host: r.Host}
		if r.HTTP != nil {
			nr.HTTP = &networkingv1.HTTPIngressRuleValue{}
			for _, p := range r.HTTP.Paths {
				np := networkingv1.HTTPIngressPath{Path: p.Path}
				if p.PathType != nil {
					pt := networkingv1.PathType(*p.PathType)
					np.PathType = &pt
				}
				if b := netBackend(&p.Backend); b != nil {
					np.Backend = *b
				}
				nr.HTTP.Paths = append(nr.HTTP.Paths, np)
			}
		}
		out.Spec.Rules = append(out.Spec.Rules, nr)
	}
	return out
}

// netBackend converts a serviceName/servicePort (or resource) backend.
func netBackend(b *netv1beta1.IngressBackend) *networkingv1.IngressBackend {
	if b == nil {
		return nil
	}
	nb := &networkingv1.IngressBackend{Resource: b.Resource}
	if b.Resource != nil || b.ServiceName == "" && b.ServicePort.IntVal == 0 && b.ServicePort.StrVal == "" {
		return nb
	}
	nb.Service = &networkingv1.IngressServiceBackend{Name: b.ServiceName}
	if b.ServicePort.Type == intstr.String {
		nb.Service.Port.Name = b.ServicePort.StrVal
	} else {
		nb.Service.Port.Number = b.ServicePort.IntVal
	}
	return nb
}
