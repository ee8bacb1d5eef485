package app

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
)

// TestUsageErrorsExit2 checks that wrong command lines are usage errors (exit 2) that point to
// --help, and that the bare command prints help (exit 0).
func TestUsageErrorsExit2(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "no arguments: help", args: nil, wantCode: cmdutil.ExitOK},
		{name: "unknown command", args: []string{"nosuch"}, wantCode: cmdutil.ExitUsage, wantErr: `unknown command "nosuch" for "kubectl svc-doctor"`},
		{name: "misspelt command suggests", args: []string{"lnit"}, wantCode: cmdutil.ExitUsage, wantErr: "Did you mean this?\n\tlint"},
		{name: "extra argument to version", args: []string{"version", "extra"}, wantCode: cmdutil.ExitUsage, wantErr: "See 'kubectl svc-doctor version --help'"},
		{name: "extra argument to cleanup", args: []string{"cleanup", "extra"}, wantCode: cmdutil.ExitUsage, wantErr: "unknown command"},
		{name: "unknown flag", args: []string{"lint", "--nosuch"}, wantCode: cmdutil.ExitUsage, wantErr: "unknown flag: --nosuch"},
		{name: "unknown shell", args: []string{"completion", "tcsh"}, wantCode: cmdutil.ExitUsage, wantErr: `invalid argument "tcsh"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			cmd := NewRootCmd(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			cmd.SetArgs(tc.args)
			err := cmd.ExecuteContext(context.Background())
			if got := cmdutil.ExitCode(err); got != tc.wantCode {
				t.Fatalf("exit code %d, want %d (err %v)", got, tc.wantCode, err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
			if tc.wantCode == cmdutil.ExitOK && !strings.Contains(out.String(), "Usage:") {
				t.Errorf("no help on stdout:\n%s", out.String())
			}
		})
	}
}
