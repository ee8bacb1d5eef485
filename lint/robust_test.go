package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/report"
)

// runLintCtx runs the lint command with a context and a stdin reader.
func runLintCtx(ctx context.Context, t *testing.T, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: stdin, Out: &out, ErrOut: &errOut}
	cmd := NewCmd(nil, streams)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	err := cmd.ExecuteContext(ctx)
	if err != nil && !cmdutil.IsSilent(err) {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), cmdutil.ExitCode(err)
}

// writeFiles writes files (path: content) below dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const okService = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: ExternalName\n  externalName: web.example.com\n"

// TestEmptyInputsAreErrors: an input that holds no Kubernetes object is exit code 2 with a
// message that names it and says what to do, unless --allow-empty.
func TestEmptyInputsAreErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"only-subdirs/a/svc.yaml": okService,
		"comments/x.yaml":         "# nothing here\n---\n---\n",
		"empty.yaml":              "",
		"ok.yaml":                 okService,
		"kz/kustomization.yaml":   "resources: []\n",
	})
	if err := os.Mkdir(filepath.Join(dir, "empty-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStderr string
	}{
		{name: "empty stdin", args: []string{"-f", "-"}, wantCode: 2, wantStderr: "no Kubernetes objects in standard input (-f -)"},
		{name: "empty stdin allowed", args: []string{"-f", "-", "--allow-empty"}, wantCode: 0, wantStderr: "0 errors, 0 warnings, 0 info in 0 objects"},
		{name: "empty directory", args: []string{"-f", p("empty-dir")}, wantCode: 2, wantStderr: "empty-dir: it holds no .yaml, .yml or .json file"},
		{name: "only subdirectories without -R", args: []string{"-f", p("only-subdirs")}, wantCode: 2, wantStderr: "it has 1 subdirectory but no .yaml, .yml or .json file of its own: pass -R to read them"},
		{name: "only subdirectories with -R", args: []string{"-R", "-f", p("only-subdirs")}, wantCode: 0},
		{name: "files with only comments", args: []string{"-f", p("comments")}, wantCode: 2, wantStderr: "its 1 file are empty or hold only comments"},
		{name: "an empty file among good ones", args: []string{"-f", p("ok.yaml"), "-f", p("empty.yaml")}, wantCode: 2, wantStderr: "no Kubernetes objects in " + p("empty.yaml") + ": the file is empty"},
		{name: "an empty kustomization", args: []string{"-k", p("kz")}, wantCode: 2, wantStderr: "kustomization " + p("kz") + ": it renders nothing"},
		{name: "a syntax error is not empty: it is a finding", args: []string{"-f", "-"}, stdin: "a: [\n", wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runLint(t, tt.stdin, tt.args...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}
}

// TestReportFiles: report file paths are checked before any input is read (exit 2 naming the
// path), FORMAT=- is standard output, and a failed run leaves no report file it created and does
// not truncate one that existed.
func TestReportFiles(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "old.sarif")
	if err := os.WriteFile(existing, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := "../examples/seed/broken/12-readiness-probe.yaml"
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
		wantFile   string // a file that must hold this
		noFile     string // a file that must not exist
	}{
		{name: "unwritable directory", args: []string{"-f", "-", "--report-file", "sarif=/no/dir/x.sarif"}, wantCode: 2,
			wantStderr: "--report-file sarif=/no/dir/x.sarif: cannot write it: no such file or directory (check that the directory exists"},
		{name: "a directory", args: []string{"-f", broken, "--report-file", "junit=" + dir}, wantCode: 2, wantStderr: "is a directory: name a file"},
		{name: "json to standard output", args: []string{"-f", broken, "--report-file", "json=-"}, wantCode: 1, wantStdout: `"kind": "LintReport"`},
		{name: "sarif to standard output and junit to a file", args: []string{"-f", broken, "--report-file", "sarif=-", "--report-file", "junit=" + filepath.Join(dir, "j.xml")},
			wantCode: 1, wantStdout: `"version": "2.1.0"`, wantFile: filepath.Join(dir, "j.xml") + "=<testsuites"},
		{name: "standard output taken twice", args: []string{"-f", broken, "--report-file", "json=-", "--report-file", "yaml=-"}, wantCode: 2, wantStderr: "both write to standard output"},
		{name: "standard output taken by -o", args: []string{"-f", broken, "-o", "yaml", "--report-file", "json=-"}, wantCode: 2, wantStderr: "already carries -o yaml"},
		{name: "a failed run leaves no new file and keeps an old one", args: []string{"-f", "missing.yaml", "--report-file", "sarif=" + existing, "--report-file", "junit=" + filepath.Join(dir, "new.xml")},
			wantCode: 2, wantStderr: "missing.yaml: no such file", wantFile: existing + "=previous", noFile: filepath.Join(dir, "new.xml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// stdin fails the test if read: a report file path is checked before any input
			stdout, stderr, code := runLintCtx(context.Background(), t, failReader{t}, tt.args...)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d\nstdout %.300s\nstderr %s\nwant %d, %q, %q", code, stdout, stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if tt.wantFile != "" {
				path, content, _ := strings.Cut(tt.wantFile, "=")
				if data, err := os.ReadFile(path); err != nil || !strings.Contains(string(data), content) {
					t.Errorf("%s holds %.100q (%v), want %q", path, data, err, content)
				}
			}
			if tt.noFile != "" {
				if _, err := os.Stat(tt.noFile); err == nil {
					t.Errorf("%s was left behind", tt.noFile)
				}
			}
		})
	}
}

type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("standard input was read")
	return 0, io.EOF
}

// manyServices writes n Services whose selectors match nothing (one finding each).
func manyServices(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%d, namespace: ns-%d}\nspec:\n  selector: {app: svc-%d}\n  ports: [{port: 80}]\n", i, i%3, i)
	}
	return b.String()
}

// TestMaxFindings: past --max-findings findings of one rule (100 by default), one summary finding
// gives the number of the others, which still count; the ones listed are the first in report
// order; 0 lists them all.
func TestMaxFindings(t *testing.T) {
	input := manyServices(250)
	tests := []struct {
		name       string
		args       []string
		wantListed int
		wantMore   int
	}{
		{name: "default", args: nil, wantListed: 100, wantMore: 150},
		{name: "five", args: []string{"--max-findings", "5"}, wantListed: 5, wantMore: 245},
		{name: "all", args: []string{"--max-findings", "0"}, wantListed: 250, wantMore: 0},
	}
	var all []report.Finding
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runLint(t, input, append([]string{"-f", "-", "-o", "json", "--fail-on", "info"}, tt.args...)...)
			if code != 1 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var rep report.LintReport
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatal(err)
			}
			listed, more := 0, 0
			for _, f := range rep.Findings {
				if f.Omitted > 0 {
					more += f.Omitted
					if f.Rule != "service-selector-no-match" || f.Severity != report.Info || !strings.Contains(f.Message, fmt.Sprintf("%d more", f.Omitted)) {
						t.Errorf("summary finding %+v", f)
					}
					continue
				}
				listed++
			}
			if listed != tt.wantListed || more != tt.wantMore || rep.Summary.Findings.Info != 250 {
				t.Errorf("listed %d, more %d, counted %d; want %d, %d, 250", listed, more, rep.Summary.Findings.Info, tt.wantListed, tt.wantMore)
			}
			if tt.wantMore == 0 {
				all = rep.Findings
				return
			}
			if all != nil && !equalPrefix(rep.Findings[:listed], all) {
				t.Errorf("the findings listed are not the first ones of the full report")
			}
		})
	}
	// the table says it too
	_, stderr, _ := runLint(t, input, "-f", "-")
	if !strings.Contains(stderr, "250 info in 250 objects from 1 file, 150 not listed (--max-findings)") {
		t.Errorf("summary line: %s", stderr)
	}
}

func equalPrefix(got, all []report.Finding) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(all[:len(got)])
	return bytes.Equal(a, b)
}

// TestMalformedValues: a value the API server cannot read is one finding at its own line, with
// its field path, and the object is still checked as if the value were absent: no finding about
// what the rest of the object has (its selector, its ports).
func TestMalformedValues(t *testing.T) {
	svc := "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - name: http\n    port: 80\n    targetPort: %s\n"
	tests := []struct {
		name    string
		value   string
		wantMsg string
	}{
		{name: "integer out of range (IntOrString)", value: "99999999999999999999", wantMsg: "spec.ports[0].targetPort is 99999999999999999999, which is out of range"},
		{name: "float", value: "80.5", wantMsg: "spec.ports[0].targetPort is the number 80.5, but it must be a whole number"},
		{name: "mapping", value: "{a: 1}", wantMsg: "spec.ports[0].targetPort is a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runLint(t, fmt.Sprintf(svc, tt.value), "-f", "-", "-o", "json")
			if code != 1 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var rep report.LintReport
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatal(err)
			}
			var errs []report.Finding
			for _, f := range rep.Findings {
				if f.Severity >= report.Warning {
					errs = append(errs, f)
				}
			}
			if len(errs) != 1 || errs[0].Rule != "invalid-value" || errs[0].Location.FieldLine != 10 ||
				errs[0].Location.Field != "spec.ports[0].targetPort" || !strings.Contains(errs[0].Message, tt.wantMsg) {
				t.Errorf("findings at warning or above: %+v\nwant one invalid-value at line 10: %q", errs, tt.wantMsg)
			}
		})
	}
}

// silentStdin is standard input that never sends anything and never ends.
func silentStdin(t *testing.T) io.Reader {
	r, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	return r
}

// endlessStdin sends Services without end.
type endlessStdin struct{ n int }

func (e *endlessStdin) Read(p []byte) (int, error) {
	s := fmt.Sprintf("---\napiVersion: v1\nkind: Service\nmetadata: {name: s-%d}\nspec: {selector: {a: b}, ports: [{port: 80}]}\n", e.n)
	e.n++
	return copy(p, s), nil
}

// TestInterruptedRunsReturn: a cancelled context (Ctrl-C, SIGTERM) ends lint while it waits on
// stdin or reads an endless stream, with exit code 130 and a message that says so. The bound is
// generous: the test is about returning at all, not about speed.
func TestInterruptedRunsReturn(t *testing.T) {
	tests := []struct {
		name  string
		stdin func(*testing.T) io.Reader
		args  []string
	}{
		{name: "waiting on silent stdin", stdin: silentStdin, args: []string{"-f", "-", "--stdin-timeout", "0"}},
		{name: "reading an endless stream", stdin: func(*testing.T) io.Reader { return &endlessStdin{} }, args: []string{"-f", "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			type result struct {
				stderr string
				code   int
			}
			done := make(chan result, 1)
			go func() {
				_, stderr, code := runLintCtx(ctx, t, tt.stdin(t), tt.args...)
				done <- result{stderr, code}
			}()
			select {
			case r := <-done:
				if r.code != cmdutil.ExitInterrupted || !strings.Contains(r.stderr, "interrupted while reading the manifests") {
					t.Errorf("exit %d, stderr %q; want 130 and a message", r.code, r.stderr)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("lint did not return after the context was cancelled")
			}
		})
	}
}

// TestSilentStdinTimesOut: standard input that sends nothing ends lint after --stdin-timeout.
func TestSilentStdinTimesOut(t *testing.T) {
	done := make(chan string, 1)
	go func() {
		_, stderr, code := runLintCtx(context.Background(), t, silentStdin(t), "-f", "-", "--stdin-timeout", "200ms")
		done <- fmt.Sprintf("%d %s", code, stderr)
	}()
	select {
	case got := <-done:
		if !strings.HasPrefix(got, "2 ") || !strings.Contains(got, "standard input (-f -) sent nothing for 200ms") {
			t.Errorf("got %q, want exit 2 and the timeout named", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("lint did not give up on silent stdin")
	}
}

// TestSignalsStopTheBinary runs the built binary, as a shell would, and sends it SIGINT or
// SIGTERM while it waits on a silent pipe or reads an endless one: it must exit 130 (the signal
// handling of main included); a named pipe given with -f is refused at once.
func TestSignalsStopTheBinary(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "in.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		stdin    func(w io.WriteCloser)
		signal   syscall.Signal
		wantCode int
		wantErr  string
	}{
		{name: "SIGINT while stdin is silent", args: []string{"lint", "-f", "-"}, stdin: func(io.WriteCloser) {}, signal: syscall.SIGINT, wantCode: 130, wantErr: "interrupted"},
		{name: "SIGTERM while reading an endless stream", args: []string{"lint", "-f", "-"}, signal: syscall.SIGTERM, wantCode: 130, wantErr: "interrupted",
			stdin: func(w io.WriteCloser) { _, _ = io.Copy(w, &endlessStdin{}) }},
		{name: "a named pipe is refused", args: []string{"lint", "-f", fifo}, wantCode: 2, wantErr: "named pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Stdout = io.Discard
			w, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if tt.stdin != nil {
				go tt.stdin(w)
			}
			if tt.signal != 0 {
				time.Sleep(500 * time.Millisecond)
				if err := cmd.Process.Signal(tt.signal); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var exit *exec.ExitError
				if err != nil && !errors.As(err, &exit) {
					t.Fatal(err)
				}
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("the binary did not exit; stderr: %s", stderr.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
}

// buildBinary builds kubectl-svc_doctor into a temporary directory with the go command that runs
// the tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go") // go test puts its GOROOT/bin first on PATH
	if err != nil {
		t.Fatalf("the go command is needed to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "kubectl-svc_doctor")
	out, err := exec.Command(gobin, "build", "-o", bin, "../cmd/kubectl-svc_doctor").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestHugeScalar: a name of 17 MiB (longer than the 16 MiB line the table renderer once choked on,
// "bufio.Scanner: token too long", exit 3) is one object-name-invalid finding at its line, with the
// name shortened wherever it is printed, and exit code 1.
func TestHugeScalar(t *testing.T) {
	name := strings.Repeat("a", 17<<20)
	input := "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name + "\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n"
	stdout, stderr, code := runLint(t, input, "-f", "-")
	if code != 1 || strings.Contains(stderr, "token too long") {
		t.Fatalf("exit %d, stderr %.300s", code, stderr)
	}
	if len(stdout) > 4096 || !strings.Contains(stdout, "object-name-invalid") || !strings.Contains(stdout, "<stdin>:4") ||
		!strings.Contains(stdout, "(17825792 characters)") {
		t.Errorf("table (%d bytes):\n%.1000s", len(stdout), stdout)
	}
}
