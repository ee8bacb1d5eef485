package diagnose

import (
	"context"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"
)

// TestRoutesTo lists the Ingress paths and HTTPRoute rules of the namespace that send traffic to
// Service web, with one LIST of each kind.
func TestRoutesTo(t *testing.T) {
	prefix := networkingv1.PathTypePrefix
	ing := func(ns, name, svc string) runtime.Object {
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Name: "http"}}}}}}}}}}}
	}
	route := func(ns, name, svc string) *gwv1.HTTPRoute {
		return &gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: gwv1.HTTPRouteSpec{Hostnames: []gwv1.Hostname{"www.example.com"},
			Rules: []gwv1.HTTPRouteRule{{}, {BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{Name: gwv1.ObjectName(svc), Port: new(gwv1.PortNumber(80))}}}}}}}}
	}
	tests := []struct {
		name      string
		withGW    bool
		want      []string
		wantNote  string
		wantCalls int
	}{
		{name: "Ingresses and HTTPRoutes", withGW: true, wantCalls: 2, want: []string{
			"ingress shop/front spec.rules[0].http.paths[0] shop.example.com/ (Prefix) -> port http",
			"httproute shop/www rule[1] (www.example.com) -> port 80"}, wantNote: "routes of other namespaces that name it are not looked for"},
		{name: "no Gateway API client: Ingresses only", wantCalls: 1, want: []string{
			"ingress shop/front spec.rules[0].http.paths[0] shop.example.com/ (Prefix) -> port http"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(ing("shop", "front", "web"), ing("shop", "other", "api"), ing("elsewhere", "front", "web"))
			o := &Options{Client: kube, Namespace: "shop", Name: "web"}
			gw := gwfake.NewSimpleClientset()
			if tt.withGW {
				for _, r := range []*gwv1.HTTPRoute{route("shop", "www", "web"), route("shop", "api", "api"), route("elsewhere", "www", "web")} {
					if err := gw.Tracker().Create(schema.GroupVersion(gwv1.GroupVersion).WithResource("httproutes"), r, r.Namespace); err != nil {
						t.Fatal(err)
					}
				}
				o.Gateway = gw
			}
			got, note := o.routesTo(context.Background())
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if !strings.Contains(note, tt.wantNote) {
				t.Errorf("note %q, want %q", note, tt.wantNote)
			}
			if calls := len(kube.Actions()) + len(gw.Actions()); calls != tt.wantCalls {
				t.Errorf("%d API requests, want %d", calls, tt.wantCalls)
			}
		})
	}
}
