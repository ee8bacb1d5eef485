package lint

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// gatewayAPIExamples returns examples/standard of the sigs.k8s.io/gateway-api module in the
// module cache (the module is a dependency: no network).
func gatewayAPIExamples(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH (%v): the test reads a module's directory with go list -m", err)
	}
	out, err := exec.Command(goCmd, "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Fatalf("go list -m sigs.k8s.io/gateway-api: %v (run `go mod download`)", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "examples", "standard")
}

// lintExamples lints paths as one input and returns "severity file:line rule" keys, file relative
// to base, for the findings at or above min.
func lintExamples(t *testing.T, base string, min report.Severity, paths ...string) []string {
	t.Helper()
	res, err := manifest.Load(paths, manifest.Options{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rules.DefaultConfig()
	cfg.Now = seedNow
	rep, err := Lint(snapshot.FromManifests(res, ""), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range rep.Findings {
		if f.Severity < min {
			continue
		}
		file, _ := filepath.Rel(base, f.Location.File)
		out = append(out, fmt.Sprintf("%s %s:%d %s", f.Severity, file, f.Location.BestLine(), f.Rule))
	}
	sort.Strings(out)
	return out
}

// TestGatewayAPIExamples lints the example manifests the Gateway API ships (examples/standard of
// the module version in go.mod, read from the module cache; nothing is copied here). Each example
// is a top-level file or directory and is linted as one input, as it is meant to be applied:
// none has an error. The only warnings are a backendRef to an implementation-specific kind and,
// in directories that hold alternative versions of one route, the duplicate-object warnings for
// those alternatives. The whole tree linted as one input is a different thing (examples reuse
// names such as default/example-gateway, and define GatewayClasses of their own): its errors are
// listed in TestGatewayAPIExamplesAsOneInput.
func TestGatewayAPIExamples(t *testing.T) {
	base := gatewayAPIExamples(t)
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"warning default-match-http.yaml:42 route-backend-invalid-kind", // acme.io/CustomBackend
		"warning grpc-routing/reflection-grpcroute.yaml:6 duplicate-object",
		"warning http-cors/httproute-all-origins-no-creds.yaml:6 duplicate-object",
		"warning http-cors/httproute-credentials-true.yaml:6 duplicate-object",
		"warning http-cors/httproute-origins-with-wildcards-no-creds.yaml:6 duplicate-object",
		"warning http-cors/httproute-specific-origin-no-creds.yaml:6 duplicate-object",
		"warning http-redirect-rewrite/httproute-redirect-http.yaml:6 duplicate-object",
		"warning http-redirect-rewrite/httproute-redirect-prefix.yaml:6 duplicate-object",
		"warning http-redirect-rewrite/httproute-rewrite-prefix-path.yaml:6 duplicate-object",
		"warning http-redirect-rewrite/httproute-rewrite.yaml:6 duplicate-object",
		"warning multicluster/httproute-hybrid.yaml:6 duplicate-object",
		"warning multicluster/httproute-location.yaml:6 duplicate-object",
		"warning multicluster/httproute-simple.yaml:6 duplicate-object",
		"warning traffic-splitting/traffic-split-2.yaml:7 duplicate-object",
		"warning traffic-splitting/traffic-split-3.yaml:6 duplicate-object",
	}
	sort.Strings(want)
	var got []string
	examples := 0
	for _, e := range entries {
		if !e.IsDir() && !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		examples++
		got = append(got, lintExamples(t, base, report.Warning, filepath.Join(base, e.Name()))...)
	}
	sort.Strings(got)
	if examples < 30 {
		t.Fatalf("only %d examples in %s", examples, base)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings (warning and above) of the %d examples:\n  %s\nwant:\n  %s", examples, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestGatewayAPIExamplesAsOneInput lints examples/standard as one input (lint -R -f
// examples/standard). Applied together, the examples overwrite each other: four of them define
// default/example-gateway (only the last one applied, tls-routing's, survives: duplicate-object),
// and four files define GatewayClasses (example, filter-lb, default-match-example), so the class
// names of the other Gateways are known not to exist in that input.
func TestGatewayAPIExamplesAsOneInput(t *testing.T) {
	base := gatewayAPIExamples(t)
	want := []string{
		// acme-lb, shared-gateway-class, foo-lb, my-tcp-gateway-class, example-gateway-class and
		// my-udp-gateway-class are not among the GatewayClasses the tree defines
		"error backend-tls.yaml:8 gateway-class-missing",
		"error cross-namespace-routing/gateway.yaml:9 gateway-class-missing",
		"error frontend-cert-validation.yaml:8 gateway-class-missing",
		"error http-redirect-rewrite/gateway-redirect-http-https.yaml:8 gateway-class-missing",
		"error http-route-attachment/gateway-namespaces.yaml:9 gateway-class-missing",
		"error http-route-attachment/gateway-strict.yaml:9 gateway-class-missing",
		"error tcp-routing/gateway.yaml:6 gateway-class-missing",
		"error tls-routing/gateway.yaml:9 gateway-class-missing",
		"error udp-routing/gateway.yaml:6 gateway-class-missing",
		// the surviving default/example-gateway is tls-routing's, with TLS listeners only
		"error grpc-routing/bar-grpcroute.yaml:9 route-not-allowed-by-listeners",
		"error grpc-routing/gateway.yaml:25 route-not-allowed-by-listeners",
		"error http-routing/bar-httproute.yaml:9 route-not-allowed-by-listeners",
		"error http-routing/gateway.yaml:20 route-not-allowed-by-listeners",
		"error simple-http-https/bar-route.yaml:10 route-parent-no-match",
		"error simple-http-https/foo-route.yaml:10 route-parent-no-match",
		"error simple-http-https/tls-redirect-route.yaml:10 route-parent-no-match",
		// Gateways of namespace default are in the input, these three are not
		"error http-cors/httproute-specific-origin-no-creds.yaml:9 route-parent-no-match",
		"error http-request-header-set.yaml:7 route-parent-no-match",
		"error http-request-mirroring/httproute-mirroring.yaml:11 route-parent-no-match",
		"error multicluster/httproute-method.yaml:9 route-parent-no-match",
		"error multicluster/httproute-simple.yaml:9 route-parent-no-match",
	}
	got := lintExamples(t, base, report.Error, base)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
