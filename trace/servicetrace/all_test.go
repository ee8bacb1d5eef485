package servicetrace

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

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
	traces, err := TraceAll(context.Background(), reads, AllOptions{
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
	traces, err := TraceAll(context.Background(), reads, AllOptions{Static: true,
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
