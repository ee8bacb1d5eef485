package expose

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/svc-doctor/svc-doctor/live"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

func TestSummarizeSlices(t *testing.T) {
	term := true
	v4 := readySlice("web", true, false, true)
	v6 := readySlice("web", true) // the same pod web-0 in the IPv6 slice counts once
	v6.Name, v6.AddressType, v6.Endpoints[0].Addresses = "web-v6", discoveryv1.AddressTypeIPv6, []string{"fd00::a"}
	gone := readySlice("web", false)
	gone.Endpoints[0].TargetRef.Name, gone.Endpoints[0].Conditions.Terminating = "web-old", &term
	manual := &discoveryv1.EndpointSlice{Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"192.0.2.1"}}}} // ready unset = ready
	got := SummarizeSlices([]*discoveryv1.EndpointSlice{v4, v6, gone, manual}, nil)
	want := EndpointsStatus{Ready: 3, Total: 4, NotReady: []string{"pod/web-1 (10.244.0.11)"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if got.String() != "3/4 endpoints ready" {
		t.Errorf("String() = %q", got.String())
	}
	// for a Service's ports: a slice without ports (no targetPort resolved) does not count, and a
	// port without a ready endpoint is named
	noPorts := readySlice("web", true)
	noPorts.Name, noPorts.Ports = "web-noports", nil
	noPorts.Endpoints[0].TargetRef.Name = "web-9"
	ports := []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}, {Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP}}
	got = SummarizeSlices([]*discoveryv1.EndpointSlice{readySlice("web", true, false), noPorts}, ports)
	want = EndpointsStatus{Ready: 1, Total: 2, NotReady: []string{"pod/web-1 (10.244.0.11)"}, Unserved: []string{"metrics (9090/TCP)"}}
	if diff := cmp.Diff(want, got); diff != "" || got.Served() {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// watchStarted makes cs signal each Watch call on resource.
func watchStarted(cs *fake.Clientset, resource string) <-chan struct{} {
	ch := make(chan struct{}, 10)
	cs.PrependWatchReactor(resource, func(k8stesting.Action) (bool, watch.Interface, error) {
		ch <- struct{}{}
		return false, nil, nil
	})
	return ch
}

func TestWaitEndpointsFollowsTheWatch(t *testing.T) {
	cs := fake.NewClientset()
	started := watchStarted(cs, "endpointslices")
	type outcome struct {
		res WaitResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := WaitEndpoints(context.Background(), cs, "shop", "web", nil, 10*time.Second, 5*time.Second)
		done <- outcome{res, err}
	}()
	<-started
	ctx := context.Background()
	es := readySlice("web", false, false)
	if _, err := cs.DiscoveryV1().EndpointSlices("shop").Create(ctx, es, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := readySlice("api", true) // another Service's slice is ignored
	other.Name = "api-x"
	if _, err := cs.DiscoveryV1().EndpointSlices("shop").Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	es.Endpoints[0].Conditions.Ready = ptr(true)
	if _, err := cs.DiscoveryV1().EndpointSlices("shop").Update(ctx, es, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-done:
		t.Fatalf("returned with 1 of 2 ready before the settle time: %+v %v", o.res, o.err)
	case <-time.After(100 * time.Millisecond):
	}
	es.Endpoints[1].Conditions.Ready = ptr(true)
	if _, err := cs.DiscoveryV1().EndpointSlices("shop").Update(ctx, es, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	o := <-done
	if o.err != nil || !o.res.OK || o.res.Endpoints.String() != "2/2 endpoints ready" {
		t.Fatalf("%+v %v", o.res, o.err)
	}
}

func TestWaitEndpointsSettlesOnPartial(t *testing.T) {
	cs := fake.NewClientset(readySlice("web", true, false))
	res, err := WaitEndpoints(context.Background(), cs, "shop", "web", nil, 5*time.Second, 50*time.Millisecond)
	if err != nil || !res.OK || res.Endpoints.String() != "1/2 endpoints ready" || res.Elapsed > 2*time.Second {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestWaitEndpointsTimesOut(t *testing.T) {
	cs := fake.NewClientset(readySlice("web", false))
	res, err := WaitEndpoints(context.Background(), cs, "shop", "web", nil, 150*time.Millisecond, time.Second)
	if !errors.Is(err, errTimeout) || res.OK || res.Endpoints.String() != "0/1 endpoints ready" {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestWaitIngress(t *testing.T) {
	cs := fake.NewClientset()
	ctx := context.Background()
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "shop"}}
	if _, err := cs.NetworkingV1().Ingresses("shop").Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	started := watchStarted(cs, "ingresses")
	done := make(chan WaitResult, 1)
	go func() {
		res, _ := WaitIngress(ctx, cs, "shop", "shop", 10*time.Second)
		done <- res
	}()
	<-started
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "10.201.0.1"}}
	if _, err := cs.NetworkingV1().Ingresses("shop").UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if res := <-done; !res.OK || len(res.Addresses) != 1 || res.Addresses[0] != "10.201.0.1" {
		t.Fatalf("%+v", res)
	}
	if res, err := WaitIngress(ctx, fake.NewClientset(), "shop", "none", 100*time.Millisecond); res.OK || !errors.Is(err, errTimeout) {
		t.Fatalf("%+v %v", res, err)
	}
}

// liveSnapshot is a live-looking snapshot of namespace shop built from the test neighbours.
func liveSnapshot(t *testing.T, extra ...runtime.Object) *snapshot.Snapshot {
	t.Helper()
	cs := fake.NewClientset(append(neighbours(t), extra...)...)
	s, err := live.FromCluster(context.Background(), cs, live.ClusterOptions{Namespace: "shop", SkipNodes: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckAgainstNeighbours(t *testing.T) {
	cfg := rules.DefaultConfig()
	cfg.Now = testNow
	oldIngress := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "shop", CreationTimestamp: metav1.NewTime(testNow.Add(-time.Hour))},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "api", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}}
	other := oldIngress.DeepCopy()
	other.Name = "legacy"
	other.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "storefront"
	taken := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "np", Namespace: "other"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
		Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP}}}}
	ingressPlan := func(name string) *Plan {
		r, _ := ParseRule("shop.example.com/*=api:80", networkingv1.PathTypePrefix)
		ing, err := BuildIngress(IngressSpec{Name: name, Namespace: "shop", Rules: []IngressRule{r}})
		if err != nil {
			t.Fatal(err)
		}
		return &Plan{Ingress: ing}
	}
	tests := []struct {
		name  string
		base  *snapshot.Snapshot
		plan  func() *Plan
		want  []string // rule: severity
		setup func(*snapshot.Snapshot)
	}{
		{
			name: "a rerun replaces its own Ingress: no conflict with itself",
			base: liveSnapshot(t, oldIngress),
			plan: func() *Plan { return ingressPlan("shop") },
		},
		{
			name: "another Ingress with the same route: the conflict is reported on the new one",
			base: liveSnapshot(t, other),
			plan: func() *Plan { return ingressPlan("shop") },
			want: []string{"ingress-route-conflict: warning"},
		},
		{
			name: "node port taken in another namespace",
			base: liveSnapshot(t),
			setup: func(s *snapshot.Snapshot) {
				s.Services = append(s.Services, &snapshot.Service{Service: taken, Src: &snapshot.Source{Ref: refOf("v1", "Service", "other", "np")}})
			},
			plan: func() *Plan {
				svc, err := BuildService(ServiceSpec{Name: "web", Namespace: "shop", Type: corev1.ServiceTypeNodePort, Ports: []PortSpec{{Port: 80, Target: intstr.FromString("http")}},
					Protocol: corev1.ProtocolTCP, NodePorts: []int32{30080}}, &Target{Kind: "deployment", Name: "web",
					Selector: map[string]string{"app": "web"}, Template: webTemplate()})
				if err != nil {
					t.Fatal(err)
				}
				return &Plan{Service: svc}
			},
			want: []string{"service-node-port-conflict: error"},
		},
		{
			name: "external endpoints with a loopback address",
			base: liveSnapshot(t),
			plan: func() *Plan {
				p, err := BuildExternal(ServiceSpec{Name: "db", Namespace: "shop", Ports: []PortSpec{{Port: 5432}}}, []string{"127.0.0.1"}, false)
				if err != nil {
					t.Fatal(err)
				}
				return p
			},
			want: []string{"endpoints-address-invalid: error"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(tt.base)
			}
			plan := tt.plan()
			n := tt.base.Objects()
			res, err := Check(WithPlan(tt.base, plan, testNow), plan, cfg, n)
			if err != nil {
				t.Fatal(err)
			}
			mine := map[string]bool{}
			for _, o := range plan.Objects() {
				mine[refKey(o)] = true
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, f.Rule+": "+f.Severity.String())
				if f.Object == nil || !mine[f.Object.Kind+"/"+f.Object.Namespace+"/"+f.Object.Name] {
					t.Errorf("finding about another object: %+v", f)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s\n%+v", diff, res.Findings)
			}
			if res.Counts.Error != len(filter(res.Findings, report.Error)) {
				t.Errorf("counts %+v", res.Counts)
			}
		})
	}
}

func filter(fs []report.Finding, sev report.Severity) []report.Finding {
	var out []report.Finding
	for _, f := range fs {
		if f.Severity == sev {
			out = append(out, f)
		}
	}
	return out
}
