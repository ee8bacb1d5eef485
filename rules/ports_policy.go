package rules

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// This file holds the one policy on declared container ports that the whole product applies: the
// lint rules (service-target-port-undeclared, service-target-port-sidecar, probe-port-undeclared),
// the ports hop of diagnose and expose (which runs the rules on what it is about to create) all
// ask these functions, so a port is judged the same way everywhere.
//
// Declared container ports are informational for the kubelet and kube-proxy: traffic reaches the
// pod on any port. But when the containers do declare their ports, those declarations are
// evidence: a number none of them declares is usually a stale or mistyped port, and a named
// targetPort that only a sidecar declares sends the traffic to the sidecar, not to the app.

// PortVerdict is what the declared ports of one pod (template) say about a port a Service or a
// probe uses.
type PortVerdict struct {
	// Severity is 0 when the declarations agree with the port; Info when nothing is declared at
	// all (nothing to compare with); Warning when the declarations contradict the port.
	Severity report.Severity
	// Container is the serving container that declares the port (or in which a named targetPort
	// resolves); "" when none does.
	Container string
	// Sidecar is set when a named targetPort resolves in a container that is not the one
	// serving the application.
	Sidecar bool
	// Declared lists the declared ports for messages ("declared: http 8080/TCP").
	Declared string
	// Why explains a non-zero Severity.
	Why string
}

// JudgeNumericPort judges a numeric targetPort of a Service against the serving containers of w
// (regular containers and sidecars, any protocol: a protocol mismatch is
// service-protocol-mismatch's finding). The number is borne out when a container declares it, when
// a container's command, arguments or environment name it (--port=18080), or when a probe checks
// it; it is contradicted (a warning) when the containers declare other ports and nothing else
// names it; with no declared port at all there is nothing to compare with (Info).
func JudgeNumericPort(w *snapshot.Workload, n int32) PortVerdict {
	return judgeNumber(w, n, 1)
}

// JudgeProbePort judges the numeric port of a probe the same way: the probe itself does not count
// as evidence, another probe checking the same port does.
func JudgeProbePort(w *snapshot.Workload, n int32) PortVerdict {
	return judgeNumber(w, n, 2)
}

// judgeNumber is JudgeNumericPort with the number of probes that must check n for it to count as
// borne out.
func judgeNumber(w *snapshot.Workload, n int32, probes int) PortVerdict {
	for _, cr := range semantics.ServingContainers(w) {
		for _, p := range cr.Container.Ports {
			if p.ContainerPort == n {
				return PortVerdict{Container: cr.Container.Name}
			}
		}
	}
	checked := 0
	for _, cr := range semantics.ServingContainers(w) {
		if mentionsNumber(cr.Container, n) {
			return PortVerdict{Container: cr.Container.Name}
		}
		for _, pr := range []*corev1.Probe{cr.Container.ReadinessProbe, cr.Container.LivenessProbe, cr.Container.StartupProbe} {
			if probePortNumber(pr) == n {
				checked++
			}
		}
	}
	if checked >= probes {
		return PortVerdict{}
	}
	if !semantics.DeclaresAnyPort(w) {
		return PortVerdict{Severity: report.Info, Declared: semantics.DeclaredPorts(w),
			Why: "declarations are informational, and with none there is nothing to compare with"}
	}
	return PortVerdict{Severity: report.Warning, Declared: semantics.DeclaredPorts(w),
		Why: "declarations are informational, but when containers declare their ports, a number none of them declares, names in its arguments or probes is usually stale or a typo"}
}

// probePortNumber is the numeric port a probe checks (0 for a named port or no network handler).
func probePortNumber(p *corev1.Probe) int32 {
	switch {
	case p == nil:
	case p.HTTPGet != nil && p.HTTPGet.Port.Type == intstr.Int:
		return p.HTTPGet.Port.IntVal
	case p.TCPSocket != nil && p.TCPSocket.Port.Type == intstr.Int:
		return p.TCPSocket.Port.IntVal
	case p.GRPC != nil:
		return p.GRPC.Port
	}
	return 0
}

// mentionsNumber reports whether a container's command, arguments or environment values hold n as
// a number of its own ("--port=8081", "0.0.0.0:8081", "8081"; not "18081").
func mentionsNumber(c *corev1.Container, n int32) bool {
	want := strconv.Itoa(int(n))
	has := func(s string) bool {
		for i := strings.Index(s, want); i >= 0; {
			end := i + len(want)
			if (i == 0 || !isDigit(s[i-1])) && (end == len(s) || !isDigit(s[end])) {
				return true
			}
			j := strings.Index(s[i+1:], want)
			if j < 0 {
				break
			}
			i += 1 + j
		}
		return false
	}
	for _, list := range [][]string{c.Command, c.Args} {
		for _, s := range list {
			if has(s) {
				return true
			}
		}
	}
	for _, e := range c.Env {
		if has(e.Value) {
			return true
		}
	}
	return false
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// JudgeTargetPort judges how the Service port sp lands on w by the declared ports: a numeric
// targetPort through JudgeNumericPort; a named one that resolves in a sidecar (see SidecarReason)
// is a warning, because the traffic goes to that sidecar and not to the application. A named
// targetPort that does not resolve at all is service-target-port-unresolved's finding: the verdict
// is then empty.
func JudgeTargetPort(w *snapshot.Workload, sp *corev1.ServicePort) PortVerdict {
	tp := semantics.EffectiveTargetPort(sp)
	if tp.Type == intstr.Int {
		return JudgeNumericPort(w, tp.IntVal)
	}
	r := semantics.ResolveTargetPort(w, sp)
	if r.Number == 0 {
		return PortVerdict{}
	}
	v := PortVerdict{Container: r.Container}
	if metricsPortName(sp.Name) || metricsPortName(tp.StrVal) {
		return v // a metrics port is meant for the container that exports the metrics
	}
	if why := SidecarReason(w, r.Container); why != "" {
		v.Severity, v.Sidecar = report.Warning, true
		v.Why = fmt.Sprintf("resolves only in container %s, which is not the one serving the application (%s): the traffic goes to that sidecar", r.Container, why)
	}
	return v
}

// SidecarReason says why container name of w is a sidecar rather than the container serving the
// application, or "" when it is (or may be) that container. The application's container is the
// first regular container with a readiness probe, else the first regular container. Another
// container counts as a sidecar when its image is a metrics exporter or a mesh/egress proxy, when
// it has no readiness probe while the application's container has one, or when it comes after
// the first container while that one declares other ports.
func SidecarReason(w *snapshot.Workload, name string) string {
	if w.Spec == nil || len(w.Spec.Containers) == 0 {
		return ""
	}
	app := &w.Spec.Containers[0]
	for i := range w.Spec.Containers {
		if w.Spec.Containers[i].ReadinessProbe != nil {
			app = &w.Spec.Containers[i]
			break
		}
	}
	if app.Name == name {
		return ""
	}
	var c *corev1.Container
	for _, cr := range semantics.ServingContainers(w) {
		if cr.Container.Name == name {
			c = cr.Container
		}
	}
	if c == nil {
		return ""
	}
	if kind := sidecarImage(c.Image); kind != "" {
		return fmt.Sprintf("its image %s is %s", c.Image, kind)
	}
	if app.ReadinessProbe != nil && c.ReadinessProbe == nil {
		return fmt.Sprintf("it has no readiness probe, container %s has one", app.Name)
	}
	first := &w.Spec.Containers[0]
	if first.Name != name && len(first.Ports) > 0 {
		return fmt.Sprintf("the first container, %s, declares %s", first.Name, strings.TrimPrefix(containerPortList(first), "it declares "))
	}
	return ""
}

// sidecarImages are image name fragments of containers that never serve an application's
// Service traffic themselves: metrics exporters, service-mesh proxies, egress proxies, log
// shippers and tracing agents.
var sidecarImages = []struct{ fragment, kind string }{
	{"exporter", "a metrics exporter"},
	{"istio/proxy", "a service-mesh proxy"},
	{"linkerd", "a service-mesh proxy"},
	{"cloud-sql-proxy", "an egress (database) proxy"},
	{"cloudsql-proxy", "an egress (database) proxy"},
	{"cloudsql-docker", "an egress (database) proxy"},
	{"fluent-bit", "a log shipper"},
	{"filebeat", "a log shipper"},
	{"promtail", "a log shipper"},
	{"jaeger-agent", "a tracing agent"},
}

func sidecarImage(image string) string {
	name := strings.ToLower(image)
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	for _, s := range sidecarImages {
		if strings.Contains(name, s.fragment) {
			return s.kind
		}
	}
	return ""
}

func metricsPortName(n string) bool {
	n = strings.ToLower(n)
	return strings.Contains(n, "metric") || strings.Contains(n, "prom") || strings.Contains(n, "exporter")
}
