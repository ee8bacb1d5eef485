// Package ingress is the Ingress route layer. It implements the Ingress specification's request
// matching (host rules: exact, wildcard covering exactly one DNS label, or any host; path types
// Exact, Prefix by whole path elements, ImplementationSpecific; precedence: longest path first,
// then Exact over Prefix), the Traefik and ingress-nginx controllers' own matching (their profiles:
// traefik.go, nginx.go), and the check of a URL or of an Ingress's routes over a snapshot (Check):
// which class and controller serve it, the winner and the near misses, the backend Service and
// port and their health, the TLS entry and certificate. The backend's live diagnosis is handed over to the Service trace through
// CheckOptions.Diagnose. Lint uses the matching to find duplicate and shadowed routes. It imports no
// client-go.
package ingress

import (
	"fmt"
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
				Host: NormalizeHost(r.Host), Path: path, PathType: pt, Backend: p.Backend, Created: created})
		}
	}
	return out
}

// HostMatches reports whether a rule host matches a request host: "" matches every host, a
// wildcard "*.foo.com" matches exactly one extra leading label (bar.foo.com, not foo.com nor
// baz.bar.foo.com), anything else must be equal (case-insensitive). A port in the request host
// is ignored.
func HostMatches(ruleHost, reqHost string) bool {
	return hostMatchesNormalized(NormalizeHost(ruleHost), NormalizeHost(reqHost))
}

// NormalizeHost is how a request host is compared with rule hosts: lower case, without port and
// without the trailing dot of a fully qualified name.
func NormalizeHost(h string) string {
	for {
		n := strings.TrimRight(strings.ToLower(stripPort(h)), ".")
		if n == h {
			return n
		}
		h = n // again until stable, so that normalizing twice changes nothing
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
	ruleHost = NormalizeHost(ruleHost)
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
	if pt == networkingv1.PathTypeExact {
		return routePath == reqPath
	}
	return elementPrefix(elements(routePath), elements(reqPath))
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
	return newIndex(routes).match(host, path)
}

// index holds what matching needs of each route, computed once: analyses that match many
// requests against the same routes stay linear per request.
type index struct {
	routes []Route
	hosts  []string   // normalized rule hosts
	elems  [][]string // path elements (prefix matching)
	ranks  []int      // hostRank
	lens   []int      // matchLen

	usedElems map[string]bool // every path element, built on first use
	hostSet   map[string]bool // every normalized rule host, built on first use

	byHost  map[string][]int // route indexes by normalized rule host (wildcards under "*.suffix")
	anyHost []int            // routes for every host

	// host buckets of HostShadows, built on first use (buildHostBuckets)
	specificHosts []string            // distinct wildcard and exact rule hosts, in route order
	hostsUnder    map[string][]string // wildcard host -> the distinct exact hosts it covers
	rawHost       map[string]string   // normalized rule host -> its spelling in the first route
}

func newIndex(routes []Route) *index {
	ix := &index{routes: routes, hosts: make([]string, len(routes)), elems: make([][]string, len(routes)),
		ranks: make([]int, len(routes)), lens: make([]int, len(routes))}
	ix.byHost = map[string][]int{}
	for i, r := range routes {
		ix.hosts[i] = NormalizeHost(r.Host)
		ix.elems[i] = elements(r.Path)
		ix.ranks[i] = hostRank(ix.hosts[i])
		ix.lens[i] = matchLen(r)
		if ix.hosts[i] == "" {
			ix.anyHost = append(ix.anyHost, i)
		} else {
			ix.byHost[ix.hosts[i]] = append(ix.byHost[ix.hosts[i]], i)
		}
	}
	return ix
}

// hostCandidates returns, in route order, the routes whose host can match a request host: the
// same host, the wildcard covering its first label, and the any-host routes.
func (ix *index) hostCandidates(host string) []int {
	out := append([]int(nil), ix.anyHost...)
	out = append(out, ix.byHost[host]...)
	if i := strings.IndexByte(host, '.'); i >= 0 {
		if w := "*" + host[i:]; w != host {
			out = append(out, ix.byHost[w]...)
		}
	}
	sort.Ints(out)
	return out
}

func (ix *index) match(host, path string) []Candidate {
	host = NormalizeHost(host)
	if path == "" {
		path = "/"
	}
	reqElems := elements(path)
	var hits []int
	for _, i := range ix.hostCandidates(host) {
		r := ix.routes[i]
		if !hostMatchesNormalized(ix.hosts[i], host) {
			continue
		}
		if r.PathType == networkingv1.PathTypeExact {
			if r.Path != path {
				continue
			}
		} else if !elementPrefix(ix.elems[i], reqElems) {
			continue
		}
		hits = append(hits, i)
	}
	sort.SliceStable(hits, func(a, b int) bool { return ix.better(hits[a], hits[b]) })
	cands := make([]Candidate, len(hits))
	for k, i := range hits {
		cands[k] = Candidate{Route: ix.routes[i]}
		if k > 0 {
			cands[k].Reason = lossReason(cands[0].Route, cands[k].Route)
		}
	}
	return cands
}

func (ix *index) better(i, j int) bool {
	if ix.ranks[i] != ix.ranks[j] {
		return ix.ranks[i] > ix.ranks[j]
	}
	if ix.lens[i] != ix.lens[j] {
		return ix.lens[i] > ix.lens[j]
	}
	return tieBetter(ix.routes[i], ix.routes[j])
}

// better reports whether a takes precedence over b for a request both match.
func better(a, b Route) bool {
	if ha, hb := hostRank(a.Host), hostRank(b.Host); ha != hb {
		return ha > hb
	}
	if la, lb := matchLen(a), matchLen(b); la != lb {
		return la > lb
	}
	return tieBetter(a, b)
}

// tieBetter orders routes of equal host rank and path length: Exact first, then the oldest
// Ingress (an unknown creation time counts as the newest), then namespace/name, then the order in
// the Ingress.
func tieBetter(a, b Route) bool {
	if ea, eb := a.PathType == networkingv1.PathTypeExact, b.PathType == networkingv1.PathTypeExact; ea != eb {
		return ea
	}
	if (a.Created == "") != (b.Created == "") {
		return a.Created != ""
	}
	if a.Created != b.Created {
		return a.Created < b.Created
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	if a.Ingress != b.Ingress {
		return a.Ingress < b.Ingress
	}
	if a.RuleIndex != b.RuleIndex {
		return a.RuleIndex < b.RuleIndex
	}
	return a.PathIndex < b.PathIndex
}

func hostMatchesNormalized(ruleHost, reqHost string) bool {
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

func elementPrefix(rp, qp []string) bool {
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
	case w.PathType == networkingv1.PathTypeExact && l.PathType != networkingv1.PathTypeExact:
		return "Exact beats " + string(l.PathType) + " for paths of equal length"
	case w.PathType != l.PathType:
		return string(w.PathType) + " " + w.Path + " and " + string(l.PathType) + " " + l.Path + " match alike here: a tie the controller breaks (" + tieBreak(w, l) + ")"
	default:
		return "same host and path as the winner: a tie the controller breaks (" + tieBreak(w, l) + ")"
	}
}

// tieBreak says how better ordered two equally specific routes.
func tieBreak(w, l Route) string {
	switch {
	case w.Namespace == l.Namespace && w.Ingress == l.Ingress:
		return "the first path of the Ingress wins"
	case w.Created != "" && l.Created != "" && w.Created != l.Created:
		return "the oldest Ingress wins, as with ingress-nginx and Traefik"
	default:
		return "assumed: the first Ingress by namespace/name wins; controllers usually prefer the oldest"
	}
}

func describeHost(h string) string {
	if h == "" {
		return "(any host)"
	}
	return h
}

// NormalizePath normalises a request path the way it reaches a controller's routing: first as
// clients do (RFC 3986): a percent-encoded unreserved character (letter, digit, "-", ".", "_",
// "~") is decoded, other escapes keep their encoding with upper-case hex digits (an encoded "/"
// does not become a separator; a "%" that starts no escape becomes %25), and dot segments are removed (section 5.2.4,
// remove_dot_segments); then repeated slashes are merged, as ingress-nginx (merge_slashes) and
// Traefik (path sanitizing) do. changes says what was done ("dot segments removed", ...), nil
// when the path was already normal. Match and PathMatches compare paths as given: normalise a
// request path with NormalizePath first.
func NormalizePath(p string) (string, []string) {
	var changes []string
	if !strings.HasPrefix(p, "/") {
		if p != "" {
			changes = append(changes, "leading slash added")
		}
		p = "/" + p
	}
	if dec, decoded, other := normalizePercent(p); decoded || other {
		if decoded {
			changes = append(changes, "percent-encoded unreserved characters decoded")
		}
		if other {
			changes = append(changes, "percent-encoding normalised")
		}
		p = dec
	}
	if q := removeDotSegments(p); q != p {
		changes = append(changes, "dot segments removed")
		p = q
	}
	if strings.Contains(p, "//") {
		var b strings.Builder
		for i := 0; i < len(p); i++ {
			if p[i] == '/' && i > 0 && p[i-1] == '/' {
				continue
			}
			b.WriteByte(p[i])
		}
		changes = append(changes, "repeated slashes merged")
		p = b.String()
	}
	return p, changes
}

// normalizePercent decodes the escapes of unreserved characters and upper-cases the hex digits of
// the others; a "%" that starts no escape is encoded (%25), so that decoding cannot make a new
// escape of what follows it. decoded and other say whether either kind of change happened.
func normalizePercent(p string) (out string, decoded, other bool) {
	if !strings.Contains(p, "%") {
		return p, false, false
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			b.WriteString("%25")
			other = true
			continue
		}
		c := unhex(p[i+1])<<4 | unhex(p[i+2])
		esc := p[i : i+3]
		switch {
		case isUnreserved(c):
			b.WriteByte(c)
			decoded = true
		case esc != strings.ToUpper(esc):
			b.WriteString(strings.ToUpper(esc))
			other = true
		default:
			b.WriteString(esc)
		}
		i += 2
	}
	return b.String(), decoded, other
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isUnreserved reports whether c is an unreserved character of RFC 3986 (section 2.3).
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// removeDotSegments is RFC 3986's remove_dot_segments (section 5.2.4).
func removeDotSegments(in string) string {
	if !strings.Contains(in, ".") {
		return in
	}
	var out strings.Builder
	dropLast := func() {
		s := out.String()
		if i := strings.LastIndexByte(s, '/'); i >= 0 {
			s = s[:i]
		} else {
			s = ""
		}
		out.Reset()
		out.WriteString(s)
	}
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			dropLast()
		case in == "/..":
			in = "/"
			dropLast()
		case in == "." || in == "..":
			in = ""
		default:
			i := strings.IndexByte(in[1:], '/')
			if i < 0 {
				out.WriteString(in)
				in = ""
			} else {
				out.WriteString(in[:i+1])
				in = in[i+1:]
			}
		}
	}
	return out.String()
}

// ServiceRoutes lists the routes of ings whose backend is Service ns/name (each as "ingress
// NS/NAME HOST/PATH -> port P"), the default backends included.
func ServiceRoutes(ings []*networkingv1.Ingress, ns, name string) []string {
	var out []string
	port := func(p networkingv1.ServiceBackendPort) string {
		if p.Name != "" {
			return p.Name
		}
		return fmt.Sprint(p.Number)
	}
	for _, ing := range ings {
		if ing.Namespace != ns {
			continue
		}
		if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil && b.Service.Name == name {
			out = append(out, fmt.Sprintf("ingress %s/%s spec.defaultBackend (any host and path) -> port %s", ing.Namespace, ing.Name, port(b.Service.Port)))
		}
		for _, r := range Routes(ing, "") {
			if r.Backend.Service == nil || r.Backend.Service.Name != name {
				continue
			}
			host := r.Host
			if host == "" {
				host = "*"
			}
			out = append(out, fmt.Sprintf("ingress %s/%s spec.rules[%d].http.paths[%d] %s%s (%s) -> port %s", ing.Namespace, ing.Name, r.RuleIndex, r.PathIndex, host, r.Path, r.PathType, port(r.Backend.Service.Port)))
		}
	}
	return out
}
