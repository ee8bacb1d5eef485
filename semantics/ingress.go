package semantics

import (
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/svc-doctor/svc-doctor/snapshot"
)

// ClassAnnotation is the legacy annotation that names an Ingress's class.
const ClassAnnotation = "kubernetes.io/ingress.class"

// DefaultClasses returns the IngressClasses marked as the default.
func DefaultClasses(s *snapshot.Snapshot) []*snapshot.IngressClass {
	var out []*snapshot.IngressClass
	for _, c := range s.IngressClasses {
		if c.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
			out = append(out, c)
		}
	}
	return out
}

// EffectiveClass is the class an Ingress is served by: spec.ingressClassName, the legacy
// annotation, or the single default IngressClass ("" when none can be determined).
func EffectiveClass(s *snapshot.Snapshot, ing *snapshot.Ingress) string {
	if ing.Spec.IngressClassName != nil && *ing.Spec.IngressClassName != "" {
		return *ing.Spec.IngressClassName
	}
	if c := ing.Annotations[ClassAnnotation]; c != "" {
		return c
	}
	if d := DefaultClasses(s); len(d) == 1 {
		return d[0].Name
	}
	return ""
}
