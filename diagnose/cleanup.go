package diagnose

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
)

// CleanupOptions are the inputs of `svc-doctor cleanup`.
type CleanupOptions struct {
	AllNamespaces bool
	OlderThan     time.Duration
	genericiooptions.IOStreams

	Client    kubernetes.Interface
	Namespace string
}

// NewCleanupCmd returns the cleanup command: it deletes the helper pods svc-doctor left behind
// (a killed run, or --keep-helper).
func NewCleanupCmd(factory cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CleanupOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "cleanup [-n NAMESPACE | -A]",
		Short: "Delete the helper pods svc-doctor left behind",
		Long: `Delete the helper pods (labelled app.kubernetes.io/name=svc-doctor-helper,
app.kubernetes.io/managed-by=svc-doctor) of the namespace, or of every namespace with -A: pods kept
with --keep-helper, and pods of runs that were killed before they could delete them (those also stop
by themselves at their activeDeadlineSeconds).

Ephemeral containers added with --from cannot be removed (Kubernetes does not allow it): they stay,
terminated, in their pod's spec until the pod is deleted.`,
		Example: `  kubectl svc-doctor cleanup -n shop
  kubectl svc-doctor cleanup -A --older-than 1h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Client == nil {
				c, err := factory.Clients()
				if err != nil {
					return err
				}
				o.Client, o.Namespace = c.Kube, c.Namespace
			}
			if o.OlderThan < 0 {
				return cmdutil.UsageError("--older-than must not be negative")
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "delete helper pods in every namespace")
	cmd.Flags().DurationVar(&o.OlderThan, "older-than", 0, "only delete helper pods at least this old (default: all)")
	return cmd
}

// Run deletes the helper pods and says which.
func (o *CleanupOptions) Run(ctx context.Context) error {
	ns, where := o.Namespace, "namespace "+o.Namespace
	if o.AllNamespaces {
		ns, where = metav1.NamespaceAll, "any namespace"
	}
	deleted, err := helper.Cleanup(ctx, o.Client, ns, o.OlderThan)
	for _, d := range deleted {
		fmt.Fprintf(o.Out, "pod/%s deleted\n", d)
	}
	if err != nil {
		return cmdutil.Incomplete(err)
	}
	if len(deleted) == 0 {
		fmt.Fprintf(o.Out, "No svc-doctor helper pods in %s.\n", where)
	}
	return nil
}
