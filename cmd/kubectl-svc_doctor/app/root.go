// Package app is the composition root of kubectl-svc_doctor: it builds the one client factory
// (the only place Kubernetes clientsets are constructed), the command tree with the subcommands of
// the command packages (lint, diagnose, expose, dnscheck, probes, ingresscheck), klog's -v, shell
// completion and the version command. It is the only package that imports command packages.
package app

import (
	"flag"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/svc-doctor/svc-doctor/diagnose"
	"github.com/svc-doctor/svc-doctor/dnscheck"
	"github.com/svc-doctor/svc-doctor/expose"
	"github.com/svc-doctor/svc-doctor/ingresscheck"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/internal/version"
	"github.com/svc-doctor/svc-doctor/lint"
	"github.com/svc-doctor/svc-doctor/probes"
	"github.com/svc-doctor/svc-doctor/report"
)

// NewRootCmd builds the command tree. Nothing in it exits the process: errors carry exit codes
// (see cmdutil) and main maps them.
func NewRootCmd(streams genericiooptions.IOStreams) *cobra.Command {
	return newRootCmd(streams, newFactory())
}

func newRootCmd(streams genericiooptions.IOStreams, f *factory) *cobra.Command {
	root, _ := newRoot(streams, f)
	return root
}

// newRoot builds the command tree and returns the profiler of its --profile flag.
func newRoot(streams genericiooptions.IOStreams, f *factory) (*cobra.Command, *profiler) {
	root := &cobra.Command{
		Use:   "svc-doctor",
		Short: "Find out why a Kubernetes Service does not work",
		Long: `svc-doctor lints Service, endpoint, Ingress and probe manifests offline, and diagnoses live
Services hop by hop: DNS, selector, pods and readiness, EndpointSlices, proxying, node ports and
Ingress, with checks run from inside the cluster. It ends with one root cause and the fix.`,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl svc-doctor",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
		// Runnable, so that an unknown command is a usage error (exit 2) rather than cobra's help
		// with exit 0.
		Args:                       cobra.ArbitraryArgs,
		SuggestionsMinimumDistance: 2,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], c.DisplayName())
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
			}
			return cmdutil.UsageError("%s\nRun '%s --help' for usage.", msg, c.DisplayName())
		},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return cmdutil.UsageError("%v\nSee '%s --help' for usage.", err, c.CommandPath())
	})
	logs := addLogFlags(root)
	prof := addProfileFlags(root)
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		logs()
		return prof.start()
	}
	// the kubeconfig flags go to the commands that talk to a cluster, not to rules, explain,
	// version or completion
	for _, c := range []*cobra.Command{
		lint.NewCmd(f, streams),
		expose.NewCmd(f, streams),
		diagnose.NewCmd(f, streams),
		diagnose.NewCleanupCmd(f, streams),
		dnscheck.NewCmd(f, streams),
		probes.NewCmd(f, streams),
		ingresscheck.NewCmd(f, streams),
	} {
		f.AddFlags(c.PersistentFlags()) // expose's subcommands take them too
		registerNamespaceCompletion(c, f)
		root.AddCommand(c)
	}
	root.AddCommand(
		lint.NewRulesCmd(streams),
		lint.NewExplainCmd(streams),
		newVersionCmd(streams),
	)
	normalizeFlagNames(root)
	registerLateCompletions(root, f)
	argsAreUsageErrors(root)
	return root, prof
}

// normalizeFlagNames accepts kubectl's spellings with underscores (--request_timeout) on every
// command.
func normalizeFlagNames(c *cobra.Command) {
	norm := func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		return pflag.NormalizedName(strings.ReplaceAll(name, "_", "-"))
	}
	c.Flags().SetNormalizeFunc(norm)
	c.PersistentFlags().SetNormalizeFunc(norm)
	for _, sub := range c.Commands() {
		normalizeFlagNames(sub)
	}
}

// argsAreUsageErrors makes the positional-argument checks of every command return usage errors
// (exit code 2, with a pointer to --help) instead of plain errors (exit code 3).
func argsAreUsageErrors(c *cobra.Command) {
	if check := c.Args; check != nil && c.HasParent() {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return cmdutil.UsageError("%v\nSee '%s --help' for usage.", err, cmd.CommandPath())
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		argsAreUsageErrors(sub)
	}
}

func newVersionCmd(streams genericiooptions.IOStreams) *cobra.Command {
	output := ""
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			info := version.Get()
			switch output {
			case "":
				_, err := fmt.Fprintf(streams.Out, "svc-doctor %s (commit %s, built %s, %s, %s)\nhelper image: %s\n",
					info.Version, info.Commit, info.Date, info.GoVersion, info.Platform, info.Agent)
				return err
			case "json":
				return report.WriteJSON(streams.Out, versionDoc(info))
			case "yaml":
				return report.WriteYAML(streams.Out, versionDoc(info))
			}
			return cmdutil.UsageError("--output %q is not supported: use json or yaml", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json|yaml")
	return cmd
}

type versionInfo struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	version.Info
}

func versionDoc(i version.Info) versionInfo {
	return versionInfo{APIVersion: report.APIVersion, Kind: "Version", Info: i}
}

// addLogFlags adds kubectl's klog flags to every command: -v/--v N (log verbosity: 6 logs every
// API request with its time, 8 their bodies) and --vmodule. main discards client-go's log lines by
// default (every error that matters reaches the user through the command's own messages); a
// verbosity above 0 turns them on, on stderr (the function returned does that, before the command
// runs).
func addLogFlags(root *cobra.Command) func() {
	gfs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(gfs)
	for _, name := range []string{"v", "vmodule"} {
		pf := pflag.PFlagFromGoFlag(gfs.Lookup(name))
		if name == "v" {
			pf.Shorthand = "v"
		}
		root.PersistentFlags().AddFlag(pf)
	}
	return func() {
		if v := gfs.Lookup("v").Value.String(); v != "" && v != "0" {
			klog.ClearLogger()
		}
	}
}
