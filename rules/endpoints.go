package rules

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

const (
	serviceNameLabel = discoveryv1.LabelServiceName
	managedByLabel   = discoveryv1.LabelManagedBy
	// sliceControllerName manages the EndpointSlices of Services with a selector.
	sliceControllerName = "endpointslice-controller.k8s.io"
	// mirrorControllerName mirrors manual Endpoints into EndpointSlices.
	mirrorControllerName = "endpointslicemirroring-controller.k8s.io"
)

// controllerOwned reports whether a live EndpointSlice is written by a Kubernetes controller.
func controllerOwned(es *snapshot.EndpointSlice) bool {
	m := es.Labels[managedByLabel]
	return m == sliceControllerName || m == mirrorControllerName
}

var ruleEndpointsOrphan = &Rule{
	ID: "endpoints-without-service", Severity: report.Warning, Category: CatEndpoints,
	Summary:     "Endpoints or EndpointSlice that belongs to no Service",
	Remediation: "Name the Endpoints exactly like its Service (or set the EndpointSlice's kubernetes.io/service-name label to it), in the same namespace.",
	Docs: "An Endpoints object is tied to the Service with the same name and namespace, an EndpointSlice to the " +
		"Service named by its `kubernetes.io/service-name` label. Otherwise nothing routes to its addresses; usually " +
		"a name typo. When the input holds no Services in that namespace, the finding is informational.",
	Check: func(p *Pass) {
		for _, ep := range p.Snap.Endpoints {
			if p.Snap.Service(ep.Namespace, ep.Name) != nil {
				continue
			}
			if !p.Snap.Complete("Service", ep.Namespace) {
				p.ReportSeverity(report.Info, ep.Src, "metadata.name", "no Service %s in the given manifests: Endpoints only serve the Service with the same name", ep.Name)
				continue
			}
			p.Report(ep.Src, "metadata.name", "no Service named %s in namespace %s: Endpoints only serve the Service with the same name%s", ep.Name, ep.Namespace, serviceNearMiss(p.Snap, ep.Namespace, ep.Name))
		}
		for _, es := range p.Snap.EndpointSlices {
			name, ok := es.Labels[serviceNameLabel]
			if !ok || p.Snap.Service(es.Namespace, name) != nil {
				continue
			}
			field := "metadata.labels[" + serviceNameLabel + "]"
			if !p.Snap.Complete("Service", es.Namespace) {
				p.ReportSeverity(report.Info, es.Src, field, "Service %s is not in the given manifests", name)
				continue
			}
			p.Report(es.Src, field, "label %s=%s names no Service in namespace %s%s", serviceNameLabel, name, es.Namespace, serviceNearMiss(p.Snap, es.Namespace, name))
		}
	},
}

func serviceNearMiss(s *snapshot.Snapshot, ns, name string) string {
	best, bestD := "", 1<<30
	for _, svc := range s.Services {
		if svc.Namespace != ns {
			continue
		}
		if d := snapshot.EditDistance(name, svc.Name); d < bestD {
			best, bestD = svc.Name, d
		}
	}
	if best != "" && bestD <= 3 {
		return fmt.Sprintf(" (did you mean service %s?)", best)
	}
	return ""
}

var ruleEndpointsManaged = &Rule{
	ID: "endpoints-for-selector-service", Severity: report.Warning, Category: CatEndpoints,
	Summary:     "hand-written Endpoints or EndpointSlice for a Service that has a selector",
	Remediation: "Either remove the Service's selector (and keep the manual endpoints) or drop the manual endpoints.",
	Docs: "For a Service with a selector, Kubernetes writes the Endpoints and EndpointSlices itself: a hand-written " +
		"Endpoints object is overwritten by the controller, and a hand-written EndpointSlice is kept *in addition* " +
		"to the controller's, so kube-proxy sends part of the traffic to those addresses. Manual endpoints belong to " +
		"selector-less Services.",
	Check: func(p *Pass) {
		for _, ep := range p.Snap.Endpoints {
			svc := p.Snap.Service(ep.Namespace, ep.Name)
			if svc == nil || len(svc.Spec.Selector) == 0 || p.Snap.Live || controllerWritten(ep) {
				continue
			}
			p.Report(ep.Src, "subsets", "service/%s has a selector, so Kubernetes manages this Endpoints object and overwrites these addresses; remove the selector to keep them", svc.Name)
		}
		for _, es := range p.Snap.EndpointSlices {
			svc := p.Snap.Service(es.Namespace, es.Labels[serviceNameLabel])
			if svc == nil || len(svc.Spec.Selector) == 0 || controllerOwned(es) {
				continue
			}
			p.Report(es.Src, "endpoints", "service/%s has a selector: kube-proxy uses this EndpointSlice in addition to the controller's, so part of the traffic goes to these addresses", svc.Name)
		}
	},
}

var ruleEndpointsPortMismatch = &Rule{
	ID: "endpoints-port-mismatch", Severity: report.Error, Category: CatEndpoints,
	Summary:     "Endpoints or EndpointSlice port whose name (or protocol) matches no port of its Service, or whose number is missing or contradicts the Service's targetPort",
	Remediation: "Use exactly the Service's port names in the endpoints' ports (an unnamed single Service port needs an unnamed endpoint port), each with the port number the backend listens on.",
	Docs: "kube-proxy pairs a Service port with an endpoint port by name. If the Service port is `http` and the " +
		"Endpoints port has no name (or the other way round), that Service port has no endpoints and connections are " +
		"refused, although the addresses look right in `kubectl get endpoints`. An endpoint port without a number " +
		"is unusable too (kube-proxy skips it). For a Service without selector, traffic goes to the endpoint's port " +
		"number and the Service's targetPort is not used at all: a targetPort written with another number than the " +
		"endpoint's port is a warning (one of the two is wrong, and it is not the one that counts).",
	Check: func(p *Pass) {
		for _, ep := range p.Snap.Endpoints {
			svc := p.Snap.Service(ep.Namespace, ep.Name)
			if svc == nil || len(svc.Spec.Selector) > 0 {
				continue
			}
			for i, ss := range ep.Subsets {
				for j, port := range ss.Ports {
					n := port.Port
					checkEndpointPort(p, ep.Src, fmt.Sprintf("subsets[%d].ports[%d]", i, j), svc, port.Name, port.Protocol, &n)
				}
			}
		}
		for _, es := range p.Snap.EndpointSlices {
			svc := p.Snap.Service(es.Namespace, es.Labels[serviceNameLabel])
			if svc == nil || controllerOwned(es) {
				continue
			}
			for j, port := range es.Ports {
				name := ""
				if port.Name != nil {
					name = *port.Name
				}
				var proto corev1.Protocol
				if port.Protocol != nil {
					proto = *port.Protocol
				}
				checkEndpointPort(p, es.Src, fmt.Sprintf("ports[%d]", j), svc, name, proto, port.Port)
			}
		}
	},
}

func checkEndpointPort(p *Pass, src *snapshot.Source, field string, svc *snapshot.Service, name string, proto corev1.Protocol, number *int32) {
	var svcNames []string
	shown := name
	if shown == "" {
		shown = "(unnamed)"
	}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if sp.Name != name {
			svcNames = append(svcNames, fmt.Sprintf("%q", sp.Name))
			continue
		}
		if semantics.Protocol(sp.Protocol) != semantics.Protocol(proto) {
			p.Report(src, field+".protocol", "port %q is %s here but %s on service/%s", name, semantics.Protocol(proto), semantics.Protocol(sp.Protocol), svc.Name)
			return
		}
		switch {
		case number == nil || *number == 0:
			if !p.Snap.HasIssueUnder(src, field+".port") {
				p.Report(src, field, "port %s has no port number: kube-proxy skips it, so %s of service/%s gets no endpoints", shown, semantics.PortLabel(sp), svc.Name)
			}
		case len(svc.Spec.Selector) == 0 && targetPortContradicts(svc, i, *number):
			p.ReportSeverity(report.Warning, src, field+".port", "port %s is %d here, but %s of service/%s has targetPort %d: for a Service without selector traffic goes to the endpoint's port (%d) and targetPort is not used; make them agree",
				shown, *number, semantics.PortLabel(sp), svc.Name, sp.TargetPort.IntVal, *number)
		}
		return
	}
	if len(svc.Spec.Ports) == 0 {
		return
	}
	p.Report(src, field+".name", "port name %s matches no port of service/%s (its port names: %s), so that Service port gets no endpoints",
		shown, svc.Name, strings.Join(svcNames, ", "))
}

// targetPortContradicts reports whether port i of a selector-less Service has a numeric targetPort
// that its author chose (written in the manifest, or differing from the port on a live object,
// where the API server defaults it to the port) and that differs from the endpoint port n.
func targetPortContradicts(svc *snapshot.Service, i int, n int32) bool {
	sp := &svc.Spec.Ports[i]
	tp := sp.TargetPort
	if tp.Type != intstr.Int || tp.IntVal == 0 || tp.IntVal == n {
		return false
	}
	if svc.Src.Manifest == nil {
		return tp.IntVal != sp.Port
	}
	_, exact := svc.Src.Manifest.FieldLine(fmt.Sprintf("spec.ports[%d].targetPort", i))
	return exact
}

var ruleEndpointsAddress = &Rule{
	ID: "endpoints-address-invalid", Severity: report.Error, Category: CatEndpoints,
	Summary:     "endpoint address that is not an IP, or is a loopback or link-local address",
	Remediation: "Use routable addresses of the real backends (for a DNS name, use an ExternalName Service instead).",
	Docs: "Endpoint addresses must be IP addresses that other nodes can reach. The API server rejects loopback " +
		"(127.0.0.0/8, ::1) and link-local (169.254.0.0/16, fe80::/10) addresses in Endpoints: they would point each " +
		"node at itself. A host name is not accepted either; that is what an ExternalName Service is for.",
	Check: func(p *Pass) {
		for _, ep := range p.Snap.Endpoints {
			for i, ss := range ep.Subsets {
				for j, a := range ss.Addresses {
					checkAddress(p, ep.Src, fmt.Sprintf("subsets[%d].addresses[%d].ip", i, j), a.IP, "")
				}
				for j, a := range ss.NotReadyAddresses {
					checkAddress(p, ep.Src, fmt.Sprintf("subsets[%d].notReadyAddresses[%d].ip", i, j), a.IP, "")
				}
			}
		}
		for _, es := range p.Snap.EndpointSlices {
			if es.AddressType == discoveryv1.AddressTypeFQDN {
				continue
			}
			for i, e := range es.Endpoints {
				for j, a := range e.Addresses {
					checkAddress(p, es.Src, fmt.Sprintf("endpoints[%d].addresses[%d]", i, j), a, es.AddressType)
				}
			}
		}
	},
}

func checkAddress(p *Pass, src *snapshot.Source, field, addr string, at discoveryv1.AddressType) {
	ip := net.ParseIP(addr)
	switch {
	case ip == nil:
		p.Report(src, field, "%q is not an IP address", addr)
	case ip.IsLoopback():
		p.Report(src, field, "%s is a loopback address: it would send each node's traffic to itself", addr)
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		p.Report(src, field, "%s is a link-local address, not reachable from other nodes", addr)
	case ip.IsUnspecified():
		p.Report(src, field, "%s is the unspecified address", addr)
	case at == discoveryv1.AddressTypeIPv4 && ip.To4() == nil:
		p.Report(src, field, "%s is an IPv6 address in an EndpointSlice of addressType IPv4", addr)
	case at == discoveryv1.AddressTypeIPv6 && ip.To4() != nil:
		p.Report(src, field, "%s is an IPv4 address in an EndpointSlice of addressType IPv6", addr)
	}
}

var ruleSliceLabel = &Rule{
	ID: "endpointslice-service-label-missing", Severity: report.Error, Category: CatEndpoints,
	Summary:     "EndpointSlice without the kubernetes.io/service-name label",
	Remediation: "Add the label kubernetes.io/service-name: <service name> to the EndpointSlice.",
	Docs: "kube-proxy and the cluster DNS find a Service's EndpointSlices through the `kubernetes.io/service-name` " +
		"label; the slice's own name does not matter. Without the label the slice serves nothing.",
	Check: func(p *Pass) {
		for _, es := range p.Snap.EndpointSlices {
			if _, ok := es.Labels[serviceNameLabel]; ok {
				continue
			}
			hint := ""
			if svc := p.Snap.Service(es.Namespace, es.Name); svc != nil {
				hint = fmt.Sprintf(" (it is named like service/%s, but the name does not link them)", svc.Name)
			}
			p.Report(es.Src, "metadata.labels", "EndpointSlice has no %s label, so no Service uses it%s", serviceNameLabel, hint)
		}
	},
}

var ruleSliceAddressType = &Rule{
	ID: "endpointslice-address-type", Severity: report.Warning, Category: CatEndpoints,
	Summary:     "EndpointSlice of addressType FQDN",
	Remediation: "Use addressType IPv4 or IPv6 with IP addresses; for a DNS name use an ExternalName Service.",
	Docs:        "kube-proxy ignores EndpointSlices of addressType FQDN (deprecated): such a slice sends no traffic anywhere.",
	Check: func(p *Pass) {
		for _, es := range p.Snap.EndpointSlices {
			if es.AddressType == discoveryv1.AddressTypeFQDN {
				p.Report(es.Src, "addressType", "addressType FQDN is deprecated and ignored by kube-proxy: traffic is not routed to these endpoints")
			}
		}
	},
}

var ruleEndpointsDeprecated = &Rule{
	ID: "endpoints-deprecated", Severity: report.Info, Category: CatEndpoints,
	Summary:     "core/v1 Endpoints object (deprecated since Kubernetes 1.33)",
	Remediation: "Write a discovery.k8s.io/v1 EndpointSlice labelled kubernetes.io/service-name=<service> instead.",
	Docs: "The Endpoints API is deprecated in favour of EndpointSlice since 1.33; it still works (a controller " +
		"mirrors it into an EndpointSlice) but is limited to 1000 addresses and gets warnings from the API server. " +
		"`kubectl svc-doctor expose external` writes EndpointSlices.",
	Check: func(p *Pass) {
		if p.Snap.Live {
			return
		}
		for _, ep := range p.Snap.Endpoints {
			p.Report(ep.Src, "kind", "Endpoints is deprecated since Kubernetes 1.33: use an EndpointSlice with the label %s=%s", serviceNameLabel, ep.Name)
		}
	},
}

// controllerWritten reports whether an Endpoints object looks exported from a cluster rather than
// written by hand: every address points at a Pod, which only the endpoints controller records.
func controllerWritten(ep *snapshot.Endpoints) bool {
	n := 0
	for _, ss := range ep.Subsets {
		for _, list := range [][]corev1.EndpointAddress{ss.Addresses, ss.NotReadyAddresses} {
			for _, a := range list {
				if a.TargetRef == nil || a.TargetRef.Kind != "Pod" {
					return false
				}
				n++
			}
		}
	}
	return n > 0
}

var ruleEndpointsTargetRefStale = &Rule{
	ID: "endpoints-target-ref-stale", Severity: report.Warning, Category: CatEndpoints,
	Summary:     "hand-written endpoint address whose targetRef names a pod that has another IP",
	Remediation: "Replace the address with the pod's current IP (or drop the targetRef), or give the Service a selector so that Kubernetes keeps its endpoints up to date.",
	Docs: "An endpoint address may name the pod behind it (`targetRef: {kind: Pod, name: ...}`). Kubernetes keeps " +
		"that pair right only for the endpoints it writes itself; in hand-written Endpoints or EndpointSlices the " +
		"address goes stale when the pod is recreated with a new IP, and the traffic then goes to whatever has the " +
		"old address now, or nowhere. Checked offline when the input holds the pod with its status (`kubectl get " +
		"-o yaml` output): a warning, as the two may have been exported at different times; on a live cluster it is " +
		"an error.",
	Check: func(p *Pass) {
		ips := podIPIndex(p.Snap)
		sev := report.Warning
		if p.Snap.Live {
			sev = report.Error
		}
		check := func(src *snapshot.Source, field, ns, addr string, ref *corev1.ObjectReference) {
			if have, stale := staleTargetRef(ips, ns, addr, ref); stale {
				p.ReportSeverity(sev, src, field, "address %s names pod/%s as its target, but that pod has IP %s: the address is stale (the pod was recreated), so this endpoint does not reach it",
					addr, ref.Name, strings.Join(have, ", "))
			}
		}
		for _, ep := range p.Snap.Endpoints {
			if svc := p.Snap.Service(ep.Namespace, ep.Name); svc != nil && len(svc.Spec.Selector) > 0 {
				continue // the endpoints controller writes (and corrects) these
			}
			for i, ss := range ep.Subsets {
				for j, a := range ss.Addresses {
					check(ep.Src, fmt.Sprintf("subsets[%d].addresses[%d].ip", i, j), ep.Namespace, a.IP, a.TargetRef)
				}
				for j, a := range ss.NotReadyAddresses {
					check(ep.Src, fmt.Sprintf("subsets[%d].notReadyAddresses[%d].ip", i, j), ep.Namespace, a.IP, a.TargetRef)
				}
			}
		}
		for _, es := range p.Snap.EndpointSlices {
			if controllerOwned(es) {
				continue // written by the slice controller, or mirrored from an Endpoints object checked above
			}
			for i, e := range es.Endpoints {
				for j, a := range e.Addresses {
					check(es.Src, fmt.Sprintf("endpoints[%d].addresses[%d]", i, j), es.Namespace, a, e.TargetRef)
				}
			}
		}
	},
}

// podIPIndex returns a lookup of the IPs of the pods of a snapshot whose status it holds: live
// pods, and Pod manifests exported with their status. Manifests are decoded on first lookup.
func podIPIndex(s *snapshot.Snapshot) func(ns, name string) ([]string, bool) {
	var idx map[string][]string
	return func(ns, name string) ([]string, bool) {
		if idx == nil {
			idx = map[string][]string{}
			for _, w := range s.Workloads {
				if w.Src.Ref.Kind != "Pod" {
					continue
				}
				ips := w.PodIPs
				if w.Pod != nil {
					ips = nil
					for _, ip := range w.Pod.Status.PodIPs {
						ips = append(ips, ip.IP)
					}
					if len(ips) == 0 && w.Pod.Status.PodIP != "" {
						ips = []string{w.Pod.Status.PodIP}
					}
				}
				if len(ips) == 0 {
					continue // no status: nothing to compare with
				}
				idx[w.Src.Ref.Namespace+"/"+w.Src.Ref.Name] = ips
			}
		}
		ips, ok := idx[ns+"/"+name]
		return ips, ok
	}
}

// StaleTargetRefs returns the check of the rule endpoints-target-ref-stale, for the endpoints hop
// of diagnose: whether address addr of an endpoint in namespace ns, which names pod ref as its
// target, is stale (the pod is in the snapshot with its status and has other IPs, returned).
func StaleTargetRefs(s *snapshot.Snapshot) func(ns, addr string, ref *corev1.ObjectReference) ([]string, bool) {
	ips := podIPIndex(s)
	return func(ns, addr string, ref *corev1.ObjectReference) ([]string, bool) {
		return staleTargetRef(ips, ns, addr, ref)
	}
}

func staleTargetRef(ips func(ns, name string) ([]string, bool), ns, addr string, ref *corev1.ObjectReference) ([]string, bool) {
	if ref == nil || ref.Kind != "Pod" || ref.Name == "" {
		return nil, false
	}
	if ref.Namespace != "" {
		ns = ref.Namespace
	}
	have, ok := ips(ns, ref.Name)
	if !ok || len(have) == 0 {
		return nil, false // the pod, or its status, is not in the input
	}
	for _, ip := range have {
		if ip == addr {
			return have, false
		}
	}
	return have, true
}
