package gateway

import (
	"fmt"
	"strings"
	"testing"
)

// shop is a Gateway with an HTTP listener for *.example.com and routes that exercise precedence
// and near misses.
const shop = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gc}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gc
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    hostname: "*.example.com"
    allowedRoutes: {namespaces: {from: All}}
  - name: admin
    port: 8080
    protocol: HTTP
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: http}]
  hostnames: [shop.example.com]
  rules:
  - matches: [{path: {type: Exact, value: /cart}}]
    backendRefs: [{name: cart, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: X-Version, value: v2}]}]
    backendRefs: [{name: api-v2, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}, method: POST}]
    backendRefs: [{name: api-write, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}, queryParams: [{name: debug, value: "1"}]}]
    backendRefs: [{name: api-debug, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: api, port: 80, weight: 3}, {name: api-canary, port: 80, weight: 1}]
  - matches: [{path: {type: PathPrefix, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}, statusCode: 301}}]
  - matches: [{path: {type: PathPrefix, value: /broken}}]
    backendRefs: [{name: missing, port: 80}, {name: api, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: catchall, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: http}]
  rules:
  - backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: admin, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: [shop.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /admin}}]
    backendRefs: [{name: admin, port: 80}]
`

func services(ns string, names ...string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString("---\napiVersion: v1\nkind: Service\nmetadata: {name: " + n + ", namespace: " + ns + "}\nspec: {ports: [{port: 80}]}\n")
	}
	return b.String()
}

func TestResolve(t *testing.T) {
	m := modelOf(t, shop+services("apps", "cart", "api-v2", "api-write", "api-debug", "api", "api-canary", "web", "admin"), true)
	tests := []struct {
		name     string
		req      Request
		status   int
		winner   string // Candidate.Name()
		backends string // name:share, space-separated
		why      string // substring of Resolution.Why
	}{
		{name: "exact path", req: Request{Host: "shop.example.com", Path: "/cart"}, winner: "httproute apps/shop rule[0]", backends: "cart:1.00"},
		{name: "header match beats method and plain prefix", req: Request{Host: "shop.example.com", Path: "/api/x", Method: "POST", Headers: map[string][]string{"x-version": {"v2"}}},
			winner: "httproute apps/shop rule[2]", backends: "api-write:1.00"},
		{name: "header match beats query match", req: Request{Host: "shop.example.com", Path: "/api/x", Headers: map[string][]string{"X-Version": {"v2"}}, Query: map[string][]string{"debug": {"1"}}},
			winner: "httproute apps/shop rule[1]", backends: "api-v2:1.00"},
		{name: "query match", req: Request{Host: "shop.example.com", Path: "/api", Query: map[string][]string{"debug": {"1"}}}, winner: "httproute apps/shop rule[3]", backends: "api-debug:1.00"},
		{name: "weights", req: Request{Host: "shop.example.com", Path: "/api/"}, winner: "httproute apps/shop rule[4]", backends: "api:0.75 api-canary:0.25"},
		{name: "exact hostname beats the route without hostnames", req: Request{Host: "shop.example.com:80", Path: "/"}, winner: "httproute apps/catchall rule[0]", backends: "web:1.00"},
		{name: "wildcard listener, deeper host", req: Request{Host: "a.b.example.com", Path: "/api"}, winner: "httproute apps/catchall rule[0]", backends: "web:1.00"},
		{name: "no listener for the host", req: Request{Host: "example.com", Path: "/"}, status: 404, why: "host example.com is the domain of wildcard *.example.com, which matches only names below it"},
		{name: "redirect", req: Request{Host: "shop.example.com", Path: "/old/page"}, status: 301, winner: "httproute apps/shop rule[5]", why: "https://shop.example.com/new/page"},
		{name: "half the backends invalid", req: Request{Host: "shop.example.com", Path: "/broken"}, winner: "httproute apps/shop rule[6]", backends: "missing:0.50 api:0.50", why: "50% of requests"},
		{name: "other port: the route is not allowed on that listener", req: Request{Host: "shop.example.com", Path: "/admin", Port: 8080}, status: 404, why: "no rule of the routes attached to listener admin"},
		{name: "no listener on the port", req: Request{Host: "shop.example.com", Path: "/", Port: 9000}, why: "no Gateway has an HTTP listener on port 9000"},
		{name: "https without listener", req: Request{Scheme: "https", Host: "shop.example.com", Path: "/"}, why: "no Gateway has an HTTPS listener on port 443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := m.Resolve(tt.req)[0]
			winner := ""
			if res.Winner != nil {
				winner = res.Winner.Name()
			}
			var bs []string
			for _, b := range res.Backends {
				bs = append(bs, fmt.Sprintf("%s:%.2f", b.Name, b.Share))
			}
			if res.Status != tt.status || winner != tt.winner || strings.Join(bs, " ") != tt.backends || !strings.Contains(res.Why, tt.why) {
				t.Fatalf("status %d, winner %q, backends %v, why %q\nwant status %d, winner %q, backends %q, why containing %q",
					res.Status, winner, bs, res.Why, tt.status, tt.winner, tt.backends, tt.why)
			}
		})
	}
}

func TestNearMisses(t *testing.T) {
	m := modelOf(t, shop+services("apps", "cart", "api-v2", "api-write", "api-debug", "api", "api-canary", "web", "admin"), true)
	tests := []struct {
		name string
		req  Request
		rule string // Candidate.Name()
		why  string
	}{
		{name: "exact path with a trailing slash", req: Request{Host: "shop.example.com", Path: "/cart/"}, rule: "httproute apps/shop rule[0]", why: "a trailing slash is a different path"},
		{name: "exact path below", req: Request{Host: "shop.example.com", Path: "/cart/items"}, rule: "httproute apps/shop rule[0]", why: "which matches that path only"},
		{name: "exact path case", req: Request{Host: "shop.example.com", Path: "/Cart"}, rule: "httproute apps/shop rule[0]", why: "differs in case"},
		{name: "prefix element boundary", req: Request{Host: "shop.example.com", Path: "/apiv2"}, rule: "httproute apps/shop rule[4]", why: "a prefix matches whole path elements"},
		{name: "prefix case", req: Request{Host: "shop.example.com", Path: "/API/x"}, rule: "httproute apps/shop rule[4]", why: "differs in case from PathPrefix /api"},
		{name: "header value", req: Request{Host: "shop.example.com", Path: "/api", Headers: map[string][]string{"X-Version": {"v3"}}}, rule: "httproute apps/shop rule[1]", why: `header X-Version is "v3", not "v2"`},
		{name: "header missing", req: Request{Host: "shop.example.com", Path: "/api"}, rule: "httproute apps/shop rule[1]", why: "header X-Version is missing"},
		{name: "method", req: Request{Host: "shop.example.com", Path: "/api", Method: "PUT"}, rule: "httproute apps/shop rule[2]", why: "method PUT is not POST"},
		{name: "query value", req: Request{Host: "shop.example.com", Path: "/api", Query: map[string][]string{"debug": {"0"}}}, rule: "httproute apps/shop rule[3]", why: `query param debug is "0", not "1"`},
		{name: "query name case", req: Request{Host: "shop.example.com", Path: "/api", Query: map[string][]string{"Debug": {"1"}}}, rule: "httproute apps/shop rule[3]", why: "names are case-sensitive"},
		{name: "lost on precedence", req: Request{Host: "shop.example.com", Path: "/api", Method: "POST"}, rule: "httproute apps/shop rule[4]", why: "wins by method match"},
		{name: "lost on hostname", req: Request{Host: "shop.example.com", Path: "/api"}, rule: "httproute apps/catchall rule[0]", why: "its hostname shop.example.com is more specific than *.example.com"},
		{name: "wrong host", req: Request{Host: "blog.example.com", Path: "/cart"}, rule: "httproute apps/shop rule[0]", why: "host blog.example.com matches none of shop.example.com, the route's hostnames on this listener"},
		{name: "attached to another listener", req: Request{Host: "shop.example.com", Path: "/admin", Port: 8080}, rule: "httproute apps/admin rule[0]", why: "allows routes from namespace infra only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := m.Resolve(tt.req)[0]
			for _, c := range res.Candidates {
				if c.Name() == tt.rule && !c.Winner && strings.Contains(c.Why, tt.why) {
					return
				}
			}
			var got []string
			for _, c := range res.Candidates {
				got = append(got, fmt.Sprintf("%s winner=%v: %s", c.Name(), c.Winner, c.Why))
			}
			t.Fatalf("no candidate %s with why containing %q:\n  %s", tt.rule, tt.why, strings.Join(got, "\n  "))
		})
	}
}

func TestShadowed(t *testing.T) {
	tests := []struct {
		name   string
		routes string
		want   []string // route field: by
	}{
		{name: "same match in a later rule", routes: `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /api}}]
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}}, {path: {value: /other}}]
    backendRefs: [{name: web, port: 80}]
`, want: []string{"httproute/infra/a spec.rules[1].matches[0]: the first matching rule of a route wins"}},
		{name: "a trailing slash makes a longer prefix for the same requests", routes: `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /api}}]
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {value: /api/}}]
    backendRefs: [{name: web, port: 80}]
`, want: []string{"httproute/infra/a spec.rules[0].matches[0]: longer path prefix"}},
		{name: "same match in another route, alphabetical order", routes: `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /api}, headers: [{name: A, value: "1"}, {name: b, value: "2"}]}]
    backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /api}, headers: [{name: B, value: "2"}, {name: a, value: "1"}]}]
    backendRefs: [{name: web, port: 80}]
`, want: []string{"httproute/infra/b spec.rules[0].matches[0]: without creationTimestamps"}},
		{name: "different hostnames do not shadow", routes: `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  hostnames: [a.example.com]
  rules:
  - backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  hostnames: [b.example.com]
  rules:
  - backendRefs: [{name: web, port: 80}]
`},
		{name: "more headers are not shadowed", routes: `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /}}]
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {value: /}, headers: [{name: x, value: "1"}]}]
    backendRefs: [{name: web, port: 80}]
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := modelOf(t, gatewayYAML(httpListener)+tt.routes+services("infra", "web"), true)
			var got []string
			for _, p := range m.Problems() {
				if p.Check == CheckShadowed {
					got = append(got, p.Object.String()+" "+p.Field+": "+p.Message)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("shadowed = %q, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				field, why, _ := strings.Cut(w, ": ")
				if !strings.HasPrefix(got[i], field) || !strings.Contains(got[i], why) {
					t.Errorf("got %q, want %q", got[i], w)
				}
			}
		})
	}
}

func TestNewRequest(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		want    Request
		wantErr string
	}{
		{name: "https with port, path and query", url: "https://Shop.example.com:8443/api/v1?debug=1&x=2",
			want: Request{Scheme: "https", Host: "Shop.example.com:8443", Port: 8443, SNI: "shop.example.com", Path: "/api/v1", Query: map[string][]string{"debug": {"1"}, "x": {"2"}}}},
		{name: "plain http", url: "http://shop.example.com", want: Request{Scheme: "http", Host: "shop.example.com", SNI: "shop.example.com", Query: map[string][]string{}}},
		{name: "IP address: no server name", url: "http://192.0.2.1/", want: Request{Scheme: "http", Host: "192.0.2.1", Path: "/", Query: map[string][]string{}}},
		{name: "other scheme", url: "ftp://shop.example.com/", wantErr: "the scheme must be http or https"},
		{name: "no host", url: "http:///path", wantErr: "has no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewRequest(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEntryNotes(t *testing.T) {
	m := modelOf(t, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: missing
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    tls: {certificateRefs: [{name: nope}]}
`+routeYAML("infra", "name: gw", ""), true)
	res := m.Resolve(Request{Scheme: "https", Host: "shop.example.com", Path: "/"})[0]
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"GatewayClass missing is not known", "the TLS handshake fails before any route applies: InvalidCertificateRef"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
}
