package gateway

// The status that controllers write, compared with what the specs imply. Several implementations
// leave status.parents empty, partial or stale, and a controller may refuse a route for a reason
// the specs alone do not show: each disagreement is reported with the side that is wrong.

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Status checks.
const (
	CheckRouteStatus   Check = "route-status"
	CheckGatewayStatus Check = "gateway-status"
)

// modelledRouteReasons are the Accepted=False reasons the attachment computes: a status with
// another reason knows something the specs alone do not show.
var modelledRouteReasons = map[string]bool{
	ReasonNoMatchingParent: true, ReasonNotAllowedByListeners: true, ReasonNoMatchingListenerHostname: true,
}

// modelledRefReasons are the ResolvedRefs=False reasons the backend checks compute.
var modelledRefReasons = map[string]bool{ReasonBackendNotFound: true, ReasonRefNotPermitted: true, ReasonInvalidKind: true}

// statusProblem is a Problem about status (a warning: the traffic follows the controller, whose
// status disagrees with the specs or is missing).
func statusProblem(obj ObjectRef, check Check, field, format string, args ...any) Problem {
	return Problem{Object: obj, Check: check, Field: field, Level: Risky, Message: fmt.Sprintf(format, args...)}
}

// checkRouteStatus compares each Gateway parent's computed attachment with the route's
// status.parents entry written by the controller of the Gateway's class.
func (m *Model) checkRouteStatus(r *RouteState, meta *metav1.ObjectMeta, status []gwv1.RouteParentStatus) {
	covered := 0
	for _, p := range r.Parents {
		if _, found := findParentStatus(r, p, status); p.Gateway != nil && found != nil {
			covered++
		}
	}
	for _, p := range r.Parents {
		if p.Gateway == nil || p.Gateway.Class == nil {
			continue // no Gateway or no class: no controller is responsible for a status
		}
		controller := string(p.Gateway.Class.Spec.ControllerName)
		j, ps := findParentStatus(r, p, status)
		if ps == nil {
			field := p.Field // the parentRef without a status entry
			switch {
			case covered > 0:
				r.problems = append(r.problems, statusProblem(r.Ref, CheckRouteStatus, field,
					"status partial: status.parents has entries for other parentRefs but none for %s (%s) from controller %s, %s",
					p.Field, p.Gateway.Ref, controller, specSays(p)))
			case m.objs.StatusExpected:
				r.problems = append(r.problems, statusProblem(r.Ref, CheckRouteStatus, field,
					"status missing: no status.parents entry for %s (%s) from controller %s: the controller has not processed this route (not running, not watching its namespace, or not writing status), %s",
					p.Field, p.Gateway.Ref, controller, specSays(p)))
			}
			continue
		}
		m.compareParentStatus(r, meta, p, ps, fmt.Sprintf("status.parents[%d]", j))
	}
}

// acceptingListeners names the listeners that accept a parent.
func acceptingListeners(p *ParentAttachment) string {
	var ls []string
	for _, la := range p.Listeners {
		if la.Accepted {
			ls = append(ls, la.Listener.Name())
		}
	}
	return strings.Join(ls, ", ")
}

// specSays says what the specs make of a parent, for status messages.
func specSays(p *ParentAttachment) string {
	if p.Accepted {
		return "while by the specs it attaches to listener " + acceptingListeners(p)
	}
	if p.Level == Unknown {
		return "and the given objects do not tell whether it attaches"
	}
	return "and by the specs it is refused anyway (" + p.Reason + ")"
}

// findParentStatus finds the status.parents entry (and its index) for parentRef p written by the
// controller of p's Gateway's class.
func findParentStatus(r *RouteState, p *ParentAttachment, status []gwv1.RouteParentStatus) (int, *gwv1.RouteParentStatus) {
	var controller gwv1.GatewayController
	if p.Gateway != nil && p.Gateway.Class != nil {
		controller = p.Gateway.Class.Spec.ControllerName
	}
	for i := range status {
		s := &status[i]
		if controller != "" && s.ControllerName != controller {
			continue
		}
		if sameParent(r.Ref.Namespace, p.Ref, s.ParentRef) {
			return i, s
		}
	}
	return -1, nil
}

// sameParent compares two parentRefs of a route in namespace ns, defaults applied.
func sameParent(ns string, a, b gwv1.ParentReference) bool {
	return deref(a.Group, Group) == deref(b.Group, Group) && deref(a.Kind, KindGateway) == deref(b.Kind, KindGateway) &&
		a.Name == b.Name && deref(a.Namespace, gwv1.Namespace(ns)) == deref(b.Namespace, gwv1.Namespace(ns)) &&
		deref(a.SectionName, "") == deref(b.SectionName, "") && deref(a.Port, 0) == deref(b.Port, 0)
}

// compareParentStatus compares one status.parents entry with the computed attachment.
func (m *Model) compareParentStatus(r *RouteState, meta *metav1.ObjectMeta, p *ParentAttachment, ps *gwv1.RouteParentStatus, field string) {
	controller := string(ps.ControllerName)
	accepted := findCondition(ps.Conditions, string(gwv1.RouteConditionAccepted))
	if accepted == nil {
		r.problems = append(r.problems, statusProblem(r.Ref, CheckRouteStatus, field,
			"status partial: the status.parents entry of controller %s for %s has no Accepted condition, %s", controller, p.Gateway.Ref, specSays(p)))
		return
	}
	if stale(accepted, meta) {
		r.problems = append(r.problems, statusProblem(r.Ref, CheckRouteStatus, field,
			"status stale: controller %s wrote Accepted=%s for %s at generation %d, the route is at generation %d: the controller has not processed its last change",
			controller, accepted.Status, p.Gateway.Ref, accepted.ObservedGeneration, meta.Generation))
		return
	}
	switch {
	case p.Level == Unknown && !p.Accepted:
		// the input cannot tell: nothing to compare
	case accepted.Status == metav1.ConditionTrue && !p.Accepted:
		r.problems = append(r.problems, statusProblem(r.Ref, CheckRouteStatus, field,
			"status contradicts the specs: controller %s accepted the route on %s, but by the specs it is refused (%s): the controller deviates from the specification, so it serves requests the simulation does not expect",
			controller, p.Gateway.Ref, p.Message))
		return
	case accepted.Status != metav1.ConditionTrue && p.Accepted && modelledRouteReasons[accepted.Reason]:
		r.problems = append(r.problems, statusProblem(r.Ref, CheckRouteStatus, field,
			"status contradicts the specs: controller %s says %s (%s) on %s, but by the specs as they are now the route attaches to listener %s: %s",
			controller, accepted.Reason, accepted.Message, p.Gateway.Ref, acceptingListeners(p), staleOrDeviates(p.Gateway)))
		return
	case accepted.Status != metav1.ConditionTrue && p.Accepted:
		r.problems = append(r.problems, statusProblem(r.Ref, CheckRouteStatus, field,
			"status disagrees: controller %s refuses the route on %s for a reason the specs alone do not show (%s: %s): believe the status, the route serves no traffic there",
			controller, p.Gateway.Ref, accepted.Reason, accepted.Message))
		return
	}
	if accepted.Status == metav1.ConditionTrue && p.Accepted {
		m.compareResolvedRefs(r, p, ps, field)
	}
}

// compareResolvedRefs compares the ResolvedRefs condition of an accepted parent with the
// computed backend checks.
func (m *Model) compareResolvedRefs(r *RouteState, p *ParentAttachment, ps *gwv1.RouteParentStatus, field string) {
	controller := string(ps.ControllerName)
	resolved := findCondition(ps.Conditions, string(gwv1.RouteConditionResolvedRefs))
	if resolved == nil {
		r.problems = append(r.problems, statusProblem(r.Ref, CheckRouteStatus, field,
			"status partial: the status.parents entry of controller %s for %s has no ResolvedRefs condition (every implementation must set it)", controller, p.Gateway.Ref))
		return
	}
	var invalid *Problem
	for _, b := range r.Backends {
		for i := range b.Problems {
			if b.Problems[i].Level == Broken && modelledRefReasons[b.Problems[i].Reason] {
				invalid = &b.Problems[i]
				break
			}
		}
		if invalid != nil {
			break
		}
	}
	switch {
	case resolved.Status == metav1.ConditionTrue && invalid != nil:
		r.problems = append(r.problems, statusProblem(r.Ref, CheckRouteStatus, field,
			"status contradicts the specs: controller %s says ResolvedRefs=True on %s, but %s is invalid (%s): the status is stale (the object was deleted since) or the controller deviates from the specification",
			controller, p.Gateway.Ref, invalid.Field, invalid.Message))
	case resolved.Status != metav1.ConditionTrue && invalid == nil && modelledRefReasons[resolved.Reason]:
		r.problems = append(r.problems, statusProblem(r.Ref, CheckRouteStatus, field,
			"status contradicts the specs: controller %s says %s (%s) on %s, but every backendRef resolves by the specs as they are now: the status is stale (the Service or ReferenceGrant was created since and the controller has not noticed) or the controller deviates from the specification",
			controller, resolved.Reason, resolved.Message, p.Gateway.Ref))
	case resolved.Status != metav1.ConditionTrue && invalid == nil:
		r.problems = append(r.problems, statusProblem(r.Ref, CheckRouteStatus, field,
			"status disagrees: controller %s cannot use a backendRef on %s for a reason the specs alone do not show (%s: %s): believe the status",
			controller, p.Gateway.Ref, resolved.Reason, resolved.Message))
	}
}

// staleOrDeviates says which side a refusal the specs do not confirm puts in the wrong: the
// status when the Gateway's own status lags behind the Gateway, else either side.
func staleOrDeviates(g *GatewayState) string {
	gw := g.Gateway
	for _, c := range gw.Status.Conditions {
		if c.ObservedGeneration != 0 && gw.Generation != 0 && c.ObservedGeneration < gw.Generation {
			return fmt.Sprintf("the status is stale: %s changed since (its status is of generation %d, it is at %d)", g.Ref, c.ObservedGeneration, gw.Generation)
		}
	}
	return "the status is stale (a Namespace's labels, a ReferenceGrant or the route changed since the controller wrote it) or the controller deviates from the specification"
}

func findCondition(cs []metav1.Condition, t string) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

// stale reports whether a condition was written for an older generation of the object.
func stale(c *metav1.Condition, meta *metav1.ObjectMeta) bool {
	return c.ObservedGeneration != 0 && meta.Generation != 0 && c.ObservedGeneration < meta.Generation
}

// checkGatewayStatus compares a Gateway's status (its Accepted condition, each listener's entry,
// attachedRoutes and conditions) with the specs.
func (m *Model) checkGatewayStatus(g *GatewayState) {
	gw := g.Gateway
	if g.Class == nil {
		return
	}
	controller := string(g.Class.Spec.ControllerName)
	accepted := findCondition(gw.Status.Conditions, string(gwv1.GatewayConditionAccepted))
	switch {
	case accepted == nil && m.objs.StatusExpected:
		g.problems = append(g.problems, statusProblem(g.Ref, CheckGatewayStatus, "spec.gatewayClassName",
			"status missing: the Gateway has no Accepted condition: controller %s (GatewayClass %s) has not processed it, so nothing serves its listeners (is the controller running?)",
			controller, g.Class.Name))
		return
	case accepted == nil:
		return
	case stale(accepted, &gw.ObjectMeta):
		g.problems = append(g.problems, statusProblem(g.Ref, CheckGatewayStatus, "status.conditions",
			"status stale: controller %s wrote Accepted=%s at generation %d, the Gateway is at generation %d", controller, accepted.Status, accepted.ObservedGeneration, gw.Generation))
		return
	case accepted.Status != metav1.ConditionTrue:
		g.problems = append(g.problems, statusProblem(g.Ref, CheckGatewayStatus, "status.conditions",
			"status disagrees: controller %s does not accept the Gateway (%s: %s): none of its listeners serves traffic, whatever the specs of its routes say",
			controller, accepted.Reason, accepted.Message))
		return
	}
	for _, l := range g.Listeners {
		m.compareListenerStatus(g, l, controller)
	}
}

// compareListenerStatus compares one listener's status entry with the specs.
func (m *Model) compareListenerStatus(g *GatewayState, l *ListenerState, controller string) {
	var ls *gwv1.ListenerStatus
	field := l.Field
	for i := range g.Gateway.Status.Listeners {
		if g.Gateway.Status.Listeners[i].Name == l.Listener.Name {
			ls, field = &g.Gateway.Status.Listeners[i], fmt.Sprintf("status.listeners[%d]", i)
		}
	}
	if ls == nil {
		g.problems = append(g.problems, statusProblem(g.Ref, CheckGatewayStatus, field,
			"status partial: controller %s accepted the Gateway but wrote no status for listener %s", controller, l.Name()))
		return
	}
	conflicted := findCondition(ls.Conditions, string(gwv1.ListenerConditionConflicted))
	switch {
	case conflicted != nil && conflicted.Status == metav1.ConditionTrue && l.Conflicted == "":
		g.problems = append(g.problems, statusProblem(g.Ref, CheckGatewayStatus, field,
			"status disagrees: controller %s reports listener %s Conflicted (%s: %s), which the specs do not show: believe the status, the listener takes no traffic",
			controller, l.Name(), conflicted.Reason, conflicted.Message))
	case l.Conflicted != "" && (conflicted == nil || conflicted.Status != metav1.ConditionTrue):
		g.problems = append(g.problems, statusProblem(g.Ref, CheckGatewayStatus, field,
			"status contradicts the specs: listener %s is Conflicted by the specs (%s) but controller %s does not report it: the controller deviates from the specification",
			l.Name(), l.Conflicted, controller))
	}
	resolved := findCondition(ls.Conditions, string(gwv1.ListenerConditionResolvedRefs))
	certBroken := ""
	for _, p := range l.Problems {
		if (p.Check == CheckCertificateRef || p.Check == CheckCertificateNotAllowed) && p.Level == Broken {
			certBroken = p.Message
			break
		}
	}
	switch {
	case resolved != nil && resolved.Status == metav1.ConditionTrue && certBroken != "":
		g.problems = append(g.problems, statusProblem(g.Ref, CheckGatewayStatus, field,
			"status contradicts the specs: controller %s says listener %s has ResolvedRefs=True, but %s: the status is stale or the controller deviates from the specification",
			controller, l.Name(), certBroken))
	case resolved != nil && resolved.Status != metav1.ConditionTrue && certBroken == "" && l.Conflicted == "":
		g.problems = append(g.problems, statusProblem(g.Ref, CheckGatewayStatus, field,
			"status disagrees: controller %s says listener %s cannot resolve its references (%s: %s), which the specs as they are now do not show: the status is stale (a Secret or ReferenceGrant was created since) or the controller knows more (believe the status)",
			controller, l.Name(), resolved.Reason, resolved.Message))
	}
	if n := len(attachedRoutes(l)); m.routesCountable(l) && int(ls.AttachedRoutes) != n {
		g.problems = append(g.problems, statusProblem(g.Ref, CheckGatewayStatus, field,
			"status disagrees: controller %s counts %d attached routes on listener %s, the specs attach %d (%s): %s",
			controller, ls.AttachedRoutes, l.Name(), n, attachedText(l), attachedWhy(int(ls.AttachedRoutes), n)))
	}
}

// routesCountable reports whether the input holds every route that may attach to l, so that its
// attachedRoutes can be compared: every namespace was read, or the listener admits only routes
// of its own namespace and that namespace was read.
func (m *Model) routesCountable(l *ListenerState) bool {
	if !m.objs.StatusExpected {
		return false
	}
	if m.objs.AllNamespaces {
		return true
	}
	from := gwv1.NamespacesFromSame
	if ar := l.Listener.AllowedRoutes; ar != nil && ar.Namespaces != nil {
		from = deref(ar.Namespaces.From, gwv1.NamespacesFromSame)
	}
	ns := l.Gateway.Gateway.Namespace
	return from == gwv1.NamespacesFromSame && m.complete(KindHTTPRoute, ns) && m.complete(KindGRPCRoute, ns)
}

// attachedRoutes are the distinct routes attached to l (a route counts once however many of its
// parentRefs select the listener).
func attachedRoutes(l *ListenerState) []*RouteState {
	var out []*RouteState
	seen := map[*RouteState]bool{}
	for _, a := range l.Attached {
		if r := a.Parent.Route; !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

func attachedText(l *ListenerState) string {
	rs := attachedRoutes(l)
	if len(rs) == 0 {
		return "none"
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Ref.String()
	}
	return strings.Join(names, ", ")
}

func attachedWhy(status, spec int) string {
	if status < spec {
		return "the controller refuses some route the specs accept (see their status.parents), or its count is stale"
	}
	return "the controller counts routes the specs refuse, or its count is stale"
}
