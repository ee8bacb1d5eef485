package servicetrace

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
)

// DefaultRestartWindow is how recent a container restart must be for the readiness hop (and the
// probes command) to count it as a fault: a pod that restarts leaves the Service's endpoints
// until it is ready again.
const DefaultRestartWindow = 15 * time.Minute

// PodEvents are the kubelet's events about one pod that explain its readiness and its restarts.
type PodEvents struct {
	// Unhealthy are the probe failures ("Readiness probe failed: ...", "Liveness probe failed:
	// ..."), oldest first.
	Unhealthy []corev1.Event
	// Killing are the kubelet's container kills ("Container web failed liveness probe, will be
	// restarted"), oldest first; they are read only when a pod restarts.
	Killing []corev1.Event
}

// Restart says why a container of a pod restarts: the evidence and the fix.
type Restart struct {
	Container string
	// Count is the container's restart count; Last is when it last terminated (zero when unknown).
	Count int32
	Last  time.Time
	// CrashLoop is set when the kubelet backs off restarting it (CrashLoopBackOff).
	CrashLoop bool
	// Probe is "liveness" or "startup" when the kubelet kills the container because that probe
	// fails; "" when it exits by itself (or the reason is not known).
	Probe string
	// Handler is the killing probe as ProbeText renders it.
	Handler string
	// Failure is the kubelet's newest failure message of that probe, with its count and age.
	Failure string
	// Kill is the kubelet's Killing event message, when there is one.
	Kill string
	// Message says what happens, Fix what to do.
	Message, Fix string
}

// PodHealth is a pod's readiness (semantics.ExaminePod) with what its restarts add: the liveness
// and startup probe failures, and why a container restarts.
type PodHealth struct {
	semantics.PodStatus
	// LastLivenessFailure and LastStartupFailure are the newest liveness- and startup-probe
	// failure events; LivenessFailures and StartupFailures count them.
	LastLivenessFailure, LastStartupFailure string
	LivenessFailures, StartupFailures       int32
	// Restart is set when a container restarts: in CrashLoopBackOff, or terminated within the
	// restart window. Each restart takes the pod out of the endpoints until it is ready again.
	Restart *Restart
}

// ExaminePodEvents works out why a pod is (not) ready (semantics.ExaminePod), and why it restarts,
// from its status and the kubelet's events. A container restarts when it is in CrashLoopBackOff
// or terminated within window before now (window <= 0: only CrashLoopBackOff counts); when the
// kubelet kills it because its liveness or startup probe fails, that probe is the cause, also of
// the pod not being ready.
func ExaminePodEvents(p *corev1.Pod, ev PodEvents, now time.Time, window time.Duration) PodHealth {
	h := PodHealth{PodStatus: semantics.ExaminePod(p, ev.Unhealthy, now)}
	for i := len(ev.Unhealthy) - 1; i >= 0; i-- {
		e := ev.Unhealthy[i]
		var last *string
		var count *int32
		switch {
		case strings.HasPrefix(e.Message, "Liveness probe"):
			last, count = &h.LastLivenessFailure, &h.LivenessFailures
		case strings.HasPrefix(e.Message, "Startup probe"):
			last, count = &h.LastStartupFailure, &h.StartupFailures
		default:
			continue
		}
		if *last == "" {
			*last = strings.TrimSpace(e.Message)
			if t := semantics.EventTime(e); !t.IsZero() && now.Sub(t) >= 0 {
				*last += fmt.Sprintf(" (%s ago)", now.Sub(t).Round(time.Second))
			}
		}
		*count += max(1, e.Count)
	}
	// the restarting container: one in CrashLoopBackOff first, else the latest to restart
	var restarting *corev1.ContainerStatus
	for _, cs := range servingStatuses(p) {
		if !restartsRecently(cs, now, window) {
			continue
		}
		cs := cs
		switch {
		case restarting == nil, crashLooping(cs) && !crashLooping(*restarting),
			crashLooping(cs) == crashLooping(*restarting) && lastRestart(cs).After(lastRestart(*restarting)):
			restarting = &cs
		}
	}
	if restarting == nil {
		return h
	}
	h.Restart = examineRestart(p, *restarting, ev, now)
	// a pod that is not ready because its liveness (or startup) probe keeps killing a container:
	// that probe is the cause (more precise than a crash loop; less fundamental than an image
	// or configuration problem)
	if r := h.Restart; r.Probe != "" && !h.Ready && (h.Problem == nil || h.Problem.Kind >= semantics.ProblemCrash) {
		h.Problem = &semantics.PodProblem{Kind: semantics.ProblemCrash, Pod: p, Message: r.Message, Fix: r.Fix}
	}
	return h
}

// Restarts reports whether a container of p (or a sidecar) is in CrashLoopBackOff or terminated
// within window before now (window <= 0: only CrashLoopBackOff counts). The readiness hop reads
// the Killing events only when a pod restarts.
func Restarts(p *corev1.Pod, now time.Time, window time.Duration) bool {
	for _, cs := range servingStatuses(p) {
		if restartsRecently(cs, now, window) {
			return true
		}
	}
	return false
}

// servingStatuses are the statuses of the containers that serve: regular containers and
// sidecars (init containers with restartPolicy Always).
func servingStatuses(p *corev1.Pod) []corev1.ContainerStatus {
	out := append([]corev1.ContainerStatus{}, p.Status.ContainerStatuses...)
	for _, cs := range p.Status.InitContainerStatuses {
		for _, c := range p.Spec.InitContainers {
			if c.Name == cs.Name && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				out = append(out, cs)
			}
		}
	}
	return out
}

func crashLooping(cs corev1.ContainerStatus) bool {
	return cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
}

// lastRestart is when a container last terminated (or, without that, when it last started after
// a restart).
func lastRestart(cs corev1.ContainerStatus) time.Time {
	if t := cs.LastTerminationState.Terminated; t != nil && !t.FinishedAt.IsZero() {
		return t.FinishedAt.Time
	}
	if r := cs.State.Running; r != nil && cs.RestartCount > 0 {
		return r.StartedAt.Time
	}
	return time.Time{}
}

func restartsRecently(cs corev1.ContainerStatus, now time.Time, window time.Duration) bool {
	if crashLooping(cs) {
		return true
	}
	if cs.RestartCount == 0 || window <= 0 {
		return false
	}
	last := lastRestart(cs)
	return !last.IsZero() && now.Sub(last) <= window
}

// containerOf names the container an event is about, from its fieldPath
// ("spec.containers{web}"); "" when the event does not say.
func containerOf(e corev1.Event) string {
	fp := e.InvolvedObject.FieldPath
	i, j := strings.IndexByte(fp, '{'), strings.LastIndexByte(fp, '}')
	if i < 0 || j < i {
		return ""
	}
	return fp[i+1 : j]
}

// eventLine renders an event's message with its repeat count and age.
func eventLine(e corev1.Event, count int32, now time.Time) string {
	s := fmt.Sprintf("%q", strings.TrimSpace(e.Message))
	if count > 1 {
		s += fmt.Sprintf(" x%d", count)
	}
	if t := semantics.EventTime(e); !t.IsZero() && now.Sub(t) >= 0 {
		s += fmt.Sprintf(", last %s ago", now.Sub(t).Round(time.Second))
	}
	return s
}

// examineRestart explains why the restarting container cs of p restarts: the kubelet killing it
// for a failing liveness or startup probe (its Killing event, else its probe failure events), an
// OOM kill, or the process exiting.
//
//nolint:funlen // the evidence of one restart in the order it is weighed (the kubelet's kill, probe failures, crash loop, last termination), each refining the same Restart
func examineRestart(p *corev1.Pod, cs corev1.ContainerStatus, ev PodEvents, now time.Time) *Restart {
	r := &Restart{Container: cs.Name, Count: cs.RestartCount, Last: lastRestart(cs), CrashLoop: crashLooping(cs)}
	owner, ns := semantics.OwnerName(p), p.Namespace
	// the kubelet's kill: "Container web failed liveness probe, will be restarted"
	for i := len(ev.Killing) - 1; i >= 0 && r.Probe == ""; i-- {
		e := ev.Killing[i]
		if c := containerOf(e); c != "" && c != cs.Name {
			continue
		}
		for _, probe := range []string{"liveness", "startup"} {
			if strings.Contains(e.Message, "Container "+cs.Name+" failed "+probe+" probe") {
				r.Probe, r.Kill = probe, eventLine(e, max(1, e.Count), now)
			}
		}
	}
	// the probe's failures: "Liveness probe failed: HTTP probe failed with statuscode: 500"
	for _, probe := range []string{"liveness", "startup"} {
		if r.Probe != "" && r.Probe != probe {
			continue
		}
		prefix := strings.ToUpper(probe[:1]) + probe[1:] + " probe"
		var newest *corev1.Event
		var n int32
		for i := range ev.Unhealthy {
			e := ev.Unhealthy[i]
			if c := containerOf(e); (c != "" && c != cs.Name) || !strings.HasPrefix(e.Message, prefix) {
				continue
			}
			newest = &ev.Unhealthy[i]
			n += max(1, e.Count)
		}
		if newest != nil {
			r.Probe, r.Failure = probe, eventLine(*newest, n, now)
			break
		}
	}
	times := fmt.Sprintf("restarted %d %s", r.Count, report.Plural(int(r.Count), "time", "times"))
	if !r.Last.IsZero() && now.Sub(r.Last) >= 0 {
		times += fmt.Sprintf(", last %s ago", now.Sub(r.Last).Round(time.Second))
	}
	if r.CrashLoop {
		times += ", now in CrashLoopBackOff"
	}
	var spec *corev1.Container
	for _, c := range append(append([]corev1.Container{}, p.Spec.Containers...), p.Spec.InitContainers...) {
		if c.Name == cs.Name {
			c := c
			spec = &c
			break
		}
	}
	term := cs.LastTerminationState.Terminated
	switch {
	case r.Probe != "":
		var probe *corev1.Probe
		if spec != nil {
			probe = spec.LivenessProbe
			if r.Probe == "startup" {
				probe = spec.StartupProbe
			}
		}
		r.Handler = semantics.ProbeText(probe)
		evidence := r.Failure
		if evidence == "" {
			evidence = r.Kill
		}
		r.Message = fmt.Sprintf("container %s is killed by its %s probe (%s): kubelet: %s; %s", cs.Name, r.Probe, r.Handler, evidence, times)
		room := "failureThreshold, timeoutSeconds, periodSeconds; a startupProbe for a slow start"
		if r.Probe == "startup" {
			room = "failureThreshold x periodSeconds must cover the slowest start"
		}
		how := fmt.Sprintf("kubectl -n %s edit %s (containers[%s].%sProbe)", ns, owner, cs.Name, r.Probe)
		if strings.HasPrefix(owner, "pod/") {
			how = fmt.Sprintf("recreate %s from a corrected manifest (the probes of a running pod cannot be edited)", owner)
		}
		r.Fix = fmt.Sprintf("fix the %s probe of container %s in %s, not its readiness probe: make %s succeed whenever the app is alive (the right path and port, no dependency checks), or give it room (%s): %s",
			r.Probe, cs.Name, owner, r.Handler, room, how)
	case term != nil && term.Reason == "OOMKilled":
		r.Message = fmt.Sprintf("container %s is OOMKilled (memory limit %s); %s", cs.Name, memoryLimit(p, cs.Name), times)
		r.Fix = fmt.Sprintf("raise resources.limits.memory of container %s in %s (now %s), or find the leak: kubectl -n %s logs pod/%s -c %s --previous", cs.Name, owner, memoryLimit(p, cs.Name), ns, p.Name, cs.Name)
	default:
		exit := ""
		if term != nil {
			exit = fmt.Sprintf(" (last exit code %d%s)", term.ExitCode, suffix(", ", term.Reason))
		}
		r.Message = fmt.Sprintf("container %s exits%s; %s", cs.Name, exit, times)
		r.Fix = fmt.Sprintf("read why it exits: kubectl -n %s logs pod/%s -c %s --previous", ns, p.Name, cs.Name)
	}
	return r
}

func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

func memoryLimit(p *corev1.Pod, container string) string {
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if c.Name == container {
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
				return q.String()
			}
		}
	}
	return "none"
}
