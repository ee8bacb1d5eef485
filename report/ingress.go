package report

import (
	"time"
)

// KindIngressCheck is the kind of the ingresscheck -o json|yaml document.
const KindIngressCheck = "IngressCheckReport"

// IngressCheckReport is the result of one ingresscheck run, also its -o json|yaml envelope.
type IngressCheckReport struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Tool       Tool   `json:"tool"`
	// Source is "manifests" or "cluster".
	Source string `json:"source"`
	// Target is the argument as given: a URL, ing/NAME, or "" for every Ingress.
	Target string `json:"target"`
	// Request is the URL being resolved (URL mode).
	Request *RouteRequest `json:"request,omitempty"`
	// Class is the IngressClass the URL is resolved against (URL mode).
	Class *IngressClassInfo `json:"class,omitempty"`
	// Controllers describes the controller of each class involved.
	Controllers []ControllerInfo `json:"controllers,omitempty"`
	// Candidates are the routes matching the URL, the winner first (URL mode).
	Candidates []RouteCandidate `json:"candidates,omitempty"`
	// Routes are the routes checked: the winner (URL mode) or every route of the Ingresses.
	Routes []RouteCheck `json:"routes"`
	// Findings are the lint findings on the Ingresses, Secrets and Services involved.
	Findings []Finding `json:"findings"`
	// Notes are facts of the cross-Ingress analysis that are not lint findings.
	Notes []string `json:"notes,omitempty"`
	// Gateway is how the Gateways and HTTPRoutes route the URL (URL mode, when the input has
	// Gateways).
	Gateway *GatewayCheck `json:"gateway,omitempty"`
	// GatewayRoutes are the rules checked for httproute/NAME or gateway/NAME.
	GatewayRoutes []GatewayRouteCheck `json:"gatewayRoutes,omitempty"`
	// Listeners are the listeners checked for gateway/NAME.
	Listeners []ListenerCheck `json:"listeners,omitempty"`
	// Probes are the requests sent through the controller (--probe).
	Probes  []RouteProbe `json:"probes,omitempty"`
	Verdict Verdict      `json:"verdict"`
}

// RouteRequest is the URL under test, split as the controller sees it.
type RouteRequest struct {
	URL    string `json:"url"`
	Scheme string `json:"scheme"`
	// Host is the Host header and TLS server name (without port).
	Host string `json:"host"`
	// Path is the path the rules match (without query), normalised as clients and controllers do
	// (ingress.NormalizePath): dot segments removed, repeated slashes merged, percent-encoded
	// unreserved characters decoded; other percent-encodings are kept.
	Path string `json:"path"`
	// GivenPath is the path as written when normalising changed it ("" otherwise), and
	// PathNormalised says what changed.
	GivenPath      string   `json:"givenPath,omitempty"`
	PathNormalised []string `json:"pathNormalised,omitempty"`
	// RawQuery is sent along by --probe.
	RawQuery string `json:"rawQuery,omitempty"`
	// Port is the port written in the URL (0 when none: 80 for http, 443 for https).
	Port int32 `json:"port,omitempty"`
	// Method is the HTTP method (-X; "" is GET) and Headers the request headers (-H): HTTPRoute
	// matches read them, --probe sends them.
	Method  string       `json:"method,omitempty"`
	Headers []HTTPHeader `json:"headers,omitempty"`
}

// IngressClassInfo is how the IngressClass of a URL was chosen.
type IngressClassInfo struct {
	// Name is "" when no class could be determined.
	Name string `json:"name"`
	// Source says why this class: --class, the default IngressClass, the only class routing the URL.
	Source string `json:"source"`
	// Controller is the IngressClass's spec.controller ("" when the class is not known).
	Controller string `json:"controller,omitempty"`
	// Exists is false when the IngressClass object is known to be missing.
	Exists bool `json:"exists"`
	// Defaults lists the IngressClasses marked as the default.
	Defaults []string `json:"defaults,omitempty"`
	// OtherClasses are classes that also have rules matching the URL.
	OtherClasses []string `json:"otherClasses,omitempty"`
}

// ControllerInfo is what svc-doctor found of the controller serving a class.
type ControllerInfo struct {
	Class      string `json:"class"`
	Controller string `json:"controller"`
	// Name is the product name when the controller is a well-known one (Traefik, ingress-nginx).
	Name string `json:"name,omitempty"`
	// Checked is false when the controller could not be looked for (offline, forbidden).
	Checked bool `json:"checked"`
	Found   bool `json:"found"`
	// Workloads are the Deployments and DaemonSets running it.
	Workloads []ControllerWorkload `json:"workloads,omitempty"`
	// Services are the Services in front of its pods.
	Services []ControllerService `json:"services,omitempty"`
	// Message explains the outcome in a sentence.
	Message string `json:"message"`

	// StrictPrefix is set when Traefik runs with strictPrefixMatching (not printed).
	StrictPrefix bool `json:"-"`
	// Classless is set when a workload of the controller serves Ingresses without class (Traefik
	// without an ingressClass option; not printed).
	Classless bool `json:"-"`
}

// ControllerWorkload is one Deployment or DaemonSet of a controller.
type ControllerWorkload struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Image     string `json:"image"`
	// Why says which heuristic matched: an image, a label, an argument.
	Why        string `json:"why"`
	PodsReady  int    `json:"podsReady"`
	PodsTotal  int    `json:"podsTotal"`
	PodsListed bool   `json:"podsListed"`
}

// ControllerService is a Service selecting a controller's pods, with the ports --probe uses.
type ControllerService struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	ClusterIP string `json:"clusterIP,omitempty"`
	HTTPPort  int32  `json:"httpPort,omitempty"`
	HTTPSPort int32  `json:"httpsPort,omitempty"`
	// NodePorts of the HTTP and HTTPS ports (0 when none).
	HTTPNodePort  int32 `json:"httpNodePort,omitempty"`
	HTTPSNodePort int32 `json:"httpsNodePort,omitempty"`
}

// RouteCandidate is a route that matches the URL.
type RouteCandidate struct {
	Rank     int       `json:"rank"`
	Ingress  ObjectRef `json:"ingress"`
	Class    string    `json:"class"`
	Field    string    `json:"field"`
	Host     string    `json:"host"`
	Path     string    `json:"path"`
	PathType string    `json:"pathType"`
	Backend  string    `json:"backend"`
	Winner   bool      `json:"winner"`
	// Reason says why it lost to the winner ("" for the winner).
	Reason string `json:"reason,omitempty"`
	// ControllerDefined is set for ImplementationSpecific paths: the controller decides.
	ControllerDefined bool `json:"controllerDefined,omitempty"`
}

// RouteCheck is one route (or default backend) with its backend and TLS.
type RouteCheck struct {
	Ingress ObjectRef `json:"ingress"`
	// Field is spec.rules[i].http.paths[j] or spec.defaultBackend.
	Field    string `json:"field"`
	Class    string `json:"class"`
	Host     string `json:"host"`
	Path     string `json:"path,omitempty"`
	PathType string `json:"pathType,omitempty"`
	// Default is set for an Ingress's default backend.
	Default bool `json:"default,omitempty"`
	// ShadowedBy names the route that serves this route's own requests instead, when not this one.
	ShadowedBy string       `json:"shadowedBy,omitempty"`
	Backend    RouteBackend `json:"backend"`
	TLS        *TLSInfo     `json:"tls,omitempty"`
	// ControllerRoute names the route the controller really serves the request with when it
	// differs from the Ingress spec's winner (Traefik orders routes by rule length and leaves out
	// routes with a broken backend; ingress-nginx picks the server by host first, and may match
	// paths as regular expressions or redirect), "" when they agree.
	ControllerRoute string `json:"controllerRoute,omitempty"`
	// Redirect is set when the controller answers the request with a redirect (ingress-nginx:
	// a prefix location's path requested without its trailing slash).
	Redirect *GatewayRedirect `json:"redirect,omitempty"`
	// Problems make the route broken; Warnings do not.
	Problems []string `json:"problems,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Profile names the controller profile whose semantics produced the result (nil: the
	// Ingress specification alone).
	Profile *ProfileInfo `json:"profile,omitempty"`

	// The checker's bookkeeping (not printed): BackendBroken is set when the backend (Service,
	// port, endpoints) is the problem; ControllerSet is true when ControllerRoute was worked out,
	// ControllerService is its Service ("" when the controller answers 404 itself); TLSProblems
	// are the Problems that come from TLS (the rest are routing problems).
	BackendBroken     bool     `json:"-"`
	ControllerSet     bool     `json:"-"`
	ControllerService string   `json:"-"`
	TLSProblems       []string `json:"-"`
}

// OK reports whether the route has no problem.
func (r RouteCheck) OK() bool { return len(r.Problems) == 0 }

// RouteBackend is a route's backend: a Service port, or a resource.
type RouteBackend struct {
	// Service is the Service name ("" for a resource backend).
	Service   string `json:"service,omitempty"`
	Namespace string `json:"namespace"`
	// Requested is the port as the Ingress names it: a number or a name.
	Requested string `json:"requested,omitempty"`
	// Port is the Service port it resolves to (nil when it does not).
	Port *BackendPort `json:"port,omitempty"`
	// Resource is kind/name of a resource backend.
	Resource string `json:"resource,omitempty"`
	// Exists is false when the Service is known to be missing; Known is false when the input
	// does not say (manifests without the Service).
	Exists bool           `json:"exists"`
	Known  bool           `json:"known"`
	Type   string         `json:"type,omitempty"`
	Health *BackendHealth `json:"health,omitempty"`
}

// BackendPort is a resolved Service port.
type BackendPort struct {
	Name       string `json:"name,omitempty"`
	Port       int32  `json:"port"`
	Protocol   string `json:"protocol"`
	TargetPort string `json:"targetPort"`
}

// BackendHealth is the state of a backend's endpoints and pods.
type BackendHealth struct {
	// Checked is false offline when the input has no EndpointSlices for the Service.
	Checked bool `json:"checked"`
	// Note explains an unchecked health or a degraded read.
	Note        string            `json:"note,omitempty"`
	Ready       int               `json:"ready"`
	NotReady    int               `json:"notReady"`
	Terminating int               `json:"terminating"`
	Endpoints   []BackendEndpoint `json:"endpoints,omitempty"`
	Pods        []PodState        `json:"pods,omitempty"`
	// Workloads are the pod templates the selector matches (offline).
	Workloads []string `json:"workloads,omitempty"`
	// Diagnosis is the verdict of the diagnose hops (service, selector, ports, readiness,
	// endpoints) on the backend Service, live only.
	Diagnosis *Verdict `json:"diagnosis,omitempty"`
}

// BackendEndpoint is one EndpointSlice endpoint of the backend port.
type BackendEndpoint struct {
	Address     string `json:"address"`
	Port        int32  `json:"port"`
	Pod         string `json:"pod,omitempty"`
	Node        string `json:"node,omitempty"`
	Ready       bool   `json:"ready"`
	Serving     bool   `json:"serving"`
	Terminating bool   `json:"terminating"`
}

// PodState is a selected pod's readiness.
type PodState struct {
	Name  string `json:"name"`
	Phase string `json:"phase"`
	Ready bool   `json:"ready"`
	// Reason says why it is not ready.
	Reason string `json:"reason,omitempty"`
}

// TLSInfo is the TLS material that serves a host.
type TLSInfo struct {
	Host string `json:"host"`
	// Ingress and Field locate the spec.tls entry that covers the host ("" when none).
	Ingress *ObjectRef `json:"ingress,omitempty"`
	Field   string     `json:"field,omitempty"`
	Secret  string     `json:"secret,omitempty"`
	// Certificate is the Secret's leaf certificate, when it parses.
	Certificate *CertInfo `json:"certificate,omitempty"`
	// Covers is whether the certificate covers the host (RFC 6125 wildcards).
	Covers bool `json:"covers"`
	// OK is true when a client would accept the certificate for the host.
	OK       bool     `json:"ok"`
	Problems []string `json:"problems,omitempty"`
}

// CertInfo summarises a certificate.
type CertInfo struct {
	Subject  string    `json:"subject"`
	DNSNames []string  `json:"dnsNames,omitempty"`
	NotAfter time.Time `json:"notAfter"`
	SHA256   string    `json:"sha256"`
}

// RouteProbe is one request sent through the controller from the helper pod, compared with the
// simulation.
type RouteProbe struct {
	// Route is the simulated route the request checks (ingress ns/name field), "" when none matches.
	Route string `json:"route,omitempty"`
	URL   string `json:"url"`
	// Via is the controller Service and address the request was sent to.
	Via  string `json:"via"`
	Host string `json:"host"`
	SNI  string `json:"sni,omitempty"`
	// Status is the HTTP status (0 when the request failed).
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
	// AnsweredBy is the pod whose name the body carried (the test server answers / with it).
	AnsweredBy string `json:"answeredBy,omitempty"`
	// AnsweredService is the Service of that pod.
	AnsweredService string `json:"answeredService,omitempty"`
	Body            string `json:"body,omitempty"`
	// Expected is what the simulation predicts: "service NAME", or "broken: why".
	Expected string `json:"expected"`
	// Certificate is the leaf certificate the controller served (https).
	Certificate *ServedCert `json:"certificate,omitempty"`
	// Agrees is nil when the probe cannot tell (the body names no pod).
	Agrees *bool  `json:"agrees,omitempty"`
	Result string `json:"result"`
}

// ServedCert is the certificate the controller presented, compared with the Secret's.
type ServedCert struct {
	CertInfo
	// MatchesSecret compares fingerprints with the Secret of the TLS entry (nil without one).
	MatchesSecret *bool `json:"matchesSecret,omitempty"`
	// Acceptable is true when the certificate covers the host and is within its validity.
	Acceptable bool `json:"acceptable"`
}

// ReadyPods reports whether any listed controller pod is ready (true when pods were not listed).
func (ci ControllerInfo) ReadyPods() bool {
	listed := false
	for _, w := range ci.Workloads {
		if w.PodsListed {
			listed = true
			if w.PodsReady > 0 {
				return true
			}
		}
	}
	return !listed
}
