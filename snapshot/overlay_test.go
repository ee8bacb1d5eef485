package snapshot

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svc-doctor/svc-doctor/report"
)

func testService(ns, name, clusterIP string) *Service {
	return &Service{Service: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{ClusterIP: clusterIP}},
		Src: &Source{Ref: report.ObjectRef{APIVersion: "v1", Kind: "Service", Namespace: ns, Name: name}}}
}

// TestWithLeavesTheBaseAlone lays objects over a snapshot: the new snapshot has them (replacing
// same-named ones, without the dropped ones, with the read marks changed) and the base is exactly
// as it was, even where its slices had room to grow.
func TestWithLeavesTheBaseAlone(t *testing.T) {
	base := &Snapshot{Live: true, Unavailable: map[string]Unread{"Secret": NotRead("not needed")}}
	base.Services = make([]*Service, 0, 10) // spare capacity: an append must not write into it
	base.Services = append(base.Services, testService("shop", "web", "10.0.0.1"), testService("shop", "old", "10.0.0.2"))
	base.Index()
	over := base.With(Overlay{
		Services: []*Service{testService("shop", "web", "10.0.0.9"), testService("shop", "new", "10.0.0.3")},
		Drop:     func(s *Source) bool { return s.Ref.Name == "old" },
		Read:     []string{"Secret"},
		Unread:   map[string]Unread{"Pod": {Reason: Forbidden, Detail: "forbidden"}},
	})
	if got := over.Service("shop", "web"); got == nil || got.Spec.ClusterIP != "10.0.0.9" {
		t.Errorf("web was not replaced: %+v", got)
	}
	if over.Service("shop", "old") != nil || over.Service("shop", "new") == nil || len(over.Services) != 2 {
		t.Errorf("overlay services: %d, old %v, new %v", len(over.Services), over.Service("shop", "old"), over.Service("shop", "new"))
	}
	if _, ok := over.Unavailable["Secret"]; ok || !over.Complete("Secret", "shop") || over.Complete("Pod", "shop") {
		t.Errorf("marks: %v", over.Unavailable)
	}
	// the base did not change
	if len(base.Services) != 2 || base.Service("shop", "web").Spec.ClusterIP != "10.0.0.1" || base.Service("shop", "new") != nil {
		t.Errorf("base changed: %d services", len(base.Services))
	}
	if _, ok := base.Unavailable["Secret"]; !ok || len(base.Unavailable) != 1 {
		t.Errorf("base marks changed: %v", base.Unavailable)
	}
	if extra := base.Services[:3]; extra[2] != nil {
		t.Errorf("With wrote into the base's spare capacity: %v", extra[2].Name)
	}
}

func TestMergeKeepsTheParts(t *testing.T) {
	base := &Snapshot{Live: true, Unavailable: map[string]Unread{}}
	a := &Snapshot{Services: []*Service{testService("a", "x", "")}}
	b := &Snapshot{Services: []*Service{testService("b", "y", "")}}
	m := Merge(base, map[string]Unread{"EndpointSlice": {Reason: TimedOut, Detail: "timed out"}}, a, b)
	if m.Service("a", "x") == nil || m.Service("b", "y") == nil || len(base.Services) != 0 || len(a.Services) != 1 {
		t.Errorf("merge: %d services, base %d, part %d", len(m.Services), len(base.Services), len(a.Services))
	}
	if d := m.Degraded(); len(d) != 1 || d[0].Kind != "EndpointSlice" || len(base.Unavailable) != 0 {
		t.Errorf("degraded %v, base marks %v", d, base.Unavailable)
	}
}
