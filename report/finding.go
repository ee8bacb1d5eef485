package report

import (
	"fmt"
	"strings"
)

// Severity orders findings. The zero value is invalid.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota + 1
	Warning
	Error
)

// String returns the lowercase name used in flags, output and config files.
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads "error", "warning" or "info" (case-insensitive).
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "error":
		return Error, nil
	case "warning", "warn":
		return Warning, nil
	case "info":
		return Info, nil
	}
	return 0, fmt.Errorf("unknown severity %q: use error, warning or info", s)
}

// ObjectRef names a Kubernetes object.
type ObjectRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
}

// String renders the reference the way kubectl names objects: kind/name or kind/ns/name.
func (r ObjectRef) String() string {
	if r.Kind == "" && r.Name == "" {
		return ""
	}
	kind := r.Kind
	if kind == "" {
		kind = "<no kind>"
	}
	name := r.Name
	if name == "" {
		name = "<no name>"
	}
	if r.Namespace != "" {
		return kind + "/" + r.Namespace + "/" + name
	}
	return kind + "/" + name
}

// Location is where in the input a finding points.
type Location struct {
	File string `json:"file"`
	// Document is the 1-based index of the YAML document in File.
	Document int `json:"document,omitempty"`
	// Item is the 1-based index inside a `kind: List` document.
	Item int `json:"item,omitempty"`
	// Line is the line where the object starts.
	Line int `json:"line,omitempty"`
	// Field is the path of the offending field, e.g. spec.ports[0].targetPort.
	Field string `json:"field,omitempty"`
	// FieldLine is the line of that field, or of its nearest present parent.
	FieldLine int `json:"fieldLine,omitempty"`
}

// BestLine is the most precise line known: the field's, else the object's.
func (l *Location) BestLine() int {
	if l == nil {
		return 0
	}
	if l.FieldLine > 0 {
		return l.FieldLine
	}
	return l.Line
}

// String renders file:line (with the document index when the file holds several).
func (l *Location) String() string {
	if l == nil {
		return ""
	}
	if l.File == "" {
		return l.Field // live objects have no file: the field path says where
	}
	s := l.File
	if line := l.BestLine(); line > 0 {
		s += fmt.Sprintf(":%d", line)
	}
	return s
}

// Finding is one result of one rule.
type Finding struct {
	Rule        string     `json:"rule"`
	Severity    Severity   `json:"severity"`
	Message     string     `json:"message"`
	Remediation string     `json:"remediation,omitempty"`
	Object      *ObjectRef `json:"object,omitempty"`
	Location    *Location  `json:"location,omitempty"`
	// Omitted is set on the one finding that stands for the findings of its rule left out of the
	// report (lint --max-findings): how many there are. Its severity is theirs, the highest.
	Omitted int `json:"omitted,omitempty"`
}

// Counts tallies findings per severity.
type Counts struct {
	Error   int `json:"error"`
	Warning int `json:"warning"`
	Info    int `json:"info"`
}

// Add counts one finding.
func (c *Counts) Add(s Severity) {
	switch s {
	case Error:
		c.Error++
	case Warning:
		c.Warning++
	case Info:
		c.Info++
	}
}

// AtOrAbove counts the findings at or above threshold.
func (c Counts) AtOrAbove(threshold Severity) int {
	n := 0
	if threshold <= Error {
		n += c.Error
	}
	if threshold <= Warning {
		n += c.Warning
	}
	if threshold <= Info {
		n += c.Info
	}
	return n
}

// RuleMeta describes a rule for renderers that list rules (SARIF, docs).
type RuleMeta struct {
	ID          string   `json:"id"`
	Severity    Severity `json:"severity"`
	Category    string   `json:"category"`
	Summary     string   `json:"summary"`
	Remediation string   `json:"remediation"`
	Docs        string   `json:"docs"`
	DocsURL     string   `json:"docsURL"`
	DefaultOff  bool     `json:"defaultOff,omitempty"`
}
