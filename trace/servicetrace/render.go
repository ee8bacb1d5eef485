package servicetrace

import (
	"github.com/svc-doctor/svc-doctor/internal/version"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/trace"
)

// NewReport assembles the report of a trace; the caller adds its Stats (time and requests) once
// it has read all it reports.
func NewReport(st *State, steps []trace.Step) *report.DiagnoseReport {
	rep := &report.DiagnoseReport{APIVersion: report.APIVersion, Kind: "DiagnoseReport",
		Tool:    report.Tool{Name: "svc-doctor", Version: version.Current()},
		Service: report.ObjectRef{APIVersion: "v1", Kind: "Service", Namespace: st.Namespace, Name: st.Name},
		Port:    st.Port, Hops: HopReports(steps), Verdict: Conclude(st, steps)}
	if src, ok := st.AgentSource(); ok {
		rep.From = src.Description
	}
	if st.nodes != nil {
		rep.Nodes = st.nodes.matrix
	}
	return rep
}

// HopReports turns the steps of a trace into the hops of a report.
func HopReports(steps []trace.Step) []report.HopReport {
	out := []report.HopReport{}
	for _, s := range steps {
		ev := s.Result.Evidence
		if ev == nil {
			ev = []string{}
		}
		out = append(out, report.HopReport{ID: s.ID, Title: s.Title, Status: s.Result.Status, Summary: s.Result.Summary,
			Evidence: ev, Cause: s.Result.Cause, Incomplete: s.Result.Incomplete, BlockedBy: s.Result.BlockedBy,
			DurationMillis: s.Duration.Milliseconds(), Requests: s.Requests})
	}
	return out
}
