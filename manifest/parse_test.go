package manifest

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		wantObjs  []string // kind/name@doc:line
		wantJSON  map[int]string
		wantProbs []string // rule@line
	}{
		{
			name:     "multi-document with leading marker and empty documents",
			input:    "---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n---\n# only a comment\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n",
			wantObjs: []string{"Service/a@1:2", "Pod/b@4:9"},
		},
		{
			name:     "kind List expands to items with their own lines",
			input:    "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n",
			wantObjs: []string{"Service/a@1:4", "Service/b@1:7"},
		},
		{
			name:     "flow style and JSON with tab indentation",
			input:    "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Service\",\n\t\"metadata\": {\"name\": \"j\"}\n}\n",
			wantObjs: []string{"Service/j@1:1"},
			wantJSON: map[int]string{0: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"j"}}`},
		},
		{
			name:      "syntax error in one document does not stop the others",
			input:     "apiVersion: v1\nkind: Service\nmetadata: {name: a\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n",
			wantObjs:  []string{"Service/b@2:5"},
			wantProbs: []string{"yaml-syntax@3"}, // where the unclosed mapping starts
		},
		{
			name:      "tabs are reported once and the document is still read",
			input:     "apiVersion: v1\nkind: Service\nmetadata:\n\tname: t\n",
			wantObjs:  []string{"Service/t@1:1"},
			wantProbs: []string{"yaml-tabs@4"},
		},
		{
			name:      "duplicate keys keep the last value and are reported",
			input:     "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n",
			wantObjs:  []string{"Service/b@1:1"},
			wantProbs: []string{"yaml-duplicate-key@5"},
		},
		{
			name:     "YAML 1.1 scalars as Kubernetes reads them",
			input:    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: yes\n  b: \"yes\"\n  c: 0755\n  d: 1_000\n  e: ~\n  f: 1.5\n  80: x\n",
			wantObjs: []string{"ConfigMap/c@1:1"},
			wantJSON: map[int]string{0: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":true,"b":"yes","c":493,"d":1000,"e":null,"f":1.5,"80":"x"}}`},
		},
		{
			name:     "anchors, aliases and merge keys",
			input:    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m, labels: &l {a: b}}\ndata:\n  <<: *l\n  c: d\n",
			wantObjs: []string{"ConfigMap/m@1:1"},
			wantJSON: map[int]string{0: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m","labels":{"a":"b"}},"data":{"c":"d","a":"b"}}`},
		},
		{
			name:      "missing kind",
			input:     "apiVersion: v1\nmetadata: {name: x}\n",
			wantProbs: []string{"missing-type-meta@1"},
		},
		{
			name:      "a document that is a list",
			input:     "- a\n- b\n",
			wantProbs: []string{"invalid-document@1"},
		},
		{
			name:      "alias bomb is bounded",
			input:     "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nkind: X\napiVersion: v1\n",
			wantProbs: []string{"yaml-syntax@1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Parse("f.yaml", []byte(tt.input))
			var objs []string
			for _, o := range res.Objects {
				objs = append(objs, o.Kind+"/"+o.Name+"@"+itoa(o.Doc)+":"+itoa(o.Line))
			}
			if strings.Join(objs, ",") != strings.Join(tt.wantObjs, ",") {
				t.Errorf("objects = %v, want %v", objs, tt.wantObjs)
			}
			var probs []string
			for _, p := range res.Problems {
				probs = append(probs, p.Rule+"@"+itoa(p.Line))
			}
			if strings.Join(probs, ",") != strings.Join(tt.wantProbs, ",") {
				t.Errorf("problems = %v, want %v (%+v)", probs, tt.wantProbs, res.Problems)
			}
			for i, want := range tt.wantJSON {
				if got := string(res.Objects[i].JSON); got != want {
					t.Errorf("JSON of object %d:\n got %s\nwant %s", i, got, want)
				}
			}
		})
	}
}

func TestFieldLine(t *testing.T) {
	input := "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: a\n    labels:\n      app.kubernetes.io/name: web\n  spec:\n    ports:\n    - port: 80\n      targetPort: http\n"
	o := Parse("f.yaml", []byte(input)).Objects[0]
	tests := []struct {
		path      string
		wantLine  int
		wantExact bool
	}{
		{path: "", wantLine: 4, wantExact: true},
		{path: "spec.ports[0].targetPort", wantLine: 13, wantExact: true},
		{path: "metadata.labels[app.kubernetes.io/name]", wantLine: 9, wantExact: true},
		{path: "spec.ports[0].nodePort", wantLine: 12, wantExact: false},
		{path: "spec.selector", wantLine: 10, wantExact: false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			line, exact := o.FieldLine(tt.path)
			if line != tt.wantLine || exact != tt.wantExact {
				t.Errorf("FieldLine(%q) = %d,%v want %d,%v", tt.path, line, exact, tt.wantLine, tt.wantExact)
			}
		})
	}
}

func TestPatcherFindsTheValueADecoderRejected(t *testing.T) {
	o := Parse("f.yaml", []byte("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n  - port: \"80x\"\n")).Objects[0]
	p, ok := o.NewPatcher()
	if !ok {
		t.Fatal("no patcher")
	}
	off := strings.Index(string(p.JSON), `"80x"`) + len(`"80x"`)
	v, ok := p.At(off)
	if !ok || v.Path != "spec.ports[0].port" || v.Line != 6 || v.JSON != `"80x"` {
		t.Fatalf("At = %+v, %v", v, ok)
	}
	if err := p.Null(v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(p.JSON), `"port":null`) {
		t.Errorf("value not nulled: %s", p.JSON)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	neg := n < 0
	if neg {
		n = -n
	}
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	if neg {
		s = "-" + s
	}
	return s
}

// TestParseStreams covers what kubectl's decoder reads that a YAML parser alone does not: several
// JSON values one after another, null and empty documents, and the line of a byte that is not UTF-8.
func TestParseStreams(t *testing.T) {
	svc := func(name string) string {
		return `{"apiVersion":"v1","kind":"Service","metadata":{"name":"` + name + `"}}`
	}
	tests := []struct {
		name      string
		input     string
		wantObjs  []string // kind/name@doc:line
		wantProbs []string // rule@line
		wantMsg   string   // in the message of the first problem
	}{
		{
			name:     "one JSON object per line, as jq -c writes them",
			input:    svc("a") + "\n" + svc("b") + "\n" + svc("c") + "\n",
			wantObjs: []string{"Service/a@1:1", "Service/b@2:2", "Service/c@3:3"},
		},
		{
			name:     "pretty-printed JSON objects one after another",
			input:    "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Service\",\n  \"metadata\": {\"name\": \"a\"}\n}\n{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"b\"}\n}\n",
			wantObjs: []string{"Service/a@1:1", "Pod/b@2:6"},
		},
		{
			name:     "two JSON objects on one line and a List after them",
			input:    svc("a") + svc("b") + "\n{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n" + svc("c") + "\n]}\n",
			wantObjs: []string{"Service/a@1:1", "Service/b@2:1", "Service/c@3:3"},
		},
		{
			name:     "JSON stream after a document marker, with a YAML document after it",
			input:    "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n" + svc("b") + "\n" + svc("c") + "\n---\napiVersion: v1\nkind: Service\nmetadata: {name: d}\n",
			wantObjs: []string{"Service/a@1:1", "Service/b@2:5", "Service/c@3:6", "Service/d@4:8"},
		},
		{
			name:     "JSON null values are skipped",
			input:    svc("a") + "\nnull\n" + svc("b") + "\nnull\n",
			wantObjs: []string{"Service/a@1:1", "Service/b@3:3"},
		},
		{
			name:      "garbage after two JSON objects",
			input:     svc("a") + "\n" + svc("b") + "\n\ngarbage\n" + svc("c") + "\n",
			wantObjs:  []string{"Service/a@1:1", "Service/b@2:2"},
			wantProbs: []string{"yaml-syntax@4"},
			wantMsg:   "text after JSON value 2 is not JSON (invalid character 'g' looking for beginning of value)",
		},
		{
			name:      "a syntax error inside the third JSON object is reported on its line",
			input:     svc("a") + "\n" + svc("b") + "\n{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Service\",,\n  \"metadata\": {}\n}\n",
			wantObjs:  []string{"Service/a@1:1", "Service/b@2:2"},
			wantProbs: []string{"yaml-syntax@5"},
			wantMsg:   "JSON value 3 is not valid JSON",
		},
		{
			name:      "a truncated last JSON object",
			input:     svc("a") + "\n" + svc("b") + "\n{\"apiVersion\": \"v1\",\n",
			wantObjs:  []string{"Service/a@1:1", "Service/b@2:2"},
			wantProbs: []string{"yaml-syntax@3"},
			wantMsg:   "JSON value 3 is incomplete",
		},
		{
			name:      "garbage after a single JSON object",
			input:     svc("a") + "\ngarbage\n",
			wantObjs:  []string{"Service/a@1:1"},
			wantProbs: []string{"yaml-syntax@2"},
			wantMsg:   "text after the JSON value is neither JSON nor a YAML object",
		},
		{
			name:     "a YAML document right after a single JSON object is read, as kubectl does",
			input:    svc("a") + "\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n",
			wantObjs: []string{"Service/a@1:1", "Service/b@2:2"},
		},
		{
			name:     "a single JSON object with trailing comments",
			input:    "# exported\n" + svc("a") + "\n# end\n",
			wantObjs: []string{"Service/a@1:2"},
		},
		{
			name:     "YAML flow style is not a JSON stream",
			input:    "{apiVersion: v1, kind: Service, metadata: {name: a}}\n",
			wantObjs: []string{"Service/a@1:1"},
		},
		{
			name:     "null, ~, empty and comment-only documents are skipped",
			input:    "null\n---\n~\n---\n--- null\n--- ~\n---\n# nothing\n---\nNULL\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
			wantObjs: []string{"Service/a@8:12"},
		},
		{
			name:      "a scalar document is still not an object",
			input:     "hello\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
			wantObjs:  []string{"Service/a@2:3"},
			wantProbs: []string{"invalid-document@1"},
		},
		{
			name:      "invalid UTF-8 is reported on the line of the byte",
			input:     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: caf\xe9\n",
			wantProbs: []string{"yaml-syntax@6"},
			wantMsg:   "incomplete UTF-8 octet sequence (byte 0xE9 in column 9) (the file is not UTF-8",
		},
		{
			name:      "invalid UTF-8 inside a flow mapping is reported on the line of the byte",
			input:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {\n  a: b,\n  c: \"\xff\"\n}\n",
			wantProbs: []string{"yaml-syntax@6"},
			wantMsg:   "(byte 0xFF in column 7)",
		},
		{
			name:      "invalid UTF-8 in the second document of a stream",
			input:     "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n  labels: {x: \"\xc3\"}\n",
			wantObjs:  []string{"Service/a@1:1"},
			wantProbs: []string{"yaml-syntax@9"},
			wantMsg:   "UTF-8",
		},
		{
			name:      "a control character is reported on its line",
			input:     "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\x07\n",
			wantProbs: []string{"yaml-syntax@4"},
			wantMsg:   "control characters are not allowed (character U+0007 in column 10) (remove the character",
		},
		{
			name:      "invalid UTF-8 in a JSON stream is reported on the line of the byte",
			input:     svc("a") + "\n{\"apiVersion\":\"v1\",\n\"kind\":\"Service\",\n\"metadata\":{\"name\":\"\xff\"}}\n",
			wantObjs:  []string{"Service/a@1:1"},
			wantProbs: []string{"yaml-syntax@4"},
			wantMsg:   "invalid leading UTF-8 octet",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, fast := range []bool{true, false} {
				fastPathEnabled = fast
				res := Parse("f.yaml", []byte(tt.input))
				fastPathEnabled = true
				var objs []string
				for _, o := range res.Objects {
					objs = append(objs, o.Kind+"/"+o.Name+"@"+itoa(o.Doc)+":"+itoa(o.Line))
				}
				if strings.Join(objs, ",") != strings.Join(tt.wantObjs, ",") {
					t.Errorf("fast path %v: objects = %v, want %v", fast, objs, tt.wantObjs)
				}
				var probs []string
				for _, p := range res.Problems {
					probs = append(probs, p.Rule+"@"+itoa(p.Line))
				}
				if strings.Join(probs, ",") != strings.Join(tt.wantProbs, ",") {
					t.Errorf("fast path %v: problems = %v, want %v (%+v)", fast, probs, tt.wantProbs, res.Problems)
				}
				if tt.wantMsg != "" && (len(res.Problems) == 0 || !strings.Contains(res.Problems[0].Message, tt.wantMsg)) {
					t.Errorf("fast path %v: message does not contain %q: %+v", fast, tt.wantMsg, res.Problems)
				}
			}
		})
	}
}
