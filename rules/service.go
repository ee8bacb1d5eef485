package rules

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// The Service rules about the fields of a Service's type: traffic policy, session affinity,
// ExternalName, headless, load balancer source ranges.

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
