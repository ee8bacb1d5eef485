package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/svc-doctor/svc-doctor/agent"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string // substring
		wantStderr string // substring
	}{
		{name: "no command", wantCode: 2, wantStderr: "usage: svc-doctor-agent COMMAND"},
		{name: "unknown command", args: []string{"sh"}, wantCode: 2, wantStderr: `unknown command "sh"`},
		{name: "version", args: []string{"version"}, wantStdout: "svc-doctor-agent dev (commit none"},
		{name: "serve ends with its lifetime", args: []string{"serve", "--max-lifetime=20ms"}},
		{name: "serve bad flag", args: []string{"serve", "--bogus"}, wantCode: 2, wantStderr: "flag provided but not defined: -bogus"},
		{name: "check runs a request", args: []string{"check"},
			stdin:      `{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckRequest","checks":[{"id":"path","type":"env","env":{"prefix":"PATH"}}]}`,
			wantStdout: `"id": "path"`},
		{name: "check with a malformed request", args: []string{"check"}, stdin: "{", wantCode: 2,
			wantStdout: `"error": "malformed request: unexpected EOF"`},
		{name: "check with a newer protocol", args: []string{"check"}, stdin: `{"apiVersion":"agent.svc-doctor.io/v2","kind":"CheckRequest","checks":[]}`,
			wantCode: 2, wantStdout: "this build speaks agent.svc-doctor.io/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantStderr)
			}
			if len(tt.args) > 0 && tt.args[0] == agent.CheckArg {
				if _, err := agent.DecodeResponse(stdout.Bytes()); (err == nil) != (tt.wantCode == 0) {
					t.Errorf("DecodeResponse: %v", err)
				}
			}
		})
	}
}

// TestBinary builds the static binary and checks that serve ends on SIGTERM and that check speaks
// JSON over stdin/stdout, as in the helper pod.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), agent.BinaryName)
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	serve := exec.Command(bin, "serve")
	var out bytes.Buffer
	serve.Stdout, serve.Stderr = &out, &out
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("serve exited on its own: %v", err)
	default:
	}
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v", err)
		}
	case <-time.After(5 * time.Second):
		_ = serve.Process.Kill()
		t.Fatal("serve did not end on SIGTERM")
	}
	if out.Len() != 0 {
		t.Errorf("serve wrote %q", out.String())
	}

	check := exec.Command(bin, "check")
	check.Stdin = strings.NewReader(`{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckRequest","checks":[{"id":"rc","type":"resolvconf"}]}`)
	stdout, err := check.Output()
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	var resp agent.Response
	if err := json.Unmarshal(stdout, &resp); err != nil || len(resp.Results) != 1 || resp.Results[0].ID != "rc" {
		t.Errorf("check output %s (%v)", stdout, err)
	}
}
