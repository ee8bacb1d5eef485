//go:build !windows

package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// StopServers sends SIGTERM to every `svc-doctor-agent serve` process of the calling user visible in
// procRoot (normally /proc), except the caller. It is how the CLI ends the agent of an ephemeral
// container, which Kubernetes cannot remove: the container then shows as terminated. It returns the
// number of processes signalled.
func StopServers(procRoot string) (int, error) {
	pids, err := findServers(procRoot, os.Getuid(), os.Getpid())
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			errs = append(errs, fmt.Errorf("signalling pid %d: %w", pid, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// findServers lists the pids of uid's `svc-doctor-agent serve` processes other than self.
func findServers(procRoot string, uid, self int) ([]int, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		dir := filepath.Join(procRoot, e.Name())
		info, err := os.Stat(dir)
		if err != nil {
			continue // gone already
		}
		if st, ok := info.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != uid {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		args := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
		if len(args) >= 2 && filepath.Base(string(args[0])) == BinaryName && string(args[1]) == ServeArg {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
