package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteJUnit writes the report as JUnit XML: one test suite per file, one test case per object and
// rule with findings ("Service/shop/web service-selector-no-match"). A case fails when a finding
// is at or above failOn, with exactly one <failure> (CI systems show only one: several findings
// of the rule on the object are listed in its text); lower findings go to system-out. Objects
// without findings are not listed (the summary counts them).
func WriteJUnit(w io.Writer, r *LintReport, failOn Severity) error {
	return WriteJUnitSuites(w, lintJUnit(r, failOn))
}

// JUnit implements Document, failing the cases at or above the report's failOn.
func (r *LintReport) JUnit() JUnitSuites {
	failOn := Severity(0)
	if s, err := ParseSeverity(r.Summary.FailOn); err == nil {
		failOn = s
	}
	return lintJUnit(r, failOn)
}

// WriteTable implements Document.
func (r *LintReport) WriteTable(w io.Writer, o TableOptions) error {
	return lintTable(w, r, o.Wide, o.Color)
}

func lintJUnit(r *LintReport, failOn Severity) JUnitSuites {
	type key struct{ file, object, rule string }
	cases := map[key]*JUnitCase{}
	var order []key
	for _, f := range r.Findings {
		file := "(no file)"
		if f.Location != nil && f.Location.File != "" {
			file = f.Location.File
		}
		obj := "(document)"
		switch {
		case f.Omitted > 0:
			obj = "(not listed)" // the findings of the rule left out by --max-findings
			file = "(not listed)"
		case f.Object != nil:
			obj = f.Object.String()
		case f.Location != nil:
			obj = fmt.Sprintf("document %d", f.Location.Document)
		}
		k := key{file, obj, f.Rule}
		c, ok := cases[k]
		if !ok {
			c = &JUnitCase{Name: obj + " " + f.Rule, Classname: file}
			cases[k] = c
			order = append(order, k)
		}
		text := fmt.Sprintf("%s [%s] %s\nat %s\nfix: %s", f.Severity, f.Rule, f.Message, f.Location.String(), f.Remediation)
		switch {
		case failOn != 0 && f.Severity >= failOn && c.Failure == nil:
			c.Failure = &JUnitFailure{Message: f.Rule + ": " + f.Message, Type: f.Severity.String(), Text: text}
		case failOn != 0 && f.Severity >= failOn:
			c.Failure.Text += "\n\n" + text
		default:
			c.SystemOut = strings.TrimPrefix(c.SystemOut+"\n"+text, "\n")
		}
	}
	suites := map[string]*JUnitSuite{}
	var files []string
	for _, k := range order {
		s, ok := suites[k.file]
		if !ok {
			s = &JUnitSuite{Name: k.file}
			suites[k.file] = s
			files = append(files, k.file)
		}
		s.Cases = append(s.Cases, *cases[k])
	}
	sort.Strings(files)
	out := JUnitSuites{Name: "svc-doctor lint"}
	for _, f := range files {
		out.Add(*suites[f])
	}
	return out
}
