package report

// The table and wide rendering of the Gateway parts of an ingresscheck report.

import (
	"fmt"
	"strconv"
	"strings"
)

// requestLine prints -X and -H when given.
func (t *tableWriter) requestLine() {
	r := t.r.Request
	if r == nil || (r.Method == "" && len(r.Headers) == 0) {
		return
	}
	m := r.Method
	if m == "" {
		m = "GET"
	}
	var hs []string
	for _, h := range r.Headers {
		hs = append(hs, h.String())
	}
	s := m
	if len(hs) > 0 {
		s += ", headers " + strings.Join(hs, "; ")
	}
	t.line("REQUEST", "%s", s)
}

// gateway prints how the Gateways route the URL: which path serves it, then per Gateway the
// listener, the matching rules (best first, then the near misses) and the winning rule.
func (t *tableWriter) gateway() {
	gc := t.r.Gateway
	if gc == nil {
		return
	}
	t.blank()
	t.line("SERVED BY", "%s: %s", servedText(gc.Served), gc.ServedWhy)
	for _, g := range gc.Resolutions {
		t.blank()
		t.gatewayHeader(g)
		t.gatewayCandidates(g)
		if g.Route != nil {
			t.gatewayRoute(*g.Route, true)
		}
		for _, n := range g.Notes {
			t.line("NOTE", "%s", n)
		}
	}
	for _, n := range gc.Notes {
		t.line("NOTE", "%s", n)
	}
}

func servedText(s string) string {
	switch s {
	case ServedByGateway:
		return "the Gateway API path"
	case ServedByIngress:
		return "the Ingress path"
	case ServedByBoth:
		return "both paths"
	}
	return "neither path"
}

func (t *tableWriter) gatewayHeader(g GatewayResolution) {
	where := "gateway " + g.Gateway.Namespace + "/" + g.Gateway.Name
	class := "class " + g.Class
	if g.Controller != "" {
		class += " (" + g.Controller + ")"
	}
	if g.Listener == "" {
		t.line("GATEWAY", "%s port %d, %s: %s", where, g.Port, class, g.Why)
		return
	}
	port := strconv.Itoa(int(g.Port))
	if g.PortWhy != "" {
		port += ": " + g.PortWhy
	}
	t.line("GATEWAY", "%s listener %s (port %s), %s", where, g.Listener, port, class)
	if g.Profile != nil {
		t.line("PROFILE", "%s", g.Profile.String())
	}
	if a := g.Address; a != nil && (a.Service != "" || len(a.Addresses) > 0) {
		s := ""
		if a.Service != "" {
			s = "service " + a.Service
			if a.ClusterIP != "" {
				s += " " + a.ClusterIP
			}
			if a.How != "" {
				s += " (" + a.How + ")"
			}
		}
		if len(a.Addresses) > 0 {
			if s != "" {
				s += "; "
			}
			s += "status addresses " + strings.Join(a.Addresses, ", ")
		}
		t.line("ADDRESS", "%s", s)
	}
	if g.Route == nil {
		status := ""
		if g.Status != 0 {
			status = strconv.Itoa(g.Status) + ": "
		}
		t.line("RESULT", "%s%s", status, g.Why)
	}
}

func (t *tableWriter) gatewayCandidates(g GatewayResolution) {
	var rows [][]string
	for _, c := range g.Candidates {
		rank := "-"
		if c.Rank > 0 {
			rank = strconv.Itoa(c.Rank)
		}
		result := "wins"
		switch {
		case c.Winner:
		case c.Rank > 0:
			result = "loses: " + c.Reason
		default:
			result = "no match: " + c.Reason
		}
		row := []string{rank, c.Name, HostText(c.Hostname), c.Match, c.Backends, result}
		if t.wide {
			row = []string{rank, c.Name, c.Field, c.Listener, HostText(c.Hostname), c.Match, c.Backends, result}
		}
		rows = append(rows, row)
	}
	headers := []string{"rank", "rule", "hostname", "match", "backends", "result"}
	if t.wide {
		headers = []string{"rank", "rule", "match field", "listener", "hostname", "match", "backends", "result"}
	}
	t.table("MATCHING HTTPROUTE RULES (best first, then near misses)", headers, rows)
}

// gatewayRoute prints one rule: where it is attached, its backends with their health, what it
// does with the request; detail adds the endpoint and pod tables.
func (t *tableWriter) gatewayRoute(rc GatewayRouteCheck, detail bool) {
	t.blank()
	t.line("ROUTE", "%s (%s)", rc.Name, rc.Field)
	if rc.Match != "" {
		t.line("MATCH", "%s", rc.Match)
	}
	for _, p := range rc.Parents {
		t.line("ATTACHED", "%s", p)
	}
	if r := rc.Redirect; r != nil {
		t.line("REDIRECT", "%d to %s", r.StatusCode, r.Location)
	}
	if r := rc.Rewrite; r != nil {
		var parts []string
		if r.Hostname != "" {
			parts = append(parts, "host "+r.Hostname)
		}
		if r.Path != "" {
			parts = append(parts, "path "+r.Path)
		}
		t.line("REWRITE", "%s", strings.Join(parts, ", "))
	}
	for _, b := range rc.Backends {
		line := backendLine(b.RouteBackend)
		if b.Service == "" {
			line = b.Ref
		}
		line += fmt.Sprintf(", weight %d (%.0f%%)", b.Weight, b.Share*100)
		if b.Invalid {
			line += ": INVALID (500)"
		}
		t.line("BACKEND", "%s", line)
		if h := b.Health; h != nil {
			if h.Checked {
				t.line("ENDPOINTS", "%d ready, %d not ready, %d terminating", h.Ready, h.NotReady, h.Terminating)
			}
			if h.Note != "" {
				t.line("HEALTH", "%s", h.Note)
			}
			if d := h.Diagnosis; d != nil {
				t.line("DIAGNOSIS", "%s", diagnosisText(d.Kind, d.RootCause, d.Fix, d.Message))
			}
		}
	}
	if len(rc.Backends) == 0 && rc.Redirect == nil {
		t.line("BACKEND", "(no backendRefs)")
	}
	if tl := rc.TLS; tl != nil {
		t.line("TLS", "%s", gatewayTLSLine(tl))
	}
	if detail {
		for _, b := range rc.Backends {
			if b.Health != nil {
				t.endpoints(b.Health)
				t.pods(b.Health)
			}
		}
	}
}

func gatewayTLSLine(tl *TLSInfo) string {
	s := "host " + HostText(tl.Host) + ": Secret " + tl.Secret + " (" + tl.Field + ")"
	if tl.Secret == "" {
		s = "host " + HostText(tl.Host) + ": no certificateRef"
	}
	if c := tl.Certificate; c != nil {
		s += ", certificate for " + strings.Join(c.DNSNames, ",") + ", expires " + c.NotAfter.Format("2006-01-02") + ", sha256 " + ShortFingerprint(c.SHA256)
	}
	switch {
	case tl.OK:
		return s + ": OK"
	case len(tl.Problems) > 0:
		return s + ": BROKEN"
	}
	return s + ": not checked"
}

// gatewayObjects prints httproute/NAME and gateway/NAME: the listeners, then every rule.
func (t *tableWriter) gatewayObjects() {
	var rows [][]string
	for _, l := range t.r.Listeners {
		status := "OK"
		if !l.OK() {
			status = "BROKEN"
		}
		tls := "-"
		if l.TLS != nil {
			tls = tlsShort(l.TLS)
		}
		rows = append(rows, []string{l.Gateway.Namespace + "/" + l.Gateway.Name, l.Name, strconv.Itoa(int(l.Port)), l.Protocol, HostText(l.Hostname), strconv.Itoa(len(l.Routes)), tls, status})
	}
	t.table("LISTENERS", []string{"gateway", "listener", "port", "protocol", "hostname", "routes", "tls", "status"}, rows)
	rows = nil
	for _, r := range t.r.GatewayRoutes {
		status := "OK"
		if !r.OK() {
			status = "BROKEN"
		}
		eps := "-"
		ready, total, checked := 0, 0, false
		for _, b := range r.Backends {
			if h := b.Health; h != nil && h.Checked {
				checked = true
				ready += h.Ready
				total += h.Ready + h.NotReady + h.Terminating
			}
		}
		if checked {
			eps = fmt.Sprintf("%d/%d ready", ready, total)
		}
		row := []string{r.Name, r.Match, shortBackends(r.Backends), eps, status}
		if t.wide {
			row = []string{r.Name, r.Match, strings.Join(r.Parents, "; "), shortBackends(r.Backends), eps, status}
		}
		rows = append(rows, row)
	}
	headers := []string{"rule", "matches", "backends", "endpoints", "status"}
	if t.wide {
		headers = []string{"rule", "matches", "attached", "backends", "endpoints", "status"}
	}
	t.table("HTTPROUTE RULES", headers, rows)
	var prob [][]string
	for _, l := range t.r.Listeners {
		where := "listener " + l.Name + " of " + l.Gateway.Namespace + "/" + l.Gateway.Name
		for _, p := range l.Problems {
			prob = append(prob, []string{"problem", where, p})
		}
		for _, w := range l.Warnings {
			prob = append(prob, []string{"warning", where, w})
		}
	}
	for _, r := range t.r.GatewayRoutes {
		for _, p := range r.Problems {
			prob = append(prob, []string{"problem", r.Name, p})
		}
		for _, w := range r.Warnings {
			prob = append(prob, []string{"warning", r.Name, w})
		}
	}
	t.table("PROBLEMS", []string{"kind", "where", "message"}, prob)
}

// gatewayVerdictLines lists the problems and warnings of the Gateway route of a URL under the
// verdict.
func (t *tableWriter) gatewayVerdictLines() {
	gc := t.r.Gateway
	if gc == nil || gc.Served == ServedByIngress || gc.Served == ServedByNone {
		return
	}
	for _, g := range gc.Resolutions {
		if !g.Takes() || g.Route == nil {
			continue
		}
		for _, p := range g.Route.Problems {
			t.line("", "  - problem: %s", p)
		}
		for _, w := range g.Route.Warnings {
			t.line("", "  - warning: %s", w)
		}
		return
	}
}

// gatewayJUnit adds the cases of the Gateway parts: the winning rule of a URL, the listeners and
// rules of httproute/NAME and gateway/NAME.
func (r *IngressCheckReport) gatewayJUnit(suite *JUnitSuite, class string) {
	add := func(name string, problems, warnings []string) {
		c := JUnitCase{Name: name, Classname: class, SystemOut: strings.Join(warnings, "\n")}
		if len(problems) > 0 {
			c.Failure = &JUnitFailure{Message: problems[0], Type: "broken", Text: strings.Join(problems, "\n")}
		}
		suite.Cases = append(suite.Cases, c)
	}
	if gc := r.Gateway; gc != nil {
		for _, g := range gc.Resolutions {
			if g.Takes() && g.Route != nil {
				add("gateway "+g.Gateway.Namespace+"/"+g.Gateway.Name+" "+g.Route.Name, g.Route.Problems, g.Route.Warnings)
			}
		}
	}
	for _, l := range r.Listeners {
		add("listener "+l.Name+" of gateway "+l.Gateway.Namespace+"/"+l.Gateway.Name, l.Problems, l.Warnings)
	}
	for _, rc := range r.GatewayRoutes {
		add(rc.Name, rc.Problems, rc.Warnings)
	}
}
