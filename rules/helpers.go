package rules

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svc-doctor/svc-doctor/snapshot"
)

// selectorString renders a map selector as k=v,k2=v2 in key order.
func selectorString(sel map[string]string) string {
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + sel[k]
	}
	return strings.Join(parts, ",")
}

// objName renders kind/name the way kubectl does (lower-case kind).
func objName(src *snapshot.Source) string {
	return strings.ToLower(src.Ref.Kind) + "/" + src.Ref.Name
}

// objNameNS renders kind/name, with the namespace when it differs from ns.
func objNameNS(src *snapshot.Source, ns string) string {
	if src.Ref.Namespace != ns && src.Ref.Namespace != "" {
		return strings.ToLower(src.Ref.Kind) + "/" + src.Ref.Name + " (namespace " + src.Ref.Namespace + ")"
	}
	return objName(src)
}

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// containerRef is a container of a pod template that takes part in Service traffic: regular
// containers and sidecars (init containers with restartPolicy Always).
type containerRef struct {
	c       *corev1.Container
	path    string // field path of the container
	sidecar bool
}

// servingContainers lists the containers whose ports a Service can target.
func servingContainers(w *snapshot.Workload) []containerRef {
	var out []containerRef
	for i := range w.Spec.Containers {
		out = append(out, containerRef{c: &w.Spec.Containers[i], path: fmt.Sprintf("%s.containers[%d]", w.SpecPath, i)})
	}
	for i := range w.Spec.InitContainers {
		c := &w.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out = append(out, containerRef{c: c, path: fmt.Sprintf("%s.initContainers[%d]", w.SpecPath, i), sidecar: true})
		}
	}
	return out
}

// portResolution is how a Service port's targetPort lands on one pod template.
type portResolution struct {
	number    int32 // resolved container port (0 when unresolved)
	container string
	// wrongProtocol is set when a port of that name exists but with another protocol.
	wrongProtocol corev1.Protocol
	// plainInit names an init container (not a sidecar) that declares the name: it does not count.
	plainInit string
}

// resolveTargetPort mirrors the endpoint controllers' lookup of a named targetPort: the first
// container port (regular containers, then sidecars) with that name and the Service port's
// protocol. A numeric targetPort resolves to itself.
func resolveTargetPort(w *snapshot.Workload, sp *corev1.ServicePort) portResolution {
	tp := effectiveTargetPort(sp)
	if tp.Type == intstr.Int {
		return portResolution{number: tp.IntVal}
	}
	proto := protocolOf(sp.Protocol)
	var res portResolution
	for _, cr := range servingContainers(w) {
		for _, port := range cr.c.Ports {
			if port.Name != tp.StrVal {
				continue
			}
			if protocolOf(port.Protocol) == proto {
				return portResolution{number: port.ContainerPort, container: cr.c.Name}
			}
			res.wrongProtocol = protocolOf(port.Protocol)
		}
	}
	for _, c := range w.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			continue
		}
		for _, port := range c.Ports {
			if port.Name == tp.StrVal {
				res.plainInit = c.Name
			}
		}
	}
	return res
}

// effectiveTargetPort is targetPort, defaulting to port as the API server does.
func effectiveTargetPort(sp *corev1.ServicePort) intstr.IntOrString {
	tp := sp.TargetPort
	if (tp.Type == intstr.Int && tp.IntVal == 0) || (tp.Type == intstr.String && tp.StrVal == "") {
		return intstr.FromInt32(sp.Port)
	}
	return tp
}

// declaredPorts lists a template's container ports for messages: "http 8080/TCP, 9090/TCP".
func declaredPorts(w *snapshot.Workload) string {
	var parts []string
	for _, cr := range servingContainers(w) {
		for _, p := range cr.c.Ports {
			s := strconv.Itoa(int(p.ContainerPort)) + "/" + string(protocolOf(p.Protocol))
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

// declaresAnyPort reports whether any serving container declares a port.
func declaresAnyPort(w *snapshot.Workload) bool {
	for _, cr := range servingContainers(w) {
		if len(cr.c.Ports) > 0 {
			return true
		}
	}
	return false
}

// declaresNumber reports whether any serving container declares port n, and with which protocols.
func declaresNumber(w *snapshot.Workload, n int32) (found bool, protocols []corev1.Protocol) {
	for _, cr := range servingContainers(w) {
		for _, p := range cr.c.Ports {
			if p.ContainerPort == n {
				found = true
				protocols = append(protocols, protocolOf(p.Protocol))
			}
		}
	}
	return found, protocols
}

// portLabel names a Service port in messages: "port http (80/TCP)".
func portLabel(sp *corev1.ServicePort) string {
	s := fmt.Sprintf("%d/%s", sp.Port, protocolOf(sp.Protocol))
	if sp.Name != "" {
		return "port " + sp.Name + " (" + s + ")"
	}
	return "port " + s
}

func names(ws []*snapshot.Workload, ns string) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = objNameNS(w.Src, ns)
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
