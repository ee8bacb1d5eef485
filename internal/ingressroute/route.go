// Package ingressroute implements the Ingress specification's request matching: host rules
// (exact, wildcard covering exactly one DNS label, or any host), path types (Exact, Prefix by whole
// path elements, ImplementationSpecific) and precedence (longest path first, then Exact over
// Prefix). Lint uses it to find duplicate and shadowed routes, ingresscheck to explain which
// backend serves a URL.
package ingressroute

import (
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// Route is one path of one rule of one Ingress.
type Route struct {
	Namespace, Ingress string
	Class              string // effective class, "" when unknown
	RuleIndex          int
	PathIndex          int
	Host               string // "" matches any host
	Path               string
	PathType           networkingv1.PathType
	Backend            networkingv1.IngressBackend
	// Created orders Ingresses for controllers that let the oldest win a tie (RFC 3339).
	Created string
}

// Routes expands an Ingress into its routes. A path without pathType is treated as
// ImplementationSpecific (what removed API versions defaulted to).
func Routes(ing *networkingv1.Ingress, class string) []Route {
	var out []Route
	created := ""
	if !ing.CreationTimestamp.IsZero() {
		created = ing.CreationTimestamp.UTC().Format("2006-01-02T15:04:05Z")
	}
	for ri, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for pi, p := range r.HTTP.Paths {
			pt := networkingv1.PathTypeImplementationSpecific
			if p.PathType != nil {
				pt = *p.PathType
			}
			path := p.Path
			if path == "" {
				path = "/"
			}
			out = append(out, Route{Namespace: ing.Namespace, Ingress: ing.Name, Class: class, RuleIndex: ri, PathIndex: pi,
				Host: strings.ToLower(r.Host), Path: path, PathType: pt, Backend: p.Backend, Created: created})
		}
	}
	return out
}

// HostMatches reports whether a rule host matches a request host: "" matches every host, a
// wildcard "*.foo.com" matches exactly one extra leading label (bar.foo.com, not foo.com nor
// baz.bar.foo.com), anything else must be equal (case-insensitive). A port in the request host
// is ignored.
func HostMatches(ruleHost, reqHost string) bool {
	reqHost = strings.ToLower(stripPort(reqHost))
	ruleHost = strings.ToLower(ruleHost)
	switch {
	case ruleHost == "":
		return true
	case strings.HasPrefix(ruleHost, "*."):
		suffix := ruleHost[1:] // ".foo.com"
		if !strings.HasSuffix(reqHost, suffix) {
			return false
		}
		label := strings.TrimSuffix(reqHost, suffix)
		return label != "" && !strings.Contains(label, ".")
	default:
		return ruleHost == reqHost
	}
}

func stripPort(h string) string {
	if strings.HasPrefix(h, "[") { // [v6]:port
		if i := strings.Index(h, "]"); i >= 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		return h[:i]
	}
	return h
}

// hostRank orders host matches: exact before wildcard before any-host.
func hostRank(ruleHost string) int {
	switch {
	case ruleHost == "":
		return 0
	case strings.HasPrefix(ruleHost, "*."):
		return 1
	}
	return 2
}

// PathMatches reports whether a route path of the given type matches a request path. Prefix
// matching compares whole path elements split by "/" and ignores a trailing slash, as the
// Ingress specification requires: /foo matches /foo, /foo/ and /foo/bar, not /foobar.
// ImplementationSpecific is matched like Prefix, which most controllers do for literal paths.
func PathMatches(pt networkingv1.PathType, routePath, reqPath string) bool {
	if reqPath == "" {
		reqPath = "/"
	}
	switch pt {
	case networkingv1.PathTypeExact:
		return routePath == reqPath
	default:
		rp := elements(routePath)
		qp := elements(reqPath)
		if len(rp) > len(qp) {
			return false
		}
		for i := range rp {
			if rp[i] != qp[i] {
				return false
			}
		}
		return true
	}
}

func elements(p string) []string {
	var out []string
	for _, e := range strings.Split(p, "/") {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}

// Key identifies what a route matches: two routes with the same key match exactly the same
// requests. Prefix paths ignore a trailing slash; ImplementationSpecific paths are kept verbatim.
func (r Route) Key() string {
	path := r.Path
	if r.PathType == networkingv1.PathTypePrefix {
		path = "/" + strings.Join(elements(path), "/")
	}
	return r.Class + "\x00" + r.Host + "\x00" + string(r.PathType) + "\x00" + path
}

// Candidate is a route that matches a request, with why it ranks where it does.
type Candidate struct {
	Route
	// Reason explains why this candidate lost to the winner ("" for the winner).
	Reason string
}

// Match returns the routes matching host and path, best first. The first element wins. A tie
// between equally specific routes of different Ingresses is decided by the oldest Ingress, then by
// namespace/name (what ingress-nginx and Traefik do for literal paths); ties are marked in Reason.
func Match(routes []Route, host, path string) []Candidate {
	var cands []Candidate
	for _, r := range routes {
		if HostMatches(r.Host, host) && PathMatches(r.PathType, r.Path, path) {
			cands = append(cands, Candidate{Route: r})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return better(cands[i].Route, cands[j].Route) })
	for i := 1; i < len(cands); i++ {
		cands[i].Reason = lossReason(cands[0].Route, cands[i].Route)
	}
	return cands
}

// better reports whether a takes precedence over b for a request both match.
func better(a, b Route) bool {
	if ha, hb := hostRank(a.Host), hostRank(b.Host); ha != hb {
		return ha > hb
	}
	if la, lb := matchLen(a), matchLen(b); la != lb {
		return la > lb
	}
	if ea, eb := a.PathType == networkingv1.PathTypeExact, b.PathType == networkingv1.PathTypeExact; ea != eb {
		return ea
	}
	if a.Created != b.Created && a.Created != "" && b.Created != "" {
		return a.Created < b.Created
	}
	if a.Namespace+"/"+a.Ingress != b.Namespace+"/"+b.Ingress {
		return a.Namespace+"/"+a.Ingress < b.Namespace+"/"+b.Ingress
	}
	if a.RuleIndex != b.RuleIndex {
		return a.RuleIndex < b.RuleIndex
	}
	return a.PathIndex < b.PathIndex
}

func matchLen(r Route) int {
	if r.PathType == networkingv1.PathTypeExact {
		return len(r.Path)
	}
	return len("/" + strings.Join(elements(r.Path), "/"))
}

func lossReason(w, l Route) string {
	switch {
	case hostRank(w.Host) != hostRank(l.Host):
		return "host " + describeHost(w.Host) + " is more specific than " + describeHost(l.Host)
	case matchLen(w) != matchLen(l):
		return "path " + w.Path + " is longer than " + l.Path + " (the longest matching path wins)"
	case w.PathType != l.PathType:
		return "Exact beats " + string(l.PathType) + " for paths of equal length"
	default:
		return "same host and path as the winner: a tie the controller breaks (usually the oldest Ingress wins); this route never serves this request"
	}
}

func describeHost(h string) string {
	if h == "" {
		return "(any host)"
	}
	return h
}
