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
