package servicetrace

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
	"github.com/svc-doctor/svc-doctor/trace"
)

// containerPort is a port a serving container (regular or sidecar) declares.
type containerPort struct {
	container string
	port      corev1.ContainerPort
}

// servingPorts lists the ports of the containers a Service can target: regular containers and
// sidecars (init containers with restartPolicy Always).
func servingPorts(spec *corev1.PodSpec) []containerPort {
	var out []containerPort
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			out = append(out, containerPort{c.Name, p})
		}
	}
	for _, c := range spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			for _, p := range c.Ports {
				out = append(out, containerPort{c.Name, p})
			}
		}
	}
	return out
}

//nolint:funlen // one pass over the Service ports: each port's targetPort, declared ports and protocol are judged together and feed one summary
func runPorts(ctx context.Context, st *State) trace.Result {
	svc := st.Service
	if semantics.IsExternalName(svc) {
		return trace.Result{Status: trace.Skip, Summary: "not applicable: ExternalName Service"}
	}
	if st.ManualEndpoints {
		return trace.Result{Status: trace.Skip, Summary: "not applicable: no selector (the ports of the manual endpoints are checked in hop endpoints)"}
	}
	st.TargetPorts = map[string]map[string]int32{}
	r := trace.Result{Status: trace.Pass}
	var summaries []string
	var failCause *trace.Cause
	for _, sp := range st.Ports {
		sp := sp
		tp := semantics.EffectiveTargetPort(&sp)
		resolved := map[string][]string{} // description -> pods
		type miss struct{ pod, why string }
		var missing []miss
		// what the declared ports say against the targetPort (rules.JudgeTargetPort: the policy
		// of the lint rules and of expose too)
		var doubt string
		doubted := 0
		for _, p := range st.Pods {
			w := snapshot.PodWorkload(p)
			res := semantics.ResolveTargetPort(w, &sp)
			if res.Number == 0 {
				why := fmt.Sprintf("no container declares a port named %q with protocol %s (%s)", tp.StrVal, semantics.Protocol(sp.Protocol), semantics.DeclaredPorts(w))
				switch {
				case res.WrongProtocol != "":
					why = fmt.Sprintf("port %q is declared with protocol %s, the Service port uses %s", tp.StrVal, res.WrongProtocol, semantics.Protocol(sp.Protocol))
				case res.PlainInit != "":
					why = fmt.Sprintf("only init container %s declares %q, and init containers (other than sidecars) do not serve", res.PlainInit, tp.StrVal)
				}
				missing = append(missing, miss{p.Name, why})
				continue
			}
			if st.TargetPorts[p.Name] == nil {
				st.TargetPorts[p.Name] = map[string]int32{}
			}
			st.TargetPorts[p.Name][sp.Name] = res.Number
			v := rules.JudgeTargetPort(w, &sp)
			var desc string
			declarer := declaredBy(p, res.Number, semantics.Protocol(sp.Protocol))
			switch {
			case tp.Type == intstr.String && v.Sidecar:
				desc = fmt.Sprintf("container %s port %s = %d (a sidecar: %s)", res.Container, tp.StrVal, res.Number, v.Why)
			case tp.Type == intstr.String:
				desc = fmt.Sprintf("container %s port %s = %d", res.Container, tp.StrVal, res.Number)
			case declarer != "":
				desc = fmt.Sprintf("container %s port %d", declarer, res.Number)
			case v.Severity >= report.Warning:
				desc = fmt.Sprintf("%d (no container declares it; %s)", res.Number, v.Declared)
			case v.Container != "":
				desc = fmt.Sprintf("container %s port %d (declared with another protocol)", v.Container, res.Number)
			default:
				desc = fmt.Sprintf("%d (no container declares it: declarations are informational, hop connectivity tests it)", res.Number)
			}
			if v.Severity >= report.Warning {
				doubted++
				if doubt == "" {
					if v.Sidecar {
						doubt = fmt.Sprintf("targetPort %s %s", tp.StrVal, v.Why)
					} else {
						doubt = fmt.Sprintf("no container declares %d (%s): %s", res.Number, v.Declared, v.Why)
					}
				}
			}
			resolved[desc] = append(resolved[desc], p.Name)
		}
		label := semantics.PortName(&sp)
		for _, d := range sortedKeys(resolved) {
			r.Evidence = append(r.Evidence, fmt.Sprintf("port %s -> targetPort %s -> %s (%d/%d pods)", label, tp.String(), d, len(resolved[d]), len(st.Pods)))
		}
		sort.Slice(missing, func(i, j int) bool { return missing[i].pod < missing[j].pod })
		for i, m := range missing {
			if i == maxListed {
				r.Evidence = append(r.Evidence, fmt.Sprintf("... and %d more pods", len(missing)-maxListed))
				break
			}
			r.Evidence = append(r.Evidence, fmt.Sprintf("port %s -> targetPort %s: pod/%s: %s", label, tp.String(), m.pod, m.why))
		}
		ok := len(st.Pods) - len(missing)
		switch {
		case len(missing) == 0 && doubted > 0:
			if r.Status == trace.Pass {
				r.Status = trace.Warn
			}
			summaries = append(summaries, fmt.Sprintf("%s -> %s resolves in %d/%d pods, but %s", label, tp.String(), ok, len(st.Pods), doubt))
		case len(missing) == 0:
			summaries = append(summaries, fmt.Sprintf("%s -> %s resolves in %d/%d pods", label, tp.String(), ok, len(st.Pods)))
		case ok == 0:
			r.Status = trace.Fail
			summaries = append(summaries, fmt.Sprintf("%s -> targetPort %s resolves in no pod", label, tp.String()))
			if failCause == nil {
				failCause = unresolvedCause(svc, &sp, st.Pods[0], missing[0].why)
			}
		default:
			if r.Status != trace.Fail {
				r.Status = trace.Warn
			}
			summaries = append(summaries, fmt.Sprintf("%s -> targetPort %s resolves in %d/%d pods only: the others get no endpoint for it", label, tp.String(), ok, len(st.Pods)))
		}
	}
	r.Summary = strings.Join(summaries, "; ")
	r.Cause = failCause
	return r
}

// declaredBy names the serving container that declares port n with protocol proto, or "".
func declaredBy(p *corev1.Pod, n int32, proto corev1.Protocol) string {
	for _, cp := range servingPorts(&p.Spec) {
		if cp.port.ContainerPort == n && semantics.Protocol(cp.port.Protocol) == proto {
			return cp.container
		}
	}
	return ""
}

// unresolvedCause explains a named targetPort that no pod declares and proposes the fix.
func unresolvedCause(svc *corev1.Service, sp *corev1.ServicePort, pod *corev1.Pod, why string) *trace.Cause {
	tp := semantics.EffectiveTargetPort(sp)
	idx := 0
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Name == sp.Name && svc.Spec.Ports[i].Port == sp.Port {
			idx = i
		}
	}
	c := &trace.Cause{RootCause: fmt.Sprintf("targetPort %s of service/%s port %s matches no container port of the selected pods (%s): the pods get no endpoint for this port",
		tp.String(), svc.Name, semantics.PortName(sp), why)}
	// propose the one declared port of the right protocol, if there is exactly one
	var candidates []corev1.ContainerPort
	for _, cp := range servingPorts(&pod.Spec) {
		if semantics.Protocol(cp.port.Protocol) == semantics.Protocol(sp.Protocol) {
			candidates = append(candidates, cp.port)
		}
	}
	if len(candidates) == 1 {
		var value any = candidates[0].ContainerPort
		if candidates[0].Name != "" {
			value = candidates[0].Name
		}
		patch, _ := json.Marshal([]map[string]any{{"op": "replace", "path": fmt.Sprintf("/spec/ports/%d/targetPort", idx), "value": value}})
		c.Fix = fmt.Sprintf("kubectl -n %s patch service %s --type json -p '%s'   (or name the container port %q in %s)", svc.Namespace, svc.Name, patch, tp.String(), semantics.OwnerName(pod))
		return c
	}
	c.Fix = fmt.Sprintf("set spec.ports[%d].targetPort of service/%s to the port the container listens on, or declare a container port named %q in %s", idx, svc.Name, tp.String(), semantics.OwnerName(pod))
	return c
}
