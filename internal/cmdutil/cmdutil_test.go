package cmdutil

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{name: "success", err: nil, want: ExitOK},
		{name: "findings", err: FindingsError(3, "error"), want: ExitFindings},
		{name: "usage", err: UsageError("bad flag %q", "-x"), want: ExitUsage},
		{name: "wrapped usage", err: fmt.Errorf("context: %w", AsUsage(errors.New("missing file"))), want: ExitUsage},
		{name: "incomplete", err: Incomplete(errors.New("timeout")), want: ExitIncomplete},
		{name: "a plain error could not complete", err: errors.New("boom"), want: ExitIncomplete},
		{name: "an exit code is not rewrapped", err: Incomplete(UsageError("x")), want: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.err); got != tt.want {
				t.Errorf("ExitCode = %d, want %d", got, tt.want)
			}
		})
	}
	if !IsSilent(FindingsError(1, "warning")) || IsSilent(UsageError("x")) {
		t.Error("findings are silent (the report says it), usage errors are not")
	}
	if msg := FindingsError(1, "warning").Error(); !strings.Contains(msg, "1 finding at or above warning") {
		t.Errorf("message %q", msg)
	}
}

func TestValidateOutput(t *testing.T) {
	if err := ValidateOutput("json", []string{"table", "json"}); err != nil {
		t.Fatal(err)
	}
	err := ValidateOutput("xml", []string{"table", "json"})
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "use one of table, json") {
		t.Errorf("err = %v", err)
	}
}
