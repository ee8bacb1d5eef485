package report

import (
	"fmt"
	"io"
	"strconv"
)

// Formats lint can print.
const (
	FormatTable = "table"
	FormatWide  = "wide"
	FormatJSON  = "json"
	FormatYAML  = "yaml"
	FormatSARIF = "sarif"
	FormatJUnit = "junit"
)

// LintFormats lists the -o values of lint.
var LintFormats = []string{FormatTable, FormatWide, FormatJSON, FormatYAML, FormatSARIF, FormatJUnit}

// RenderOptions carries what some formats need besides the report.
type RenderOptions struct {
	// Rules describes every rule (SARIF lists them all).
	Rules []RuleMeta
	// Color colours severities in tables.
	Color bool
	// FailOn decides which findings are JUnit failures.
	FailOn Severity
}

// RenderLint writes the report in format.
func RenderLint(w io.Writer, format string, r *LintReport, opts RenderOptions) error {
	switch format {
	case FormatTable, "":
		return lintTable(w, r, false, opts.Color)
	case FormatWide:
		return lintTable(w, r, true, opts.Color)
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatYAML:
		return WriteYAML(w, r)
	case FormatSARIF:
		return WriteSARIF(w, r, opts.Rules)
	case FormatJUnit:
		return WriteJUnit(w, r, opts.FailOn)
	}
	return fmt.Errorf("unknown output format %q", format)
}

func lintTable(w io.Writer, r *LintReport, wide, color bool) error {
	if len(r.Findings) == 0 {
		return nil
	}
	headers := []string{"severity", "rule", "object", "location", "message"}
	if wide {
		headers = []string{"severity", "rule", "object", "location", "field", "message", "remediation"}
	}
	rows := make([][]string, 0, len(r.Findings))
	for _, f := range r.Findings {
		obj := ""
		if f.Object != nil {
			obj = f.Object.String()
		}
		loc := ""
		field := ""
		if f.Location != nil {
			loc = f.Location.String()
			field = f.Location.Field
			if wide && f.Location.Document > 1 {
				loc += " (doc " + strconv.Itoa(f.Location.Document) + ")"
			}
		}
		if wide {
			rows = append(rows, []string{f.Severity.String(), f.Rule, obj, loc, field, f.Message, f.Remediation})
		} else {
			rows = append(rows, []string{f.Severity.String(), f.Rule, obj, loc, f.Message})
		}
	}
	var c Colorizer
	if color {
		c = severityColor
	}
	return WriteTable(w, headers, rows, c)
}

func severityColor(_ int, cell string) string {
	switch cell {
	case "error":
		return "\x1b[31m" + cell + "\x1b[0m"
	case "warning":
		return "\x1b[33m" + cell + "\x1b[0m"
	case "info":
		return "\x1b[36m" + cell + "\x1b[0m"
	}
	return cell
}
