package live

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestFromClusterDegradesOneKind(t *testing.T) {
	cs := fake.NewClientset(
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
	)
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", nil)
	})
	cs.PrependReactor("list", "ingressclasses", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.io", Resource: "ingressclasses"}, "", nil)
	})
	s, err := FromCluster(context.Background(), cs, ClusterOptions{Namespace: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Services) != 1 {
		t.Errorf("services were not read: %d", len(s.Services))
	}
	for kind, want := range map[string]string{
		"Pod":          "forbidden: needs list on pods in namespace shop",
		"IngressClass": "forbidden: needs list on ingressclasses in the cluster",
	} {
		if got := s.Unavailable[kind].Detail; got != want || !s.Unavailable[kind].Degraded() {
			t.Errorf("Unavailable[%s] = %q, want %q", kind, got, want)
		}
	}
	if s.Complete("Pod", "shop") || !s.Complete("Service", "shop") {
		t.Error("Complete must be false exactly for the kinds that could not be read")
	}
}

func TestFromClusterPaginates(t *testing.T) {
	cs := fake.NewClientset()
	var calls []string
	cs.PrependReactor("list", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		lo := a.(k8stesting.ListActionImpl).ListOptions
		calls = append(calls, lo.Continue)
		if lo.Limit != 2 {
			t.Errorf("limit %d, want 2", lo.Limit)
		}
		page := &corev1.ServiceList{}
		switch lo.Continue {
		case "":
			page.Items = []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}}
			page.Continue = "p2"
		case "p2":
			page.Items = []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "c"}}}
		}
		return true, page, nil
	})
	s, err := FromCluster(context.Background(), cs, ClusterOptions{Namespace: "shop", PageSize: 2, SkipNodes: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Services) != 3 || strings.Join(calls, ",") != ",p2" {
		t.Errorf("got %d services over calls %q, want 3 over two pages", len(s.Services), calls)
	}
}
