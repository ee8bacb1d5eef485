// Command kubectl-svc_doctor is the svc-doctor CLI. Installed on PATH it is the kubectl plugin
// `kubectl svc-doctor`; it also runs standalone (for example in CI).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/svc-doctor/svc-doctor/cmd/kubectl-svc_doctor/app"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
)

func main() {
	os.Exit(run())
}

func run() int {
	// client-go logs through klog (e.g. "Copying stdout failed" when Ctrl-C ends an exec): every
	// error that matters reaches the user through the command's own messages, so drop the log
	klog.SetLogger(logr.Discard())
	// Ctrl-C and SIGTERM cancel the context: commands clean up (helper pods included) and return.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := app.Run(ctx, streams, nil)
	if err != nil && !cmdutil.IsSilent(err) {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	return cmdutil.ExitCode(err)
}
