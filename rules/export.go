package rules

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svc-doctor/svc-doctor/snapshot"
)

// This file exports, for the live diagnosis (package diagnose), the port-resolution semantics the
// rules use, so that both agree on how a Service port lands on a pod.

// TargetPortResolution is how a Service port's targetPort lands on one pod (or pod template).
type TargetPortResolution struct {
	// Number is the resolved container port; 0 when a named targetPort is not found.
	Number int32
	// Container is the container that declares the named port ("" for a numeric targetPort).
	Container string
	// WrongProtocol is set when a port of that name exists but with another protocol.
	WrongProtocol corev1.Protocol
	// PlainInit names an init container (not a sidecar) that declares the name: it does not count.
	PlainInit string
}

// ResolveTargetPort mirrors the endpoint controllers' lookup of a named targetPort: the first
// container port (regular containers, then sidecars) with that name and the Service port's
// protocol. A numeric targetPort resolves to itself.
func ResolveTargetPort(w *snapshot.Workload, sp *corev1.ServicePort) TargetPortResolution {
	r := resolveTargetPort(w, sp)
	return TargetPortResolution{Number: r.number, Container: r.container, WrongProtocol: r.wrongProtocol, PlainInit: r.plainInit}
}

// EffectiveTargetPort is a Service port's targetPort, defaulting to its port as the API server does.
func EffectiveTargetPort(sp *corev1.ServicePort) intstr.IntOrString { return effectiveTargetPort(sp) }

// DeclaredPorts lists the container ports a pod (template) declares, for messages:
// "declared: http 8080/TCP, 9090/TCP", or "no container declares a port".
func DeclaredPorts(w *snapshot.Workload) string { return declaredPorts(w) }

// ProbeRuleIDs are the rules that review probe configuration (used by `svc-doctor probes`).
func ProbeRuleIDs() []string {
	return []string{ruleProbeHandlers.ID, ruleProbePort.ID, ruleProbeTimeout.ID, ruleProbeSuccess.ID,
		ruleProbeIdentical.ID, ruleReadinessMissing.ID}
}
