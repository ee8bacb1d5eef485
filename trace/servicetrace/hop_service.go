package servicetrace

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/svc-doctor/svc-doctor/live"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
	"github.com/svc-doctor/svc-doctor/trace"
)

// fatalError is a read error that means the cluster cannot be diagnosed at all (unreachable,
// unauthorized): the trace stops and the command exits 3.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func runService(ctx context.Context, st *State) trace.Result {
	ns, name := st.Namespace, st.Name
	svc, err := st.Reads.Service(ctx, ns, name)
	switch {
	case apierrors.IsNotFound(err):
		return serviceNotFound(ctx, st)
	case apierrors.IsForbidden(err):
		return trace.Result{Status: trace.Skip, Incomplete: true, Summary: "cannot read the Service: " + live.DescribeAPIError(err, "get", "services", ns)}
	case err != nil:
		var status apierrors.APIStatus
		if errors.As(err, &status) {
			st.Stop(&fatalError{fmt.Errorf("reading service %s/%s: %s", ns, name, live.DescribeAPIError(err, "get", "services", ns))})
		} else {
			st.Stop(&fatalError{fmt.Errorf("cannot reach the API server (check the kubeconfig context and the network): %w", err)})
		}
		return trace.Result{Status: trace.Skip, Incomplete: true, Summary: "cannot read the Service: " + err.Error()}
	}
	st.Service = svc
	st.Reads.Focus(svc)
	r := trace.Result{Status: trace.Pass}
	r.Evidence = append(r.Evidence, describeService(svc)...)

	// the requested port
	st.Ports = svc.Spec.Ports
	if st.Port != "" && !semantics.IsExternalName(svc) {
		sp, ok := findServicePort(svc, st.Port)
		if !ok {
			return trace.Result{Status: trace.Fail, Evidence: r.Evidence,
				Summary: fmt.Sprintf("service/%s has no port %q (ports: %s)", name, st.Port, portList(svc)),
				Cause: &trace.Cause{
					RootCause: fmt.Sprintf("service/%s in namespace %s has no port %q: its ports are %s", name, ns, st.Port, portList(svc)),
					Fix:       fmt.Sprintf("use one of its ports (kubectl svc-doctor diagnose svc/%s:%s -n %s), or add the port to spec.ports", name, firstPortRef(svc), ns),
				}}
		}
		st.Ports = []corev1.ServicePort{sp}
	}
	if len(st.Ports) == 0 && !semantics.IsExternalName(svc) {
		return trace.Result{Status: trace.Fail, Evidence: r.Evidence, Summary: fmt.Sprintf("service/%s has no ports", name),
			Cause: &trace.Cause{RootCause: fmt.Sprintf("service/%s has no ports: nothing is forwarded", name),
				Fix: fmt.Sprintf("add spec.ports to service/%s (e.g. - {name: http, port: 80, targetPort: 8080})", name)}}
	}

	// lint rules on the live snapshot: the findings about this Service
	if _, err := st.Reads.Snapshot(ctx); err != nil {
		r.Evidence = append(r.Evidence, "lint: not run: "+err.Error())
	} else {
		lint := st.Reads.ServiceFindings(ctx, ns, name)
		worst := report.Severity(0)
		for _, f := range lint {
			r.Evidence = append(r.Evidence, fmt.Sprintf("lint %s %s: %s", f.Severity, f.Rule, f.Message))
			worst = max(worst, f.Severity)
		}
		if len(lint) == 0 {
			r.Evidence = append(r.Evidence, "lint: no findings on the Service")
		}
		if worst >= report.Warning {
			r.Status = trace.Warn
		}
	}
	r.Summary = serviceSummary(svc, st.Ports)
	return r
}

func serviceSummary(svc *corev1.Service, ports []corev1.ServicePort) string {
	switch {
	case semantics.IsExternalName(svc):
		return fmt.Sprintf("service/%s: ExternalName -> %s", svc.Name, svc.Spec.ExternalName)
	case semantics.IsHeadless(svc):
		return fmt.Sprintf("service/%s: headless (clusterIP None), %s", svc.Name, portsText(ports))
	}
	return fmt.Sprintf("service/%s: %s %s, %s", svc.Name, svc.Spec.Type, svc.Spec.ClusterIP, portsText(ports))
}

func describeService(svc *corev1.Service) []string {
	var ev []string
	t := string(svc.Spec.Type)
	if t == "" {
		t = string(corev1.ServiceTypeClusterIP)
	}
	line := "type " + t
	switch {
	case semantics.IsExternalName(svc):
		line += ", externalName " + svc.Spec.ExternalName
	case semantics.IsHeadless(svc):
		line += ", headless (clusterIP: None)"
	default:
		line += ", clusterIP " + strings.Join(nonEmpty(svc.Spec.ClusterIPs, svc.Spec.ClusterIP), ",")
	}
	ev = append(ev, line)
	for i := range svc.Spec.Ports {
		ev = append(ev, "port "+portDesc(&svc.Spec.Ports[i]))
	}
	if semantics.IsExternalName(svc) {
		return ev
	}
	if len(svc.Spec.Selector) == 0 {
		ev = append(ev, "no selector: endpoints are written by hand (EndpointSlices or Endpoints)")
	} else {
		ev = append(ev, "selector "+semantics.SelectorString(svc.Spec.Selector))
	}
	return ev
}

func nonEmpty(list []string, one string) []string {
	if len(list) > 0 {
		return list
	}
	return []string{one}
}

// portDesc renders a Service port: "http 80/TCP -> targetPort http (nodePort 30080)".
func portDesc(sp *corev1.ServicePort) string {
	s := fmt.Sprintf("%d/%s", sp.Port, semantics.Protocol(sp.Protocol))
	if sp.Name != "" {
		s = sp.Name + " " + s
	}
	tp := semantics.EffectiveTargetPort(sp)
	s += " -> targetPort " + tp.String()
	if sp.NodePort != 0 {
		s += fmt.Sprintf(" (nodePort %d)", sp.NodePort)
	}
	return s
}

func portsText(ports []corev1.ServicePort) string {
	if len(ports) == 0 {
		return "no ports"
	}
	parts := make([]string, len(ports))
	for i := range ports {
		parts[i] = "port " + semantics.PortName(&ports[i])
	}
	return strings.Join(parts, ", ")
}

func portList(svc *corev1.Service) string {
	if len(svc.Spec.Ports) == 0 {
		return "none"
	}
	parts := make([]string, len(svc.Spec.Ports))
	for i := range svc.Spec.Ports {
		parts[i] = semantics.PortName(&svc.Spec.Ports[i])
	}
	return strings.Join(parts, ", ")
}

func firstPortRef(svc *corev1.Service) string {
	if len(svc.Spec.Ports) == 0 {
		return "PORT"
	}
	if n := svc.Spec.Ports[0].Name; n != "" {
		return n
	}
	return strconv.Itoa(int(svc.Spec.Ports[0].Port))
}

// findServicePort finds a port by name, or by number.
func findServicePort(svc *corev1.Service, want string) (corev1.ServicePort, bool) {
	for _, sp := range svc.Spec.Ports {
		if sp.Name == want {
			return sp, true
		}
	}
	if n, err := strconv.Atoi(want); err == nil {
		for _, sp := range svc.Spec.Ports {
			if int(sp.Port) == n {
				return sp, true
			}
		}
	}
	return corev1.ServicePort{}, false
}

// serviceNotFound names near misses in the namespace and the same name elsewhere.
func serviceNotFound(ctx context.Context, st *State) trace.Result {
	ns, name := st.Namespace, st.Name
	r := trace.Result{Status: trace.Fail, Summary: fmt.Sprintf("service/%s not found in namespace %s", name, ns)}
	var similar []string
	if snap, err := st.Reads.Snapshot(ctx); err == nil {
		for _, s := range snap.Services {
			if s.Namespace == ns && similarName(name, s.Name) {
				similar = append(similar, s.Name)
			}
		}
	}
	sort.Strings(similar)
	if len(similar) > 0 {
		r.Evidence = append(r.Evidence, "similar names in namespace "+ns+": "+strings.Join(similar, ", "))
	}
	elsewhere, why := st.Reads.ServicesNamed(ctx, name)
	var others []string
	for _, s := range elsewhere {
		if s.Namespace != ns {
			others = append(others, s.Namespace)
		}
	}
	sort.Strings(others)
	switch {
	case why != "":
		r.Evidence = append(r.Evidence, "other namespaces not searched: "+why)
	case len(others) > 0:
		r.Evidence = append(r.Evidence, fmt.Sprintf("service/%s exists in namespace %s", name, strings.Join(others, ", ")))
	}
	c := &trace.Cause{RootCause: fmt.Sprintf("there is no service/%s in namespace %s", name, ns)}
	switch {
	case len(others) > 0:
		c.RootCause += fmt.Sprintf("; it exists in namespace %s", strings.Join(others, ", "))
		c.Fix = fmt.Sprintf("diagnose it there (kubectl svc-doctor diagnose svc/%s -n %s); clients in %s reach it as %s.%s", name, others[0], ns, name, others[0])
	case len(similar) > 0:
		c.RootCause += fmt.Sprintf(" (did you mean %s?)", strings.Join(similar, ", "))
		c.Fix = fmt.Sprintf("use the right name: kubectl svc-doctor diagnose svc/%s -n %s", similar[0], ns)
	default:
		c.Fix = fmt.Sprintf("create the Service (kubectl -n %s expose deployment/<name> --name %s --port <port>) or pass the right -n", ns, name)
	}
	r.Cause = c
	return r
}

// similarName reports names one or two edits apart, or one a prefix of the other.
func similarName(a, b string) bool {
	if a == b {
		return false
	}
	if strings.HasPrefix(a, b) || strings.HasPrefix(b, a) {
		return min(len(a), len(b)) >= 3
	}
	return snapshot.EditDistance(a, b) <= 2
}

// selectorString renders a selector as k=v,k2=v2 in key order.

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
