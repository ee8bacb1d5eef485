package ingresscheck

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/svc-doctor/svc-doctor/internal/ingressroute"
)

// Target is what to check: a URL, one Ingress, or every Ingress.
type Target struct {
	// Raw is the argument as given ("" for every Ingress).
	Raw string
	// URL is set in URL mode.
	URL *Request
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
	path := u.Path // decoded: controllers match literal paths on the decoded path
	if path == "" {
		path = "/"
	}
	req := &Request{Scheme: u.Scheme, Host: ingressroute.NormalizeHost(host), Path: path, RawQuery: u.RawQuery}
	if net.ParseIP(req.Host) == nil && len(validation.IsDNS1123Subdomain(req.Host)) > 0 {
		return t, fmt.Errorf("%q: host %q is not a DNS name", arg, host)
	}
	u.Host = req.Host
	if p := u.Port(); p != "" {
		u.Host = net.JoinHostPort(req.Host, p)
	}
	u.Fragment = ""
	req.URL = u.String()
	t.URL = req
	return t, nil
}

func isIngressKind(k string) bool {
	switch strings.ToLower(k) {
	case "ing", "ingress", "ingresses", "ingress.networking.k8s.io", "ingresses.networking.k8s.io":
		return true
	}
	return false
}
