package trace

import (
	"context"
	"fmt"
	"sync"

	"github.com/svc-doctor/svc-doctor/agent"
)

// Every agent request is one exec through the API server, and on a node an exec costs about
// 0.3 s of runtime work however small the request (measured: eight concurrent execs into one
// container take as long as eight in a row). When the traces of many Services share one agent
// (diagnose -A / -n NS), Coalesce merges the requests that wait into one exec: requests queue while
// up to MaxInFlight execs run, and each exec carries as many queued requests as fit in
// agent.MaxChecks. Each caller gets the answers to its own checks, in its own order, with its own
// IDs; an exec that fails fails each of the requests it carried.

// MaxInFlight is how many merged requests Coalesce runs at once. Two let one batch wait on a slow
// check (a connection that times out) while the next one runs.
const MaxInFlight = 2

// Coalesce returns an Agent that merges concurrent requests to ag (see above). It is safe for use
// from many goroutines.
func Coalesce(ag Agent) Agent { return &coalescer{ag: ag} }

type coalescer struct {
	ag Agent

	mu       sync.Mutex
	queue    []*pending
	inFlight int
}

type pending struct {
	ctx  context.Context
	req  agent.Request
	resp *agent.Response
	err  error
	done chan struct{}
}

// Run queues req and waits for its answer, or until ctx ends.
func (c *coalescer) Run(ctx context.Context, req agent.Request) (*agent.Response, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("agent request: %w", err)
	}
	p := &pending{ctx: ctx, req: req, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, p)
	c.startLocked()
	c.mu.Unlock()
	select {
	case <-p.done:
		return p.resp, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// startLocked starts an exec for the queued requests while fewer than MaxInFlight run.
func (c *coalescer) startLocked() {
	for c.inFlight < MaxInFlight {
		batch := c.takeLocked()
		if len(batch) == 0 {
			return
		}
		c.inFlight++
		go c.run(batch)
	}
}

// takeLocked removes from the queue the requests of the next exec: the oldest ones whose checks
// fit in one request together; requests whose context already ended are dropped.
func (c *coalescer) takeLocked() []*pending {
	var batch []*pending
	n := 0
	for len(c.queue) > 0 {
		p := c.queue[0]
		if p.ctx.Err() != nil {
			c.queue = c.queue[1:]
			continue
		}
		if len(batch) > 0 && n+len(p.req.Checks) > agent.MaxChecks {
			break
		}
		batch = append(batch, p)
		n += len(p.req.Checks)
		c.queue = c.queue[1:]
	}
	return batch
}

func (c *coalescer) run(batch []*pending) {
	defer func() {
		c.mu.Lock()
		c.inFlight--
		c.startLocked()
		c.mu.Unlock()
	}()
	ctx, cancel := batchContext(batch)
	defer cancel()
	merged := batch[0].req
	if len(batch) > 1 {
		merged = agent.NewRequest()
		merged.APIVersion, merged.Kind = batch[0].req.APIVersion, batch[0].req.Kind
		for i, p := range batch {
			for _, ch := range p.req.Checks {
				ch.ID = fmt.Sprintf("r%d.%s", i, ch.ID)
				merged.Checks = append(merged.Checks, ch)
			}
		}
	}
	resp, err := c.ag.Run(ctx, merged)
	switch {
	case err != nil:
	case resp == nil:
		err = fmt.Errorf("the agent gave no response to %d checks", len(merged.Checks))
	default:
		err = resp.MatchRequest(merged)
	}
	at := 0
	for _, p := range batch {
		if err != nil {
			p.err = err
		} else {
			own := *resp
			own.Results = make([]agent.Result, len(p.req.Checks))
			for j, ch := range p.req.Checks {
				own.Results[j] = resp.Results[at+j]
				own.Results[j].ID = ch.ID
			}
			p.resp = &own
		}
		at += len(p.req.Checks)
		close(p.done)
	}
}

// batchContext returns a context for an exec that carries batch: it ends when every request's
// context has ended (one caller giving up does not fail the others), and keeps the values of the
// first.
func batchContext(batch []*pending) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(batch[0].ctx))
	var mu sync.Mutex
	left := len(batch)
	stops := make([]func() bool, 0, len(batch))
	for _, p := range batch {
		stops = append(stops, context.AfterFunc(p.ctx, func() {
			mu.Lock()
			left--
			last := left == 0
			mu.Unlock()
			if last {
				cancel()
			}
		}))
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
