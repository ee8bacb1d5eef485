package servicetrace

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/trace"
)

func runReadiness(ctx context.Context, st *State) trace.Result {
	svc := st.Service
	if semantics.IsExternalName(svc) {
		return trace.Result{Status: trace.Skip, Summary: "not applicable: ExternalName Service"}
	}
	if st.ManualEndpoints {
		return trace.Result{Status: trace.Skip, Summary: "not applicable: no selector (manual endpoints are not pods)"}
	}
	ev := readReadinessEvents(ctx, st)
	t := examinePods(st, ev)
	r := trace.Result{}
	for i, l := range t.lines {
		if i == maxListed*2 {
			r.Evidence = append(r.Evidence, fmt.Sprintf("... and %d more pods", len(t.lines)-i))
			break
		}
		r.Evidence = append(r.Evidence, l)
	}
	if ev.unhealthyWhy != "" {
		r.Evidence = append(r.Evidence, "readiness-probe failure messages unavailable: "+ev.unhealthyWhy)
	}
	if ev.killingWhy != "" {
		r.Evidence = append(r.Evidence, "the kubelet's Killing events unavailable: "+ev.killingWhy)
	}
	var block *stsBlock
	if t.ready < len(st.Pods) {
		block = statefulSetBlock(ctx, st, t.statuses, &r)
	}
	readinessVerdict(st, &r, t, block)
	return r
}

// readinessEvents are the events that explain the pods' readiness and restarts, and why they
// could not be read.
type readinessEvents struct {
	unhealthy, killing       map[string][]corev1.Event
	unhealthyWhy, killingWhy string
}

// readReadinessEvents reads the events the pods need: the probe failure events explain pods that
// are not ready or restart (a Service whose pods are all ready and never restarted costs no read
// for them), the kubelet's kills explain restarts (read only when a pod restarts, one LIST).
func readReadinessEvents(ctx context.Context, st *State) readinessEvents {
	var ev readinessEvents
	ns := st.Service.Namespace
	if needsEvents(st.Pods) {
		ev.unhealthy, ev.unhealthyWhy = st.Reads.UnhealthyEvents(ctx, ns)
	}
	for _, p := range st.Pods {
		if Restarts(p, st.Now(), st.RestartWindow) {
			ev.killing, ev.killingWhy = st.Reads.KillingEvents(ctx, ns)
			break
		}
	}
	return ev
}

// podsReadiness is what the selected pods' health says: how many are ready, the problem that
// explains the most of those that are not, the pods that restart (the one that explains the most
// first) and a line per pod.
type podsReadiness struct {
	ready      int
	first      *semantics.PodProblem
	restarting []*PodHealth
	lines      []string
	statuses   map[string]PodHealth
}

// examinePods examines each selected pod (and records the ready ones in st.ReadyPods).
func examinePods(st *State, ev readinessEvents) podsReadiness {
	st.ReadyPods = map[string]bool{}
	t := podsReadiness{statuses: map[string]PodHealth{}}
	for _, p := range st.Pods {
		ps := ExaminePodEvents(p, PodEvents{Unhealthy: ev.unhealthy[p.Name], Killing: ev.killing[p.Name]}, st.Now(), st.RestartWindow)
		t.statuses[p.Name] = ps
		if ps.Restart != nil {
			ps := ps
			t.restarting = append(t.restarting, &ps)
		}
		if ps.Ready {
			t.ready++
			st.ReadyPods[p.Name] = true
			line := "pod/" + p.Name + ": ready"
			if ps.Restart != nil {
				line += "; restarts: " + ps.Restart.Message
			}
			if len(ps.Notes) > 0 {
				line += "; " + strings.Join(ps.Notes, "; ")
			}
			t.lines = append(t.lines, line)
			continue
		}
		line := "pod/" + p.Name + ": not ready: " + ps.Problem.Message
		if len(ps.Notes) > 0 {
			line += "; " + strings.Join(ps.Notes, "; ")
		}
		t.lines = append(t.lines, line)
		if t.first == nil || ps.Problem.Kind < t.first.Kind {
			t.first = ps.Problem
		}
	}
	// the restart that explains the most: a probe that kills, then a crash loop, then the latest
	sort.SliceStable(t.restarting, func(i, j int) bool {
		a, b := t.restarting[i].Restart, t.restarting[j].Restart
		if (a.Probe != "") != (b.Probe != "") {
			return a.Probe != ""
		}
		return a.CrashLoop && !b.CrashLoop
	})
	return t
}

// statefulSetBlock finds a StatefulSet whose not-ready pod keeps its next ordinals from being
// created (a GET of each StatefulSet that owns a not-ready pod, until one blocks).
func statefulSetBlock(ctx context.Context, st *State, statuses map[string]PodHealth, r *trace.Result) *stsBlock {
	svc := st.Service
	var owners []string
	seen := map[string]bool{}
	for _, p := range st.Pods {
		if name := statefulSetOf(p); name != "" && !statuses[p.Name].Ready && !seen[name] {
			seen[name] = true
			owners = append(owners, name)
		}
	}
	sort.Strings(owners)
	for _, name := range owners {
		t, twhy := st.Reads.StatefulSet(ctx, svc.Namespace, name)
		if t == nil {
			r.Evidence = append(r.Evidence, fmt.Sprintf("statefulset/%s not checked: %s", name, twhy))
			continue
		}
		if block := orderedReadyBlock(svc, *t, st.Pods, statuses); block != nil {
			r.Evidence = append(r.Evidence, block.Evidence)
			return block
		}
	}
	return nil
}

// readinessVerdict sets the hop's status, summary and cause: pods that restart, all ready, some
// ready, none ready but published anyway, none ready.
func readinessVerdict(st *State, r *trace.Result, t podsReadiness, block *stsBlock) {
	svc := st.Service
	n := len(st.Pods)
	ready, first := t.ready, t.first
	switch {
	case len(t.restarting) > 0 && ready > 0:
		// pods that restart leave the endpoints each time: a fault even while they are ready now
		x := t.restarting[0]
		r.Status = trace.Fail
		others := ""
		if len(t.restarting) > 1 {
			others = fmt.Sprintf(" (%d of the %d selected pods restart)", len(t.restarting), n)
		}
		r.Summary = fmt.Sprintf("%d/%d pods ready, but pod/%s restarts: %s%s", ready, n, x.Pod.Name, x.Restart.Message, others)
		if st.RestartWindow > 0 {
			r.Evidence = append(r.Evidence, fmt.Sprintf("a restart counts as a fault when it happened in the last %s (--restart-window) or the container is in CrashLoopBackOff", shortDuration(st.RestartWindow)))
		}
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("pod/%s %s keeps restarting%s: %s; each restart takes the pod out of the Service's endpoints until it is ready again (and drops its connections), so the Service flaps",
			x.Pod.Name, ownerOrPod(x.Pod), others, x.Restart.Message), Fix: x.Restart.Fix}
	case ready == n:
		r.Status = trace.Pass
		r.Summary = fmt.Sprintf("%d/%d pods ready", ready, n)
	case ready > 0:
		r.Status = trace.Warn
		r.Summary = fmt.Sprintf("%d/%d pods ready: pod/%s: %s", ready, n, first.Pod.Name, first.Message)
		if block != nil {
			r.Summary += " (" + strings.TrimPrefix(block.Cause, "; ") + ")"
		}
	case svc.Spec.PublishNotReadyAddresses && first.Kind >= semantics.ProblemReadinessProbe:
		r.Status = trace.Warn
		r.Summary = fmt.Sprintf("0/%d pods ready, but publishNotReadyAddresses is set: they still get traffic (pod/%s: %s)", n, first.Pod.Name, first.Message)
	default:
		r.Status = trace.Fail
		r.Summary = fmt.Sprintf("no pod is ready (0/%d): pod/%s: %s", n, first.Pod.Name, first.Message)
		what := "the pods"
		if n == 1 {
			what = "the pod"
		}
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("none of the %d selected pods is ready, so the Service has no ready endpoint: %s %s: %s", n, what, ownerOrPod(first.Pod), first.Message),
			Fix: first.Fix}
		if block != nil {
			r.Cause.RootCause += block.Cause
			r.Cause.Fix = block.Fix + r.Cause.Fix
		}
	}
}

// needsEvents reports whether a pod is not ready or has restarted.
func needsEvents(pods []*corev1.Pod) bool {
	for _, p := range pods {
		if !semantics.IsReady(p) {
			return true
		}
		// sidecars (init containers that keep running) restart as the app containers do
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if cs.RestartCount > 0 {
				return true
			}
		}
	}
	return false
}

func ownerOrPod(p *corev1.Pod) string {
	o := semantics.OwnerName(p)
	if strings.HasPrefix(o, "pod/") {
		return o
	}
	return "of " + o
}

// shortDuration renders a duration without zero units: 15m, 1h30m, 45s.
func shortDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
