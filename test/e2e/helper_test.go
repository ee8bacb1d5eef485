package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
)

// The tests in this file drive the helper package (the in-cluster agent) against the real cluster:
// the helper pod under the restricted Pod Security profile, the checks it runs, its deletion on
// Close and on SIGINT, and the --from ephemeral container.

// enforceRestricted labels the test namespace so that Pod Security admission enforces the restricted
// profile, and proves that it does with a dry-run pod that violates it.
func enforceRestricted(f *framework.F) {
	f.T.Helper()
	patch := `{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"restricted","pod-security.kubernetes.io/enforce-version":"latest"}}}`
	if _, err := f.Client.CoreV1().Namespaces().Patch(f.Ctx, f.Namespace, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		f.T.Fatalf("label namespace %s: %v", f.Namespace, err)
	}
	bad := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "not-restricted"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: framework.TestserverImage, ImagePullPolicy: corev1.PullNever}}}}
	// The admission plugin reads namespaces from an informer: wait until it sees the label.
	var err error
	if perr := f.Poll(30*time.Second, func(ctx context.Context) (bool, error) {
		_, err = f.Client.CoreV1().Pods(f.Namespace).Create(ctx, bad, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "violates PodSecurity"), nil
	}); perr != nil {
		f.T.Fatalf("namespace %s does not enforce the restricted profile: a violating pod got %v (%v)", f.Namespace, err, perr)
	}
}

func helperOptions(f *framework.F) helper.Options {
	return helper.Options{
		Namespace:       f.Namespace,
		Image:           framework.AgentImage,
		ImagePullPolicy: corev1.PullNever,
		Creator:         "svc-doctor e2e",
		Reason:          f.T.Name(),
		StartTimeout:    90 * time.Second,
	}
}

// resultsByID indexes a response and fails the test when a check is missing.
func resultsByID(t *testing.T, resp *agent.Response) map[string]agent.Result {
	t.Helper()
	m := map[string]agent.Result{}
	for _, r := range resp.Results {
		m[r.ID] = r
		t.Logf("%-16s ok=%-5v failure=%-11s %s | %s (%s)", r.ID, r.OK, r.Failure, r.Target, r.Detail, r.Duration.Duration)
	}
	return m
}

func expectOutcome(t *testing.T, results map[string]agent.Result, id string, ok bool, failure agent.FailureClass) agent.Result {
	t.Helper()
	r, found := results[id]
	if !found {
		t.Fatalf("no result %s", id)
	}
	if r.OK != ok || r.Failure != failure {
		t.Errorf("%s: ok=%v failure=%q, want ok=%v failure=%q (%s)", id, r.OK, r.Failure, ok, failure, r.Detail)
	}
	return r
}

// waitPodGone waits until the pod no longer exists.
func waitPodGone(f *framework.F, name string, timeout time.Duration) {
	f.T.Helper()
	f.WaitFor("pod "+name+" deleted", timeout, func(ctx context.Context) (bool, error) {
		_, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// waitServiceAnswers waits until the helper can connect to ip:port: kube-proxy programs a new
// Service's endpoints a moment after they are ready, and until then it rejects the connection.
func waitServiceAnswers(f *framework.F, h *helper.Helper, ip string, port int) {
	f.T.Helper()
	req := agent.NewRequest(agent.Check{ID: "wait", Type: agent.CheckTCP, TCP: &agent.TCPCheck{Host: ip, Port: port}})
	f.WaitFor(fmt.Sprintf("%s:%d answers from the helper", ip, port), time.Minute, func(ctx context.Context) (bool, error) {
		resp, err := h.Run(ctx, req)
		if err != nil {
			return false, err
		}
		return resp.Results[0].OK, nil
	})
}

const webService = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: udp, port: 5353, targetPort: udp, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  selector: {app: nothing-has-this-label}
  ports:
  - {name: http, port: 80, targetPort: 8080}
`

func TestHelperPodChecks(t *testing.T) {
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", UDPPort: 5353})
	f.Apply(webService)
	enforceRestricted(f) // from here on every new pod must be restricted
	clusterIP, podIP, ns := f.ServiceIP("web"), web.Pods[0].Status.PodIP, f.Namespace
	fqdn := "web." + ns + ".svc.cluster.local."

	opts := helperOptions(f)
	opts.RunID = helper.NewRunID()
	h, err := helper.Start(f.Ctx, f.Client, f.Cluster.Config, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer h.Close(f.Ctx)
	t.Logf("%s runs on node %s", h, h.Node())

	pod, err := f.Client.CoreV1().Pods(ns).Get(f.Ctx, h.Name(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Labels[helper.LabelRunID] != opts.RunID || pod.Labels[helper.LabelManagedBy] != helper.ManagedByValue ||
		pod.Annotations[helper.AnnotationReason] != t.Name() {
		t.Errorf("helper pod metadata: labels %v annotations %v", pod.Labels, pod.Annotations)
	}

	waitServiceAnswers(f, h, clusterIP, 80)

	sec := 5 * time.Second
	req := agent.NewRequest(
		agent.Check{ID: "resolvconf", Type: agent.CheckResolvConf},
		agent.Check{ID: "dns-short", Type: agent.CheckDNS, DNS: &agent.DNSCheck{Name: "web"}},
		agent.Check{ID: "dns-ns", Type: agent.CheckDNS, DNS: &agent.DNSCheck{Name: "web." + ns}},
		agent.Check{ID: "dns-fqdn-direct", Type: agent.CheckDNS, DNS: &agent.DNSCheck{Name: fqdn, Server: "10.96.0.10"}},
		agent.Check{ID: "dns-srv", Type: agent.CheckDNS, DNS: &agent.DNSCheck{Name: "_http._tcp." + fqdn, QType: agent.QuerySRV}},
		agent.Check{ID: "dns-nxdomain", Type: agent.CheckDNS, DNS: &agent.DNSCheck{Name: "no-such-service"}},
		agent.Check{ID: "tcp-clusterip", Type: agent.CheckTCP, TCP: &agent.TCPCheck{Host: clusterIP, Port: 80}},
		agent.Check{ID: "tcp-pod", Type: agent.CheckTCP, TCP: &agent.TCPCheck{Host: podIP, Port: 8080}},
		agent.Check{ID: "tcp-closed", Type: agent.CheckTCP, TCP: &agent.TCPCheck{Host: podIP, Port: 9999}},
		agent.Check{ID: "tcp-by-name", Type: agent.CheckTCP, TCP: &agent.TCPCheck{Host: "web", Port: 80}},
		agent.Check{ID: "tcp-bad-name", Type: agent.CheckTCP, TCP: &agent.TCPCheck{Host: "no-such-service", Port: 80}},
		agent.Check{ID: "tcp-no-endpoints", Type: agent.CheckTCP, Timeout: agent.Duration{Duration: sec}, TCP: &agent.TCPCheck{Host: f.ServiceIP("empty"), Port: 80}},
		agent.Check{ID: "http", Type: agent.CheckHTTP, HTTP: &agent.HTTPCheck{URL: "http://web/"}},
		agent.Check{ID: "http-host", Type: agent.CheckHTTP, HTTP: &agent.HTTPCheck{URL: "http://" + clusterIP + "/echo", Host: "shop.example"}},
		agent.Check{ID: "http-503", Type: agent.CheckHTTP, HTTP: &agent.HTTPCheck{URL: "http://" + net.JoinHostPort(podIP, "8080") + "/status/503"}},
		agent.Check{ID: "udp-echo", Type: agent.CheckUDP, UDP: &agent.UDPCheck{Host: clusterIP, Port: 5353, Payload: "ping", ExpectReply: true}},
		agent.Check{ID: "udp-closed", Type: agent.CheckUDP, UDP: &agent.UDPCheck{Host: podIP, Port: 9999}},
		agent.Check{ID: "env", Type: agent.CheckEnv, Env: &agent.EnvCheck{Prefix: "WEB_SERVICE_"}},
	)
	resp, err := h.Run(f.Ctx, req)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if resp.AgentVersion == "" || resp.APIVersion != agent.APIVersion {
		t.Errorf("response envelope %s %s", resp.APIVersion, resp.AgentVersion)
	}
	r := resultsByID(t, resp)

	rc := expectOutcome(t, r, "resolvconf", true, "").ResolvConf
	if rc == nil || !slices.Contains(rc.Nameservers, "10.96.0.10") || rc.Ndots != 5 || len(rc.Search) == 0 || rc.Search[0] != ns+".svc.cluster.local" {
		t.Errorf("resolv.conf %+v", rc)
	}
	for _, id := range []string{"dns-short", "dns-ns", "dns-fqdn-direct"} {
		d := expectOutcome(t, r, id, true, "").DNS
		if d == nil || d.Name != fqdn || len(d.Answers) != 1 || d.Answers[0].Value != clusterIP {
			t.Errorf("%s: %+v, want %s -> %s", id, d, fqdn, clusterIP)
		}
	}
	if tried := len(r["dns-ns"].DNS.Tries); tried != 2 {
		t.Errorf("dns-ns: %d names tried, want 2 (web.NS.NS.svc... then web.NS.svc...)", tried)
	}
	if srv := expectOutcome(t, r, "dns-srv", true, "").DNS; srv == nil || len(srv.Answers) == 0 || srv.Answers[0].Port != 80 {
		t.Errorf("dns-srv: %+v", srv)
	}
	if nx := expectOutcome(t, r, "dns-nxdomain", false, agent.FailNXDomain).DNS; nx == nil || len(nx.Tries) < 4 {
		t.Errorf("dns-nxdomain: %+v", nx)
	}
	expectOutcome(t, r, "tcp-clusterip", true, "")
	expectOutcome(t, r, "tcp-pod", true, "")
	expectOutcome(t, r, "tcp-closed", false, agent.FailRefused)
	expectOutcome(t, r, "tcp-by-name", true, "")
	expectOutcome(t, r, "tcp-bad-name", false, agent.FailNXDomain)
	expectOutcome(t, r, "tcp-no-endpoints", false, agent.FailRefused) // kube-proxy REJECTs a Service without endpoints
	if h := expectOutcome(t, r, "http", true, "").HTTP; h == nil || h.StatusCode != 200 || strings.TrimSpace(h.BodySnippet) != web.Pods[0].Name {
		t.Errorf("http: %+v", h)
	}
	if h := expectOutcome(t, r, "http-host", true, "").HTTP; h == nil || !strings.Contains(h.BodySnippet, `"shop.example"`) {
		t.Errorf("http-host: %+v", h)
	}
	if h := expectOutcome(t, r, "http-503", false, agent.FailHTTPStatus).HTTP; h == nil || h.StatusCode != 503 {
		t.Errorf("http-503: %+v", h)
	}
	if u := expectOutcome(t, r, "udp-echo", true, "").UDP; u == nil || u.Outcome != agent.UDPReply || !strings.Contains(u.Reply, "ping") {
		t.Errorf("udp-echo: %+v", u)
	}
	expectOutcome(t, r, "udp-closed", false, agent.FailRefused)
	if env := expectOutcome(t, r, "env", true, "").Env; env == nil || len(env.Vars) != 0 {
		t.Errorf("env: %+v (the helper pod has enableServiceLinks: false)", env)
	}

	// A request the agent rejects comes back as an error that quotes the agent.
	if _, err := h.Run(f.Ctx, agent.Request{APIVersion: agent.APIVersion, Kind: agent.KindCheckRequest}); err == nil {
		t.Error("an empty request was accepted")
	}

	if err := h.Close(f.Ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := h.Close(f.Ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	waitPodGone(f, h.Name(), 30*time.Second)
	framework.AssertNoManagedPods(t, ns, 5*time.Second)
}

func TestHelperKeepFindCleanup(t *testing.T) {
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web"})
	f.Apply(webService)
	enforceRestricted(f)
	opts := helperOptions(f)
	opts.Keep, opts.EnableServiceLinks = true, true

	first, err := helper.Acquire(f.Ctx, f.Client, f.Cluster.Config, opts)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	resp, err := first.Run(f.Ctx, agent.NewRequest(agent.Check{ID: "env", Type: agent.CheckEnv, Env: &agent.EnvCheck{Prefix: "WEB_SERVICE_"}}))
	if err != nil {
		t.Fatal(err)
	}
	env := resultsByID(t, resp)["env"].Env
	want := []agent.EnvVar{{Name: "WEB_SERVICE_HOST", Value: f.ServiceIP("web")}, {Name: "WEB_SERVICE_PORT", Value: "80"}}
	if env == nil || len(env.Vars) < 2 || env.Vars[0] != want[0] || !slices.Contains(env.Vars, want[1]) {
		t.Errorf("service link variables %+v, want %+v", env, want)
	}
	if err := first.Close(f.Ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Client.CoreV1().Pods(f.Namespace).Get(f.Ctx, first.Name(), metav1.GetOptions{}); err != nil {
		t.Fatalf("the kept helper is gone after Close: %v", err)
	}

	second, err := helper.Acquire(f.Ctx, f.Client, f.Cluster.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.Name() != first.Name() {
		t.Errorf("Acquire started %s instead of reusing %s", second.Name(), first.Name())
	}
	if _, err := second.Run(f.Ctx, agent.NewRequest(agent.Check{ID: "rc", Type: agent.CheckResolvConf})); err != nil {
		t.Errorf("Run on the reused helper: %v", err)
	}
	other := opts
	other.Image = "localhost/svc-doctor/other-agent:dev"
	if h, err := helper.Find(f.Ctx, f.Client, f.Cluster.Config, other); err != nil || h != nil {
		t.Errorf("Find with another image: %v, %v", h, err)
	}

	deleted, err := helper.Cleanup(f.Ctx, f.Client, f.Namespace, 0)
	if err != nil || !slices.Equal(deleted, []string{f.Namespace + "/" + first.Name()}) {
		t.Errorf("Cleanup: %v, %v", deleted, err)
	}
	waitPodGone(f, first.Name(), 30*time.Second)
	framework.AssertNoManagedPods(t, f.Namespace, 5*time.Second)
}

func TestHelperImageMissing(t *testing.T) {
	f := framework.New(t)
	enforceRestricted(f)
	opts := helperOptions(f)
	opts.Image = "localhost/svc-doctor/no-such-agent:dev"
	_, err := helper.Start(f.Ctx, f.Client, f.Cluster.Config, opts)
	var se *helper.StartError
	if !errors.As(err, &se) || se.Reason != "ErrImageNeverPull" {
		t.Fatalf("Start with a missing image: %v", err)
	}
	t.Logf("error: %v", err)
	want := "image localhost/svc-doctor/no-such-agent:dev is not present on node "
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "imagePullPolicy=Never: import it into that node's container runtime, or pass --image") {
		t.Errorf("error %q does not explain the missing image", err)
	}
	framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
}

// Environment of the child process of TestHelperSIGINT.
const (
	envChildNamespace = "SVCDOC_HELPER_CHILD_NAMESPACE"
	envChildTarget    = "SVCDOC_HELPER_CHILD_TARGET"
)

// TestHelperSIGINT runs TestHelperSIGINTChild in a child process (this test binary), which holds a
// helper pod the way command code does and is running checks when it gets SIGINT: the pod must be
// deleted and the child must end on its own.
func TestHelperSIGINT(t *testing.T) {
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web"})
	// Drop all traffic to web, so that the child's check hangs until its timeout.
	f.Apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-deny-all}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
`)
	target := net.JoinHostPort(web.Pods[0].Status.PodIP, "8080")

	child := exec.Command(os.Args[0], "-test.run=^TestHelperSIGINTChild$", "-test.v", "-test.count=1")
	child.Env = append(os.Environ(), envChildNamespace+"="+f.Namespace, envChildTarget+"="+target)
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = child.Stdout
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var pod, output string
	deadline := time.After(2 * time.Minute)
	for pod == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the child ended before starting a helper:\n%s", output)
			}
			output += l + "\n"
			if p, found := strings.CutPrefix(l, "HELPER-POD "); found {
				pod = p
			}
		case <-deadline:
			_ = child.Process.Kill()
			t.Fatalf("the child started no helper:\n%s", output)
		}
	}
	// Let it get into its checks (an exec against a dropped port that lasts 25s), then Ctrl-C.
	time.Sleep(3 * time.Second)
	if _, err := f.Client.CoreV1().Pods(f.Namespace).Get(f.Ctx, pod, metav1.GetOptions{}); err != nil {
		t.Fatalf("helper pod %s before SIGINT: %v", pod, err)
	}
	signalled := time.Now()
	if err := child.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for l := range lines {
			output += l + "\n"
		}
		done <- child.Wait()
	}()
	select {
	case err := <-done:
		t.Logf("child ended %s after SIGINT (%v):\n%s", time.Since(signalled).Round(time.Millisecond), err, output)
	case <-time.After(40 * time.Second):
		_ = child.Process.Kill()
		t.Fatalf("the child did not end within 40s of SIGINT")
	}
	if !strings.Contains(output, "CHILD-DONE ") || !strings.Contains(output, "context canceled") {
		t.Errorf("the child did not return from its checks with a cancelled context:\n%s", output)
	}
	waitPodGone(f, pod, 30*time.Second)
	framework.AssertNoManagedPods(t, f.Namespace, 5*time.Second)
}

// TestHelperSIGINTChild is the child of TestHelperSIGINT; it does nothing in a normal run. It uses
// the helper the way the package documentation tells command code to.
func TestHelperSIGINTChild(t *testing.T) {
	ns, target := os.Getenv(envChildNamespace), os.Getenv(envChildTarget)
	if ns == "" {
		t.Skip("child process of TestHelperSIGINT")
	}
	c := framework.Current(t)
	host, portStr, _ := net.SplitHostPort(target)
	port, _ := strconv.Atoi(portStr)

	ctx, stop := helper.NotifyContext(context.Background())
	defer stop()
	opts := helper.Options{Namespace: ns, Image: framework.AgentImage, ImagePullPolicy: corev1.PullNever, Reason: "sigint e2e"}
	err := helper.WithHelper(ctx, c.Client, c.Config, opts, func(ctx context.Context, h *helper.Helper) error {
		fmt.Printf("HELPER-POD %s\n", h.Name())
		req := agent.NewRequest(agent.Check{ID: "hang", Type: agent.CheckTCP, Timeout: agent.Duration{Duration: 25 * time.Second},
			TCP: &agent.TCPCheck{Host: host, Port: port}})
		for {
			if _, err := h.Run(ctx, req); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	})
	fmt.Printf("CHILD-DONE %v\n", err)
}

// requireNetworkPolicies fails the test early, with the reason, when the local harness's
// NetworkPolicy enforcer (kube-system/kube-network-policies) is not ready.
func requireNetworkPolicies(f *framework.F) {
	f.T.Helper()
	ds, err := f.Client.AppsV1().DaemonSets("kube-system").Get(f.Ctx, "kube-network-policies", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return // another cluster (kind: kindnet enforces them)
	}
	if err != nil || ds.Status.NumberReady == 0 {
		f.T.Fatalf("NetworkPolicies are not enforced: kube-system/kube-network-policies is not ready (%v); this test needs them", err)
	}
}

func TestHelperFromPod(t *testing.T) {
	f := framework.New(t)
	requireNetworkPolicies(f)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web"})
	f.Apply(webService)
	// Only pods labelled role=allowed may talk to web.
	f.Apply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-allow-role-allowed}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {matchLabels: {role: allowed}}
`)
	enforceRestricted(f)
	// The --from target: a restricted pod, created after the namespace enforces the profile.
	f.Apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: client
  labels: {role: allowed}
spec:
  terminationGracePeriodSeconds: 0
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: client
    image: %s
    imagePullPolicy: Never
    args: ["sleep"]
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
`, framework.TestserverImage))
	f.WaitPodsReady("role=allowed", 1, 2*time.Minute)
	podIP := web.Pods[0].Status.PodIP
	req := agent.NewRequest(
		agent.Check{ID: "tcp-web", Type: agent.CheckTCP, Timeout: agent.Duration{Duration: 3 * time.Second}, TCP: &agent.TCPCheck{Host: podIP, Port: 8080}},
		agent.Check{ID: "dns", Type: agent.CheckDNS, DNS: &agent.DNSCheck{Name: "web"}},
		agent.Check{ID: "env", Type: agent.CheckEnv, Env: &agent.EnvCheck{Prefix: "WEB_SERVICE_"}},
	)

	// From the helper pod, the policy drops the connection.
	h, err := helper.Start(f.Ctx, f.Client, f.Cluster.Config, helperOptions(f))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	resp, err := h.Run(f.Ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	expectOutcome(t, resultsByID(t, resp), "tcp-web", false, agent.FailTimeout)
	if err := h.Close(f.Ctx); err != nil {
		t.Fatal(err)
	}

	// From the client pod's position it is admitted.
	opts := helperOptions(f)
	opts.RunID = helper.NewRunID()
	eh, err := helper.Attach(f.Ctx, f.Client, f.Cluster.Config, "client", opts)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if !eh.Ephemeral() || eh.Name() != "client" || eh.Container() != "svc-doctor-"+opts.RunID {
		t.Errorf("attached helper %s", eh)
	}
	resp, err = eh.Run(f.Ctx, req)
	if err != nil {
		t.Fatalf("Run in the ephemeral container: %v", err)
	}
	r := resultsByID(t, resp)
	expectOutcome(t, r, "tcp-web", true, "")
	if d := expectOutcome(t, r, "dns", true, "").DNS; d == nil || len(d.Answers) != 1 || d.Answers[0].Value != f.ServiceIP("web") {
		t.Errorf("dns from the client pod: %+v", d)
	}
	// kubelet computes the service links of an ephemeral container when it starts it.
	if env := expectOutcome(t, r, "env", true, "").Env; env == nil || len(env.Vars) == 0 || env.Vars[0].Value != f.ServiceIP("web") {
		t.Errorf("service link variables in the ephemeral container: %+v", env)
	}

	pod, err := f.Client.CoreV1().Pods(f.Namespace).Get(f.Ctx, "client", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pod.Spec.EphemeralContainers); n != 1 || pod.Spec.EphemeralContainers[0].SecurityContext == nil ||
		pod.Spec.EphemeralContainers[0].SecurityContext.RunAsUser == nil || *pod.Spec.EphemeralContainers[0].SecurityContext.RunAsUser != helper.RunAsUser {
		t.Errorf("ephemeral containers of the client pod: %+v", pod.Spec.EphemeralContainers)
	}

	// Close stops the agent: the container terminates, and stays in the spec.
	if err := eh.Close(f.Ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	f.WaitFor("ephemeral container terminated", 30*time.Second, func(ctx context.Context) (bool, error) {
		p, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, "client", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, s := range p.Status.EphemeralContainerStatuses {
			if s.Name == eh.Container() && s.State.Terminated != nil {
				t.Logf("ephemeral container %s terminated: exit %d %s", s.Name, s.State.Terminated.ExitCode, s.State.Terminated.Reason)
				return s.State.Terminated.ExitCode == 0, nil
			}
		}
		return false, nil
	})
	if _, err := eh.Run(f.Ctx, req); err == nil {
		t.Error("Run after Close succeeded")
	}

	// A second --from run adds a second container (the first cannot be removed).
	opts.RunID = helper.NewRunID()
	eh2, err := helper.Attach(f.Ctx, f.Client, f.Cluster.Config, "client", opts)
	if err != nil {
		t.Fatalf("second Attach: %v", err)
	}
	if err := eh2.Close(f.Ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	pod, err = f.Client.CoreV1().Pods(f.Namespace).Get(f.Ctx, "client", metav1.GetOptions{})
	if err != nil || len(pod.Spec.EphemeralContainers) != 2 {
		t.Errorf("ephemeral containers after two runs: %v (%v)", pod, err)
	}
	framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
}
