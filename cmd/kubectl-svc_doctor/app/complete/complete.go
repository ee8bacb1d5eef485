// Package complete holds shell-completion functions that read names from the cluster, for the
// arguments and flags of any command: `diagnose svc/<TAB>`, `expose deploy/<TAB>`,
// `--from pod/<TAB>`. It is a leaf package (commands import it; it imports no command).
//
// Completion runs on every TAB, so it must be quick and silent: one LIST of one page with a short
// timeout, and nothing at all (no error text) when the cluster cannot be read.
package complete

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
)

// Timeout bounds the API call behind one completion.
const Timeout = 5 * time.Second

// pageSize bounds the names one completion reads.
const pageSize = 500

// Kind is a resource kind whose names can be completed.
type Kind struct {
	// Aliases are the spellings accepted before the slash; the first is the one offered.
	Aliases []string
	// list returns the names of the kind's objects in a namespace.
	list func(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error)
}

// The kinds svc-doctor's commands take.
var (
	Services = Kind{Aliases: []string{"svc", "service", "services"}, list: func(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error) {
		l, err := cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{Limit: pageSize})
		if err != nil {
			return nil, err
		}
		return names(len(l.Items), func(i int) string { return l.Items[i].Name }), nil
	}}
	Pods = Kind{Aliases: []string{"pod", "po", "pods"}, list: func(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error) {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: pageSize})
		if err != nil {
			return nil, err
		}
		return names(len(l.Items), func(i int) string { return l.Items[i].Name }), nil
	}}
	Deployments = Kind{Aliases: []string{"deployment", "deploy", "deployments"}, list: func(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error) {
		l, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{Limit: pageSize})
		if err != nil {
			return nil, err
		}
		return names(len(l.Items), func(i int) string { return l.Items[i].Name }), nil
	}}
	StatefulSets = Kind{Aliases: []string{"statefulset", "sts", "statefulsets"}, list: func(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error) {
		l, err := cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{Limit: pageSize})
		if err != nil {
			return nil, err
		}
		return names(len(l.Items), func(i int) string { return l.Items[i].Name }), nil
	}}
	ReplicaSets = Kind{Aliases: []string{"replicaset", "rs", "replicasets"}, list: func(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error) {
		l, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{Limit: pageSize})
		if err != nil {
			return nil, err
		}
		return names(len(l.Items), func(i int) string { return l.Items[i].Name }), nil
	}}
	ReplicationControllers = Kind{Aliases: []string{"replicationcontroller", "rc", "replicationcontrollers"}, list: func(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error) {
		l, err := cs.CoreV1().ReplicationControllers(ns).List(ctx, metav1.ListOptions{Limit: pageSize})
		if err != nil {
			return nil, err
		}
		return names(len(l.Items), func(i int) string { return l.Items[i].Name }), nil
	}}
)

// Lister returns the names of the objects of a kind in a namespace. Tests replace it.
type Lister func(ctx context.Context, kind Kind, namespace string) ([]string, error)

// ClusterLister lists from the cluster of the client factory (--kubeconfig, --context, ...).
func ClusterLister(f cmdutil.Factory) Lister {
	return func(ctx context.Context, kind Kind, ns string) ([]string, error) {
		c, err := f.Clients()
		if err != nil {
			return nil, err
		}
		return kind.list(ctx, c.Kube, ns)
	}
}

// Options tune a completion function.
type Options struct {
	// Bare also completes `TYPE NAME` (two words, as kubectl expose takes them) besides TYPE/NAME.
	Bare bool
	// Lister and Namespace default to the cluster of the kubectl flags.
	Lister    Lister
	Namespace func() string
}

// ResourceNames completes the first argument of a command as TYPE/NAME for the given kinds:
// without a slash it offers "TYPE/" (no trailing space); after "svc/" it lists the Services of the
// namespace. Use it as a command's ValidArgsFunction:
//
//	ValidArgsFunction: complete.ResourceNames(f, complete.Options{}, complete.Services),
func ResourceNames(f cmdutil.Factory, opts Options, kinds ...Kind) cobra.CompletionFunc {
	opts = opts.withDefaults(f)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		switch {
		case len(args) == 0:
			return complete(cmd, opts, kinds, toComplete)
		case len(args) == 1 && opts.Bare && !strings.Contains(args[0], "/"):
			if k, ok := find(kinds, args[0]); ok {
				return list(cmd, opts, k, "", toComplete), cobra.ShellCompDirectiveNoFileComp
			}
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// FlagResourceNames completes a flag value as TYPE/NAME (e.g. --from pod/NAME). Register it with
// cmd.RegisterFlagCompletionFunc.
func FlagResourceNames(f cmdutil.Factory, opts Options, kinds ...Kind) cobra.CompletionFunc {
	opts = opts.withDefaults(f)
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return complete(cmd, opts, kinds, toComplete)
	}
}

func complete(cmd *cobra.Command, opts Options, kinds []Kind, toComplete string) ([]string, cobra.ShellCompDirective) {
	typ, prefix, ok := strings.Cut(toComplete, "/")
	if !ok {
		var out []string
		for _, k := range kinds {
			if alias := k.Aliases[0]; strings.HasPrefix(alias, toComplete) {
				out = append(out, alias+"/")
			}
		}
		// an alias spelled out in full ("service") is completed to its own slash form
		if len(out) == 0 {
			if _, ok := find(kinds, toComplete); ok {
				out = append(out, toComplete+"/")
			}
		}
		return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
	k, ok := find(kinds, typ)
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return list(cmd, opts, k, typ+"/", prefix), cobra.ShellCompDirectiveNoFileComp
}

func list(cmd *cobra.Command, opts Options, k Kind, typePrefix, namePrefix string) []string {
	ctx := context.Background()
	if cmd != nil && cmd.Context() != nil {
		ctx = cmd.Context()
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	all, err := opts.Lister(ctx, k, opts.Namespace())
	if err != nil {
		cobra.CompDebugln("completion: "+err.Error(), false)
		return nil
	}
	sort.Strings(all)
	var out []string
	for _, n := range all {
		if strings.HasPrefix(n, namePrefix) {
			out = append(out, typePrefix+n)
		}
	}
	return out
}

func find(kinds []Kind, alias string) (Kind, bool) {
	alias = strings.ToLower(alias)
	for _, k := range kinds {
		for _, a := range k.Aliases {
			if a == alias {
				return k, true
			}
		}
	}
	return Kind{}, false
}

func (o Options) withDefaults(f cmdutil.Factory) Options {
	if o.Lister == nil {
		o.Lister = ClusterLister(f)
	}
	if o.Namespace == nil {
		o.Namespace = func() string {
			ns, _ := f.Namespace()
			return ns
		}
	}
	return o
}

func names(n int, name func(int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = name(i)
	}
	return out
}
