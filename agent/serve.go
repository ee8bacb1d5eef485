package agent

import (
	"context"
	"time"
)

// BinaryName is the agent's program name in the image (on PATH), and ServeArg / CheckArg / StopArg
// its subcommands: the helper pod runs `svc-doctor-agent serve` and the CLI execs
// `svc-doctor-agent check` in it.
const (
	BinaryName = "svc-doctor-agent"
	ServeArg   = "serve"
	CheckArg   = "check"
	StopArg    = "stop"
)

// Serve idles until ctx ends (SIGTERM or SIGINT in the binary) or, when maxLifetime is positive,
// until that much time has passed. It writes nothing: it only keeps the container alive so that
// checks can be exec'd in it.
func Serve(ctx context.Context, maxLifetime time.Duration) {
	if maxLifetime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, maxLifetime)
		defer cancel()
	}
	<-ctx.Done()
}
