package gateway

import (
	"strconv"
	"strings"
	"testing"
)

// statusGateway is gatewayYAML with a status written by the class's controller (example.com/gc).
func statusGateway(gwStatus string) string {
	return `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gc}
spec: {controllerName: example.com/gc}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra, generation: 2}
spec:
  gatewayClassName: gc
  listeners:
  - name: http
    port: 80
    protocol: HTTP
` + gwStatus
}

const gwAccepted = `status:
  conditions:
  - {type: Accepted, status: "True", reason: Accepted, observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z", message: ""}
`

// gwListenerStatus is the status of listener http with attached routes.
func gwListenerStatus(attached int) string {
	return `  listeners:
  - name: http
    attachedRoutes: ` + strconv.Itoa(attached) + `
    supportedKinds: [{kind: HTTPRoute}]
    conditions:
    - {type: Accepted, status: "True", reason: Accepted, observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z", message: ""}
    - {type: ResolvedRefs, status: "True", reason: ResolvedRefs, observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z", message: ""}
`
}

// statusRoute is an HTTPRoute of namespace infra on gw with the given status, and its Service
// (svcPort: the port the Service has).
func statusRoute(status string, svcPort string) string {
	return `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: infra, generation: 3}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: web, port: 80}]
` + status + `---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: infra}
spec: {ports: [{port: ` + svcPort + `}]}
`
}

func parentStatus(accepted, acceptedReason, resolved, resolvedReason string, gen int) string {
	g := strconv.Itoa(gen)
	return `status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: gw}
    controllerName: example.com/gc
    conditions:
    - {type: Accepted, status: "` + accepted + `", reason: ` + acceptedReason + `, observedGeneration: ` + g + `, lastTransitionTime: "2026-01-01T00:00:00Z", message: "from the controller"}
    - {type: ResolvedRefs, status: "` + resolved + `", reason: ` + resolvedReason + `, observedGeneration: ` + g + `, lastTransitionTime: "2026-01-01T00:00:00Z", message: "from the controller"}
`
}

func TestStatusComparison(t *testing.T) {
	tests := []struct {
		name string
		docs string
		// live sets StatusExpected
		live bool
		// want are substrings of the status problems, in order ("" entries: none expected)
		want []string
	}{
		{name: "status agrees", docs: statusGateway(gwAccepted+gwListenerStatus(1)) + statusRoute(parentStatus("True", "Accepted", "True", "ResolvedRefs", 3), "80"), live: true},
		{name: "manifests without status: nothing to compare", docs: statusGateway("") + statusRoute("", "80")},
		{name: "live without any status: the Gateway and the route were not processed", docs: statusGateway("") + statusRoute("", "80"), live: true,
			want: []string{"gateway/infra/gw: status missing: the Gateway has no Accepted condition: controller example.com/gc",
				"httproute/infra/web: status missing: no status.parents entry for spec.parentRefs[0] (gateway/infra/gw) from controller example.com/gc",
			}},
		{name: "stale route status", docs: statusGateway(gwAccepted+gwListenerStatus(1)) + statusRoute(parentStatus("True", "Accepted", "True", "ResolvedRefs", 2), "80"), live: true,
			want: []string{"httproute/infra/web: status stale: controller example.com/gc wrote Accepted=True for gateway/infra/gw at generation 2, the route is at generation 3"}},
		{name: "the controller refuses for a modelled reason the specs do not confirm: stale or deviating",
			docs: statusGateway(gwAccepted+gwListenerStatus(1)) + statusRoute(parentStatus("False", "NotAllowedByListeners", "True", "ResolvedRefs", 3), "80"), live: true,
			want: []string{"httproute/infra/web: status contradicts the specs: controller example.com/gc says NotAllowedByListeners (from the controller) on gateway/infra/gw, but by the specs as they are now the route attaches to listener http: the status is stale (a Namespace's labels"}},
		{name: "the controller refuses for a reason of its own: believe the status",
			docs: statusGateway(gwAccepted+gwListenerStatus(1)) + statusRoute(parentStatus("False", "UnsupportedValue", "True", "ResolvedRefs", 3), "80"), live: true,
			want: []string{"status disagrees: controller example.com/gc refuses the route on gateway/infra/gw for a reason the specs alone do not show (UnsupportedValue: from the controller): believe the status"}},
		{name: "ResolvedRefs=True although the backend port does not exist: the controller deviates or is stale",
			docs: statusGateway(gwAccepted+gwListenerStatus(1)) + statusRoute(parentStatus("True", "Accepted", "True", "ResolvedRefs", 3), "8080"), live: true,
			want: []string{"status contradicts the specs: controller example.com/gc says ResolvedRefs=True on gateway/infra/gw, but spec.rules[0].backendRefs[0].port is invalid (BackendNotFound: Service infra/web has no port 80"}},
		{name: "BackendNotFound although the Service has the port: stale",
			docs: statusGateway(gwAccepted+gwListenerStatus(1)) + statusRoute(parentStatus("True", "Accepted", "False", "BackendNotFound", 3), "80"), live: true,
			want: []string{"status contradicts the specs: controller example.com/gc says BackendNotFound (from the controller) on gateway/infra/gw, but every backendRef resolves by the specs as they are now: the status is stale"}},
		{name: "a listener without status",
			docs: statusGateway(gwAccepted) + statusRoute(parentStatus("True", "Accepted", "True", "ResolvedRefs", 3), "80"), live: true,
			want: []string{"gateway/infra/gw: status partial: controller example.com/gc accepted the Gateway but wrote no status for listener http"}},
		{name: "attachedRoutes compared with the routes the specs attach",
			docs: statusGateway(gwAccepted+gwListenerStatus(0)) + statusRoute(parentStatus("True", "Accepted", "True", "ResolvedRefs", 3), "80"), live: true,
			want: []string{"gateway/infra/gw: status disagrees: controller example.com/gc counts 0 attached routes on listener http, the specs attach 1 (httproute/infra/web): the controller refuses some route"}},
		{name: "a Gateway the controller does not accept",
			docs: statusGateway(`status:
  conditions:
  - {type: Accepted, status: "False", reason: InvalidParameters, observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z", message: "bad params"}
`) + statusRoute(parentStatus("True", "Accepted", "True", "ResolvedRefs", 3), "80"), live: true,
			want: []string{"gateway/infra/gw: status disagrees: controller example.com/gc does not accept the Gateway (InvalidParameters: bad params)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := &confObjects{}
			for _, doc := range splitYAML([]byte(tc.docs)) {
				if err := addObject(objs, doc); err != nil {
					t.Fatal(err)
				}
			}
			objs.StatusExpected = tc.live
			objs.AllNamespaces = tc.live
			m := New(objs.Objects)
			var got []string
			for _, p := range m.Problems() {
				if p.Check == CheckRouteStatus || p.Check == CheckGatewayStatus {
					got = append(got, p.Object.String()+": "+p.Message)
					if p.Level != Risky {
						t.Errorf("status problem at level %s, want risky (a warning): %s", p.Level, p.Message)
					}
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d status problems, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d:\n got %s\nwant it to contain %s", i, got[i], w)
				}
			}
		})
	}
}
