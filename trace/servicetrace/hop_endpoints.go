package servicetrace

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svc-doctor/svc-doctor/report"
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
	type seen struct {
		ready, serving, terminating bool
		ip                          string
	}
	byPod := map[string]seen{}
	total, ready, serving, terminating := 0, 0, 0, 0
	var stale []string
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
			total++
			rd, sv, tm := cond(e.Conditions.Ready, true), cond(e.Conditions.Serving, cond(e.Conditions.Ready, true)), cond(e.Conditions.Terminating, false)
			if rd {
				ready++
			}
			if sv {
				serving++
			}
			if tm {
				terminating++
			}
			pod := ""
			if e.TargetRef != nil && e.TargetRef.Kind == "Pod" {
				pod = e.TargetRef.Name
			}
			if pod != "" {
				if _, ok := podSet[pod]; !ok && st.PodsUnread == "" {
					stale = append(stale, fmt.Sprintf("%s (pod/%s)", e.Addresses[0], pod))
				}
				byPod[pod] = seen{rd, sv, tm, e.Addresses[0]}
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
	// expected: every ready pod is a ready endpoint
	var missing, notReady []string
	for _, p := range st.Pods {
		if !st.ReadyPods[p.Name] {
			continue
		}
		s, ok := byPod[p.Name]
		switch {
		case !ok:
			missing = append(missing, "pod/"+p.Name)
		case !s.ready:
			notReady = append(notReady, "pod/"+p.Name)
		}
	}
	lines := []string{}
	for _, p := range st.Pods {
		s, ok := byPod[p.Name]
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
	r.Summary = fmt.Sprintf("%d %s: %d ready, %d serving, %d terminating (expected %d ready)", total, report.Plural(total, "endpoint", "endpoints"), ready, serving, terminating, len(st.ReadyPods))
	if st.PodsUnread != "" {
		r.Summary = fmt.Sprintf("%d %s: %d ready, %d serving, %d terminating (not compared with the pods: they could not be read)", total, report.Plural(total, "endpoint", "endpoints"), ready, serving, terminating)
		r.Evidence = append(r.Evidence, "pods not read: "+st.PodsUnread)
		if ready == 0 && !svc.Spec.PublishNotReadyAddresses {
			r.Status = trace.Fail
			r.Summary = fmt.Sprintf("service/%s has no ready endpoint (%d in its EndpointSlices)", svc.Name, total)
			r.Cause = &trace.Cause{RootCause: fmt.Sprintf("service/%s has no ready endpoint: nothing can answer; the pods could not be read to say why (%s)", svc.Name, st.PodsUnread),
				Fix: fmt.Sprintf("look at the selected pods: kubectl -n %s get pods -l %s -o wide (and grant list on pods to run the full diagnosis)", svc.Namespace, semantics.SelectorString(svc.Spec.Selector))}
		}
		return r
	}
	if len(stale) > 0 {
		r.Status = trace.Warn
		r.Evidence = append(r.Evidence, "endpoints of pods that are no longer selected: "+strings.Join(stale, ", "))
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
		r.Status = trace.Fail
		if len(st.Slices) == 0 {
			r.Summary = fmt.Sprintf("no EndpointSlice labelled %s=%s, though %d %s ready", discoveryv1.LabelServiceName, svc.Name, len(st.ReadyPods), report.Plural(len(st.ReadyPods), "pod is", "pods are"))
		} else {
			r.Summary = fmt.Sprintf("no ready endpoint for %s, though %d %s ready", portsText(st.Ports), len(st.ReadyPods), report.Plural(len(st.ReadyPods), "pod is", "pods are"))
		}
		r.Cause = &trace.Cause{RootCause: r.Summary + ": the EndpointSlice controller has not published them",
			Fix: "check kube-controller-manager (its endpointslice controller) is running and healthy: kubectl get --raw /readyz?verbose; kubectl -n kube-system logs -l component=kube-controller-manager"}
	}
	return r
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
		r.Evidence = append(r.Evidence, fmt.Sprintf("endpoints/%s (v1, deprecated; mirrored into EndpointSlices): %d addresses, ports %s", svc.Name, n, orNone(strings.Join(ports, ", "))))
	}
	if len(st.Slices) == 0 {
		r.Status = trace.Fail
		if ep != nil {
			r.Summary = fmt.Sprintf("endpoints/%s exists but was not mirrored into an EndpointSlice", svc.Name)
			r.Cause = &trace.Cause{RootCause: r.Summary + " (label endpointslice.kubernetes.io/skip-mirror, more than 1000 addresses, or the mirroring controller is down): kube-proxy reads only EndpointSlices",
				Fix: fmt.Sprintf("write an EndpointSlice labelled %s=%s instead of the Endpoints object", discoveryv1.LabelServiceName, svc.Name)}
			return r
		}
		r.Summary = "no selector and no EndpointSlice or Endpoints: the Service routes nowhere"
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("service/%s has no selector and nobody wrote endpoints for it", svc.Name),
			Fix: fmt.Sprintf("add a selector, or create an EndpointSlice: {apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {name: %s-1, namespace: %s, labels: {%s: %s}}, addressType: IPv4, ports: [{name: %q, port: <port>}], endpoints: [{addresses: [<ip>]}]}",
				svc.Name, ns, discoveryv1.LabelServiceName, svc.Name, firstPortName(svc))}
		return r
	}
	var mismatches []string
	total := 0
	for _, s := range st.Slices {
		r.Evidence = append(r.Evidence, fmt.Sprintf("endpointslice/%s (%s, managed by %s): %d endpoints, ports %s",
			s.Name, s.AddressType, orNone(s.Labels[discoveryv1.LabelManagedBy]), len(s.Endpoints), slicePortNames(s)))
		for _, sp := range st.Ports {
			sp := sp
			if _, ok := slicePort(s, &sp); !ok {
				mismatches = append(mismatches, fmt.Sprintf("endpointslice/%s has no port named %q/%s (it has %s)", s.Name, sp.Name, semantics.Protocol(sp.Protocol), slicePortNames(s)))
			}
		}
		for _, e := range s.Endpoints {
			for _, a := range e.Addresses {
				total++
				for _, sp := range st.Ports {
					sp := sp
					p, ok := slicePort(s, &sp)
					if !ok || p.Port == nil {
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
	r.Summary = fmt.Sprintf("manual endpoints: %d %s in %d EndpointSlice(s); whether they answer is tested in hop connectivity", total, report.Plural(total, "address", "addresses"), len(st.Slices))
	if len(st.Targets) == 0 && len(mismatches) > 0 {
		r.Status = trace.Fail
		r.Evidence = append(r.Evidence, mismatches...)
		r.Summary = mismatches[0] + ": kube-proxy matches endpoint ports to Service ports by name"
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the manual EndpointSlice port names do not match service/%s's port names (%s), so no backend is programmed: %s", svc.Name, portList(svc), mismatches[0]),
			Fix: fmt.Sprintf("name the EndpointSlice port %q (kubectl -n %s edit endpointslice/%s), or rename the Service port", st.Ports[0].Name, ns, st.Slices[0].Name)}
		return r
	}
	if len(mismatches) > 0 {
		r.Status = trace.Warn
		r.Evidence = append(r.Evidence, mismatches...)
	}
	if len(st.Targets) == 0 {
		r.Status = trace.Fail
		r.Summary = "manual EndpointSlices list no ready address"
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the EndpointSlices of service/%s list no ready address", svc.Name),
			Fix: fmt.Sprintf("add the backend addresses to endpointslice/%s (kubectl -n %s edit endpointslice/%s)", st.Slices[0].Name, ns, st.Slices[0].Name)}
	}
	return r
}

func firstPortName(svc *corev1.Service) string {
	if len(svc.Spec.Ports) > 0 {
		return svc.Spec.Ports[0].Name
	}
	return ""
}
