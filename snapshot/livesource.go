package snapshot

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/svc-doctor/svc-doctor/report"
)

// PodWorkload wraps a live Pod as a workload.
func PodWorkload(p *corev1.Pod) *Workload {
	return &Workload{Src: LiveSource("v1", "Pod", &p.ObjectMeta), Labels: p.Labels, LabelsPath: "metadata.labels",
		Spec: &p.Spec, SpecPath: "spec", Pod: p}
}

// LiveSource identifies an object read from a cluster.
func LiveSource(apiVersion, kind string, m *metav1.ObjectMeta) *Source {
	return &Source{Ref: report.ObjectRef{APIVersion: apiVersion, Kind: kind, Namespace: m.Namespace, Name: m.Name}, Annotations: m.Annotations}
}

// MatchingPods returns the pods of the snapshot that a selector selects in namespace ns.
func (s *Snapshot) MatchingPods(ns string, sel labels.Selector) []*corev1.Pod {
	var out []*corev1.Pod
	for _, w := range s.Workloads {
		if w.Pod != nil && w.Pod.Namespace == ns && sel.Matches(labels.Set(w.Labels)) {
			out = append(out, w.Pod)
		}
	}
	return out
}
