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

func TestParseServiceArg(t *testing.T) {
	tests := []struct {
		arg, name, port, err string
	}{
		{arg: "svc/web", name: "web"},
		{arg: "service/web:http", name: "web", port: "http"},
		{arg: "services/web:8080", name: "web", port: "8080"},
		{arg: "web", name: "web"},
		{arg: "web:80", name: "web", port: "80"},
		{arg: "deploy/web", err: `"deploy/web": diagnose takes a Service: svc/NAME[:PORT]`},
		{arg: "svc/", err: `"svc/": write svc/NAME[:PORT]`},
		{arg: "svc/web:", err: `"svc/web:": the port after ':' is empty (a port name or number)`},
	}
	for _, tc := range tests {
		t.Run(tc.arg, func(t *testing.T) {
			name, port, err := ParseServiceArg(tc.arg, "diagnose")
			if tc.err != "" {
				if err == nil || err.Error() != tc.err || ExitCode(err) != ExitUsage {
					t.Fatalf("err = %v, want %q (exit 2)", err, tc.err)
				}
				return
			}
			if err != nil || name != tc.name || port != tc.port {
				t.Fatalf("= %q %q %v, want %q %q", name, port, err, tc.name, tc.port)
			}
		})
	}
}
