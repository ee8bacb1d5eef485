package servicetrace

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/trace"
)

// maxListed bounds the objects named in one evidence line.
const maxListed = 8

func runSelector(ctx context.Context, st *State) trace.Result {
	svc := st.Service
	ns := svc.Namespace
	if semantics.IsExternalName(svc) {
		return trace.Result{Status: trace.Skip, Summary: "not applicable: an ExternalName Service has no pods (DNS only, see hop dns)"}
	}
	if len(svc.Spec.Selector) == 0 {
		st.ManualEndpoints = true
		return trace.Result{Status: trace.Skip, Summary: "no selector: endpoints are manual (see hop endpoints)"}
	}
	snap, err := st.Reads.Snapshot(ctx)
	if err != nil {
		st.PodsUnread = err.Error()
		return trace.Result{Status: trace.Skip, Incomplete: true, Summary: "cannot read pods: " + err.Error()}
	}
	if why, missing := snap.Unavailable["Pod"]; missing {
		st.PodsUnread = why.Detail
		return trace.Result{Status: trace.Skip, Incomplete: true, Summary: "cannot read pods: " + why.Detail}
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var finished []*corev1.Pod
	for _, p := range snap.MatchingPods(ns, sel) {
		if isHelperPod(p) {
			continue
		}
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			finished = append(finished, p)
			continue
		}
		st.Pods = append(st.Pods, p)
	}
	sort.Slice(st.Pods, func(i, j int) bool { return st.Pods[i].Name < st.Pods[j].Name })
	selText := semantics.SelectorString(svc.Spec.Selector)
	if len(st.Pods) > 0 {
		r := trace.Result{Status: trace.Pass, Summary: fmt.Sprintf("selector %s matches %d %s", selText, len(st.Pods), report.Plural(len(st.Pods), "pod", "pods"))}
		for i, p := range st.Pods {
			if i == maxListed {
				r.Evidence = append(r.Evidence, fmt.Sprintf("... and %d more", len(st.Pods)-maxListed))
				break
			}
			r.Evidence = append(r.Evidence, fmt.Sprintf("pod/%s (%s) IP %s on node %s", p.Name, semantics.OwnerName(p), orNone(p.Status.PodIP), orNone(p.Spec.NodeName)))
		}
		if len(finished) > 0 {
			r.Evidence = append(r.Evidence, fmt.Sprintf("%d matching %s finished (phase Succeeded/Failed) and %s ignored", len(finished), report.Plural(len(finished), "pod", "pods"), report.Plural(len(finished), "is", "are")))
		}
		return r
	}
	return noMatch(ctx, st, finished)
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func isHelperPod(p *corev1.Pod) bool {
	return p.Labels[helper.LabelManagedBy] == helper.ManagedByValue && p.Labels[helper.LabelName] == helper.NameValue
}

// ownerName names the workload that owns a pod: deployment/web, statefulset/db, or the pod.

type podGroup struct {
	owner string
	pods  []string
	diff  string // "has app=web" / "has no label tier"
	// patch is the selector change that would make the Service select these pods.
	patch map[string]any
}

// labelDiff compares a selector with labels: it returns the differences (at most two are
// computed) and the selector patch that would remove them.
func labelDiff(sel, lbls map[string]string) (diffs []string, patch map[string]any) {
	patch = map[string]any{}
	for _, k := range sortedKeys(sel) {
		got, ok := lbls[k]
		switch {
		case !ok:
			diffs = append(diffs, "has no label "+k)
			patch[k] = nil
		case got != sel[k]:
			diffs = append(diffs, "has "+k+"="+got)
			patch[k] = got
		}
	}
	return diffs, patch
}

// noMatch explains a selector that matches no pod: workloads scaled to zero or failing, near
// misses in the namespace, matching pods in other namespaces.
func noMatch(ctx context.Context, st *State, finished []*corev1.Pod) trace.Result {
	svc := st.Service
	ns, selText := svc.Namespace, semantics.SelectorString(svc.Spec.Selector)
	r := trace.Result{Status: trace.Fail, Summary: fmt.Sprintf("selector %s matches no pod in namespace %s", selText, ns)}
	// 1. workloads whose template matches but that have no pods
	causes := podlessTemplates(ctx, st, &r)
	if len(finished) > 0 {
		r.Evidence = append(r.Evidence, fmt.Sprintf("%d matching %s finished (phase Succeeded/Failed): finished pods get no endpoints", len(finished), report.Plural(len(finished), "pod", "pods")))
	}

	// 2. near misses: pods of the namespace that differ by one label key or value
	nsPods, nearCauses := nearMissPods(ctx, st, &r)
	causes = append(causes, nearCauses...)
	// 3. matching pods in other namespaces (one LIST with the selector across namespaces)
	causes = append(causes, otherNamespacePods(ctx, st, &r)...)
	if len(causes) == 0 {
		values := labelValues(nsPods, svc.Spec.Selector)
		if values != "" {
			r.Evidence = append(r.Evidence, "labels in use in the namespace: "+values)
		}
		causes = append(causes, &trace.Cause{
			RootCause: fmt.Sprintf("no pod in namespace %s has the labels %s", ns, selText),
			Fix:       fmt.Sprintf("deploy the backend in namespace %s, or set spec.selector of service/%s to the labels of its pods (kubectl -n %s get pods --show-labels)", ns, svc.Name, ns),
		})
	}
	r.Cause = causes[0]
	return r
}

// podlessTemplates explains the workloads whose template matches the selector but that have no
// pods: scaled to zero, failing to create them, not there yet.
func podlessTemplates(ctx context.Context, st *State, r *trace.Result) []*trace.Cause {
	svc := st.Service
	ns, selText := svc.Namespace, semantics.SelectorString(svc.Spec.Selector)
	var causes []*trace.Cause
	templates, why := st.Reads.Templates(ctx, ns)
	if why != "" {
		r.Evidence = append(r.Evidence, "deployments/statefulsets not checked: "+why)
	}
	for _, t := range templates {
		if !selects(svc.Spec.Selector, t.Labels) {
			continue
		}
		ref := t.Kind + "/" + t.Name
		switch {
		case t.Replicas == 0:
			r.Evidence = append(r.Evidence, ref+" matches the selector but is scaled to 0 replicas")
			prev := st.Reads.Previous(ctx, t, st.Now())
			r.Evidence = append(r.Evidence, previousEvidence(ref, prev))
			causes = append(causes, &trace.Cause{RootCause: fmt.Sprintf("%s matches the selector %s but is scaled to 0 replicas: there are no pods to send traffic to", ref, selText),
				Fix: restoreFix(ns, ref, prev, 1, "")})
		case t.Failure != "":
			r.Evidence = append(r.Evidence, fmt.Sprintf("%s matches the selector but cannot create pods: %s", ref, t.Failure))
			causes = append(causes, &trace.Cause{RootCause: fmt.Sprintf("%s matches the selector %s but cannot create pods: %s", ref, selText, t.Failure),
				Fix: fmt.Sprintf("fix what blocks pod creation (kubectl -n %s describe %s; kubectl -n %s get events --field-selector type=Warning)", ns, ref, ns)})
		default:
			r.Evidence = append(r.Evidence, fmt.Sprintf("%s matches the selector and wants %d replicas, but none exist yet", ref, t.Replicas))
			causes = append(causes, &trace.Cause{RootCause: fmt.Sprintf("%s matches the selector %s but has no pods yet", ref, selText),
				Fix: fmt.Sprintf("wait for the rollout or see why pods are not created: kubectl -n %s rollout status %s; kubectl -n %s describe %s", ns, ref, ns, ref)})
		}
	}
	return causes
}

// nearMissPods finds the pods of the namespace that differ from the selector by one label key or
// value, and returns the namespace's pods with the cause of the first near miss.
func nearMissPods(ctx context.Context, st *State, r *trace.Result) ([]*corev1.Pod, []*trace.Cause) {
	svc := st.Service
	ns, selText := svc.Namespace, semantics.SelectorString(svc.Spec.Selector)
	var causes []*trace.Cause
	nsPods, why := st.Reads.NamespacePods(ctx, ns)
	if why != "" {
		r.Evidence = append(r.Evidence, "near misses not searched: "+why)
	}
	groups := map[string]*podGroup{}
	var order []string
	for _, p := range nsPods {
		if isHelperPod(p) {
			continue
		}
		diffs, patch := labelDiff(svc.Spec.Selector, p.Labels)
		if len(diffs) != 1 {
			continue
		}
		key := semantics.OwnerName(p) + "|" + diffs[0]
		g, ok := groups[key]
		if !ok {
			g = &podGroup{owner: semantics.OwnerName(p), diff: diffs[0], patch: patch}
			groups[key] = g
			order = append(order, key)
		}
		g.pods = append(g.pods, p.Name)
	}
	sort.Strings(order)
	for i, key := range order {
		g := groups[key]
		if i == maxListed {
			r.Evidence = append(r.Evidence, fmt.Sprintf("... and %d more near misses", len(order)-maxListed))
			break
		}
		who := g.owner
		if len(g.pods) > 1 || !strings.HasPrefix(who, "pod/") {
			who = fmt.Sprintf("%s (%d %s)", g.owner, len(g.pods), report.Plural(len(g.pods), "pod", "pods"))
		}
		r.Evidence = append(r.Evidence, fmt.Sprintf("near miss: %s %s", who, g.diff))
	}
	if len(order) > 0 {
		g := groups[order[0]]
		patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"selector": g.patch}})
		causes = append(causes, &trace.Cause{
			RootCause: fmt.Sprintf("selector %s matches no pod in namespace %s: the pods of %s differ by one label (%s)", selText, ns, g.owner, g.diff),
			Fix:       fmt.Sprintf("kubectl -n %s patch service %s --type merge -p '%s'   (or relabel the pods' template)", ns, svc.Name, patch),
		})
	}

	return nsPods, causes
}

// otherNamespacePods finds the pods of other namespaces that the selector matches.
func otherNamespacePods(ctx context.Context, st *State, r *trace.Result) []*trace.Cause {
	svc := st.Service
	ns, selText := svc.Namespace, semantics.SelectorString(svc.Spec.Selector)
	var causes []*trace.Cause
	others, why := st.Reads.PodsMatching(ctx, labels.SelectorFromSet(svc.Spec.Selector))
	if why != "" {
		r.Evidence = append(r.Evidence, "other namespaces not searched: "+why)
	}
	perNS := map[string]int{}
	for i := range others {
		p := &others[i]
		if p.Namespace != ns && !isHelperPod(p) {
			perNS[p.Namespace]++
		}
	}
	for _, o := range sortedKeys(perNS) {
		r.Evidence = append(r.Evidence, fmt.Sprintf("%d %s in namespace %s %s the selector (a Service selects only pods of its own namespace)", perNS[o], report.Plural(perNS[o], "pod", "pods"), o, report.Plural(perNS[o], "matches", "match")))
	}
	if len(perNS) > 0 {
		nss := sortedKeys(perNS)
		var where []string
		for i, o := range nss {
			if i == 3 {
				where = append(where, fmt.Sprintf("and %d more namespaces", len(nss)-3))
				break
			}
			where = append(where, fmt.Sprintf("%d in %s", perNS[o], o))
		}
		causes = append(causes, &trace.Cause{
			RootCause: fmt.Sprintf("selector %s matches no pod in namespace %s, but pods in other namespaces match (%s): a Service only selects pods of its own namespace", selText, ns, strings.Join(where, ", ")),
			Fix:       fmt.Sprintf("create the Service in the namespace of the pods it should select (e.g. %s; clients in %s then use <service>.%s), or run the workload in namespace %s", nss[0], ns, nss[0], ns),
		})
	}
	return causes
}

// labelValues lists the values the namespace's pods have for the selector's keys: "app=web, app=db".
func labelValues(pods []*corev1.Pod, sel map[string]string) string {
	seen := map[string]bool{}
	for _, p := range pods {
		if isHelperPod(p) {
			continue
		}
		for k := range sel {
			if v, ok := p.Labels[k]; ok {
				seen[k+"="+v] = true
			}
		}
	}
	vals := sortedKeys(seen)
	if len(vals) > maxListed {
		vals = append(vals[:maxListed], "...")
	}
	return strings.Join(vals, ", ")
}

// selects reports whether a Service selector selects labels.
func selects(sel, lbls map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if got, ok := lbls[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// restoreFix scales a workload back to the replicas it had (prev), or to def when nothing
// remembers them (defWhy says where def comes from).
func restoreFix(ns, ref string, prev trace.PreviousReplicas, def int32, defWhy string) string {
	if prev.Replicas > 0 {
		return fmt.Sprintf("kubectl -n %s scale %s --replicas=%d   (the %d %s it had before: %s)", ns, ref, prev.Replicas, prev.Replicas, report.Plural(int(prev.Replicas), "replica", "replicas"), prev.From)
	}
	why := "the count it had is not known: no scaling event of the last hour, ReplicaSet or applied configuration remembers it"
	if defWhy != "" {
		why += "; " + defWhy
	}
	return fmt.Sprintf("kubectl -n %s scale %s --replicas=%d   (%s)", ns, ref, def, why)
}

// previousEvidence is the evidence line about the replicas a workload had before 0.
func previousEvidence(ref string, prev trace.PreviousReplicas) string {
	line := ref + ": the replicas it had before are not known"
	if prev.Replicas > 0 {
		line = fmt.Sprintf("%s had %d %s before: %s", ref, prev.Replicas, report.Plural(int(prev.Replicas), "replica", "replicas"), prev.From)
	}
	if prev.Unread != "" {
		line += " (not read: " + prev.Unread + ")"
	}
	return line
}
