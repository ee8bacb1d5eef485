package probes

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/trace"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func webPod(name, ip string, ready bool) *corev1.Pod {
	status := corev1.ConditionTrue
	if !ready {
		status = corev1.ConditionFalse
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}},
				PeriodSeconds: 5, TimeoutSeconds: 2, FailureThreshold: 1},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}, TimeoutSeconds: 10, PeriodSeconds: 10},
		}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Ready: ready, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
	}
}

func event(pod, msg string) *corev1.Event {
	return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: pod + ".1", Namespace: "shop"}, Reason: "Unhealthy", Message: msg, Count: 7,
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: pod, Namespace: "shop"}, LastTimestamp: metav1.NewTime(t0.Add(-3 * time.Second))}
}

func deploy() *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
}

// statusAgent answers HTTP checks with a status per URL and TCP checks with success.
type statusAgent struct{ status map[string]int }

func (s statusAgent) Run(_ context.Context, req agent.Request) (*agent.Response, error) {
	resp := &agent.Response{APIVersion: agent.APIVersion, Kind: agent.KindCheckResponse}
	for _, c := range req.Checks {
		r := agent.Result{ID: c.ID, Type: c.Type}
		if c.HTTP != nil {
			code := s.status[c.HTTP.URL]
			if code == 0 {
				code = 200
			}
			r.HTTP = &agent.HTTPResult{StatusCode: code, BodySnippet: "not ready\n"}
			if code >= 400 {
				r.Failure, r.Detail = agent.FailHTTPStatus, "HTTP status"
			}
		}
		r.OK = r.Failure == ""
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

type statusProvider struct{ a statusAgent }

func (p statusProvider) Agent(context.Context) (trace.Agent, *trace.Source, error) {
	return p.a, &trace.Source{Description: "helper pod shop/svc-doctor-helper-x", Namespace: "shop"}, nil
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		objects []runtime.Object
		run     bool
		status  map[string]int
		code    int
		golden  string
	}{
		{name: "deployment with a failing readiness probe", target: "deploy/web", code: 1, golden: "deploy-not-ready.txt",
			objects: []runtime.Object{deploy(), webPod("web-1", "10.244.0.11", true), webPod("web-2", "10.244.0.12", false),
				event("web-2", "Readiness probe failed: HTTP probe failed with statuscode: 503")}},
		{name: "run now: one pod fails", target: "pod/web-2", run: true, code: 1, golden: "run.txt",
			status:  map[string]int{"http://10.244.0.12:8080/ready": 503},
			objects: []runtime.Object{webPod("web-2", "10.244.0.12", true)}},
		{name: "healthy json", target: "pod/web-1", run: true, code: 0, golden: "healthy.json",
			objects: []runtime.Object{webPod("web-1", "10.244.0.11", true)}},
		{name: "missing pod", target: "pod/nope", code: 1, golden: "missing.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			o := NewOptions(genericiooptions.IOStreams{Out: &out, ErrOut: &errOut})
			o.Client, o.Namespace, o.Now = fake.NewSimpleClientset(tc.objects...), "shop", func() time.Time { return t0 }
			o.Agents = statusProvider{statusAgent{tc.status}}
			o.Run = tc.run
			if strings.HasSuffix(tc.golden, ".json") {
				o.Output = "json"
			}
			if err := o.Complete(nil, []string{tc.target}); err != nil {
				t.Fatal(err)
			}
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			err := o.RunCmd(context.Background())
			if got := cmdutil.ExitCode(err); got != tc.code {
				t.Errorf("exit %d (%v), want %d", got, err, tc.code)
			}
			if err != nil && !cmdutil.IsSilent(err) {
				out.WriteString("error: " + err.Error() + "\n")
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				_ = os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./probes -update)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s (go test ./probes -update):\n%s", path, out.String())
			}
		})
	}
}

func TestProbeCheck(t *testing.T) {
	p := webPod("web-1", "10.244.0.11", true)
	c := &p.Spec.Containers[0]
	tests := []struct {
		name   string
		probe  corev1.Probe
		target string
		skip   string
	}{
		{name: "httpGet on a named port", probe: *c.ReadinessProbe, target: "GET http://10.244.0.11:8080/ready"},
		{name: "https", probe: corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Scheme: corev1.URISchemeHTTPS, Port: intstr.FromInt32(8443)}}}, target: "GET https://10.244.0.11:8443/"},
		{name: "tcpSocket", probe: corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(5432)}}}, target: "tcp 10.244.0.11:5432"},
		{name: "undeclared port name", probe: corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("admin")}}}, skip: "port admin is not declared by container web"},
		{name: "exec", probe: corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/ready"}}}}, skip: "exec probes run inside the container: try kubectl exec web-1 -c web -- cat /tmp/ready"},
		{name: "grpc", probe: corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090, Service: ptr.To("")}}}, skip: "grpc probes are not run by the agent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check, why := probeCheck("x", p, c, &tc.probe)
			if why != tc.skip {
				t.Fatalf("skip = %q, want %q", why, tc.skip)
			}
			if why == "" {
				if err := check.Validate(); err != nil {
					t.Fatalf("invalid check: %v", err)
				}
				if got := checkTarget(check); got != tc.target {
					t.Errorf("target = %q, want %q", got, tc.target)
				}
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct{ arg, kind, name, err string }{
		{arg: "pod/web-1", kind: "pod", name: "web-1"},
		{arg: "deploy/web", kind: "deployment", name: "web"},
		{arg: "sts/db", kind: "statefulset", name: "db"},
		{arg: "svc/web", kind: "service", name: "web"},
		{arg: "web", err: `"web": write pod/NAME, deploy/NAME, sts/NAME or svc/NAME`},
		{arg: "cm/web", err: `"cm/web": probes takes pod/NAME, deploy/NAME, sts/NAME or svc/NAME`},
	}
	for _, tc := range tests {
		t.Run(tc.arg, func(t *testing.T) {
			kind, name, err := ParseTarget(tc.arg)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err || cmdutil.ExitCode(err) != 2 {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || kind != tc.kind || name != tc.name {
				t.Fatalf("= %q %q %v", kind, name, err)
			}
		})
	}
}
