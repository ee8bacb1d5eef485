package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	utilexec "k8s.io/client-go/util/exec"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/agent"
)

var podsResource = schema.GroupResource{Resource: "pods"}

// newClient is a fake clientset that gives created pods a name (the fake ignores generateName), a
// UID and a creation time, then lets kubelet (when not nil) set their status as a node would.
func newClient(kubelet func(*corev1.Pod), objects ...runtime.Object) *fake.Clientset {
	client := fake.NewClientset(objects...)
	var seq atomic.Int32
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Name == "" {
			pod.Name = fmt.Sprintf("%s%05d", pod.GenerateName, seq.Add(1))
		}
		pod.UID = types.UID("uid-" + pod.Name)
		pod.CreationTimestamp = metav1.Now()
		if kubelet != nil {
			kubelet(pod)
		}
		return false, nil, nil
	})
	return client
}

// runningAgent is a kubelet that starts the agent at once on node-1.
func runningAgent(p *corev1.Pod) {
	p.Spec.NodeName = "node-1"
	p.Status.Phase = corev1.PodRunning
	p.Status.StartTime = ptr.To(metav1.Now())
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
}

func waitingAgent(reason, message string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.NodeName = "node-1"
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}}
	}
}

func podNames(t *testing.T, client *fake.Clientset, ns string) []string {
	t.Helper()
	list, err := client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	slices.Sort(names)
	return names
}

// inProcessExec runs `svc-doctor-agent check` in this process instead of in a pod.
func inProcessExec(r *agent.Runner) ExecFunc {
	return func(ctx context.Context, _ *Helper, cmd []string, stdin io.Reader, stdout, _ io.Writer) error {
		if !slices.Equal(cmd, []string{agent.BinaryName, agent.CheckArg}) {
			return fmt.Errorf("unexpected command %q", cmd)
		}
		if code, _ := agent.HandleCheck(ctx, stdin, stdout, r); code != 0 {
			return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
		}
		return nil
	}
}

var testConfig = &rest.Config{Host: "https://127.0.0.1:1"}

func TestStartRunClose(t *testing.T) {
	client := newClient(runningAgent)
	ctx := context.Background()
	h, err := Start(ctx, client, testConfig, Options{Namespace: "team-a", RunID: "run1", ImagePullPolicy: corev1.PullNever})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.String(), "helper pod team-a/svc-doctor-helper-00001"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if h.Node() != "node-1" || h.Kept() || h.Ephemeral() || h.Container() != ContainerName {
		t.Errorf("helper %+v", h)
	}
	pod, err := client.CoreV1().Pods("team-a").Get(ctx, h.Name(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Labels[LabelRunID] != "run1" || pod.Spec.Containers[0].ImagePullPolicy != corev1.PullNever {
		t.Errorf("created pod labels %v, pull policy %s", pod.Labels, pod.Spec.Containers[0].ImagePullPolicy)
	}

	// Run: the request goes to the agent on stdin, the response comes back decoded.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h.exec = inProcessExec(&agent.Runner{Version: "test"})
	req := agent.NewRequest(
		agent.Check{ID: "open", Type: agent.CheckTCP, TCP: &agent.TCPCheck{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port}},
		agent.Check{ID: "env", Type: agent.CheckEnv, Env: &agent.EnvCheck{Prefix: "NO_SUCH_VARIABLE_"}},
	)
	resp, err := h.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.AgentVersion != "test" || len(resp.Results) != 2 || !resp.Results[0].OK || resp.Results[1].ID != "env" {
		t.Errorf("response %+v", resp)
	}

	// Close deletes, once.
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if names := podNames(t, client, "team-a"); len(names) != 0 {
		t.Errorf("pods left: %v", names)
	}
	client.ClearActions()
	if err := h.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if len(client.Actions()) != 0 {
		t.Errorf("second Close called the API: %v", client.Actions())
	}
	if _, err := h.Run(ctx, req); err == nil || err.Error() != "helper pod team-a/svc-doctor-helper-00001: already closed" {
		t.Errorf("Run after Close: %v", err)
	}
}

func TestCloseAfterCancel(t *testing.T) {
	client := newClient(runningAgent)
	ctx, cancel := context.WithCancel(context.Background())
	h, err := Start(ctx, client, testConfig, Options{Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	cancel() // Ctrl-C
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close with a cancelled context: %v", err)
	}
	if names := podNames(t, client, "ns"); len(names) != 0 {
		t.Errorf("pods left: %v", names)
	}
}

func TestStartWaitsThroughTheWatch(t *testing.T) {
	client := newClient(waitingAgent("ContainerCreating", ""))
	go func() {
		// Once Start watches, the kubelet starts the container.
		for i := 0; i < 500; i++ {
			watched := slices.ContainsFunc(client.Actions(), func(a k8stesting.Action) bool { return a.GetVerb() == "watch" })
			if watched {
				list, _ := client.CoreV1().Pods("ns").List(context.Background(), metav1.ListOptions{})
				if len(list.Items) == 1 {
					p := list.Items[0].DeepCopy()
					runningAgent(p)
					_, _ = client.CoreV1().Pods("ns").UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
					return
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	h, err := Start(context.Background(), client, testConfig, Options{Namespace: "ns", StartTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if h.Node() != "node-1" {
		t.Errorf("node %q", h.Node())
	}
	gets := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" {
			gets++
		}
	}
	if gets != 1 {
		t.Errorf("%d GETs while waiting: the wait should watch, not poll", gets)
	}
}

func TestStartFailures(t *testing.T) {
	tests := []struct {
		name       string
		kubelet    func(*corev1.Pod)
		events     []runtime.Object
		timeout    time.Duration
		wantReason string
		wantErr    string
	}{
		{
			name:       "image not present with Never",
			kubelet:    waitingAgent("ErrImageNeverPull", `Container image "localhost/svc-doctor/agent:dev" is not present with pull policy of Never`),
			wantReason: "ErrImageNeverPull",
			wantErr:    "helper pod ns/svc-doctor-helper-00001: image localhost/svc-doctor/agent:dev is not present on node node-1 and imagePullPolicy=Never: import it into that node's container runtime, or pass --image",
		},
		{
			name:       "image pull back-off",
			kubelet:    waitingAgent("ImagePullBackOff", "Back-off pulling image"),
			wantReason: "ImagePullBackOff",
			wantErr:    "helper pod ns/svc-doctor-helper-00001: node node-1 cannot pull image localhost/svc-doctor/agent:dev (Back-off pulling image): make it pullable from that node, or mirror it and pass --image",
		},
		{
			name:       "not an agent image",
			kubelet:    waitingAgent("RunContainerError", `exec: "svc-doctor-agent": executable file not found in $PATH`),
			wantReason: "RunContainerError",
			wantErr:    "helper pod ns/svc-doctor-helper-00001: the agent container cannot start (RunContainerError: exec: \"svc-doctor-agent\": executable file not found in $PATH): is localhost/svc-doctor/agent:dev a svc-doctor agent image with svc-doctor-agent on its PATH?",
		},
		{
			name: "unschedulable until the timeout",
			kubelet: func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodPending
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
					Message: "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: db}."}}
			},
			events: []runtime.Object{
				&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1", Namespace: "ns"}, Type: corev1.EventTypeWarning, Reason: "FailedScheduling",
					Message: "0/1 nodes are available", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "svc-doctor-helper-00001"}},
				&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e2", Namespace: "ns"}, Type: corev1.EventTypeWarning, Reason: "Other",
					Message: "about another pod", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-0"}},
			},
			timeout:    200 * time.Millisecond,
			wantReason: ReasonTimeout,
			wantErr: "helper pod ns/svc-doctor-helper-00001: the agent did not start within 200ms (last state: unschedulable: 0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: db}. (pass --node to choose a node, or add tolerations)); " +
				"last warning event: FailedScheduling: 0/1 nodes are available",
		},
		{
			name:       "pod failed",
			kubelet:    func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed; p.Status.Reason = "DeadlineExceeded" },
			wantReason: "Failed",
			wantErr:    "helper pod ns/svc-doctor-helper-00001: the pod ended (phase Failed, DeadlineExceeded) before the checks ran",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newClient(tt.kubelet, tt.events...)
			_, err := Start(context.Background(), client, testConfig, Options{Namespace: "ns", Image: "localhost/svc-doctor/agent:dev", StartTimeout: tt.timeout})
			var se *StartError
			if !errors.As(err, &se) || se.Reason != tt.wantReason {
				t.Fatalf("error %v, want a StartError with reason %s", err, tt.wantReason)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error\n got %s\nwant %s", err, tt.wantErr)
			}
			if names := podNames(t, client, "ns"); len(names) != 0 {
				t.Errorf("Start left pods behind: %v", names)
			}
		})
	}
}

func TestStartInterrupted(t *testing.T) {
	client := newClient(waitingAgent("ContainerCreating", ""))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel) // Ctrl-C while waiting
	_, err := Start(ctx, client, testConfig, Options{Namespace: "ns", StartTimeout: 10 * time.Second})
	var se *StartError
	if !errors.As(err, &se) || se.Reason != ReasonInterrupted {
		t.Fatalf("error %v, want an interrupted StartError", err)
	}
	if names := podNames(t, client, "ns"); len(names) != 0 {
		t.Errorf("pods left after Ctrl-C: %v", names)
	}
}

func TestStartCreateErrors(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantErr string
	}{
		{
			name:    "RBAC",
			err:     apierrors.NewForbidden(podsResource, "", errors.New(`User "dev" cannot create resource "pods" in API group "" in the namespace "ns"`)),
			wantErr: `helper pod in namespace ns: forbidden: needs create on pods in namespace ns (ask for it, or use a namespace where you have it): pods is forbidden: User "dev" cannot create resource "pods" in API group "" in the namespace "ns"`,
		},
		{
			name:    "Pod Security admission",
			err:     apierrors.NewForbidden(podsResource, "svc-doctor-helper-x", errors.New(`violates PodSecurity "restricted:latest": seccompProfile`)),
			wantErr: `helper pod in namespace ns: rejected by Pod Security admission in namespace ns: pods "svc-doctor-helper-x" is forbidden: violates PodSecurity "restricted:latest": seccompProfile`,
		},
		{
			name:    "quota",
			err:     apierrors.NewForbidden(podsResource, "svc-doctor-helper-x", errors.New("exceeded quota: pods, requested: pods=1, used: pods=10, limited: pods=10")),
			wantErr: `helper pod in namespace ns: refused by a ResourceQuota of namespace ns: pods "svc-doctor-helper-x" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=10, limited: pods=10`,
		},
		{
			name:    "missing namespace",
			err:     apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "ns"),
			wantErr: `helper pod in namespace ns: create pods: namespaces "ns" not found`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newClient(runningAgent)
			client.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tt.err })
			_, err := Start(context.Background(), client, testConfig, Options{Namespace: "ns"})
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("error\n got %v\nwant %s", err, tt.wantErr)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apierrors.ReasonForError(err) != apierrors.ReasonForError(tt.err) {
				t.Errorf("the API error is not wrapped: %#v", err)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	req := agent.NewRequest(agent.Check{ID: "rc", Type: agent.CheckResolvConf})
	tests := []struct {
		name    string
		exec    ExecFunc
		req     agent.Request
		wantErr string
	}{
		{
			name:    "invalid request is not sent",
			req:     agent.NewRequest(),
			wantErr: "agent request: request has no checks",
		},
		{
			name: "exec forbidden",
			exec: func(context.Context, *Helper, []string, io.Reader, io.Writer, io.Writer) error {
				return apierrors.NewForbidden(schema.GroupResource{Resource: "pods", Group: ""}, "h", errors.New(`User "dev" cannot create resource "pods/exec"`))
			},
			wantErr: `helper pod ns/h: forbidden: needs get and create on pods/exec in namespace ns (ask for it, or use a namespace where you have it): pods "h" is forbidden: User "dev" cannot create resource "pods/exec"`,
		},
		{
			name: "not an agent",
			exec: func(_ context.Context, _ *Helper, _ []string, _ io.Reader, _, stderr io.Writer) error {
				fmt.Fprint(stderr, "exec: svc-doctor-agent: not found\n")
				return utilexec.CodeExitError{Err: errors.New("command terminated with exit code 127"), Code: 127}
			},
			wantErr: "helper pod ns/h: svc-doctor-agent check exited with code 127 (stderr: exec: svc-doctor-agent: not found): is img:1 a svc-doctor agent image?",
		},
		{
			name: "newer agent",
			exec: func(_ context.Context, _ *Helper, _ []string, _ io.Reader, stdout, _ io.Writer) error {
				fmt.Fprint(stdout, `{"apiVersion":"agent.svc-doctor.io/v2","kind":"CheckResponse","results":[]}`)
				return nil
			},
			wantErr: "helper pod ns/h: agent response: unsupported agent protocol version: got agent.svc-doctor.io/v2, this build speaks agent.svc-doctor.io/v1: use an agent image and a svc-doctor of the same release (--image)",
		},
		{
			name: "agent rejects the request",
			exec: func(_ context.Context, _ *Helper, _ []string, _ io.Reader, stdout, _ io.Writer) error {
				fmt.Fprint(stdout, `{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckResponse","agentVersion":"v0.1","error":"malformed request: json: unknown field \"future\"","results":[]}`)
				return utilexec.CodeExitError{Err: errors.New("command terminated with exit code 2"), Code: 2}
			},
			wantErr: `helper pod ns/h: agent v0.1 rejected the request: malformed request: json: unknown field "future"`,
		},
		{
			name: "results do not match",
			exec: func(_ context.Context, _ *Helper, _ []string, _ io.Reader, stdout, _ io.Writer) error {
				fmt.Fprint(stdout, `{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckResponse","results":[]}`)
				return nil
			},
			wantErr: "helper pod ns/h: agent response has 0 results for 1 checks",
		},
		{
			name: "stream broken",
			exec: func(context.Context, *Helper, []string, io.Reader, io.Writer, io.Writer) error {
				return errors.New("error dialing backend: dial tcp 10.0.0.5:10250: connect: connection refused")
			},
			wantErr: "helper pod ns/h: exec svc-doctor-agent check: error dialing backend: dial tcp 10.0.0.5:10250: connect: connection refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Helper{namespace: "ns", name: "h", container: ContainerName, image: "img:1", exec: tt.exec}
			r := tt.req
			if r.APIVersion == "" {
				r = req
			}
			_, err := h.Run(context.Background(), r)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("error\n got %v\nwant %s", err, tt.wantErr)
			}
		})
	}
}

// keptPod is a kept helper pod as Find would see it.
func keptPod(name, image string, created time.Time, mod ...func(*corev1.Pod)) *corev1.Pod {
	p := PodSpec(Options{Namespace: "ns", Image: image, Keep: true})
	p.Name, p.GenerateName = name, ""
	p.CreationTimestamp = metav1.NewTime(created)
	runningAgent(p)
	p.Status.StartTime = ptr.To(metav1.NewTime(created))
	for _, m := range mod {
		m(p)
	}
	return p
}

func TestFind(t *testing.T) {
	now := time.Now()
	img := "localhost/svc-doctor/agent:dev"
	tests := []struct {
		name string
		pods []runtime.Object
		opts Options
		want string // pod name, "" for none
	}{
		{name: "none", want: ""},
		{name: "newest of two", pods: []runtime.Object{keptPod("old", img, now.Add(-10*time.Minute)), keptPod("new", img, now.Add(-time.Minute))}, want: "new"},
		{name: "other image", pods: []runtime.Object{keptPod("a", "other:1", now)}, want: ""},
		{name: "not kept", pods: []runtime.Object{keptPod("a", img, now, func(p *corev1.Pod) { delete(p.Labels, LabelKeep) })}, want: ""},
		{name: "not running", pods: []runtime.Object{keptPod("a", img, now, waitingAgent("ContainerCreating", ""))}, want: ""},
		{name: "being deleted", pods: []runtime.Object{keptPod("a", img, now, func(p *corev1.Pod) {
			p.DeletionTimestamp = ptr.To(metav1.Now())
			p.Finalizers = []string{"x"}
		})}, want: ""},
		{name: "deadline too close", pods: []runtime.Object{keptPod("a", img, now.Add(-59*time.Minute))}, want: ""},
		{name: "other node", pods: []runtime.Object{keptPod("a", img, now)}, opts: Options{NodeName: "node-2"}, want: ""},
		{name: "same node", pods: []runtime.Object{keptPod("a", img, now)}, opts: Options{NodeName: "node-1"}, want: "a"},
		{name: "service links differ", pods: []runtime.Object{keptPod("a", img, now)}, opts: Options{EnableServiceLinks: true}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newClient(nil, tt.pods...)
			opts := tt.opts
			opts.Namespace, opts.Image, opts.Keep = "ns", img, true
			h, err := Find(context.Background(), client, testConfig, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if h != nil {
				got = h.Name()
				if !h.Kept() {
					t.Error("a found helper must be kept")
				}
			}
			if got != tt.want {
				t.Errorf("found %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAcquireKeepReuses(t *testing.T) {
	client := newClient(runningAgent)
	ctx := context.Background()
	opts := Options{Namespace: "ns", Keep: true}
	first, err := Acquire(ctx, client, testConfig, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := Acquire(ctx, client, testConfig, opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.Name() != first.Name() {
		t.Errorf("second Acquire started %s instead of reusing %s", second.Name(), first.Name())
	}
	if err := second.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ns/" + first.Name()}, podNames(t, client, "ns")); diff != "" {
		t.Errorf("kept pod (-want +got):\n%s", diff)
	}
	// Without Keep, a new pod that Close deletes.
	third, err := Acquire(ctx, client, testConfig, Options{Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	if third.Name() == first.Name() || third.Kept() {
		t.Errorf("Acquire without Keep reused %s", third.Name())
	}
	if err := third.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWithHelper(t *testing.T) {
	client := newClient(runningAgent)
	ctx := context.Background()
	boom := errors.New("boom")
	var name string
	err := WithHelper(ctx, client, testConfig, Options{Namespace: "ns"}, func(_ context.Context, h *Helper) error {
		name = h.Name()
		return boom
	})
	if !errors.Is(err, boom) || name == "" {
		t.Errorf("error %v, helper %q", err, name)
	}
	func() {
		defer func() { _ = recover() }()
		_ = WithHelper(ctx, client, testConfig, Options{Namespace: "ns"}, func(context.Context, *Helper) error { panic("bug") })
	}()
	if names := podNames(t, client, "ns"); len(names) != 0 {
		t.Errorf("pods left: %v", names)
	}
}

func TestCleanup(t *testing.T) {
	now := time.Now()
	old := func(name, ns string, age time.Duration, keep bool) *corev1.Pod {
		p := PodSpec(Options{Namespace: ns, Keep: keep})
		p.Name, p.GenerateName = name, ""
		p.CreationTimestamp = metav1.NewTime(now.Add(-age))
		return p
	}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "a", Labels: map[string]string{"app": "web"},
		CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))}}
	objects := func() []runtime.Object {
		return []runtime.Object{
			old("h1", "a", time.Hour, false), old("h2", "a", time.Minute, false), old("h3", "b", 2*time.Hour, true), other,
		}
	}
	tests := []struct {
		name      string
		namespace string
		olderThan time.Duration
		want      []string
		wantLeft  []string
	}{
		{name: "one namespace, all", namespace: "a", want: []string{"a/h1", "a/h2"}, wantLeft: []string{"a/web-0", "b/h3"}},
		{name: "all namespaces, older than 30m", namespace: metav1.NamespaceAll, olderThan: 30 * time.Minute,
			want: []string{"a/h1", "b/h3"}, wantLeft: []string{"a/h2", "a/web-0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newClient(nil, objects()...)
			got, err := Cleanup(context.Background(), client, tt.namespace, tt.olderThan)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("deleted (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLeft, podNames(t, client, "")); diff != "" {
				t.Errorf("left (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("forbidden delete", func(t *testing.T) {
		client := newClient(nil, objects()...)
		client.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetNamespace() == "b" {
				return true, nil, apierrors.NewForbidden(podsResource, "h3", errors.New(`User "dev" cannot delete resource "pods"`))
			}
			return false, nil, nil
		})
		got, err := Cleanup(context.Background(), client, "", 0)
		want := `helper pod b/h3: forbidden: needs delete on pods in namespace b (ask for it, or use a namespace where you have it): pods "h3" is forbidden: User "dev" cannot delete resource "pods"`
		if err == nil || err.Error() != want {
			t.Errorf("error\n got %v\nwant %s", err, want)
		}
		if diff := cmp.Diff([]string{"a/h1", "a/h2"}, got); diff != "" {
			t.Errorf("deleted (-want +got):\n%s", diff)
		}
	})
}

func TestAgentState(t *testing.T) {
	base := func(mod func(*corev1.Pod)) *corev1.Pod {
		p := PodSpec(Options{Namespace: "ns", Image: "img:1"})
		p.Name = "h"
		mod(p)
		return p
	}
	tests := []struct {
		name        string
		pod         *corev1.Pod
		ephemeral   bool
		wantRunning bool
		wantWaiting string
		wantErr     string
	}{
		{name: "new", pod: base(func(*corev1.Pod) {}), wantWaiting: "waiting to be scheduled"},
		{name: "scheduled", pod: base(func(p *corev1.Pod) { p.Spec.NodeName = "n1" }), wantWaiting: "waiting for the kubelet on node n1 to start the container"},
		{name: "creating", pod: base(waitingAgent("ContainerCreating", "")), wantWaiting: "container ContainerCreating"},
		{name: "running", pod: base(runningAgent), wantRunning: true},
		{name: "exited", pod: base(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error", Message: "usage: ..."}}}}
		}), wantErr: "the agent exited (exit code 2, Error: usage: ...): is img:1 a svc-doctor agent image running `svc-doctor-agent serve`?"},
		{name: "invalid image", pod: base(waitingAgent("InvalidImageName", "bad ref")), wantErr: `image name "img:1" is invalid (bad ref): pass a valid --image`},
		{name: "deleting", pod: base(func(p *corev1.Pod) { p.DeletionTimestamp = ptr.To(metav1.Now()) }), wantErr: "the pod is being deleted"},
		{name: "ephemeral running", ephemeral: true, pod: base(func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: ContainerName, Image: "img:1"}}}
			p.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}), wantRunning: true},
		{name: "ephemeral ignores regular statuses", ephemeral: true, pod: base(func(p *corev1.Pod) {
			runningAgent(p)
		}), wantWaiting: "waiting for the kubelet on node node-1 to start the container"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			running, waiting, err := agentState(tt.pod, ContainerName, tt.ephemeral)
			gotErr := ""
			if err != nil {
				gotErr = err.(*StartError).Message
			}
			if running != tt.wantRunning || waiting != tt.wantWaiting || gotErr != tt.wantErr {
				t.Errorf("got (%v, %q, %q), want (%v, %q, %q)", running, waiting, gotErr, tt.wantRunning, tt.wantWaiting, tt.wantErr)
			}
		})
	}
}

// ephemeralKubelet starts every ephemeral container added through the ephemeralcontainers
// subresource.
func ephemeralKubelet(client *fake.Clientset) {
	client.PrependReactor("update", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "ephemeralcontainers" {
			return false, nil, nil
		}
		pod := a.(k8stesting.UpdateAction).GetObject().(*corev1.Pod)
		for _, c := range pod.Spec.EphemeralContainers {
			pod.Status.EphemeralContainerStatuses = append(pod.Status.EphemeralContainerStatuses,
				corev1.ContainerStatus{Name: c.Name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})
		}
		return false, nil, nil
	})
}

func TestAttach(t *testing.T) {
	ctx := context.Background()
	client := newClient(nil, targetPod(true))
	ephemeralKubelet(client)
	h, err := Attach(ctx, client, testConfig, "web-0", Options{Namespace: "shop", RunID: "r1", Image: "img:1"})
	if err != nil {
		t.Fatal(err)
	}
	if !h.Ephemeral() || h.Container() != "svc-doctor-r1" || h.String() != "ephemeral container svc-doctor-r1 of pod shop/web-0" {
		t.Errorf("helper %s (ephemeral %v)", h, h.Ephemeral())
	}
	pod, err := client.CoreV1().Pods("shop").Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := EphemeralContainer(targetPod(true), Options{Namespace: "shop", RunID: "r1", Image: "img:1"})
	if diff := cmp.Diff([]corev1.EphemeralContainer{want}, pod.Spec.EphemeralContainers); diff != "" {
		t.Errorf("ephemeral containers (-want +got):\n%s", diff)
	}

	// Close stops the agent with `svc-doctor-agent stop`, once; it deletes nothing.
	var cmds [][]string
	h.exec = func(_ context.Context, _ *Helper, cmd []string, _ io.Reader, _, _ io.Writer) error {
		cmds = append(cmds, cmd)
		return nil
	}
	client.ClearActions()
	for i := 0; i < 2; i++ {
		if err := h.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([][]string{{"svc-doctor-agent", "stop"}}, cmds); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	for _, a := range client.Actions() {
		if a.GetVerb() == "delete" {
			t.Errorf("Close of an ephemeral container deleted something: %v", a)
		}
	}
}

func TestAttachErrors(t *testing.T) {
	pending := targetPod(true)
	pending.Status.Phase = corev1.PodPending
	tests := []struct {
		name    string
		objects []runtime.Object
		react   k8stesting.ReactionFunc
		opts    Options
		wantErr string
	}{
		{name: "no such pod", wantErr: `pod shop/web-0: get pods: pods "web-0" not found`},
		{name: "not running", objects: []runtime.Object{pending}, wantErr: "pod shop/web-0 is Pending: --from needs a running pod"},
		{name: "no such target container", objects: []runtime.Object{targetPod(true)}, opts: Options{TargetContainer: "db"},
			wantErr: `pod shop/web-0 has no container "db"`},
		{
			name:    "forbidden",
			objects: []runtime.Object{targetPod(true)},
			react: func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() == "ephemeralcontainers" {
					return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods/ephemeralcontainers"}, "web-0", errors.New(`User "dev" cannot update resource "pods/ephemeralcontainers"`))
				}
				return false, nil, nil
			},
			wantErr: `pod shop/web-0: forbidden: needs update on pods/ephemeralcontainers in namespace shop (ask for it, or use a namespace where you have it): pods/ephemeralcontainers "web-0" is forbidden: User "dev" cannot update resource "pods/ephemeralcontainers"`,
		},
		{
			name:    "image missing on the node",
			objects: []runtime.Object{targetPod(true)},
			react: func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() == "ephemeralcontainers" {
					pod := a.(k8stesting.UpdateAction).GetObject().(*corev1.Pod)
					pod.Spec.NodeName = "node-1"
					pod.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: "svc-doctor-r1",
						State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull"}}}}
				}
				return false, nil, nil
			},
			opts:    Options{Image: "img:1", ImagePullPolicy: corev1.PullNever},
			wantErr: "ephemeral container svc-doctor-r1 of pod shop/web-0: image img:1 is not present on node node-1 and imagePullPolicy=Never: import it into that node's container runtime, or pass --image; the ephemeral container stays in the pod's spec until the pod is deleted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newClient(nil, tt.objects...)
			if tt.react != nil {
				client.PrependReactor("update", "pods", tt.react)
			}
			opts := tt.opts
			opts.Namespace, opts.RunID = "shop", "r1"
			_, err := Attach(context.Background(), client, testConfig, "web-0", opts)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("error\n got %v\nwant %s", err, tt.wantErr)
			}
		})
	}
}

func TestFromPodNotice(t *testing.T) {
	for _, want := range []string{"pods/ephemeralcontainers", "pods/exec", "cannot remove ephemeral containers", "terminated"} {
		if !strings.Contains(FromPodNotice, want) {
			t.Errorf("FromPodNotice does not mention %q", want)
		}
	}
}

func TestLimitedBuffer(t *testing.T) {
	b := &limitedBuffer{max: 5}
	for _, s := range []string{"abc", "defg", "h"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if b.String() != "abcde" || !b.overflow {
		t.Errorf("buffer %q overflow %v", b.String(), b.overflow)
	}
}

// TestStartCreateInterrupted: the server created the pod but the client was interrupted before it
// read the answer; Start still removes the pod, found by its run ID.
func TestStartCreateInterrupted(t *testing.T) {
	client := newClient(runningAgent)
	ctx, cancel := context.WithCancel(context.Background())
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod).DeepCopy()
		pod.Name = "svc-doctor-helper-lost"
		if err := client.Tracker().Create(podsResource.WithVersion("v1"), pod, pod.Namespace); err != nil {
			return true, nil, err
		}
		cancel() // Ctrl-C while the response is on its way
		return true, nil, context.Canceled
	})
	_, err := Start(ctx, client, testConfig, Options{Namespace: "ns", RunID: "r9"})
	if err == nil {
		t.Fatal("Start succeeded")
	}
	if names := podNames(t, client, "ns"); len(names) != 0 {
		t.Errorf("pods left: %v", names)
	}
}
