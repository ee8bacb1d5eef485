package diagnose

import (
	"context"
	"fmt"
	"time"
)

// Status is the outcome of one hop.
type Status string

// The hop statuses.
const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Cause is what a failing hop found: the root cause in one sentence and a concrete fix (a command
// or a manifest change).
type Cause struct {
	// Hop is the ID of the hop that found it (filled in by the tracer).
	Hop       string `json:"hop"`
	RootCause string `json:"rootCause"`
	Fix       string `json:"fix"`
}

// Result is what one hop reports.
type Result struct {
	Status Status
	// Summary is one line: what the hop found (or, for Skip, why it did not run).
	Summary string
	// Evidence lines back the summary: objects, values, expected against observed.
	Evidence []string
	// Cause is set on a failing hop (and on warnings that deserve a fix).
	Cause *Cause
	// Incomplete is set when the hop could not do its job (forbidden, helper pod unavailable): a
	// trace with an incomplete hop and no failure is inconclusive, not healthy.
	Incomplete bool
	// BlockedBy is set on a hop skipped because a hop it depends on failed or could not run: the
	// ID of that hop.
	BlockedBy string
}

// Hop is one step of the path a request takes to a Service's backends.
type Hop interface {
	ID() string
	Title() string
	// Needs lists the IDs of the hops whose failure makes this one pointless.
	Needs() []string
	Run(ctx context.Context, st *State) Result
}

// SoftNeeder is implemented by a hop that uses other hops' facts but can still run, with less
// evidence, when they could not run (forbidden, timed out): only a failure found on the way
// (in those hops or in the hops that blocked them) skips it.
type SoftNeeder interface {
	SoftNeeds() []string
}

// hop is a Hop made of functions.
type hop struct {
	id, title string
	needs     []string
	soft      []string
	run       func(ctx context.Context, st *State) Result
}

func (h *hop) SoftNeeds() []string { return h.soft }

func (h *hop) ID() string                                { return h.id }
func (h *hop) Title() string                             { return h.title }
func (h *hop) Needs() []string                           { return h.needs }
func (h *hop) Run(ctx context.Context, st *State) Result { return h.run(ctx, st) }

// Hop IDs, in trace order.
const (
	HopService      = "service"
	HopSelector     = "selector"
	HopPorts        = "ports"
	HopReadiness    = "readiness"
	HopEndpoints    = "endpoints"
	HopDNS          = "dns"
	HopConnectivity = "connectivity"
	HopExposure     = "exposure"
)

// Hops returns the full trace, in causal order.
func Hops() []Hop {
	return []Hop{
		&hop{HopService, "Service exists, ports, lint", nil, nil, runService},
		&hop{HopSelector, "selector -> pods", []string{HopService}, nil, runSelector},
		&hop{HopPorts, "port -> targetPort -> container port", []string{HopSelector}, nil, runPorts},
		&hop{HopReadiness, "pod readiness", []string{HopSelector}, nil, runReadiness},
		// the EndpointSlices are read even when the pods could not be (compared with less)
		&hop{HopEndpoints, "EndpointSlices", []string{HopService}, []string{HopPorts, HopReadiness}, runEndpoints},
		&hop{HopDNS, "DNS from the helper", []string{HopService}, nil, runDNS},
		// the ClusterIP is tested even when the EndpointSlices could not be read
		&hop{HopConnectivity, "connectivity from the helper", []string{HopService}, []string{HopEndpoints}, runConnectivity},
		&hop{HopExposure, "NodePort, LoadBalancer, affinity, NetworkPolicies", []string{HopService}, nil, runExposure},
	}
}

// StaticHops are the hops that need no helper pod (the -A summary runs these): the DNS and
// connectivity hops are left out and the exposure hop evaluates only what the API says.
func StaticHops() []Hop {
	var out []Hop
	for _, h := range Hops() {
		if h.ID() != HopDNS && h.ID() != HopConnectivity {
			out = append(out, h)
		}
	}
	return out
}

// Step is one hop's result in a trace.
type Step struct {
	ID       string
	Title    string
	Result   Result
	Duration time.Duration
	// Requests is the number of API requests made while the hop ran (when counted).
	Requests int64
}

// Verdict kinds.
const (
	VerdictHealthy      = "healthy"
	VerdictFault        = "fault"
	VerdictInconclusive = "inconclusive"
)

// Verdict is the one conclusion of a trace.
type Verdict struct {
	// Kind is healthy, fault or inconclusive.
	Kind string `json:"kind"`
	// Hop is the hop the verdict comes from ("" when healthy).
	Hop       string `json:"hop,omitempty"`
	RootCause string `json:"rootCause,omitempty"`
	Fix       string `json:"fix,omitempty"`
	// Message summarises a healthy or inconclusive verdict.
	Message string `json:"message,omitempty"`
}

// Trace runs hops in order over st. A hop whose needed hop failed, was blocked, or could not run
// is skipped with the reason of the hop that stopped it. Cancellation of ctx stops the trace: the
// remaining hops are skipped as interrupted.
func Trace(ctx context.Context, st *State, hops []Hop) []Step {
	steps := make([]Step, 0, len(hops))
	for _, h := range hops {
		start := st.now()
		before := st.requests()
		var r Result
		switch {
		case ctx.Err() != nil:
			r = Result{Status: Skip, Summary: "skipped: interrupted (" + ctx.Err().Error() + ")", Incomplete: true}
		default:
			if blocked, ok := st.blocked(h); ok {
				r = blocked
			} else {
				r = h.Run(ctx, st)
			}
		}
		if r.Cause != nil && r.Cause.Hop == "" {
			r.Cause.Hop = h.ID()
		}
		st.results[h.ID()] = r
		steps = append(steps, Step{ID: h.ID(), Title: h.Title(), Result: r, Duration: st.now().Sub(start), Requests: st.requests() - before})
		if st.fatal != nil {
			break
		}
	}
	return steps
}

// blocked returns a Skip result when one of the hops h needs failed, was blocked or could not
// run, or when one of its soft needs failed or was blocked by a failure.
func (st *State) blocked(h Hop) (Result, bool) {
	for _, id := range h.Needs() {
		if r, ok := st.skipBecause(id); ok {
			return r, true
		}
	}
	if s, ok := h.(SoftNeeder); ok {
		for _, id := range s.SoftNeeds() {
			if r, ok := st.skipBecause(id); ok && st.results[r.BlockedBy].Status == Fail {
				return r, true
			}
		}
	}
	return Result{}, false
}

// skipBecause returns the Skip result of a hop that depends on hop id, when id failed, was
// blocked (the reason is then that of the hop that blocked it) or could not run.
func (st *State) skipBecause(id string) (Result, bool) {
	r, ok := st.results[id]
	if !ok {
		return Result{}, false
	}
	switch {
	case r.BlockedBy != "":
		root := st.results[r.BlockedBy]
		return Result{Status: Skip, Summary: skipReason(root, r.BlockedBy), BlockedBy: r.BlockedBy}, true
	case r.Status == Fail || (r.Status == Skip && r.Incomplete):
		return Result{Status: Skip, Summary: skipReason(r, id), BlockedBy: id}, true
	}
	return Result{}, false
}

func skipReason(r Result, id string) string {
	s := r.Summary
	if r.Status == Skip {
		s = trimSkipped(s)
	}
	return fmt.Sprintf("skipped: %s (hop %s)", s, id)
}

func trimSkipped(s string) string {
	const p = "skipped: "
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// Conclude derives the verdict: the cause of the first failing hop in trace order; else
// inconclusive when a hop could not run; else healthy.
func Conclude(steps []Step) Verdict {
	for _, s := range steps {
		if s.Result.Status == Fail {
			v := Verdict{Kind: VerdictFault, Hop: s.ID, RootCause: s.Result.Summary}
			if c := s.Result.Cause; c != nil {
				v.RootCause, v.Fix = c.RootCause, c.Fix
			}
			return v
		}
	}
	for _, s := range steps {
		if s.Result.Incomplete {
			return Verdict{Kind: VerdictInconclusive, Hop: s.ID,
				Message: fmt.Sprintf("no fault found, but hop %s could not run: %s", s.ID, trimSkipped(s.Result.Summary))}
		}
	}
	warns := 0
	for _, s := range steps {
		if s.Result.Status == Warn {
			warns++
		}
	}
	msg := "no fault found on the path"
	if warns > 0 {
		msg += fmt.Sprintf(" (%d %s: see above)", warns, plural(warns, "warning", "warnings"))
	}
	return Verdict{Kind: VerdictHealthy, Message: msg}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// RunHops runs the hops with the given IDs, in trace order, over st (the focused commands run
// parts of the trace: dnscheck runs service and dns).
func RunHops(ctx context.Context, st *State, ids ...string) []Step {
	var hops []Hop
	for _, h := range Hops() {
		for _, id := range ids {
			if h.ID() == id {
				hops = append(hops, h)
			}
		}
	}
	return Trace(ctx, st, hops)
}
