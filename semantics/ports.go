package semantics

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svc-doctor/svc-doctor/snapshot"
)

// ServingContainer is a container of a pod (template) that takes part in Service traffic: regular
// containers and sidecars (init containers with restartPolicy Always).
type ServingContainer struct {
	Container *corev1.Container
	// Path is the container's field path, e.g. spec.template.spec.containers[0].
	Path    string
	Sidecar bool
}

// ServingContainers lists the containers whose ports a Service can target.
func ServingContainers(w *snapshot.Workload) []ServingContainer {
	var out []ServingContainer
	for i := range w.Spec.Containers {
		out = append(out, ServingContainer{Container: &w.Spec.Containers[i], Path: fmt.Sprintf("%s.containers[%d]", w.SpecPath, i)})
	}
	for i := range w.Spec.InitContainers {
		c := &w.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out = append(out, ServingContainer{Container: c, Path: fmt.Sprintf("%s.initContainers[%d]", w.SpecPath, i), Sidecar: true})
		}
	}
	return out
}

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
	tp := EffectiveTargetPort(sp)
	if tp.Type == intstr.Int {
		return TargetPortResolution{Number: tp.IntVal}
	}
	proto := Protocol(sp.Protocol)
	var res TargetPortResolution
	for _, cr := range ServingContainers(w) {
		for _, port := range cr.Container.Ports {
			if port.Name != tp.StrVal {
				continue
			}
			if Protocol(port.Protocol) == proto {
				return TargetPortResolution{Number: port.ContainerPort, Container: cr.Container.Name}
			}
			res.WrongProtocol = Protocol(port.Protocol)
		}
	}
	for _, c := range w.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			continue
		}
		for _, port := range c.Ports {
			if port.Name == tp.StrVal {
				res.PlainInit = c.Name
			}
		}
	}
	return res
}

// DeclaredPorts lists the container ports a pod (template) declares, for messages:
// "declared: http 8080/TCP, 9090/TCP", or "no container declares a port".
func DeclaredPorts(w *snapshot.Workload) string {
	var parts []string
	for _, cr := range ServingContainers(w) {
		for _, p := range cr.Container.Ports {
			s := strconv.Itoa(int(p.ContainerPort)) + "/" + string(Protocol(p.Protocol))
			if p.Name != "" {
				s = p.Name + " " + s
			}
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "no container declares a port"
	}
	return "declared: " + strings.Join(parts, ", ")
}

// DeclaresAnyPort reports whether any serving container declares a port.
func DeclaresAnyPort(w *snapshot.Workload) bool {
	for _, cr := range ServingContainers(w) {
		if len(cr.Container.Ports) > 0 {
			return true
		}
	}
	return false
}

// DeclaresNumber reports whether any serving container declares port n, and with which
// protocols.
func DeclaresNumber(w *snapshot.Workload, n int32) (found bool, protocols []corev1.Protocol) {
	for _, cr := range ServingContainers(w) {
		for _, p := range cr.Container.Ports {
			if p.ContainerPort == n {
				found = true
				protocols = append(protocols, Protocol(p.Protocol))
			}
		}
	}
	return found, protocols
}
