package trace

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	ktesting "k8s.io/client-go/testing"

	"github.com/svc-doctor/svc-doctor/report"
)

// TestServiceFindings checks that the findings a trace shows are those on its Service only, the
// same whether the full list was asked for first or not, and that the full list keeps the others.
func TestServiceFindings(t *testing.T) {
	ruleIDs := func(fs []report.Finding) map[string]bool {
		out := map[string]bool{}
		for _, f := range fs {
			out[f.Rule] = true
		}
		return out
	}
	for _, fullFirst := range []bool{false, true} {
		cs := fake.NewClientset(
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}},
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"},
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "api"}, Ports: []corev1.ServicePort{{Port: 80}}}},
			&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: "shop"}, AddressType: discoveryv1.AddressTypeIPv4},
		)
		r := NewReads(cs, "")
		var full []report.Finding
		if fullFirst {
			full = r.Findings(context.Background())
		}
		web := r.ServiceFindings(context.Background(), "shop", "web")
		if !fullFirst {
			full = r.Findings(context.Background())
		}
		if len(web) != 1 || web[0].Rule != "service-selector-no-match" || web[0].Object.Name != "web" {
			t.Errorf("full list first %v: findings on service/web: %+v, want its service-selector-no-match only", fullFirst, web)
		}
		if got := r.ServiceFindings(context.Background(), "shop", "nosuch"); len(got) != 0 {
			t.Errorf("findings on a Service that does not exist: %+v", got)
		}
		if ids := ruleIDs(full); !ids["service-selector-no-match"] || !ids["endpointslice-service-label-missing"] {
			t.Errorf("full list first %v: the full list lacks the findings on other kinds: %v", fullFirst, ids)
		}
	}
}

// TestNodesSortedByName checks that the node list, shared by the concurrent traces of diagnose -A
// (which must not reorder it), comes sorted by name from the one LIST.
func TestNodesSortedByName(t *testing.T) {
	cs := fake.NewClientset(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-c"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-b"}},
	)
	// the fake lists in name order too: have it answer in another
	cs.PrependReactor("list", "nodes", func(ktesting.Action) (bool, runtime.Object, error) {
		return true, &corev1.NodeList{Items: []corev1.Node{
			{ObjectMeta: metav1.ObjectMeta{Name: "node-c"}}, {ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "node-b"}}}}, nil
	})
	nodes, why := NewReads(cs, "").Nodes(context.Background())
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	if why != "" || strings.Join(names, ",") != "node-a,node-b,node-c" {
		t.Errorf("nodes %v (%s), want node-a,node-b,node-c", names, why)
	}
}
