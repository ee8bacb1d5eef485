package rules

import (
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// selectorServices are the Services whose endpoints a selector decides.
func selectorServices(s *snapshot.Snapshot) []*snapshot.Service {
	var out []*snapshot.Service
	for _, svc := range s.Services {
		if len(svc.Spec.Selector) > 0 && !semantics.IsExternalName(svc.Service) {
			out = append(out, svc)
		}
	}
	return out
}

var ruleSelectorNoMatch = &Rule{
	ID: "service-selector-no-match", Severity: report.Error, Category: CatService,
	Summary:     "Service selector that matches no pod",
	Remediation: "Make spec.selector equal to (a subset of) the pod template labels of the workload that should serve it.",
	Docs: "A Service sends traffic to the pods whose labels include every key=value of its selector, in its own " +
		"namespace. When none match, the Service has no endpoints and connections are refused or time out. The " +
		"message names near misses: workloads whose labels differ by one key or value, and matching workloads in " +
		"other namespaces. When the input holds no workloads in the Service's namespace at all, the selector " +
		"cannot be checked and the finding is only informational (\"not found in the given manifests\"). Pods " +
		"that run to completion (Jobs, CronJobs, Pods with restartPolicy Never or OnFailure, Helm hooks such as " +
		"the `helm create` test Pod) do not count as matches: a Service that selects only those has endpoints " +
		"only while they run (a warning; informational for a headless Service, the way a Job's pods find each other).",
	PerService: true,
	Check: func(p *Pass) {
		for _, svc := range selectorServices(p.Snap) {
			if len(p.Snap.SelectedWorkloads(svc)) > 0 {
				continue
			}
			sel := semantics.SelectorString(svc.Spec.Selector)
			hints := nearMisses(p.Snap, svc)
			if rtc := p.Snap.SelectedRunToCompletion(svc); len(rtc) > 0 {
				what := "pod template"
				if p.Snap.Live {
					what = "pod"
				}
				sev := report.Warning
				if semantics.IsHeadless(svc.Service) {
					sev = report.Info
				}
				p.ReportSeverity(sev, svc.Src, "spec.selector",
					"selector %s matches only %s, which %s to completion: no long-running %s in namespace %s matches, so the Service has endpoints only while %s%s",
					sel, completionList(rtc, svc.Namespace), plural(len(rtc), "runs", "run"), what, svc.Namespace, plural(len(rtc), "it runs", "they run"), hints)
				continue
			}
			if !p.Snap.Complete("Pod", svc.Namespace) {
				p.ReportSeverity(report.Info, svc.Src, "spec.selector",
					"selector %s: no pod template with these labels in the given manifests (they hold no workloads in namespace %s)%s", sel, svc.Namespace, hints)
				continue
			}
			what := "pod template"
			if p.Snap.Live {
				what = "pod"
			}
			p.Report(svc.Src, "spec.selector", "selector %s matches no %s in namespace %s, so the Service has no endpoints%s", sel, what, svc.Namespace, hints)
		}
	},
}

// nearMisses describes workloads that almost match a Service's selector.
func nearMisses(s *snapshot.Snapshot, svc *snapshot.Service) string {
	var hints []string
	seen := map[string]bool{}
	for _, w := range s.Workloads {
		if w.RunsToCompletion() {
			continue // never a Service's backend, not even a near one
		}
		if w.Src.Ref.Namespace != svc.Namespace {
			if snapshot.Selects(svc.Spec.Selector, w) {
				hints = append(hints, fmt.Sprintf("%s matches but is in namespace %s (a Service only selects pods of its own namespace)", objName(w.Src), w.Src.Ref.Namespace))
			}
			continue
		}
		var diff []string
		for _, k := range sortedKeys(svc.Spec.Selector) {
			want := svc.Spec.Selector[k]
			got, ok := w.Labels[k]
			switch {
			case !ok:
				diff = append(diff, fmt.Sprintf("has no label %s", k))
			case got != want:
				diff = append(diff, fmt.Sprintf("has %s=%s", k, got))
			}
		}
		// a near miss differs by one label; with a one-key selector it must at least carry the key
		valueDiff := len(diff) == 1 && !strings.HasPrefix(diff[0], "has no ")
		if len(diff) == 1 && (valueDiff || len(svc.Spec.Selector) > 1) {
			h := objName(w.Src) + " " + diff[0]
			if !seen[h] {
				seen[h] = true
				hints = append(hints, h)
			}
		}
	}
	if len(hints) == 0 {
		return ""
	}
	if len(hints) > 3 {
		hints = append(hints[:3], fmt.Sprintf("%d more", len(hints)-3))
	}
	return "; near misses: " + strings.Join(hints, "; ")
}

// completionList names run-to-completion workloads with what makes them so:
// "job/migrate (a Job), pod/web-test (a Helm test hook)".
func completionList(ws []*snapshot.Workload, ns string) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		why := "a " + w.Src.Ref.Kind
		if hook, ok := w.Src.Annotations[snapshot.HelmHookAnnotation]; ok {
			why = "a Helm hook"
			if hook != "" {
				why = "a Helm " + strings.ReplaceAll(hook, ",", "/") + " hook"
			}
		} else if w.Src.Ref.Kind == "Pod" {
			why = "restartPolicy " + string(w.Spec.RestartPolicy)
		}
		parts[i] = objNameNS(w.Src, ns) + " (" + why + ")"
	}
	if len(parts) > 3 {
		parts = append(parts[:3], fmt.Sprintf("%d more", len(parts)-3))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var ruleNoEndpoints = &Rule{
	ID: "service-without-endpoints", Severity: report.Warning, Category: CatService,
	Summary:     "Service without selector and without Endpoints or EndpointSlices of its own",
	Remediation: "Add a selector, or create an EndpointSlice labelled kubernetes.io/service-name=<service> (or an Endpoints object of the same name).",
	Docs: "Without a selector Kubernetes creates no endpoints: they must be written by hand (the way to point a " +
		"Service at addresses outside the cluster). A selector-less Service without them routes nowhere. An " +
		"EndpointSlice belongs to the Service named by its `kubernetes.io/service-name` label; an Endpoints object " +
		"to the Service with the same name. When the input holds no endpoints objects in that namespace the " +
		"finding is informational.",
	PerService: true,
	Check: func(p *Pass) {
		for _, svc := range p.Snap.Services {
			if len(svc.Spec.Selector) > 0 || semantics.IsExternalName(svc.Service) {
				continue
			}
			if hasManualEndpoints(p.Snap, svc) {
				continue
			}
			complete := p.Snap.Complete("Endpoints", svc.Namespace) || p.Snap.Complete("EndpointSlice", svc.Namespace)
			if !complete {
				p.ReportSeverity(report.Info, svc.Src, "spec",
					"Service has no selector, and no EndpointSlice or Endpoints named for it is in the given manifests: unless they are created elsewhere it routes nowhere")
				continue
			}
			p.Report(svc.Src, "spec", "Service has no selector and no EndpointSlice (label kubernetes.io/service-name=%s) or Endpoints named %s: it routes nowhere", svc.Name, svc.Name)
		}
	},
}

func hasManualEndpoints(s *snapshot.Snapshot, svc *snapshot.Service) bool {
	for _, ep := range s.Endpoints {
		if ep.Namespace == svc.Namespace && ep.Name == svc.Name {
			return true
		}
	}
	for _, es := range s.EndpointSlices {
		if es.Namespace == svc.Namespace && es.Labels[serviceNameLabel] == svc.Name {
			return true
		}
	}
	return false
}

var rulePortNameRequired = &Rule{
	ID: "service-port-name-required", Severity: report.Error, Category: CatService,
	Summary:     "multi-port Service with an unnamed port",
	Remediation: "Give every port of a multi-port Service a unique name (http, https, metrics...).",
	Docs: "When a Service has more than one port, each needs a name: the API server rejects the Service otherwise " +
		"(`spec.ports[1].name: Required value`). Names also tie Service ports to EndpointSlice ports and SRV records " +
		"(`_http._tcp.<service>`).",
	PerService: true,
	Check: func(p *Pass) {
		for _, svc := range p.Snap.Services {
			if len(svc.Spec.Ports) < 2 {
				continue
			}
			for i, sp := range svc.Spec.Ports {
				// a port without a port number is service-ports-missing's finding, and only that
				if sp.Name == "" && sp.Port != 0 {
					p.Report(svc.Src, fmt.Sprintf("spec.ports[%d]", i), "%s has no name; a Service with %d ports needs a name on each", semantics.PortLabel(&svc.Spec.Ports[i]), len(svc.Spec.Ports))
				}
			}
		}
	},
}

var rulePortNameInvalid = &Rule{
	ID: "service-port-name-invalid", Severity: report.Error, Category: CatService,
	Summary:     "Service port name or named targetPort that Kubernetes does not accept",
	Remediation: "Port names are lower-case letters, digits and '-'; a named targetPort must be a valid container port name (at most 15 characters, with a letter).",
	Docs: "A Service port name must be a DNS label (lower case, digits, `-`, at most 63 characters). A named " +
		"`targetPort` refers to a container port name, which must be an IANA service name: at most 15 characters, " +
		"at least one letter, no `--`. The API server rejects the Service otherwise.",
	PerService: true,
	Check: func(p *Pass) {
		for _, svc := range p.Snap.Services {
			for i, sp := range svc.Spec.Ports {
				if sp.Name != "" {
					if errs := validation.IsDNS1123Label(sp.Name); len(errs) > 0 {
						p.Report(svc.Src, fmt.Sprintf("spec.ports[%d].name", i), "port name %q is invalid: %s", sp.Name, strings.Join(errs, "; "))
					}
				}
				if sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "" {
					if errs := validation.IsValidPortName(sp.TargetPort.StrVal); len(errs) > 0 {
						p.Report(svc.Src, fmt.Sprintf("spec.ports[%d].targetPort", i), "targetPort %q is not a valid port name: %s", sp.TargetPort.StrVal, strings.Join(errs, "; "))
					}
				}
			}
		}
	},
}

var rulePortDuplicate = &Rule{
	ID: "service-port-duplicate", Severity: report.Error, Category: CatService,
	Summary:     "two ports of one Service with the same name, the same port and protocol, or the same nodePort",
	Remediation: "Make each port's name, port/protocol pair and nodePort unique within the Service.",
	Docs:        "The API server rejects a Service whose ports repeat a name or a port/protocol pair (`Duplicate value`).",
	PerService:  true,
	Check: func(p *Pass) {
		for _, svc := range p.Snap.Services {
			names := map[string]int{}
			pairs := map[string]int{}
			nodePorts := map[string]int{}
			for i, sp := range svc.Spec.Ports {
				if sp.Name != "" {
					if j, ok := names[sp.Name]; ok {
						p.Report(svc.Src, fmt.Sprintf("spec.ports[%d].name", i), "port name %q is also used by spec.ports[%d]", sp.Name, j)
					} else {
						names[sp.Name] = i
					}
				}
				// a missing port number (0) is service-ports-missing's finding, not a duplicate
				key := fmt.Sprintf("%d/%s", sp.Port, semantics.Protocol(sp.Protocol))
				if j, ok := pairs[key]; ok && sp.Port != 0 {
					p.Report(svc.Src, fmt.Sprintf("spec.ports[%d].port", i), "port %s is also exposed by spec.ports[%d]", key, j)
				} else if !ok {
					pairs[key] = i
				}
				if sp.NodePort != 0 {
					nk := fmt.Sprintf("%d/%s", sp.NodePort, semantics.Protocol(sp.Protocol))
					if j, ok := nodePorts[nk]; ok {
						p.Report(svc.Src, fmt.Sprintf("spec.ports[%d].nodePort", i), "nodePort %s is also used by spec.ports[%d]", nk, j)
					} else {
						nodePorts[nk] = i
					}
				}
			}
		}
	},
}

var ruleTargetPortUndeclared = &Rule{
	ID: "service-target-port-undeclared", Severity: report.Info, Category: CatService,
	Summary:     "numeric targetPort that no selected container declares",
	Remediation: "Declare the port in the container's ports (or fix the targetPort if it is a typo).",
	Docs: "Traffic still reaches the pod on that port whether or not a container declares it (container ports are " +
		"informational), so this is only a hint: a targetPort that no container mentions is often a typo or a stale " +
		"value after the application's port changed.",
	PerService: true,
	Check: func(p *Pass) {
		for _, svc := range selectorServices(p.Snap) {
			ws := p.Snap.SelectedWorkloads(svc)
			for i := range svc.Spec.Ports {
				sp := &svc.Spec.Ports[i]
				if sp.Port == 0 {
					continue // no port number: service-ports-missing says so, nothing else applies
				}
				tp := semantics.EffectiveTargetPort(sp)
				if tp.Type != intstr.Int {
					continue
				}
				var missing []*snapshot.Workload
				for _, w := range ws {
					if !semantics.DeclaresAnyPort(w) {
						continue // nothing declared at all: nothing to compare with
					}
					if found, _ := semantics.DeclaresNumber(w, tp.IntVal); !found {
						missing = append(missing, w)
					}
				}
				if len(missing) == 0 {
					continue
				}
				field := fmt.Sprintf("spec.ports[%d].targetPort", i)
				if sp.TargetPort.IntVal == 0 && sp.TargetPort.StrVal == "" {
					field = fmt.Sprintf("spec.ports[%d].port", i)
				}
				p.Report(svc.Src, field, "targetPort %d of %s is not declared by %s (%s); it still works if the process listens on %d",
					tp.IntVal, semantics.PortLabel(sp), names(missing, svc.Namespace), semantics.DeclaredPorts(missing[0]), tp.IntVal)
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
		for _, svc := range selectorServices(p.Snap) {
			ws := p.Snap.SelectedWorkloads(svc)
			for i := range svc.Spec.Ports {
				sp := &svc.Spec.Ports[i]
				if sp.Port == 0 {
					continue // no port number: service-ports-missing says so, nothing else applies
				}
				tp := semantics.EffectiveTargetPort(sp)
				if tp.Type != intstr.String {
					continue
				}
				for _, w := range ws {
					r := semantics.ResolveTargetPort(w, sp)
					if r.Number != 0 {
						continue
					}
					why := semantics.DeclaredPorts(w)
					switch {
					case r.WrongProtocol != "":
						why = fmt.Sprintf("it is declared as %s, the Service port is %s", r.WrongProtocol, semantics.Protocol(sp.Protocol))
					case r.PlainInit != "":
						why = fmt.Sprintf("only init container %s declares it, and it is not a sidecar (restartPolicy: Always)", r.PlainInit)
					}
					p.Report(svc.Src, fmt.Sprintf("spec.ports[%d].targetPort", i), "targetPort %q of %s is not a port of %s (%s): its pods get no endpoint for this port",
						tp.StrVal, semantics.PortLabel(sp), objNameNS(w.Src, svc.Namespace), why)
				}
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
		for _, svc := range selectorServices(p.Snap) {
			ws := p.Snap.SelectedWorkloads(svc)
			for i := range svc.Spec.Ports {
				sp := &svc.Spec.Ports[i]
				if sp.Port == 0 {
					continue // no port number: service-ports-missing says so, nothing else applies
				}
				if semantics.EffectiveTargetPort(sp).Type != intstr.String {
					continue
				}
				byNumber := map[int32][]string{}
				for _, w := range ws {
					if r := semantics.ResolveTargetPort(w, sp); r.Number != 0 {
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
				p.Report(svc.Src, fmt.Sprintf("spec.ports[%d].targetPort", i), "targetPort %q resolves to different ports: %s", sp.TargetPort.StrVal, strings.Join(parts, "; "))
			}
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
		for _, svc := range selectorServices(p.Snap) {
			for i := range svc.Spec.Ports {
				sp := &svc.Spec.Ports[i]
				if sp.Port == 0 {
					continue // no port number: service-ports-missing says so, nothing else applies
				}
				tp := semantics.EffectiveTargetPort(sp)
				if tp.Type != intstr.Int {
					continue
				}
				for _, w := range p.Snap.SelectedWorkloads(svc) {
					found, protos := semantics.DeclaresNumber(w, tp.IntVal)
					if !found {
						continue
					}
					ok := false
					for _, pr := range protos {
						if pr == semantics.Protocol(sp.Protocol) {
							ok = true
						}
					}
					if !ok {
						p.Report(svc.Src, fmt.Sprintf("spec.ports[%d].protocol", i), "%s targets %d, which %s declares only as %s",
							semantics.PortLabel(sp), tp.IntVal, objNameNS(w.Src, svc.Namespace), protos[0])
					}
				}
			}
		}
	},
}

var ruleNodePortRange = &Rule{
	ID: "service-node-port-invalid", Severity: report.Error, Category: CatService,
	Summary:     "nodePort outside the node port range, or set on a Service type that has no node ports",
	Remediation: "Pick a nodePort inside the cluster's range (default 30000-32767, see --node-port-range), or drop it and let Kubernetes choose; only NodePort and LoadBalancer Services take one.",
	Docs: "The API server allocates node ports from `--service-node-port-range` (30000-32767 unless the cluster " +
		"changed it; pass the cluster's range with `--node-port-range`) and rejects others. A nodePort on a " +
		"ClusterIP or ExternalName Service is rejected too (`may not be used when type is 'ClusterIP'`).",
	PerService: true,
	Check: func(p *Pass) {
		r := p.Config.NodePortRange
		for _, svc := range p.Snap.Services {
			for i, sp := range svc.Spec.Ports {
				if sp.NodePort == 0 {
					continue
				}
				field := fmt.Sprintf("spec.ports[%d].nodePort", i)
				switch svc.Spec.Type {
				case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
					if sp.NodePort < r.Min || sp.NodePort > r.Max {
						p.Report(svc.Src, field, "nodePort %d is outside the node port range %s", sp.NodePort, r)
					}
				default:
					t := svc.Spec.Type
					if t == "" {
						t = corev1.ServiceTypeClusterIP
					}
					p.Report(svc.Src, field, "nodePort %d is set on a %s Service, which has no node ports: set type: NodePort or remove it", sp.NodePort, t)
				}
			}
		}
	},
}

var ruleNodePortDuplicate = &Rule{
	ID: "service-node-port-conflict", Severity: report.Error, Category: CatService,
	Summary:     "the same nodePort used by two Services",
	Remediation: "Give each Service its own nodePort (node ports are cluster-wide), or leave it unset.",
	Docs: "Node ports are allocated cluster-wide, across namespaces and protocols (one Service may use a number " +
		"for both TCP and UDP, two Services may not), from the same pool as health check node ports: the second " +
		"Service asking for a taken port is rejected with `provided port is already allocated`.",
	Check: func(p *Pass) {
		type owner struct {
			svc *snapshot.Service
			i   int
		}
		// the allocator hands out node port numbers whatever the protocol: only one Service may
		// hold a number (it may use it for TCP and UDP); health check node ports share the pool
		seen := map[int32]owner{}
		claim := func(svc *snapshot.Service, i int, port int32, field string) {
			if o, ok := seen[port]; ok && o.svc != svc {
				p.Report(svc.Src, field, "node port %d is also used by service/%s/%s: node ports are allocated cluster-wide, whatever the protocol", port, o.svc.Namespace, o.svc.Name)
				return
			}
			seen[port] = owner{svc, i}
		}
		for _, svc := range p.Snap.Services {
			if svc.Spec.Type != corev1.ServiceTypeNodePort && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
				continue
			}
			for i, sp := range svc.Spec.Ports {
				if sp.NodePort != 0 {
					claim(svc, i, sp.NodePort, fmt.Sprintf("spec.ports[%d].nodePort", i))
				}
			}
			if svc.Spec.HealthCheckNodePort != 0 {
				claim(svc, -1, svc.Spec.HealthCheckNodePort, "spec.healthCheckNodePort")
			}
		}
	},
}

var ruleTrafficPolicy = &Rule{
	ID: "service-traffic-policy-invalid", Severity: report.Error, Category: CatService,
	Summary:     "externalTrafficPolicy or healthCheckNodePort on a Service that is not externally accessible",
	Remediation: "Remove externalTrafficPolicy (and healthCheckNodePort) or make the Service a NodePort or LoadBalancer.",
	Docs: "`externalTrafficPolicy` governs traffic arriving at node ports, load balancers and external IPs. On a " +
		"ClusterIP Service without externalIPs, or an ExternalName Service, the API server rejects it (`may only be " +
		"set for externally-accessible services`); `healthCheckNodePort` needs a LoadBalancer with policy Local. " +
		"With `Local`, nodes without a ready endpoint drop the traffic: svc-doctor diagnose shows which nodes have one.",
	PerService: true,
	Check: func(p *Pass) {
		for _, svc := range p.Snap.Services {
			external := svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer ||
				((svc.Spec.Type == "" || svc.Spec.Type == corev1.ServiceTypeClusterIP) && len(svc.Spec.ExternalIPs) > 0)
			t := svc.Spec.Type
			if t == "" {
				t = corev1.ServiceTypeClusterIP
			}
			if svc.Spec.ExternalTrafficPolicy != "" && !external && !p.Snap.Live {
				p.Report(svc.Src, "spec.externalTrafficPolicy", "externalTrafficPolicy %s is set on a %s Service; it only applies to NodePort and LoadBalancer Services (or ones with externalIPs), and the API server rejects it here",
					svc.Spec.ExternalTrafficPolicy, t)
			}
			if svc.Spec.HealthCheckNodePort != 0 && !(svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal) {
				p.Report(svc.Src, "spec.healthCheckNodePort", "healthCheckNodePort is only valid on a LoadBalancer Service with externalTrafficPolicy: Local")
			}
		}
	},
}

var ruleSessionAffinity = &Rule{
	ID: "service-session-affinity-invalid", Severity: report.Error, Category: CatService,
	Summary:     "session affinity timeout out of range, or an affinity config without sessionAffinity: ClientIP",
	Remediation: "Set sessionAffinity: ClientIP with sessionAffinityConfig.clientIP.timeoutSeconds between 1 and 86400, or remove sessionAffinityConfig.",
	Docs: "Client-IP affinity keeps each client on one pod for `timeoutSeconds` (default 10800, at most 86400); the " +
		"API server rejects other timeouts. A config while sessionAffinity is None is silently dropped (a warning): " +
		"the affinity the author wanted is not there. Affinity works on the client's IP only: there is " +
		"no cookie affinity in a Service (that is an Ingress controller feature).",
	PerService: true,
	Check: func(p *Pass) {
		for _, svc := range p.Snap.Services {
			cfg := svc.Spec.SessionAffinityConfig
			if cfg == nil {
				continue
			}
			if svc.Spec.SessionAffinity != corev1.ServiceAffinityClientIP {
				aff := svc.Spec.SessionAffinity
				if aff == "" {
					aff = corev1.ServiceAffinityNone
				}
				p.ReportSeverity(report.Warning, svc.Src, "spec.sessionAffinityConfig", "sessionAffinityConfig is ignored (dropped by the API server) because sessionAffinity is %s: add sessionAffinity: ClientIP", aff)
				continue
			}
			if cfg.ClientIP != nil && cfg.ClientIP.TimeoutSeconds != nil {
				if t := *cfg.ClientIP.TimeoutSeconds; t < 1 || t > 86400 {
					p.Report(svc.Src, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "timeoutSeconds %d is out of range: it must be between 1 and 86400", t)
				}
			}
		}
	},
}

var ruleExternalName = &Rule{
	ID: "service-external-name-invalid", Severity: report.Error, Category: CatService,
	Summary:     "ExternalName Service without a valid DNS name, with an IP address, or with fields it ignores",
	Remediation: "Set externalName to a DNS name (for an IP address use a selector-less Service with an EndpointSlice) and drop selector and clusterIP.",
	Docs: "An ExternalName Service is only a DNS CNAME record: the cluster DNS answers `<service>.<ns>.svc` with " +
		"the externalName. An IP address there becomes a CNAME to a name that does not exist; use a Service without " +
		"selector plus an EndpointSlice holding the IP instead. Such a Service gets no cluster IP and no proxying, " +
		"so a selector is ignored and a clusterIP is rejected.",
	PerService: true,
	Check: func(p *Pass) {
		for _, svc := range p.Snap.Services {
			if !semantics.IsExternalName(svc.Service) {
				if svc.Spec.ExternalName != "" {
					p.ReportSeverity(report.Warning, svc.Src, "spec.externalName", "externalName is ignored on a %s Service: set type: ExternalName or remove it", typeOf(svc))
				}
				continue
			}
			name := strings.TrimSuffix(svc.Spec.ExternalName, ".")
			switch {
			case name == "":
				p.Report(svc.Src, "spec.externalName", "ExternalName Service has no externalName")
			case net.ParseIP(name) != nil:
				p.Report(svc.Src, "spec.externalName", "externalName %s is an IP address: DNS answers it as a CNAME to a name that does not resolve; use a Service without selector and an EndpointSlice with this address", name)
			default:
				if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
					p.Report(svc.Src, "spec.externalName", "externalName %q is not a valid DNS name: %s", svc.Spec.ExternalName, strings.Join(errs, "; "))
				}
			}
			if len(svc.Spec.Selector) > 0 {
				p.ReportSeverity(report.Warning, svc.Src, "spec.selector", "selector is ignored on an ExternalName Service: it only publishes a CNAME")
			}
			if svc.Spec.ClusterIP != "" && !p.Snap.Live {
				p.Report(svc.Src, "spec.clusterIP", "clusterIP may not be set on an ExternalName Service")
			}
		}
	},
}

func typeOf(svc *snapshot.Service) corev1.ServiceType {
	if svc.Spec.Type == "" {
		return corev1.ServiceTypeClusterIP
	}
	return svc.Spec.Type
}

var ruleHeadlessType = &Rule{
	ID: "service-headless-type", Severity: report.Error, Category: CatService,
	Summary:     "headless Service (clusterIP: None) of type NodePort or LoadBalancer",
	Remediation: "Use type: ClusterIP for a headless Service, or give the NodePort/LoadBalancer Service a cluster IP.",
	Docs: "A headless Service has no virtual IP: DNS returns the pod IPs and nothing is proxied. Node ports and load " +
		"balancers need the proxy, so the API server rejects `clusterIP: None` on those types.",
	PerService: true,
	Check: func(p *Pass) {
		for _, svc := range p.Snap.Services {
			if semantics.IsHeadless(svc.Service) && (svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer) {
				p.Report(svc.Src, "spec.clusterIP", "clusterIP: None (headless) cannot be used with type %s", svc.Spec.Type)
			}
		}
	},
}

var ruleLBSourceRanges = &Rule{
	ID: "service-lb-source-ranges-invalid", Severity: report.Error, Category: CatService,
	Summary:     "loadBalancerSourceRanges with an invalid CIDR, or on a Service that is not a LoadBalancer",
	Remediation: "Write each range as a CIDR (203.0.113.0/24) and use the field only on LoadBalancer Services.",
	Docs:        "Each entry must be an IP range in CIDR notation; the API server rejects other values, and the field on any other Service type.",
	PerService:  true,
	Check: func(p *Pass) {
		for _, svc := range p.Snap.Services {
			for i, r := range svc.Spec.LoadBalancerSourceRanges {
				if _, _, err := net.ParseCIDR(strings.TrimSpace(r)); err != nil {
					p.Report(svc.Src, fmt.Sprintf("spec.loadBalancerSourceRanges[%d]", i), "%q is not a CIDR range (e.g. 203.0.113.0/24)", r)
				}
			}
			if len(svc.Spec.LoadBalancerSourceRanges) > 0 && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
				p.Report(svc.Src, "spec.loadBalancerSourceRanges", "loadBalancerSourceRanges is only allowed on LoadBalancer Services, this one is %s", typeOf(svc))
			}
		}
	},
}

var ruleRequiredPorts = &Rule{
	ID: "service-ports-missing", Severity: report.Error, Category: CatService,
	Summary:     "Service without ports, or a port without a port number",
	Remediation: "Add spec.ports with at least one port (headless and ExternalName Services may omit them).",
	Docs:        "A ClusterIP, NodePort or LoadBalancer Service needs at least one port, and each port a `port` number: the API server rejects it otherwise.",
	PerService:  true,
	Check: func(p *Pass) {
		for _, svc := range p.Snap.Services {
			if len(svc.Spec.Ports) == 0 && !semantics.IsHeadless(svc.Service) && !semantics.IsExternalName(svc.Service) {
				p.Report(svc.Src, "spec.ports", "a %s Service needs at least one port", typeOf(svc))
			}
			for i, sp := range svc.Spec.Ports {
				if sp.Port < 1 || sp.Port > 65535 {
					field := fmt.Sprintf("spec.ports[%d].port", i)
					switch {
					case sp.Port == 0 && p.Snap.HasIssueUnder(svc.Src, field):
						// a value of the wrong type, reported as invalid-value already
					case sp.Port == 0 && !written(svc.Src, field):
						p.Report(svc.Src, field, "spec.ports[%d] has no port: every Service port needs a port number (1-65535)", i)
					default:
						p.Report(svc.Src, field, "port %d is not a valid port number (1-65535)", sp.Port)
					}
				}
				if sp.TargetPort.Type == intstr.Int && (sp.TargetPort.IntVal < 0 || sp.TargetPort.IntVal > 65535) {
					p.Report(svc.Src, fmt.Sprintf("spec.ports[%d].targetPort", i), "targetPort %d is not a valid port number (1-65535)", sp.TargetPort.IntVal)
				}
			}
		}
	},
}

// written reports whether field is present in the object as written (always true for live
// objects, which have no manifest: the API server filled every required field).
func written(src *snapshot.Source, field string) bool {
	if src.Manifest == nil {
		return true
	}
	_, exact := src.Manifest.FieldLine(field)
	return exact
}
