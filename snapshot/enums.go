package snapshot

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// enum checks a field that takes one of a fixed set of case-sensitive values. A value that
// differs only in case is reported and corrected, so that later rules see what was meant; any
// other unknown value is reported as is.
func enum[T ~string](d *decoder, src *Source, path string, v *T, allowed ...T) {
	if v == nil || *v == "" {
		return
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if *v == a {
			return
		}
		names[i] = string(a)
	}
	for _, a := range allowed {
		if strings.EqualFold(string(*v), string(a)) {
			d.issue(RuleInvalidValue, src, path, "%s: %q is not a valid value: write %q (values are case-sensitive)", path, string(*v), string(a))
			*v = a
			return
		}
	}
	d.issue(RuleInvalidValue, src, path, "%s: %q is not a valid value: use one of %s", path, string(*v), strings.Join(names, ", "))
}

var protocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}

func (d *decoder) serviceEnums(src *Source, s *corev1.Service) {
	enum(d, src, "spec.type", &s.Spec.Type, corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName)
	enum(d, src, "spec.externalTrafficPolicy", &s.Spec.ExternalTrafficPolicy, corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal)
	enum(d, src, "spec.internalTrafficPolicy", s.Spec.InternalTrafficPolicy, corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal)
	enum(d, src, "spec.sessionAffinity", &s.Spec.SessionAffinity, corev1.ServiceAffinityNone, corev1.ServiceAffinityClientIP)
	enum(d, src, "spec.ipFamilyPolicy", s.Spec.IPFamilyPolicy, corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack)
	for i := range s.Spec.Ports {
		enum(d, src, fmt.Sprintf("spec.ports[%d].protocol", i), &s.Spec.Ports[i].Protocol, protocols...)
	}
}

func (d *decoder) podSpecEnums(src *Source, specPath string, ps *corev1.PodSpec) {
	check := func(path string, c *corev1.Container) {
		for i := range c.Ports {
			enum(d, src, fmt.Sprintf("%s.ports[%d].protocol", path, i), &c.Ports[i].Protocol, protocols...)
		}
		for _, pr := range []struct {
			name string
			p    *corev1.Probe
		}{{"readinessProbe", c.ReadinessProbe}, {"livenessProbe", c.LivenessProbe}, {"startupProbe", c.StartupProbe}} {
			if pr.p != nil && pr.p.HTTPGet != nil {
				enum(d, src, path+"."+pr.name+".httpGet.scheme", &pr.p.HTTPGet.Scheme, corev1.URISchemeHTTP, corev1.URISchemeHTTPS)
			}
		}
	}
	for i := range ps.Containers {
		check(fmt.Sprintf("%s.containers[%d]", specPath, i), &ps.Containers[i])
	}
	for i := range ps.InitContainers {
		check(fmt.Sprintf("%s.initContainers[%d]", specPath, i), &ps.InitContainers[i])
	}
	enum(d, src, specPath+".restartPolicy", &ps.RestartPolicy, corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)
}

func (d *decoder) ingressEnums(src *Source, ing *networkingv1.Ingress) {
	for ri, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for pi := range r.HTTP.Paths {
			enum(d, src, fmt.Sprintf("spec.rules[%d].http.paths[%d].pathType", ri, pi), r.HTTP.Paths[pi].PathType,
				networkingv1.PathTypeExact, networkingv1.PathTypePrefix, networkingv1.PathTypeImplementationSpecific)
		}
	}
}

func (d *decoder) sliceEnums(src *Source, es *discoveryv1.EndpointSlice) {
	enum(d, src, "addressType", &es.AddressType, discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN)
	for i := range es.Ports {
		enum(d, src, fmt.Sprintf("ports[%d].protocol", i), es.Ports[i].Protocol, protocols...)
	}
}

func (d *decoder) endpointsEnums(src *Source, ep *corev1.Endpoints) {
	for i := range ep.Subsets {
		for j := range ep.Subsets[i].Ports {
			enum(d, src, fmt.Sprintf("subsets[%d].ports[%d].protocol", i, j), &ep.Subsets[i].Ports[j].Protocol, protocols...)
		}
	}
}
