package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/ingress"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// Cross-Ingress rules written for ingresscheck: they compare the routes and TLS entries of all
// Ingresses of a class, as the controller serving the class sees them together.

var ruleIngressHostWithoutTLS = &Rule{
	ID: "ingress-host-without-tls", Severity: report.Warning, Category: CatIngress,
	Summary:     "host served without TLS while other hosts of the same IngressClass have it",
	Remediation: "Add the host to a spec.tls entry with a certificate that covers it (or move it to a class meant for plain HTTP).",
	Docs: "When some hosts of a class are served over HTTPS, a host that no `spec.tls` entry of that class covers is " +
		"usually an oversight: HTTPS requests for it get the controller's default (self-signed) certificate and clients " +
		"refuse the connection, while plain HTTP works and hides the problem. Every `spec.tls[].hosts` entry of every " +
		"Ingress of the class counts (a wildcard entry covers one DNS label); an entry without hosts covers the hosts " +
		"of its own Ingress.",
	Check: func(p *Pass) {
		type tlsHost struct{ host, where string }
		covered := map[string][]tlsHost{} // class -> TLS hosts
		for _, ing := range p.Snap.Ingresses {
			class := semantics.EffectiveClass(p.Snap, ing)
			for _, t := range ing.Spec.TLS {
				hosts := t.Hosts
				if len(hosts) == 0 {
					for _, r := range ing.Spec.Rules {
						hosts = append(hosts, r.Host)
					}
				}
				for _, h := range hosts {
					if h != "" {
						covered[class] = append(covered[class], tlsHost{strings.ToLower(h), ing.Namespace + "/" + ing.Name})
					}
				}
			}
		}
		for _, ing := range p.Snap.Ingresses {
			class := semantics.EffectiveClass(p.Snap, ing)
			tls := covered[class]
			if len(tls) == 0 {
				continue
			}
			seen := map[string]bool{}
			for ri, r := range ing.Spec.Rules {
				h := strings.ToLower(r.Host)
				if h == "" || seen[h] || tlsCovers(tls, h, func(t tlsHost) string { return t.host }) {
					continue
				}
				seen[h] = true
				var others []string
				for _, t := range tls {
					if !contains(others, t.host) {
						others = append(others, t.host)
					}
				}
				sort.Strings(others)
				if len(others) > 3 {
					others = append(others[:3], "...")
				}
				p.Report(ing.Src, fmt.Sprintf("spec.rules[%d].host", ri), "host %s has no TLS entry in any Ingress of class %s, while %s %s: HTTPS requests for it get the controller's default certificate",
					r.Host, classOrNone(class), strings.Join(others, ", "), plural(len(others), "has one", "have one"))
			}
		}
	},
}

// tlsCovers reports whether one of the TLS hosts covers h (equal, or a wildcard for one label).
func tlsCovers[T any](tls []T, h string, host func(T) string) bool {
	for _, t := range tls {
		th := host(t)
		if th == h || (strings.HasPrefix(th, "*.") && !strings.HasPrefix(h, "*.") && ingress.HostMatches(th, h)) {
			return true
		}
	}
	return false
}

func classOrNone(c string) string {
	if c == "" {
		return "(none)"
	}
	return c
}

var ruleIngressRouteShadowed = &Rule{
	ID: "ingress-route-shadowed", Severity: report.Warning, Category: CatIngress,
	Summary:     "route that never serves a request: another route of the class matches everything it matches first",
	Remediation: "Remove the dead route, or make the two routes differ (path, pathType or host) so that each serves something.",
	Docs: "A route is dead when every request it matches is taken by another route of the same class: the other route " +
		"has a more specific host, a longer path, or ties with it and wins the tie. The plain duplicate (same host, " +
		"pathType and path) is reported by `ingress-route-conflict`; this rule finds the others, most often an " +
		"`ImplementationSpecific` path next to a `Prefix` path with the same value (controllers that treat the former as a " +
		"prefix see two identical routes). svc-doctor simulates ImplementationSpecific paths as prefixes.",
	Check: func(p *Pass) {
		var routes []ingress.Route
		srcs := map[string]*snapshot.Ingress{}
		for _, ing := range p.Snap.Ingresses {
			srcs[ing.Namespace+"/"+ing.Name] = ing
			routes = append(routes, ingress.Routes(ing.Ingress, semantics.EffectiveClass(p.Snap, ing))...)
		}
		implicit := func(r ingress.Route) bool {
			ing := srcs[r.Namespace+"/"+r.Ingress]
			return ing.Legacy || ing.Spec.Rules[r.RuleIndex].HTTP.Paths[r.PathIndex].PathType == nil
		}
		for _, s := range ingress.NeverWins(routes) {
			if s.Duplicate || implicit(s.Route) || implicit(s.By) {
				continue // duplicates: ingress-route-conflict; no pathType: ingress-path-type-missing
			}
			ing := srcs[s.Route.Namespace+"/"+s.Route.Ingress]
			by := fmt.Sprintf("ingress/%s/%s (%s)", s.By.Namespace, s.By.Ingress, s.By.Field())
			if s.By.Namespace == s.Route.Namespace && s.By.Ingress == s.Route.Ingress {
				by = s.By.Field() + " of this Ingress"
			}
			host := s.Route.Host
			if host == "" {
				host = "(any host)"
			}
			p.Report(ing.Src, s.Route.Field(), "%s %s %s never serves a request: %s %s %s takes all of them (%s)",
				host, s.Route.PathType, s.Route.Path, by, s.By.PathType, s.By.Path, s.Reason)
		}
	},
}
