package ingress

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// ingress-nginx (spec.controller k8s.io/ingress-nginx) writes one nginx server block per rule host
// of its class and one location per path, and nginx picks the server by host before it looks at
// any path. What svc-doctor models of it, and where each point comes from:
//   - Regular expressions (user guide, "Ingress Path Matching"): when an Ingress of a host has the
//     annotation nginx.ingress.kubernetes.io/use-regex "true", or rewrite-target, every path of that
//     host, on every Ingress, becomes the case-insensitive regular expression location ~* "^PATH":
//     a prefix match, also for Exact and Prefix paths. The locations are ordered by descending path
//     length and nginx takes the first that matches. Paths are compiled with Go's regexp (RE2);
//     nginx uses PCRE, so a path RE2 rejects is reported and left out of the simulation.
//   - Without regular expressions, Exact is nginx's "= PATH" and Prefix follows the specification
//     (ingress-nginx writes "= /foo" and the prefix location "/foo/" for Prefix /foo);
//     ImplementationSpecific is an nginx prefix location, which compares characters (/foo matches
//     /foobar): svc-doctor chose to model it so, as that is the location ingress-nginx writes.
//   - Trailing slash (nginx documentation of the location directive, which ingress-nginx's
//     controller quotes where it builds Prefix locations): a prefix location ending with a slash
//     and served by proxy_pass answers a request for the same path without the slash with a 301
//     redirect to the path with it, unless a location for that exact path exists. So Prefix /foo/
//     answers /foo with a 301 to /foo/, where the specification serves /foo directly. Regular
//     expression locations have no such redirect.
//   - Default backend (user guide, "Default backend"): a request no location of its server matches
//     goes to the controller's default backend, which answers 404. The root location of a host's
//     server takes instead the spec.defaultBackend of the Ingress that declared the host first; the
//     catch-all server (hosts no rule names) takes the spec.defaultBackend of an Ingress of the
//     class (the last one read, when several set one).
//   - A route whose Service has no ready endpoint answers 503 (backend.go says so for this profile).
//
// Ingresses are read oldest first (ties: by namespace/name, descending), as ingress-nginx's store
// lists them; of two paths with the same path and pathType on one host, the first read wins.

// IngressNginxController is the spec.controller of ingress-nginx's IngressClass.
const IngressNginxController = "k8s.io/ingress-nginx"

const (
	nginxUseRegex      = "nginx.ingress.kubernetes.io/use-regex"
	nginxRewriteTarget = "nginx.ingress.kubernetes.io/rewrite-target"
)

// nginxLocation is a route as an nginx location of its host's server.
type nginxLocation struct {
	route Route
	rx    *regexp.Regexp // regular-expression mode: (?i)^PATH
	err   error          // regular-expression mode: the path is no RE2 expression
}

// nginxServer is the server block of one rule host ("" for the catch-all server) of a class.
type nginxServer struct {
	host string
	// regexBy names what turns on regular expressions for the host ("" when nothing does).
	regexBy string
	// locations are in ingress-nginx's order (by descending path length in regex mode).
	locations []nginxLocation
	// def is the Ingress whose spec.defaultBackend the root location uses (nil: the controller's
	// default backend, 404); defWhy says why that one.
	def    *snapshot.Ingress
	defWhy string
}

// nginxPick is what ingress-nginx does with a request on a server: the location that serves it
// (nil: the root location's default backend), and redirect, the path a 301 sends the client to.
type nginxPick struct {
	loc      *nginxLocation
	redirect string
}

// nginxRegexBy says which annotation of ing turns on regular expressions ("" when none).
func nginxRegexBy(ing *snapshot.Ingress) string {
	if b, err := strconv.ParseBool(ing.Annotations[nginxUseRegex]); err == nil && b {
		return fmt.Sprintf("ingress %s/%s sets %s: %q", ing.Namespace, ing.Name, nginxUseRegex, ing.Annotations[nginxUseRegex])
	}
	if v := ing.Annotations[nginxRewriteTarget]; v != "" {
		return fmt.Sprintf("ingress %s/%s sets %s, which implies use-regex", ing.Namespace, ing.Name, nginxRewriteTarget)
	}
	return ""
}

func (c *checker) isIngressNginx(cls string) bool {
	ic := c.ingressClass(cls)
	return ic != nil && ic.Spec.Controller == IngressNginxController
}

// nginxIngressIndex indexes the Ingresses of a class as ingress-nginx reads them: in order, and
// by the normalized host of their rules.
type nginxIngressIndex struct {
	ings   []*snapshot.Ingress
	byHost map[string][]*snapshot.Ingress // each Ingress once per host, in order
}

// nginxClassOf builds (once) the index of cls: Ingresses oldest first, ties by namespace/name
// descending, as ingress-nginx's store lists them.
func (c *checker) nginxClassOf(cls string) *nginxIngressIndex {
	if nc, ok := c.nginxClasses[cls]; ok {
		return nc
	}
	nc := &nginxIngressIndex{byHost: map[string][]*snapshot.Ingress{}}
	for _, ing := range c.snap.Ingresses {
		if c.classOf(ing) == cls {
			nc.ings = append(nc.ings, ing)
		}
	}
	sort.SliceStable(nc.ings, func(i, j int) bool {
		a, b := nc.ings[i], nc.ings[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Namespace+"/"+a.Name > b.Namespace+"/"+b.Name
	})
	for _, ing := range nc.ings {
		seen := map[string]bool{}
		for _, r := range ing.Spec.Rules {
			if h := NormalizeHost(r.Host); !seen[h] {
				seen[h] = true
				nc.byHost[h] = append(nc.byHost[h], ing)
			}
		}
	}
	if c.nginxClasses == nil {
		c.nginxClasses, c.nginxServers = map[string]*nginxIngressIndex{}, map[string]*nginxServer{}
	}
	c.nginxClasses[cls] = nc
	return nc
}

// nginxServerFor returns the server that takes a request for host: the one of that exact host,
// else the wildcard one covering its first label, else the catch-all server.
func (c *checker) nginxServerFor(cls, host string) *nginxServer {
	host = NormalizeHost(host)
	byHost := c.nginxClassOf(cls).byHost
	name := ""
	switch i := strings.IndexByte(host, '.'); {
	case host != "" && len(byHost[host]) > 0 && !strings.HasPrefix(host, "*."):
		name = host
	case i > 0 && len(byHost["*"+host[i:]]) > 0:
		name = "*" + host[i:]
	}
	return c.nginxServerNamed(cls, name)
}

// nginxServerNamed builds (once) the server of the rule host name of cls.
func (c *checker) nginxServerNamed(cls, name string) *nginxServer {
	nc := c.nginxClassOf(cls)
	key := cls + "\x00" + name
	if s, ok := c.nginxServers[key]; ok {
		return s
	}
	s := &nginxServer{host: name}
	if name == "" {
		for _, ing := range nc.ings {
			if ing.Spec.DefaultBackend != nil && ing.Spec.DefaultBackend.Service != nil {
				s.def, s.defWhy = ing, "the catch-all server's root location takes the spec.defaultBackend of the last Ingress of the class ingress-nginx reads"
			}
		}
	}
	seen := map[string]bool{}
	for i, ing := range nc.byHost[name] {
		if i == 0 && name != "" && ing.Spec.DefaultBackend != nil && ing.Spec.DefaultBackend.Service != nil {
			s.def, s.defWhy = ing, "the root location of host "+name+"'s server takes the spec.defaultBackend of the first Ingress that declares the host"
		}
		if s.regexBy == "" {
			s.regexBy = nginxRegexBy(ing)
		}
		for _, r := range Routes(ing.Ingress, cls) {
			key := r.Path + "\x00" + string(r.PathType)
			if r.Host != name || r.Backend.Service == nil || seen[key] {
				continue // other hosts; paths without a Service backend; a path already read
			}
			seen[key] = true
			s.locations = append(s.locations, nginxLocation{route: r})
		}
	}
	if s.regexBy != "" {
		for i := range s.locations {
			l := &s.locations[i]
			l.rx, l.err = regexp.Compile("(?i)^" + l.route.Path)
		}
		// ingress-nginx sorts by path, descending, then (stably) by path length, descending
		sort.SliceStable(s.locations, func(i, j int) bool { return s.locations[i].route.Path > s.locations[j].route.Path })
		sort.SliceStable(s.locations, func(i, j int) bool { return len(s.locations[i].route.Path) > len(s.locations[j].route.Path) })
	}
	c.nginxServers[key] = s
	return s
}

// pick finds the location nginx serves path with.
func (s *nginxServer) pick(path string) nginxPick {
	if path == "" {
		path = "/"
	}
	if s.regexBy != "" {
		for i, l := range s.locations {
			if l.err == nil && l.rx.MatchString(path) {
				return nginxPick{loc: &s.locations[i]}
			}
		}
		return nginxPick{}
	}
	// nginx: an exact location, else a prefix location of exactly the path, else the redirect of
	// a prefix location that is the path and a slash, else the longest prefix location
	var best *nginxLocation
	redirect := ""
	for i, l := range s.locations {
		p := l.route.Path
		switch l.route.PathType {
		case networkingv1.PathTypeExact:
			if p == path {
				return nginxPick{loc: &s.locations[i]}
			}
			continue
		case networkingv1.PathTypePrefix:
			if p != "/" && !strings.HasSuffix(p, "/") {
				if p == path {
					return nginxPick{loc: &s.locations[i]} // its "= /foo"
				}
				p += "/"
			}
		}
		switch {
		case p == path:
			return nginxPick{loc: &s.locations[i]}
		case p == path+"/" && strings.HasSuffix(p, "/") && redirect == "":
			redirect = p
			best = &s.locations[i]
		case redirect == "" && strings.HasPrefix(path, p) && (best == nil || len(p) > len(best.prefix())):
			best = &s.locations[i]
		}
	}
	return nginxPick{loc: best, redirect: redirect}
}

// prefix is the nginx prefix location of a Prefix or ImplementationSpecific route.
func (l *nginxLocation) prefix() string {
	p := l.route.Path
	if l.route.PathType == networkingv1.PathTypePrefix && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// text is the nginx location of l.
func (l *nginxLocation) text(regex bool) string {
	p := l.route.Path
	switch {
	case regex:
		return `~* "^` + p + `"`
	case l.route.PathType == networkingv1.PathTypeExact:
		return "= " + p
	case l.route.PathType == networkingv1.PathTypePrefix && p != "/" && !strings.HasSuffix(p, "/"):
		return "= " + p + " and " + p + "/"
	}
	return p
}

func (s *nginxServer) name() string {
	if s.host == "" {
		return "the catch-all server (rules without host)"
	}
	return "the server of host " + s.host
}

// nginxRouteNotes are the warnings on how ingress-nginx matches route r.
func (c *checker) nginxRouteNotes(r Route) []string {
	s := c.nginxServerNamed(r.Class, r.Host)
	var l *nginxLocation
	for i := range s.locations {
		if s.locations[i].route.Same(r) {
			l = &s.locations[i]
		}
	}
	switch {
	case l == nil:
		return nil
	case l.err != nil:
		return []string{fmt.Sprintf("ingress %s/%s path %s is not a regular expression Go's RE2 accepts (%v): nginx (PCRE) may accept it, but svc-doctor cannot simulate it and leaves it out",
			r.Namespace, r.Ingress, r.Path, l.err)}
	case s.regexBy != "":
		return []string{fmt.Sprintf("ingress-nginx matches %s %s as the case-insensitive regular expression %s, a prefix, tried longest path first: %s, which turns on regular expressions for every path of %s",
			r.PathType, r.Path, l.text(true), s.regexBy, s.name())}
	case r.Path != "/" && strings.HasSuffix(r.Path, "/"):
		return []string{nginxRedirectNote(strings.TrimSuffix(r.Path, "/"), r.Path)}
	case r.PathType == networkingv1.PathTypeImplementationSpecific:
		return []string{fmt.Sprintf("pathType ImplementationSpecific: ingress-nginx makes %s the nginx prefix location %s, which compares characters, not path elements (without use-regex, it is no regular expression)", r.Path, r.Path)}
	}
	return nil
}

// nginxRedirectNote says that ingress-nginx redirects path to location, a prefix location ending
// with a slash.
func nginxRedirectNote(path, location string) string {
	return fmt.Sprintf("ingress-nginx answers %s with a 301 redirect to %s: nginx redirects a request for a prefix location's path without its trailing slash", path, location)
}

// nginxURL checks a URL of a class that ingress-nginx serves: the route the specification picks
// (when none, the one ingress-nginx picks) and where ingress-nginx really sends the request.
func (c *checker) nginxURL(req *report.RouteRequest, cls string, inClass []Route, cands []Candidate) {
	mode := urlTLSMode(req.Scheme == "https")
	s := c.nginxServerFor(cls, req.Host)
	p := s.pick(req.Path)
	var rc report.RouteCheck
	var winner *Route
	switch {
	case len(cands) > 0:
		winner = &cands[0].Route
		rc = c.routeCheck(*winner, req.Host, mode)
	case p.loc != nil:
		winner = &p.loc.route
		c.show("Ingress", winner.Namespace, winner.Ingress)
		rc = c.routeCheck(*winner, req.Host, mode)
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("no rule matches %s%s by the Ingress specification, but ingress-nginx's location %s of %s does", req.Host, req.Path, p.loc.text(s.regexBy != ""), s.name()))
	case s.def != nil:
		rc = c.defaultCheck(s.def, req.Host, mode)
		rc.Warnings = append(rc.Warnings, fmt.Sprintf("no rule matches %s%s: ingress-nginx sends it to the default backend of ingress %s/%s (%s)", req.Host, req.Path, s.def.Namespace, s.def.Name, s.defWhy))
	default:
		rc = c.noRuleCheck(cls, req, inClass)
	}
	c.nginxView(&rc, s, p, winner, req)
	// paths of the server RE2 rejects: the simulation left them out
	for _, l := range s.locations {
		if l.err != nil {
			for _, w := range c.nginxRouteNotes(l.route) {
				if !contains(rc.Warnings, w) {
					rc.Warnings = append(rc.Warnings, w)
				}
			}
		}
	}
	c.rep.Routes = append(c.rep.Routes, rc)
}

// nginxView records on rc where ingress-nginx sends the request when it is not winner.
func (c *checker) nginxView(rc *report.RouteCheck, s *nginxServer, p nginxPick, winner *Route, req *report.RouteRequest) {
	switch {
	case p.redirect != "":
		r := p.loc.route
		rc.ControllerSet, rc.ControllerService = true, ""
		rc.Redirect = &report.GatewayRedirect{StatusCode: 301, Location: p.redirect}
		rc.ControllerRoute = fmt.Sprintf("a 301 redirect to %s (nginx location %s of ingress %s/%s %s)", p.redirect, p.redirect, r.Namespace, r.Ingress, r.Field())
		if winner == nil || !r.Same(*winner) { // else routeCheck's note says it
			rc.Warnings = append(rc.Warnings, nginxRedirectNote(req.Path, p.redirect)+fmt.Sprintf(", where ingress %s/%s %s serves it", r.Namespace, r.Ingress, r.Field()))
		}
		return
	case p.loc != nil && winner != nil && p.loc.route.Same(*winner):
		return
	case p.loc == nil && winner == nil:
		return // rc is already the default backend ingress-nginx uses
	}
	why := c.nginxWhy(s, p, winner, req)
	rc.ControllerSet = true
	var alt report.RouteCheck
	switch {
	case p.loc != nil:
		alt = c.routeCheck(p.loc.route, req.Host, tlsHTTP)
		rc.ControllerRoute = fmt.Sprintf("ingress %s/%s %s -> %s", p.loc.route.Namespace, p.loc.route.Ingress, p.loc.route.Field(), backendSummary(alt.Backend))
	case s.def != nil:
		alt = c.defaultCheck(s.def, req.Host, tlsHTTP)
		rc.ControllerRoute = fmt.Sprintf("ingress %s/%s %s -> %s", s.def.Namespace, s.def.Name, alt.Field, backendSummary(alt.Backend))
		why += "; " + s.defWhy
	default:
		rc.ControllerRoute = "none (ingress-nginx's default backend answers 404)"
		rc.Problems = append(rc.Problems, "ingress-nginx answers 404: "+why)
		return
	}
	rc.ControllerService = alt.Backend.Service
	rc.Warnings = append(rc.Warnings, fmt.Sprintf("ingress-nginx sends this request to %s: %s", rc.ControllerRoute, why))
	if alt.BackendBroken {
		for _, pr := range routingProblems(alt) {
			rc.Problems = append(rc.Problems, "the route ingress-nginx uses is broken: "+pr)
		}
	}
}

// nginxWhy explains why ingress-nginx does not serve the request with winner (nil: no rule of
// the specification matches).
func (c *checker) nginxWhy(s *nginxServer, p nginxPick, winner *Route, req *report.RouteRequest) string {
	regex := s.regexBy != ""
	switch {
	case winner != nil && winner.Host != s.host:
		return fmt.Sprintf("ingress-nginx chooses the server block by host before any path: %s goes to %s, which does not hold the rule for %s", req.Host, s.name(), describeHost(winner.Host))
	case regex && p.loc != nil:
		return fmt.Sprintf("%s: every path of %s is a case-insensitive regular expression, tried longest path first, and %s matches first", s.regexBy, s.name(), p.loc.text(true))
	case regex:
		return fmt.Sprintf("%s: no regular expression location of %s matches %s (paths RE2 rejects are left out)", s.regexBy, s.name(), req.Path)
	case p.loc != nil:
		return fmt.Sprintf("nginx takes the longest matching prefix location, %s, which compares characters, not path elements", p.loc.text(false))
	}
	return fmt.Sprintf("no location of %s matches %s", s.name(), req.Path)
}
