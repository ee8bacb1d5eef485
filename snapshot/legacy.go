package snapshot

import (
	extv1beta1 "k8s.io/api/extensions/v1beta1"
	networkingv1 "k8s.io/api/networking/v1"
	netv1beta1 "k8s.io/api/networking/v1beta1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// convertExtIngress converts a removed extensions/v1beta1 Ingress to networking.k8s.io/v1 so that
// every other Ingress rule still applies to it.
func convertExtIngress(in *extv1beta1.Ingress) *networkingv1.Ingress {
	out := &networkingv1.Ingress{ObjectMeta: in.ObjectMeta}
	out.APIVersion, out.Kind = "networking.k8s.io/v1", "Ingress"
	out.Spec.IngressClassName = in.Spec.IngressClassName
	out.Spec.DefaultBackend = extBackend(in.Spec.Backend)
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
				if b := extBackend(&p.Backend); b != nil {
					np.Backend = *b
				}
				nr.HTTP.Paths = append(nr.HTTP.Paths, np)
			}
		}
		out.Spec.Rules = append(out.Spec.Rules, nr)
	}
	return out
}

func extBackend(b *extv1beta1.IngressBackend) *networkingv1.IngressBackend {
	if b == nil {
		return nil
	}
	return legacyBackend(b.ServiceName, b.ServicePort, b.Resource != nil, func(nb *networkingv1.IngressBackend) { nb.Resource = b.Resource })
}

// convertNetIngress converts a removed networking.k8s.io/v1beta1 Ingress to networking.k8s.io/v1.
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

func netBackend(b *netv1beta1.IngressBackend) *networkingv1.IngressBackend {
	if b == nil {
		return nil
	}
	return legacyBackend(b.ServiceName, b.ServicePort, b.Resource != nil, func(nb *networkingv1.IngressBackend) { nb.Resource = b.Resource })
}

func legacyBackend(name string, port intstr.IntOrString, hasResource bool, setResource func(*networkingv1.IngressBackend)) *networkingv1.IngressBackend {
	nb := &networkingv1.IngressBackend{}
	if hasResource {
		setResource(nb)
		return nb
	}
	if name == "" && port.IntVal == 0 && port.StrVal == "" {
		return nb
	}
	nb.Service = &networkingv1.IngressServiceBackend{Name: name}
	if port.Type == intstr.String {
		nb.Service.Port.Name = port.StrVal
	} else {
		nb.Service.Port.Number = port.IntVal
	}
	return nb
}
