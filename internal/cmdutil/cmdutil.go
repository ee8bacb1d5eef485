// Package cmdutil holds what every svc-doctor command shares: exit codes carried by errors (only
// main exits), output-format flags, colour detection and context handling for Ctrl-C.
package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
)

// Exit codes.
const (
	ExitOK = 0
	// ExitFindings: the command ran and found problems at or above --fail-on.
	ExitFindings = 1
	// ExitUsage: bad flags, arguments or input files.
	ExitUsage = 2
	// ExitIncomplete: the command could not complete (cluster unreachable, forbidden, timeout).
	ExitIncomplete = 3
	// ExitInterrupted: Ctrl-C or SIGTERM stopped the command (128 + SIGINT, as shells report it).
	ExitInterrupted = 130
)

// ExitError carries an exit code. Silent errors have already been explained on stderr.
type ExitError struct {
	Code   int
	Err    error
	Silent bool
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit code %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// UsageError returns an error that exits with code 2.
func UsageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// AsUsage wraps err so that it exits with code 2.
func AsUsage(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	return &ExitError{Code: ExitUsage, Err: err}
}

// Incomplete wraps err so that it exits with code 3.
func Incomplete(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	return &ExitError{Code: ExitIncomplete, Err: err}
}

// FindingsError reports that findings reached the failure threshold (exit code 1, nothing more
// printed: the report says it).
func FindingsError(n int, threshold string) error {
	return &ExitError{Code: ExitFindings, Silent: true, Err: fmt.Errorf("%d %s at or above %s", n, pluralize(n, "finding", "findings"), threshold)}
}

func pluralize(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ExitCode maps an error to the process exit code: nil is 0, an ExitError its code, anything else
// 3 (could not complete).
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitIncomplete
}

// IsSilent reports whether the error was already explained to the user.
func IsSilent(err error) bool {
	var ee *ExitError
	return errors.As(err, &ee) && ee.Silent
}

// ValidateOutput checks an -o value against the allowed formats.
func ValidateOutput(value string, allowed []string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return UsageError("--output %q is not supported: use one of %s", value, strings.Join(allowed, ", "))
}

// IsTerminal reports whether w is a terminal (progress lines are drawn only there).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// ColorEnabled reports whether w is a terminal that wants colour: a TTY, NO_COLOR unset or empty
// (no-color.org) and TERM not "dumb".
func ColorEnabled(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// ParseServiceArg reads the Service argument of a command: svc/NAME[:PORT], service/NAME, or
// NAME[:PORT].
func ParseServiceArg(arg, command string) (name, port string, err error) {
	s := arg
	if kind, rest, ok := strings.Cut(s, "/"); ok {
		switch strings.ToLower(kind) {
		case "svc", "service", "services":
		default:
			return "", "", UsageError("%q: %s takes a Service: svc/NAME[:PORT]", arg, command)
		}
		s = rest
	}
	name, port, _ = strings.Cut(s, ":")
	if name == "" || strings.Contains(name, "/") {
		return "", "", UsageError("%q: write svc/NAME[:PORT]", arg)
	}
	if strings.Contains(s, ":") && port == "" {
		return "", "", UsageError("%q: the port after ':' is empty (a port name or number)", arg)
	}
	return name, port, nil
}
