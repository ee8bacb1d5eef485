package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/servicetrace"
)

// The tests in this file are the live scenarios of issue 14 (diagnostic accuracy, round 2): each
// sets up a failure class on the real cluster and asserts what svc-doctor says about it. Each one
// fails against the release before it (named in its comment).

// accContains fails the test when s lacks any of parts.
func accContains(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s lacks %q:\n%s", what, p, s)
		}
	}
}

// accLint lints manifest (written to a file) offline with extra flags.
func accLint(t *testing.T, f *framework.F, manifest string, extra ...string) framework.Result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "input.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	res := f.SvcDoctor(append([]string{"lint", "-f", path}, extra...)...)
	t.Logf("lint: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	return res
}

// TestAccuracyLivenessKills: a Deployment whose liveness probe answers 500 is restarted again and
// again by the kubelet while its readiness probe passes between the kills. Before: diagnose said
// HEALTHY while the pods happened to be ready (the restarts were a detail line), or blamed a
// crash loop with "read the logs"; probes showed only readiness failures.
func TestAccuracyLivenessKills(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	m := framework.TestserverManifest(framework.TestserverSpec{Name: "web", Replicas: 2})
	m = strings.Replace(m, "          successThreshold: 1", `          successThreshold: 1
        livenessProbe:
          httpGet: {path: /status/500, port: 8080}
          initialDelaySeconds: 2
          periodSeconds: 2
          failureThreshold: 2`, 1)
	f.Apply(m)
	f.Apply(diagWebService)
	// every pod was killed at least once by its liveness probe
	f.WaitFor("a liveness kill and a restart of every pod of web", 3*time.Minute, func(ctx context.Context) (bool, error) {
		pods := f.Pods("app=web")
		if len(pods) != 2 {
			return false, nil
		}
		killed, err := podsWithEvent(ctx, f, "Killing", "failed liveness probe")
		if err != nil {
			return false, err
		}
		for _, p := range pods {
			if !killed[p.Name] || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].RestartCount == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	rep, res := diagRun(t, f, "svc/web")
	diagExpectFault(t, rep, res, servicetrace.HopReadiness, "container testserver is killed by its liveness probe (httpGet http://:8080/status/500)",
		"Liveness probe failed: HTTP probe failed with statuscode: 500")
	accContains(t, "fix", rep.Verdict.Fix, "fix the liveness probe of container testserver in deployment/web, not its readiness probe")
	if h := diagHop(rep, servicetrace.HopReadiness); strings.Contains(h.Summary, "pods ready, but") && !strings.Contains(rep.Verdict.RootCause, "so the Service flaps") {
		t.Errorf("pods ready now but restarting: the root cause %q does not say the Service flaps", rep.Verdict.RootCause)
	}
	// probes shows the liveness failures and the restarts
	args := append([]string{"probes", "deploy/web", "-n", f.Namespace, "-o", "json"}, diagHelperFlags()...)
	pres := f.SvcDoctor(args...)
	var prep report.ProbesReport
	if err := json.Unmarshal([]byte(pres.Stdout), &prep); err != nil {
		t.Fatalf("probes: exit %d: %v\n%s\n%s", pres.ExitCode, err, pres.Stdout, pres.Stderr)
	}
	if pres.ExitCode != 1 || prep.Verdict.Kind != report.VerdictFault || !strings.Contains(prep.Verdict.RootCause, "killed by its liveness probe") {
		t.Errorf("probes: exit %d, verdict %+v; want a fault naming the liveness probe", pres.ExitCode, prep.Verdict)
	}
	for _, p := range prep.Pods {
		if !strings.Contains(p.LastLivenessFailure, "Liveness probe failed: HTTP probe failed with statuscode: 500") || p.Restarts == 0 {
			t.Errorf("probes: pod %s: last liveness failure %q, %d restarts; want the 500 and the restarts", p.Name, p.LastLivenessFailure, p.Restarts)
		}
	}
	table := f.SvcDoctor("probes", "deploy/web", "-n", f.Namespace)
	accContains(t, "probes table", table.Stdout, "LAST PROBE FAILURES", "Liveness probe failed")
	diagNoHelperLeft(t, f)
}

const accStatefulSet = `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: http, port: 8080, targetPort: http}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: testserver
        image: %s
        imagePullPolicy: Never
        args: ["serve"]
        env:
        - {name: PORTS, value: "8080"}
        ports:
        - {name: http, containerPort: 8080, protocol: TCP}
        readinessProbe:
          httpGet: {path: /status/503, port: 8080}
          periodSeconds: 1
          failureThreshold: 1
`

// TestAccuracyStatefulSetOrderedReady: a StatefulSet of 3 behind its headless Service whose db-0
// never becomes ready, so OrderedReady never creates db-1 and db-2. Before: diagnose said only
// "none of the 1 selected pods is ready" (neither the missing ordinals nor DNS), and lint did not
// know the governing-Service and tolerate-unready rules.
func TestAccuracyStatefulSetOrderedReady(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.Apply(fmt.Sprintf(accStatefulSet, framework.TestserverImage))
	diagWaitProbeEvent(f, "db")
	// OrderedReady: once the controller has seen db-0 not ready (its status says 1 pod, none
	// ready, for the current generation), it does not create db-1
	f.WaitFor("statefulset/db to report db-0 not ready", 2*time.Minute, func(ctx context.Context) (bool, error) {
		s, err := f.Client.AppsV1().StatefulSets(f.Namespace).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return s.Status.ObservedGeneration >= s.Generation && s.Status.Replicas >= 1 && s.Status.ReadyReplicas == 0, nil
	})
	if pods := f.Pods("app=db"); len(pods) != 1 {
		t.Fatalf("%d pods of statefulset/db, want only db-0 (OrderedReady waits for it)", len(pods))
	}
	rep, res := diagRun(t, f, "svc/db")
	diagExpectFault(t, rep, res, servicetrace.HopReadiness,
		"statefulset/db has only 1 of its 3 pods, because podManagementPolicy OrderedReady waits for db-0 to be ready before it creates db-1",
		"the headless service/db publishes only ready pods in DNS")
	accContains(t, "fix", rep.Verdict.Fix, `patch service db -p '{"spec":{"publishNotReadyAddresses":true}}'`, "podManagementPolicy: Parallel")

	// the fix for peers that must find each other before they are ready: publish them
	f.Apply(strings.Replace(strings.SplitN(fmt.Sprintf(accStatefulSet, framework.TestserverImage), "---", 2)[0], "clusterIP: None", "clusterIP: None\n  publishNotReadyAddresses: true", 1))
	diagWaitEndpoints(f, "db", 1)
	rep, _ = diagRun(t, f, "svc/db")
	if h := diagHop(rep, servicetrace.HopReadiness); h.Status != trace.Warn || !strings.Contains(h.Summary, "publishNotReadyAddresses is set: they still get traffic") {
		t.Errorf("readiness after publishNotReadyAddresses = %s %q, want a warning that they still get traffic\n%s", h.Status, h.Summary, diagDump(rep))
	}
	if rep.Verdict.Hop == servicetrace.HopReadiness {
		t.Errorf("verdict still in hop readiness after publishNotReadyAddresses: %+v", rep.Verdict)
	}
	diagNoHelperLeft(t, f)

	// lint: a misspelt or non-headless governing Service, and the removed annotation
	lint := accLint(t, f, `apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: data
  annotations:
    service.alpha.kubernetes.io/tolerate-unready-endpoints: "true"
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: data}
spec:
  serviceName: db-headless
  replicas: 3
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: db
        image: postgres:16.4
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          tcpSocket: {port: http}
`, "--fail-on", "warning")
	if lint.ExitCode != 1 {
		t.Errorf("lint --fail-on warning: exit %d, want 1", lint.ExitCode)
	}
	accContains(t, "lint output", lint.Stdout, "statefulset-service-name", "serviceName db-headless names no Service in namespace data",
		"service-tolerate-unready-annotation", "set spec.publishNotReadyAddresses: true instead")
}

// TestAccuracyDeclaredPorts: declared container ports are evidence, judged the same by lint,
// diagnose and expose. Before: the ports hop passed a numeric targetPort no container declares,
// expose refused it as an error (lint said info), and a named targetPort that only a sidecar
// declares passed unnoticed.
func TestAccuracyDeclaredPorts(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(strings.Replace(diagWebService, "targetPort: http", "targetPort: 9090", 1))
	diagWaitEndpoints(f, "web", 1)
	rep, res := diagRun(t, f, "svc/web")
	diagExpectFault(t, rep, res, servicetrace.HopConnectivity, "does not listen on targetPort 9090")
	if h := diagHop(rep, servicetrace.HopPorts); h.Status != trace.Warn || !strings.Contains(h.Summary, "no container declares 9090 (declared: http 8080/TCP): declarations are informational") {
		t.Errorf("ports hop = %s %q, want the warning of the declared-ports policy", h.Status, h.Summary)
	}
	accContains(t, "service hop evidence", strings.Join(diagHop(rep, servicetrace.HopService).Evidence, "\n"), "lint warning service-target-port-undeclared")

	// expose agrees: a warning, and the Service is created
	ex := f.SvcDoctor("expose", "deploy/web", "-n", f.Namespace, "--name", "web-alt", "--port", "80:9090", "--wait=30s")
	if ex.ExitCode != 0 {
		t.Errorf("expose --port 80:9090: exit %d, want 0 (a warning, not a refusal)\n%s", ex.ExitCode, ex.Stderr)
	}
	accContains(t, "expose stderr", ex.Stderr, "warning: service/web-alt spec.ports[0].targetPort: targetPort 9090", "declarations are informational", "[service-target-port-undeclared]")
	if _, err := f.Client.CoreV1().Services(f.Namespace).Get(f.Ctx, "web-alt", metav1.GetOptions{}); err != nil {
		t.Errorf("service/web-alt was not created: %v", err)
	}

	// a named targetPort that only the second container, without a readiness probe, declares
	f.Apply(fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 1
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: %[1]s
        imagePullPolicy: Never
        args: ["serve"]
        env: [{name: PORTS, value: "8080"}]
        ports: [{name: web, containerPort: 8080, protocol: TCP}]
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
          periodSeconds: 1
      - name: helper
        image: %[1]s
        imagePullPolicy: Never
        args: ["serve"]
        env: [{name: PORTS, value: "9000"}]
        ports: [{name: api, containerPort: 9000, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app: shop}
  ports: [{name: http, port: 80, targetPort: api}]
`, framework.TestserverImage))
	f.WaitPodsReady("app=shop", 1, 2*time.Minute)
	diagWaitEndpoints(f, "shop", 1)
	rep, _ = diagRun(t, f, "svc/shop")
	if h := diagHop(rep, servicetrace.HopPorts); h.Status != trace.Warn ||
		!strings.Contains(h.Summary, "targetPort api resolves only in container helper, which is not the one serving the application (it has no readiness probe, container app has one): the traffic goes to that sidecar") {
		t.Errorf("ports hop = %s %q, want the sidecar warning\n%s", h.Status, h.Summary, diagDump(rep))
	}
	accContains(t, "service hop evidence", strings.Join(diagHop(rep, servicetrace.HopService).Evidence, "\n"), "lint warning service-target-port-sidecar")
	diagNoHelperLeft(t, f)
}

// TestAccuracyNamespaceNearMiss: a Service whose selector matches only the workload of another
// namespace. Before: lint reported it as info when the input held no workload in the Service's
// namespace (exit 0 with --fail-on warning).
func TestAccuracyNamespaceNearMiss(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	other := framework.New(t)
	other.DeployTestserver(framework.TestserverSpec{Name: "api", Replicas: 1})
	svc := `apiVersion: v1
kind: Service
metadata: {name: api, namespace: %s}
spec:
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: http}]
`
	f.Apply(fmt.Sprintf(svc, f.Namespace))
	rep, res := diagRun(t, f, "svc/api")
	diagExpectFault(t, rep, res, servicetrace.HopSelector, "but pods in other namespaces match", "1 in "+other.Namespace)
	// the same objects, offline: a warning that names the namespace
	lint := accLint(t, f, fmt.Sprintf(svc, f.Namespace)+"---\n"+strings.Replace(framework.TestserverManifest(framework.TestserverSpec{Name: "api"}),
		"metadata:\n  name: api\n", "metadata:\n  name: api\n  namespace: "+other.Namespace+"\n", 1), "--fail-on", "warning", "--disable", "probe-timeout-exceeds-period")
	if lint.ExitCode != 1 {
		t.Errorf("lint --fail-on warning: exit %d, want 1 (a warning)", lint.ExitCode)
	}
	accContains(t, "lint output", lint.Stdout, "warning", "service-selector-no-match", "only deployment/api in namespace "+other.Namespace)
	diagNoHelperLeft(t, f)
}

// TestAccuracyManualEndpoints: hand-written EndpointSlices of a selector-less Service whose port
// names miss one Service port, then whose address names a pod that has another IP. Before: the
// endpoints hop only warned about the port name (the verdict came from connectivity, or none), and
// nothing compared a targetRef with the pod's IP.
func TestAccuracyManualEndpoints(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	ts := f.DeployTestserver(framework.TestserverSpec{Name: "backend", Replicas: 1})
	pod := ts.Pods[0]
	slice := func(ip, metricsName string) string {
		return fmt.Sprintf(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: legacy-1
  labels: {kubernetes.io/service-name: legacy}
addressType: IPv4
ports:
- {name: http, port: 8080, protocol: TCP}
- {name: %s, port: 8080, protocol: TCP}
endpoints:
- addresses: [%s]
  targetRef: {kind: Pod, name: %s, namespace: %s}
`, metricsName, ip, pod.Name, f.Namespace)
	}
	f.Apply(`apiVersion: v1
kind: Service
metadata: {name: legacy}
spec:
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: metrics, port: 9100, targetPort: 8080}
---
` + slice(pod.Status.PodIP, "metric"))
	diagWaitEndpoints(f, "legacy", 1)
	rep, res := diagRun(t, f, "svc/legacy")
	diagExpectFault(t, rep, res, servicetrace.HopEndpoints, "serve port http (80/TCP) but not port metrics (9100/TCP)", `no EndpointSlice has a port named "metrics"`)

	// the address of a pod that was recreated: the targetRef pod has another IP
	stale := diagUnusedPodIP(f)
	f.Apply(slice(stale, "metrics"))
	f.WaitFor("the slice of legacy to list "+stale, time.Minute, func(context.Context) (bool, error) {
		ready, _ := f.Endpoints("legacy")
		return len(ready) == 1 && ready[0] == stale, nil
	})
	rep, res = diagRun(t, f, "svc/legacy")
	diagExpectFault(t, rep, res, servicetrace.HopEndpoints, fmt.Sprintf("list %s for pod/%s, but that pod has IP %s now", stale, pod.Name, pod.Status.PodIP))
	accContains(t, "fix", rep.Verdict.Fix, fmt.Sprintf("replace %s with %s", stale, pod.Status.PodIP))
	live := f.SvcDoctor("lint", "--live", "-n", f.Namespace)
	accContains(t, "lint --live", live.Stdout, "endpoints-target-ref-stale", "address "+stale+" names pod/"+pod.Name)
	diagNoHelperLeft(t, f)
}

// TestAccuracyRestoreReplicas: a Deployment scaled from 3 to 0. Before: the fix said
// --replicas=1 whatever the Deployment had.
func TestAccuracyRestoreReplicas(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 3})
	f.Apply(diagWebService)
	diagWaitEndpoints(f, "web", 3)
	if _, err := f.Client.AppsV1().Deployments(f.Namespace).Patch(f.Ctx, "web", types.MergePatchType, []byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("scale deployment/web to 0: %v", err)
	}
	f.WaitFor("every pod of web to be gone", 2*time.Minute, func(context.Context) (bool, error) { return len(f.Pods("app=web")) == 0, nil })
	rep, res := diagRun(t, f, "svc/web")
	diagExpectFault(t, rep, res, servicetrace.HopSelector, "deployment/web matches the selector app=web but is scaled to 0 replicas")
	accContains(t, "fix", rep.Verdict.Fix, fmt.Sprintf("kubectl -n %s scale deployment/web --replicas=3   (the 3 replicas it had before:", f.Namespace))
	diagNoHelperLeft(t, f)
}
