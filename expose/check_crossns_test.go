package expose

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// otherIngress is an Ingress in namespace ns with one Prefix route host+path to svc:80; class ""
// leaves the class to the default IngressClass (traefik in neighbours.yaml).
func otherIngress(ns, name, class, host, path, svc string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, CreationTimestamp: metav1.NewTime(testNow.Add(-24 * 3600e9))},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: path, PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc,
					Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}
	if class != "" {
		ing.Spec.IngressClassName = &class
	}
	return ing
}

// TestIngressCheckedAgainstOtherNamespaces checks that `expose ingress` reads the Ingresses of
// every namespace (one LIST) and that a route of the same class, host and path in another
// namespace is reported as a conflict; and that a forbidden LIST only limits the check.
func TestIngressCheckedAgainstOtherNamespaces(t *testing.T) {
	const conflict = "is also routed by ingress/blog/blog (spec.rules[0].http.paths[0]): only one of them can serve requests [ingress-route-conflict]"
	tests := []struct {
		name       string
		others     []runtime.Object
		forbidden  bool
		wantStderr []string
		notStderr  []string
	}{
		{
			name:       "same class, host and path in another namespace",
			others:     []runtime.Object{otherIngress("blog", "blog", "traefik", "shop.example.com", "/api", "posts")},
			wantStderr: []string{"warning: ingress/shop spec.rules[0].http.paths[0]: shop.example.com Prefix /api " + conflict, "0 errors, 1 warning"},
		},
		{
			name:       "other namespace's Ingress takes the default class",
			others:     []runtime.Object{otherIngress("blog", "blog", "", "SHOP.example.com.", "/api/", "posts")},
			wantStderr: []string{"shop.example.com Prefix /api " + conflict},
		},
		{
			name:      "another class in another namespace",
			others:    []runtime.Object{otherIngress("blog", "blog", "nginx", "shop.example.com", "/api", "posts")},
			notStderr: []string{"[ingress-route-conflict]"},
		},
		{
			name:      "another host in another namespace",
			others:    []runtime.Object{otherIngress("blog", "blog", "traefik", "blog.example.com", "/api", "posts")},
			notStderr: []string{"[ingress-route-conflict]"},
		},
		{
			name:       "same namespace, as before",
			others:     []runtime.Object{otherIngress("shop", "old", "traefik", "shop.example.com", "/api", "storefront")},
			wantStderr: []string{"is also routed by ingress/shop/old (spec.rules[0].http.paths[0]): only one of them can serve requests [ingress-route-conflict]"},
		},
		{
			name:       "cluster-wide list forbidden",
			others:     []runtime.Object{otherIngress("blog", "blog", "traefik", "shop.example.com", "/api", "posts")},
			forbidden:  true,
			wantStderr: []string{"warning: forbidden: needs list on ingresses in the cluster: other namespaces' routes not checked\n", "0 errors, 0 warnings"},
			notStderr:  []string{"[ingress-route-conflict]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(append(neighbours(t), tt.others...)...)
			if tt.forbidden {
				cs.PrependReactor("list", "ingresses", func(a k8stesting.Action) (bool, runtime.Object, error) {
					if a.GetNamespace() != "" {
						return false, nil, nil
					}
					return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}, "", nil)
				})
			}
			res := run(t, cs, "ingress", "shop", "--class", "traefik", "--rule", "shop.example.com/api*=api:http", "--dry-run=client")
			if res.err != nil {
				t.Fatalf("%v\n%s", res.err, res.stderr)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, res.stderr)
				}
			}
			for _, w := range tt.notStderr {
				if strings.Contains(res.stderr, w) {
					t.Errorf("stderr has %q:\n%s", w, res.stderr)
				}
			}
			lists := 0
			for _, a := range cs.Actions() {
				if a.GetVerb() == "list" && a.GetResource().Resource == "ingresses" && a.GetNamespace() == "" {
					lists++
				}
			}
			if lists != 1 {
				t.Errorf("%d cluster-wide LISTs of ingresses, want 1", lists)
			}
		})
	}
}

// TestOnlyIngressesListAllNamespaces checks that a Service (no Ingress in the plan) does not
// list the Ingresses of other namespaces.
func TestOnlyIngressesListAllNamespaces(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{name: "ClusterIP Service", args: []string{"deploy/web", "--dry-run=client"}},
		{name: "ExternalName Service", args: []string{"externalname", "pay", "--to", "api.example.com", "--dry-run=client"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(neighbours(t)...)
			if res := run(t, cs, tt.args...); res.err != nil {
				t.Fatalf("%v\n%s", res.err, res.stderr)
			}
			for _, a := range cs.Actions() {
				if a.GetVerb() == "list" && a.GetResource().Resource == "ingresses" && a.GetNamespace() == "" {
					t.Errorf("listed the Ingresses of all namespaces")
				}
			}
		})
	}
}
