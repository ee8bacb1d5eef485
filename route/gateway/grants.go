package gateway

import (
	"fmt"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// reference is a cross-namespace reference that needs a ReferenceGrant in the namespace of its
// target (apis/v1 referencegrant_types.go: "All cross-namespace references in Gateway API (with
// the exception of cross-namespace Gateway-route attachment) require a ReferenceGrant").
type reference struct {
	fromGroup, fromKind, fromNS string
	toGroup, toKind, toNS, to   string
}

func (r reference) String() string {
	return fmt.Sprintf("%s in namespace %s to %s %s/%s", groupKind(r.fromGroup, r.fromKind), r.fromNS, groupKind(r.toGroup, r.toKind), r.toNS, r.to)
}

// permitted reports whether a ReferenceGrant in the target namespace allows the reference: one
// of its from entries has the referrer's group, kind and namespace, and one of its to entries
// the target's group and kind, with no name or the target's name. When none does, why describes
// the closest grant, or says there is none.
func (m *Model) permitted(r reference) (ok bool, why string) {
	grants := m.grants[r.toNS]
	if len(grants) == 0 {
		return false, fmt.Sprintf("there is no ReferenceGrant in namespace %s", r.toNS)
	}
	var misses []string
	for _, g := range grants {
		fromOK, toOK := false, false
		var fromMiss, toMiss []string
		for _, f := range g.Spec.From {
			if string(f.Group) == r.fromGroup && string(f.Kind) == r.fromKind && string(f.Namespace) == r.fromNS {
				fromOK = true
				break
			}
			fromMiss = append(fromMiss, fmt.Sprintf("%s in namespace %s", groupKind(string(f.Group), string(f.Kind)), f.Namespace))
		}
		for _, t := range g.Spec.To {
			if string(t.Group) == r.toGroup && string(t.Kind) == r.toKind && (t.Name == nil || string(*t.Name) == r.to) {
				toOK = true
				break
			}
			toMiss = append(toMiss, grantTarget(t))
		}
		switch {
		case fromOK && toOK:
			return true, ""
		case fromOK:
			misses = append(misses, fmt.Sprintf("ReferenceGrant %s allows it to %s only", g.Name, strings.Join(toMiss, ", ")))
		case toOK:
			misses = append(misses, fmt.Sprintf("ReferenceGrant %s allows it from %s only", g.Name, strings.Join(fromMiss, ", ")))
		}
	}
	if len(misses) == 0 {
		return false, fmt.Sprintf("no ReferenceGrant in namespace %s allows %s", r.toNS, r)
	}
	return false, strings.Join(misses, "; ")
}

func grantTarget(t gwv1.ReferenceGrantTo) string {
	s := groupKind(string(t.Group), string(t.Kind))
	if t.Name != nil {
		s += " " + string(*t.Name)
	}
	return s
}
