package servicetrace

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/tracetest"
)

type traceRun struct {
	st      *State
	steps   []trace.Step
	verdict trace.Verdict
	cs      *fake.Clientset
	prov    *tracetest.Provider
}

func runTrace(t *testing.T, objs []runtime.Object, n *tracetest.FakeNet, cfg Config, react func(*fake.Clientset)) traceRun {
	t.Helper()
	cs := fake.NewSimpleClientset(objs...)
	if react != nil {
		react(cs)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = tracetest.TestNS
	}
	if cfg.ProxyRetryDelay == 0 {
		cfg.ProxyRetryDelay = time.Nanosecond
	}
	prov := &tracetest.Provider{Net: n}
	if n == nil {
		prov.Err = trace.ErrNoAgent
	}
	reads := trace.NewReads(cs, cfg.Namespace)
	reads.OneService = true // as diagnose and dnscheck run it
	st := NewState(cfg, reads, prov)
	st.Clock = tracetest.FixedClock
	steps := Run(context.Background(), st, Hops())
	return traceRun{st: st, steps: steps, verdict: trace.Conclude(steps), cs: cs, prov: prov}
}

func (r traceRun) step(id string) trace.Step {
	for _, s := range r.steps {
		if s.ID == id {
			return s
		}
	}
	return trace.Step{}
}

func forbid(verb, resource string) func(*fake.Clientset) {
	return func(cs *fake.Clientset) {
		cs.PrependReactor(verb, resource, func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", nil)
		})
	}
}

func TestTrace(t *testing.T) {
	webPods := []runtime.Object{tracetest.Pod("web-1", "web", "10.244.0.11"), tracetest.Pod("web-2", "web", "10.244.0.12")}
	webSlice := tracetest.Slice("web", tracetest.SliceEP{IP: "10.244.0.11", Pod: "web-1", Ready: true}, tracetest.SliceEP{IP: "10.244.0.12", Pod: "web-2", Ready: true})
	objs := func(extra ...runtime.Object) []runtime.Object {
		return append(append([]runtime.Object{tracetest.Namespace(tracetest.TestNS)}, webPods...), extra...)
	}
	tests := []struct {
		name    string
		objects []runtime.Object
		net     func(*tracetest.FakeNet)
		noAgent bool
		react   func(*fake.Clientset)
		cfg     Config
		// expectations
		verdict     string
		hop         string
		causeHas    []string
		fixHas      []string
		statuses    map[string]trace.Status
		evidenceHas map[string][]string
		summaryHas  map[string]string
	}{
		{
			name:    "healthy ClusterIP service",
			objects: objs(tracetest.Service("web"), webSlice),
			net:     func(n *tracetest.FakeNet) { tracetest.HealthyZone(n, "web", "10.96.0.20") },
			verdict: report.VerdictHealthy,
			statuses: map[string]trace.Status{HopService: trace.Pass, HopSelector: trace.Pass, HopPorts: trace.Pass, HopReadiness: trace.Pass, HopEndpoints: trace.Pass,
				HopDNS: trace.Pass, HopConnectivity: trace.Pass, HopExposure: trace.Pass},
			evidenceHas: map[string][]string{
				HopDNS:          {"A web.shop.svc.cluster.local. (FQDN): got 10.96.0.20, expected 10.96.0.20 (the ClusterIP)", "ndots 5"},
				HopConnectivity: {"tcp 10.96.0.20:80 (ClusterIP, port http): ok", "tcp 10.244.0.12:8080 (pod/web-2, port http): ok"},
				HopExposure:     {"no NetworkPolicy selects the backend pods"},
			},
		},
		{
			name:        "selector typo names the near miss and the patch",
			objects:     objs(tracetest.Service("web", tracetest.WithSelector(map[string]string{"app": "wbe"})), tracetest.Deployment("web", 2)),
			net:         func(*tracetest.FakeNet) {},
			verdict:     report.VerdictFault,
			hop:         HopSelector,
			causeHas:    []string{"selector app=wbe matches no pod in namespace shop", "deployment/web differ by one label (has app=web)"},
			fixHas:      []string{`kubectl -n shop patch service web --type merge -p '{"spec":{"selector":{"app":"web"}}}'`},
			statuses:    map[string]trace.Status{HopSelector: trace.Fail, HopPorts: trace.Skip, HopReadiness: trace.Skip, HopEndpoints: trace.Skip, HopConnectivity: trace.Skip},
			evidenceHas: map[string][]string{HopSelector: {"near miss: deployment/web (2 pods) has app=web"}},
			summaryHas:  map[string]string{HopEndpoints: "skipped: selector app=wbe matches no pod in namespace shop (hop selector)"},
		},
		{
			name: "pods in another namespace",
			objects: []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("api"),
				tracetest.Pod("api-1", "api", "10.244.0.21", tracetest.InNamespace("backend")), tracetest.Pod("api-2", "api", "10.244.0.22", tracetest.InNamespace("backend"))},
			net:      func(*tracetest.FakeNet) {},
			verdict:  report.VerdictFault,
			hop:      HopSelector,
			causeHas: []string{"but pods in other namespaces match (2 in backend): a Service only selects pods of its own namespace"},
			fixHas:   []string{"create the Service in the namespace of the pods it should select (e.g. backend"},
		},
		{
			name:     "workload scaled to zero",
			objects:  []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("web"), tracetest.Deployment("web", 0)},
			net:      func(*tracetest.FakeNet) {},
			verdict:  report.VerdictFault,
			hop:      HopSelector,
			causeHas: []string{"deployment/web matches the selector app=web but is scaled to 0 replicas"},
			fixHas:   []string{"kubectl -n shop scale deployment/web --replicas=1"},
		},
		{
			name: "readiness probe failing, message from events",
			objects: []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("web"), tracetest.Slice("web", tracetest.SliceEP{IP: "10.244.0.11", Pod: "web-1", Ready: false}),
				tracetest.Pod("web-1", "web", "10.244.0.11", tracetest.NotReady()), tracetest.Unhealthy("web-1", "Readiness probe failed: HTTP probe failed with statuscode: 503")},
			net:      func(n *tracetest.FakeNet) { tracetest.HealthyZone(n, "web", "10.96.0.20") },
			verdict:  report.VerdictFault,
			hop:      HopReadiness,
			causeHas: []string{"none of the 1 selected pods is ready", "Readiness probe failed: HTTP probe failed with statuscode: 503"},
			fixHas:   []string{"make container web pass its readiness probe (httpGet http://:8080/ready)", "probes pod/web-1 -n shop --run"},
			statuses: map[string]trace.Status{HopReadiness: trace.Fail, HopEndpoints: trace.Skip, HopConnectivity: trace.Skip, HopDNS: trace.Skip},
			summaryHas: map[string]string{
				HopConnectivity: "skipped: no pod is ready (0/1): pod/web-1: readiness probe failing: Readiness probe failed: HTTP probe failed with statuscode: 503 (5s ago) (hop readiness)",
			},
		},
		{
			name: "crash loop",
			objects: []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("web"),
				tracetest.Pod("web-1", "web", "10.244.0.11", tracetest.Waiting("CrashLoopBackOff", "back-off 40s restarting failed container"))},
			net:      func(*tracetest.FakeNet) {},
			verdict:  report.VerdictFault,
			hop:      HopReadiness,
			causeHas: []string{"container web is in CrashLoopBackOff (restarted 4 times, last exit code 1 (Error))"},
			fixHas:   []string{"kubectl -n shop logs pod/web-1 -c web --previous"},
		},
		{
			name:     "image pull failure comes before probe failures",
			objects:  []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("web"), tracetest.Pod("web-1", "web", "10.244.0.11", tracetest.Waiting("ImagePullBackOff", "Back-off pulling image")), tracetest.Pod("web-2", "web", "10.244.0.12", tracetest.NotReady())},
			net:      func(*tracetest.FakeNet) {},
			verdict:  report.VerdictFault,
			hop:      HopReadiness,
			causeHas: []string{"cannot get image example/web:1 (ImagePullBackOff"},
		},
		{
			name:     "named targetPort missing in the pods",
			objects:  objs(tracetest.Service("web", tracetest.WithTargetPort(intstr.FromString("web"))), webSlice),
			net:      func(*tracetest.FakeNet) {},
			verdict:  report.VerdictFault,
			hop:      HopPorts,
			causeHas: []string{`targetPort web of service/web port http (80/TCP) matches no container port`, `no container declares a port named "web" with protocol TCP (declared: http 8080/TCP)`},
			fixHas:   []string{`[{"op":"replace","path":"/spec/ports/0/targetPort","value":"http"}]`},
			statuses: map[string]trace.Status{HopPorts: trace.Fail, HopReadiness: trace.Pass, HopEndpoints: trace.Skip, HopConnectivity: trace.Skip},
		},
		{
			name:    "app not listening on targetPort",
			objects: objs(tracetest.Service("web", tracetest.WithTargetPort(intstr.FromInt32(9090))), slice9090("web")),
			net: func(n *tracetest.FakeNet) {
				tracetest.HealthyZone(n, "web", "10.96.0.20")
				n.Addr["10.244.0.11:9090"], n.Addr["10.244.0.12:9090"] = agent.FailRefused, agent.FailRefused
				n.Addr["10.96.0.20:80"] = agent.FailRefused
			},
			verdict:  report.VerdictFault,
			hop:      HopConnectivity,
			causeHas: []string{"the application does not listen on targetPort 9090", "pod/web-1, pod/web-2 refuse connections on port 9090/TCP", "(the container declares 8080/TCP)"},
			fixHas:   []string{`"value":"http"`},
		},
		{
			name:    "NetworkPolicy denies the traffic",
			objects: objs(tracetest.Service("web"), webSlice, tracetest.DenyAll()),
			net: func(n *tracetest.FakeNet) {
				tracetest.HealthyZone(n, "web", "10.96.0.20")
				for _, a := range []string{"10.244.0.11:8080", "10.244.0.12:8080", "10.96.0.20:80"} {
					n.Addr[a] = agent.FailTimeout
				}
			},
			verdict:     report.VerdictFault,
			hop:         HopConnectivity,
			causeHas:    []string{"NetworkPolicy: networkpolicy/deny-all selects the backend pods and admits nothing (no ingress rule)"},
			fixHas:      []string{`kubectl -n shop patch networkpolicy deny-all --type json -p '[{"op":"add","path":"/spec/ingress","value":[{"from":[{"podSelector":{"matchLabels":{"\u003cclient-label\u003e":"\u003cvalue\u003e"}}}],"ports":[{"port":8080,"protocol":"TCP"}]}]}]'`},
			evidenceHas: map[string][]string{HopConnectivity: {"networkpolicy/deny-all selects the backends (<none>): no ingress rule: admits nothing", "is NOT admitted to 2/2 backend targets"}},
		},
		{
			name:    "timeouts without a policy are not blamed on one",
			objects: objs(tracetest.Service("web"), webSlice),
			net: func(n *tracetest.FakeNet) {
				tracetest.HealthyZone(n, "web", "10.96.0.20")
				n.Addr["10.244.0.11:8080"] = agent.FailTimeout
			},
			verdict:  report.VerdictFault,
			hop:      HopConnectivity,
			causeHas: []string{"the backends pod/web-1 do not answer on port 8080/TCP (timeout) and no NetworkPolicy denies the traffic"},
		},
		{
			name:    "service proxy fault",
			objects: objs(tracetest.Service("web"), webSlice),
			net: func(n *tracetest.FakeNet) {
				tracetest.HealthyZone(n, "web", "10.96.0.20")
				n.Addr["10.96.0.20:80"] = agent.FailTimeout
			},
			verdict:  report.VerdictFault,
			hop:      HopConnectivity,
			causeHas: []string{"service proxy fault: the endpoints answer directly, but 10.96.0.20:80 (the ClusterIP) does not forward to them (timeout) from node node-1"},
			fixHas:   []string{"check kube-proxy"},
		},
		{
			name:    "ClusterIP not programmed yet: answers on the second try",
			objects: objs(tracetest.Service("web"), webSlice),
			net: func(n *tracetest.FakeNet) {
				tracetest.HealthyZone(n, "web", "10.96.0.20")
				n.Once["10.96.0.20:80"] = agent.FailRefused
			},
			verdict:     report.VerdictHealthy,
			evidenceHas: map[string][]string{HopConnectivity: {"the ClusterIP did not answer at first and was tested again", "tcp 10.96.0.20:80 (ClusterIP, port http): ok"}},
		},
		{
			name:    "HTTP error status with --http-path",
			objects: objs(tracetest.Service("web"), webSlice),
			cfg:     Config{Name: "web", HTTPPath: "/healthz"},
			net: func(n *tracetest.FakeNet) {
				tracetest.HealthyZone(n, "web", "10.96.0.20")
				n.HTTPStatus["10.244.0.11:8080"] = 500
			},
			verdict:  report.VerdictFault,
			hop:      HopConnectivity,
			causeHas: []string{"the application answers HTTP 500 to GET /healthz (pod/web-1)"},
		},
		{
			name: "headless Service without ready pods",
			objects: []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("db", tracetest.Headless()), tracetest.Pod("db-0", "db", "10.244.0.31", tracetest.NotReady()),
				tracetest.Unhealthy("db-0", "Readiness probe failed: dial tcp 10.244.0.31:8080: connect: connection refused")},
			net:        func(*tracetest.FakeNet) {},
			verdict:    report.VerdictFault,
			hop:        HopReadiness,
			causeHas:   []string{"connection refused"},
			statuses:   map[string]trace.Status{HopDNS: trace.Skip},
			summaryHas: map[string]string{HopDNS: "(hop readiness)"},
		},
		{
			name:    "healthy tracetest.Headless Service: one A record per ready pod",
			objects: []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("db", tracetest.Headless()), tracetest.Pod("db-0", "db", "10.244.0.31"), tracetest.Pod("db-1", "db", "10.244.0.32"), tracetest.Slice("db", tracetest.SliceEP{IP: "10.244.0.31", Pod: "db-0", Ready: true}, tracetest.SliceEP{IP: "10.244.0.32", Pod: "db-1", Ready: true})},
			net: func(n *tracetest.FakeNet) {
				n.Zone["A db.shop.svc.cluster.local."] = []string{"10.244.0.32", "10.244.0.31"}
				n.Zone["SRV _http._tcp.db.shop.svc.cluster.local."] = []string{"db-0.db.shop.svc.cluster.local.:8080", "db-1.db.shop.svc.cluster.local.:8080"}
			},
			verdict:     report.VerdictHealthy,
			evidenceHas: map[string][]string{HopDNS: {"got 10.244.0.31,10.244.0.32, expected 10.244.0.31,10.244.0.32 (2 ready endpoints (headless: one A record per ready pod))", "SRV _http._tcp.db.shop.svc.cluster.local. (SRV http): got port 8080,port 8080"}},
		},
		{
			name:    "ExternalName to a name that does not resolve",
			objects: []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("payments", tracetest.ExternalName("pay.example.invalid"))},
			net: func(n *tracetest.FakeNet) {
				n.Zone["CNAME payments.shop.svc.cluster.local."] = []string{"pay.example.invalid."}
			},
			verdict:  report.VerdictFault,
			hop:      HopDNS,
			causeHas: []string{"service/payments is a CNAME to pay.example.invalid, which does not resolve from inside the cluster"},
			statuses: map[string]trace.Status{HopSelector: trace.Skip, HopPorts: trace.Skip, HopEndpoints: trace.Skip, HopConnectivity: trace.Skip, HopExposure: trace.Skip},
		},
		{
			name:    "selector-less Service with stale manual endpoints",
			objects: []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("legacy", tracetest.WithSelector(nil)), tracetest.ManualSlice("legacy", "http", "10.244.0.250")},
			net: func(n *tracetest.FakeNet) {
				tracetest.HealthyZone(n, "legacy", "10.96.0.20")
				n.Addr["10.244.0.250:5432"] = agent.FailUnreachable
				n.Addr["10.96.0.20:80"] = agent.FailUnreachable
			},
			verdict:  report.VerdictFault,
			hop:      HopConnectivity,
			causeHas: []string{"stale endpoint addresses", "10.244.0.250:5432"},
			fixHas:   []string{"kubectl -n shop edit endpointslice/legacy-x1"},
			statuses: map[string]trace.Status{HopSelector: trace.Skip, HopPorts: trace.Skip, HopReadiness: trace.Skip, HopEndpoints: trace.Pass},
		},
		{
			name: "stale addresses in a core/v1 Endpoints object: the fix edits the Endpoints, not its mirror",
			objects: []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("legacy", tracetest.WithSelector(nil)), func() runtime.Object {
				s := tracetest.ManualSlice("legacy", "http", "10.244.0.250")
				s.Labels[discoveryv1.LabelManagedBy] = mirrorControllerName
				return s
			}()},
			net: func(n *tracetest.FakeNet) {
				tracetest.HealthyZone(n, "legacy", "10.96.0.20")
				n.Addr["10.244.0.250:5432"] = agent.FailUnreachable
				n.Addr["10.96.0.20:80"] = agent.FailUnreachable
			},
			verdict:  report.VerdictFault,
			hop:      HopConnectivity,
			causeHas: []string{"stale endpoint addresses", "10.244.0.250:5432"},
			fixHas:   []string{"kubectl -n shop edit endpoints/legacy (endpointslice/legacy-x1 is mirrored from it: edits to the slice are undone)"},
		},
		{
			name:     "selector-less Service whose EndpointSlice port name does not match",
			objects:  []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("legacy", tracetest.WithSelector(nil)), tracetest.ManualSlice("legacy", "pg", "10.1.2.3")},
			net:      func(*tracetest.FakeNet) {},
			verdict:  report.VerdictFault,
			hop:      HopEndpoints,
			causeHas: []string{`endpointslice/legacy-x1 has no port named "http"/TCP (it has pg=5432)`},
		},
		{
			name:     "selector-less Service without endpoints",
			objects:  []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("legacy", tracetest.WithSelector(nil))},
			net:      func(*tracetest.FakeNet) {},
			verdict:  report.VerdictFault,
			hop:      HopEndpoints,
			causeHas: []string{"has no selector and nobody wrote endpoints for it"},
		},
		{
			name:    "CoreDNS down",
			objects: append(objs(tracetest.Service("web"), webSlice), tracetest.KubeDNS(false, 0)...),
			net: func(n *tracetest.FakeNet) {
				n.DNSDown = agent.FailDNSTimeout
			},
			verdict:     report.VerdictFault,
			hop:         HopDNS,
			causeHas:    []string{"cluster DNS does not answer: nameserver 10.96.0.10 gives dns-timeout", "CoreDNS is down (service kube-system/kube-dns has 0 ready endpoints (of 0); deployment kube-system/coredns: 0/0 replicas ready)"},
			fixHas:      []string{"kubectl -n kube-system scale deployment/coredns --replicas=2"},
			statuses:    map[string]trace.Status{HopConnectivity: trace.Pass},
			evidenceHas: map[string][]string{HopDNS: {"got dns-timeout"}},
		},
		{
			name: "Service not found: same name elsewhere",
			objects: []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("webb"),
				func() runtime.Object { s := tracetest.Service("web"); s.Namespace = "prod"; return s }()},
			net:      func(*tracetest.FakeNet) {},
			verdict:  report.VerdictFault,
			hop:      HopService,
			causeHas: []string{"there is no service/web in namespace shop; it exists in namespace prod"},
			fixHas:   []string{"kubectl svc-doctor diagnose svc/web -n prod"},
			statuses: map[string]trace.Status{HopSelector: trace.Skip, HopDNS: trace.Skip},
		},
		{
			name:     "requested port does not exist",
			objects:  objs(tracetest.Service("web"), webSlice),
			cfg:      Config{Name: "web", Port: "metrics"},
			net:      func(*tracetest.FakeNet) {},
			verdict:  report.VerdictFault,
			hop:      HopService,
			causeHas: []string{`service/web in namespace shop has no port "metrics": its ports are http (80/TCP)`},
		},
		{
			name:    "port by number",
			objects: objs(tracetest.Service("web"), webSlice),
			cfg:     Config{Name: "web", Port: "80"},
			net:     func(n *tracetest.FakeNet) { tracetest.HealthyZone(n, "web", "10.96.0.20") },
			verdict: report.VerdictHealthy,
		},
		{
			name:    "NodePort with externalTrafficPolicy Local",
			objects: append(objs(tracetest.Service("web", tracetest.NodePort(30080, true)), webSlice), tracetest.Node("node-1", "10.201.0.1"), tracetest.Node("node-2", "10.201.0.2")),
			net: func(n *tracetest.FakeNet) {
				tracetest.HealthyZone(n, "web", "10.96.0.20")
				n.Addr["10.201.0.2:30080"] = agent.FailTimeout
			},
			verdict: report.VerdictHealthy,
			evidenceHas: map[string][]string{HopExposure: {
				"node node-1 (InternalIP 10.201.0.1): 2 local ready endpoints: answers from outside",
				"node node-2 (InternalIP 10.201.0.2): 0 local ready endpoints: drops traffic from outside (no local endpoint)",
				"tcp 10.201.0.1:30080 (node node-1) from helper pod shop/svc-doctor-helper-x: ok",
			}},
			summaryHas: map[string]string{HopExposure: "NodePort 30080/TCP on 2 nodes (externalTrafficPolicy Local: 1/2 nodes have a local ready endpoint): 1/2 node checks answer"},
		},
		{
			name:    "NodePort that does not answer on a node",
			objects: append(objs(tracetest.Service("web", tracetest.NodePort(30080, false)), webSlice), tracetest.Node("node-1", "10.201.0.1")),
			net: func(n *tracetest.FakeNet) {
				tracetest.HealthyZone(n, "web", "10.96.0.20")
				n.Addr["10.201.0.1:30080"] = agent.FailRefused
			},
			verdict:  report.VerdictFault,
			hop:      HopExposure,
			causeHas: []string{"does not answer on 10.201.0.1:30080 (node node-1, refused)"},
		},
		{
			name:     "LoadBalancer pending is a warning",
			objects:  append(objs(tracetest.Service("web", tracetest.LoadBalancer()), webSlice), tracetest.Node("node-1", "10.201.0.1")),
			net:      func(n *tracetest.FakeNet) { tracetest.HealthyZone(n, "web", "10.96.0.20") },
			verdict:  report.VerdictHealthy,
			statuses: map[string]trace.Status{HopExposure: trace.Warn},
			summaryHas: map[string]string{
				HopExposure: "LoadBalancer pending: no load-balancer controller has assigned an address",
			},
		},
		{
			name:     "pods forbidden: the pod hops degrade, the EndpointSlices and the traffic are still checked",
			objects:  objs(tracetest.Service("web"), webSlice),
			react:    forbid("list", "pods"),
			net:      func(n *tracetest.FakeNet) { tracetest.HealthyZone(n, "web", "10.96.0.20") },
			verdict:  report.VerdictInconclusive,
			statuses: map[string]trace.Status{HopSelector: trace.Skip, HopPorts: trace.Skip, HopReadiness: trace.Skip, HopEndpoints: trace.Pass, HopDNS: trace.Pass, HopConnectivity: trace.Pass, HopExposure: trace.Pass},
			summaryHas: map[string]string{
				HopSelector:     "cannot read pods: forbidden: needs list on pods in namespace shop",
				HopPorts:        "skipped: cannot read pods: forbidden: needs list on pods in namespace shop (hop selector)",
				HopEndpoints:    "2 endpoints: 2 ready, 2 serving, 0 terminating (not compared with the pods: they could not be read)",
				HopConnectivity: "the ClusterIP (1/1 checks) and 2/2 endpoint checks answer",
			},
		},
		{
			name:     "pods forbidden and no ready endpoint: still a fault",
			objects:  objs(tracetest.Service("web"), tracetest.Slice("web", tracetest.SliceEP{IP: "10.244.0.11", Pod: "web-1", Ready: false})),
			react:    forbid("list", "pods"),
			net:      func(n *tracetest.FakeNet) { tracetest.HealthyZone(n, "web", "10.96.0.20") },
			verdict:  report.VerdictFault,
			hop:      HopEndpoints,
			causeHas: []string{"service/web has no ready endpoint: nothing can answer; the pods could not be read to say why (forbidden: needs list on pods in namespace shop)"},
		},
		{
			name:     "EndpointSlices forbidden: the ClusterIP is still tested",
			objects:  objs(tracetest.Service("web"), webSlice),
			react:    forbid("list", "endpointslices"),
			net:      func(n *tracetest.FakeNet) { tracetest.HealthyZone(n, "web", "10.96.0.20") },
			verdict:  report.VerdictInconclusive,
			statuses: map[string]trace.Status{HopSelector: trace.Pass, HopPorts: trace.Pass, HopReadiness: trace.Pass, HopEndpoints: trace.Skip, HopConnectivity: trace.Pass},
			summaryHas: map[string]string{
				HopEndpoints:    "cannot read EndpointSlices: forbidden: needs list on endpointslices in namespace shop",
				HopConnectivity: "the ClusterIP answers (1/1 checks)",
			},
			evidenceHas: map[string][]string{
				HopConnectivity: {"the endpoints were not tested directly: the EndpointSlices could not be read (forbidden: needs list on endpointslices in namespace shop)"},
			},
		},
		{
			name:    "EndpointSlices forbidden and the ClusterIP does not answer: the fault is named, its side is not",
			objects: objs(tracetest.Service("web"), webSlice),
			react:   forbid("list", "endpointslices"),
			net: func(n *tracetest.FakeNet) {
				tracetest.HealthyZone(n, "web", "10.96.0.20")
				n.Addr["10.96.0.20:80"] = agent.FailTimeout
			},
			verdict:  report.VerdictFault,
			hop:      HopConnectivity,
			causeHas: []string{"whether the backends or the service proxy are at fault is unknown: the EndpointSlices could not be read"},
		},
		{
			name: "events forbidden: readiness still judged, the message is missing",
			objects: []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("web"), tracetest.Pod("web-1", "web", "10.244.0.11"),
				tracetest.Pod("web-2", "web", "10.244.0.12", tracetest.NotReady()), webSlice},
			react:      forbid("list", "events"),
			net:        func(n *tracetest.FakeNet) { tracetest.HealthyZone(n, "web", "10.96.0.20") },
			verdict:    report.VerdictHealthy,
			statuses:   map[string]trace.Status{HopReadiness: trace.Warn},
			summaryHas: map[string]string{HopReadiness: "1/2 pods ready"},
			evidenceHas: map[string][]string{
				HopReadiness: {"readiness-probe failure messages unavailable: forbidden: needs list on events in namespace shop"},
			},
		},
		{
			name:       "no helper: DNS and connectivity cannot run",
			objects:    objs(tracetest.Service("web"), webSlice),
			noAgent:    true,
			verdict:    report.VerdictInconclusive,
			statuses:   map[string]trace.Status{HopDNS: trace.Skip, HopConnectivity: trace.Skip, HopEndpoints: trace.Pass},
			summaryHas: map[string]string{HopDNS: "skipped: no helper: no helper pod in this mode"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n *tracetest.FakeNet
			if !tc.noAgent {
				n = tracetest.NewNet()
				tc.net(n)
			}
			cfg := tc.cfg
			if cfg.Name == "" {
				cfg.Name = firstServiceName(tc.objects)
			}
			run := runTrace(t, tc.objects, n, cfg, tc.react)
			if run.verdict.Kind != tc.verdict || run.verdict.Hop != tc.hop && tc.hop != "" {
				t.Fatalf("verdict = %+v, want %s in hop %q\n%s", run.verdict, tc.verdict, tc.hop, dump(run.steps))
			}
			for _, s := range tc.causeHas {
				if !strings.Contains(run.verdict.RootCause, s) {
					t.Errorf("root cause %q does not contain %q", run.verdict.RootCause, s)
				}
			}
			for _, s := range tc.fixHas {
				if !strings.Contains(run.verdict.Fix, s) {
					t.Errorf("fix %q does not contain %q", run.verdict.Fix, s)
				}
			}
			for id, want := range tc.statuses {
				if got := run.step(id).Result.Status; got != want {
					t.Errorf("hop %s status = %s, want %s\n%s", id, got, want, dump(run.steps))
				}
			}
			for id, lines := range tc.evidenceHas {
				ev := strings.Join(run.step(id).Result.Evidence, "\n")
				for _, l := range lines {
					if !strings.Contains(ev, l) {
						t.Errorf("hop %s evidence does not contain %q:\n%s", id, l, ev)
					}
				}
			}
			for id, s := range tc.summaryHas {
				if got := run.step(id).Result.Summary; !strings.Contains(got, s) {
					t.Errorf("hop %s summary = %q, want it to contain %q", id, got, s)
				}
			}
		})
	}
}

func firstServiceName(objs []runtime.Object) string {
	for _, o := range objs {
		if s, ok := o.(*corev1.Service); ok && s.Namespace == tracetest.TestNS {
			if s.Name == "webb" {
				return "web" // the not-found case
			}
			return s.Name
		}
	}
	return ""
}

func dump(steps []trace.Step) string {
	var b strings.Builder
	for _, s := range steps {
		b.WriteString(string(s.Result.Status) + " " + s.ID + ": " + s.Result.Summary + "\n")
		for _, e := range s.Result.Evidence {
			b.WriteString("    " + e + "\n")
		}
	}
	return b.String()
}

// slice9090 is the EndpointSlice of a Service whose numeric targetPort is 9090.
func slice9090(svc string) runtime.Object {
	s := tracetest.Slice(svc, tracetest.SliceEP{IP: "10.244.0.11", Pod: "web-1", Ready: true}, tracetest.SliceEP{IP: "10.244.0.12", Pod: "web-2", Ready: true})
	s.Ports[0].Port = ptr.To(int32(9090))
	return s
}

// TestCostIsConstantInPods checks that the number of API requests does not grow with the number
// of pods: a handful of LISTs and GETs per diagnosis.
func TestCostIsConstantInPods(t *testing.T) {
	count := func(pods int, broken bool) int {
		objs := []runtime.Object{tracetest.Namespace(tracetest.TestNS)}
		var eps []tracetest.SliceEP
		for i := range pods {
			name := "web-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			ip := "10.244.1." + strconv.Itoa(i+1)
			opts := []tracetest.PodOpt{}
			if broken {
				opts = append(opts, tracetest.NotReady())
				objs = append(objs, tracetest.Unhealthy(name, "Readiness probe failed: 503"))
			}
			objs = append(objs, tracetest.Pod(name, "web", ip, opts...))
			eps = append(eps, tracetest.SliceEP{IP: ip, Pod: name, Ready: !broken})
		}
		objs = append(objs, tracetest.Service("web"), tracetest.Slice("web", eps...))
		// other pods of the namespace, and Ingresses with TLS Secrets: neither may cost requests
		for i := range pods {
			objs = append(objs, tracetest.Pod("other-"+strconv.Itoa(i), "other", "10.244.2."+strconv.Itoa(i+1)),
				tracetest.TLSIngress("ing-"+strconv.Itoa(i), "tls-"+strconv.Itoa(i)))
		}
		n := tracetest.NewNet()
		tracetest.HealthyZone(n, "web", "10.96.0.20")
		run := runTrace(t, objs, n, Config{Name: "web"}, nil)
		for _, a := range run.cs.Actions() {
			if a.GetResource().Resource == "secrets" {
				t.Errorf("broken=%v: a diagnosis read a Secret: %s", broken, a)
			}
			if l, ok := a.(k8stesting.ListAction); ok && a.GetResource().Resource == "pods" && !broken {
				if got := l.GetListRestrictions().Labels.String(); got != "app=web" {
					t.Errorf("pods were listed with label selector %q, want the Service's selector app=web (server-side)", got)
				}
			}
		}
		return len(run.cs.Actions())
	}
	for _, broken := range []bool{false, true} {
		few, many := count(2, broken), count(40, broken)
		if few != many {
			t.Errorf("broken=%v: %d API requests with 2 pods, %d with 40: the cost must not grow with the pods", broken, few, many)
		}
		if many > 12 {
			t.Errorf("broken=%v: %d API requests, want a handful", broken, many)
		}
	}
}

// TestHelperStartsLazily checks that a diagnosis that fails in a static hop never starts the
// helper, and that one that needs it starts it exactly once.
func TestHelperStartsLazily(t *testing.T) {
	tests := []struct {
		name    string
		objects []runtime.Object
		want    int
	}{
		{name: "a static hop fails: the cause is known, no helper", objects: []runtime.Object{tracetest.Service("web", tracetest.WithSelector(map[string]string{"app": "nope"})), tracetest.Pod("web-1", "web", "10.244.0.11")}, want: 0},
		{name: "healthy: one helper for dns, connectivity and exposure", objects: []runtime.Object{tracetest.Service("web"), tracetest.Pod("web-1", "web", "10.244.0.11"), tracetest.Slice("web", tracetest.SliceEP{IP: "10.244.0.11", Pod: "web-1", Ready: true})}, want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := tracetest.NewNet()
			tracetest.HealthyZone(n, "web", "10.96.0.20")
			run := runTrace(t, tc.objects, n, Config{Name: "web"}, nil)
			if run.prov.Calls != tc.want {
				t.Errorf("helper acquired %d times, want %d\n%s", run.prov.Calls, tc.want, dump(run.steps))
			}
		})
	}
}

func TestStaticHopsNeedNoAgent(t *testing.T) {
	cs := fake.NewSimpleClientset(tracetest.Namespace(tracetest.TestNS), tracetest.Service("web"), tracetest.Pod("web-1", "web", "10.244.0.11"), tracetest.Slice("web", tracetest.SliceEP{IP: "10.244.0.11", Pod: "web-1", Ready: true}),
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all", Namespace: tracetest.TestNS},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}})
	st := NewState(Config{Namespace: tracetest.TestNS, Name: "web", Static: true}, trace.NewReads(cs, ""), nil)
	steps := Run(context.Background(), st, StaticHops())
	for _, s := range steps {
		if s.ID == HopDNS || s.ID == HopConnectivity {
			t.Errorf("static trace ran hop %s", s.ID)
		}
	}
	v := trace.Conclude(steps)
	if v.Kind != report.VerdictHealthy {
		t.Fatalf("verdict %+v\n%s", v, dump(steps))
	}
	exp := steps[len(steps)-1]
	if exp.Result.Status != trace.Warn || !strings.Contains(exp.Result.Summary, "networkpolicy/deny-all admits no ingress to the backends") {
		t.Errorf("exposure = %s %q, want a warning about deny-all", exp.Result.Status, exp.Result.Summary)
	}
}
