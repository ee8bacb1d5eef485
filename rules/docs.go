package rules

import (
	"fmt"
	"strings"
)

// Markdown renders the rule reference (docs/rules.md). A test fails when the committed file
// differs; regenerate it with `go test ./rules -run TestRulesDoc -update` or
// `kubectl svc-doctor rules -o markdown > docs/rules.md`.
func Markdown() string {
	var b strings.Builder
	b.WriteString("<!-- Generated from the rule registry (rules/registry.go); do not edit. Regenerate: go test ./rules -run TestRulesDoc -update -->\n")
	b.WriteString("# svc-doctor rules\n\n")
	b.WriteString("Every rule has a stable ID: use it with `--disable`/`--enable`, in the config file, and in the\n")
	b.WriteString("suppression annotation `ignore.svc-doctor.io/<rule-id>: \"<reason>\"`. The same rules check manifests\n")
	b.WriteString("(`lint`) and live objects (`lint --cluster`, `diagnose`).\n\n")
	b.WriteString("| ID | Severity | Category | Finds |\n|---|---|---|---|\n")
	all := All()
	for _, r := range all {
		off := ""
		if r.DefaultOff {
			off = " (off by default)"
		}
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s%s | %s | %s |\n", r.ID, r.ID, r.Severity, off, r.Category, r.Summary)
	}
	for _, r := range all {
		fmt.Fprintf(&b, "\n## %s\n\n", r.ID)
		fmt.Fprintf(&b, "*Severity:* %s. *Category:* %s.\n\n", r.Severity, r.Category)
		fmt.Fprintf(&b, "**Finds:** %s.\n\n", r.Summary)
		fmt.Fprintf(&b, "**Fix:** %s\n\n", r.Remediation)
		b.WriteString(r.Docs)
		b.WriteString("\n")
	}
	return b.String()
}
