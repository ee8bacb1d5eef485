// Package dnscheck implements `kubectl svc-doctor dnscheck`: the DNS hop of the diagnosis on its
// own. From a helper pod (or, with --from, from an existing pod) it reads the resolver
// configuration and looks the Service up by short name, name.namespace and FQDN (plus SRV records
// of named ports, and the target of an ExternalName), with the answers the API objects predict
// side by side. With --from it also explains the other discovery path: the <SVC>_SERVICE_HOST /
// <SVC>_SERVICE_PORT environment variables, which a container only gets when the Service existed
// before it started (and service links are enabled).
package dnscheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/internal/version"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/servicetrace"
)

// Options are the inputs of a DNS check.
type Options struct {
	Name         string
	Output       string
	CheckTimeout time.Duration
	Helper       helper.Flags

	genericiooptions.IOStreams

	Client    kubernetes.Interface
	Config    *rest.Config
	Namespace string
	// Agents replaces the helper pod (tests).
	Agents trace.AgentProvider
	Now    func() time.Time

	color bool
}

// NewOptions returns options with the defaults.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams, Output: report.FormatTable, CheckTimeout: 3 * time.Second,
		Helper: helper.Flags{Image: version.AgentImage(), Timeout: helper.DefaultTimeout}, Now: time.Now}
}

// NewCmd returns the dnscheck command.
func NewCmd(factory cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(streams)
	cmd := &cobra.Command{
		Use:   "dnscheck NAME",
		Short: "Resolve a Service from inside the cluster, next to the answers the API predicts",
		Long: `Resolve a Service the way a pod does, from a helper pod (or from an existing pod with --from):
the pod's resolv.conf (nameserver, search path, ndots), the short name, name.namespace and the
FQDN, SRV records of named ports and, for an ExternalName Service, the CNAME and whether its
target resolves. Each answer is shown next to what the API objects predict: the ClusterIP, one A
record per ready pod for a headless Service, the externalName.

With --from pod/NAME it also tells whether that pod has the <SVC>_SERVICE_HOST/_PORT environment
variables: a container gets them only if the Service existed when it started and
enableServiceLinks is not false, so a pod can reach a Service by DNS but not by environment
variable.

Exit codes: 0 DNS answers as expected, 1 it does not, 2 usage error, 3 could not complete.`,
		Example: `  kubectl svc-doctor dnscheck web -n shop
  kubectl svc-doctor dnscheck web -n shop --from pod/frontend-7d4b9`,
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
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: table|json|yaml")
	f.DurationVar(&o.CheckTimeout, "check-timeout", o.CheckTimeout, "time limit of each DNS query")
	o.Helper.AddFlags(f)
	return cmd
}

// Complete reads the argument and builds the clients.
func (o *Options) Complete(factory cmdutil.Factory, args []string) error {
	if len(args) != 1 {
		return cmdutil.UsageError("dnscheck takes one Service name (kubectl svc-doctor dnscheck NAME), got %d arguments", len(args))
	}
	name, port, err := cmdutil.ParseServiceArg(args[0], "dnscheck")
	if err != nil {
		return err
	}
	if port != "" {
		return cmdutil.UsageError("%q: dnscheck takes a Service name without a port", args[0])
	}
	o.Name = name
	o.color = o.Output == report.FormatTable && cmdutil.ColorEnabled(o.Out)
	if o.Client == nil && factory != nil {
		c, err := factory.Clients()
		if err != nil {
			return err
		}
		o.Client, o.Config, o.Namespace = c.Kube, c.Config, c.Namespace
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	return nil
}

// Validate checks the options.
func (o *Options) Validate() error {
	if err := cmdutil.ValidateOutput(o.Output, report.TraceFormats); err != nil {
		return err
	}
	if o.CheckTimeout <= 0 || o.CheckTimeout > agent.MaxTimeout {
		return cmdutil.UsageError("--check-timeout %s: use a duration between 1ms and %s", o.CheckTimeout, agent.MaxTimeout)
	}
	return o.Helper.Validate()
}

// Run checks and prints.
func (o *Options) Run(ctx context.Context) (err error) {
	ctx, stop := helper.NotifyContext(ctx)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.Helper.Timeout)
	defer cancel()
	session := &helper.Session{Client: o.Client, Config: o.Config, Namespace: o.Namespace, Flags: o.Helper,
		Reason: "dnscheck " + o.Name, ErrOut: o.ErrOut}
	var fromPod *corev1.Pod
	if o.Helper.From != "" {
		name, _ := o.Helper.FromPod()
		fromPod, err = o.Client.CoreV1().Pods(o.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return cmdutil.Incomplete(fmt.Errorf("--from pod/%s in namespace %s: %w", name, o.Namespace, err))
		}
		if len(fromPod.Spec.Containers) > 0 {
			session.TargetContainer = fromPod.Spec.Containers[0].Name
		}
	}
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
	st := servicetrace.NewState(servicetrace.Config{Namespace: o.Namespace, Name: o.Name, CheckTimeout: o.CheckTimeout}, reads, agents)
	st.Clock = o.Now
	steps := servicetrace.RunHops(ctx, st, servicetrace.HopService)
	if ferr := st.Fatal(); ferr != nil {
		return cmdutil.Incomplete(ferr)
	}
	rep := &report.DNSCheckReport{APIVersion: report.APIVersion, Kind: "DNSCheckReport", Tool: report.Tool{Name: "svc-doctor", Version: version.Current()},
		Service: report.ObjectRef{APIVersion: "v1", Kind: "Service", Namespace: o.Namespace, Name: o.Name}}
	if st.Service != nil {
		dnsRep, res := servicetrace.CheckDNS(ctx, st)
		rep.DNS = dnsRep
		steps = append(steps, trace.Step{ID: servicetrace.HopDNS, Title: "DNS", Result: res})
		if fromPod != nil {
			rep.Env = o.envReport(ctx, st, fromPod)
		}
	}
	rep.Verdict = trace.Conclude(steps)
	rep.Summary = steps[len(steps)-1].Result.Summary
	if rep.Verdict.Kind == report.VerdictFault && rep.Verdict.Hop == servicetrace.HopService {
		rep.Summary = rep.Verdict.RootCause
	}
	if rep.DNS == nil {
		rep.Hops = servicetrace.HopReports(steps)
	}
	if err := report.Render(o.Out, o.Output, rep, report.RenderOptions{Color: o.color}); err != nil {
		return cmdutil.Incomplete(err)
	}
	if ctx.Err() != nil {
		return cmdutil.Incomplete(errors.New("interrupted: the report is partial"))
	}
	switch rep.Verdict.Kind {
	case report.VerdictFault:
		return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Silent: true, Err: errors.New(rep.Verdict.RootCause)}
	case report.VerdictInconclusive:
		return &cmdutil.ExitError{Code: cmdutil.ExitIncomplete, Silent: true, Err: errors.New(rep.Verdict.Message)}
	}
	return nil
}

// ServiceEnvNames are the variables the kubelet gives a container for a Service (docker-link
// variables aside): <NAME>_SERVICE_HOST and <NAME>_SERVICE_PORT, NAME upper-cased with '-' as '_'.
func ServiceEnvNames(service string) (prefix string, names []string) {
	p := strings.ToUpper(strings.ReplaceAll(service, "-", "_")) + "_SERVICE_"
	return p, []string{p + "HOST", p + "PORT"}
}

// containerStart is when the pod's first container last started (its environment was fixed
// then), or the pod's creation time.
func containerStart(p *corev1.Pod) (time.Time, string) {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil && !cs.State.Running.StartedAt.IsZero() {
			return cs.State.Running.StartedAt.Time, "container " + cs.Name + " started"
		}
	}
	return p.CreationTimestamp.Time, "pod created"
}

// ExplainEnv says whether the pod's containers have the Service's environment variables, and why.
func ExplainEnv(svc *corev1.Service, p *corev1.Pod) report.EnvReport {
	_, names := ServiceEnvNames(svc.Name)
	links := ptr.Deref(p.Spec.EnableServiceLinks, true)
	rep := report.EnvReport{Pod: "pod/" + p.Name, Variables: names, EnableServiceLinks: links}
	started, what := containerStart(p)
	fqdn := svc.Name + "." + svc.Namespace + ".svc"
	switch {
	case p.Namespace != svc.Namespace:
		rep.Explanation = fmt.Sprintf("the pod is in namespace %s: service links only cover Services of the pod's own namespace; reach it by DNS as %s", p.Namespace, fqdn)
	case svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone:
		rep.Explanation = "service/" + svc.Name + " has no ClusterIP (headless or ExternalName): the kubelet sets no environment variables for it; use DNS (" + fqdn + ")"
	case !links:
		rep.Explanation = fmt.Sprintf("the pod sets enableServiceLinks: false, so it gets no %s: it works by DNS (%s), not by environment variable", strings.Join(names, "/"), fqdn)
	case started.Before(svc.CreationTimestamp.Time):
		rep.Explanation = fmt.Sprintf("%s at %s, before service/%s was created at %s: environment variables are fixed when a container starts, so it has no %s. It works by DNS (%s), not by environment variable; restart the pod to get them (or, better, use DNS)",
			what, started.UTC().Format(time.RFC3339), svc.Name, svc.CreationTimestamp.UTC().Format(time.RFC3339), strings.Join(names, "/"), fqdn)
	default:
		rep.Expected = true
		rep.Explanation = fmt.Sprintf("%s at %s, after service/%s was created at %s, with service links enabled: it has %s=%s and %s",
			what, started.UTC().Format(time.RFC3339), svc.Name, svc.CreationTimestamp.UTC().Format(time.RFC3339), names[0], svc.Spec.ClusterIP, names[1])
	}
	return rep
}

// envReport explains the variables and, where the agent can read the container's environment,
// shows them.
func (o *Options) envReport(ctx context.Context, st *servicetrace.State, p *corev1.Pod) *report.EnvReport {
	rep := ExplainEnv(st.Service, p)
	prefix, _ := ServiceEnvNames(st.Service.Name)
	ag, _, err := st.AgentFor(ctx)
	if err != nil {
		rep.ObservedError = "not read: " + err.Error()
		return &rep
	}
	resp, err := ag.Run(ctx, agent.NewRequest(agent.Check{ID: "env", Type: agent.CheckEnv, Env: &agent.EnvCheck{Prefix: prefix, PID: 1}}))
	switch {
	case err != nil:
		rep.ObservedError = "not read: " + err.Error()
	case !resp.Results[0].OK:
		rep.ObservedError = "not read (" + resp.Results[0].Detail + "): the agent runs as another user than the container"
	default:
		rep.Observed = []string{}
		if e := resp.Results[0].Env; e != nil {
			for _, v := range e.Vars {
				rep.Observed = append(rep.Observed, v.Name+"="+v.Value)
			}
		}
	}
	return &rep
}
