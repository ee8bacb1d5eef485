package gateway

import (
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// RouteState is what the specification makes of one HTTPRoute or GRPCRoute.
type RouteState struct {
	Ref ObjectRef
	// HTTP is the HTTPRoute (nil for a GRPCRoute), GRPC the GRPCRoute (nil for an HTTPRoute).
	HTTP *gwv1.HTTPRoute
	GRPC *gwv1.GRPCRoute
	// Created is the route's creationTimestamp (zero in manifests): older routes win ties.
	Created time.Time
	// Parents are the attachments of each parentRef, in order.
	Parents []*ParentAttachment
	// Backends are the backendRefs of every rule, in order.
	Backends []*BackendCheck
	// Shadowed are the matches that can never win.
	Shadowed []*ShadowedMatch
	problems []Problem
}

// Hostnames returns the route's spec.hostnames, lower case.
func (r *RouteState) Hostnames() []string {
	var hs []gwv1.Hostname
	if r.HTTP != nil {
		hs = r.HTTP.Spec.Hostnames
	} else {
		hs = r.GRPC.Spec.Hostnames
	}
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = strings.ToLower(string(h))
	}
	return out
}

// Attached reports whether at least one parentRef attaches to a listener.
func (r *RouteState) Attached() bool {
	for _, p := range r.Parents {
		if p.Accepted {
			return true
		}
	}
	return false
}

// Problems returns the problems of the route: its parentRefs, backendRefs and shadowed matches.
func (r *RouteState) Problems() []Problem {
	var out []Problem
	for _, p := range r.Parents {
		if !p.Accepted && p.Reason != "" {
			out = append(out, Problem{Object: r.Ref, Check: p.check(), Reason: p.Reason, Field: p.Field, Message: p.Message, Level: p.Level})
		}
	}
	for _, b := range r.Backends {
		out = append(out, b.Problems...)
	}
	out = append(out, r.problems...)
	for _, s := range r.Shadowed {
		out = append(out, s.problem(r))
	}
	return out
}

// ParentAttachment is where one parentRef of a route attaches.
type ParentAttachment struct {
	Route *RouteState
	Index int
	// Field is spec.parentRefs[i] (its sectionName or port when those select no listener).
	Field string
	Ref   gwv1.ParentReference
	// Gateway is the Gateway named (nil when it is not found or the parent is not a Gateway).
	Gateway *GatewayState
	// NotModelled says why the parent is not checked (a Service of a mesh, a ListenerSet), "" otherwise.
	NotModelled string
	// Listeners are the listeners the parentRef selects (by sectionName and port), accepted or not.
	Listeners []*ListenerAttachment
	// Accepted is set when at least one listener accepts the route.
	Accepted bool
	// Reason is the specification's reason: Accepted, NoMatchingParent, NotAllowedByListeners or
	// NoMatchingListenerHostname ("" for parents that are not modelled).
	Reason  string
	Message string
	Level   Level
}

func (p *ParentAttachment) check() Check {
	switch p.Reason {
	case ReasonNotAllowedByListeners:
		return CheckNotAllowed
	case ReasonNoMatchingListenerHostname:
		return CheckNoHostname
	}
	return CheckParentNoMatch
}

// ListenerAttachment is a route on one listener its parentRef selects.
type ListenerAttachment struct {
	Parent   *ParentAttachment
	Listener *ListenerState
	Accepted bool
	// Reason is NotAllowedByListeners or NoMatchingListenerHostname when not accepted.
	Reason string
	// Why explains a refusal in words.
	Why string
	// Unknown is set when the input cannot tell (the route's Namespace labels are not known).
	Unknown bool
	// Hostnames are the hostnames the route serves on this listener (the intersection of the
	// route's and the listener's hostnames); "" stands for any host.
	Hostnames []string
}

// route is what attachment reads of an HTTPRoute or a GRPCRoute.
type route struct {
	kind    string
	meta    *metav1.ObjectMeta
	parents []gwv1.ParentReference
	http    *gwv1.HTTPRoute
	grpc    *gwv1.GRPCRoute
}

func httpRoute(r *gwv1.HTTPRoute) route {
	return route{kind: KindHTTPRoute, meta: &r.ObjectMeta, parents: r.Spec.ParentRefs, http: r}
}

func grpcRoute(r *gwv1.GRPCRoute) route {
	return route{kind: KindGRPCRoute, meta: &r.ObjectMeta, parents: r.Spec.ParentRefs, grpc: r}
}

func (m *Model) routeState(r route) *RouteState {
	st := &RouteState{Ref: ObjectRef{r.kind, r.meta.Namespace, r.meta.Name}, HTTP: r.http, GRPC: r.grpc, Created: r.meta.CreationTimestamp.Time}
	for i, ref := range r.parents {
		p := m.attach(st, i, ref)
		st.Parents = append(st.Parents, p)
		for _, la := range p.Listeners {
			if la.Accepted {
				la.Listener.Attached = append(la.Listener.Attached, la)
			}
		}
	}
	m.checkBackends(st)
	return st
}

// attach works out where one parentRef attaches (ParentReference, AllowedRoutes, and
// HTTPRouteSpec.Hostnames for the hostname intersection).
func (m *Model) attach(r *RouteState, i int, ref gwv1.ParentReference) *ParentAttachment {
	p := &ParentAttachment{Route: r, Index: i, Field: fmt.Sprintf("spec.parentRefs[%d]", i), Ref: ref}
	grp, kind := string(deref(ref.Group, Group)), string(deref(ref.Kind, KindGateway))
	ns := string(deref(ref.Namespace, gwv1.Namespace(r.Ref.Namespace)))
	if grp != Group || kind != KindGateway {
		p.NotModelled = fmt.Sprintf("parent %s %s/%s is not a Gateway: only Gateway parents are checked", groupKind(grp, kind), ns, ref.Name)
		return p
	}
	g := m.gateways[nsName(ns, string(ref.Name))]
	if g == nil {
		p.refuse(ReasonNoMatchingParent, m.missingLevel(KindGateway, ns), "%s: %s", ReasonNoMatchingParent, m.missingGateway(ns, string(ref.Name)))
		return p
	}
	p.Gateway = m.gateIndex[g]
	selected := selectListeners(p.Gateway, ref)
	if len(selected) == 0 {
		p.refuse(ReasonNoMatchingParent, Broken, "%s: %s", ReasonNoMatchingParent, noListenerText(p.Gateway, ref))
		p.Field += ".port"
		if sec := deref(ref.SectionName, ""); sec != "" && p.Gateway.Listener(string(sec)) == nil {
			p.Field = p.Field[:len(p.Field)-len(".port")] + ".sectionName"
		}
		return p
	}
	hostnameOnly, unknown := false, false
	for _, l := range selected {
		la := m.attachListener(p, l)
		p.Listeners = append(p.Listeners, la)
		switch {
		case la.Accepted:
			p.Accepted = true
		case la.Unknown:
			unknown = true
		case la.Reason == ReasonNoMatchingListenerHostname:
			hostnameOnly = true
		}
	}
	if p.Accepted {
		p.Reason = string(gwv1.RouteReasonAccepted)
		return p
	}
	level := Broken
	if unknown {
		level = Unknown
	}
	reason := ReasonNotAllowedByListeners
	if hostnameOnly {
		reason = ReasonNoMatchingListenerHostname
	}
	var whys []string
	for _, la := range p.Listeners {
		whys = append(whys, fmt.Sprintf("listener %s: %s", la.Listener.Name(), la.Why))
	}
	p.refuse(reason, level, "%s: %s does not accept this %s (%s)", reason, p.Gateway.Ref, r.Ref.Kind, strings.Join(whys, "; "))
	return p
}

func (p *ParentAttachment) refuse(reason string, level Level, format string, args ...any) {
	p.Reason, p.Level, p.Message = reason, level, fmt.Sprintf(format, args...)
}

// missingGateway explains a parentRef to a Gateway that is not found, with Gateways of the same
// name in other namespaces (a parentRef without namespace refers to the route's own namespace).
func (m *Model) missingGateway(ns, name string) string {
	msg := fmt.Sprintf("Gateway %s/%s %s, so nothing attaches this route (and no controller reports status for it)", ns, name, missingText(m.complete(KindGateway, ns)))
	var others []string
	for _, g := range m.objs.Gateways {
		if g.Name == name && g.Namespace != ns {
			others = append(others, g.Namespace)
		}
	}
	if len(others) > 0 {
		sort.Strings(others)
		msg += fmt.Sprintf("; a Gateway %s exists in namespace %s: set namespace: %s in the parentRef", name, strings.Join(others, ", "), others[0])
	}
	return msg
}

// selectListeners returns the listeners a parentRef selects: all of them, or those with the
// sectionName and port it names ("When both Port and SectionName are specified, the name and
// port of the selected listener must match both specified values").
func selectListeners(g *GatewayState, ref gwv1.ParentReference) []*ListenerState {
	var out []*ListenerState
	for _, l := range g.Listeners {
		if ref.SectionName != nil && *ref.SectionName != "" && l.Listener.Name != *ref.SectionName {
			continue
		}
		if ref.Port != nil && *ref.Port != 0 && l.Listener.Port != *ref.Port {
			continue
		}
		out = append(out, l)
	}
	return out
}

func noListenerText(g *GatewayState, ref gwv1.ParentReference) string {
	var have []string
	for _, l := range g.Listeners {
		have = append(have, fmt.Sprintf("%s (port %d)", l.Name(), l.Listener.Port))
	}
	list := "it has no listeners"
	if len(have) > 0 {
		list = "its listeners are " + strings.Join(have, ", ")
	}
	sec, port := deref(ref.SectionName, ""), deref(ref.Port, 0)
	switch {
	case sec != "" && port != 0 && g.Listener(string(sec)) != nil:
		return fmt.Sprintf("listener %s of %s is not on port %d (%s)", sec, g.Ref, port, list)
	case sec != "" && port != 0:
		return fmt.Sprintf("%s has no listener named %s on port %d (%s)", g.Ref, sec, port, list)
	case sec != "":
		return fmt.Sprintf("%s has no listener named %s (%s)", g.Ref, sec, list)
	}
	return fmt.Sprintf("%s has no listener on port %d (%s)", g.Ref, port, list)
}

// attachListener decides whether one listener accepts the route: it must be distinct, allow
// the route's kind and namespace, and share a hostname with it.
func (m *Model) attachListener(p *ParentAttachment, l *ListenerState) *ListenerAttachment {
	r := p.Route
	la := &ListenerAttachment{Parent: p, Listener: l, Reason: ReasonNotAllowedByListeners}
	if l.Conflicted != "" {
		la.Why = "the listener is Conflicted (" + l.Conflicted + ") and takes no route"
		return la
	}
	if !l.supports(Group, r.Ref.Kind) {
		la.Why = fmt.Sprintf("it allows %s, not %s", kindsText(l.SupportedKinds), r.Ref.Kind)
		return la
	}
	if ok, unknown, why := m.namespaceAllowed(l, r.Ref.Namespace); !ok {
		la.Why, la.Unknown = why, unknown
		return la
	}
	la.Hostnames = effectiveHostnames(l.Hostname(), r.Hostnames())
	if len(la.Hostnames) == 0 {
		la.Reason = ReasonNoMatchingListenerHostname
		la.Why = fmt.Sprintf("none of the route's hostnames %s is within the listener hostname %s", strings.Join(r.Hostnames(), ", "), l.Hostname())
		return la
	}
	la.Accepted, la.Reason = true, ""
	return la
}

// effectiveHostnames are the hostnames a route serves on a listener: each route hostname
// intersected with the listener's, duplicates removed; [""] when neither has any.
func effectiveHostnames(listener string, routeHosts []string) []string {
	if len(routeHosts) == 0 {
		return []string{listener}
	}
	seen := map[string]bool{}
	var out []string
	for _, h := range routeHosts {
		if x, ok := intersectHostnames(listener, h); ok && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func kindsText(kinds []gwv1.RouteGroupKind) string {
	if len(kinds) == 0 {
		return "no route kind"
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = groupKind(string(deref(k.Group, gwv1.Group(Group))), string(k.Kind))
	}
	return strings.Join(names, ", ")
}

// namespaceAllowed applies a listener's allowedRoutes.namespaces to a route namespace
// (RouteNamespaces; default From Same). A Selector is a full metav1.LabelSelector matched
// against the labels of the route's Namespace, not the route's own labels.
func (m *Model) namespaceAllowed(l *ListenerState, ns string) (ok, unknown bool, why string) {
	gwNS := l.Gateway.Gateway.Namespace
	from, sel := gwv1.NamespacesFromSame, (*metav1.LabelSelector)(nil)
	if ar := l.Listener.AllowedRoutes; ar != nil && ar.Namespaces != nil {
		from, sel = deref(ar.Namespaces.From, gwv1.NamespacesFromSame), ar.Namespaces.Selector
	}
	switch from {
	case gwv1.NamespacesFromAll:
		return true, false, ""
	case gwv1.NamespacesFromSame:
		if ns == gwNS {
			return true, false, ""
		}
		return false, false, fmt.Sprintf("it allows routes from namespace %s only (allowedRoutes.namespaces.from: Same, the default), and the route is in %s", gwNS, ns)
	case gwv1.NamespacesFromSelector:
		return m.selectorAllows(sel, ns)
	}
	return false, false, fmt.Sprintf("allowedRoutes.namespaces.from is %s: no route may attach", from)
}

func (m *Model) selectorAllows(sel *metav1.LabelSelector, ns string) (ok, unknown bool, why string) {
	if sel == nil {
		return false, false, "allowedRoutes.namespaces.from is Selector but no selector is set"
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, false, "its allowedRoutes.namespaces.selector is invalid: " + err.Error()
	}
	nsLabels, known := m.namespaceLabels(ns)
	matches := s.Matches(labels.Set(nsLabels))
	if !known && !onlyNameLabel(s) {
		return false, true, fmt.Sprintf("its allowedRoutes.namespaces.selector %s needs the labels of Namespace %s, which is not in the given manifests", s, ns)
	}
	if matches {
		return true, false, ""
	}
	return false, false, fmt.Sprintf("its allowedRoutes.namespaces.selector %s does not match the labels of Namespace %s (%s)", s, ns, labels.Set(nsLabels))
}

// onlyNameLabel reports whether a selector reads no label but kubernetes.io/metadata.name, the
// one label every Namespace is known to carry.
func onlyNameLabel(s labels.Selector) bool {
	reqs, _ := s.Requirements()
	for _, r := range reqs {
		if r.Key() != namespaceNameLabel {
			return false
		}
	}
	return true
}
