package servicetrace

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/trace"
)

// stsBlock is what a StatefulSet with fewer pods than replicas says about the readiness hop's
// fault: the ordinal that blocks the next ones, and, for a headless Service its peers find each
// other through, when publishing not-ready pods is the fix.
type stsBlock struct {
	// Evidence is one line for the hop; Cause is appended to the root cause, Fix put before the
	// pod's own fix ("" when the DNS advice does not apply).
	Evidence, Cause, Fix string
}

// statefulSetOf names the StatefulSet that controls a pod ("" for other pods).
func statefulSetOf(p *corev1.Pod) string {
	for _, o := range p.OwnerReferences {
		if o.Controller != nil && *o.Controller && o.Kind == "StatefulSet" {
			return o.Name
		}
	}
	return ""
}

// ordinal is the ordinal of a StatefulSet's pod (db-2 of db: 2), or -1.
func ordinal(sts, pod string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(pod, sts+"-"))
	if err != nil || !strings.HasPrefix(pod, sts+"-") || n < 0 {
		return -1
	}
	return n
}

// orderedReadyBlock explains a StatefulSet with podManagementPolicy OrderedReady that has fewer
// pods than replicas: it creates ordinal N only once ordinals 0..N-1 are Running and Ready, so the
// lowest of them that is not ready blocks the rest. statuses are the readiness hop's findings on
// the selected pods. It returns nil when the StatefulSet is not blocked that way.
func orderedReadyBlock(svc *corev1.Service, t trace.Template, pods []*corev1.Pod, statuses map[string]PodHealth) *stsBlock {
	sts := t.StatefulSet
	if sts == nil {
		return nil
	}
	policy := sts.Spec.PodManagementPolicy
	if policy == "" {
		policy = appsv1.OrderedReadyPodManagement
	}
	byOrdinal := map[int]*corev1.Pod{}
	for _, p := range pods {
		if statefulSetOf(p) == sts.Name {
			if n := ordinal(sts.Name, p.Name); n >= 0 {
				byOrdinal[n] = p
			}
		}
	}
	want := int(t.Replicas)
	if len(byOrdinal) >= want || policy != appsv1.OrderedReadyPodManagement {
		return nil
	}
	start := 0
	if o := sts.Spec.Ordinals; o != nil {
		start = int(o.Start)
	}
	// the first missing ordinal, and the lowest one below it that is not Running and Ready
	missing := -1
	for i := start; i < start+want; i++ {
		if byOrdinal[i] == nil {
			missing = i
			break
		}
	}
	if missing < 0 {
		return nil
	}
	blocker := -1
	for i := start; i < missing; i++ {
		if ps, ok := statuses[byOrdinal[i].Name]; ok && !ps.Ready {
			blocker = i
			break
		}
	}
	if blocker < 0 {
		return nil // the controller is on its way (or blocked by something else)
	}
	bp := byOrdinal[blocker]
	why := "it is not ready"
	if ps := statuses[bp.Name]; ps.Problem != nil {
		why = "it is not ready: " + ps.Problem.Message
	}
	var absent []string
	for i := missing; i < start+want && len(absent) < 4; i++ {
		if byOrdinal[i] == nil {
			absent = append(absent, fmt.Sprintf("%s-%d", sts.Name, i))
		}
	}
	sort.Strings(absent)
	b := &stsBlock{}
	b.Evidence = fmt.Sprintf("statefulset/%s has %d of %d pods: podManagementPolicy OrderedReady creates %s only once %s is Running and Ready, and %s", sts.Name, len(byOrdinal), want,
		strings.Join(absent, ", "), bp.Name, why)
	b.Cause = fmt.Sprintf("; statefulset/%s has only %d of its %d pods, because podManagementPolicy OrderedReady waits for %s to be ready before it creates %s",
		sts.Name, len(byOrdinal), want, bp.Name, absent[0])
	// the peers of a headless Service find each other in DNS, which publishes only ready pods
	governing := sts.Spec.ServiceName == svc.Name || sts.Spec.ServiceName == ""
	if semantics.IsHeadless(svc) && governing && !svc.Spec.PublishNotReadyAddresses {
		b.Cause += fmt.Sprintf("; the headless service/%s publishes only ready pods in DNS (%s.%s.%s.svc does not resolve while %s is not ready), so if %s waits for its peers to be ready (cluster bootstrap, quorum) no pod ever becomes ready",
			svc.Name, bp.Name, svc.Name, svc.Namespace, bp.Name, bp.Name)
		b.Fix = fmt.Sprintf("if the pods must find each other before they are ready, publish them anyway: kubectl -n %s patch service %s -p '{\"spec\":{\"publishNotReadyAddresses\":true}}'; if %s also needs the other ordinals running to become ready, use podManagementPolicy: Parallel too (it starts every ordinal at once; the field cannot be changed: delete statefulset/%s with --cascade=orphan and apply it again); otherwise: ",
			svc.Namespace, svc.Name, bp.Name, sts.Name)
	}
	return b
}
