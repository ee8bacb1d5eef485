package diagnose

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/svc-doctor/svc-doctor/internal/version"
	"github.com/svc-doctor/svc-doctor/report"
)

// Report is the envelope of `diagnose -o json|yaml` (kind DiagnoseReport).
type Report struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Tool       report.Tool      `json:"tool"`
	Service    report.ObjectRef `json:"service"`
	// Port is the requested port ("" = every port).
	Port string `json:"port,omitempty"`
	// From is where the in-cluster checks ran ("" when no helper was needed or started).
	From    string      `json:"from,omitempty"`
	Hops    []HopReport `json:"hops"`
	Verdict Verdict     `json:"verdict"`
	Stats   Stats       `json:"stats"`
}

// HopReport is one hop in a report.
type HopReport struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Status     Status   `json:"status"`
	Summary    string   `json:"summary"`
	Evidence   []string `json:"evidence"`
	Cause      *Cause   `json:"cause,omitempty"`
	Incomplete bool     `json:"incomplete,omitempty"`
	BlockedBy  string   `json:"blockedBy,omitempty"`
	// DurationMillis and Requests are the hop's time and API requests.
	DurationMillis int64 `json:"durationMillis"`
	Requests       int64 `json:"requests"`
}

// Stats are the cost of a diagnosis.
type Stats struct {
	// Requests counts the HTTP requests sent to the API server (exec streams included).
	Requests       int64 `json:"requests"`
	DurationMillis int64 `json:"durationMillis"`
}

// NewReport assembles the report of a trace.
func NewReport(st *State, steps []Step, total time.Duration, requests int64) *Report {
	rep := &Report{APIVersion: report.APIVersion, Kind: "DiagnoseReport",
		Tool:    report.Tool{Name: "svc-doctor", Version: version.Current()},
		Service: report.ObjectRef{APIVersion: "v1", Kind: "Service", Namespace: st.Namespace, Name: st.Name},
		Port:    st.Port, Hops: []HopReport{}, Verdict: Conclude(steps),
		Stats: Stats{Requests: requests, DurationMillis: total.Milliseconds()}}
	if st.agentDone && st.agentErr == nil && st.source != nil {
		rep.From = st.source.Description
	}
	for _, s := range steps {
		ev := s.Result.Evidence
		if ev == nil {
			ev = []string{}
		}
		rep.Hops = append(rep.Hops, HopReport{ID: s.ID, Title: s.Title, Status: s.Result.Status, Summary: s.Result.Summary,
			Evidence: ev, Cause: s.Result.Cause, Incomplete: s.Result.Incomplete, BlockedBy: s.Result.BlockedBy,
			DurationMillis: s.Duration.Milliseconds(), Requests: s.Requests})
	}
	return rep
}

// statusCell is the table cell of a status.
func statusCell(s Status) string { return strings.ToUpper(string(s)) }

func statusColor(_ int, cell string) string {
	switch strings.TrimSpace(cell) {
	case "PASS":
		return "\x1b[32m" + cell + "\x1b[0m"
	case "WARN":
		return "\x1b[33m" + cell + "\x1b[0m"
	case "FAIL":
		return "\x1b[31m" + cell + "\x1b[0m"
	case "SKIP":
		return "\x1b[90m" + cell + "\x1b[0m"
	}
	return cell
}

// WriteTable prints the trace (one row per hop, its evidence indented under it) and the verdict.
// With timing, each hop's duration and API requests are shown.
func WriteTable(w io.Writer, rep *Report, color, timing bool) error {
	headers := []string{"status", "hop", "detail"}
	if timing {
		headers = []string{"status", "hop", "time", "requests", "detail"}
	}
	var rows [][]string
	for i, h := range rep.Hops {
		row := []string{statusCell(h.Status), fmt.Sprintf("%d %s", i+1, h.ID), h.Summary}
		if timing {
			row = []string{row[0], row[1], (time.Duration(h.DurationMillis) * time.Millisecond).String(), fmt.Sprint(h.Requests), row[2]}
		}
		rows = append(rows, row)
		for _, e := range h.Evidence {
			ev := []string{" ", " ", "  " + e}
			if timing {
				ev = []string{" ", " ", " ", " ", "  " + e}
			}
			rows = append(rows, ev)
		}
	}
	var c report.Colorizer
	if color {
		c = statusColor
	}
	if err := report.WriteTable(w, headers, rows, c); err != nil {
		return err
	}
	return writeVerdict(w, rep.Verdict, color)
}

func writeVerdict(w io.Writer, v Verdict, color bool) error {
	var b strings.Builder
	b.WriteString("\n")
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + "\x1b[0m"
	}
	switch v.Kind {
	case VerdictFault:
		fmt.Fprintf(&b, "%s  %s (hop %s)\n", paint("\x1b[1;31m", "ROOT CAUSE"), report.Sanitize(v.RootCause), v.Hop)
		fmt.Fprintf(&b, "%s         %s\n", paint("\x1b[1m", "FIX"), report.Sanitize(v.Fix))
	case VerdictInconclusive:
		fmt.Fprintf(&b, "%s  %s\n", paint("\x1b[1;33m", "INCONCLUSIVE"), report.Sanitize(v.Message))
	default:
		fmt.Fprintf(&b, "%s  %s\n", paint("\x1b[1;32m", "HEALTHY"), report.Sanitize(v.Message))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
