package helper

import (
	"testing"
	"time"
)

// TestHelperDeadlineOutlivesTimeout checks that the helper pod's activeDeadlineSeconds is never
// shorter than the run it serves (--timeout plus a minute), and keeps the defaults otherwise.
func TestHelperDeadlineOutlivesTimeout(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		keep    bool
		want    time.Duration
	}{
		{name: "default timeout: default deadline", timeout: DefaultTimeout, want: 0},
		{name: "a long timeout extends it", timeout: 30 * time.Minute, want: 31 * time.Minute},
		{name: "kept helper: its own default", timeout: 30 * time.Minute, keep: true, want: 0},
		{name: "kept helper, a timeout beyond an hour", timeout: 2 * time.Hour, keep: true, want: 2*time.Hour + time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Session{Flags: Flags{Timeout: tc.timeout, KeepHelper: tc.keep}}
			if got := s.options().ActiveDeadline; got != tc.want {
				t.Errorf("ActiveDeadline = %s, want %s", got, tc.want)
			}
		})
	}
}
