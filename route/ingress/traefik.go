package ingress

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/svc-doctor/svc-doctor/snapshot"
)

// Traefik's Kubernetes Ingress provider (v3) does not implement the Ingress precedence: it turns
// every path into a router whose rule is Host(...) && PathPrefix(...) (Path(...) for Exact) and
// orders the routers by the length of that rule, unless an annotation sets a priority. PathPrefix
// compares characters, so /foo also matches /foobar (unless strictPrefixMatching is on). Routes
// whose Service, port or endpoints are missing are left out altogether. traefikPick models this so
// that svc-doctor says where Traefik really sends a request.

// TraefikController is the spec.controller of Traefik's IngressClass.
const TraefikController = "traefik.io/ingress-controller"

const (
	traefikPriority         = "traefik.ingress.kubernetes.io/router.priority"
	traefikPathMatcher      = "traefik.ingress.kubernetes.io/router.pathmatcher"
	traefikStrictPrefixFlag = "--providers.kubernetesingress.strictprefixmatching"
)

// traefikRoute is a route as a Traefik router.
type traefikRoute struct {
	route    Route
	rule     string
	priority int
	matches  func(host, path string) bool
}

// traefikRouter builds Traefik's router for a route of ing, with the rule string Traefik v3.6's
// Kubernetes Ingress provider writes (its default priority is the rule's length):
//   - the host between backticks: Host(`shop.example.com`), or for a wildcard
//     HostRegexp(`^[a-zA-Z0-9-]+\.example\.com$`) (regexp.QuoteMeta'd, one backslash per dot);
//   - the path as a Go-quoted string (strconv.Quote): PathPrefix("/api"), Path("/api") for Exact,
//     the router.pathmatcher annotation's matcher for ImplementationSpecific, and with
//     strictPrefixMatching (Path("/api") || PathPrefix("/api/")) for a prefix other than "/".
//     Traefik quotes paths so since v3.6.11 (traefik/traefik#12808); before, it put them between
//     backticks, which gives the same length unless the path holds a double quote or a backslash;
//   - " && " between the two; no path matcher for an empty path, no host matcher for any host.
func traefikRouter(ing *snapshot.Ingress, r Route, strict bool) traefikRoute {
	rawHost, rawPath := r.Host, ""
	if r.RuleIndex < len(ing.Spec.Rules) {
		rule := ing.Spec.Rules[r.RuleIndex]
		rawHost = rule.Host
		if rule.HTTP != nil && r.PathIndex < len(rule.HTTP.Paths) {
			rawPath = rule.HTTP.Paths[r.PathIndex].Path
		}
	}
	var parts []string
	hostOK := func(string) bool { return true }
	if rawHost != "" {
		if strings.HasPrefix(rawHost, "*.") {
			re := "^" + strings.Replace(regexp.QuoteMeta(rawHost), `\*\.`, `[a-zA-Z0-9-]+\.`, 1) + "$"
			parts = append(parts, "HostRegexp(`"+re+"`)")
			rx, err := regexp.Compile(re)
			hostOK = func(h string) bool { return err == nil && rx.MatchString(h) }
		} else {
			parts = append(parts, "Host(`"+rawHost+"`)")
			host := NormalizeHost(rawHost)
			hostOK = func(h string) bool { return h == host }
		}
	}
	pathOK := func(string) bool { return true }
	if rawPath != "" {
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
		case strict && matcher == "PathPrefix" && rawPath != "/":
			p := strings.TrimSuffix(rawPath, "/")
			parts = append(parts, fmt.Sprintf("(Path(%s) || PathPrefix(%s))", strconv.Quote(p), strconv.Quote(p+"/")))
			pathOK = func(q string) bool { return q == p || strings.HasPrefix(q, p+"/") }
		case matcher == "Path":
			parts = append(parts, "Path("+strconv.Quote(rawPath)+")")
			pathOK = func(q string) bool { return q == rawPath }
		default:
			parts = append(parts, matcher+"("+strconv.Quote(rawPath)+")")
			pathOK = func(q string) bool { return strings.HasPrefix(q, rawPath) }
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
		return hostOK(NormalizeHost(host)) && pathOK(path)
	}
	return tr
}

// traefikPick returns the route Traefik serves host and path with among routes (those of one
// class), leaving out the routes usable says are broken; ok is false when none matches (404).
// tie is set when another route has the same priority (Traefik's order is then undefined).
func (c *checker) traefikPick(routes []Route, host, path string, strict bool, usable func(Route) bool) (best traefikRoute, ok, tie bool) {
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
