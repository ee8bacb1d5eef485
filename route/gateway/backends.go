package gateway

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/svc-doctor/svc-doctor/semantics"
)

// BackendCheck is one backendRef of a route rule.
type BackendCheck struct {
	Route *RouteState
	// Rule and Index locate it: spec.rules[Rule].backendRefs[Index] (Field).
	Rule, Index int
	Field       string
	Group, Kind string
	Namespace   string
	Name        string
	// Port is the port written (0 when none).
	Port int32
	// Weight is the weight written, 1 when none ("If unspecified, weight defaults to 1").
	Weight int32
	// Service and ServicePort are the Service and the port the reference resolves to (nil when not).
	Service     *corev1.Service
	ServicePort *corev1.ServicePort
	// NotModelled says why the backend is not checked (a ServiceImport), "" otherwise.
	NotModelled string
	Problems    []Problem
}

// String renders the backend as service/NS/NAME:PORT (or group/Kind NS/NAME for other kinds).
func (b *BackendCheck) String() string {
	s := "service/" + b.Namespace + "/" + b.Name
	if b.Group != "" || b.Kind != KindService {
		s = groupKind(b.Group, b.Kind) + " " + b.Namespace + "/" + b.Name
	}
	if b.Port != 0 {
		s += ":" + strconv.Itoa(int(b.Port))
	}
	return s
}

// Invalid reports whether the specification makes requests for this backend fail with a 500
// (HTTPRouteRule.BackendRefs): a reference of an unsupported kind, to a missing object or port,
// or across namespaces without a ReferenceGrant. Problems the input cannot decide (Unknown) do
// not make it invalid.
func (b *BackendCheck) Invalid() bool {
	for _, p := range b.Problems {
		if p.Level == Broken || p.Check == CheckBackendInvalidKind {
			return true
		}
	}
	return false
}

func (b *BackendCheck) problem(check Check, reason string, level Level, field, format string, args ...any) {
	b.Problems = append(b.Problems, Problem{Object: b.Route.Ref, Check: check, Reason: reason, Field: field, Level: level,
		Message: fmt.Sprintf(format, args...)})
}

// checkBackends checks every backendRef of every rule, and rules whose weights are all zero.
func (m *Model) checkBackends(r *RouteState) {
	refs := ruleBackendRefs(r)
	for i, rule := range refs {
		zero := len(rule) > 0
		for j, ref := range rule {
			b := m.checkBackend(r, i, j, ref)
			r.Backends = append(r.Backends, b)
			zero = zero && b.Weight == 0
		}
		if zero {
			r.problems = append(r.problems, Problem{Object: r.Ref, Check: CheckWeightsZero, Field: fmt.Sprintf("spec.rules[%d].backendRefs", i), Level: Broken,
				Message: fmt.Sprintf("every backendRef of rule[%d] has weight 0, so no request matching it is forwarded (weight 0: \"no traffic should be forwarded for this entry\")", i)})
		}
	}
}

// ruleBackendRefs lists the backendRefs of each rule of an HTTPRoute or GRPCRoute.
func ruleBackendRefs(r *RouteState) [][]gwv1.BackendRef {
	var out [][]gwv1.BackendRef
	if r.HTTP != nil {
		for _, rule := range r.HTTP.Spec.Rules {
			refs := make([]gwv1.BackendRef, len(rule.BackendRefs))
			for j, b := range rule.BackendRefs {
				refs[j] = b.BackendRef
			}
			out = append(out, refs)
		}
		return out
	}
	for _, rule := range r.GRPC.Spec.Rules {
		refs := make([]gwv1.BackendRef, len(rule.BackendRefs))
		for j, b := range rule.BackendRefs {
			refs[j] = b.BackendRef
		}
		out = append(out, refs)
	}
	return out
}

// checkBackend checks one backendRef (HTTPBackendRef.BackendRef): InvalidKind, RefNotPermitted,
// BackendNotFound, and a port the Service does not have.
func (m *Model) checkBackend(r *RouteState, rule, idx int, ref gwv1.BackendRef) *BackendCheck {
	b := &BackendCheck{Route: r, Rule: rule, Index: idx, Field: fmt.Sprintf("spec.rules[%d].backendRefs[%d]", rule, idx),
		Group: string(deref(ref.Group, "")), Kind: string(deref(ref.Kind, KindService)), Name: string(ref.Name),
		Namespace: string(deref(ref.Namespace, gwv1.Namespace(r.Ref.Namespace))), Port: deref(ref.Port, 0), Weight: deref(ref.Weight, 1)}
	switch {
	case b.Group == "" && b.Kind == KindService:
	case b.Group == "multicluster.x-k8s.io" && b.Kind == "ServiceImport":
		b.NotModelled = "ServiceImport backends (Extended support) are not checked"
		return b
	case b.Group == "":
		b.problem(CheckBackendInvalidKind, ReasonInvalidKind, Broken, b.Field+".kind",
			"%s: backendRef kind %s is not a backend kind (a Service, or a resource of another API group your implementation supports); requests to it get a 500", ReasonInvalidKind, b.Kind)
		return b
	default:
		b.problem(CheckBackendInvalidKind, ReasonInvalidKind, Risky, b.Field+".kind",
			"%s unless the implementation supports %s (Implementation-specific support): requests to it then get a 500", ReasonInvalidKind, groupKind(b.Group, b.Kind))
		return b
	}
	if b.Namespace != r.Ref.Namespace {
		ref := reference{Group, r.Ref.Kind, r.Ref.Namespace, "", KindService, b.Namespace, b.Name}
		if ok, why := m.permitted(ref); !ok {
			b.problem(CheckBackendNotPermitted, ReasonRefNotPermitted, m.missingLevel(KindReferenceGrant, b.Namespace), b.Field+".namespace",
				"%s: the backendRef refers to Service %s/%s in another namespace, and %s", ReasonRefNotPermitted, b.Namespace, b.Name, why)
		}
	}
	b.Service = m.services[nsName(b.Namespace, b.Name)]
	if b.Service == nil {
		b.problem(CheckBackendNotFound, ReasonBackendNotFound, m.missingLevel(KindService, b.Namespace), b.Field+".name",
			"%s: Service %s/%s %s%s", ReasonBackendNotFound, b.Namespace, b.Name, missingText(m.complete(KindService, b.Namespace)), m.serviceElsewhere(b.Namespace, b.Name))
		return b
	}
	m.checkBackendPort(b)
	return b
}

// serviceElsewhere names the namespaces that hold a Service called name, for a reference that
// looked in ns.
func (m *Model) serviceElsewhere(ns, name string) string {
	var others []string
	for _, s := range m.objs.Services {
		if s.Name == name && s.Namespace != ns {
			others = append(others, s.Namespace)
		}
	}
	if len(others) == 0 {
		return ""
	}
	sort.Strings(others)
	return fmt.Sprintf(" (a Service %s exists in namespace %s: set the backendRef's namespace, with a ReferenceGrant there)", name, strings.Join(others, ", "))
}

// checkBackendPort resolves the port of a Service backendRef. BackendObjectReference.Port: "the
// port number is the service port number, not the target port".
func (m *Model) checkBackendPort(b *BackendCheck) {
	svc := b.Service
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		b.problem(CheckBackendInvalidKind, "", Risky, b.Field+".name",
			"Service %s/%s is of type ExternalName, which implementations SHOULD NOT support as a backend (BackendObjectReference.Kind; CVE-2021-25740)", b.Namespace, b.Name)
		return
	}
	if b.Port == 0 {
		b.problem(CheckBackendNotFound, "", Broken, b.Field,
			"backendRef to Service %s/%s has no port; a Service reference must name one of its ports (the API server rejects this route: \"Must have port for Service reference\")", b.Namespace, b.Name)
		return
	}
	var ports []string
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if sp.Port == b.Port {
			b.ServicePort = sp
			return
		}
		ports = append(ports, strconv.Itoa(int(sp.Port)))
	}
	msg := fmt.Sprintf("%s: Service %s/%s has no port %d (its ports are %s)", ReasonBackendNotFound, b.Namespace, b.Name, b.Port, strings.Join(ports, ", "))
	if len(ports) == 0 {
		msg = fmt.Sprintf("%s: Service %s/%s has no ports", ReasonBackendNotFound, b.Namespace, b.Name)
	}
	for i := range svc.Spec.Ports {
		if sp := &svc.Spec.Ports[i]; sp.Port != b.Port && m.targetsPort(svc, sp, b.Port) {
			msg += fmt.Sprintf("; %d is the targetPort of Service port %s: a backendRef names the Service port, not the container port, so write port: %d", b.Port, semantics.PortName(sp), sp.Port)
			break
		}
	}
	b.problem(CheckBackendNotFound, ReasonBackendNotFound, Broken, b.Field+".port", "%s", msg)
}

// targetsPort reports whether Service port sp sends traffic to container port port: a numeric
// targetPort equal to it, or a named one that the selected pods resolve to it.
func (m *Model) targetsPort(svc *corev1.Service, sp *corev1.ServicePort, port int32) bool {
	if sp.TargetPort.IntValue() == int(port) {
		return true
	}
	if m.objs.TargetPorts == nil {
		return false
	}
	return slices.Contains(m.objs.TargetPorts(svc, sp), port)
}

// ServiceRules lists the rules of routes whose backendRefs name Service ns/name (each as
// "httproute NS/NAME rule[i] (hostnames) -> port P, weight W"), whichever namespace the route is in.
// Whether a cross-namespace reference is permitted is not checked here: lint and ingresscheck do.
func ServiceRules(routes []*gwv1.HTTPRoute, ns, name string) []string {
	var out []string
	for _, r := range routes {
		hosts := "any host"
		if len(r.Spec.Hostnames) > 0 {
			var hs []string
			for _, h := range r.Spec.Hostnames {
				hs = append(hs, string(h))
			}
			hosts = strings.Join(hs, ", ")
		}
		for i, rule := range r.Spec.Rules {
			for _, b := range rule.BackendRefs {
				bns := r.Namespace
				if b.Namespace != nil {
					bns = string(*b.Namespace)
				}
				if (b.Group != nil && *b.Group != "") || (b.Kind != nil && *b.Kind != KindService) || bns != ns || string(b.Name) != name {
					continue
				}
				s := fmt.Sprintf("httproute %s/%s rule[%d] (%s) -> port %d", r.Namespace, r.Name, i, hosts, deref(b.Port, 0))
				if b.Weight != nil {
					s += fmt.Sprintf(", weight %d", *b.Weight)
				}
				out = append(out, s)
			}
		}
	}
	return out
}
