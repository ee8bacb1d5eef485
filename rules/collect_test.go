package rules

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// TestCollectorKeepsTheFirstFindings: with MaxPerRule, each rule keeps exactly the first findings
// of the uncapped report, in its order, and one summary finding counts the others; the counts
// by severity include them. The input mixes files read out of name order, Lists (several objects
// in one document, where order between objects comes from their lines) and findings on several
// fields of one object.
func TestCollectorKeepsTheFirstFindings(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(1))
	// svc writes a Service; first starts its first line, cont the others (a List item or not)
	svc := func(b *strings.Builder, first, cont string, i int) {
		name := fmt.Sprintf("svc-%d", i)
		if rng.Intn(3) == 0 {
			name = fmt.Sprintf("Svc_%d", i) // a second finding on the object: object-name-invalid
		}
		fmt.Fprintf(b, "%sapiVersion: v1\n%skind: Service\n%smetadata: {name: %s}\n%sspec:\n%s  selector: {app: x%d}\n%s  ports:\n%s  - {name: Http_%d, port: 80}\n%s  - {name: b, port: 81}\n",
			first, cont, cont, name, cont, cont, i, cont, cont, i, cont)
	}
	var paths []string
	n := 0
	for _, f := range []string{"b.yaml", "a.yaml", "c.yaml"} {
		var b strings.Builder
		for d := 0; d < 4; d++ {
			b.WriteString("---\n")
			if d%2 == 0 {
				b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
				for k := 0; k < 30; k++ {
					svc(&b, "- ", "  ", n)
					n++
				}
				continue
			}
			svc(&b, "", "", n)
			n++
		}
		p := filepath.Join(dir, f)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	res, err := manifest.Load(paths, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != n {
		t.Fatalf("read %d objects, wrote %d", len(res.Objects), n)
	}
	snap := snapshot.FromManifests(res, "")
	cfg := DefaultConfig()
	all, err := Run(snap, cfg)
	if err != nil {
		t.Fatal(err)
	}
	perRule := map[string][]report.Finding{}
	for _, f := range all.Findings {
		perRule[f.Rule] = append(perRule[f.Rule], f)
	}
	if len(perRule["service-selector-no-match"]) != n || len(perRule["object-name-invalid"]) < 10 || len(perRule["service-port-name-invalid"]) != n {
		t.Fatalf("unexpected findings: %d selector, %d name, %d port name", len(perRule["service-selector-no-match"]), len(perRule["object-name-invalid"]), len(perRule["service-port-name-invalid"]))
	}
	for _, max := range []int{1, 7, 50, n - 1, n, n + 5} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			cfg.MaxPerRule = max
			capped, err := Run(snapshot.FromManifests(res, ""), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if capped.Counts != all.Counts {
				t.Errorf("counts %+v, want %+v", capped.Counts, all.Counts)
			}
			got := map[string][]report.Finding{}
			omitted := map[string]int{}
			for _, f := range capped.Findings {
				if f.Omitted > 0 {
					omitted[f.Rule] = f.Omitted
					continue
				}
				got[f.Rule] = append(got[f.Rule], f)
			}
			for rule, fs := range perRule {
				want := fs
				if len(want) > max {
					want = want[:max]
				}
				if diff := cmp.Diff(want, got[rule]); diff != "" {
					t.Errorf("%s: kept findings are not the first %d (-want +got):\n%s", rule, max, diff)
				}
				if wantOmitted := len(fs) - len(want); omitted[rule] != wantOmitted {
					t.Errorf("%s: summary counts %d, want %d", rule, omitted[rule], wantOmitted)
				}
			}
		})
	}
}
