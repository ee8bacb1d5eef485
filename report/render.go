package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Document is a report a command prints: its versioned envelope (apiVersion svc-doctor.io/v1 and a
// kind) renders as a table (and a wide table), JSON, YAML and JUnit; lint's also as SARIF.
type Document interface {
	// WriteTable prints the human view.
	WriteTable(w io.Writer, o TableOptions) error
	// JUnit returns the document as JUnit test suites, for CI systems.
	JUnit() JUnitSuites
}

// TableOptions shape a table.
type TableOptions struct {
	// Wide adds columns (lint: the rule's remediation; traces: time and API requests per hop).
	Wide bool
	// Color colours statuses and severities (a terminal that wants colour).
	Color bool
}

// TraceFormats are the output formats of every command but lint.
var TraceFormats = []string{FormatTable, FormatWide, FormatJSON, FormatYAML, FormatJUnit}

// Render writes doc in format.
func Render(w io.Writer, format string, doc Document, opts RenderOptions) error {
	switch format {
	case FormatTable, "":
		return doc.WriteTable(w, TableOptions{Color: opts.Color})
	case FormatWide:
		return doc.WriteTable(w, TableOptions{Wide: true, Color: opts.Color})
	case FormatJSON:
		return WriteJSON(w, doc)
	case FormatYAML:
		return WriteYAML(w, doc)
	case FormatJUnit:
		return WriteJUnitSuites(w, doc.JUnit())
	case FormatSARIF:
		if r, ok := doc.(*LintReport); ok {
			return WriteSARIF(w, r, opts.Rules)
		}
		return fmt.Errorf("SARIF needs findings with positions: only lint writes it")
	}
	return fmt.Errorf("unknown output format %q", format)
}

// JUnitSuites is a JUnit XML document.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr,omitempty"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one test suite.
type JUnitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr,omitempty"`
	Cases    []JUnitCase `xml:"testcase"`
}

// JUnitCase is one test case: it passes, fails (one Failure: CI systems show only one) or is
// skipped.
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *JUnitFailure `xml:"failure,omitempty"`
	Skipped   *JUnitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitFailure is a failed case's message.
type JUnitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnitSkipped marks a case that did not run.
type JUnitSkipped struct {
	Message string `xml:"message,attr"`
}

// Add appends a suite and counts its cases.
func (s *JUnitSuites) Add(suite JUnitSuite) {
	suite.Tests, suite.Failures, suite.Skipped = len(suite.Cases), 0, 0
	for _, c := range suite.Cases {
		switch {
		case c.Failure != nil:
			suite.Failures++
		case c.Skipped != nil:
			suite.Skipped++
		}
	}
	s.Suites = append(s.Suites, suite)
	s.Tests += suite.Tests
	s.Failures += suite.Failures
	s.Skipped += suite.Skipped
}

// WriteJUnitSuites writes a JUnit XML document.
func WriteJUnitSuites(w io.Writer, s JUnitSuites) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// hopCases turns the hops of a trace into test cases: a failing hop fails with its cause, a
// skipped one is skipped with its reason, the others pass with their evidence as output.
func hopCases(class string, hops []HopReport) []JUnitCase {
	var out []JUnitCase
	for i, h := range hops {
		c := JUnitCase{Name: fmt.Sprintf("%d %s", i+1, h.ID), Classname: class, SystemOut: hopText(h)}
		switch h.Status {
		case HopFail:
			msg := h.Summary
			text := h.Summary
			if h.Cause != nil {
				msg, text = h.Cause.RootCause, h.Cause.RootCause+"\nfix: "+h.Cause.Fix
			}
			c.Failure = &JUnitFailure{Message: msg, Type: string(h.Status), Text: text + "\n" + strings.Join(h.Evidence, "\n")}
		case HopSkip:
			c.Skipped = &JUnitSkipped{Message: h.Summary}
		}
		out = append(out, c)
	}
	return out
}

func hopText(h HopReport) string {
	return strings.TrimSpace(strings.ToUpper(string(h.Status)) + " " + h.Summary + "\n" + strings.Join(h.Evidence, "\n"))
}

// verdictCase is the case of a verdict: it fails on a fault, is skipped when inconclusive.
func verdictCase(class string, v Verdict) JUnitCase {
	c := JUnitCase{Name: "verdict", Classname: class}
	switch v.Kind {
	case VerdictFault:
		c.Failure = &JUnitFailure{Message: v.RootCause, Type: VerdictFault, Text: v.RootCause + "\nfix: " + v.Fix + "\n" + strings.Join(v.Problems, "\n")}
	case VerdictInconclusive:
		c.Skipped = &JUnitSkipped{Message: v.Message}
	default:
		c.SystemOut = v.Message
	}
	return c
}
