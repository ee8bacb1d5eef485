package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML: one test suite per file, one test case per object and
// rule with findings ("Service/shop/web service-selector-no-match"). A case fails when a finding
// is at or above failOn, with exactly one <failure> (CI systems show only one: several findings
// of the rule on the object are listed in its text); lower findings go to system-out. Objects
// without findings are not listed (the summary counts them).
func WriteJUnit(w io.Writer, r *LintReport, failOn Severity) error {
	type key struct{ file, object, rule string }
	cases := map[key]*junitCase{}
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
			c = &junitCase{Name: obj + " " + f.Rule, Classname: file}
			cases[k] = c
			order = append(order, k)
		}
		text := fmt.Sprintf("%s [%s] %s\nat %s\nfix: %s", f.Severity, f.Rule, f.Message, f.Location.String(), f.Remediation)
		switch {
		case failOn != 0 && f.Severity >= failOn && c.Failure == nil:
			c.Failure = &junitFailure{Message: f.Rule + ": " + f.Message, Type: f.Severity.String(), Text: text}
		case failOn != 0 && f.Severity >= failOn:
			c.Failure.Text += "\n\n" + text
		default:
			c.SystemOut = strings.TrimPrefix(c.SystemOut+"\n"+text, "\n")
		}
	}
	suites := map[string]*junitSuite{}
	var files []string
	for _, k := range order {
		s, ok := suites[k.file]
		if !ok {
			s = &junitSuite{Name: k.file}
			suites[k.file] = s
			files = append(files, k.file)
		}
		c := cases[k]
		s.Cases = append(s.Cases, *c)
		s.Tests++
		if c.Failure != nil {
			s.Failures++
		}
	}
	sort.Strings(files)
	out := junitSuites{Name: "svc-doctor lint"}
	for _, f := range files {
		s := suites[f]
		out.Suites = append(out.Suites, *s)
		out.Tests += s.Tests
		out.Failures += s.Failures
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
