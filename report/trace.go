package report

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// HopStatus is the outcome of one hop of a trace.
type HopStatus string

// The hop statuses.
const (
	HopPass HopStatus = "pass"
	HopWarn HopStatus = "warn"
	HopFail HopStatus = "fail"
	HopSkip HopStatus = "skip"
)

// Cause is what a failing hop found: the root cause in one sentence and a concrete fix (a command
// or a manifest change).
type Cause struct {
	// Hop is the ID of the hop that found it (filled in by the tracer).
	Hop       string `json:"hop"`
	RootCause string `json:"rootCause"`
	Fix       string `json:"fix"`
}

// Verdict kinds.
const (
	VerdictHealthy      = "healthy"
	VerdictFault        = "fault"
	VerdictInconclusive = "inconclusive"
)

// Verdict is the one conclusion of a diagnosis, a probe review or a route check.
type Verdict struct {
	// Kind is healthy, fault or inconclusive.
	Kind string `json:"kind"`
	// Hop is the hop (or check) the verdict comes from ("" when healthy).
	Hop       string `json:"hop,omitempty"`
	RootCause string `json:"rootCause,omitempty"`
	Fix       string `json:"fix,omitempty"`
	// Message summarises a healthy or inconclusive verdict.
	Message string `json:"message,omitempty"`
	// Problems lists every problem found when there are several (ingresscheck: each broken
	// route), the first of which is the root cause.
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether the verdict is healthy.
func (v Verdict) OK() bool { return v.Kind == VerdictHealthy }

// Text is the verdict in one sentence: the root cause of a fault, else the message.
func (v Verdict) Text() string {
	if v.Kind == VerdictFault {
		return v.RootCause
	}
	return v.Message
}

// Plural returns one or many by n.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Stats are the cost of a run.
type Stats struct {
	// Requests counts the HTTP requests sent to the API server (exec streams included).
	Requests       int64 `json:"requests"`
	DurationMillis int64 `json:"durationMillis"`
}

// Duration is DurationMillis as a duration.
func (s Stats) Duration() time.Duration { return time.Duration(s.DurationMillis) * time.Millisecond }

// HopReport is one hop in a report.
type HopReport struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	Status     HopStatus `json:"status"`
	Summary    string    `json:"summary"`
	Evidence   []string  `json:"evidence"`
	Cause      *Cause    `json:"cause,omitempty"`
	Incomplete bool      `json:"incomplete,omitempty"`
	BlockedBy  string    `json:"blockedBy,omitempty"`
	// DurationMillis and Requests are the hop's time and API requests.
	DurationMillis int64 `json:"durationMillis"`
	Requests       int64 `json:"requests"`
}

// DiagnoseReport is the envelope of `diagnose -o json|yaml` (kind DiagnoseReport).
type DiagnoseReport struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Tool       Tool      `json:"tool"`
	Service    ObjectRef `json:"service"`
	// Port is the requested port ("" = every port).
	Port string `json:"port,omitempty"`
	// From is where the in-cluster checks ran ("" when no helper was needed or started).
	From string      `json:"from,omitempty"`
	Hops []HopReport `json:"hops"`
	// Routes are the Ingress paths and HTTPRoute rules of the Service's namespace that send
	// traffic to it; RoutesNote says what was not read (nil Routes and a note: not listed). They
	// are looked for only when the verdict is not a fault: they matter once the Service works.
	Routes     []string `json:"routes,omitempty"`
	RoutesNote string   `json:"routesNote,omitempty"`
	// Nodes is the node x target matrix of the per-node checks (nil when they did not run).
	Nodes   *NodeMatrix `json:"nodes,omitempty"`
	Verdict Verdict     `json:"verdict"`
	Stats   Stats       `json:"stats"`
}

// statusCell is the table cell of a status.
func statusCell(s HopStatus) string { return strings.ToUpper(string(s)) }

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

// WriteHopTable prints a trace (one row per hop, its evidence indented under it) and the verdict.
// With timing, each hop's duration and API requests are shown.
func WriteHopTable(w io.Writer, hops []HopReport, v Verdict, color, timing bool) error {
	if err := writeHopRows(w, hops, color, timing); err != nil {
		return err
	}
	return WriteVerdict(w, v, color)
}

// writeHopRows prints the hops of a trace (without the verdict).
func writeHopRows(w io.Writer, hops []HopReport, color, timing bool) error {
	headers := []string{"status", "hop", "detail"}
	if timing {
		headers = []string{"status", "hop", "time", "requests", "detail"}
	}
	var rows [][]string
	for i, h := range hops {
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
	var c Colorizer
	if color {
		c = statusColor
	}
	return WriteTable(w, headers, rows, c)
}

// WriteVerdict prints a verdict under a table: ROOT CAUSE and FIX, INCONCLUSIVE or HEALTHY.
func WriteVerdict(w io.Writer, v Verdict, color bool) error {
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
		fmt.Fprintf(&b, "%s  %s (hop %s)\n", paint("\x1b[1;31m", "ROOT CAUSE"), Sanitize(v.RootCause), v.Hop)
		fmt.Fprintf(&b, "%s         %s\n", paint("\x1b[1m", "FIX"), Sanitize(v.Fix))
	case VerdictInconclusive:
		fmt.Fprintf(&b, "%s  %s\n", paint("\x1b[1;33m", "INCONCLUSIVE"), Sanitize(v.Message))
	default:
		fmt.Fprintf(&b, "%s  %s\n", paint("\x1b[1;32m", "HEALTHY"), Sanitize(v.Message))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteTable implements Document: the hops (wide: with their time and API requests) and the
// verdict.
func (rep *DiagnoseReport) WriteTable(w io.Writer, o TableOptions) error {
	return writeDiagnoseTable(w, rep, o)
}

// writeRoutes prints the routes to the Service (nothing when they were not looked up).
func writeRoutes(w io.Writer, rep *DiagnoseReport) error {
	if len(rep.Routes) == 0 && rep.RoutesNote == "" {
		return nil
	}
	var b strings.Builder
	b.WriteString("\nROUTES TO THE SERVICE\n")
	if len(rep.Routes) == 0 {
		b.WriteString("  none in namespace " + Sanitize(rep.Service.Namespace) + "\n")
	}
	for _, r := range rep.Routes {
		b.WriteString("  " + Sanitize(r) + "\n")
	}
	if rep.RoutesNote != "" {
		b.WriteString("  (" + Sanitize(rep.RoutesNote) + ")\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// JUnit implements Document: one case per hop and the verdict.
func (rep *DiagnoseReport) JUnit() JUnitSuites {
	class := "diagnose " + rep.Service.Namespace + "/" + rep.Service.Name
	suite := JUnitSuite{Name: class, Cases: append(hopCases(class, rep.Hops), verdictCase(class, rep.Verdict))}
	out := JUnitSuites{Name: "svc-doctor diagnose"}
	out.Add(suite)
	return out
}
