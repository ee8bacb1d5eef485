package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
)

// The tests in this file run ingresscheck and lint --live against Gateways of class traefik
// (Traefik's Kubernetes Gateway provider, listeners on its entry points' ports 8000 and 8443
// behind the traefik Service's ports 80 and 443).

func gatewayGVR(res string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: res}
}

// needGatewayClass skips the test on a cluster without the traefik GatewayClass.
func needGatewayClass(f *framework.F) {
	f.T.Helper()
	if _, err := f.Cluster.Dynamic.Resource(gatewayGVR("gatewayclasses")).Get(f.Ctx, "traefik", metav1GetOptions); err != nil {
		if f.Cluster.Harness {
			f.T.Fatalf("the local harness installs GatewayClass traefik, but it is missing: %v", err)
		}
		f.T.Skipf("no GatewayClass traefik in this cluster (hack/cluster installs it with Traefik unless SVCDOC_WITH_TRAEFIK=0): %v", err)
	}
}

// tlsGateway is a Secret gw-tls holding cert and a Gateway gw of class traefik with an HTTP
// (8000) and an HTTPS (8443, terminating with gw-tls) listener for host h, routes from its own
// namespace only.
func tlsGateway(cert testCert, h string) string {
	return fmt.Sprintf(`---
apiVersion: v1
kind: Secret
metadata: {name: gw-tls}
type: kubernetes.io/tls
data: {tls.crt: %s, tls.key: %s}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: traefik
  listeners:
  - {name: http, port: 8000, protocol: HTTP, hostname: %[3]q, allowedRoutes: {namespaces: {from: Same}}}
  - name: https
    port: 8443
    protocol: HTTPS
    hostname: %[3]q
    allowedRoutes: {namespaces: {from: Same}}
    tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: gw-tls}]}
`, b64(cert.crt), b64(cert.key), h)
}

// waitRouteStatus waits until Traefik sets status.parents of HTTPRoute name (whatever the conditions).
func waitRouteStatus(f *framework.F, name string) {
	f.T.Helper()
	f.WaitFor("Traefik to set status.parents of HTTPRoute "+name, 90*time.Second, func(ctx ctxT) (bool, error) {
		r, err := f.Cluster.Dynamic.Resource(gatewayGVR("httproutes")).Namespace(f.Namespace).Get(ctx, name, metav1GetOptions)
		if err != nil {
			return false, err
		}
		parents, _, _ := unstructured.NestedSlice(r.Object, "status", "parents")
		if len(parents) == 0 {
			return false, fmt.Errorf("no status.parents yet")
		}
		return true, nil
	})
}

// TestGatewayIngresscheck: an HTTPRoute that sends requests with header X-Version: 2 and POST
// /echo to Service api and the others to Service web. ingresscheck names the winning rule and
// backend for each request shape, --probe sends each through Traefik's Service (found as the
// Service in front of the Gateway, port 80 reaching the listener on 8000) with the Host, headers
// and method, and the answers agree with the simulation, over https too (SNI, the listener's
// certificate). httproute/NAME and gateway/NAME check every rule and listener.
func TestGatewayIngresscheck(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	needGatewayClass(f)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web"})
	api := f.DeployTestserver(framework.TestserverSpec{Name: "api"})
	h := host(f, "gwic")
	now := time.Now()
	cert := newTestCert(t, []string{h}, now.Add(-time.Hour), now.Add(24*time.Hour))
	f.Apply(ingressServices + tlsGateway(cert, h) + fmt.Sprintf(`---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split}
spec:
  parentRefs: [{name: gw}]
  hostnames: [%[1]q]
  rules:
  - matches: [{headers: [{name: X-Version, value: "2"}]}]
    backendRefs: [{name: api, port: 8080}]
  - matches: [{method: POST, path: {type: PathPrefix, value: /echo}}]
    backendRefs: [{name: api, port: 8080}]
  - backendRefs: [{name: web, port: 80}]
`, h))
	waitRouteStatus(f, "split")
	waitServed(f, "http", h, "/", web.PodNames())
	waitServed(f, "https", h, "/", web.PodNames())

	tests := []struct {
		name        string
		args        []string
		wantRule    string
		wantService string
		wantPods    []string
	}{
		{name: "no header", args: []string{"http://" + h + "/"}, wantRule: "httproute " + f.Namespace + "/split rule[2]", wantService: "web", wantPods: web.PodNames()},
		{name: "header X-Version: 2", args: []string{"http://" + h + "/", "-H", "X-Version: 2"}, wantRule: "httproute " + f.Namespace + "/split rule[0]", wantService: "api", wantPods: api.PodNames()},
		{name: "POST /echo", args: []string{"http://" + h + "/echo", "-X", "POST", "--allow-unsafe-method"}, wantRule: "httproute " + f.Namespace + "/split rule[1]", wantService: "api", wantPods: api.PodNames()},
		{name: "https with header", args: []string{"https://" + h + "/", "-H", "x-version: 2"}, wantRule: "httproute " + f.Namespace + "/split rule[0]", wantService: "api", wantPods: api.PodNames()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, res := icRun(t, f, append(tt.args, "-n", f.Namespace, "--probe")...)
			if res.ExitCode != 0 {
				t.Fatalf("exit %d, verdict %+v\n%s", res.ExitCode, rep.Verdict, res.Stderr)
			}
			if rep.Gateway == nil || rep.Gateway.Served != report.ServedByGateway {
				t.Fatalf("gateway part: %+v", rep.Gateway)
			}
			var res0 *report.GatewayResolution
			for i := range rep.Gateway.Resolutions {
				if rep.Gateway.Resolutions[i].Takes() {
					res0 = &rep.Gateway.Resolutions[i]
				}
			}
			if res0 == nil || res0.Route == nil || res0.Route.Name != tt.wantRule || len(res0.Route.Backends) != 1 || res0.Route.Backends[0].Service != tt.wantService {
				t.Fatalf("resolution %+v, want %s -> %s", res0, tt.wantRule, tt.wantService)
			}
			if a := res0.Address; a == nil || a.Service != "ingress/traefik" {
				t.Errorf("address of the Gateway %+v, want service ingress/traefik", a)
			}
			if !strings.Contains(rep.Verdict.Text(), tt.wantRule) {
				t.Errorf("verdict %q does not name %s", rep.Verdict.Text(), tt.wantRule)
			}
			if len(rep.Probes) != 1 {
				t.Fatalf("%d probes, want 1: %+v", len(rep.Probes), rep.Probes)
			}
			p := rep.Probes[0]
			if p.Agrees == nil || !*p.Agrees || !slices.Contains(tt.wantPods, p.AnsweredBy) {
				t.Errorf("probe: %s (answered by %q, want one of %v)", p.Result, p.AnsweredBy, tt.wantPods)
			}
			if strings.HasPrefix(tt.args[0], "https") && (p.SNI != h || p.Certificate == nil || p.Certificate.SHA256 != cert.sha) {
				t.Errorf("https probe: SNI %q certificate %+v, want the listener's %s", p.SNI, p.Certificate, cert.sha)
			}
		})
	}

	t.Run("httproute and gateway objects", func(t *testing.T) {
		rep, res := icRun(t, f, "httproute/split", "-n", f.Namespace)
		if res.ExitCode != 0 || len(rep.GatewayRoutes) != 3 {
			t.Errorf("httproute/split: exit %d, %d rules, want 0 and 3", res.ExitCode, len(rep.GatewayRoutes))
		}
		rep, res = icRun(t, f, "gateway/gw", "-n", f.Namespace)
		if res.ExitCode != 0 || len(rep.Listeners) != 2 || len(rep.GatewayRoutes) != 3 {
			t.Errorf("gateway/gw: exit %d, %d listeners, %d rules, want 0, 2, 3", res.ExitCode, len(rep.Listeners), len(rep.GatewayRoutes))
		}
	})
}

// TestGatewayLintLive: routes broken in the ways lint reports, read from the cluster: a backend
// Service that does not exist (BackendNotFound), a port the Service does not have that is its
// targetPort, a sectionName no listener has (NoMatchingParent), a hostname the listener does not
// take (NoMatchingListenerHostname), a backend in another namespace without a ReferenceGrant
// (RefNotPermitted). Traefik's status.parents of the healthy route agrees with the specs: no
// route-status-mismatch for it.
func TestGatewayLintLive(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	needGatewayClass(f)
	f.DeployTestserver(framework.TestserverSpec{Name: "web"})
	h := host(f, "gwlint")
	f.Apply(webServices + fmt.Sprintf(`---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: traefik
  listeners:
  - {name: http, port: 8000, protocol: HTTP, hostname: %[1]q, allowedRoutes: {namespaces: {from: Same}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ok}
spec:
  parentRefs: [{name: gw}]
  hostnames: [%[1]q]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: missing-backend}
spec:
  parentRefs: [{name: gw}]
  hostnames: [%[1]q]
  rules: [{matches: [{path: {type: PathPrefix, value: /missing}}], backendRefs: [{name: nope, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: target-port}
spec:
  parentRefs: [{name: gw}]
  hostnames: [%[1]q]
  rules: [{matches: [{path: {type: PathPrefix, value: /tp}}], backendRefs: [{name: web, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: no-section}
spec:
  parentRefs: [{name: gw, sectionName: https}]
  hostnames: [%[1]q]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: other-host}
spec:
  parentRefs: [{name: gw}]
  hostnames: [other.%[1]s]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cross-ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [%[1]q]
  rules: [{matches: [{path: {type: PathPrefix, value: /x}}], backendRefs: [{name: traefik, namespace: ingress, port: 80}]}]
`, h))
	// the findings come from the specs; the healthy route's status is compared with them
	waitRouteStatus(f, "ok")
	res := f.SvcDoctor("lint", "--live", "-n", f.Namespace, "-o", "json", "--fail-on", "none")
	if res.ExitCode != 0 {
		t.Fatalf("lint --live: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	var rep report.LintReport
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatalf("no JSON report: %v\n%s", err, res.Stdout)
	}
	got := map[string][]string{} // route -> rules
	for _, fd := range rep.Findings {
		if fd.Object != nil && fd.Object.Kind == "HTTPRoute" {
			got[fd.Object.Name] = append(got[fd.Object.Name], fd.Rule)
			t.Logf("%s %s: %s", fd.Object.Name, fd.Rule, fd.Message)
		}
	}
	want := map[string]string{
		"missing-backend": "route-backend-not-found",
		"target-port":     "route-backend-not-found",
		"no-section":      "route-parent-no-match",
		"other-host":      "route-no-matching-listener-hostname",
		"cross-ns":        "route-backend-ref-not-permitted",
	}
	for route, rule := range want {
		if !slices.Contains(got[route], rule) {
			t.Errorf("HTTPRoute %s: findings %v, want %s", route, got[route], rule)
		}
	}
	if len(got["ok"]) > 0 {
		t.Errorf("HTTPRoute ok: findings %v, want none (Traefik's status agrees with the specs)", got["ok"])
	}
	for _, fd := range rep.Findings {
		if fd.Rule == "route-backend-not-found" && fd.Object.Name == "target-port" && !strings.Contains(fd.Message, "targetPort") {
			t.Errorf("target-port: %q does not say 8080 is the targetPort", fd.Message)
		}
	}
}
