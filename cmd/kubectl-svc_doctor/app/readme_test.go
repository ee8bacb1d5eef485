package app

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// readmeExample is one ```console block of the README: a command and the output it shows.
type readmeExample struct {
	line int // of the command, in README.md
	args []string
	want string
}

// readmeExamples returns the console examples of a markdown file whose command is
// `kubectl svc-doctor ...`.
func readmeExamples(t *testing.T, path string) []readmeExample {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeExample
	var cur *readmeExample
	var body []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !in && line == "```console":
			in, cur, body = true, nil, nil
		case in && strings.HasPrefix(line, "```"):
			in = false
			if cur != nil {
				cur.want = strings.Join(body, "\n") + "\n"
				out = append(out, *cur)
			}
		case in && cur == nil && strings.HasPrefix(line, "$ kubectl svc-doctor "):
			cur = &readmeExample{line: n, args: strings.Fields(strings.TrimPrefix(line, "$ kubectl svc-doctor "))}
		case in && cur != nil:
			body = append(body, line)
		}
	}
	return out
}

// offline says whether an example runs without a cluster (its output can be compared here; the
// cluster examples are illustrations of the e2e-tested commands).
func offline(args []string) bool {
	switch args[0] {
	case "rules", "explain", "version":
		return true
	case "lint":
		for _, a := range args {
			if a == "--live" {
				return false
			}
		}
		return true
	}
	return false
}

// TestReadmeExamples runs the README's offline console examples from the repository root and
// compares their output with what the README shows, so that the README does not drift from the
// binary (trailing spaces aside).
func TestReadmeExamples(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	examples := readmeExamples(t, filepath.Join(root, "README.md"))
	t.Chdir(root)
	t.Setenv("NO_COLOR", "1")
	ran := 0
	for _, ex := range examples {
		if !offline(ex.args) {
			continue
		}
		ran++
		t.Run(strings.Join(ex.args, " "), func(t *testing.T) {
			var terminal bytes.Buffer // stdout and stderr in the order a terminal shows them
			cmd := NewRootCmd(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &terminal, ErrOut: &terminal})
			cmd.SetArgs(ex.args)
			_ = cmd.ExecuteContext(context.Background()) // the examples show findings: exit code 1 is expected
			if got, want := trimLines(terminal.String()), trimLines(ex.want); got != want {
				t.Errorf("README.md:%d: the output of `kubectl svc-doctor %s` differs from the README; paste this into it:\n%s",
					ex.line, strings.Join(ex.args, " "), got)
			}
		})
	}
	if ran == 0 {
		t.Fatal("README.md has no offline console example: the parser or the README changed")
	}
}

func trimLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
