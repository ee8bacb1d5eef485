package servicetrace

import (
	"context"
	"sort"
	"sync"
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
	// Workers bounds how many Services are traced at once (default 8).
	Workers int
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

// ServiceTrace is the diagnosis of one Service.
type ServiceTrace struct {
	Namespace, Name string
	State           *State
	Steps           []trace.Step
	Verdict         trace.Verdict
}

// TraceAll diagnoses every Service that reads' scope holds, in namespace and name order. The
// static hops are answered from the scope's snapshot (one paginated LIST per kind, never a
// request per Service); the network hops run from one agent per namespace, with at most Workers
// traces at a time. It stops at the first fatal error (the cluster cannot be read) or when ctx
// ends; the traces done so far are returned with it.
//
//nolint:funlen // the worker pool: the queue, the workers and the per-namespace helper release share the count of traces left in each namespace
func TraceAll(ctx context.Context, reads *trace.Reads, opts AllOptions) ([]ServiceTrace, error) {
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
		workers = 8
	}
	hops := Hops()
	if opts.Static {
		hops = StaticHops()
	}
	var (
		mu           sync.Mutex
		out          = make([]ServiceTrace, len(keys))
		done         int
		fatal        error
		agents       = map[string]trace.AgentProvider{}
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
			agents[ns] = trace.Shared(opts.Agents(ns))
		}
		return agents[ns]
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
				out[i] = ServiceTrace{Namespace: k.ns, Name: k.name, State: st, Steps: steps, Verdict: trace.Conclude(steps)}
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
				if last && opts.Done != nil {
					opts.Done(k.ns)
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
		if opts.Done != nil {
			opts.Done(ns)
		}
	}
	traced := out[:0]
	for _, t := range out {
		if t.State != nil {
			traced = append(traced, t)
		}
	}
	return traced, fatal
}
