package ingresscheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/ingress"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// manyIngresses writes n Ingresses of the default class traefik (each with a wildcard host for /
// and a host under it for /x, as in a multi-tenant cluster) plus one any-host Ingress for /api,
// and returns the snapshot.
func manyIngresses(tb testing.TB, n int) *snapshot.Snapshot {
	tb.Helper()
	var b strings.Builder
	b.WriteString(`apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: traefik, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
spec: {controller: traefik.io/ingress-controller}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: any, namespace: default}
spec:
  rules:
  - http: {paths: [{path: /api, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`)
	for i := range n {
		fmt.Fprintf(&b, `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing%d, namespace: default}
spec:
  rules:
  - host: "*.t%d.example.com"
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
  - host: "a.t%d.example.com"
    http: {paths: [{path: /x, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`, i, i, i)
	}
	path := filepath.Join(tb.TempDir(), "many.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	res, err := manifest.Load([]string{path}, manifest.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return snapshot.FromManifests(res, "default")
}

// checkAll checks every Ingress of snap.
func checkAll(tb testing.TB, snap *snapshot.Snapshot) *report.IngressCheckReport {
	tb.Helper()
	rep, err := ingress.Check(snap, ingress.Target{}, ingress.CheckOptions{Now: goldenNow, Source: "manifests"})
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// TestCheckAllScales checks that checking every Ingress does work proportional to their number
// (allocations stand in for work: they are deterministic, unlike time): doubling the Ingresses
// must not much more than double the allocations. The cross-Ingress analysis used to be redone
// for every Ingress, cubic in their number.
func TestCheckAllScales(t *testing.T) {
	tests := []struct {
		name        string
		small       int
		large       int
		maxGrowth   float64
		wantRoutes  int // of the large run
		wantShadows int // notes of the large run: the any-host /api loses, for each *.tN host, to its /
	}{
		{name: "60 to 120 Ingresses", small: 60, large: 120, maxGrowth: 2.6, wantRoutes: 241, wantShadows: 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rep *report.IngressCheckReport
			allocs := func(n int) float64 {
				snap := manyIngresses(t, n)
				return testing.AllocsPerRun(1, func() { rep = checkAll(t, snap) })
			}
			small, large := allocs(tt.small), allocs(tt.large)
			if g := large / small; g > tt.maxGrowth {
				t.Errorf("%d Ingresses: %.0f allocations, %d: %.0f (x%.1f, want at most x%.1f)", tt.small, small, tt.large, large, g, tt.maxGrowth)
			}
			if len(rep.Routes) != tt.wantRoutes || len(rep.Notes) != tt.wantShadows {
				t.Errorf("%d routes and %d notes, want %d and %d", len(rep.Routes), len(rep.Notes), tt.wantRoutes, tt.wantShadows)
			}
		})
	}
}

// BenchmarkCheckAll checks every one of 1,000 Ingresses (2,001 routes) offline, as
// `svc-doctor ingresscheck -f` without a target does.
func BenchmarkCheckAll(b *testing.B) {
	snap := manyIngresses(b, 1000)
	for b.Loop() {
		checkAll(b, snap)
	}
}
