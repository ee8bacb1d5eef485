package diagnose

import (
	"bytes"
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/trace/tracetest"
)

func TestCleanup(t *testing.T) {
	helperPod := func(ns, name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels: map[string]string{helper.LabelName: helper.NameValue, helper.LabelManagedBy: helper.ManagedByValue}}}
	}
	tests := []struct {
		name string
		all  bool
		want string
	}{
		{name: "namespace", want: "pod/shop/svc-doctor-helper-a deleted\n"},
		{name: "all namespaces", all: true, want: "pod/other/svc-doctor-helper-b deleted\npod/shop/svc-doctor-helper-a deleted\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewSimpleClientset(helperPod("shop", "svc-doctor-helper-a"), helperPod("other", "svc-doctor-helper-b"), tracetest.Pod("web-1", "web", "10.244.0.11"))
			var out bytes.Buffer
			o := &CleanupOptions{IOStreams: genericiooptions.IOStreams{Out: &out}, Client: cs, Namespace: "shop", AllNamespaces: tc.all}
			if err := o.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("output %q, want %q", out.String(), tc.want)
			}
			if _, err := cs.CoreV1().Pods(tracetest.TestNS).Get(context.Background(), "web-1", metav1.GetOptions{}); err != nil {
				t.Errorf("cleanup deleted a pod that is not a helper: %v", err)
			}
			out.Reset()
			_ = o.Run(context.Background())
			if want := "No svc-doctor helper pods in "; !bytes.HasPrefix(out.Bytes(), []byte(want)) {
				t.Errorf("second run: %q", out.String())
			}
		})
	}
}
