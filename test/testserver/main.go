// Command testserver is the workload and the in-cluster client of svc-doctor's end-to-end tests. It is
// one static binary (stdlib only) in a shell-less image (localhost/svc-doctor/testserver:dev), so every
// tool a test needs inside a pod is a subcommand:
//
//	testserver [serve] [-ports 8080,9090] [-udp-port 5353]   HTTP server (default) + optional UDP echo
//	testserver sleep [DURATION]                               idle client pod (forever by default)
//	testserver touch PATH | rm PATH                           e.g. touch /tmp/unready fails /ready
//	testserver get [-host H] [-timeout 5s] URL                HTTP GET; body to stdout, exit 1 unless 2xx/3xx
//	testserver tcp [-timeout 3s] HOST:PORT                    TCP connect check
//	testserver udp [-timeout 3s] HOST:PORT [MESSAGE]          UDP echo round trip
//	testserver lookup [-server IP:53] NAME                    A/AAAA records, one address per line (retried on timeouts)
//	testserver srv [-server IP:53] NAME                       SRV records: "target port priority weight"
//	testserver cname [-server IP:53] NAME                     canonical name
//
// DNS subcommands exit 3 when the name does not exist (NXDOMAIN), 1 on other errors.
//
// The server answers / with its pod name ($POD_NAME, else the hostname), /healthz, /ready (503 after
// POST /ready/fail or while the file -unready-file exists; POST /ready/ok restores it), /echo and /info
// (JSON with the client address as the server sees it, for affinity and externalTrafficPolicy tests),
// and /status/CODE.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes of the client subcommands.
const (
	exitOK       = 0
	exitFail     = 1
	exitUsage    = 2
	exitNotFound = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serveMain(args, stdout, stderr)
	case "sleep", "pause":
		return sleepMain(args, stderr)
	case "touch":
		return fileMain(args, stderr, func(p string) error { return os.WriteFile(p, nil, 0o644) })
	case "rm":
		return fileMain(args, stderr, os.Remove)
	case "get":
		return getMain(args, stdout, stderr)
	case "tcp":
		return tcpMain(args, stdout, stderr)
	case "udp":
		return udpMain(args, stdout, stderr)
	case "lookup", "srv", "cname":
		return dnsMain(cmd, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "testserver: unknown command %q\n%s\n", cmd, usage)
		return exitUsage
	}
}

const usage = `usage: testserver [serve|sleep|touch|rm|get|tcp|udp|lookup|srv|cname] [flags] [args]
  serve  -ports 8080[,9090] -udp-port N -unready-file /tmp/unready   (env: PORT, PORTS, UDP_PORT, POD_NAME)
  sleep [DURATION]          touch PATH | rm PATH
  get [-host H] [-timeout D] URL     tcp [-timeout D] HOST:PORT     udp [-timeout D] HOST:PORT [MSG]
  lookup|srv|cname [-server IP:PORT] [-timeout D] NAME   (exit 3 = NXDOMAIN)`

func sleepMain(args []string, stderr io.Writer) int {
	sigs := make(chan os.Signal, 1)
	// As PID 1 of its container the process must handle SIGTERM itself, or pod deletion waits for the
	// whole grace period.
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	if len(args) > 0 {
		d, err := parseDuration(args[0])
		if err != nil {
			fmt.Fprintln(stderr, "sleep:", err)
			return exitUsage
		}
		select {
		case <-sigs:
		case <-after(d):
		}
		return exitOK
	}
	<-sigs
	return exitOK
}

func fileMain(args []string, stderr io.Writer, op func(string) error) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "want exactly one PATH")
		return exitUsage
	}
	if err := op(args[0]); err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	return exitOK
}
