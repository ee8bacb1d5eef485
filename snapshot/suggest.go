package snapshot

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/svc-doctor/svc-doctor/manifest"
)

// fieldNames lists the JSON field names of a struct type, following inlined embedded structs.
func fieldNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, fieldNames(ft)...)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// fieldType returns the type of the JSON field name in struct type t.
func fieldType(t reflect.Type, name string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		n, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && (n == "" || strings.Contains(opts, "inline")) {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if r, ok := fieldType(ft, name); ok {
					return r, true
				}
			}
			continue
		}
		if n == "" {
			n = f.Name
		}
		if n == name {
			return f.Type, true
		}
	}
	return nil, false
}

// parentType walks root along all but the last segment of path and returns the struct type that
// should hold the last segment.
func parentType(root reflect.Type, segs []string) (reflect.Type, bool) {
	t := root
	for _, s := range segs {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			ft, ok := fieldType(t, s)
			if !ok {
				return nil, false
			}
			t = ft
		case reflect.Slice, reflect.Array:
			if _, err := strconv.Atoi(s); err != nil {
				return nil, false
			}
			t = t.Elem()
		case reflect.Map:
			t = t.Elem()
		default:
			return nil, false
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t, t.Kind() == reflect.Struct
}

// unknownFieldMessage explains an unknown field at path in a value of type root, with a
// did-you-mean suggestion when a known field is close.
func unknownFieldMessage(root reflect.Type, path string) string {
	segs := manifest.ParsePath(path)
	if len(segs) == 0 {
		return "unknown field " + strconv.Quote(path)
	}
	name := segs[len(segs)-1]
	parentPath := strings.TrimSuffix(strings.TrimSuffix(path, name), ".")
	where := "at the top level"
	if parentPath != "" {
		where = "in " + parentPath
	}
	pt, ok := parentType(root, segs[:len(segs)-1])
	if !ok {
		return "unknown field " + strconv.Quote(name) + " " + where
	}
	if s := suggest(name, fieldNames(pt)); s != "" {
		return "unknown field " + strconv.Quote(name) + " " + where + ": did you mean " + strconv.Quote(s) + "?"
	}
	return "unknown field " + strconv.Quote(name) + " " + where + " (" + pt.Name() + " has no such field)"
}

// suggest returns the candidate closest to name when it is close enough to be a typo.
func suggest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if strings.EqualFold(c, name) {
			return c
		}
		d := EditDistance(strings.ToLower(name), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(name) <= 4 {
		limit = 1
	}
	if len(name) >= 12 {
		limit = 3
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// EditDistance is the Damerau-Levenshtein (optimal string alignment) distance: how many
// insertions, deletions, substitutions and swaps of neighbours turn a into b. Did-you-mean
// suggestions everywhere use it.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
