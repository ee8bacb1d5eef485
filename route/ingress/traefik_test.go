package ingress

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svc-doctor/svc-doctor/snapshot"
)

// TestTraefikRouter checks the router rule and default priority (the rule's length) that
// Traefik v3.6's Kubernetes Ingress provider builds for a path: Host(`h`) or, for a wildcard,
// HostRegexp(`^[a-zA-Z0-9-]+\.rest$`) with QuoteMeta'd dots in backticks (single backslashes),
// then the path matcher with its path in a Go-quoted string (Traefik v3.6.11 and later, which
// quote paths so that they cannot break out of the rule; a plain path has the same length
// between double quotes as between backticks).
func TestTraefikRouter(t *testing.T) {
	tests := []struct {
		name         string
		host         string
		path         string
		pathType     networkingv1.PathType // "" for none
		annotations  map[string]string
		strict       bool
		wantRule     string
		wantPriority int      // 0: the length of wantRule
		wantMatch    []string // "host path" requests the router matches
		wantNoMatch  []string
	}{
		{name: "wildcard host: one backslash per dot", host: "*.ex.io", path: "/", pathType: networkingv1.PathTypePrefix,
			wantRule: "HostRegexp(`^[a-zA-Z0-9-]+\\.ex\\.io$`) && PathPrefix(\"/\")", wantPriority: 56,
			wantMatch: []string{"a.ex.io /x", "A-1.ex.io /"}, wantNoMatch: []string{"ex.io /", "a.b.ex.io /", "aXex.io /"}},
		{name: "any host, 43-character prefix outranks the wildcard's /", path: "/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", pathType: networkingv1.PathTypePrefix,
			wantRule: "PathPrefix(\"/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\")", wantPriority: 57,
			wantMatch: []string{"a.ex.io /xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxyz"}},
		{name: "exact host and Exact path", host: "shop.example.com", path: "/api/v1/health", pathType: networkingv1.PathTypeExact,
			wantRule:  "Host(`shop.example.com`) && Path(\"/api/v1/health\")",
			wantMatch: []string{"shop.example.com /api/v1/health"}, wantNoMatch: []string{"shop.example.com /api/v1/health/", "blog.example.com /api/v1/health"}},
		{name: "Prefix compares characters", host: "shop.example.com", path: "/api", pathType: networkingv1.PathTypePrefix,
			wantRule:  "Host(`shop.example.com`) && PathPrefix(\"/api\")",
			wantMatch: []string{"shop.example.com /apix", "shop.example.com /api/v1"}},
		{name: "host without paths", host: "shop.example.com",
			wantRule: "Host(`shop.example.com`)", wantMatch: []string{"shop.example.com /anything"}},
		{name: "strict prefix matching", host: "shop.example.com", path: "/api/", pathType: networkingv1.PathTypePrefix, strict: true,
			wantRule:  "Host(`shop.example.com`) && (Path(\"/api\") || PathPrefix(\"/api/\"))",
			wantMatch: []string{"shop.example.com /api", "shop.example.com /api/v1"}, wantNoMatch: []string{"shop.example.com /apix"}},
		{name: "strict prefix matching of the root", path: "/", pathType: networkingv1.PathTypePrefix, strict: true,
			wantRule: "PathPrefix(\"/\")", wantMatch: []string{"x /"}},
		{name: "ImplementationSpecific with a path matcher annotation", path: "/api", pathType: networkingv1.PathTypeImplementationSpecific,
			annotations: map[string]string{traefikPathMatcher: "Path"},
			wantRule:    "Path(\"/api\")", wantNoMatch: []string{"x /api/v1"}},
		{name: "a double quote in the path is escaped", path: "/a\"b\\c", pathType: networkingv1.PathTypePrefix,
			wantRule: "PathPrefix(\"/a\\\"b\\\\c\")", wantMatch: []string{"x /a\"b\\c/d"}},
		{name: "wildcard Prefix compares characters", host: "*.foo.com", path: "/foo", pathType: networkingv1.PathTypePrefix,
			wantRule:  "HostRegexp(`^[a-zA-Z0-9-]+\\.foo\\.com$`) && PathPrefix(\"/foo\")",
			wantMatch: []string{"a.foo.com /foobar", "A.foo.com:443 /foo"}, wantNoMatch: []string{"a.b.foo.com /foo"}},
		{name: "wildcard strict prefix", host: "*.foo.com", path: "/foo", pathType: networkingv1.PathTypePrefix, strict: true,
			wantRule:  "HostRegexp(`^[a-zA-Z0-9-]+\\.foo\\.com$`) && (Path(\"/foo\") || PathPrefix(\"/foo/\"))",
			wantMatch: []string{"a.foo.com /foo/x"}, wantNoMatch: []string{"a.foo.com /foobar"}},
		{name: "wildcard Exact", host: "*.foo.com", path: "/foo", pathType: networkingv1.PathTypeExact,
			wantRule:  "HostRegexp(`^[a-zA-Z0-9-]+\\.foo\\.com$`) && Path(\"/foo\")",
			wantMatch: []string{"A.foo.com:443 /foo"}, wantNoMatch: []string{"a.b.foo.com /foo", "a.foo.com /foo/"}},
		{name: "priority annotation", host: "*.ex.io", path: "/", pathType: networkingv1.PathTypePrefix, annotations: map[string]string{traefikPriority: "100"},
			wantRule: "HostRegexp(`^[a-zA-Z0-9-]+\\.ex\\.io$`) && PathPrefix(\"/\")", wantPriority: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := networkingv1.HTTPIngressPath{Path: tt.path, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web"}}}
			if tt.pathType != "" {
				pt := tt.pathType
				p.PathType = &pt
			}
			ing := &snapshot.Ingress{Ingress: &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ing", Annotations: tt.annotations},
				Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: tt.host,
					IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{p}}}}}}}}
			routes := Routes(ing.Ingress, "traefik")
			if len(routes) != 1 {
				t.Fatalf("%d routes", len(routes))
			}
			tr := traefikRouter(ing, routes[0], tt.strict)
			if tt.wantPriority == 0 {
				tt.wantPriority = len(tt.wantRule)
			}
			if tr.rule != tt.wantRule || tr.priority != tt.wantPriority {
				t.Errorf("rule %s (priority %d), want %s (priority %d)", tr.rule, tr.priority, tt.wantRule, tt.wantPriority)
			}
			for _, req := range tt.wantMatch {
				h, path, _ := strings.Cut(req, " ")
				if !tr.matches(h, path) {
					t.Errorf("%s does not match %s", tr.rule, req)
				}
			}
			for _, req := range tt.wantNoMatch {
				h, path, _ := strings.Cut(req, " ")
				if tr.matches(h, path) {
					t.Errorf("%s matches %s", tr.rule, req)
				}
			}
		})
	}
}
