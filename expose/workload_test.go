package expose

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func TestParseWorkloadArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    WorkloadRef
		wantErr string
	}{
		{name: "short slash form", args: []string{"deploy/web"}, want: WorkloadRef{"deployment", "web"}},
		{name: "TYPE NAME", args: []string{"statefulsets", "db"}, want: WorkloadRef{"statefulset", "db"}},
		{name: "with group", args: []string{"replicasets.apps/web-1"}, want: WorkloadRef{"replicaset", "web-1"}},
		{name: "case-insensitive", args: []string{"RC/legacy"}, want: WorkloadRef{"replicationcontroller", "legacy"}},
		{name: "pod", args: []string{"po", "client"}, want: WorkloadRef{"pod", "client"}},
		{name: "no name", args: []string{"deploy/"}, wantErr: "deploy: the name is missing"},
		{name: "daemonset", args: []string{"ds/agent"}, wantErr: `cannot expose a "ds"`},
		{name: "three args", args: []string{"deploy", "a", "b"}, wantErr: "expose takes one workload, as TYPE/NAME or TYPE NAME (e.g. deploy/web); got 3 arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWorkloadArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || len(err.Error()) < len(tt.wantErr) || err.Error()[:len(tt.wantErr)] != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v %v, want %+v", got, err, tt.want)
			}
		})
	}
}

func TestFetchTarget(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x", "v": "1"}}, Spec: *webTemplate()}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"owner": name}}
	}
	objs := []runtime.Object{
		&appsv1.Deployment{ObjectMeta: meta("d"), Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}, Template: tmpl}},
		&appsv1.ReplicaSet{ObjectMeta: meta("r"), Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"x"}}}}, Template: tmpl}},
		&appsv1.StatefulSet{ObjectMeta: meta("s"), Spec: appsv1.StatefulSetSpec{ServiceName: "s-headless", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}, Template: tmpl}},
		&corev1.ReplicationController{ObjectMeta: meta("c"), Spec: corev1.ReplicationControllerSpec{Template: &tmpl}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop", Labels: map[string]string{"app": "x", "pod": "p"}}, Spec: *webTemplate()},
	}
	cs := fake.NewClientset(objs...)
	tests := []struct {
		ref          WorkloadRef
		selector     map[string]string
		labels       map[string]string
		serviceName  string
		selectorNote string
		wantErr      string
	}{
		{ref: WorkloadRef{"deployment", "d"}, selector: map[string]string{"app": "x"}, labels: map[string]string{"owner": "d"}},
		{ref: WorkloadRef{"replicaset", "r"}, labels: map[string]string{"owner": "r"}, selectorNote: "replicaset/r selects its pods with matchExpressions, which a Service selector cannot express"},
		{ref: WorkloadRef{"statefulset", "s"}, selector: map[string]string{"app": "x"}, labels: map[string]string{"owner": "s"}, serviceName: "s-headless"},
		{ref: WorkloadRef{"replicationcontroller", "c"}, selector: map[string]string{"app": "x", "v": "1"}, labels: map[string]string{"owner": "c"}},
		{ref: WorkloadRef{"pod", "p"}, selector: map[string]string{"app": "x", "pod": "p"}, labels: map[string]string{"app": "x", "pod": "p"}},
		{ref: WorkloadRef{"deployment", "missing"}, wantErr: "deployment/missing not found in namespace shop (check the name, or pass -n NAMESPACE)"},
	}
	for _, tt := range tests {
		t.Run(tt.ref.String(), func(t *testing.T) {
			got, err := FetchTarget(context.Background(), cs, "shop", tt.ref)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.selector, got.Selector); diff != "" {
				t.Errorf("selector (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(tt.labels, got.Labels); diff != "" {
				t.Errorf("labels (-want +got)\n%s", diff)
			}
			if got.ServiceName != tt.serviceName || got.selectorNote != tt.selectorNote || got.Template == nil || len(got.Template.Containers) != 1 {
				t.Errorf("target %+v", got)
			}
		})
	}
}
