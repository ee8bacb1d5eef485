package live

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
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

// TestTrimPod keeps what the rules and hops read of a listed pod (labels, ports, probes, status,
// the memory limit) and drops the rest of its bulk.
func TestTrimPod(t *testing.T) {
	mem := resource.MustParse("64Mi")
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: corev1.PodSpec{
			Volumes:         []corev1.Volume{{Name: "kube-api-access"}},
			Tolerations:     []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists}},
			Affinity:        &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{}},
			NodeSelector:    map[string]string{"disk": "ssd"},
			SecurityContext: &corev1.PodSecurityContext{RunAsUser: new(int64)},
			Containers: []corev1.Container{{Name: "web", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}, SecurityContext: &corev1.SecurityContext{},
				ReadinessProbe: &corev1.Probe{PeriodSeconds: 5}, VolumeMounts: []corev1.VolumeMount{{Name: "kube-api-access"}},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: mem, corev1.ResourceCPU: resource.MustParse("1")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}}}},
			InitContainers: []corev1.Container{{Name: "init", VolumeMounts: []corev1.VolumeMount{{Name: "x"}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}}}},
		},
		Status: corev1.PodStatus{PodIP: "10.244.0.5"},
	}
	trimPod(p)
	c := p.Spec.Containers[0]
	switch {
	case p.ManagedFields != nil || p.Spec.Volumes != nil || c.VolumeMounts != nil || p.Spec.InitContainers[0].VolumeMounts != nil:
		t.Errorf("managedFields, volumes or mounts kept: %+v", p)
	case p.Spec.Tolerations != nil || p.Spec.Affinity != nil || p.Spec.NodeSelector != nil || p.Spec.SecurityContext != nil || c.SecurityContext != nil:
		t.Errorf("scheduling constraints or security contexts kept: %+v", p.Spec)
	case len(c.Resources.Limits) != 1 || c.Resources.Requests != nil || p.Spec.InitContainers[0].Resources.Requests != nil:
		t.Errorf("resources %+v, want the memory limit only", c.Resources)
	case !c.Resources.Limits.Memory().Equal(mem):
		t.Errorf("memory limit %v, want 64Mi", c.Resources.Limits.Memory())
	case p.Labels["app"] != "web" || c.Ports[0].ContainerPort != 8080 || c.ReadinessProbe == nil || p.Status.PodIP == "":
		t.Errorf("what the rules read was dropped: %+v", p)
	}
}
