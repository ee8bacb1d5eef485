package gateway

import (
	"fmt"
	"strings"
)

// Hostnames in the Gateway API (apis/v1 Listener.Hostname and HTTPRouteSpec.Hostnames): an
// exact name, or a wildcard "*.example.com" that is a SUFFIX match: it matches test.example.com
// and foo.test.example.com, but not example.com. This differs from Ingress hosts and from TLS
// certificates, whose wildcard covers exactly one label. An empty hostname matches every host.

// NormalizeHost is how a request's Host header is compared with hostnames: lower case, without
// port ("Implementations MUST ignore any port value specified in the HTTP Host header while
// performing a match") and without the trailing dot of a fully qualified name.
func NormalizeHost(h string) string {
	h = strings.ToLower(h)
	if strings.HasPrefix(h, "[") { // [v6]:port
		if i := strings.IndexByte(h, ']'); i >= 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		h = h[:i]
	}
	return strings.TrimRight(h, ".")
}

func isWildcard(h string) bool { return strings.HasPrefix(h, "*.") }

// HostnameMatches reports whether a listener or route hostname matches a (normalized) request
// host: "" matches every host, "*.example.com" every host that ends in .example.com with at
// least one label before it, any other hostname only itself (case-insensitive).
func HostnameMatches(hostname, host string) bool {
	hostname = strings.ToLower(hostname)
	switch {
	case hostname == "":
		return true
	case isWildcard(hostname):
		suffix := hostname[1:] // .example.com
		return len(host) > len(suffix) && strings.HasSuffix(host, suffix)
	}
	return hostname == host
}

// intersectHostnames is the hostname a route hostname and a listener hostname share, per
// HTTPRouteSpec.Hostnames: a listener test.example.com accepts a route hostname
// test.example.com or *.example.com (the intersection is test.example.com); a listener
// *.example.com accepts *.example.com, test.example.com and foo.test.example.com; both wildcards
// intersect as the more specific one. "" (no hostname) on either side yields the other side.
func intersectHostnames(listener, route string) (string, bool) {
	listener, route = strings.ToLower(listener), strings.ToLower(route)
	switch {
	case listener == "":
		return route, true
	case route == "":
		return listener, true
	case !isWildcard(listener) && !isWildcard(route):
		return route, route == listener
	case !isWildcard(route): // exact route name under a wildcard listener
		return route, HostnameMatches(listener, route)
	case !isWildcard(listener): // wildcard route, exact listener
		return listener, HostnameMatches(route, listener)
	}
	// both wildcards: the longer suffix is inside the shorter one, or they are disjoint
	if strings.HasSuffix(route, listener[1:]) {
		return route, true
	}
	if strings.HasSuffix(listener, route[1:]) {
		return listener, true
	}
	return "", false
}

// listenerSpecificity orders listener hostnames for a request, per GatewaySpec.Listeners
// ("Listeners that are distinct only by Hostname"): exact names first, then wildcards with more
// dots to the right of the wildcard, then no hostname.
func listenerSpecificity(hostname string) int {
	switch {
	case hostname == "":
		return 0
	case isWildcard(hostname):
		return 1 + strings.Count(hostname, ".")
	}
	return 1 << 16
}

// hostnameRank is the precedence of a matching route hostname, per HTTPRouteSpec.Hostnames:
// "precedence must be given to rules from the HTTPRoute with the largest number of: characters
// in a matching non-wildcard hostname; characters in a matching hostname".
type hostnameRank struct{ exactChars, chars int }

func rankHostname(h string) hostnameRank {
	if h == "" || isWildcard(h) {
		return hostnameRank{0, len(h)}
	}
	return hostnameRank{len(h), len(h)}
}

func (a hostnameRank) less(b hostnameRank) bool {
	if a.exactChars != b.exactChars {
		return a.exactChars < b.exactChars
	}
	return a.chars < b.chars
}

// hostnameDisplay renders a hostname for messages: "" is "any host".
func hostnameDisplay(h string) string {
	if h == "" {
		return "any host"
	}
	return h
}

// hostMiss explains why none of hostnames matches host: a wildcard does not match the domain
// it is written for, and matching is by whole labels.
func hostMiss(hostnames []string, host string) string {
	for _, h := range hostnames {
		if isWildcard(h) && host == h[2:] {
			return fmt.Sprintf("host %s is the domain of wildcard %s, which matches only names below it (such as www.%s)", host, h, host)
		}
	}
	return fmt.Sprintf("host %s matches none of %s", host, hostsText(hostnames))
}
