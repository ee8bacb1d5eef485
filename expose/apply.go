package expose

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/svc-doctor/svc-doctor/report"
)

// Output formats of -o.
const (
	OutputYAML = "yaml"
	OutputJSON = "json"
)

// objectMap is obj as a JSON object without what only adds noise to printed or applied objects:
// managedFields, a null creationTimestamp and an empty status.
func objectMap(obj runtime.Object) (map[string]any, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "managedFields")
		if md["creationTimestamp"] == nil {
			delete(md, "creationTimestamp")
		}
	}
	if isEmpty(m["status"]) {
		delete(m, "status")
	}
	return m, nil
}

// isEmpty is true for nil and for maps holding only empty maps.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, e := range x {
			if !isEmpty(e) {
				return false
			}
		}
		return true
	}
	return false
}

// WriteObjects prints objects as YAML documents separated by ---, or as JSON (one object, or a
// v1 List of several), the way kubectl prints them: ready for kubectl apply -f.
func WriteObjects(w io.Writer, format string, objs []runtime.Object) error {
	maps := make([]map[string]any, 0, len(objs))
	for _, o := range objs {
		m, err := objectMap(o)
		if err != nil {
			return err
		}
		maps = append(maps, m)
	}
	switch format {
	case OutputJSON:
		var v any = map[string]any{"apiVersion": "v1", "kind": "List", "items": maps}
		if len(maps) == 1 {
			v = maps[0]
		}
		return report.WriteJSON(w, v)
	case OutputYAML:
		for i, m := range maps {
			if i > 0 {
				if _, err := io.WriteString(w, "---\n"); err != nil {
					return err
				}
			}
			b, err := yaml.Marshal(m)
			if err != nil {
				return err
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown output format %q", format)
}

// ObjectName is kind/name as kubectl prints it (service/web, endpointslice/web-ipv4).
func ObjectName(obj runtime.Object) string {
	gvk := obj.GetObjectKind().GroupVersionKind()
	name := ""
	if m, ok := obj.(metav1.Object); ok {
		name = m.GetName()
	}
	return strings.ToLower(gvk.Kind) + "/" + name
}

// applier server-side-applies objects with one field manager.
type applier struct {
	cs           kubernetes.Interface
	fieldManager string
	force        bool
	dryRun       bool
}

// apply sends obj as an apply patch and returns what the server stored (with obj's type meta).
func (a *applier) apply(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	m, err := objectMap(obj)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: a.fieldManager}
	if a.force {
		t := true
		opts.Force = &t
	}
	if a.dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var out runtime.Object
	switch o := obj.(type) {
	case *corev1.Service:
		out, err = a.cs.CoreV1().Services(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *corev1.Secret:
		out, err = a.cs.CoreV1().Secrets(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *corev1.Endpoints:
		out, err = a.cs.CoreV1().Endpoints(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *discoveryv1.EndpointSlice:
		out, err = a.cs.DiscoveryV1().EndpointSlices(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *networkingv1.Ingress:
		out, err = a.cs.NetworkingV1().Ingresses(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	default:
		return nil, fmt.Errorf("cannot apply a %T", obj)
	}
	if err != nil {
		return nil, err
	}
	out.GetObjectKind().SetGroupVersionKind(obj.GetObjectKind().GroupVersionKind())
	return out, nil
}

// resourceOf names the API resource of obj for error messages.
func resourceOf(obj runtime.Object) string {
	switch obj.(type) {
	case *corev1.Service:
		return "services"
	case *corev1.Secret:
		return "secrets"
	case *corev1.Endpoints:
		return "endpoints"
	case *discoveryv1.EndpointSlice:
		return "endpointslices.discovery.k8s.io"
	case *networkingv1.Ingress:
		return "ingresses.networking.k8s.io"
	}
	return fmt.Sprintf("%T", obj)
}
