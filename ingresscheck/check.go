package ingresscheck

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/svc-doctor/svc-doctor/internal/ingressroute"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
	"github.com/svc-doctor/svc-doctor/trace/servicetrace"
)

// CheckOptions configure a check (Check).
type CheckOptions struct {
	// Class is the class a URL is resolved against (--class); "" chooses it.
	Class string
	// Namespace is the namespace of ing/NAME without one, and the scope of "every Ingress"
	// ("" = every namespace of the snapshot).
	Namespace string
	// Rules configures the lint rules (its Now is the clock certificates are checked against).
	Rules rules.Config
	// Source is "manifests" or "cluster".
	Source string
	Tool   report.Tool
	// ReadNamespaces lists the namespaces whose Services, EndpointSlices, pods and Secrets a live
	// snapshot holds; findings that need those objects are only kept there. nil: all of them.
	ReadNamespaces map[string]bool
	// Controllers maps a class name to its controller as found in the cluster; a class missing
	// from the map is looked for among the snapshot's pod templates (manifests).
	Controllers map[string]ControllerInfo
	// Diagnose runs the diagnose hops on a backend Service port (live); nil skips them.
	Diagnose func(namespace, service, port string) *report.Verdict
}

// structuralRules need only Ingress and IngressClass objects: they hold in every namespace of a
// live snapshot, also those whose Services and Secrets were not read.
var structuralRules = map[string]bool{
	"ingress-path-type-missing": true, "ingress-path-invalid": true, "ingress-host-ip": true,
	"ingress-host-invalid": true, "ingress-route-conflict": true, "ingress-path-implementation-specific": true,
	"ingress-class-missing": true, "ingress-tls-host-unserved": true, "ingress-route-shadowed": true,
	"ingress-host-without-tls": true,
}

type checker struct {
	snap     *snapshot.Snapshot
	opts     CheckOptions
	now      time.Time
	routes   []ingressroute.Route
	ings     map[string]*snapshot.Ingress // ns/name
	findings []report.Finding
	rep      *Report
	// shown are the objects (report.ObjectRef.String()) whose findings the report shows.
	shown map[string]bool
	// diagnosed caches Diagnose by ns/service/port.
	diagnosed map[string]*report.Verdict
	// classProblems caches the problems shared by every route of a class.
	classProblems map[string][]string
	classWarnings map[string][]string
	// class is the effective class of every Ingress (rules.EffectiveClass, computed once).
	class map[*snapshot.Ingress]string
	// tlsHosts indexes the spec.tls entries of each class by host (see tlsEntry), built on first use.
	tlsHosts map[string]map[string][]tlsRef
	// classless caches classlessController.
	classless     *ControllerInfo
	classlessDone bool
}

// Check simulates target against the snapshot. It fails only for an Ingress that does not
// exist or a rule configuration error; everything else is in the report.
func Check(snap *snapshot.Snapshot, t Target, opts CheckOptions) (*Report, error) {
	if opts.Rules.Now.IsZero() {
		opts.Rules = rules.DefaultConfig()
	}
	out, err := rules.Run(snap, opts.Rules)
	if err != nil {
		return nil, err
	}
	c := &checker{snap: snap, opts: opts, now: opts.Rules.Now, ings: map[string]*snapshot.Ingress{},
		findings: out.Findings, shown: map[string]bool{}, diagnosed: map[string]*report.Verdict{},
		classProblems: map[string][]string{}, classWarnings: map[string][]string{},
		class: map[*snapshot.Ingress]string{}, tlsHosts: map[string]map[string][]tlsRef{},
		rep: &Report{APIVersion: report.APIVersion, Kind: Kind, Tool: opts.Tool, Source: opts.Source, Target: t.Raw,
			Routes: []RouteCheck{}, Findings: []report.Finding{}}}
	for _, ing := range snap.Ingresses {
		c.ings[ing.Namespace+"/"+ing.Name] = ing
		c.class[ing] = rules.EffectiveClass(snap, ing)
		c.routes = append(c.routes, ingressroute.Routes(ing.Ingress, c.class[ing])...)
	}
	switch {
	case t.URL != nil:
		c.checkURL(t.URL)
	default:
		if err := c.checkIngresses(t); err != nil {
			return nil, err
		}
	}
	c.collectFindings()
	c.verdict(t)
	return c.rep, nil
}

// classOf is the effective class of ing.
func (c *checker) classOf(ing *snapshot.Ingress) string {
	cls, ok := c.class[ing]
	if !ok {
		cls = rules.EffectiveClass(c.snap, ing)
		c.class[ing] = cls
	}
	return cls
}

func (c *checker) ingressOf(r ingressroute.Route) *snapshot.Ingress {
	return c.ings[r.Namespace+"/"+r.Ingress]
}

func ingRef(ing *snapshot.Ingress) report.ObjectRef {
	return report.ObjectRef{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name}
}

func (c *checker) show(kind, ns, name string) {
	c.shown[report.ObjectRef{Kind: kind, Namespace: ns, Name: name}.String()] = true
}

// ---- URL mode ----

func (c *checker) checkURL(req *Request) {
	c.rep.Request = req
	all := ingressroute.Match(c.routes, req.Host, req.Path)
	cls, info := c.chooseClass(all)
	c.rep.Class = info
	var inClass []ingressroute.Route
	for _, r := range c.routes {
		if r.Class == cls {
			inClass = append(inClass, r)
		}
	}
	cands := ingressroute.Match(inClass, req.Host, req.Path)
	for i, cand := range cands {
		c.rep.Candidates = append(c.rep.Candidates, c.candidate(cand, i+1, i == 0, cand.Reason))
		c.show("Ingress", cand.Namespace, cand.Ingress)
	}
	for _, m := range all {
		if m.Class != cls {
			c.rep.Candidates = append(c.rep.Candidates, c.candidate(m, 0, false, "class "+classText(m.Class)+": routed by another controller, if it receives this request"))
			c.show("Ingress", m.Namespace, m.Ingress)
		}
	}
	// Ingresses of the class that name the host (TLS entries, other paths) are part of the picture
	for _, ing := range c.snap.Ingresses {
		if c.classOf(ing) != cls {
			continue
		}
		for _, r := range ing.Spec.Rules {
			if r.Host != "" && ingressroute.HostMatches(r.Host, req.Host) {
				c.show("Ingress", ing.Namespace, ing.Name)
			}
		}
	}
	c.addController(cls)
	https := req.Scheme == "https"
	if len(cands) > 0 {
		rc := c.routeCheck(cands[0].Route, req.Host, urlTLSMode(https))
		if c.isTraefik(cls) {
			c.traefikView(&rc, cls, inClass, req.Host, req.Path, &cands[0].Route)
		}
		c.rep.Routes = append(c.rep.Routes, rc)
		return
	}
	// no rule matches: the default backend of the class, if an Ingress has one the controller honours
	traefik := c.isTraefik(cls)
	var defs []*snapshot.Ingress
	var ignored []string
	for _, ing := range c.snap.Ingresses {
		if ing.Spec.DefaultBackend == nil || c.classOf(ing) != cls {
			continue
		}
		if traefik && len(ing.Spec.Rules) > 0 {
			c.show("Ingress", ing.Namespace, ing.Name)
			ignored = append(ignored, traefikIgnoresDefault(ing))
			continue
		}
		defs = append(defs, ing)
	}
	sort.Strings(ignored)
	if len(defs) == 0 {
		rc := RouteCheck{Class: cls, Host: req.Host, Path: req.Path, Default: true,
			Problems: []string{fmt.Sprintf("no rule of class %s matches %s%s: the controller's own default backend answers (404)", classText(cls), req.Host, req.Path)}}
		rc.Problems = append(rc.Problems, c.classProblems[cls]...)
		rc.Warnings = append(rc.Warnings, ignored...)
		rc.Warnings = append(rc.Warnings, c.classWarnings[cls]...)
		if traefik {
			c.traefikView(&rc, cls, inClass, req.Host, req.Path, nil)
		}
		c.rep.Routes = append(c.rep.Routes, rc)
		return
	}
	sortOldestFirst(defs)
	rc := c.defaultCheck(defs[0], req.Host, urlTLSMode(https))
	if traefik {
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("no rule matches %s%s: Traefik sends the request to the default backend of ingress %s/%s, an Ingress without rules (Traefik's default router, of the lowest priority)", req.Host, req.Path, defs[0].Namespace, defs[0].Name))
	} else {
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("no rule matches %s%s: by the Ingress specification the request goes to the default backend of ingress %s/%s; svc-doctor does not model how %s treats spec.defaultBackend (Traefik, for one, ignores it on an Ingress that has rules)", req.Host, req.Path, defs[0].Namespace, defs[0].Name, c.controllerText(cls)))
	}
	rc.Warnings = append(rc.Warnings, ignored...)
	if len(defs) > 1 {
		var names []string
		for _, d := range defs {
			names = append(names, d.Namespace+"/"+d.Name)
		}
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("%d Ingresses of class %s set a default backend (%s): the controller uses only one of them", len(defs), classText(cls), strings.Join(names, ", ")))
	}
	if traefik {
		c.traefikView(&rc, cls, inClass, req.Host, req.Path, nil)
	}
	c.rep.Routes = append(c.rep.Routes, rc)
}

// traefikIgnoresDefault is the warning for the default backend of an Ingress with rules, which
// Traefik's Kubernetes Ingress provider leaves out (it builds its default router only from an
// Ingress without rules).
func traefikIgnoresDefault(ing *snapshot.Ingress) string {
	field := "spec.defaultBackend"
	if ing.Legacy {
		field = "spec.backend"
	}
	return fmt.Sprintf("ingress %s/%s has rules, so Traefik ignores its %s: Traefik only honours the default backend of an Ingress without rules", ing.Namespace, ing.Name, field)
}

// traefikDefault returns the Ingress of cls whose default backend Traefik serves when no router
// matches: the oldest one without rules (Traefik keeps the first it reads), nil when none.
func (c *checker) traefikDefault(cls string) *snapshot.Ingress {
	var defs []*snapshot.Ingress
	for _, ing := range c.snap.Ingresses {
		if ing.Spec.DefaultBackend != nil && len(ing.Spec.Rules) == 0 && c.classOf(ing) == cls {
			defs = append(defs, ing)
		}
	}
	if len(defs) == 0 {
		return nil
	}
	sortOldestFirst(defs)
	return defs[0]
}

// controllerText names the controller of cls for messages.
func (c *checker) controllerText(cls string) string {
	if ic := c.ingressClass(cls); ic != nil && ic.Spec.Controller != "" {
		if k := lookupKnown(ic.Spec.Controller); k != nil {
			return k.name
		}
		return "controller " + ic.Spec.Controller
	}
	return "the controller"
}

// traefikView works out where Traefik really sends the request (see traefik.go) and records it
// on rc when it is not the spec's winner (nil winner: no rule of the spec matches).
func (c *checker) traefikView(rc *RouteCheck, cls string, routes []ingressroute.Route, host, path string, winner *ingressroute.Route) {
	info := c.controllerInfo(cls)
	usableCache := map[string]bool{}
	usable := func(r ingressroute.Route) bool {
		id := routeID(r)
		ok, done := usableCache[id]
		if !done {
			alt := c.routeCheck(r, host, tlsHTTP)
			ok = !alt.backendBroken
			usableCache[id] = ok
		}
		return ok
	}
	best, ok, tie := c.traefikPick(routes, host, path, info.strictPrefix, usable)
	switch {
	case !ok && winner == nil:
		return
	case !ok:
		rc.controllerSet = true
		if d := c.traefikDefault(cls); d != nil {
			if alt := c.defaultCheck(d, host, tlsHTTP); !alt.backendBroken {
				rc.controllerService = alt.Backend.Service
				rc.ControllerRoute = fmt.Sprintf("ingress %s/%s %s -> %s", d.Namespace, d.Name, alt.Field, backendSummary(alt.Backend))
				rc.Warnings = append(rc.Warnings, fmt.Sprintf("Traefik leaves this route out of its configuration (its backend is broken) and no other router matches: its default router sends the request to %s", rc.ControllerRoute))
				return
			}
		}
		rc.ControllerRoute = "none (Traefik answers 404)"
		rc.Warnings = append(rc.Warnings, "Traefik leaves this route out of its configuration (its backend is broken) and no other router matches: it answers 404")
		return
	case winner != nil && best.route.Same(*winner):
		if tie {
			rc.Warnings = append(rc.Warnings, fmt.Sprintf("another Traefik router has the same priority (%d, the length of its rule) as this one: which one Traefik uses is undefined", best.priority))
		}
		return
	}
	alt := c.routeCheck(best.route, host, tlsHTTP)
	rc.controllerSet = true
	rc.controllerService = alt.Backend.Service
	rc.ControllerRoute = fmt.Sprintf("ingress %s/%s %s -> %s", best.route.Namespace, best.route.Ingress, best.route.Field(), backendSummary(alt.Backend))
	why := ""
	switch {
	case winner == nil:
		why = fmt.Sprintf("no rule matches by the Ingress rules, but Traefik's %s compares characters, not path elements", best.rule)
	case rc.backendBroken:
		why = "Traefik leaves the winning route out of its configuration because its backend is broken"
	default:
		wr := traefikRouter(c.ingressOf(*winner), *winner, info.strictPrefix)
		why = fmt.Sprintf("Traefik orders routers by the length of their rule, not by the Ingress precedence: %s (priority %d) outranks %s (priority %d)", best.rule, best.priority, wr.rule, wr.priority)
	}
	rc.Warnings = append(rc.Warnings, fmt.Sprintf("Traefik sends this request to %s: %s", rc.ControllerRoute, why))
}

func (c *checker) isTraefik(cls string) bool {
	if cls == "" { // no class and no default IngressClass: the Traefik that serves those, if any
		return c.snap.HasKind("IngressClass") && len(c.defaultClasses()) == 0 && c.classlessController() != nil
	}
	ic := c.ingressClass(cls)
	return ic != nil && ic.Spec.Controller == traefikController
}

func (c *checker) controllerInfo(cls string) ControllerInfo {
	for _, ci := range c.rep.Controllers {
		if ci.Class == cls {
			return ci
		}
	}
	return ControllerInfo{}
}

func sortOldestFirst(ings []*snapshot.Ingress) {
	sort.SliceStable(ings, func(i, j int) bool {
		a, b := ings[i], ings[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
}

func classText(c string) string {
	if c == "" {
		return "(none)"
	}
	return c
}

func (c *checker) candidate(r ingressroute.Candidate, rank int, winner bool, reason string) Candidate {
	return Candidate{Rank: rank, Ingress: report.ObjectRef{Kind: "Ingress", Namespace: r.Namespace, Name: r.Ingress},
		Class: r.Class, Field: r.Field(), Host: r.Host, Path: r.Path, PathType: string(r.PathType),
		Backend: backendText(r.Backend), Winner: winner, Reason: reason, ControllerDefined: r.ControllerDefined()}
}

func backendText(b networkingv1.IngressBackend) string {
	switch {
	case b.Service != nil:
		if b.Service.Port.Name != "" {
			return b.Service.Name + ":" + b.Service.Port.Name
		}
		return b.Service.Name + ":" + strconv.Itoa(int(b.Service.Port.Number))
	case b.Resource != nil:
		return b.Resource.Kind + "/" + b.Resource.Name
	}
	return "(none)"
}

func (c *checker) defaultClasses() []string {
	var out []string
	for _, ic := range c.snap.IngressClasses {
		if ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
			out = append(out, ic.Name)
		}
	}
	sort.Strings(out)
	return out
}

func (c *checker) ingressClass(name string) *snapshot.IngressClass {
	for _, ic := range c.snap.IngressClasses {
		if ic.Name == name {
			return ic
		}
	}
	return nil
}

// chooseClass picks the class whose controller is assumed to receive the URL.
func (c *checker) chooseClass(matches []ingressroute.Candidate) (string, *ClassInfo) {
	defaults := c.defaultClasses()
	info := &ClassInfo{Defaults: defaults}
	var classes []string
	seen := map[string]bool{}
	for _, m := range matches {
		if !seen[m.Class] {
			seen[m.Class] = true
			classes = append(classes, m.Class)
		}
	}
	name := ""
	switch {
	case c.opts.Class != "":
		name, info.Source = c.opts.Class, "--class"
	case len(classes) == 1 && classes[0] == "":
		info.Source = "the Ingresses matching the URL have no class"
	case len(classes) == 1:
		name, info.Source = classes[0], "the only class with a rule matching the URL"
	case len(classes) > 1:
		for _, d := range defaults {
			if seen[d] && len(defaults) == 1 {
				name, info.Source = d, "the default IngressClass; other classes also have matching rules: pass --class to choose"
			}
		}
		if name == "" {
			name, info.Source = classes[0], "the class of the most specific matching rule; other classes also have matching rules: pass --class to choose"
		}
	case len(defaults) == 1:
		name, info.Source = defaults[0], "the default IngressClass; no rule matches the URL"
	default:
		info.Source = "no rule matches the URL and there is no single default IngressClass"
	}
	for _, cl := range classes {
		if cl != name {
			info.OtherClasses = append(info.OtherClasses, classText(cl))
		}
	}
	info.Name = name
	if ic := c.ingressClass(name); ic != nil {
		info.Exists = true
		info.Controller = ic.Spec.Controller
	}
	return name, info
}

// ---- class and controller ----

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
			if !info.readyPods() {
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
			c.rep.Controllers = append(c.rep.Controllers, ControllerInfo{Class: cls, Checked: true, Message: "IngressClass " + cls + " does not exist"})
		} else {
			c.rep.Controllers = append(c.rep.Controllers, ControllerInfo{Class: cls, Message: "not checked: the input has no IngressClass " + cls})
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
	if info.Found && !info.readyPods() {
		probs = append(probs, fmt.Sprintf("the controller of class %s has no ready pod: nothing answers for its Ingresses", cls))
	}
}

// classlessController returns the Traefik that serves Ingresses without class (its Kubernetes
// Ingress provider takes them when its ingressClass option is empty, the default), nil when none
// was found: live, among the controllers found for the IngressClasses; offline, among the
// Deployments and DaemonSets of the manifests. It is recorded in the report's controllers (class "").
func (c *checker) classlessController() *ControllerInfo {
	if c.classlessDone {
		return c.classless
	}
	c.classlessDone = true
	var info ControllerInfo
	if c.snap.Live {
		names := make([]string, 0, len(c.opts.Controllers))
		for n := range c.opts.Controllers {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if ci := c.opts.Controllers[n]; ci.Controller == traefikController && ci.Found && ci.classless {
				info = ci
				break
			}
		}
	} else {
		info = c.controllerFromTemplates("", traefikController)
	}
	if !info.Found {
		return nil
	}
	info.Class, info.Message = "", "serves Ingresses without class"
	c.rep.Controllers = append(c.rep.Controllers, info)
	c.classless = &info
	return c.classless
}

// readyPods reports whether any listed controller pod is ready (true when pods were not listed).
func (ci ControllerInfo) readyPods() bool {
	listed := false
	for _, w := range ci.Workloads {
		if w.PodsListed {
			listed = true
			if w.PodsReady > 0 {
				return true
			}
		}
	}
	return !listed
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
func (c *checker) controllerFromTemplates(class, controller string) ControllerInfo {
	info := ControllerInfo{Class: class, Controller: controller}
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
		why, ex := matchWorkload(cw, class, controller)
		if ex != "" {
			excluded = append(excluded, ex)
		}
		if why == "" {
			continue
		}
		info.Found, info.Checked = true, true
		info.strictPrefix = info.strictPrefix || strictPrefixArg(w.Spec)
		info.classless = info.classless || servesClassless(w.Spec)
		info.Workloads = append(info.Workloads, ControllerWorkload{Kind: kind, Namespace: cw.Namespace, Name: cw.Name, Image: firstImage(w.Spec), Why: why})
		var svcs []corev1.Service
		for _, s := range c.snap.Services {
			svcs = append(svcs, *s.Service)
		}
		info.Services = append(info.Services, controllerServices(svcs, cw.Namespace, w.Labels)...)
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

// ---- Ingress mode ----

func (c *checker) checkIngresses(t Target) error {
	var ings []*snapshot.Ingress
	if t.Ingress != "" {
		ns := t.Namespace
		if ns == "" {
			ns = c.opts.Namespace
		}
		if ns == "" {
			ns = c.snap.DefaultNamespace
		}
		ing := c.ings[ns+"/"+t.Ingress]
		if ing == nil {
			return notFound(c.snap, ns, t.Ingress)
		}
		ings = []*snapshot.Ingress{ing}
	} else {
		for _, ing := range c.snap.Ingresses {
			if c.opts.Namespace == "" || ing.Namespace == c.opts.Namespace {
				ings = append(ings, ing)
			}
		}
	}
	// the cross-Ingress analyses run once over every route, then are looked up per Ingress
	shadows := map[string]ingressroute.Shadow{}
	shadowsOf := map[string][]ingressroute.Shadow{} // by ns/name of either Ingress
	for _, s := range ingressroute.NeverWins(c.routes) {
		shadows[routeID(s.Route)] = s
		shadowsOf[s.Route.Namespace+"/"+s.Route.Ingress] = append(shadowsOf[s.Route.Namespace+"/"+s.Route.Ingress], s)
		if by := s.By.Namespace + "/" + s.By.Ingress; by != s.Route.Namespace+"/"+s.Route.Ingress {
			shadowsOf[by] = append(shadowsOf[by], s)
		}
	}
	hostShadows := map[string][]ingressroute.HostShadow{} // by ns/name of the shadowed Ingress
	for _, hs := range ingressroute.HostShadows(c.routes) {
		hostShadows[hs.Route.Namespace+"/"+hs.Route.Ingress] = append(hostShadows[hs.Route.Namespace+"/"+hs.Route.Ingress], hs)
	}
	for _, ing := range ings {
		c.show("Ingress", ing.Namespace, ing.Name)
		cls := c.classOf(ing)
		c.addController(cls)
		for _, r := range ingressroute.Routes(ing.Ingress, cls) {
			rc := c.routeCheck(r, r.Host, tlsRoute)
			if s, ok := shadows[routeID(r)]; ok {
				rc.ShadowedBy = fmt.Sprintf("ingress %s/%s %s", s.By.Namespace, s.By.Ingress, s.By.Field())
				rc.Warnings = append(rc.Warnings, fmt.Sprintf("never serves a request: %s takes every request it matches (%s)", s.By, s.Reason))
			}
			c.rep.Routes = append(c.rep.Routes, rc)
		}
		if ing.Spec.DefaultBackend != nil {
			rc := c.defaultCheck(ing, "", tlsRoute)
			if len(ing.Spec.Rules) > 0 && c.isTraefik(cls) {
				rc.Warnings = append(rc.Warnings, traefikIgnoresDefault(ing))
			}
			c.rep.Routes = append(c.rep.Routes, rc)
		}
		if len(ing.Spec.Rules) == 0 && ing.Spec.DefaultBackend == nil {
			c.rep.Routes = append(c.rep.Routes, RouteCheck{Ingress: ingRef(ing), Class: cls, Field: "spec",
				Problems: []string{"the Ingress has neither rules nor a default backend: it routes nothing"}})
		}
		// other Ingresses that shadow this one, or that this one shadows, are part of the picture
		for _, s := range shadowsOf[ing.Namespace+"/"+ing.Name] {
			c.show("Ingress", s.Route.Namespace, s.Route.Ingress)
			c.show("Ingress", s.By.Namespace, s.By.Ingress)
		}
		for _, hs := range hostShadows[ing.Namespace+"/"+ing.Name] {
			scope := "any host"
			if hs.Route.Host != "" {
				scope = "host " + hs.Route.Host
			}
			c.rep.Notes = append(c.rep.Notes, fmt.Sprintf("ingress %s/%s %s (%s %s for %s) does not serve host %s: requests to %s%s go to %s, because a rule for that host is matched before any path",
				ing.Namespace, ing.Name, hs.Route.Field(), hs.Route.PathType, hs.Route.Path, scope, hostText(hs.Host), hostText(hs.Host), hs.Path, hs.By))
		}
	}
	return nil
}

func routeID(r ingressroute.Route) string {
	return r.Namespace + "/" + r.Ingress + "/" + r.Field()
}

func hostText(h string) string {
	if h == "" {
		return "(any host)"
	}
	return h
}

// notFound is the error for ing/NAME that does not exist, naming the Ingresses that do.
func notFound(snap *snapshot.Snapshot, ns, name string) error {
	var names []string
	for _, ing := range snap.Ingresses {
		if ing.Namespace == ns {
			names = append(names, ing.Name)
		}
	}
	sort.Strings(names)
	have := "it has none"
	if len(names) > 0 {
		have = "it has " + strings.Join(names, ", ")
	}
	return fmt.Errorf("ingress %s not found in namespace %s (%s): pass -n NAMESPACE or ing/NAMESPACE/NAME", name, ns, have)
}

// ---- one route ----

func (c *checker) routeCheck(r ingressroute.Route, tlsHost string, mode tlsMode) RouteCheck {
	ing := c.ingressOf(r)
	rc := RouteCheck{Ingress: ingRef(ing), Field: r.Field(), Class: r.Class, Host: r.Host, Path: r.Path, PathType: string(r.PathType)}
	c.fillBackend(&rc, ing, &r.Backend)
	c.fillTLS(&rc, ing, r.Class, tlsHost, mode)
	if r.ControllerDefined() {
		w := fmt.Sprintf("pathType ImplementationSpecific: how %s matches is up to the controller (simulated as a prefix)", r.Path)
		if ingressroute.LooksLikeRegex(r.Path) {
			w = fmt.Sprintf("pathType ImplementationSpecific with %s, which looks like a regular expression: the controller decides (ingress-nginx may treat it as a regex, Traefik as a literal prefix); svc-doctor simulated a literal prefix", r.Path)
		}
		rc.Warnings = append(rc.Warnings, w)
	}
	rc.Problems = append(rc.Problems, c.classProblems[r.Class]...)
	rc.Warnings = append(rc.Warnings, c.classWarnings[r.Class]...)
	return rc
}

func (c *checker) defaultCheck(ing *snapshot.Ingress, tlsHost string, mode tlsMode) RouteCheck {
	cls := c.classOf(ing)
	field := "spec.defaultBackend"
	if ing.Legacy {
		field = "spec.backend"
	}
	rc := RouteCheck{Ingress: ingRef(ing), Field: field, Class: cls, Host: tlsHost, Default: true}
	c.show("Ingress", ing.Namespace, ing.Name)
	c.fillBackend(&rc, ing, ing.Spec.DefaultBackend)
	c.fillTLS(&rc, ing, cls, tlsHost, mode)
	rc.Problems = append(rc.Problems, c.classProblems[cls]...)
	rc.Warnings = append(rc.Warnings, c.classWarnings[cls]...)
	return rc
}

// fillBackend resolves the backend Service and port and reads its health.
func (c *checker) fillBackend(rc *RouteCheck, ing *snapshot.Ingress, b *networkingv1.IngressBackend) {
	be := &rc.Backend
	be.Namespace = ing.Namespace
	switch {
	case b == nil || (b.Service == nil && b.Resource == nil):
		rc.Problems = append(rc.Problems, "the path has no backend")
		rc.backendBroken = true
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
			rc.Problems = append(rc.Problems, fmt.Sprintf("service %s does not exist in namespace %s: the controller answers 503 (ingress-nginx) or drops the route (Traefik: 404)", b.Service.Name, ing.Namespace))
			rc.backendBroken = true
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
		rc.backendBroken = true
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
		rc.Problems = append(rc.Problems, c.portProblem(svc, b.Service.Port)+": the controller has no endpoints for this route (ingress-nginx answers 503, Traefik drops the route: 404)")
		rc.backendBroken = true
		return
	}
	be.Port = &ServicePort{Name: sp.Name, Port: sp.Port, Protocol: string(protocolOf(sp.Protocol)), TargetPort: targetPortText(sp)}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("service %s is ExternalName (%s): the controller proxies to that name (Traefik refuses ExternalName backends unless allowExternalNameServices is set)", svc.Name, svc.Spec.ExternalName))
		return
	}
	be.Health = c.health(svc, sp)
	if c.opts.Diagnose != nil && c.snap.Live {
		key := svc.Namespace + "/" + svc.Name + "/" + portArg(sp)
		v, done := c.diagnosed[key]
		if !done {
			v = c.opts.Diagnose(svc.Namespace, svc.Name, portArg(sp))
			c.diagnosed[key] = v
		}
		be.Health.Diagnosis = v
	}
	h := be.Health
	if h.Checked && h.Ready == 0 {
		msg := fmt.Sprintf("service %s has no ready endpoint for port %s", svc.Name, portArg(sp))
		if h.NotReady > 0 {
			msg += fmt.Sprintf(" (%d not ready)", h.NotReady)
		}
		msg += ": the controller has nowhere to send the request (ingress-nginx answers 503, Traefik drops the route: 404)"
		if d := h.Diagnosis; d != nil && d.Kind == report.VerdictFault && d.RootCause != "" {
			msg += "; diagnosis: " + d.RootCause
		} else if why := firstPodReason(h); why != "" {
			msg += "; " + why
		}
		rc.Problems = append(rc.Problems, msg)
		rc.backendBroken = true
	}
}

func targetPortText(sp *corev1.ServicePort) string {
	tp := rules.EffectiveTargetPort(sp)
	return tp.String()
}

func portArg(sp *corev1.ServicePort) string {
	if sp.Name != "" {
		return sp.Name
	}
	return strconv.Itoa(int(sp.Port))
}

func firstPodReason(h *Health) string {
	for _, p := range h.Pods {
		if !p.Ready && p.Reason != "" {
			return "pod " + p.Name + ": " + p.Reason
		}
	}
	return ""
}

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// portProblem explains why a backend port does not exist on svc.
func (c *checker) portProblem(svc *snapshot.Service, port networkingv1.ServiceBackendPort) string {
	var have []string
	for _, sp := range svc.Spec.Ports {
		l := fmt.Sprintf("%d/%s", sp.Port, protocolOf(sp.Protocol))
		if sp.Name != "" {
			l = sp.Name + " " + l
		}
		have = append(have, l)
	}
	if port.Name != "" {
		return fmt.Sprintf("service %s has no port named %q (it has %s)", svc.Name, port.Name, strings.Join(have, ", "))
	}
	for _, sp := range svc.Spec.Ports {
		if tp := rules.EffectiveTargetPort(&sp); tp.IntValue() == int(port.Number) {
			return fmt.Sprintf("service %s has no port %d: %d is the targetPort of its port %d; an Ingress backend names the Service port", svc.Name, port.Number, port.Number, sp.Port)
		}
	}
	// a named targetPort: the container port it resolves to in the selected pods (or templates)
	for _, w := range c.snap.SelectedWorkloads(svc) {
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			if r := rules.ResolveTargetPort(w, sp); r.Number == port.Number && r.Container != "" {
				return fmt.Sprintf("service %s has no port %d: %d is the container port that targetPort %s of its port %d resolves to; an Ingress backend names the Service port", svc.Name, port.Number, port.Number, targetPortText(sp), sp.Port)
			}
		}
	}
	return fmt.Sprintf("service %s has no port %d (it has %s)", svc.Name, port.Number, strings.Join(have, ", "))
}

// health reads the backend port's EndpointSlices and the selected pods.
func (c *checker) health(svc *snapshot.Service, sp *corev1.ServicePort) *Health {
	h := &Health{}
	var slices []*snapshot.EndpointSlice
	for _, s := range c.snap.EndpointSlices {
		if s.Namespace == svc.Namespace && s.Labels[discoveryv1.LabelServiceName] == svc.Name {
			slices = append(slices, s)
		}
	}
	if c.snap.Live {
		if why, bad := c.snap.Unavailable["EndpointSlice"]; bad {
			h.Note = "EndpointSlices not checked: " + why
			return h
		}
	} else if len(slices) == 0 {
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
	h.Checked = true
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
				ep := Endpoint{Address: a, Port: *port, Ready: ready, Serving: serving, Terminating: term}
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
	sort.Slice(h.Endpoints, func(i, j int) bool { return h.Endpoints[i].Address < h.Endpoints[j].Address })
	if len(svc.Spec.Selector) > 0 {
		for _, w := range c.snap.Workloads {
			if w.Pod == nil || w.Pod.Namespace != svc.Namespace || !snapshot.Selects(svc.Spec.Selector, w) {
				continue
			}
			if w.Pod.Status.Phase == corev1.PodSucceeded || w.Pod.Status.Phase == corev1.PodFailed {
				continue
			}
			ps := servicetrace.ExaminePod(w.Pod, nil, c.now)
			st := PodState{Name: w.Pod.Name, Phase: string(w.Pod.Status.Phase), Ready: ps.Ready}
			if ps.Problem != nil {
				st.Reason = ps.Problem.Message
			}
			h.Pods = append(h.Pods, st)
		}
		sort.Slice(h.Pods, func(i, j int) bool { return h.Pods[i].Name < h.Pods[j].Name })
		if len(slices) == 0 && len(h.Pods) == 0 {
			h.Note = fmt.Sprintf("the selector %s matches no pod", labels.Set(svc.Spec.Selector))
		} else if len(slices) > 0 && len(h.Endpoints) == 0 && len(h.Pods) > 0 {
			h.Note = fmt.Sprintf("the EndpointSlices have no port %s: is targetPort %s a port the pods declare?", portArg(sp), targetPortText(sp))
		}
	}
	return h
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ---- TLS ----

// tlsMode says what a TLS problem means for a route check.
type tlsMode int

const (
	// tlsRoute: a route of an Ingress; a host with a TLS entry is meant for https, its problems count.
	tlsRoute tlsMode = iota
	// tlsHTTP: a plain http request; TLS problems are warnings.
	tlsHTTP
	// tlsHTTPS: an https request; a missing or broken certificate is a problem.
	tlsHTTPS
)

func urlTLSMode(https bool) tlsMode {
	if https {
		return tlsHTTPS
	}
	return tlsHTTP
}

// fillTLS finds the spec.tls entry of the class that covers host (the route's own Ingress
// first: controllers share certificates per host across the Ingresses of a class) and checks its
// Secret. With https a missing or broken certificate is a problem, otherwise it is one when the
// host has a TLS entry (it is meant to be served over https).
func (c *checker) fillTLS(rc *RouteCheck, self *snapshot.Ingress, cls, host string, mode tlsMode) {
	https := mode == tlsHTTPS
	if host == "" {
		if https {
			rc.tlsProblems = append(rc.tlsProblems, "no host: https needs a host to choose a certificate")
			rc.Problems = append(rc.Problems, rc.tlsProblems...)
		}
		return
	}
	ing, ti := c.tlsEntry(self, cls, host)
	if ing == nil {
		if https {
			rc.tlsProblems = append(rc.tlsProblems, fmt.Sprintf("no spec.tls entry of class %s covers host %s: the controller answers https with its default certificate, which clients refuse", classText(cls), host))
			rc.Problems = append(rc.Problems, rc.tlsProblems...)
		}
		return
	}
	c.show("Ingress", ing.Namespace, ing.Name)
	t := ing.Spec.TLS[ti]
	ref := ingRef(ing)
	info := &TLSInfo{Host: host, Ingress: &ref, Field: fmt.Sprintf("spec.tls[%d]", ti), Secret: ing.Namespace + "/" + t.SecretName}
	rc.TLS = info
	var probs, warns []string
	defer func() {
		info.Problems = probs
		info.OK = len(probs) == 0 && info.Certificate != nil
		if mode == tlsHTTP {
			// this request does not use TLS: what would break https is worth a warning only
			for _, p := range probs {
				warns = append(warns, "over https: "+p)
			}
		} else {
			rc.Problems = append(rc.Problems, probs...)
			rc.tlsProblems = append(rc.tlsProblems, probs...)
		}
		rc.Warnings = append(rc.Warnings, warns...)
	}()
	if ing != self {
		warns = append(warns, fmt.Sprintf("the certificate for %s comes from ingress %s/%s %s (controllers share certificates per host)", host, ing.Namespace, ing.Name, info.Field))
	}
	if t.SecretName == "" {
		probs = append(probs, fmt.Sprintf("%s of ingress %s/%s names no secretName: the controller serves its default certificate", info.Field, ing.Namespace, ing.Name))
		return
	}
	c.show("Secret", ing.Namespace, t.SecretName)
	sec := c.snap.Secret(ing.Namespace, t.SecretName)
	if sec == nil {
		if c.snap.Complete("Secret", ing.Namespace) {
			probs = append(probs, fmt.Sprintf("TLS Secret %s does not exist in namespace %s: the controller serves its default certificate", t.SecretName, ing.Namespace))
		} else {
			warns = append(warns, fmt.Sprintf("TLS Secret %s is not in the given manifests: the certificate is not checked", t.SecretName))
		}
		return
	}
	// what the lint rules found on the Secret (keys, parsing, key pair, expiry) and on the entry
	for _, f := range c.findings {
		if f.Object == nil {
			continue
		}
		onSecret := f.Object.Kind == "Secret" && f.Object.Namespace == ing.Namespace && f.Object.Name == t.SecretName
		onEntry := f.Object.Kind == "Ingress" && f.Object.Namespace == ing.Namespace && f.Object.Name == ing.Name &&
			f.Location != nil && strings.HasPrefix(f.Location.Field, info.Field+".secretName") && f.Rule != "ingress-tls-secret-missing"
		if !onSecret && !onEntry {
			continue
		}
		switch {
		case f.Severity == report.Error:
			probs = append(probs, f.Message+" ("+f.Rule+")")
		case f.Severity == report.Warning:
			warns = append(warns, f.Message+" ("+f.Rule+")")
		}
	}
	leaf := leafCert(sec.Data[corev1.TLSCertKey])
	if leaf == nil {
		if len(probs) == 0 {
			probs = append(probs, fmt.Sprintf("Secret %s holds no readable certificate in tls.crt", t.SecretName))
		}
		return
	}
	info.Certificate = certInfo(leaf)
	info.Covers = rules.CertCovers(leaf, host)
	if !info.Covers {
		sans := "no DNS names"
		if len(leaf.DNSNames) > 0 {
			sans = strings.Join(leaf.DNSNames, ", ")
		}
		probs = append(probs, fmt.Sprintf("the certificate in Secret %s does not cover %s (it has %s): clients refuse it", t.SecretName, host, sans))
	}
}

// tlsRef is a spec.tls entry: entry ti of ing, the order-th Ingress of its class (oldest first).
type tlsRef struct {
	ing       *snapshot.Ingress
	ti, order int
}

// tlsEntryHosts are the hosts a spec.tls entry covers: its hosts, or without any the Ingress's
// own rule hosts.
func tlsEntryHosts(ing *snapshot.Ingress, ti int) []string {
	hosts := ing.Spec.TLS[ti].Hosts
	if len(hosts) == 0 {
		for _, r := range ing.Spec.Rules {
			hosts = append(hosts, r.Host)
		}
	}
	return hosts
}

// tlsCovers reports whether a spec.tls host h covers the request host.
func tlsCovers(h, host string) bool {
	return h != "" && (strings.EqualFold(h, host) || (!strings.HasPrefix(host, "*.") && ingressroute.HostMatches(h, host)))
}

// tlsEntry returns the Ingress and index of the spec.tls entry that covers host, preferring self,
// then the oldest Ingress of cls.
func (c *checker) tlsEntry(self *snapshot.Ingress, cls, host string) (*snapshot.Ingress, int) {
	if self != nil {
		for ti := range self.Spec.TLS {
			for _, h := range tlsEntryHosts(self, ti) {
				if tlsCovers(h, host) {
					return self, ti
				}
			}
		}
	}
	idx := c.tlsIndex(cls)
	keys := []string{ingressroute.NormalizeHost(host)}
	if n := keys[0]; !strings.HasPrefix(host, "*.") {
		if d := strings.IndexByte(n, '.'); d > 0 {
			keys = append(keys, "*"+n[d:])
		}
	}
	var best *tlsRef
	for _, k := range keys {
		for i, ref := range idx[k] {
			if ref.ing == self || (best != nil && (ref.order > best.order || ref.order == best.order && ref.ti >= best.ti)) {
				continue
			}
			for _, h := range tlsEntryHosts(ref.ing, ref.ti) {
				if tlsCovers(h, host) {
					best = &idx[k][i]
					break
				}
			}
		}
	}
	if best == nil {
		return nil, 0
	}
	return best.ing, best.ti
}

// tlsIndex maps the normalized hosts of the spec.tls entries of cls to the entries.
func (c *checker) tlsIndex(cls string) map[string][]tlsRef {
	if idx, ok := c.tlsHosts[cls]; ok {
		return idx
	}
	idx := map[string][]tlsRef{}
	var ings []*snapshot.Ingress
	for _, ing := range c.snap.Ingresses {
		if len(ing.Spec.TLS) > 0 && c.classOf(ing) == cls {
			ings = append(ings, ing)
		}
	}
	sortOldestFirst(ings)
	for order, ing := range ings {
		for ti := range ing.Spec.TLS {
			seen := map[string]bool{}
			for _, h := range tlsEntryHosts(ing, ti) {
				if k := ingressroute.NormalizeHost(h); h != "" && !seen[k] {
					seen[k] = true
					idx[k] = append(idx[k], tlsRef{ing: ing, ti: ti, order: order})
				}
			}
		}
	}
	c.tlsHosts[cls] = idx
	return idx
}

// leafCert parses the first certificate of a PEM bundle (nil when there is none).
func leafCert(data []byte) *x509.Certificate {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil
		}
		return c
	}
}

func certInfo(c *x509.Certificate) *CertInfo {
	sum := sha256.Sum256(c.Raw)
	return &CertInfo{Subject: c.Subject.String(), DNSNames: c.DNSNames, NotAfter: c.NotAfter.UTC(), SHA256: hex.EncodeToString(sum[:])}
}

// ---- findings and verdict ----

func (c *checker) collectFindings() {
	mentions := func(f report.Finding) bool {
		for k := range c.shown {
			if strings.HasPrefix(k, "Ingress/") && strings.Contains(f.Message, strings.ToLower(k)+" ") {
				return true
			}
		}
		return false
	}
	for _, f := range c.findings {
		if f.Object == nil {
			continue
		}
		if c.opts.ReadNamespaces != nil && !c.opts.ReadNamespaces[f.Object.Namespace] && !structuralRules[f.Rule] {
			continue
		}
		ref := report.ObjectRef{Kind: f.Object.Kind, Namespace: f.Object.Namespace, Name: f.Object.Name}.String()
		switch {
		case c.shown[ref] && (f.Object.Kind == "Ingress" || f.Object.Kind == "Secret" || f.Object.Kind == "Service"):
		case f.Object.Kind == "Ingress" && (f.Rule == "ingress-route-conflict" || f.Rule == "ingress-route-shadowed") && mentions(f):
		default:
			continue
		}
		c.rep.Findings = append(c.rep.Findings, f)
	}
}

func (c *checker) verdict(t Target) {
	v := &c.rep.Verdict
	seen := map[string]bool{}
	for _, rc := range c.rep.Routes {
		for _, p := range rc.Problems {
			if !seen[p] {
				seen[p] = true
				v.Problems = append(v.Problems, p)
			}
		}
	}
	v.OK = len(v.Problems) == 0 && len(c.rep.Routes) > 0
	switch {
	case t.URL != nil && len(c.rep.Routes) == 1:
		rc := c.rep.Routes[0]
		what := fmt.Sprintf("ingress %s/%s %s", rc.Ingress.Namespace, rc.Ingress.Name, rc.Field)
		if rc.Ingress.Name == "" {
			what = "no rule"
		}
		switch {
		case v.OK && rc.ControllerRoute != "":
			// the controller's choice is what answers: lead with it
			v.Summary = fmt.Sprintf("%s is served by %s (where the controller really sends it; by the Ingress specification it would be %s -> %s)",
				t.URL.URL, rc.ControllerRoute, what, backendSummary(rc.Backend))
		case v.OK:
			v.Summary = fmt.Sprintf("%s is served by %s -> %s%s", t.URL.URL, what, backendSummary(rc.Backend), readySummary(rc.Backend))
		default:
			v.Summary = fmt.Sprintf("%s is broken (%d %s)", t.URL.URL, len(v.Problems), plural(len(v.Problems), "problem", "problems"))
		}
	case len(c.rep.Routes) == 0:
		v.Summary = "no Ingress to check"
		if t.All() && c.opts.Namespace != "" {
			v.Summary = "no Ingress in namespace " + c.opts.Namespace
		}
	default:
		broken := 0
		for _, rc := range c.rep.Routes {
			if !rc.OK() {
				broken++
			}
		}
		if broken == 0 {
			v.Summary = fmt.Sprintf("all %d %s OK", len(c.rep.Routes), plural(len(c.rep.Routes), "route is", "routes are"))
		} else {
			v.Summary = fmt.Sprintf("%d of %d %s broken", broken, len(c.rep.Routes), plural(len(c.rep.Routes), "route is", "routes are"))
		}
	}
}

func backendSummary(b Backend) string {
	switch {
	case b.Resource != "":
		return b.Resource
	case b.Port != nil:
		return fmt.Sprintf("service %s port %s", b.Service, portText(b.Port))
	case b.Service != "":
		return fmt.Sprintf("service %s port %s", b.Service, b.Requested)
	}
	return "(no backend)"
}

func portText(p *ServicePort) string {
	if p.Name != "" {
		return fmt.Sprintf("%s (%d/%s)", p.Name, p.Port, p.Protocol)
	}
	return fmt.Sprintf("%d/%s", p.Port, p.Protocol)
}

func readySummary(b Backend) string {
	if b.Health == nil || !b.Health.Checked {
		return ""
	}
	return fmt.Sprintf(" (%d ready %s)", b.Health.Ready, plural(b.Health.Ready, "endpoint", "endpoints"))
}
