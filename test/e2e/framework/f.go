package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
)

// F is one test's view of the cluster: a fresh namespace and helpers bound to it.
type F struct {
	T         testing.TB
	Cluster   *Cluster
	Client    kubernetes.Interface
	Namespace string
	Ctx       context.Context
	mapper    meta.RESTMapper
}

// FieldManager is the server-side apply field manager of the tests.
const FieldManager = "svc-doctor-e2e"

// clusterUse lets ordinary tests share the cluster while a disruptive one (NewDisruptive) has it alone.
var clusterUse sync.RWMutex

// New creates the test's namespace (e2e-<test name>-<random>) and deletes it when the test ends;
// when the test failed it first logs the namespace's pods, events and container logs.
// Tests made with New run alongside each other (t.Parallel) but never during a NewDisruptive test.
func New(t testing.TB) *F {
	t.Helper()
	clusterUse.RLock()
	t.Cleanup(clusterUse.RUnlock)
	return newF(t)
}

// NewDisruptive is New for a test that breaks something every test relies on (scales CoreDNS
// down, stops kube-proxy, changes kube-system...): it waits until no other framework test runs and
// keeps the cluster to itself until it ends. Restore what it broke in t.Cleanup.
func NewDisruptive(t testing.TB) *F {
	t.Helper()
	clusterUse.Lock()
	t.Cleanup(clusterUse.Unlock)
	return newF(t)
}

func newF(t testing.TB) *F {
	t.Helper()
	c := Current(t)
	f := &F{T: t, Cluster: c, Client: c.Client, Ctx: context.Background()}
	name := "e2e-" + sanitize(t.Name())
	if len(name) > 50 {
		name = name[:50]
	}
	name = strings.TrimRight(name, "-") + "-" + rand.String(5)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"svc-doctor.io/e2e": "true"}}}
	if _, err := f.Client.CoreV1().Namespaces().Create(f.Ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	f.Namespace = name
	t.Cleanup(func() {
		if t.Failed() {
			f.DumpNamespace()
		}
		f.deleteNamespace()
	})
	// The namespace's default ServiceAccount must exist before pods can be created.
	f.WaitFor("default ServiceAccount", 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := f.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	return f
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

func sanitize(s string) string {
	return strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

func (f *F) deleteNamespace() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	grace := int64(0)
	_ = f.Client.CoreV1().Pods(f.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &grace}, metav1.ListOptions{})
	err := f.Client.CoreV1().Namespaces().Delete(ctx, f.Namespace, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		f.T.Logf("delete namespace %s: %v", f.Namespace, err)
		return
	}
	_ = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := f.Client.CoreV1().Namespaces().Get(ctx, f.Namespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// DumpNamespace logs the namespace's pods, events and the tail of every container log.
func (f *F) DumpNamespace() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods, err := f.Client.CoreV1().Pods(f.Namespace).List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, p := range pods.Items {
			f.T.Logf("pod %s phase=%s ip=%s ready=%v", p.Name, p.Status.Phase, p.Status.PodIP, podReady(&p))
			for _, cs := range p.Status.ContainerStatuses {
				f.T.Logf("  container %s ready=%v restarts=%d state=%+v", cs.Name, cs.Ready, cs.RestartCount, cs.State)
				if logs, err := f.Logs(p.Name, cs.Name, 20); err == nil {
					f.T.Logf("  logs:\n%s", logs)
				}
			}
		}
	}
	if evs, err := f.Client.CoreV1().Events(f.Namespace).List(ctx, metav1.ListOptions{}); err == nil {
		for _, e := range evs.Items {
			f.T.Logf("event %s %s/%s: %s: %s", e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
}

// WaitFor polls cond every 500ms until it returns true, and fails the test after timeout.
func (f *F) WaitFor(desc string, timeout time.Duration, cond func(ctx context.Context) (bool, error)) {
	f.T.Helper()
	if err := f.Poll(timeout, cond); err != nil {
		f.T.Fatalf("waiting for %s: %v", desc, err)
	}
}

// Poll polls cond every 500ms until it returns true or timeout passes, and returns the last error.
func (f *F) Poll(timeout time.Duration, cond func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(f.Ctx, timeout)
	defer cancel()
	var last error
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if err != nil {
			last = err
			return false, nil
		}
		return ok, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w (last error: %v)", err, last)
	}
	return err
}

func (f *F) restMapper() meta.RESTMapper {
	if f.mapper == nil {
		f.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(f.Client.Discovery()))
	}
	return f.mapper
}

// Apply server-side-applies every object of a (multi-document) YAML or JSON string; namespaced objects
// without a namespace go into f.Namespace. It fails the test on error.
func (f *F) Apply(manifest string) []*unstructured.Unstructured {
	f.T.Helper()
	objs, err := f.ApplyE(manifest)
	if err != nil {
		f.T.Fatalf("apply: %v", err)
	}
	return objs
}

// ApplyE is Apply returning the error.
func (f *F) ApplyE(manifest string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	err := f.eachObject(manifest, func(obj *unstructured.Unstructured, ri dynamicResource) error {
		data, err := obj.MarshalJSON()
		if err != nil {
			return err
		}
		force := true
		res, err := ri.Patch(f.Ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
		if err != nil {
			return fmt.Errorf("%s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		out = append(out, res)
		return nil
	})
	return out, err
}

// Delete deletes every object of a YAML string (missing objects are fine).
func (f *F) Delete(manifest string) {
	f.T.Helper()
	err := f.eachObject(manifest, func(obj *unstructured.Unstructured, ri dynamicResource) error {
		err := ri.Delete(f.Ctx, obj.GetName(), metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		f.T.Fatalf("delete: %v", err)
	}
}

type dynamicResource interface {
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, options metav1.PatchOptions, subresources ...string) (*unstructured.Unstructured, error)
	Delete(ctx context.Context, name string, options metav1.DeleteOptions, subresources ...string) error
}

func (f *F) eachObject(manifest string, fn func(*unstructured.Unstructured, dynamicResource) error) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var raw map[string]any
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if len(raw) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{Object: raw}
		gvk := obj.GroupVersionKind()
		mapping, err := f.restMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s: %w", gvk, err)
		}
		var ri dynamicResource
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			if obj.GetNamespace() == "" {
				obj.SetNamespace(f.Namespace)
			}
			ri = f.Cluster.Dynamic.Resource(mapping.Resource).Namespace(obj.GetNamespace())
		} else {
			ri = f.Cluster.Dynamic.Resource(mapping.Resource)
		}
		if err := fn(obj, ri); err != nil {
			return err
		}
	}
}

// ExecResult is the outcome of a command run in a container.
type ExecResult struct {
	Stdout, Stderr string
	ExitCode       int // -1 when the command could not be run at all
}

// Exec runs cmd in a container of pod (container "" = the first one) like `kubectl exec`, and
// returns its output. err is nil when the command ran, whatever its exit code.
func (f *F) Exec(pod, container string, cmd ...string) (ExecResult, error) {
	res := ExecResult{ExitCode: -1}
	req := f.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(f.Namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	spdy, err := remotecommand.NewSPDYExecutor(f.Cluster.Config, http.MethodPost, req.URL())
	if err != nil {
		return res, err
	}
	ws, err := remotecommand.NewWebSocketExecutor(f.Cluster.Config, http.MethodGet, req.URL().String())
	if err != nil {
		return res, err
	}
	exe, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return res, err
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(f.Ctx, 60*time.Second)
	defer cancel()
	err = exe.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	var exitErr interface{ ExitStatus() int }
	switch {
	case err == nil:
		res.ExitCode = 0
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitStatus()
		err = nil
	}
	return res, err
}

// InPod runs `/testserver ARGS...` in pod (a test server or ClientPod) and returns its stdout; the
// error carries stderr and the exit code when the command failed.
func (f *F) InPod(pod string, args ...string) (string, error) {
	res, err := f.Exec(pod, "", append([]string{"/testserver"}, args...)...)
	if err != nil {
		return "", fmt.Errorf("exec %v in %s: %w", args, pod, err)
	}
	if res.ExitCode != 0 {
		return res.Stdout, &CommandError{Args: args, ExitCode: res.ExitCode, Stderr: strings.TrimSpace(res.Stderr)}
	}
	return res.Stdout, nil
}

// CommandError is a testserver subcommand that exited non-zero. ExitCode 3 means NXDOMAIN.
type CommandError struct {
	Args     []string
	ExitCode int
	Stderr   string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("testserver %s: exit %d: %s", strings.Join(e.Args, " "), e.ExitCode, e.Stderr)
}

// IsNXDOMAIN tells whether err is a DNS subcommand's "name does not exist".
func IsNXDOMAIN(err error) bool {
	var ce *CommandError
	return errors.As(err, &ce) && ce.ExitCode == 3
}

// Logs returns the last tail lines (0 = all) of a container's log.
func (f *F) Logs(pod, container string, tail int64) (string, error) {
	opts := &corev1.PodLogOptions{Container: container}
	if tail > 0 {
		opts.TailLines = &tail
	}
	b, err := f.Client.CoreV1().Pods(f.Namespace).GetLogs(pod, opts).DoRaw(f.Ctx)
	return string(b), err
}

// Pods lists the namespace's pods matching a label selector.
func (f *F) Pods(selector string) []corev1.Pod {
	f.T.Helper()
	l, err := f.Client.CoreV1().Pods(f.Namespace).List(f.Ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		f.T.Fatalf("list pods %q: %v", selector, err)
	}
	return l.Items
}

// WaitPodsReady waits until exactly n pods match selector and all are Ready, and returns them.
func (f *F) WaitPodsReady(selector string, n int, timeout time.Duration) []corev1.Pod {
	f.T.Helper()
	var pods []corev1.Pod
	f.WaitFor(fmt.Sprintf("%d ready pods %q", n, selector), timeout, func(ctx context.Context) (bool, error) {
		l, err := f.Client.CoreV1().Pods(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err
		}
		pods = pods[:0]
		for _, p := range l.Items {
			if p.DeletionTimestamp == nil {
				pods = append(pods, p)
			}
		}
		if len(pods) != n {
			return false, nil
		}
		for i := range pods {
			if !podReady(&pods[i]) {
				return false, nil
			}
		}
		return true, nil
	})
	return pods
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Endpoints returns the addresses of a Service's EndpointSlices, split by the ready condition.
func (f *F) Endpoints(service string) (ready, notReady []string) {
	f.T.Helper()
	l, err := f.Client.DiscoveryV1().EndpointSlices(f.Namespace).List(f.Ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		f.T.Fatalf("endpointslices of %s: %v", service, err)
	}
	for _, s := range l.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				ready = append(ready, e.Addresses...)
			} else {
				notReady = append(notReady, e.Addresses...)
			}
		}
	}
	return ready, notReady
}

// AssertNoManagedPods fails the test when pods labelled app.kubernetes.io/managed-by=svc-doctor are
// still there after a grace period (namespace "" = all namespaces).
func AssertNoManagedPods(t testing.TB, namespace string, grace time.Duration) {
	t.Helper()
	c := Current(t)
	ctx, cancel := context.WithTimeout(context.Background(), grace+10*time.Second)
	defer cancel()
	var left []string
	var listErr error
	listed := false
	_ = wait.PollUntilContextTimeout(ctx, time.Second, grace, true, func(ctx context.Context) (bool, error) {
		l, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: ManagedByLabel})
		if err != nil {
			listErr = err
			return false, nil
		}
		listed = true
		left = left[:0]
		for _, p := range l.Items {
			left = append(left, p.Namespace+"/"+p.Name)
		}
		return len(left) == 0, nil
	})
	if !listed {
		t.Errorf("could not check for leftover helper pods: listing pods failed: %v", listErr)
	}
	if len(left) > 0 {
		t.Errorf("svc-doctor left pods behind (%s): %v", ManagedByLabel, left)
	}
}
