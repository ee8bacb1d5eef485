package report

import (
	"fmt"
	"strconv"
	"strings"
)

// The Gateway API part of the ingresscheck envelope: how a URL goes through Gateways and
// HTTPRoutes (GatewayCheck), and the rules of httproute/NAME or the listeners of gateway/NAME.

// Sides of a URL: what serves it.
const (
	ServedByIngress = "ingress"
	ServedByGateway = "gateway"
	ServedByBoth    = "both"
	ServedByNone    = "none"
)

// HTTPHeader is one request header (-H).
type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// String renders the header as curl writes it.
func (h HTTPHeader) String() string { return h.Name + ": " + h.Value }

// GatewayCheck is how the Gateways route a URL (URL mode).
type GatewayCheck struct {
	// Installed is false when the cluster serves no Gateway API (live only; manifests: true).
	Installed bool `json:"installed"`
	// Served says which side serves the URL: ingress, gateway, both or none; ServedWhy why.
	Served    string `json:"served"`
	ServedWhy string `json:"servedWhy,omitempty"`
	// Resolutions are the Gateways that have a listener for the request's port and scheme, the
	// ones whose listener takes the host first.
	Resolutions []GatewayResolution `json:"resolutions,omitempty"`
	// Notes qualify the outcome (how the port was chosen, Gateways without a listener for it).
	Notes []string `json:"notes,omitempty"`
}

// GatewayResolution is how one Gateway routes the request.
type GatewayResolution struct {
	Gateway ObjectRef `json:"gateway"`
	// Class is the GatewayClass, Controller its controllerName ("" when the class is not known).
	Class      string `json:"class"`
	Controller string `json:"controller,omitempty"`
	// Port is the listener port the request is resolved on; PortWhy says how it was chosen when
	// it is not the URL's port.
	Port    int32  `json:"port"`
	PortWhy string `json:"portWhy,omitempty"`
	// Listener is the listener the request enters ("" when none takes it).
	Listener string `json:"listener,omitempty"`
	// Status is the HTTP status the specs imply when the request is not forwarded (404, 421,
	// 500, a redirect), 0 when it is forwarded or no HTTP exchange happens.
	Status int    `json:"status,omitempty"`
	Why    string `json:"why"`
	// Candidates are the matching rules, the winner first, then the near misses.
	Candidates []GatewayCandidate `json:"candidates,omitempty"`
	// Route is the winning rule, checked (nil when none wins).
	Route *GatewayRouteCheck `json:"route,omitempty"`
	// Address is where the Gateway receives traffic (its Service or status addresses), for
	// --probe and for telling which side serves an address.
	Address *GatewayAddress `json:"address,omitempty"`
	Notes   []string        `json:"notes,omitempty"`
	// Profile names the route semantics that produced this resolution and how it was chosen.
	Profile *ProfileInfo `json:"profile,omitempty"`
}

// Takes reports whether a listener of the Gateway takes the request (its host and port).
func (g GatewayResolution) Takes() bool { return g.Listener != "" }

// GatewayAddress is where a Gateway receives traffic.
type GatewayAddress struct {
	// Service is the Service in front of the Gateway's data plane (namespace/name), "" when not found.
	Service   string `json:"service,omitempty"`
	ClusterIP string `json:"clusterIP,omitempty"`
	// Port is the Service port that reaches the listener port, 0 when none does.
	Port int32 `json:"port,omitempty"`
	// Addresses are the Gateway's status.addresses.
	Addresses []string `json:"addresses,omitempty"`
	// Ports are the ports of Service, each with the port it reaches on the data plane's pods.
	Ports []GatewayPort `json:"ports,omitempty"`
	// How says how the Service was found.
	How string `json:"how,omitempty"`
}

// GatewayPort is one port of the Service in front of a Gateway.
type GatewayPort struct {
	Port int32 `json:"port"`
	// TargetPort is the container port it reaches (a named targetPort resolved), 0 when unknown.
	TargetPort int32 `json:"targetPort,omitempty"`
	NodePort   int32 `json:"nodePort,omitempty"`
}

// GatewayCandidate is one HTTPRoute rule match considered for the request.
type GatewayCandidate struct {
	// Rank is 1 for the winner, 2... for the other matching rules, 0 for near misses.
	Rank int `json:"rank"`
	// Name is `httproute NS/NAME rule[i]`.
	Name     string    `json:"name"`
	Route    ObjectRef `json:"route"`
	Rule     int       `json:"rule"`
	Field    string    `json:"field"`
	Listener string    `json:"listener,omitempty"`
	Hostname string    `json:"hostname,omitempty"`
	// Match describes the match: PathPrefix /api, method GET, header version=v2.
	Match    string `json:"match"`
	Backends string `json:"backends,omitempty"`
	Winner   bool   `json:"winner"`
	// Reason says why it lost or did not match ("" for the winner).
	Reason string `json:"reason,omitempty"`
}

// GatewayRouteCheck is one HTTPRoute rule with its backends, as the URL or httproute/NAME checks it.
type GatewayRouteCheck struct {
	// Name is `httproute NS/NAME rule[i]`.
	Name  string    `json:"name"`
	Route ObjectRef `json:"route"`
	Rule  int       `json:"rule"`
	// Field is the winning match (spec.rules[i].matches[j]) or the rule (spec.rules[i]).
	Field string `json:"field"`
	Match string `json:"match,omitempty"`
	// Parents are where the route is attached: gateway NS/NAME listener L (hostnames).
	Parents []string `json:"parents,omitempty"`
	// Backends are the rule's backendRefs with their share of the requests.
	Backends []GatewayBackend `json:"backends,omitempty"`
	Redirect *GatewayRedirect `json:"redirect,omitempty"`
	Rewrite  *GatewayRewrite  `json:"rewrite,omitempty"`
	// Status is the HTTP status the specs imply when the rule does not forward (redirect, 500).
	Status int      `json:"status,omitempty"`
	TLS    *TLSInfo `json:"tls,omitempty"`
	// Problems make the rule broken; Warnings do not.
	Problems []string `json:"problems,omitempty"`
	Warnings []string `json:"warnings,omitempty"`

	// TLSProblems are the Problems that come from TLS (not printed: --probe judges them apart).
	TLSProblems []string `json:"-"`
}

// OK reports whether the rule has no problem.
func (r GatewayRouteCheck) OK() bool { return len(r.Problems) == 0 }

// GatewayBackend is one backendRef of a rule.
type GatewayBackend struct {
	RouteBackend
	// Ref is the backendRef as written: service/NS/NAME:PORT.
	Ref    string  `json:"ref"`
	Weight int32   `json:"weight"`
	Share  float64 `json:"share"`
	// Invalid is set when the specs make its requests fail (500).
	Invalid bool `json:"invalid,omitempty"`
}

// GatewayRedirect is the answer of a RequestRedirect filter.
type GatewayRedirect struct {
	StatusCode int    `json:"statusCode"`
	Location   string `json:"location"`
}

// GatewayRewrite is what a URLRewrite filter changes.
type GatewayRewrite struct {
	Hostname string `json:"hostname,omitempty"`
	Path     string `json:"path,omitempty"`
}

// ListenerCheck is one listener of gateway/NAME.
type ListenerCheck struct {
	Gateway  ObjectRef `json:"gateway"`
	Name     string    `json:"name"`
	Port     int32     `json:"port"`
	Protocol string    `json:"protocol"`
	Hostname string    `json:"hostname,omitempty"`
	// Routes are the routes attached to it (kind NS/NAME).
	Routes   []string `json:"routes,omitempty"`
	TLS      *TLSInfo `json:"tls,omitempty"`
	Problems []string `json:"problems,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// OK reports whether the listener has no problem.
func (l ListenerCheck) OK() bool { return len(l.Problems) == 0 }

// ProfileInfo names the route semantics (a controller profile) a verdict was produced with.
type ProfileInfo struct {
	// Name is spec, traefik or ingress-nginx.
	Name string `json:"name"`
	// Detected says how the controller was recognised: an IngressClass's spec.controller, a
	// GatewayClass's controllerName, a workload's image.
	Detected string `json:"detected"`
}

// String renders the profile for tables.
func (p *ProfileInfo) String() string {
	if p == nil {
		return ""
	}
	return p.Name + " (" + p.Detected + ")"
}

// BackendsText renders the backends of a rule: service NAME port P (50%), ...
func BackendsText(bs []GatewayBackend) string {
	if len(bs) == 0 {
		return "(no backendRefs)"
	}
	var parts []string
	for _, b := range bs {
		s := b.Ref
		if b.Service != "" {
			s = "service " + b.Service + " port " + b.Requested
			if b.Port != nil {
				s = "service " + b.Service + " port " + PortText(b.Port)
			}
		}
		if len(bs) > 1 {
			s += " (" + strconv.FormatFloat(b.Share*100, 'f', 0, 64) + "%)"
		}
		if b.Invalid {
			s += " [invalid: 500]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// shortBackends renders backends for table cells: NAME:PORT, NAME:PORT.
func shortBackends(bs []GatewayBackend) string {
	if len(bs) == 0 {
		return "(none)"
	}
	var parts []string
	for _, b := range bs {
		s := b.Service + ":" + b.Requested
		if b.Service == "" {
			s = b.Ref
		}
		if len(bs) > 1 {
			s += fmt.Sprintf(" %.0f%%", b.Share*100)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
