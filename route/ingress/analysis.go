package ingress

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// String names a route for messages: "shop.example.com Prefix /api (ingress shop/web)".
func (r Route) String() string {
	return fmt.Sprintf("%s %s %s (ingress %s/%s)", describeHost(r.Host), r.PathType, r.Path, r.Namespace, r.Ingress)
}

// Field is the route's field path in its Ingress: spec.rules[i].http.paths[j].
func (r Route) Field() string {
	return fmt.Sprintf("spec.rules[%d].http.paths[%d]", r.RuleIndex, r.PathIndex)
}

// Same reports whether a and b are the same path of the same Ingress.
func (r Route) Same(o Route) bool {
	return r.Namespace == o.Namespace && r.Ingress == o.Ingress && r.RuleIndex == o.RuleIndex && r.PathIndex == o.PathIndex
}

// ControllerDefined reports whether the route's matching is up to the controller:
// ImplementationSpecific paths (svc-doctor matches them as prefixes, which is what controllers do
// for literal paths; a path that looks like a regular expression may match quite differently).
func (r Route) ControllerDefined() bool {
	return r.PathType == networkingv1.PathTypeImplementationSpecific
}

// LooksLikeRegex reports whether a path holds regular-expression syntax, which only
// ImplementationSpecific paths of some controllers interpret.
func LooksLikeRegex(path string) bool {
	return strings.ContainsAny(path, "*()[]$^+?|{}\\")
}

// Winner returns the route that serves host and path, and whether any route matches.
func Winner(routes []Route, host, path string) (Candidate, bool) {
	c := Match(routes, host, path)
	if len(c) == 0 {
		return Candidate{}, false
	}
	return c[0], true
}

// Request is a concrete request (host and path) that a route matches.
type Request struct {
	Host, Path string
}

// Representative returns a request that r matches and that no other route of routes matches
// more specifically unless it matches every request r matches: r's own host (for a wildcard, a
// made-up label under it; for any host, a made-up host no rule names) and, for prefix paths, a
// made-up element under r's path. If r loses this request, it loses every request it matches.
func Representative(r Route, routes []Route) Request {
	return newIndex(routes).representative(r)
}

func (ix *index) representative(r Route) Request {
	host := NormalizeHost(r.Host)
	switch hostRank(host) {
	case 1:
		suffix := host[1:]
		host = ix.unusedLabel(func(l string) string { return l + suffix })
	case 0:
		host = ix.unusedLabel(func(l string) string { return l + ".svc-doctor.invalid" })
	}
	if r.PathType == networkingv1.PathTypeExact {
		return Request{Host: host, Path: r.Path}
	}
	if ix.usedElems == nil {
		ix.usedElems = map[string]bool{}
		for _, es := range ix.elems {
			for _, e := range es {
				ix.usedElems[e] = true
			}
		}
	}
	elem := "svc-doctor-probe"
	for i := 2; ix.usedElems[elem]; i++ {
		elem = fmt.Sprintf("svc-doctor-probe-%d", i)
	}
	base := "/" + strings.Join(elements(r.Path), "/")
	if base != "/" {
		base += "/"
	}
	return Request{Host: host, Path: base + elem}
}

// unusedLabel returns mk(label) for the first label such that no rule names the result as its host.
func (ix *index) unusedLabel(mk func(string) string) string {
	if ix.hostSet == nil {
		ix.hostSet = make(map[string]bool, len(ix.hosts))
		for _, h := range ix.hosts {
			ix.hostSet[h] = true
		}
	}
	for i := 1; ; i++ {
		label := "svc-doctor-probe"
		if i > 1 {
			label = fmt.Sprintf("svc-doctor-probe-%d", i)
		}
		if h := mk(label); !ix.hostSet[h] {
			return h
		}
	}
}

// Shadow is a route that never serves a request: every request it matches is served by By.
type Shadow struct {
	Route Route
	By    Route
	// Reason says why By wins.
	Reason string
	// Duplicate is true when both routes have the same Key (same host, path type and path).
	Duplicate bool
}

// NeverWins returns the routes that can never serve a request because another route matches
// every request they match and takes precedence, in the order of routes. Routes of different
// classes never compete (their Class differs) and are analysed separately.
func NeverWins(routes []Route) []Shadow {
	var out []Shadow
	byClass := indexByClass(routes)
	for _, r := range routes {
		same := byClass[r.Class]
		req := same.representative(r)
		cands := same.match(req.Host, req.Path)
		if len(cands) == 0 {
			continue
		}
		w := cands[0]
		if w.Same(r) {
			continue
		}
		out = append(out, Shadow{Route: r, By: w.Route, Reason: lossReason(w.Route, r), Duplicate: w.Key() == r.Key()})
	}
	return out
}

func indexByClass(routes []Route) map[string]*index {
	group := map[string][]Route{}
	for _, r := range routes {
		group[r.Class] = append(group[r.Class], r)
	}
	out := make(map[string]*index, len(group))
	for c, rs := range group {
		out[c] = newIndex(rs)
	}
	return out
}

// HostShadow is a route for any host (or a wildcard) that a host-specific route overrides for one
// host although the host-specific route's path is less specific: requests for Host to Path go to
// By, whose host is more specific, not to Route, whose path is longer.
type HostShadow struct {
	Route Route
	By    Route
	Host  string
	Path  string
}

// HostShadows finds the surprising consequence of host precedence: a rule for all hosts with the
// path /api loses, for a host that has rules of its own, to that host's rule for /. Controllers
// that build one server per host (ingress-nginx) behave so; svc-doctor reports it so that nobody
// expects /api of that host to reach the any-host backend. Results are in the order of routes,
// then of the hosts' first rule.
//
// It is computed over the routes of each host only: a route for any host is compared with the
// routes of every more specific host, a wildcard with those of the hosts under it, so the work
// grows with the number of (route, covered host) pairs, not with the square of all routes.
func HostShadows(routes []Route) []HostShadow {
	var out []HostShadow
	byClass := indexByClass(routes)
	for _, r := range routes {
		rank := hostRank(r.Host)
		if rank == 2 {
			continue
		}
		same := byClass[r.Class]
		same.buildHostBuckets()
		hosts := same.specificHosts // any host: every wildcard and exact host
		if rank == 1 {
			hosts = same.hostsUnder[NormalizeHost(r.Host)] // a wildcard: the exact hosts it covers
		}
		if len(hosts) == 0 {
			continue
		}
		req := same.representative(r)
		reqElems := elements(req.Path)
		rLen := matchLen(r)
		for _, h := range hosts {
			w, ok := same.hostWinner(h, req.Path, reqElems)
			if !ok || same.lens[w] >= rLen {
				continue
			}
			out = append(out, HostShadow{Route: r, By: same.routes[w], Host: same.rawHost[h], Path: r.Path})
		}
	}
	return out
}

// buildHostBuckets fills specificHosts, hostsUnder and rawHost on first use.
func (ix *index) buildHostBuckets() {
	if ix.rawHost != nil {
		return
	}
	ix.rawHost = map[string]string{}
	ix.hostsUnder = map[string][]string{}
	for i, h := range ix.hosts {
		if ix.ranks[i] == 0 {
			continue
		}
		if _, seen := ix.rawHost[h]; seen {
			continue
		}
		ix.rawHost[h] = ix.routes[i].Host
		ix.specificHosts = append(ix.specificHosts, h)
		if ix.ranks[i] == 2 {
			if d := strings.IndexByte(h, '.'); d > 0 {
				parent := "*" + h[d:]
				ix.hostsUnder[parent] = append(ix.hostsUnder[parent], h)
			}
		}
	}
}

// hostWinner returns the route of rule host h (normalized) that serves path for the request host
// concreteHost(h), if that route's host is h: none when no route of h matches the path, or when an
// exact host rule for the made-up host of a wildcard does (it is more specific).
func (ix *index) hostWinner(h, path string, reqElems []string) (int, bool) {
	if strings.HasPrefix(h, "*.") {
		for _, i := range ix.byHost[concreteHost(h)] {
			if ix.pathMatch(i, path, reqElems) {
				return 0, false
			}
		}
	}
	best, ok := 0, false
	for _, i := range ix.byHost[h] {
		if ix.pathMatch(i, path, reqElems) && (!ok || ix.better(i, best)) {
			best, ok = i, true
		}
	}
	return best, ok
}

// pathMatch reports whether route i matches the request path (reqElems are its elements).
func (ix *index) pathMatch(i int, path string, reqElems []string) bool {
	if ix.routes[i].PathType == networkingv1.PathTypeExact {
		return ix.routes[i].Path == path
	}
	return elementPrefix(ix.elems[i], reqElems)
}

// concreteHost turns a rule host into a request host it matches.
func concreteHost(h string) string {
	h = NormalizeHost(h)
	if strings.HasPrefix(h, "*.") {
		return "svc-doctor-probe" + h[1:]
	}
	return h
}
