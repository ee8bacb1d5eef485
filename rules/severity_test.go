package rules

import (
	"path/filepath"
	"testing"

	"github.com/svc-doctor/svc-doctor/report"
)

// TestFixtureSeverities checks findings whose severity differs from their rule's default, or that
// must not be downgraded: fixture markers only pin the line.
func TestFixtureSeverities(t *testing.T) {
	tests := []struct {
		file string
		rule string
		line int
		want report.Severity
	}{
		// different Services (same name, other namespace) behind one host+path compete
		{"ingress-route-conflict/fail-same-service-name-other-namespace.yaml", "ingress-route-conflict", 31, report.Warning},
		// a port name and the number it resolves to are the same backend: only redundant
		{"ingress-route-conflict/fail-info-port-name-and-number-same-backend.yaml", "ingress-route-conflict", 40, report.Info},
		// a Service selecting only pods that run to completion: endpoints only while they run
		{"service-selector-no-match/fail-only-run-to-completion-pods-match.yaml", "service-selector-no-match", 9, report.Warning},
		// a headless Service for an Indexed Job's pods is the documented pattern
		{"service-selector-no-match/fail-only-run-to-completion-pods-match.yaml", "service-selector-no-match", 50, report.Info},
		// the selector matches workloads only in another (written) namespace of the input: a warning
		{"service-selector-no-match/fail-warning-matches-only-in-other-namespace.yaml", "service-selector-no-match", 11, report.Warning},
		// ... but not when the Service's namespace is not written: it may be applied to that namespace
		{"service-selector-no-match/fail-warning-matches-only-in-other-namespace.yaml", "service-selector-no-match", 23, report.Info},
		// a selector-less Service's targetPort that contradicts the endpoint port: not used, a warning
		{"endpoints-port-mismatch/fail-port-numbers.yaml", "endpoints-port-mismatch", 24, report.Warning},
		// an endpoint port without a number is unusable
		{"endpoints-port-mismatch/fail-port-numbers.yaml", "endpoints-port-mismatch", 36, report.Error},
		// the removed annotation alone leaves not-ready peers unpublished; with the field it is dead weight
		{"service-tolerate-unready-annotation/fail-removed-annotation.yaml", "service-tolerate-unready-annotation", 8, report.Warning},
		{"service-tolerate-unready-annotation/fail-removed-annotation.yaml", "service-tolerate-unready-annotation", 23, report.Info},
		// declared ports are evidence: a number none of the declaring containers has is a warning
		{"service-target-port-undeclared/fail-stale-numeric-target-port.yaml", "service-target-port-undeclared", 13, report.Warning},
		{"probe-port-undeclared/fail-numeric-probe-port-not-declared.yaml", "probe-port-undeclared", 17, report.Warning},
		// a named probe port the container does not define fails every time
		{"probe-port-undeclared/fail-named-probe-port-missing.yaml", "probe-port-undeclared", 32, report.Error},
	}
	for _, tt := range tests {
		t.Run(tt.file+":"+tt.rule, func(t *testing.T) {
			fs := lintFile(t, filepath.Join("testdata", tt.file))
			found := false
			for _, f := range fs {
				if f.Rule != tt.rule || f.Location.BestLine() != tt.line {
					continue
				}
				found = true
				if f.Severity != tt.want {
					t.Errorf("line %d: severity %v, want %v: %s", tt.line, f.Severity, tt.want, f.Message)
				}
			}
			if !found {
				t.Fatalf("no %s finding on line %d\n%s", tt.rule, tt.line, dump(fs))
			}
		})
	}
}
