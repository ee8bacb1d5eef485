package ingress

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// TestGatewayAddresses finds the Service in front of a Gateway: by the gateway-name label, or the
// one selecting Traefik with its Gateway provider on, its ports mapped to the entry points'.
func TestGatewayAddresses(t *testing.T) {
	traefik := func(args ...string) Workload {
		d := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ingress", Name: "traefik"}}
		spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "traefik", Image: "docker.io/traefik:v3.6", Args: args,
			Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 8000}, {Name: "websecure", ContainerPort: 8443}}}}}
		return Workload{Kind: "Deployment", Namespace: d.Namespace, Name: d.Name, TemplateLabels: map[string]string{"app": "traefik"}, Spec: spec}
	}
	traefikSvc := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ingress", Name: "traefik"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.50",
		Selector: map[string]string{"app": "traefik"}, Ports: []corev1.ServicePort{{Name: "web", Port: 80, TargetPort: intstr.FromString("web")},
			{Name: "websecure", Port: 443, TargetPort: intstr.FromString("websecure")}}}}
	labelled := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "edge", Name: "gw-istio", Labels: map[string]string{GatewayNameLabel: "gw"}},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.60", Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(80)}}}}
	gw := func(class string) *gwv1.Gateway {
		return &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "edge", Name: "gw"}, Spec: gwv1.GatewaySpec{GatewayClassName: gwv1.ObjectName(class)},
			Status: gwv1.GatewayStatus{Addresses: []gwv1.GatewayStatusAddress{{Value: "192.0.2.1"}}}}
	}
	classes := map[string]string{"traefik": "traefik.io/gateway-controller", "istio": "istio.io/gateway-controller"}
	tests := []struct {
		name        string
		gw          *gwv1.Gateway
		workloads   []Workload
		services    map[string][]corev1.Service
		wantService string
		wantPort    int32 // the Service port that reaches listener port 8000 (Traefik) or 80
		listener    int32
	}{
		{name: "Traefik with the Gateway provider", gw: gw("traefik"), workloads: []Workload{traefik("--providers.kubernetesgateway=true")},
			services: map[string][]corev1.Service{"ingress": {traefikSvc}}, wantService: "ingress/traefik", listener: 8000, wantPort: 80},
		{name: "Traefik without the Gateway provider", gw: gw("traefik"), workloads: []Workload{traefik("--providers.kubernetesingress")},
			services: map[string][]corev1.Service{"ingress": {traefikSvc}}, listener: 8000},
		{name: "a Service labelled with the Gateway's name", gw: gw("istio"), services: map[string][]corev1.Service{"edge": {labelled}},
			wantService: "edge/gw-istio", listener: 80, wantPort: 80},
		{name: "unknown controller: the status address only", gw: gw("istio"), listener: 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := GatewayAddresses([]*gwv1.Gateway{tt.gw}, classes, tt.workloads, tt.services)["edge/gw"]
			if a.Service != tt.wantService {
				t.Errorf("service %q, want %q (%s)", a.Service, tt.wantService, a.How)
			}
			if len(a.Addresses) == 0 || a.Addresses[0] != "192.0.2.1" {
				t.Errorf("addresses %v, want the status address first", a.Addresses)
			}
			if got := ServicePortFor(a, tt.listener); got != tt.wantPort {
				t.Errorf("service port for listener port %d: %d, want %d", tt.listener, got, tt.wantPort)
			}
		})
	}
}

// TestJudgeGatewayProbe judges answers through a Gateway against the winning rule: its backend,
// either of two weighted backends, a redirect's status, an error status.
func TestJudgeGatewayProbe(t *testing.T) {
	snap := &snapshot.Snapshot{Live: true}
	for _, name := range []string{"web", "api"} {
		snap.Services = append(snap.Services, &snapshot.Service{Service: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}}}, Src: &snapshot.Source{}})
		snap.Workloads = append(snap.Workloads, snapshot.PodWorkload(testPod("shop", name+"-1", map[string]string{"app": name}, "10.0.0.1", true)))
	}
	snap.Index()
	backend := func(svc string, weight int32) report.GatewayBackend {
		return report.GatewayBackend{RouteBackend: report.RouteBackend{Service: svc}, Weight: weight}
	}
	res := func(rc *report.GatewayRouteCheck, status int) *report.GatewayResolution {
		return &report.GatewayResolution{Listener: "http", Port: 8000, Route: rc, Status: status, Why: "no rule matches"}
	}
	tests := []struct {
		name       string
		gr         *report.GatewayResolution
		answer     agent.Result
		wantAgrees string
	}{
		{name: "the winning rule's backend answered", gr: res(&report.GatewayRouteCheck{Backends: []report.GatewayBackend{backend("web", 1)}}, 0),
			answer: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "web-1"}}, wantAgrees: "yes"},
		{name: "another Service answered", gr: res(&report.GatewayRouteCheck{Backends: []report.GatewayBackend{backend("web", 1)}}, 0),
			answer: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "api-1"}}, wantAgrees: "no"},
		{name: "either weighted backend", gr: res(&report.GatewayRouteCheck{Backends: []report.GatewayBackend{backend("web", 1), backend("api", 1)}}, 0),
			answer: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "api-1"}}, wantAgrees: "yes"},
		{name: "a backend of weight 0 gets nothing", gr: res(&report.GatewayRouteCheck{Backends: []report.GatewayBackend{backend("web", 1), backend("api", 0)}}, 0),
			answer: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "api-1"}}, wantAgrees: "no"},
		{name: "redirect as simulated", gr: res(&report.GatewayRouteCheck{Redirect: &report.GatewayRedirect{StatusCode: 301, Location: "https://x/"}}, 0),
			answer: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 301}}, wantAgrees: "yes"},
		{name: "no redirect where one is simulated", gr: res(&report.GatewayRouteCheck{Redirect: &report.GatewayRedirect{StatusCode: 301, Location: "https://x/"}}, 0),
			answer: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "web-1"}}, wantAgrees: "no"},
		{name: "404 where no rule matches", gr: res(nil, 404), answer: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 404}}, wantAgrees: "yes"},
		{name: "answered where no rule matches", gr: res(nil, 404), answer: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 200, BodySnippet: "web-1"}}, wantAgrees: "no"},
		{name: "500 for a missing backend", gr: res(&report.GatewayRouteCheck{Backends: []report.GatewayBackend{{Ref: "service/shop/nope:80", Invalid: true, Weight: 1}},
			Problems: []string{"BackendNotFound"}}, 0), answer: agent.Result{HTTP: &agent.HTTPResult{StatusCode: 500}}, wantAgrees: "yes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := report.RouteProbe{Host: "www.example.com"}
			judgeExpect(&pr, &tt.answer, gatewayExpectation(tt.gr, false), nil, snap, probeNow)
			got := "?"
			if pr.Agrees != nil {
				got = map[bool]string{true: "yes", false: "no"}[*pr.Agrees]
			}
			if got != tt.wantAgrees {
				t.Errorf("agrees %s, want %s: %s", got, tt.wantAgrees, pr.Result)
			}
		})
	}
}

// TestGatewayPlans: which address a URL is sent to, by which path serves it.
func TestGatewayPlans(t *testing.T) {
	addr := &report.GatewayAddress{Service: "ingress/traefik", ClusterIP: "10.96.0.50", Ports: []report.GatewayPort{{Port: 80, TargetPort: 8000}}}
	gwRes := report.GatewayResolution{Gateway: report.ObjectRef{Namespace: "edge", Name: "gw"}, Listener: "http", Port: 8000, Address: addr,
		Route: &report.GatewayRouteCheck{Name: "httproute shop/www rule[0]"}}
	ing := probePlan{via: "service ingress/traefik", addr: "10.96.0.50:80"}
	tests := []struct {
		name       string
		served     string
		res        []report.GatewayResolution
		ingAddr    string
		wantPlans  int
		wantEither bool
		wantAddr   string
		wantSkip   bool
	}{
		{name: "served by the Gateway", served: report.ServedByGateway, res: []report.GatewayResolution{gwRes}, wantPlans: 1, wantAddr: "10.96.0.50:80"},
		{name: "served by the Ingress", served: report.ServedByIngress, res: []report.GatewayResolution{gwRes}, wantPlans: 1, wantAddr: "10.96.0.50:80"},
		{name: "both through one Service", served: report.ServedByBoth, res: []report.GatewayResolution{gwRes}, wantPlans: 1, wantEither: true, wantAddr: "10.96.0.50:80"},
		{name: "both through two Services", served: report.ServedByBoth, res: []report.GatewayResolution{gwRes}, ingAddr: "10.96.0.70:80", wantPlans: 2, wantAddr: "10.96.0.70:80"},
		{name: "no Service in front of the Gateway", served: report.ServedByGateway, wantPlans: 1, wantSkip: true,
			res: []report.GatewayResolution{{Gateway: gwRes.Gateway, Listener: "http", Port: 8000, Route: gwRes.Route}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ing
			if tt.ingAddr != "" {
				p.addr = tt.ingAddr
			}
			sim := &report.IngressCheckReport{Gateway: &report.GatewayCheck{Served: tt.served, Resolutions: tt.res}}
			plans := gatewayPlans(p, sim)
			if len(plans) != tt.wantPlans {
				t.Fatalf("%d plans, want %d: %+v", len(plans), tt.wantPlans, plans)
			}
			if plans[0].either != tt.wantEither || (plans[0].skip != "") != tt.wantSkip || (!tt.wantSkip && plans[0].addr != tt.wantAddr) {
				t.Errorf("plan %+v, want either=%v skip=%v addr %s", plans[0], tt.wantEither, tt.wantSkip, tt.wantAddr)
			}
		})
	}
}
