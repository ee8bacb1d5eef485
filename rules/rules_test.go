package rules

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules/ruleid"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

var update = flag.Bool("update", false, "rewrite golden files (docs/rules.md)")

// fixtureNow is the clock of every fixture: certificates in testdata are judged at this time.
var fixtureNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// expectRE marks the line a finding must point at: `# expect: rule-id[, rule-id...]`.
var expectRE = regexp.MustCompile(`#\s*expect:\s*([a-z0-9, -]+)`)

func fixtureConfig() Config {
	cfg := DefaultConfig()
	cfg.Now = fixtureNow
	for _, r := range All() {
		if r.DefaultOff {
			cfg.Enable = append(cfg.Enable, r.ID)
		}
	}
	return cfg
}

// lintFile runs every rule over one fixture file.
func lintFile(t *testing.T, path string) []report.Finding {
	t.Helper()
	res, err := manifest.Load([]string{path}, manifest.Options{})
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	out, err := Run(snapshot.FromManifests(res, "default"), fixtureConfig())
	if err != nil {
		t.Fatal(err)
	}
	return out.Findings
}

// expectations reads the `# expect:` markers of a fixture: rule -> sorted lines.
func expectations(t *testing.T, path string) map[string][]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		m := expectRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		for _, id := range strings.Split(m[1], ",") {
			if id = strings.TrimSpace(id); id != "" {
				want[id] = append(want[id], line)
			}
		}
	}
	return want
}

func linesOf(fs []report.Finding, rule string) []int {
	var lines []int
	for _, f := range fs {
		if f.Rule == rule {
			lines = append(lines, f.Location.BestLine())
		}
	}
	sort.Ints(lines)
	return lines
}

// TestRuleFixtures runs every rule over its fixtures: in fail*.yaml the rule must report exactly
// on the lines marked `# expect: <rule-id>` (other rules named in markers are checked too); in
// pass*.yaml it must report nothing.
func TestRuleFixtures(t *testing.T) {
	for _, r := range All() {
		dir := filepath.Join("testdata", r.ID)
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			name := filepath.Base(file)
			t.Run(r.ID+"/"+name, func(t *testing.T) {
				got := lintFile(t, file)
				switch {
				case strings.HasPrefix(name, "fail"):
					want := expectations(t, file)
					if len(want[r.ID]) == 0 {
						t.Fatalf("fixture has no `# expect: %s` marker", r.ID)
					}
					for rule, lines := range want {
						sort.Ints(lines)
						if g := linesOf(got, rule); !equalInts(g, lines) {
							t.Errorf("rule %s: findings on lines %v, want %v\n%s", rule, g, lines, dump(got))
						}
					}
				case strings.HasPrefix(name, "pass"):
					if g := linesOf(got, r.ID); len(g) > 0 {
						t.Errorf("rule %s reported on lines %v of a passing fixture\n%s", r.ID, g, dump(got))
					}
				default:
					t.Fatalf("fixture names start with fail or pass")
				}
			})
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func dump(fs []report.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.Location.String() + " " + f.Severity.String() + " " + f.Rule + ": " + f.Message + "\n")
	}
	return b.String()
}

// TestRegistry fails on a rule without a proper ID, summary, remediation, docs or fixtures.
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range All() {
		t.Run(r.ID, func(t *testing.T) {
			if !idPattern.MatchString(r.ID) {
				t.Errorf("ID %q is not a kebab-case slug", r.ID)
			}
			if seen[r.ID] {
				t.Errorf("ID %q is registered twice", r.ID)
			}
			seen[r.ID] = true
			if r.Severity < report.Info || r.Severity > report.Error {
				t.Errorf("invalid severity %v", r.Severity)
			}
			if r.Category == "" {
				t.Error("no category")
			}
			if strings.TrimSpace(r.Summary) == "" || strings.HasSuffix(r.Summary, ".") {
				t.Errorf("summary %q must be a non-empty phrase without final period", r.Summary)
			}
			if strings.TrimSpace(r.Remediation) == "" || strings.Contains(r.Remediation, "\n") {
				t.Errorf("remediation must be one non-empty line, got %q", r.Remediation)
			}
			if len(r.Docs) < 40 {
				t.Errorf("docs too short: %q", r.Docs)
			}
			if r.Check == nil {
				t.Error("no check function")
			}
			for _, prefix := range []string{"fail", "pass"} {
				m, _ := filepath.Glob(filepath.Join("testdata", r.ID, prefix+"*.yaml"))
				if len(m) == 0 {
					t.Errorf("no %s fixture in testdata/%s/", prefix, r.ID)
				}
			}
		})
	}
	// fixture directories must belong to a rule
	dirs, _ := os.ReadDir("testdata")
	for _, d := range dirs {
		if d.IsDir() && !seen[d.Name()] && d.Name() != "certs" {
			t.Errorf("testdata/%s belongs to no rule", d.Name())
		}
	}
}

// TestRulesDoc fails when docs/rules.md differs from the registry; -update rewrites it.
func TestRulesDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "rules.md")
	want := Markdown()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./rules -run TestRulesDoc -update`)", err)
	}
	if string(got) != want {
		t.Fatalf("docs/rules.md is out of date with the rule registry: run `go test ./rules -run TestRulesDoc -update`")
	}
}

func TestEnabledRejectsUnknownRule(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "typo in disable", cfg: Config{Disable: []string{"service-selector-nomatch"}}, wantErr: `did you mean "service-selector-no-match"`},
		{name: "unknown enable", cfg: Config{Enable: []string{"zzz"}}, wantErr: `unknown rule "zzz"`},
		{name: "valid", cfg: Config{Disable: []string{"yaml-tabs"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Enabled(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestRuleIDsAreConstants keeps the registry and package ruleid, the one list of typed rule IDs
// the other layers name rules by, equal: a rule without a constant, or a constant without a rule,
// fails.
func TestRuleIDsAreConstants(t *testing.T) {
	registered := map[string]bool{}
	for _, r := range All() {
		registered[r.ID] = true
	}
	constants := map[string]bool{}
	for _, id := range ruleid.All() {
		if constants[string(id)] {
			t.Errorf("ruleid.All lists %q twice", id)
		}
		constants[string(id)] = true
		if !registered[string(id)] {
			t.Errorf("ruleid has %q, which no rule of the registry has: remove it or register the rule", id)
		}
	}
	for id := range registered {
		if !constants[id] {
			t.Errorf("rule %q has no constant in package ruleid: add it (and use it where the rule is named outside the registry)", id)
		}
	}
}
