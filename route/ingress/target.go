package ingress

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/svc-doctor/svc-doctor/agent"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/svc-doctor/svc-doctor/report"
)

// Target is what to check: a URL, one Ingress, one HTTPRoute, one Gateway, or every Ingress.
type Target struct {
	// Raw is the argument as given ("" for every Ingress).
	Raw string
	// URL is set in URL mode.
	URL *report.RouteRequest
	// Ingress is the name in ing/NAME mode, HTTPRoute in httproute/NAME mode, Gateway in
	// gateway/NAME mode; Namespace their namespace ("" = the default namespace).
	Ingress, HTTPRoute, Gateway, Namespace string
}

// All reports whether the target is every Ingress.
func (t Target) All() bool {
	return t.URL == nil && t.Ingress == "" && t.HTTPRoute == "" && t.Gateway == ""
}

// Object names the object of an ing/NAME, httproute/NAME or gateway/NAME target ("" otherwise).
func (t Target) Object() string {
	switch {
	case t.Ingress != "":
		return "ing/" + t.Ingress
	case t.HTTPRoute != "":
		return "httproute/" + t.HTTPRoute
	case t.Gateway != "":
		return "gateway/" + t.Gateway
	}
	return ""
}

// ParseTarget reads the argument: a URL (http:// or https://; a bare host/path means http),
// ing/NAME (also ingress/NAME, ingresses/NAME, ingress.networking.k8s.io/NAME), httproute/NAME
// (httproutes/NAME, httproute.gateway.networking.k8s.io/NAME) or gateway/NAME (gateways/NAME,
// gtw/NAME, gateway.gateway.networking.k8s.io/NAME), each also with NS/NAME after the kind.
func ParseTarget(arg string) (Target, error) {
	arg = strings.TrimSpace(arg)
	t := Target{Raw: arg}
	if arg == "" {
		return t, nil
	}
	if kind, rest, ok := strings.Cut(arg, "/"); ok && objectKind(kind) != "" {
		what := objectKind(kind)
		name := rest
		if ns, n, ok := strings.Cut(rest, "/"); ok {
			t.Namespace, name = ns, n
		}
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 || strings.Contains(name, "/") {
			return t, fmt.Errorf("%q is not %s name: write %s/NAME", arg, map[string]string{"ing": "an Ingress", "httproute": "an HTTPRoute", "gateway": "a Gateway"}[what], what)
		}
		if t.Namespace != "" && len(validation.IsDNS1123Label(t.Namespace)) > 0 {
			return t, fmt.Errorf("%q: %q is not a namespace name", arg, t.Namespace)
		}
		switch what {
		case "ing":
			t.Ingress = name
		case "httproute":
			t.HTTPRoute = name
		default:
			t.Gateway = name
		}
		return t, nil
	}
	raw := arg
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return t, fmt.Errorf("%q is neither a URL nor ing/NAME: %v", arg, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return t, fmt.Errorf("%q: the scheme must be http or https", arg)
	}
	host := u.Hostname()
	if host == "" {
		return t, fmt.Errorf("%q has no host: write a URL such as https://shop.example.com/api", arg)
	}
	if u.User != nil {
		return t, fmt.Errorf("%q: leave credentials out of the URL", arg)
	}
	port := u.Port() // before u.Host changes: Port reads it
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return t, fmt.Errorf("%q: port %s is out of range (1-65535)", arg, port)
		}
	}
	// the path as sent: escaped as given (an encoded "/" is not a separator), then normalised
	given := u.EscapedPath()
	path, changes := NormalizePath(given)
	req := &report.RouteRequest{Scheme: u.Scheme, Host: NormalizeHost(host), Path: path, RawQuery: u.RawQuery}
	if n, err := strconv.Atoi(port); err == nil {
		req.Port = int32(n)
	}
	if len(changes) > 0 && given != "" {
		req.GivenPath, req.PathNormalised = given, changes
	}
	if net.ParseIP(req.Host) == nil && len(validation.IsDNS1123Subdomain(req.Host)) > 0 {
		return t, fmt.Errorf("%q: host %q is not a DNS name", arg, host)
	}
	u.Host = req.Host
	switch {
	case port != "":
		u.Host = net.JoinHostPort(req.Host, port)
	case strings.Contains(req.Host, ":"): // an IPv6 literal keeps its brackets
		u.Host = "[" + req.Host + "]"
	}
	u.Path, u.RawPath = unescapedPath(req), req.Path
	u.Fragment, u.RawFragment = "", ""
	req.URL = u.String()
	t.URL = req
	return t, nil
}

// unescapedPath is a request's Path with its percent-encodings decoded (what net/url keeps in
// URL.Path).
func unescapedPath(r *report.RouteRequest) string {
	p, err := url.PathUnescape(r.Path)
	if err != nil {
		return r.Path
	}
	return p
}

// objectKind maps a kind as kubectl accepts it to ing, httproute or gateway ("" for others).
func objectKind(k string) string {
	switch strings.ToLower(k) {
	case "ing", "ingress", "ingresses", "ingress.networking.k8s.io", "ingresses.networking.k8s.io":
		return "ing"
	case "httproute", "httproutes", "httproute.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io":
		return "httproute"
	case "gateway", "gateways", "gtw", "gateway.gateway.networking.k8s.io", "gateways.gateway.networking.k8s.io":
		return "gateway"
	}
	return ""
}

// ShapeRequest sets the method (-X) and headers (-H 'Name: value') of a URL's request. A Host
// header is refused (the URL's host is the Host header), as are names that are not HTTP tokens.
func ShapeRequest(r *report.RouteRequest, method string, headers []string) error {
	if method != "" {
		if !agent.ValidToken(method) {
			return fmt.Errorf("-X %q is not an HTTP method", method)
		}
		r.Method = strings.ToUpper(method)
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok || name == "":
			return fmt.Errorf("-H %q: write a header as 'Name: value'", h)
		case !agent.ValidToken(name):
			return fmt.Errorf("-H %q: %q is not a header name", h, name)
		case strings.EqualFold(name, "host"):
			return fmt.Errorf("-H %q: the Host header is the URL's host: write it in the URL", h)
		case strings.ContainsAny(value, "\r\n"):
			return fmt.Errorf("-H %q: a header value cannot span lines", h)
		}
		r.Headers = append(r.Headers, report.HTTPHeader{Name: name, Value: value})
	}
	return nil
}

// SafeMethod reports whether a method has no side effects by its definition (GET, HEAD, OPTIONS;
// "" is GET): --probe sends the others only when asked to.
func SafeMethod(m string) bool {
	switch strings.ToUpper(m) {
	case "", "GET", "HEAD", "OPTIONS":
		return true
	}
	return false
}
