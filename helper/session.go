package helper

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/internal/version"
	"github.com/svc-doctor/svc-doctor/trace"
)

// Flags are the flags of every command that runs checks from inside the cluster
// (diagnose, dnscheck, probes --run).
type Flags struct {
	Image           string
	ImagePullPolicy string
	KeepHelper      bool
	// From is "pod/NAME": run the checks from that pod (ephemeral container) instead.
	From    string
	Timeout time.Duration
}

// DefaultTimeout bounds a whole command run.
const DefaultTimeout = 3 * time.Minute

// AddFlags registers the flags.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	if f.Timeout == 0 {
		f.Timeout = DefaultTimeout
	}
	fs.StringVar(&f.Image, "image", version.AgentImage(), "agent image of the helper pod (mirror it for air-gapped clusters)")
	fs.StringVar(&f.ImagePullPolicy, "image-pull-policy", "", "image pull policy of the helper: Always|IfNotPresent|Never (default IfNotPresent)")
	fs.BoolVar(&f.KeepHelper, "keep-helper", false, "leave the helper pod running and reuse it on the next run (remove it with: kubectl svc-doctor cleanup)")
	fs.StringVar(&f.From, "from", "", "run the network checks from this pod's position (pod/NAME in the namespace) in an ephemeral container, instead of a helper pod")
	fs.DurationVar(&f.Timeout, "timeout", f.Timeout, "time limit of the whole run, helper start included")
}

// Validate checks the flags; it returns a usage error naming the flag.
func (f *Flags) Validate() error {
	switch corev1.PullPolicy(f.ImagePullPolicy) {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return cmdutil.UsageError("--image-pull-policy %q: use Always, IfNotPresent or Never", f.ImagePullPolicy)
	}
	if f.From != "" {
		if _, err := f.FromPod(); err != nil {
			return err
		}
		if f.KeepHelper {
			return cmdutil.UsageError("--keep-helper and --from exclude each other: --from uses an ephemeral container of that pod, not a helper pod")
		}
	}
	if f.Timeout <= 0 {
		return cmdutil.UsageError("--timeout must be positive, e.g. 2m")
	}
	if strings.TrimSpace(f.Image) == "" {
		return cmdutil.UsageError("--image is empty: name the agent image, e.g. %s", version.AgentImage())
	}
	return nil
}

// FromPod returns the pod name of --from pod/NAME.
func (f *Flags) FromPod() (string, error) {
	kind, name, ok := strings.Cut(f.From, "/")
	if !ok || (kind != "pod" && kind != "pods" && kind != "po") || name == "" || strings.Contains(name, "/") {
		return "", cmdutil.UsageError("--from %q: write pod/NAME (a pod of the namespace)", f.From)
	}
	return name, nil
}

// Session is the AgentProvider of the CLI: it starts (or reuses) the helper pod, or adds the
// agent to the --from pod, the first time a hop needs it, and Close removes it. Progress goes to
// ErrOut.
type Session struct {
	Client    kubernetes.Interface
	Config    *rest.Config
	Namespace string
	Flags     Flags
	// Reason is recorded on the helper pod ("diagnose svc/web").
	Reason string
	ErrOut io.Writer
	// TargetContainer (with --from) is the container of the pod whose process namespace the
	// agent shares (to read its environment).
	TargetContainer string
	// Exec runs the agent's command (nil: the pods/exec subresource; tests run it in-process).
	Exec ExecFunc
	// NodeName pins the helper pod to that node (the per-node checks of diagnose); empty lets the
	// scheduler choose.
	NodeName string

	h *Helper
}

func (s *Session) options() Options {
	start := DefaultStartTimeout
	if s.Flags.Timeout > 0 && s.Flags.Timeout < start {
		start = s.Flags.Timeout
	}
	// the pod's own deadline must outlive the run (--timeout may exceed the default)
	var deadline time.Duration
	base := DefaultActiveDeadline
	if s.Flags.KeepHelper {
		base = DefaultKeepActiveDeadline
	}
	if s.Flags.Timeout+time.Minute > base {
		deadline = s.Flags.Timeout + time.Minute
	}
	return Options{
		ActiveDeadline:  deadline,
		Namespace:       s.Namespace,
		Image:           s.Flags.Image,
		ImagePullPolicy: corev1.PullPolicy(s.Flags.ImagePullPolicy),
		Keep:            s.Flags.KeepHelper,
		RunID:           NewRunID(),
		Creator:         "kubectl-svc_doctor " + version.Current(),
		Reason:          s.Reason,
		StartTimeout:    start,
		TargetContainer: s.TargetContainer,
		Exec:            s.Exec,
		NodeName:        s.NodeName,
	}
}

// Agent implements AgentProvider.
func (s *Session) Agent(ctx context.Context) (trace.Agent, *trace.Source, error) {
	opts := s.options()
	start := time.Now()
	var err error
	switch {
	case s.Flags.From != "":
		pod, _ := s.Flags.FromPod()
		fmt.Fprintln(s.ErrOut, FromPodNotice)
		fmt.Fprintf(s.ErrOut, "adding the agent to pod %s/%s as an ephemeral container (image %s)...\n", s.Namespace, pod, opts.Image)
		s.h, err = Attach(ctx, s.Client, s.Config, pod, opts)
	case s.Flags.KeepHelper:
		s.h, err = Find(ctx, s.Client, s.Config, opts)
		if err == nil && s.h != nil {
			fmt.Fprintf(s.ErrOut, "reusing %s (--keep-helper)\n", s.h)
			break
		}
		fallthrough
	default:
		if err == nil {
			fmt.Fprintf(s.ErrOut, "starting helper pod in namespace %s%s (run %s, image %s)...\n", s.Namespace, onNode(s.NodeName), opts.RunID, opts.Image)
			s.h, err = Start(ctx, s.Client, s.Config, opts)
		}
	}
	if err != nil {
		s.h = nil
		return nil, nil, err
	}
	src := &trace.Source{Description: s.h.String(), Namespace: s.h.Namespace(), Node: s.h.Node()}
	pod := s.h.Pod()
	if pod == nil {
		// a reused or attached helper: its pod was not watched into running by this run
		pod, _ = s.Client.CoreV1().Pods(s.h.Namespace()).Get(ctx, s.h.Name(), metav1.GetOptions{})
	}
	if pod != nil {
		src.Labels, src.IP, src.Pod = pod.Labels, pod.Status.PodIP, pod
		if src.Node == "" {
			src.Node = pod.Spec.NodeName
		}
	}
	fmt.Fprintf(s.ErrOut, "%s is running on node %s, IP %s (%s)\n", s.h, orNone(src.Node), orNone(src.IP), time.Since(start).Round(100*time.Millisecond))
	return s.h, src, nil
}

// Close deletes the helper pod (or stops the agent of the ephemeral container; a kept helper is
// left running). It runs with a fresh context, so it works after Ctrl-C cancelled ctx.
func (s *Session) Close(ctx context.Context) error {
	if s.h == nil {
		return nil
	}
	h := s.h
	s.h = nil
	switch {
	case h.Kept():
		fmt.Fprintf(s.ErrOut, "keeping %s for the next run (--keep-helper); remove it with: kubectl svc-doctor cleanup -n %s\n", h, h.Namespace())
	case h.Ephemeral():
		fmt.Fprintf(s.ErrOut, "stopping the agent in %s (the terminated container stays in the pod's spec until the pod is deleted)\n", h)
	default:
		fmt.Fprintf(s.ErrOut, "deleting %s\n", h)
	}
	return h.Close(ctx)
}

func onNode(node string) string {
	if node == "" {
		return ""
	}
	return " on node " + node
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
