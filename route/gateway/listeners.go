package gateway

import (
	"fmt"
	"sort"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// GatewayState is what the specification makes of one Gateway.
type GatewayState struct {
	Gateway *gwv1.Gateway
	Ref     ObjectRef
	// Class is the GatewayClass named by spec.gatewayClassName (nil when not found).
	Class     *gwv1.GatewayClass
	Listeners []*ListenerState
	problems  []Problem
}

// Problems returns the problems of the Gateway and its listeners.
func (g *GatewayState) Problems() []Problem {
	out := append([]Problem(nil), g.problems...)
	for _, l := range g.Listeners {
		out = append(out, l.Problems...)
	}
	return out
}

// Listener returns the listener called name, or nil.
func (g *GatewayState) Listener(name string) *ListenerState {
	for _, l := range g.Listeners {
		if string(l.Listener.Name) == name {
			return l
		}
	}
	return nil
}

// ListenerState is one listener of a Gateway.
type ListenerState struct {
	Gateway  *GatewayState
	Index    int
	Listener *gwv1.Listener
	// Field is spec.listeners[i].
	Field string
	// Conflicted says why the listener is not distinct from another one ("" when it is): such
	// listeners are not accepted and take no traffic (GatewaySpec.Listeners).
	Conflicted string
	// SupportedKinds are the route kinds that may attach (allowedRoutes.kinds that are
	// compatible with the protocol, or the protocol's default kinds).
	SupportedKinds []gwv1.RouteGroupKind
	// CustomProtocol is set for implementation-specific protocols (domain/name): the kinds they
	// accept are not known.
	CustomProtocol bool
	// Attached are the route attachments the listener accepts.
	Attached []*ListenerAttachment
	Problems []Problem
	// certs are the certificates that loaded, for the hostname checks
	certs []listenerCert
}

// Name returns the listener's name.
func (l *ListenerState) Name() string { return string(l.Listener.Name) }

// Hostname returns the listener's hostname, "" when it has none.
func (l *ListenerState) Hostname() string {
	return strings.ToLower(string(deref(l.Listener.Hostname, "")))
}

// String names the listener: listener NAME of gateway/NS/NAME.
func (l *ListenerState) String() string {
	return fmt.Sprintf("listener %s of %s", l.Listener.Name, l.Gateway.Ref)
}

func (l *ListenerState) problem(check Check, reason, field string, level Level, format string, args ...any) {
	l.Problems = append(l.Problems, Problem{Object: l.Gateway.Ref, Check: check, Reason: reason, Field: field,
		Level: level, Message: fmt.Sprintf(format, args...)})
}

// protocolKinds are the route kinds each core protocol accepts when allowedRoutes.kinds is
// empty ("the kinds of Routes selected are determined using the Listener protocol").
var protocolKinds = map[gwv1.ProtocolType][]string{
	gwv1.HTTPProtocolType:  {KindHTTPRoute, KindGRPCRoute},
	gwv1.HTTPSProtocolType: {KindHTTPRoute, KindGRPCRoute},
	gwv1.TLSProtocolType:   {"TLSRoute", "TCPRoute"},
	gwv1.TCPProtocolType:   {"TCPRoute"},
	gwv1.UDPProtocolType:   {"UDPRoute"},
}

func (m *Model) gatewayState(g *gwv1.Gateway) *GatewayState {
	st := &GatewayState{Gateway: g, Ref: ObjectRef{KindGateway, g.Namespace, g.Name}, Class: m.classes[string(g.Spec.GatewayClassName)]}
	if st.Class == nil {
		st.problems = append(st.problems, m.classProblem(st))
	}
	for i := range g.Spec.Listeners {
		l := &ListenerState{Gateway: st, Index: i, Listener: &g.Spec.Listeners[i], Field: fmt.Sprintf("spec.listeners[%d]", i)}
		st.Listeners = append(st.Listeners, l)
		m.routeKinds(l)
		m.checkCertificates(l)
	}
	findConflicts(st)
	return st
}

// classProblem reports a gatewayClassName that names no GatewayClass: no controller programs
// the Gateway, so nothing it routes receives traffic.
func (m *Model) classProblem(st *GatewayState) Problem {
	name := string(st.Gateway.Spec.GatewayClassName)
	p := Problem{Object: st.Ref, Check: CheckClassMissing, Field: "spec.gatewayClassName", Level: m.missingLevel(KindGatewayClass, "")}
	if p.Level == Unknown {
		p.Message = fmt.Sprintf("GatewayClass %s is not in the given manifests (GatewayClasses are cluster-scoped and usually installed with the controller)", name)
		return p
	}
	var near []string
	for c := range m.classes {
		if strings.EqualFold(c, name) || strings.Contains(c, name) || strings.Contains(name, c) {
			near = append(near, c)
		}
	}
	sort.Strings(near)
	p.Message = fmt.Sprintf("GatewayClass %s does not exist, so no controller programs this Gateway and none of its routes receives traffic", name)
	if len(near) > 0 {
		p.Message += fmt.Sprintf(" (did you mean %s?)", strings.Join(near, " or "))
	}
	return p
}

// routeKinds works out the route kinds a listener supports, and reports allowedRoutes.kinds
// that its protocol cannot carry (InvalidRouteKinds, AllowedRoutes.Kinds).
func (m *Model) routeKinds(l *ListenerState) {
	proto := l.Listener.Protocol
	defaults, core := protocolKinds[proto]
	if !core {
		l.CustomProtocol = true
	}
	ar := l.Listener.AllowedRoutes
	if ar == nil || len(ar.Kinds) == 0 {
		for _, k := range defaults {
			g := gwv1.Group(Group)
			l.SupportedKinds = append(l.SupportedKinds, gwv1.RouteGroupKind{Group: &g, Kind: gwv1.Kind(k)})
		}
		return
	}
	for i, k := range ar.Kinds {
		grp := string(deref(k.Group, gwv1.Group(Group)))
		ok := !core
		if core && grp == Group {
			for _, d := range defaults {
				ok = ok || d == string(k.Kind)
			}
		}
		if ok {
			l.SupportedKinds = append(l.SupportedKinds, k)
			continue
		}
		allowed := "none"
		if len(defaults) > 0 {
			allowed = strings.Join(defaults, ", ")
		}
		l.problem(CheckListenerRouteKinds, ReasonInvalidRouteKinds, fmt.Sprintf("%s.allowedRoutes.kinds[%d]", l.Field, i), Broken,
			"%s: listener %s (%s) cannot carry %s routes (it carries %s)", ReasonInvalidRouteKinds, l.Name(), proto, groupKind(grp, string(k.Kind)), allowed)
	}
	if len(l.SupportedKinds) == 0 {
		l.problem(CheckListenerRouteKinds, ReasonInvalidRouteKinds, l.Field+".allowedRoutes.kinds", Broken,
			"%s: none of the allowedRoutes.kinds can attach to listener %s (%s), so it accepts no route", ReasonInvalidRouteKinds, l.Name(), proto)
	}
}

// groupKind renders a group and kind: Kind for the Gateway API group, group/Kind otherwise.
func groupKind(group, kind string) string {
	switch group {
	case Group:
		return kind
	case "":
		return "core/" + kind
	}
	return group + "/" + kind
}

// supports reports whether the listener lets routes of this group and kind attach.
func (l *ListenerState) supports(group, kind string) bool {
	if l.CustomProtocol && len(l.SupportedKinds) == 0 {
		return true
	}
	for _, k := range l.SupportedKinds {
		if string(deref(k.Group, gwv1.Group(Group))) == group && string(k.Kind) == kind {
			return true
		}
	}
	return false
}

// findConflicts marks listeners that are not distinct (GatewaySpec.Listeners, "Distinct
// Listeners" and "Handling indistinct Listeners"): the same name, or the same port, protocol and
// hostname (both refused by the API server's validation), and HTTP, HTTPS or TLS listeners that
// share a port with a TCP listener (ProtocolConflict: such listeners MUST NOT be accepted). HTTP
// next to HTTPS or TLS on one port is a ProtocolConflict on most implementations (Risky).
func findConflicts(g *GatewayState) {
	byName := map[string][]*ListenerState{}
	byKey := map[string][]*ListenerState{}
	byPort := map[int32][]*ListenerState{}
	for _, l := range g.Listeners {
		byName[l.Name()] = append(byName[l.Name()], l)
		key := fmt.Sprintf("%d/%s/%s", l.Listener.Port, l.Listener.Protocol, l.Hostname())
		byKey[key] = append(byKey[key], l)
		byPort[l.Listener.Port] = append(byPort[l.Listener.Port], l)
	}
	for _, l := range g.Listeners {
		if others := byName[l.Name()]; len(others) > 1 && others[0] != l {
			l.conflict("", l.Field+".name", Broken, "%s is the name of another listener: listener names must be unique (the API server rejects the Gateway)", l.Name())
			continue
		}
		if others := byKey[fmt.Sprintf("%d/%s/%s", l.Listener.Port, l.Listener.Protocol, l.Hostname())]; len(others) > 1 {
			o := others[0]
			if o == l {
				o = others[1]
			}
			l.conflict(ReasonHostnameConflict, l.Field+".hostname", Broken, "%s: listeners %s and %s have the same port %d, protocol %s and %s (the API server rejects the Gateway)",
				ReasonHostnameConflict, o.Name(), l.Name(), l.Listener.Port, l.Listener.Protocol, hostnameDisplay(l.Hostname()))
			continue
		}
		portConflict(l, byPort[l.Listener.Port])
	}
}

func portConflict(l *ListenerState, same []*ListenerState) {
	p := l.Listener.Protocol
	for _, o := range same {
		if o == l {
			continue
		}
		q := o.Listener.Protocol
		switch {
		case (p == gwv1.TCPProtocolType) != (q == gwv1.TCPProtocolType) && p != gwv1.UDPProtocolType && q != gwv1.UDPProtocolType:
			l.conflict(ReasonProtocolConflict, l.Field+".protocol", Broken, "%s: listener %s (%s) shares port %d with listener %s (%s); listeners that share a port with a TCP listener are not distinct and MUST NOT be accepted",
				ReasonProtocolConflict, l.Name(), p, l.Listener.Port, o.Name(), q)
			return
		case p == gwv1.HTTPProtocolType && (q == gwv1.HTTPSProtocolType || q == gwv1.TLSProtocolType),
			q == gwv1.HTTPProtocolType && (p == gwv1.HTTPSProtocolType || p == gwv1.TLSProtocolType):
			l.conflict(ReasonProtocolConflict, l.Field+".protocol", Risky, "%s on most implementations: listener %s (%s) shares port %d with listener %s (%s), and one port cannot serve plain HTTP and TLS",
				ReasonProtocolConflict, l.Name(), p, l.Listener.Port, o.Name(), q)
			return
		}
	}
}

func (l *ListenerState) conflict(reason, field string, level Level, format string, args ...any) {
	if level == Broken {
		l.Conflicted = reason
		if reason == "" {
			l.Conflicted = "duplicate listener name"
		}
	}
	l.problem(CheckListenerConflict, reason, field, level, format, args...)
}
