// Package probes implements `kubectl svc-doctor probes (pod|deploy|sts|svc)/NAME`: a review of the
// probe configuration of the pods behind a workload or Service (the probe lint rules on the live
// pods), their current readiness, their restarts (which probe kills them), the recent readiness,
// liveness and startup probe failures from Events (one LIST, and one more of the kubelet's kills
// when a pod restarts), and with --run the readiness probes' httpGet/tcpSocket executed now from a
// helper pod against every pod IP.
package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/internal/version"
	"github.com/svc-doctor/svc-doctor/live"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/servicetrace"
)

// MaxRunPods bounds the pods whose probes --run executes.
const MaxRunPods = 16

// Options are the inputs of a probe review.
type Options struct {
	// Kind is pod, deployment, statefulset or service; Name the object.
	Kind, Name string
	Run        bool
	Output     string
	// RestartWindow is how recent a container restart must be to count as a fault (0: only
	// CrashLoopBackOff counts).
	RestartWindow time.Duration
	Helper        helper.Flags

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
	return &Options{IOStreams: streams, Output: report.FormatTable, RestartWindow: servicetrace.DefaultRestartWindow,
		Helper: helper.Flags{Image: version.AgentImage(), Timeout: helper.DefaultTimeout}, Now: time.Now}
}

// NewCmd returns the probes command.
func NewCmd(factory cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(streams)
	cmd := &cobra.Command{
		Use:   "probes (pod|deploy|sts|svc)/NAME",
		Short: "Review probes, readiness and recent probe failures; run the readiness probe now",
		Long: `Review the probes of the pods behind a pod, Deployment, StatefulSet or Service: the probe lint
rules on the live pods, each probe's settings, every pod's readiness (container states, readiness
gates), its most recent readiness, liveness and startup probe failures from Events, and its
restarts: a container that restarted within --restart-window (or crash-loops) is a fault, with the
probe that kills it (the kubelet's events), an OOM kill, or the process exiting.

--run executes each pod's readiness probe (httpGet or tcpSocket) now, from a helper pod, against
the pod's IP. The kubelet probes from the node, the helper from a pod: a NetworkPolicy can stop the
helper where the kubelet gets through. exec and grpc probes are not run.

Exit codes: 0 every pod ready (and every probe run passed), 1 a pod is not ready or restarts, a
probe failed or a probe rule found an error, 2 usage error, 3 could not complete.`,
		Example: `  kubectl svc-doctor probes deploy/web -n shop
  kubectl svc-doctor probes svc/web -n shop --run`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(factory, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.RunCmd(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.Run, "run", false, "execute the readiness probes (httpGet, tcpSocket) now from a helper pod against every pod IP")
	f.DurationVar(&o.RestartWindow, "restart-window", o.RestartWindow, "a pod whose container restarted within this window is a fault; 0: only CrashLoopBackOff counts")
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: table|json|yaml")
	o.Helper.AddFlags(f)
	return cmd
}

// ParseTarget reads pod/NAME, deploy/NAME, sts/NAME or svc/NAME.
func ParseTarget(arg string) (kind, name string, err error) {
	k, n, ok := strings.Cut(arg, "/")
	if !ok || n == "" || strings.Contains(n, "/") {
		return "", "", cmdutil.UsageError("%q: write pod/NAME, deploy/NAME, sts/NAME or svc/NAME", arg)
	}
	switch strings.ToLower(k) {
	case "pod", "pods", "po":
		return "pod", n, nil
	case "deploy", "deployment", "deployments":
		return "deployment", n, nil
	case "sts", "statefulset", "statefulsets":
		return "statefulset", n, nil
	case "svc", "service", "services":
		return "service", n, nil
	}
	return "", "", cmdutil.UsageError("%q: probes takes pod/NAME, deploy/NAME, sts/NAME or svc/NAME", arg)
}

// Complete reads the argument and builds the clients.
func (o *Options) Complete(factory cmdutil.Factory, args []string) error {
	if len(args) != 1 {
		return cmdutil.UsageError("probes takes one object, (pod|deploy|sts|svc)/NAME, got %d arguments", len(args))
	}
	var err error
	if o.Kind, o.Name, err = ParseTarget(args[0]); err != nil {
		return err
	}
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
	if o.RestartWindow < 0 {
		return cmdutil.UsageError("--restart-window %s: use a duration of 0 or more (0: only CrashLoopBackOff counts as restarting)", o.RestartWindow)
	}
	if !o.Run && (o.Helper.From != "" || o.Helper.KeepHelper) {
		return cmdutil.UsageError("--from and --keep-helper only apply with --run")
	}
	return o.Helper.Validate()
}

// RunCmd reviews and prints.
//
//nolint:funlen // the command's run in order (read, review each pod, optionally probe, print), sharing the report it builds
func (o *Options) RunCmd(ctx context.Context) (err error) {
	ctx, stop := helper.NotifyContext(ctx)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.Helper.Timeout)
	defer cancel()
	reads := trace.NewReads(o.Client, o.Namespace)
	snap, err := reads.Snapshot(ctx)
	if err != nil {
		return cmdutil.Incomplete(err)
	}
	if why, missing := snap.Unavailable["Pod"]; missing {
		return cmdutil.Incomplete(errors.New("cannot read pods: " + why.Detail))
	}
	pods, err := o.pods(ctx, snap)
	if err != nil {
		return err
	}
	rep := &report.ProbesReport{APIVersion: report.APIVersion, Kind: "ProbesReport", Tool: report.Tool{Name: "svc-doctor", Version: version.Current()},
		Target: report.ObjectRef{Kind: kindName(o.Kind), Namespace: o.Namespace, Name: o.Name}, Probes: []report.ProbeConfig{}, Findings: []report.Finding{}, Pods: []report.PodReport{}}
	if len(pods) == 0 {
		rep.Verdict = report.Verdict{Kind: report.VerdictFault, RootCause: fmt.Sprintf("%s/%s selects no pod in namespace %s", o.Kind, o.Name, o.Namespace),
			Fix: fmt.Sprintf("kubectl svc-doctor diagnose svc/<service> -n %s explains selectors; kubectl -n %s get pods --show-labels", o.Namespace, o.Namespace)}
		if err := o.print(rep); err != nil {
			return cmdutil.Incomplete(err)
		}
		return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Silent: true, Err: errors.New(rep.Verdict.RootCause)}
	}
	rep.Probes = probeConfigs(pods[0])
	rep.Findings = probeFindings(reads.Findings(ctx), pods)
	events, why := reads.UnhealthyEvents(ctx, o.Namespace)
	if why != "" {
		fmt.Fprintf(o.ErrOut, "warning: probe failure events not read: %s\n", why)
	}
	window := o.RestartWindow
	if window == 0 {
		window = -1 // only crash loops
	}
	// the kubelet's kills say which probe restarts a container: one LIST, only when one restarts
	var kills map[string][]corev1.Event
	for _, p := range pods {
		if servicetrace.Restarts(p, o.Now(), window) {
			var kwhy string
			if kills, kwhy = reads.KillingEvents(ctx, o.Namespace); kwhy != "" {
				fmt.Fprintf(o.ErrOut, "warning: the kubelet's Killing events not read: %s\n", kwhy)
			}
			break
		}
	}
	var first *semantics.PodProblem
	var restart *servicetrace.PodHealth
	for _, p := range pods {
		ps := servicetrace.ExaminePodEvents(p, servicetrace.PodEvents{Unhealthy: events[p.Name], Killing: kills[p.Name]}, o.Now(), window)
		pr := report.PodReport{Name: p.Name, IP: p.Status.PodIP, Ready: ps.Ready, LastProbeFailure: ps.LastProbeFailure, ProbeFailures: ps.ProbeFailures,
			LastLivenessFailure: ps.LastLivenessFailure, LivenessFailures: ps.LivenessFailures, LastStartupFailure: ps.LastStartupFailure, StartupFailures: ps.StartupFailures,
			Notes: ps.Notes}
		for _, cs := range p.Status.ContainerStatuses {
			pr.Restarts += cs.RestartCount
		}
		if ps.Restart != nil {
			pr.Restart = ps.Restart.Message
			if restart == nil || (ps.Restart.Probe != "" && restart.Restart.Probe == "") {
				ps := ps
				restart = &ps
			}
		}
		if ps.Problem != nil && !ps.Ready {
			pr.Problem = ps.Problem.Message
			if first == nil || ps.Problem.Kind < first.Kind {
				first = ps.Problem
			}
		}
		rep.Pods = append(rep.Pods, pr)
	}
	if o.Run {
		session := &helper.Session{Client: o.Client, Config: o.Config, Namespace: o.Namespace, Flags: o.Helper,
			Reason: "probes " + o.Kind + "/" + o.Name, ErrOut: o.ErrOut}
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
		ag, src, aerr := agents.Agent(ctx)
		if aerr != nil {
			return cmdutil.Incomplete(fmt.Errorf("--run: %w", aerr))
		}
		rep.RunFrom = src.Description
		rep.Runs, err = RunReadinessProbes(ctx, ag, pods)
		if err != nil {
			return cmdutil.Incomplete(fmt.Errorf("--run: %w", err))
		}
	}
	rep.Verdict = verdict(rep, first, restart)
	if err := o.print(rep); err != nil {
		return cmdutil.Incomplete(err)
	}
	if ctx.Err() != nil {
		return cmdutil.Incomplete(errors.New("interrupted: the report is partial"))
	}
	if rep.Verdict.Kind == report.VerdictFault {
		return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Silent: true, Err: errors.New(rep.Verdict.RootCause)}
	}
	return nil
}

func kindName(k string) string {
	switch k {
	case "pod":
		return "Pod"
	case "deployment":
		return "Deployment"
	case "statefulset":
		return "StatefulSet"
	}
	return "Service"
}

// pods finds the pods of the target (from the snapshot; one GET for a Deployment or StatefulSet).
func (o *Options) pods(ctx context.Context, snap *snapshot.Snapshot) ([]*corev1.Pod, error) {
	var sel labels.Selector
	notFound := func() error {
		return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Err: fmt.Errorf("%s/%s not found in namespace %s", o.Kind, o.Name, o.Namespace)}
	}
	switch o.Kind {
	case "pod":
		for _, w := range snap.Workloads {
			if w.Pod != nil && w.Pod.Namespace == o.Namespace && w.Pod.Name == o.Name {
				return []*corev1.Pod{w.Pod}, nil
			}
		}
		return nil, notFound()
	case "service":
		svc := snap.Service(o.Namespace, o.Name)
		if svc == nil {
			return nil, notFound()
		}
		if len(svc.Spec.Selector) == 0 {
			return nil, cmdutil.UsageError("service/%s has no selector: its endpoints are not pods of a workload; name a pod or workload instead", o.Name)
		}
		sel = labels.SelectorFromSet(svc.Spec.Selector)
	case "deployment":
		d, err := o.Client.AppsV1().Deployments(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, notFound()
		}
		if err != nil {
			return nil, cmdutil.Incomplete(errors.New(live.DescribeAPIError(err, "get", "deployments", o.Namespace)))
		}
		if sel, err = metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil {
			return nil, cmdutil.Incomplete(err)
		}
	case "statefulset":
		s, err := o.Client.AppsV1().StatefulSets(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, notFound()
		}
		if err != nil {
			return nil, cmdutil.Incomplete(errors.New(live.DescribeAPIError(err, "get", "statefulsets", o.Namespace)))
		}
		if sel, err = metav1.LabelSelectorAsSelector(s.Spec.Selector); err != nil {
			return nil, cmdutil.Incomplete(err)
		}
	}
	var out []*corev1.Pod
	for _, p := range snap.MatchingPods(o.Namespace, sel) {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// probeConfigs lists the probes of a pod's containers (sidecars included).
func probeConfigs(p *corev1.Pod) []report.ProbeConfig {
	out := []report.ProbeConfig{}
	cs := append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...)
	for _, c := range cs {
		for _, k := range []struct {
			name  string
			probe *corev1.Probe
		}{{"readiness", c.ReadinessProbe}, {"liveness", c.LivenessProbe}, {"startup", c.StartupProbe}} {
			if k.probe == nil {
				continue
			}
			pr := k.probe
			out = append(out, report.ProbeConfig{Container: c.Name, Probe: k.name, Handler: semantics.ProbeText(pr),
				InitialDelaySeconds: pr.InitialDelaySeconds, PeriodSeconds: orDefault(pr.PeriodSeconds, 10), TimeoutSeconds: orDefault(pr.TimeoutSeconds, 1),
				SuccessThreshold: orDefault(pr.SuccessThreshold, 1), FailureThreshold: orDefault(pr.FailureThreshold, 3)})
		}
	}
	return out
}

func orDefault(v, d int32) int32 {
	if v == 0 {
		return d
	}
	return v
}

// probeFindings keeps the probe rules' findings on these pods, one per rule and message.
func probeFindings(all []report.Finding, pods []*corev1.Pod) []report.Finding {
	ids := rules.ProbeRuleIDs()
	names := map[string]bool{}
	for _, p := range pods {
		names[p.Name] = true
	}
	seen := map[string]bool{}
	out := []report.Finding{}
	for _, f := range all {
		if !slices.Contains(ids, f.Rule) || f.Object == nil || f.Object.Kind != "Pod" || !names[f.Object.Name] {
			continue
		}
		key := f.Rule + "|" + f.Message
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, f)
	}
	return out
}

// RunReadinessProbes executes every pod's readiness probes from the agent: httpGet as an HTTP
// request (2xx and 3xx pass, as for the kubelet; certificates are not verified, as by the
// kubelet), tcpSocket as a TCP connection; exec and grpc probes are reported as not run.
func RunReadinessProbes(ctx context.Context, ag trace.Agent, pods []*corev1.Pod) ([]report.RunResult, error) {
	var results []report.RunResult
	var checks []agent.Check
	var idx []int
	for i, p := range pods {
		if i == MaxRunPods {
			results = append(results, report.RunResult{Pod: fmt.Sprintf("(%d more)", len(pods)-MaxRunPods), Skipped: fmt.Sprintf("at most %d pods are probed", MaxRunPods)})
			break
		}
		for _, c := range p.Spec.Containers {
			pr := c.ReadinessProbe
			if pr == nil {
				continue
			}
			rr := report.RunResult{Pod: p.Name, Container: c.Name, Target: semantics.ProbeText(pr)}
			check, why := probeCheck(fmt.Sprintf("p%d-%s", i, c.Name), p, &c, pr)
			if why != "" {
				rr.Skipped = why
				results = append(results, rr)
				continue
			}
			rr.Target = checkTarget(check)
			results = append(results, rr)
			checks = append(checks, check)
			idx = append(idx, len(results)-1)
		}
	}
	for start := 0; start < len(checks); start += agent.MaxChecks {
		end := min(start+agent.MaxChecks, len(checks))
		resp, err := ag.Run(ctx, agent.NewRequest(checks[start:end]...))
		if err != nil {
			return results, err
		}
		for i, r := range resp.Results {
			rr := &results[idx[start+i]]
			rr.OK, rr.Failure, rr.Detail = r.OK, r.Failure, r.Detail
			if r.HTTP != nil && r.HTTP.StatusCode != 0 {
				rr.Detail = fmt.Sprintf("HTTP %d", r.HTTP.StatusCode)
				if r.HTTP.BodySnippet != "" {
					rr.Detail += ": " + strings.TrimSpace(firstLine(r.HTTP.BodySnippet))
				}
			}
		}
	}
	return results, nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 120 {
		l = l[:120] + "..."
	}
	return l
}

func checkTarget(c agent.Check) string {
	switch {
	case c.HTTP != nil:
		return "GET " + c.HTTP.URL
	case c.TCP != nil:
		return "tcp " + net.JoinHostPort(c.TCP.Host, strconv.Itoa(c.TCP.Port))
	}
	return string(c.Type)
}

// resolvePort resolves a probe port (number or container port name) in a container.
func resolvePort(c *corev1.Container, p intstr.IntOrString) (int, bool) {
	if p.Type == intstr.Int {
		return int(p.IntVal), p.IntVal > 0
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), true
		}
	}
	return 0, false
}

// probeCheck turns a readiness probe into an agent check against the pod's IP, or says why not.
func probeCheck(id string, p *corev1.Pod, c *corev1.Container, pr *corev1.Probe) (agent.Check, string) {
	timeout := agent.Duration{Duration: time.Duration(orDefault(pr.TimeoutSeconds, 1)) * time.Second}
	if timeout.Duration > agent.MaxTimeout {
		timeout.Duration = agent.MaxTimeout
	}
	ip := p.Status.PodIP
	if ip == "" {
		return agent.Check{}, "the pod has no IP yet"
	}
	switch {
	case pr.HTTPGet != nil:
		g := pr.HTTPGet
		port, ok := resolvePort(c, g.Port)
		if !ok {
			return agent.Check{}, fmt.Sprintf("port %s is not declared by container %s", g.Port.String(), c.Name)
		}
		host := ip
		if g.Host != "" {
			host = g.Host
		}
		scheme := strings.ToLower(string(g.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		path := g.Path
		if path == "" {
			path = "/"
		}
		u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
		full := u.String() + path
		hc := &agent.HTTPCheck{URL: full, InsecureSkipVerify: scheme == "https"}
		for _, h := range g.HTTPHeaders {
			if strings.EqualFold(h.Name, "Host") {
				hc.Host = h.Value
			}
		}
		return agent.Check{ID: id, Type: agent.CheckHTTP, Timeout: timeout, HTTP: hc}, ""
	case pr.TCPSocket != nil:
		port, ok := resolvePort(c, pr.TCPSocket.Port)
		if !ok {
			return agent.Check{}, fmt.Sprintf("port %s is not declared by container %s", pr.TCPSocket.Port.String(), c.Name)
		}
		host := ip
		if pr.TCPSocket.Host != "" {
			host = pr.TCPSocket.Host
		}
		return agent.Check{ID: id, Type: agent.CheckTCP, Timeout: timeout, TCP: &agent.TCPCheck{Host: host, Port: port}}, ""
	case pr.Exec != nil:
		return agent.Check{}, "exec probes run inside the container: try kubectl exec " + p.Name + " -c " + c.Name + " -- " + strings.Join(pr.Exec.Command, " ")
	case pr.GRPC != nil:
		return agent.Check{}, "grpc probes are not run by the agent"
	}
	return agent.Check{}, "the probe has no handler"
}

// verdict derives the probes command's verdict: a probe that fails when run now, then a pod that
// is not ready, then a pod that restarts, then a probe rule's error.
func verdict(rep *report.ProbesReport, first *semantics.PodProblem, restart *servicetrace.PodHealth) report.Verdict {
	for _, r := range rep.Runs {
		if r.Skipped == "" && !r.OK {
			return report.Verdict{Kind: report.VerdictFault, Hop: "run",
				RootCause: fmt.Sprintf("the readiness probe of pod/%s (container %s) fails now: %s: %s %s", r.Pod, r.Container, r.Target, r.Failure, r.Detail),
				Fix:       fmt.Sprintf("make %s answer with 2xx/3xx (or accept the connection), or correct the probe's path/port in the pod template", r.Target)}
		}
	}
	if first != nil {
		return report.Verdict{Kind: report.VerdictFault, Hop: "readiness", RootCause: fmt.Sprintf("pod/%s is not ready: %s", first.Pod.Name, first.Message), Fix: first.Fix}
	}
	if restart != nil {
		return report.Verdict{Kind: report.VerdictFault, Hop: "restarts",
			RootCause: fmt.Sprintf("pod/%s restarts: %s; each restart takes it out of its Services' endpoints until it is ready again", restart.Pod.Name, restart.Restart.Message),
			Fix:       restart.Restart.Fix}
	}
	for _, f := range rep.Findings {
		if f.Severity == report.Error {
			return report.Verdict{Kind: report.VerdictFault, Hop: "config", RootCause: f.Message, Fix: f.Remediation}
		}
	}
	msg := fmt.Sprintf("%d/%d pods ready", len(rep.Pods), len(rep.Pods))
	if len(rep.Runs) > 0 {
		msg += "; the readiness probes pass when run now"
	}
	if len(rep.Findings) > 0 {
		msg += fmt.Sprintf("; %d probe configuration %s (see above)", len(rep.Findings), plural(len(rep.Findings), "warning", "warnings"))
	}
	return report.Verdict{Kind: report.VerdictHealthy, Message: msg}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (o *Options) print(rep *report.ProbesReport) error {
	return report.Render(o.Out, o.Output, rep, report.RenderOptions{Color: o.color})
}
