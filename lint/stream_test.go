package lint

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
	"github.com/svc-doctor/svc-doctor/test/benchgen"
)

// allRulesConfig enables every rule, default-off ones included, at the seed test's clock.
func allRulesConfig() rules.Config {
	cfg := rules.DefaultConfig()
	cfg.Now = seedNow
	for _, r := range rules.All() {
		if r.DefaultOff {
			cfg.Enable = append(cfg.Enable, r.ID)
		}
	}
	return cfg
}

// lintWhole lints inputs the way the whole graph is built: everything read, then decoded, then
// checked.
func lintWhole(t *testing.T, paths []string, recursive bool, cfg rules.Config) *report.LintReport {
	t.Helper()
	res, err := manifest.Load(paths, manifest.Options{Recursive: recursive})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Lint(snapshot.FromManifests(res, ""), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// lintStreamed lints inputs the way lint does, keeping only typed Services decoded (the others
// are checked window Services at a time) and trimming pod templates.
func lintStreamed(t *testing.T, paths []string, recursive bool, cfg rules.Config, typed, window int) *report.LintReport {
	t.Helper()
	st, err := manifest.Open(context.Background(), paths, "", manifest.Options{Recursive: recursive})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := rules.NewCollector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := snapshot.FromStream(context.Background(), st, snapshot.StreamOptions{Issues: c.Issue, KeepPassThrough: c.KeepPassThrough,
		TypedServices: typed, Trim: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunStream(res, window); err != nil {
		t.Fatal(err)
	}
	snap := res.Snapshot
	return newReport(c.Outcome(), len(snap.Files), res.Read(), len(snap.Other)+snap.PassedThrough)
}

// streamCases are the inputs both ways must agree on: every rule fixture, the golden input, the
// chapter's manifests, the real-world corpus and a generated corpus.
func streamCases(t *testing.T) map[string][]string {
	t.Helper()
	cases := map[string][]string{
		"golden-input": {"testdata/golden-input.yaml"},
		"seed/broken":  {"../examples/seed/broken"},
		"seed/fixed":   {"../examples/seed/fixed"},
	}
	fixtures, err := filepath.Glob("../rules/testdata/*/*.yaml")
	if err != nil || len(fixtures) < 100 {
		t.Fatalf("rule fixtures not found (%d, %v)", len(fixtures), err)
	}
	for _, f := range fixtures {
		cases[f] = []string{f}
	}
	if dirs, err := os.ReadDir(corpusDir); err == nil {
		for _, d := range dirs {
			if d.IsDir() {
				cases["corpus/"+d.Name()] = []string{filepath.Join(corpusDir, d.Name())}
			}
		}
	}
	gen := filepath.Join(t.TempDir(), "generated.yaml")
	f, err := os.Create(gen)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := benchgen.Write(f, 2000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cases["generated"] = []string{gen}
	// objects defined again: a pass-through kind, Services kept decoded and Services kept as text
	dups := filepath.Join(t.TempDir(), "duplicates.yaml")
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec:\n  selector: {app: %s}\n  ports: [{port: %d, nodePort: %d}]\n  type: NodePort\n---\n"
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, annotations: {ignore.svc-doctor.io/nope: x}}\n---\n"
	content := fmt.Sprintf(svc, "a", "x", 80, 30001) + cm + fmt.Sprintf(svc, "b", "y", 81, 30001) + fmt.Sprintf(svc, "a", "z", 82, 30002) + cm +
		fmt.Sprintf(svc, "c", "x", 83, 30003) + fmt.Sprintf(svc, "b", "y", 84, 30003) + cm +
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n" +
		"    spec: {containers: [{name: x, image: nginx:1.27, ports: [{name: web, containerPort: 80}]}]}\n"
	if err := os.WriteFile(dups, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	cases["duplicates"] = []string{dups}
	// a JSON List and a block-style List, as kubectl get -o json|yaml write them
	var js, ys strings.Builder
	js.WriteString(`{"apiVersion": "v1", "kind": "List", "items": [`)
	ys.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := 0; i < 12; i++ {
		if i > 0 {
			js.WriteString(",\n")
		}
		fmt.Fprintf(&js, `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "j%d"}, "spec": {"selector": {"app": "x"}, "ports": [{"port": %d, "nodePort": 3000%d, "targetPort": "web"}], "type": "NodePort"}}`, i, 80+i, i%3)
		fmt.Fprintf(&ys, "- apiVersion: v1\n  kind: Service\n  metadata: {name: y%d}\n  spec:\n    selector: {app: x}\n    ports:\n    - port: %d\n      targetPort: http\n", i, 80+i)
	}
	js.WriteString("]}\n")
	lists := filepath.Join(t.TempDir(), "lists")
	if err := os.MkdirAll(lists, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lists, "a.json"), []byte(js.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lists, "b.yaml"), []byte(ys.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cases["lists"] = []string{lists}
	return cases
}

// TestStreamingMatchesWholeGraph: lint's streaming read (JSON dropped after decoding, pass-through
// objects only counted, pod templates trimmed, issues reported as they are found, Services checked
// one at a time from their text) gives exactly the findings of the whole graph, on every input of
// the repository. Windows of one Service are the hardest case for the rules marked PerService: a
// rule that reads another Service than the one it checks fails here.
func TestStreamingMatchesWholeGraph(t *testing.T) {
	cfg := allRulesConfig()
	for name, paths := range streamCases(t) {
		t.Run(name, func(t *testing.T) {
			recursive := name != "generated" && name != "duplicates"
			want := lintWhole(t, paths, recursive, cfg)
			for _, mode := range []struct {
				name          string
				typed, window int
			}{
				{name: "all decoded", typed: 0, window: 0},
				{name: "one decoded, windows of one", typed: 1, window: 1},
				{name: "windows of three", typed: 2, window: 3},
			} {
				got := lintStreamed(t, paths, recursive, cfg, mode.typed, mode.window)
				if diff := cmp.Diff(reportJSON(t, want), reportJSON(t, got)); diff != "" {
					t.Errorf("%s: streamed report differs from the whole graph's (-whole +streamed):\n%s", mode.name, diff)
				}
			}
		})
	}
}

// reportJSON renders the parts of a report that must agree.
func reportJSON(t *testing.T, r *report.LintReport) string {
	t.Helper()
	b, err := json.MarshalIndent(struct {
		Summary  report.Summary
		Findings []report.Finding
	}{r.Summary, r.Findings}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
