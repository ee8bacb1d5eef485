package rules

import (
	"strings"
	"testing"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// TestGatewayRulesRegistered keeps gatewayRuleIDs (the rules that release the shared model) in
// step with the registry: the same rules, in registry order, none off by default.
func TestGatewayRulesRegistered(t *testing.T) {
	var inRegistry []string
	for _, r := range All() {
		if r.Category == CatGateway {
			inRegistry = append(inRegistry, r.ID)
			if r.DefaultOff {
				t.Errorf("%s is off by default: idEnabled does not handle that", r.ID)
			}
		}
	}
	listed := gatewayRuleIDs
	if len(inRegistry) != len(listed) {
		t.Fatalf("registry has %v, gatewayRules %v", inRegistry, listed)
	}
	for i := range listed {
		if listed[i] != inRegistry[i] {
			t.Fatalf("registry has %v, gatewayRules %v", inRegistry, listed)
		}
	}
}

// TestGatewayModelReleased checks that a run leaves no model (and so no snapshot) behind, with
// every rule enabled and with the last Gateway rules disabled.
func TestGatewayModelReleased(t *testing.T) {
	res, err := manifest.Load([]string{"testdata/route-match-shadowed/fail-same-match-twice.yaml"}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		disable []string
	}{
		{name: "all rules"},
		{name: "last gateway rules disabled", disable: []string{"route-match-shadowed", "route-backend-weights-zero"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := fixtureConfig()
			cfg.Disable = tt.disable
			out, err := Run(snapshot.FromManifests(res, "default"), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Findings) == 0 {
				t.Fatal("no findings: the fixture was not linted")
			}
			gatewayCache.Lock()
			defer gatewayCache.Unlock()
			if gatewayCache.view != nil || gatewayCache.snap != nil {
				t.Error("the Gateway model outlives the run")
			}
		})
	}
}

// TestGatewayBackendNamedTargetPort: a backendRef that names the container port a named
// targetPort resolves to in the selected pods is explained as the targetPort, as a numeric one is.
func TestGatewayBackendNamedTargetPort(t *testing.T) {
	tests := []struct{ file, want string }{
		{"testdata/route-backend-not-found/fail-named-target-port.yaml", "8080 is the targetPort of Service port web"},
		{"testdata/route-backend-not-found/fail-target-port-and-missing-service.yaml", "8080 is the targetPort of Service port http"},
	}
	for _, tt := range tests {
		found := false
		for _, f := range lintFile(t, tt.file) {
			if f.Rule == "route-backend-not-found" && strings.Contains(f.Message, tt.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no route-backend-not-found finding saying %q", tt.file, tt.want)
		}
	}
}
