package trace

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/svc-doctor/svc-doctor/live"
	"github.com/svc-doctor/svc-doctor/semantics"
)

// The annotations that remember a workload's replica count.
const (
	// DesiredReplicasAnnotation is set by the deployment controller on each ReplicaSet: the
	// Deployment's replicas when it last scaled that ReplicaSet.
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	// RevisionAnnotation orders a Deployment's ReplicaSets.
	RevisionAnnotation = "deployment.kubernetes.io/revision"
	// LastAppliedAnnotation holds what `kubectl apply` last applied.
	LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"
)

// PreviousReplicas is the replica count a workload had before it was scaled to 0, and where it
// was found.
type PreviousReplicas struct {
	// Replicas is 0 when no source remembers a count.
	Replicas int32
	// From says where it comes from: an event, a ReplicaSet, the last applied configuration.
	From string
	// Unread lists the reads that failed on the way ("" when none did).
	Unread string
}

// Previous returns the replicas a Deployment or StatefulSet had before it was scaled to 0, from
// the cheapest reliable source first: the controller's scaling events (a Deployment's
// "Scaled down replica set web-7d4b from 3 to 0", a StatefulSet's deletions of its highest
// ordinals; one LIST of those events per namespace, kept an hour), then, for a Deployment, its
// ReplicaSet history (one LIST: the newest ReplicaSet with a non-zero spec.replicas or
// deployment.kubernetes.io/desired-replicas annotation; the controller sets both to 0 on the active
// ReplicaSet when the Deployment is scaled to 0, so only an older ReplicaSet remembers), then the
// last configuration `kubectl apply` applied. It reads only for a workload at 0 and caches the
// answer. now dates the events.
func (r *Reads) Previous(ctx context.Context, t Template, now time.Time) PreviousReplicas {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := t.Kind + "/" + t.Namespace + "/" + t.Name
	if p, ok := r.previous[key]; ok {
		return p
	}
	p := r.previousLocked(ctx, t, now)
	if r.previous == nil {
		r.previous = map[string]PreviousReplicas{}
	}
	r.previous[key] = p
	return p
}

var (
	scaledFromTo = regexp.MustCompile(`replica set (\S+) from (\d+) to (\d+)`)
	scaledToFrom = regexp.MustCompile(`replica set (\S+) to (\d+) from (\d+)`)
	deletedPod   = regexp.MustCompile(`^delete Pod (\S+) in StatefulSet (\S+) successful`)
)

func (r *Reads) previousLocked(ctx context.Context, t Template, now time.Time) PreviousReplicas {
	var meta *metav1.ObjectMeta
	kind := ""
	switch {
	case t.Deployment != nil:
		meta, kind = &t.Deployment.ObjectMeta, "Deployment"
	case t.StatefulSet != nil:
		meta, kind = &t.StatefulSet.ObjectMeta, "StatefulSet"
	default:
		return PreviousReplicas{}
	}
	var unread []string
	// 1. the controller's events
	reason := "ScalingReplicaSet"
	if kind == "StatefulSet" {
		reason = "SuccessfulDelete"
	}
	if evs, why := r.workloadEventsLocked(ctx, meta.Namespace, kind, reason); why != "" {
		unread = append(unread, "events: "+why)
	} else if p, ok := fromEvents(evs[meta.Name], kind, meta.Name, now); ok {
		return p
	}
	// 2. a Deployment's ReplicaSet history
	if d := t.Deployment; d != nil {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err == nil && !sel.Empty() {
			rsl, err := r.Client.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
			if err != nil {
				unread = append(unread, "replicasets: "+live.DescribeAPIError(err, "list", "replicasets", d.Namespace))
			} else if p, ok := fromReplicaSets(rsl.Items, d); ok {
				return p
			}
		}
	}
	// 3. what kubectl apply last applied
	if s := meta.Annotations[LastAppliedAnnotation]; s != "" {
		var v struct {
			Spec struct {
				Replicas *int32 `json:"replicas"`
			} `json:"spec"`
		}
		if json.Unmarshal([]byte(s), &v) == nil && v.Spec.Replicas != nil && *v.Spec.Replicas > 0 {
			return PreviousReplicas{Replicas: *v.Spec.Replicas, From: "the last configuration kubectl apply applied (annotation " + LastAppliedAnnotation + ")"}
		}
	}
	return PreviousReplicas{Unread: strings.Join(unread, "; ")}
}

// fromEvents reads the count from a Deployment's newest scaling of a ReplicaSet to 0 ("Scaled
// down replica set web-7d4b from 3 to 0", or "to 0 from 3" in older releases), or from the
// highest ordinal a StatefulSet deleted.
func fromEvents(evs []corev1.Event, kind, name string, now time.Time) (PreviousReplicas, bool) {
	sort.SliceStable(evs, func(i, j int) bool { return semantics.EventTime(evs[i]).After(semantics.EventTime(evs[j])) })
	ago := func(e corev1.Event) string {
		if t := semantics.EventTime(e); !t.IsZero() && now.Sub(t) >= 0 {
			return fmt.Sprintf(", %s ago", now.Sub(t).Round(time.Second))
		}
		return ""
	}
	if kind == "Deployment" {
		for _, e := range evs {
			if e.InvolvedObject.Name != name || e.Reason != "ScalingReplicaSet" {
				continue
			}
			var from, to string
			if m := scaledFromTo.FindStringSubmatch(e.Message); m != nil {
				from, to = m[2], m[3]
			} else if m := scaledToFrom.FindStringSubmatch(e.Message); m != nil {
				to, from = m[2], m[3]
			} else {
				continue
			}
			n, _ := strconv.Atoi(from)
			if to == "0" && n > 0 {
				return PreviousReplicas{Replicas: int32(n), From: fmt.Sprintf("the deployment controller's event %q%s", e.Message, ago(e))}, true
			}
		}
		return PreviousReplicas{}, false
	}
	highest := -1
	var newest corev1.Event
	for _, e := range evs {
		m := deletedPod.FindStringSubmatch(e.Message)
		if m == nil || m[2] != name || e.InvolvedObject.Name != name {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(m[1], name+"-"))
		if err != nil || !strings.HasPrefix(m[1], name+"-") {
			continue
		}
		if n > highest {
			highest, newest = n, e
		}
	}
	if highest < 0 {
		return PreviousReplicas{}, false
	}
	return PreviousReplicas{Replicas: int32(highest + 1), From: fmt.Sprintf("the statefulset controller's event %q%s: pods up to ordinal %d existed", newest.Message, ago(newest), highest)}, true
}

// fromReplicaSets reads the count from the newest ReplicaSet of d (by revision, then age) with a
// non-zero spec.replicas or desired-replicas annotation.
func fromReplicaSets(rss []appsv1.ReplicaSet, d *appsv1.Deployment) (PreviousReplicas, bool) {
	var own []appsv1.ReplicaSet
	for _, rs := range rss {
		for _, o := range rs.OwnerReferences {
			if o.Controller != nil && *o.Controller && o.Kind == "Deployment" && o.Name == d.Name && (d.UID == "" || o.UID == d.UID) {
				own = append(own, rs)
			}
		}
	}
	rev := func(rs appsv1.ReplicaSet) int {
		n, _ := strconv.Atoi(rs.Annotations[RevisionAnnotation])
		return n
	}
	sort.SliceStable(own, func(i, j int) bool {
		if a, b := rev(own[i]), rev(own[j]); a != b {
			return a > b
		}
		return own[i].CreationTimestamp.After(own[j].CreationTimestamp.Time)
	})
	for _, rs := range own {
		if rs.Spec.Replicas != nil && *rs.Spec.Replicas > 0 {
			return PreviousReplicas{Replicas: *rs.Spec.Replicas, From: fmt.Sprintf("replicaset/%s (spec.replicas)", rs.Name)}, true
		}
		if n, err := strconv.Atoi(rs.Annotations[DesiredReplicasAnnotation]); err == nil && n > 0 {
			return PreviousReplicas{Replicas: int32(n), From: fmt.Sprintf("replicaset/%s (annotation %s, revision %s)", rs.Name, DesiredReplicasAnnotation, rs.Annotations[RevisionAnnotation])}, true
		}
	}
	return PreviousReplicas{}, false
}

// workloadEventsLocked returns the events of one reason about the workloads of one kind in ns,
// keyed by workload name: one LIST per namespace (of the scope), kind and reason, whatever the
// number of workloads asked about.
func (r *Reads) workloadEventsLocked(ctx context.Context, ns, kind, reason string) (map[string][]corev1.Event, string) {
	key := kind + "/" + reason + "/" + r.scopeNS(ns)
	if why, failed := r.eventsWhy[key]; failed {
		return nil, why
	}
	if _, ok := r.events[key]; !ok {
		l, err := r.Client.CoreV1().Events(r.scopeNS(ns)).List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
			"involvedObject.kind": kind, "reason": reason}.AsSelector().String()})
		if err != nil {
			r.eventsWhy[key] = live.DescribeAPIError(err, "list", "events", r.scopeNS(ns))
			return nil, r.eventsWhy[key]
		}
		m := map[string][]corev1.Event{}
		for _, e := range l.Items {
			if e.Reason == reason && e.InvolvedObject.Kind == kind {
				k := e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name
				m[k] = append(m[k], e)
			}
		}
		r.events[key] = m
	}
	out := map[string][]corev1.Event{}
	for k, evs := range r.events[key] {
		if evNS, name, _ := strings.Cut(k, "/"); evNS == ns {
			out[name] = evs
		}
	}
	return out, ""
}
