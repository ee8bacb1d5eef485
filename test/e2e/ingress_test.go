package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
)

// The tests in this file run `kubectl svc-doctor ingresscheck` against Ingresses served by the
// cluster's Traefik (IngressClass traefik, the default): a fan-out, name-based virtual hosts, TLS
// with a right, a wrong-host and an expired certificate and a Secret with the wrong keys, a backend
// port mismatch, and a class no controller serves. With --probe the requests go through Traefik's
// Service from the helper pod; on every healthy route the probe must agree with the simulation.
// The tests themselves reach Traefik on the node IP's NodePorts only (30081 http, 30443 https).

const (
	traefikHTTPNodePort  = "30081"
	traefikHTTPSNodePort = "30443"
)

// icRun runs ingresscheck with -o json (and the helper flags when probing) and decodes the report.
func icRun(t *testing.T, f *framework.F, args ...string) (report.IngressCheckReport, framework.Result) {
	t.Helper()
	args = append([]string{"ingresscheck", "-o", "json"}, args...)
	for _, a := range args {
		if a == "--probe" {
			args = append(args, diagHelperFlags()...)
			break
		}
	}
	res := f.SvcDoctor(args...)
	var rep report.IngressCheckReport
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatalf("ingresscheck %v: exit %d, output is not a report: %v\nstdout:\n%s\nstderr:\n%s", args, res.ExitCode, err, res.Stdout, res.Stderr)
	}
	t.Logf("ingresscheck %v: exit %d, verdict %+v\nstderr:\n%s", args, res.ExitCode, rep.Verdict, res.Stderr)
	return rep, res
}

// host makes a host name unique to the test's namespace (Traefik serves every namespace).
func host(f *framework.F, label string) string {
	return label + "." + f.Namespace + ".svcdoc.test"
}

// viaTraefik sends one request to Traefik's NodePort on the node IP with the given Host and SNI,
// and returns the status, the first line of the body and the SHA-256 of the served certificate.
func viaTraefik(f *framework.F, scheme, hostName, path string) (int, string, string, error) {
	port := traefikHTTPNodePort
	if scheme == "https" {
		port = traefikHTTPSNodePort
	}
	addr := net.JoinHostPort(f.Cluster.NodeIP, port)
	var served string
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 3 * time.Second}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{ServerName: hostName, InsecureSkipVerify: true, //nolint:gosec // the test compares the certificate itself
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) > 0 {
					sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
					served = hex.EncodeToString(sum[:])
				}
				return nil
			}},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(scheme + "://" + hostName + path)
	if err != nil {
		return 0, "", served, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	first, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return resp.StatusCode, first, served, nil
}

// waitServed waits until Traefik answers scheme://host/path with a pod of pods (it picks up new
// Ingresses and endpoints within seconds).
func waitServed(f *framework.F, scheme, hostName, path string, pods []string) {
	f.T.Helper()
	f.WaitFor(fmt.Sprintf("Traefik to serve %s://%s%s from %v", scheme, hostName, path, pods), 90*time.Second, func(context.Context) (bool, error) {
		status, body, _, err := viaTraefik(f, scheme, hostName, path)
		if err != nil {
			return false, err
		}
		for _, p := range pods {
			if status == 200 && (body == p || strings.Contains(body, `"pod":"`+p+`"`)) {
				return true, nil
			}
		}
		return false, fmt.Errorf("status %d body %q", status, body)
	})
}

// assertProbesAgree checks that every probe of a route the simulation calls healthy agrees with it,
// and that each answered by a pod of the expected Service.
func assertProbesAgree(t *testing.T, rep report.IngressCheckReport, wantProbes int) {
	t.Helper()
	if len(rep.Probes) != wantProbes {
		t.Errorf("%d probes, want %d: %+v", len(rep.Probes), wantProbes, rep.Probes)
	}
	for _, p := range rep.Probes {
		if p.Agrees == nil || !*p.Agrees {
			t.Errorf("probe %s disagrees or cannot tell: %s", p.URL, p.Result)
		}
		if !strings.HasPrefix(p.Expected, "broken") && p.AnsweredBy == "" && !strings.Contains(p.Expected, "404") {
			t.Errorf("probe %s: no pod named in the answer (%s)", p.URL, p.Result)
		}
	}
}

const ingressServices = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8080, targetPort: http}]
`

func TestIngressFanoutAndVirtualHosts(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 2})
	api := f.DeployTestserver(framework.TestserverSpec{Name: "api"})
	fan, a, b := host(f, "fan"), host(f, "a"), host(f, "b")
	f.Apply(ingressServices + fmt.Sprintf(`---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: fanout}
spec:
  rules:
  - host: %[1]s
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
      - {path: /echo, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: vhosts}
spec:
  ingressClassName: traefik
  rules:
  - host: %[2]s
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
  - host: %[3]s
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}]
`, fan, a, b))
	waitServed(f, "http", fan, "/", web.PodNames())
	waitServed(f, "http", fan, "/echo", api.PodNames())
	waitServed(f, "http", b, "/", api.PodNames())

	t.Run("fan-out /echo/x goes to api", func(t *testing.T) {
		rep, res := icRun(t, f, "http://"+fan+"/echo/x")
		if res.ExitCode != 0 || !rep.Verdict.OK() {
			t.Fatalf("exit %d, verdict %+v", res.ExitCode, rep.Verdict)
		}
		rc := rep.Routes[0]
		if rc.Ingress.Name != "fanout" || rc.Path != "/echo" || rc.Backend.Service != "api" || rc.Backend.Port == nil || rc.Backend.Port.Port != 8080 {
			t.Errorf("route %+v", rc)
		}
		if h := rc.Backend.Health; h == nil || !h.Checked || h.Ready != 1 || h.Diagnosis == nil || h.Diagnosis.Kind != "healthy" {
			t.Errorf("health %+v", h)
		}
		if rep.Class == nil || rep.Class.Name != "traefik" || len(rep.Controllers) == 0 || !rep.Controllers[0].Found {
			t.Errorf("class %+v controllers %+v", rep.Class, rep.Controllers)
		}
		if len(rep.Candidates) != 2 || !strings.Contains(rep.Candidates[1].Reason, "the longest matching path wins") {
			t.Errorf("candidates %+v", rep.Candidates)
		}
	})
	t.Run("fan-out /echox is not under /echo, but Traefik sends it there", func(t *testing.T) {
		rep, res := icRun(t, f, "http://"+fan+"/echox")
		if res.ExitCode != 0 || rep.Routes[0].Backend.Service != "web" {
			t.Errorf("exit %d route %+v", res.ExitCode, rep.Routes[0])
		}
		// Traefik's PathPrefix compares characters: svc-doctor says where Traefik really sends it
		if !strings.Contains(rep.Routes[0].ControllerRoute, "service api") {
			t.Errorf("controller route %q (warnings %v)", rep.Routes[0].ControllerRoute, rep.Routes[0].Warnings)
		}
		// and Traefik does: the api pod logs the request (the test server answers /echox with 404)
		if _, _, _, err := viaTraefik(f, "http", fan, "/echox"); err != nil {
			t.Fatal(err)
		}
		f.WaitFor("the api pod to log GET /echox", 10*time.Second, func(context.Context) (bool, error) {
			logs, err := f.Logs(api.PodNames()[0], "", 20)
			return strings.Contains(logs, "GET /echox host="+fan), err
		})
	})
	t.Run("probe every route of both Ingresses", func(t *testing.T) {
		rep, res := icRun(t, f, "ing/fanout", "-n", f.Namespace, "--probe")
		if res.ExitCode != 0 {
			t.Errorf("exit %d: %+v", res.ExitCode, rep.Verdict)
		}
		assertProbesAgree(t, rep, 2)
		rep, res = icRun(t, f, "ing/vhosts", "-n", f.Namespace, "--probe")
		if res.ExitCode != 0 {
			t.Errorf("exit %d: %+v", res.ExitCode, rep.Verdict)
		}
		assertProbesAgree(t, rep, 2)
		for _, p := range rep.Probes {
			want := map[string]string{a: "web", b: "api"}[p.Host]
			if p.AnsweredService != want {
				t.Errorf("%s answered by %q, want service %s", p.URL, p.AnsweredService, want)
			}
		}
	})
	t.Run("the table names the winner and the loser", func(t *testing.T) {
		res := f.SvcDoctor("ingresscheck", "http://"+fan+"/echo", "-n", f.Namespace)
		for _, want := range []string{"MATCHING RULES", "wins", "loses: path /echo is longer than /", "ENDPOINTS (EndpointSlices)", "VERDICT:     OK"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("table lacks %q:\n%s", want, res.Stdout)
			}
		}
	})
	framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
}

// testCert is a self-signed certificate for the test (never written to disk).
type testCert struct {
	crt, key []byte
	sha      string
}

func newTestCert(t *testing.T, hosts []string, notBefore, notAfter time.Time) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return testCert{crt: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), sha: hex.EncodeToString(sum[:])}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestIngressTLS(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web"})
	good, wrong, old, keys := host(f, "good"), host(f, "wrong"), host(f, "old"), host(f, "keys")
	now := time.Now()
	goodCert := newTestCert(t, []string{good}, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	otherCert := newTestCert(t, []string{"other.example.net"}, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	oldCert := newTestCert(t, []string{old}, now.Add(-60*24*time.Hour), now.Add(-24*time.Hour))
	keysCert := newTestCert(t, []string{keys}, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	f.Apply(ingressServices + fmt.Sprintf(`---
apiVersion: v1
kind: Secret
metadata: {name: good}
type: kubernetes.io/tls
data: {tls.crt: %s, tls.key: %s}
---
apiVersion: v1
kind: Secret
metadata: {name: wrong-host}
type: kubernetes.io/tls
data: {tls.crt: %s, tls.key: %s}
---
apiVersion: v1
kind: Secret
metadata: {name: expired}
type: kubernetes.io/tls
data: {tls.crt: %s, tls.key: %s}
---
apiVersion: v1
kind: Secret
metadata: {name: wrong-keys}
type: Opaque
data: {server.crt: %s, server.key: %s}
`, b64(goodCert.crt), b64(goodCert.key), b64(otherCert.crt), b64(otherCert.key), b64(oldCert.crt), b64(oldCert.key), b64(keysCert.crt), b64(keysCert.key)) +
		fmt.Sprintf(`---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: tls}
spec:
  ingressClassName: traefik
  tls:
  - {hosts: [%[1]s], secretName: good}
  - {hosts: [%[2]s], secretName: wrong-host}
  - {hosts: [%[3]s], secretName: expired}
  - {hosts: [%[4]s], secretName: wrong-keys}
  rules:
  - host: %[1]s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
  - host: %[2]s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
  - host: %[3]s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
  - host: %[4]s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`, good, wrong, old, keys))
	waitServed(f, "https", good, "/", web.PodNames())
	f.WaitFor("Traefik to serve the Secret's certificate for "+good, 60*time.Second, func(context.Context) (bool, error) {
		_, _, served, err := viaTraefik(f, "https", good, "/")
		return served == goodCert.sha, err
	})

	tests := []struct {
		name        string
		host        string
		wantExit    int
		wantRule    string // a lint finding the report must show
		wantProblem string
		wantMatches *bool // whether the served certificate is the Secret's
	}{
		{name: "right certificate", host: good, wantExit: 0, wantMatches: ptrTo(true)},
		{name: "certificate for another host", host: wrong, wantExit: 1, wantRule: "tls-cert-host-mismatch", wantProblem: "does not cover " + wrong, wantMatches: ptrTo(false)},
		{name: "expired certificate", host: old, wantExit: 1, wantRule: "tls-cert-expired", wantProblem: "expired"},
		{name: "Secret with the wrong keys", host: keys, wantExit: 1, wantRule: "secret-tls-keys", wantProblem: "lacks tls.crt and tls.key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, res := icRun(t, f, "https://"+tt.host+"/", "-n", f.Namespace, "--probe")
			if res.ExitCode != tt.wantExit {
				t.Errorf("exit %d, want %d: %+v", res.ExitCode, tt.wantExit, rep.Verdict)
			}
			if tt.wantRule != "" {
				found := false
				for _, fd := range rep.Findings {
					found = found || fd.Rule == tt.wantRule
				}
				if !found {
					t.Errorf("no %s finding in %+v", tt.wantRule, rep.Findings)
				}
			}
			if tt.wantProblem != "" && !strings.Contains(strings.Join(rep.Verdict.Problems, "\n"), tt.wantProblem) {
				t.Errorf("problems %q lack %q", rep.Verdict.Problems, tt.wantProblem)
			}
			if len(rep.Probes) != 1 {
				t.Fatalf("probes: %+v", rep.Probes)
			}
			p := rep.Probes[0]
			if p.Agrees == nil || !*p.Agrees {
				t.Errorf("the probe disagrees with the simulation: %s", p.Result)
			}
			if p.Certificate == nil {
				t.Fatalf("no certificate served: %s", p.Result)
			}
			if tt.wantMatches != nil && (p.Certificate.MatchesSecret == nil || *p.Certificate.MatchesSecret != *tt.wantMatches) {
				t.Errorf("served certificate matches the Secret: %v, want %v (%s)", p.Certificate.MatchesSecret, *tt.wantMatches, p.Result)
			}
			if p.AnsweredService != "web" {
				t.Errorf("answered by %q, want service web (%s)", p.AnsweredService, p.Result)
			}
		})
	}
	framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
}

func ptrTo[T any](v T) *T { return &v }

func TestIngressBackendPortMismatch(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web"})
	h := host(f, "ports")
	f.Apply(ingressServices + fmt.Sprintf(`---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ports}
spec:
  rules:
  - host: %s
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}
      - {path: /echo, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`, h))
	f.WaitFor("Traefik to serve http://"+h+"/echo", 90*time.Second, func(context.Context) (bool, error) {
		status, _, _, err := viaTraefik(f, "http", h, "/echo")
		return status == 200, err
	})

	rep, res := icRun(t, f, "http://"+h+"/", "-n", f.Namespace, "--probe")
	if res.ExitCode != 1 || rep.Verdict.OK() {
		t.Errorf("exit %d, verdict %+v: a port mismatch must fail", res.ExitCode, rep.Verdict)
	}
	if !strings.Contains(strings.Join(rep.Verdict.Problems, "\n"), "service web has no port 8080: 8080 is the container port that targetPort http of its port 80 resolves to") {
		t.Errorf("problems %q", rep.Verdict.Problems)
	}
	found := false
	for _, fd := range rep.Findings {
		found = found || fd.Rule == "ingress-backend-port-missing"
	}
	if !found {
		t.Errorf("no ingress-backend-port-missing finding: %+v", rep.Findings)
	}
	// Traefik leaves the route out and nothing else matches /: it answers 404, as simulated
	if len(rep.Probes) != 1 || rep.Probes[0].Status != 404 || rep.Probes[0].Agrees == nil || !*rep.Probes[0].Agrees {
		t.Errorf("probes: %+v", rep.Probes)
	}
	// the healthy route of the same Ingress (the test server answers /echo with its pod name in JSON)
	rep, res = icRun(t, f, "http://"+h+"/echo", "-n", f.Namespace, "--probe")
	if res.ExitCode != 0 {
		t.Errorf("exit %d: %+v", res.ExitCode, rep.Verdict)
	}
	assertProbesAgree(t, rep, 1)
	framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
}

func TestIngressClassWithoutController(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web"})
	class := "none-" + f.Namespace
	classYAML := fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: %s}
spec: {controller: example.com/nobody}
`, class)
	f.Apply(classYAML)
	t.Cleanup(func() { f.Delete(classYAML) })
	f.Apply(ingressServices + fmt.Sprintf(`---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: orphan}
spec:
  ingressClassName: %s
  rules:
  - host: %s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`, class, host(f, "orphan")))

	res := f.SvcDoctor("ingresscheck", "ing/orphan", "-n", f.Namespace)
	if res.ExitCode != 1 {
		t.Errorf("exit %d, want 1\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	want := fmt.Sprintf("no controller serves class %s (controller example.com/nobody): the Ingress will never get an address", class)
	if !strings.Contains(res.Stdout, want) {
		t.Errorf("output lacks %q:\n%s", want, res.Stdout)
	}
	// and the URL resolves against that class, with the same verdict
	rep, _ := icRun(t, f, "http://"+host(f, "orphan")+"/")
	if rep.Class == nil || rep.Class.Name != class || rep.Verdict.OK() {
		t.Errorf("class %+v verdict %+v", rep.Class, rep.Verdict)
	}
}

// TestIngressTLSKeyMismatch: the Secret's tls.key is the key of another certificate. Traefik
// rejects the pair and serves its default certificate; ingresscheck calls the TLS broken and says
// the key does not belong to the certificate.
func TestIngressTLSKeyMismatch(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web"})
	h := host(f, "mismatch")
	now := time.Now()
	certA := newTestCert(t, []string{h}, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	certB := newTestCert(t, []string{h}, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	if _, err := tls.X509KeyPair(certA.crt, certB.key); err == nil {
		t.Fatal("the test's certificate and foreign key load as a pair")
	}
	f.Apply(ingressServices + fmt.Sprintf(`---
apiVersion: v1
kind: Secret
metadata: {name: mismatch}
type: kubernetes.io/tls
data: {tls.crt: %s, tls.key: %s}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: mismatch}
spec:
  ingressClassName: traefik
  tls:
  - {hosts: [%[3]s], secretName: mismatch}
  rules:
  - host: %[3]s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`, b64(certA.crt), b64(certB.key), h))
	waitServed(f, "https", h, "/", web.PodNames())
	// Traefik cannot load the pair: it never serves the Secret's certificate
	if _, _, served, err := viaTraefik(f, "https", h, "/"); err != nil || served == certA.sha {
		t.Errorf("Traefik served the Secret's certificate (%v) with a key that does not match it", err)
	}

	const keyMsg = "tls.key does not match the certificate in tls.crt"
	rep, res := icRun(t, f, "https://"+h+"/", "-n", f.Namespace, "--probe")
	if res.ExitCode != 1 || rep.Verdict.OK() {
		t.Errorf("exit %d, verdict %+v: a key that does not match must fail", res.ExitCode, rep.Verdict)
	}
	found := false
	for _, fd := range rep.Findings {
		if fd.Rule == "tls-key-mismatch" {
			found = true
			if fd.Object == nil || fd.Object.Kind != "Secret" || fd.Object.Name != "mismatch" || !strings.Contains(fd.Message, keyMsg) {
				t.Errorf("tls-key-mismatch finding %+v", fd)
			}
		}
	}
	if !found {
		t.Errorf("no tls-key-mismatch finding in %+v", rep.Findings)
	}
	if !strings.Contains(strings.Join(rep.Verdict.Problems, "\n"), keyMsg+" (is the leaf certificate first, and is this the key of this certificate?) (tls-key-mismatch)") {
		t.Errorf("problems %q lack the key mismatch", rep.Verdict.Problems)
	}
	if len(rep.Routes) != 1 || rep.Routes[0].TLS == nil || rep.Routes[0].TLS.OK || rep.Routes[0].TLS.Secret != f.Namespace+"/mismatch" {
		t.Errorf("routes %+v: want one route whose TLS (Secret mismatch) is not OK", rep.Routes)
	} else if tl := rep.Routes[0].TLS; tl.Certificate == nil || tl.Certificate.SHA256 != certA.sha || !tl.Covers {
		t.Errorf("TLS %+v: the Secret's certificate (which covers the host) is %s", tl, certA.sha)
	}
	if len(rep.Probes) != 1 {
		t.Fatalf("probes: %+v", rep.Probes)
	}
	p := rep.Probes[0]
	if p.Agrees == nil || !*p.Agrees {
		t.Errorf("the probe disagrees with the simulation: %s", p.Result)
	}
	if p.Certificate == nil || p.Certificate.MatchesSecret == nil || *p.Certificate.MatchesSecret {
		t.Errorf("served certificate %+v: want one that is not the Secret's (%s)", p.Certificate, p.Result)
	}
	if p.AnsweredService != "web" {
		t.Errorf("answered by %q, want service web (%s)", p.AnsweredService, p.Result)
	}
	// the table: the TLS line says BROKEN and the problem names the key
	table := f.SvcDoctor("ingresscheck", "https://"+h+"/", "-n", f.Namespace)
	tlsLine := "host " + h + ": Secret " + f.Namespace + "/mismatch (ingress " + f.Namespace + "/mismatch spec.tls[0])"
	if table.ExitCode != 1 {
		t.Errorf("table run: exit %d, want 1", table.ExitCode)
	}
	var tlsOut string
	for _, l := range strings.Split(table.Stdout, "\n") {
		if strings.Contains(l, tlsLine) {
			tlsOut = l
		}
	}
	if !strings.HasSuffix(tlsOut, ": BROKEN") || !strings.Contains(table.Stdout, "problem: "+keyMsg) || !strings.Contains(table.Stdout, "VERDICT:     BROKEN") {
		t.Errorf("table: TLS line %q, want it BROKEN and a problem %q:\n%s", tlsOut, keyMsg, table.Stdout)
	}
	framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
}

// TestIngressTwoDefaultClasses: while a second IngressClass claims to be the default, a class-less
// Ingress has no defined controller. Not parallel, and the second default lives as short as
// possible: while it exists the API server gives new class-less Ingresses (of every test) the
// newest default class.
func TestIngressTwoDefaultClasses(t *testing.T) {
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web"})
	h := host(f, "classless")
	f.Apply(ingressServices + fmt.Sprintf(`---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: classless}
spec:
  rules:
  - host: %s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`, h))
	// the DefaultIngressClass admission plugin filled in the default class: take it out again
	ings := f.Client.NetworkingV1().Ingresses(f.Namespace)
	if _, err := ings.Patch(f.Ctx, "classless", types.MergePatchType, []byte(`{"spec":{"ingressClassName":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("remove ingressClassName: %v", err)
	}
	if ing, err := ings.Get(f.Ctx, "classless", metav1.GetOptions{}); err != nil || ing.Spec.IngressClassName != nil {
		t.Fatalf("ingress classless is not class-less: %v %v", err, ing.Spec.IngressClassName)
	}
	// with a single default (traefik) the Ingress is served
	rep, res := icRun(t, f, "ing/classless", "-n", f.Namespace)
	if res.ExitCode != 0 || !rep.Verdict.OK() {
		t.Fatalf("with one default class: exit %d, verdict %+v", res.ExitCode, rep.Verdict)
	}

	const second = "e2e-second-default"
	classYAML := `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: ` + second + `
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: example.com/e2e-nobody}
`
	t.Cleanup(func() {
		err := f.Cluster.Client.NetworkingV1().IngressClasses().Delete(context.Background(), second, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete IngressClass %s: %v", second, err)
		}
	})
	f.Apply(classYAML)
	wantProblem := "the Ingress has no ingressClassName and 2 IngressClasses claim to be the default (" + second + ", traefik): which controller serves it is undefined; set spec.ingressClassName"

	rep, res = icRun(t, f, "ing/classless", "-n", f.Namespace)
	urlRep, urlRes := icRun(t, f, "http://"+h+"/", "-n", f.Namespace)
	table := f.SvcDoctor("ingresscheck", "ing/classless", "-n", f.Namespace)
	// the second default goes away as soon as the checks ran
	f.Delete(classYAML)

	if res.ExitCode != 1 || rep.Verdict.OK() || !strings.Contains(strings.Join(rep.Verdict.Problems, "\n"), wantProblem) {
		t.Errorf("ing/classless: exit %d, problems %q; want exit 1 and %q", res.ExitCode, rep.Verdict.Problems, wantProblem)
	}
	if urlRes.ExitCode != 1 || urlRep.Verdict.OK() || !strings.Contains(strings.Join(urlRep.Verdict.Problems, "\n"), wantProblem) {
		t.Errorf("URL: exit %d, problems %q; want exit 1 and %q", urlRes.ExitCode, urlRep.Verdict.Problems, wantProblem)
	}
	if c := urlRep.Class; c == nil || c.Name != "" || strings.Join(c.Defaults, ",") != second+",traefik" {
		t.Errorf("URL: class %+v, want no class and the defaults %s, traefik", c, second)
	}
	if table.ExitCode != 1 || !strings.Contains(table.Stdout, "problem: "+wantProblem) {
		t.Errorf("table: exit %d, lacks %q:\n%s", table.ExitCode, wantProblem, table.Stdout)
	}

	// and with one default again the Ingress is fine again
	f.WaitFor("IngressClass "+second+" to be gone", 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := f.Client.NetworkingV1().IngressClasses().Get(ctx, second, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	rep, res = icRun(t, f, "ing/classless", "-n", f.Namespace)
	if res.ExitCode != 0 || !rep.Verdict.OK() {
		t.Errorf("after deleting %s: exit %d, verdict %+v", second, res.ExitCode, rep.Verdict)
	}
}

// TestIngressWildcardHost: *.wild.NS goes to service a and two exact hosts under it to service b.
// A wildcard covers exactly one label. By the Ingress specification an exact host beats a wildcard,
// but Traefik orders its routers by the length of their rule: the wildcard's HostRegexp rule
// outranks Host(`exact.wild.NS`), so Traefik really sends exact.wild.NS to a (ingresscheck says so
// and the probe agrees); an exact host with a first label long enough (26+ characters) outranks it
// and reaches b.
func TestIngressWildcardHost(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	a := f.DeployTestserver(framework.TestserverSpec{Name: "a"})
	b := f.DeployTestserver(framework.TestserverSpec{Name: "b"})
	wild := host(f, "wild")
	foo, exact, long, deep := "foo."+wild, "exact."+wild, "exact-host-outranks-the-wildcard."+wild, "a.b."+wild
	f.Apply(fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: a}
spec:
  selector: {app: a}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  selector: {app: b}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: wild}
spec:
  ingressClassName: traefik
  rules:
  - host: "*.%[1]s"
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}
  - host: %[2]s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: b, port: {name: http}}}}]}
  - host: %[3]s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: b, port: {name: http}}}}]}
`, wild, exact, long))
	waitServed(f, "http", foo, "/", a.PodNames())
	waitServed(f, "http", long, "/", b.PodNames())
	// Traefik itself: exact.wild goes to the wildcard's a, two labels under the wildcard match nothing
	if status, body, _, err := viaTraefik(f, "http", exact, "/"); err != nil || status != 200 || body != a.PodNames()[0] {
		t.Errorf("Traefik answered http://%s/ with %d %q (%v), want a's pod %s", exact, status, body, err, a.PodNames()[0])
	}
	if status, body, _, err := viaTraefik(f, "http", deep, "/"); err != nil || status != 404 {
		t.Errorf("Traefik answered http://%s/ with %d %q (%v), want 404", deep, status, body, err)
	}

	tests := []struct {
		name     string
		host     string
		ruleHost string // the spec's winning rule ("" = no rule matches)
		specSvc  string // its Service
		liveSvc  string // the Service Traefik really sends the request to
		livePod  string
	}{
		{name: "one label under the wildcard", host: foo, ruleHost: "*." + wild, specSvc: "a", liveSvc: "a", livePod: a.PodNames()[0]},
		{name: "short exact host loses to the wildcard in Traefik", host: exact, ruleHost: exact, specSvc: "b", liveSvc: "a", livePod: a.PodNames()[0]},
		{name: "long exact host outranks the wildcard", host: long, ruleHost: long, specSvc: "b", liveSvc: "b", livePod: b.PodNames()[0]},
		{name: "two labels under the wildcard match nothing", host: deep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, res := icRun(t, f, "http://"+tt.host+"/", "-n", f.Namespace, "--probe")
			if len(rep.Probes) != 1 {
				t.Fatalf("probes: %+v", rep.Probes)
			}
			p := rep.Probes[0]
			if p.Agrees == nil || !*p.Agrees {
				t.Errorf("the probe disagrees with the simulation: %s", p.Result)
			}
			if tt.ruleHost == "" {
				if res.ExitCode != 1 || rep.Verdict.OK() || len(rep.Candidates) != 0 {
					t.Errorf("exit %d, verdict %+v, candidates %+v: *.%s must not match %s", res.ExitCode, rep.Verdict, rep.Candidates, wild, tt.host)
				}
				if !strings.Contains(strings.Join(rep.Verdict.Problems, "\n"), "no rule of class traefik matches "+tt.host+"/") {
					t.Errorf("problems %q", rep.Verdict.Problems)
				}
				if p.Status != 404 || p.AnsweredBy != "" {
					t.Errorf("probe: status %d answered by %q, want Traefik's own 404 (%s)", p.Status, p.AnsweredBy, p.Result)
				}
				return
			}
			if res.ExitCode != 0 || !rep.Verdict.OK() || len(rep.Routes) != 1 {
				t.Fatalf("exit %d, verdict %+v, routes %+v", res.ExitCode, rep.Verdict, rep.Routes)
			}
			rc := rep.Routes[0]
			if rc.Backend.Service != tt.specSvc || rc.Host != tt.ruleHost || rc.Ingress.Name != "wild" {
				t.Errorf("route: host %q backend %q, want rule host %q and service %s", rc.Host, rc.Backend.Service, tt.ruleHost, tt.specSvc)
			}
			if tt.ruleHost != "*."+wild {
				// the wildcard matches too, and loses by the specification
				if len(rep.Candidates) != 2 || rep.Candidates[1].Host != "*."+wild || !strings.Contains(rep.Candidates[1].Reason, "is more specific than *."+wild) {
					t.Errorf("candidates %+v", rep.Candidates)
				}
			}
			if tt.liveSvc != tt.specSvc {
				if !strings.Contains(rc.ControllerRoute, "service "+tt.liveSvc+" ") || !strings.Contains(strings.Join(rc.Warnings, "\n"), "Traefik orders routers by the length of their rule") {
					t.Errorf("controller route %q, warnings %q: want Traefik's route to service %s and why", rc.ControllerRoute, rc.Warnings, tt.liveSvc)
				}
			} else if rc.ControllerRoute != "" {
				t.Errorf("controller route %q: Traefik agrees with the specification here", rc.ControllerRoute)
			}
			if p.Status != 200 || p.AnsweredService != tt.liveSvc || p.AnsweredBy != tt.livePod {
				t.Errorf("probe: status %d answered by %s (service %q), want pod %s of service %s (%s)", p.Status, p.AnsweredBy, p.AnsweredService, tt.livePod, tt.liveSvc, p.Result)
			}
		})
	}
	framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
}
