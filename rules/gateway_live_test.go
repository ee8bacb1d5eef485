package rules

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// liveRouteSnapshot is a live snapshot of namespace app: an HTTPRoute attached to Gateway
// infra/shared with a backend in namespace backend, those two read by reference (refs).
func liveRouteSnapshot(refs *snapshot.GatewayRefs) *snapshot.Snapshot {
	route := &gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"},
		Spec: gwv1.HTTPRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "shared", Namespace: ptr.To(gwv1.Namespace("infra"))}}},
			Rules: []gwv1.HTTPRouteRule{{BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{
				Name: "api", Namespace: ptr.To(gwv1.Namespace("backend")), Port: ptr.To(gwv1.PortNumber(80))}}}}}}}}
	class := &gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "traefik"}, Spec: gwv1.GatewayClassSpec{ControllerName: "traefik.io/gateway-controller"}}
	s := &snapshot.Snapshot{Live: true, DefaultNamespace: "app", Unavailable: map[string]snapshot.Unread{}}
	s.HTTPRoutes = []*snapshot.HTTPRoute{{HTTPRoute: route, Src: snapshot.LiveSource("gateway.networking.k8s.io/v1", "HTTPRoute", &route.ObjectMeta)}}
	s.GatewayClasses = []*snapshot.GatewayClass{{GatewayClass: class, Src: snapshot.LiveSource("gateway.networking.k8s.io/v1", "GatewayClass", &class.ObjectMeta)}}
	s.GatewayAPI.Refs = refs
	s.Index()
	return s
}

func sharedGatewayRef() *snapshot.Gateway {
	all := gwv1.NamespacesFromAll
	g := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "shared"}, Spec: gwv1.GatewaySpec{GatewayClassName: "traefik",
		Listeners: []gwv1.Listener{{Name: "web", Port: 8000, Protocol: gwv1.HTTPProtocolType, AllowedRoutes: &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: &all}}}}}}
	return &snapshot.Gateway{Gateway: g, Src: snapshot.LiveSource("gateway.networking.k8s.io/v1", "Gateway", &g.ObjectMeta)}
}

func grantFromApp() *snapshot.ReferenceGrant {
	g := &gwv1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: "backend", Name: "from-app"},
		Spec: gwv1.ReferenceGrantSpec{From: []gwv1.ReferenceGrantFrom{{Group: gwv1.GroupName, Kind: "HTTPRoute", Namespace: "app"}}, To: []gwv1.ReferenceGrantTo{{Kind: "Service"}}}}
	return &snapshot.ReferenceGrant{ReferenceGrant: g, Src: snapshot.LiveSource("gateway.networking.k8s.io/v1", "ReferenceGrant", &g.ObjectMeta)}
}

func apiService() *snapshot.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "backend", Name: "api"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	return &snapshot.Service{Service: svc, Src: snapshot.LiveSource("v1", "Service", &svc.ObjectMeta)}
}

// TestGatewayLiveOneNamespace checks lint --live -n on a route whose Gateway, backend and grant are
// in other namespaces: what was read by reference resolves them, what was looked for by name and
// not found is an error, and what was not looked for is not taken to be absent.
func TestGatewayLiveOneNamespace(t *testing.T) {
	read := func(kinds ...string) map[string]map[string]bool {
		out := map[string]map[string]bool{}
		for _, k := range kinds {
			ns, kind, _ := strings.Cut(k, "/")
			if out[ns] == nil {
				out[ns] = map[string]bool{}
			}
			out[ns][kind] = true
		}
		return out
	}
	tests := []struct {
		name string
		refs *snapshot.GatewayRefs
		// want maps rule -> severity of its finding on the route ("" none)
		want map[string]report.Severity
	}{
		{name: "everything referred to was read", refs: &snapshot.GatewayRefs{Scope: "app", Gateways: []*snapshot.Gateway{sharedGatewayRef()},
			Services: []*snapshot.Service{apiService()}, ReferenceGrants: []*snapshot.ReferenceGrant{grantFromApp()},
			Read: read("infra/Gateway", "backend/Service", "backend/ReferenceGrant")},
			want: map[string]report.Severity{}},
		{name: "the backend was looked for by name and does not exist", refs: &snapshot.GatewayRefs{Scope: "app", Gateways: []*snapshot.Gateway{sharedGatewayRef()},
			ReferenceGrants: []*snapshot.ReferenceGrant{grantFromApp()}, Read: read("infra/Gateway", "backend/Service", "backend/ReferenceGrant")},
			want: map[string]report.Severity{"route-backend-not-found": report.Error}},
		{name: "nothing outside the namespace was read: unknown, not absent", refs: &snapshot.GatewayRefs{Scope: "app", Read: map[string]map[string]bool{}},
			want: map[string]report.Severity{"route-parent-no-match": report.Info, "route-backend-not-found": report.Info, "route-backend-ref-not-permitted": report.Info}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Run(liveRouteSnapshot(tc.refs), fixtureConfig())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]report.Severity{}
			for _, f := range out.Findings {
				if f.Object != nil && f.Object.Kind == "HTTPRoute" && f.Rule != "route-status-mismatch" {
					got[f.Rule] = f.Severity
				}
			}
			for rule, sev := range tc.want {
				if got[rule] != sev {
					t.Errorf("%s: severity %v, want %v (all: %v)", rule, got[rule], sev, got)
				}
			}
			for rule := range got {
				if _, ok := tc.want[rule]; !ok {
					t.Errorf("unexpected finding %s (%v)", rule, got[rule])
				}
			}
		})
	}
}
