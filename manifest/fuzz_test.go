package manifest

import (
	"testing"
)

// FuzzParse: no input may panic the loader, and every object it returns has valid JSON and a
// line inside the input.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{port: 80}]\n",
		"---\n---\napiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Pod, metadata: {name: p}}]\n",
		"apiVersion: v1\nkind: Service\nmetadata:\n\tname: t\n",
		"a: &a [1]\nb: *a\n<<: {c: d}\n",
		"{\"apiVersion\": \"v1\", \"kind\": \"Service\"}",
		"key: 'unterminated\n",
		"- [\n",
		"? complex\n: key\n",
		"apiVersion: v1\nkind: Secret\ndata: {a: !!binary aGVsbG8=}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res := Parse("fuzz.yaml", data)
		lines := 1
		for _, c := range data {
			if c == '\n' {
				lines++
			}
		}
		for _, o := range res.Objects {
			if o.Line < 1 || o.Line > lines {
				t.Fatalf("object line %d outside 1..%d", o.Line, lines)
			}
			if len(o.JSON) == 0 {
				t.Fatal("object without JSON")
			}
			o.FieldLine("spec.ports[0].port")
			o.FieldLine("metadata.labels[a.b/c]")
		}
	})
}
