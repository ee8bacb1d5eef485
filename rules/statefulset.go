package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// TolerateUnreadyAnnotation is the Service annotation that once made the endpoints controller
// publish not-ready pods; Kubernetes 1.24 removed it and EndpointSlices never honoured it.
const TolerateUnreadyAnnotation = "service.alpha.kubernetes.io/tolerate-unready-endpoints"

var ruleTolerateUnready = &Rule{
	ID: "service-tolerate-unready-annotation", Severity: report.Warning, Category: CatService,
	Summary:     "Service that relies on the removed annotation service.alpha.kubernetes.io/tolerate-unready-endpoints",
	Remediation: "Set spec.publishNotReadyAddresses: true on the Service and remove the annotation.",
	Docs: "The annotation `" + TolerateUnreadyAnnotation + "` made the old endpoints controller publish pods " +
		"before they were ready: the way peers of a StatefulSet (databases, consensus clusters) found each other " +
		"through a headless Service while they bootstrapped. It was deprecated for `spec.publishNotReadyAddresses` " +
		"in 1.11 and removed in Kubernetes 1.24; the EndpointSlices that kube-proxy and the cluster DNS read never " +
		"honoured it. With only the annotation, not-ready pods get no DNS record and no traffic, so a cluster that " +
		"needs its peers to become ready never does (a warning). Together with `publishNotReadyAddresses: true` it " +
		"is only dead weight (info).",
	PerService: true,
	Check: func(p *Pass) {
		for _, svc := range p.Snap.Services {
			v, ok := svc.Src.Annotations[TolerateUnreadyAnnotation]
			if !ok {
				continue
			}
			field := "metadata.annotations[" + TolerateUnreadyAnnotation + "]"
			on, _ := strconv.ParseBool(strings.TrimSpace(v))
			switch {
			case svc.Spec.PublishNotReadyAddresses:
				p.ReportSeverity(report.Info, svc.Src, field, "annotation %s is ignored since Kubernetes 1.24; spec.publishNotReadyAddresses: true already publishes the not-ready pods: remove the annotation", TolerateUnreadyAnnotation)
			case on:
				p.Report(svc.Src, field, "annotation %s was removed in Kubernetes 1.24 (EndpointSlices never honoured it): not-ready pods are not published, neither in DNS nor to kube-proxy; set spec.publishNotReadyAddresses: true instead", TolerateUnreadyAnnotation)
			default:
				p.ReportSeverity(report.Info, svc.Src, field, "annotation %s is ignored since Kubernetes 1.24: remove it (spec.publishNotReadyAddresses is the field that publishes not-ready pods)", TolerateUnreadyAnnotation)
			}
		}
	},
}

var ruleStatefulSetService = &Rule{
	ID: "statefulset-service-name", Severity: report.Warning, Category: CatWorkload,
	Summary:     "StatefulSet whose serviceName names no Service of its namespace, or a Service that is not headless",
	Remediation: "Create a headless Service (clusterIP: None) with the name in spec.serviceName, selecting the StatefulSet's pods, or correct spec.serviceName.",
	Docs: "A StatefulSet's `serviceName` is its governing Service: the cluster DNS publishes one record per pod " +
		"(`<pod>.<serviceName>.<namespace>.svc`, e.g. `db-0.db`) only when that Service exists and is headless " +
		"(`clusterIP: None`). Without it the pods still run, but the stable per-pod names that peers and clients use " +
		"(replication, cluster membership, `db-0.db:5432`) do not resolve; a Service with a cluster IP answers only its " +
		"own name with the virtual IP. When the input holds no Service in that namespace the finding is " +
		"informational.",
	Check: func(p *Pass) {
		for _, w := range p.Snap.Workloads {
			if w.Src.Ref.Kind != "StatefulSet" || w.ServiceName == "" {
				continue
			}
			ns, name := w.Src.Ref.Namespace, w.ServiceName
			svc := p.Snap.Service(ns, name)
			switch {
			case svc == nil && !p.Snap.Complete("Service", ns):
				p.ReportSeverity(report.Info, w.Src, "spec.serviceName", "serviceName %s: no Service of that name in the given manifests (they hold no Service in namespace %s); it must be a headless Service for the pods' DNS names (%s-0.%s)", name, ns, w.Src.Ref.Name, name)
			case svc == nil:
				p.Report(w.Src, "spec.serviceName", "serviceName %s names no Service in namespace %s%s: the pods get no DNS names (%s-0.%s.%s.svc does not resolve); create a headless Service %s selecting them, or correct serviceName",
					name, ns, serviceNearMiss(p.Snap, ns, name), w.Src.Ref.Name, name, ns, name)
			case !semantics.IsHeadless(svc.Service):
				p.Report(w.Src, "spec.serviceName", "serviceName %s names a Service that is not headless (%s): DNS publishes no per-pod records (%s-0.%s does not resolve); use a headless Service (clusterIP: None) as the governing Service",
					name, clusterIPText(svc), w.Src.Ref.Name, name)
			}
		}
	},
}

func clusterIPText(svc *snapshot.Service) string {
	switch {
	case svc.Spec.ClusterIP != "":
		return "clusterIP " + svc.Spec.ClusterIP
	case semantics.IsExternalName(svc.Service):
		return "type ExternalName"
	}
	return fmt.Sprintf("type %s", typeOf(svc))
}
