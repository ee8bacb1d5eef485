package ingresscheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svc-doctor/svc-doctor/report"
)

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
			if rep.Verdict.OK() != tt.wantOK {
				t.Errorf("verdict OK = %v, want %v (%s)", rep.Verdict.OK(), tt.wantOK, rep.Verdict.Text())
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
			if rep.Verdict.OK() && tt.wantRouted != "" && !strings.Contains(rep.Verdict.Text(), "is served by "+tt.wantRouted) {
				t.Errorf("verdict %q does not lead with the controller's route %q", rep.Verdict.Text(), tt.wantRouted)
			}
		})
	}
}

// routeName names the route a check settled on as "ns/name field" ("" for none).
func routeName(rc report.RouteCheck) string {
	if rc.Ingress.Name == "" {
		return ""
	}
	return rc.Ingress.Namespace + "/" + rc.Ingress.Name + " " + rc.Field
}
