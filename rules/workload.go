package rules

import (
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// probeRef is one probe of one container.
type probeRef struct {
	w     *snapshot.Workload
	c     *corev1.Container
	cpath string // field path of the container
	kind  string // readinessProbe, livenessProbe, startupProbe
	probe *corev1.Probe
}

func (r probeRef) field(sub string) string {
	f := r.cpath + "." + r.kind
	if sub != "" {
		f += "." + sub
	}
	return f
}

// allContainers lists every container of a template (init containers included) with its path.
func allContainers(w *snapshot.Workload) []semantics.ServingContainer {
	var out []semantics.ServingContainer
	for i := range w.Spec.InitContainers {
		c := &w.Spec.InitContainers[i]
		out = append(out, semantics.ServingContainer{Container: c, Path: fmt.Sprintf("%s.initContainers[%d]", w.SpecPath, i),
			Sidecar: c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways})
	}
	for i := range w.Spec.Containers {
		out = append(out, semantics.ServingContainer{Container: &w.Spec.Containers[i], Path: fmt.Sprintf("%s.containers[%d]", w.SpecPath, i)})
	}
	return out
}

func probes(s *snapshot.Snapshot) []probeRef {
	var out []probeRef
	for _, w := range s.Workloads {
		for _, cr := range allContainers(w) {
			for _, k := range []struct {
				name string
				p    *corev1.Probe
			}{{"readinessProbe", cr.Container.ReadinessProbe}, {"livenessProbe", cr.Container.LivenessProbe}, {"startupProbe", cr.Container.StartupProbe}} {
				if k.p != nil {
					out = append(out, probeRef{w: w, c: cr.Container, cpath: cr.Path, kind: k.name, probe: k.p})
				}
			}
		}
	}
	return out
}

func handlers(p *corev1.Probe) []string {
	var h []string
	if p.Exec != nil {
		h = append(h, "exec")
	}
	if p.HTTPGet != nil {
		h = append(h, "httpGet")
	}
	if p.TCPSocket != nil {
		h = append(h, "tcpSocket")
	}
	if p.GRPC != nil {
		h = append(h, "grpc")
	}
	return h
}

var ruleProbeHandlers = &Rule{
	ID: "probe-multiple-handlers", Severity: report.Error, Category: CatWorkload,
	Summary:     "probe with more than one handler (exec, httpGet, tcpSocket, grpc), or none",
	Remediation: "Keep exactly one handler per probe; a container has at most one probe of each kind.",
	Docs: "A probe runs exactly one check. The API server rejects a probe that declares several handlers " +
		"(`may not specify more than 1 handler type`) — writing exec, httpGet and tcpSocket together does not run " +
		"three checks. To check several things, use one exec command or an HTTP endpoint that checks them all.",
	Check: func(p *Pass) {
		for _, pr := range probes(p.Snap) {
			h := handlers(pr.probe)
			switch {
			case len(h) > 1:
				p.Report(pr.w.Src, pr.field(h[1]), "%s of container %s declares %d handlers (%s); a probe takes exactly one, the API server rejects this",
					pr.kind, pr.c.Name, len(h), strings.Join(h, ", "))
			case len(h) == 0:
				p.Report(pr.w.Src, pr.field(""), "%s of container %s has no handler: add exec, httpGet, tcpSocket or grpc", pr.kind, pr.c.Name)
			}
		}
	},
}

var ruleProbePort = &Rule{
	ID: "probe-port-undeclared", Severity: report.Error, Category: CatWorkload,
	Summary:     "probe port name that the container does not define (or a number it does not declare)",
	Remediation: "Use a port name declared in the same container's ports, or the port number the application listens on.",
	Docs: "A named probe port is looked up in the container's own `ports`; if it is missing the probe fails on every " +
		"attempt and a readiness probe keeps the pod out of every Service. A numeric port that the container does " +
		"not declare still works (ports are informational) and is only reported as information.",
	Check: func(p *Pass) {
		for _, pr := range probes(p.Snap) {
			var port intstr.IntOrString
			var sub string
			switch {
			case pr.probe.HTTPGet != nil:
				port, sub = pr.probe.HTTPGet.Port, "httpGet.port"
			case pr.probe.TCPSocket != nil:
				port, sub = pr.probe.TCPSocket.Port, "tcpSocket.port"
			case pr.probe.GRPC != nil:
				port, sub = intstr.FromInt32(pr.probe.GRPC.Port), "grpc.port"
			default:
				continue
			}
			if port.Type == intstr.String {
				found := false
				for _, cp := range pr.c.Ports {
					if cp.Name == port.StrVal {
						found = true
					}
				}
				if !found {
					p.Report(pr.w.Src, pr.field(sub), "%s of container %s uses port %q, which the container does not define (%s): the probe always fails",
						pr.kind, pr.c.Name, port.StrVal, containerPortList(pr.c))
				}
				continue
			}
			if len(pr.c.Ports) == 0 {
				continue // nothing declared at all: nothing to compare with
			}
			found := false
			for _, cp := range pr.c.Ports {
				if cp.ContainerPort == port.IntVal {
					found = true
				}
			}
			if !found {
				p.ReportSeverity(report.Info, pr.w.Src, pr.field(sub), "%s of container %s checks port %d, which the container does not declare (%s); fine if the application listens there",
					pr.kind, pr.c.Name, port.IntVal, containerPortList(pr.c))
			}
		}
	},
}

func containerPortList(c *corev1.Container) string {
	if len(c.Ports) == 0 {
		return "it declares no ports"
	}
	var parts []string
	for _, p := range c.Ports {
		s := fmt.Sprint(p.ContainerPort)
		if p.Name != "" {
			s = p.Name + " " + s
		}
		parts = append(parts, s)
	}
	return "it declares " + strings.Join(parts, ", ")
}

var ruleProbeTimeout = &Rule{
	ID: "probe-timeout-exceeds-period", Severity: report.Warning, Category: CatWorkload,
	Summary:     "probe timeoutSeconds at or above periodSeconds",
	Remediation: "Keep timeoutSeconds below periodSeconds (defaults: timeout 1s, period 10s).",
	Docs: "The kubelet runs a container's probes one at a time and skips the ticks it misses, so with timeoutSeconds " +
		"at or above periodSeconds a slow endpoint stretches the real probe interval and delays detection; the " +
		"configured period is not what happens. Keep the timeout well below the period.",
	Check: func(p *Pass) {
		for _, pr := range probes(p.Snap) {
			timeout, period := pr.probe.TimeoutSeconds, pr.probe.PeriodSeconds
			if timeout == 0 {
				timeout = 1
			}
			if period == 0 {
				period = 10
			}
			if timeout >= period {
				p.Report(pr.w.Src, pr.field("timeoutSeconds"), "%s of container %s: timeoutSeconds %d is not below periodSeconds %d", pr.kind, pr.c.Name, timeout, period)
			}
		}
	},
}

var ruleProbeSuccess = &Rule{
	ID: "probe-success-threshold", Severity: report.Error, Category: CatWorkload,
	Summary:     "liveness or startup probe with successThreshold other than 1",
	Remediation: "Remove successThreshold from liveness and startup probes (it must be 1).",
	Docs:        "Only readiness probes may require several consecutive successes; the API server rejects successThreshold != 1 on liveness and startup probes.",
	Check: func(p *Pass) {
		for _, pr := range probes(p.Snap) {
			if pr.kind != "readinessProbe" && pr.probe.SuccessThreshold > 1 {
				p.Report(pr.w.Src, pr.field("successThreshold"), "%s of container %s has successThreshold %d; it must be 1 for %s", pr.kind, pr.c.Name, pr.probe.SuccessThreshold, pr.kind)
			}
		}
	},
}

var ruleProbeIdentical = &Rule{
	ID: "probe-readiness-equals-liveness", Severity: report.Warning, Category: CatWorkload,
	Summary:     "identical readiness and liveness probes",
	Remediation: "Make the liveness probe cheaper and more tolerant (larger failureThreshold) than the readiness probe, or drop it.",
	Docs: "Readiness takes a pod out of the Service; liveness restarts it. With identical probes a slow dependency " +
		"or a load spike restarts pods that only needed a pause from traffic, which turns a brown-out into an outage.",
	Check: func(p *Pass) {
		for _, w := range p.Snap.Workloads {
			for _, cr := range allContainers(w) {
				r, l := cr.Container.ReadinessProbe, cr.Container.LivenessProbe
				if r == nil || l == nil || !reflect.DeepEqual(r, l) {
					continue
				}
				p.Report(w.Src, cr.Path+".livenessProbe", "container %s has identical readiness and liveness probes: a failing check restarts the pod instead of only taking it out of the Service", cr.Container.Name)
			}
		}
	},
}

var ruleReadinessMissing = &Rule{
	ID: "readiness-probe-missing", Severity: report.Warning, Category: CatWorkload,
	Summary:     "container behind a Service without a readiness probe",
	Remediation: "Add a readinessProbe that succeeds only when the container can serve (an HTTP health path or a TCP check of the served port).",
	Docs: "Without a readiness probe a pod counts as ready as soon as its containers start, so the Service sends " +
		"requests to it while it is still loading, and keeps sending them when it cannot serve. Only containers " +
		"that serve a port of a Service that selects them are checked; pods that run to completion (Jobs, " +
		"CronJobs, Pods with restartPolicy Never or OnFailure, Helm hooks such as a chart's test Pod) are not " +
		"Service backends and are not checked.",
	Check: func(p *Pass) {
		for _, w := range p.Snap.Workloads {
			var svcs []*snapshot.Service
			for _, svc := range p.Snap.SelectingServices(w) {
				if !semantics.IsExternalName(svc.Service) {
					svcs = append(svcs, svc)
				}
			}
			if len(svcs) == 0 {
				continue
			}
			for _, cr := range semantics.ServingContainers(w) {
				if cr.Container.ReadinessProbe != nil {
					continue
				}
				svc, ok := servedBy(w, cr.Container, svcs)
				if !ok {
					continue
				}
				p.Report(w.Src, cr.Path, "container %s serves service/%s but has no readinessProbe: it receives traffic as soon as it starts", cr.Container.Name, svc.Name)
			}
		}
	},
}

// servedBy returns a Service whose target port this container declares; when no container of the
// template declares any target port, the first container counts as the one serving.
func servedBy(w *snapshot.Workload, c *corev1.Container, svcs []*snapshot.Service) (*snapshot.Service, bool) {
	anyDeclared := false
	for _, svc := range svcs {
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			r := semantics.ResolveTargetPort(w, sp)
			if r.Number == 0 {
				continue
			}
			for _, cr := range semantics.ServingContainers(w) {
				for _, cp := range cr.Container.Ports {
					if cp.ContainerPort == r.Number {
						anyDeclared = true
						if cr.Container == c {
							return svc, true
						}
					}
				}
			}
		}
	}
	if !anyDeclared && len(w.Spec.Containers) > 0 && &w.Spec.Containers[0] == c {
		return svcs[0], true
	}
	return nil, false
}

var ruleWorkloadSelector = &Rule{
	ID: "workload-selector-mismatch", Severity: report.Error, Category: CatWorkload,
	Summary:     "workload whose selector is missing or does not match its own pod template labels",
	Remediation: "Make spec.selector a subset of spec.template.metadata.labels.",
	Docs: "A Deployment, ReplicaSet, StatefulSet, DaemonSet or ReplicationController manages the pods its selector " +
		"matches; the API server rejects one whose selector does not match its own template (`selector does not " +
		"match template labels`). In apps/v1 the selector is required and may not be empty: the old " +
		"extensions/v1beta1 default (the template's labels) is gone.",
	Check: func(p *Pass) {
		for _, w := range p.Snap.Workloads {
			if w.Pod != nil {
				continue
			}
			if w.Selector == nil {
				if w.SelectorRequired {
					p.Report(w.Src, w.SelectorPath, "%s has no spec.selector (or an empty one): %s requires one, e.g. matchLabels: %s",
						w.Src.Ref.Kind, w.Src.Ref.APIVersion, labelsOrNone(w.Labels))
				}
				continue
			}
			if !w.Selector.Matches(labels.Set(w.Labels)) {
				p.Report(w.Src, w.SelectorPath, "selector %s does not match the template labels %s", w.Selector.String(), labelsOrNone(w.Labels))
			}
		}
	},
}

func labelsOrNone(l map[string]string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return semantics.SelectorString(l)
}

var ruleContainerPortName = &Rule{
	ID: "container-port-name-invalid", Severity: report.Error, Category: CatWorkload,
	Summary:     "container port name that is invalid or used twice",
	Remediation: "Name ports with at most 15 lower-case letters, digits and '-', including a letter, unique within the pod.",
	Docs: "Container port names are IANA service names (at most 15 characters: `http`, `metrics`, `grpc-web`); the " +
		"API server rejects an invalid name or the same name twice in one container. The same name in two " +
		"containers is accepted, but a Service's named targetPort then always picks the first container's port " +
		"(a warning).",
	Check: func(p *Pass) {
		for _, w := range p.Snap.Workloads {
			inPod := map[string]string{}
			for _, cr := range allContainers(w) {
				inContainer := map[string]bool{}
				for i, cp := range cr.Container.Ports {
					if cp.Name == "" {
						continue
					}
					field := fmt.Sprintf("%s.ports[%d].name", cr.Path, i)
					if errs := validation.IsValidPortName(cp.Name); len(errs) > 0 {
						p.Report(w.Src, field, "port name %q is invalid: %s", cp.Name, strings.Join(errs, "; "))
						continue
					}
					if inContainer[cp.Name] {
						p.Report(w.Src, field, "port name %q is used twice in container %s", cp.Name, cr.Container.Name)
						continue
					}
					inContainer[cp.Name] = true
					if other, ok := inPod[cp.Name]; ok {
						p.ReportSeverity(report.Warning, w.Src, field, "port name %q is also used by container %s: a Service's named targetPort resolves to %s's port, never to this one", cp.Name, other, other)
						continue
					}
					inPod[cp.Name] = cr.Container.Name
				}
			}
		}
	},
}

var ruleContainerPortInvalid = &Rule{
	ID: "container-port-invalid", Severity: report.Error, Category: CatWorkload,
	Summary:     "container port without a containerPort, or a containerPort or hostPort outside 1-65535",
	Remediation: "Set containerPort to the port the process listens on, between 1 and 65535 (and hostPort, when set, too).",
	Docs: "Each entry of a container's `ports` needs a `containerPort` between 1 and 65535, and a `hostPort`, when " +
		"set, must be in the same range: the API server rejects the pod otherwise (`must be between 1 and 65535, " +
		"inclusive`). A Service whose targetPort names such a port could never reach it anyway.",
	Check: func(p *Pass) {
		valid := func(port int32) bool { return port >= 1 && port <= 65535 }
		for _, w := range p.Snap.Workloads {
			check := func(c *corev1.Container, list string, ci int) {
				for i, cp := range c.Ports {
					if valid(cp.ContainerPort) && (cp.HostPort == 0 || valid(cp.HostPort)) {
						continue // the common case, without building field paths
					}
					entry := fmt.Sprintf("%s.%s[%d].ports[%d]", w.SpecPath, list, ci, i)
					field := entry + ".containerPort"
					switch {
					case valid(cp.ContainerPort):
					case cp.ContainerPort == 0 && p.Snap.HasIssueUnder(w.Src, field):
						// a value of the wrong type, reported as invalid-value already
					case cp.ContainerPort == 0 && !written(w.Src, field):
						what := fmt.Sprintf("ports[%d]", i)
						if cp.Name != "" {
							what += " (" + cp.Name + ")"
						}
						p.Report(w.Src, entry, "%s of container %s has no containerPort: every container port needs a number (1-65535)", what, c.Name)
					default:
						p.Report(w.Src, field, "containerPort %d of container %s is not a valid port number (1-65535)", cp.ContainerPort, c.Name)
					}
					if cp.HostPort != 0 && !valid(cp.HostPort) {
						p.Report(w.Src, entry+".hostPort", "hostPort %d of container %s is not a valid port number (1-65535)", cp.HostPort, c.Name)
					}
				}
			}
			for i := range w.Spec.InitContainers {
				check(&w.Spec.InitContainers[i], "initContainers", i)
			}
			for i := range w.Spec.Containers {
				check(&w.Spec.Containers[i], "containers", i)
			}
		}
	},
}

var ruleContainerRequired = &Rule{
	ID: "container-required-fields", Severity: report.Error, Category: CatWorkload,
	Summary:     "container without a name or an image, or a pod template without containers",
	Remediation: "Give every container a name and an image.",
	Docs:        "The API server rejects a container without `name` or `image`, and a pod without containers.",
	Check: func(p *Pass) {
		for _, w := range p.Snap.Workloads {
			if w.Pod != nil {
				continue
			}
			if len(w.Spec.Containers) == 0 {
				p.Report(w.Src, w.SpecPath, "the pod template has no containers")
			}
			for _, cr := range allContainers(w) {
				var missing []string
				if cr.Container.Name == "" {
					missing = append(missing, "name")
				}
				if cr.Container.Image == "" {
					missing = append(missing, "image")
				}
				if len(missing) > 0 {
					who := "container"
					if cr.Container.Name != "" {
						who += " " + cr.Container.Name
					}
					p.Report(w.Src, cr.Path, "%s has no %s", who, strings.Join(missing, " and "))
				}
			}
		}
	},
}
