package rules

import (
	"fmt"
	"iter"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// The Service rules about where a port lands in the selected pods: the targetPort, numeric or
// named, and its protocol, judged against the container ports of every selected workload.

// servicePortTarget is a port of a Service with a selector and where it lands: the effective
// targetPort and the workloads the selector picks.
type servicePortTarget struct {
	svc *snapshot.Service
	// i is the port's index in spec.ports.
	i  int
	sp *corev1.ServicePort
	tp intstr.IntOrString
	ws []*snapshot.Workload
}

// field is the path of a field of the port ("targetPort", "protocol").
func (t servicePortTarget) field(name string) string {
	return fmt.Sprintf("spec.ports[%d].%s", t.i, name)
}

// targetPorts yields the ports of the Services with a selector whose effective targetPort is of
// type typ (a number or a name). A port without a port number is left out: service-ports-missing
// says so, nothing else applies.
func targetPorts(s *snapshot.Snapshot, typ intstr.Type) iter.Seq[servicePortTarget] {
	return func(yield func(servicePortTarget) bool) {
		for _, svc := range selectorServices(s) {
			for i := range svc.Spec.Ports {
				sp := &svc.Spec.Ports[i]
				if sp.Port == 0 {
					continue
				}
				tp := semantics.EffectiveTargetPort(sp)
				if tp.Type != typ {
					continue
				}
				if !yield(servicePortTarget{svc: svc, i: i, sp: sp, tp: tp, ws: s.SelectedWorkloads(svc)}) {
					return
				}
			}
		}
	}
}

var ruleTargetPortUndeclared = &Rule{
	ID: "service-target-port-undeclared", Severity: report.Warning, Category: CatService,
	Summary:     "numeric targetPort that none of the selected containers declares, while they declare other ports",
	Remediation: "Fix the targetPort (use the container port's name, or the number it declares), or declare the port in the container's ports.",
	Docs: "Container ports are informational: traffic reaches the pod on the targetPort whether or not a container " +
		"declares it. But when the selected containers declare their ports, those declarations are evidence: a " +
		"numeric targetPort none of them declares is almost always a typo or a stale value after the application's " +
		"port changed, and the Service then sends every connection to a port nothing listens on (a warning). A " +
		"number that a container's command, arguments or environment name (`--port=18080`), or that a probe checks, " +
		"counts as intended. When no container declares any port there is nothing to compare with and nothing is reported. The same policy " +
		"decides in `diagnose` (the ports hop) and in `expose`, which creates such a Service with this warning.",
	PerService: true,
	Check: func(p *Pass) {
		for t := range targetPorts(p.Snap, intstr.Int) {
			var missing []*snapshot.Workload
			var first PortVerdict
			for _, w := range t.ws {
				if v := JudgeNumericPort(w, t.tp.IntVal); v.Severity >= report.Warning {
					if len(missing) == 0 {
						first = v
					}
					missing = append(missing, w)
				}
			}
			if len(missing) == 0 {
				continue
			}
			field := t.field("targetPort")
			if t.sp.TargetPort.IntVal == 0 && t.sp.TargetPort.StrVal == "" {
				field = t.field("port")
			}
			p.Report(t.svc.Src, field, "targetPort %d of %s is not declared by %s (%s): %s; connections go to %d, which works only if the process listens there",
				t.tp.IntVal, semantics.PortLabel(t.sp), names(missing, t.svc.Namespace), first.Declared, first.Why, t.tp.IntVal)
		}
	},
}

var ruleTargetPortSidecar = &Rule{
	ID: "service-target-port-sidecar", Severity: report.Warning, Category: CatService,
	Summary:     "named targetPort that resolves only in a sidecar, not in the container serving the application",
	Remediation: "Point the targetPort at the application container's port (its name or number); if the sidecar is meant to front the app, suppress this finding with the reason.",
	Docs: "A named targetPort resolves to the first container port with that name, whichever container declares it. " +
		"When only a sidecar declares it, every connection of the Service goes to the sidecar: a metrics exporter, a " +
		"mesh or database proxy, a log shipper. A container counts as a sidecar when its image is one of those, when " +
		"it has no readiness probe while the application's container (the first with a readiness probe, else the " +
		"first) has one, or when it comes after the first container while that one declares other ports. A port " +
		"named for metrics (`metrics`, `prom...`) is meant for an exporter and is not reported. The ports hop of " +
		"`diagnose` applies the same judgement to the live pods.",
	PerService: true,
	Check: func(p *Pass) {
		for t := range targetPorts(p.Snap, intstr.String) {
			for _, w := range t.ws {
				if v := JudgeTargetPort(w, t.sp); v.Sidecar {
					p.Report(t.svc.Src, t.field("targetPort"), "targetPort %q of %s on %s %s",
						t.sp.TargetPort.StrVal, semantics.PortLabel(t.sp), objNameNS(w.Src, t.svc.Namespace), v.Why)
					break
				}
			}
		}
	},
}

var ruleTargetPortUnresolved = &Rule{
	ID: "service-target-port-unresolved", Severity: report.Error, Category: CatService,
	Summary:     "named targetPort that a selected pod template does not define",
	Remediation: "Name the container port exactly like the Service's targetPort (same protocol) in every selected pod template, or use the port number.",
	Docs: "A named `targetPort` is looked up in each pod: the first container port (of a regular container, or of a " +
		"sidecar, an init container with `restartPolicy: Always`) with that name and the Service port's protocol. A " +
		"pod without it is left out of the Service's endpoints, silently. Every selected template must define it.",
	PerService: true,
	Check: func(p *Pass) {
		for t := range targetPorts(p.Snap, intstr.String) {
			for _, w := range t.ws {
				r := semantics.ResolveTargetPort(w, t.sp)
				if r.Number != 0 {
					continue
				}
				why := semantics.DeclaredPorts(w)
				switch {
				case r.WrongProtocol != "":
					why = fmt.Sprintf("it is declared as %s, the Service port is %s", r.WrongProtocol, semantics.Protocol(t.sp.Protocol))
				case r.PlainInit != "":
					why = fmt.Sprintf("only init container %s declares it, and it is not a sidecar (restartPolicy: Always)", r.PlainInit)
				}
				p.Report(t.svc.Src, t.field("targetPort"), "targetPort %q of %s is not a port of %s (%s): its pods get no endpoint for this port",
					t.tp.StrVal, semantics.PortLabel(t.sp), objNameNS(w.Src, t.svc.Namespace), why)
			}
		}
	},
}

var ruleTargetPortInconsistent = &Rule{
	ID: "service-target-port-inconsistent", Severity: report.Info, Category: CatService,
	Summary:     "named targetPort that resolves to different numbers on different selected templates",
	Remediation: "Check that this is intended (for example during a port migration).",
	Docs: "A named targetPort can legitimately map to different container ports per pod; it is a common way to " +
		"migrate ports. It is reported so that an accidental mismatch (two workloads selected by one Service) is seen.",
	PerService: true,
	Check: func(p *Pass) {
		for t := range targetPorts(p.Snap, intstr.String) {
			byNumber := map[int32][]string{}
			for _, w := range t.ws {
				if r := semantics.ResolveTargetPort(w, t.sp); r.Number != 0 {
					byNumber[r.Number] = append(byNumber[r.Number], objName(w.Src))
				}
			}
			if len(byNumber) < 2 {
				continue
			}
			var parts []string
			for n, who := range byNumber {
				parts = append(parts, fmt.Sprintf("%d on %s", n, strings.Join(who, ", ")))
			}
			sort.Strings(parts)
			p.Report(t.svc.Src, t.field("targetPort"), "targetPort %q resolves to different ports: %s", t.sp.TargetPort.StrVal, strings.Join(parts, "; "))
		}
	},
}

var ruleProtocolMismatch = &Rule{
	ID: "service-protocol-mismatch", Severity: report.Warning, Category: CatService,
	Summary:     "Service port protocol differs from the container port's protocol",
	Remediation: "Use the same protocol (TCP, UDP or SCTP) on the Service port and the container port.",
	Docs: "A Service port forwards only its own protocol. A UDP Service in front of a container that declares the " +
		"port only as TCP (a classic with DNS on port 53) never reaches the application.",
	PerService: true,
	Check: func(p *Pass) {
		for t := range targetPorts(p.Snap, intstr.Int) {
			for _, w := range t.ws {
				found, protos := semantics.DeclaresNumber(w, t.tp.IntVal)
				if !found {
					continue
				}
				ok := false
				for _, pr := range protos {
					if pr == semantics.Protocol(t.sp.Protocol) {
						ok = true
					}
				}
				if !ok {
					p.Report(t.svc.Src, t.field("protocol"), "%s targets %d, which %s declares only as %s",
						semantics.PortLabel(t.sp), t.tp.IntVal, objNameNS(w.Src, t.svc.Namespace), protos[0])
				}
			}
		}
	},
}
