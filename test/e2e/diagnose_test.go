package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/servicetrace"
)

// The tests in this file apply broken setups to the real cluster, run `kubectl svc-doctor
// diagnose` against them and assert the verdict: the hop that fails and the root cause. Every test
// also checks that no helper pod is left behind.

// diagHelperFlags are the flags every run passes: the locally imported agent image, never pulled.
func diagHelperFlags() []string {
	return []string{"--image", framework.AgentImage, "--image-pull-policy", "Never"}
}

// diagRun runs diagnose with -o json and decodes the report.
func diagRun(t *testing.T, f *framework.F, target string, extra ...string) (report.DiagnoseReport, framework.Result) {
	t.Helper()
	args := append([]string{"diagnose", target, "-n", f.Namespace, "-o", "json"}, diagHelperFlags()...)
	res := f.SvcDoctor(append(args, extra...)...)
	var rep report.DiagnoseReport
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatalf("diagnose %s: exit %d, output is not a report: %v\nstdout:\n%s\nstderr:\n%s", target, res.ExitCode, err, res.Stdout, res.Stderr)
	}
	t.Logf("diagnose %s: exit %d, verdict %+v\nstderr:\n%s", target, res.ExitCode, rep.Verdict, res.Stderr)
	return rep, res
}

func diagHop(rep report.DiagnoseReport, id string) report.HopReport {
	for _, h := range rep.Hops {
		if h.ID == id {
			return h
		}
	}
	return report.HopReport{}
}

func diagDump(rep report.DiagnoseReport) string {
	var b strings.Builder
	for _, h := range rep.Hops {
		fmt.Fprintf(&b, "%-5s %s: %s\n", h.Status, h.ID, h.Summary)
		for _, e := range h.Evidence {
			fmt.Fprintf(&b, "        %s\n", e)
		}
	}
	fmt.Fprintf(&b, "verdict: %+v\n", rep.Verdict)
	return b.String()
}

// diagExpectFault asserts a fault found in hop with a root cause containing every part.
func diagExpectFault(t *testing.T, rep report.DiagnoseReport, res framework.Result, hop string, parts ...string) {
	t.Helper()
	if res.ExitCode != 1 || rep.Verdict.Kind != report.VerdictFault || rep.Verdict.Hop != hop {
		t.Fatalf("exit %d, verdict %s in hop %q; want exit 1 and a fault in hop %s\n%s", res.ExitCode, rep.Verdict.Kind, rep.Verdict.Hop, hop, diagDump(rep))
	}
	for _, p := range parts {
		if !strings.Contains(rep.Verdict.RootCause, p) {
			t.Errorf("root cause %q does not contain %q", rep.Verdict.RootCause, p)
		}
	}
	if rep.Verdict.Fix == "" {
		t.Errorf("the verdict has no fix")
	}
}

func diagNoHelperLeft(t *testing.T, f *framework.F) {
	t.Helper()
	framework.AssertNoManagedPods(t, f.Namespace, 30*time.Second)
}

// diagRoutesToWeb are an Ingress and an HTTPRoute that send traffic to service/web (no controller
// needs to serve them: diagnose lists them).
const diagRoutesToWeb = `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: nosuch}]
  hostnames: [shop.example.com]
  rules:
  - backendRefs: [{name: web, port: 80}]
`

const diagWebService = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`

// diagFailingProbe turns the test server's readiness probe into one that always answers 503.
func diagFailingProbe(spec framework.TestserverSpec) string {
	return strings.Replace(framework.TestserverManifest(spec), "path: /ready", "path: /status/503", 1)
}

func TestDiagnoseHealthyService(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 2})
	f.Apply(diagWebService + diagRoutesToWeb)
	diagWaitEndpoints(f, "web", 2)
	rep, res := diagRun(t, f, "svc/web", "--http-path", "/")
	if res.ExitCode != 0 || rep.Verdict.Kind != report.VerdictHealthy {
		t.Fatalf("exit %d, verdict %+v; want a healthy Service\n%s", res.ExitCode, rep.Verdict, diagDump(rep))
	}
	// the routes that send traffic to it, read from the API server
	wantRoutes := []string{"ingress " + f.Namespace + "/shop spec.rules[0].http.paths[0] shop.example.com/ (Prefix) -> port http",
		"httproute " + f.Namespace + "/shop rule[0] (shop.example.com) -> port 80, weight 1"} // the API server defaults the weight
	if !slices.Equal(rep.Routes, wantRoutes) {
		t.Errorf("routes %q, want %q (note %q)", rep.Routes, wantRoutes, rep.RoutesNote)
	}
	for _, h := range rep.Hops {
		if h.Status != trace.Pass {
			t.Errorf("hop %s is %s (%s), want pass: a healthy Service comes out clean", h.ID, h.Status, h.Summary)
		}
	}
	if !strings.Contains(res.Stderr, "starting helper pod") || !strings.Contains(res.Stderr, "deleting helper pod") {
		t.Errorf("stderr does not show the helper's life:\n%s", res.Stderr)
	}
	// and the table form, with the request count
	table := f.SvcDoctor(append([]string{"diagnose", "svc/web:http", "-n", f.Namespace, "--stats"}, diagHelperFlags()...)...)
	if table.ExitCode != 0 || !strings.Contains(table.Stdout, "HEALTHY") || !strings.Contains(table.Stderr, "API requests in") {
		t.Errorf("table run: exit %d\n%s\n%s", table.ExitCode, table.Stdout, table.Stderr)
	}
	t.Logf("table output:\n%s", table.Stdout)
	diagNoHelperLeft(t, f)
}

func TestDiagnoseSelectorTypo(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 2})
	f.Apply(strings.Replace(diagWebService, "selector: {app: web}", "selector: {app: wbe}", 1) + diagRoutesToWeb)
	rep, res := diagRun(t, f, "svc/web")
	diagExpectFault(t, rep, res, servicetrace.HopSelector, "selector app=wbe matches no pod", "deployment/web differ by one label (has app=web)")
	if len(rep.Routes) != 0 || rep.RoutesNote != "" {
		t.Errorf("routes %q (note %q) of a Service that fails: they are looked for once it works", rep.Routes, rep.RoutesNote)
	}
	if !strings.Contains(rep.Verdict.Fix, `"selector":{"app":"web"}`) {
		t.Errorf("fix %q does not propose the selector", rep.Verdict.Fix)
	}
	if strings.Contains(res.Stderr, "starting helper pod") {
		t.Errorf("a helper pod was started although a static hop found the cause:\n%s", res.Stderr)
	}
	diagNoHelperLeft(t, f)
}

func TestDiagnoseReadinessProbeFails(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.Apply(diagFailingProbe(framework.TestserverSpec{Name: "web", Replicas: 2}))
	f.Apply(diagWebService)
	diagWaitProbeEvent(f, "web")
	rep, res := diagRun(t, f, "svc/web")
	diagExpectFault(t, rep, res, servicetrace.HopReadiness, "none of the 2 selected pods is ready", "Readiness probe failed: HTTP probe failed with statuscode: 503")
	if h := diagHop(rep, servicetrace.HopEndpoints); h.Status != trace.Skip || !strings.Contains(h.Summary, "(hop readiness)") {
		t.Errorf("endpoints hop = %s %q, want skipped because of hop readiness", h.Status, h.Summary)
	}
	diagNoHelperLeft(t, f)
}

func TestDiagnoseAppNotListeningOnTargetPort(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 2})
	f.Apply(strings.Replace(diagWebService, "targetPort: http", "targetPort: 9090", 1))
	diagWaitEndpoints(f, "web", 2)
	rep, res := diagRun(t, f, "svc/web")
	diagExpectFault(t, rep, res, servicetrace.HopConnectivity, "the application does not listen on targetPort 9090", "refuse connections on port 9090/TCP")
	if !strings.Contains(rep.Verdict.Fix, `"value":"http"`) {
		t.Errorf("fix %q does not propose the declared port", rep.Verdict.Fix)
	}
	diagNoHelperLeft(t, f)
}

func TestDiagnoseNamedTargetPortMissing(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(strings.Replace(diagWebService, "targetPort: http", "targetPort: web", 1))
	rep, res := diagRun(t, f, "svc/web")
	diagExpectFault(t, rep, res, servicetrace.HopPorts, "targetPort web of service/web port http (80/TCP) matches no container port", `no container declares a port named "web"`)
	diagNoHelperLeft(t, f)
}

func TestDiagnosePodsInAnotherNamespace(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	other := framework.New(t)
	other.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(diagWebService)
	rep, res := diagRun(t, f, "svc/web")
	diagExpectFault(t, rep, res, servicetrace.HopSelector, "but pods in other namespaces match", "a Service only selects pods of its own namespace")
	// other tests' namespaces may have app=web pods too: the evidence names every namespace
	if ev := strings.Join(diagHop(rep, servicetrace.HopSelector).Evidence, "\n"); !strings.Contains(ev, "1 pod in namespace "+other.Namespace+" matches the selector") {
		t.Errorf("selector evidence does not name namespace %s:\n%s", other.Namespace, ev)
	}
	diagNoHelperLeft(t, f)
}

func TestDiagnoseHeadlessWithoutReadyPods(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.Apply(diagFailingProbe(framework.TestserverSpec{Name: "db", Replicas: 2}))
	f.Apply(`apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: http, port: 8080, targetPort: http}]
`)
	diagWaitProbeEvent(f, "db")
	rep, res := diagRun(t, f, "svc/db")
	diagExpectFault(t, rep, res, servicetrace.HopReadiness, "none of the 2 selected pods is ready", "statuscode: 503")
	if h := diagHop(rep, servicetrace.HopDNS); h.Status != trace.Skip {
		t.Errorf("dns hop = %s %q: a headless name without ready pods has nothing to resolve", h.Status, h.Summary)
	}
	diagNoHelperLeft(t, f)
}

func TestDiagnoseExternalNameDoesNotResolve(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.Apply(`apiVersion: v1
kind: Service
metadata: {name: payments}
spec:
  type: ExternalName
  externalName: payments.example.invalid
`)
	rep, res := diagRun(t, f, "svc/payments")
	diagExpectFault(t, rep, res, servicetrace.HopDNS, "service/payments is a CNAME to payments.example.invalid, which does not resolve from inside the cluster")
	// the CNAME itself is served
	dns := diagHop(rep, servicetrace.HopDNS)
	if !strings.Contains(strings.Join(dns.Evidence, "\n"), "CNAME payments."+f.Namespace+".svc.cluster.local. (FQDN): got payments.example.invalid.") {
		t.Errorf("dns evidence does not show the CNAME:\n%s", strings.Join(dns.Evidence, "\n"))
	}
	diagNoHelperLeft(t, f)
}

func TestDiagnoseStaleManualEndpoints(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	// an address in the pod CIDR that no pod has: stale
	stale := diagUnusedPodIP(f)
	f.Apply(`apiVersion: v1
kind: Service
metadata: {name: legacy}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: legacy-1
  labels: {kubernetes.io/service-name: legacy}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: ["` + stale + `"]
`)
	rep, res := diagRun(t, f, "svc/legacy")
	diagExpectFault(t, rep, res, servicetrace.HopConnectivity, "stale endpoint addresses", stale+":8080")
	diagNoHelperLeft(t, f)
}

func TestDiagnoseNetworkPolicyDenies(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(diagWebService + denyWebPolicy)
	diagWaitEndpoints(f, "web", 1)
	rep, res := diagRun(t, f, "svc/web")
	diagExpectFault(t, rep, res, servicetrace.HopConnectivity, "NetworkPolicy: networkpolicy/deny-web selects the backend pods and admits nothing")
	diagNoHelperLeft(t, f)
}

// TestDiagnoseNamespaceSelectorByName: a NetworkPolicy that admits clients by the name of their
// namespace (kubernetes.io/metadata.name, which the API server sets) is judged without reading the
// namespace: from the helper in the admitted namespace the Service works, and once the policy names
// another namespace the connections from it time out and the policy is the cause.
func TestDiagnoseNamespaceSelectorByName(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	policy := func(ns string) string {
		return webIngressPolicy("from-namespace", "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "+ns+"}}}")
	}
	f.Apply(diagWebService + policy(f.Namespace))
	diagWaitEndpoints(f, "web", 1)
	rep, res := diagRun(t, f, "svc/web", "-v=6")
	if res.ExitCode != 0 || rep.Verdict.Kind != report.VerdictHealthy {
		t.Fatalf("admitted by its namespace's name: exit %d, verdict %+v\n%s", res.ExitCode, rep.Verdict, diagDump(rep))
	}
	// -v=6 logs every request: the Service's GET is there, the namespace's is not
	nsURL := "/api/v1/namespaces/" + f.Namespace
	if !strings.Contains(res.Stderr, nsURL+"/services/web") {
		t.Fatalf("-v=6 did not log the requests (no GET of the Service):\n%s", res.Stderr)
	}
	if strings.Contains(res.Stderr, nsURL+`"`) || strings.Contains(res.Stderr, nsURL+" ") {
		t.Errorf("the namespace was read although the policy only selects namespaces by name")
	}
	f.Apply(policy("elsewhere"))
	rep, res = diagRun(t, f, "svc/web")
	diagExpectFault(t, rep, res, servicetrace.HopConnectivity, "networkpolicy/from-namespace selects the backend pods and does not admit it")
	diagNoHelperLeft(t, f)
}

// TestDiagnoseFromClientPod tests from a client's position: a policy admits only pods labelled
// access=web. From that client the Service works; from the helper pod it does not.
func TestDiagnoseFromClientPod(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(diagWebService + webIngressPolicy("web-clients", "{podSelector: {matchLabels: {access: web}}}"))
	client := f.ClientPod("client", "access=web")
	diagWaitEndpoints(f, "web", 1)
	rep, res := diagRun(t, f, "svc/web", "--from", "pod/"+client)
	if res.ExitCode != 0 || rep.Verdict.Kind != report.VerdictHealthy || !strings.Contains(rep.From, "ephemeral container") {
		t.Fatalf("from the admitted client: exit %d, verdict %+v, from %q\n%s", res.ExitCode, rep.Verdict, rep.From, diagDump(rep))
	}
	if !strings.Contains(res.Stderr, "It leaves behind: a terminated ephemeral container") {
		t.Errorf("--from did not say what it leaves behind:\n%s", res.Stderr)
	}
	rep, res = diagRun(t, f, "svc/web")
	diagExpectFault(t, rep, res, servicetrace.HopConnectivity, "networkpolicy/web-clients selects the backend pods and does not admit it")
	diagNoHelperLeft(t, f)
}

func TestDiagnoseNodePortLocal(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(`apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`)
	diagWaitEndpoints(f, "web", 1)
	rep, res := diagRun(t, f, "svc/web")
	// the one endpoint runs on one node: only that node answers from outside. On one node that is
	// healthy; with more, the per-node checks name the nodes that drop outside traffic by design
	// (TestMultiNodeDiagnoseTrafficPolicyLocal checks that verdict in detail)
	if len(f.Cluster.Nodes) == 1 {
		if res.ExitCode != 0 || rep.Verdict.Kind != report.VerdictHealthy {
			t.Fatalf("exit %d, verdict %+v\n%s", res.ExitCode, rep.Verdict, diagDump(rep))
		}
	} else {
		diagExpectFault(t, rep, res, servicetrace.HopNodes, "externalTrafficPolicy Local", "drop traffic from outside the cluster by design")
	}
	pods := f.Pods("app=web")
	if len(pods) != 1 {
		t.Fatalf("%d pods of web, want 1", len(pods))
	}
	podNode := ""
	for _, n := range f.Cluster.Nodes {
		if n.Name == pods[0].Spec.NodeName {
			podNode = n.IP
		}
	}
	nodes := len(f.Cluster.Nodes)
	exp := diagHop(rep, servicetrace.HopExposure)
	ev := strings.Join(exp.Evidence, "\n")
	for _, want := range []string{"externalTrafficPolicy: Local", "1 local ready endpoint: answers from outside",
		fmt.Sprintf("(InternalIP %s)", podNode)} {
		if !strings.Contains(ev, want) {
			t.Errorf("exposure evidence does not contain %q:\n%s", want, ev)
		}
	}
	// which node checks answer depends on where the helper runs: its own node's kube-proxy treats
	// traffic from a local pod as cluster traffic (it answers even without a local endpoint), any
	// other node without a local endpoint drops it
	m := regexp.MustCompile(`is running on node (\S+),`).FindStringSubmatch(res.Stderr)
	if m == nil {
		t.Fatalf("stderr does not say where the helper runs:\n%s", res.Stderr)
	}
	answer := 1
	if m[1] != pods[0].Spec.NodeName {
		answer++
	}
	want := fmt.Sprintf("externalTrafficPolicy Local: 1/%d nodes have a local ready endpoint): %d/%d node checks answer", nodes, answer, nodes)
	if exp.Status != trace.Pass || !strings.Contains(exp.Summary, want) {
		t.Errorf("exposure = %s %q, want pass with %q", exp.Status, exp.Summary, want)
	}
	diagNoHelperLeft(t, f)
}

// TestDiagnoseCoreDNSDown scales CoreDNS to zero (alone: it breaks DNS for the whole cluster) and
// always restores it, waiting until pods resolve names again.
func TestDiagnoseCoreDNSDown(t *testing.T) {
	t.Parallel()
	f := framework.NewDisruptive(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(diagWebService)
	diagWaitEndpoints(f, "web", 1)
	// one DNS probe pod per node: after the restore, every node's kube-proxy must send DNS to the new
	// CoreDNS pod before other tests run (a probe on one node says nothing about the other's)
	var probes []string
	for i, n := range f.Cluster.Nodes {
		probes = append(probes, f.ClientPodOn(fmt.Sprintf("dns-probe-%d", i+1), n.Name))
	}
	deps := f.Client.AppsV1().Deployments("kube-system")
	d, err := deps.Get(f.Ctx, "coredns", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get kube-system/coredns: %v", err)
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil && *d.Spec.Replicas > 0 {
		replicas = *d.Spec.Replicas
	}
	scale := func(n int32) error {
		patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
		_, err := deps.Patch(context.Background(), "coredns", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	}
	t.Cleanup(func() {
		if err := scale(replicas); err != nil {
			t.Errorf("restoring kube-system/coredns to %d replicas: %v", replicas, err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		for ctx.Err() == nil {
			d, err := deps.Get(ctx, "coredns", metav1.GetOptions{})
			if err == nil && d.Status.AvailableReplicas >= replicas && d.Status.ObservedGeneration >= d.Generation && diagDNSReady(ctx, f) {
				break
			}
			time.Sleep(time.Second)
		}
		if ctx.Err() != nil {
			t.Errorf("kube-system/coredns did not become available again within 3 minutes")
			return
		}
		// and answers pods on every node again before other tests run: the kube-proxy of each node has
		// programmed the new endpoint. Asked the way svc-doctor's helper asks (one UDP query, no retry),
		// three times in a row from each node.
		start := time.Now()
		for _, p := range probes {
			ok := 0
			for ctx.Err() == nil && ok < 3 {
				if _, err := f.InPod(p, "lookup", "-attempts", "1", "-timeout", "2s", "kubernetes.default.svc.cluster.local."); err != nil {
					ok = 0
					time.Sleep(500 * time.Millisecond)
					continue
				}
				ok++
			}
		}
		if ctx.Err() != nil {
			t.Errorf("cluster DNS did not answer every node again within 3 minutes of restoring kube-system/coredns")
			return
		}
		t.Logf("kube-system/coredns restored and answering pods on %d nodes (%s after the Deployment was available)", len(probes), time.Since(start).Round(100*time.Millisecond))
	})
	if err := scale(0); err != nil {
		t.Fatalf("scale kube-system/coredns to 0: %v", err)
	}
	// wait until no CoreDNS pod is left: a terminating one still serves (kube-proxy falls back to
	// serving-terminating endpoints when no endpoint is ready)
	f.WaitFor("every CoreDNS pod to be gone", 2*time.Minute, func(ctx context.Context) (bool, error) {
		pods, err := f.Client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
		if err != nil {
			return false, err
		}
		return len(pods.Items) == 0 && !diagDNSReady(ctx, f), nil
	})
	rep, res := diagRun(t, f, "svc/web")
	diagExpectFault(t, rep, res, servicetrace.HopDNS, "cluster DNS does not answer", "CoreDNS is down")
	// back to the replicas it had (from the deployment controller's scaling event), not a constant
	if want := fmt.Sprintf("kubectl -n kube-system scale deployment/coredns --replicas=%d   (the %d", replicas, replicas); !strings.Contains(rep.Verdict.Fix, want) {
		t.Errorf("fix %q does not scale CoreDNS back to the %d replicas it had (%q)", rep.Verdict.Fix, replicas, want)
	}
	// traffic by IP still works: the connectivity hop passes
	if h := diagHop(rep, servicetrace.HopConnectivity); h.Status != trace.Pass {
		t.Errorf("connectivity = %s %q, want pass (only DNS is down)", h.Status, h.Summary)
	}
	diagNoHelperLeft(t, f)
}

func diagDNSReady(ctx context.Context, f *framework.F) bool {
	l, err := f.Client.DiscoveryV1().EndpointSlices("kube-system").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=kube-dns"})
	if err != nil {
		return false
	}
	for _, s := range l.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				return true
			}
		}
	}
	return false
}

// TestDiagnoseInterruptDeletesHelper sends SIGINT while the connectivity hop waits for answers
// that never come, and checks that the helper pod is deleted.
func TestDiagnoseInterruptDeletesHelper(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(diagWebService + denyWebPolicy)
	diagWaitEndpoints(f, "web", 1)
	// -v=6 logs every request: the exec that runs the agent's checks shows when they have started
	args := append([]string{"diagnose", "svc/web", "-n", f.Namespace, "--check-timeout", "25s", "-v=6"}, diagHelperFlags()...)
	run := startSvcDoctor(t, f, args...)
	// the helper runs and the agent is busy with the checks (the connectivity ones wait for 25s)
	run.waitStderr(t, "the exec of the agent's checks", execStarted, 2*time.Minute)
	pods := f.Pods(framework.ManagedByLabel)
	if len(pods) != 1 {
		t.Errorf("want exactly one helper pod mid-run, found %d", len(pods))
	}
	t.Logf("%s: sending SIGINT to pid %d", time.Now().Format("15:04:05.000"), run.cmd.Process.Pid)
	run.signal(t, syscall.SIGINT)
	code := run.wait(t, time.Minute)
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", code, run.stdout, run.stderr)
	if code != 3 || !strings.Contains(run.stderr.String(), "interrupted") || !strings.Contains(run.stderr.String(), "deleting helper pod") {
		t.Errorf("after SIGINT: exit %d, want 3 with an interrupted report and the helper deleted", code)
	}
	framework.AssertNoManagedPods(t, f.Namespace, 20*time.Second)
}

func TestDiagnoseKeepHelperAndCleanup(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(diagWebService)
	diagWaitEndpoints(f, "web", 1)
	_, first := diagRun(t, f, "svc/web", "--keep-helper")
	_, second := diagRun(t, f, "svc/web", "--keep-helper")
	if first.ExitCode != 0 || second.ExitCode != 0 || !strings.Contains(second.Stderr, "reusing helper pod") {
		t.Fatalf("exits %d %d; the second run must reuse the kept helper:\n%s", first.ExitCode, second.ExitCode, second.Stderr)
	}
	if n := len(f.Pods(framework.ManagedByLabel)); n != 1 {
		t.Errorf("%d helper pods after two --keep-helper runs, want 1", n)
	}
	res := f.SvcDoctor("cleanup", "-n", f.Namespace)
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "deleted") {
		t.Errorf("cleanup: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	diagNoHelperLeft(t, f)
}

func TestDiagnoseAllNamespacesSummary(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(diagWebService + `---
apiVersion: v1
kind: Service
metadata: {name: typo}
spec:
  selector: {app: wbe}
  ports: [{port: 80}]
`)
	diagWaitEndpoints(f, "web", 1)
	// --static: the static hops only, no helper pod
	res := f.SvcDoctor("diagnose", "-A", "-n", f.Namespace, "--static")
	if res.ExitCode != 1 || !strings.Contains(res.Stdout, "static hops only") {
		t.Fatalf("exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	var faultTypo, healthyWeb bool
	for _, line := range strings.Split(res.Stdout, "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == "FAULT" && fields[1] == "typo" {
			faultTypo = true
		}
		if len(fields) >= 2 && fields[0] == "HEALTHY" && fields[1] == "web" {
			healthyWeb = true
		}
	}
	if !faultTypo || !healthyWeb {
		t.Errorf("summary does not show typo as FAULT and web as HEALTHY:\n%s", res.Stdout)
	}
	diagNoHelperLeft(t, f)

	// every Service of the namespace (no Service named), the network checks from one helper pod
	res = f.SvcDoctor(append([]string{"diagnose", "-n", f.Namespace, "-o", "json"}, diagHelperFlags()...)...)
	if res.ExitCode != 1 {
		t.Fatalf("exit %d, want 1 (a fault)\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	var sum report.DiagnoseSummary
	if err := json.Unmarshal([]byte(res.Stdout), &sum); err != nil {
		t.Fatalf("%v\n%s", err, res.Stdout)
	}
	if sum.Static || sum.Counts.Fault != 1 || len(sum.Services) != 2 {
		t.Fatalf("summary: static %v, counts %+v, %d Services\n%s", sum.Static, sum.Counts, len(sum.Services), res.Stdout)
	}
	typo, web := sum.Services[0], sum.Services[1]
	if typo.Name != "typo" || typo.Verdict.Kind != report.VerdictFault || typo.Verdict.Hop != servicetrace.HopSelector || len(typo.Trace) == 0 {
		t.Errorf("typo: %+v", typo)
	}
	hops := map[string]report.HopStatus{}
	for _, h := range web.Hops {
		hops[h.ID] = h.Status
	}
	if web.Name != "web" || web.Verdict.Kind != report.VerdictHealthy || hops[servicetrace.HopDNS] != trace.Pass ||
		hops[servicetrace.HopConnectivity] != trace.Pass || !strings.Contains(web.From, "helper pod "+f.Namespace+"/") {
		t.Errorf("web: verdict %+v, hops %v, from %q", web.Verdict, hops, web.From)
	}
	if strings.Count(res.Stderr, "starting helper pod") != 1 {
		t.Errorf("want exactly one helper pod for the namespace:\n%s", res.Stderr)
	}
	diagNoHelperLeft(t, f)
}

// diagWaitEndpoints waits until a Service's EndpointSlices list n ready addresses.
func diagWaitEndpoints(f *framework.F, svc string, n int) {
	f.T.Helper()
	f.WaitFor(fmt.Sprintf("%d ready endpoints of %s", n, svc), time.Minute, func(context.Context) (bool, error) {
		ready, _ := f.Endpoints(svc)
		return len(ready) == n, nil
	})
}

// diagWaitProbeEvent waits until every pod of deployment app has a readiness-probe failure event
// that quotes the HTTP 503 of the failing probe (the first failures of a starting pod are
// "connection refused").
func diagWaitProbeEvent(f *framework.F, app string) {
	f.T.Helper()
	f.WaitFor("a readiness-probe 503 event of every pod of "+app, 2*time.Minute, func(ctx context.Context) (bool, error) {
		pods := f.Pods("app=" + app)
		if len(pods) == 0 {
			return false, nil
		}
		has, err := podsWithEvent(ctx, f, "Unhealthy", "HTTP probe failed with statuscode: 503")
		if err != nil {
			return false, err
		}
		for _, p := range pods {
			if !has[p.Name] {
				return false, nil
			}
		}
		return true, nil
	})
}

// TestDiagnoseManualEndpointsObject: a selector-less Service whose endpoints are a hand-written
// core/v1 Endpoints object (not an EndpointSlice), which the EndpointSlice mirroring controller
// copies into a slice. Pointing at a test server pod it is healthy; pointing at an address no pod
// has, the endpoints are stale.
func TestDiagnoseManualEndpointsObject(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	ts := f.DeployTestserver(framework.TestserverSpec{Name: "backend", Replicas: 1})
	podIP := ts.Pods[0].Status.PodIP
	endpoints := func(ip string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Endpoints
metadata: {name: legacy}
subsets:
- addresses: [{ip: %s}]
  ports: [{name: http, port: 8080, protocol: TCP}]
`, ip)
	}
	f.Apply(`apiVersion: v1
kind: Service
metadata: {name: legacy}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
---
` + endpoints(podIP))
	diagWaitMirrored(f, "legacy", podIP)

	rep, res := diagRun(t, f, "svc/legacy", "--http-path", "/")
	if res.ExitCode != 0 || rep.Verdict.Kind != report.VerdictHealthy {
		t.Fatalf("pointing at pod %s: exit %d, verdict %+v; want healthy\n%s", podIP, res.ExitCode, rep.Verdict, diagDump(rep))
	}
	for _, id := range []string{servicetrace.HopEndpoints, servicetrace.HopConnectivity} {
		if h := diagHop(rep, id); h.Status != trace.Pass {
			t.Errorf("hop %s = %s %q, want pass\n%s", id, h.Status, h.Summary, diagDump(rep))
		}
	}
	// the endpoints hop saw the v1 Endpoints object and its mirrored slice
	ev := strings.Join(diagHop(rep, servicetrace.HopEndpoints).Evidence, "\n")
	for _, want := range []string{"endpoints/legacy (v1, deprecated; mirrored into EndpointSlices): 1 addresses, ports http=8080",
		"managed by endpointslicemirroring-controller.k8s.io", podIP + ":8080 (port http"} {
		if !strings.Contains(ev, want) {
			t.Errorf("endpoints evidence lacks %q:\n%s", want, ev)
		}
	}
	if h := diagHop(rep, servicetrace.HopSelector); h.Status != trace.Skip {
		t.Errorf("selector hop = %s %q, want skipped (no selector)", h.Status, h.Summary)
	}
	diagNoHelperLeft(t, f)

	// now an address of the pod CIDR that no pod has
	stale := diagUnusedPodIP(f)
	f.Apply(endpoints(stale))
	diagWaitMirrored(f, "legacy", stale)
	rep, res = diagRun(t, f, "svc/legacy")
	diagExpectFault(t, rep, res, servicetrace.HopConnectivity, "stale endpoint addresses", "service/legacy has no selector", stale+":8080")
	// the slice is a mirror: the fix edits the Endpoints object (edits to the slice are undone)
	if !strings.Contains(rep.Verdict.Fix, "edit endpoints/legacy") {
		t.Errorf("fix %q does not point at the Endpoints object", rep.Verdict.Fix)
	}
	if strings.Contains(rep.Verdict.RootCause, podIP) {
		t.Errorf("root cause %q names the old address %s", rep.Verdict.RootCause, podIP)
	}
	diagNoHelperLeft(t, f)
}

// diagWaitMirrored waits until the EndpointSlices of svc list exactly the address ip (the mirroring
// controller has copied the Endpoints object).
func diagWaitMirrored(f *framework.F, svc, ip string) {
	f.T.Helper()
	f.WaitFor(fmt.Sprintf("the EndpointSlices of %s to list only %s", svc, ip), time.Minute, func(context.Context) (bool, error) {
		ready, notReady := f.Endpoints(svc)
		return len(ready) == 1 && ready[0] == ip && len(notReady) == 0, nil
	})
}

// diagUnusedPodIP returns 10.244.0.250: in node 1's pod CIDR, but out of the range its IPAM gives
// pods (hack/cluster keeps .240-.254 of each node's /24 for this), so no pod ever has it, however
// many pods the run created before (CoreDNS, recreated by TestDiagnoseCoreDNSDown, answers on
// 8080). It fails the test when a pod has it all the same: the cluster's CNI config lost that range.
func diagUnusedPodIP(f *framework.F) string {
	f.T.Helper()
	const ip = "10.244.0.250"
	pods, err := f.Client.CoreV1().Pods("").List(f.Ctx, metav1.ListOptions{})
	if err != nil {
		f.T.Fatalf("list pods: %v", err)
	}
	for _, p := range pods.Items {
		if p.Status.PodIP == ip {
			f.T.Fatalf("pod %s/%s has %s, which the CNI config of hack/cluster keeps out of the pod range (rangeEnd .239)", p.Namespace, p.Name, ip)
		}
	}
	return ip
}

// podsWithEvent lists the objects of the test namespace that have an event with reason whose
// message contains text, by name.
func podsWithEvent(ctx context.Context, f *framework.F, reason, text string) (map[string]bool, error) {
	evs, err := f.Client.CoreV1().Events(f.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range evs.Items {
		if e.Reason == reason && strings.Contains(e.Message, text) {
			out[e.InvolvedObject.Name] = true
		}
	}
	return out, nil
}

// denyWebPolicy is a NetworkPolicy that selects the web pods and admits nothing.
// webIngressPolicy is a NetworkPolicy named name on the pods app=web that admits peer (a flow-style
// NetworkPolicyPeer) to port 8080/TCP.
func webIngressPolicy(name, peer string) string {
	return `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ` + name + `}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [` + peer + `]
    ports: [{port: 8080, protocol: TCP}]
`
}

const denyWebPolicy = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-web}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
`
