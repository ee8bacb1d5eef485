package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// The Service rules about the selector and the endpoints it decides: a selector that matches no
// pod (with its near misses and the workloads of other namespaces), and a Service without selector
// and without endpoints of its own.

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
		"cannot be checked and the finding is only informational (\"not found in the given manifests\"), unless the " +
		"selector matches workloads of another namespace of the input while both the Service and those workloads " +
		"name their namespace: that is a warning naming the namespace (a Service selects pods of its own namespace " +
		"only). Pods " +
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
				if others := elsewhere(p.Snap, svc); len(others) > 0 {
					nss := namespacesOf(others)
					var where []string
					for i, w := range others {
						if i == 3 {
							where = append(where, fmt.Sprintf("%d more", len(others)-3))
							break
						}
						where = append(where, objName(w.Src)+" in namespace "+w.Src.Ref.Namespace)
					}
					p.ReportSeverity(report.Warning, svc.Src, "spec.selector",
						"selector %s matches no pod template in namespace %s, only %s: a Service selects pods of its own namespace only, so it has no endpoints; create the Service in namespace %s (clients of other namespaces reach it as %s.%s), or run the workload in namespace %s",
						sel, svc.Namespace, strings.Join(where, ", "), nss[0], svc.Name, nss[0], svc.Namespace)
					continue
				}
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

// elsewhere returns the long-running workloads of other namespaces that svc's selector matches,
// when both the Service and they say in which namespace they belong (an object without a
// namespace lands in the one it is applied to, which may well be the right one).
func elsewhere(s *snapshot.Snapshot, svc *snapshot.Service) []*snapshot.Workload {
	if !explicitNamespace(svc.Src) {
		return nil
	}
	var out []*snapshot.Workload
	for _, w := range s.Workloads {
		if w.Src.Ref.Namespace != svc.Namespace && explicitNamespace(w.Src) && !w.RunsToCompletion() && snapshot.Selects(svc.Spec.Selector, w) {
			out = append(out, w)
		}
	}
	return out
}

// explicitNamespace reports whether an object's namespace is written in the manifest (always for
// objects read from a cluster).
func explicitNamespace(src *snapshot.Source) bool {
	return src.Manifest == nil || src.Manifest.Namespace != ""
}

func namespacesOf(ws []*snapshot.Workload) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range ws {
		if ns := w.Src.Ref.Namespace; !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	sort.Strings(out)
	return out
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
