package ingress

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// Agent runs agent check requests from inside the cluster (the helper pod's agent: trace.Agent).
type Agent interface {
	Run(ctx context.Context, req agent.Request) (*agent.Response, error)
}

// ProbeTimeout bounds each request --probe sends.
const ProbeTimeout = 5 * time.Second

// probePlan is one request --probe sends, with the simulation of that very request.
type probePlan struct {
	req   report.RouteRequest
	route string
	sim   *report.IngressCheckReport
	// via is the controller Service address ("" when there is none; skip says why).
	via, addr string
	skip      string
	// gw is set for a request sent through a Gateway: the resolution it is judged against.
	gw *report.GatewayResolution
	// either: the Ingress path and the Gateway path both serve the URL through the same Service,
	// and the controller's own priorities pick one: either expectation agrees.
	either bool
}

// Probes are the requests --probe sends through the controller, each with the simulation of that
// very request.
type Probes struct {
	plans []probePlan
}

// PlanProbes plans the requests of --probe for a check's report (see planProbes).
func PlanProbes(snap *snapshot.Snapshot, rep *report.IngressCheckReport, t Target, opts CheckOptions) (*Probes, error) {
	plans, err := planProbes(snap, rep, t, opts)
	if err != nil {
		return nil, err
	}
	return &Probes{plans: plans}, nil
}

// Sendable counts the requests that can be sent (the others say why not).
func (p *Probes) Sendable() int {
	n := 0
	for _, pl := range p.plans {
		if pl.skip == "" {
			n++
		}
	}
	return n
}

// Run sends the requests from ag (nil when none is sendable; source names where it runs), judges
// every answer against its simulation and adds the results to rep: a disagreement makes the
// verdict a fault.
func (p *Probes) Run(ctx context.Context, ag Agent, source string, snap *snapshot.Snapshot, rep *report.IngressCheckReport, now time.Time) error {
	probes, err := runProbes(ctx, ag, source, p.plans, snap, now)
	if err != nil {
		return err
	}
	rep.Probes = probes
	v := &rep.Verdict
	for _, pr := range probes {
		if pr.Agrees != nil && !*pr.Agrees {
			if v.Kind == report.VerdictHealthy {
				v.Kind, v.RootCause, v.Message = report.VerdictFault, "", ""
			}
			v.Problems = append(v.Problems, "probe "+pr.URL+": "+pr.Result)
		}
	}
	if v.Kind == report.VerdictFault && v.RootCause == "" && len(v.Problems) > 0 {
		v.RootCause = "the controller does not do what the simulation predicts: " + v.Problems[len(v.Problems)-1]
	}
	return nil
}

// planProbes lists the requests to send: the URL, or for every route of the Ingresses a request
// to its own path (http, and https when a TLS entry covers its host). Each is simulated on its own
// (URL mode), so that the comparison is with what the simulation says about exactly that request.
func planProbes(snap *snapshot.Snapshot, rep *report.IngressCheckReport, t Target, opts CheckOptions) ([]probePlan, error) {
	opts.Diagnose = nil
	var reqs []report.RouteRequest
	routes := map[string]string{}
	if t.URL != nil {
		reqs = append(reqs, *t.URL)
	} else {
		seen := map[string]bool{}
		for _, rc := range rep.Routes {
			if rc.Default || rc.Ingress.Name == "" {
				continue
			}
			if rc.PathType == "ImplementationSpecific" && LooksLikeRegex(rc.Path) {
				continue
			}
			host := rc.Host
			switch {
			case host == "":
				host = "svc-doctor-probe.invalid"
			case strings.HasPrefix(host, "*."):
				host = "svc-doctor-probe" + host[1:]
			}
			schemes := []string{"http"}
			if rc.TLS != nil {
				schemes = append(schemes, "https")
			}
			for _, sc := range schemes {
				r := report.RouteRequest{Scheme: sc, Host: host, Path: rc.Path}
				r.URL = (&url.URL{Scheme: sc, Host: host, Path: rc.Path}).String()
				if seen[r.URL] {
					continue
				}
				seen[r.URL] = true
				routes[r.URL] = fmt.Sprintf("ingress %s/%s %s", rc.Ingress.Namespace, rc.Ingress.Name, rc.Field)
				reqs = append(reqs, r)
			}
		}
	}
	if len(reqs) > agent.MaxChecks {
		reqs = reqs[:agent.MaxChecks]
	}
	var plans []probePlan
	for _, r := range reqs {
		r := r
		sim := rep
		if t.URL == nil {
			o := opts
			o.Class = ""
			var err error
			if sim, err = Check(snap, Target{Raw: r.URL, URL: &r}, o); err != nil {
				return nil, err
			}
		}
		p := probePlan{req: r, route: routes[r.URL], sim: sim}
		if p.route == "" && len(sim.Routes) > 0 && sim.Routes[0].Ingress.Name != "" {
			rc := sim.Routes[0]
			p.route = fmt.Sprintf("ingress %s/%s %s", rc.Ingress.Namespace, rc.Ingress.Name, rc.Field)
		}
		p.via, p.addr, p.skip = controllerAddress(sim, r.Scheme)
		if t.URL != nil && sim.Gateway != nil {
			plans = append(plans, gatewayPlans(p, sim)...)
			continue
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// gatewayPlans are the requests for a URL the Gateway path concerns: through the Service in front
// of the Gateway whose listener takes it (or the Ingress controller's when only that path serves
// it). When both paths serve it through one Service, one request is sent and either answer agrees.
func gatewayPlans(ing probePlan, sim *report.IngressCheckReport) []probePlan {
	gc := sim.Gateway
	var gr *report.GatewayResolution
	for i := range gc.Resolutions {
		if gc.Resolutions[i].Takes() {
			gr = &gc.Resolutions[i]
			break
		}
	}
	if gc.Served == report.ServedByIngress || (gr == nil && gc.Served != report.ServedByGateway) {
		return []probePlan{ing}
	}
	if gr == nil && len(gc.Resolutions) > 0 {
		gr = &gc.Resolutions[0]
	}
	p := probePlan{req: ing.req, sim: sim, gw: gr}
	if gr == nil {
		p.skip = "no Gateway has a listener for the request"
		return []probePlan{p}
	}
	if gr.Route != nil {
		p.route = gr.Route.Name
	}
	p.via, p.addr, p.skip = gatewayAddress(gr)
	if gc.Served != report.ServedByBoth {
		return []probePlan{p}
	}
	if p.skip == "" && ing.skip == "" && p.addr == ing.addr {
		p.either = true
		return []probePlan{p}
	}
	return []probePlan{ing, p}
}

// gatewayAddress is where to send a request for a Gateway: the cluster IP of the Service in front
// of it, on the Service port that reaches the listener port.
func gatewayAddress(gr *report.GatewayResolution) (via, addr, skip string) {
	a := gr.Address
	ref := "gateway " + gr.Gateway.Namespace + "/" + gr.Gateway.Name
	if a == nil || a.Service == "" {
		return "", "", "no Service in front of " + ref + " was found (svc-doctor recognises Traefik's Gateway provider and Services labelled " + GatewayNameLabel + ")"
	}
	if a.ClusterIP == "" || a.ClusterIP == "None" {
		return "", "", "service " + a.Service + " in front of " + ref + " has no cluster IP"
	}
	port := ServicePortFor(*a, gr.Port)
	if port == 0 {
		return "", "", fmt.Sprintf("no port of service %s reaches listener port %d of %s", a.Service, gr.Port, ref)
	}
	return "service " + a.Service, net.JoinHostPort(a.ClusterIP, strconv.Itoa(int(port))), ""
}

// controllerAddress is where to send a request for the class of sim: the ClusterIP and port of
// the controller's Service.
func controllerAddress(sim *report.IngressCheckReport, scheme string) (via, addr, skip string) {
	cls := ""
	if sim.Class != nil {
		cls = sim.Class.Name
	}
	for _, ci := range sim.Controllers {
		if ci.Class != cls {
			continue
		}
		if !ci.Found {
			return "", "", "no controller serves class " + report.ClassText(cls) + ": nothing to send the request through"
		}
		for _, s := range ci.Services {
			port := s.HTTPPort
			if scheme == "https" {
				port = s.HTTPSPort
			}
			if port == 0 || s.ClusterIP == "" || s.ClusterIP == "None" {
				continue
			}
			return fmt.Sprintf("service %s/%s", s.Namespace, s.Name), net.JoinHostPort(s.ClusterIP, strconv.Itoa(int(port))), ""
		}
		what := "an HTTP port (web, http or 80)"
		if scheme == "https" {
			what = "an HTTPS port (websecure, https or 443)"
		}
		return "", "", fmt.Sprintf("no Service of the %s controller has a cluster IP and %s", report.ClassText(cls), what)
	}
	return "", "", "the controller of class " + report.ClassText(cls) + " was not found"
}

// probeChecks builds the agent request of the plans that can be sent.
func probeChecks(plans []probePlan) agent.Request {
	var checks []agent.Check
	for i, p := range plans {
		if p.skip != "" {
			continue
		}
		// Path keeps percent-encodings (an encoded "/" stays one): send it as it is
		u := url.URL{Scheme: p.req.Scheme, Host: p.addr, Path: unescapedPath(&p.req), RawPath: p.req.Path, RawQuery: p.req.RawQuery}
		hc := &agent.HTTPCheck{URL: u.String(), Host: p.req.Host, Method: p.req.Method, MaxBodyBytes: 2048, InsecureSkipVerify: true}
		for _, h := range p.req.Headers {
			hc.Headers = append(hc.Headers, agent.HTTPHeader{Name: h.Name, Value: h.Value})
		}
		if p.req.Scheme == "https" {
			hc.ServerName = p.req.Host
		}
		checks = append(checks, agent.Check{ID: "probe-" + strconv.Itoa(i), Type: agent.CheckHTTP, Timeout: agent.Duration{Duration: ProbeTimeout}, HTTP: hc})
	}
	return agent.NewRequest(checks...)
}

// runProbes sends the plans through the agent and judges each answer against its simulation.
func runProbes(ctx context.Context, ag Agent, src string, plans []probePlan, snap *snapshot.Snapshot, now time.Time) ([]report.RouteProbe, error) {
	req := probeChecks(plans)
	results := map[string]*agent.Result{}
	if len(req.Checks) > 0 {
		resp, err := ag.Run(ctx, req)
		if err != nil {
			return nil, err
		}
		for i := range resp.Results {
			results[resp.Results[i].ID] = &resp.Results[i]
		}
	}
	var out []report.RouteProbe
	for i, p := range plans {
		pr := report.RouteProbe{Route: p.route, URL: p.req.URL, Host: p.req.Host, Via: p.via + " " + p.addr + " from " + src}
		if p.req.Scheme == "https" {
			pr.SNI = p.req.Host
		}
		if p.skip != "" {
			pr.Via = "-"
			pr.Expected = planExpectation(p).text
			pr.Result = "not sent: " + p.skip
			out = append(out, pr)
			continue
		}
		judgeExpect(&pr, results["probe-"+strconv.Itoa(i)], planExpectation(p), p.sim, snap, now)
		out = append(out, pr)
	}
	return out, nil
}

// expect is what the simulation predicts for one request.
type expect struct {
	// service is the Service that should answer ("" when nothing should).
	service string
	// alt is another Service that may answer (either path of a URL both serve through one Service).
	alt string
	// status is the status expected when no Service answers (a redirect), 0 for any 4xx/5xx.
	status int
	// tlsChecked and tlsOK: whether a client would accept the certificate (https only).
	https, tlsOK bool
	secretSHA    string
	text         string
}

func expectation(sim *report.IngressCheckReport) expect {
	var e expect
	if sim.Request != nil {
		e.https = sim.Request.Scheme == "https"
	}
	if len(sim.Routes) == 0 {
		e.text = "no route"
		return e
	}
	rc := sim.Routes[0]
	routing := routingProblems(rc)
	switch {
	case rc.Redirect != nil:
		e.status = rc.Redirect.StatusCode
	case rc.ControllerSet:
		e.service = rc.ControllerService
	case len(routing) == 0 && !(rc.Default && rc.Ingress.Name == ""):
		e.service = rc.Backend.Service
	}
	if rc.TLS != nil && rc.TLS.Certificate != nil {
		e.secretSHA = rc.TLS.Certificate.SHA256
	}
	e.tlsOK = rc.TLS != nil && rc.TLS.OK
	switch {
	case e.status != 0:
		e.text = fmt.Sprintf("a %d redirect to %s", rc.Redirect.StatusCode, rc.Redirect.Location)
	case e.service != "":
		e.text = "service " + e.service
	case len(routing) > 0:
		e.text = "broken: " + routing[0]
	default:
		e.text = "404 from the controller"
	}
	if e.https {
		if e.tlsOK {
			e.text += "; certificate of Secret " + rc.TLS.Secret
		} else {
			e.text += "; no acceptable certificate"
		}
	}
	return e
}

// routingProblems are a route's problems that are not about TLS.
func routingProblems(rc report.RouteCheck) []string {
	tls := map[string]bool{}
	for _, p := range rc.TLSProblems {
		tls[p] = true
	}
	var out []string
	for _, p := range rc.Problems {
		if !tls[p] {
			out = append(out, p)
		}
	}
	return out
}

// judge fills a probe from the agent's result and compares it with the simulation.
func judge(pr *report.RouteProbe, res *agent.Result, sim *report.IngressCheckReport, snap *snapshot.Snapshot, now time.Time) {
	judgeExpect(pr, res, expectation(sim), sim, snap, now)
}

// planExpectation is what the simulation predicts for a plan: the Ingress path's, the Gateway's,
// or, when one Service serves both, either.
func planExpectation(p probePlan) expect {
	if p.gw == nil {
		return expectation(p.sim)
	}
	e := gatewayExpectation(p.gw, p.req.Scheme == "https")
	if p.either {
		ie := expectation(p.sim)
		if ie.service != "" && e.service != "" && ie.service != e.service {
			e.alt = ie.service
			e.text = "service " + e.service + " (HTTPRoute) or service " + ie.service + " (Ingress): the controller orders the two APIs' routes by its own priorities"
		}
	}
	return e
}

// gatewayExpectation is what a Gateway's resolution predicts: the winning rule's backend
// Service, a redirect's status, or an error status.
func gatewayExpectation(gr *report.GatewayResolution, https bool) expect {
	e := expect{https: https}
	rc := gr.Route
	var tlsProblems map[string]bool
	if rc != nil {
		tlsProblems = map[string]bool{}
		for _, p := range rc.TLSProblems {
			tlsProblems[p] = true
		}
		if rc.TLS != nil {
			e.tlsOK = rc.TLS.OK
			if rc.TLS.Certificate != nil {
				e.secretSHA = rc.TLS.Certificate.SHA256
			}
		}
	}
	var routing []string
	if rc != nil {
		for _, p := range rc.Problems {
			if !tlsProblems[p] {
				routing = append(routing, p)
			}
		}
	}
	switch {
	case rc == nil:
		e.text = fmt.Sprintf("%d from the Gateway: %s", gr.Status, gr.Why)
		if gr.Status == 0 {
			e.text = "no route: " + gr.Why
		}
	case rc.Redirect != nil:
		e.status = rc.Redirect.StatusCode
		e.text = fmt.Sprintf("a %d redirect to %s", rc.Redirect.StatusCode, rc.Redirect.Location)
	case len(routing) > 0:
		e.text = "broken: " + routing[0]
	default:
		for _, b := range rc.Backends {
			if b.Service != "" && !b.Invalid && b.Weight > 0 {
				if e.service == "" {
					e.service = b.Service
				} else if e.alt == "" {
					e.alt = b.Service // weighted backends: either may answer
				}
			}
		}
		e.text = "service " + e.service
		if e.alt != "" {
			e.text += " or service " + e.alt + " (weighted backends)"
		}
	}
	if https {
		if e.tlsOK {
			e.text += "; certificate of Secret " + rc.TLS.Secret
		} else {
			e.text += "; no acceptable certificate"
		}
	}
	return e
}

// judgeExpect fills a probe from the agent's result and compares it with the expectation.
func judgeExpect(pr *report.RouteProbe, res *agent.Result, e expect, sim *report.IngressCheckReport, snap *snapshot.Snapshot, now time.Time) {
	pr.Expected = e.text
	if res == nil {
		pr.Result = "the agent returned no result for this request"
		return
	}
	h := res.HTTP
	if h != nil {
		pr.Status = h.StatusCode
		pr.Body = strings.TrimSpace(h.BodySnippet)
		if len(pr.Body) > 120 {
			pr.Body = pr.Body[:120] + "…"
		}
	}
	if pr.Status == 0 {
		pr.Error = res.Detail
	}
	// which backend answered: a body that names a pod of the snapshot
	pr.AnsweredBy, pr.AnsweredService = answeringPod(snap, sim, body(h))
	var tlsAgrees *bool
	if e.https {
		var served *agent.CertSummary
		if h != nil && h.TLS != nil && len(h.TLS.PeerCertificates) > 0 {
			served = &h.TLS.PeerCertificates[0]
		}
		accepted := false
		if served != nil {
			sc := &report.ServedCert{CertInfo: report.CertInfo{Subject: served.Subject, DNSNames: served.DNSNames, NotAfter: served.NotAfter, SHA256: served.SHA256}}
			if e.secretSHA != "" {
				m := served.SHA256 == e.secretSHA
				sc.MatchesSecret = &m
			}
			sc.Acceptable = certCoversName(served.DNSNames, pr.Host) && !now.Before(served.NotBefore) && !now.After(served.NotAfter)
			pr.Certificate = sc
			accepted = sc.Acceptable && (sc.MatchesSecret == nil || *sc.MatchesSecret)
		}
		a := accepted == e.tlsOK
		tlsAgrees = &a
	}
	var routeAgrees *bool
	set := func(b bool) { routeAgrees = &b }
	answered := pr.AnsweredBy != ""
	switch {
	case e.service != "" && answered:
		svcs := strings.Split(pr.AnsweredService, ",")
		set(contains(svcs, e.service) || (e.alt != "" && contains(svcs, e.alt)))
	case e.status != 0:
		set(pr.Status == e.status)
	case e.service != "" && (pr.Status == 0 || pr.Status >= 502):
		set(false)
	// a 404 naming no pod may come from the controller (no route) or from the backend (no such
	// path): it proves nothing either way
	case e.service == "" && answered:
		set(false)
	case e.service == "" && (pr.Status == 0 || pr.Status >= 400):
		set(true)
	}
	switch {
	case tlsAgrees != nil && !*tlsAgrees:
		pr.Agrees = tlsAgrees
	case routeAgrees != nil:
		pr.Agrees = routeAgrees
	}
	pr.Result = probeSentence(pr, e, routeAgrees, tlsAgrees)
}

func probeSentence(pr *report.RouteProbe, e expect, route, tls *bool) string {
	var got []string
	switch {
	case pr.Status == 0:
		got = append(got, "the request failed: "+pr.Error)
	case pr.AnsweredBy != "":
		s := fmt.Sprintf("%d from pod %s", pr.Status, pr.AnsweredBy)
		if pr.AnsweredService != "" {
			s += " (service " + pr.AnsweredService + ")"
		}
		got = append(got, s)
	default:
		s := fmt.Sprintf("%d", pr.Status)
		if pr.Body != "" {
			s += fmt.Sprintf(" %q", pr.Body)
		}
		got = append(got, s+" (the body names no pod of the snapshot)")
	}
	if c := pr.Certificate; c != nil {
		s := "certificate " + report.ShortFingerprint(c.SHA256) + " " + c.Subject
		if c.MatchesSecret != nil {
			s += map[bool]string{true: ", the Secret's", false: ", not the Secret's"}[*c.MatchesSecret]
		}
		if !c.Acceptable {
			s += ", not acceptable for " + pr.Host + " (host or validity)"
		}
		got = append(got, s)
	}
	verdict := "cannot tell"
	switch {
	case pr.Agrees != nil && *pr.Agrees:
		verdict = "as simulated"
	case pr.Agrees != nil && tls != nil && !*tls:
		verdict = "DISAGREES on TLS"
	case pr.Agrees != nil:
		verdict = "DISAGREES"
	}
	_ = route
	return fmt.Sprintf("%s: expected %s, got %s", verdict, e.text, strings.Join(got, "; "))
}

func body(h *agent.HTTPResult) string {
	if h == nil {
		return ""
	}
	return h.BodySnippet
}

// podFields find a pod name in the answers of common echo servers: svc-doctor's test server
// (its pod name alone for /, JSON with "pod" elsewhere), traefik/whoami ("Hostname: NAME"),
// and JSON with "hostname" or "podName".
var podFields = regexp.MustCompile(`(?m)"(?:pod|podName|hostname)"\s*:\s*"([a-z0-9.-]+)"|^Hostname:\s*([a-z0-9.-]+)\s*$`)

// podNamesIn lists the names a body may identify its pod by, most likely first.
func podNamesIn(b string) []string {
	var out []string
	if first, _, _ := strings.Cut(strings.TrimSpace(b), "\n"); first != "" {
		out = append(out, strings.TrimSpace(first))
	}
	for _, m := range podFields.FindAllStringSubmatch(b, 4) {
		for _, g := range m[1:] {
			if g != "" {
				out = append(out, g)
			}
		}
	}
	return out
}

// answeringPod names the pod that answered and the Services that select it ("" when nothing in
// the body identifies it): a pod name where echo servers put it (podNamesIn), else the name or IP
// of a backend pod (one that a backend Service of an Ingress or of the simulated routes selects)
// anywhere in the body, the first to appear. Only backend pods count there: bodies that echo the
// request carry the controller's pod name (X-Forwarded-Server) and IP (RemoteAddr) and the
// client's IP (X-Forwarded-For).
func answeringPod(snap *snapshot.Snapshot, sim *report.IngressCheckReport, b string) (string, string) {
	for _, name := range podNamesIn(b) {
		if pod, svcs := podAndServices(snap, name); pod != "" {
			return pod, strings.Join(svcs, ",")
		}
	}
	if b == "" {
		return "", ""
	}
	best, at := "", len(b)
	for _, p := range backendPods(snap, sim) {
		tokens := []string{p.Name, p.Status.PodIP}
		for _, ip := range p.Status.PodIPs {
			tokens = append(tokens, ip.IP)
		}
		for _, tok := range tokens {
			if i := tokenIndex(b, tok); i >= 0 && i < at {
				best, at = p.Name, i
			}
		}
	}
	if best == "" {
		return "", ""
	}
	pod, svcs := podAndServices(snap, best)
	return pod, strings.Join(svcs, ",")
}

// backendPods are the live pods that a backend Service selects: of an Ingress of the snapshot or
// of one of the simulated routes.
func backendPods(snap *snapshot.Snapshot, sim *report.IngressCheckReport) []*corev1.Pod {
	backends := map[string]bool{}
	add := func(ns string, b *networkingv1.IngressBackend) {
		if b != nil && b.Service != nil {
			backends[ns+"/"+b.Service.Name] = true
		}
	}
	for _, ing := range snap.Ingresses {
		add(ing.Namespace, ing.Spec.DefaultBackend)
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for i := range r.HTTP.Paths {
				add(ing.Namespace, &r.HTTP.Paths[i].Backend)
			}
		}
	}
	if sim != nil {
		for _, rc := range sim.Routes {
			if ns := rc.Backend.Namespace; rc.Backend.Service != "" {
				if ns == "" {
					ns = rc.Ingress.Namespace
				}
				backends[ns+"/"+rc.Backend.Service] = true
			}
		}
	}
	var out []*corev1.Pod
	for _, w := range snap.Workloads {
		if w.Pod == nil {
			continue
		}
		for _, s := range snap.Services {
			if backends[s.Namespace+"/"+s.Name] && s.Namespace == w.Pod.Namespace && snapshot.Selects(s.Spec.Selector, w) {
				out = append(out, w.Pod)
				break
			}
		}
	}
	return out
}

// tokenIndex is the index of the first occurrence of tok in b that is a whole name or address: not
// part of a longer one (web-1 is not in web-10, 10.0.0.1 not in 10.0.0.12).
func tokenIndex(b, tok string) int {
	if tok == "" {
		return -1
	}
	part := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	for from := 0; from < len(b); {
		i := strings.Index(b[from:], tok)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(tok)
		before := i == 0 || !part(b[i-1]) && b[i-1] != '.'
		// a dot ends a name or address only at the end of a sentence (not before another label)
		after := end == len(b) || !part(b[end]) && (b[end] != '.' || end+1 == len(b) || !part(b[end+1]))
		if before && after {
			return i
		}
		from = i + 1
	}
	return -1
}

// certCoversName checks DNS names as clients do (a wildcard covers one label).
func certCoversName(names []string, host string) bool {
	host = NormalizeHost(host)
	for _, n := range names {
		n = strings.ToLower(n)
		if n == host || (strings.HasPrefix(n, "*.") && HostMatches(n, host)) {
			return true
		}
	}
	return false
}

// podAndServices finds a pod of the snapshot by name and the Services that select it.
func podAndServices(snap *snapshot.Snapshot, name string) (string, []string) {
	for _, w := range snap.Workloads {
		if w.Pod == nil || w.Pod.Name != name {
			continue
		}
		var svcs []string
		for _, s := range snap.Services {
			if s.Namespace == w.Pod.Namespace && snapshot.Selects(s.Spec.Selector, w) {
				svcs = append(svcs, s.Name)
			}
		}
		sort.Strings(svcs)
		return w.Pod.Name, svcs
	}
	return "", nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
