package snapshot

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	selectionop "k8s.io/apimachinery/pkg/selection"

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

// MatchingPods returns the pods of the snapshot that a selector selects in namespace ns, in the
// order of the snapshot. The candidates are the workloads of ns that carry one of the selector's
// equality requirements (the fewest), so that diagnosing every Service of a big namespace does not
// compare every Service with every pod.
func (s *Snapshot) MatchingPods(ns string, sel labels.Selector) []*corev1.Pod {
	x := s.selectionIndex()
	candidates := x.byNS[ns]
	if reqs, selectable := sel.Requirements(); selectable {
		for _, r := range reqs {
			switch r.Operator() {
			case selectionop.Equals, selectionop.DoubleEquals, selectionop.In:
				if r.Values().Len() != 1 {
					continue
				}
				if c := x.byLabel[[3]string{ns, r.Key(), r.Values().UnsortedList()[0]}]; len(c) < len(candidates) {
					candidates = c
				}
			}
		}
	}
	var out []*corev1.Pod
	for _, w := range candidates {
		if w.Pod != nil && w.Pod.Namespace == ns && sel.Matches(labels.Set(w.Labels)) {
			out = append(out, w.Pod)
		}
	}
	return out
}
