package trace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svc-doctor/svc-doctor/agent"
)

// gatedAgent answers each DNS check with the queried name as the result's target, once gate is
// closed; it records the number of checks of every request and the state of its context.
type gatedAgent struct {
	gate chan struct{}
	err  error
	drop bool // answer one result too few

	mu      sync.Mutex
	sizes   []int
	ctxDone []bool
}

func (g *gatedAgent) Run(ctx context.Context, req agent.Request) (*agent.Response, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.sizes = append(g.sizes, len(req.Checks))
	g.mu.Unlock()
	select {
	case <-g.gate:
	case <-ctx.Done():
		g.mu.Lock()
		g.ctxDone = append(g.ctxDone, true)
		g.mu.Unlock()
		return nil, ctx.Err()
	}
	if g.err != nil {
		return nil, g.err
	}
	resp := &agent.Response{APIVersion: agent.APIVersion, Kind: agent.KindCheckResponse, AgentVersion: "test"}
	for _, c := range req.Checks {
		resp.Results = append(resp.Results, agent.Result{ID: c.ID, Type: c.Type, OK: true, Target: c.DNS.Name})
	}
	if g.drop {
		resp.Results = resp.Results[1:]
	}
	return resp, nil
}

func (g *gatedAgent) calls() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.sizes...)
}

// dnsRequest is request i of checks DNS checks, named after i and the check.
func dnsRequest(i, checks int) agent.Request {
	req := agent.NewRequest()
	for j := range checks {
		req.Checks = append(req.Checks, agent.Check{ID: fmt.Sprintf("dns-%d", j), Type: agent.CheckDNS,
			DNS: &agent.DNSCheck{Name: fmt.Sprintf("svc-%d-%d.ns.svc.cluster.local.", i, j), QType: agent.QueryA}})
	}
	return req
}

type answer struct {
	resp *agent.Response
	err  error
}

// queue sends requests 0..n-1 of checks checks each through c, and waits until the first
// MaxInFlight run and the others wait in the queue.
func queue(t *testing.T, c *coalescer, g *gatedAgent, n, checks int, ctxOf func(i int) context.Context) []chan answer {
	t.Helper()
	out := make([]chan answer, n)
	for i := range n {
		out[i] = make(chan answer, 1)
		go func() {
			resp, err := c.Run(ctxOf(i), dnsRequest(i, checks))
			out[i] <- answer{resp, err}
		}()
		if i < MaxInFlight {
			waitFor(t, func() bool { return len(g.calls()) == i+1 })
		}
	}
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.queue) == n-MaxInFlight
	})
	return out
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCoalesceMergesWaitingRequests: the requests that queue while MaxInFlight execs run are sent
// together, as many as fit in agent.MaxChecks, and every caller gets the answers to its own checks,
// with its own IDs, in its own order.
func TestCoalesceMergesWaitingRequests(t *testing.T) {
	for _, tc := range []struct {
		name          string
		requests      int
		checks        int
		wantCallSizes []int
	}{
		{name: "ten small requests", requests: 12, checks: 3, wantCallSizes: []int{3, 3, 30}},
		{name: "packed up to MaxChecks", requests: 32, checks: 5, wantCallSizes: []int{5, 5, 60, 60, 30}},
		{name: "full requests go alone", requests: 5, checks: agent.MaxChecks, wantCallSizes: []int{64, 64, 64, 64, 64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &gatedAgent{gate: make(chan struct{})}
			c := Coalesce(g).(*coalescer)
			answers := queue(t, c, g, tc.requests, tc.checks, func(int) context.Context { return context.Background() })
			close(g.gate)
			for i, ch := range answers {
				a := <-ch
				if a.err != nil {
					t.Fatalf("request %d: %v", i, a.err)
				}
				if err := a.resp.MatchRequest(dnsRequest(i, tc.checks)); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				for j, r := range a.resp.Results {
					if want := fmt.Sprintf("svc-%d-%d.ns.svc.cluster.local.", i, j); r.Target != want {
						t.Errorf("request %d result %d answers %q, want %q", i, j, r.Target, want)
					}
				}
			}
			got := g.calls()
			sort.Ints(got) // two execs run at once: their order is the scheduler's
			if want := slices.Sorted(slices.Values(tc.wantCallSizes)); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("execs of %v checks, want %v", got, want)
			}
		})
	}
}

// TestCoalesceFailures: a failed exec, or an answer that does not match the merged request, fails
// every request it carried; a caller that gives up returns at once without failing the others.
func TestCoalesceFailures(t *testing.T) {
	boom := errors.New("exec: connection reset")
	for _, tc := range []struct {
		name    string
		agent   *gatedAgent
		wantErr string
	}{
		{name: "exec fails", agent: &gatedAgent{err: boom}, wantErr: "connection reset"},
		{name: "answer of the wrong length", agent: &gatedAgent{drop: true}, wantErr: "results for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.agent.gate = make(chan struct{})
			c := Coalesce(tc.agent).(*coalescer)
			answers := queue(t, c, tc.agent, 6, 2, func(int) context.Context { return context.Background() })
			close(tc.agent.gate)
			for i, ch := range answers {
				if a := <-ch; a.err == nil || !strings.Contains(a.err.Error(), tc.wantErr) {
					t.Errorf("request %d: error %v, want one containing %q", i, a.err, tc.wantErr)
				}
			}
		})
	}
	t.Run("a caller gives up", func(t *testing.T) {
		g := &gatedAgent{gate: make(chan struct{})}
		c := Coalesce(g).(*coalescer)
		ctx, cancel := context.WithCancel(context.Background())
		answers := queue(t, c, g, 5, 2, func(i int) context.Context {
			if i == 3 {
				return ctx
			}
			return context.Background()
		})
		cancel()
		if a := <-answers[3]; !errors.Is(a.err, context.Canceled) {
			t.Fatalf("the cancelled caller got %v, want context.Canceled", a.err)
		}
		close(g.gate)
		for i, ch := range answers {
			if i == 3 {
				continue
			}
			if a := <-ch; a.err != nil {
				t.Errorf("request %d failed with the cancelled one: %v", i, a.err)
			}
		}
		if got := g.calls(); fmt.Sprint(got) != "[2 2 4]" {
			t.Errorf("execs of %v checks, want [2 2 4] (the cancelled request dropped from the queue)", got)
		}
	})
	t.Run("every caller gives up", func(t *testing.T) {
		g := &gatedAgent{gate: make(chan struct{})}
		c := Coalesce(g).(*coalescer)
		ctx, cancel := context.WithCancel(context.Background())
		answers := queue(t, c, g, 2, 1, func(int) context.Context { return ctx })
		cancel()
		for _, ch := range answers {
			<-ch
		}
		waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.ctxDone) == 2 })
	})
}
