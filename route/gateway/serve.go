package gateway

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Redirect is the answer of a RequestRedirect filter (HTTPRequestRedirectFilter).
type Redirect struct {
	StatusCode int
	Scheme     string
	Hostname   string
	// Port is the port written in Location; 0 when it is left out (80 for http, 443 for https).
	Port     int32
	Path     string
	Location string
}

// Rewrite is what a URLRewrite filter changes in the request the backend receives.
type Rewrite struct {
	// Hostname is the Host header sent ("" when unchanged).
	Hostname string
	// Path is the path sent ("" when unchanged).
	Path string
}

// serve works out what the winning rule does with the request: a redirect, or backends with
// their weights; invalid backends answer 500 (HTTPRouteRule.BackendRefs).
func (m *Model) serve(res *Resolution) {
	w := res.Winner
	rule := w.Route.HTTP.Spec.Rules[w.Rule]
	var match gwv1.HTTPRouteMatch
	if w.Match >= 0 {
		match = rule.Matches[w.Match]
	}
	for _, f := range rule.Filters {
		switch f.Type {
		case gwv1.HTTPRouteFilterRequestRedirect:
			if f.RequestRedirect != nil {
				res.Redirect = redirect(f.RequestRedirect, match, res)
				res.Status = res.Redirect.StatusCode
				res.Why = fmt.Sprintf("%s answers with a redirect to %s", w.Name(), res.Redirect.Location)
				return
			}
		case gwv1.HTTPRouteFilterURLRewrite:
			if f.URLRewrite != nil {
				res.Rewrite = rewrite(f.URLRewrite, match, res.Request.Path)
			}
		case gwv1.HTTPRouteFilterExtensionRef:
			res.Notes = append(res.Notes, "the rule has an ExtensionRef filter, which is implementation-specific: if the implementation cannot resolve it, the request gets an HTTP error instead")
		case gwv1.HTTPRouteFilterRequestMirror:
			res.Notes = append(res.Notes, "the rule mirrors requests (RequestMirror); the mirror's responses are ignored")
		}
	}
	m.shareBackends(res, rule)
}

// shareBackends fills in the winner's backends and the status when none can serve.
func (m *Model) shareBackends(res *Resolution, rule gwv1.HTTPRouteRule) {
	w := res.Winner
	var total int64
	for _, b := range w.Route.Backends {
		if b.Rule == w.Rule {
			total += int64(b.Weight)
		}
	}
	var invalid float64
	for _, b := range w.Route.Backends {
		if b.Rule != w.Rule {
			continue
		}
		s := &BackendShare{BackendCheck: b}
		if total > 0 {
			s.Share = float64(b.Weight) / float64(total)
		}
		if b.Invalid() {
			s.Status = 500
			invalid += s.Share
		}
		res.Backends = append(res.Backends, s)
	}
	switch {
	case len(res.Backends) == 0:
		res.Status = 500
		res.Why = fmt.Sprintf("%s matches but has no backendRefs: the request gets a 500", w.Name())
		if len(rule.Filters) > 0 {
			res.Notes = append(res.Notes, "a rule with filters but no backendRefs is implementation-specific; the specification requires a 500 only when there are no filters")
		}
	case total == 0:
		res.Status = 500
		res.Why = fmt.Sprintf("%s matches but every backendRef has weight 0: no request is forwarded (implementations answer 500 or 503)", w.Name())
	case invalid >= 1:
		res.Status = 500
		res.Why = fmt.Sprintf("%s matches but none of its backendRefs is valid: the request gets a 500", w.Name())
	case invalid > 0:
		res.Why = fmt.Sprintf("%s serves the request; %.0f%% of requests go to invalid backendRefs and get a 500", w.Name(), invalid*100)
	default:
		res.Why = fmt.Sprintf("%s serves the request", w.Name())
	}
}

// redirect computes the Location of a RequestRedirect filter (HTTPRequestRedirectFilter): the
// request's scheme, host and path unless the filter sets them; the port from the filter, else
// the scheme's well-known port when the filter sets a scheme, else the listener port; no port in
// Location for http on 80 and https on 443. The status defaults to 302.
func redirect(f *gwv1.HTTPRequestRedirectFilter, match gwv1.HTTPRouteMatch, res *Resolution) *Redirect {
	req := res.Request
	r := &Redirect{StatusCode: deref(f.StatusCode, 302), Scheme: deref(f.Scheme, req.Scheme),
		Hostname: string(deref(f.Hostname, gwv1.PreciseHostname(NormalizeHost(req.Host)))), Path: req.Path}
	switch {
	case f.Port != nil:
		r.Port = *f.Port
	case f.Scheme != nil && *f.Scheme == "https":
		r.Port = 443
	case f.Scheme != nil && *f.Scheme == "http":
		r.Port = 80
	default:
		r.Port = res.Listener.Listener.Port
	}
	if (r.Scheme == "http" && r.Port == 80) || (r.Scheme == "https" && r.Port == 443) {
		r.Port = 0
	}
	if f.Path != nil {
		r.Path = modifyPath(*f.Path, match, req.Path)
	}
	host := r.Hostname
	if r.Port != 0 {
		host = net.JoinHostPort(host, strconv.Itoa(int(r.Port)))
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	r.Location = r.Scheme + "://" + host + r.Path
	return r
}

func rewrite(f *gwv1.HTTPURLRewriteFilter, match gwv1.HTTPRouteMatch, path string) *Rewrite {
	rw := &Rewrite{Hostname: string(deref(f.Hostname, ""))}
	if f.Path != nil {
		rw.Path = modifyPath(*f.Path, match, path)
	}
	return rw
}

// modifyPath applies an HTTPPathModifier: ReplaceFullPath replaces the path, ReplacePrefixMatch
// replaces the matched PathPrefix, element by element, per the table of
// HTTPPathModifier.ReplacePrefixMatch (/foo/bar with prefix /foo and replacement /xyz is
// /xyz/bar; an empty result is /).
func modifyPath(mod gwv1.HTTPPathModifier, match gwv1.HTTPRouteMatch, path string) string {
	switch mod.Type {
	case gwv1.FullPathHTTPPathModifier:
		return deref(mod.ReplaceFullPath, path)
	case gwv1.PrefixMatchHTTPPathModifier:
		_, prefix := pathOf(match)
		prefix = strings.TrimSuffix(prefix, "/")
		rest := strings.TrimPrefix(path, prefix)
		out := strings.TrimSuffix(deref(mod.ReplacePrefixMatch, ""), "/") + rest
		if out == "" {
			return "/"
		}
		if !strings.HasPrefix(out, "/") {
			out = "/" + out
		}
		return out
	}
	return path
}
