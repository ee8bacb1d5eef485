package live

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/svc-doctor/svc-doctor/snapshot"
)

// notServed makes a fake answer 404 to every request for resource at version ("" every version),
// as an API server does for a resource no CRD defines.
func notServed(c *gwfake.Clientset, resource, version string) {
	c.PrependReactor("*", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		if version != "" && a.GetResource().Version != version {
			return false, nil, nil
		}
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: gwv1.GroupName, Resource: resource}, "")
	})
}

// gatewayFake is a fake Gateway API clientset holding objs. The fake's own constructor files
// objects under the resource name client-go guesses from the kind, which is "gatewaies" for a
// Gateway: they are created under their real resource names here.
func gatewayFake(t *testing.T, objs ...runtime.Object) *gwfake.Clientset {
	t.Helper()
	c := gwfake.NewSimpleClientset()
	for _, o := range objs {
		var gvr schema.GroupVersionResource
		switch o.(type) {
		case *gwv1.GatewayClass:
			gvr = schema.GroupVersion(gwv1.GroupVersion).WithResource("gatewayclasses")
		case *gwv1.Gateway:
			gvr = schema.GroupVersion(gwv1.GroupVersion).WithResource("gateways")
		case *gwv1.HTTPRoute:
			gvr = schema.GroupVersion(gwv1.GroupVersion).WithResource("httproutes")
		case *gwv1.GRPCRoute:
			gvr = schema.GroupVersion(gwv1.GroupVersion).WithResource("grpcroutes")
		case *gwv1.ReferenceGrant:
			gvr = schema.GroupVersion(gwv1.GroupVersion).WithResource("referencegrants")
		case *gwv1beta1.ReferenceGrant:
			gvr = schema.GroupVersion(gwv1beta1.GroupVersion).WithResource("referencegrants")
		default:
			t.Fatalf("gatewayFake: unexpected %T", o)
		}
		ns := o.(metav1.Object).GetNamespace()
		if err := c.Tracker().Create(gvr, o, ns); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// sharedGateway is a Gateway in infra that admits routes of namespaces labelled shared=true.
func sharedGateway() *gwv1.Gateway {
	from := gwv1.NamespacesFromSelector
	return &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "shared"},
		Spec: gwv1.GatewaySpec{GatewayClassName: "traefik", Listeners: []gwv1.Listener{{Name: "web", Port: 8000, Protocol: gwv1.HTTPProtocolType,
			AllowedRoutes: &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: &from, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"shared": "true"}}}}}}}}
}

// appRoute is an HTTPRoute in app attached to infra/shared with a backend in namespace backend.
func appRoute() *gwv1.HTTPRoute {
	return &gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"},
		Spec: gwv1.HTTPRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "shared", Namespace: ptr.To(gwv1.Namespace("infra"))}}},
			Rules: []gwv1.HTTPRouteRule{{BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{
				Name: "api", Namespace: ptr.To(gwv1.Namespace("backend")), Port: ptr.To(gwv1.PortNumber(80))}}}}}}}}
}

func TestReadGatewayAPI(t *testing.T) {
	class := &gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "traefik"}, Spec: gwv1.GatewayClassSpec{ControllerName: "traefik.io/gateway-controller"}}
	grant := &gwv1beta1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: "backend", Name: "from-app"},
		Spec: gwv1.ReferenceGrantSpec{From: []gwv1.ReferenceGrantFrom{{Group: gwv1.GroupName, Kind: "HTTPRoute", Namespace: "app"}}, To: []gwv1.ReferenceGrantTo{{Kind: "Service"}}}}
	kubeObjs := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app", Labels: map[string]string{"shared": "true"}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "backend", Name: "api"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}},
	}
	tests := []struct {
		name  string
		opts  GatewayOptions
		setup func(*gwfake.Clientset)
		// want
		notInstalled                   bool
		routes, gateways, refGateways  int
		refServices, refGrants, grants int
		namespaces                     int
		unread                         map[string]snapshot.UnreadReason
		complete                       map[[2]string]bool // {kind, ns} -> refs complete
		maxRequests                    int
	}{
		{name: "not installed: no marks, two requests", opts: GatewayOptions{Namespace: "app"},
			setup:        func(c *gwfake.Clientset) { notServed(c, "gatewayclasses", "") },
			notInstalled: true, maxRequests: 2},
		{name: "one namespace: parent Gateway, backend Service and the grants of its namespace are read by reference",
			opts:   GatewayOptions{Namespace: "app"},
			setup:  func(c *gwfake.Clientset) { notServed(c, "referencegrants", "v1") },
			routes: 1, refGateways: 1, refServices: 1, refGrants: 1, namespaces: 1,
			complete: map[[2]string]bool{{"Gateway", "infra"}: true, {"Service", "backend"}: true, {"ReferenceGrant", "backend"}: true, {"Service", "other"}: false}},
		{name: "every namespace: nothing is read by reference", opts: GatewayOptions{},
			setup:  func(c *gwfake.Clientset) { notServed(c, "referencegrants", "v1") },
			routes: 1, gateways: 1, grants: 1, namespaces: 1},
		{name: "a forbidden kind is marked, the others are read", opts: GatewayOptions{Namespace: "app"},
			setup: func(c *gwfake.Clientset) {
				c.PrependReactor("list", "httproutes", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: gwv1.GroupName, Resource: "httproutes"}, "", nil)
				})
			},
			unread: map[string]snapshot.UnreadReason{"HTTPRoute": snapshot.Forbidden}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gw := gatewayFake(t, class, sharedGateway(), appRoute(), grant)
			tc.setup(gw)
			kube := fake.NewClientset(kubeObjs...)
			rd := ReadGatewayAPI(context.Background(), gw, kube, tc.opts)
			p := rd.Part
			if rd.NotInstalled != tc.notInstalled {
				t.Errorf("NotInstalled = %v, want %v", rd.NotInstalled, tc.notInstalled)
			}
			if tc.notInstalled && len(rd.Unread) > 0 {
				t.Errorf("a cluster without the Gateway API got marks %v: its kinds are known to be empty", rd.Unread)
			}
			if got := len(p.HTTPRoutes); got != tc.routes {
				t.Errorf("%d HTTPRoutes, want %d", got, tc.routes)
			}
			if got := len(p.Gateways); got != tc.gateways {
				t.Errorf("%d Gateways in scope, want %d", got, tc.gateways)
			}
			if got := len(p.ReferenceGrants); got != tc.grants {
				t.Errorf("%d ReferenceGrants in scope, want %d", got, tc.grants)
			}
			if got := len(p.NamespaceObjects); got != tc.namespaces {
				t.Errorf("%d Namespaces, want %d", got, tc.namespaces)
			}
			refs := p.GatewayAPI.Refs
			var rg, rs, rgr int
			if refs != nil {
				rg, rs, rgr = len(refs.Gateways), len(refs.Services), len(refs.ReferenceGrants)
			}
			if rg != tc.refGateways || rs != tc.refServices || rgr != tc.refGrants {
				t.Errorf("refs: %d Gateways, %d Services, %d ReferenceGrants, want %d, %d, %d", rg, rs, rgr, tc.refGateways, tc.refServices, tc.refGrants)
			}
			for k, want := range tc.complete {
				if got := refs.Complete(k[0], k[1]); got != want {
					t.Errorf("refs complete for %s in %s = %v, want %v", k[0], k[1], got, want)
				}
			}
			for kind, reason := range tc.unread {
				if got := rd.Unread[kind].Reason; got != reason {
					t.Errorf("Unread[%s] = %q, want %q", kind, got, reason)
				}
			}
			if len(tc.unread) == 0 && len(rd.Unread) > 0 {
				t.Errorf("unexpected marks %v", rd.Unread)
			}
			if n := len(gw.Actions()) + len(kube.Actions()); tc.maxRequests > 0 && n > tc.maxRequests {
				t.Errorf("%d requests, want at most %d", n, tc.maxRequests)
			}
		})
	}
}

// TestFromClusterGateway checks the hook in FromCluster: with a Gateway client the Gateway API
// kinds are read, without one they are marked not requested (and the snapshot says so).
func TestFromClusterGateway(t *testing.T) {
	kube := fake.NewClientset(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"}})
	s, err := FromCluster(context.Background(), kube, ClusterOptions{Namespace: "app", SkipNodes: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range GatewayKinds {
		if u, ok := s.Unavailable[k]; !ok || u.Degraded() {
			t.Errorf("without a Gateway client, %s is marked %+v, want not requested", k, u)
		}
	}
	gw := gatewayFake(t, appRoute())
	s, err = FromCluster(context.Background(), kube, ClusterOptions{Namespace: "app", SkipNodes: true, Gateway: gw})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.HTTPRoutes) != 1 || len(s.Services) != 1 {
		t.Errorf("got %d HTTPRoutes and %d Services, want 1 and 1", len(s.HTTPRoutes), len(s.Services))
	}
	for _, k := range GatewayKinds {
		if _, ok := s.Unavailable[k]; ok {
			t.Errorf("with a Gateway client, %s is marked %+v", k, s.Unavailable[k])
		}
	}
}
