// Package trace is svc-doctor's trace engine: an ordered list of hops, each returning
// Pass/Warn/Fail/Skip with evidence, run over a shared state; a hop whose prerequisite failed is
// skipped and says why; the verdict is the cause of the first failing hop in causal order. It also
// holds what every layer of a trace shares: the cached, time-bounded reads of the cluster (Reads)
// and the agent that runs network checks from inside the cluster (Agent, AgentProvider, Source).
//
// The layers are packages of their own that the engine runs: the Service trace
// (trace/servicetrace) and the route layers in front of it (route/...), which resolve a request to a
// backend Service and hand over to the Service trace. The engine knows nothing of cobra, flags or
// output formats.
package trace

import (
	"context"
	"fmt"
	"time"

	"github.com/svc-doctor/svc-doctor/report"
)

// Status is the outcome of one hop.
type Status = report.HopStatus

// The hop statuses.
const (
	Pass = report.HopPass
	Warn = report.HopWarn
	Fail = report.HopFail
	Skip = report.HopSkip
)

// Cause is what a failing hop found: the root cause in one sentence and a concrete fix.
type Cause = report.Cause

// Verdict is the one conclusion of a trace.
type Verdict = report.Verdict

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

// Run is the engine's bookkeeping of one trace: the results so far, the clock, the request counter
// and the fatal error that stops it. A layer's state embeds it.
type Run struct {
	// Clock and RequestCount are injected (tests fix the clock; the CLI counts API requests).
	Clock        func() time.Time
	RequestCount func() int64

	results map[string]Result
	fatal   error
}

// TraceRun returns the engine's bookkeeping; a layer's state gets it by embedding Run.
func (r *Run) TraceRun() *Run { return r }

// Result returns the result of a hop that ran, and whether it ran.
func (r *Run) Result(id string) (Result, bool) {
	res, ok := r.results[id]
	return res, ok
}

// Fatal is the error that stopped the trace (the cluster cannot be read at all), or nil.
func (r *Run) Fatal() error { return r.fatal }

// Stop stops the trace after the current hop: nothing else can be learnt (the cluster cannot be
// read at all).
func (r *Run) Stop(err error) { r.fatal = err }

// Now is the run's clock.
func (r *Run) Now() time.Time {
	if r.Clock != nil {
		return r.Clock()
	}
	return time.Now()
}

func (r *Run) requests() int64 {
	if r.RequestCount != nil {
		return r.RequestCount()
	}
	return 0
}

// State is the state a layer's hops share; it embeds Run.
type State interface {
	TraceRun() *Run
}

// Hop is one step of the path a request takes.
type Hop[S State] interface {
	ID() string
	Title() string
	// Needs lists the IDs of the hops whose failure makes this one pointless.
	Needs() []string
	Run(ctx context.Context, st S) Result
}

// SoftNeeder is implemented by a hop that uses other hops' facts but can still run, with less
// evidence, when they could not run (forbidden, timed out): only a failure found on the way
// (in those hops or in the hops that blocked them) skips it.
type SoftNeeder interface {
	SoftNeeds() []string
}

// NewHop builds a hop from a function.
func NewHop[S State](id, title string, needs, soft []string, run func(ctx context.Context, st S) Result) Hop[S] {
	return &funcHop[S]{id: id, title: title, needs: needs, soft: soft, run: run}
}

type funcHop[S State] struct {
	id, title string
	needs     []string
	soft      []string
	run       func(ctx context.Context, st S) Result
}

func (h *funcHop[S]) SoftNeeds() []string                  { return h.soft }
func (h *funcHop[S]) ID() string                           { return h.id }
func (h *funcHop[S]) Title() string                        { return h.title }
func (h *funcHop[S]) Needs() []string                      { return h.needs }
func (h *funcHop[S]) Run(ctx context.Context, st S) Result { return h.run(ctx, st) }

// Step is one hop's result in a trace.
type Step struct {
	ID       string
	Title    string
	Result   Result
	Duration time.Duration
	// Requests is the number of API requests made while the hop ran (when counted).
	Requests int64
}

// Trace runs hops in order over st. A hop whose needed hop failed, was blocked, or could not run
// is skipped with the reason of the hop that stopped it. Cancellation of ctx stops the trace: the
// remaining hops are skipped as interrupted. A hop that calls Stop ends the trace after it.
func Trace[S State](ctx context.Context, st S, hops []Hop[S]) []Step {
	run := st.TraceRun()
	if run.results == nil {
		run.results = map[string]Result{}
	}
	steps := make([]Step, 0, len(hops))
	for _, h := range hops {
		start := run.Now()
		before := run.requests()
		var r Result
		switch {
		case ctx.Err() != nil:
			r = Result{Status: Skip, Summary: "skipped: interrupted (" + ctx.Err().Error() + ")", Incomplete: true}
		default:
			if blocked, ok := run.blocked(h.Needs(), softNeeds(h)); ok {
				r = blocked
			} else {
				r = h.Run(ctx, st)
			}
		}
		if r.Cause != nil && r.Cause.Hop == "" {
			r.Cause.Hop = h.ID()
		}
		run.results[h.ID()] = r
		steps = append(steps, Step{ID: h.ID(), Title: h.Title(), Result: r, Duration: run.Now().Sub(start), Requests: run.requests() - before})
		if run.fatal != nil {
			break
		}
	}
	return steps
}

func softNeeds(h any) []string {
	if s, ok := h.(SoftNeeder); ok {
		return s.SoftNeeds()
	}
	return nil
}

// blocked returns a Skip result when one of the needed hops failed, was blocked or could not
// run, or when one of the soft needs failed or was blocked by a failure.
func (r *Run) blocked(needs, soft []string) (Result, bool) {
	for _, id := range needs {
		if res, ok := r.SkipBecause(id); ok {
			return res, true
		}
	}
	for _, id := range soft {
		if res, ok := r.SkipBecause(id); ok && r.results[res.BlockedBy].Status == Fail {
			return res, true
		}
	}
	return Result{}, false
}

// SkipBecause returns the Skip result of a hop that depends on hop id, when id failed, was
// blocked (the reason is then that of the hop that blocked it) or could not run.
func (r *Run) SkipBecause(id string) (Result, bool) {
	res, ok := r.results[id]
	if !ok {
		return Result{}, false
	}
	switch {
	case res.BlockedBy != "":
		root := r.results[res.BlockedBy]
		return Result{Status: Skip, Summary: skipReason(root, res.BlockedBy), BlockedBy: res.BlockedBy}, true
	case res.Status == Fail || (res.Status == Skip && res.Incomplete):
		return Result{Status: Skip, Summary: skipReason(res, id), BlockedBy: id}, true
	}
	return Result{}, false
}

// SkippedBy is the result of a hop skipped because of r, the result of hop id.
func SkippedBy(r Result, id string) Result {
	return Result{Status: Skip, Summary: skipReason(r, id), BlockedBy: id}
}

func skipReason(r Result, id string) string {
	s := r.Summary
	if r.Status == Skip {
		s = TrimSkipped(s)
	}
	return fmt.Sprintf("skipped: %s (hop %s)", s, id)
}

// TrimSkipped drops the "skipped: " prefix of a skipped hop's summary.
func TrimSkipped(s string) string {
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
			v := Verdict{Kind: report.VerdictFault, Hop: s.ID, RootCause: s.Result.Summary}
			if c := s.Result.Cause; c != nil {
				v.RootCause, v.Fix = c.RootCause, c.Fix
			}
			return v
		}
	}
	for _, s := range steps {
		if s.Result.Incomplete {
			return Verdict{Kind: report.VerdictInconclusive, Hop: s.ID,
				Message: fmt.Sprintf("no fault found, but hop %s could not run: %s", s.ID, TrimSkipped(s.Result.Summary))}
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
		msg += fmt.Sprintf(" (%d %s: see above)", warns, report.Plural(warns, "warning", "warnings"))
	}
	return Verdict{Kind: report.VerdictHealthy, Message: msg}
}
