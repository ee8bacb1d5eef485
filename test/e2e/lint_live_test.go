package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
)

// TestLintLiveRunningNeverPodServes checks lint --live on a running Pod with restartPolicy Never
// behind a Service (`kubectl run --restart=Never` and then exposed): it gets endpoints and serves,
// so the Service's named targetPort is checked against it and no "runs to completion" finding
// comes out (a manifest Pod with that restartPolicy would be treated as a task).
func TestLintLiveRunningNeverPodServes(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.Apply(`apiVersion: v1
kind: Pod
metadata: {name: once, labels: {app: once}}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: testserver
    image: ` + framework.TestserverImage + `
    imagePullPolicy: Never
    args: ["serve"]
    env: [{name: PORTS, value: "8080"}]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: once}
spec:
  selector: {app: once}
  ports: [{name: http, port: 80, targetPort: http}]
`)
	f.WaitPodsReady("app=once", 1, 2*time.Minute)
	res := f.SvcDoctor("lint", "--live", "-n", f.Namespace, "-o", "json", "--fail-on", "none")
	if res.ExitCode != 0 {
		t.Fatalf("lint --live: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	var rep report.LintReport
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatalf("no JSON report: %v\n%s", err, res.Stdout)
	}
	for _, fd := range rep.Findings {
		if fd.Object != nil && fd.Object.Kind == "Service" && fd.Object.Name == "once" {
			t.Errorf("finding on the Service of a running Pod: %s: %s", fd.Rule, fd.Message)
		}
		if strings.Contains(fd.Message, "runs to completion") {
			t.Errorf("a running Pod treated as a task: %s: %s", fd.Rule, fd.Message)
		}
	}
}
