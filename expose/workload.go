package expose

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/svc-doctor/svc-doctor/live"
)

// workloadKinds maps what kubectl accepts for a kind (short name, singular, plural, with or
// without group) to the kind expose reads.
var workloadKinds = map[string]string{
	"deploy": "deployment", "deployment": "deployment", "deployments": "deployment", "deployment.apps": "deployment", "deployments.apps": "deployment",
	"rs": "replicaset", "replicaset": "replicaset", "replicasets": "replicaset", "replicaset.apps": "replicaset", "replicasets.apps": "replicaset",
	"sts": "statefulset", "statefulset": "statefulset", "statefulsets": "statefulset", "statefulset.apps": "statefulset", "statefulsets.apps": "statefulset",
	"rc": "replicationcontroller", "replicationcontroller": "replicationcontroller", "replicationcontrollers": "replicationcontroller",
	"po": "pod", "pod": "pod", "pods": "pod",
}

// WorkloadRef is a parsed TYPE/NAME or TYPE NAME argument.
type WorkloadRef struct {
	Kind string // deployment, replicaset, statefulset, replicationcontroller or pod
	Name string
}

func (r WorkloadRef) String() string { return r.Kind + "/" + r.Name }

// ParseWorkloadArgs reads `TYPE/NAME` or `TYPE NAME`.
func ParseWorkloadArgs(args []string) (WorkloadRef, error) {
	var typ, name string
	switch len(args) {
	case 1:
		var ok bool
		typ, name, ok = strings.Cut(args[0], "/")
		if !ok {
			return WorkloadRef{}, fmt.Errorf("%q: name the workload as TYPE/NAME or TYPE NAME, e.g. deploy/web (or use `expose external|externalname|ingress NAME`)", args[0])
		}
	case 2:
		typ, name = args[0], args[1]
	default:
		return WorkloadRef{}, fmt.Errorf("expose takes one workload, as TYPE/NAME or TYPE NAME (e.g. deploy/web); got %d arguments", len(args))
	}
	kind, ok := workloadKinds[strings.ToLower(typ)]
	if !ok {
		return WorkloadRef{}, fmt.Errorf("cannot expose a %q: expose deployments (deploy), replicasets (rs), statefulsets (sts), replicationcontrollers (rc) or pods (po)", typ)
	}
	if name == "" {
		return WorkloadRef{}, fmt.Errorf("%s: the name is missing", typ)
	}
	return WorkloadRef{Kind: kind, Name: name}, nil
}

// NotFoundError is a workload that does not exist.
type NotFoundError struct {
	Ref       WorkloadRef
	Namespace string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s not found in namespace %s (check the name, or pass -n NAMESPACE)", e.Ref, e.Namespace)
}

// FetchTarget reads the workload (one GET) and returns what the Service needs of it.
func FetchTarget(ctx context.Context, cs kubernetes.Interface, ns string, ref WorkloadRef) (*Target, error) {
	t := &Target{Kind: ref.Kind, Name: ref.Name}
	var (
		err      error
		selector *metav1.LabelSelector
		resource string
	)
	switch ref.Kind {
	case "deployment":
		resource = "deployments"
		obj, e := cs.AppsV1().Deployments(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if err = e; err == nil {
			selector, t.Template, t.Labels = obj.Spec.Selector, &obj.Spec.Template.Spec, obj.Labels
		}
	case "replicaset":
		resource = "replicasets"
		obj, e := cs.AppsV1().ReplicaSets(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if err = e; err == nil {
			selector, t.Template, t.Labels = obj.Spec.Selector, &obj.Spec.Template.Spec, obj.Labels
		}
	case "statefulset":
		resource = "statefulsets"
		obj, e := cs.AppsV1().StatefulSets(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if err = e; err == nil {
			selector, t.Template, t.Labels = obj.Spec.Selector, &obj.Spec.Template.Spec, obj.Labels
			t.ServiceName = obj.Spec.ServiceName
		}
	case "replicationcontroller":
		resource = "replicationcontrollers"
		obj, e := cs.CoreV1().ReplicationControllers(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if err = e; err == nil {
			t.Labels = obj.Labels
			t.Selector = obj.Spec.Selector
			if obj.Spec.Template != nil {
				t.Template = &obj.Spec.Template.Spec
				if len(t.Selector) == 0 { // the API server defaults it to the template labels
					t.Selector = obj.Spec.Template.Labels
				}
			}
		}
	case "pod":
		resource = "pods"
		var obj *corev1.Pod
		obj, err = cs.CoreV1().Pods(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if err == nil {
			t.Selector, t.Labels, t.Template = obj.Labels, obj.Labels, &obj.Spec
		}
	default:
		return nil, fmt.Errorf("cannot expose a %s", ref.Kind)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, &NotFoundError{Ref: ref, Namespace: ns}
	case err != nil:
		return nil, fmt.Errorf("reading %s: %s", ref, live.DescribeAPIError(err, "get", resource, ns))
	}
	if selector != nil {
		if len(selector.MatchExpressions) > 0 {
			t.Selector = nil // a Service selector is equality-only: BuildService asks for --selector
			t.selectorNote = fmt.Sprintf("%s selects its pods with matchExpressions, which a Service selector cannot express", ref)
		} else {
			t.Selector = selector.MatchLabels
		}
	}
	return t, nil
}
