package report

import (
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

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
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
