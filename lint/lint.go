// Package lint implements `kubectl svc-doctor lint`: it reads manifests (files, directories,
// stdin, a kustomization), builds a snapshot, runs the rules and prints the findings in the
// requested format, with CI-friendly exit codes.
package lint

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/internal/version"
	"github.com/svc-doctor/svc-doctor/live"
	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// DefaultConfigFile is read from the working directory when --config is not given.
const DefaultConfigFile = ".svc-doctor.yaml"

// Options are the inputs of a lint run.
type Options struct {
	Filenames         []string
	Recursive         bool
	Kustomize         string
	Output            string
	ReportFiles       []string
	FailOn            string
	Disable, Enable   []string
	ConfigFile        string
	NodePortRange     string
	CertExpiryWarning time.Duration
	Namespace         string
	// Live lints the objects of a cluster instead of manifests.
	Live          bool
	AllNamespaces bool

	factory cmdutil.Factory

	// Now is the clock certificates are checked against (tests fix it).
	Now func() time.Time

	genericiooptions.IOStreams

	failOn  report.Severity
	cfg     rules.Config
	color   bool
	reports []reportFile
}

type reportFile struct{ format, path string }

// NewOptions returns options with the defaults.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams, Output: report.FormatTable, FailOn: "error", Now: time.Now,
		NodePortRange: "30000-32767", CertExpiryWarning: 30 * 24 * time.Hour}
}

// NewCmd returns the lint command.
func NewCmd(factory cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(streams)
	cmd := &cobra.Command{
		Use:   "lint [-f FILE|DIR|-]... [-k DIR]",
		Short: "Check Service, endpoint, Ingress and probe manifests offline",
		Long: `Check manifests for the mistakes that stop Service traffic: selectors that match no pod,
target ports no container defines, Ingress backends and TLS Secrets that do not fit, probes that
cannot work, removed API versions, YAML that kubectl would reject. No cluster is needed.

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error, 3 could not complete.`,
		Example: `  # lint a directory tree
  kubectl svc-doctor lint -R -f deploy/

  # lint rendered Helm output, fail on warnings too
  helm template my-release ./chart | kubectl svc-doctor lint -f - --fail-on warning

  # lint a kustomization, write SARIF for code scanning and show the table
  kubectl svc-doctor lint -k overlays/prod --report-file sarif=results.sarif`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, factory, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.Filenames, "filename", "f", nil, "file, directory or - (stdin) to lint; repeatable")
	f.BoolVarP(&o.Recursive, "recursive", "R", false, "process directories recursively")
	f.StringVarP(&o.Kustomize, "kustomize", "k", "", "render this kustomization directory in memory and lint the result")
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: "+strings.Join(report.LintFormats, "|"))
	f.StringArrayVar(&o.ReportFiles, "report-file", nil, "also write a report to a file, as FORMAT=PATH (e.g. sarif=out.sarif, junit=junit.xml); repeatable")
	f.StringVar(&o.FailOn, "fail-on", o.FailOn, "exit 1 when a finding is at or above this severity: error|warning|info|none")
	f.StringSliceVar(&o.Disable, "disable", nil, "rule IDs to skip; repeatable")
	f.StringSliceVar(&o.Enable, "enable", nil, "rule IDs to run even if disabled by default or in the config file; repeatable")
	f.StringVar(&o.ConfigFile, "config", "", "config file (default: "+DefaultConfigFile+" in the working directory, if present)")
	f.StringVar(&o.NodePortRange, "node-port-range", o.NodePortRange, "the cluster's --service-node-port-range, as MIN-MAX")
	f.DurationVar(&o.CertExpiryWarning, "cert-expiry-warning", o.CertExpiryWarning, "warn about certificates expiring within this duration")
	f.BoolVar(&o.Live, "live", false, "lint the objects of the cluster (namespace -n, or all with -A) instead of manifests")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "with --live: lint every namespace")
	_ = cmd.MarkFlagDirname("kustomize")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(report.LintFormats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"error", "warning", "info", "none"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("disable", completeRuleIDs)
	_ = cmd.RegisterFlagCompletionFunc("enable", completeRuleIDs)
	return cmd
}

func completeRuleIDs(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	var ids []string
	for _, r := range rules.All() {
		ids = append(ids, r.ID+"\t"+r.Summary)
	}
	return ids, cobra.ShellCompDirectiveNoFileComp
}

// FileConfig is the lint config file.
type FileConfig struct {
	APIVersion        string   `json:"apiVersion,omitempty"`
	Kind              string   `json:"kind,omitempty"`
	FailOn            string   `json:"failOn,omitempty"`
	Disable           []string `json:"disable,omitempty"`
	Enable            []string `json:"enable,omitempty"`
	NodePortRange     string   `json:"nodePortRange,omitempty"`
	CertExpiryWarning string   `json:"certExpiryWarning,omitempty"`
}

// Complete fills the options from flags, the config file and arguments.
func (o *Options) Complete(cmd *cobra.Command, f cmdutil.Factory, args []string) error {
	o.Filenames = append(o.Filenames, args...)
	o.factory = f
	if f != nil {
		if ns, explicit := f.Namespace(); explicit {
			o.Namespace = ns
		}
	}
	path := o.ConfigFile
	if path == "" {
		if _, err := os.Stat(DefaultConfigFile); err == nil {
			path = DefaultConfigFile
		}
	}
	if path != "" {
		if err := o.applyConfigFile(cmd, path); err != nil {
			return err
		}
	}
	o.color = o.Output == report.FormatTable || o.Output == report.FormatWide
	o.color = o.color && cmdutil.ColorEnabled(o.Out)
	return nil
}

func (o *Options) applyConfigFile(cmd *cobra.Command, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return cmdutil.UsageError("reading config file: %v", err)
	}
	var fc FileConfig
	if err := yaml.UnmarshalStrict(data, &fc); err != nil {
		return cmdutil.UsageError("config file %s: %v", path, err)
	}
	changed := func(name string) bool { return cmd != nil && cmd.Flags().Changed(name) }
	if fc.FailOn != "" && !changed("fail-on") {
		o.FailOn = fc.FailOn
	}
	if fc.NodePortRange != "" && !changed("node-port-range") {
		o.NodePortRange = fc.NodePortRange
	}
	if fc.CertExpiryWarning != "" && !changed("cert-expiry-warning") {
		d, err := time.ParseDuration(fc.CertExpiryWarning)
		if err != nil {
			return cmdutil.UsageError("config file %s: certExpiryWarning: %v", path, err)
		}
		o.CertExpiryWarning = d
	}
	// The file's lists come first and the flags override them, rule by rule: --disable X turns off
	// a rule the file enables, --enable X turns on one it disables.
	o.Enable, o.Disable = without(fc.Enable, o.Disable, o.Enable), without(fc.Disable, o.Enable, o.Disable)
	return nil
}

// without returns the IDs of list that are not in drop, followed by add.
func without(list, drop, add []string) []string {
	out := make([]string, 0, len(list)+len(add))
	for _, id := range list {
		if !slices.Contains(drop, id) {
			out = append(out, id)
		}
	}
	return append(out, add...)
}

// Validate checks the options and derives the run configuration.
func (o *Options) Validate() error {
	switch {
	case o.Live && (len(o.Filenames) > 0 || o.Kustomize != ""):
		return cmdutil.UsageError("--live lints the cluster: it cannot be combined with -f or -k")
	case o.AllNamespaces && !o.Live:
		return cmdutil.UsageError("-A only applies with --live; manifests take their namespaces from the files (-n sets the default)")
	case !o.Live && len(o.Filenames) == 0 && o.Kustomize == "":
		return cmdutil.UsageError("nothing to lint: pass -f FILE|DIR|- (repeatable), -k DIR, or --live")
	}
	if err := cmdutil.ValidateOutput(o.Output, report.LintFormats); err != nil {
		return err
	}
	if o.FailOn == "none" {
		o.failOn = 0
	} else {
		s, err := report.ParseSeverity(o.FailOn)
		if err != nil {
			return cmdutil.UsageError("--fail-on: %v (or none)", err)
		}
		o.failOn = s
	}
	o.reports = nil
	for _, rf := range o.ReportFiles {
		format, path, ok := strings.Cut(rf, "=")
		if !ok || path == "" {
			return cmdutil.UsageError("--report-file %q: write FORMAT=PATH, e.g. sarif=results.sarif", rf)
		}
		if err := cmdutil.ValidateOutput(format, report.LintFormats); err != nil {
			return cmdutil.UsageError("--report-file %q: format must be one of %s", rf, strings.Join(report.LintFormats, ", "))
		}
		o.reports = append(o.reports, reportFile{format, path})
	}
	r, err := parsePortRange(o.NodePortRange)
	if err != nil {
		return cmdutil.UsageError("--node-port-range: %v", err)
	}
	o.cfg = rules.DefaultConfig()
	o.cfg.NodePortRange = r
	o.cfg.Disable, o.cfg.Enable = o.Disable, o.Enable
	o.cfg.Now = o.Now()
	o.cfg.CertExpiryWarning = o.CertExpiryWarning
	if _, err := rules.Enabled(o.cfg); err != nil {
		return cmdutil.AsUsage(err)
	}
	return nil
}

func parsePortRange(s string) (rules.PortRange, error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return rules.PortRange{}, fmt.Errorf("%q is not MIN-MAX", s)
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return rules.PortRange{}, fmt.Errorf("%q is not a port range MIN-MAX with 1 <= MIN <= MAX <= 65535", s)
	}
	return rules.PortRange{Min: int32(a), Max: int32(b)}, nil
}

// Run lints and prints.
func (o *Options) Run(ctx context.Context) error {
	snap, err := o.snapshot(ctx)
	if err != nil {
		return err
	}
	var degraded []string
	for _, d := range snap.Degraded() {
		fmt.Fprintf(o.ErrOut, "warning: %s not checked: %s\n", d.Kind, d.Detail)
		degraded = append(degraded, d.Kind)
	}
	rep, err := Lint(snap, o.cfg)
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	rep.Summary.FailOn = o.FailOn
	if o.failOn != 0 {
		rep.Summary.Failed = rep.Summary.Findings.AtOrAbove(o.failOn) > 0
	}
	ropts := report.RenderOptions{Rules: RuleMetas(), Color: o.color, FailOn: o.failOn}
	for _, rf := range o.reports {
		if err := writeReportFile(rf, rep, ropts); err != nil {
			return cmdutil.Incomplete(err)
		}
	}
	if err := report.RenderLint(o.Out, o.Output, rep, ropts); err != nil {
		return cmdutil.Incomplete(err)
	}
	if o.Output == report.FormatTable || o.Output == report.FormatWide {
		fmt.Fprintln(o.ErrOut, SummaryLine(rep))
	}
	if len(degraded) > 0 {
		// the report came out, but without the checks that needed these kinds: not a clean run
		return cmdutil.Incomplete(fmt.Errorf("the report is incomplete: %s could not be read (see the warnings above)", strings.Join(degraded, ", ")))
	}
	if rep.Summary.Failed {
		return cmdutil.FindingsError(rep.Summary.Findings.AtOrAbove(o.failOn), o.FailOn)
	}
	return nil
}

func (o *Options) snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	if !o.Live {
		res, err := o.load()
		if err != nil {
			return nil, err
		}
		return snapshot.FromManifests(res, o.Namespace), nil
	}
	c, err := o.factory.Clients()
	if err != nil {
		return nil, err
	}
	ns := c.Namespace
	if o.AllNamespaces {
		ns = ""
	}
	fmt.Fprintf(o.ErrOut, "reading %s from the cluster...\n", nsText(ns))
	snap, err := live.FromCluster(ctx, c.Kube, live.ClusterOptions{Namespace: ns, SkipNodes: true, Gateway: c.Gateway})
	if err != nil {
		return nil, cmdutil.Incomplete(err)
	}
	return snap, nil
}

func nsText(ns string) string {
	if ns == "" {
		return "all namespaces"
	}
	return "namespace " + ns
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (o *Options) load() (*manifest.Result, error) {
	res, err := manifest.LoadInputs(o.Filenames, manifest.Options{Recursive: o.Recursive, Stdin: o.In}, o.Kustomize)
	return res, cmdutil.AsUsage(err)
}

func writeReportFile(rf reportFile, rep *report.LintReport, ropts report.RenderOptions) error {
	f, err := os.Create(rf.path)
	if err != nil {
		return fmt.Errorf("--report-file %s: %w", rf.path, err)
	}
	ropts.Color = false
	if err := report.RenderLint(f, rf.format, rep, ropts); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Lint runs the rules over a snapshot and returns the report (FailOn and Failed unset).
func Lint(snap *snapshot.Snapshot, cfg rules.Config) (*report.LintReport, error) {
	out, err := rules.Run(snap, cfg)
	if err != nil {
		return nil, err
	}
	rep := report.NewLintReport(report.Tool{Name: "svc-doctor", Version: version.Current()})
	rep.Findings = append(rep.Findings, out.Findings...)
	rep.Summary = report.Summary{Files: len(snap.Files), Objects: snap.Objects(), PassedThrough: len(snap.Other),
		Rules: out.Rules, Suppressed: out.Suppressed}
	for _, f := range out.Findings {
		rep.Summary.Findings.Add(f.Severity)
	}
	return rep, nil
}

// RuleMetas describes every rule for renderers.
func RuleMetas() []report.RuleMeta {
	all := rules.All()
	out := make([]report.RuleMeta, len(all))
	for i, r := range all {
		out[i] = r.Meta()
	}
	return out
}

// SummaryLine is the one-line summary printed on stderr after a table.
func SummaryLine(r *report.LintReport) string {
	s := r.Summary
	c := s.Findings
	line := fmt.Sprintf("%d %s, %d %s, %d info in %d %s from %d %s",
		c.Error, plural(c.Error, "error", "errors"), c.Warning, plural(c.Warning, "warning", "warnings"), c.Info,
		s.Objects, plural(s.Objects, "object", "objects"), s.Files, plural(s.Files, "file", "files"))
	if s.PassedThrough > 0 {
		line += fmt.Sprintf(" (%d of other kinds passed through)", s.PassedThrough)
	}
	if s.Suppressed > 0 {
		line += fmt.Sprintf(", %d suppressed", s.Suppressed)
	}
	return line
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

var _ io.Writer = (*os.File)(nil)
