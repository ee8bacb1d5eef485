package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
)

// TestProfileFlag checks kubectl's --profile and --profile-output: each profile is written as a
// gzip-compressed pprof file when the command ends, also when it fails; a wrong name is a usage
// error and writes nothing.
func TestProfileFlag(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantFile bool
		wantErr  string
	}{
		{name: "heap", args: []string{"rules", "--profile", "heap"}, wantFile: true},
		{name: "cpu", args: []string{"rules", "--profile=cpu"}, wantFile: true},
		{name: "goroutine", args: []string{"version", "--profile", "goroutine"}, wantFile: true},
		{name: "block", args: []string{"version", "--profile", "block"}, wantFile: true},
		{name: "heap of a command that fails", args: []string{"explain", "no-such-rule", "--profile", "heap"}, wantCode: cmdutil.ExitUsage, wantFile: true},
		{name: "none", args: []string{"version"}},
		{name: "unknown profile", args: []string{"version", "--profile", "disk"}, wantCode: cmdutil.ExitUsage, wantErr: `--profile "disk": use one of none|cpu|heap`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "p.pprof")
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), genericiooptions.IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr},
				append(tc.args, "--profile-output", out))
			if got := cmdutil.ExitCode(err); got != tc.wantCode {
				t.Fatalf("exit code %d, want %d (err %v, stderr %s)", got, tc.wantCode, err, stderr.String())
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v does not contain %q", err, tc.wantErr)
			}
			b, rerr := os.ReadFile(out)
			switch {
			case !tc.wantFile && rerr == nil:
				t.Errorf("a profile was written (%d bytes)", len(b))
			case tc.wantFile && rerr != nil:
				t.Fatalf("no profile: %v (stderr %s)", rerr, stderr.String())
			case tc.wantFile && !bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
				t.Errorf("the profile is not gzip-compressed pprof: % x", b[:min(len(b), 8)])
			}
		})
	}
}
