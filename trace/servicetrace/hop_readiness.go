package servicetrace

import (
	"context"
	"fmt"
	"strings"

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
	// the probe failure events explain pods that are not ready or restart: a Service whose pods
	// are all ready and never restarted costs no read for them
	var events map[string][]corev1.Event
	var why string
	if needsEvents(st.Pods) {
		events, why = st.Reads.UnhealthyEvents(ctx, svc.Namespace)
	}
	st.ReadyPods = map[string]bool{}
	r := trace.Result{}
	var first *semantics.PodProblem
	ready := 0
	var lines []string
	for _, p := range st.Pods {
		ps := semantics.ExaminePod(p, events[p.Name], st.Now())
		if ps.Ready {
			ready++
			st.ReadyPods[p.Name] = true
			line := "pod/" + p.Name + ": ready"
			if len(ps.Notes) > 0 {
				line += "; " + strings.Join(ps.Notes, "; ")
			}
			lines = append(lines, line)
			continue
		}
		line := "pod/" + p.Name + ": not ready: " + ps.Problem.Message
		if len(ps.Notes) > 0 {
			line += "; " + strings.Join(ps.Notes, "; ")
		}
		lines = append(lines, line)
		if first == nil || ps.Problem.Kind < first.Kind {
			first = ps.Problem
		}
	}
	for i, l := range lines {
		if i == maxListed*2 {
			r.Evidence = append(r.Evidence, fmt.Sprintf("... and %d more pods", len(lines)-i))
			break
		}
		r.Evidence = append(r.Evidence, l)
	}
	if why != "" {
		r.Evidence = append(r.Evidence, "readiness-probe failure messages unavailable: "+why)
	}
	n := len(st.Pods)
	switch {
	case ready == n:
		r.Status = trace.Pass
		r.Summary = fmt.Sprintf("%d/%d pods ready", ready, n)
	case ready > 0:
		r.Status = trace.Warn
		r.Summary = fmt.Sprintf("%d/%d pods ready: pod/%s: %s", ready, n, first.Pod.Name, first.Message)
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
	}
	return r
}

// needsEvents reports whether a pod is not ready or has restarted.
func needsEvents(pods []*corev1.Pod) bool {
	for _, p := range pods {
		if !semantics.IsReady(p) {
			return true
		}
		for _, cs := range p.Status.ContainerStatuses {
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

// specImage is the image a container status refers to (the status' own field is empty while the
// image has not been pulled).
