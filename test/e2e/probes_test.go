package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
)

// TestProbes reviews a Deployment whose readiness probe always fails, then runs the probe now
// from a helper pod.
func TestProbes(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.Apply(diagFailingProbe(framework.TestserverSpec{Name: "web", Replicas: 2}))
	diagWaitProbeEvent(f, "web")
	run := func(extra ...string) (report.ProbesReport, framework.Result) {
		t.Helper()
		args := append([]string{"probes", "deploy/web", "-n", f.Namespace, "-o", "json"}, diagHelperFlags()...)
		res := f.SvcDoctor(append(args, extra...)...)
		var rep report.ProbesReport
		if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
			t.Fatalf("exit %d: %v\n%s\n%s", res.ExitCode, err, res.Stdout, res.Stderr)
		}
		return rep, res
	}
	rep, res := run()
	if res.ExitCode != 1 || rep.Verdict.Kind != report.VerdictFault || len(rep.Pods) != 2 {
		t.Fatalf("exit %d, verdict %+v, %d pods", res.ExitCode, rep.Verdict, len(rep.Pods))
	}
	if !strings.Contains(rep.Verdict.RootCause, "HTTP probe failed with statuscode: 503") {
		t.Errorf("root cause %q does not quote the probe failure", rep.Verdict.RootCause)
	}
	if len(rep.Probes) == 0 || rep.Probes[0].Handler != "httpGet http://:8080/status/503" {
		t.Errorf("probes: %+v", rep.Probes)
	}
	rep, res = run("--run")
	if res.ExitCode != 1 || len(rep.Runs) != 2 {
		t.Fatalf("--run: exit %d, runs %+v\n%s", res.ExitCode, rep.Runs, res.Stderr)
	}
	for _, r := range rep.Runs {
		if r.OK || r.Failure != "http-status" || !strings.HasPrefix(r.Detail, "HTTP 503") {
			t.Errorf("run %+v: want an HTTP 503 failure", r)
		}
	}
	table := f.SvcDoctor(append([]string{"probes", "deploy/web", "-n", f.Namespace, "--run"}, diagHelperFlags()...)...)
	t.Logf("table:\n%s", table.Stdout)
	if !strings.Contains(table.Stdout, "READINESS PROBES RUN NOW") {
		t.Errorf("table output lacks the run section")
	}
	diagNoHelperLeft(t, f)
}
