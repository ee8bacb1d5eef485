package snapshot

import (
	"strings"
	"testing"

	"github.com/svc-doctor/svc-doctor/manifest"
)

func decode(t *testing.T, yaml string) *Snapshot {
	t.Helper()
	return FromManifests(manifest.Parse("in.yaml", []byte(yaml)), "")
}

func issues(s *Snapshot, rule string) []string {
	var out []string
	for _, is := range s.Issues {
		if is.Rule == rule {
			out = append(out, is.Field+": "+is.Message)
		}
	}
	return out
}

func TestDecodeIssues(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		rule     string
		wantMsgs []string // substrings, one per expected issue, in order
	}{
		{
			name:     "did you mean for a misspelt field",
			yaml:     "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  rules:\n  - http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          servise: {name: web, port: {number: 80}}\n",
			rule:     RuleUnknownField,
			wantMsgs: []string{`unknown field "servise" in spec.rules[0].http.paths[0].backend: did you mean "service"?`},
		},
		{
			name:     "wrong case of a field name",
			yaml:     "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n  - port: 80\n    targetport: 8080\n",
			rule:     RuleUnknownField,
			wantMsgs: []string{`did you mean "targetPort"?`},
		},
		{
			name:     "decoding goes on past a wrong type",
			yaml:     "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n  - port: \"80\"\n  - port: 81\n    name: yes\n",
			rule:     RuleInvalidValue,
			wantMsgs: []string{`spec.ports[0].port is the string "80", but it must be an integer (remove the quotes)`, `spec.ports[1].name is the boolean true, but it must be a string (Kubernetes reads an unquoted yes as a boolean: write "yes")`},
		},
		{
			name:     "enum values are case-sensitive",
			yaml:     "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: nodeport\n  ports: [{port: 53, protocol: Udp}]\n",
			rule:     RuleInvalidValue,
			wantMsgs: []string{`spec.type: "nodeport" is not a valid value: write "NodePort"`, `spec.ports[0].protocol: "Udp" is not a valid value: write "UDP"`},
		},
		{
			name:     "removed API with the v1 form spelled out",
			yaml:     "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  rules:\n  - http:\n      paths:\n      - backend: {serviceName: web, servicePort: http}\n",
			rule:     RuleRemovedAPI,
			wantMsgs: []string{"`service: {name: web, port: {name: http}}`"},
		},
		{
			name:     "kind under the wrong API group",
			yaml:     "apiVersion: v1\nkind: Deployment\nmetadata: {name: a}\n",
			rule:     RuleUnknownAPIVersion,
			wantMsgs: []string{"use apiVersion apps/v1"},
		},
		{
			name:     "custom resources pass through unchecked",
			yaml:     "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: a}\nspec: {template: {spec: {containerz: []}}}\n",
			rule:     RuleUnknownField,
			wantMsgs: nil,
		},
		{
			name:     "duplicate objects",
			yaml:     "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
			rule:     RuleDuplicateObject,
			wantMsgs: []string{"Service/default/a is defined twice (first at in.yaml:1)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := issues(decode(t, tt.yaml), tt.rule)
			if len(got) != len(tt.wantMsgs) {
				t.Fatalf("got %d issues %q, want %d", len(got), got, len(tt.wantMsgs))
			}
			for i, want := range tt.wantMsgs {
				if !strings.Contains(got[i], want) {
					t.Errorf("issue %d = %q, want it to contain %q", i, got[i], want)
				}
			}
		})
	}
}

func TestLegacyIngressIsConvertedAndChecked(t *testing.T) {
	s := decode(t, "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata: {name: a, namespace: shop}\nspec:\n  backend: {serviceName: fallback, servicePort: 8080}\n  rules:\n  - host: a.example.com\n    http:\n      paths:\n      - path: /api\n        backend: {serviceName: api, servicePort: 80}\n")
	if len(s.Ingresses) != 1 || !s.Ingresses[0].Legacy {
		t.Fatalf("want one legacy ingress, got %+v", s.Ingresses)
	}
	ing := s.Ingresses[0]
	if ing.Src.Ref.APIVersion != "networking.k8s.io/v1" || ing.Src.WrittenAPIVersion != "networking.k8s.io/v1beta1" {
		t.Errorf("ref %+v written %q", ing.Src.Ref, ing.Src.WrittenAPIVersion)
	}
	b := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service
	if b == nil || b.Name != "api" || b.Port.Number != 80 || ing.Spec.DefaultBackend.Service.Port.Number != 8080 {
		t.Errorf("conversion lost the backends: %+v %+v", b, ing.Spec.DefaultBackend)
	}
}
