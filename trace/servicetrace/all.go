package servicetrace

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svc-doctor/svc-doctor/trace"
)

// AllOptions configure the diagnosis of every Service of a scope.
type AllOptions struct {
	// Config is the configuration of each Service's trace (its Namespace and Name are set per
	// Service).
	Config Config
	// Static runs the static hops only: no agent, no DNS or traffic checks.
	Static bool
	// Workers bounds how many Services are traced at once (default 32). The agent requests of the
	// Services of one namespace that wait are merged into one exec (trace.Shared), so more Services
	// at once mean fewer, larger execs.
	Workers int
	// MaxAgents bounds how many namespaces hold an agent at once (default 8): a trace that needs
	// the agent of another namespace waits until one of them is done.
	MaxAgents int
	// Agents returns the agent provider of a namespace: its Services share it (one helper pod per
	// namespace, started when the first of them needs it). Unused when Static.
	Agents func(namespace string) trace.AgentProvider
	// Done is called once the last Service of a namespace was traced (the caller deletes that
	// namespace's helper pod), from the worker that traced it.
	Done func(namespace string)
	// Progress is called after each Service, with the number traced and the total.
	Progress func(done, total int)
	// Clock and RequestCount are given to every trace.
	Clock        func() time.Time
	RequestCount func() int64
}

// Defaults of AllOptions.
const (
	DefaultWorkers   = 32
	DefaultMaxAgents = 8
)

// boundedProvider acquires one of the slots before it acquires the agent of p, and gives it back
// in release (once the namespace is done).
type boundedProvider struct {
	p      trace.AgentProvider
	slots  chan struct{}
	shared trace.AgentProvider
	held   atomic.Bool
}

func (b *boundedProvider) Agent(ctx context.Context) (trace.Agent, *trace.Source, error) {
	select {
	case b.slots <- struct{}{}:
		b.held.Store(true)
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	return b.p.Agent(ctx)
}

func (b *boundedProvider) release() {
	if b.held.CompareAndSwap(true, false) {
		<-b.slots
	}
}

// ServiceTrace is the diagnosis of one Service.
type ServiceTrace struct {
	Namespace, Name string
	State           *State
	Steps           []trace.Step
	Verdict         trace.Verdict
}

// TraceAll diagnoses every Service that reads' scope holds, in namespace and name order, and
// returns conv of each trace, called as soon as the trace is done: the trace (its State and Steps)
// is not kept, so that over thousands of Services only what conv keeps stays in memory. The
// static hops are answered from the scope's snapshot (one paginated LIST per kind, never a
// request per Service); the network hops run from one agent per namespace, with at most Workers
// traces at a time. It stops at the first fatal error (the cluster cannot be read) or when ctx
// ends; the results of the traces done so far are returned with it.
//
//nolint:funlen // the worker pool: the queue, the workers and the per-namespace helper release share the count of traces left in each namespace
func TraceAll[T any](ctx context.Context, reads *trace.Reads, opts AllOptions, conv func(ServiceTrace) T) ([]T, error) {
	snap, err := reads.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	type key struct{ ns, name string }
	seen := map[key]bool{}
	var keys []key
	for _, s := range snap.Services {
		k := key{s.Namespace, s.Name}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].ns != keys[j].ns {
			return keys[i].ns < keys[j].ns
		}
		return keys[i].name < keys[j].name
	})
	left := map[string]int{}
	for _, k := range keys {
		left[k.ns]++
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	maxAgents := opts.MaxAgents
	if maxAgents <= 0 {
		maxAgents = DefaultMaxAgents
	}
	hops := Hops()
	if opts.Static {
		hops = StaticHops()
	}
	var (
		mu           sync.Mutex
		out          = make([]T, len(keys))
		ran          = make([]bool, len(keys))
		done         int
		fatal        error
		agents       = map[string]*boundedProvider{}
		slots        = make(chan struct{}, maxAgents)
		jobs         = make(chan int)
		wg           sync.WaitGroup
		tctx, cancel = context.WithCancel(ctx)
	)
	defer cancel()
	provider := func(ns string) trace.AgentProvider {
		mu.Lock()
		defer mu.Unlock()
		if opts.Static || opts.Agents == nil {
			return nil
		}
		if _, ok := agents[ns]; !ok {
			agents[ns] = &boundedProvider{p: opts.Agents(ns), slots: slots}
			agents[ns].shared = trace.Shared(agents[ns])
		}
		return agents[ns].shared
	}
	release := func(ns string) {
		if opts.Done != nil {
			opts.Done(ns)
		}
		mu.Lock()
		b := agents[ns]
		mu.Unlock()
		if b != nil {
			b.release()
		}
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				k := keys[i]
				cfg := opts.Config
				cfg.Namespace, cfg.Name, cfg.Static = k.ns, k.name, opts.Static
				st := NewState(cfg, reads, provider(k.ns))
				st.Clock, st.RequestCount = opts.Clock, opts.RequestCount
				steps := Run(tctx, st, hops)
				out[i] = conv(ServiceTrace{Namespace: k.ns, Name: k.name, State: st, Steps: steps, Verdict: trace.Conclude(steps)})
				ran[i] = true
				mu.Lock()
				done++
				left[k.ns]--
				last := left[k.ns] == 0
				if err := st.Fatal(); err != nil && fatal == nil {
					fatal = err
					cancel()
				}
				n := done
				mu.Unlock()
				if last {
					release(k.ns)
				}
				if opts.Progress != nil {
					opts.Progress(n, len(keys))
				}
			}
		}()
	}
	for i := range keys {
		if tctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	// the namespaces whose traces did not all run (interrupted) are released too
	mu.Lock()
	var pending []string
	for ns, n := range left {
		if n > 0 {
			pending = append(pending, ns)
		}
	}
	mu.Unlock()
	sort.Strings(pending)
	for _, ns := range pending {
		release(ns)
	}
	traced := out[:0]
	for i, t := range out {
		if ran[i] {
			traced = append(traced, t)
		}
	}
	return traced, fatal
}
