package ingress

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

var probeNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func testPod(ns, name string, labels map[string]string, ip string, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}}}
}

func ingRefOf(ns, name string) report.ObjectRef {
	return report.ObjectRef{Kind: "Ingress", Namespace: ns, Name: name}
}

func TestJudgeProbe(t *testing.T) {
	snap := &snapshot.Snapshot{Live: true}
	web := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}}
	// the ingress controller's pod is selected by its Service, which no route has as a backend
	traefik := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "traefik"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "traefik"}}}
	snap.Services = []*snapshot.Service{{Service: web, Src: &snapshot.Source{}}, {Service: traefik, Src: &snapshot.Source{}}}
	snap.Workloads = []*snapshot.Workload{snapshot.PodWorkload(testPod("shop", "web-1", map[string]string{"app": "web"}, "10.0.0.1", true)),
		snapshot.PodWorkload(testPod("shop", "api-1", map[string]string{"app": "api"}, "10.0.0.2", true)),
		snapshot.PodWorkload(testPod("shop", "traefik-1", map[string]string{"app": "traefik"}, "10.0.0.50", true))}
	snap.Index()
	okSim := func(https, tlsOK bool) *report.IngressCheckReport {
		scheme := "http"
		if https {
			scheme = "https"
		}
		return &report.IngressCheckReport{Request: &report.RouteRequest{Scheme: scheme}, Verdict: report.Verdict{Kind: report.VerdictHealthy}, Routes: []report.RouteCheck{{Ingress: ingRefOf("shop", "shop"), Backend: report.RouteBackend{Service: "web"},
			TLS: &report.TLSInfo{OK: tlsOK, Secret: "shop/tls", Certificate: &report.CertInfo{SHA256: "aaa"}}}}}
	}
	brokenSim := &report.IngressCheckReport{Request: &report.RouteRequest{Scheme: "http"}, Routes: []report.RouteCheck{{Ingress: ingRefOf("shop", "shop"), Backend: report.RouteBackend{Service: "web"}, Problems: []string{"service web has no ready endpoint"}}}}
	served := func(sha string, names ...string) *agent.HTTPResult {
		return &agent.HTTPResult{StatusCode: 200, BodySnippet: "web-1\n", TLS: &agent.TLSInfo{PeerCertificates: []agent.CertSummary{{Subject: "CN=x", DNSNames: names, SHA256: sha,
			NotBefore: probeNow.Add(-time.Hour), NotAfter: probeNow.Add(time.Hour)}}}}
	}
	tests := []struct {
		name       string
		host       string
		sim        *report.IngressCheckReport
		res        agent.Result
		wantAgrees string // yes, no, ?
		wantBy     string
	}{
		{name: "expected pod answered", host: "shop.example.com", sim: okSim(false, false), res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "web-1\n"}}, wantAgrees: "yes", wantBy: "web-1"},
		{name: "another service answered", host: "shop.example.com", sim: okSim(false, false), res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "api-1"}}, wantAgrees: "no", wantBy: "api-1"},
		{name: "a 404 naming no pod proves nothing", host: "shop.example.com", sim: okSim(false, false), res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 404, BodySnippet: "404 page not found"}}, wantAgrees: "?"},
		{name: "bad gateway", host: "shop.example.com", sim: okSim(false, false), res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 502, BodySnippet: "Bad Gateway"}}, wantAgrees: "no"},
		{name: "echo JSON names the pod", host: "shop.example.com", sim: okSim(false, false), res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: `{"pod":"web-1","namespace":"shop","client":"10.0.0.9:3333","headers":{"Accept":["*/*"]`}}, wantAgrees: "yes", wantBy: "web-1"},
		{name: "whoami names the pod", host: "shop.example.com", sim: okSim(false, false), res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "Hostname: api-1\nIP: 127.0.0.1\n"}}, wantAgrees: "no", wantBy: "api-1"},
		{name: "unknown body", host: "shop.example.com", sim: okSim(false, false), res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "<html>"}}, wantAgrees: "?"},
		{name: "a backend pod's name in another format", host: "shop.example.com", sim: okSim(false, false), res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "<h1>Served by web-1.</h1>"}}, wantAgrees: "yes", wantBy: "web-1"},
		{name: "a backend pod's IP", host: "shop.example.com", sim: okSim(false, false), res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: `{"server_addr":"10.0.0.1:8080"}`}}, wantAgrees: "yes", wantBy: "web-1"},
		{name: "a longer name or address is not the pod", host: "shop.example.com", sim: okSim(false, false), res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "served by web-10 at 10.0.0.12, web-1.shop.example"}}, wantAgrees: "?"},
		{name: "an echoed request names the controller and the client only", host: "shop.example.com", sim: okSim(false, false),
			res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "GET / HTTP/1.1\nX-Forwarded-Server: traefik-1\nX-Forwarded-For: 10.0.0.9\nRemoteAddr: 10.0.0.50:40000\n"}}, wantAgrees: "?"},
		{name: "an echoed request with the backend's address after the controller's", host: "shop.example.com", sim: okSim(false, false),
			res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "RemoteAddr: 10.0.0.50:40000\nX-Forwarded-Server: traefik-1\nIP: 10.0.0.1\n"}}, wantAgrees: "yes", wantBy: "web-1"},
		{name: "broken as simulated", host: "shop.example.com", sim: brokenSim, res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 503}}, wantAgrees: "yes"},
		{name: "broken but answered", host: "shop.example.com", sim: brokenSim, res: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "web-1"}}, wantAgrees: "no", wantBy: "web-1"},
		{name: "request failed", host: "shop.example.com", sim: okSim(false, false), res: agent.Result{Failure: agent.FailTimeout, Detail: "i/o timeout"}, wantAgrees: "no"},
		{name: "right certificate", host: "shop.example.com", sim: okSim(true, true), res: agent.Result{HTTP: served("aaa", "shop.example.com")}, wantAgrees: "yes", wantBy: "web-1"},
		{name: "default certificate instead of the Secret's", host: "shop.example.com", sim: okSim(true, true), res: agent.Result{HTTP: served("bbb", "TRAEFIK DEFAULT CERT")}, wantAgrees: "no", wantBy: "web-1"},
		{name: "broken TLS predicted, default certificate served", host: "shop.example.com", sim: okSim(true, false), res: agent.Result{HTTP: served("bbb", "x.invalid")}, wantAgrees: "yes", wantBy: "web-1"},
		{name: "broken TLS predicted, but an acceptable certificate served", host: "shop.example.com", sim: okSim(true, false), res: agent.Result{HTTP: served("aaa", "*.example.com")}, wantAgrees: "no", wantBy: "web-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := report.RouteProbe{Host: tt.host}
			judge(&pr, &tt.res, tt.sim, snap, probeNow)
			got := "?"
			if pr.Agrees != nil {
				got = map[bool]string{true: "yes", false: "no"}[*pr.Agrees]
			}
			if got != tt.wantAgrees || pr.AnsweredBy != tt.wantBy {
				t.Errorf("agrees %s by %q, want %s by %q (%s)", got, pr.AnsweredBy, tt.wantAgrees, tt.wantBy, pr.Result)
			}
			if pr.Result == "" || pr.Expected == "" {
				t.Errorf("empty result or expectation: %+v", pr)
			}
		})
	}
}

// TestProbeURLKeepsEncoding checks that --probe sends the normalised path as it is: escapes that
// normalisation keeps (an encoded "/", a space) are not decoded nor encoded twice.
func TestProbeURLKeepsEncoding(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		wantURL string
	}{
		{name: "plain path", path: "/api/v1", wantURL: "http://10.96.0.50:80/api/v1"},
		{name: "encoded slash", path: "/a%2Fb", wantURL: "http://10.96.0.50:80/a%2Fb"},
		{name: "encoded space", path: "/a%20b", wantURL: "http://10.96.0.50:80/a%20b"},
		{name: "rule path with a space", path: "/a b", wantURL: "http://10.96.0.50:80/a%20b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := agentRequestURL(probeChecks([]probePlan{{req: report.RouteRequest{Scheme: "http", Host: "shop.example.com", Path: tt.path, RawQuery: ""}, addr: "10.96.0.50:80"}}))
			if req != tt.wantURL {
				t.Errorf("probe URL %q, want %q", req, tt.wantURL)
			}
		})
	}
}

// agentRequestURL is the URL of the first HTTP check of an agent request.
func agentRequestURL(r agent.Request) string {
	for _, c := range r.Checks {
		if c.HTTP != nil {
			return c.HTTP.URL
		}
	}
	return ""
}
