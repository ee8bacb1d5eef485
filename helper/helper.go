package helper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/agent"
)

// CloseTimeout bounds Close, which runs with a fresh context so that it works after Ctrl-C.
const CloseTimeout = 15 * time.Second

// MinReuseLifetime is how much of its activeDeadlineSeconds a kept helper must have left for Find to
// reuse it.
const MinReuseLifetime = 2 * time.Minute

// ExecFunc runs cmd in the helper's container with stdin, writing to stdout and stderr. The real one
// goes through the pods/exec subresource; tests substitute one that runs the agent in-process.
type ExecFunc func(ctx context.Context, h *Helper, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error

// Helper is an agent container that is running and can run checks: the helper pod's, or an
// ephemeral container in another pod (Attach).
type Helper struct {
	client    kubernetes.Interface
	config    *rest.Config
	namespace string
	name      string
	uid       string
	container string
	image     string
	node      string
	keep      bool
	ephemeral bool
	exec      ExecFunc
	// pod is the pod as last seen running (its IP and labels), nil when not known
	pod *corev1.Pod

	mu     sync.Mutex
	closed bool
}

// Namespace is the helper pod's namespace.
func (h *Helper) Namespace() string { return h.namespace }

// Name is the helper pod's name (the target pod's name for an ephemeral container).
func (h *Helper) Name() string { return h.name }

// Container is the agent's container name.
func (h *Helper) Container() string { return h.container }

// Pod is the helper's pod as it was when the agent started (nil when not known): its IP and
// labels are what NetworkPolicies see.
func (h *Helper) Pod() *corev1.Pod { return h.pod }

// Node is the node the agent runs on.
func (h *Helper) Node() string { return h.node }

// Kept reports whether Close leaves the pod running for reuse.
func (h *Helper) Kept() bool { return h.keep }

// Ephemeral reports whether the agent runs as an ephemeral container of another pod.
func (h *Helper) Ephemeral() bool { return h.ephemeral }

// String names the helper for messages: "helper pod ns/name", or "ephemeral container C of pod ns/name".
func (h *Helper) String() string {
	if h.ephemeral {
		return fmt.Sprintf("ephemeral container %s of pod %s/%s", h.container, h.namespace, h.name)
	}
	return fmt.Sprintf("helper pod %s/%s", h.namespace, h.name)
}

// NotifyContext returns a context cancelled by the first SIGINT or SIGTERM, for command code that
// holds a helper (see the package documentation).
func NotifyContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// Start creates the helper pod described by opts (with a generated name and, when opts.RunID is
// empty, a new run ID), waits until its agent runs (at most opts.StartTimeout) and returns it. When
// the pod does not start (image missing, unschedulable, rejected, timeout, ctx cancelled) Start
// deletes it and returns an error that names the pod, the reason and what to do.
func Start(ctx context.Context, client kubernetes.Interface, config *rest.Config, opts Options) (*Helper, error) {
	if opts.Namespace == "" {
		return nil, errors.New("helper: no namespace given")
	}
	opts = opts.Complete()
	if opts.RunID == "" {
		opts.RunID = NewRunID()
	}
	pods := client.CoreV1().Pods(opts.Namespace)
	created, err := pods.Create(ctx, PodSpec(opts), metav1.CreateOptions{})
	if err != nil {
		err = apiError("helper pod in namespace "+opts.Namespace, "create", "pods", opts.Namespace, err)
		if ctx.Err() != nil {
			// Interrupted during the call: the server may have created the pod all the same.
			if derr := deleteRun(ctx, client, opts.Namespace, opts.RunID); derr != nil {
				err = fmt.Errorf("%w (and removing a pod it may have created failed: %v)", err, derr)
			}
		}
		return nil, err
	}
	h := newHelper(client, config, created, ContainerName, opts.Keep)
	h.setExec(opts.Exec)
	pod, err := waitForAgent(ctx, client, created, ContainerName, false, opts.StartTimeout)
	if err != nil {
		h.keep = false // a pod that never ran is never worth keeping
		if cerr := h.Close(ctx); cerr != nil {
			err = fmt.Errorf("%w (and deleting it failed: %v)", err, cerr)
		}
		return nil, err
	}
	h.node, h.pod = pod.Spec.NodeName, pod
	return h, nil
}

func newHelper(client kubernetes.Interface, config *rest.Config, pod *corev1.Pod, container string, keep bool) *Helper {
	h := &Helper{
		client:    client,
		config:    config,
		namespace: pod.Namespace,
		name:      pod.Name,
		uid:       string(pod.UID),
		container: container,
		node:      pod.Spec.NodeName,
		keep:      keep,
		exec:      remoteExec,
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == container {
			h.image = c.Image
		}
	}
	return h
}

// setExec replaces the exec of the agent's command (tests); nil keeps the pods/exec subresource.
func (h *Helper) setExec(e ExecFunc) {
	if e != nil {
		h.exec = e
	}
}

// Acquire returns a helper for opts: with opts.Keep, a running kept helper of the same image (Find)
// or else a new kept one; without, a new helper that Close deletes.
func Acquire(ctx context.Context, client kubernetes.Interface, config *rest.Config, opts Options) (*Helper, error) {
	if opts.Keep {
		h, err := Find(ctx, client, config, opts)
		if err != nil || h != nil {
			return h, err
		}
	}
	return Start(ctx, client, config, opts)
}

// WithHelper acquires a helper (Acquire), runs fn with it and closes it on every way out of fn,
// a panic included. With ctx from NotifyContext, Ctrl-C cancels fn's context and the pod is still
// deleted.
func WithHelper(ctx context.Context, client kubernetes.Interface, config *rest.Config, opts Options, fn func(context.Context, *Helper) error) (err error) {
	h, err := Acquire(ctx, client, config, opts)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := h.Close(ctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	return fn(ctx, h)
}

// Run executes `svc-doctor-agent check` in the agent container with req as JSON on stdin and returns
// the agent's response. A check that fails is a Result, not an error; the error is for a request
// that did not run (exec failed or forbidden, agent of another protocol version, ctx cancelled).
func (h *Helper) Run(ctx context.Context, req agent.Request) (*agent.Response, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("agent request: %w", err)
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("%s: already closed", h)
	}
	in, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding the agent request: %w", err)
	}
	stdout := &limitedBuffer{max: agent.MaxResponseBytes}
	stderr := &limitedBuffer{max: 4096}
	err = h.exec(ctx, h, []string{agent.BinaryName, agent.CheckArg}, bytes.NewReader(in), stdout, stderr)
	var exitErr utilexec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.ExitStatus() == 2:
		// The agent rejected the request and said why on stdout: DecodeResponse reports it.
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: running checks: %w", h, ctx.Err())
	case errors.As(err, &exitErr):
		return nil, fmt.Errorf("%s: %s %s exited with code %d%s: is %s a svc-doctor agent image?",
			h, agent.BinaryName, agent.CheckArg, exitErr.ExitStatus(), stderrNote(stderr), h.image)
	default:
		return nil, h.execError(err, stderr)
	}
	if stdout.overflow {
		return nil, fmt.Errorf("%s: agent response is larger than %d bytes", h, agent.MaxResponseBytes)
	}
	resp, err := agent.DecodeResponse(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: %w%s", h, err, stderrNote(stderr))
	}
	if err := resp.MatchRequest(req); err != nil {
		return nil, fmt.Errorf("%s: %w", h, err)
	}
	return resp, nil
}

func (h *Helper) execError(err error, stderr *limitedBuffer) error {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return apiError(h.String(), "get and create", "pods/exec", h.namespace, err)
	}
	if strings.Contains(err.Error(), "is forbidden") {
		// a refused exec arrives as a failed stream upgrade, not as an API status
		return fmt.Errorf("%s: forbidden: needs get and create on pods/exec in namespace %s (ask for it, or use a namespace where you have it): %v",
			h, h.namespace, err)
	}
	return fmt.Errorf("%s: exec %s %s: %w%s", h, agent.BinaryName, agent.CheckArg, err, stderrNote(stderr))
}

func stderrNote(stderr *limitedBuffer) string {
	if s := strings.TrimSpace(stderr.String()); s != "" {
		return " (stderr: " + s + ")"
	}
	return ""
}

// Close deletes the helper pod with grace period 0. It is idempotent, a no-op for a kept helper, and
// for an ephemeral container it stops the agent (Kubernetes cannot remove the container). Close
// ignores the cancellation of ctx: it runs with a fresh context of CloseTimeout, so that it still
// works after Ctrl-C cancelled ctx.
func (h *Helper) Close(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.keep {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CloseTimeout)
	defer cancel()
	if h.ephemeral {
		h.closed = true // whatever happens, the container cannot be used again
		return h.stopEphemeral(ctx)
	}
	opts := metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}
	if h.uid != "" {
		opts.Preconditions = metav1.NewUIDPreconditions(h.uid)
	}
	err := h.client.CoreV1().Pods(h.namespace).Delete(ctx, h.name, opts)
	if err != nil && !apierrors.IsNotFound(err) {
		return apiError(h.String(), "delete", "pods", h.namespace, err)
	}
	h.closed = true
	return nil
}

// deleteRun deletes the helper pods of one run ID (with a fresh context: ctx may be cancelled).
func deleteRun(ctx context.Context, client kubernetes.Interface, namespace, runID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CloseTimeout)
	defer cancel()
	sel := labels.SelectorFromSet(labels.Set{LabelName: NameValue, LabelManagedBy: ManagedByValue, LabelRunID: runID})
	list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return apiError("helper pods of run "+runID, "list", "pods", namespace, err)
	}
	var errs []error
	for _, p := range list.Items {
		err := client.CoreV1().Pods(namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, apiError("helper pod "+namespace+"/"+p.Name, "delete", "pods", namespace, err))
		}
	}
	return errors.Join(errs...)
}

// Find returns a kept helper (see Options.Keep) in opts.Namespace that runs opts.Image, on
// opts.NodeName when set, with the same EnableServiceLinks, and has at least MinReuseLifetime left;
// the newest if several. It returns nil and no error when there is none. Close on the returned
// helper leaves it running.
func Find(ctx context.Context, client kubernetes.Interface, config *rest.Config, opts Options) (*Helper, error) {
	if opts.Namespace == "" {
		return nil, errors.New("helper: no namespace given")
	}
	opts = opts.Complete()
	sel := labels.SelectorFromSet(labels.Set{LabelName: NameValue, LabelManagedBy: ManagedByValue, LabelKeep: "true"})
	list, err := client.CoreV1().Pods(opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, apiError("helper pods in namespace "+opts.Namespace, "list", "pods", opts.Namespace, err)
	}
	pod := pickReusable(list.Items, opts, time.Now())
	if pod == nil {
		return nil, nil
	}
	h := newHelper(client, config, pod, ContainerName, true)
	h.setExec(opts.Exec)
	return h, nil
}

// pickReusable is Find's choice among the listed pods.
func pickReusable(pods []corev1.Pod, opts Options, now time.Time) *corev1.Pod {
	var best *corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || len(p.Spec.Containers) == 0 {
			continue
		}
		c := p.Spec.Containers[0]
		if c.Name != ContainerName || c.Image != opts.Image {
			continue
		}
		if opts.NodeName != "" && p.Spec.NodeName != opts.NodeName {
			continue
		}
		if ptr.Deref(p.Spec.EnableServiceLinks, true) != opts.EnableServiceLinks {
			continue
		}
		if running, _, err := agentState(p, ContainerName, false); !running || err != nil {
			continue
		}
		if p.Spec.ActiveDeadlineSeconds != nil && p.Status.StartTime != nil {
			end := p.Status.StartTime.Add(time.Duration(*p.Spec.ActiveDeadlineSeconds) * time.Second)
			if end.Sub(now) < MinReuseLifetime {
				continue
			}
		}
		if best == nil || best.CreationTimestamp.Before(&p.CreationTimestamp) {
			best = p
		}
	}
	return best
}

// Cleanup deletes, with grace period 0, the helper pods (selected by Selector) in namespace, or in
// every namespace when namespace is metav1.NamespaceAll (""), that are at least olderThan old (all
// of them when olderThan is 0), kept ones included. It returns the "namespace/name" of the pods it
// deleted, sorted. Ephemeral containers cannot be removed and are not touched.
func Cleanup(ctx context.Context, client kubernetes.Interface, namespace string, olderThan time.Duration) ([]string, error) {
	where := "namespace " + namespace
	if namespace == metav1.NamespaceAll {
		where = "all namespaces"
	}
	list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: Selector().String()})
	if err != nil {
		return nil, apiError("helper pods in "+where, "list", "pods", where, err)
	}
	now := time.Now()
	var deleted []string
	var errs []error
	for _, p := range list.Items {
		if olderThan > 0 && now.Sub(p.CreationTimestamp.Time) < olderThan {
			continue
		}
		err := client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, apiError("helper pod "+p.Namespace+"/"+p.Name, "delete", "pods", p.Namespace, err))
			continue
		}
		deleted = append(deleted, p.Namespace+"/"+p.Name)
	}
	sort.Strings(deleted)
	return deleted, errors.Join(errs...)
}

// limitedBuffer keeps the first max bytes written and drops the rest without failing the stream.
type limitedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room < len(p) {
		b.overflow = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
