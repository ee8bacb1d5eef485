package expose

import (
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ManagedBy is the value of the endpointslice.kubernetes.io/managed-by label on the
// EndpointSlices expose writes: the EndpointSlice controllers leave such slices alone, and a rerun
// finds (and prunes) its own.
const ManagedBy = "svc-doctor"

// Target is the workload a Service is made for: what its pods look like.
type Target struct {
	// Kind and Name as kubectl prints them, e.g. deployment/web.
	Kind, Name string
	// Selector selects the workload's pods (matchLabels of its selector, or a pod's labels).
	Selector map[string]string
	// Labels of the workload itself (copied to the Service when --labels is not given).
	Labels map[string]string
	// Template is the pod spec (the pod's own spec for a Pod).
	Template *corev1.PodSpec
	// ServiceName is a StatefulSet's spec.serviceName (its governing headless Service).
	ServiceName string
	// selectorNote says why Selector is empty although the workload has a selector.
	selectorNote string
}

// String names the target the way kubectl does: deployment/web.
func (t *Target) String() string {
	if t == nil {
		return ""
	}
	return t.Kind + "/" + t.Name
}

// ServiceSpec is what the flags ask for a Service.
type ServiceSpec struct {
	Name, Namespace string
	Labels          map[string]string
	Annotations     map[string]string
	// Selector overrides the target's selector (nil = the target's).
	Selector map[string]string
	Ports    []PortSpec
	// Protocol is --protocol: the protocol of ports that do not name one ("" = inferred, else TCP).
	Protocol corev1.Protocol
	Type     corev1.ServiceType
	// NodePorts are given in --port order (0 = allocated by the cluster).
	NodePorts                []int32
	ExternalTrafficPolicy    corev1.ServiceExternalTrafficPolicy
	SessionAffinity          corev1.ServiceAffinity
	SessionAffinityTimeout   *int32
	Headless                 bool
	PublishNotReadyAddresses bool
}

// Plan is every object one expose command creates, in the order they are applied.
type Plan struct {
	Secret         *corev1.Secret
	Service        *corev1.Service
	EndpointSlices []*discoveryv1.EndpointSlice
	Endpoints      *corev1.Endpoints
	Ingress        *networkingv1.Ingress
}

// Objects returns the plan's objects in apply order: Secret, Service, EndpointSlices, Endpoints,
// Ingress.
func (p *Plan) Objects() []runtime.Object {
	var out []runtime.Object
	if p.Secret != nil {
		out = append(out, p.Secret)
	}
	if p.Service != nil {
		out = append(out, p.Service)
	}
	for _, es := range p.EndpointSlices {
		out = append(out, es)
	}
	if p.Endpoints != nil {
		out = append(out, p.Endpoints)
	}
	if p.Ingress != nil {
		out = append(out, p.Ingress)
	}
	return out
}

func objectMeta(name, ns string, labels, annotations map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: nonEmpty(labels), Annotations: nonEmpty(annotations)}
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// BuildService builds the Service for a workload (target) or, with a nil target, a selector-less
// Service whose ports forward to the same port numbers.
func BuildService(spec ServiceSpec, target *Target) (*corev1.Service, error) {
	if errs := validation.IsDNS1035Label(spec.Name); len(errs) > 0 {
		return nil, fmt.Errorf("service name %q is invalid: %s (set another with --name)", spec.Name, strings.Join(errs, "; "))
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(spec.Name, spec.Namespace, spec.Labels, spec.Annotations),
	}
	var template *corev1.PodSpec
	what := "the Service"
	if target != nil {
		template, what = target.Template, target.String()
		svc.Spec.Selector = target.Selector
		if svc.Labels == nil && spec.Labels == nil {
			svc.Labels = nonEmpty(target.Labels)
		}
	}
	if spec.Selector != nil {
		svc.Spec.Selector = spec.Selector
	}
	if target != nil && len(svc.Spec.Selector) == 0 {
		why := what + " has no labels a Service can select"
		if target.selectorNote != "" {
			why = target.selectorNote
		}
		return nil, fmt.Errorf("%s: pass --selector KEY=VALUE[,KEY=VALUE]", why)
	}
	ports, err := resolvePorts(spec.Ports, spec.Protocol, template, what)
	if err != nil {
		if len(spec.Ports) == 0 && spec.Headless && target != nil {
			ports = nil // a headless Service may have no ports: DNS still lists the pods
		} else {
			return nil, err
		}
	}
	if len(spec.NodePorts) > 0 {
		if len(spec.NodePorts) != len(ports) {
			return nil, fmt.Errorf("--node-port gives %d %s for %d Service %s: give one per port, in --port order (0 lets the cluster choose)",
				len(spec.NodePorts), plural(len(spec.NodePorts), "port", "ports"), len(ports), plural(len(ports), "port", "ports"))
		}
		for i := range ports {
			ports[i].NodePort = spec.NodePorts[i]
		}
	}
	svc.Spec.Ports = ports
	if spec.Type != "" && spec.Type != corev1.ServiceTypeClusterIP {
		svc.Spec.Type = spec.Type
	}
	if spec.Headless {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	svc.Spec.ExternalTrafficPolicy = spec.ExternalTrafficPolicy
	if spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		svc.Spec.SessionAffinity = spec.SessionAffinity
		if spec.SessionAffinityTimeout != nil {
			t := *spec.SessionAffinityTimeout
			svc.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &t}}
		}
	}
	svc.Spec.PublishNotReadyAddresses = spec.PublishNotReadyAddresses
	return svc, nil
}

// BuildExternal builds a selector-less Service and the EndpointSlices that point it at addresses
// (one slice per IP family, named <service>-ipv4 and <service>-ipv6), plus, with legacy, a core/v1
// Endpoints object (labelled so that the mirroring controller does not copy it a second time).
func BuildExternal(spec ServiceSpec, addresses []string, legacy bool) (*Plan, error) {
	if len(addresses) == 0 {
		return nil, fmt.Errorf("--address is required: the IP addresses the Service forwards to")
	}
	for _, p := range spec.Ports {
		if p.Target.StrVal != "" {
			return nil, fmt.Errorf("target port %q: a Service without selector forwards to the endpoint ports, which are numbers: give a number", p.Target.StrVal)
		}
	}
	spec.Selector = nil
	svc, err := BuildService(spec, nil)
	if err != nil {
		return nil, err
	}
	var v4, v6 []string
	seen := map[string]bool{}
	for _, a := range addresses {
		ip := net.ParseIP(strings.TrimSpace(a))
		if ip == nil {
			return nil, fmt.Errorf("--address %q is not an IP address (for a DNS name use `kubectl svc-doctor expose externalname NAME --to %s`)", a, a)
		}
		s := ip.String()
		if seen[s] {
			continue
		}
		seen[s] = true
		if ip.To4() != nil {
			v4 = append(v4, s)
		} else {
			v6 = append(v6, s)
		}
	}
	switch {
	case len(v4) > 0 && len(v6) > 0: // both families: a dual-stack Service where the cluster has both
		policy := corev1.IPFamilyPolicyPreferDualStack
		svc.Spec.IPFamilyPolicy = &policy
	case len(v6) > 0: // an IPv4 Service would ignore an IPv6 slice
		svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
	}
	plan := &Plan{Service: svc}
	slicePorts := make([]discoveryv1.EndpointPort, len(svc.Spec.Ports))
	for i, sp := range svc.Spec.Ports {
		name, proto, port := sp.Name, sp.Protocol, sp.TargetPort.IntVal
		slicePorts[i] = discoveryv1.EndpointPort{Name: &name, Protocol: &proto, Port: &port}
	}
	for _, fam := range []struct {
		at    discoveryv1.AddressType
		addrs []string
	}{{discoveryv1.AddressTypeIPv4, v4}, {discoveryv1.AddressTypeIPv6, v6}} {
		if len(fam.addrs) == 0 {
			continue
		}
		es := &discoveryv1.EndpointSlice{
			TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
			ObjectMeta: objectMeta(SliceName(spec.Name, fam.at), spec.Namespace, map[string]string{
				discoveryv1.LabelServiceName: spec.Name,
				discoveryv1.LabelManagedBy:   ManagedBy,
			}, nil),
			AddressType: fam.at,
			Ports:       slicePorts,
		}
		for _, a := range fam.addrs {
			ready := true
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
		}
		plan.EndpointSlices = append(plan.EndpointSlices, es)
	}
	if legacy {
		ep := &corev1.Endpoints{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Endpoints"},
			ObjectMeta: objectMeta(spec.Name, spec.Namespace, map[string]string{discoveryv1.LabelSkipMirror: "true"}, nil),
		}
		ss := corev1.EndpointSubset{}
		for _, a := range append(append([]string(nil), v4...), v6...) {
			ss.Addresses = append(ss.Addresses, corev1.EndpointAddress{IP: a})
		}
		for _, sp := range svc.Spec.Ports {
			ss.Ports = append(ss.Ports, corev1.EndpointPort{Name: sp.Name, Port: sp.TargetPort.IntVal, Protocol: sp.Protocol})
		}
		ep.Subsets = []corev1.EndpointSubset{ss}
		plan.Endpoints = ep
	}
	return plan, nil
}

// SliceName is the name of the EndpointSlice expose writes for a Service and an address type.
func SliceName(service string, at discoveryv1.AddressType) string {
	return service + "-" + strings.ToLower(string(at))
}

// BuildExternalName builds an ExternalName Service: a DNS alias (CNAME) of host. An IP address
// is refused: DNS would publish a CNAME to a name that does not exist.
func BuildExternalName(spec ServiceSpec, host string) (*corev1.Service, error) {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	switch {
	case h == "":
		return nil, fmt.Errorf("--to is required: the DNS name the Service is an alias of, e.g. --to api.example.com")
	case net.ParseIP(h) != nil:
		return nil, fmt.Errorf("--to %s is an IP address, and an ExternalName Service is only a DNS CNAME record: a CNAME to %s "+
			"points at a host name that does not exist, so lookups fail. To send a Service's traffic to an IP address, "+
			"create a Service with an EndpointSlice instead: kubectl svc-doctor expose external %s --address %s --port PORT",
			host, h, spec.Name, h)
	}
	if errs := validation.IsDNS1123Subdomain(h); len(errs) > 0 {
		return nil, fmt.Errorf("--to %q is not a valid DNS name: %s", host, strings.Join(errs, "; "))
	}
	labels := strings.Split(h, ".")
	switch tld := labels[len(labels)-1]; {
	case strings.Trim(tld, "0123456789") == "":
		return nil, fmt.Errorf("--to %s looks like an incomplete IP address (a top-level domain is never all digits); an ExternalName is a DNS name such as api.example.com", host)
	case h == "localhost" || strings.HasSuffix(h, ".localhost"):
		return nil, fmt.Errorf("--to %s: localhost is the client's own loopback, not a name DNS can alias: every pod would connect to itself", host)
	}
	if errs := validation.IsDNS1035Label(spec.Name); len(errs) > 0 {
		return nil, fmt.Errorf("service name %q is invalid: %s", spec.Name, strings.Join(errs, "; "))
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(spec.Name, spec.Namespace, spec.Labels, spec.Annotations),
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: h},
	}
	if len(spec.Ports) > 0 {
		ports, err := resolvePorts(spec.Ports, spec.Protocol, nil, "the Service")
		if err != nil {
			return nil, err
		}
		svc.Spec.Ports = ports
	}
	return svc, nil
}

// ParseKeyValues reads KEY=VALUE[,KEY=VALUE] items (labels, annotations, selectors).
func ParseKeyValues(flag string, items []string, validate func(k, v string) []string) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, it := range items {
		for _, kv := range strings.Split(it, ",") {
			kv = strings.TrimSpace(kv)
			if kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("%s %q: write KEY=VALUE", flag, kv)
			}
			if validate != nil {
				if errs := validate(k, v); len(errs) > 0 {
					return nil, fmt.Errorf("%s %q: %s", flag, kv, strings.Join(errs, "; "))
				}
			}
			out[k] = v
		}
	}
	return out, nil
}

func validateLabel(k, v string) []string {
	errs := validation.IsQualifiedName(k)
	return append(errs, validation.IsValidLabelValue(v)...)
}

func validateAnnotation(k, _ string) []string { return validation.IsQualifiedName(k) }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
