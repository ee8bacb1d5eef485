package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/servicetrace"
)

// The tests in this file inject faults while a diagnosis runs: the API server goes away, Ctrl-C
// arrives at random moments, the Deployment behind the Service rolls out.

// TestFaultAPIServerStoppedMidDiagnosis stops the kube-apiserver while the agent's checks run (the
// exec stream is open): diagnose must end with exit 3 within --request-timeout and a few seconds,
// with a message that names the server, instead of hanging or passing.
func TestFaultAPIServerStoppedMidDiagnosis(t *testing.T) {
	f := framework.NewDisruptive(t)
	f.RequireHarness()
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	// the connectivity checks wait for answers that never come: the diagnosis is mid-way for 25s
	f.Apply(diagWebService + denyWebPolicy)
	diagWaitEndpoints(f, "web", 1)
	const requestTimeout = 5 * time.Second
	args := append([]string{"diagnose", "svc/web", "-n", f.Namespace, "--check-timeout", "25s",
		"--request-timeout", requestTimeout.String(), "-v=6"}, diagHelperFlags()...)
	run := startSvcDoctor(t, f, args...)
	run.waitStderr(t, "the exec of the agent's checks", execStarted, 2*time.Minute)

	f.StopAPIServer()
	stopped := time.Now()
	code := run.wait(t, 2*time.Minute)
	took := run.ended.Sub(stopped)
	stderr := run.stderr.String()
	t.Logf("exit %d %s after the API server stopped\nstdout:\n%s\nstderr (without the request log):\n%s", code, took.Round(time.Millisecond), run.stdout, withoutRequestLog(stderr))
	f.StartAPIServer()

	if code != 3 {
		t.Errorf("exit %d, want 3 (could not complete)", code)
	}
	if limit := requestTimeout + 5*time.Second; took > limit {
		t.Errorf("diagnose ended %s after the API server stopped, want within %s (--request-timeout %s + 5s)", took.Round(time.Millisecond), limit, requestTimeout)
	}
	server := f.Cluster.Config.Host // https://10.201.0.1:6443
	if !strings.Contains(withoutRequestLog(stderr), strings.TrimPrefix(server, "https://")) {
		t.Errorf("no message names the API server %s:\n%s", server, withoutRequestLog(stderr))
	}
	if strings.Contains(stderr, "panic") {
		t.Errorf("diagnose panicked:\n%s", stderr)
	}
	// the helper pod could not be deleted while the server was down: cleanup removes it now
	if res := f.SvcDoctor("cleanup", "-n", f.Namespace); res.ExitCode != 0 {
		t.Errorf("cleanup after the restart: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	diagNoHelperLeft(t, f)
}

// withoutRequestLog drops the lines of -v logging (klog's "I1205 ..." and friends) from stderr.
func withoutRequestLog(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if klogLine.MatchString(l) {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

var klogLine = regexp.MustCompile(`^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [^ ]+:\d+\] `)

// TestFaultSIGINTAtRandomPoints interrupts 20 diagnoses at seeded random moments (before the
// helper exists, while it starts, during the checks, while it is deleted), one Service and every
// Service of the namespace in turn, and checks that no helper pod is ever left behind.
// SVCDOC_E2E_SEED replays a run (the seed and every delay are logged).
func TestFaultSIGINTAtRandomPoints(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 2})
	f.Apply(diagWebService + `---
apiVersion: v1
kind: Service
metadata: {name: other}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080, targetPort: http}]
`)
	diagWaitEndpoints(f, "web", 2)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SVCDOC_E2E_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SVCDOC_E2E_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (replay with SVCDOC_E2E_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))

	targets := [][]string{{"diagnose", "svc/web", "-n", f.Namespace}, {"diagnose", "-n", f.Namespace}}
	// how long an uninterrupted run takes: the delays cover it, and a little more
	longest := time.Duration(0)
	for _, args := range targets {
		run := startSvcDoctor(t, f, append(args, diagHelperFlags()...)...)
		code := run.wait(t, 2*time.Minute)
		d := run.ended.Sub(run.started)
		t.Logf("uninterrupted %v: exit %d in %s", args[1:], code, d.Round(time.Millisecond))
		if code != 0 {
			t.Fatalf("uninterrupted %v: exit %d, want 0\n%s", args, code, run.stderr)
		}
		longest = max(longest, d)
	}
	span := longest + longest/4
	interrupted := 0
	for i := range 20 {
		args := targets[i%2]
		delay := time.Duration(rng.Int64N(int64(span)))
		run := startSvcDoctor(t, f, append(args, diagHelperFlags()...)...)
		time.Sleep(delay) // the random moment of the interrupt is what this test is about
		run.signal(t, syscall.SIGINT)
		code := run.wait(t, time.Minute)
		stderr := run.stderr.String()
		t.Logf("run %2d: %v SIGINT after %s: exit %d", i+1, args[1:2], delay.Round(time.Millisecond), code)
		switch {
		case strings.Contains(stderr, "panic"):
			t.Errorf("run %d panicked:\n%s", i+1, stderr)
		case code == 3 || code == 130 || code == -1: // interrupted (-1: before the handler was set up)
			interrupted++
		case code == 0: // it ended before the signal
		default:
			t.Errorf("run %d: exit %d after SIGINT at %s, want 3 (interrupted) or 0 (already done)\n%s", i+1, code, delay, stderr)
		}
		if strings.Contains(stderr, "remove leftovers") {
			t.Errorf("run %d could not delete its helper:\n%s", i+1, stderr)
		}
	}
	t.Logf("%d of 20 runs were interrupted", interrupted)
	framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
}

// TestFaultDiagnoseDuringRollout runs diagnoses while the Deployment behind the Service rolls out
// (pods created, becoming ready, terminating): every run must end with exit 0 or 1 without a panic,
// with hops that agree with each other, and either healthy or a verdict that names the rollout.
func TestFaultDiagnoseDuringRollout(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	// one pod replaced at a time, each new one ready for 2s before the next step: ~10s of rollout
	manifest := strings.Replace(framework.TestserverManifest(framework.TestserverSpec{Name: "web", Replicas: 3}),
		"spec:\n  replicas: 3\n", "spec:\n  replicas: 3\n  minReadySeconds: 2\n  strategy:\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n", 1)
	if !strings.Contains(manifest, "minReadySeconds") {
		t.Fatalf("could not slow the rollout down:\n%s", manifest)
	}
	f.Apply(manifest)
	f.WaitPodsReady("app=web", 3, 2*time.Minute)
	f.Apply(diagWebService)
	diagWaitEndpoints(f, "web", 3)

	deployments := f.Client.AppsV1().Deployments(f.Namespace)
	rolledOut := func(ctx context.Context) bool {
		d, err := deployments.Get(ctx, "web", metav1.GetOptions{})
		return err == nil && deploymentComplete(d)
	}
	// what `kubectl rollout restart deployment/web` does
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339Nano))
	if _, err := deployments.Patch(f.Ctx, "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	during := 0
	for run := 1; run <= 30; run++ {
		if rolledOut(f.Ctx) {
			break
		}
		during++
		rep, res := diagRun(t, f, "svc/web", "--check-timeout", "2s")
		checkConsistent(t, run, rep, res)
	}
	f.WaitFor("the rollout to complete", 2*time.Minute, func(ctx context.Context) (bool, error) { return rolledOut(ctx), nil })
	if during < 2 {
		t.Errorf("only %d diagnoses ran during the rollout, want at least 2 (the rollout was too quick)", during)
	}
	t.Logf("%d diagnoses ran during the rollout", during)
	// afterwards: healthy
	diagWaitEndpoints(f, "web", 3)
	rep, res := diagRun(t, f, "svc/web")
	if res.ExitCode != 0 || rep.Verdict.Kind != report.VerdictHealthy {
		t.Errorf("after the rollout: exit %d, verdict %+v, want healthy\n%s", res.ExitCode, rep.Verdict, diagDump(rep))
	}
	diagNoHelperLeft(t, f)
}

func deploymentComplete(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want
}

// checkConsistent asserts that one diagnosis made during a rollout is consistent: exit 0 or 1, a
// verdict that agrees with the exit code and with its hops, and a fault only when it names the
// rollout.
func checkConsistent(t *testing.T, run int, rep report.DiagnoseReport, res framework.Result) {
	t.Helper()
	dump := diagDump(rep)
	if strings.Contains(res.Stderr, "panic") {
		t.Errorf("run %d panicked:\n%s", run, res.Stderr)
	}
	var firstFail *report.HopReport
	for i := range rep.Hops {
		if rep.Hops[i].Status == trace.Fail {
			firstFail = &rep.Hops[i]
			break
		}
	}
	switch {
	case res.ExitCode == 0 && rep.Verdict.Kind == report.VerdictHealthy:
		if firstFail != nil {
			t.Errorf("run %d: healthy verdict, but hop %s failed: %s\n%s", run, firstFail.ID, firstFail.Summary, dump)
		}
	case res.ExitCode == 1 && rep.Verdict.Kind == report.VerdictFault:
		if firstFail == nil || firstFail.ID != rep.Verdict.Hop {
			t.Errorf("run %d: fault in hop %s, but the first failing hop is %+v\n%s", run, rep.Verdict.Hop, firstFail, dump)
		}
		text := strings.ToLower(rep.Verdict.RootCause + " " + rep.Verdict.Fix)
		if !strings.Contains(text, "rollout") && !strings.Contains(text, "rolling") {
			t.Errorf("run %d: a fault during a rollout that does not name it: %s\n%s", run, rep.Verdict.RootCause, dump)
		}
	default:
		t.Errorf("run %d: exit %d with verdict %s, want 0 and healthy or 1 and a fault\n%s\nstderr:\n%s", run, res.ExitCode, rep.Verdict.Kind, dump, res.Stderr)
	}
	// the hops agree: endpoints and connectivity are judged on the same pods the readiness hop saw
	if h := diagHop(rep, servicetrace.HopReadiness); h.Status == trace.Pass {
		if c := diagHop(rep, servicetrace.HopConnectivity); c.Status == trace.Fail && strings.Contains(c.Summary, "not ready") {
			t.Errorf("run %d: readiness passed but connectivity says a pod is not ready: %s\n%s", run, c.Summary, dump)
		}
	}
	if b, err := json.Marshal(rep.Verdict); err == nil {
		t.Logf("run %d during the rollout: exit %d, verdict %s", run, res.ExitCode, b)
	}
}
