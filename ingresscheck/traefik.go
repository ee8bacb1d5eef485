package ingresscheck

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/svc-doctor/svc-doctor/internal/ingressroute"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// Traefik's Kubernetes Ingress provider (v3) does not implement the Ingress precedence: it turns
// every path into a router whose rule is Host(...) && PathPrefix(...) (Path(...) for Exact) and
// orders the routers by the length of that rule, unless an annotation sets a priority. PathPrefix
// compares characters, so /foo also matches /foobar (unless strictPrefixMatching is on). Routes
// whose Service, port or endpoints are missing are left out altogether. traefikPick models this so
// that svc-doctor says where Traefik really sends a request.

const (
	traefikController       = "traefik.io/ingress-controller"
	traefikPriority         = "traefik.ingress.kubernetes.io/router.priority"
	traefikPathMatcher      = "traefik.ingress.kubernetes.io/router.pathmatcher"
	traefikStrictPrefixFlag = "--providers.kubernetesingress.strictprefixmatching"
)

// traefikRoute is a route as a Traefik router.
type traefikRoute struct {
	route    ingressroute.Route
	rule     string
	priority int
	matches  func(host, path string) bool
}

// traefikRouter builds Traefik's router for a route of ing.
func traefikRouter(ing *snapshot.Ingress, r ingressroute.Route, strict bool) traefikRoute {
	raw := ""
	if r.RuleIndex < len(ing.Spec.Rules) && ing.Spec.Rules[r.RuleIndex].HTTP != nil && r.PathIndex < len(ing.Spec.Rules[r.RuleIndex].HTTP.Paths) {
		raw = ing.Spec.Rules[r.RuleIndex].HTTP.Paths[r.PathIndex].Path
	}
	var parts []string
	hostOK := func(string) bool { return true }
	if r.Host != "" {
		if strings.HasPrefix(r.Host, "*.") {
			re := strings.Replace(regexp.QuoteMeta(r.Host), `\*\.`, `[a-zA-Z0-9-]+\.`, 1)
			parts = append(parts, fmt.Sprintf("HostRegexp(%q)", "^"+re+"$"))
			rx, err := regexp.Compile("^" + re + "$")
			hostOK = func(h string) bool { return err == nil && rx.MatchString(h) }
		} else {
			parts = append(parts, fmt.Sprintf("Host(%q)", r.Host))
			hostOK = func(h string) bool { return h == r.Host }
		}
	}
	pathOK := func(string) bool { return true }
	if raw != "" {
		matcher := "PathPrefix"
		switch r.PathType {
		case networkingv1.PathTypeExact:
			matcher = "Path"
		case networkingv1.PathTypeImplementationSpecific:
			if m := ing.Annotations[traefikPathMatcher]; m != "" {
				matcher = m
			}
		}
		switch {
		case strict && matcher == "PathPrefix" && raw != "/":
			p := strings.TrimSuffix(raw, "/")
			parts = append(parts, fmt.Sprintf("(Path(%q) || PathPrefix(%q))", p, p+"/"))
			pathOK = func(q string) bool { return q == p || strings.HasPrefix(q, p+"/") }
		case matcher == "Path":
			parts = append(parts, fmt.Sprintf("Path(%q)", raw))
			pathOK = func(q string) bool { return q == raw }
		default:
			parts = append(parts, fmt.Sprintf("%s(%q)", matcher, raw))
			pathOK = func(q string) bool { return strings.HasPrefix(q, raw) }
		}
	}
	tr := traefikRoute{route: r, rule: strings.Join(parts, " && ")}
	tr.priority = len(tr.rule)
	if p, err := strconv.Atoi(ing.Annotations[traefikPriority]); err == nil && p != 0 {
		tr.priority = p
	}
	tr.matches = func(host, path string) bool {
		if path == "" {
			path = "/"
		}
		return hostOK(ingressroute.NormalizeHost(host)) && pathOK(path)
	}
	return tr
}

// traefikPick returns the route Traefik serves host and path with among routes (those of one
// class), leaving out the routes usable says are broken; ok is false when none matches (404).
// tie is set when another route has the same priority (Traefik's order is then undefined).
func (c *checker) traefikPick(routes []ingressroute.Route, host, path string, strict bool, usable func(ingressroute.Route) bool) (best traefikRoute, ok, tie bool) {
	for _, r := range routes {
		ing := c.ingressOf(r)
		if ing == nil {
			continue
		}
		tr := traefikRouter(ing, r, strict)
		if !tr.matches(host, path) || !usable(r) {
			continue
		}
		switch {
		case !ok || tr.priority > best.priority:
			best, ok, tie = tr, true, false
		case tr.priority == best.priority:
			tie = true
		}
	}
	return best, ok, tie
}
