package gateway

import (
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Group is the API group of the Gateway API.
const Group = "gateway.networking.k8s.io"

// Kinds of the objects the package reads or names.
const (
	KindGateway        = "Gateway"
	KindGatewayClass   = "GatewayClass"
	KindHTTPRoute      = "HTTPRoute"
	KindGRPCRoute      = "GRPCRoute"
	KindReferenceGrant = "ReferenceGrant"
	KindService        = "Service"
	KindSecret         = "Secret"
	KindNamespace      = "Namespace"
)

// namespaceNameLabel is set by the API server on every Namespace to its name.
const namespaceNameLabel = corev1.LabelMetadataName

// Objects is the input: the Gateway API objects, and the Services, Secrets and Namespaces they
// refer to. Every slice may be empty. Objects are only read.
type Objects struct {
	GatewayClasses  []*gwv1.GatewayClass
	Gateways        []*gwv1.Gateway
	HTTPRoutes      []*gwv1.HTTPRoute
	GRPCRoutes      []*gwv1.GRPCRoute
	ReferenceGrants []*gwv1.ReferenceGrant
	Services        []*corev1.Service
	Secrets         []*Secret
	// Namespaces are the Namespace objects known, with their labels. A namespace without an
	// object here is taken to carry only the kubernetes.io/metadata.name label the API server
	// sets: a selector that needs other labels cannot be decided for it (Unknown).
	Namespaces []*corev1.Namespace
	// Complete reports whether the input holds every object of kind (KindService, KindSecret,
	// KindGateway, KindGatewayClass, KindReferenceGrant) in namespace ns ("" for cluster-scoped
	// kinds), so that an object that is not found is known not to exist. Nil means always: a
	// missing object is then Broken instead of Unknown.
	Complete func(kind, ns string) bool
	// Now is the time certificates are checked against; zero skips the validity checks.
	Now time.Time
	// ExpiryWarning is how close to its expiry a certificate is reported (Risky); zero never.
	ExpiryWarning time.Duration
	// StatusExpected is set for objects read from a cluster: controllers should have written
	// their status, so a missing status is reported. Status that is present is compared with the
	// specs either way.
	StatusExpected bool
	// AllNamespaces is set when the input holds the routes of every namespace, so that a
	// listener's status.attachedRoutes can be compared with the routes the specs attach.
	AllNamespaces bool
	// TargetPorts, when set, lists the container ports a Service port's targetPort resolves to in
	// the pods the Service selects (a named targetPort resolves per pod), so that a backendRef
	// naming a container port instead of the Service port is explained.
	TargetPorts func(svc *corev1.Service, sp *corev1.ServicePort) []int32
}

// Secret is what the package needs of a Secret.
type Secret struct {
	Namespace, Name string
	Type            corev1.SecretType
	Data            map[string][]byte
}

// ObjectRef names an object.
type ObjectRef struct {
	Kind, Namespace, Name string
}

// String renders the reference as kubectl names objects, with the namespace: httproute/ns/name.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return strings.ToLower(r.Kind) + "/" + r.Name
	}
	return strings.ToLower(r.Kind) + "/" + r.Namespace + "/" + r.Name
}

// nsName renders ns/name.
func nsName(ns, name string) string { return ns + "/" + name }

// Level says how sure a Problem is.
type Level int

const (
	// Broken means the specification makes this fail.
	Broken Level = iota
	// Risky means it fails on most implementations, or depends on the implementation.
	Risky
	// Unknown means the input lacks an object needed to tell (it is not in the given manifests).
	Unknown
)

// String names the level.
func (l Level) String() string {
	switch l {
	case Broken:
		return "broken"
	case Risky:
		return "risky"
	}
	return "unknown"
}

// Check names the check that found a Problem, so that callers (lint rules) can sort problems.
type Check string

// Checks.
const (
	CheckClassMissing          Check = "gateway-class-missing"
	CheckListenerConflict      Check = "listener-conflict"
	CheckListenerRouteKinds    Check = "listener-route-kinds"
	CheckCertificateRef        Check = "certificate-ref"
	CheckCertificateNotAllowed Check = "certificate-ref-not-permitted"
	CheckCertificateExpired    Check = "certificate-expired"
	CheckCertificateHost       Check = "certificate-host"
	CheckParentNoMatch         Check = "parent-no-match"
	CheckNotAllowed            Check = "not-allowed-by-listeners"
	CheckNoHostname            Check = "no-matching-listener-hostname"
	CheckBackendNotFound       Check = "backend-not-found"
	CheckBackendNotPermitted   Check = "backend-ref-not-permitted"
	CheckBackendInvalidKind    Check = "backend-invalid-kind"
	CheckWeightsZero           Check = "backend-weights-zero"
	CheckShadowed              Check = "match-shadowed"
)

// Spec reason names (apis/v1 shared_types.go and gateway_types.go) used in problems.
const (
	ReasonNoMatchingParent           = string(gwv1.RouteReasonNoMatchingParent)
	ReasonNotAllowedByListeners      = string(gwv1.RouteReasonNotAllowedByListeners)
	ReasonNoMatchingListenerHostname = string(gwv1.RouteReasonNoMatchingListenerHostname)
	ReasonRefNotPermitted            = string(gwv1.RouteReasonRefNotPermitted)
	ReasonInvalidKind                = string(gwv1.RouteReasonInvalidKind)
	ReasonBackendNotFound            = string(gwv1.RouteReasonBackendNotFound)
	ReasonInvalidCertificateRef      = string(gwv1.ListenerReasonInvalidCertificateRef)
	ReasonInvalidRouteKinds          = string(gwv1.ListenerReasonInvalidRouteKinds)
	ReasonHostnameConflict           = string(gwv1.ListenerReasonHostnameConflict)
	ReasonProtocolConflict           = string(gwv1.ListenerReasonProtocolConflict)
)

// Problem is one thing the specification says is wrong (or may be wrong) with an object.
type Problem struct {
	// Object is the object the problem is reported on.
	Object ObjectRef
	Check  Check
	// Reason is the specification's reason name for it ("" when the specification names none).
	Reason string
	// Field is the field path in the object, e.g. spec.rules[0].backendRefs[1].port.
	Field   string
	Message string
	Level   Level
}

// Model is the analysed input. It is built once (New) and only read afterwards, so it may be
// shared between goroutines.
type Model struct {
	objs       Objects
	classes    map[string]*gwv1.GatewayClass
	gateways   map[string]*gwv1.Gateway
	services   map[string]*corev1.Service
	secrets    map[string]*Secret
	namespaces map[string]*corev1.Namespace
	grants     map[string][]*gwv1.ReferenceGrant // by namespace

	gateStates []*GatewayState
	gateIndex  map[*gwv1.Gateway]*GatewayState
	routes     []*RouteState
	problems   []Problem
}

// New analyses the objects: listener states, route attachments, backend references and
// shadowed matches are all computed here.
func New(objs Objects) *Model {
	m := &Model{objs: objs, classes: map[string]*gwv1.GatewayClass{}, gateways: map[string]*gwv1.Gateway{},
		services: map[string]*corev1.Service{}, secrets: map[string]*Secret{}, namespaces: map[string]*corev1.Namespace{},
		grants: map[string][]*gwv1.ReferenceGrant{}, gateIndex: map[*gwv1.Gateway]*GatewayState{}}
	for _, c := range objs.GatewayClasses {
		m.classes[c.Name] = c
	}
	for _, g := range objs.Gateways {
		m.gateways[nsName(g.Namespace, g.Name)] = g
	}
	for _, s := range objs.Services {
		m.services[nsName(s.Namespace, s.Name)] = s
	}
	for _, s := range objs.Secrets {
		m.secrets[nsName(s.Namespace, s.Name)] = s
	}
	for _, n := range objs.Namespaces {
		m.namespaces[n.Name] = n
	}
	for _, g := range objs.ReferenceGrants {
		m.grants[g.Namespace] = append(m.grants[g.Namespace], g)
	}
	for _, g := range objs.Gateways {
		st := m.gatewayState(g)
		m.gateStates = append(m.gateStates, st)
		m.gateIndex[g] = st
	}
	for _, r := range objs.HTTPRoutes {
		m.routes = append(m.routes, m.routeState(httpRoute(r)))
	}
	for _, r := range objs.GRPCRoutes {
		m.routes = append(m.routes, m.routeState(grpcRoute(r)))
	}
	m.checkCertificateHosts()
	m.findShadowed()
	m.checkStatus()
	m.collectProblems()
	return m
}

// Gateways returns the state of every Gateway, in input order.
func (m *Model) Gateways() []*GatewayState { return m.gateStates }

// Routes returns the state of every HTTPRoute, then every GRPCRoute, in input order.
func (m *Model) Routes() []*RouteState { return m.routes }

// Problems returns every problem found, grouped by object in input order (Gateways first).
func (m *Model) Problems() []Problem { return m.problems }

// Gateway returns the state of the Gateway ns/name, or nil.
func (m *Model) Gateway(ns, name string) *GatewayState {
	if g := m.gateways[nsName(ns, name)]; g != nil {
		return m.gateIndex[g]
	}
	return nil
}

// Route returns the state of the route of this kind (KindHTTPRoute, KindGRPCRoute), or nil.
func (m *Model) Route(kind, ns, name string) *RouteState {
	for _, r := range m.routes {
		if r.Ref.Kind == kind && r.Ref.Namespace == ns && r.Ref.Name == name {
			return r
		}
	}
	return nil
}

// complete reports whether a missing object of kind in ns is known to be absent.
func (m *Model) complete(kind, ns string) bool {
	return m.objs.Complete == nil || m.objs.Complete(kind, ns)
}

// missingLevel is Broken when the input is complete for kind in ns, Unknown otherwise.
func (m *Model) missingLevel(kind, ns string) Level {
	if m.complete(kind, ns) {
		return Broken
	}
	return Unknown
}

// namespaceLabels returns the labels of Namespace ns and whether they are known: without a
// Namespace object only kubernetes.io/metadata.name is known.
func (m *Model) namespaceLabels(ns string) (map[string]string, bool) {
	if n := m.namespaces[ns]; n != nil {
		l := make(map[string]string, len(n.Labels)+1)
		for k, v := range n.Labels {
			l[k] = v
		}
		l[namespaceNameLabel] = ns
		return l, true
	}
	return map[string]string{namespaceNameLabel: ns}, false
}

// checkStatus compares the status controllers wrote with the specs (status.go).
func (m *Model) checkStatus() {
	for _, g := range m.gateStates {
		m.checkGatewayStatus(g)
	}
	for _, r := range m.routes {
		if r.HTTP != nil {
			m.checkRouteStatus(r, &r.HTTP.ObjectMeta, r.HTTP.Status.Parents)
		} else {
			m.checkRouteStatus(r, &r.GRPC.ObjectMeta, r.GRPC.Status.Parents)
		}
	}
}

// collectProblems gathers the problems of every Gateway and route.
func (m *Model) collectProblems() {
	for _, g := range m.gateStates {
		m.problems = append(m.problems, g.Problems()...)
	}
	for _, r := range m.routes {
		m.problems = append(m.problems, r.Problems()...)
	}
}

// sortedKeys returns the keys of a string set, sorted.
func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// deref returns *p, or def when p is nil.
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
