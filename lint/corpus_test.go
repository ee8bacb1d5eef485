package lint

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// corpusDir holds manifests from public projects, one lint unit per folder; it sits beside the
// repository (../shared), for developers and CI.
var corpusDir = filepath.Join("..", "..", "shared", "corpus", "real-world")

// TestRealWorldCorpus lints every folder of the corpus as one unit. Nothing may panic or fail to
// complete, and the error- and warning-level findings are compared with a reviewed golden file per
// folder (testdata/corpus/<folder>.txt, refreshed with -update): any new finding on real projects'
// manifests must be looked at before it is accepted.
func TestRealWorldCorpus(t *testing.T) {
	dirs, err := os.ReadDir(corpusDir)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("corpus not available at %s: %v (CI must provide ../shared beside the repository)", corpusDir, err)
		}
		t.Skipf("corpus not available at %s: %v", corpusDir, err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			res, err := manifest.Load([]string{filepath.Join(corpusDir, d.Name())}, manifest.Options{Recursive: true})
			if err != nil {
				t.Fatal(err)
			}
			cfg := rules.DefaultConfig()
			cfg.Now = seedNow
			rep, err := Lint(snapshot.FromManifests(res, ""), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, f := range rep.Findings {
				if f.Severity.String() == "info" {
					continue
				}
				file := ""
				if f.Location != nil {
					file = filepath.Base(f.Location.File) + ":" + strconv.Itoa(f.Location.BestLine())
				}
				lines = append(lines, f.Severity.String()+" "+f.Rule+" "+file+" "+f.Message)
			}
			sort.Strings(lines)
			goldenCompare(t, filepath.Join("..", "corpus", d.Name()+".txt"), strings.Join(lines, "\n")+"\n")
		})
	}
}
