package ingress

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

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
