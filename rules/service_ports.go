package rules

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// The Service rules about the ports as the API server validates them: names, duplicates, port
// numbers and node ports.

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
