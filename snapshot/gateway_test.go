package snapshot

import (
	"strings"
	"testing"
)

func TestDecodeGatewayAPI(t *testing.T) {
	const input = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: traefik, namespace: ignored}
spec: {controllerName: traefik.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: traefik
  listeners:
  - name: http
    port: 80
    protocol: HTTP
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs:
  - name: gw
    namespace: infra
  rules:
  - backendRefs: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: GRPCRoute
metadata: {name: rpc}
spec: {}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: grant, namespace: apps}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]
  to: [{group: "", kind: Service}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: tls}
spec: {}
---
apiVersion: v1
kind: Namespace
metadata:
  name: apps
  labels: {team: shop, kubernetes.io/metadata.name: wrong}
`
	s := decode(t, input)
	tests := []struct {
		name string
		got  int
		want int
	}{
		{name: "GatewayClasses", got: len(s.GatewayClasses), want: 1},
		{name: "Gateways", got: len(s.Gateways), want: 1},
		{name: "HTTPRoutes", got: len(s.HTTPRoutes), want: 1},
		{name: "GRPCRoutes", got: len(s.GRPCRoutes), want: 1},
		{name: "ReferenceGrants", got: len(s.ReferenceGrants), want: 1},
		{name: "Namespaces", got: len(s.NamespaceObjects), want: 1},
		{name: "passed through (TLSRoute)", got: len(s.Other), want: 1},
		{name: "objects", got: s.Objects(), want: 7},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	if c := s.GatewayClass("traefik"); c == nil || c.Src.Ref.Namespace != "" {
		t.Errorf("GatewayClass is cluster-scoped: got %+v", c)
	}
	if g := s.Gateway("infra", "gw"); g == nil || len(g.Spec.Listeners) != 1 || g.Src.Ref.APIVersion != "gateway.networking.k8s.io/v1beta1" {
		t.Errorf("the v1beta1 Gateway is read into v1: got %+v", g)
	}
	if r := s.HTTPRoutes[0]; r.Namespace != "default" {
		t.Errorf("a route without namespace gets the default one, got %q", r.Namespace)
	}
	if loc := s.HTTPRoutes[0].Src.Location("spec.rules[0].backendRefs[0]"); loc.FieldLine != 24 {
		t.Errorf("backendRef line = %d, want 24", loc.FieldLine)
	}
	ns := s.Namespace("apps")
	if ns == nil || ns.Labels["team"] != "shop" || ns.Labels[NamespaceNameLabel] != "apps" {
		t.Errorf("Namespace labels with the API server's name label: got %v", ns)
	}
	if got := issues(s, RuleUnknownAPIVersion); len(got) != 1 || !strings.Contains(got[0], "use apiVersion gateway.networking.k8s.io/v1") {
		t.Errorf("v1alpha2 GRPCRoute is no longer served: got %q", got)
	}
	if !s.Complete("GatewayClass", "") || !s.Complete("Gateway", "infra") || s.Complete("Gateway", "default") {
		t.Error("Complete does not follow the Gateway API objects of the input")
	}
}

func TestDecodeGatewayAPIIssues(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		rule string
		want string
	}{
		{
			name: "unknown field with a suggestion",
			yaml: "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: a}\nspec:\n  parentRef: [{name: gw}]\n",
			rule: RuleUnknownField,
			want: `did you mean "parentRefs"?`,
		},
		{
			name: "kind in the wrong case",
			yaml: "apiVersion: gateway.networking.k8s.io/v1\nkind: httproute\nmetadata: {name: a}\nspec: {}\n",
			rule: RuleKindCase,
			want: `write "HTTPRoute"`,
		},
		{
			name: "wrong value type",
			yaml: "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: a}\nspec:\n  gatewayClassName: c\n  listeners: [{name: h, port: \"80\", protocol: HTTP}]\n",
			rule: RuleInvalidValue,
			want: "spec.listeners[0].port is the string \"80\", but it must be an integer",
		},
		{
			name: "duplicate route",
			yaml: "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: a}\n---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: HTTPRoute\nmetadata: {name: a}\n",
			rule: RuleDuplicateObject,
			want: "defined twice",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := decode(t, tt.yaml)
			got := issues(s, tt.rule)
			if len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Fatalf("%s issues = %q, want one containing %q", tt.rule, got, tt.want)
			}
		})
	}
}
