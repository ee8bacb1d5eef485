package ingress

// One route: its backend Service, port and health.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

func (c *checker) routeCheck(r Route, tlsHost string, mode tlsMode) report.RouteCheck {
	ing := c.ingressOf(r)
	rc := report.RouteCheck{Ingress: ingRef(ing), Field: r.Field(), Class: r.Class, Host: r.Host, Path: r.Path, PathType: string(r.PathType)}
	c.fillBackend(&rc, ing, &r.Backend)
	c.fillTLS(&rc, ing, r.Class, tlsHost, mode)
	if c.isIngressNginx(r.Class) {
		rc.Warnings = append(rc.Warnings, c.nginxRouteNotes(r)...)
	} else if r.ControllerDefined() {
		w := fmt.Sprintf("pathType ImplementationSpecific: how %s matches is up to the controller (simulated as a prefix)", r.Path)
		if LooksLikeRegex(r.Path) {
			w = fmt.Sprintf("pathType ImplementationSpecific with %s, which looks like a regular expression: the controller decides (ingress-nginx may treat it as a regex, Traefik as a literal prefix); svc-doctor simulated a literal prefix", r.Path)
		}
		rc.Warnings = append(rc.Warnings, w)
	}
	rc.Problems = append(rc.Problems, c.classProblems[r.Class]...)
	rc.Warnings = append(rc.Warnings, c.classWarnings[r.Class]...)
	return rc
}

func (c *checker) defaultCheck(ing *snapshot.Ingress, tlsHost string, mode tlsMode) report.RouteCheck {
	cls := c.classOf(ing)
	field := "spec.defaultBackend"
	if ing.Legacy {
		field = "spec.backend"
	}
	rc := report.RouteCheck{Ingress: ingRef(ing), Field: field, Class: cls, Host: tlsHost, Default: true}
	c.show("Ingress", ing.Namespace, ing.Name)
	c.fillBackend(&rc, ing, ing.Spec.DefaultBackend)
	c.fillTLS(&rc, ing, cls, tlsHost, mode)
	rc.Problems = append(rc.Problems, c.classProblems[cls]...)
	rc.Warnings = append(rc.Warnings, c.classWarnings[cls]...)
	return rc
}

// fillBackend resolves the backend Service and port and reads its health.
func (c *checker) fillBackend(rc *report.RouteCheck, ing *snapshot.Ingress, b *networkingv1.IngressBackend) {
	be := &rc.Backend
	be.Namespace = ing.Namespace
	switch {
	case b == nil || (b.Service == nil && b.Resource == nil):
		rc.Problems = append(rc.Problems, "the path has no backend")
		rc.BackendBroken = true
		return
	case b.Resource != nil:
		be.Resource = b.Resource.Kind + "/" + b.Resource.Name
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("resource backend %s: served by the controller's own resource type, not checked", be.Resource))
		return
	}
	be.Service = b.Service.Name
	if b.Service.Port.Name != "" {
		be.Requested = b.Service.Port.Name
	} else {
		be.Requested = strconv.Itoa(int(b.Service.Port.Number))
	}
	c.show("Service", ing.Namespace, b.Service.Name)
	svc := c.snap.Service(ing.Namespace, b.Service.Name)
	if svc == nil {
		be.Known = c.snap.Complete("Service", ing.Namespace)
		if be.Known {
			rc.Problems = append(rc.Problems, fmt.Sprintf("service %s does not exist in namespace %s: %s", b.Service.Name, ing.Namespace,
				c.brokenBackendAnswer(rc.Class, "the controller answers 503 (ingress-nginx) or drops the route (Traefik: 404)")))
			rc.BackendBroken = true
		} else {
			rc.Warnings = append(rc.Warnings, fmt.Sprintf("service %s is not in the given manifests: its ports and health are not checked", b.Service.Name))
		}
		return
	}
	be.Known, be.Exists = true, true
	be.Type = string(svc.Spec.Type)
	if be.Type == "" {
		be.Type = string(corev1.ServiceTypeClusterIP)
	}
	if b.Service.Port.Name == "" && b.Service.Port.Number == 0 {
		rc.Problems = append(rc.Problems, fmt.Sprintf("the backend names no port of service %s: set port.number or port.name", svc.Name))
		rc.BackendBroken = true
		return
	}
	var sp *corev1.ServicePort
	for i, p := range svc.Spec.Ports {
		if (b.Service.Port.Name != "" && p.Name == b.Service.Port.Name) || (b.Service.Port.Name == "" && p.Port == b.Service.Port.Number) {
			sp = &svc.Spec.Ports[i]
			break
		}
	}
	if sp == nil {
		rc.Problems = append(rc.Problems, c.portProblem(svc, b.Service.Port)+": "+
			c.brokenBackendAnswer(rc.Class, "the controller has no endpoints for this route (ingress-nginx answers 503, Traefik drops the route: 404)"))
		rc.BackendBroken = true
		return
	}
	be.Port = &report.BackendPort{Name: sp.Name, Port: sp.Port, Protocol: string(semantics.Protocol(sp.Protocol)), TargetPort: targetPortText(sp)}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("service %s is ExternalName (%s): the controller proxies to that name (Traefik refuses ExternalName backends unless allowExternalNameServices is set)", svc.Name, svc.Spec.ExternalName))
		return
	}
	c.fillHealth(rc, svc, sp)
}

// brokenBackendAnswer is what the controller of cls answers for a route whose backend has no
// endpoint: 503 for ingress-nginx (its profile), else generic, which names what each controller does.
func (c *checker) brokenBackendAnswer(cls, generic string) string {
	if c.isIngressNginx(cls) {
		return "ingress-nginx has no endpoint to send the request to and answers 503 (Service Temporarily Unavailable)"
	}
	return generic
}

func targetPortText(sp *corev1.ServicePort) string {
	tp := semantics.EffectiveTargetPort(sp)
	return tp.String()
}

func portArg(sp *corev1.ServicePort) string {
	if sp.Name != "" {
		return sp.Name
	}
	return strconv.Itoa(int(sp.Port))
}

func firstPodReason(h *report.BackendHealth) string {
	for _, p := range h.Pods {
		if !p.Ready && p.Reason != "" {
			return "pod " + p.Name + ": " + p.Reason
		}
	}
	return ""
}

// portProblem explains why a backend port does not exist on svc.
func (c *checker) portProblem(svc *snapshot.Service, port networkingv1.ServiceBackendPort) string {
	var have []string
	for _, sp := range svc.Spec.Ports {
		l := fmt.Sprintf("%d/%s", sp.Port, semantics.Protocol(sp.Protocol))
		if sp.Name != "" {
			l = sp.Name + " " + l
		}
		have = append(have, l)
	}
	if port.Name != "" {
		return fmt.Sprintf("service %s has no port named %q (it has %s)", svc.Name, port.Name, strings.Join(have, ", "))
	}
	for _, sp := range svc.Spec.Ports {
		if tp := semantics.EffectiveTargetPort(&sp); tp.IntValue() == int(port.Number) {
			return fmt.Sprintf("service %s has no port %d: %d is the targetPort of its port %d; an Ingress backend names the Service port", svc.Name, port.Number, port.Number, sp.Port)
		}
	}
	// a named targetPort: the container port it resolves to in the selected pods (or templates)
	for _, w := range c.snap.SelectedWorkloads(svc) {
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			if r := semantics.ResolveTargetPort(w, sp); r.Number == port.Number && r.Container != "" {
				return fmt.Sprintf("service %s has no port %d: %d is the container port that targetPort %s of its port %d resolves to; an Ingress backend names the Service port", svc.Name, port.Number, port.Number, targetPortText(sp), sp.Port)
			}
		}
	}
	return fmt.Sprintf("service %s has no port %d (it has %s)", svc.Name, port.Number, strings.Join(have, ", "))
}

// fillHealth reads the health of the backend port (and its diagnosis live, once per port) and
// makes a backend without a ready endpoint a problem of the route.
func (c *checker) fillHealth(rc *report.RouteCheck, svc *snapshot.Service, sp *corev1.ServicePort) {
	be := &rc.Backend
	be.Health = c.diagnosedHealth(svc, sp)
	h := be.Health
	if h.Checked && h.Ready == 0 {
		msg := fmt.Sprintf("service %s has no ready endpoint for port %s", svc.Name, portArg(sp))
		if h.NotReady > 0 {
			msg += fmt.Sprintf(" (%d not ready)", h.NotReady)
		}
		msg += ": " + c.brokenBackendAnswer(rc.Class, "the controller has nowhere to send the request (ingress-nginx answers 503, Traefik drops the route: 404)")
		if d := h.Diagnosis; d != nil && d.Kind == report.VerdictFault && d.RootCause != "" {
			msg += "; diagnosis: " + d.RootCause
		} else if why := firstPodReason(h); why != "" {
			msg += "; " + why
		}
		rc.Problems = append(rc.Problems, msg)
		rc.BackendBroken = true
	}
}

// diagnosedHealth is the health of a backend port and, live with a diagnosis callback, its
// diagnosis (once per Service port).
func (c *checker) diagnosedHealth(svc *snapshot.Service, sp *corev1.ServicePort) *report.BackendHealth {
	h := c.health(svc, sp)
	if c.opts.Diagnose != nil && c.snap.Live {
		key := svc.Namespace + "/" + svc.Name + "/" + portArg(sp)
		v, done := c.diagnosed[key]
		if !done {
			v = c.opts.Diagnose(svc.Namespace, svc.Name, portArg(sp))
			c.diagnosed[key] = v
		}
		h.Diagnosis = v
	}
	return h
}

// health reads the backend port's EndpointSlices and the selected pods.
func (c *checker) health(svc *snapshot.Service, sp *corev1.ServicePort) *report.BackendHealth {
	h := &report.BackendHealth{}
	var slices []*snapshot.EndpointSlice
	for _, s := range c.snap.EndpointSlices {
		if s.Namespace == svc.Namespace && s.Labels[discoveryv1.LabelServiceName] == svc.Name {
			slices = append(slices, s)
		}
	}
	if c.snap.Live {
		if why, bad := c.snap.Unavailable["EndpointSlice"]; bad {
			h.Note = "EndpointSlices not checked: " + why.Detail
			return h
		}
	} else if len(slices) == 0 {
		return c.offlineHealth(svc)
	}
	h.Checked = true
	addSliceEndpoints(h, slices, sp)
	sort.Slice(h.Endpoints, func(i, j int) bool { return h.Endpoints[i].Address < h.Endpoints[j].Address })
	if len(svc.Spec.Selector) > 0 {
		c.addSelectedPods(h, svc, sp, len(slices) > 0)
	}
	return h
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// offlineHealth is the health of a backend offline without EndpointSlices in the input: the
// workloads its selector matches (nothing is checked).
func (c *checker) offlineHealth(svc *snapshot.Service) *report.BackendHealth {
	h := &report.BackendHealth{}
	var ws []string
	for _, w := range c.snap.SelectedWorkloads(svc) {
		s := strings.ToLower(w.Src.Ref.Kind) + "/" + w.Src.Ref.Name
		if w.Replicas != nil {
			s += fmt.Sprintf(" (%d %s)", *w.Replicas, plural(int(*w.Replicas), "replica", "replicas"))
		}
		ws = append(ws, s)
	}
	h.Workloads = ws
	switch {
	case len(svc.Spec.Selector) == 0:
		h.Note = "not checked offline: the Service has no selector and the input has no EndpointSlices for it"
	case len(ws) == 0:
		h.Note = fmt.Sprintf("not checked offline: the selector %s matches no pod template in the input", labels.Set(svc.Spec.Selector))
	default:
		h.Note = fmt.Sprintf("not checked offline: the selector %s matches %s", labels.Set(svc.Spec.Selector), strings.Join(ws, ", "))
	}
	return h
}

// addSliceEndpoints adds the endpoints of the backend port's EndpointSlices, counted by state.
func addSliceEndpoints(h *report.BackendHealth, slices []*snapshot.EndpointSlice, sp *corev1.ServicePort) {
	for _, s := range slices {
		var port *int32
		for _, p := range s.Ports {
			if p.Name == nil && sp.Name == "" || p.Name != nil && *p.Name == sp.Name {
				port = p.Port
			}
		}
		if port == nil {
			continue
		}
		for _, e := range s.Endpoints {
			ready := e.Conditions.Ready == nil || *e.Conditions.Ready
			serving := ready
			if e.Conditions.Serving != nil {
				serving = *e.Conditions.Serving
			}
			term := e.Conditions.Terminating != nil && *e.Conditions.Terminating
			for _, a := range e.Addresses {
				ep := report.BackendEndpoint{Address: a, Port: *port, Ready: ready, Serving: serving, Terminating: term}
				if e.TargetRef != nil && e.TargetRef.Kind == "Pod" {
					ep.Pod = e.TargetRef.Name
				}
				if e.NodeName != nil {
					ep.Node = *e.NodeName
				}
				h.Endpoints = append(h.Endpoints, ep)
				switch {
				case ready:
					h.Ready++
				case term:
					h.Terminating++
				default:
					h.NotReady++
				}
			}
		}
	}
}

// addSelectedPods adds the state of the pods the Service selects, and a note when no pod or no
// endpoint of the port explains an empty backend.
func (c *checker) addSelectedPods(h *report.BackendHealth, svc *snapshot.Service, sp *corev1.ServicePort, haveSlices bool) {
	for _, w := range c.snap.Workloads {
		if w.Pod == nil || w.Pod.Namespace != svc.Namespace || !snapshot.Selects(svc.Spec.Selector, w) {
			continue
		}
		if w.Pod.Status.Phase == corev1.PodSucceeded || w.Pod.Status.Phase == corev1.PodFailed {
			continue
		}
		ps := semantics.ExaminePod(w.Pod, nil, c.now)
		st := report.PodState{Name: w.Pod.Name, Phase: string(w.Pod.Status.Phase), Ready: ps.Ready}
		if ps.Problem != nil {
			st.Reason = ps.Problem.Message
		}
		h.Pods = append(h.Pods, st)
	}
	sort.Slice(h.Pods, func(i, j int) bool { return h.Pods[i].Name < h.Pods[j].Name })
	if !haveSlices && len(h.Pods) == 0 {
		h.Note = fmt.Sprintf("the selector %s matches no pod", labels.Set(svc.Spec.Selector))
	} else if haveSlices && len(h.Endpoints) == 0 && len(h.Pods) > 0 {
		h.Note = fmt.Sprintf("the EndpointSlices have no port %s: is targetPort %s a port the pods declare?", portArg(sp), targetPortText(sp))
	}
}
