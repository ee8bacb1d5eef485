package helper

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/semantics"
)

// StartError says why the agent container did not start. Its message names the pod, the reason
// and what to do.
type StartError struct {
	// Pod is "namespace/name"; Container the agent container.
	Pod, Container string
	// Reason is the Kubernetes reason (ErrImageNeverPull, ImagePullBackOff, Unschedulable,
	// RunContainerError, ...), or Timeout, Deleted, Interrupted.
	Reason string
	// Message is the explanation with the advice.
	Message string
	// Ephemeral is true for an ephemeral container (Attach).
	Ephemeral bool
}

func (e *StartError) Error() string {
	if e.Ephemeral {
		return fmt.Sprintf("ephemeral container %s of pod %s: %s", e.Container, e.Pod, e.Message)
	}
	return fmt.Sprintf("helper pod %s: %s", e.Pod, e.Message)
}

// Reasons of a StartError that do not come from Kubernetes.
const (
	ReasonTimeout     = "Timeout"
	ReasonDeleted     = "Deleted"
	ReasonInterrupted = "Interrupted"
)

// waitingFatal lists the waiting reasons that will not resolve by waiting.
var waitingFatal = map[string]bool{
	"ErrImageNeverPull": true, "ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
	"CrashLoopBackOff": true, "PreCreateHookError": true, "PostStartHookError": true,
}

// agentState reads the state of the agent container from a pod: running, or still coming (waiting
// says what it waits for), or failed (err is a *StartError without Pod filled in).
func agentState(pod *corev1.Pod, container string, ephemeral bool) (running bool, waiting string, err error) {
	fail := func(reason, format string, args ...any) (bool, string, error) {
		return false, "", &StartError{Container: container, Reason: reason, Message: fmt.Sprintf(format, args...), Ephemeral: ephemeral}
	}
	image := containerImage(pod, container, ephemeral)
	node := pod.Spec.NodeName
	if pod.DeletionTimestamp != nil {
		return fail(ReasonDeleted, "the pod is being deleted")
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return fail(string(pod.Status.Phase), "the pod ended (phase %s%s) before the checks ran", pod.Status.Phase, reasonSuffix(pod.Status.Reason, pod.Status.Message))
	}
	statuses := pod.Status.ContainerStatuses
	if ephemeral {
		statuses = pod.Status.EphemeralContainerStatuses
	}
	for _, s := range statuses {
		if s.Name != container {
			continue
		}
		switch {
		case s.State.Running != nil:
			return true, "", nil
		case s.State.Terminated != nil:
			t := s.State.Terminated
			return fail(t.Reason, "the agent exited (exit code %d%s): is %s a svc-doctor agent image running `%s %s`?",
				t.ExitCode, reasonSuffix(t.Reason, t.Message), image, agent.BinaryName, agent.ServeArg)
		case s.State.Waiting != nil:
			w := s.State.Waiting
			switch w.Reason {
			case "ErrImageNeverPull":
				return fail(w.Reason, "image %s is not present on node %s and imagePullPolicy=Never: import it into that node's container runtime, or pass --image", image, node)
			case "ErrImagePull", "ImagePullBackOff":
				return fail(w.Reason, "node %s cannot pull image %s (%s): make it pullable from that node, or mirror it and pass --image", node, image, w.Message)
			case "InvalidImageName":
				return fail(w.Reason, "image name %q is invalid (%s): pass a valid --image", image, w.Message)
			}
			if waitingFatal[w.Reason] {
				return fail(w.Reason, "the agent container cannot start (%s: %s): is %s a svc-doctor agent image with %s on its PATH?", w.Reason, w.Message, image, agent.BinaryName)
			}
			return false, "container " + w.Reason + reasonSuffix("", w.Message), nil
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			if c.Reason == corev1.PodReasonUnschedulable {
				return false, "unschedulable: " + c.Message + " (pass --node to choose a node, or add tolerations)", nil
			}
			return false, "not scheduled" + reasonSuffix(c.Reason, c.Message), nil
		}
	}
	if node == "" {
		return false, "waiting to be scheduled", nil
	}
	return false, "waiting for the kubelet on node " + node + " to start the container", nil
}

func containerImage(pod *corev1.Pod, container string, ephemeral bool) string {
	if ephemeral {
		for _, c := range pod.Spec.EphemeralContainers {
			if c.Name == container {
				return c.Image
			}
		}
		return ""
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == container {
			return c.Image
		}
	}
	return ""
}

func reasonSuffix(reason, message string) string {
	switch {
	case reason != "" && message != "":
		return ", " + reason + ": " + message
	case reason != "":
		return ", " + reason
	case message != "":
		return ": " + message
	}
	return ""
}

// waitForAgent waits, with a GET and then a watch from the GET's resourceVersion (re-established if
// the server closes it), until the agent container of pod runs or cannot run, or timeout passes.
func waitForAgent(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, container string, ephemeral bool, timeout time.Duration) (*corev1.Pod, error) {
	ns, name := pod.Namespace, pod.Name
	object := "helper pod " + ns + "/" + name
	if ephemeral {
		object = "pod " + ns + "/" + name
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pods := client.CoreV1().Pods(ns)
	waiting := "waiting to be scheduled"
	check := func(p *corev1.Pod) (bool, error) {
		running, why, err := agentState(p, container, ephemeral)
		if err != nil {
			var se *StartError
			if errors.As(err, &se) {
				se.Pod = ns + "/" + name
			}
			return false, err
		}
		if why != "" {
			waiting = why
		}
		return running, nil
	}
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	// the first watch starts from the pod as given (just created: no GET needed); later rounds,
	// after the server ended a watch, GET it again
	current, first := pod, pod.ResourceVersion != ""
	for {
		var err error
		if !first {
			current, err = pods.Get(wctx, name, metav1.GetOptions{})
		}
		first = false
		if err != nil {
			if wctx.Err() != nil {
				break
			}
			if apierrors.IsNotFound(err) {
				return nil, &StartError{Pod: ns + "/" + name, Container: container, Reason: ReasonDeleted, Ephemeral: ephemeral,
					Message: "the pod was deleted before the agent started (by someone else, or with its namespace)"}
			}
			return nil, apiError(object, "get", "pods", ns, err)
		}
		if done, err := check(current); done || err != nil {
			return current, err
		}
		w, err := pods.Watch(wctx, metav1.ListOptions{FieldSelector: selector, ResourceVersion: current.ResourceVersion})
		if err != nil {
			if wctx.Err() != nil {
				break
			}
			return nil, apiError(object, "watch", "pods", ns, err)
		}
		p, err := watchUntil(wctx, w, name, check)
		w.Stop()
		if p != nil || err != nil {
			if errors.Is(err, errWatchDeleted) {
				return nil, &StartError{Pod: ns + "/" + name, Container: container, Reason: ReasonDeleted, Ephemeral: ephemeral,
					Message: "the pod was deleted before the agent started (by someone else, or with its namespace)"}
			}
			return p, err
		}
		if wctx.Err() != nil {
			break
		}
		// The server ended the watch (timeout, compaction): GET again and watch on.
	}
	if ctx.Err() != nil {
		return nil, &StartError{Pod: ns + "/" + name, Container: container, Reason: ReasonInterrupted, Ephemeral: ephemeral,
			Message: "interrupted while waiting for the agent to start: " + ctx.Err().Error()}
	}
	msg := fmt.Sprintf("the agent did not start within %s (last state: %s)", timeout, waiting)
	if ev := lastWarning(ctx, client, ns, name); ev != "" {
		msg += "; last warning event: " + ev
	}
	return nil, &StartError{Pod: ns + "/" + name, Container: container, Reason: ReasonTimeout, Message: msg, Ephemeral: ephemeral}
}

var errWatchDeleted = errors.New("deleted")

// watchUntil reads pod events until check says done or fails, the pod is deleted, or the watch or
// ctx ends (nil, nil).
func watchUntil(ctx context.Context, w watch.Interface, name string, check func(*corev1.Pod) (bool, error)) (*corev1.Pod, error) {
	for {
		var ev watch.Event
		select {
		case <-ctx.Done():
			return nil, nil
		case e, ok := <-w.ResultChan():
			if !ok {
				return nil, nil
			}
			ev = e
		}
		switch ev.Type {
		case watch.Added, watch.Modified:
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || p.Name != name {
				continue
			}
			if done, err := check(p); done || err != nil {
				return p, err
			}
		case watch.Deleted:
			if p, ok := ev.Object.(*corev1.Pod); ok && p.Name == name {
				return nil, errWatchDeleted
			}
		case watch.Error:
			return nil, nil // e.g. 410 Gone: start over with a GET
		}
	}
}

// lastWarning returns the newest Warning event of the pod as "Reason: message", or "" (one LIST,
// best effort, under a short fresh timeout since the wait's own time is up).
func lastWarning(ctx context.Context, client kubernetes.Interface, ns, name string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	sel := fields.Set{"involvedObject.name": name, "involvedObject.kind": "Pod", "type": corev1.EventTypeWarning}.AsSelector().String()
	list, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return ""
	}
	var evs []corev1.Event
	for _, e := range list.Items {
		if e.Type == corev1.EventTypeWarning && e.InvolvedObject.Name == name {
			evs = append(evs, e)
		}
	}
	if len(evs) == 0 {
		return ""
	}
	sort.SliceStable(evs, func(i, j int) bool { return semantics.EventTime(evs[i]).Before(semantics.EventTime(evs[j])) })
	last := evs[len(evs)-1]
	return last.Reason + ": " + strings.TrimSpace(last.Message)
}
