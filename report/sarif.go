package report

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

const infoURI = "https://github.com/svc-doctor/svc-doctor"

// BuildSARIF converts a lint report to a SARIF 2.1.0 log with one rule per registry entry, so
// that code-scanning tools can show rule help for every result.
func BuildSARIF(r *LintReport, rules []RuleMeta) *sarif.Report {
	log := sarif.NewReport()
	run := sarif.NewRunWithInformationURI("svc-doctor", infoURI)
	v := r.Tool.Version
	run.Tool.Driver.Version = &v
	index := map[string]int{}
	for i, m := range rules {
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule(m))
		index[m.ID] = i
	}
	var omitted []*sarif.Notification
	for _, f := range r.Findings {
		if f.Omitted > 0 {
			// not a result (it is about no place in the code): a notification of the run
			n := sarif.NewNotification()
			n.Level = sarifLevel(f.Severity)
			n.Message = sarif.NewTextMessage(f.Message)
			ref := sarif.NewReportingDescriptorReference().WithID(f.Rule)
			if i, ok := index[f.Rule]; ok {
				ref.Index = i
			}
			n.AssociatedRule = ref
			omitted = append(omitted, n)
			continue
		}
		res := sarif.NewResult()
		res.RuleID = ptr(f.Rule)
		if i, ok := index[f.Rule]; ok {
			res.RuleIndex = i
		}
		res.Level = sarifLevel(f.Severity)
		msg := f.Message
		if f.Remediation != "" {
			msg += " Fix: " + f.Remediation
		}
		res.Message = sarif.NewTextMessage(msg)
		loc := sarif.NewLocation()
		if f.Location != nil && f.Location.File != "" {
			phys := sarif.NewPhysicalLocation()
			al := sarif.NewArtifactLocation()
			al.URI = ptr(fileURI(f.Location.File))
			phys.ArtifactLocation = al
			if line := f.Location.BestLine(); line > 0 {
				reg := sarif.NewRegion()
				reg.StartLine = ptr(line)
				phys.Region = reg
			}
			loc.PhysicalLocation = phys
		}
		if f.Object != nil {
			ll := sarif.NewLogicalLocation()
			ll.Name = ptr(f.Object.Name)
			ll.FullyQualifiedName = ptr(f.Object.String())
			ll.Kind = ptr("object")
			loc.LogicalLocations = append(loc.LogicalLocations, ll)
		}
		if loc.PhysicalLocation != nil || len(loc.LogicalLocations) > 0 {
			res.Locations = append(res.Locations, loc)
		}
		run.AddResult(res)
	}
	if len(omitted) > 0 {
		inv := sarif.NewInvocation()
		inv.ExecutionSuccessful = ptr(true)
		inv.ToolExecutionNotifications = omitted
		run.AddInvocation(inv)
	}
	log.AddRun(run)
	return log
}

// sarifRule is the reporting descriptor of a rule: its help, docs link, default level and tags.
func sarifRule(m RuleMeta) *sarif.ReportingDescriptor {
	d := sarif.NewReportingDescriptor()
	d.ID = ptr(m.ID)
	d.Name = ptr(ruleName(m.ID))
	d.ShortDescription = textMsg(m.Summary)
	d.FullDescription = textMsg(m.Docs)
	help := m.Summary + "\n\nFix: " + m.Remediation + "\n\n" + m.Docs
	d.Help = &sarif.MultiformatMessageString{Text: ptr(help), Markdown: ptr("**" + m.Summary + "**\n\n*Fix:* " + m.Remediation + "\n\n" + m.Docs)}
	d.HelpURI = ptr(m.DocsURL)
	cfg := sarif.NewReportingConfiguration()
	cfg.Level = sarifLevel(m.Severity)
	cfg.Enabled = !m.DefaultOff
	d.DefaultConfiguration = cfg
	d.Properties = sarif.NewPropertyBag()
	d.Properties.Tags = []string{"kubernetes", m.Category}
	return d
}

// WriteSARIF writes the report as SARIF 2.1.0.
func WriteSARIF(w io.Writer, r *LintReport, rules []RuleMeta) error {
	log := BuildSARIF(r, rules)
	if err := log.PrettyWrite(w); err != nil {
		return fmt.Errorf("writing SARIF: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func ptr[T any](v T) *T { return &v }

func textMsg(s string) *sarif.MultiformatMessageString {
	return &sarif.MultiformatMessageString{Text: ptr(s)}
}

func sarifLevel(s Severity) string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

// ruleName turns a rule ID into the PascalCase name SARIF viewers show.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// fileURI renders a file path as a URI reference relative to the working directory (forward
// slashes, escaped), which code scanning resolves from the repository's root: an absolute path
// below the working directory is made relative to it.
func fileURI(file string) string {
	if filepath.IsAbs(file) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, file); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				file = rel
			}
		}
	}
	p := filepath.ToSlash(file)
	return (&url.URL{Path: p}).String()
}
