package trace

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var restoreNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func scalingEvent(msg string, ago time.Duration) corev1.Event {
	return corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Name: "web"}, Reason: "ScalingReplicaSet", Message: msg,
		LastTimestamp: metav1.NewTime(restoreNow.Add(-ago))}
}

func TestFromEvents(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		events []corev1.Event
		want   int32
	}{
		{name: "current message: to 0 from 3", kind: "Deployment", want: 3,
			events: []corev1.Event{scalingEvent("Scaled up replica set web-7d4b to 3 from 0", time.Hour), scalingEvent("Scaled down replica set web-7d4b to 0 from 3", time.Minute)}},
		{name: "from 4 to 0", kind: "Deployment", want: 4,
			events: []corev1.Event{scalingEvent("Scaled down replica set web-7d4b from 4 to 0", time.Minute)}},
		{name: "the newest scale to 0 wins", kind: "Deployment", want: 5,
			events: []corev1.Event{scalingEvent("Scaled down replica set web-old to 0 from 2", time.Hour), scalingEvent("Scaled down replica set web-7d4b to 0 from 5", time.Minute)}},
		{name: "an old message without the former size says nothing", kind: "Deployment", want: 0,
			events: []corev1.Event{scalingEvent("Scaled down replica set web-7d4b to 0", time.Minute)}},
		{name: "scaling up says nothing", kind: "Deployment", want: 0,
			events: []corev1.Event{scalingEvent("Scaled up replica set web-7d4b to 3 from 0", time.Minute)}},
		{name: "a StatefulSet's highest deleted ordinal", kind: "StatefulSet", want: 4, events: []corev1.Event{
			{InvolvedObject: corev1.ObjectReference{Kind: "StatefulSet", Name: "db"}, Reason: "SuccessfulDelete", Message: "delete Pod db-1 in StatefulSet db successful"},
			{InvolvedObject: corev1.ObjectReference{Kind: "StatefulSet", Name: "db"}, Reason: "SuccessfulDelete", Message: "delete Pod db-3 in StatefulSet db successful"},
			{InvolvedObject: corev1.ObjectReference{Kind: "StatefulSet", Name: "db"}, Reason: "SuccessfulDelete", Message: "delete Pod dbx-9 in StatefulSet dbx successful"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "web"
			if tc.kind == "StatefulSet" {
				name = "db"
			}
			p, ok := fromEvents(tc.events, tc.kind, name, restoreNow)
			if p.Replicas != tc.want || ok != (tc.want > 0) {
				t.Errorf("= %d (%v, from %q), want %d", p.Replicas, ok, p.From, tc.want)
			}
		})
	}
}

func TestFromReplicaSets(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "d-1"}}
	rs := func(name, revision string, replicas int32, desired string) appsv1.ReplicaSet {
		return appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{RevisionAnnotation: revision, DesiredReplicasAnnotation: desired},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "web", UID: "d-1", Controller: ptr.To(true)}}},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas)}}
	}
	foreign := rs("web-other", "9", 7, "7")
	foreign.OwnerReferences[0].UID = "d-2"
	tests := []struct {
		name string
		rss  []appsv1.ReplicaSet
		want int32
	}{
		{name: "the active ReplicaSet says 0, an older one remembers", want: 3, rss: []appsv1.ReplicaSet{rs("web-a", "1", 0, "3"), rs("web-b", "2", 0, "0")}},
		{name: "the newest with a non-zero spec.replicas", want: 2, rss: []appsv1.ReplicaSet{rs("web-a", "1", 0, "3"), rs("web-b", "2", 2, "0")}},
		{name: "nothing remembers", want: 0, rss: []appsv1.ReplicaSet{rs("web-b", "2", 0, "0")}},
		{name: "a ReplicaSet of another Deployment of that name does not count", want: 0, rss: []appsv1.ReplicaSet{foreign}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := fromReplicaSets(tc.rss, d)
			if p.Replicas != tc.want || ok != (tc.want > 0) {
				t.Errorf("= %d (%v, from %q), want %d", p.Replicas, ok, p.From, tc.want)
			}
		})
	}
}
