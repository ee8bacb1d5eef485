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
		"{\"kind\": \"List\", \"items\": [\n  {\"kind\": \"Service\", \"metadata\": {\"name\": \"a\\\"}\"}},\n  {\"kind\": \"Pod\", \"spec\": {\"ports\": [{\"port\": 1}]}}\n]}\n",
		`{"items":[{"kind":"Service","metadata":{"name":"a"}}],"kind":"ServiceList"}`,
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
			// the JSON derived again from the object's own text (a List item's included) is the same
			want := string(o.JSON)
			o.JSON = nil
			if got, err := o.ReadJSON(); err != nil || string(got) != want {
				t.Fatalf("ReadJSON = %s, %v; want %s", got, err, want)
			}
		}
	})
}

// FuzzParseFastPathAgrees: a whole stream (YAML documents, JSON streams, null documents) reads the
// same with the fast path as with the general parser alone: the same objects with the same JSON
// and lines, and the same problems.
func FuzzParseFastPathAgrees(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports:\n  - port: 80\n---\nnull\n---\n~\n",
		"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"}}\n{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}\nnull\n",
		"{\"apiVersion\":\"v1\",\"kind\":\"Service\"}\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
		"{\"a\":1}\n{\"b\":2}\ngarbage\n",
		"--- ~\n--- null\napiVersion: v1\nkind: ConfigMap\ndata:\n  a: caf\xe9\n",
		"apiVersion: v1\nmetadata:\n  name: x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast := Parse("fuzz.yaml", data)
		fastPathEnabled = false
		defer func() { fastPathEnabled = true }()
		slow := Parse("fuzz.yaml", data)
		if len(fast.Objects) != len(slow.Objects) {
			t.Fatalf("fast path read %d objects, the general parser %d", len(fast.Objects), len(slow.Objects))
		}
		for i, o := range fast.Objects {
			s := slow.Objects[i]
			if o.Doc != s.Doc || o.Item != s.Item || o.Line != s.Line || o.Kind != s.Kind || o.Name != s.Name ||
				o.Namespace != s.Namespace || o.APIVersion != s.APIVersion || o.TabWidth != s.TabWidth || string(o.JSON) != string(s.JSON) {
				t.Fatalf("object %d differs:\nfast %+v\nslow %+v", i, o, s)
			}
			for _, path := range []string{"", "metadata.name", "spec.ports[0].port", "data"} {
				fastPathEnabled = true
				fl, fe := o.FieldLine(path)
				fastPathEnabled = false
				sl, se := s.FieldLine(path)
				if !se {
					continue // keys read as booleans or numbers are found by the fast path only (see checkSame)
				}
				if fl != sl || fe != se {
					t.Fatalf("object %d field %q: fast path line %d (%v), general parser %d (%v)", i, path, fl, fe, sl, se)
				}
			}
		}
		if len(fast.Problems) != len(slow.Problems) {
			t.Fatalf("problems differ:\nfast %+v\nslow %+v", fast.Problems, slow.Problems)
		}
		for i := range fast.Problems {
			if fast.Problems[i] != slow.Problems[i] {
				t.Fatalf("problem %d differs:\nfast %+v\nslow %+v", i, fast.Problems[i], slow.Problems[i])
			}
		}
	})
}
