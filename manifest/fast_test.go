package manifest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// slowJSON converts a document with the general YAML parser (the reference).
func slowJSON(doc []byte) (string, int, bool) {
	var n yaml.Node
	if yaml.Unmarshal(doc, &n) != nil || len(n.Content) == 0 {
		return "", 0, false
	}
	root := n.Content[0]
	e := encoder{}
	if e.encode(root, "", 0) != nil || len(e.dups) > 0 {
		return "", 0, false
	}
	return string(e.buf), root.Line, true
}

// checkSame fails when the fast path answers differently from the general parser.
func checkSame(t *testing.T, name string, doc []byte) bool {
	t.Helper()
	root, ok := fastParse(doc)
	if !ok {
		return false
	}
	want, line, wok := slowJSON(doc)
	if !wok {
		t.Errorf("%s: the fast path accepted a document the general parser rejects:\n%s", name, doc)
		return true
	}
	if got := string(root.emit(nil)); got != want {
		t.Errorf("%s: fast path JSON differs\n got %s\nwant %s\ndocument:\n%s", name, got, want, doc)
	}
	if root.line != line {
		t.Errorf("%s: fast path line %d, general parser %d", name, root.line, line)
	}
	// every field is found on the same line by both trees
	var n yaml.Node
	_ = yaml.Unmarshal(doc, &n)
	e := encoder{track: true}
	_ = e.encode(n.Content[0], "", 0)
	for _, sp := range e.spans {
		segs := ParsePath(sp.path)
		fl, fe := root.fieldLine(segs)
		sl, se := nodeFieldLine(n.Content[0], segs)
		if !se {
			// the general tree is searched by raw key text: keys Kubernetes reads as booleans or
			// numbers (y:, 00:) are only found by the fast path, which uses their JSON names
			continue
		}
		if fl != sl || fe != se {
			t.Errorf("%s: field %s: fast path line %d (%v), general parser %d (%v)", name, sp.path, fl, fe, sl, se)
			break
		}
	}
	return true
}

// TestFastPathAgreesOnRealManifests runs every YAML document of the repository's examples and
// fixtures and of the real-world corpus through both paths: wherever the fast path answers, it
// must answer exactly like the general parser. It must also answer for most of them.
func TestFastPathAgreesOnRealManifests(t *testing.T) {
	roots := []string{"../examples", "../rules/testdata", "../lint/testdata", "../expose/testdata", "../../shared/corpus/real-world"}
	docs, fast := 0, 0
	for _, r := range roots {
		_ = filepath.WalkDir(r, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml") {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for _, c := range splitDocuments(data) {
				if isBlank(c.text) || isJSONish(c.text) {
					continue
				}
				docs++
				if checkSame(t, path, c.text) {
					fast++
				}
			}
			return nil
		})
	}
	t.Logf("fast path answered %d of %d documents", fast, docs)
	if docs > 100 && fast*10 < docs*7 {
		t.Errorf("the fast path answered only %d of %d documents", fast, docs)
	}
}

func TestFastPathCases(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		wantFast bool
	}{
		{name: "block mapping and compact sequence", doc: "a: 1\nb:\n- x\n- y: 2\n  z: [1, \"two\", {k: v}]\nc: {}\n", wantFast: true},
		{name: "quoted scalars and escapes", doc: "a: 'it''s'\nb: \"tab\\there \\u00e9\"\nc: \"# not a comment\" # comment\n", wantFast: true},
		{name: "literal and folded blocks", doc: "a: |\n  line 1\n    indented\n\n  line 3\nb: |-\n  x\nc: >\n  folded\n  text\nd: |+\n  keep\n\ne: 1\n", wantFast: true},
		{name: "yaml 1.1 scalars", doc: "a: yes\nb: 0755\nc: 1_000\nd: ~\ne: 1e3\nf: .5\ng: -0x1F\n80: port\n", wantFast: true},
		{name: "nested sequences", doc: "a:\n  - - 1\n    - 2\n  - - 3\n", wantFast: true},
		{name: "document marker", doc: "--- # first\nkind: Service\n", wantFast: true},
		{name: "anchor falls back", doc: "a: &x 1\nb: *x\n"},
		{name: "multi-line plain scalar falls back", doc: "a: one\n  two\n"},
		{name: "tab falls back", doc: "a:\n\tb: 1\n"},
		{name: "duplicate key falls back", doc: "a: 1\na: 2\n"},
		{name: "merge key falls back", doc: "a: {b: 1}\n<<: {c: 2}\n"},
		{name: "error falls back", doc: "a: b: c\n"},
		{name: "tag falls back", doc: "a: !!str 1\n"},
		{name: "multi-line flow falls back", doc: "a: [1,\n  2]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkSame(t, tt.name, []byte(tt.doc)); got != tt.wantFast {
				t.Errorf("fast path answered = %v, want %v", got, tt.wantFast)
			}
		})
	}
}

// FuzzFastPath: wherever the fast path answers, it agrees with the general parser.
func FuzzFastPath(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels: {app: web}\nspec:\n  ports:\n  - port: 80\n    targetPort: http\n",
		"a: |\n  x\n  y\nb: >-\n  z\n",
		"a: 'q''q'\nb: \"\\x41\"\n- x\n",
		"a:\n- b: [1, {c: d}]\n  e: null\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.IndexByte(data, 0) >= 0 {
			return
		}
		checkSame(t, "fuzz", data)
	})
}
