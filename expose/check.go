package expose

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/svc-doctor/svc-doctor/live"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/ingress"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"

	"github.com/svc-doctor/svc-doctor/rules/ruleid"
)

// ruleTargetPortUndeclared is the lint rule that expose makes an error: a numeric targetPort that
// no selected container declares (while they declare others) is almost always a wrong number.
const ruleTargetPortUndeclared = string(ruleid.ServiceTargetPortUndeclared)

// CheckResult is what the rules said about the objects to create.
type CheckResult struct {
	// Findings about the new objects only, sorted.
	Findings []report.Finding
	// Rules is how many rules ran; Neighbours how many live objects they were checked against.
	Rules, Neighbours int
	Counts            report.Counts
}

func refOf(apiVersion, kind, ns, name string) report.ObjectRef {
	return report.ObjectRef{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name}
}

// WithPlan returns a new snapshot: base with the plan's objects added as if they existed. Objects
// of the same kind and name (a previous run) are replaced, and so are the EndpointSlices expose
// wrote for the same Service (a rerun replaces or prunes them). The new objects get
// creationTimestamp now, so that rules which favour the older of two objects report on the new
// one. base is not changed.
func WithPlan(base *snapshot.Snapshot, plan *Plan, now time.Time) *snapshot.Snapshot {
	ts := metav1.NewTime(now)
	var o snapshot.Overlay
	if svc := plan.Service; svc != nil {
		c := svc.DeepCopy()
		c.CreationTimestamp = ts
		o.Services = append(o.Services, &snapshot.Service{Service: c,
			Src: &snapshot.Source{Ref: refOf("v1", "Service", c.Namespace, c.Name), Annotations: c.Annotations}})
	}
	if len(plan.EndpointSlices) > 0 {
		svc := plan.EndpointSlices[0].Labels[discoveryv1.LabelServiceName]
		ns := plan.EndpointSlices[0].Namespace
		pruned := map[string]bool{}
		for _, v := range base.EndpointSlices {
			if v.Namespace == ns && v.Labels[discoveryv1.LabelServiceName] == svc && v.Labels[discoveryv1.LabelManagedBy] == ManagedBy {
				pruned[v.Src.Ref.String()] = true
			}
		}
		o.Drop = func(src *snapshot.Source) bool { return pruned[src.Ref.String()] }
		for _, es := range plan.EndpointSlices {
			c := es.DeepCopy()
			c.CreationTimestamp = ts
			o.EndpointSlices = append(o.EndpointSlices, &snapshot.EndpointSlice{EndpointSlice: c,
				Src: &snapshot.Source{Ref: refOf("discovery.k8s.io/v1", "EndpointSlice", c.Namespace, c.Name), Annotations: c.Annotations}})
		}
	}
	if ep := plan.Endpoints; ep != nil {
		c := ep.DeepCopy()
		c.CreationTimestamp = ts
		o.Endpoints = append(o.Endpoints, &snapshot.Endpoints{Endpoints: c,
			Src: &snapshot.Source{Ref: refOf("v1", "Endpoints", c.Namespace, c.Name), Annotations: c.Annotations}})
	}
	if sec := plan.Secret; sec != nil {
		o.Secrets = append(o.Secrets, SnapshotSecret(sec))
	}
	if ing := plan.Ingress; ing != nil {
		c := ing.DeepCopy()
		c.CreationTimestamp = ts
		o.Ingresses = append(o.Ingresses, &snapshot.Ingress{Ingress: c,
			Src: &snapshot.Source{Ref: refOf("networking.k8s.io/v1", "Ingress", c.Namespace, c.Name), Annotations: c.Annotations}})
	}
	return base.With(o)
}

// SnapshotSecret is what the rules see of a Secret.
func SnapshotSecret(sec *corev1.Secret) *snapshot.Secret {
	out := &snapshot.Secret{Src: &snapshot.Source{Ref: refOf("v1", "Secret", sec.Namespace, sec.Name), Annotations: sec.Annotations},
		Type: sec.Type, Data: map[string][]byte{}}
	for k, v := range sec.Data {
		out.Data[k] = v
	}
	for k, v := range sec.StringData {
		out.Data[k] = []byte(v)
	}
	return out
}

// Check runs the lint rules over a snapshot that holds the plan (see WithPlan) and keeps the
// findings about the plan's objects. neighbours is the number of objects that were already there.
func Check(snap *snapshot.Snapshot, plan *Plan, cfg rules.Config, neighbours int) (*CheckResult, error) {
	out, err := rules.Run(snap, cfg)
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, o := range plan.Objects() {
		mine[refKey(o)] = true
	}
	res := &CheckResult{Rules: out.Rules, Neighbours: neighbours}
	for _, f := range out.Findings {
		if f.Object == nil || !mine[f.Object.Kind+"/"+f.Object.Namespace+"/"+f.Object.Name] {
			continue
		}
		if f.Rule == ruleTargetPortUndeclared && f.Severity < report.Error && plan.Service != nil && selectedDeclarePorts(snap, plan.Service) {
			f.Severity = report.Error
			f.Message += "; expose refuses a target port that none of the selected containers declares (pass --force if the application does listen there)"
		}
		res.Findings = append(res.Findings, f)
		res.Counts.Add(f.Severity)
	}
	rules.SortFindings(res.Findings)
	return res, nil
}

// refKey is Kind/namespace/name of one of the plan's objects.
func refKey(obj runtime.Object) string {
	m, _ := obj.(metav1.Object)
	if m == nil {
		return ""
	}
	return obj.GetObjectKind().GroupVersionKind().Kind + "/" + m.GetNamespace() + "/" + m.GetName()
}

// selectedDeclarePorts reports whether any pod the Service selects declares a container port.
func selectedDeclarePorts(snap *snapshot.Snapshot, svc *corev1.Service) bool {
	s := snap.Service(svc.Namespace, svc.Name)
	if s == nil {
		return false
	}
	for _, w := range snap.SelectedWorkloads(s) {
		if len(servingPorts(w.Spec)) > 0 {
			return true
		}
	}
	return false
}

// WriteFindings prints findings for a terminal: one line each (severity, object, field, message,
// rule), errors followed by their rule's remediation (once per rule).
func WriteFindings(w io.Writer, fs []report.Finding) {
	fixed := map[string]bool{}
	for _, f := range fs {
		where := ""
		if f.Object != nil {
			where = strings.ToLower(f.Object.Kind) + "/" + f.Object.Name
		}
		if f.Location != nil && f.Location.Field != "" {
			where += " " + f.Location.Field
		}
		fmt.Fprintf(w, "%s: %s: %s [%s]\n", f.Severity, report.Sanitize(where), report.Sanitize(f.Message), f.Rule)
		if f.Severity == report.Error && f.Remediation != "" && !fixed[f.Rule] {
			fixed[f.Rule] = true
			fmt.Fprintf(w, "  fix: %s\n", f.Remediation)
		}
	}
}

// liveNeighbours reads what the rules need to check the plan against the cluster: the namespace
// (live.FromCluster); for an Ingress, the TLS Secrets it names and the Ingresses of every
// namespace (controllers such as Traefik and ingress-nginx merge the routes of one class across
// namespaces); and, when the Service asks for node ports, the Services of every namespace (node
// ports are cluster-wide). Problems that only limit the check are returned as warnings.
func liveNeighbours(ctx context.Context, cs kubernetes.Interface, ns string, plan *Plan) (*snapshot.Snapshot, []string, error) {
	snap, err := live.FromCluster(ctx, cs, live.ClusterOptions{Namespace: ns, SkipNodes: true})
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	for _, d := range snap.Degraded() {
		warnings = append(warnings, fmt.Sprintf("%s not checked: %s", d.Kind, d.Detail))
	}
	var o snapshot.Overlay
	if ing := plan.Ingress; ing != nil {
		others, err := listIngresses(ctx, cs)
		if err != nil {
			warnings = append(warnings, live.DescribeAPIError(err, "list", "ingresses", "")+": other namespaces' routes not checked")
		}
		o.Ingresses = routeNeighbours(snap, ing, others)
		fetched := true
		for _, t := range ing.Spec.TLS {
			if t.SecretName == "" || (plan.Secret != nil && plan.Secret.Name == t.SecretName) || snap.Secret(ns, t.SecretName) != nil {
				continue
			}
			sec, err := cs.CoreV1().Secrets(ns).Get(ctx, t.SecretName, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				fetched = false
				warnings = append(warnings, fmt.Sprintf("TLS Secret %s not checked: %s", t.SecretName, live.DescribeAPIError(err, "get", "secrets", ns)))
			default:
				o.Secrets = append(o.Secrets, SnapshotSecret(sec))
			}
		}
		// the Secrets the Ingress names were read by name: "not found" now means absent
		if why, ok := snap.Unavailable["Secret"]; ok && fetched && !why.Degraded() {
			o.Read = append(o.Read, "Secret")
		}
	}
	if svc := plan.Service; svc != nil && hasNodePort(svc) {
		others, err := listServices(ctx, cs)
		if err != nil {
			warnings = append(warnings, "node port conflicts with other namespaces not checked: "+live.DescribeAPIError(err, "list", "services", ""))
		}
		for i := range others {
			other := &others[i]
			if other.Namespace == ns {
				continue
			}
			o.Services = append(o.Services, &snapshot.Service{Service: other,
				Src: &snapshot.Source{Ref: refOf("v1", "Service", other.Namespace, other.Name), Annotations: other.Annotations}})
		}
	}
	return snap.With(o), warnings, nil
}

func hasNodePort(svc *corev1.Service) bool {
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			return true
		}
	}
	return false
}

// listServices lists the Services of every namespace (one paginated LIST).
func listServices(ctx context.Context, cs kubernetes.Interface) ([]corev1.Service, error) {
	return live.ListAll(ctx, 500, func(ctx context.Context, lo metav1.ListOptions) ([]corev1.Service, string, error) {
		l, err := cs.CoreV1().Services("").List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
}

// listIngresses lists the Ingresses of every namespace (one paginated LIST). On an error it
// returns the pages read so far with the error.
func listIngresses(ctx context.Context, cs kubernetes.Interface) ([]networkingv1.Ingress, error) {
	return live.ListAll(ctx, 500, func(ctx context.Context, lo metav1.ListOptions) ([]networkingv1.Ingress, string, error) {
		l, err := cs.NetworkingV1().Ingresses("").List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
}

// routeNeighbours returns the Ingresses of other namespaces that the controller of ing's class
// serves together with ing: the same effective class, and a host of ing (a rule host, "" for
// any host, or a TLS host). Those are all that the cross-Ingress rules (route conflicts and
// shadowing, TLS coverage of a host) can report on ing for; the class's other hosts would only
// make class-wide rules talk about other namespaces' hosts. ing's own namespace is already in
// snap.
func routeNeighbours(snap *snapshot.Snapshot, ing *networkingv1.Ingress, others []networkingv1.Ingress) []*snapshot.Ingress {
	class := semantics.EffectiveClass(snap, &snapshot.Ingress{Ingress: ing})
	hosts := ingressHosts(ing)
	var out []*snapshot.Ingress
	for i := range others {
		o := &others[i]
		if o.Namespace == ing.Namespace {
			continue
		}
		s := &snapshot.Ingress{Ingress: o, Src: snapshot.LiveSource("networking.k8s.io/v1", "Ingress", &o.ObjectMeta)}
		if semantics.EffectiveClass(snap, s) != class {
			continue
		}
		for h := range ingressHosts(o) {
			if hosts[h] {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// ingressHosts is the set of normalized hosts an Ingress routes or has TLS for ("" when a rule
// or the default backend takes any host).
func ingressHosts(ing *networkingv1.Ingress) map[string]bool {
	out := map[string]bool{}
	if ing.Spec.DefaultBackend != nil {
		out[""] = true
	}
	for _, r := range ing.Spec.Rules {
		out[ingress.NormalizeHost(r.Host)] = true
	}
	for _, t := range ing.Spec.TLS {
		for _, h := range t.Hosts {
			out[ingress.NormalizeHost(h)] = true
		}
	}
	return out
}
