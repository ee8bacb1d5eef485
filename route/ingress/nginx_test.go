package ingress

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// nginxClass is ingress-nginx's IngressClass; otherClass one of a controller svc-doctor has no
// profile for.
const (
	nginxClass = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}`
	otherClass = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: example.com/other}`
	// nginxDefaultClass is nginxClass as the default IngressClass: it takes hosts no rule names.
	nginxDefaultClass = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
spec: {controller: k8s.io/ingress-nginx}`
)

// nginxIngress is an Ingress of class nginx: annotations as "key: value" YAML flow pairs (""
// for none), host ("" for none), then paths as "PATH TYPE SERVICE" triples.
func nginxIngress(name, annotations, host string, paths ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: %s, namespace: default, annotations: {%s}}\nspec:\n  ingressClassName: nginx\n  rules:\n", name, annotations)
	fmt.Fprintf(&b, "  - host: %q\n    http:\n      paths:\n", host)
	for _, p := range paths {
		f := strings.Fields(p)
		fmt.Fprintf(&b, "      - {path: %q, pathType: %s, backend: {service: {name: %s, port: {number: 80}}}}\n", f[0], f[1], f[2])
	}
	return b.String()
}

// nginxServices declares a Service of port 80 for each name.
func nginxServices(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: default}\nspec:\n  selector: {app: %s}\n  ports: [{port: 80, targetPort: 8080}]", n, n))
	}
	return out
}

func nginxCheck(t *testing.T, url string, docs []string) *report.IngressCheckReport {
	t.Helper()
	res := manifest.Parse("in.yaml", []byte(strings.Join(docs, "\n---\n")))
	tg, err := ParseTarget(url)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(snapshot.FromManifests(res, "default"), tg, CheckOptions{Source: "manifests", Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestIngressNginxProfile checks URLs against Ingresses of an ingress-nginx class: each case names
// the documented behaviour it encodes (ingress-nginx user guide, "Ingress Path Matching" and
// "Default backend"; nginx's location directive for the trailing slash).
func TestIngressNginxProfile(t *testing.T) {
	svcs := nginxServices("exact", "ver", "svc1", "svc2", "svc3", "shop", "foo", "any", "def", "app", "web")
	// regexOnB: Ingress a has no annotation; Ingress b, same host, sets use-regex.
	regexOnB := []string{nginxIngress("a", "", "h.io", "/api Exact exact"),
		nginxIngress("b", `nginx.ingress.kubernetes.io/use-regex: "true"`, "h.io", "/api/v[0-9]+ ImplementationSpecific ver")}
	// docExample is the user guide's path-priority example: rewrite-target on test-ingress-2 only.
	docExample := []string{nginxIngress("test-ingress-1", "", "test.com", "/foo/bar Prefix svc1", "/foo/bar/ Prefix svc2"),
		nginxIngress("test-ingress-2", `nginx.ingress.kubernetes.io/rewrite-target: /$1`, "test.com", "/foo/bar/(.+) ImplementationSpecific svc3")}
	// docWarning is the user guide's warning: a regex outranks a longer literal match.
	docWarning := []string{nginxIngress("test-ingress-3", `nginx.ingress.kubernetes.io/use-regex: "true"`, "test.com",
		"/foo/bar/bar ImplementationSpecific svc1", "/foo/bar/[A-Z0-9]{3} ImplementationSpecific svc2")}
	defaultBackend := `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: withdef, namespace: default, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: def, port: {number: 80}}}
  rules:
  - host: d.io
    http: {paths: [{path: /app, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}]}`
	// earlier declares d.io before withdef, without a default backend
	earlier := strings.Replace(nginxIngress("earlier", "", "d.io", "/other Prefix app"), "namespace: default,", `namespace: default, creationTimestamp: "2025-01-01T00:00:00Z",`, 1)
	notReady := `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 8080}]
endpoints: [{addresses: [10.0.0.9], conditions: {ready: false}}]`

	tests := []struct {
		name         string
		docs         []string
		class        string // the IngressClass (default: nginxClass)
		url          string
		wantProfile  string // "" for ingress-nginx
		wantRoute    string // ns/name field of the route checked, "" for none
		wantRouted   string // fragment of ControllerRoute, "" for none
		wantRedirect string
		wantOK       bool
		wantProblem  string
		wantWarning  string
	}{
		// "use-regex OR rewrite-target on any Ingress for a given host" makes ALL paths of the
		// host case-insensitive regex locations: a's Exact /api becomes ~* "^/api", a prefix
		{name: "use-regex on b turns a's Exact path into a regex prefix", docs: regexOnB, url: "http://h.io/api/extra",
			wantRoute: "default/a spec.rules[0].http.paths[0]", wantOK: true,
			wantWarning: `ingress-nginx matches Exact /api as the case-insensitive regular expression ~* "^/api"`},
		// the regex locations are case-insensitive (~*)
		{name: "case-insensitive", docs: regexOnB, url: "http://h.io/API", wantRoute: "default/a spec.rules[0].http.paths[0]", wantOK: true,
			wantWarning: "no rule matches h.io/API by the Ingress specification, but ingress-nginx's location ~* \"^/api\""},
		// paths sorted by descending length, first regex match wins
		{name: "the longer regex is tried first", docs: regexOnB, url: "http://h.io/Api/V2", wantRoute: "default/b spec.rules[0].http.paths[0]", wantOK: true},
		// the user guide's example: /foo/bar/1 -> service3, /foo/bar/ -> service2, /foo/bar -> service1
		{name: "guide example: /foo/bar/1 goes to the regex of the rewrite-target Ingress", docs: docExample, url: "http://test.com/foo/bar/1",
			wantRoute: "default/test-ingress-1 spec.rules[0].http.paths[0]", wantRouted: "ingress default/test-ingress-2 spec.rules[0].http.paths[0] -> service svc3", wantOK: true,
			wantWarning: `rewrite-target, which implies use-regex: every path of the server of host test.com is a case-insensitive regular expression, tried longest path first, and ~* "^/foo/bar/(.+)" matches first`},
		{name: "guide example: /foo/bar/", docs: docExample, url: "http://test.com/foo/bar/",
			wantRoute: "default/test-ingress-1 spec.rules[0].http.paths[0]", wantRouted: "ingress default/test-ingress-1 spec.rules[0].http.paths[1] -> service svc2", wantOK: true},
		{name: "guide example: /foo/bar", docs: docExample, url: "http://test.com/foo/bar", wantRoute: "default/test-ingress-1 spec.rules[0].http.paths[0]", wantOK: true},
		// the guide's warning: /foo/bar/bar matches ^/foo/bar/[A-Z0-9]{3}, tried before the shorter literal path
		{name: "guide warning: the longer regex beats the exact literal", docs: docWarning, url: "http://test.com/foo/bar/bar",
			wantRoute: "default/test-ingress-3 spec.rules[0].http.paths[0]", wantRouted: "ingress default/test-ingress-3 spec.rules[0].http.paths[1] -> service svc2", wantOK: true},
		// rewrite-target alone implies use-regex: case-insensitive prefix
		{name: "rewrite-target implies regex", docs: []string{nginxIngress("r", `nginx.ingress.kubernetes.io/rewrite-target: /`, "s.io", "/shop Prefix shop")},
			url: "http://s.io/SHOP/cart", wantRoute: "default/r spec.rules[0].http.paths[0]", wantOK: true, wantWarning: "rewrite-target, which implies use-regex"},
		// RE2 is not PCRE: a lookahead does not compile; the note names the Ingress and path
		{name: "a path RE2 rejects is reported, not simulated", docs: []string{nginxIngress("neg", `nginx.ingress.kubernetes.io/use-regex: "true"`, "n.io",
			"/(?!admin).* ImplementationSpecific foo", "/ Prefix any")}, url: "http://n.io/x",
			wantRoute: "default/neg spec.rules[0].http.paths[1]", wantOK: true,
			wantWarning: "ingress default/neg path /(?!admin).* is not a regular expression Go's RE2 accepts"},
		// nginx: a prefix location ending with a slash answers the path without it with a 301
		{name: "trailing slash: 301 redirect", docs: []string{nginxIngress("slash", "", "t.io", "/foo/ Prefix foo")}, url: "http://t.io/foo",
			wantRoute: "default/slash spec.rules[0].http.paths[0]", wantRouted: "a 301 redirect to /foo/", wantRedirect: "/foo/", wantOK: true,
			wantWarning: "ingress-nginx answers /foo with a 301 redirect to /foo/"},
		{name: "trailing slash: below it, no redirect", docs: []string{nginxIngress("slash", "", "t.io", "/foo/ Prefix foo")}, url: "http://t.io/foo/x",
			wantRoute: "default/slash spec.rules[0].http.paths[0]", wantOK: true},
		// ... unless a location for the exact path exists (nginx's documented way out)
		{name: "trailing slash: an Exact path prevents the redirect", docs: []string{nginxIngress("slash", "", "t.io", "/foo/ Prefix foo", "/foo Exact app")}, url: "http://t.io/foo",
			wantRoute: "default/slash spec.rules[0].http.paths[1]", wantOK: true},
		// without use-regex an ImplementationSpecific path is an nginx prefix location: characters
		{name: "ImplementationSpecific compares characters", docs: []string{nginxIngress("is", "", "i.io", "/foo ImplementationSpecific foo")}, url: "http://i.io/foobar",
			wantRoute: "default/is spec.rules[0].http.paths[0]", wantOK: true, wantWarning: "which compares characters, not path elements"},
		// no location of the host's server: the default backend answers 404, even though a rule
		// for any host has the path (nginx picks the server by host first)
		{name: "host server first: the any-host rule is not used", docs: []string{nginxIngress("h", "", "x.io", "/app Prefix app"), nginxIngress("anyhost", "", "", "/other Prefix any")},
			url: "http://x.io/other", wantRoute: "default/anyhost spec.rules[0].http.paths[0]", wantRouted: "none (ingress-nginx's default backend answers 404)",
			wantProblem: "ingress-nginx answers 404: ingress-nginx chooses the server block by host before any path"},
		{name: "unknown host: the default backend's 404", docs: []string{nginxIngress("h", "", "x.io", "/app Prefix app")}, class: nginxDefaultClass, url: "http://y.io/app",
			wantProblem: "no rule of class nginx matches y.io/app: the controller's own default backend answers (404)"},
		// spec.defaultBackend of the Ingress declaring the host serves what no path matches
		{name: "spec.defaultBackend", docs: []string{defaultBackend}, url: "http://d.io/x", wantRoute: "default/withdef spec.defaultBackend", wantOK: true,
			wantWarning: "ingress-nginx sends it to the default backend of ingress default/withdef"},
		{name: "spec.defaultBackend of a later Ingress of the host is not used", docs: []string{earlier, defaultBackend}, url: "http://d.io/x",
			wantProblem: "no rule of class nginx matches d.io/x: the controller's own default backend answers (404)"},
		{name: "catch-all server: spec.defaultBackend", docs: []string{defaultBackend}, class: nginxDefaultClass, url: "http://z.io/", wantRoute: "default/withdef spec.defaultBackend", wantOK: true},
		// a Service without ready endpoints: ingress-nginx answers 503
		{name: "no ready endpoint: 503", docs: []string{nginxIngress("w", "", "w.io", "/ Prefix web"), notReady}, url: "http://w.io/",
			wantRoute: "default/w spec.rules[0].http.paths[0]", wantProblem: "service web has no ready endpoint for port 80 (1 not ready): ingress-nginx has no endpoint to send the request to and answers 503"},
		// another controller: the specification's semantics, unchanged
		{name: "other controller: no regex", docs: regexOnB, class: otherClass, url: "http://h.io/API", wantProfile: ProfileSpec,
			wantProblem: "no rule of class nginx matches h.io/API"},
		{name: "other controller: no redirect", docs: []string{nginxIngress("slash", "", "t.io", "/foo/ Prefix foo")}, class: otherClass, url: "http://t.io/foo", wantProfile: ProfileSpec,
			wantRoute: "default/slash spec.rules[0].http.paths[0]", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.class == "" {
				tt.class = nginxClass
			}
			if tt.wantProfile == "" {
				tt.wantProfile = ProfileIngressNginx
			}
			docs := append(append([]string{tt.class}, svcs...), tt.docs...)
			rep := nginxCheck(t, tt.url, docs)
			if len(rep.Routes) != 1 {
				t.Fatalf("%d routes", len(rep.Routes))
			}
			rc := rep.Routes[0]
			if got := routeOf(rc); got != tt.wantRoute {
				t.Errorf("route %q, want %q", got, tt.wantRoute)
			}
			if rc.Ingress.Name != "" && (rc.Profile == nil || rc.Profile.Name != tt.wantProfile) {
				t.Errorf("profile %v, want %s", rc.Profile, tt.wantProfile)
			}
			if !strings.Contains(rc.ControllerRoute, tt.wantRouted) || (tt.wantRouted == "") != (rc.ControllerRoute == "") {
				t.Errorf("controller route %q, want %q", rc.ControllerRoute, tt.wantRouted)
			}
			if got := ""; rc.Redirect != nil {
				got = rc.Redirect.Location
				if got != tt.wantRedirect || rc.Redirect.StatusCode != 301 {
					t.Errorf("redirect %+v, want 301 %s", rc.Redirect, tt.wantRedirect)
				}
			} else if tt.wantRedirect != "" {
				t.Errorf("no redirect, want %s", tt.wantRedirect)
			}
			if rep.Verdict.OK() != tt.wantOK {
				t.Errorf("verdict OK %v, want %v: %s %q", rep.Verdict.OK(), tt.wantOK, rep.Verdict.Text(), rep.Verdict.Problems)
			}
			if tt.wantProblem != "" && !containsFragment(rep.Verdict.Problems, tt.wantProblem) {
				t.Errorf("problems %q lack %q", rep.Verdict.Problems, tt.wantProblem)
			}
			if tt.wantWarning != "" && !containsFragment(rc.Warnings, tt.wantWarning) {
				t.Errorf("warnings %q lack %q", rc.Warnings, tt.wantWarning)
			}
		})
	}
}

func routeOf(rc report.RouteCheck) string {
	if rc.Ingress.Name == "" {
		return ""
	}
	return rc.Ingress.Namespace + "/" + rc.Ingress.Name + " " + rc.Field
}

func containsFragment(list []string, frag string) bool {
	for _, s := range list {
		if strings.Contains(s, frag) {
			return true
		}
	}
	return false
}

// TestIngressNginxRouteNotes checks the notes of ing/NAME on each path of an ingress-nginx class.
func TestIngressNginxRouteNotes(t *testing.T) {
	tests := []struct {
		name   string
		docs   []string
		target string
		want   []string // a fragment of a warning of each route, in order
	}{
		// "use-regex on any Ingress for a given host": b's annotation reaches a's paths
		{name: "use-regex of another Ingress of the host", target: "ing/a",
			docs: []string{nginxIngress("a", "", "h.io", "/api Exact exact", "/web/ Prefix web"),
				nginxIngress("b", `nginx.ingress.kubernetes.io/use-regex: "true"`, "h.io", "/v[0-9]+ ImplementationSpecific ver")},
			want: []string{`ingress-nginx matches Exact /api as the case-insensitive regular expression ~* "^/api"`,
				`Prefix /web/ as the case-insensitive regular expression ~* "^/web/"`}},
		// another host is not affected; a trailing slash redirects, ImplementationSpecific is a prefix location
		{name: "other host: no regex", target: "ing/c",
			docs: []string{nginxIngress("b", `nginx.ingress.kubernetes.io/use-regex: "true"`, "h.io", "/v[0-9]+ ImplementationSpecific ver"),
				nginxIngress("c", "", "other.io", "/web/ Prefix web", "/img ImplementationSpecific web")},
			want: []string{"ingress-nginx answers /web with a 301 redirect to /web/", "ingress-nginx makes /img the nginx prefix location /img"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := nginxCheck(t, tt.target, append([]string{nginxClass, nginxServices("exact", "web", "ver")[0]}, tt.docs...))
			if len(rep.Routes) != len(tt.want) {
				t.Fatalf("%d routes, want %d", len(rep.Routes), len(tt.want))
			}
			for i, w := range tt.want {
				if !containsFragment(rep.Routes[i].Warnings, w) {
					t.Errorf("route %d: warnings %q lack %q", i, rep.Routes[i].Warnings, w)
				}
			}
		})
	}
}
