package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/svc-doctor/svc-doctor/internal/cli/complete"
)

// registerCompletions completes --namespace (and, through registerResourceCompletions and the
// complete package, resource names) from the cluster named by the kubeconfig flags. Failures complete nothing: completion must
// never print errors into the user's shell.
func registerCompletions(root *cobra.Command, kube *genericclioptions.ConfigFlags) {
	_ = root.RegisterFlagCompletionFunc("namespace", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		cs, err := clientFor(kube)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
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

func clientFor(kube *genericclioptions.ConfigFlags) (kubernetes.Interface, error) {
	cfg, err := kube.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// registerResourceCompletions completes the resource arguments of the commands that take one,
// once they are all added: diagnose svc/<TAB> and --from pod/<TAB>, expose deploy/<TAB> and
// expose deployment <TAB>. A command that sets its own ValidArgsFunction keeps it.
func registerResourceCompletions(root *cobra.Command, kube *genericclioptions.ConfigFlags) {
	if cmd := subcommand(root, "diagnose"); cmd != nil {
		if cmd.ValidArgsFunction == nil {
			cmd.ValidArgsFunction = complete.ResourceNames(kube, complete.Options{}, complete.Services)
		}
		if cmd.Flags().Lookup("from") != nil {
			if _, ok := cmd.GetFlagCompletionFunc("from"); !ok {
				_ = cmd.RegisterFlagCompletionFunc("from", complete.FlagResourceNames(kube, complete.Options{}, complete.Pods))
			}
		}
	}
	if cmd := subcommand(root, "expose"); cmd != nil && cmd.ValidArgsFunction == nil {
		names := complete.ResourceNames(kube, complete.Options{Bare: true}, complete.Deployments,
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
