package lint

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
)

var rulesFormats = []string{"table", "json", "yaml", "markdown"}

// NewRulesCmd returns `rules`, which lists every rule.
func NewRulesCmd(streams genericiooptions.IOStreams) *cobra.Command {
	output := "table"
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List every lint rule with its ID, severity and what it finds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.ValidateOutput(output, rulesFormats); err != nil {
				return err
			}
			metas := RuleMetas()
			switch output {
			case "json":
				return report.WriteJSON(streams.Out, rulesDoc(metas))
			case "yaml":
				return report.WriteYAML(streams.Out, rulesDoc(metas))
			case "markdown":
				_, err := fmt.Fprint(streams.Out, rules.Markdown())
				return err
			}
			rows := make([][]string, len(metas))
			for i, m := range metas {
				sev := m.Severity.String()
				if m.DefaultOff {
					sev += " (off)"
				}
				rows[i] = []string{m.ID, sev, m.Category, m.Summary}
			}
			return report.WriteTable(streams.Out, []string{"id", "severity", "category", "finds"}, rows, nil)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", output, "output format: "+strings.Join(rulesFormats, "|"))
	return cmd
}

type ruleList struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Rules      []report.RuleMeta `json:"rules"`
}

func rulesDoc(m []report.RuleMeta) ruleList {
	return ruleList{APIVersion: report.APIVersion, Kind: "RuleList", Rules: m}
}

// NewExplainCmd returns `explain RULE-ID`.
func NewExplainCmd(streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "explain RULE-ID",
		Short: "Print the documentation of one rule",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.UsageError("explain takes one rule ID (see `kubectl svc-doctor rules`)")
			}
			return nil
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return completeRuleIDs(nil, nil, "")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rules.Lookup(args[0])
			if err != nil {
				return cmdutil.AsUsage(err)
			}
			off := ""
			if r.DefaultOff {
				off = ", off by default"
			}
			_, err = fmt.Fprintf(streams.Out, "%s (%s%s, %s)\n\n%s.\n\nFix: %s\n\n%s\n\nDocs: %s\n",
				r.ID, r.Severity, off, r.Category, r.Summary, r.Remediation, wrap(r.Docs, 100), rules.DocsURL(r.ID))
			return err
		},
	}
}

// wrap breaks text at spaces so that lines stay under width.
func wrap(s string, width int) string {
	var out, line strings.Builder
	for _, w := range strings.Fields(s) {
		if line.Len() > 0 && line.Len()+1+len(w) > width {
			out.WriteString(line.String() + "\n")
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(w)
	}
	out.WriteString(line.String())
	return out.String()
}
