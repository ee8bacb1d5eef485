package helper

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/client-go/util/retry"

	"github.com/svc-doctor/svc-doctor/agent"
)

// FromPodNotice is what the CLI prints before --from pod/NAME acts: what the mode needs and what it
// leaves behind.
const FromPodNotice = `--from pod/NAME runs the checks from that pod's network position (its IP, the NetworkPolicies that select it, its DNS settings) in an ephemeral container added to it.
It needs: get on pods, update on pods/ephemeralcontainers and get and create on pods/exec in the pod's namespace, and the agent image present on, or pullable from, the pod's node.
It leaves behind: a terminated ephemeral container named svc-doctor-<run-id> in the pod's spec and status until the pod is deleted (Kubernetes cannot remove ephemeral containers). The pod is not restarted or otherwise changed.`

// EphemeralPrefix starts the name of every ephemeral container svc-doctor adds.
const EphemeralPrefix = "svc-doctor-"

// EphemeralContainer returns the agent as an ephemeral container for pod (pure: it reads only its
// arguments). Its name is EphemeralPrefix plus opts.RunID, made unique in the pod; its security
// context is RestrictedSecurityContext, complete on its own, so it adds no violation of the
// restricted Pod Security profile whatever the pod's own context; it has no resources (the API
// forbids them on ephemeral containers) and its agent exits by itself after opts.ActiveDeadline.
// opts.TargetContainer, when set, shares that container's process namespace.
func EphemeralContainer(pod *corev1.Pod, opts Options) corev1.EphemeralContainer {
	opts = opts.Complete()
	return corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name:            ephemeralName(pod, opts.RunID),
			Image:           opts.Image,
			ImagePullPolicy: opts.ImagePullPolicy,
			Command:         []string{agent.BinaryName, agent.ServeArg, "--max-lifetime=" + opts.ActiveDeadline.String()},
			SecurityContext: RestrictedSecurityContext(),
			// A crash of the agent shows its last log lines in the container status.
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		},
		TargetContainerName: opts.TargetContainer,
	}
}

func ephemeralName(pod *corev1.Pod, runID string) string {
	base := EphemeralPrefix + runID
	if runID == "" {
		base = strings.TrimSuffix(EphemeralPrefix, "-")
	}
	taken := map[string]bool{}
	for _, c := range pod.Spec.Containers {
		taken[c.Name] = true
	}
	for _, c := range pod.Spec.InitContainers {
		taken[c.Name] = true
	}
	for _, c := range pod.Spec.EphemeralContainers {
		taken[c.Name] = true
	}
	name := base
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// Attach adds the agent as an ephemeral container to the running pod podName of opts.Namespace,
// waits until it runs and returns it; see FromPodNotice for what that needs and leaves. Run then
// tests from that pod's network position. Close stops the agent (the container shows as terminated);
// it cannot remove the container. Of opts, Image, ImagePullPolicy, RunID (generated when empty),
// ActiveDeadline, StartTimeout and TargetContainer apply.
func Attach(ctx context.Context, client kubernetes.Interface, config *rest.Config, podName string, opts Options) (*Helper, error) {
	if opts.Namespace == "" || podName == "" {
		return nil, errors.New("helper: attach needs a namespace and a pod name")
	}
	opts = opts.Complete()
	if opts.RunID == "" {
		opts.RunID = NewRunID()
	}
	ns := opts.Namespace
	object := "pod " + ns + "/" + podName
	pods := client.CoreV1().Pods(ns)
	var container corev1.EphemeralContainer
	var updated *corev1.Pod
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := pods.Get(ctx, podName, metav1.GetOptions{})
		if err != nil {
			return apiError(object, "get", "pods", ns, err)
		}
		if pod.Status.Phase != corev1.PodRunning || pod.DeletionTimestamp != nil {
			return fmt.Errorf("%s is %s: --from needs a running pod", object, podPhase(pod))
		}
		if opts.TargetContainer != "" && !hasContainer(pod, opts.TargetContainer) {
			return fmt.Errorf("%s has no container %q", object, opts.TargetContainer)
		}
		container = EphemeralContainer(pod, opts)
		pod = pod.DeepCopy()
		pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, container)
		updated, err = pods.UpdateEphemeralContainers(ctx, podName, pod, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			return err // retried
		}
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s: the API server has no pods/ephemeralcontainers subresource (ephemeral containers need Kubernetes 1.25 or later): %w", object, err)
		}
		return apiError(object, "update", "pods/ephemeralcontainers", ns, err)
	})
	if err != nil {
		return nil, err
	}
	h := newHelper(client, config, updated, container.Name, false)
	h.setExec(opts.Exec)
	h.ephemeral, h.image = true, container.Image
	if _, err := waitForAgent(ctx, client, updated, container.Name, true, opts.StartTimeout); err != nil {
		return nil, fmt.Errorf("%w; the ephemeral container stays in the pod's spec until the pod is deleted", err)
	}
	return h, nil
}

func podPhase(pod *corev1.Pod) string {
	if pod.DeletionTimestamp != nil {
		return "being deleted"
	}
	if pod.Status.Phase == "" {
		return "Pending"
	}
	return string(pod.Status.Phase)
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// stopEphemeral ends the agent of an ephemeral container with `svc-doctor-agent stop`, so that the
// container shows as terminated instead of idling until its --max-lifetime.
func (h *Helper) stopEphemeral(ctx context.Context) error {
	stdout, stderr := &limitedBuffer{max: 1024}, &limitedBuffer{max: 1024}
	err := h.exec(ctx, h, []string{agent.BinaryName, agent.StopArg}, nil, stdout, stderr)
	var exitErr utilexec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitStatus() == 137 {
		// stopping the container's main process ends the container, which kills the stop
		// command itself (SIGKILL): the agent is stopped
		return nil
	}
	if err != nil {
		var status apierrors.APIStatus
		if errors.As(err, &status) {
			return apiError(h.String(), "get and create", "pods/exec", h.namespace, err)
		}
		return fmt.Errorf("%s: stopping the agent: %w%s", h, err, stderrNote(stderr))
	}
	return nil
}
