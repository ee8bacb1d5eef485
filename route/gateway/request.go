package gateway

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Request is an HTTP request as it reaches a Gateway.
type Request struct {
	// GatewayNamespace and GatewayName name the Gateway the request is sent to (its address);
	// empty: every Gateway with a listener for the request's port and scheme.
	GatewayNamespace, GatewayName string
	// Scheme is http or https ("" is http).
	Scheme string
	// Port is the port the request reaches the Gateway on; 0 is 80 for http and 443 for https.
	Port int32
	// Host is the Host header (a port in it is ignored for matching).
	Host string
	// SNI is the TLS server name of an https request; "" is the Host without its port.
	SNI string
	// Method is the HTTP method ("" is GET).
	Method string
	// Path is the request path without the query, as the Gateway sees it (normalise it first).
	Path string
	// Headers are the request headers; names are matched case-insensitively.
	Headers map[string][]string
	// Query are the query parameters.
	Query map[string][]string
}

func (r *Request) method() string {
	if r.Method == "" {
		return "GET"
	}
	return strings.ToUpper(r.Method)
}

func (r *Request) header(name string) []string {
	var out []string
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			out = append(out, v...)
		}
	}
	return out
}

// normalize fills in the defaults.
func (r Request) normalize() Request {
	r.Scheme = strings.ToLower(r.Scheme)
	if r.Scheme == "" {
		r.Scheme = "http"
	}
	if r.Port == 0 {
		r.Port = 80
		if r.Scheme == "https" {
			r.Port = 443
		}
	}
	if r.Path == "" {
		r.Path = "/"
	}
	if r.SNI == "" {
		r.SNI = NormalizeHost(r.Host)
	}
	return r
}

// NewRequest builds the request for a URL (http or https): its host is the Host header and the
// server name, its port (when written) the Gateway port, its path and query what the rules
// match. The path is taken as written: callers normalise it as clients do first.
func NewRequest(rawURL string) (Request, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Request{}, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Request{}, fmt.Errorf("%q: the scheme must be http or https", rawURL)
	}
	if u.Host == "" {
		return Request{}, fmt.Errorf("%q has no host", rawURL)
	}
	r := Request{Scheme: u.Scheme, Host: u.Host, Path: u.EscapedPath(), Query: u.Query()}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Request{}, fmt.Errorf("%q: port %q is not a port number", rawURL, p)
		}
		r.Port = int32(n)
	}
	if h := u.Hostname(); net.ParseIP(h) == nil {
		r.SNI = strings.ToLower(h)
	}
	return r, nil
}
