package ingress

// The class of a route and the controller that serves it.

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/report"
)

// addController records the controller of cls and the problems every route of cls shares.
func (c *checker) addController(cls string) {
	if _, done := c.classProblems[cls]; done {
		return
	}
	var probs, warns []string
	defer func() { c.classProblems[cls], c.classWarnings[cls] = probs, warns }()
	classesKnown := c.snap.HasKind("IngressClass")
	if cls == "" {
		defaults := c.defaultClasses()
		switch {
		case len(defaults) > 1:
			probs = append(probs, fmt.Sprintf("the Ingress has no ingressClassName and %d IngressClasses claim to be the default (%s): which controller serves it is undefined; set spec.ingressClassName", len(defaults), strings.Join(defaults, ", ")))
		case classesKnown:
			// Traefik's provider takes an Ingress without class when its own ingressClass option is
			// empty (the default); ingress-nginx only with --watch-ingress-without-class
			w := "no class and no default IngressClass: only controllers that serve class-less Ingresses (Traefik does by default; ingress-nginx does not unless --watch-ingress-without-class) pick it up"
			info := c.classlessController()
			if info == nil {
				warns = append(warns, w+"; svc-doctor found no Traefik that does")
				return
			}
			var ws []string
			for _, wl := range info.Workloads {
				ws = append(ws, strings.ToLower(wl.Kind)+" "+wl.Namespace+"/"+wl.Name)
			}
			warns = append(warns, w+"; Traefik ("+strings.Join(ws, ", ")+") serves it")
			if !info.ReadyPods() {
				probs = append(probs, "the Traefik that serves Ingresses without class has no ready pod: nothing answers for them")
			}
		default:
			warns = append(warns, "the Ingress has no class and the input has no IngressClass: it relies on the cluster's default class")
		}
		return
	}
	for _, rc := range c.rep.Controllers {
		if rc.Class == cls {
			return
		}
	}
	ic := c.ingressClass(cls)
	if ic == nil {
		if classesKnown {
			probs = append(probs, fmt.Sprintf("IngressClass %s does not exist: no controller serves class %s, the Ingress will never get an address", cls, cls))
			c.rep.Controllers = append(c.rep.Controllers, report.ControllerInfo{Class: cls, Checked: true, Message: "IngressClass " + cls + " does not exist"})
		} else {
			c.rep.Controllers = append(c.rep.Controllers, report.ControllerInfo{Class: cls, Message: "not checked: the input has no IngressClass " + cls})
		}
		return
	}
	info, ok := c.opts.Controllers[cls]
	if !ok {
		info = c.controllerFromTemplates(ic.Name, ic.Spec.Controller)
	}
	c.rep.Controllers = append(c.rep.Controllers, info)
	if info.Checked && !info.Found {
		msg := fmt.Sprintf("no controller serves class %s (controller %s): the Ingress will never get an address", cls, ic.Spec.Controller)
		if k := lookupKnown(ic.Spec.Controller); k != nil && k.outside {
			warns = append(warns, fmt.Sprintf("controller %s (%s) runs outside the cluster: svc-doctor cannot see it", ic.Spec.Controller, k.name))
			return
		}
		if addr := c.classAddress(cls); addr != "" {
			warns = append(warns, msg+fmt.Sprintf("; yet Ingresses of the class have the address %s: a controller outside the cluster (or one svc-doctor does not recognise) may serve it", addr))
			return
		}
		probs = append(probs, msg)
	}
	if info.Found && !info.ReadyPods() {
		probs = append(probs, fmt.Sprintf("the controller of class %s has no ready pod: nothing answers for its Ingresses", cls))
	}
}

// classlessController returns the Traefik that serves Ingresses without class (its Kubernetes
// Ingress provider takes them when its ingressClass option is empty, the default), nil when none
// was found: live, among the controllers found for the IngressClasses; offline, among the
// Deployments and DaemonSets of the manifests. It is recorded in the report's controllers (class "").
func (c *checker) classlessController() *report.ControllerInfo {
	if c.classlessDone {
		return c.classless
	}
	c.classlessDone = true
	var info report.ControllerInfo
	if c.snap.Live {
		names := make([]string, 0, len(c.opts.Controllers))
		for n := range c.opts.Controllers {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if ci := c.opts.Controllers[n]; ci.Controller == TraefikController && ci.Found && ci.Classless {
				info = ci
				break
			}
		}
	} else {
		info = c.controllerFromTemplates("", TraefikController)
	}
	if !info.Found {
		return nil
	}
	info.Class, info.Message = "", "serves Ingresses without class"
	c.rep.Controllers = append(c.rep.Controllers, info)
	c.classless = &info
	return c.classless
}

// classAddress is a status address of any Ingress of cls ("" when none has one).
func (c *checker) classAddress(cls string) string {
	for _, ing := range c.snap.Ingresses {
		if c.classOf(ing) != cls {
			continue
		}
		for _, lb := range ing.Status.LoadBalancer.Ingress {
			if lb.IP != "" {
				return lb.IP
			}
			if lb.Hostname != "" {
				return lb.Hostname
			}
		}
	}
	return ""
}

// controllerFromTemplates looks for the controller of class (controller string) among the pod
// templates of the manifests; class "" looks for one that serves Ingresses without class.
func (c *checker) controllerFromTemplates(class, controller string) report.ControllerInfo {
	info := report.ControllerInfo{Class: class, Controller: controller}
	if k := lookupKnown(controller); k != nil {
		info.Name = k.name
	}
	if c.snap.Live {
		info.Message = "not checked"
		return info
	}
	var excluded []string
	for _, w := range c.snap.Workloads {
		kind := w.Src.Ref.Kind
		if w.Pod != nil || (kind != "Deployment" && kind != "DaemonSet") {
			continue
		}
		cw := Workload{Kind: kind, Namespace: w.Src.Ref.Namespace, Name: w.Src.Ref.Name, TemplateLabels: w.Labels, Selector: w.Selector, Spec: w.Spec}
		why, ex := MatchWorkload(cw, class, controller)
		if ex != "" {
			excluded = append(excluded, ex)
		}
		if why == "" {
			continue
		}
		info.Found, info.Checked = true, true
		info.StrictPrefix = info.StrictPrefix || StrictPrefixArg(w.Spec)
		info.Classless = info.Classless || ServesClassless(w.Spec)
		info.Workloads = append(info.Workloads, report.ControllerWorkload{Kind: kind, Namespace: cw.Namespace, Name: cw.Name, Image: FirstImage(w.Spec), Why: why})
		var svcs []corev1.Service
		for _, s := range c.snap.Services {
			svcs = append(svcs, *s.Service)
		}
		info.Services = append(info.Services, ControllerServices(svcs, cw.Namespace, w.Labels)...)
	}
	switch {
	case info.Found:
		info.Message = "found in the manifests"
	default:
		info.Message = "not checked offline: the manifests hold no workload of controller " + controller
		if len(excluded) > 0 {
			info.Message += " (" + strings.Join(excluded, "; ") + ")"
		}
	}
	return info
}
