package ingress

// The Gateway path of a URL check: the request resolved through the Gateways and HTTPRoutes by
// route/gateway, the winning rule's backends checked as an Ingress route's backend is (Service,
// port, endpoints, pods, the diagnosis), the listener's certificate for https, and which of the
// two paths serves the URL when both could.

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/gateway"
	"github.com/svc-doctor/svc-doctor/semantics"
)

// gatewayRequest is the request resolved on one Gateway, with how its port was chosen.
type gatewayRequest struct {
	req     gateway.Request
	portWhy string
}

// toGatewayRequest converts a URL request (the path as normalised, the query, -X, -H).
func toGatewayRequest(r *report.RouteRequest) gateway.Request {
	q, _ := url.ParseQuery(r.RawQuery)
	gr := gateway.Request{Scheme: r.Scheme, Host: r.Host, Port: r.Port, Path: r.Path, Query: q, Method: r.Method}
	if len(r.Headers) > 0 {
		gr.Headers = map[string][]string{}
		for _, h := range r.Headers {
			gr.Headers[h.Name] = append(gr.Headers[h.Name], h.Value)
		}
	}
	return gr
}

func protocolOf(scheme string) gwv1.ProtocolType {
	if scheme == "https" {
		return gwv1.HTTPSProtocolType
	}
	return gwv1.HTTPProtocolType
}

// gatewayRequests lists the request for every Gateway with a listener of the URL's scheme: on the
// URL's port; else, when the Service in front of the Gateway maps that port to a listener port,
// on that listener port (Traefik's listeners are on its entry points' ports, 8000 behind 80); else,
// when the URL names no port and the Gateway listens for the scheme on one port only, on that
// port. Gateways left out are explained in notes.
func (c *checker) gatewayRequests(r *report.RouteRequest) ([]gatewayRequest, []string) {
	m := c.opts.Gateway
	base := toGatewayRequest(r)
	want := r.Port
	if want == 0 {
		want = 80
		if r.Scheme == "https" {
			want = 443
		}
	}
	var out []gatewayRequest
	var notes []string
	for _, g := range m.Gateways() {
		ports := map[int32]bool{}
		var list []int32
		for _, l := range g.Listeners {
			if l.Listener.Protocol == protocolOf(r.Scheme) && !ports[l.Listener.Port] {
				ports[l.Listener.Port] = true
				list = append(list, l.Listener.Port)
			}
		}
		if len(list) == 0 {
			continue
		}
		sort.Slice(list, func(i, j int) bool { return list[i] < list[j] })
		req := base
		req.GatewayNamespace, req.GatewayName = g.Gateway.Namespace, g.Gateway.Name
		addr := c.opts.GatewayAddresses[g.Gateway.Namespace+"/"+g.Gateway.Name]
		port, why := int32(0), ""
		switch {
		case ports[want]:
			port = want
		case mappedPort(addr, want, ports) != 0:
			port = mappedPort(addr, want, ports)
			why = fmt.Sprintf("port %d of service %s reaches the listeners on port %d", want, addr.Service, port)
		case r.Port == 0 && len(list) == 1:
			port = list[0]
			why = fmt.Sprintf("the URL names no port and the %s listeners of %s are on port %d: resolved there (implementations such as Traefik listen on an entry point's port behind a Service that maps %d to it)",
				protocolOf(r.Scheme), g.Ref, port, want)
		default:
			notes = append(notes, fmt.Sprintf("%s has no %s listener on port %d (its %s listeners are on port %s): write the port in the URL to resolve the request there",
				g.Ref, protocolOf(r.Scheme), want, protocolOf(r.Scheme), joinPorts(list)))
			continue
		}
		req.Port = port
		out = append(out, gatewayRequest{req: req, portWhy: why})
	}
	return out, notes
}

// mappedPort is the listener port that port of the Gateway's Service reaches (0 when none).
func mappedPort(addr report.GatewayAddress, port int32, listeners map[int32]bool) int32 {
	for _, p := range addr.Ports {
		if p.Port == port && listeners[p.TargetPort] {
			return p.TargetPort
		}
	}
	return 0
}

func joinPorts(ps []int32) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strconv.Itoa(int(p))
	}
	return strings.Join(out, ", ")
}

// checkGatewayURL resolves the URL through every Gateway that listens for it.
func (c *checker) checkGatewayURL(r *report.RouteRequest) {
	if c.opts.Gateway == nil || len(c.opts.Gateway.Gateways()) == 0 {
		return
	}
	gc := &report.GatewayCheck{Installed: true}
	reqs, notes := c.gatewayRequests(r)
	gc.Notes = notes
	for _, gr := range reqs {
		for _, res := range c.opts.Gateway.Resolve(gr.req) {
			if res.Gateway == nil {
				continue
			}
			out := c.gatewayResolution(res)
			out.PortWhy = gr.portWhy
			gc.Resolutions = append(gc.Resolutions, out)
		}
	}
	if len(reqs) == 0 && len(notes) == 0 {
		gc.Notes = append(gc.Notes, fmt.Sprintf("no Gateway has an %s listener", protocolOf(r.Scheme)))
	}
	// the Gateways whose listener takes the host first
	sort.SliceStable(gc.Resolutions, func(i, j int) bool { return gc.Resolutions[i].Takes() && !gc.Resolutions[j].Takes() })
	c.rep.Gateway = gc
}

// gatewayResolution renders one Gateway's resolution, with its winning rule checked.
func (c *checker) gatewayResolution(res *gateway.Resolution) report.GatewayResolution {
	g := res.Gateway
	out := report.GatewayResolution{Gateway: objRef(g.Ref), Class: string(g.Gateway.Spec.GatewayClassName),
		Port: res.Request.Port, Status: res.Status, Why: res.Why, Notes: res.Notes, Profile: gatewayProfile(g)}
	if g.Class != nil {
		out.Controller = string(g.Class.Spec.ControllerName)
	}
	if res.Listener != nil {
		out.Listener = res.Listener.Name()
	}
	if a, ok := c.opts.GatewayAddresses[g.Gateway.Namespace+"/"+g.Gateway.Name]; ok {
		a := a
		out.Address = &a
	}
	rank := 0
	for _, cand := range res.Candidates {
		rc := report.GatewayCandidate{Name: cand.Name(), Route: objRef(cand.Route.Ref), Rule: cand.Rule, Field: cand.Field,
			Listener: cand.Listener, Hostname: cand.Hostname, Match: cand.Description, Backends: ruleBackendsText(cand.Route, cand.Rule),
			Winner: cand.Winner, Reason: cand.Why}
		if cand.Matched {
			rank++
			rc.Rank = rank
		}
		out.Candidates = append(out.Candidates, rc)
	}
	if res.Winner != nil {
		rc := c.gatewayRouteCheck(res.Winner.Route, res.Winner.Rule, res)
		rc.Field, rc.Match = res.Winner.Field, res.Winner.Description
		out.Route = &rc
	}
	return out
}

// gatewayProfile names the semantics of a Gateway's resolution: the specification; the controller
// is named when its class is known.
func gatewayProfile(g *gateway.GatewayState) *report.ProfileInfo {
	p := &report.ProfileInfo{Name: ProfileSpec, Detected: "GatewayClass " + string(g.Gateway.Spec.GatewayClassName) + " is not known"}
	if g.Class != nil {
		p.Detected = fmt.Sprintf("GatewayClass %s controllerName %s", g.Class.Name, g.Class.Spec.ControllerName)
	}
	return p
}

func objRef(r gateway.ObjectRef) report.ObjectRef {
	av := gateway.Group + "/v1"
	if r.Kind == gateway.KindService || r.Kind == gateway.KindSecret {
		av = "v1"
	}
	return report.ObjectRef{APIVersion: av, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// ruleBackendsText lists the backendRefs of rule i of a route: NAME:PORT, ...
func ruleBackendsText(r *gateway.RouteState, rule int) string {
	var parts []string
	for _, b := range r.Backends {
		if b.Rule == rule {
			s := b.Name + ":" + strconv.Itoa(int(b.Port))
			if b.Namespace != r.Ref.Namespace {
				s = b.Namespace + "/" + s
			}
			if b.Kind != gateway.KindService || b.Group != "" {
				s = b.String()
			}
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ", ")
}

// gatewayRouteCheck checks rule i of an HTTPRoute: where it is attached, its backends (shares,
// Service, port, health) and, for a URL (res not nil), what the winning rule does with the
// request (redirect, rewrite, 500) and the listener's certificate for https.
func (c *checker) gatewayRouteCheck(r *gateway.RouteState, rule int, res *gateway.Resolution) report.GatewayRouteCheck {
	rc := report.GatewayRouteCheck{Name: fmt.Sprintf("httproute %s/%s rule[%d]", r.Ref.Namespace, r.Ref.Name, rule), Route: objRef(r.Ref),
		Rule: rule, Field: fmt.Sprintf("spec.rules[%d]", rule), Match: strings.Join(r.RuleMatches(rule), "; ")}
	c.show(gateway.KindHTTPRoute, r.Ref.Namespace, r.Ref.Name)
	for _, p := range r.Parents {
		for _, la := range p.Listeners {
			if la.Accepted {
				rc.Parents = append(rc.Parents, fmt.Sprintf("%s listener %s (%s)", p.Gateway.Ref, la.Listener.Name(), hostnamesText(la.Hostnames)))
			}
		}
		if p.Gateway != nil {
			c.show(gateway.KindGateway, p.Gateway.Ref.Namespace, p.Gateway.Ref.Name)
		}
	}
	var shares []*gateway.BackendShare
	if res != nil {
		shares = res.Backends
	} else {
		shares = ruleShares(r, rule)
	}
	for _, b := range shares {
		rc.Backends = append(rc.Backends, c.gatewayBackend(&rc, b))
	}
	if res != nil {
		c.gatewayOutcome(&rc, res)
	} else if len(shares) == 0 && len(r.HTTP.Spec.Rules[rule].Filters) == 0 {
		rc.Problems = append(rc.Problems, "the rule has no backendRefs and no filters: requests matching it get a 500")
	}
	return rc
}

// ruleShares are the backendRefs of rule i with their share of the requests.
func ruleShares(r *gateway.RouteState, rule int) []*gateway.BackendShare {
	var total int64
	for _, b := range r.Backends {
		if b.Rule == rule {
			total += int64(b.Weight)
		}
	}
	var out []*gateway.BackendShare
	for _, b := range r.Backends {
		if b.Rule != rule {
			continue
		}
		s := &gateway.BackendShare{BackendCheck: b}
		if total > 0 {
			s.Share = float64(b.Weight) / float64(total)
		}
		if b.Invalid() {
			s.Status = 500
		}
		out = append(out, s)
	}
	return out
}

func hostnamesText(hs []string) string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = report.HostText(h)
	}
	return strings.Join(out, ", ")
}

// gatewayBackend checks one backendRef: its problems by the specs, then, for a Service, the port
// and the health of its endpoints as for an Ingress backend.
func (c *checker) gatewayBackend(rc *report.GatewayRouteCheck, b *gateway.BackendShare) report.GatewayBackend {
	gb := report.GatewayBackend{Ref: b.String(), Weight: b.Weight, Share: b.Share, Invalid: b.Invalid()}
	gb.Namespace = b.Namespace
	for _, p := range b.Problems {
		msg := fmt.Sprintf("%s: %s", p.Field, p.Message)
		switch {
		case p.Level == gateway.Broken || (p.Check == gateway.CheckBackendInvalidKind && b.Invalid()):
			rc.Problems = append(rc.Problems, msg)
		default:
			rc.Warnings = append(rc.Warnings, msg)
		}
	}
	if b.NotModelled != "" {
		rc.Warnings = append(rc.Warnings, b.Field+": "+b.NotModelled)
	}
	if b.Kind != gateway.KindService || b.Group != "" {
		gb.Resource = b.String()
		return gb
	}
	gb.Service, gb.Requested = b.Name, strconv.Itoa(int(b.Port))
	c.show(gateway.KindService, b.Namespace, b.Name)
	svc := c.snap.Service(b.Namespace, b.Name)
	if svc == nil {
		gb.Known = c.snap.Complete("Service", b.Namespace)
		return gb
	}
	gb.Known, gb.Exists = true, true
	gb.Type = string(svc.Spec.Type)
	if gb.Type == "" {
		gb.Type = string(corev1.ServiceTypeClusterIP)
	}
	sp := b.ServicePort
	if sp == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return gb
	}
	gb.Port = &report.BackendPort{Name: sp.Name, Port: sp.Port, Protocol: string(semantics.Protocol(sp.Protocol)), TargetPort: targetPortText(sp)}
	gb.Health = c.diagnosedHealth(svc, sp)
	if h := gb.Health; h.Checked && h.Ready == 0 && b.Weight > 0 {
		msg := fmt.Sprintf("service %s has no ready endpoint for port %s", svc.Name, portArg(sp))
		if h.NotReady > 0 {
			msg += fmt.Sprintf(" (%d not ready)", h.NotReady)
		}
		msg += fmt.Sprintf(": the Gateway has nowhere to send its %.0f%% of the requests (implementations answer 500 or 503)", b.Share*100)
		if d := h.Diagnosis; d != nil && d.Kind == report.VerdictFault && d.RootCause != "" {
			msg += "; diagnosis: " + d.RootCause
		} else if why := firstPodReason(h); why != "" {
			msg += "; " + why
		}
		rc.Problems = append(rc.Problems, msg)
	}
	return gb
}

// gatewayOutcome records what the winning rule does with the request.
func (c *checker) gatewayOutcome(rc *report.GatewayRouteCheck, res *gateway.Resolution) {
	if res.Redirect != nil {
		rc.Redirect = &report.GatewayRedirect{StatusCode: res.Redirect.StatusCode, Location: res.Redirect.Location}
		rc.Status = res.Redirect.StatusCode
	}
	if res.Rewrite != nil {
		rc.Rewrite = &report.GatewayRewrite{Hostname: res.Rewrite.Hostname, Path: res.Rewrite.Path}
	}
	if res.Status >= 500 {
		rc.Status = res.Status
		rc.Problems = append(rc.Problems, res.Why)
	}
	rc.Warnings = append(rc.Warnings, res.Notes...)
	if res.Request.Scheme == "https" && res.Listener != nil {
		c.gatewayTLS(rc, res.Listener, res.Request.SNI)
	}
}

// gatewayTLS checks the certificate of the listener an https request entered.
func (c *checker) gatewayTLS(rc *report.GatewayRouteCheck, l *gateway.ListenerState, host string) {
	info := &report.TLSInfo{Host: host, Field: l.Field + ".tls.certificateRefs[0]"}
	rc.TLS = info
	var probs []string
	defer func() {
		info.Problems = probs
		info.OK = len(probs) == 0 && info.Certificate != nil
		rc.Problems = append(rc.Problems, probs...)
		rc.TLSProblems = append(rc.TLSProblems, probs...)
	}()
	for _, p := range l.Problems {
		switch p.Check {
		case gateway.CheckCertificateRef, gateway.CheckCertificateNotAllowed, gateway.CheckCertificateExpired, gateway.CheckCertificateHost:
			if p.Level == gateway.Broken {
				probs = append(probs, p.Message)
			} else {
				rc.Warnings = append(rc.Warnings, p.Message)
			}
		}
	}
	tls := l.Listener.TLS
	if tls == nil || len(tls.CertificateRefs) == 0 {
		return
	}
	ref := tls.CertificateRefs[0]
	ns := l.Gateway.Gateway.Namespace
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	info.Secret = ns + "/" + string(ref.Name)
	c.show("Secret", ns, string(ref.Name))
	sec := c.snap.Secret(ns, string(ref.Name))
	if sec == nil {
		return
	}
	leaf := semantics.ParseCerts(sec.Data[corev1.TLSCertKey]).Leaf()
	if leaf == nil {
		return
	}
	info.Certificate = certInfo(leaf)
	info.Covers = semantics.CertCovers(leaf, host)
}
