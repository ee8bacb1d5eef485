package expose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/live"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// Build returns the objects to create. For a workload it reads the workload (one GET).
func (o *Options) Build(ctx context.Context) (*Plan, *Target, error) {
	switch o.Mode {
	case ModeWorkload:
		if o.Kube == nil {
			return nil, nil, cmdutil.Incomplete(fmt.Errorf("reading %s needs the cluster: %s", o.workload, o.offlineWhy))
		}
		t, err := FetchTarget(ctx, o.Kube, o.Namespace, o.workload)
		if err != nil {
			var nf *NotFoundError
			if errors.As(err, &nf) {
				return nil, nil, cmdutil.AsUsage(err)
			}
			return nil, nil, cmdutil.Incomplete(err)
		}
		spec := o.svcSpec
		spec.Namespace = o.Namespace
		svc, err := BuildService(spec, t)
		if err != nil {
			return nil, nil, cmdutil.AsUsage(err)
		}
		return &Plan{Service: svc}, t, nil
	case ModeExternal:
		spec := o.svcSpec
		spec.Namespace = o.Namespace
		p, err := BuildExternal(spec, o.Addresses, o.LegacyEndpoints)
		return p, nil, cmdutil.AsUsage(err)
	case ModeExternalName:
		spec := o.svcSpec
		spec.Namespace = o.Namespace
		svc, err := BuildExternalName(spec, o.To)
		if err != nil {
			return nil, nil, cmdutil.AsUsage(err)
		}
		return &Plan{Service: svc}, nil, nil
	case ModeIngress:
		spec := o.ingSpec
		spec.Namespace = o.Namespace
		ing, err := BuildIngress(spec)
		if err != nil {
			return nil, nil, cmdutil.AsUsage(err)
		}
		p := &Plan{Ingress: ing}
		if o.cert != nil {
			p.Secret = BuildTLSSecret(o.certSecret, o.Namespace, o.cert, spec.Labels)
		}
		return p, nil, nil
	}
	return nil, nil, fmt.Errorf("unknown mode")
}

// Run builds, checks, applies and verifies.
func (o *Options) Run(ctx context.Context) error {
	plan, target, err := o.Build(ctx)
	if err != nil {
		return err
	}
	if target != nil && target.ServiceName != "" && o.Headless && target.ServiceName != plan.Service.Name {
		fmt.Fprintf(o.ErrOut, "warning: %s names %s as its governing Service (spec.serviceName): its pods get DNS names <pod>.%s only from a headless Service of that name (use --name %s)\n",
			target, target.ServiceName, target.ServiceName, target.ServiceName)
	}
	res, err := o.check(ctx, plan)
	if err != nil {
		return err
	}
	if res.Counts.Error > 0 {
		if !o.Force {
			return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Err: fmt.Errorf("nothing was created: the checks found %d %s (above); fix %s, or pass --force to create anyway",
				res.Counts.Error, plural(res.Counts.Error, "error", "errors"), plural(res.Counts.Error, "it", "them"))}
		}
		fmt.Fprintf(o.ErrOut, "warning: --force: applying despite %d %s\n", res.Counts.Error, plural(res.Counts.Error, "error", "errors"))
	}
	applied, err := o.apply(ctx, plan)
	if err != nil {
		return err
	}
	if o.DryRun != DryRunNone {
		return nil
	}
	return o.after(ctx, plan, applied)
}

// check runs the rules over the plan and prints the findings on stderr.
func (o *Options) check(ctx context.Context, plan *Plan) (*CheckResult, error) {
	base := &snapshot.Snapshot{DefaultNamespace: o.Namespace, Unavailable: map[string]snapshot.Unread{}}
	what := "on their own (no cluster)"
	if o.Kube != nil {
		fmt.Fprintf(o.ErrOut, "reading namespace %s from the cluster...\n", o.Namespace)
		live, warnings, err := liveNeighbours(ctx, o.Kube, o.Namespace, plan)
		switch {
		case err != nil && o.DryRun == DryRunClient && o.Mode != ModeWorkload:
			o.offlineWhy = err.Error()
		case err != nil:
			return nil, cmdutil.Incomplete(fmt.Errorf("reading namespace %s: %w", o.Namespace, err))
		default:
			base = live
			what = fmt.Sprintf("against %d %s in namespace %s", live.Objects(), plural(live.Objects(), "object", "objects"), o.Namespace)
			for _, w := range warnings {
				fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
			}
		}
	}
	if o.offlineWhy != "" {
		fmt.Fprintf(o.ErrOut, "warning: not checked against the cluster (%s): the objects are checked on their own\n", o.offlineWhy)
	}
	neighbours := base.Objects()
	snap := WithPlan(base, plan, o.Now())
	res, err := Check(snap, plan, o.cfg, neighbours)
	if err != nil {
		return nil, cmdutil.AsUsage(err)
	}
	WriteFindings(o.ErrOut, res.Findings)
	n := len(plan.Objects())
	fmt.Fprintf(o.ErrOut, "checked %d new %s %s with %d rules: %d %s, %d %s, %d info\n", n, plural(n, "object", "objects"), what, res.Rules,
		res.Counts.Error, plural(res.Counts.Error, "error", "errors"), res.Counts.Warning, plural(res.Counts.Warning, "warning", "warnings"), res.Counts.Info)
	return res, nil
}

// apply sends the plan (or prints it, with --dry-run=client) and returns what the server stored.
func (o *Options) apply(ctx context.Context, plan *Plan) ([]runtime.Object, error) {
	objs := plan.Objects()
	suffix := ""
	switch o.DryRun {
	case DryRunClient:
		if o.Output != "" {
			return objs, cmdutil.Incomplete(WriteObjects(o.Out, o.Output, objs))
		}
		for _, obj := range objs {
			fmt.Fprintf(o.Out, "%s serverside-applied (dry run)\n", ObjectName(obj))
		}
		return objs, nil
	case DryRunServer:
		suffix = " (server dry run)"
	}
	a := &applier{cs: o.Kube, fieldManager: o.FieldManager, force: o.ForceConflicts, dryRun: true}
	if o.DryRun == DryRunNone {
		// validate everything first, so that an object the API server rejects stops all of them
		for _, obj := range objs {
			if _, err := a.apply(ctx, obj); err != nil {
				return nil, o.applyError(obj, err, true)
			}
		}
		a.dryRun = false
	}
	var out []runtime.Object
	for i, obj := range objs {
		res, err := a.apply(ctx, obj)
		if err != nil {
			err = o.applyError(obj, err, false)
			if i > 0 {
				err = fmt.Errorf("%w (already applied: %s)", err, names(objs[:i]))
			}
			return out, err
		}
		out = append(out, res)
		if o.Output == "" {
			fmt.Fprintf(o.Out, "%s serverside-applied%s\n", ObjectName(obj), suffix)
		}
	}
	if o.Mode == ModeExternal {
		if err := o.pruneSlices(ctx, plan, a.dryRun, suffix); err != nil {
			return out, err
		}
	}
	if o.Output != "" {
		if err := WriteObjects(o.Out, o.Output, out); err != nil {
			return out, cmdutil.Incomplete(err)
		}
	}
	return out, nil
}

func names(objs []runtime.Object) string {
	parts := make([]string, len(objs))
	for i, o := range objs {
		parts[i] = ObjectName(o)
	}
	return strings.Join(parts, ", ")
}

// applyError explains an API error on obj.
func (o *Options) applyError(obj runtime.Object, err error, validating bool) error {
	prefix := ObjectName(obj) + ": "
	if validating {
		prefix = "nothing was created: the API server rejects " + ObjectName(obj) + ": "
	}
	var status apierrors.APIStatus
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		// server-side apply creates or patches: both verbs are needed
		return cmdutil.Incomplete(errors.New(prefix + live.DescribeAPIError(err, "create and patch", resourceOf(obj), o.Namespace)))
	case apierrors.IsConflict(err):
		return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Err: fmt.Errorf("%s%v\n(another field manager owns these fields: pass --force-conflicts to take them over)", prefix, err)}
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || errors.As(err, &status) && status.Status().Code == 422:
		return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Err: fmt.Errorf("%s%v", prefix, err)}
	}
	return cmdutil.Incomplete(fmt.Errorf("%s%w", prefix, err))
}

// pruneSlices deletes the EndpointSlices an earlier run wrote for this Service that the plan no
// longer has (an IP family that is not given any more).
func (o *Options) pruneSlices(ctx context.Context, plan *Plan, dryRun bool, suffix string) error {
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: plan.Service.Name, discoveryv1.LabelManagedBy: ManagedBy}).String()
	l, err := o.Kube.DiscoveryV1().EndpointSlices(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return cmdutil.Incomplete(fmt.Errorf("listing the EndpointSlices of service/%s: %s", plan.Service.Name, live.DescribeAPIError(err, "list", "endpointslices", o.Namespace)))
	}
	keep := map[string]bool{}
	for _, es := range plan.EndpointSlices {
		keep[es.Name] = true
	}
	opts := metav1.DeleteOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, es := range l.Items {
		if keep[es.Name] {
			continue
		}
		if err := o.Kube.DiscoveryV1().EndpointSlices(o.Namespace).Delete(ctx, es.Name, opts); err != nil && !apierrors.IsNotFound(err) {
			return cmdutil.Incomplete(fmt.Errorf("deleting endpointslice/%s: %w", es.Name, err))
		}
		if o.Output == "" {
			fmt.Fprintf(o.Out, "endpointslice/%s deleted (no longer in --address)%s\n", es.Name, suffix)
		}
	}
	return nil
}

// after is the after-check: it waits for endpoints or an Ingress address and reports.
func (o *Options) after(ctx context.Context, plan *Plan, applied []runtime.Object) error {
	// with -o the objects own stdout: the report goes to stderr
	out := o.Out
	if o.Output != "" {
		out = o.ErrOut
	}
	var svc *corev1.Service
	for _, obj := range applied {
		if s, ok := obj.(*corev1.Service); ok {
			svc = s
		}
	}
	if svc != nil {
		o.describeService(out, svc)
		for _, es := range plan.EndpointSlices {
			if !hasFamily(svc, es.AddressType) {
				fmt.Fprintf(o.ErrOut, "warning: service/%s got only %s (the cluster is not dual-stack): kube-proxy ignores endpointslice/%s\n",
					svc.Name, families(svc), es.Name)
			}
		}
	}
	waitSvc := svc != nil && svc.Spec.Type != corev1.ServiceTypeExternalName && (len(svc.Spec.Selector) > 0 || o.Wait.Given)
	if !o.Wait.On || (!waitSvc && plan.Ingress == nil) {
		return nil
	}
	if waitSvc {
		fmt.Fprintf(o.ErrOut, "waiting up to %s for service/%s to have a ready endpoint...\n", o.Wait.Timeout, svc.Name)
		res, err := WaitEndpoints(ctx, o.Kube, o.Namespace, svc.Name, svc.Spec.Ports, o.Wait.Timeout, o.Settle)
		if err != nil && !errors.Is(err, errTimeout) {
			return cmdutil.Incomplete(fmt.Errorf("watching the EndpointSlices of service/%s: %s", svc.Name, live.DescribeAPIError(err, "watch", "endpointslices", o.Namespace)))
		}
		if !res.OK {
			return o.endpointsFailed(ctx, out, svc, res)
		}
		line := fmt.Sprintf("service/%s: %s after %s", svc.Name, res.Endpoints, roundDuration(res.Elapsed))
		if len(res.Endpoints.NotReady) > 0 {
			line += " (not ready: " + report.Sanitize(strings.Join(res.Endpoints.NotReady, ", ")) + ")"
		}
		fmt.Fprintln(out, line)
	}
	if ing := plan.Ingress; ing != nil {
		fmt.Fprintf(o.ErrOut, "waiting up to %s for ingress/%s to get an address...\n", o.Wait.Timeout, ing.Name)
		res, err := WaitIngress(ctx, o.Kube, o.Namespace, ing.Name, o.Wait.Timeout)
		if err != nil && !errors.Is(err, errTimeout) {
			return cmdutil.Incomplete(fmt.Errorf("watching ingress/%s: %s", ing.Name, live.DescribeAPIError(err, "watch", "ingresses", o.Namespace)))
		}
		if !res.OK {
			fmt.Fprintf(out, "ingress/%s: no address after %s: no Ingress controller has picked it up (is its IngressClass served? kubectl get ingressclass)\n", ing.Name, roundDuration(res.Elapsed))
			fmt.Fprintf(out, "to check the class, its controller and the routes, run: kubectl svc-doctor ingresscheck ing/%s -n %s\n", ing.Name, o.Namespace)
			backends := ingressServices(ing)
			for i, b := range backends {
				if i == maxDiagnosed {
					fmt.Fprintf(out, "(%d more backend Services not diagnosed)\n", len(backends)-i)
					break
				}
				o.printDiagnosis(ctx, out, b)
			}
			return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Silent: true, Err: fmt.Errorf("ingress/%s got no address", ing.Name)}
		}
		fmt.Fprintf(out, "ingress/%s: address %s after %s\n", ing.Name, report.Sanitize(strings.Join(res.Addresses, ", ")), roundDuration(res.Elapsed))
	}
	return nil
}

func hasFamily(svc *corev1.Service, at discoveryv1.AddressType) bool {
	if len(svc.Spec.IPFamilies) == 0 {
		return true // not reported (fake clients): assume it fits
	}
	for _, f := range svc.Spec.IPFamilies {
		if string(f) == string(at) {
			return true
		}
	}
	return false
}

func families(svc *corev1.Service) string {
	parts := make([]string, len(svc.Spec.IPFamilies))
	for i, f := range svc.Spec.IPFamilies {
		parts[i] = string(f)
	}
	return strings.Join(parts, ", ")
}

// describeService prints what the cluster allocated: node ports, a pending load balancer.
func (o *Options) describeService(out io.Writer, svc *corev1.Service) {
	if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		var parts []string
		for _, p := range svc.Spec.Ports {
			parts = append(parts, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol))
		}
		fmt.Fprintf(out, "service/%s: node ports %s (on every node's IP)\n", svc.Name, strings.Join(parts, ", "))
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && len(svc.Status.LoadBalancer.Ingress) == 0 {
		fmt.Fprintf(out, "service/%s: load balancer address pending (a cloud or load-balancer controller assigns it; the node ports work meanwhile)\n", svc.Name)
	}
}

// ingressServices lists the Services an Ingress routes to, sorted.
func ingressServices(ing *networkingv1.Ingress) []string {
	set := map[string]string{}
	if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil {
		set[b.Service.Name] = ""
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service != nil {
				set[p.Backend.Service.Name] = ""
			}
		}
	}
	return sortedKeys(set)
}

// endpointsFailed reports a Service that never got a ready endpoint: the diagnosis verdict when
// the diagnosis is available, the command to run it otherwise.
func (o *Options) endpointsFailed(ctx context.Context, out io.Writer, svc *corev1.Service, res WaitResult) error {
	line := fmt.Sprintf("service/%s: %s after %s", svc.Name, res.Endpoints, roundDuration(res.Elapsed))
	st := res.Endpoints
	switch {
	case st.Total == 0:
		line += ": no EndpointSlice lists an endpoint for its ports"
	case st.Ready > 0 && len(st.Unserved) > 0:
		line += "; no ready endpoint for port " + strings.Join(st.Unserved, ", ")
	}
	if len(st.NotReady) > 0 {
		line += " (not ready: " + report.Sanitize(strings.Join(st.NotReady, ", ")) + ")"
	}
	fmt.Fprintln(out, line)
	o.printDiagnosis(ctx, out, svc.Name)
	return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Silent: true, Err: fmt.Errorf("service/%s has no ready endpoint", svc.Name)}
}

// maxDiagnosed bounds the backend Services diagnosed after an Ingress got no address.
const maxDiagnosed = 5

// printDiagnosis runs the static diagnosis of service/name (when available) and prints its
// verdict, with the command that runs the full trace.
func (o *Options) printDiagnosis(ctx context.Context, out io.Writer, name string) {
	cmd := fmt.Sprintf("kubectl svc-doctor diagnose svc/%s -n %s", name, o.Namespace)
	if o.Diagnose == nil {
		fmt.Fprintf(out, "to find out why, run: %s\n", cmd)
		return
	}
	fmt.Fprintf(o.ErrOut, "diagnosing service/%s (static hops: no helper pod)...\n", name)
	verdict, err := o.Diagnose(ctx, o.Namespace, name)
	if err != nil {
		fmt.Fprintf(o.ErrOut, "warning: the diagnosis of service/%s could not run: %v\n", name, err)
		fmt.Fprintf(out, "to find out why, run: %s\n", cmd)
		return
	}
	for _, line := range strings.Split(verdict, "\n") {
		fmt.Fprintln(out, report.Sanitize(line))
	}
	fmt.Fprintf(out, "for the full trace (DNS and traffic from inside the cluster), run: %s\n", cmd)
}
