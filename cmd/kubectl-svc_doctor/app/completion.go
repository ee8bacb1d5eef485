package app

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svc-doctor/svc-doctor/cmd/kubectl-svc_doctor/app/complete"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
)

// registerNamespaceCompletion completes -n of a command that talks to a cluster from the cluster
// the kubectl flags name (resource names are completed by registerResourceCompletions and the
// complete package). Failures complete nothing: completion must never print errors into the user's
// shell.
func registerNamespaceCompletion(c *cobra.Command, f cmdutil.Factory) {
	_ = c.RegisterFlagCompletionFunc("namespace", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		cl, err := f.Clients()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), complete.Timeout)
		defer cancel()
		list, err := cl.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := make([]string, 0, len(list.Items))
		for _, n := range list.Items {
			names = append(names, n.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
}

// registerLateCompletions runs once every command is added: it adds the completion command and
// completes resource arguments.
func registerLateCompletions(root *cobra.Command, f cmdutil.Factory) {
	addCompletionCmd(root)
	registerResourceCompletions(root, f)
}

// BinaryName is the executable the shell completion scripts complete (standalone use; through
// kubectl, kubectl_complete-svc_doctor does it).
const BinaryName = "kubectl-svc_doctor"

// addCompletionCmd replaces cobra's default completion command with one whose scripts complete the
// executable's real name, kubectl-svc_doctor (cobra's would complete a "svc-doctor" command).
func addCompletionCmd(root *cobra.Command) {
	root.CompletionOptions.DisableDefaultCmd = true
	noDesc := false
	gen := map[string]func(*cobra.Command, io.Writer) error{
		"bash":       func(c *cobra.Command, w io.Writer) error { return c.GenBashCompletionV2(w, !noDesc) },
		"zsh":        func(c *cobra.Command, w io.Writer) error { return genZsh(c, w, noDesc) },
		"fish":       func(c *cobra.Command, w io.Writer) error { return c.GenFishCompletion(w, !noDesc) },
		"powershell": func(c *cobra.Command, w io.Writer) error { return genPowerShell(c, w, noDesc) },
	}
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script of kubectl-svc_doctor",
		Long: `Print a shell completion script for kubectl-svc_doctor run directly, e.g.
  source <(kubectl-svc_doctor completion bash)          # bash, with bash-completion
  kubectl-svc_doctor completion zsh > "${fpath[1]}/_kubectl-svc_doctor"
  kubectl-svc_doctor completion fish | source
  kubectl-svc_doctor completion powershell | Out-String | Invoke-Expression

For "kubectl svc-doctor <TAB>" (kubectl 1.26 or later, with kubectl's completion enabled), put an
executable named kubectl_complete-svc_doctor on PATH that runs:
  kubectl-svc_doctor __complete "$@"
(hack/completion/kubectl_complete-svc_doctor in the source, in the release archives too).`,
		Args: func(c *cobra.Command, args []string) error {
			if err := cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)(c, args); err != nil {
				return cmdutil.UsageError("%v: name a shell: bash, zsh, fish or powershell", err)
			}
			return nil
		},
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(c *cobra.Command, args []string) error {
			// the scripts depend only on the program name: generate them for the executable's
			named := &cobra.Command{Use: BinaryName}
			return gen[args[0]](named, c.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&noDesc, "no-descriptions", false, "complete without descriptions")
	root.AddCommand(cmd)
}

func genZsh(c *cobra.Command, w io.Writer, noDesc bool) error {
	if noDesc {
		return c.GenZshCompletionNoDesc(w)
	}
	return c.GenZshCompletion(w)
}

func genPowerShell(c *cobra.Command, w io.Writer, noDesc bool) error {
	if noDesc {
		return c.GenPowerShellCompletion(w)
	}
	return c.GenPowerShellCompletionWithDesc(w)
}

// registerResourceCompletions completes the resource arguments of the commands that take one:
// diagnose svc/<TAB> and --from pod/<TAB>, expose deploy/<TAB> and expose deployment <TAB>. A
// command that sets its own ValidArgsFunction keeps it.
func registerResourceCompletions(root *cobra.Command, f cmdutil.Factory) {
	if cmd := subcommand(root, "diagnose"); cmd != nil {
		if cmd.ValidArgsFunction == nil {
			cmd.ValidArgsFunction = complete.ResourceNames(f, complete.Options{}, complete.Services)
		}
		if cmd.Flags().Lookup("from") != nil {
			if _, ok := cmd.GetFlagCompletionFunc("from"); !ok {
				_ = cmd.RegisterFlagCompletionFunc("from", complete.FlagResourceNames(f, complete.Options{}, complete.Pods))
			}
		}
	}
	if cmd := subcommand(root, "expose"); cmd != nil && cmd.ValidArgsFunction == nil {
		names := complete.ResourceNames(f, complete.Options{Bare: true}, complete.Deployments,
			complete.ReplicaSets, complete.StatefulSets, complete.ReplicationControllers, complete.Pods)
		// cobra calls no ValidArgsFunction while ValidArgs is set: serve the types from here
		types := cmd.ValidArgs
		cmd.ValidArgs = nil
		cmd.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 && !strings.Contains(toComplete, "/") {
				var out []string
				for _, t := range types {
					if strings.HasPrefix(t, toComplete) && subcommand(c, t) == nil { // subcommands are listed by cobra
						out = append(out, t)
					}
				}
				return out, cobra.ShellCompDirectiveNoFileComp
			}
			return names(c, args, toComplete)
		}
	}
}

func subcommand(root *cobra.Command, name string) *cobra.Command {
	for _, c := range root.Commands() {
		if c.Name() == name {
			return c
		}
	}
	return nil
}
