package diagnose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/internal/version"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/servicetrace"
)

// gcPercentAll is the GOGC of a diagnosis of every Service when the environment sets none. The
// objects of the namespace or cluster are read once and kept for the whole run, so the live heap
// only grows, and with Go's default of 100 the heap reaches twice the live heap before each
// collection; at 50 it stays within 1.5 times. 10,000 Services and 50,000 pods (`diagnose -A
// --static`, hack/bench-scale.sh large): 404-490 MiB instead of 496-554 MiB, in about the same time
// (the API server serving the LISTs dominates it). lint keeps the default: its heap is small and
// short-lived, and 50 cost it a third more time.
const gcPercentAll = 50

// runAll diagnoses every Service of the scope (-A: every namespace, or -n's; no Service named: the
// namespace), at most --parallel at a time, the network checks from one helper pod per namespace
// (none with --static), and prints a summary worst first with the traces of the broken ones.
func (o *Options) runAll(ctx context.Context) (err error) {
	scope := o.Namespace
	if o.AllNamespaces && !o.ExplicitNamespace {
		scope = ""
	}
	where := "all namespaces"
	if scope != "" {
		where = "namespace " + scope
	}
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(gcPercentAll))
	}
	errOut := &lockedWriter{w: o.ErrOut}
	fmt.Fprintf(errOut, "reading %s...\n", where)
	start := o.Now()
	before := o.requests()
	reads := trace.NewReads(o.Client, scope)
	snap, err := reads.Snapshot(ctx)
	if err != nil {
		return cmdutil.Incomplete(err)
	}
	for _, d := range snap.Degraded() {
		fmt.Fprintf(errOut, "warning: %s not checked: %s\n", d.Kind, d.Detail)
	}
	sessions := &namespaceHelpers{o: o, errOut: errOut, open: map[string]*helper.Session{}}
	defer func() {
		if cerr := sessions.closeAll(ctx); cerr != nil && err == nil {
			err = cmdutil.Incomplete(cerr)
		}
	}()
	progress := newProgress(o.ErrOut)
	// each trace becomes its summary line as soon as it is done: over thousands of Services only
	// the summaries stay in memory, not the traces' state
	summaries, ferr := servicetrace.TraceAll(ctx, reads, servicetrace.AllOptions{
		Config:       servicetrace.Config{HTTPPath: o.HTTPPath, CheckTimeout: o.CheckTimeout, RestartWindow: o.restartWindow()},
		Static:       o.Static,
		Workers:      o.Parallel,
		Agents:       sessions.provider,
		Done:         sessions.release,
		Progress:     progress.update,
		Clock:        o.Now,
		RequestCount: o.Requests,
	}, serviceSummary)
	progress.finish()
	if ferr != nil {
		return cmdutil.Incomplete(ferr)
	}
	rep := &report.DiagnoseSummary{APIVersion: report.APIVersion, Kind: "DiagnoseSummary",
		Tool: report.Tool{Name: "svc-doctor", Version: version.Current()}, Namespace: scope, Static: o.Static, Services: []report.ServiceSummary{}}
	if o.Static {
		rep.Note = report.StaticNote
	}
	rep.Services = summaries
	rep.Sort()
	rep.Stats = report.Stats{Requests: o.requests() - before, DurationMillis: o.Now().Sub(start).Milliseconds()}
	if err := o.print(rep, rep.Stats); err != nil {
		return cmdutil.Incomplete(err)
	}
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return cmdutil.Incomplete(fmt.Errorf("timed out after %s (--timeout): %d of the Services were diagnosed", o.Helper.Timeout, len(summaries)))
	case ctx.Err() != nil:
		return cmdutil.Incomplete(errors.New("interrupted: the report is partial"))
	case rep.Counts.Fault > 0:
		return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Silent: true, Err: fmt.Errorf("%d of %d Services have a fault", rep.Counts.Fault, len(rep.Services))}
	case rep.Counts.Inconclusive > 0:
		return &cmdutil.ExitError{Code: cmdutil.ExitIncomplete, Silent: true, Err: fmt.Errorf("%d Services could not be checked completely", rep.Counts.Inconclusive)}
	}
	return nil
}

// serviceSummary is a Service's line of the summary, with its whole trace when it is not healthy.
func serviceSummary(t servicetrace.ServiceTrace) report.ServiceSummary {
	ss := report.ServiceSummary{Namespace: t.Namespace, Name: t.Name, Verdict: t.Verdict, Hops: []report.HopLine{}}
	if t.State.Service != nil {
		ss.Type = semantics.Type(t.State.Service)
	}
	if src, ok := t.State.AgentSource(); ok {
		ss.From = src.Description
	}
	for _, s := range t.Steps {
		ss.Hops = append(ss.Hops, report.HopLine{ID: s.ID, Status: s.Result.Status, Summary: s.Result.Summary})
		if s.Result.Status == trace.Warn {
			ss.Warnings++
		}
	}
	switch t.Verdict.Kind {
	case report.VerdictFault:
		ss.Detail = t.Verdict.RootCause
		ss.Trace = servicetrace.HopReports(t.Steps)
	case report.VerdictInconclusive:
		ss.Detail = t.Verdict.Message
		ss.Trace = servicetrace.HopReports(t.Steps)
	default:
		ss.Detail = healthyDetail(t.Steps)
	}
	return ss
}

// healthyDetail sums up a healthy Service from its hops.
func healthyDetail(steps []trace.Step) string {
	var parts []string
	for _, s := range steps {
		switch s.ID {
		case servicetrace.HopReadiness, servicetrace.HopEndpoints:
			if s.Result.Status != trace.Skip {
				parts = append(parts, s.Result.Summary)
			}
		}
	}
	for _, s := range steps {
		if s.Result.Status == trace.Warn {
			parts = append(parts, "warning ("+s.ID+"): "+s.Result.Summary)
			break
		}
	}
	if len(parts) == 0 {
		for _, s := range steps {
			if s.ID == servicetrace.HopService {
				return s.Result.Summary
			}
		}
	}
	return strings.Join(parts, "; ")
}

// namespaceHelpers hands out one helper session per namespace and deletes it once the
// namespace's Services are done (or at the end, whatever happened).
type namespaceHelpers struct {
	o      *Options
	errOut io.Writer

	mu   sync.Mutex
	open map[string]*helper.Session
	errs []string
}

func (n *namespaceHelpers) provider(ns string) trace.AgentProvider {
	if n.o.Agents != nil {
		return n.o.Agents
	}
	s := &helper.Session{Client: n.o.Client, Config: n.o.Config, Namespace: ns, Flags: n.o.Helper,
		Reason: "diagnose (every Service of namespace " + ns + ")", ErrOut: n.errOut}
	n.mu.Lock()
	n.open[ns] = s
	n.mu.Unlock()
	return s
}

// release deletes the helper pod of a namespace whose Services are done.
func (n *namespaceHelpers) release(ns string) {
	n.mu.Lock()
	s := n.open[ns]
	delete(n.open, ns)
	n.mu.Unlock()
	if s == nil {
		return
	}
	// a fresh context: the helper is deleted even after Ctrl-C (Close bounds itself)
	if err := s.Close(context.Background()); err != nil {
		fmt.Fprintf(n.errOut, "error: %v\n(remove leftovers with: kubectl svc-doctor cleanup -n %s)\n", err, ns)
		n.mu.Lock()
		n.errs = append(n.errs, err.Error())
		n.mu.Unlock()
	}
}

// closeAll deletes the helper pods still open and reports the deletions that failed.
func (n *namespaceHelpers) closeAll(context.Context) error {
	n.mu.Lock()
	var left []string
	for ns := range n.open {
		left = append(left, ns)
	}
	n.mu.Unlock()
	for _, ns := range left {
		n.release(ns)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.errs) > 0 {
		return fmt.Errorf("%d helper pods could not be deleted: %s", len(n.errs), strings.Join(n.errs, "; "))
	}
	return nil
}

// lockedWriter serialises the progress lines of concurrent traces.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// progress shows "Services diagnosed: done/total" on stderr when it is a terminal.
type progress struct {
	w  io.Writer
	on bool
	mu sync.Mutex
	n  int
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, on: cmdutil.IsTerminal(w)}
}

func (p *progress) update(done, total int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n = total
	fmt.Fprintf(p.w, "\rServices diagnosed: %d/%d", done, total)
}

func (p *progress) finish() {
	if p.on && p.n > 0 {
		fmt.Fprintln(p.w)
	}
}
