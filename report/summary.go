package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// DiagnoseSummary is the envelope of `diagnose -A` and `diagnose` without a Service (kind
// DiagnoseSummary): one line per Service, the broken ones with their whole trace.
type DiagnoseSummary struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Tool       Tool   `json:"tool"`
	// Namespace is the namespace summarised ("" = all).
	Namespace string `json:"namespace,omitempty"`
	// Static is true when only the static hops ran (--static): no helper pod, no DNS or traffic.
	Static bool `json:"static"`
	// Note says what the summary did not test ("" when every hop ran).
	Note     string           `json:"note,omitempty"`
	Services []ServiceSummary `json:"services"`
	Counts   VerdictCounts    `json:"counts"`
	Stats    Stats            `json:"stats"`
}

func (r *DiagnoseSummary) jsonItems() (head any, key string, n int, item func(int) any) {
	h := *r
	h.Services = []ServiceSummary{}
	return &h, "services", len(r.Services), func(i int) any { return &r.Services[i] }
}

// VerdictCounts counts the Services by verdict.
type VerdictCounts struct {
	Fault        int `json:"fault"`
	Inconclusive int `json:"inconclusive"`
	// Warning counts the healthy Services with a warning.
	Warning int `json:"warning"`
	Healthy int `json:"healthy"`
}

// ServiceSummary is one Service's line of the summary.
type ServiceSummary struct {
	Namespace string  `json:"namespace"`
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Verdict   Verdict `json:"verdict"`
	// Hops are the hops' statuses; Trace is the whole trace of a Service that is not healthy.
	Hops  []HopLine   `json:"hops"`
	Trace []HopReport `json:"trace,omitempty"`
	// Detail is the root cause of a fault, or what a healthy Service has.
	Detail string `json:"detail"`
	// Warnings counts the hops that warned.
	Warnings int `json:"warnings,omitempty"`
	// From is where the network checks ran ("" when none did).
	From string `json:"from,omitempty"`
}

// HopLine is a hop's status in a summary.
type HopLine struct {
	ID      string    `json:"id"`
	Status  HopStatus `json:"status"`
	Summary string    `json:"summary"`
}

// StaticNote says what a --static summary does not test.
const StaticNote = "static hops only (service, selector, ports, readiness, endpoints, exposure): no helper pod was started, so DNS and traffic were not tested; drop --static, or run `kubectl svc-doctor diagnose svc/NAME -n NAMESPACE`, for the full trace"

// severityRank orders Services worst first: faults, inconclusive, warnings, healthy.
func (s ServiceSummary) severityRank() int {
	switch {
	case s.Verdict.Kind == VerdictFault:
		return 0
	case s.Verdict.Kind == VerdictInconclusive:
		return 1
	case s.Warnings > 0:
		return 2
	}
	return 3
}

// Sort orders the Services worst first, then by namespace and name, and counts them.
func (r *DiagnoseSummary) Sort() {
	sort.SliceStable(r.Services, func(i, j int) bool {
		a, b := r.Services[i], r.Services[j]
		if ra, rb := a.severityRank(), b.severityRank(); ra != rb {
			return ra < rb
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	r.Counts = VerdictCounts{}
	for _, s := range r.Services {
		switch s.severityRank() {
		case 0:
			r.Counts.Fault++
		case 1:
			r.Counts.Inconclusive++
		case 2:
			r.Counts.Warning++
		default:
			r.Counts.Healthy++
		}
	}
}

func verdictColor(_ int, cell string) string {
	switch strings.TrimSpace(cell) {
	case "HEALTHY":
		return "\x1b[32m" + cell + "\x1b[0m"
	case "FAULT":
		return "\x1b[31m" + cell + "\x1b[0m"
	case "INCONCLUSIVE", "WARNING":
		return "\x1b[33m" + cell + "\x1b[0m"
	}
	return cell
}

// WriteTable implements Document: one line per Service, worst first, then the whole trace of
// every Service that is not healthy.
func (r *DiagnoseSummary) WriteTable(w io.Writer, o TableOptions) error {
	if len(r.Services) == 0 {
		where := "any namespace"
		if r.Namespace != "" {
			where = "namespace " + r.Namespace
		}
		_, err := fmt.Fprintf(w, "No Services found in %s.\n", where)
		return err
	}
	headers := []string{"verdict", "namespace", "service", "type", "hop", "detail"}
	if r.Namespace != "" {
		headers = []string{"verdict", "service", "type", "hop", "detail"}
	}
	var rows [][]string
	for _, s := range r.Services {
		verdict := strings.ToUpper(s.Verdict.Kind)
		if s.severityRank() == 2 {
			verdict = "WARNING"
		}
		row := []string{verdict, s.Namespace, s.Name, s.Type, s.Verdict.Hop, s.Detail}
		if r.Namespace != "" {
			row = []string{verdict, s.Name, s.Type, s.Verdict.Hop, s.Detail}
		}
		rows = append(rows, row)
	}
	var c Colorizer
	if o.Color {
		c = verdictColor
	}
	if err := WriteTable(w, headers, rows, c); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d %s: %d %s, %d inconclusive, %d with warnings, %d healthy\n", len(r.Services), Plural(len(r.Services), "Service", "Services"),
		r.Counts.Fault, Plural(r.Counts.Fault, "fault", "faults"), r.Counts.Inconclusive, r.Counts.Warning, r.Counts.Healthy)
	for _, s := range r.Services {
		if len(s.Trace) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n=== service %s/%s", Sanitize(s.Namespace), Sanitize(s.Name))
		if s.From != "" {
			fmt.Fprintf(w, " (network checks from %s)", Sanitize(s.From))
		}
		fmt.Fprintln(w)
		if err := WriteHopTable(w, s.Trace, s.Verdict, o.Color, o.Wide); err != nil {
			return err
		}
	}
	if r.Note != "" {
		_, err := fmt.Fprintf(w, "\nNote: %s.\n", r.Note)
		return err
	}
	return nil
}

// JUnit implements Document: one suite per namespace, one case per Service (failing on a fault,
// skipped when inconclusive).
func (r *DiagnoseSummary) JUnit() JUnitSuites {
	out := JUnitSuites{Name: "svc-doctor diagnose"}
	byNS := map[string]*JUnitSuite{}
	var order []string
	for _, s := range r.Services {
		suite, ok := byNS[s.Namespace]
		if !ok {
			suite = &JUnitSuite{Name: "namespace " + s.Namespace}
			byNS[s.Namespace] = suite
			order = append(order, s.Namespace)
		}
		c := verdictCase("diagnose "+s.Namespace, s.Verdict)
		c.Name = "service " + s.Name
		var lines []string
		for _, h := range s.Hops {
			lines = append(lines, fmt.Sprintf("%s %s: %s", strings.ToUpper(string(h.Status)), h.ID, h.Summary))
		}
		c.SystemOut = strings.Join(lines, "\n")
		suite.Cases = append(suite.Cases, c)
	}
	sort.Strings(order)
	for _, ns := range order {
		out.Add(*byNS[ns])
	}
	return out
}
