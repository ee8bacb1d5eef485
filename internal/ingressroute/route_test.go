package ingressroute

import (
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

// FuzzMatch builds routes and a request from fuzz input: Match must not panic, every candidate
// must match the request, the winner must come first and no candidate may outrank it.
func FuzzMatch(f *testing.F) {
	f.Add("shop.example.com", "/api/v1", "*.example.com|/api|P;shop.example.com|/|P;|/api/v1|E;|/|I")
	f.Add("foo.com", "/foo/", "*.foo.com|/foo|P;foo.com|/foo|E;foo.com|/foo/|P")
	f.Add("a.b.c", "//x//y/", "a.b.c|//x|P;|/x/y|I;*.b.c|/|E")
	f.Add("[::1]:80", "", "|/|P")
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
		for i, c := range cands {
			if !HostMatches(c.Host, host) || !PathMatches(c.PathType, c.Path, path) {
				t.Fatalf("candidate %d %v does not match %q %q", i, c.Route, host, path)
			}
			if i > 0 && better(c.Route, cands[0].Route) {
				t.Fatalf("candidate %d %v outranks the winner %v", i, c.Route, cands[0].Route)
			}
			if (i == 0) != (c.Reason == "") {
				t.Fatalf("candidate %d has reason %q", i, c.Reason)
			}
		}
		for _, r := range routes {
			if HostMatches(r.Host, host) && PathMatches(r.PathType, r.Path, path) && len(cands) == 0 {
				t.Fatalf("route %v matches but Match found nothing", r)
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
