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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// DefaultMaxFindings is how many findings of one rule are listed by default.
const DefaultMaxFindings = 100

// typedServices is how many Services a run keeps decoded; beyond, the rest are kept as their text
// and checked a window at a time (see rules.Collector.RunStream).
const typedServices = 5000

// interruptGrace is how long Run waits, after Ctrl-C, for the work to stop by itself.
const interruptGrace = 300 * time.Millisecond

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
	// MaxFindings caps the findings listed per rule (0: all).
	MaxFindings int
	// AllowEmpty accepts an input that holds no Kubernetes object.
	AllowEmpty bool
	// StdinTimeout gives up on -f - when standard input sends nothing for this long (0: never).
	StdinTimeout time.Duration
	// StdinFilename names what is read from -f - in positions and reports.
	StdinFilename string

	factory cmdutil.Factory

	// Now is the clock certificates are checked against (tests fix it).
	Now func() time.Time

	genericiooptions.IOStreams

	failOn    report.Severity
	cfg       rules.Config
	color     bool
	reports   []reportFile
	reportsMu sync.Mutex // Run closes the report files of an interrupted run while it may write them
	outputSet bool
	// phase is what Run is doing, for the message when it is interrupted
	phase atomic.Value
}

// NewOptions returns options with the defaults.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams, Output: report.FormatTable, FailOn: "error", Now: time.Now,
		NodePortRange: "30000-32767", CertExpiryWarning: 30 * 24 * time.Hour,
		MaxFindings: DefaultMaxFindings, StdinTimeout: manifest.DefaultStdinTimeout}
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

Inputs are read as a stream, one document at a time: memory grows with the objects the rules
relate (Services, pod templates, Ingresses...), not with the input. An input that holds no
Kubernetes object is an error (exit code 2), unless --allow-empty. Named pipes and devices are
refused: pipe them to standard input with -f -, which gives up after --stdin-timeout without a byte.

Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error, 3 could not complete
(--live), 130 interrupted (Ctrl-C, SIGTERM).`,
		Example: `  # lint a directory tree
  kubectl svc-doctor lint -R -f deploy/

  # lint rendered Helm output, fail on warnings too
  helm template my-release ./chart | kubectl svc-doctor lint -f - --fail-on warning

  # lint a kustomization, write SARIF for code scanning and show the table
  kubectl svc-doctor lint -k overlays/prod --report-file sarif=results.sarif

  # SARIF of rendered output on standard output, with the chart's path in its locations
  helm template web ./chart | kubectl svc-doctor lint -f - --stdin-filename chart/rendered.yaml --report-file sarif=-`,
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
	f.StringArrayVar(&o.ReportFiles, "report-file", nil, "also write a report to a file, as FORMAT=PATH (e.g. sarif=out.sarif, junit=junit.xml; PATH - is standard output, instead of -o); repeatable")
	f.StringVar(&o.FailOn, "fail-on", o.FailOn, "exit 1 when a finding is at or above this severity: error|warning|info|none")
	f.StringSliceVar(&o.Disable, "disable", nil, "rule IDs to skip; repeatable")
	f.StringSliceVar(&o.Enable, "enable", nil, "rule IDs to run even if disabled by default or in the config file; repeatable")
	f.StringVar(&o.ConfigFile, "config", "", "config file (default: "+DefaultConfigFile+" in the working directory, if present)")
	f.StringVar(&o.NodePortRange, "node-port-range", o.NodePortRange, "the cluster's --service-node-port-range, as MIN-MAX")
	f.DurationVar(&o.CertExpiryWarning, "cert-expiry-warning", o.CertExpiryWarning, "warn about certificates expiring within this duration")
	f.BoolVar(&o.Live, "live", false, "lint the objects of the cluster (namespace -n, or all with -A) instead of manifests")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "with --live: lint every namespace")
	f.IntVar(&o.MaxFindings, "max-findings", o.MaxFindings, "list at most this many findings per rule, then one line with the number of the others (they still count for --fail-on); 0 lists all")
	f.BoolVar(&o.AllowEmpty, "allow-empty", false, "accept an input that holds no Kubernetes object (by default an error, exit code 2: an empty input usually means that what produced it failed)")
	f.DurationVar(&o.StdinTimeout, "stdin-timeout", o.StdinTimeout, "with -f -: give up when standard input sends nothing for this long (0 waits forever)")
	f.StringVar(&o.StdinFilename, "stdin-filename", "", "with -f -: the file name to give what is read from standard input in positions and reports (e.g. its path in the repository, for SARIF)")
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
	o.outputSet = cmd != nil && cmd.Flags().Changed("output")
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
	stdout := ""
	for _, rf := range o.ReportFiles {
		format, path, ok := strings.Cut(rf, "=")
		if !ok || path == "" {
			return cmdutil.UsageError("--report-file %q: write FORMAT=PATH, e.g. sarif=results.sarif", rf)
		}
		if err := cmdutil.ValidateOutput(format, report.LintFormats); err != nil {
			return cmdutil.UsageError("--report-file %q: format must be one of %s", rf, strings.Join(report.LintFormats, ", "))
		}
		if path == "-" {
			switch {
			case stdout != "":
				return cmdutil.UsageError("--report-file %s and --report-file %s both write to standard output: keep one", stdout, rf)
			case o.outputSet:
				return cmdutil.UsageError("--report-file %s writes to standard output, which already carries -o %s: drop one of them", rf, o.Output)
			}
			stdout, o.Output = rf, format
			continue
		}
		o.reports = append(o.reports, reportFile{format: format, path: path})
	}
	o.color = (o.Output == report.FormatTable || o.Output == report.FormatWide) && cmdutil.ColorEnabled(o.Out)
	switch {
	case o.MaxFindings < 0:
		return cmdutil.UsageError("--max-findings %d: give a number of findings per rule, or 0 to list them all", o.MaxFindings)
	case o.StdinTimeout < 0:
		return cmdutil.UsageError("--stdin-timeout %s: give a duration such as 30s, or 0 to wait forever", o.StdinTimeout)
	case o.StdinFilename != "" && !slices.Contains(o.Filenames, "-"):
		return cmdutil.UsageError("--stdin-filename names what is read from standard input: it needs -f -")
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
	o.cfg.MaxPerRule = o.MaxFindings
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

// Run lints and prints. Ctrl-C or SIGTERM (ctx cancelled) ends it within interruptGrace with an
// error that exits 130, whatever it is doing: reading a pipe that never ends, checking, printing.
func (o *Options) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	o.setPhase("starting")
	done := make(chan error, 1)
	go func() { done <- o.run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	// the work notices the cancellation at its next document or write; give it a moment to say so
	select {
	case err := <-done:
		if err == nil {
			return nil // it had finished
		}
	case <-time.After(interruptGrace):
	}
	o.closeReports(false)
	return &cmdutil.ExitError{Code: cmdutil.ExitInterrupted, Err: fmt.Errorf("interrupted while %s: %s", o.phase.Load(), o.interruptedResult())}
}

func (o *Options) setPhase(p string) { o.phase.Store(p) }

func (o *Options) interruptedResult() string {
	if o.phase.Load() == "writing the report" {
		return "the report is incomplete"
	}
	return "nothing was reported"
}

// run does the work of Run.
func (o *Options) run(ctx context.Context) error {
	if err := o.openReports(); err != nil {
		return err
	}
	defer o.closeReports(false)
	var rep *report.LintReport
	var degraded []string
	if o.Live {
		o.setPhase("reading the cluster")
		snap, err := o.liveSnapshot(ctx)
		if err != nil {
			return err
		}
		for _, d := range snap.Degraded() {
			fmt.Fprintf(o.ErrOut, "warning: %s not checked: %s\n", d.Kind, d.Detail)
			degraded = append(degraded, d.Kind)
		}
		o.setPhase("checking")
		if rep, err = Lint(snap, o.cfg); err != nil {
			return cmdutil.AsUsage(err)
		}
	} else {
		var err error
		if rep, err = o.lintManifests(ctx); err != nil {
			return err
		}
	}
	rep.Summary.FailOn = o.FailOn
	if o.failOn != 0 {
		rep.Summary.Failed = rep.Summary.Findings.AtOrAbove(o.failOn) > 0
	}
	o.setPhase("writing the report")
	ropts := report.RenderOptions{Rules: RuleMetas(), Color: o.color, FailOn: o.failOn}
	if err := report.RenderLint(ctxWriter{ctx, o.Out}, o.Output, rep, ropts); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return cmdutil.UsageError("writing the report to standard output: %v", err)
	}
	if o.Output == report.FormatTable || o.Output == report.FormatWide {
		fmt.Fprintln(o.ErrOut, SummaryLine(rep))
	}
	if err := o.writeReports(rep, ropts); err != nil {
		return err
	}
	o.closeReports(true)
	if len(degraded) > 0 {
		// the report came out, but without the checks that needed these kinds: not a clean run
		return cmdutil.Incomplete(fmt.Errorf("the report is incomplete: %s could not be read (see the warnings above)", strings.Join(degraded, ", ")))
	}
	if rep.Summary.Failed {
		return cmdutil.FindingsError(rep.Summary.Findings.AtOrAbove(o.failOn), o.FailOn)
	}
	return nil
}

// lintManifests reads the inputs as a stream and runs the rules; memory grows with what the rules
// relate, not with the input (see snapshot.FromStream and rules.Collector).
func (o *Options) lintManifests(ctx context.Context) (*report.LintReport, error) {
	o.setPhase("reading the manifests")
	st, err := manifest.Open(ctx, o.Filenames, o.Kustomize, manifest.Options{Recursive: o.Recursive, Stdin: o.In,
		StdinName: o.StdinFilename, StdinTimeout: o.StdinTimeout})
	if err != nil {
		return nil, cmdutil.AsUsage(err)
	}
	defer func() { _ = st.Close() }()
	if !o.AllowEmpty {
		// a directory without manifest files is known before anything is read
		for _, in := range st.Inputs() {
			if in.Kind == manifest.InputDir && len(in.Files) == 0 {
				return nil, emptyInputError(in)
			}
		}
	}
	c, err := rules.NewCollector(o.cfg)
	if err != nil {
		return nil, cmdutil.AsUsage(err)
	}
	res, err := snapshot.FromStream(ctx, st, snapshot.StreamOptions{DefaultNamespace: o.Namespace, Issues: c.Issue,
		KeepPassThrough: c.KeepPassThrough, TypedServices: typedServices, Trim: true})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, cmdutil.AsUsage(err)
	}
	if !o.AllowEmpty {
		for i, in := range res.Inputs {
			if res.Objects[i] == 0 {
				return nil, emptyInputError(in)
			}
		}
	}
	o.setPhase("checking")
	defer manifest.CloseFiles() // the objects' files, opened again for the lines of findings
	err = c.RunStream(res, rules.ServiceWindow)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, cmdutil.AsUsage(err)
	}
	snap := res.Snapshot
	return newReport(c.Outcome(), len(snap.Files), res.Read(), len(snap.Other)+snap.PassedThrough), nil
}

// emptyInputError says that an input holds no Kubernetes object, and what to do.
func emptyInputError(in *manifest.Input) error {
	allow := "pass --allow-empty to accept an empty input"
	switch in.Kind {
	case manifest.InputStdin:
		return cmdutil.UsageError("no Kubernetes objects in standard input (-f -): it was empty or held only comments; if the command that should write the manifests failed, fix it first, or %s", allow)
	case manifest.InputDir:
		switch {
		case len(in.Files) == 0 && in.SkippedDirs > 0:
			return cmdutil.UsageError("no Kubernetes objects in %s: it has %d %s but no .yaml, .yml or .json file of its own: pass -R to read them", in.Arg, in.SkippedDirs, plural(in.SkippedDirs, "subdirectory", "subdirectories"))
		case len(in.Files) == 0:
			return cmdutil.UsageError("no Kubernetes objects in %s: it holds no .yaml, .yml or .json file; %s", in.Arg, allow)
		}
		return cmdutil.UsageError("no Kubernetes objects in %s: its %d %s are empty or hold only comments; %s", in.Arg, len(in.Files), plural(len(in.Files), "file", "files"), allow)
	case manifest.InputKustomize:
		return cmdutil.UsageError("no Kubernetes objects in kustomization %s: it renders nothing; %s", in.Arg, allow)
	}
	return cmdutil.UsageError("no Kubernetes objects in %s: the file is empty or holds only comments; %s", in.Arg, allow)
}

// ctxWriter stops writing once ctx is cancelled.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

func (o *Options) liveSnapshot(ctx context.Context) (*snapshot.Snapshot, error) {
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

// Lint runs the rules over a snapshot and returns the report (FailOn and Failed unset).
func Lint(snap *snapshot.Snapshot, cfg rules.Config) (*report.LintReport, error) {
	out, err := rules.Run(snap, cfg)
	if err != nil {
		return nil, err
	}
	return newReport(out, len(snap.Files), snap.Objects(), len(snap.Other)+snap.PassedThrough), nil
}

func newReport(out *rules.Outcome, files, objects, passed int) *report.LintReport {
	rep := report.NewLintReport(report.Tool{Name: "svc-doctor", Version: version.Current()})
	rep.Findings = append(rep.Findings, out.Findings...)
	rep.Summary = report.Summary{Files: files, Objects: objects, PassedThrough: passed,
		Rules: out.Rules, Suppressed: out.Suppressed, Findings: out.Counts}
	return rep
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
	omitted := 0
	for _, f := range r.Findings {
		omitted += f.Omitted
	}
	if omitted > 0 {
		line += fmt.Sprintf(", %d not listed (--max-findings)", omitted)
	}
	return line
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
