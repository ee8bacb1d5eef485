// Package rules holds the lint rules and the engine that runs them over a snapshot. Every rule
// has a stable kebab-case ID (also its SARIF rule ID and suppression key), a default severity, a
// one-line remediation and a documentation entry; All lists them explicitly. Rules only read the
// snapshot: the same rules run on manifests and on live cluster state.
package rules

import (
	"fmt"
	"sort"
	"time"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// Category groups rules in listings and documentation.
type Category string

// Categories.
const (
	CatInput     Category = "input"
	CatService   Category = "service"
	CatEndpoints Category = "endpoints"
	CatIngress   Category = "ingress"
	CatTLS       Category = "tls"
	CatWorkload  Category = "workload"
)

// Rule is one check.
type Rule struct {
	ID          string
	Severity    report.Severity
	Category    Category
	Summary     string // one line: what it finds
	Remediation string // one line: what to do
	Docs        string // markdown: why it matters, examples
	// DefaultOff rules run only when enabled with --enable or the config file.
	DefaultOff bool
	// PerService marks a check that reports on Services one at a time and reads no Service but the
	// one it checks (other kinds it may read): on a large input it runs over the Services a window
	// at a time (Collector.RunStream). The streaming test in lint compares every fixture's findings
	// both ways, with windows of one Service.
	PerService bool
	Check      func(p *Pass)
}

// Meta returns the rule's description for renderers.
func (r *Rule) Meta() report.RuleMeta {
	return report.RuleMeta{ID: r.ID, Severity: r.Severity, Category: string(r.Category), Summary: r.Summary,
		Remediation: r.Remediation, Docs: r.Docs, DocsURL: DocsURL(r.ID), DefaultOff: r.DefaultOff}
}

// DocsURL is where a rule's documentation lives.
func DocsURL(id string) string {
	return "https://github.com/svc-doctor/svc-doctor/blob/main/docs/rules.md#" + id
}

// PortRange is an inclusive port range.
type PortRange struct{ Min, Max int32 }

// String renders the range as MIN-MAX.
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }

// Config tunes a run.
type Config struct {
	// NodePortRange is the cluster's --service-node-port-range.
	NodePortRange PortRange
	// Disable and Enable list rule IDs; Enable wins and also turns on DefaultOff rules.
	Disable, Enable []string
	// Now is the time certificates are checked against.
	Now time.Time
	// CertExpiryWarning is how close to expiry a certificate gets a warning.
	CertExpiryWarning time.Duration
	// MaxPerRule caps the findings listed per rule: past that many (the first in report order are
	// kept), one summary finding of the rule gives the number of the others, which are still
	// counted. 0 lists every finding.
	MaxPerRule int
}

// DefaultConfig returns the defaults: node ports 30000-32767, certificates warned 30 days
// before expiry.
func DefaultConfig() Config {
	return Config{NodePortRange: PortRange{30000, 32767}, Now: time.Now(), CertExpiryWarning: 30 * 24 * time.Hour}
}

// Pass is what a rule's Check receives: the snapshot and a way to report.
type Pass struct {
	Snap   *snapshot.Snapshot
	Config *Config
	rule   *Rule
	c      *Collector
}

// Report records a finding at the rule's default severity on field of the object src.
func (p *Pass) Report(src *snapshot.Source, field, format string, args ...any) {
	p.ReportSeverity(p.rule.Severity, src, field, format, args...)
}

// ReportSeverity records a finding at an explicit severity.
func (p *Pass) ReportSeverity(sev report.Severity, src *snapshot.Source, field, format string, args ...any) {
	f := report.Finding{Rule: p.rule.ID, Severity: sev, Message: fmt.Sprintf(format, args...), Remediation: p.rule.Remediation}
	if src != nil {
		ref := src.Ref
		f.Object = &ref
	}
	p.c.add(&pending{f: f, src: src, field: field, lazy: src != nil})
}

// reportIssue forwards an issue found while reading the input.
func (p *Pass) reportIssue(is snapshot.Issue) {
	p.c.issue(p.rule, is)
}

// SuppressPrefix is the annotation prefix that silences a rule for one object:
// ignore.svc-doctor.io/<rule-id>: "<reason>".
const SuppressPrefix = "ignore.svc-doctor.io/"

// Outcome is the result of a run.
type Outcome struct {
	// Findings are sorted (SortFindings); with Config.MaxPerRule, the summary finding of each rule
	// that had more (Finding.Omitted) follows them.
	Findings []report.Finding
	// Counts tallies every finding by severity, those left out of Findings by MaxPerRule included.
	Counts report.Counts
	// Suppressed counts findings silenced by annotations.
	Suppressed int
	// Rules is the number of rules that ran.
	Rules int
}

// Run runs the enabled rules over the snapshot. The order of findings is stable: by file,
// document, line, then rule.
func Run(snap *snapshot.Snapshot, cfg Config) (*Outcome, error) {
	c, err := NewCollector(cfg)
	if err != nil {
		return nil, err
	}
	c.Run(snap)
	return c.Outcome(), nil
}

// SortFindings orders findings by file, document, line, then rule and message.
func SortFindings(fs []report.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		af, bf := locKey(a), locKey(b)
		if af.file != bf.file {
			return af.file < bf.file
		}
		if af.doc != bf.doc {
			return af.doc < bf.doc
		}
		if af.line != bf.line {
			return af.line < bf.line
		}
		if objKey(a) != objKey(b) {
			return objKey(a) < objKey(b)
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}

type lk struct {
	file      string
	doc, line int
}

func locKey(f report.Finding) lk {
	if f.Location == nil {
		return lk{}
	}
	return lk{f.Location.File, f.Location.Document, f.Location.BestLine()}
}

func objKey(f report.Finding) string {
	if f.Object == nil {
		return ""
	}
	return f.Object.String()
}

// Enabled returns the rules a config turns on, in registry order. Unknown IDs are an error that
// names the closest known ID.
func Enabled(cfg Config) ([]*Rule, error) {
	all := All()
	known := map[string]bool{}
	for _, r := range all {
		known[r.ID] = true
	}
	for _, list := range [][]string{cfg.Disable, cfg.Enable} {
		for _, id := range list {
			if !known[id] {
				return nil, fmt.Errorf("unknown rule %q%s (run `kubectl svc-doctor rules` to list them)", id, didYouMean(id, all))
			}
		}
	}
	var out []*Rule
	for _, r := range all {
		if isEnabled(r, cfg) {
			out = append(out, r)
		}
	}
	return out, nil
}

func isEnabled(r *Rule, cfg Config) bool {
	for _, id := range cfg.Enable {
		if id == r.ID {
			return true
		}
	}
	for _, id := range cfg.Disable {
		if id == r.ID {
			return false
		}
	}
	return !r.DefaultOff
}

// Lookup returns the rule with this ID.
func Lookup(id string) (*Rule, error) {
	all := All()
	for _, r := range all {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, fmt.Errorf("unknown rule %q%s (run `kubectl svc-doctor rules` to list them)", id, didYouMean(id, all))
}

func didYouMean(id string, all []*Rule) string {
	best, bestD := "", 1<<30
	for _, r := range all {
		if d := snapshot.EditDistance(id, r.ID); d < bestD {
			best, bestD = r.ID, d
		}
	}
	if bestD <= 4 {
		return fmt.Sprintf(": did you mean %q?", best)
	}
	return ""
}
