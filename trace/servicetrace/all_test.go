package servicetrace

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/tracetest"
)

// countingProvider counts the agents acquired through it.
type countingProvider struct {
	mu    *sync.Mutex
	count map[string]int
	ns    string
	net   *tracetest.FakeNet
}

func (p *countingProvider) Agent(context.Context) (trace.Agent, *trace.Source, error) {
	p.mu.Lock()
	p.count[p.ns]++
	p.mu.Unlock()
	return p.net, &trace.Source{Description: "helper pod " + p.ns + "/h", Namespace: p.ns}, nil
}

// TestTraceAllOneAgentPerNamespace traces the Services of three namespaces with several workers:
// every Service is traced once, each namespace's Services share one agent (one helper pod), and
// each namespace is released exactly once.
func TestTraceAllOneAgentPerNamespace(t *testing.T) {
	var objs []runtime.Object
	n := tracetest.NewNet()
	for _, ns := range []string{"a", "b", "c"} {
		for i := 0; i < 5; i++ {
			name := fmt.Sprintf("svc%d", i)
			s := tracetest.Service(name)
			s.Namespace = ns
			objs = append(objs, s)
		}
	}
	var mu sync.Mutex
	acquired := map[string]int{}
	released := map[string]int{}
	reads := trace.NewReads(fake.NewSimpleClientset(objs...), "")
	traces, err := traceAll(context.Background(), reads, AllOptions{
		Workers: 4,
		Agents: func(ns string) trace.AgentProvider {
			return &countingProvider{mu: &mu, count: acquired, ns: ns, net: n}
		},
		Done: func(ns string) {
			mu.Lock()
			released[ns]++
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range traces {
		names = append(names, tr.Namespace+"/"+tr.Name)
		if tr.Verdict.Kind == "" {
			t.Errorf("%s/%s has no verdict", tr.Namespace, tr.Name)
		}
	}
	if len(names) != 15 || !sort.StringsAreSorted(names) {
		t.Errorf("traced %d Services (%v), want 15 in namespace/name order", len(names), names)
	}
	for _, ns := range []string{"a", "b", "c"} {
		if released[ns] != 1 {
			t.Errorf("namespace %s released %d times, want 1", ns, released[ns])
		}
		if acquired[ns] > 1 {
			t.Errorf("namespace %s acquired %d agents, want at most 1", ns, acquired[ns])
		}
	}
}

// TestTraceAllStatic runs no agent at all.
func TestTraceAllStatic(t *testing.T) {
	reads := trace.NewReads(fake.NewSimpleClientset(tracetest.Service("web")), "")
	traces, err := traceAll(context.Background(), reads, AllOptions{Static: true,
		Agents: func(string) trace.AgentProvider { t.Fatal("an agent was asked for with Static"); return nil }})
	if err != nil || len(traces) != 1 {
		t.Fatalf("%d traces, %v", len(traces), err)
	}
	for _, s := range traces[0].Steps {
		if s.ID == HopDNS || s.ID == HopConnectivity {
			t.Errorf("hop %s ran with Static", s.ID)
		}
	}
	if traces[0].Verdict.Kind == report.VerdictHealthy && len(traces[0].Steps) == 0 {
		t.Error("no hops ran")
	}
}

// boundProvider hands out a slow agent and records how many namespaces hold one at once.
type boundProvider struct {
	ns   string
	net  *tracetest.FakeNet
	live *liveCount
}

type liveCount struct {
	mu        sync.Mutex
	now, most int
}

func (p *boundProvider) Agent(context.Context) (trace.Agent, *trace.Source, error) {
	p.live.mu.Lock()
	p.live.now++
	p.live.most = max(p.live.most, p.live.now)
	p.live.mu.Unlock()
	return slowAgent{p.net}, &trace.Source{Description: "helper pod " + p.ns + "/h", Namespace: p.ns}, nil
}

// slowAgent takes a little time per request, as an exec does, so that requests queue behind it.
type slowAgent struct{ net *tracetest.FakeNet }

func (a slowAgent) Run(ctx context.Context, req agent.Request) (*agent.Response, error) {
	time.Sleep(5 * time.Millisecond)
	return a.net.Run(ctx, req)
}

// TestTraceAllBoundsAgentsAndMergesRequests traces 36 healthy Services of 6 namespaces with 16
// workers: at most MaxAgents namespaces hold a helper at once, and the agent requests of the
// Services that wait are merged (fewer requests than Services), each Service still healthy.
func TestTraceAllBoundsAgentsAndMergesRequests(t *testing.T) {
	n := tracetest.NewNet()
	var objs []runtime.Object
	for i := range 6 {
		ns := fmt.Sprintf("ns%d", i)
		for j := range 6 {
			name := fmt.Sprintf("web%d", j)
			ip, clusterIP := fmt.Sprintf("10.244.%d.%d", i, j+1), fmt.Sprintf("10.96.%d.%d", i, j+1)
			s := tracetest.Service(name)
			s.Namespace, s.Spec.ClusterIP, s.Spec.ClusterIPs = ns, clusterIP, []string{clusterIP}
			sl := tracetest.Slice(name, tracetest.SliceEP{IP: ip, Pod: name, Ready: true})
			sl.Namespace, sl.Endpoints[0].TargetRef.Namespace = ns, ns
			objs = append(objs, s, sl, tracetest.Pod(name, name, ip, tracetest.InNamespace(ns)))
			fqdn := name + "." + ns + ".svc.cluster.local."
			n.Zone["A "+fqdn] = []string{clusterIP}
			n.Zone["SRV _http._tcp."+fqdn] = []string{fqdn + ":80"}
		}
	}
	live := &liveCount{}
	traces, err := traceAll(context.Background(), trace.NewReads(fake.NewSimpleClientset(objs...), ""), AllOptions{
		Workers: 16, MaxAgents: 2,
		Agents: func(ns string) trace.AgentProvider { return &boundProvider{ns: ns, net: n, live: live} },
		Done: func(string) {
			live.mu.Lock()
			live.now--
			live.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != 36 {
		t.Fatalf("%d traces, want 36", len(traces))
	}
	for _, tr := range traces {
		if tr.Verdict.Kind != report.VerdictHealthy {
			t.Errorf("%s/%s: verdict %+v, want healthy", tr.Namespace, tr.Name, tr.Verdict)
		}
	}
	if live.most > 2 {
		t.Errorf("%d namespaces held a helper at once, want at most MaxAgents 2", live.most)
	}
	if n.Requests >= len(traces) {
		t.Errorf("%d agent requests for %d Services: the waiting requests were not merged", n.Requests, len(traces))
	}
	t.Logf("%d agent requests, %d checks, at most %d helpers at once", n.Requests, len(n.Checks), live.most)
}

// traceAll is TraceAll keeping the whole traces.
func traceAll(ctx context.Context, reads *trace.Reads, opts AllOptions) ([]ServiceTrace, error) {
	return TraceAll(ctx, reads, opts, func(t ServiceTrace) ServiceTrace { return t })
}
