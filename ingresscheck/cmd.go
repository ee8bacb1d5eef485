// Package ingresscheck implements `kubectl svc-doctor ingresscheck`: it resolves a URL (or every
// route of ing/NAME, or of every Ingress) through the Ingress route layer (route/ingress): the
// winning rule and why the others lose, the backend Service and port, the backend's health, the
// TLS material, the lint findings of the objects involved and the controller that serves the class.
// With --probe it sends the request through the controller's Service from the helper pod and
// compares what answered with the simulation. The same simulation runs offline on manifests and
// live on a cluster; live, the backends are diagnosed by the Service trace's static hops.
package ingresscheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/internal/version"
	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/gateway"
	"github.com/svc-doctor/svc-doctor/route/ingress"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// Options are the inputs of an ingresscheck run.
type Options struct {
	Filenames         []string
	Recursive         bool
	Kustomize         string
	Output            string
	Class             string
	Probe             bool
	AllNamespaces     bool
	CertExpiryWarning time.Duration
	// Headers (-H 'Name: value') and Method (-X) shape the request of a URL: HTTPRoute matches
	// read them, --probe sends them.
	Headers []string
	Method  string
	// UnsafeMethod lets --probe send a method other than GET, HEAD or OPTIONS.
	UnsafeMethod bool
	Helper       helper.Flags
	// Namespace is -n, or the kubeconfig's namespace (live), or "default".
	Namespace string

	// Now is the clock certificates are checked against (tests fix it).
	Now func() time.Time
	// Client and Config talk to the cluster; Complete builds them from the kubeconfig flags
	// unless a test set them.
	Client kubernetes.Interface
	Config *rest.Config
	// Gateway reads the Gateway API (nil: not read).
	Gateway gatewayclient.Interface
	// Clients counts API requests (nil in tests).
	clients *cmdutil.Clients

	genericiooptions.IOStreams

	factory cmdutil.Factory
	target  ingress.Target
	live    bool
	color   bool
}

// NewOptions returns options with the defaults.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams, Output: report.FormatTable, Now: time.Now, CertExpiryWarning: 30 * 24 * time.Hour}
}

// NewCmd returns the ingresscheck command.
func NewCmd(factory cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(factory, NewOptions(streams))
}

// newCmd builds the command around o (tests set its clock and client).
//
//nolint:funlen // declarations only: the command's help text (most of the function) and its flags
func newCmd(factory cmdutil.Factory, o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ingresscheck [URL | ing/NAME | httproute/NAME | gateway/NAME] [-f FILE|DIR|-]... [-k DIR] [-X METHOD] [-H 'Name: value']... [--probe]",
		Short: "Show which Ingress or HTTPRoute rule and backend serve a URL, and check routes, TLS and the controller",
		Long: `Resolve a URL against every Ingress of its class with the Ingress specification's matching
rules (exact host, then a wildcard covering one DNS label, then any host; the longest path; Exact
before Prefix; Prefix compares whole path elements), print the winning rule and why each other
matching rule loses, the backend Service and port, the backend's EndpointSlices and pod readiness,
the TLS Secret that serves the host, and the lint findings of the Ingresses involved (duplicate and
shadowed routes, TLS hosts without rules, hosts without TLS, certificate problems). ing/NAME checks
every route of one Ingress; without an argument every Ingress is checked.

The same URL is resolved through the Gateways and the HTTPRoutes attached to them with the Gateway
API's precedence (listener: exact hostname before wildcard; rules: exact hostname before wildcard,
Exact path before the longest PathPrefix before RegularExpression, a method match, the most header
matches, the most query matches, the oldest route, namespace/name alphabetically, rule order):
the winning rule is named "httproute NS/NAME rule[i]" with its backend Services, each other
candidate with why it lost, and the report says whether the Ingress path, the Gateway path or both
serve the URL. -X and -H set the method and headers that HTTPRoute matches read. httproute/NAME
checks every rule of one HTTPRoute, gateway/NAME every listener of a Gateway and the rules of the
routes attached to it.

Without -f/-k the cluster is read (Ingresses of all namespaces, then the namespaces concerned);
with -f/-k the manifests are checked offline. Where the controller is known to deviate from the
specification (Traefik orders routes by rule length and leaves out routes with a broken backend;
ingress-nginx picks the server by host first, turns every path of a host into a case-insensitive
regular expression when an Ingress of it sets use-regex or rewrite-target, and redirects a prefix
path requested without its trailing slash), the report says where the controller really sends the
request, and names the profile used.

--probe sends the request from a helper pod through the controller's Service (for a URL the Gateway
path serves: the Service in front of the Gateway's data plane), with the right Host header, TLS
server name, method and headers, and compares the status, the pod that answered and the
certificate served with the simulation. Requests are sent without a body; methods other than GET,
HEAD and OPTIONS need --allow-unsafe-method, as the backend acts on them like on any request.

` + ingress.ControllerHeuristic + `

Exit codes: 0 the route works, 1 a route is broken or no rule matches (or a probe disagrees),
2 usage or input error, 3 could not complete.`,
		Example: `  # which rule and backend serve this URL, and are they healthy?
  kubectl svc-doctor ingresscheck https://shop.example.com/api/v1

  # every route of one Ingress, then send the requests through the controller
  kubectl svc-doctor ingresscheck ing/shop -n web --probe

  # offline, on manifests
  kubectl svc-doctor ingresscheck http://shop.example.com/ -f deploy/ -R

  # which HTTPRoute rule takes a POST with a header, and send it through the Gateway
  kubectl svc-doctor ingresscheck https://www.shop.example.com/api -X POST -H 'X-Version: 2' --probe --allow-unsafe-method

  # every rule of an HTTPRoute, every listener of a Gateway
  kubectl svc-doctor ingresscheck httproute/storefront -n shop
  kubectl svc-doctor ingresscheck gateway/infra/public`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return cmdutil.UsageError("one URL, ing/NAME, httproute/NAME or gateway/NAME at a time, got %d arguments: %s", len(args), strings.Join(args, " "))
			}
			return nil
		},
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
	f.StringSliceVarP(&o.Filenames, "filename", "f", nil, "file, directory or - (stdin) to check offline; repeatable")
	f.BoolVarP(&o.Recursive, "recursive", "R", false, "process directories recursively")
	f.StringVarP(&o.Kustomize, "kustomize", "k", "", "render this kustomization directory in memory and check the result offline")
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: "+strings.Join(report.TraceFormats, "|"))
	f.StringVar(&o.Class, "class", "", "resolve the URL against this IngressClass (default: the class of the matching rules, else the default class)")
	f.BoolVar(&o.Probe, "probe", false, "send the requests through the Ingress controller from a helper pod and compare with the simulation")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "without an argument: check the Ingresses of every namespace")
	f.StringArrayVarP(&o.Headers, "header", "H", nil, "request header 'Name: value' for a URL (HTTPRoute header matches, --probe); repeatable")
	f.StringVarP(&o.Method, "method", "X", "", "request method for a URL (HTTPRoute method matches, --probe; default GET)")
	f.BoolVar(&o.UnsafeMethod, "allow-unsafe-method", false, "let --probe send a method other than GET, HEAD or OPTIONS (sent without a body)")
	f.DurationVar(&o.CertExpiryWarning, "cert-expiry-warning", o.CertExpiryWarning, "warn about certificates expiring within this duration")
	o.Helper.AddFlags(f)
	_ = cmd.MarkFlagDirname("kustomize")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(report.TraceFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete fills the options from the flags and arguments.
func (o *Options) Complete(_ *cobra.Command, factory cmdutil.Factory, args []string) error {
	o.factory = factory
	if factory != nil {
		if ns, explicit := factory.Namespace(); explicit {
			o.Namespace = ns
		}
	}
	if len(args) > 0 {
		t, err := ingress.ParseTarget(args[0])
		if err != nil {
			return cmdutil.UsageError("%v", err)
		}
		o.target = t
	}
	if o.target.URL != nil {
		if err := ingress.ShapeRequest(o.target.URL, o.Method, o.Headers); err != nil {
			return cmdutil.UsageError("%v", err)
		}
	}
	o.live = len(o.Filenames) == 0 && o.Kustomize == ""
	o.color = (o.Output == report.FormatTable || o.Output == report.FormatWide) && cmdutil.ColorEnabled(o.Out)
	return nil
}

// Validate checks the flag combinations.
func (o *Options) Validate() error {
	if err := cmdutil.ValidateOutput(o.Output, report.TraceFormats); err != nil {
		return err
	}
	switch {
	case o.Probe && !o.live:
		return cmdutil.UsageError("--probe sends requests through the cluster's Ingress controller: it cannot be combined with -f or -k")
	case o.AllNamespaces && o.target.Object() != "":
		return cmdutil.UsageError("-A checks every Ingress: it cannot be combined with %s", o.target.Object())
	case (o.Method != "" || len(o.Headers) > 0) && o.target.URL == nil:
		return cmdutil.UsageError("-X and -H shape the request of a URL: pass a URL")
	case o.Probe && !o.UnsafeMethod && o.target.URL != nil && !ingress.SafeMethod(o.target.URL.Method):
		return cmdutil.UsageError("--probe would send a %s request, which the backend acts on: add --allow-unsafe-method to send it (without a body), or leave out --probe", o.target.URL.Method)
	case o.AllNamespaces && !o.live:
		return cmdutil.UsageError("-A only applies to a cluster; manifests take their namespaces from the files (-n sets the default)")
	case o.UnsafeMethod && !o.Probe:
		return cmdutil.UsageError("--allow-unsafe-method only applies to --probe")
	case o.Class != "" && o.target.URL == nil:
		return cmdutil.UsageError("--class chooses the class a URL is resolved against: pass a URL")
	case o.CertExpiryWarning < 0:
		return cmdutil.UsageError("--cert-expiry-warning must not be negative")
	}
	if o.Probe {
		if err := o.Helper.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func (o *Options) rulesConfig() rules.Config {
	cfg := rules.DefaultConfig()
	cfg.Now = o.Now()
	cfg.CertExpiryWarning = o.CertExpiryWarning
	return cfg
}

// Run checks and prints.
func (o *Options) Run(ctx context.Context) error {
	cfg := o.rulesConfig()
	opts := ingress.CheckOptions{Class: o.Class, Now: cfg.Now, Tool: report.Tool{Name: "svc-doctor", Version: version.Current()}}
	var snap *snapshot.Snapshot
	var reader *clusterReader
	if !o.live {
		res, err := o.load()
		if err != nil {
			return err
		}
		snap = snapshot.FromManifests(res, o.Namespace)
		opts.Source, opts.Namespace = "manifests", o.Namespace
	} else {
		if err := o.connect(); err != nil {
			return err
		}
		if o.Helper.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, o.Helper.Timeout)
			defer cancel()
		}
		scope := o.Namespace
		if o.AllNamespaces {
			scope = ""
		}
		reader = newClusterReader(o.Client, o.Gateway, o.ErrOut, cfg)
		s, read, err := reader.snapshot(ctx, o.target, o.Namespace, scope)
		if err != nil {
			return cmdutil.Incomplete(err)
		}
		snap = s
		for _, d := range snap.Degraded() {
			fmt.Fprintf(o.ErrOut, "warning: %s not checked: %s\n", d.Kind, d.Detail)
			reader.degraded = append(reader.degraded, d.Detail)
		}
		opts.Source, opts.Namespace, opts.ReadNamespaces = "cluster", scope, read
		if o.target.Object() != "" {
			opts.Namespace = o.Namespace
		}
		opts.Controllers = reader.controllers(ctx, snap)
		opts.GatewayAddresses = reader.gatewayAddresses(ctx, snap)
		opts.Diagnose = reader.diagnose(ctx)
	}
	out, err := rules.Run(snap, cfg)
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	opts.Findings = out.Findings
	if len(snap.Gateways)+len(snap.HTTPRoutes) > 0 {
		opts.Gateway = gateway.New(rules.GatewayObjects(snap, cfg))
	}
	rep, err := ingress.Check(snap, o.target, opts)
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	if o.Probe {
		if err := o.probe(ctx, snap, rep, opts); err != nil {
			return err
		}
	}
	if err := report.Render(o.Out, o.Output, rep, report.RenderOptions{Color: o.color}); err != nil {
		return cmdutil.Incomplete(err)
	}
	if o.clients != nil && (o.Output == report.FormatTable || o.Output == report.FormatWide) {
		fmt.Fprintf(o.ErrOut, "%d API requests\n", o.clients.Requests())
	}
	if !rep.Verdict.OK() {
		return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Silent: true, Err: errors.New(rep.Verdict.Text())}
	}
	if reader != nil && len(reader.degraded) > 0 {
		return cmdutil.Incomplete(fmt.Errorf("the check is incomplete: %d %s could not be done (see the warnings above)", len(reader.degraded), report.Plural(len(reader.degraded), "read", "reads")))
	}
	return nil
}

func (o *Options) connect() error {
	if o.Client != nil {
		if o.Namespace == "" {
			o.Namespace = "default"
		}
		return nil
	}
	c, err := o.factory.Clients()
	if err != nil {
		return err
	}
	o.clients, o.Client, o.Config, o.Gateway = c, c.Kube, c.Config, c.Gateway
	if o.Namespace == "" {
		o.Namespace = c.Namespace
	}
	return nil
}

// probe sends the requests through the controller from the helper pod (or --from pod) and adds
// the results to the report; a disagreement with the simulation makes the verdict fail.
func (o *Options) probe(ctx context.Context, snap *snapshot.Snapshot, rep *report.IngressCheckReport, opts ingress.CheckOptions) error {
	probes, err := ingress.PlanProbes(snap, rep, o.target, opts)
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	sendable := probes.Sendable()
	if sendable == 0 {
		if err := probes.Run(ctx, nil, "", snap, rep, opts.Now); err != nil {
			return cmdutil.Incomplete(err)
		}
		return nil
	}
	ctx, stop := helper.NotifyContext(ctx)
	defer stop()
	sess := &helper.Session{Client: o.Client, Config: o.Config, Namespace: o.Namespace, Flags: o.Helper,
		Reason: "ingresscheck " + o.target.Raw, ErrOut: o.ErrOut}
	defer func() {
		if cerr := sess.Close(ctx); cerr != nil {
			fmt.Fprintf(o.ErrOut, "warning: %v\n", cerr)
		}
	}()
	ag, src, err := sess.Agent(ctx)
	if err != nil {
		return cmdutil.Incomplete(fmt.Errorf("--probe: %w", err))
	}
	fmt.Fprintf(o.ErrOut, "sending %d %s through the controller...\n", sendable, report.Plural(sendable, "request", "requests"))
	if err := probes.Run(ctx, ag, src.Description, snap, rep, opts.Now); err != nil {
		return cmdutil.Incomplete(fmt.Errorf("--probe: %w", err))
	}
	return nil
}

func (o *Options) load() (*manifest.Result, error) {
	res, err := manifest.LoadInputs(o.Filenames, manifest.Options{Recursive: o.Recursive, Stdin: o.In}, o.Kustomize)
	return res, cmdutil.AsUsage(err)
}
