package semantics

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/report"
)

// ProblemKind classifies why a pod is not ready.
type ProblemKind int

// The kinds of PodProblem, most fundamental first: a verdict names the first kind found.
const (
	ProblemImage ProblemKind = iota
	ProblemConfig
	ProblemCrash
	ProblemSchedule
	ProblemTerminating
	ProblemGate
	ProblemReadinessProbe
	ProblemReadinessNoEvent
	ProblemStarting
	ProblemUnknown
)

// PodProblem says why one pod is not ready.
type PodProblem struct {
	Kind    ProblemKind
	Pod     *corev1.Pod
	Message string
	Fix     string
}

// PodStatus is a pod's readiness as the readiness hop and the probes command see it.
type PodStatus struct {
	Pod   *corev1.Pod
	Ready bool
	// Problem is set for a pod that is not ready.
	Problem *PodProblem
	// Notes are facts worth knowing about a pod even when it is ready (restarts, OOM kills).
	Notes []string
	// LastProbeFailure is the newest readiness-probe failure event ("" when none).
	LastProbeFailure string
	// ProbeFailures counts readiness-probe failure events (with their repeat counts).
	ProbeFailures int32
}

// IsReady reports the pod's Ready condition.
func IsReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// ExaminePod works out why a pod is (not) ready from its status and its Unhealthy events.
//
//nolint:funlen // one ordered ladder of why a pod is not ready (containers, conditions, readiness gates): the first that applies wins
func ExaminePod(p *corev1.Pod, events []corev1.Event, now time.Time) PodStatus {
	ps := PodStatus{Pod: p, Ready: IsReady(p)}
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if strings.HasPrefix(e.Message, "Readiness probe") {
			if ps.LastProbeFailure == "" {
				ps.LastProbeFailure = strings.TrimSpace(e.Message)
				if age := now.Sub(EventTime(e)); age >= 0 && !EventTime(e).IsZero() {
					ps.LastProbeFailure += fmt.Sprintf(" (%s ago)", age.Round(time.Second))
				}
			}
			ps.ProbeFailures += max(1, e.Count)
		}
	}
	owner := OwnerName(p)
	ns := p.Namespace
	set := func(kind ProblemKind, msg, fix string) {
		if ps.Problem == nil || kind < ps.Problem.Kind {
			ps.Problem = &PodProblem{Kind: kind, Pod: p, Message: msg, Fix: fix}
		}
	}
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if cs.RestartCount > 0 {
			note := fmt.Sprintf("container %s restarted %d %s", cs.Name, cs.RestartCount, report.Plural(int(cs.RestartCount), "time", "times"))
			if t := cs.LastTerminationState.Terminated; t != nil {
				note += fmt.Sprintf(" (last exit code %d%s)", t.ExitCode, suffix(", ", t.Reason))
			}
			ps.Notes = append(ps.Notes, note)
		}
		if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
			set(ProblemCrash, fmt.Sprintf("container %s was OOMKilled (memory limit %s)", cs.Name, memoryLimit(p, cs.Name)),
				fmt.Sprintf("raise resources.limits.memory of container %s in %s (now %s), or find the leak: kubectl -n %s logs pod/%s -c %s --previous", cs.Name, owner, memoryLimit(p, cs.Name), ns, p.Name, cs.Name))
		}
		w := cs.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName":
			set(ProblemImage, fmt.Sprintf("container %s cannot get image %s (%s%s)", cs.Name, specImage(p, cs), w.Reason, suffix(": ", w.Message)),
				fmt.Sprintf("fix the image reference or its pull secret in %s: kubectl -n %s set image %s %s=<image:tag>", owner, ns, owner, cs.Name))
		case "CreateContainerConfigError", "CreateContainerError":
			set(ProblemConfig, fmt.Sprintf("container %s cannot be created (%s%s)", cs.Name, w.Reason, suffix(": ", w.Message)),
				fmt.Sprintf("create the missing ConfigMap/Secret or fix the reference in %s (%s)", owner, w.Message))
		case "CrashLoopBackOff", "RunContainerError":
			last := ""
			if t := cs.LastTerminationState.Terminated; t != nil {
				last = fmt.Sprintf(", last exit code %d%s", t.ExitCode, suffix(" ", paren(t.Reason)))
			}
			fix := fmt.Sprintf("read why it exits: kubectl -n %s logs pod/%s -c %s --previous", ns, p.Name, cs.Name)
			if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
				fix = fmt.Sprintf("raise resources.limits.memory of container %s in %s (now %s)", cs.Name, owner, memoryLimit(p, cs.Name))
			}
			set(ProblemCrash, fmt.Sprintf("container %s is in %s (restarted %d times%s)", cs.Name, w.Reason, cs.RestartCount, last), fix)
		}
	}
	if ps.Ready {
		return ps
	}
	switch {
	case p.DeletionTimestamp != nil:
		set(ProblemTerminating, "pod is terminating", "wait for the replacement pod, or see why it does not start")
	case p.Status.Phase == corev1.PodPending:
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				set(ProblemSchedule, fmt.Sprintf("pod is not scheduled (%s%s)", c.Reason, suffix(": ", c.Message)),
					"make the pod schedulable: free or add node resources, or fix nodeSelector/affinity/tolerations in "+owner)
			}
		}
	}
	for _, g := range p.Spec.ReadinessGates {
		status := "missing"
		for _, c := range p.Status.Conditions {
			if c.Type == g.ConditionType {
				status = string(c.Status)
			}
		}
		if status != string(corev1.ConditionTrue) {
			set(ProblemGate, fmt.Sprintf("readiness gate %s is %s", g.ConditionType, status),
				fmt.Sprintf("the controller that sets condition %s on the pod (e.g. a load-balancer controller) has not set it True: check that controller, or remove the readinessGate from %s", g.ConditionType, owner))
		}
	}
	if ps.Problem == nil {
		c, probe := readinessProbeOf(p)
		switch {
		case ps.LastProbeFailure != "":
			set(ProblemReadinessProbe, fmt.Sprintf("readiness probe failing: %s", ps.LastProbeFailure),
				fmt.Sprintf("make container %s pass its readiness probe (%s), or correct the probe in %s (containers[%s].readinessProbe); `kubectl svc-doctor probes pod/%s -n %s --run` runs it now", c, ProbeText(probe), owner, c, p.Name, ns))
		case probe != nil && allRunning(p):
			set(ProblemReadinessNoEvent, fmt.Sprintf("readiness probe (%s) has not succeeded yet; no failure event found (events expire after an hour)", ProbeText(probe)),
				fmt.Sprintf("check the probe: `kubectl svc-doctor probes pod/%s -n %s --run`", p.Name, ns))
		case !allRunning(p):
			set(ProblemStarting, "containers are not running yet", fmt.Sprintf("kubectl -n %s describe pod %s", ns, p.Name))
		default:
			set(ProblemUnknown, "not ready (reason not known: "+readyReason(p)+")", fmt.Sprintf("kubectl -n %s describe pod %s", ns, p.Name))
		}
	}
	return ps
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

func readyReason(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return strings.TrimSpace(c.Reason + " " + c.Message)
		}
	}
	return "no Ready condition"
}

func allRunning(p *corev1.Pod) bool {
	if len(p.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
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

// readinessProbeOf returns the first container with a readiness probe and the probe.
func readinessProbeOf(p *corev1.Pod) (string, *corev1.Probe) {
	for _, c := range p.Spec.Containers {
		if c.ReadinessProbe != nil {
			return c.Name, c.ReadinessProbe
		}
	}
	for _, c := range p.Spec.InitContainers {
		if c.ReadinessProbe != nil {
			return c.Name, c.ReadinessProbe
		}
	}
	if len(p.Spec.Containers) > 0 {
		return p.Spec.Containers[0].Name, nil
	}
	return "", nil
}

// ProbeText renders a probe's handler: "httpGet http://:8080/ready", "tcpSocket :5432",
// "exec [cat /tmp/ready]", "grpc :9090".
func ProbeText(p *corev1.Probe) string {
	if p == nil {
		return "none"
	}
	switch {
	case p.HTTPGet != nil:
		scheme := strings.ToLower(string(p.HTTPGet.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		return fmt.Sprintf("httpGet %s://%s:%s%s", scheme, p.HTTPGet.Host, p.HTTPGet.Port.String(), p.HTTPGet.Path)
	case p.TCPSocket != nil:
		return fmt.Sprintf("tcpSocket %s:%s", p.TCPSocket.Host, p.TCPSocket.Port.String())
	case p.Exec != nil:
		return fmt.Sprintf("exec %v", p.Exec.Command)
	case p.GRPC != nil:
		return fmt.Sprintf("grpc :%d", p.GRPC.Port)
	}
	return "no handler"
}

// EventTime is when an event last happened.
func EventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// OwnerName names the workload that owns a pod, as kubectl names it: "deployment/web" (through its
// ReplicaSet), "statefulset/db", or "pod/NAME" for a bare pod.
func OwnerName(p *corev1.Pod) string {
	for _, o := range p.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		switch o.Kind {
		case "ReplicaSet":
			if h := p.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(o.Name, "-"+h) {
				return "deployment/" + strings.TrimSuffix(o.Name, "-"+h)
			}
			return "replicaset/" + o.Name
		default:
			return strings.ToLower(o.Kind) + "/" + o.Name
		}
	}
	return "pod/" + p.Name
}

func specImage(p *corev1.Pod, cs corev1.ContainerStatus) string {
	if cs.Image != "" {
		return cs.Image
	}
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if c.Name == cs.Name {
			return c.Image
		}
	}
	return "<unknown>"
}
