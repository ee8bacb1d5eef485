package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFindServers(t *testing.T) {
	proc := t.TempDir()
	procs := map[string]string{
		"10":   "/usr/local/bin/svc-doctor-agent\x00serve\x00--max-lifetime=1h\x00",
		"11":   "svc-doctor-agent\x00check\x00",
		"12":   "/bin/nettool\x00serve\x008080\x00",
		"13":   "svc-doctor-agent\x00serve\x00", // the caller itself
		"14":   "svc-doctor-agent\x00serve\x00",
		"self": "svc-doctor-agent\x00serve\x00",
	}
	for pid, cmdline := range procs {
		if err := os.MkdirAll(filepath.Join(proc, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, pid, "cmdline"), []byte(cmdline), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := findServers(proc, os.Getuid(), 13)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{10, 14}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got, _ := findServers(proc, os.Getuid()+1, 13); len(got) != 0 {
		t.Errorf("another user's processes were selected: %v", got)
	}
	if _, err := findServers(filepath.Join(proc, "missing"), 0, 0); err == nil {
		t.Error("no error for a missing proc root")
	}
}

func TestServeEnds(t *testing.T) {
	start := time.Now()
	Serve(context.Background(), 50*time.Millisecond)
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("serve with a 50ms lifetime took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	Serve(ctx, 0) // returns at once
}
