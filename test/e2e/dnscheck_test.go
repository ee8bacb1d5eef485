package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
	"github.com/svc-doctor/svc-doctor/trace"
)

// TestDNSCheck resolves a Service from a helper pod, then from two client pods: one created before
// the Service (no WEB_SERVICE_* variables: "works by DNS, not by environment variable") and one
// created after it.
func TestDNSCheck(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	early := f.ClientPod("early")
	time.Sleep(1100 * time.Millisecond) // creation timestamps have a resolution of one second
	f.Apply(diagWebService)
	late := f.ClientPod("late")

	run := func(extra ...string) (report.DNSCheckReport, framework.Result) {
		t.Helper()
		args := append([]string{"dnscheck", "web", "-n", f.Namespace, "-o", "json"}, diagHelperFlags()...)
		res := f.SvcDoctor(append(args, extra...)...)
		var rep report.DNSCheckReport
		if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
			t.Fatalf("exit %d: %v\n%s\n%s", res.ExitCode, err, res.Stdout, res.Stderr)
		}
		return rep, res
	}
	rep, res := run()
	if res.ExitCode != 0 || rep.DNS == nil || rep.Verdict.Kind != report.VerdictHealthy {
		t.Fatalf("exit %d, verdict %+v\n%s", res.ExitCode, rep.Verdict, res.Stdout)
	}
	ip := f.ServiceIP("web")
	fqdnOK := false
	for _, q := range rep.DNS.Queries {
		if q.Purpose == "FQDN" && q.Status == trace.Pass && strings.Join(q.Got, ",") == ip && strings.Join(q.Expected, ",") == ip {
			fqdnOK = true
		}
	}
	if !fqdnOK || rep.DNS.Domain != "cluster.local" || rep.DNS.ResolvConf == nil || rep.DNS.ResolvConf.Ndots != 5 {
		t.Errorf("DNS report: %+v", rep.DNS)
	}

	rep, res = run("--from", "pod/"+early)
	if res.ExitCode != 0 || rep.Env == nil || rep.Env.Expected || !strings.Contains(rep.Env.Explanation, "works by DNS") {
		t.Fatalf("from the early pod: exit %d, env %+v\n%s", res.ExitCode, rep.Env, res.Stderr)
	}
	t.Logf("early pod: %s; observed %v %s", rep.Env.Explanation, rep.Env.Observed, rep.Env.ObservedError)
	if len(rep.Env.Observed) != 0 {
		t.Errorf("the early pod's container has %v, want no WEB_SERVICE_* variables", rep.Env.Observed)
	}
	rep, res = run("--from", "pod/"+late)
	if res.ExitCode != 0 || rep.Env == nil || !rep.Env.Expected || !strings.Contains(rep.Env.Explanation, "WEB_SERVICE_HOST="+ip) {
		t.Fatalf("from the late pod: exit %d, env %+v", res.ExitCode, rep.Env)
	}
	t.Logf("late pod: %s; observed %v %s", rep.Env.Explanation, rep.Env.Observed, rep.Env.ObservedError)
	if rep.Env.Observed != nil && !strings.Contains(strings.Join(rep.Env.Observed, " "), "WEB_SERVICE_HOST="+ip) {
		t.Errorf("the late pod's container has %v, want WEB_SERVICE_HOST=%s", rep.Env.Observed, ip)
	}
	// the table form
	table := f.SvcDoctor(append([]string{"dnscheck", "web", "-n", f.Namespace}, diagHelperFlags()...)...)
	if table.ExitCode != 0 || !strings.Contains(table.Stdout, "EXPECTED") {
		t.Errorf("table: exit %d\n%s", table.ExitCode, table.Stdout)
	}
	t.Logf("table:\n%s", table.Stdout)
	diagNoHelperLeft(t, f)
}
