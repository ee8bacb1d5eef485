package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
)

// complete runs cobra's hidden __complete command, as the shell scripts and kubectl_complete-svc_doctor do.
func completeArgs(t *testing.T, args ...string) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRootCmd(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
	// no cluster: names cannot be listed, the rest must still complete
	t.Setenv("KUBECONFIG", "/nonexistent")
	root.SetArgs(append([]string{"__complete"}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("__complete %v: %v\n%s", args, err, errOut.String())
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		name, _, _ := strings.Cut(l, "\t")
		lines = append(lines, name)
	}
	return lines
}

func TestCompletion(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "subcommands", args: []string{"li"}, want: []string{"lint", ":4"}},
		{name: "diagnose offers svc/ without a space", args: []string{"diagnose", ""}, want: []string{"svc/", ":6"}},
		{name: "diagnose --from offers pod/", args: []string{"diagnose", "svc/web", "--from", ""}, want: []string{"pod/", ":6"}},
		{name: "diagnose svc/ without a cluster completes nothing", args: []string{"diagnose", "svc/"}, want: []string{":4"}},
		{name: "expose types once, subcommands from cobra", args: []string{"expose", "e"}, want: []string{"external", "externalname", ":4"}},
		{name: "expose workload types", args: []string{"expose", "re"}, want: []string{"replicaset", "replicationcontroller", ":4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, completeArgs(t, tt.args...)); diff != "" {
				t.Errorf("__complete %v (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestCompletionRuleIDs(t *testing.T) {
	got := completeArgs(t, "lint", "--disable", "")
	if len(got) < 10 || got[0] != "yaml-tabs" || got[len(got)-1] != ":4" {
		t.Errorf("lint --disable completes %v", got)
	}
}

func TestCompletionScriptsNameTheExecutable(t *testing.T) {
	tests := []struct{ shell, want string }{
		{"bash", "complete -o default -F __start_kubectl-svc_doctor kubectl-svc_doctor"},
		{"zsh", "#compdef kubectl-svc_doctor"},
		{"fish", "complete -c kubectl-svc_doctor"},
		{"powershell", "Register-ArgumentCompleter -CommandName 'kubectl-svc_doctor'"},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			var out bytes.Buffer
			root := NewRootCmd(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &bytes.Buffer{}})
			root.SetArgs([]string{"completion", tt.shell})
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("completion %s lacks %q", tt.shell, tt.want)
			}
		})
	}
	root := NewRootCmd(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	root.SetArgs([]string{"completion", "tcsh"})
	if err := root.Execute(); cmdutil.ExitCode(err) != 2 {
		t.Errorf("completion tcsh: exit %d (%v), want 2", cmdutil.ExitCode(err), err)
	}
}
