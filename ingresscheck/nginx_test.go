package ingresscheck

import (
	"strings"
	"testing"
)

// TestIngressNginxProfile renders URLs of an ingress-nginx class (testdata/nginx.yaml) through the
// command: the route detail names the ingress-nginx profile, and the verdict says where
// ingress-nginx really sends the request (golden files).
func TestIngressNginxProfile(t *testing.T) {
	files := []string{"-f", "testdata/nginx.yaml"}
	tests := []struct {
		name   string
		url    string
		golden string
		// want are lines (fragments) the output holds
		want []string
	}{
		// use-regex on Ingress api makes Ingress web's paths case-insensitive regexes too, tried
		// longest first: /API/V2/users goes to api's /api/v[0-9]+, not to web's / (the spec's winner)
		{name: "regex host", url: "http://app.example.com/API/V2/users", golden: "nginx-regex.txt",
			want: []string{"PROFILE:     ingress-nginx (IngressClass nginx spec.controller k8s.io/ingress-nginx)",
				"ROUTED TO:   ingress app/api spec.rules[0].http.paths[0] -> service api port http (80/TCP)",
				"ingress app/api path /(?!internal).*/admin is not a regular expression Go's RE2 accepts"}},
		// Prefix /docs/ requested as /docs: nginx answers with a 301 to /docs/
		{name: "trailing slash redirect", url: "http://docs.example.com/docs", golden: "nginx-redirect.txt",
			want: []string{"PROFILE:     ingress-nginx", "is answered by the controller with a 301 redirect to /docs/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, append([]string{tt.url}, files...)...)
			if code != 0 {
				t.Errorf("exit code %d; stderr:\n%s", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			goldenCompare(t, tt.golden, stdout)
		})
	}
}
