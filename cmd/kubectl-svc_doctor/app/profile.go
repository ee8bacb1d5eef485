package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
)

// profileNames are the profiles --profile captures, as in kubectl.
var profileNames = []string{"none", "cpu", "heap", "allocs", "goroutine", "threadcreate", "block", "mutex"}

// profiler captures one runtime profile of a command, as kubectl's --profile does: the CPU
// profile from the start of the command to its end, the others at its end.
type profiler struct {
	name, output string
	cpu          *os.File
}

func addProfileFlags(root *cobra.Command) *profiler {
	p := &profiler{name: "none", output: "profile.pprof"}
	root.PersistentFlags().StringVar(&p.name, "profile", p.name, "name of the profile to capture: "+strings.Join(profileNames, "|"))
	root.PersistentFlags().StringVar(&p.output, "profile-output", p.output, "file to write the profile to")
	return p
}

// start checks the flags and starts what must run during the command.
func (p *profiler) start() error {
	if !slices.Contains(profileNames, p.name) {
		return cmdutil.UsageError("--profile %q: use one of %s", p.name, strings.Join(profileNames, "|"))
	}
	switch p.name {
	case "cpu":
		f, err := os.Create(p.output)
		if err != nil {
			return cmdutil.UsageError("--profile-output: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--profile cpu: %w", errors.Join(err, f.Close()))
		}
		p.cpu = f
	case "block":
		runtime.SetBlockProfileRate(1)
	case "mutex":
		runtime.SetMutexProfileFraction(1)
	}
	return nil
}

// flush writes the profile; it does nothing when none was asked for or start failed.
func (p *profiler) flush() error {
	switch {
	case p.name == "none" || !slices.Contains(profileNames, p.name):
		return nil
	case p.cpu != nil:
		pprof.StopCPUProfile()
		err := p.cpu.Close()
		p.cpu = nil
		return err
	case p.name == "cpu": // start failed
		return nil
	}
	if p.name == "heap" {
		runtime.GC() // the heap profile shows what was live at the last GC
	}
	f, err := os.Create(p.output)
	if err != nil {
		return err
	}
	return errors.Join(pprof.Lookup(p.name).WriteTo(f, 0), f.Close())
}

// Run builds the command tree, runs the command of args (nil: os.Args[1:]) and writes the profile
// asked for with --profile, whatever the command's outcome.
func Run(ctx context.Context, streams genericiooptions.IOStreams, args []string) error {
	root, prof := newRoot(streams, newFactory())
	if args != nil {
		root.SetArgs(args)
	}
	err := root.ExecuteContext(ctx)
	if perr := prof.flush(); perr != nil {
		fmt.Fprintf(streams.ErrOut, "warning: writing the %s profile to %s: %v\n", prof.name, prof.output, perr)
	}
	return err
}
