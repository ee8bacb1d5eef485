// Package ruleid holds the ID of every lint rule as a typed constant: the one list the registry
// (package rules) is checked against, and what the layers that report findings themselves
// (manifest, snapshot, route layers, expose) name rules by, so that no rule ID is a bare string.
package ruleid

// ID is a rule's stable kebab-case identifier: it appears in reports, in --enable/--disable and in
// suppression annotations, and never changes once released.
type ID string

// The IDs of every rule, in alphabetical order. rules.TestRuleIDsAreConstants keeps this list equal
// to the registry.
const (
	APIVersionWrongCase               ID = "api-version-wrong-case"
	ContainerPortInvalid              ID = "container-port-invalid"
	ContainerPortNameInvalid          ID = "container-port-name-invalid"
	ContainerRequiredFields           ID = "container-required-fields"
	DuplicateObject                   ID = "duplicate-object"
	EndpointsAddressInvalid           ID = "endpoints-address-invalid"
	EndpointsDeprecated               ID = "endpoints-deprecated"
	EndpointsForSelectorService       ID = "endpoints-for-selector-service"
	EndpointsPortMismatch             ID = "endpoints-port-mismatch"
	EndpointsTargetRefStale           ID = "endpoints-target-ref-stale"
	EndpointsWithoutService           ID = "endpoints-without-service"
	EndpointsliceAddressType          ID = "endpointslice-address-type"
	EndpointsliceServiceLabelMissing  ID = "endpointslice-service-label-missing"
	GatewayCertificateExpired         ID = "gateway-certificate-expired"
	GatewayCertificateHostMismatch    ID = "gateway-certificate-host-mismatch"
	GatewayCertificateRefInvalid      ID = "gateway-certificate-ref-invalid"
	GatewayCertificateRefNotPermitted ID = "gateway-certificate-ref-not-permitted"
	GatewayClassMissing               ID = "gateway-class-missing"
	GatewayListenerConflict           ID = "gateway-listener-conflict"
	GatewayListenerRouteKindsInvalid  ID = "gateway-listener-route-kinds-invalid"
	GatewayStatusMismatch             ID = "gateway-status-mismatch"
	IngressBackendPortMissing         ID = "ingress-backend-port-missing"
	IngressBackendServiceMissing      ID = "ingress-backend-service-missing"
	IngressClassMissing               ID = "ingress-class-missing"
	IngressHostInvalid                ID = "ingress-host-invalid"
	IngressHostIP                     ID = "ingress-host-ip"
	IngressHostWithoutTLS             ID = "ingress-host-without-tls"
	IngressPathImplementationSpecific ID = "ingress-path-implementation-specific"
	IngressPathInvalid                ID = "ingress-path-invalid"
	IngressPathTypeMissing            ID = "ingress-path-type-missing"
	IngressRouteConflict              ID = "ingress-route-conflict"
	IngressRouteShadowed              ID = "ingress-route-shadowed"
	IngressTLSHostUnserved            ID = "ingress-tls-host-unserved"
	IngressTLSSecretMissing           ID = "ingress-tls-secret-missing"
	IngressTLSSecretType              ID = "ingress-tls-secret-type"
	InvalidDocument                   ID = "invalid-document"
	InvalidSuppression                ID = "invalid-suppression"
	InvalidValue                      ID = "invalid-value"
	KindWrongCase                     ID = "kind-wrong-case"
	MissingTypeMeta                   ID = "missing-type-meta"
	ObjectNameInvalid                 ID = "object-name-invalid"
	ObjectNameMissing                 ID = "object-name-missing"
	ProbeMultipleHandlers             ID = "probe-multiple-handlers"
	ProbePortUndeclared               ID = "probe-port-undeclared"
	ProbeReadinessEqualsLiveness      ID = "probe-readiness-equals-liveness"
	ProbeSuccessThreshold             ID = "probe-success-threshold"
	ProbeTimeoutExceedsPeriod         ID = "probe-timeout-exceeds-period"
	ReadinessProbeMissing             ID = "readiness-probe-missing"
	RemovedAPIVersion                 ID = "removed-api-version"
	RouteBackendInvalidKind           ID = "route-backend-invalid-kind"
	RouteBackendNotFound              ID = "route-backend-not-found"
	RouteBackendRefNotPermitted       ID = "route-backend-ref-not-permitted"
	RouteBackendWeightsZero           ID = "route-backend-weights-zero"
	RouteMatchShadowed                ID = "route-match-shadowed"
	RouteNoMatchingListenerHostname   ID = "route-no-matching-listener-hostname"
	RouteNotAllowedByListeners        ID = "route-not-allowed-by-listeners"
	RouteParentNoMatch                ID = "route-parent-no-match"
	RouteStatusMismatch               ID = "route-status-mismatch"
	SecretDataNotBase64               ID = "secret-data-not-base64"
	SecretTLSKeys                     ID = "secret-tls-keys"
	ServiceExternalNameInvalid        ID = "service-external-name-invalid"
	ServiceHeadlessType               ID = "service-headless-type"
	ServiceLBSourceRangesInvalid      ID = "service-lb-source-ranges-invalid"
	ServiceNodePortConflict           ID = "service-node-port-conflict"
	ServiceNodePortInvalid            ID = "service-node-port-invalid"
	ServicePortDuplicate              ID = "service-port-duplicate"
	ServicePortNameInvalid            ID = "service-port-name-invalid"
	ServicePortNameRequired           ID = "service-port-name-required"
	ServicePortsMissing               ID = "service-ports-missing"
	ServiceProtocolMismatch           ID = "service-protocol-mismatch"
	ServiceSelectorNoMatch            ID = "service-selector-no-match"
	ServiceSessionAffinityInvalid     ID = "service-session-affinity-invalid"
	ServiceTargetPortInconsistent     ID = "service-target-port-inconsistent"
	ServiceTargetPortSidecar          ID = "service-target-port-sidecar"
	ServiceTargetPortUndeclared       ID = "service-target-port-undeclared"
	ServiceTargetPortUnresolved       ID = "service-target-port-unresolved"
	ServiceTolerateUnreadyAnnotation  ID = "service-tolerate-unready-annotation"
	ServiceTrafficPolicyInvalid       ID = "service-traffic-policy-invalid"
	ServiceWithoutEndpoints           ID = "service-without-endpoints"
	StatefulsetServiceName            ID = "statefulset-service-name"
	TLSCertExpired                    ID = "tls-cert-expired"
	TLSCertHostMismatch               ID = "tls-cert-host-mismatch"
	TLSCertInvalid                    ID = "tls-cert-invalid"
	TLSKeyMismatch                    ID = "tls-key-mismatch"
	UnknownAPIVersion                 ID = "unknown-api-version"
	UnknownField                      ID = "unknown-field"
	WorkloadSelectorMismatch          ID = "workload-selector-mismatch"
	YAMLDuplicateKey                  ID = "yaml-duplicate-key"
	YAMLSyntax                        ID = "yaml-syntax"
	YAMLTabs                          ID = "yaml-tabs"
)

// All lists every ID above.
//
//nolint:funlen // the registry: one entry per rule
func All() []ID {
	return []ID{
		APIVersionWrongCase,
		ContainerPortInvalid,
		ContainerPortNameInvalid,
		ContainerRequiredFields,
		DuplicateObject,
		EndpointsAddressInvalid,
		EndpointsDeprecated,
		EndpointsForSelectorService,
		EndpointsPortMismatch,
		EndpointsTargetRefStale,
		EndpointsWithoutService,
		EndpointsliceAddressType,
		EndpointsliceServiceLabelMissing,
		GatewayCertificateExpired,
		GatewayCertificateHostMismatch,
		GatewayCertificateRefInvalid,
		GatewayCertificateRefNotPermitted,
		GatewayClassMissing,
		GatewayListenerConflict,
		GatewayListenerRouteKindsInvalid,
		GatewayStatusMismatch,
		IngressBackendPortMissing,
		IngressBackendServiceMissing,
		IngressClassMissing,
		IngressHostInvalid,
		IngressHostIP,
		IngressHostWithoutTLS,
		IngressPathImplementationSpecific,
		IngressPathInvalid,
		IngressPathTypeMissing,
		IngressRouteConflict,
		IngressRouteShadowed,
		IngressTLSHostUnserved,
		IngressTLSSecretMissing,
		IngressTLSSecretType,
		InvalidDocument,
		InvalidSuppression,
		InvalidValue,
		KindWrongCase,
		MissingTypeMeta,
		ObjectNameInvalid,
		ObjectNameMissing,
		ProbeMultipleHandlers,
		ProbePortUndeclared,
		ProbeReadinessEqualsLiveness,
		ProbeSuccessThreshold,
		ProbeTimeoutExceedsPeriod,
		ReadinessProbeMissing,
		RemovedAPIVersion,
		RouteBackendInvalidKind,
		RouteBackendNotFound,
		RouteBackendRefNotPermitted,
		RouteBackendWeightsZero,
		RouteMatchShadowed,
		RouteNoMatchingListenerHostname,
		RouteNotAllowedByListeners,
		RouteParentNoMatch,
		RouteStatusMismatch,
		SecretDataNotBase64,
		SecretTLSKeys,
		ServiceExternalNameInvalid,
		ServiceHeadlessType,
		ServiceLBSourceRangesInvalid,
		ServiceNodePortConflict,
		ServiceNodePortInvalid,
		ServicePortDuplicate,
		ServicePortNameInvalid,
		ServicePortNameRequired,
		ServicePortsMissing,
		ServiceProtocolMismatch,
		ServiceSelectorNoMatch,
		ServiceSessionAffinityInvalid,
		ServiceTargetPortInconsistent,
		ServiceTargetPortSidecar,
		ServiceTargetPortUndeclared,
		ServiceTargetPortUnresolved,
		ServiceTolerateUnreadyAnnotation,
		ServiceTrafficPolicyInvalid,
		ServiceWithoutEndpoints,
		StatefulsetServiceName,
		TLSCertExpired,
		TLSCertHostMismatch,
		TLSCertInvalid,
		TLSKeyMismatch,
		UnknownAPIVersion,
		UnknownField,
		WorkloadSelectorMismatch,
		YAMLDuplicateKey,
		YAMLSyntax,
		YAMLTabs,
	}
}
