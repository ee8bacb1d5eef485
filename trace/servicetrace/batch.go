package servicetrace

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/trace"
)

// The network hops (DNS, connectivity) each send their checks to the agent, and every request is
// one exec through the API server. batchAgent lets the first of them send the checks of both in
// one request (prefetch): the agent runs them concurrently, and each hop then finds its answers
// without an exec of its own. An answer is served once: a check asked again (the ClusterIP retried
// after a failure) goes to the agent.
type batchAgent struct {
	ag      trace.Agent
	version string
	answers map[string][]agent.Result // check (without its ID) -> answers not yet served
}

func newBatchAgent(ag trace.Agent) *batchAgent {
	return &batchAgent{ag: ag, answers: map[string][]agent.Result{}}
}

func checkKey(c agent.Check) string {
	c.ID = ""
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Sprintf("%#v", c)
	}
	return string(b)
}

// prefetch runs checks in one request and keeps their answers for the requests that follow.
func (b *batchAgent) prefetch(ctx context.Context, checks []agent.Check) error {
	if len(checks) == 0 || len(checks) > agent.MaxChecks {
		return nil
	}
	req := agent.Request{APIVersion: agent.APIVersion, Kind: agent.KindCheckRequest}
	for i, c := range checks {
		c.ID = fmt.Sprintf("batch-%d", i)
		req.Checks = append(req.Checks, c)
	}
	resp, err := b.ag.Run(ctx, req)
	if err != nil {
		return err
	}
	b.version = resp.AgentVersion
	for i, c := range req.Checks {
		if i < len(resp.Results) {
			k := checkKey(c)
			b.answers[k] = append(b.answers[k], resp.Results[i])
		}
	}
	return nil
}

// Run implements trace.Agent: the checks answered by a prefetch are served from it, the others
// are sent in one request.
func (b *batchAgent) Run(ctx context.Context, req agent.Request) (*agent.Response, error) {
	resp := &agent.Response{APIVersion: agent.APIVersion, Kind: agent.KindCheckResponse, AgentVersion: b.version,
		Results: make([]agent.Result, len(req.Checks))}
	var missing []int
	for i, c := range req.Checks {
		k := checkKey(c)
		if as := b.answers[k]; len(as) > 0 {
			r := as[0]
			b.answers[k] = as[1:]
			r.ID = c.ID
			resp.Results[i] = r
			continue
		}
		missing = append(missing, i)
	}
	if len(missing) == 0 {
		return resp, nil
	}
	sub := agent.Request{APIVersion: req.APIVersion, Kind: req.Kind}
	for _, i := range missing {
		sub.Checks = append(sub.Checks, req.Checks[i])
	}
	got, err := b.ag.Run(ctx, sub)
	if err != nil {
		return nil, err
	}
	if len(got.Results) != len(sub.Checks) {
		return got, nil // the agent rejected the request: pass its answer on as it is
	}
	resp.AgentVersion = got.AgentVersion
	for j, i := range missing {
		resp.Results[i] = got.Results[j]
	}
	return resp, nil
}
