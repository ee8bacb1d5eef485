package gateway

import (
	"fmt"
	"sort"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Resolution is how one Gateway routes a request.
type Resolution struct {
	Request Request
	// Gateway is nil when no Gateway has a listener for the request.
	Gateway *GatewayState
	// Listener is the listener the request enters (nil when none does).
	Listener *ListenerState
	// Status is the HTTP status the specification implies when the request is not forwarded to a
	// backend: 404 (no listener or route matches), 421 (misdirected), 500 (invalid backends), a
	// redirect status; 0 when it is forwarded, or when no HTTP exchange happens (no listener).
	Status int
	// Why explains the outcome in a sentence.
	Why string
	// Winner is the rule that serves the request (nil when none matches).
	Winner *Candidate
	// Backends are the winner's backendRefs with their share of the requests.
	Backends []*BackendShare
	// Redirect is set when the winner answers with a redirect (RequestRedirect filter).
	Redirect *Redirect
	// Rewrite is set when the winner rewrites the request (URLRewrite filter).
	Rewrite *Rewrite
	// Candidates are the rules that matched, the winner first, then the rules that almost
	// matched (near misses), each with why it lost or did not match.
	Candidates []*Candidate
	// Notes are facts that qualify the outcome (implementation-specific behaviour, filters not
	// modelled).
	Notes []string
}

// Forwarded reports whether the request reaches a backend Service.
func (r *Resolution) Forwarded() bool { return r.Winner != nil && r.Status == 0 }

// BackendShare is a backendRef of the winning rule with its share of the requests.
type BackendShare struct {
	*BackendCheck
	// Share is the fraction of the requests sent to it: weight / sum of the rule's weights.
	Share float64
	// Status is 500 when requests for it fail because the reference is invalid, 0 otherwise.
	Status int
}

// Candidate is one match of one HTTPRoute rule, considered for a request.
type Candidate struct {
	Route *RouteState
	// Rule and Match index spec.rules[Rule].matches[Match]; Match is -1 for a rule without
	// matches (which matches every path).
	Rule, Match int
	// Field is the match's field path (spec.rules[i].matches[j], or spec.rules[i]).
	Field string
	// Listener is the listener the route is attached to ("" when it is not attached).
	Listener string
	// Hostname is the route hostname that matches the request host ("" for any host).
	Hostname string
	// Description renders the match: PathPrefix /api, method GET, header version=v2.
	Description     string
	Matched, Winner bool
	// Why says why it lost to the winner, or why it does not match ("" for the winner).
	Why string

	key  matchKey
	host hostnameRank
}

// Name names the rule as `httproute NS/NAME rule[i]`.
func (c *Candidate) Name() string {
	return fmt.Sprintf("%s %s/%s rule[%d]", strings.ToLower(c.Route.Ref.Kind), c.Route.Ref.Namespace, c.Route.Ref.Name, c.Rule)
}

// Resolve routes a request through every Gateway that has a listener for it (or through the
// Gateway the request names), one Resolution per Gateway, in input order. When no Gateway has a
// listener for the request's port and scheme, it returns one Resolution without Gateway that
// says so.
func (m *Model) Resolve(req Request) []*Resolution {
	req = req.normalize()
	var out []*Resolution
	for _, g := range m.gateStates {
		if req.GatewayName != "" && (g.Gateway.Name != req.GatewayName || g.Gateway.Namespace != req.GatewayNamespace) {
			continue
		}
		if req.GatewayName == "" && len(portListeners(g, req)) == 0 {
			continue
		}
		out = append(out, m.resolveOn(g, req))
	}
	if len(out) == 0 {
		why := fmt.Sprintf("no Gateway has an %s listener on port %d", protocolFor(req.Scheme), req.Port)
		if req.GatewayName != "" {
			why = fmt.Sprintf("Gateway %s/%s %s", req.GatewayNamespace, req.GatewayName, missingText(m.complete(KindGateway, req.GatewayNamespace)))
		}
		out = append(out, &Resolution{Request: req, Why: why})
	}
	return out
}

func protocolFor(scheme string) gwv1.ProtocolType {
	if scheme == "https" {
		return gwv1.HTTPSProtocolType
	}
	return gwv1.HTTPProtocolType
}

// portListeners returns the listeners of g on the request's port with the protocol of its scheme.
func portListeners(g *GatewayState, req Request) []*ListenerState {
	var out []*ListenerState
	for _, l := range g.Listeners {
		if l.Listener.Port == req.Port && l.Listener.Protocol == protocolFor(req.Scheme) {
			out = append(out, l)
		}
	}
	return out
}

// resolveOn routes a request on one Gateway: the listener, then the rule, then the backends.
func (m *Model) resolveOn(g *GatewayState, req Request) *Resolution {
	res := &Resolution{Request: req, Gateway: g}
	l := m.selectListener(res)
	if l == nil {
		return res
	}
	res.Listener = l
	res.Notes = append(res.Notes, entryNotes(g, l, req)...)
	host := NormalizeHost(req.Host)
	var matched []*Candidate
	seen := map[*RouteState]bool{}
	for _, a := range l.Attached {
		r := a.Parent.Route
		if r.HTTP == nil || seen[r] {
			continue
		}
		seen[r] = true
		hn, ok := bestHostname(a.Hostnames, host)
		if !ok {
			res.Candidates = append(res.Candidates, nearMisses(r, &req, l.Name(), hostMiss(a.Hostnames, host)+", the route's hostnames on this listener")...)
			continue
		}
		cs := ruleCandidates(r, &req, l.Name(), hn)
		for _, c := range cs {
			if c.Matched {
				matched = append(matched, c)
			} else {
				res.Candidates = append(res.Candidates, c)
			}
		}
	}
	res.Candidates = append(rankCandidates(matched), res.Candidates...)
	for _, c := range matched {
		if c.key.pathRank == rankRegex {
			res.Notes = append(res.Notes, "a RegularExpression path matches: its precedence and dialect are implementation-specific (ranked here below every PathPrefix, matched as RE2 over the whole path)")
			break
		}
	}
	res.Candidates = append(res.Candidates, m.detachedMisses(g, l, &req, host)...)
	if len(matched) == 0 {
		res.Status = 404
		res.Why = fmt.Sprintf("no rule of the routes attached to %s matches the request (HTTPRouteRule.Matches: \"a HTTP 404 status code MUST be returned\")", l)
		return res
	}
	res.Winner = matched[0]
	m.serve(res)
	return res
}

// entryNotes are what the specs say about the Gateway and listener before any route applies: no
// controller for a missing GatewayClass, a certificate that clients refuse.
func entryNotes(g *GatewayState, l *ListenerState, req Request) []string {
	var notes []string
	if g.Class == nil {
		notes = append(notes, fmt.Sprintf("GatewayClass %s is not known: if it does not exist, no controller programs %s and nothing answers", g.Gateway.Spec.GatewayClassName, g.Ref))
	}
	if req.Scheme != "https" {
		return notes
	}
	for _, p := range l.Problems {
		switch p.Check {
		case CheckCertificateRef, CheckCertificateNotAllowed, CheckCertificateExpired, CheckCertificateHost:
			if p.Level == Broken {
				notes = append(notes, "the TLS handshake fails before any route applies: "+p.Message)
			}
		}
	}
	return notes
}

// selectListener picks the listener the request enters (GatewaySpec.Listeners, "Listeners that
// are distinct only by Hostname": exact hostnames first, then the most specific wildcard, then no
// hostname). For https the server name (SNI) selects the listener, and a Host header that belongs
// to another listener gets a 421. It sets Status and Why when no listener takes the request.
func (m *Model) selectListener(res *Resolution) *ListenerState {
	req, g := res.Request, res.Gateway
	cands := portListeners(g, req)
	if len(cands) == 0 {
		res.Why = fmt.Sprintf("%s has no %s listener on port %d", g.Ref, protocolFor(req.Scheme), req.Port)
		return nil
	}
	name := NormalizeHost(req.Host)
	if req.Scheme == "https" {
		name = req.SNI
	}
	l, conflicted := bestListener(cands, name)
	switch {
	case l == nil && conflicted != nil:
		res.Why = fmt.Sprintf("%s would take the request but is Conflicted (%s) and takes no traffic", conflicted, conflicted.Conflicted)
		return nil
	case l == nil && req.Scheme == "https":
		res.Why = fmt.Sprintf("no HTTPS listener of %s on port %d matches the server name %s: the TLS handshake fails", g.Ref, req.Port, name)
		return nil
	case l == nil:
		res.Status = 404
		var hs []string
		for _, c := range cands {
			hs = append(hs, c.Hostname())
		}
		res.Why = fmt.Sprintf("no listener of %s on port %d matches: %s, the listener hostnames (listener isolation: such requests MUST get a 404)", g.Ref, req.Port, hostMiss(hs, name))
		return nil
	}
	if req.Scheme == "https" {
		host := NormalizeHost(req.Host)
		if byHost, _ := bestListener(cands, host); byHost != nil && byHost != l {
			res.Status, res.Listener = 421, l
			res.Why = fmt.Sprintf("the server name %s selects %s, but host %s belongs to %s: the Gateway SHOULD answer 421 Misdirected Request", name, l, host, byHost)
			return nil
		}
	}
	return l
}

// bestListener returns the most specific listener whose hostname matches name, skipping
// Conflicted listeners (returned apart when one of them would have been chosen).
func bestListener(cands []*ListenerState, name string) (best, conflicted *ListenerState) {
	rank := -1
	for _, l := range cands {
		if !HostnameMatches(l.Hostname(), name) {
			continue
		}
		if s := listenerSpecificity(l.Hostname()); s > rank {
			rank, best = s, l
		}
	}
	if best != nil && best.Conflicted != "" {
		return nil, best
	}
	return best, nil
}

// bestHostname returns the route hostname (on a listener) that matches host best: an exact one,
// else the longest wildcard, else "" (any host).
func bestHostname(hostnames []string, host string) (string, bool) {
	best, found := "", false
	for _, h := range hostnames {
		if !HostnameMatches(h, host) {
			continue
		}
		if !found || rankHostname(best).less(rankHostname(h)) {
			best, found = h, true
		}
	}
	return best, found
}

func hostsText(hs []string) string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hostnameDisplay(h)
	}
	return strings.Join(out, ", ")
}

// ruleCandidates evaluates every match of every rule of an HTTPRoute against the request.
func ruleCandidates(r *RouteState, req *Request, listener, hostname string) []*Candidate {
	var out []*Candidate
	for i, rule := range r.HTTP.Spec.Rules {
		for j, mt := range ruleMatches(rule) {
			c := &Candidate{Route: r, Rule: i, Match: j, Field: fmt.Sprintf("spec.rules[%d].matches[%d]", i, j),
				Listener: listener, Hostname: hostname, Description: describeMatch(mt), key: keyOf(mt), host: rankHostname(hostname)}
			if len(rule.Matches) == 0 {
				c.Match, c.Field = -1, fmt.Sprintf("spec.rules[%d]", i)
			}
			c.Matched, c.Why = matchRequest(mt, req)
			out = append(out, c)
		}
	}
	return out
}

// nearMisses lists the matches of a route that match the request but for a reason outside the
// match itself (why): the host, or the listener it is attached to.
func nearMisses(r *RouteState, req *Request, listener, why string) []*Candidate {
	var out []*Candidate
	for _, c := range ruleCandidates(r, req, listener, "") {
		if c.Matched {
			c.Matched, c.Why = false, why
			out = append(out, c)
		}
	}
	return out
}

// detachedMisses lists the HTTPRoutes that name this Gateway and would match the request, but
// are not attached to the listener the request entered.
func (m *Model) detachedMisses(g *GatewayState, l *ListenerState, req *Request, host string) []*Candidate {
	var out []*Candidate
	for _, r := range m.routes {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.Parents {
			if p.Gateway != g || onListener(p, l) {
				continue
			}
			why := ""
			for _, la := range p.Listeners {
				switch {
				case la.Listener == l:
					why = fmt.Sprintf("not attached to %s: %s", l, la.Why)
				case la.Accepted && why == "":
					why = fmt.Sprintf("attached to listener %s, not %s", la.Listener.Name(), l.Name())
				}
			}
			if why == "" {
				why = "not attached to " + l.String() + ": " + p.Message
			}
			if _, ok := bestHostname(effectiveHostnames(l.Hostname(), r.Hostnames()), host); ok {
				out = append(out, nearMisses(r, req, "", why)...)
			}
			break
		}
	}
	return out
}

func onListener(p *ParentAttachment, l *ListenerState) bool {
	for _, la := range p.Listeners {
		if la.Listener == l && la.Accepted {
			return true
		}
	}
	return false
}

// rankCandidates sorts matched candidates by precedence and marks the winner; every other
// candidate says what decided against it.
func rankCandidates(cs []*Candidate) []*Candidate {
	sort.SliceStable(cs, func(i, j int) bool { return precedes(cs[i], cs[j]) })
	if len(cs) == 0 {
		return cs
	}
	w := cs[0]
	w.Winner = true
	for _, c := range cs[1:] {
		c.Why = lostBecause(w, c)
	}
	return cs
}

// precedes orders two matched candidates (HTTPRouteSpec.Hostnames, HTTPRouteRule.Matches):
// hostname, match precedence, the oldest route, namespace/name, then the first rule.
func precedes(a, b *Candidate) bool {
	if a.host != b.host {
		return b.host.less(a.host)
	}
	if d, _ := a.key.compare(b.key); d != 0 {
		return d > 0
	}
	if ta, tb := a.Route.Created, b.Route.Created; !ta.Equal(tb) && !ta.IsZero() && !tb.IsZero() {
		return ta.Before(tb)
	}
	if na, nb := a.Route.Ref.Namespace+"/"+a.Route.Ref.Name, b.Route.Ref.Namespace+"/"+b.Route.Ref.Name; na != nb {
		return na < nb
	}
	if a.Rule != b.Rule {
		return a.Rule < b.Rule
	}
	return a.Match < b.Match
}

// lostBecause says why c loses to the winner w.
func lostBecause(w, c *Candidate) string {
	win := w.Name()
	switch {
	case w.host != c.host:
		return fmt.Sprintf("%s wins: its hostname %s is more specific than %s", win, hostnameDisplay(w.Hostname), hostnameDisplay(c.Hostname))
	}
	if d, crit := w.key.compare(c.key); d != 0 {
		return fmt.Sprintf("%s wins by %s (%s over %s)", win, crit, w.Description, c.Description)
	}
	switch {
	case w.Route == c.Route && w.Rule == c.Rule:
		return "another match of the same rule matches too"
	case w.Route == c.Route:
		return fmt.Sprintf("an equal match in an earlier rule of the same route wins (rule[%d])", w.Rule)
	case !w.Route.Created.Equal(c.Route.Created) && !w.Route.Created.IsZero() && !c.Route.Created.IsZero():
		return fmt.Sprintf("%s wins the tie: it is the older route", win)
	case w.Route.Created.IsZero() || c.Route.Created.IsZero():
		return fmt.Sprintf("%s wins the tie by namespace/name order (without creationTimestamps; on a cluster the older route wins)", win)
	}
	return fmt.Sprintf("%s wins the tie by namespace/name order", win)
}
