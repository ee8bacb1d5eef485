package servicetrace

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/trace"
)

const (
	sliceControllerName  = "endpointslice-controller.k8s.io"
	mirrorControllerName = "endpointslicemirroring-controller.k8s.io"
)

func cond(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// slicePort finds the port of a slice that serves the Service port sp: EndpointSlice ports are
// matched to Service ports by name (kube-proxy does the same).
func slicePort(s *discoveryv1.EndpointSlice, sp *corev1.ServicePort) (discoveryv1.EndpointPort, bool) {
	for _, p := range s.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if name == sp.Name && proto == semantics.Protocol(sp.Protocol) {
			return p, true
		}
	}
	return discoveryv1.EndpointPort{}, false
}

func slicePortNames(s *discoveryv1.EndpointSlice) string {
	var parts []string
	for _, p := range s.Ports {
		name := `""`
		if p.Name != nil && *p.Name != "" {
			name = *p.Name
		}
		port := "?"
		if p.Port != nil {
			port = fmt.Sprint(*p.Port)
		}
		parts = append(parts, name+"="+port)
	}
	if len(parts) == 0 {
		return "no ports"
	}
	return strings.Join(parts, ", ")
}

func runEndpoints(ctx context.Context, st *State) trace.Result {
	svc := st.Service
	if semantics.IsExternalName(svc) {
		return trace.Result{Status: trace.Skip, Summary: "not applicable: ExternalName Service (no endpoints)"}
	}
	snap, err := st.Reads.Snapshot(ctx)
	if err != nil {
		st.SlicesUnread = err.Error()
		return trace.Result{Status: trace.Skip, Incomplete: true, Summary: "cannot read EndpointSlices: " + err.Error()}
	}
	if why, missing := snap.Unavailable["EndpointSlice"]; missing {
		st.SlicesUnread = why.Detail
		return trace.Result{Status: trace.Skip, Incomplete: true, Summary: "cannot read EndpointSlices: " + why.Detail}
	}
	for _, s := range snap.EndpointSlices {
		if s.Namespace == svc.Namespace && s.Labels[discoveryv1.LabelServiceName] == svc.Name {
			st.Slices = append(st.Slices, s.EndpointSlice)
		}
	}
	sort.Slice(st.Slices, func(i, j int) bool { return st.Slices[i].Name < st.Slices[j].Name })
	if st.ManualEndpoints {
		return manualEndpoints(ctx, st)
	}
	return selectorEndpoints(st)
}

// selectorEndpoints compares the controller's EndpointSlices with the selected pods.
func selectorEndpoints(st *State) trace.Result {
	svc := st.Service
	r := trace.Result{Status: trace.Pass}
	t := collectSliceEndpoints(st, &r)
	// expected: every ready pod is a ready endpoint
	var missing, notReady []string
	for _, p := range st.Pods {
		if !st.ReadyPods[p.Name] {
			continue
		}
		s, ok := t.byPod[p.Name]
		switch {
		case !ok:
			missing = append(missing, "pod/"+p.Name)
		case !s.ready:
			notReady = append(notReady, "pod/"+p.Name)
		}
	}
	lines := []string{}
	for _, p := range st.Pods {
		s, ok := t.byPod[p.Name]
		if !ok {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s pod/%s: ready=%v serving=%v terminating=%v", s.ip, p.Name, s.ready, s.serving, s.terminating))
	}
	for i, l := range lines {
		if i == maxListed {
			r.Evidence = append(r.Evidence, fmt.Sprintf("... and %d more endpoints", len(lines)-i))
			break
		}
		r.Evidence = append(r.Evidence, l)
	}
	if svc.Spec.PublishNotReadyAddresses {
		r.Evidence = append(r.Evidence, "publishNotReadyAddresses: true: endpoints are published ready whatever the pods' readiness")
	}
	if st.PodsUnread != "" {
		unreadPodsEndpoints(st, &r, t)
		return r
	}
	r.Summary = fmt.Sprintf("%d %s: %d ready, %d serving, %d terminating (expected %d ready)", t.total, report.Plural(t.total, "endpoint", "endpoints"), t.ready, t.serving, t.terminating, len(st.ReadyPods))
	if len(t.stale) > 0 {
		r.Status = trace.Warn
		r.Evidence = append(r.Evidence, "endpoints of pods that are no longer selected: "+strings.Join(t.stale, ", "))
	}
	if len(missing)+len(notReady) > 0 {
		r.Status = trace.Warn
		if len(missing) > 0 {
			r.Evidence = append(r.Evidence, "ready but not in any EndpointSlice: "+strings.Join(capList(missing), ", "))
		}
		if len(notReady) > 0 {
			r.Evidence = append(r.Evidence, "ready but published not ready: "+strings.Join(capList(notReady), ", "))
		}
	}
	if len(st.Targets) == 0 && len(st.ReadyPods) > 0 && !svc.Spec.PublishNotReadyAddresses {
		unpublishedEndpoints(st, &r)
	}
	return r
}

// endpointSeen is how a pod's endpoint is published.
type endpointSeen struct {
	ready, serving, terminating bool
	ip                          string
}

// sliceEndpoints is what the EndpointSlices of a Service with a selector publish.
type sliceEndpoints struct {
	byPod                              map[string]endpointSeen
	total, ready, serving, terminating int
	// stale lists the endpoints of pods that are no longer selected.
	stale []string
}

// collectSliceEndpoints reads the Service's EndpointSlices: the evidence of each, the ready
// endpoints as the targets of the next hops (st.Targets), and how each pod is published.
func collectSliceEndpoints(st *State, r *trace.Result) sliceEndpoints {
	t := sliceEndpoints{byPod: map[string]endpointSeen{}}
	podSet := map[string]*corev1.Pod{}
	for _, p := range st.Pods {
		podSet[p.Name] = p
	}
	for _, s := range st.Slices {
		r.Evidence = append(r.Evidence, fmt.Sprintf("endpointslice/%s (%s, managed by %s): %d endpoints, ports %s",
			s.Name, s.AddressType, orNone(s.Labels[discoveryv1.LabelManagedBy]), len(s.Endpoints), slicePortNames(s)))
		for _, e := range s.Endpoints {
			if len(e.Addresses) == 0 {
				continue
			}
			t.total++
			rd, sv, tm := cond(e.Conditions.Ready, true), cond(e.Conditions.Serving, cond(e.Conditions.Ready, true)), cond(e.Conditions.Terminating, false)
			if rd {
				t.ready++
			}
			if sv {
				t.serving++
			}
			if tm {
				t.terminating++
			}
			pod := ""
			if e.TargetRef != nil && e.TargetRef.Kind == "Pod" {
				pod = e.TargetRef.Name
			}
			if pod != "" {
				if _, ok := podSet[pod]; !ok && st.PodsUnread == "" {
					t.stale = append(t.stale, fmt.Sprintf("%s (pod/%s)", e.Addresses[0], pod))
				}
				t.byPod[pod] = endpointSeen{rd, sv, tm, e.Addresses[0]}
			}
			if !rd {
				continue
			}
			for _, sp := range st.Ports {
				sp := sp
				ep, ok := slicePort(s, &sp)
				if !ok || ep.Port == nil {
					continue
				}
				st.Targets = append(st.Targets, Target{IP: e.Addresses[0], Port: *ep.Port, PortName: sp.Name, Protocol: semantics.Protocol(sp.Protocol),
					Pod: pod, Node: deref(e.NodeName), Ready: rd, Serving: sv, Terminating: tm})
			}
		}
	}
	return t
}

// unreadPodsEndpoints judges the endpoints alone when the pods could not be read: a fault only
// when none is ready.
func unreadPodsEndpoints(st *State, r *trace.Result, t sliceEndpoints) {
	svc := st.Service
	r.Summary = fmt.Sprintf("%d %s: %d ready, %d serving, %d terminating (not compared with the pods: they could not be read)", t.total, report.Plural(t.total, "endpoint", "endpoints"), t.ready, t.serving, t.terminating)
	r.Evidence = append(r.Evidence, "pods not read: "+st.PodsUnread)
	if t.ready == 0 && !svc.Spec.PublishNotReadyAddresses {
		r.Status = trace.Fail
		r.Summary = fmt.Sprintf("service/%s has no ready endpoint (%d in its EndpointSlices)", svc.Name, t.total)
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("service/%s has no ready endpoint: nothing can answer; the pods could not be read to say why (%s)", svc.Name, st.PodsUnread),
			Fix: fmt.Sprintf("look at the selected pods: kubectl -n %s get pods -l %s -o wide (and grant list on pods to run the full diagnosis)", svc.Namespace, semantics.SelectorString(svc.Spec.Selector))}
	}
}

// unpublishedEndpoints is the fault of ready pods the EndpointSlice controller has not published.
func unpublishedEndpoints(st *State, r *trace.Result) {
	svc := st.Service
	r.Status = trace.Fail
	if len(st.Slices) == 0 {
		r.Summary = fmt.Sprintf("no EndpointSlice labelled %s=%s, though %d %s ready", discoveryv1.LabelServiceName, svc.Name, len(st.ReadyPods), report.Plural(len(st.ReadyPods), "pod is", "pods are"))
	} else {
		r.Summary = fmt.Sprintf("no ready endpoint for %s, though %d %s ready", portsText(st.Ports), len(st.ReadyPods), report.Plural(len(st.ReadyPods), "pod is", "pods are"))
	}
	r.Cause = &trace.Cause{RootCause: r.Summary + ": the EndpointSlice controller has not published them",
		Fix: "check kube-controller-manager (its endpointslice controller) is running and healthy: kubectl get --raw /readyz?verbose; kubectl -n kube-system logs -l component=kube-controller-manager"}
}

func capList(s []string) []string {
	if len(s) > maxListed {
		return append(s[:maxListed:maxListed], fmt.Sprintf("and %d more", len(s)-maxListed))
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// manualEndpoints checks the hand-written endpoints of a selector-less Service.
func manualEndpoints(ctx context.Context, st *State) trace.Result {
	svc := st.Service
	ns := svc.Namespace
	r := trace.Result{Status: trace.Pass}
	ep, why := st.Reads.Endpoints(ctx, ns, svc.Name)
	if why != "" {
		r.Evidence = append(r.Evidence, "endpoints/"+svc.Name+" not read: "+why)
	}
	if ep != nil {
		r.Evidence = append(r.Evidence, endpointsEvidence(svc, ep))
	}
	if len(st.Slices) == 0 {
		noManualSlices(svc, &r, ep != nil)
		return r
	}
	m := scanManualSlices(ctx, st, &r)
	r.Summary = fmt.Sprintf("manual endpoints: %d %s in %d EndpointSlice(s); whether they answer is tested in hop connectivity", m.total, report.Plural(m.total, "address", "addresses"), len(st.Slices))
	if len(st.Targets) == 0 && len(m.mismatches) > 0 {
		r.Status = trace.Fail
		r.Evidence = append(r.Evidence, m.mismatches...)
		r.Summary = m.mismatches[0] + ": kube-proxy matches endpoint ports to Service ports by name"
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the manual EndpointSlice port names do not match service/%s's port names (%s), so no backend is programmed: %s", svc.Name, portList(svc), m.mismatches[0]),
			Fix: fmt.Sprintf("name the EndpointSlice port %q (kubectl -n %s edit %s), or rename the Service port", st.Ports[0].Name, ns, manualObject(svc, st.Slices[0]))}
		return r
	}
	if len(m.mismatches) > 0 {
		r.Status = trace.Warn
		r.Evidence = append(r.Evidence, m.mismatches...)
	}
	if len(m.numbers) > 0 {
		r.Status = trace.Warn
		r.Evidence = append(r.Evidence, m.numbers...)
	}
	// a Service port that no slice serves has no endpoint at all: its connections are refused
	if len(st.Targets) > 0 && uncoveredPort(st, &r, m.covered) {
		return r
	}
	if len(m.stale) > 0 {
		staleManualEndpoints(st, &r, m.stale)
		return r
	}
	if len(st.Targets) == 0 {
		r.Status = trace.Fail
		r.Summary = "manual EndpointSlices list no ready address"
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the EndpointSlices of service/%s list no ready address", svc.Name),
			Fix: fmt.Sprintf("add the backend addresses to endpointslice/%s (kubectl -n %s edit endpointslice/%s)", st.Slices[0].Name, ns, st.Slices[0].Name)}
	}
	return r
}

// endpointsEvidence sums up a (deprecated) Endpoints object: its addresses and ports.
func endpointsEvidence(svc *corev1.Service, ep *corev1.Endpoints) string {
	n := 0
	var ports []string
	for _, ss := range ep.Subsets {
		n += len(ss.Addresses) + len(ss.NotReadyAddresses)
		for _, p := range ss.Ports {
			name := `""`
			if p.Name != "" {
				name = p.Name
			}
			ports = append(ports, fmt.Sprintf("%s=%d", name, p.Port))
		}
	}
	return fmt.Sprintf("endpoints/%s (v1, deprecated; mirrored into EndpointSlices): %d addresses, ports %s", svc.Name, n, orNone(strings.Join(ports, ", ")))
}

// noManualSlices is the fault of a selector-less Service without EndpointSlices: an Endpoints
// object that was not mirrored (hasEndpoints), or no endpoints at all.
func noManualSlices(svc *corev1.Service, r *trace.Result, hasEndpoints bool) {
	r.Status = trace.Fail
	if hasEndpoints {
		r.Summary = fmt.Sprintf("endpoints/%s exists but was not mirrored into an EndpointSlice", svc.Name)
		r.Cause = &trace.Cause{RootCause: r.Summary + " (label endpointslice.kubernetes.io/skip-mirror, more than 1000 addresses, or the mirroring controller is down): kube-proxy reads only EndpointSlices",
			Fix: fmt.Sprintf("write an EndpointSlice labelled %s=%s instead of the Endpoints object", discoveryv1.LabelServiceName, svc.Name)}
		return
	}
	r.Summary = "no selector and no EndpointSlice or Endpoints: the Service routes nowhere"
	r.Cause = &trace.Cause{RootCause: fmt.Sprintf("service/%s has no selector and nobody wrote endpoints for it", svc.Name),
		Fix: fmt.Sprintf("add a selector, or create an EndpointSlice: {apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {name: %s-1, namespace: %s, labels: {%s: %s}}, addressType: IPv4, ports: [{name: %q, port: <port>}], endpoints: [{addresses: [<ip>]}]}",
			svc.Name, svc.Namespace, discoveryv1.LabelServiceName, svc.Name, firstPortName(svc))}
}

// staleAddr is a manual endpoint address whose targetRef pod has another IP now.
type staleAddr struct{ addr, pod, slice, has string }

// manualSlices is what the hand-written EndpointSlices of a Service hold.
type manualSlices struct {
	// mismatches are slice ports that do not pair with a Service port; numbers are targetPorts
	// the slices contradict.
	mismatches, numbers []string
	stale               []staleAddr
	// covered holds the indexes in st.Ports that some slice has a port for.
	covered map[int]bool
	total   int
}

// scanManualSlices reads the hand-written EndpointSlices: the evidence of each and of each
// address, the ready addresses as the targets of the next hops (st.Targets), the ports that do
// not pair and the addresses that are stale.
func scanManualSlices(ctx context.Context, st *State, r *trace.Result) manualSlices {
	ns := st.Service.Namespace
	m := manualSlices{covered: map[int]bool{}}
	var staleCheck func(ns, addr string, ref *corev1.ObjectReference) ([]string, bool)
	if snap, err := st.Reads.Snapshot(ctx); err == nil {
		if _, missing := snap.Unavailable["Pod"]; !missing {
			staleCheck = rules.StaleTargetRefs(snap)
		}
	}
	for _, s := range st.Slices {
		r.Evidence = append(r.Evidence, fmt.Sprintf("endpointslice/%s (%s, managed by %s): %d endpoints, ports %s",
			s.Name, s.AddressType, orNone(s.Labels[discoveryv1.LabelManagedBy]), len(s.Endpoints), slicePortNames(s)))
		m.pairPorts(st, s)
		for _, e := range s.Endpoints {
			for _, a := range e.Addresses {
				m.total++
				if staleCheck != nil && e.TargetRef != nil {
					if has, bad := staleCheck(ns, a, e.TargetRef); bad {
						m.stale = append(m.stale, staleAddr{a, e.TargetRef.Name, s.Name, strings.Join(has, ",")})
					}
				}
				for _, sp := range st.Ports {
					sp := sp
					p, ok := slicePort(s, &sp)
					if !ok || p.Port == nil || *p.Port == 0 {
						continue
					}
					rd := cond(e.Conditions.Ready, true)
					r.Evidence = append(r.Evidence, fmt.Sprintf("%s:%d (port %s) ready=%v", a, *p.Port, semantics.PortName(&sp), rd))
					if rd {
						st.Targets = append(st.Targets, Target{IP: a, Port: *p.Port, PortName: sp.Name, Protocol: semantics.Protocol(sp.Protocol), Ready: true, Serving: true})
					}
				}
			}
		}
	}
	return m
}

// pairPorts pairs the Service's ports with the ports of slice s, by name and protocol.
func (m *manualSlices) pairPorts(st *State, s *discoveryv1.EndpointSlice) {
	for i, sp := range st.Ports {
		sp := sp
		p, ok := slicePort(s, &sp)
		switch {
		case !ok:
			m.mismatches = append(m.mismatches, fmt.Sprintf("endpointslice/%s has no port named %q/%s (it has %s)", s.Name, sp.Name, semantics.Protocol(sp.Protocol), slicePortNames(s)))
		case p.Port == nil || *p.Port == 0:
			m.mismatches = append(m.mismatches, fmt.Sprintf("endpointslice/%s has port %q without a number: kube-proxy skips it", s.Name, sp.Name))
		default:
			m.covered[i] = true
			if tp := semantics.EffectiveTargetPort(&sp); tp.Type == intstr.Int && tp.IntVal != sp.Port && tp.IntVal != *p.Port {
				m.numbers = append(m.numbers, fmt.Sprintf("port %s has targetPort %d, but endpointslice/%s says %d: without a selector traffic goes to the endpoint's port (%d), targetPort is not used",
					semantics.PortName(&sp), tp.IntVal, s.Name, *p.Port, *p.Port))
			}
		}
	}
}

// uncoveredPort sets the fault of the first Service port no slice serves (false when every port
// is served).
func uncoveredPort(st *State, r *trace.Result, covered map[int]bool) bool {
	svc := st.Service
	for i, sp := range st.Ports {
		if covered[i] {
			continue
		}
		sp := sp
		r.Status = trace.Fail
		r.Summary = fmt.Sprintf("port %s of service/%s has no endpoint: no EndpointSlice has a port named %q/%s", semantics.PortName(&sp), svc.Name, sp.Name, semantics.Protocol(sp.Protocol))
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the manual endpoints of service/%s serve %s but not port %s: kube-proxy pairs endpoint ports with Service ports by name, and no EndpointSlice has a port named %q (%s), so connections to that port are refused",
			svc.Name, servedPorts(st.Ports, covered), semantics.PortName(&sp), sp.Name, slicePortNames(st.Slices[0])),
			Fix: fmt.Sprintf("add a port named %q with the backend's port number to the endpoints (kubectl -n %s edit %s)", sp.Name, svc.Namespace, manualObject(svc, st.Slices[0]))}
		return true
	}
	return false
}

// staleManualEndpoints is the fault of manual addresses that name a pod which has another IP now.
func staleManualEndpoints(st *State, r *trace.Result, stale []staleAddr) {
	svc := st.Service
	x := stale[0]
	r.Status = trace.Fail
	for _, sa := range stale {
		r.Evidence = append(r.Evidence, fmt.Sprintf("%s in endpointslice/%s names pod/%s, which has IP %s: stale", sa.addr, sa.slice, sa.pod, sa.has))
	}
	r.Summary = fmt.Sprintf("%d manual endpoint %s stale: %s names pod/%s, which has IP %s", len(stale), report.Plural(len(stale), "address is", "addresses are"), x.addr, x.pod, x.has)
	r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the manual endpoints of service/%s list %s for pod/%s, but that pod has IP %s now (it was recreated): traffic to the stale address does not reach it", svc.Name, x.addr, x.pod, x.has),
		Fix: fmt.Sprintf("replace %s with %s in the endpoints (kubectl -n %s edit %s), or give the Service a selector so that Kubernetes keeps its endpoints current", x.addr, x.has, svc.Namespace, manualObjectNamed(svc, st.Slices, x.slice))}
}

// manualObject names what to edit for the manual endpoints in slice s: the Endpoints object when
// the slice is mirrored from it (edits to a mirror are undone), else the slice.
func manualObject(svc *corev1.Service, s *discoveryv1.EndpointSlice) string {
	if s.Labels[discoveryv1.LabelManagedBy] == mirrorControllerName {
		return "endpoints/" + svc.Name
	}
	return "endpointslice/" + s.Name
}

func manualObjectNamed(svc *corev1.Service, slices []*discoveryv1.EndpointSlice, name string) string {
	for _, s := range slices {
		if s.Name == name {
			return manualObject(svc, s)
		}
	}
	return "endpointslice/" + name
}

// servedPorts names the Service ports some slice serves.
func servedPorts(ports []corev1.ServicePort, covered map[int]bool) string {
	var out []string
	for i := range ports {
		if covered[i] {
			out = append(out, "port "+semantics.PortName(&ports[i]))
		}
	}
	return strings.Join(out, ", ")
}

func firstPortName(svc *corev1.Service) string {
	if len(svc.Spec.Ports) > 0 {
		return svc.Spec.Ports[0].Name
	}
	return ""
}
