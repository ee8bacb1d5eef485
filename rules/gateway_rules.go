package rules

import (
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/gateway"
)

// The Gateway API rules. Each one reports the problems of one check of route/gateway, which
// computes them from the specs alone (status.parents is not trusted: several implementations leave
// it empty or stale). Messages start with the specification's reason name where it has one.

var ruleGatewayClassMissing = &Rule{
	ID: "gateway-class-missing", Severity: report.Error, Category: CatGateway,
	Summary:     "Gateway whose gatewayClassName names no GatewayClass",
	Remediation: "Set spec.gatewayClassName to a GatewayClass installed in the cluster (kubectl get gatewayclass), e.g. the one your controller's chart creates.",
	Docs: "A Gateway is programmed by the controller of its GatewayClass. When the class does not exist no controller " +
		"picks the Gateway up: it gets no address, its status stays empty, and none of the routes attached to it receives " +
		"traffic. GatewayClasses are cluster-scoped and usually installed with the controller, so when the input holds no " +
		"GatewayClass at all the finding is info (\"not in the given manifests\").",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckClassMissing) },
}

var ruleGatewayListenerConflict = &Rule{
	ID: "gateway-listener-conflict", Severity: report.Error, Category: CatGateway,
	Summary:     "Gateway listeners that are not distinct (Conflicted: HostnameConflict, ProtocolConflict)",
	Remediation: "Give each listener a unique name and a unique combination of port, protocol and hostname; do not share a port between TCP and HTTP, HTTPS or TLS listeners.",
	Docs: "Every listener of a Gateway must be distinct (GatewaySpec.Listeners): a unique name, and a unique port, protocol " +
		"and hostname (the API server refuses the Gateway otherwise). HTTP, HTTPS and TLS listeners that share a port with a " +
		"TCP listener are not distinct and MUST NOT be accepted (ProtocolConflict): all of them are Conflicted and take no " +
		"traffic. An HTTP listener next to an HTTPS or TLS listener on the same port is a ProtocolConflict on most " +
		"implementations (a warning).",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckListenerConflict) },
}

var ruleGatewayRouteKinds = &Rule{
	ID: "gateway-listener-route-kinds-invalid", Severity: report.Error, Category: CatGateway,
	Summary:     "listener allowedRoutes.kinds that its protocol cannot carry (InvalidRouteKinds)",
	Remediation: "List only route kinds the listener's protocol carries: HTTPRoute or GRPCRoute for HTTP and HTTPS, TLSRoute for TLS, TCPRoute for TCP, UDPRoute for UDP.",
	Docs: "allowedRoutes.kinds must correspond to kinds of routes compatible with the listener's protocol (AllowedRoutes.Kinds); " +
		"the others are dropped and the listener reports ResolvedRefs=False with reason InvalidRouteKinds. When none is " +
		"left, no route can attach to the listener at all.",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckListenerRouteKinds) },
}

var ruleGatewayCertificateRef = &Rule{
	ID: "gateway-certificate-ref-invalid", Severity: report.Error, Category: CatGateway,
	Summary:     "TLS listener whose certificateRefs are missing or name a Secret that cannot serve (InvalidCertificateRef)",
	Remediation: "Point tls.certificateRefs at a kubernetes.io/tls Secret with tls.crt (chain, leaf first) and the matching tls.key, in the Gateway's namespace.",
	Docs: "An HTTPS listener, and a TLS listener in mode Terminate, serve the certificate of tls.certificateRefs " +
		"(ListenerTLSConfig.CertificateRefs; Core support is one Secret of type kubernetes.io/tls). A missing reference, a " +
		"missing Secret, one without tls.crt and tls.key, or a pair that does not load makes the listener report " +
		"ResolvedRefs=False with reason InvalidCertificateRef, and TLS handshakes for it fail. A Secret of another type, or " +
		"a reference to another kind of object, depends on the implementation (a warning).",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckCertificateRef) },
}

var ruleGatewayCertificateNotPermitted = &Rule{
	ID: "gateway-certificate-ref-not-permitted", Severity: report.Error, Category: CatGateway,
	Summary:     "listener certificateRef to a Secret in another namespace without a ReferenceGrant (RefNotPermitted)",
	Remediation: "Add a ReferenceGrant in the Secret's namespace with from {group: gateway.networking.k8s.io, kind: Gateway, namespace: <gateway namespace>} and to {group: \"\", kind: Secret}.",
	Docs: "A certificateRef to another namespace is invalid unless a ReferenceGrant in the target namespace allows it: from " +
		"the Gateway kind in the Gateway's namespace, to Secrets (optionally by name). Otherwise the listener reports " +
		"ResolvedRefs=False with reason RefNotPermitted and serves no certificate.",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckCertificateNotAllowed) },
}

var ruleGatewayCertificateExpired = &Rule{
	ID: "gateway-certificate-expired", Severity: report.Error, Category: CatGateway,
	Summary:     "listener certificate that has expired, expires soon, or is not valid yet",
	Remediation: "Renew the certificate in the referenced Secret (cert-manager can do it automatically).",
	Docs: "Clients refuse an expired certificate, so every HTTPS request to the listener fails even though the Gateway " +
		"reports nothing wrong. Expiry within `--cert-expiry-warning` (30 days by default) and a notBefore in the future " +
		"are warnings. The Secret itself is also checked by tls-cert-expired when it is of type kubernetes.io/tls.",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckCertificateExpired) },
}

var ruleGatewayCertificateHost = &Rule{
	ID: "gateway-certificate-host-mismatch", Severity: report.Error, Category: CatGateway,
	Summary:     "listener certificate that does not cover the listener hostname or the hostnames of its routes",
	Remediation: "Issue a certificate whose subjectAltNames include the listener hostname (or, without one, every hostname of the routes on it).",
	Docs: "Clients check the requested name against the certificate's DNS subjectAltNames. Without a listener hostname, the " +
		"exact hostnames of the routes attached to the listener are checked. A certificate wildcard covers exactly one label " +
		"(RFC 6125), while a Gateway API wildcard hostname is a suffix match: a listener `*.example.com` needs a certificate " +
		"for `*.example.com`, which still fails for `a.b.example.com`.",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckCertificateHost) },
}

var ruleRouteParentNoMatch = &Rule{
	ID: "route-parent-no-match", Severity: report.Error, Category: CatGateway,
	Summary:     "route parentRef that names no Gateway, or no listener of it (NoMatchingParent)",
	Remediation: "Name an existing Gateway (with namespace when it is in another one), and a sectionName and port that one of its listeners has.",
	Docs: "A parentRef selects a Gateway by name (in the route's namespace unless namespace is set), and optionally a listener " +
		"by sectionName (its name) and port: when both are set the same listener must have both. When no listener matches, " +
		"the route is not accepted (Accepted=False, NoMatchingParent). When the Gateway itself does not exist, no controller " +
		"attaches the route and none writes a status for it, so the mistake is silent in the cluster.",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckParentNoMatch) },
}

var ruleRouteNotAllowed = &Rule{
	ID: "route-not-allowed-by-listeners", Severity: report.Error, Category: CatGateway,
	Summary:     "route that no listener of its parent Gateway allows, by kind or namespace (NotAllowedByListeners)",
	Remediation: "Allow the route's namespace in the listener's allowedRoutes.namespaces (All, or a Selector matching its Namespace's labels), or move the route; allow its kind in allowedRoutes.kinds.",
	Docs: "A listener accepts routes from its own namespace only unless allowedRoutes.namespaces says otherwise " +
		"(from: Same is the default). from: Selector is a full label selector (matchLabels and matchExpressions) matched " +
		"against the labels of the route's Namespace, not the route's own labels; every Namespace carries " +
		"kubernetes.io/metadata.name. allowedRoutes.kinds, and the protocol when it is empty, decide the route kinds. When " +
		"the Namespace's labels are not in the given manifests, the finding is info. Conflicted listeners accept no route.",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckNotAllowed) },
}

var ruleRouteNoHostname = &Rule{
	ID: "route-no-matching-listener-hostname", Severity: report.Error, Category: CatGateway,
	Summary:     "route whose hostnames intersect no listener hostname of its parent (NoMatchingListenerHostname)",
	Remediation: "Use route hostnames within the listener's hostname (test.example.com or *.example.com under *.example.com), or drop spec.hostnames to take the listener's.",
	Docs: "When both the listener and the route have hostnames, they must intersect for the route to attach " +
		"(HTTPRouteSpec.Hostnames): a listener `*.example.com` accepts `*.example.com`, `test.example.com` and " +
		"`foo.test.example.com` but not `example.com`; a listener `test.example.com` accepts `test.example.com` and " +
		"`*.example.com`. Route hostnames outside the listener's are ignored; when none is left the route is not accepted.",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckNoHostname) },
}

var ruleRouteBackendNotFound = &Rule{
	ID: "route-backend-not-found", Severity: report.Error, Category: CatGateway,
	Summary:     "route backendRef to a Service that does not exist, or to a port the Service does not have (BackendNotFound)",
	Remediation: "Name an existing Service and one of its ports (spec.ports[].port, not the targetPort or the container port).",
	Docs: "A backendRef to a Service names the Service port (BackendObjectReference.Port: \"the port number is the service " +
		"port number, not the target port\"). A missing Service makes the route report ResolvedRefs=False with reason " +
		"BackendNotFound, and the requests for that backend get a 500. The finding says when the port written is the " +
		"Service's targetPort, and when a Service of that name exists in another namespace.",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckBackendNotFound) },
}

var ruleRouteBackendNotPermitted = &Rule{
	ID: "route-backend-ref-not-permitted", Severity: report.Error, Category: CatGateway,
	Summary:     "route backendRef to another namespace without a matching ReferenceGrant (RefNotPermitted)",
	Remediation: "Add a ReferenceGrant in the Service's namespace with from {group: gateway.networking.k8s.io, kind: <route kind>, namespace: <route namespace>} and to {group: \"\", kind: Service}.",
	Docs: "A cross-namespace backendRef is valid only when a ReferenceGrant in the target namespace has a from entry with the " +
		"route's group, kind and namespace and a to entry with the Service's group and kind (and name, when set). Otherwise " +
		"the route reports ResolvedRefs=False with reason RefNotPermitted and requests for that backend get a 500. The " +
		"finding names the grant that comes closest and what it allows instead.",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckBackendNotPermitted) },
}

var ruleRouteBackendInvalidKind = &Rule{
	ID: "route-backend-invalid-kind", Severity: report.Error, Category: CatGateway,
	Summary:     "route backendRef to a kind that is not a backend, or that most implementations do not support (InvalidKind)",
	Remediation: "Point backendRefs at Services (group \"\", kind Service), or at a kind your implementation documents.",
	Docs: "Core support is a Kubernetes Service; other kinds are implementation-specific (a warning: they work only where the " +
		"implementation supports them) and a core kind other than Service is no backend at all (an error). Unsupported kinds " +
		"make the route report ResolvedRefs=False with reason InvalidKind and their requests get a 500. ExternalName Services " +
		"are reported too: implementations SHOULD NOT support them (CVE-2021-25740).",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckBackendInvalidKind) },
}

var ruleRouteWeightsZero = &Rule{
	ID: "route-backend-weights-zero", Severity: report.Error, Category: CatGateway,
	Summary:     "route rule whose backendRefs all have weight 0",
	Remediation: "Give at least one backendRef a positive weight (the default is 1), or remove the rule.",
	Docs: "A weight of 0 means no traffic for that backend (BackendRef.Weight). When every backendRef of a rule has weight 0, " +
		"requests matching the rule are forwarded nowhere and get an error (500 or 503, depending on the implementation).",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckWeightsZero) },
}

var ruleRouteMatchShadowed = &Rule{
	ID: "route-match-shadowed", Severity: report.Warning, Category: CatGateway,
	Summary:     "HTTPRoute match that never wins: another rule has a match for the same requests with precedence",
	Remediation: "Remove the dead match, or make the two matches differ (path, method, headers, query params or hostname) so that each serves something.",
	Docs: "On each listener and hostname, the HTTPRoute precedence (HTTPRouteRule.Matches) gives a request to the match " +
		"with an Exact path, then the longest PathPrefix, then a method, then the most header and query param matches; ties " +
		"go to the oldest route, then to namespace/name order, then to the first rule. A match with the same conditions as " +
		"one that ranks higher on every listener and hostname where its route serves never receives a request. Without " +
		"creationTimestamps (manifests), namespace/name order decides; on a cluster the older route wins instead, but one " +
		"of the two is dead either way. The API reports no conflict for this.",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckShadowed) },
}

var ruleGatewayStatusMismatch = &Rule{
	ID: "gateway-status-mismatch", Severity: report.Warning, Category: CatGateway,
	Summary:     "Gateway status that is missing, partial or stale, or that disagrees with the specs (listener conflicts, certificate references, attachedRoutes)",
	Remediation: "Check the controller of the GatewayClass (running, watching this namespace and class, logs); when the status is stale, wait for it or restart the controller; when it knows more than the specs show, fix what its condition says.",
	Docs: "svc-doctor computes what the specs imply and does not trust status, which several implementations leave " +
		"empty or stale. This rule compares the two: a Gateway of an existing class without an Accepted condition (live: " +
		"no controller processed it, so nothing serves it), conditions of an older generation (stale), a Gateway the " +
		"controller does not accept, listeners without a status entry (partial), Conflicted or ResolvedRefs conditions that " +
		"contradict the specs, and status.listeners[].attachedRoutes against the routes the specs attach (only when every " +
		"route that may attach was read). Each message says which side is wrong: the status (missing, partial, stale), the " +
		"controller (it deviates from the specification), or the specs alone (the controller knows more: believe it). " +
		"Manifests are compared only when they carry a status.",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckGatewayStatus) },
}

var ruleRouteStatusMismatch = &Rule{
	ID: "route-status-mismatch", Severity: report.Warning, Category: CatGateway,
	Summary:     "route status.parents that is missing, partial or stale, or whose Accepted or ResolvedRefs conditions contradict the specs",
	Remediation: "Read the message: a missing or stale status points at the controller (running? watching the route's namespace?); a contradiction either at a stale status or at a controller that deviates from the specification; a reason of the controller's own at what to fix.",
	Docs: "For every parentRef to a Gateway of an existing class, the entry of status.parents written by that class's " +
		"controller is compared with the attachment computed from the specs (listener allowedRoutes, hostnames, sectionName " +
		"and port) and with the backendRefs' checks: no entry (live: the controller has not processed the route; in " +
		"manifests only when other parentRefs have one), no Accepted or ResolvedRefs condition (partial), an " +
		"observedGeneration older than the route (stale), Accepted=True for a route the specs refuse (the controller " +
		"deviates), Accepted=False with a reason the specs do not confirm (NoMatchingParent, NotAllowedByListeners, " +
		"NoMatchingListenerHostname: the status is stale or the controller deviates), Accepted=False or ResolvedRefs=False " +
		"with a reason of the controller's own (believe the status), and ResolvedRefs against BackendNotFound, " +
		"RefNotPermitted and InvalidKind. Traffic follows the controller, not the specs: where they disagree, the " +
		"simulation of ingresscheck may not be what answers.",
	Check: func(p *Pass) { reportGateway(p, gateway.CheckRouteStatus) },
}
