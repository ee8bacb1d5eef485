package ingress

// Which path serves a URL (an Ingress rule, an HTTPRoute through a Gateway, or both), and the
// verdict over both.

import (
	"fmt"
	"net"
	"strings"

	"github.com/svc-doctor/svc-doctor/report"
)

// takingResolution returns the first Gateway resolution whose listener takes the request.
func (c *checker) takingResolution() *report.GatewayResolution {
	if c.rep.Gateway == nil {
		return nil
	}
	for i := range c.rep.Gateway.Resolutions {
		if c.rep.Gateway.Resolutions[i].Takes() {
			return &c.rep.Gateway.Resolutions[i]
		}
	}
	return nil
}

// gatewaySpecific reports whether the Gateway takes the host by name: the winning route's or the
// listener's hostname is set (not a catch-all listener and route).
func (c *checker) gatewaySpecific(gr *report.GatewayResolution) bool {
	for _, cand := range gr.Candidates {
		if cand.Winner && cand.Hostname != "" {
			return true
		}
	}
	if g := c.opts.Gateway.Gateway(gr.Gateway.Namespace, gr.Gateway.Name); g != nil {
		if l := g.Listener(gr.Listener); l != nil {
			return l.Hostname() != ""
		}
	}
	return false
}

// decideServed says which path serves the URL. A request reaches one address: an IP in the URL
// decides by the addresses of the Gateways and of the Ingress controllers; otherwise the side
// with a rule for the host by name wins over one that serves any host, and when both name the
// host (or neither does) both are reported, since where the name resolves decides.
func (c *checker) decideServed(req *report.RouteRequest) {
	gc := c.rep.Gateway
	if gc == nil {
		return
	}
	var ing report.RouteCheck
	if len(c.rep.Routes) > 0 {
		ing = c.rep.Routes[0]
	}
	ingMatched := ing.Ingress.Name != ""
	ingSpecific := ingMatched && !ing.Default && ing.Host != ""
	gr := c.takingResolution()
	gwRouted := gr != nil && gr.Route != nil
	gwSpecific := gr != nil && c.gatewaySpecific(gr)
	set := func(side, why string) { gc.Served, gc.ServedWhy = side, why }
	if ip := net.ParseIP(req.Host); ip != nil {
		if side, why := c.servedByAddress(req.Host); side != "" {
			set(side, why)
			return
		}
	}
	switch {
	case gwRouted && ingMatched && gwSpecific && !ingSpecific:
		set(report.ServedByGateway, fmt.Sprintf("%s has a route for host %s by name; the Ingress rule that matches serves any host", gr.Gateway.Kind+" "+gr.Gateway.Namespace+"/"+gr.Gateway.Name, req.Host))
	case gwRouted && ingMatched && ingSpecific && !gwSpecific:
		set(report.ServedByIngress, fmt.Sprintf("an Ingress rule names host %s; the Gateway's listener and route take any host", req.Host))
	case gwRouted && ingMatched:
		set(report.ServedByBoth, c.bothWhy(req.Host, gr))
	case gwRouted:
		set(report.ServedByGateway, "only the Gateway has a rule for the URL")
	case ingMatched:
		set(report.ServedByIngress, "only an Ingress rule matches the URL")
	case gr != nil && gwSpecific:
		set(report.ServedByGateway, fmt.Sprintf("listener %s of %s/%s takes host %s, and no Ingress rule matches", gr.Listener, gr.Gateway.Namespace, gr.Gateway.Name, req.Host))
	default:
		set(report.ServedByNone, "neither an Ingress rule nor an HTTPRoute matches the URL")
	}
	if gc.Served == report.ServedByGateway && !ingMatched && len(c.rep.Routes) == 1 {
		// the Ingress path's "no rule matches" is not what answers
		for _, p := range ing.Problems {
			gc.Notes = append(gc.Notes, "Ingress path: "+p)
		}
		c.rep.Routes = c.rep.Routes[:0]
	}
}

// servedByAddress decides by an IP address in the URL: a Gateway's address or Service, or an
// Ingress controller's Service or an Ingress's status address.
func (c *checker) servedByAddress(ip string) (string, string) {
	for _, gr := range c.rep.Gateway.Resolutions {
		if a := gr.Address; a != nil && (a.ClusterIP == ip || contains(a.Addresses, ip)) {
			return report.ServedByGateway, fmt.Sprintf("%s is an address of gateway %s/%s", ip, gr.Gateway.Namespace, gr.Gateway.Name)
		}
	}
	for _, ci := range c.rep.Controllers {
		for _, s := range ci.Services {
			if s.ClusterIP == ip {
				return report.ServedByIngress, fmt.Sprintf("%s is the cluster IP of service %s/%s of the Ingress controller", ip, s.Namespace, s.Name)
			}
		}
	}
	for _, ing := range c.snap.Ingresses {
		for _, lb := range ing.Status.LoadBalancer.Ingress {
			if lb.IP == ip {
				return report.ServedByIngress, fmt.Sprintf("%s is the address of ingress %s/%s", ip, ing.Namespace, ing.Name)
			}
		}
	}
	return "", ""
}

// bothWhy explains a URL both paths serve.
func (c *checker) bothWhy(host string, gr *report.GatewayResolution) string {
	var ingAddr []string
	for _, ci := range c.rep.Controllers {
		for _, s := range ci.Services {
			ingAddr = append(ingAddr, "service "+s.Namespace+"/"+s.Name)
		}
	}
	gwAddr := "gateway " + gr.Gateway.Namespace + "/" + gr.Gateway.Name
	if a := gr.Address; a != nil && a.Service != "" {
		gwAddr += " (service " + a.Service + ")"
		for _, s := range ingAddr {
			if s == "service "+a.Service {
				return fmt.Sprintf("an Ingress rule and an HTTPRoute both serve host %s, through the same controller (%s): it orders the routes of both APIs by its own priorities", host, s)
			}
		}
	}
	ing := "the Ingress controller"
	if len(ingAddr) > 0 {
		ing += " (" + strings.Join(ingAddr, ", ") + ")"
	}
	return fmt.Sprintf("an Ingress rule and an HTTPRoute both serve host %s: which one answers depends on the address %s resolves to: %s or %s", host, host, gwAddr, ing)
}

// gatewayVerdict is the verdict of the Gateway path of a URL: ok, the sentence, the problems.
func (c *checker) gatewayVerdict(url string) (bool, string, []string) {
	gr := c.takingResolution()
	if gr == nil {
		return false, url + " reaches no Gateway listener", nil
	}
	where := fmt.Sprintf("gateway %s/%s listener %s", gr.Gateway.Namespace, gr.Gateway.Name, gr.Listener)
	rc := gr.Route
	if rc == nil {
		why := gr.Why
		if gr.Status != 0 {
			why = fmt.Sprintf("%d: %s", gr.Status, why)
		}
		return false, fmt.Sprintf("%s gets no route on %s", url, where), []string{why}
	}
	if !rc.OK() {
		return false, fmt.Sprintf("%s is broken on %s (%d %s)", url, where, len(rc.Problems), plural(len(rc.Problems), "problem", "problems")), rc.Problems
	}
	if r := rc.Redirect; r != nil {
		return true, fmt.Sprintf("%s is answered by %s on %s with a %d redirect to %s", url, rc.Name, where, r.StatusCode, r.Location), nil
	}
	return true, fmt.Sprintf("%s is served by %s on %s -> %s%s", url, rc.Name, where, report.BackendsText(rc.Backends), gatewayReady(rc.Backends)), nil
}

func gatewayReady(bs []report.GatewayBackend) string {
	ready, checked := 0, false
	for _, b := range bs {
		if b.Health != nil && b.Health.Checked {
			checked = true
			ready += b.Health.Ready
		}
	}
	if !checked {
		return ""
	}
	return fmt.Sprintf(" (%d ready %s)", ready, plural(ready, "endpoint", "endpoints"))
}

// combineVerdict sets the verdict of a URL the Gateway path concerns, from the Ingress path's
// (ok, summary, problems) and the Gateway path's.
func (c *checker) combineVerdict(url string, ingOK bool, ingSummary string, ingProblems []string) {
	v := &c.rep.Verdict
	gwOK, gwSummary, gwProblems := c.gatewayVerdict(url)
	var ok bool
	var summary string
	switch c.rep.Gateway.Served {
	case report.ServedByGateway:
		ok, summary, v.Problems = gwOK, gwSummary, gwProblems
	case report.ServedByBoth:
		ok = ingOK && gwOK
		v.Problems = append(append([]string{}, ingProblems...), gwProblems...)
		summary = fmt.Sprintf("%s; and %s (%s)", ingSummary, strings.TrimPrefix(gwSummary, url+" "), c.rep.Gateway.ServedWhy)
	default:
		ok, summary, v.Problems = ingOK, ingSummary, ingProblems
	}
	if ok {
		v.Kind, v.Message, v.RootCause = report.VerdictHealthy, summary, ""
	} else {
		v.Kind, v.RootCause, v.Message = report.VerdictFault, summary, ""
	}
}
