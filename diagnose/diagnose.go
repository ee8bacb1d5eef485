// Package diagnose implements `kubectl svc-doctor diagnose`: it follows the path of a request to a
// Service hop by hop (the Service, selector -> pods, ports, readiness, EndpointSlices, DNS and
// connectivity from an in-cluster helper pod, node ports, load balancer, affinity and
// NetworkPolicies) and ends with one verdict: the root cause and the fix, from the first failing
// hop in causal order. Hops share a State that caches every cluster read, so a diagnosis costs a
// handful of LISTs and GETs whatever the number of pods. The helper pod is started lazily, the
// first time a hop needs it, and deleted on every way out, Ctrl-C included. `diagnose -A` (or -n NS
// without a Service named) prints a summary of every Service: the static hops from one paginated
// LIST per kind, then the network checks from one helper pod per namespace (none with --static).
// The package also holds the `cleanup` command, and the pieces the dnscheck and probes commands
// reuse.
package diagnose

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/internal/version"
	"github.com/svc-doctor/svc-doctor/live"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/gateway"
	"github.com/svc-doctor/svc-doctor/route/ingress"
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
	// Static runs the static hops only when diagnosing every Service (no helper pod).
	Static bool
	// Parallel bounds how many Services are diagnosed at once.
	Parallel     int
	Output       string
	HTTPPath     string
	CheckTimeout time.Duration
	// RestartWindow is how recent a container restart must be to count as a fault (0: only
	// CrashLoopBackOff counts).
	RestartWindow time.Duration
	ShowRequests  bool
	Helper        helper.Flags
	// nodeFlags are --nodes and --max-nodes (nodes.go).
	nodeFlags

	genericiooptions.IOStreams

	// Dependencies, set by Complete from the kubectl flags; tests inject them.
	Client kubernetes.Interface
	Config *rest.Config
	// Gateway reads the HTTPRoutes that send traffic to the Service (nil: not read).
	Gateway   gatewayclient.Interface
	Namespace string
	// ExplicitNamespace is true when -n was given.
	ExplicitNamespace bool
	// Requests counts the API requests sent (nil: not counted).
	Requests func() int64
	// Agents replaces the helper pod (tests inject canned agent results).
	Agents trace.AgentProvider
	// NodeAgents replaces the helper pods of the per-node checks (tests).
	NodeAgents servicetrace.NodeAgents
	// HelperExec runs the agent's command in the helper pod (nil: the pods/exec subresource;
	// tests run it in-process, keeping the helper pod's lifecycle real).
	HelperExec helper.ExecFunc
	// Now is the clock (tests fix it).
	Now func() time.Time

	color bool
}

// NewOptions returns options with the defaults.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams, Output: report.FormatTable, CheckTimeout: 3 * time.Second, Parallel: servicetrace.DefaultWorkers, RestartWindow: servicetrace.DefaultRestartWindow,
		nodeFlags: nodeFlags{MaxNodes: servicetrace.DefaultMaxNodes},
		Helper:    helper.Flags{Image: version.AgentImage(), Timeout: helper.DefaultTimeout}, Now: time.Now}
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
  4 readiness     Ready, container states, readiness gates, readiness-probe failures from events;
                  pods that restarted within --restart-window or crash-loop (which probe kills them)
  5 endpoints     EndpointSlices against the pods expected; manual endpoints of selector-less Services
  6 dns           from a helper pod: resolv.conf, short name, name.namespace, FQDN, SRV, ExternalName
  7 connectivity  from the helper: the ClusterIP, then every endpoint directly (proxy vs app faults)
  8 exposure      NodePort per node, LoadBalancer status, session affinity, NetworkPolicies
  9 nodes         when the ready endpoints span nodes, or the Service has node ports or a Local
                  traffic policy: the same checks from a helper on each relevant node (--nodes),
                  a node x target matrix, and node-specific causes (a broken pod route between
                  two nodes, kube-proxy or DNS failing on one node, what a Local policy drops)

A hop that depends on a failed one is skipped with the reason. The helper pod (restricted Pod
Security profile) starts only when a hop needs it and is deleted on every exit, Ctrl-C included.
-A prints a summary of every Service (of -n NAMESPACE when given, else of all namespaces), as does
-n NAMESPACE without a Service named: the static hops from one LIST per kind, then the network
checks from one helper pod per namespace (--parallel Services at a time); --static skips them.

Exit codes: 0 healthy (warnings allowed), 1 a fault was found, 2 usage error, 3 could not complete.`,
		Example: `  # why does service web not answer?
  kubectl svc-doctor diagnose svc/web -n shop

  # only port "http", with an HTTP GET of /healthz on top of the TCP checks
  kubectl svc-doctor diagnose svc/web:http --http-path /healthz

  # test from a client pod's position (NetworkPolicy questions)
  kubectl svc-doctor diagnose svc/web --from pod/frontend-7d4b9

  # every Service of every namespace, static checks only (no helper pod)
  kubectl svc-doctor diagnose -A --static`,
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
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "diagnose every Service of every namespace (of -n when given); without a Service named, every Service of the namespace is diagnosed")
	f.BoolVar(&o.Static, "static", false, "with -A or no Service named: run the static hops only (from the API objects, without helper pods)")
	f.IntVar(&o.Parallel, "parallel", o.Parallel, "with -A or no Service named: how many Services to diagnose at once")
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: "+strings.Join(Formats, "|"))
	f.StringVar(&o.HTTPPath, "http-path", "", "also send an HTTP GET of this path to the ClusterIP and to every endpoint (TCP ports)")
	f.DurationVar(&o.CheckTimeout, "check-timeout", o.CheckTimeout, "time limit of each network check from the helper")
	f.DurationVar(&o.RestartWindow, "restart-window", o.RestartWindow, "a selected pod whose container restarted within this window is a fault (its restarts take it out of the endpoints); 0: only CrashLoopBackOff counts")
	f.BoolVar(&o.ShowRequests, "stats", false, "print the number of API requests and the time of every hop")
	f.BoolVar(&o.ShowRequests, "show-requests", false, "")
	_ = f.MarkDeprecated("show-requests", "use --stats (-v is the log verbosity, as in kubectl)")
	o.Helper.AddFlags(f)
	o.addFlags(f)
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
	o.color = (o.Output == report.FormatTable || o.Output == report.FormatWide) && cmdutil.ColorEnabled(o.Out)
	if o.Client == nil && factory != nil {
		c, err := factory.Clients()
		if err != nil {
			return err
		}
		o.Client, o.Config, o.Namespace, o.ExplicitNamespace, o.Requests = c.Kube, c.Config, c.Namespace, c.ExplicitNamespace, c.Requests
		o.Gateway = c.Gateway
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
	case o.Static && o.Name != "":
		return cmdutil.UsageError("--static applies to the summary of every Service (-A, or no Service named)")
	case o.Parallel < 1 || o.Parallel > 64:
		return cmdutil.UsageError("--parallel %d: use 1 to 64", o.Parallel)
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
	if o.RestartWindow < 0 {
		return cmdutil.UsageError("--restart-window %s: use a duration of 0 or more (0: only CrashLoopBackOff counts as restarting)", o.RestartWindow)
	}
	if err := o.nodeFlags.validate(o.Name); err != nil {
		return err
	}
	if o.Name == "" && (o.Helper.From != "" || o.Helper.KeepHelper) {
		return cmdutil.UsageError("--from and --keep-helper apply to the diagnosis of one Service (svc/NAME): every Service is checked from a helper pod of its own namespace")
	}
	return o.Helper.Validate()
}

// restartWindow is the trace's RestartWindow: the flag, with 0 (only CrashLoopBackOff) as a
// negative window.
func (o *Options) restartWindow() time.Duration {
	if o.RestartWindow == 0 {
		return -1
	}
	return o.RestartWindow
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
	if o.Name == "" {
		return o.runAll(ctx)
	}
	session := &helper.Session{Client: o.Client, Config: o.Config, Namespace: o.Namespace, Flags: o.Helper,
		Reason: "diagnose svc/" + o.Name, ErrOut: o.ErrOut, Exec: o.HelperExec}
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
	st := servicetrace.NewState(servicetrace.Config{Namespace: o.Namespace, Name: o.Name, Port: o.Port, HTTPPath: o.HTTPPath, CheckTimeout: o.CheckTimeout, RestartWindow: o.restartWindow()}, reads, agents)
	st.Clock, st.RequestCount = o.Now, o.Requests
	fmt.Fprintf(o.ErrOut, "diagnosing service %s/%s...\n", o.Namespace, o.Name)
	start := o.Now()
	before := o.requests()
	nodeAgents, closeNodes := o.nodeAgents()
	defer func() {
		if cerr := closeNodes(ctx); cerr != nil {
			fmt.Fprintf(o.ErrOut, "error: %v\n(remove leftovers with: kubectl svc-doctor cleanup -n %s)\n", cerr, o.Namespace)
			if err == nil {
				err = cmdutil.Incomplete(cerr)
			}
		}
	}()
	steps := servicetrace.Run(ctx, st, servicetrace.Hops())
	steps = servicetrace.RunNodes(ctx, st, steps, o.nodeFlags.options(nodeAgents))
	if ferr := st.Fatal(); ferr != nil {
		return cmdutil.Incomplete(ferr)
	}
	rep := servicetrace.NewReport(st, steps)
	// the routes matter once the Service itself works (and their two LISTs would take a fault
	// that needs more reads to explain past the request budget)
	if rep.Verdict.Kind != report.VerdictFault {
		rep.Routes, rep.RoutesNote = o.routesTo(ctx)
	}
	rep.Stats = report.Stats{Requests: o.requests() - before, DurationMillis: o.Now().Sub(start).Milliseconds()}
	if err := o.print(rep, rep.Stats); err != nil {
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

// routesTo lists the Ingress paths and HTTPRoute rules of the Service's namespace that send
// traffic to it: one LIST of Ingresses and one of HTTPRoutes in that namespace (routes of other
// namespaces that refer to it across namespaces are not looked for). A read that fails is named
// in the note; a cluster without the Gateway API has no HTTPRoute.
func (o *Options) routesTo(ctx context.Context) ([]string, string) {
	var out, notes []string
	ings, err := live.ListAll(ctx, 500, func(ctx context.Context, lo metav1.ListOptions) ([]networkingv1.Ingress, string, error) {
		l, err := o.Client.NetworkingV1().Ingresses(o.Namespace).List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		notes = append(notes, "Ingresses not read: "+live.DescribeAPIError(err, "list", "ingresses", o.Namespace))
	}
	ingPtrs := make([]*networkingv1.Ingress, len(ings))
	for i := range ings {
		ingPtrs[i] = &ings[i]
	}
	out = append(out, ingress.ServiceRoutes(ingPtrs, o.Namespace, o.Name)...)
	if o.Gateway != nil {
		routes, err := live.ListAll(ctx, 500, func(ctx context.Context, lo metav1.ListOptions) ([]gwv1.HTTPRoute, string, error) {
			l, err := o.Gateway.GatewayV1().HTTPRoutes(o.Namespace).List(ctx, lo)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		})
		switch {
		case apierrors.IsNotFound(err): // the Gateway API is not installed (or not at v1)
		case err != nil:
			notes = append(notes, "HTTPRoutes not read: "+live.DescribeAPIError(err, "list", "httproutes.gateway.networking.k8s.io", o.Namespace))
		}
		ptrs := make([]*gwv1.HTTPRoute, len(routes))
		for i := range routes {
			ptrs[i] = &routes[i]
		}
		out = append(out, gateway.ServiceRules(ptrs, o.Namespace, o.Name)...)
	}
	if len(out) > 0 || len(notes) > 0 {
		notes = append(notes, "routes of other namespaces that name it are not looked for")
	}
	return out, strings.Join(notes, "; ")
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

// print renders a report; --stats shows the time and API requests of every hop (the wide table)
// and the totals on stderr.
func (o *Options) print(rep report.Document, stats report.Stats) error {
	format := o.Output
	if o.ShowRequests && format == report.FormatTable {
		format = report.FormatWide
	}
	if err := report.Render(o.Out, format, rep, report.RenderOptions{Color: o.color}); err != nil {
		return err
	}
	if o.ShowRequests {
		fmt.Fprintf(o.ErrOut, "%d API requests in %s\n", stats.Requests, stats.Duration())
	}
	return nil
}
