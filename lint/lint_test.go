package lint

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
	"github.com/xeipuuv/gojsonschema"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// runLint runs the lint command with args and returns stdout, stderr and the exit code.
func runLint(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	cmd := NewCmd(nil, streams)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	err := cmd.Execute()
	if err != nil && !cmdutil.IsSilent(err) {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), cmdutil.ExitCode(err)
}

func goldenCompare(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./lint -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (run go test ./lint -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestOutputFormats renders the same report in every format and compares with golden files.
func TestOutputFormats(t *testing.T) {
	tests := []struct {
		format string
		golden string
	}{
		{format: "table", golden: "report.table.txt"},
		{format: "wide", golden: "report.wide.txt"},
		{format: "json", golden: "report.json"},
		{format: "yaml", golden: "report.yaml"},
		{format: "sarif", golden: "report.sarif"},
		{format: "junit", golden: "report.junit.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			stdout, _, code := runLint(t, "", "-f", "testdata/golden-input.yaml", "-o", tt.format, "--fail-on", "warning", "--cert-expiry-warning", "720h")
			if code != cmdutil.ExitFindings {
				t.Errorf("exit code %d, want %d", code, cmdutil.ExitFindings)
			}
			goldenCompare(t, tt.golden, stdout)
		})
	}
}

// sarifSchema is the path of the SARIF 2.1.0 JSON schema (OASIS errata01), as the go-sarif module
// v3.3.1 carries it (pkg/report/v210/sarif/schema.go); see ../report/testdata/README.md. It is
// found from this file, so that tests that change directory find it too.
func sarifSchema() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "report", "testdata", "sarif-schema-2.1.0.json")
}

// validateSARIF validates the bytes of a SARIF log against the SARIF 2.1.0 JSON schema: the
// bytes written, not a Go value read back from them (which would drop what the types do not
// know, such as a property the schema does not allow).
func validateSARIF(t *testing.T, data []byte) error {
	t.Helper()
	schema, err := os.ReadFile(sarifSchema())
	if err != nil {
		t.Fatal(err)
	}
	res, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(data))
	if err != nil {
		return err
	}
	if !res.Valid() {
		var errs []string
		for _, e := range res.Errors() {
			errs = append(errs, e.String())
		}
		return fmt.Errorf("%d schema errors: %s", len(errs), strings.Join(errs, "; "))
	}
	return nil
}

// TestSARIFValidates checks the SARIF that lint writes against the SARIF 2.1.0 JSON schema, and
// that every result has a real start line and a rule from the registry; the validation itself is
// shown to refuse a log with a property the schema does not allow.
func TestSARIFValidates(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{name: "golden input and the chapter", args: []string{"-f", "testdata/golden-input.yaml", "-f", "../examples/seed/broken"}},
		{name: "findings left out by --max-findings", args: []string{"-f", "../examples/seed/broken", "--max-findings", "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, _ := runLint(t, "", append(tt.args, "-o", "sarif")...)
			if err := validateSARIF(t, []byte(stdout)); err != nil {
				t.Fatalf("SARIF does not validate against the 2.1.0 schema: %v", err)
			}
			log, err := sarif.FromString(stdout)
			if err != nil {
				t.Fatal(err)
			}
			run := log.Runs[0]
			if len(run.Tool.Driver.Rules) != len(RuleMetas()) {
				t.Errorf("driver lists %d rules, registry has %d", len(run.Tool.Driver.Rules), len(RuleMetas()))
			}
			if len(run.Results) == 0 {
				t.Fatal("no results")
			}
			for _, r := range run.Results {
				if r.RuleIndex < 0 || *run.Tool.Driver.Rules[r.RuleIndex].ID != *r.RuleID {
					t.Errorf("result %s has rule index %d pointing elsewhere", *r.RuleID, r.RuleIndex)
				}
				reg := r.Locations[0].PhysicalLocation.Region
				if reg == nil || reg.StartLine == nil || *reg.StartLine < 1 {
					t.Errorf("result %s has no start line", *r.RuleID)
				}
			}
		})
	}
	t.Run("the validation refuses a property outside the schema", func(t *testing.T) {
		stdout, _, _ := runLint(t, "", "-f", "testdata/golden-input.yaml", "-o", "sarif")
		bad := strings.Replace(stdout, `"ruleId":`, `"ruleIdentifier": "x", "ruleId":`, 1)
		if bad == stdout {
			t.Fatal("no result to alter")
		}
		if err := validateSARIF(t, []byte(bad)); err == nil {
			t.Error("a result with a property the schema does not allow validated")
		}
	})
}

func TestExitCodesAndErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "clean file", args: []string{"-f", "../examples/seed/fixed/01-service.yaml"}, wantCode: 0, wantStderr: "0 errors, 0 warnings, 0 info in 2 objects from 1 file"},
		{name: "errors fail by default", args: []string{"-f", "../examples/seed/broken/12-readiness-probe.yaml"}, wantCode: 1, wantStdout: "probe-multiple-handlers"},
		{name: "fail-on none", args: []string{"-f", "../examples/seed/broken/12-readiness-probe.yaml", "--fail-on", "none"}, wantCode: 0},
		{name: "info does not fail at error", args: []string{"-f", "../examples/seed/broken/01-service.yaml"}, wantCode: 0},
		{name: "info fails at info", args: []string{"-f", "../examples/seed/broken/01-service.yaml", "--fail-on", "info"}, wantCode: 1},
		{name: "disable a rule", args: []string{"-f", "../examples/seed/broken/12-readiness-probe.yaml", "--disable", "probe-multiple-handlers,yaml-tabs"}, wantCode: 0},
		{name: "unknown rule", args: []string{"-f", "x.yaml", "--disable", "yaml-tab"}, wantCode: 2, wantStderr: `did you mean "yaml-tabs"`},
		{name: "no input", args: nil, wantCode: 2, wantStderr: "nothing to lint"},
		{name: "missing file", args: []string{"-f", "does-not-exist.yaml"}, wantCode: 2, wantStderr: "does-not-exist.yaml: no such file or directory"},
		{name: "url refused", args: []string{"-f", "https://example.com/x.yaml"}, wantCode: 2, wantStderr: "never uses the network"},
		{name: "bad output", args: []string{"-f", "-", "-o", "xml"}, wantCode: 2, wantStderr: `--output "xml" is not supported`},
		{name: "bad fail-on", args: []string{"-f", "-", "--fail-on", "fatal"}, wantCode: 2, wantStderr: "--fail-on"},
		{name: "bad node port range", args: []string{"-f", "-", "--node-port-range", "40000-30000"}, wantCode: 2, wantStderr: "--node-port-range"},
		{name: "stdin", args: []string{"-f", "-"}, stdin: "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: ExternalName\n  externalName: 10.1.2.3\n", wantCode: 1, wantStdout: "<stdin>:6"},
		{name: "positional args are files", args: []string{"../examples/seed/fixed/06-external-name.yaml"}, wantCode: 0},
		{name: "node port range flag", args: []string{"-f", "-", "--node-port-range", "20000-22767"}, stdin: "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: NodePort\n  selector: {a: b}\n  ports: [{port: 80, nodePort: 30080}]\n", wantCode: 1, wantStdout: "outside the node port range 20000-22767"},
		{name: "garbage never panics", args: []string{"-f", "-"}, stdin: "\x00\x01: [\n- {", wantCode: 1, wantStdout: "yaml-syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runLint(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			if tt.wantStdout != "" && !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout does not contain %q:\n%s", tt.wantStdout, stdout)
			}
			if tt.wantStderr != "" && !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, stderr)
			}
		})
	}
}

func TestReportFileAndTableAtOnce(t *testing.T) {
	dir := t.TempDir()
	sarifPath := filepath.Join(dir, "out.sarif")
	junitPath := filepath.Join(dir, "junit.xml")
	stdout, _, code := runLint(t, "", "-f", "../examples/seed/broken/12-readiness-probe.yaml", "--report-file", "sarif="+sarifPath, "--report-file", "junit="+junitPath)
	if code != 1 {
		t.Fatalf("exit code %d", code)
	}
	if !strings.Contains(stdout, "SEVERITY") {
		t.Errorf("stdout is not a table:\n%s", stdout)
	}
	log, err := sarif.Open(sarifPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Runs[0].Results) != 2 {
		t.Errorf("SARIF file has %d results, want 2", len(log.Runs[0].Results))
	}
	j, err := os.ReadFile(junitPath)
	if err != nil || !bytes.Contains(j, []byte(`<failure message="probe-multiple-handlers`)) {
		t.Errorf("JUnit file lacks the failure (%v):\n%s", err, j)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lint.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: svc-doctor.io/v1\nkind: LintConfig\nfailOn: info\ndisable: [yaml-tabs]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, code := runLint(t, "", "--config", cfg, "-f", "../examples/seed/broken/02-session-affinity.yaml")
	if code != 1 || strings.Contains(stdout, "yaml-tabs") || !strings.Contains(stdout, "service-selector-no-match") {
		t.Errorf("config not applied: code %d\n%s", code, stdout)
	}
	// a flag wins over the file
	if _, _, code := runLint(t, "", "--config", cfg, "--fail-on", "error", "-f", "../examples/seed/broken/02-session-affinity.yaml"); code != 0 {
		t.Errorf("--fail-on error should override failOn: info, exit code %d", code)
	}
	// rule by rule, the flags win over the file's lists
	for _, tc := range []struct {
		name, file string
		flags      []string
		wantRule   bool
	}{
		{name: "--disable beats the file's enable", file: "enable: [yaml-tabs]\n", flags: []string{"--disable", "yaml-tabs"}, wantRule: false},
		{name: "--enable beats the file's disable", file: "disable: [yaml-tabs]\n", flags: []string{"--enable", "yaml-tabs"}, wantRule: true},
		{name: "the file's disable applies without flags", file: "disable: [yaml-tabs]\n", wantRule: false},
	} {
		p := filepath.Join(dir, "rules.yaml")
		if err := os.WriteFile(p, []byte(tc.file), 0o644); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"--config", p, "-f", "../examples/seed/broken/02-session-affinity.yaml"}, tc.flags...)
		stdout, _, _ := runLint(t, "", args...)
		if got := strings.Contains(stdout, "yaml-tabs"); got != tc.wantRule {
			t.Errorf("%s: yaml-tabs reported = %v, want %v\n%s", tc.name, got, tc.wantRule, stdout)
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("failOn: info\ndisabel: [x]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runLint(t, "", "--config", bad, "-f", "-"); code != 2 || !strings.Contains(stderr, "disabel") {
		t.Errorf("unknown config key: code %d, stderr %s", code, stderr)
	}
}

func TestKustomize(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("kustomization.yaml", "namespace: shop\nnamePrefix: prod-\nresources: [svc.yaml, deploy.yaml]\n")
	write("svc.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: http}]\n")
	write("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: nginx:1.27, ports: [{name: web, containerPort: 80}]}]\n")
	stdout, stderr, code := runLint(t, "", "-k", dir)
	if code != 1 || !strings.Contains(stdout, "Service/shop/prod-web") || !strings.Contains(stdout, `targetPort "http"`) {
		t.Errorf("kustomize lint: code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	write("kustomization.yaml", "resources:\n- svc.yaml\n- github.com/example/repo//base?ref=v1\n")
	if _, stderr, code := runLint(t, "", "-k", dir); code != 2 || !strings.Contains(stderr, "remote resource") {
		t.Errorf("remote base: code %d, stderr %s", code, stderr)
	}
}

var _ = report.FormatJSON

// TestSARIFLocations: SARIF from a kustomization points into the files the objects came from
// (repository-relative URIs, the line of the field in that file), and SARIF from standard input
// into the file --stdin-filename names; both validate against the schema.
func TestSARIFLocations(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	files := map[string]string{
		"kz/base/kustomization.yaml": "resources: [app.yaml]\n",
		// two objects in one file: each is found again by its kind and name
		"kz/base/app.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n" +
			"  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n" +
			"        ports: [{name: www, containerPort: 80}]\n        readinessProbe: {httpGet: {path: /, port: www}}\n---\n" +
			"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n    targetPort: http\n",
		"kz/overlays/prod/kustomization.yaml": "namespace: shop\nnamePrefix: prod-\nresources: [../../base]\nconfigMapGenerator:\n- name: settings\n  literals: [MODE=prod]\n",
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, code := runLint(t, "", "-k", "kz/overlays/prod", "-o", "sarif")
	if code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", code, stderr)
	}
	if err := validateSARIF(t, []byte(stdout)); err != nil {
		t.Fatal(err)
	}
	log, err := sarif.FromString(stdout)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range log.Runs[0].Results {
		pl := r.Locations[0].PhysicalLocation
		uri := *pl.ArtifactLocation.URI
		if strings.Contains(uri, "kustomize") {
			t.Errorf("result %s points into the rendered stream: %s", *r.RuleID, uri)
		}
		if *r.RuleID == "service-target-port-unresolved" {
			found = true
			if uri != "kz/base/app.yaml" || pl.Region == nil || *pl.Region.StartLine != 23 {
				t.Errorf("targetPort finding at %s:%v, want kz/base/app.yaml:23", uri, pl.Region)
			}
		}
	}
	if !found {
		t.Fatalf("no service-target-port-unresolved result:\n%s", stdout)
	}

	stdin := "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  type: ExternalName\n  externalName: 10.1.2.3\n"
	stdout, _, _ = runLint(t, stdin, "-f", "-", "--stdin-filename", "charts/web/rendered.yaml", "-o", "sarif")
	if err := validateSARIF(t, []byte(stdout)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, `"uri": "charts/web/rendered.yaml"`) || strings.Contains(stdout, "stdin") {
		t.Errorf("SARIF of standard input does not use --stdin-filename:\n%s", stdout)
	}
}
