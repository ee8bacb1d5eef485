// Command svc-doctor-agent is the program of the svc-doctor helper image, and the only one in it
// (there is no shell). The helper pod runs `svc-doctor-agent serve`, which idles until SIGTERM; the
// CLI execs `svc-doctor-agent check` in it with a JSON agent.Request on stdin and reads the
// agent.Response on stdout.
//
//	svc-doctor-agent serve [--max-lifetime=DURATION]  idle until SIGTERM/SIGINT (or the lifetime ends)
//	svc-doctor-agent check                            run the checks of the request on stdin
//	svc-doctor-agent stop                             SIGTERM this container's serve process
//	svc-doctor-agent version                          print the build
//
// check exits 0 when the request ran, whatever the checks found, and 2 with a JSON error response
// when the request is malformed or of an unsupported version. Build it static: CGO_ENABLED=0.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/internal/version"
)

const usage = `usage: svc-doctor-agent COMMAND
  serve [--max-lifetime=DURATION]  idle until SIGTERM/SIGINT (the helper pod's main process)
  check                            read a CheckRequest (JSON) on stdin, write a CheckResponse on stdout
  stop                             end this container's serve process (ephemeral containers)
  version                          print the build
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	switch args[0] {
	case agent.ServeArg:
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(stderr)
		lifetime := fs.Duration("max-lifetime", 0, "exit after this long even without a signal (0: never)")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		agent.Serve(ctx, *lifetime)
		return 0
	case agent.CheckArg:
		code, err := agent.HandleCheck(ctx, stdin, stdout, &agent.Runner{Version: version.Current()})
		if err != nil {
			fmt.Fprintf(stderr, "svc-doctor-agent check: %v\n", err)
		}
		return code
	case agent.StopArg:
		n, err := agent.StopServers("/proc")
		if err != nil {
			fmt.Fprintf(stderr, "svc-doctor-agent stop: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "stopped %d serve process(es)\n", n)
		return 0
	case "version", "--version":
		v := version.Get()
		fmt.Fprintf(stdout, "svc-doctor-agent %s (commit %s, built %s, %s, %s, protocol %s)\n",
			v.Version, v.Commit, v.Date, v.GoVersion, v.Platform, agent.APIVersion)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "svc-doctor-agent: unknown command %q\n%s", args[0], usage)
	return 2
}
