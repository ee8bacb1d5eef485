package gateway

import (
	"strings"
	"testing"
)

// modelOf builds a model from YAML documents (Gateway API objects, Services, Secrets,
// Namespaces); complete says whether missing objects are known to be absent.
func modelOf(t *testing.T, yamlDocs string, complete bool) *Model {
	t.Helper()
	objs := &confObjects{}
	for _, doc := range splitYAML([]byte(yamlDocs)) {
		if err := addObject(objs, doc); err != nil {
			t.Fatal(err)
		}
	}
	if !complete {
		objs.Complete = func(string, string) bool { return false }
	}
	return New(objs.Objects)
}

// gatewayYAML is a Gateway in namespace infra with an HTTP listener (allowedRoutes as given) and
// a GatewayClass.
func gatewayYAML(listeners string) string {
	return `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gc}
spec: {controllerName: example.com/gc}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gc
  listeners:
` + listeners
}

const httpListener = `  - name: http
    port: 80
    protocol: HTTP
`

func routeYAML(ns, parentRef, extra string) string {
	return `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: ` + ns + `, labels: {shared-gateway-access: "true"}}
spec:
  parentRefs:
  - ` + parentRef + `
` + extra + `  rules:
  - backendRefs: [{name: web, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ` + ns + `}
spec: {ports: [{port: 80}]}
`
}

func TestAttachment(t *testing.T) {
	sharedNS := `---
apiVersion: v1
kind: Namespace
metadata: {name: apps, labels: {shared-gateway-access: "true", env: prod}}
`
	tests := []struct {
		name      string
		listeners string
		ns        string
		parentRef string
		extra     string // more route spec (hostnames)
		more      string // more objects
		complete  bool
		accepted  bool
		reason    string
		level     Level
		why       string // substring of the message
	}{
		{name: "same namespace by default", listeners: httpListener, ns: "infra", parentRef: "name: gw", complete: true, accepted: true},
		{name: "other namespace refused by the default Same", listeners: httpListener, ns: "apps", parentRef: "{name: gw, namespace: infra}",
			complete: true, reason: ReasonNotAllowedByListeners, why: "allows routes from namespace infra only"},
		{name: "All", listeners: httpListener + "    allowedRoutes: {namespaces: {from: All}}\n", ns: "apps", parentRef: "{name: gw, namespace: infra}",
			complete: true, accepted: true},
		{name: "Selector matches the Namespace's labels", ns: "apps", parentRef: "{name: gw, namespace: infra}", more: sharedNS, complete: true, accepted: true,
			listeners: httpListener + "    allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {shared-gateway-access: \"true\"}}}}\n"},
		{name: "Selector does not look at the route's own labels", ns: "apps", parentRef: "{name: gw, namespace: infra}", complete: true,
			more:      "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n",
			listeners: httpListener + "    allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {shared-gateway-access: \"true\"}}}}\n",
			reason:    ReasonNotAllowedByListeners, why: "does not match the labels of Namespace apps"},
		{name: "Selector with matchExpressions NotIn", ns: "apps", parentRef: "{name: gw, namespace: infra}", more: sharedNS, complete: true,
			listeners: httpListener + "    allowedRoutes: {namespaces: {from: Selector, selector: {matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}}}\n",
			reason:    ReasonNotAllowedByListeners, why: "env notin (prod)"},
		{name: "Selector on labels of a Namespace not in the input is unknown", ns: "apps", parentRef: "{name: gw, namespace: infra}", complete: true,
			listeners: httpListener + "    allowedRoutes: {namespaces: {from: Selector, selector: {matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}}}\n",
			reason:    ReasonNotAllowedByListeners, level: Unknown, why: "not in the given manifests"},
		{name: "Selector on the metadata.name label needs no Namespace object", ns: "apps", parentRef: "{name: gw, namespace: infra}", complete: true, accepted: true,
			listeners: httpListener + "    allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {kubernetes.io/metadata.name: apps}}}}\n"},
		{name: "Selector without selector", ns: "apps", parentRef: "{name: gw, namespace: infra}", complete: true,
			listeners: httpListener + "    allowedRoutes: {namespaces: {from: Selector}}\n", reason: ReasonNotAllowedByListeners, why: "no selector is set"},
		{name: "kind not allowed", ns: "infra", parentRef: "name: gw", complete: true,
			listeners: httpListener + "    allowedRoutes: {kinds: [{kind: GRPCRoute}]}\n", reason: ReasonNotAllowedByListeners, why: "it allows GRPCRoute, not HTTPRoute"},
		{name: "no listener with that sectionName", listeners: httpListener, ns: "infra", parentRef: "{name: gw, sectionName: https}", complete: true,
			reason: ReasonNoMatchingParent, why: "has no listener named https"},
		{name: "no listener on that port", listeners: httpListener, ns: "infra", parentRef: "{name: gw, port: 8080}", complete: true,
			reason: ReasonNoMatchingParent, why: "has no listener on port 8080"},
		{name: "sectionName and port of different listeners", listeners: httpListener, ns: "infra", parentRef: "{name: gw, sectionName: http, port: 443}", complete: true,
			reason: ReasonNoMatchingParent, why: "listener http of gateway/infra/gw is not on port 443"},
		{name: "hostnames do not intersect", listeners: httpListener + "    hostname: \"*.example.com\"\n", ns: "infra", parentRef: "name: gw",
			extra: "  hostnames: [example.com, shop.example.net]\n", complete: true, reason: ReasonNoMatchingListenerHostname, why: "none of the route's hostnames"},
		{name: "wildcard listener takes a deeper host", listeners: httpListener + "    hostname: \"*.example.com\"\n", ns: "infra", parentRef: "name: gw",
			extra: "  hostnames: [a.b.example.com]\n", complete: true, accepted: true},
		{name: "missing Gateway, with a same-named one elsewhere", listeners: httpListener, ns: "apps", parentRef: "name: gw", complete: true,
			reason: ReasonNoMatchingParent, why: "set namespace: infra in the parentRef"},
		{name: "missing Gateway not in the given manifests", listeners: httpListener, ns: "apps", parentRef: "name: other", complete: false,
			reason: ReasonNoMatchingParent, level: Unknown, why: "is not in the given manifests"},
		{name: "Conflicted listener takes no route", ns: "infra", parentRef: "{name: gw, sectionName: http}", complete: true,
			listeners: httpListener + "  - name: tcp\n    port: 80\n    protocol: TCP\n", reason: ReasonNotAllowedByListeners, why: "Conflicted (ProtocolConflict)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := modelOf(t, gatewayYAML(tt.listeners)+routeYAML(tt.ns, tt.parentRef, tt.extra)+tt.more, tt.complete)
			r := m.Route(KindHTTPRoute, tt.ns, "web")
			p := r.Parents[0]
			if p.Accepted != tt.accepted {
				t.Fatalf("accepted = %v, want %v (%s: %s)", p.Accepted, tt.accepted, p.Reason, p.Message)
			}
			if tt.accepted {
				return
			}
			if p.Reason != tt.reason || p.Level != tt.level || !strings.Contains(p.Message, tt.why) {
				t.Fatalf("got %s (%s): %s\nwant %s (%s) containing %q", p.Reason, p.Level, p.Message, tt.reason, tt.level, tt.why)
			}
		})
	}
}

func TestEffectiveHostnamesOnListener(t *testing.T) {
	m := modelOf(t, gatewayYAML(httpListener+"    hostname: \"*.example.com\"\n")+
		routeYAML("infra", "name: gw", "  hostnames: [\"*.example.com\", shop.example.com, shop.example.net, \"*.a.example.com\"]\n"), true)
	la := m.Route(KindHTTPRoute, "infra", "web").Parents[0].Listeners[0]
	want := []string{"*.example.com", "shop.example.com", "*.a.example.com"}
	if strings.Join(la.Hostnames, " ") != strings.Join(want, " ") {
		t.Fatalf("hostnames = %v, want %v", la.Hostnames, want)
	}
}

func TestListenerProblems(t *testing.T) {
	tests := []struct {
		name      string
		listeners string
		check     Check
		reason    string
		level     Level
		want      string
	}{
		{name: "TCP on an HTTP port", listeners: httpListener + "  - name: tcp\n    port: 80\n    protocol: TCP\n",
			check: CheckListenerConflict, reason: ReasonProtocolConflict, level: Broken, want: "MUST NOT be accepted"},
		{name: "HTTP and HTTPS on one port", listeners: httpListener + "  - name: https\n    port: 80\n    protocol: HTTPS\n    tls: {certificateRefs: [{name: c}]}\n",
			check: CheckListenerConflict, reason: ReasonProtocolConflict, level: Risky, want: "one port cannot serve plain HTTP and TLS"},
		{name: "same port, protocol and hostname", listeners: httpListener + "  - name: http2\n    port: 80\n    protocol: HTTP\n",
			check: CheckListenerConflict, reason: ReasonHostnameConflict, level: Broken, want: "same port 80, protocol HTTP and any host"},
		{name: "duplicate name", listeners: httpListener + "  - name: http\n    port: 8080\n    protocol: HTTP\n",
			check: CheckListenerConflict, level: Broken, want: "listener names must be unique"},
		{name: "route kind the protocol cannot carry", listeners: httpListener + "    allowedRoutes: {kinds: [{kind: TCPRoute}]}\n",
			check: CheckListenerRouteKinds, reason: ReasonInvalidRouteKinds, level: Broken, want: "cannot carry TCPRoute"},
		{name: "HTTPS without certificateRefs", listeners: "  - name: https\n    port: 443\n    protocol: HTTPS\n",
			check: CheckCertificateRef, reason: ReasonInvalidCertificateRef, level: Broken, want: "has no tls.certificateRefs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := modelOf(t, gatewayYAML(tt.listeners), true)
			for _, p := range m.Problems() {
				if p.Check == tt.check && p.Reason == tt.reason && p.Level == tt.level && strings.Contains(p.Message, tt.want) {
					return
				}
			}
			t.Fatalf("no %s/%s problem containing %q in %+v", tt.check, tt.reason, tt.want, m.Problems())
		})
	}
}

func TestGatewayClassMissing(t *testing.T) {
	tests := []struct {
		name     string
		classes  string
		complete bool
		level    Level
		want     string
	}{
		{name: "class of another name", classes: "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: traefik-gw}\n---\n",
			complete: true, level: Broken, want: "did you mean traefik-gw?"},
		{name: "no class in the input", complete: false, level: Unknown, want: "not in the given manifests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := modelOf(t, tt.classes+"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n  gatewayClassName: traefik\n  listeners:\n"+httpListener, tt.complete)
			ps := m.Problems()
			if len(ps) != 1 || ps[0].Check != CheckClassMissing || ps[0].Level != tt.level || !strings.Contains(ps[0].Message, tt.want) {
				t.Fatalf("problems = %+v, want one gateway-class-missing (%s) containing %q", ps, tt.level, tt.want)
			}
		})
	}
}
