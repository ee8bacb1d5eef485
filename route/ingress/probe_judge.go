package ingress

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

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
