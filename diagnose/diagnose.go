// Package diagnose implements `kubectl svc-doctor diagnose`: it follows the path of a request to a
// Service hop by hop (the Service, selector -> pods, ports, readiness, EndpointSlices, DNS and
// connectivity from an in-cluster helper pod, node ports, load balancer, affinity and
// NetworkPolicies) and ends with one verdict: the root cause and the fix, from the first failing
// hop in causal order. Hops share a State that caches every cluster read, so a diagnosis costs a
// handful of LISTs and GETs whatever the number of pods. The helper pod is started lazily, the
// first time a hop needs it, and deleted on every way out, Ctrl-C included. `diagnose -A` prints a
// summary of every Service from the static hops only, without a helper pod. The package also
// holds the `cleanup` command, and the pieces the dnscheck and probes commands reuse.
package diagnose

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/internal/version"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/servicetrace"
)

// Formats diagnose prints.
var Formats = report.TraceFormats

// Options are the inputs of a diagnosis.
type Options struct {
	// Name and Port come from the argument svc/NAME[:PORT].
	Name, Port    string
	AllNamespaces bool
	Output        string
	HTTPPath      string
	CheckTimeout  time.Duration
	ShowRequests  bool
	Helper        helper.Flags

	genericiooptions.IOStreams

	// Dependencies, set by Complete from the kubectl flags; tests inject them.
	Client    kubernetes.Interface
	Config    *rest.Config
	Namespace string
	// ExplicitNamespace is true when -n was given.
	ExplicitNamespace bool
	// Requests counts the API requests sent (nil: not counted).
	Requests func() int64
	// Agents replaces the helper pod (tests inject canned agent results).
	Agents trace.AgentProvider
	// Now is the clock (tests fix it).
	Now func() time.Time

	color bool
}

// NewOptions returns options with the defaults.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams, Output: report.FormatTable, CheckTimeout: 3 * time.Second,
		Helper: helper.Flags{Image: version.AgentImage(), Timeout: helper.DefaultTimeout}, Now: time.Now}
}

// NewCmd returns the diagnose command.
func NewCmd(factory cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(streams)
	cmd := &cobra.Command{
		Use:   "diagnose svc/NAME[:PORT] | -A",
		Short: "Trace a Service hop by hop from inside the cluster and name the root cause",
		Long: `Follow the path of a request to a Service, hop by hop, and end with one verdict:

  1 service       the Service exists, its type, ClusterIP and ports; lint rules on the live object
  2 selector      selector -> pods (near misses, other namespaces, workloads scaled to 0)
  3 ports         service port -> targetPort -> container port, per pod
  4 readiness     Ready, container states, readiness gates, readiness-probe failures from events
  5 endpoints     EndpointSlices against the pods expected; manual endpoints of selector-less Services
  6 dns           from a helper pod: resolv.conf, short name, name.namespace, FQDN, SRV, ExternalName
  7 connectivity  from the helper: the ClusterIP, then every endpoint directly (proxy vs app faults)
  8 exposure      NodePort per node, LoadBalancer status, session affinity, NetworkPolicies

A hop that depends on a failed one is skipped with the reason. The helper pod (restricted Pod
Security profile) starts only when a hop needs it and is deleted on every exit, Ctrl-C included.
-A prints a summary of every Service (of -n NAMESPACE when given, else of all namespaces) from the
static hops only, without a helper pod.

Exit codes: 0 healthy (warnings allowed), 1 a fault was found, 2 usage error, 3 could not complete.`,
		Example: `  # why does service web not answer?
  kubectl svc-doctor diagnose svc/web -n shop

  # only port "http", with an HTTP GET of /healthz on top of the TCP checks
  kubectl svc-doctor diagnose svc/web:http --http-path /healthz

  # test from a client pod's position (NetworkPolicy questions)
  kubectl svc-doctor diagnose svc/web --from pod/frontend-7d4b9

  # every Service of every namespace, static checks only
  kubectl svc-doctor diagnose -A`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(factory, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "summarise every Service (of -n when given, else of all namespaces) from the static hops, without a helper pod")
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: "+strings.Join(Formats, "|"))
	f.StringVar(&o.HTTPPath, "http-path", "", "also send an HTTP GET of this path to the ClusterIP and to every endpoint (TCP ports)")
	f.DurationVar(&o.CheckTimeout, "check-timeout", o.CheckTimeout, "time limit of each network check from the helper")
	f.BoolVar(&o.ShowRequests, "stats", false, "print the number of API requests and the time of every hop")
	f.BoolVar(&o.ShowRequests, "show-requests", false, "")
	_ = f.MarkDeprecated("show-requests", "use --stats (-v is the log verbosity, as in kubectl)")
	o.Helper.AddFlags(f)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(Formats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("image-pull-policy", cobra.FixedCompletions([]string{"Always", "IfNotPresent", "Never"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete reads the argument and builds the clients.
func (o *Options) Complete(factory cmdutil.Factory, args []string) error {
	switch {
	case len(args) > 1:
		return cmdutil.UsageError("diagnose takes one Service, got %d arguments (%s)", len(args), strings.Join(args, " "))
	case len(args) == 1:
		var err error
		if o.Name, o.Port, err = cmdutil.ParseServiceArg(args[0], "diagnose"); err != nil {
			return err
		}
	}
	o.color = o.Output == report.FormatTable && cmdutil.ColorEnabled(o.Out)
	if o.Client == nil && factory != nil {
		c, err := factory.Clients()
		if err != nil {
			return err
		}
		o.Client, o.Config, o.Namespace, o.ExplicitNamespace, o.Requests = c.Kube, c.Config, c.Namespace, c.ExplicitNamespace, c.Requests
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	return nil
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.AllNamespaces && o.Name != "":
		return cmdutil.UsageError("-A summarises every Service: drop svc/%s, or drop -A to diagnose it", o.Name)
	case !o.AllNamespaces && o.Name == "":
		return cmdutil.UsageError("name a Service (kubectl svc-doctor diagnose svc/NAME[:PORT]) or pass -A for a summary of every Service")
	}
	if err := cmdutil.ValidateOutput(o.Output, Formats); err != nil {
		return err
	}
	if o.HTTPPath != "" && !strings.HasPrefix(o.HTTPPath, "/") {
		return cmdutil.UsageError("--http-path %q must start with /", o.HTTPPath)
	}
	if o.CheckTimeout <= 0 || o.CheckTimeout > 30*time.Second {
		return cmdutil.UsageError("--check-timeout %s: use a duration between 1ms and 30s", o.CheckTimeout)
	}
	if o.AllNamespaces && (o.Helper.From != "" || o.Helper.KeepHelper || o.HTTPPath != "") {
		return cmdutil.UsageError("-A runs the static hops only: --from, --keep-helper and --http-path do not apply")
	}
	return o.Helper.Validate()
}

func (o *Options) requests() int64 {
	if o.Requests == nil {
		return 0
	}
	return o.Requests()
}

// Run diagnoses and prints.
func (o *Options) Run(ctx context.Context) (err error) {
	ctx, stop := helper.NotifyContext(ctx)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.Helper.Timeout)
	defer cancel()
	if o.AllNamespaces {
		return o.runSummary(ctx)
	}
	session := &helper.Session{Client: o.Client, Config: o.Config, Namespace: o.Namespace, Flags: o.Helper,
		Reason: "diagnose svc/" + o.Name, ErrOut: o.ErrOut}
	defer func() {
		if cerr := session.Close(ctx); cerr != nil {
			fmt.Fprintf(o.ErrOut, "error: %v\n(remove leftovers with: kubectl svc-doctor cleanup -n %s)\n", cerr, o.Namespace)
			if err == nil {
				err = cmdutil.Incomplete(cerr)
			}
		}
	}()
	var agents trace.AgentProvider = session
	if o.Agents != nil {
		agents = o.Agents
	}
	reads := trace.NewReads(o.Client, o.Namespace)
	reads.OneService = true
	st := servicetrace.NewState(servicetrace.Config{Namespace: o.Namespace, Name: o.Name, Port: o.Port, HTTPPath: o.HTTPPath, CheckTimeout: o.CheckTimeout}, reads, agents)
	st.Clock, st.RequestCount = o.Now, o.Requests
	fmt.Fprintf(o.ErrOut, "diagnosing service %s/%s...\n", o.Namespace, o.Name)
	start := o.Now()
	before := o.requests()
	steps := servicetrace.Run(ctx, st, servicetrace.Hops())
	if ferr := st.Fatal(); ferr != nil {
		return cmdutil.Incomplete(ferr)
	}
	rep := servicetrace.NewReport(st, steps, o.Now().Sub(start), o.requests()-before)
	if err := o.print(rep); err != nil {
		return cmdutil.Incomplete(err)
	}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return cmdutil.Incomplete(fmt.Errorf("timed out after %s (--timeout): the report is partial", o.Helper.Timeout))
		}
		return cmdutil.Incomplete(errors.New("interrupted: the report is partial"))
	}
	return exitFor(rep.Verdict)
}

// exitFor maps a verdict to the exit code: 0 healthy, 1 fault, 3 inconclusive.
func exitFor(v report.Verdict) error {
	switch v.Kind {
	case report.VerdictFault:
		return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Silent: true, Err: fmt.Errorf("fault found in hop %s", v.Hop)}
	case report.VerdictInconclusive:
		return &cmdutil.ExitError{Code: cmdutil.ExitIncomplete, Silent: true, Err: errors.New(v.Message)}
	}
	return nil
}

func (o *Options) print(rep *report.DiagnoseReport) error {
	switch o.Output {
	case report.FormatJSON:
		return report.WriteJSON(o.Out, rep)
	case report.FormatYAML:
		return report.WriteYAML(o.Out, rep)
	}
	if err := report.WriteHopTable(o.Out, rep.Hops, rep.Verdict, o.color, o.ShowRequests); err != nil {
		return err
	}
	if o.ShowRequests {
		fmt.Fprintf(o.ErrOut, "%d API requests in %s\n", rep.Stats.Requests, (time.Duration(rep.Stats.DurationMillis) * time.Millisecond).String())
	}
	return nil
}

// SummaryReport is the envelope of `diagnose -A -o json|yaml` (kind DiagnoseSummary).
type SummaryReport struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Tool       report.Tool `json:"tool"`
	// Namespace is the namespace summarised ("" = all).
	Namespace string `json:"namespace,omitempty"`
	// Static is always true: the summary runs the static hops only, without a helper pod.
	Static   bool             `json:"static"`
	Note     string           `json:"note"`
	Services []ServiceSummary `json:"services"`
	Stats    report.Stats     `json:"stats"`
}

// ServiceSummary is one Service's line of the summary.
type ServiceSummary struct {
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Type      string         `json:"type"`
	Verdict   report.Verdict `json:"verdict"`
	Hops      []HopStatus    `json:"hops"`
	// Detail is the root cause of a fault, or what a healthy Service has.
	Detail string `json:"detail"`
}

// HopStatus is a hop's status in a summary.
type HopStatus struct {
	ID      string           `json:"id"`
	Status  report.HopStatus `json:"status"`
	Summary string           `json:"summary"`
}

// SummaryNote says what the summary does not test.
const SummaryNote = "static hops only (service, selector, ports, readiness, endpoints, exposure): no helper pod was started, so DNS and traffic were not tested; run `kubectl svc-doctor diagnose svc/NAME -n NAMESPACE` for the full trace"

func (o *Options) runSummary(ctx context.Context) error {
	scope := ""
	if o.ExplicitNamespace {
		scope = o.Namespace
	}
	where := "all namespaces"
	if scope != "" {
		where = "namespace " + scope
	}
	fmt.Fprintf(o.ErrOut, "reading %s...\n", where)
	start := o.Now()
	before := o.requests()
	reads := trace.NewReads(o.Client, scope)
	snap, err := reads.Snapshot(ctx)
	if err != nil {
		return cmdutil.Incomplete(err)
	}
	for _, kind := range sortedKeys(snap.Unavailable) {
		if !strings.HasPrefix(snap.Unavailable[kind], "not read") {
			fmt.Fprintf(o.ErrOut, "warning: %s not checked: %s\n", kind, snap.Unavailable[kind])
		}
	}
	var svcs []string
	byKey := map[string]bool{}
	for _, s := range snap.Services {
		k := s.Namespace + "/" + s.Name
		if !byKey[k] {
			byKey[k] = true
			svcs = append(svcs, k)
		}
	}
	sort.Strings(svcs)
	rep := &SummaryReport{APIVersion: report.APIVersion, Kind: "DiagnoseSummary",
		Tool: report.Tool{Name: "svc-doctor", Version: version.Current()}, Namespace: scope, Static: true, Note: SummaryNote, Services: []ServiceSummary{}}
	faults, inconclusive := 0, 0
	for _, k := range svcs {
		ns, name, _ := strings.Cut(k, "/")
		st := servicetrace.NewState(servicetrace.Config{Namespace: ns, Name: name, Static: true}, reads, nil)
		st.Clock, st.RequestCount = o.Now, o.Requests
		steps := servicetrace.Run(ctx, st, servicetrace.StaticHops())
		if ferr := st.Fatal(); ferr != nil {
			return cmdutil.Incomplete(ferr)
		}
		v := trace.Conclude(steps)
		ss := ServiceSummary{Namespace: ns, Name: name, Verdict: v, Hops: []HopStatus{}}
		if st.Service != nil {
			ss.Type = serviceType(st.Service)
		}
		for _, s := range steps {
			ss.Hops = append(ss.Hops, HopStatus{ID: s.ID, Status: s.Result.Status, Summary: s.Result.Summary})
		}
		switch v.Kind {
		case report.VerdictFault:
			faults++
			ss.Detail = v.RootCause
		case report.VerdictInconclusive:
			inconclusive++
			ss.Detail = v.Message
		default:
			ss.Detail = healthyDetail(steps)
		}
		rep.Services = append(rep.Services, ss)
	}
	rep.Stats = report.Stats{Requests: o.requests() - before, DurationMillis: o.Now().Sub(start).Milliseconds()}
	switch o.Output {
	case report.FormatJSON:
		err = report.WriteJSON(o.Out, rep)
	case report.FormatYAML:
		err = report.WriteYAML(o.Out, rep)
	default:
		err = writeSummaryTable(o, rep)
	}
	if err != nil {
		return cmdutil.Incomplete(err)
	}
	if o.ShowRequests {
		fmt.Fprintf(o.ErrOut, "%d API requests for %d Services in %s\n", rep.Stats.Requests, len(rep.Services), (time.Duration(rep.Stats.DurationMillis) * time.Millisecond).String())
	}
	switch {
	case faults > 0:
		return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Silent: true, Err: fmt.Errorf("%d of %d Services have a fault", faults, len(rep.Services))}
	case inconclusive > 0:
		return &cmdutil.ExitError{Code: cmdutil.ExitIncomplete, Silent: true, Err: fmt.Errorf("%d Services could not be checked completely", inconclusive)}
	}
	return nil
}

// healthyDetail sums up a healthy Service from its hops.
func healthyDetail(steps []trace.Step) string {
	var parts []string
	for _, s := range steps {
		switch s.ID {
		case servicetrace.HopReadiness, servicetrace.HopEndpoints:
			if s.Result.Status != trace.Skip {
				parts = append(parts, s.Result.Summary)
			}
		}
	}
	for _, s := range steps {
		if s.Result.Status == trace.Warn {
			parts = append(parts, "warning ("+s.ID+"): "+s.Result.Summary)
			break
		}
	}
	if len(parts) == 0 {
		for _, s := range steps {
			if s.ID == servicetrace.HopService {
				return s.Result.Summary
			}
		}
	}
	return strings.Join(parts, "; ")
}

func writeSummaryTable(o *Options, rep *SummaryReport) error {
	headers := []string{"verdict", "namespace", "service", "type", "hop", "detail"}
	if rep.Namespace != "" {
		headers = []string{"verdict", "service", "type", "hop", "detail"}
	}
	var rows [][]string
	for _, s := range rep.Services {
		verdict := strings.ToUpper(s.Verdict.Kind)
		row := []string{verdict, s.Namespace, s.Name, s.Type, s.Verdict.Hop, s.Detail}
		if rep.Namespace != "" {
			row = []string{verdict, s.Name, s.Type, s.Verdict.Hop, s.Detail}
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		where := "any namespace"
		if rep.Namespace != "" {
			where = "namespace " + rep.Namespace
		}
		_, err := fmt.Fprintf(o.Out, "No Services found in %s.\n", where)
		return err
	}
	var c report.Colorizer
	if o.color {
		c = func(_ int, cell string) string {
			switch strings.TrimSpace(cell) {
			case "HEALTHY":
				return "\x1b[32m" + cell + "\x1b[0m"
			case "FAULT":
				return "\x1b[31m" + cell + "\x1b[0m"
			case "INCONCLUSIVE":
				return "\x1b[33m" + cell + "\x1b[0m"
			}
			return cell
		}
	}
	if err := report.WriteTable(o.Out, headers, rows, c); err != nil {
		return err
	}
	_, err := fmt.Fprintf(o.Out, "\nNote: %s.\n", SummaryNote)
	return err
}

func serviceType(svc *corev1.Service) string {
	t := string(svc.Spec.Type)
	if t == "" {
		t = "ClusterIP"
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		t += " (headless)"
	}
	return t
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
