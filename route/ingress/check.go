package ingress

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/gateway"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"

	"github.com/svc-doctor/svc-doctor/rules/ruleid"
)

// CheckOptions configure a check (Check).
type CheckOptions struct {
	// Class is the class a URL is resolved against (--class); "" chooses it.
	Class string
	// Namespace is the namespace of ing/NAME without one, and the scope of "every Ingress"
	// ("" = every namespace of the snapshot).
	Namespace string
	// Findings are the lint findings on the snapshot (the caller runs the rules: the route layer
	// does not depend on them).
	Findings []report.Finding
	// Now is the clock certificates are checked against (default: time.Now()).
	Now time.Time
	// Source is "manifests" or "cluster".
	Source string
	Tool   report.Tool
	// ReadNamespaces lists the namespaces whose Services, EndpointSlices, pods and Secrets a live
	// snapshot holds; findings that need those objects are only kept there. nil: all of them.
	ReadNamespaces map[string]bool
	// Controllers maps a class name to its controller as found in the cluster; a class missing
	// from the map is looked for among the snapshot's pod templates (manifests).
	Controllers map[string]report.ControllerInfo
	// Diagnose runs the diagnose hops on a backend Service port (live); nil skips them.
	Diagnose func(namespace, service, port string) *report.Verdict
	// Gateway is the Gateway API model of the snapshot, nil when it has no Gateway API object
	// (the caller builds it with rules.GatewayObjects: route layers do not depend on the rules).
	Gateway *gateway.Model
	// GatewayAddresses are where each Gateway (namespace/name) receives traffic: the Service in
	// front of its data plane (live).
	GatewayAddresses map[string]report.GatewayAddress
}

// structuralRules need only Ingress and IngressClass objects: they hold in every namespace of a
// live snapshot, also those whose Services and Secrets were not read.
var structuralRules = map[string]bool{
	string(ruleid.IngressPathTypeMissing): true, string(ruleid.IngressPathInvalid): true, string(ruleid.IngressHostIP): true,
	string(ruleid.IngressHostInvalid): true, string(ruleid.IngressRouteConflict): true, string(ruleid.IngressPathImplementationSpecific): true,
	string(ruleid.IngressClassMissing): true, string(ruleid.IngressTLSHostUnserved): true, string(ruleid.IngressRouteShadowed): true,
	string(ruleid.IngressHostWithoutTLS): true,
}

type checker struct {
	snap     *snapshot.Snapshot
	opts     CheckOptions
	now      time.Time
	routes   []Route
	ings     map[string]*snapshot.Ingress // ns/name
	findings []report.Finding
	rep      *report.IngressCheckReport
	// shown are the objects (report.ObjectRef.String()) whose findings the report shows.
	shown map[string]bool
	// diagnosed caches Diagnose by ns/service/port.
	diagnosed map[string]*report.Verdict
	// classProblems caches the problems shared by every route of a class.
	classProblems map[string][]string
	classWarnings map[string][]string
	// class is the effective class of every Ingress (semantics.EffectiveClass, computed once).
	class map[*snapshot.Ingress]string
	// tlsHosts indexes the spec.tls entries of each class by host (see tlsEntry), built on first use.
	tlsHosts map[string]map[string][]tlsRef
	// classless caches classlessController.
	classless     *report.ControllerInfo
	classlessDone bool
	// nginxClasses and nginxServers cache the Ingresses of ingress-nginx classes and their server
	// blocks by class and host (nginx.go).
	nginxClasses map[string]*nginxIngressIndex
	nginxServers map[string]*nginxServer
}

// Check simulates target against the snapshot. It fails only for an Ingress that does not
// exist; everything else is in the report.
func Check(snap *snapshot.Snapshot, t Target, opts CheckOptions) (*report.IngressCheckReport, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	c := &checker{snap: snap, opts: opts, now: opts.Now, ings: map[string]*snapshot.Ingress{},
		findings: opts.Findings, shown: map[string]bool{}, diagnosed: map[string]*report.Verdict{},
		classProblems: map[string][]string{}, classWarnings: map[string][]string{},
		class: map[*snapshot.Ingress]string{}, tlsHosts: map[string]map[string][]tlsRef{},
		rep: &report.IngressCheckReport{APIVersion: report.APIVersion, Kind: report.KindIngressCheck, Tool: opts.Tool, Source: opts.Source, Target: t.Raw,
			Routes: []report.RouteCheck{}, Findings: []report.Finding{}}}
	for _, ing := range snap.Ingresses {
		c.ings[ing.Namespace+"/"+ing.Name] = ing
		c.class[ing] = semantics.EffectiveClass(snap, ing)
		c.routes = append(c.routes, Routes(ing.Ingress, c.class[ing])...)
	}
	switch {
	case t.URL != nil:
		c.checkURL(t.URL)
		c.checkGatewayURL(t.URL)
		c.decideServed(t.URL)
	case t.HTTPRoute != "":
		if err := c.checkHTTPRoute(t); err != nil {
			return nil, err
		}
	case t.Gateway != "":
		if err := c.checkGateway(t); err != nil {
			return nil, err
		}
	default:
		if err := c.checkIngresses(t); err != nil {
			return nil, err
		}
	}
	c.collectFindings()
	c.setProfiles()
	if t.HTTPRoute != "" || t.Gateway != "" {
		c.objectVerdict()
		return c.rep, nil
	}
	c.verdict(t)
	return c.rep, nil
}

// classOf is the effective class of ing.
func (c *checker) classOf(ing *snapshot.Ingress) string {
	cls, ok := c.class[ing]
	if !ok {
		cls = semantics.EffectiveClass(c.snap, ing)
		c.class[ing] = cls
	}
	return cls
}

func (c *checker) ingressOf(r Route) *snapshot.Ingress {
	return c.ings[r.Namespace+"/"+r.Ingress]
}

func ingRef(ing *snapshot.Ingress) report.ObjectRef {
	return report.ObjectRef{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name}
}

func (c *checker) show(kind, ns, name string) {
	c.shown[report.ObjectRef{Kind: kind, Namespace: ns, Name: name}.String()] = true
}

// ---- URL mode ----

func (c *checker) checkURL(req *report.RouteRequest) {
	c.rep.Request = req
	all := Match(c.routes, req.Host, req.Path)
	cls, info := c.chooseClass(all)
	c.rep.Class = info
	var inClass []Route
	for _, r := range c.routes {
		if r.Class == cls {
			inClass = append(inClass, r)
		}
	}
	cands := Match(inClass, req.Host, req.Path)
	for i, cand := range cands {
		c.rep.Candidates = append(c.rep.Candidates, c.candidate(cand, i+1, i == 0, cand.Reason))
		c.show("Ingress", cand.Namespace, cand.Ingress)
	}
	for _, m := range all {
		if m.Class != cls {
			c.rep.Candidates = append(c.rep.Candidates, c.candidate(m, 0, false, "class "+report.ClassText(m.Class)+": routed by another controller, if it receives this request"))
			c.show("Ingress", m.Namespace, m.Ingress)
		}
	}
	// Ingresses of the class that name the host (TLS entries, other paths) are part of the picture
	for _, ing := range c.snap.Ingresses {
		if c.classOf(ing) != cls {
			continue
		}
		for _, r := range ing.Spec.Rules {
			if r.Host != "" && HostMatches(r.Host, req.Host) {
				c.show("Ingress", ing.Namespace, ing.Name)
			}
		}
	}
	c.addController(cls)
	if c.isIngressNginx(cls) {
		c.nginxURL(req, cls, inClass, cands)
		return
	}
	https := req.Scheme == "https"
	if len(cands) > 0 {
		rc := c.routeCheck(cands[0].Route, req.Host, urlTLSMode(https))
		if c.isTraefik(cls) {
			c.traefikView(&rc, cls, inClass, req.Host, req.Path, &cands[0].Route)
		}
		c.rep.Routes = append(c.rep.Routes, rc)
		return
	}
	c.defaultBackendURL(req, cls, inClass)
}

// defaultBackendURL is the route of a request no rule of cls matches: the default backend of the
// class, if an Ingress has one the controller honours, else the controller's 404.
func (c *checker) defaultBackendURL(req *report.RouteRequest, cls string, inClass []Route) {
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
		rc := c.noRuleCheck(cls, req, inClass, ignored...)
		if traefik {
			c.traefikView(&rc, cls, inClass, req.Host, req.Path, nil)
		}
		c.rep.Routes = append(c.rep.Routes, rc)
		return
	}
	sortOldestFirst(defs)
	rc := c.defaultCheck(defs[0], req.Host, urlTLSMode(req.Scheme == "https"))
	if traefik {
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("no rule matches %s%s: Traefik sends the request to the default backend of ingress %s/%s, an Ingress without rules (Traefik's default router, of the lowest priority)", req.Host, req.Path, defs[0].Namespace, defs[0].Name))
	} else {
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("no rule matches %s%s: by the Ingress specification the request goes to the default backend of ingress %s/%s; svc-doctor does not model how %s treats spec.defaultBackend (Traefik, for one, ignores it on an Ingress that has rules)", req.Host, req.Path, defs[0].Namespace, defs[0].Name, c.controllerText(cls)))
	}
	rc.Warnings = append(rc.Warnings, c.nearMisses(inClass, req)...)
	rc.Warnings = append(rc.Warnings, ignored...)
	if len(defs) > 1 {
		var names []string
		for _, d := range defs {
			names = append(names, d.Namespace+"/"+d.Name)
		}
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("%d Ingresses of class %s set a default backend (%s): the controller uses only one of them", len(defs), report.ClassText(cls), strings.Join(names, ", ")))
	}
	if traefik {
		c.traefikView(&rc, cls, inClass, req.Host, req.Path, nil)
	}
	c.rep.Routes = append(c.rep.Routes, rc)
}

// noRuleCheck is the route of a request no rule of cls matches and no default backend takes:
// the controller's own default backend (404), with the near misses and the warnings given.
func (c *checker) noRuleCheck(cls string, req *report.RouteRequest, inClass []Route, warnings ...string) report.RouteCheck {
	rc := report.RouteCheck{Class: cls, Host: req.Host, Path: req.Path, Default: true,
		Problems: []string{fmt.Sprintf("no rule of class %s matches %s%s: the controller's own default backend answers (404)", report.ClassText(cls), req.Host, req.Path)}}
	rc.Problems = append(rc.Problems, c.classProblems[cls]...)
	rc.Warnings = append(rc.Warnings, c.nearMisses(inClass, req)...)
	rc.Warnings = append(rc.Warnings, warnings...)
	rc.Warnings = append(rc.Warnings, c.classWarnings[cls]...)
	return rc
}

// nearMisses are the rules that almost matched, why each lost, and the change that would make it
// match.
func (c *checker) nearMisses(inClass []Route, req *report.RouteRequest) []string {
	var near []string
	for _, m := range NearMisses(inClass, req.Host, req.Path, 3) {
		c.show("Ingress", m.Route.Namespace, m.Route.Ingress)
		near = append(near, fmt.Sprintf("near miss: ingress %s/%s %s%s (%s): %s; fix: %s", m.Route.Namespace, m.Route.Ingress,
			describeHost(m.Route.Host), m.Route.Path, m.Route.PathType, m.Why, m.Fix))
	}
	return near
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
func (c *checker) traefikView(rc *report.RouteCheck, cls string, routes []Route, host, path string, winner *Route) {
	info := c.controllerInfo(cls)
	usableCache := map[string]bool{}
	usable := func(r Route) bool {
		id := routeID(r)
		ok, done := usableCache[id]
		if !done {
			alt := c.routeCheck(r, host, tlsHTTP)
			ok = !alt.BackendBroken
			usableCache[id] = ok
		}
		return ok
	}
	best, ok, tie := c.traefikPick(routes, host, path, info.StrictPrefix, usable)
	switch {
	case !ok && winner == nil:
		return
	case !ok:
		rc.ControllerSet = true
		if d := c.traefikDefault(cls); d != nil {
			if alt := c.defaultCheck(d, host, tlsHTTP); !alt.BackendBroken {
				rc.ControllerService = alt.Backend.Service
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
	rc.ControllerSet = true
	rc.ControllerService = alt.Backend.Service
	rc.ControllerRoute = fmt.Sprintf("ingress %s/%s %s -> %s", best.route.Namespace, best.route.Ingress, best.route.Field(), backendSummary(alt.Backend))
	why := ""
	switch {
	case winner == nil:
		why = fmt.Sprintf("no rule matches by the Ingress rules, but Traefik's %s compares characters, not path elements", best.rule)
	case rc.BackendBroken:
		why = "Traefik leaves the winning route out of its configuration because its backend is broken"
	default:
		wr := traefikRouter(c.ingressOf(*winner), *winner, info.StrictPrefix)
		why = fmt.Sprintf("Traefik orders routers by the length of their rule, not by the Ingress precedence: %s (priority %d) outranks %s (priority %d)", best.rule, best.priority, wr.rule, wr.priority)
	}
	rc.Warnings = append(rc.Warnings, fmt.Sprintf("Traefik sends this request to %s: %s", rc.ControllerRoute, why))
}

func (c *checker) isTraefik(cls string) bool {
	if cls == "" { // no class and no default IngressClass: the Traefik that serves those, if any
		return c.snap.HasKind("IngressClass") && len(c.defaultClasses()) == 0 && c.classlessController() != nil
	}
	ic := c.ingressClass(cls)
	return ic != nil && ic.Spec.Controller == TraefikController
}

func (c *checker) controllerInfo(cls string) report.ControllerInfo {
	for _, ci := range c.rep.Controllers {
		if ci.Class == cls {
			return ci
		}
	}
	return report.ControllerInfo{}
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

func (c *checker) candidate(r Candidate, rank int, winner bool, reason string) report.RouteCandidate {
	return report.RouteCandidate{Rank: rank, Ingress: report.ObjectRef{Kind: "Ingress", Namespace: r.Namespace, Name: r.Ingress},
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

// hostClass is the only class with a rule naming the request's host (not any host), "" when
// none or several: the controller that class's Ingresses point the host to receives the request
// even when no path matches (and its own path matching may differ from the specification's).
func (c *checker) hostClass() string {
	found := map[string]bool{}
	for _, r := range c.routes {
		if r.Host != "" && HostMatches(r.Host, c.rep.Request.Host) {
			found[r.Class] = true
		}
	}
	for cls := range found {
		if len(found) == 1 && cls != "" {
			return cls
		}
	}
	return ""
}

// chooseClass picks the class whose controller is assumed to receive the URL.
func (c *checker) chooseClass(matches []Candidate) (string, *report.IngressClassInfo) {
	defaults := c.defaultClasses()
	info := &report.IngressClassInfo{Defaults: defaults}
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
	case c.hostClass() != "":
		name = c.hostClass()
		info.Source = "the only class with a rule for host " + c.rep.Request.Host + "; no rule matches the URL's path by the Ingress specification"
	default:
		info.Source = "no rule matches the URL and there is no single default IngressClass"
	}
	for _, cl := range classes {
		if cl != name {
			info.OtherClasses = append(info.OtherClasses, report.ClassText(cl))
		}
	}
	info.Name = name
	if ic := c.ingressClass(name); ic != nil {
		info.Exists = true
		info.Controller = ic.Spec.Controller
	}
	return name, info
}
