package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestBackendProblems(t *testing.T) {
	svcs := `---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: infra}
spec: {ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: shop}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: infra}
spec: {type: ExternalName, externalName: example.com}
`
	grant := func(fromKind, fromNS, toName string) string {
		return `---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow, namespace: shop}
spec:
  from: [{group: gateway.networking.k8s.io, kind: ` + fromKind + `, namespace: ` + fromNS + `}]
  to: [{group: "", kind: Service, name: ` + toName + `}]
`
	}
	tests := []struct {
		name     string
		backend  string
		more     string
		complete bool
		check    Check
		reason   string
		level    Level
		want     string
	}{
		{name: "the targetPort instead of the Service port", backend: "{name: api, port: 8080}", complete: true,
			check: CheckBackendNotFound, reason: ReasonBackendNotFound, level: Broken, want: "8080 is the targetPort of Service port http (80/TCP)"},
		{name: "no port", backend: "{name: api}", complete: true, check: CheckBackendNotFound, level: Broken, want: "Must have port for Service reference"},
		{name: "missing Service", backend: "{name: nope, port: 80}", complete: true, check: CheckBackendNotFound, reason: ReasonBackendNotFound, level: Broken, want: "does not exist"},
		{name: "missing Service, input incomplete", backend: "{name: nope, port: 80}", complete: false, check: CheckBackendNotFound, reason: ReasonBackendNotFound, level: Unknown, want: "not in the given manifests"},
		{name: "Service in another namespace", backend: "{name: shop, port: 80}", complete: true, check: CheckBackendNotFound, reason: ReasonBackendNotFound, level: Broken, want: "a Service shop exists in namespace shop"},
		{name: "cross-namespace without grant", backend: "{name: shop, namespace: shop, port: 80}", complete: true,
			check: CheckBackendNotPermitted, reason: ReasonRefNotPermitted, level: Broken, want: "there is no ReferenceGrant in namespace shop"},
		{name: "grant from another kind", backend: "{name: shop, namespace: shop, port: 80}", more: grant("GRPCRoute", "infra", "shop"), complete: true,
			check: CheckBackendNotPermitted, reason: ReasonRefNotPermitted, level: Broken, want: "allows it from GRPCRoute in namespace infra only"},
		{name: "grant from another namespace", backend: "{name: shop, namespace: shop, port: 80}", more: grant("HTTPRoute", "apps", "shop"), complete: true,
			check: CheckBackendNotPermitted, reason: ReasonRefNotPermitted, level: Broken, want: "allows it from HTTPRoute in namespace apps only"},
		{name: "grant to another Service", backend: "{name: shop, namespace: shop, port: 80}", more: grant("HTTPRoute", "infra", "other"), complete: true,
			check: CheckBackendNotPermitted, reason: ReasonRefNotPermitted, level: Broken, want: "allows it to core/Service other only"},
		{name: "core kind that is no backend", backend: "{kind: Pod, name: api, port: 80}", complete: true,
			check: CheckBackendInvalidKind, reason: ReasonInvalidKind, level: Broken, want: "kind Pod is not a backend kind"},
		{name: "implementation-specific kind", backend: "{group: gateway.envoyproxy.io, kind: Backend, name: api}", complete: true,
			check: CheckBackendInvalidKind, reason: ReasonInvalidKind, level: Risky, want: "unless the implementation supports gateway.envoyproxy.io/Backend"},
		{name: "ExternalName Service", backend: "{name: ext, port: 80}", complete: true, check: CheckBackendInvalidKind, level: Risky, want: "ExternalName"},
		{name: "all weights zero", backend: "{name: api, port: 80, weight: 0}", complete: true, check: CheckWeightsZero, level: Broken, want: "every backendRef of rule[0] has weight 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			route := `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [` + tt.backend + `]
`
			m := modelOf(t, gatewayYAML(httpListener)+route+svcs+tt.more, tt.complete)
			for _, p := range m.Route(KindHTTPRoute, "infra", "web").Problems() {
				if p.Check == tt.check && p.Reason == tt.reason && p.Level == tt.level && strings.Contains(p.Message, tt.want) {
					return
				}
			}
			t.Fatalf("no %s/%s (%s) problem containing %q in %+v", tt.check, tt.reason, tt.level, tt.want, m.Route(KindHTTPRoute, "infra", "web").Problems())
		})
	}
}

func TestBackendGrantPermits(t *testing.T) {
	m := modelOf(t, gatewayYAML(httpListener)+`---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: shop, namespace: shop, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow, namespace: shop}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]
  to: [{group: "", kind: Service}]
---
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: shop}
spec: {ports: [{port: 80}]}
`, true)
	if ps := m.Route(KindHTTPRoute, "infra", "web").Problems(); len(ps) != 0 {
		t.Fatalf("a ReferenceGrant without name allows every Service of its namespace; got %+v", ps)
	}
}

// testCert returns a PEM certificate and key for names, valid from notBefore to notAfter.
func testCert(t *testing.T, names []string, notBefore, notAfter time.Time) (crt, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func secretYAML(ns, name, typ string, crt, key []byte) string {
	b := func(v []byte) string { return base64.StdEncoding.EncodeToString(v) }
	return "---\napiVersion: v1\nkind: Secret\nmetadata: {name: " + name + ", namespace: " + ns + "}\ntype: " + typ +
		"\ndata: {tls.crt: " + b(crt) + ", tls.key: " + b(key) + "}\n"
}

func TestCertificateRefs(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	good, goodKey := testCert(t, []string{"shop.example.com"}, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	old, oldKey := testCert(t, []string{"shop.example.com"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	wild, wildKey := testCert(t, []string{"*.example.com"}, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	https := func(hostname, ref string) string {
		return "  - name: https\n    port: 443\n    protocol: HTTPS\n    hostname: " + hostname + "\n    tls: {certificateRefs: [" + ref + "]}\n"
	}
	tests := []struct {
		name     string
		listener string
		secrets  string
		check    Check
		reason   string
		level    Level
		want     string
	}{
		{name: "missing Secret", listener: https("shop.example.com", "{name: nope}"), check: CheckCertificateRef, reason: ReasonInvalidCertificateRef, level: Broken, want: "Secret infra/nope of listener https does not exist"},
		{name: "wrong keys", listener: https("shop.example.com", "{name: tls}"),
			secrets: "---\napiVersion: v1\nkind: Secret\nmetadata: {name: tls, namespace: infra}\ntype: kubernetes.io/tls\nstringData: {server.crt: \"x\", server.key: \"k\"}\n",
			check:   CheckCertificateRef, reason: ReasonInvalidCertificateRef, level: Broken, want: "has no tls.crt and no tls.key"},
		{name: "Opaque type", listener: https("shop.example.com", "{name: tls}"), secrets: secretYAML("infra", "tls", "Opaque", good, goodKey),
			check: CheckCertificateRef, reason: ReasonInvalidCertificateRef, level: Risky, want: "of type Opaque"},
		{name: "key of another certificate", listener: https("shop.example.com", "{name: tls}"), secrets: secretYAML("infra", "tls", "kubernetes.io/tls", good, oldKey),
			check: CheckCertificateRef, reason: ReasonInvalidCertificateRef, level: Broken, want: "do not load as a pair"},
		{name: "not a Secret", listener: https("shop.example.com", "{group: cert-manager.io, kind: Certificate, name: tls}"),
			check: CheckCertificateRef, reason: ReasonInvalidCertificateRef, level: Risky, want: "cert-manager.io/Certificate"},
		{name: "cross-namespace without grant", listener: https("shop.example.com", "{name: tls, namespace: certs}"), secrets: secretYAML("certs", "tls", "kubernetes.io/tls", good, goodKey),
			check: CheckCertificateNotAllowed, reason: ReasonRefNotPermitted, level: Broken, want: "there is no ReferenceGrant in namespace certs"},
		{name: "expired", listener: https("shop.example.com", "{name: tls}"), secrets: secretYAML("infra", "tls", "kubernetes.io/tls", old, oldKey),
			check: CheckCertificateExpired, level: Broken, want: "expired on 2026-05-31"},
		{name: "SAN does not cover the listener hostname", listener: https("www.example.com", "{name: tls}"), secrets: secretYAML("infra", "tls", "kubernetes.io/tls", good, goodKey),
			check: CheckCertificateHost, level: Broken, want: "no certificate of listener https covers its hostname www.example.com"},
		{name: "wildcard certificate for a wildcard listener deeper than one label", listener: https("\"*.shop.example.com\"", "{name: tls}"), secrets: secretYAML("infra", "tls", "kubernetes.io/tls", wild, wildKey),
			check: CheckCertificateHost, level: Broken, want: "a wildcard hostname needs the same wildcard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := &confObjects{}
			for _, doc := range splitYAML([]byte(gatewayYAML(tt.listener) + tt.secrets)) {
				if err := addObject(objs, doc); err != nil {
					t.Fatal(err)
				}
			}
			objs.Now = now
			m := New(objs.Objects)
			for _, p := range m.Problems() {
				if p.Check == tt.check && p.Reason == tt.reason && p.Level == tt.level && strings.Contains(p.Message, tt.want) {
					return
				}
			}
			t.Fatalf("no %s/%s (%s) problem containing %q in %+v", tt.check, tt.reason, tt.level, tt.want, m.Problems())
		})
	}
}

func TestCertificateCoversRouteHostnames(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	crt, key := testCert(t, []string{"shop.example.com"}, now.Add(-time.Hour), now.Add(time.Hour))
	m := modelOf(t, gatewayYAML("  - name: https\n    port: 443\n    protocol: HTTPS\n    tls: {certificateRefs: [{name: tls}]}\n")+
		secretYAML("infra", "tls", "kubernetes.io/tls", crt, key)+
		routeYAML("infra", "name: gw", "  hostnames: [shop.example.com, blog.example.com]\n"), true)
	var got []string
	for _, p := range m.Problems() {
		if p.Check == CheckCertificateHost {
			got = append(got, p.Message)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "hostname blog.example.com of httproute/infra/web") {
		t.Fatalf("want one problem for blog.example.com, got %q", got)
	}
}
