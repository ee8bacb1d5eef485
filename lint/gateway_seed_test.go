package lint

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestGatewayExample lints the bundled Gateway API setup (examples/gateway): the broken version
// shows each of its mistakes exactly once at its line, the fixed version lints without any
// finding.
func TestGatewayExample(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		want []string // severity:line rule
	}{
		{name: "broken", dir: "broken", want: []string{
			"error:68 gateway-certificate-ref-not-permitted", // the grant names namespace gateway, not infra
			"error:122 route-not-allowed-by-listeners",       // the route, not its Namespace, has the label
			"error:129 route-backend-not-found",              // the targetPort 8080 instead of the Service port
			"error:138 route-no-matching-listener-hostname",  // shop.example.com is not under *.shop.example.com
			"warning:173 route-match-shadowed",               // /search repeated in rule[1]
			"error:181 route-backend-ref-not-permitted",      // the grant names Service storefront-api
		}},
		{name: "fixed", dir: "fixed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := findingKeys(lintPaths(t, filepath.Join("..", "examples", "gateway", tt.dir, "shared-gateway.yaml")))
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}
