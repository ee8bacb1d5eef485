package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// APIVersion versions every JSON/YAML document svc-doctor prints. Fields are only ever added
// within a version.
const APIVersion = "svc-doctor.io/v1"

// Tool identifies the program that wrote a report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Summary of a lint run.
type Summary struct {
	Files   int `json:"files"`
	Objects int `json:"objects"`
	// PassedThrough counts objects of kinds no rule checks (CRDs, ConfigMaps, ...).
	PassedThrough int    `json:"passedThrough"`
	Rules         int    `json:"rules"`
	Suppressed    int    `json:"suppressed"`
	Findings      Counts `json:"findings"`
	FailOn        string `json:"failOn"`
	// Failed is true when a finding is at or above FailOn.
	Failed bool `json:"failed"`
}

// LintReport is the envelope of `lint -o json|yaml`.
type LintReport struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Tool       Tool      `json:"tool"`
	Summary    Summary   `json:"summary"`
	Findings   []Finding `json:"findings"`
}

// NewLintReport returns an empty report with its type fields set.
func NewLintReport(tool Tool) *LintReport {
	return &LintReport{APIVersion: APIVersion, Kind: "LintReport", Tool: tool, Findings: []Finding{}}
}

// WriteJSON writes v as indented JSON. A document with one long list (itemLister) is written an
// item at a time, the same bytes as encoding it whole but without holding them all: the JSON of
// every Service of a big cluster is tens of megabytes, and encoding it whole holds it about three
// times over.
func WriteJSON(w io.Writer, v any) error {
	if l, ok := v.(itemLister); ok {
		return writeJSONItems(w, l)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteYAML writes v as YAML (through its JSON form, so field names match -o json).
func WriteYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	y, err := yaml.JSONToYAML(b)
	if err != nil {
		return fmt.Errorf("converting to YAML: %w", err)
	}
	_, err = w.Write(y)
	return err
}

// itemLister is a document whose top-level field key holds a long list: head is the document with
// that list empty, item(i) its i-th item.
type itemLister interface {
	jsonItems() (head any, key string, n int, item func(i int) any)
}

func writeJSONItems(w io.Writer, l itemLister) error {
	head, key, n, item := l.jsonItems()
	b, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return err
	}
	marker := []byte("\n  \"" + key + "\": []")
	at := bytes.Index(b, marker)
	if at < 0 || n == 0 {
		_, err = w.Write(append(b, '\n'))
		return err
	}
	bw := bufio.NewWriter(w)
	put := func(parts ...[]byte) {
		for _, p := range parts {
			if err == nil {
				_, err = bw.Write(p)
			}
		}
	}
	put(b[:at+len(marker)-1]) // up to the list's "["
	for i := range n {
		e, merr := json.MarshalIndent(item(i), "    ", "  ")
		if merr != nil {
			return merr
		}
		put([]byte("\n    "), e)
		if i < n-1 {
			put([]byte(","))
		}
	}
	put([]byte("\n  ]"), b[at+len(marker):], []byte("\n"))
	if err != nil {
		return err
	}
	return bw.Flush()
}
