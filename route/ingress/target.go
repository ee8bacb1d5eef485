package ingress

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/svc-doctor/svc-doctor/report"
)

// Target is what to check: a URL, one Ingress, or every Ingress.
type Target struct {
	// Raw is the argument as given ("" for every Ingress).
	Raw string
	// URL is set in URL mode.
	URL *report.RouteRequest
	// Ingress is the name in ing/NAME mode; Namespace its namespace ("" = the default namespace).
	Ingress, Namespace string
}

// All reports whether the target is every Ingress.
func (t Target) All() bool { return t.URL == nil && t.Ingress == "" }

// ParseTarget reads the argument: a URL (http:// or https://; a bare host/path means http), or
// ing/NAME (also ingress/NAME, ingresses/NAME, ingress.networking.k8s.io/NAME, or NS/NAME after
// the kind).
func ParseTarget(arg string) (Target, error) {
	arg = strings.TrimSpace(arg)
	t := Target{Raw: arg}
	if arg == "" {
		return t, nil
	}
	if kind, rest, ok := strings.Cut(arg, "/"); ok && isIngressKind(kind) {
		name := rest
		if ns, n, ok := strings.Cut(rest, "/"); ok {
			t.Namespace, name = ns, n
		}
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 || strings.Contains(name, "/") {
			return t, fmt.Errorf("%q is not an Ingress name: write ing/NAME", arg)
		}
		if t.Namespace != "" && len(validation.IsDNS1123Label(t.Namespace)) > 0 {
			return t, fmt.Errorf("%q: %q is not a namespace name", arg, t.Namespace)
		}
		t.Ingress = name
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

func isIngressKind(k string) bool {
	switch strings.ToLower(k) {
	case "ing", "ingress", "ingresses", "ingress.networking.k8s.io", "ingresses.networking.k8s.io":
		return true
	}
	return false
}
