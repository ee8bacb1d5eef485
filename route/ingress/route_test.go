package ingress

import (
	"strconv"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	exact  = networkingv1.PathTypeExact
	prefix = networkingv1.PathTypePrefix
	impl   = networkingv1.PathTypeImplementationSpecific
)

func route(ing, host string, pt networkingv1.PathType, path string) Route {
	return Route{Namespace: "ns", Ingress: ing, Host: host, PathType: pt, Path: path,
		Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: ing + "-svc"}}}
}

// TestPathMatchesSpecExamples is the "Examples" table of the Kubernetes documentation's Ingress
// page (https://kubernetes.io/docs/concepts/services-networking/ingress/#examples), one row per
// request path, plus the HTTPIngressPath API comment's /foo/bar vs /foo/barbaz.
func TestPathMatchesSpecExamples(t *testing.T) {
	tests := []struct {
		name     string
		pathType networkingv1.PathType
		path     string
		request  string
		want     bool
	}{
		{name: "prefix / matches everything", pathType: prefix, path: "/", request: "/anything/at/all", want: true},
		{name: "prefix / matches /", pathType: prefix, path: "/", request: "/", want: true},
		{name: "exact /foo matches /foo", pathType: exact, path: "/foo", request: "/foo", want: true},
		{name: "exact /foo does not match /bar", pathType: exact, path: "/foo", request: "/bar", want: false},
		{name: "exact /foo does not match /foo/", pathType: exact, path: "/foo", request: "/foo/", want: false},
		{name: "exact /foo/ does not match /foo", pathType: exact, path: "/foo/", request: "/foo", want: false},
		{name: "prefix /foo matches /foo", pathType: prefix, path: "/foo", request: "/foo", want: true},
		{name: "prefix /foo matches /foo/", pathType: prefix, path: "/foo", request: "/foo/", want: true},
		{name: "prefix /foo/ matches /foo", pathType: prefix, path: "/foo/", request: "/foo", want: true},
		{name: "prefix /foo/ matches /foo/", pathType: prefix, path: "/foo/", request: "/foo/", want: true},
		{name: "prefix /aaa/bb does not match /aaa/bbb", pathType: prefix, path: "/aaa/bb", request: "/aaa/bbb", want: false},
		{name: "prefix /aaa/bbb matches /aaa/bbb", pathType: prefix, path: "/aaa/bbb", request: "/aaa/bbb", want: true},
		{name: "prefix /aaa/bbb/ ignores the trailing slash", pathType: prefix, path: "/aaa/bbb/", request: "/aaa/bbb", want: true},
		{name: "prefix /aaa/bbb matches the trailing slash", pathType: prefix, path: "/aaa/bbb", request: "/aaa/bbb/", want: true},
		{name: "prefix /aaa/bbb matches a subpath", pathType: prefix, path: "/aaa/bbb", request: "/aaa/bbb/ccc", want: true},
		{name: "prefix /aaa/bbb is not a string prefix", pathType: prefix, path: "/aaa/bbb", request: "/aaa/bbbxyz", want: false},
		{name: "prefix /aaa does not match /ccc", pathType: prefix, path: "/aaa", request: "/ccc", want: false},
		{name: "prefix /foo does not match /foobar", pathType: prefix, path: "/foo", request: "/foobar", want: false},
		{name: "prefix /foo/bar matches /foo/bar/baz", pathType: prefix, path: "/foo/bar", request: "/foo/bar/baz", want: true},
		{name: "prefix /foo/bar does not match /foo/barbaz", pathType: prefix, path: "/foo/bar", request: "/foo/barbaz", want: false},
		{name: "prefix is case-sensitive", pathType: prefix, path: "/Foo", request: "/foo", want: false},
		{name: "empty request path is /", pathType: exact, path: "/", request: "", want: true},
		{name: "implementation specific is matched as a prefix", pathType: impl, path: "/foo", request: "/foo/bar", want: true},
		{name: "implementation specific prefix keeps element boundaries", pathType: impl, path: "/foo", request: "/foobar", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PathMatches(tt.pathType, tt.path, tt.request); got != tt.want {
				t.Errorf("PathMatches(%s, %q, %q) = %v, want %v", tt.pathType, tt.path, tt.request, got, tt.want)
			}
		})
	}
}

// TestHostMatches covers the Ingress API's host rules: a wildcard covers exactly one DNS label.
func TestHostMatches(t *testing.T) {
	tests := []struct {
		name     string
		ruleHost string
		request  string
		want     bool
	}{
		{name: "wildcard covers one label", ruleHost: "*.foo.com", request: "bar.foo.com", want: true},
		{name: "wildcard does not cover two labels", ruleHost: "*.foo.com", request: "baz.bar.foo.com", want: false},
		{name: "wildcard does not cover the bare domain", ruleHost: "*.foo.com", request: "foo.com", want: false},
		{name: "wildcard needs a non-empty label", ruleHost: "*.foo.com", request: ".foo.com", want: false},
		{name: "wildcard is not a suffix match", ruleHost: "*.foo.com", request: "barfoo.com", want: false},
		{name: "exact host", ruleHost: "foo.bar.com", request: "foo.bar.com", want: true},
		{name: "exact host differs", ruleHost: "foo.bar.com", request: "bar.foo.com", want: false},
		{name: "hosts are case-insensitive", ruleHost: "foo.bar.com", request: "FOO.Bar.com", want: true},
		{name: "port of the request is ignored", ruleHost: "foo.bar.com", request: "foo.bar.com:8443", want: true},
		{name: "trailing dot of the request is ignored", ruleHost: "foo.bar.com", request: "foo.bar.com.", want: true},
		{name: "empty rule host matches any host", ruleHost: "", request: "whatever.example", want: true},
		{name: "empty rule host matches an IP", ruleHost: "", request: "10.0.0.1:80", want: true},
		{name: "IPv6 request host with port", ruleHost: "", request: "[::1]:80", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HostMatches(tt.ruleHost, tt.request); got != tt.want {
				t.Errorf("HostMatches(%q, %q) = %v, want %v", tt.ruleHost, tt.request, got, tt.want)
			}
		})
	}
}

// TestMatchPrecedence checks which route wins, with the documentation's multi-path examples.
func TestMatchPrecedence(t *testing.T) {
	tests := []struct {
		name       string
		routes     []Route
		host, path string
		winner     string // "ingress host pathType path", "" for no match
		loserWhy   []string
	}{
		{
			name:   "/ and /aaa: /aaa/ccc matches the /aaa prefix",
			routes: []Route{route("a", "", prefix, "/"), route("b", "", prefix, "/aaa")},
			path:   "/aaa/ccc", winner: "b  Prefix /aaa",
			loserWhy: []string{"path /aaa is longer than / (the longest matching path wins)"},
		},
		{
			name:   "/, /aaa, /aaa/bbb: /aaa/bbb matches the /aaa/bbb prefix",
			routes: []Route{route("a", "", prefix, "/"), route("b", "", prefix, "/aaa"), route("c", "", prefix, "/aaa/bbb")},
			path:   "/aaa/bbb", winner: "c  Prefix /aaa/bbb",
			loserWhy: []string{"path /aaa/bbb is longer than /aaa (the longest matching path wins)", "path /aaa/bbb is longer than / (the longest matching path wins)"},
		},
		{
			name:   "/, /aaa, /aaa/bbb: /ccc matches the / prefix",
			routes: []Route{route("a", "", prefix, "/"), route("b", "", prefix, "/aaa"), route("c", "", prefix, "/aaa/bbb")},
			path:   "/ccc", winner: "a  Prefix /",
		},
		{
			name:   "/aaa alone: /ccc matches nothing (default backend)",
			routes: []Route{route("a", "", prefix, "/aaa")},
			path:   "/ccc", winner: "",
		},
		{
			name:   "mixed: Exact /foo beats Prefix /foo",
			routes: []Route{route("p", "", prefix, "/foo"), route("e", "", exact, "/foo")},
			path:   "/foo", winner: "e  Exact /foo",
			loserWhy: []string{"Exact beats Prefix for paths of equal length"},
		},
		{
			name:   "mixed: Prefix /foo serves /foo/ (the Exact route does not match it)",
			routes: []Route{route("p", "", prefix, "/foo"), route("e", "", exact, "/foo")},
			path:   "/foo/", winner: "p  Prefix /foo",
		},
		{
			name:   "/foo does not serve /foobar, / does",
			routes: []Route{route("root", "", prefix, "/"), route("foo", "", prefix, "/foo")},
			path:   "/foobar", winner: "root  Prefix /",
		},
		{
			name:   "/aaa/bb does not serve /aaa/bbb",
			routes: []Route{route("bb", "", prefix, "/aaa/bb"), route("aaa", "", prefix, "/aaa")},
			path:   "/aaa/bbb", winner: "aaa  Prefix /aaa",
		},
		{
			name:   "trailing slash does not make a prefix longer",
			routes: []Route{route("slash", "", prefix, "/foo/"), route("exact", "", exact, "/foo")},
			path:   "/foo", winner: "exact  Exact /foo",
		},
		{
			name:   "exact host beats wildcard beats any host",
			routes: []Route{route("any", "", prefix, "/"), route("wild", "*.foo.com", prefix, "/"), route("bar", "bar.foo.com", prefix, "/")},
			host:   "bar.foo.com", path: "/x", winner: "bar bar.foo.com Prefix /",
			loserWhy: []string{"host bar.foo.com is more specific than *.foo.com", "host bar.foo.com is more specific than (any host)"},
		},
		{
			name:   "wildcard covers baz.foo.com",
			routes: []Route{route("any", "", prefix, "/"), route("wild", "*.foo.com", prefix, "/"), route("bar", "bar.foo.com", prefix, "/")},
			host:   "baz.foo.com", path: "/", winner: "wild *.foo.com Prefix /",
		},
		{
			name:   "wildcard does not cover baz.bar.foo.com: any host serves it",
			routes: []Route{route("any", "", prefix, "/"), route("wild", "*.foo.com", prefix, "/")},
			host:   "baz.bar.foo.com", path: "/", winner: "any  Prefix /",
		},
		{
			name:   "wildcard does not cover foo.com",
			routes: []Route{route("wild", "*.foo.com", prefix, "/")},
			host:   "foo.com", path: "/", winner: "",
		},
		{
			name:   "host precedence beats a longer path",
			routes: []Route{route("api", "", prefix, "/api"), route("shop", "shop.example.com", prefix, "/")},
			host:   "shop.example.com", path: "/api/v1", winner: "shop shop.example.com Prefix /",
			loserWhy: []string{"host shop.example.com is more specific than (any host)"},
		},
		{
			name:   "duplicate across Ingresses: the oldest wins",
			routes: []Route{withCreated(route("new", "", prefix, "/x"), "2026-02-01T00:00:00Z"), withCreated(route("old", "", prefix, "/x"), "2026-01-01T00:00:00Z")},
			path:   "/x", winner: "old  Prefix /x",
			loserWhy: []string{"same host and path as the winner: a tie the controller breaks (the oldest Ingress wins, as with ingress-nginx and Traefik)"},
		},
		{
			name:   "ImplementationSpecific and Prefix of the same path tie",
			routes: []Route{route("b", "", impl, "/x"), route("a", "", prefix, "/x/")},
			path:   "/x/y", winner: "a  Prefix /x/",
			loserWhy: []string{"Prefix /x/ and ImplementationSpecific /x match alike here: a tie the controller breaks (assumed: the first Ingress by namespace/name wins; controllers usually prefer the oldest)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := tt.host
			if host == "" {
				host = "example.com"
			}
			got := Match(tt.routes, host, tt.path)
			if tt.winner == "" {
				if len(got) > 0 {
					t.Fatalf("want no match, got %s", describe(got[0].Route))
				}
				return
			}
			if len(got) == 0 {
				t.Fatalf("no match, want %s", tt.winner)
			}
			if d := describe(got[0].Route); d != tt.winner {
				t.Errorf("winner %q, want %q", d, tt.winner)
			}
			if got[0].Reason != "" {
				t.Errorf("winner has a loss reason %q", got[0].Reason)
			}
			if tt.loserWhy != nil {
				var why []string
				for _, c := range got[1:] {
					why = append(why, c.Reason)
				}
				if strings.Join(why, "\n") != strings.Join(tt.loserWhy, "\n") {
					t.Errorf("loss reasons:\n%s\nwant:\n%s", strings.Join(why, "\n"), strings.Join(tt.loserWhy, "\n"))
				}
			}
		})
	}
}

func withCreated(r Route, ts string) Route {
	r.Created = ts
	return r
}

func describe(r Route) string {
	return r.Ingress + " " + r.Host + " " + string(r.PathType) + " " + r.Path
}

func TestRoutesExpandsIngress(t *testing.T) {
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{
			{Host: "Shop.Example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
				{Path: "/api", PathType: ptr(prefix)},
				{Path: ""}, // no pathType, no path
			}}}},
			{Host: "no-http.example.com"},
		}},
	}
	got := Routes(ing, "traefik")
	if len(got) != 2 {
		t.Fatalf("%d routes, want 2", len(got))
	}
	if got[0].Host != "shop.example.com" || got[0].Class != "traefik" || got[0].Field() != "spec.rules[0].http.paths[0]" {
		t.Errorf("route 0 = %+v", got[0])
	}
	if got[1].Path != "/" || got[1].PathType != impl {
		t.Errorf("route 1: path %q type %s, want / ImplementationSpecific", got[1].Path, got[1].PathType)
	}
}

func ptr[T any](v T) *T { return &v }

func TestNeverWins(t *testing.T) {
	tests := []struct {
		name      string
		routes    []Route
		want      []string // "loser <- winner (duplicate)"
		wantNames []string
	}{
		{
			name:   "duplicates: the second never wins",
			routes: []Route{route("a", "h.com", prefix, "/x"), route("b", "h.com", prefix, "/x/")},
			want:   []string{"b <- a duplicate"},
		},
		{
			name:   "Prefix and ImplementationSpecific with the same path",
			routes: []Route{route("a", "h.com", prefix, "/x"), route("b", "h.com", impl, "/x")},
			want:   []string{"b <- a"},
		},
		{
			name:   "Exact and Prefix with the same path both serve something",
			routes: []Route{route("a", "h.com", prefix, "/x"), route("b", "h.com", exact, "/x")},
		},
		{
			name:   "any-host route still serves other hosts",
			routes: []Route{route("a", "h.com", prefix, "/"), route("b", "", prefix, "/")},
		},
		{
			name:   "wildcard still serves other labels",
			routes: []Route{route("a", "svc-doctor-probe.h.com", prefix, "/"), route("b", "*.h.com", prefix, "/")},
		},
		{
			name:   "longer paths do not hide a prefix",
			routes: []Route{route("a", "", prefix, "/svc-doctor-probe"), route("b", "", prefix, "/")},
		},
		{
			name:   "different classes never compete",
			routes: []Route{route("a", "h.com", prefix, "/x"), func() Route { r := route("b", "h.com", prefix, "/x"); r.Class = "other"; return r }()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range NeverWins(tt.routes) {
				d := s.Route.Ingress + " <- " + s.By.Ingress
				if s.Duplicate {
					d += " duplicate"
				}
				got = append(got, d)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("NeverWins = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHostShadows(t *testing.T) {
	routes := []Route{
		route("api", "", prefix, "/api"),
		route("shop", "shop.example.com", prefix, "/"),
		route("blog", "blog.example.com", prefix, "/api/v2"),
		route("wild", "*.example.com", prefix, "/"),
	}
	var got []string
	for _, s := range HostShadows(routes) {
		got = append(got, s.Route.Ingress+" for "+s.Host+" -> "+s.By.Ingress)
	}
	want := []string{"api for shop.example.com -> shop", "api for *.example.com -> wild"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("HostShadows = %v\nwant %v", got, want)
	}
}

func TestRepresentativeAvoidsNamedHostsAndElements(t *testing.T) {
	routes := []Route{
		route("a", "", prefix, "/svc-doctor-probe"),
		route("b", "svc-doctor-probe.svc-doctor.invalid", prefix, "/"),
		route("c", "*.foo.com", prefix, "/x"),
	}
	r := Representative(routes[0], routes)
	if r.Host != "svc-doctor-probe-2.svc-doctor.invalid" || r.Path != "/svc-doctor-probe/svc-doctor-probe-2" {
		t.Errorf("representative of a = %+v", r)
	}
	r = Representative(routes[2], routes)
	if r.Host != "svc-doctor-probe.foo.com" || !PathMatches(prefix, "/x", r.Path) {
		t.Errorf("representative of c = %+v", r)
	}
}

// specRank orders matching routes by the Ingress specification alone, independently of the
// implementation: an exact host beats a wildcard beats any host; then the longer path wins (a
// Prefix path's trailing slash does not count); then Exact beats Prefix at equal length.
func specRank(r Route) [3]int {
	h := NormalizeHost(r.Host) // how a rule host is spelled is HostMatches' business (tested above)
	host := 2
	switch {
	case h == "":
		host = 0
	case strings.HasPrefix(h, "*."):
		host = 1
	}
	n := len(r.Path)
	if r.PathType != exact {
		n = len("/" + strings.Join(elements(r.Path), "/")) // whole elements; a trailing slash does not count
	}
	e := 0
	if r.PathType == exact {
		e = 1
	}
	return [3]int{host, n, e}
}

func rankLess(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// FuzzMatch builds routes and a request from fuzz input: Match must not panic, every candidate
// must match the request, every route that matches must be a candidate (exactly once), the winner
// must come first and no matching route may outrank it by the specification's order.
func FuzzMatch(f *testing.F) {
	f.Add("shop.example.com", "/api/v1", "*.example.com|/api|P;shop.example.com|/|P;|/api/v1|E;|/|I")
	f.Add("foo.com", "/foo/", "*.foo.com|/foo|P;foo.com|/foo|E;foo.com|/foo/|P")
	f.Add("a.b.c", "//x//y/", "a.b.c|//x|P;|/x/y|I;*.b.c|/|E")
	f.Add("[::1]:80", "", "|/|P")
	f.Add("Bar.Foo.com.", "/aaa/bbb", "*.foo.com|/aaa/bbb/|P;bar.foo.com|/aaa|P;|/aaa/bbb|E;bar.foo.com|/aaa/bbb|E")
	f.Add("x.y", "/a/b", "x.y|/a/b|E;x.y|/a/b/|P;x.y|/a|I;*.y|/a/b/c|P")
	f.Add("x.y", "/a/b", "|/a/b/c|P;*.y|/a/b|P;x.y|/a/b/|P;x.y|/a/b|E")
	f.Add("x.y", "/a/b/c", "x.y|/a|P;*.y|/a/b/c|E;x.y|/a/b|I;|/a/b/c|E")
	f.Fuzz(func(t *testing.T, host, path, spec string) {
		var routes []Route
		parts := strings.Split(spec, ";")
		if len(parts) > 64 {
			parts = parts[:64] // bounded work per input
		}
		for i, part := range parts {
			fields := strings.SplitN(part, "|", 3)
			for len(fields) < 3 {
				fields = append(fields, "")
			}
			pt := prefix
			switch fields[2] {
			case "E":
				pt = exact
			case "I":
				pt = impl
			}
			r := route(string(rune('a'+i%26)), strings.ToLower(fields[0]), pt, fields[1])
			if r.Path == "" {
				r.Path = "/"
			}
			r.RuleIndex = i
			routes = append(routes, r)
		}
		cands := Match(routes, host, path)
		seen := map[int]bool{}
		for i, c := range cands {
			if !HostMatches(c.Host, host) || !PathMatches(c.PathType, c.Path, path) {
				t.Fatalf("candidate %d %v does not match %q %q", i, c.Route, host, path)
			}
			if seen[c.RuleIndex] {
				t.Fatalf("route %v is a candidate twice", c.Route)
			}
			seen[c.RuleIndex] = true
			if i > 0 && better(c.Route, cands[0].Route) {
				t.Fatalf("candidate %d %v outranks the winner %v", i, c.Route, cands[0].Route)
			}
			if (i == 0) != (c.Reason == "") {
				t.Fatalf("candidate %d has reason %q", i, c.Reason)
			}
		}
		for _, r := range routes {
			if !HostMatches(r.Host, host) || !PathMatches(r.PathType, r.Path, path) {
				continue
			}
			if !seen[r.RuleIndex] {
				t.Fatalf("route %v matches %q %q but is not among the candidates %v", r, host, path, cands)
			}
			if rankLess(specRank(cands[0].Route), specRank(r)) {
				t.Fatalf("winner %v (rank %v) loses to %v (rank %v) by the specification's order", cands[0].Route, specRank(cands[0].Route), r, specRank(r))
			}
		}
		for _, s := range NeverWins(routes) {
			req := Representative(s.Route, routes)
			if !HostMatches(s.Route.Host, req.Host) || !PathMatches(s.Route.PathType, s.Route.Path, req.Path) {
				t.Fatalf("representative %+v of %v does not match it", req, s.Route)
			}
		}
	})
}

// TestNormalizePath covers the request path normalisation: RFC 3986 percent-encoding (unreserved
// characters decoded, other escapes kept with upper-case hex) and remove_dot_segments, then
// repeated slashes merged as controllers do.
func TestNormalizePath(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		want        string
		wantChanges []string
	}{
		{name: "already normal", in: "/api/v1/health", want: "/api/v1/health"},
		{name: "empty is the root", in: "", want: "/"},
		{name: "trailing slash is kept", in: "/api/", want: "/api/"},
		{name: "single dot segment", in: "/api/./v1/health", want: "/api/v1/health", wantChanges: []string{"dot segments removed"}},
		{name: "double dot segment", in: "/x/../api/v1/health", want: "/api/v1/health", wantChanges: []string{"dot segments removed"}},
		{name: "double dot above the root", in: "/../../api", want: "/api", wantChanges: []string{"dot segments removed"}},
		{name: "trailing dot segments", in: "/api/v1/..", want: "/api/", wantChanges: []string{"dot segments removed"}},
		{name: "trailing single dot", in: "/api/.", want: "/api/", wantChanges: []string{"dot segments removed"}},
		{name: "dots inside a segment are kept", in: "/a..b/.c/d.", want: "/a..b/.c/d."},
		{name: "leading double slash", in: "//api/v1/health", want: "/api/v1/health", wantChanges: []string{"repeated slashes merged"}},
		{name: "inner repeated slashes", in: "/api///v1//health", want: "/api/v1/health", wantChanges: []string{"repeated slashes merged"}},
		{name: "encoded unreserved characters are decoded", in: "/%61pi/%7Euser/a%2Db%5F", want: "/api/~user/a-b_", wantChanges: []string{"percent-encoded unreserved characters decoded"}},
		{name: "encoded dots become dot segments", in: "/x/%2e%2E/api", want: "/api", wantChanges: []string{"percent-encoded unreserved characters decoded", "dot segments removed"}},
		{name: "encoded slash stays encoded", in: "/a%2fb/..%2Fc", want: "/a%2Fb/..%2Fc", wantChanges: []string{"percent-encoding normalised"}},
		{name: "encoded space stays encoded", in: "/a%20b", want: "/a%20b"},
		{name: "slashes merged after dot removal", in: "/a//../b", want: "/a/b", wantChanges: []string{"dot segments removed"}},
		{name: "relative path gets a leading slash", in: "api/v1", want: "/api/v1", wantChanges: []string{"leading slash added"}},
		{name: "lone percent sign is encoded", in: "/100%", want: "/100%25", wantChanges: []string{"percent-encoding normalised"}},
		{name: "decoding makes no new escape", in: "/%7%41", want: "/%257A", wantChanges: []string{"percent-encoded unreserved characters decoded", "percent-encoding normalised"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changes := NormalizePath(tt.in)
			if got != tt.want || strings.Join(changes, ", ") != strings.Join(tt.wantChanges, ", ") {
				t.Errorf("NormalizePath(%q) = %q %q, want %q %q", tt.in, got, changes, tt.want, tt.wantChanges)
			}
			if again, ch := NormalizePath(got); again != got || len(ch) > 0 {
				t.Errorf("NormalizePath is not idempotent: %q -> %q %q", got, again, ch)
			}
		})
	}
}

// hostShadowsNaive is the straightforward quadratic HostShadows: for every route for any host or
// a wildcard, every more specific host it covers.
func hostShadowsNaive(routes []Route) []HostShadow {
	var out []HostShadow
	byClass := indexByClass(routes)
	for _, r := range routes {
		if hostRank(r.Host) == 2 {
			continue
		}
		same := byClass[r.Class]
		seen := map[string]bool{}
		for _, o := range same.routes {
			if hostRank(o.Host) <= hostRank(r.Host) || seen[o.Host] || !HostMatches(r.Host, concreteHost(o.Host)) {
				continue
			}
			seen[o.Host] = true
			req := same.representative(r)
			cands := same.match(concreteHost(o.Host), req.Path)
			if len(cands) == 0 {
				continue
			}
			w := cands[0]
			if w.Host != o.Host || matchLen(w.Route) >= matchLen(r) {
				continue
			}
			out = append(out, HostShadow{Route: r, By: w.Route, Host: o.Host, Path: r.Path})
		}
	}
	return out
}

// TestHostShadowsIndexed checks the indexed HostShadows against the naive one.
func TestHostShadowsIndexed(t *testing.T) {
	classed := func(r Route, c string) Route { r.Class = c; return r }
	tests := []struct {
		name   string
		routes []Route
		want   int // number of shadows
	}{
		{name: "none", routes: []Route{route("a", "a.com", prefix, "/")}},
		{name: "any host loses to a host's root", want: 1, routes: []Route{route("api", "", prefix, "/api"), route("shop", "shop.com", prefix, "/")}},
		{name: "wildcard loses to an exact host under it", want: 1, routes: []Route{route("w", "*.x.com", prefix, "/api"), route("a", "a.x.com", prefix, "/")}},
		{name: "wildcard does not cover two labels", routes: []Route{route("w", "*.x.com", prefix, "/api"), route("a", "b.a.x.com", prefix, "/")}},
		{name: "exact route for the probe host of a wildcard wins", routes: []Route{
			route("any", "", prefix, "/api"), route("w", "*.x.com", prefix, "/"), route("p", "svc-doctor-probe.x.com", prefix, "/api")}},
		{name: "longer host path serves it", routes: []Route{route("api", "", prefix, "/api"), route("shop", "shop.com", prefix, "/api/v1"), route("shop2", "shop.com", exact, "/")}},
		{name: "classes do not mix", routes: []Route{classed(route("api", "", prefix, "/api"), "a"), classed(route("shop", "shop.com", prefix, "/"), "b")}},
		{name: "many hosts", want: 9, routes: []Route{
			route("any", "", prefix, "/a/b"), route("any2", "", exact, "/a/b/c"), route("w", "*.e.com", prefix, "/a"), route("w2", "*.e.com", prefix, "/a/b/c/d"),
			route("h1", "h1.e.com", prefix, "/"), route("h2", "h2.e.com", prefix, "/a"), route("h3", "h3.f.com", exact, "/a/b/c"), route("h4", "h4.e.com", prefix, "/a/b/c/d/e")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := HostShadows(tt.routes), hostShadowsNaive(tt.routes)
			str := func(ss []HostShadow) string {
				var out []string
				for _, s := range ss {
					out = append(out, s.Route.Ingress+" for "+s.Host+" -> "+s.By.Ingress+" "+s.Path)
				}
				return strings.Join(out, "; ")
			}
			if str(got) != str(want) || len(got) != tt.want {
				t.Errorf("HostShadows = %s\nnaive       = %s (want %d)", str(got), str(want), tt.want)
			}
		})
	}
}

// BenchmarkHostShadows measures HostShadows over 1,000 Ingresses with a wildcard and an exact host
// each, plus 5 any-host routes (each shadowed on the 2,000 hosts: 10,000 results).
func BenchmarkHostShadows(b *testing.B) {
	var routes []Route
	for i := range 1000 {
		routes = append(routes, route("w", "*.t"+strconv.Itoa(i)+".example.com", prefix, "/api"), route("a", "a.t"+strconv.Itoa(i)+".example.com", prefix, "/"))
	}
	for i := range 5 {
		routes = append(routes, route("any", "", prefix, "/any/"+strconv.Itoa(i)))
	}
	for b.Loop() {
		HostShadows(routes)
	}
}

// FuzzNormalizePath checks that a normalised path starts with a slash, holds no dot segment and no
// repeated slash, keeps its escapes valid, and normalises to itself.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/api/./v1", "//a//b", "/x/../y", "/%2e%2E/%2f", "a/b/..", "/100%", "/..", "/.%2e/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, _ := NormalizePath(in)
		if !strings.HasPrefix(got, "/") || strings.Contains(got, "//") {
			t.Fatalf("NormalizePath(%q) = %q", in, got)
		}
		for _, seg := range strings.Split(got, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("NormalizePath(%q) = %q keeps a dot segment", in, got)
			}
		}
		if again, ch := NormalizePath(got); again != got || len(ch) > 0 {
			t.Fatalf("NormalizePath(%q) = %q, then %q %q", in, got, again, ch)
		}
	})
}
