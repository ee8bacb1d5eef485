package lint

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// seedNow is the clock of the seed test (the fixed TLS example's certificate is valid until 2126).
var seedNow = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func lintPaths(t *testing.T, paths ...string) []report.Finding {
	t.Helper()
	res, err := manifest.Load(paths, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rules.DefaultConfig()
	cfg.Now = seedNow
	rep, err := Lint(snapshot.FromManifests(res, ""), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep.Findings
}

func findingKeys(fs []report.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf("%s:%d %s", f.Severity, f.Location.BestLine(), f.Rule)
	}
	sort.Strings(out)
	return out
}

// TestSeedChapter lints the chapter's manifests exactly as the chapter prints them (tabs and
// typos included), each file as one unit: every real mistake gives exactly one finding at its
// line, and nothing else reaches warning level. Info findings are listed too, so that any new
// noise shows up here. The corrected versions lint without any finding.
func TestSeedChapter(t *testing.T) {
	tests := []struct {
		file string
		want []string // severity:line rule
		why  string
	}{
		{file: "01-service.yaml", want: []string{"info:10 service-selector-no-match"},
			why: "correct; the pods it selects are not part of this file"},
		{file: "02-session-affinity.yaml", want: []string{"error:8 yaml-tabs", "info:13 service-selector-no-match"},
			why: "sessionAffinityConfig is indented with tabs"},
		{file: "03-multi-port.yaml", want: []string{"info:13 service-selector-no-match"},
			why: "correct"},
		{file: "04-named-ports.yaml", want: []string{
			"error:1 api-version-wrong-case", // apiVersion: V1
			"error:2 kind-wrong-case",        // kind: pod
			"error:4 yaml-tabs",              // the Pod is indented with tabs
			"error:7 container-required-fields",
			"error:26 service-selector-no-match", // the Pod has no app=kubia label
		}, why: "the Pod has wrong-case apiVersion and kind, tabs, no image, and not the label the Service selects"},
		{file: "05-external-endpoints.yaml", want: []string{"info:11 endpoints-deprecated"},
			why: "correct, but core/v1 Endpoints is deprecated since 1.33"},
		{file: "06-external-name.yaml", want: nil, why: "correct"},
		{file: "07-nodeport.yaml", want: []string{"info:12 service-selector-no-match"}, why: "correct"},
		{file: "08-loadbalancer.yaml", want: []string{"info:10 service-selector-no-match"}, why: "correct"},
		{file: "09-ingress.yaml", want: []string{
			"error:1 removed-api-version",
			"info:13 ingress-backend-service-missing",
			"info:5 ingress-class-missing",
		}, why: "extensions/v1beta1 Ingress"},
		{file: "10-ingress-fanout.yaml", want: []string{
			"error:15 yaml-tabs",
			"error:17 unknown-field", // serviveName
			"error:2 removed-api-version",
			"info:13 ingress-backend-service-missing",
			"info:24 ingress-backend-service-missing",
			"info:6 ingress-class-missing",
		}, why: "tabs, serviveName, removed API"},
		{file: "11-ingress-tls.yaml", want: []string{
			"error:15 removed-api-version",
			"error:9 secret-data-not-base64", // PEM text under data
			"error:9 secret-tls-keys",        // server.crt/server.key
			"info:19 ingress-class-missing",
			"info:33 ingress-backend-service-missing",
			"warning:23 ingress-tls-secret-missing", // tls-secret: the Secret is dev/hello-app-tls
			"warning:25 ingress-tls-host-unserved",  // example.org has TLS but no rule
			"warning:26 ingress-tls-secret-missing", // example-org-tls is defined nowhere
		}, why: "Secret with wrong keys and non-base64 data in another namespace, removed API, TLS host without rule"},
		{file: "12-readiness-probe.yaml", want: []string{"error:30 probe-multiple-handlers", "error:30 yaml-tabs"},
			why: "three handlers in one probe, written with tabs"},
		{file: "13-headless.yaml", want: []string{"info:10 service-selector-no-match"}, why: "correct"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run("broken/"+tt.file, func(t *testing.T) {
			got := findingKeys(lintPaths(t, filepath.Join("..", "examples", "seed", "broken", tt.file)))
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s (%s):\ngot:\n  %s\nwant:\n  %s", tt.file, tt.why, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
		t.Run("fixed/"+tt.file, func(t *testing.T) {
			got := lintPaths(t, filepath.Join("..", "examples", "seed", "fixed", tt.file))
			if len(got) > 0 {
				t.Errorf("the corrected %s has findings:\n  %s", tt.file, strings.Join(findingKeys(got), "\n  "))
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join("..", "examples", "seed", "broken", "*.yaml"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("examples/seed/broken/%s has no expectations in this test", filepath.Base(f))
		}
	}
}
