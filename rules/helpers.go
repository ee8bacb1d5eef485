package rules

import (
	"strings"

	"github.com/svc-doctor/svc-doctor/snapshot"
)

// objName renders kind/name the way kubectl does (lower-case kind).
func objName(src *snapshot.Source) string {
	return strings.ToLower(src.Ref.Kind) + "/" + src.Ref.Name
}

// objNameNS renders kind/name, with the namespace when it differs from ns.
func objNameNS(src *snapshot.Source, ns string) string {
	if src.Ref.Namespace != ns && src.Ref.Namespace != "" {
		return strings.ToLower(src.Ref.Kind) + "/" + src.Ref.Name + " (namespace " + src.Ref.Namespace + ")"
	}
	return objName(src)
}

func names(ws []*snapshot.Workload, ns string) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = objNameNS(w.Src, ns)
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
