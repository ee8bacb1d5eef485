package ingress

// httproute/NAME and gateway/NAME: every rule of an HTTPRoute, every listener of a Gateway and
// every rule of the HTTPRoutes attached to it.

import (
	"fmt"
	"sort"
	"strings"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/gateway"
)

// targetNamespace is the namespace of an object target: its own, -n, or the snapshot's default.
func (c *checker) targetNamespace(t Target) string {
	switch {
	case t.Namespace != "":
		return t.Namespace
	case c.opts.Namespace != "":
		return c.opts.Namespace
	}
	return c.snap.DefaultNamespace
}

// checkHTTPRoute checks every rule of httproute/NAME.
func (c *checker) checkHTTPRoute(t Target) error {
	ns := c.targetNamespace(t)
	var r *gateway.RouteState
	if c.opts.Gateway != nil {
		r = c.opts.Gateway.Route(gateway.KindHTTPRoute, ns, t.HTTPRoute)
	}
	if r == nil {
		return c.gatewayNotFound("httproute", ns, t.HTTPRoute)
	}
	c.routeRules(r)
	return nil
}

// routeRules adds a check of every rule of r, each with the route's attachment problems (a route
// attached to no listener serves nothing) and the matches of the rule that never win.
func (c *checker) routeRules(r *gateway.RouteState) {
	var routeProblems, routeWarnings []string
	attached := false
	for _, p := range r.Parents {
		switch {
		case p.Accepted:
			attached = true
		case p.NotModelled != "":
			routeWarnings = append(routeWarnings, p.NotModelled)
		case p.Level == gateway.Broken:
			routeProblems = append(routeProblems, p.Field+": "+p.Message)
		default:
			routeWarnings = append(routeWarnings, p.Field+": "+p.Message)
		}
	}
	if !attached && len(routeProblems) > 0 {
		routeProblems = append(routeProblems, "the route is attached to no listener: it serves no request")
	} else if attached {
		routeWarnings = append(routeWarnings, routeProblems...) // another parent serves it
		routeProblems = nil
	}
	for _, p := range r.Problems() {
		if p.Check == gateway.CheckRouteStatus {
			routeWarnings = append(routeWarnings, p.Message)
		}
	}
	for i := range r.HTTP.Spec.Rules {
		rc := c.gatewayRouteCheck(r, i, nil)
		rc.Problems = append(append([]string{}, routeProblems...), rc.Problems...)
		rc.Warnings = append(rc.Warnings, routeWarnings...)
		for _, s := range r.Shadowed {
			if s.Rule == i {
				rc.Warnings = append(rc.Warnings, fmt.Sprintf("%s (%s) never receives a request: %s", s.Field, s.Description, s.Tie))
			}
		}
		c.rep.GatewayRoutes = append(c.rep.GatewayRoutes, rc)
	}
}

// checkGateway checks every listener of gateway/NAME and every rule of the HTTPRoutes attached.
func (c *checker) checkGateway(t Target) error {
	ns := c.targetNamespace(t)
	var g *gateway.GatewayState
	if c.opts.Gateway != nil {
		g = c.opts.Gateway.Gateway(ns, t.Gateway)
	}
	if g == nil {
		return c.gatewayNotFound("gateway", ns, t.Gateway)
	}
	c.show(gateway.KindGateway, ns, t.Gateway)
	// the Gateway's own problems (not those of one listener): a broken one breaks every listener
	inListener := map[string]bool{}
	for _, l := range g.Listeners {
		for _, p := range l.Problems {
			inListener[p.Field+"\x00"+p.Message] = true
		}
	}
	var gwProblems []string
	statusOf := map[string][]string{} // listener name -> status warnings
	for _, p := range g.Problems() {
		switch {
		case inListener[p.Field+"\x00"+p.Message]:
		case p.Level == gateway.Broken:
			gwProblems = append(gwProblems, p.Message)
		case p.Check == gateway.CheckGatewayStatus && listenerNamed(g, p.Message) != "":
			n := listenerNamed(g, p.Message)
			statusOf[n] = append(statusOf[n], p.Message)
		default:
			c.rep.Notes = append(c.rep.Notes, fmt.Sprintf("%s: %s", g.Ref, p.Message))
		}
	}
	var routes []*gateway.RouteState
	seen := map[*gateway.RouteState]bool{}
	for _, l := range g.Listeners {
		lc := report.ListenerCheck{Gateway: objRef(g.Ref), Name: l.Name(), Port: l.Listener.Port, Protocol: string(l.Listener.Protocol), Hostname: l.Hostname()}
		lc.Problems = append(lc.Problems, gwProblems...)
		for _, p := range l.Problems {
			if p.Level == gateway.Broken {
				lc.Problems = append(lc.Problems, p.Message)
			} else {
				lc.Warnings = append(lc.Warnings, p.Message)
			}
		}
		lc.Warnings = append(lc.Warnings, statusOf[l.Name()]...)
		for _, a := range l.Attached {
			r := a.Parent.Route
			lc.Routes = append(lc.Routes, r.Ref.String())
			if r.HTTP != nil && !seen[r] {
				seen[r] = true
				routes = append(routes, r)
			}
		}
		if l.Listener.TLS != nil && len(l.Listener.TLS.CertificateRefs) > 0 {
			rc := report.GatewayRouteCheck{}
			host := l.Hostname()
			if host == "" {
				host = "(any host)"
			}
			c.gatewayTLS(&rc, l, host)
			lc.TLS = rc.TLS
		}
		c.rep.Listeners = append(c.rep.Listeners, lc)
	}
	sort.SliceStable(routes, func(i, j int) bool { return routes[i].Ref.String() < routes[j].Ref.String() })
	for _, r := range routes {
		c.routeRules(r)
	}
	return nil
}

// listenerNamed returns the name of the listener of g a message is about ("listener NAME"), "".
func listenerNamed(g *gateway.GatewayState, msg string) string {
	for _, l := range g.Listeners {
		if strings.Contains(msg, "listener "+l.Name()+" ") || strings.HasSuffix(msg, "listener "+l.Name()) {
			return l.Name()
		}
	}
	return ""
}

// gatewayNotFound is the error for httproute/NAME or gateway/NAME that does not exist.
func (c *checker) gatewayNotFound(kind, ns, name string) error {
	var names []string
	if m := c.opts.Gateway; m != nil {
		if kind == "gateway" {
			for _, g := range m.Gateways() {
				if g.Ref.Namespace == ns {
					names = append(names, g.Ref.Name)
				}
			}
		} else {
			for _, r := range m.Routes() {
				if r.HTTP != nil && r.Ref.Namespace == ns {
					names = append(names, r.Ref.Name)
				}
			}
		}
	}
	sort.Strings(names)
	have := "it has none"
	if len(names) > 0 {
		have = "it has " + strings.Join(names, ", ")
	}
	return fmt.Errorf("%s %s not found in namespace %s (%s): pass -n NAMESPACE or %s/NAMESPACE/NAME", kind, name, ns, have, kind)
}

// objectVerdict is the verdict of httproute/NAME and gateway/NAME.
func (c *checker) objectVerdict() {
	v := &c.rep.Verdict
	seen := map[string]bool{}
	add := func(ps []string) {
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				v.Problems = append(v.Problems, p)
			}
		}
	}
	brokenL, brokenR := 0, 0
	for _, l := range c.rep.Listeners {
		add(l.Problems)
		if !l.OK() {
			brokenL++
		}
	}
	for _, r := range c.rep.GatewayRoutes {
		add(r.Problems)
		if !r.OK() {
			brokenR++
		}
	}
	var parts []string
	if n := len(c.rep.Listeners); n > 0 {
		parts = append(parts, countText(brokenL, n, "listener", "listeners"))
	}
	parts = append(parts, countText(brokenR, len(c.rep.GatewayRoutes), "route rule", "route rules"))
	summary := strings.Join(parts, "; ")
	if len(v.Problems) == 0 {
		v.Kind, v.Message = report.VerdictHealthy, summary
	} else {
		v.Kind, v.RootCause = report.VerdictFault, summary
	}
}

func countText(broken, n int, one, many string) string {
	switch {
	case n == 0:
		return "no " + many
	case broken == 0:
		return fmt.Sprintf("all %d %s OK", n, plural(n, one+" is", many+" are"))
	}
	return fmt.Sprintf("%d of %d %s broken", broken, n, plural(n, one+" is", many+" are"))
}
