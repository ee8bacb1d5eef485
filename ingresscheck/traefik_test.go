package ingresscheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svc-doctor/svc-doctor/internal/ingressroute"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// TestTraefikRouter checks the router rule and default priority (the rule's length) that
// Traefik v3.6's Kubernetes Ingress provider builds for a path: Host(`h`) or, for a wildcard,
// HostRegexp(`^[a-zA-Z0-9-]+\.rest$`) with QuoteMeta'd dots in backticks (single backslashes),
// then the path matcher with its path in a Go-quoted string (Traefik v3.6.11 and later, which
// quote paths so that they cannot break out of the rule; a plain path has the same length
// between double quotes as between backticks).
func TestTraefikRouter(t *testing.T) {
	tests := []struct {
		name         string
		host         string
		path         string
		pathType     networkingv1.PathType // "" for none
		annotations  map[string]string
		strict       bool
		wantRule     string
		wantPriority int      // 0: the length of wantRule
		wantMatch    []string // "host path" requests the router matches
		wantNoMatch  []string
	}{
		{name: "wildcard host: one backslash per dot", host: "*.ex.io", path: "/", pathType: networkingv1.PathTypePrefix,
			wantRule: "HostRegexp(`^[a-zA-Z0-9-]+\\.ex\\.io$`) && PathPrefix(\"/\")", wantPriority: 56,
			wantMatch: []string{"a.ex.io /x", "A-1.ex.io /"}, wantNoMatch: []string{"ex.io /", "a.b.ex.io /", "aXex.io /"}},
		{name: "any host, 43-character prefix outranks the wildcard's /", path: "/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", pathType: networkingv1.PathTypePrefix,
			wantRule: "PathPrefix(\"/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\")", wantPriority: 57,
			wantMatch: []string{"a.ex.io /xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxyz"}},
		{name: "exact host and Exact path", host: "shop.example.com", path: "/api/v1/health", pathType: networkingv1.PathTypeExact,
			wantRule:  "Host(`shop.example.com`) && Path(\"/api/v1/health\")",
			wantMatch: []string{"shop.example.com /api/v1/health"}, wantNoMatch: []string{"shop.example.com /api/v1/health/", "blog.example.com /api/v1/health"}},
		{name: "Prefix compares characters", host: "shop.example.com", path: "/api", pathType: networkingv1.PathTypePrefix,
			wantRule:  "Host(`shop.example.com`) && PathPrefix(\"/api\")",
			wantMatch: []string{"shop.example.com /apix", "shop.example.com /api/v1"}},
		{name: "host without paths", host: "shop.example.com",
			wantRule: "Host(`shop.example.com`)", wantMatch: []string{"shop.example.com /anything"}},
		{name: "strict prefix matching", host: "shop.example.com", path: "/api/", pathType: networkingv1.PathTypePrefix, strict: true,
			wantRule:  "Host(`shop.example.com`) && (Path(\"/api\") || PathPrefix(\"/api/\"))",
			wantMatch: []string{"shop.example.com /api", "shop.example.com /api/v1"}, wantNoMatch: []string{"shop.example.com /apix"}},
		{name: "strict prefix matching of the root", path: "/", pathType: networkingv1.PathTypePrefix, strict: true,
			wantRule: "PathPrefix(\"/\")", wantMatch: []string{"x /"}},
		{name: "ImplementationSpecific with a path matcher annotation", path: "/api", pathType: networkingv1.PathTypeImplementationSpecific,
			annotations: map[string]string{traefikPathMatcher: "Path"},
			wantRule:    "Path(\"/api\")", wantNoMatch: []string{"x /api/v1"}},
		{name: "a double quote in the path is escaped", path: "/a\"b\\c", pathType: networkingv1.PathTypePrefix,
			wantRule: "PathPrefix(\"/a\\\"b\\\\c\")", wantMatch: []string{"x /a\"b\\c/d"}},
		{name: "wildcard Prefix compares characters", host: "*.foo.com", path: "/foo", pathType: networkingv1.PathTypePrefix,
			wantRule:  "HostRegexp(`^[a-zA-Z0-9-]+\\.foo\\.com$`) && PathPrefix(\"/foo\")",
			wantMatch: []string{"a.foo.com /foobar", "A.foo.com:443 /foo"}, wantNoMatch: []string{"a.b.foo.com /foo"}},
		{name: "wildcard strict prefix", host: "*.foo.com", path: "/foo", pathType: networkingv1.PathTypePrefix, strict: true,
			wantRule:  "HostRegexp(`^[a-zA-Z0-9-]+\\.foo\\.com$`) && (Path(\"/foo\") || PathPrefix(\"/foo/\"))",
			wantMatch: []string{"a.foo.com /foo/x"}, wantNoMatch: []string{"a.foo.com /foobar"}},
		{name: "wildcard Exact", host: "*.foo.com", path: "/foo", pathType: networkingv1.PathTypeExact,
			wantRule:  "HostRegexp(`^[a-zA-Z0-9-]+\\.foo\\.com$`) && Path(\"/foo\")",
			wantMatch: []string{"A.foo.com:443 /foo"}, wantNoMatch: []string{"a.b.foo.com /foo", "a.foo.com /foo/"}},
		{name: "priority annotation", host: "*.ex.io", path: "/", pathType: networkingv1.PathTypePrefix, annotations: map[string]string{traefikPriority: "100"},
			wantRule: "HostRegexp(`^[a-zA-Z0-9-]+\\.ex\\.io$`) && PathPrefix(\"/\")", wantPriority: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := networkingv1.HTTPIngressPath{Path: tt.path, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web"}}}
			if tt.pathType != "" {
				pt := tt.pathType
				p.PathType = &pt
			}
			ing := &snapshot.Ingress{Ingress: &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ing", Annotations: tt.annotations},
				Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: tt.host,
					IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{p}}}}}}}}
			routes := ingressroute.Routes(ing.Ingress, "traefik")
			if len(routes) != 1 {
				t.Fatalf("%d routes", len(routes))
			}
			tr := traefikRouter(ing, routes[0], tt.strict)
			if tt.wantPriority == 0 {
				tt.wantPriority = len(tt.wantRule)
			}
			if tr.rule != tt.wantRule || tr.priority != tt.wantPriority {
				t.Errorf("rule %s (priority %d), want %s (priority %d)", tr.rule, tr.priority, tt.wantRule, tt.wantPriority)
			}
			for _, req := range tt.wantMatch {
				h, path, _ := strings.Cut(req, " ")
				if !tr.matches(h, path) {
					t.Errorf("%s does not match %s", tr.rule, req)
				}
			}
			for _, req := range tt.wantNoMatch {
				h, path, _ := strings.Cut(req, " ")
				if tr.matches(h, path) {
					t.Errorf("%s matches %s", tr.rule, req)
				}
			}
		})
	}
}

// TestTraefikPriorityPicksTheRouter runs the reviewer's case end to end: a wildcard host's / (rule
// of 56 characters) against an any-host prefix of 43 characters (57): Traefik sends
// a.ex.io/xxx... to the any-host route, not to the wildcard the Ingress precedence picks.
func TestTraefikPriorityPicksTheRouter(t *testing.T) {
	tests := []struct {
		name        string
		files       []string
		url         string
		wantWarning string
	}{
		{name: "43 characters: the any-host route wins", files: []string{"testdata/tprio.yaml", "testdata/controller.yaml"}, url: "http://a.ex.io/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
			wantWarning: "Traefik sends this request to ingress default/anyhost spec.rules[0].http.paths[0] -> service web2 port http (80/TCP): Traefik orders routers by the length of their rule, not by the Ingress precedence: PathPrefix(\"/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\") (priority 57) outranks HostRegexp(`^[a-zA-Z0-9-]+\\.ex\\.io$`) && PathPrefix(\"/\") (priority 56)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := check(t, tt.url, tt.files...)
			if len(rep.Routes) != 1 || !containsSub(rep.Routes[0].Warnings, tt.wantWarning) {
				t.Errorf("warnings %q lack %q", rep.Routes[0].Warnings, tt.wantWarning)
			}
		})
	}
}

// writeManifests writes docs (YAML documents) to a file of a temporary directory.
func writeManifests(t *testing.T, docs ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const (
	webService = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]`
	traefikDefaultClass = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: traefik, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
spec: {controller: traefik.io/ingress-controller}`
	otherDefaultClass = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: blue, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
spec: {controller: example.com/blue}`
	// wildAndExact: a wildcard host and a short exact host under it; Traefik's longer wildcard
	// rule outranks the exact host.
	wildAndExact = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: wild, namespace: default}
spec:
  rules:
  - host: "*.w.io"
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: exact, namespace: default}
spec:
  rules:
  - host: e.w.io
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}`
	// rulesAndDefault has rules (a.example.com without paths, b.example.com/foo) and a default backend.
	rulesAndDefault = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: hostonly, namespace: default, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
  rules:
  - host: a.example.com
  - host: b.example.com
    http:
      paths:
      - {path: /foo, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}`
	defaultOnly = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: def, namespace: default, creationTimestamp: "2026-02-01T00:00:00Z"}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}`
	missingBackend = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: gone, namespace: default}
spec:
  rules:
  - host: c.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: missing, port: {number: 80}}}}`
)

// TestDefaultBackendByController checks which default backend answers a request no rule matches:
// Traefik honours spec.defaultBackend only on an Ingress without rules (its provider builds the
// default router from those alone) and answers 404 otherwise; for other controllers the Ingress
// specification's semantics are kept, and the report says so.
func TestDefaultBackendByController(t *testing.T) {
	tests := []struct {
		name        string
		docs        []string
		url         string
		wantOK      bool
		wantRoute   string // ns/name field of the route checked, "" for none
		wantProblem string
		wantWarning string
		wantRouted  string // the route Traefik really uses (ControllerRoute), "" when not set
	}{
		{name: "Traefik ignores the default backend of an Ingress with rules", docs: []string{traefikDefaultClass, webService, rulesAndDefault}, url: "http://x.example.com/",
			wantProblem: "no rule of class traefik matches x.example.com/: the controller's own default backend answers (404)",
			wantWarning: "ingress default/hostonly has rules, so Traefik ignores its spec.defaultBackend"},
		{name: "a host without paths is no exception", docs: []string{traefikDefaultClass, webService, rulesAndDefault}, url: "http://a.example.com/",
			wantProblem: "the controller's own default backend answers (404)", wantWarning: "Traefik ignores its spec.defaultBackend"},
		{name: "Traefik serves the default backend of an Ingress without rules", docs: []string{traefikDefaultClass, webService, defaultOnly}, url: "http://x.example.com/",
			wantOK: true, wantRoute: "default/def spec.defaultBackend", wantWarning: "Traefik sends the request to the default backend of ingress default/def, an Ingress without rules"},
		{name: "only the Ingress without rules counts, even when younger", docs: []string{traefikDefaultClass, webService, rulesAndDefault, defaultOnly}, url: "http://x.example.com/",
			wantOK: true, wantRoute: "default/def spec.defaultBackend", wantWarning: "ingress default/hostonly has rules, so Traefik ignores its spec.defaultBackend"},
		{name: "Traefik drops a broken route: its default router answers", docs: []string{traefikDefaultClass, webService, defaultOnly, missingBackend}, url: "http://c.example.com/",
			wantRoute: "default/gone spec.rules[0].http.paths[0]", wantProblem: "service missing does not exist",
			wantWarning: "its default router sends the request to ingress default/def spec.defaultBackend", wantRouted: "ingress default/def spec.defaultBackend -> service web port http (80/TCP)"},
		{name: "Traefik's priorities beat the specification: the verdict names Traefik's route", docs: []string{traefikDefaultClass, webService, wildAndExact}, url: "http://e.w.io/",
			wantOK: true, wantRoute: "default/exact spec.rules[0].http.paths[0]", wantWarning: "Traefik orders routers by the length of their rule",
			wantRouted: "ingress default/wild spec.rules[0].http.paths[0] -> service web port http (80/TCP)"},
		{name: "other controllers: the specification's default backend, said so", docs: []string{otherDefaultClass, webService, rulesAndDefault}, url: "http://x.example.com/",
			wantOK: true, wantRoute: "default/hostonly spec.defaultBackend",
			wantWarning: "by the Ingress specification the request goes to the default backend of ingress default/hostonly; svc-doctor does not model how controller example.com/blue treats spec.defaultBackend"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := check(t, tt.url, writeManifests(t, tt.docs...))
			if len(rep.Routes) != 1 {
				t.Fatalf("%d routes, want 1", len(rep.Routes))
			}
			rc := rep.Routes[0]
			got := routeName(rc)
			if got != tt.wantRoute {
				t.Errorf("route %q, want %q", got, tt.wantRoute)
			}
			if rep.Verdict.OK != tt.wantOK {
				t.Errorf("verdict OK = %v, want %v (%s)", rep.Verdict.OK, tt.wantOK, rep.Verdict.Summary)
			}
			if tt.wantProblem != "" && !containsSub(rep.Verdict.Problems, tt.wantProblem) {
				t.Errorf("problems %q lack %q", rep.Verdict.Problems, tt.wantProblem)
			}
			if !containsSub(rc.Warnings, tt.wantWarning) {
				t.Errorf("warnings %q lack %q", rc.Warnings, tt.wantWarning)
			}
			if rc.ControllerRoute != tt.wantRouted {
				t.Errorf("controller route %q, want %q", rc.ControllerRoute, tt.wantRouted)
			}
			// a healthy request the controller routes elsewhere: the verdict names the controller's route
			if rep.Verdict.OK && tt.wantRouted != "" && !strings.Contains(rep.Verdict.Summary, "is served by "+tt.wantRouted) {
				t.Errorf("verdict %q does not lead with the controller's route %q", rep.Verdict.Summary, tt.wantRouted)
			}
		})
	}
}

// routeName names the route a check settled on as "ns/name field" ("" for none).
func routeName(rc RouteCheck) string {
	if rc.Ingress.Name == "" {
		return ""
	}
	return rc.Ingress.Namespace + "/" + rc.Ingress.Name + " " + rc.Field
}
