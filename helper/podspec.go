package helper

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/internal/version"
)

// Labels and annotations on every helper pod. The first two select helper pods (Cleanup, Find); the
// run ID ties a pod to one invocation; LabelKeep marks pods that --keep-helper left for reuse.
const (
	LabelName           = "app.kubernetes.io/name"
	LabelManagedBy      = "app.kubernetes.io/managed-by"
	LabelRunID          = "svc-doctor.io/run-id"
	LabelKeep           = "svc-doctor.io/keep"
	AnnotationCreatedBy = "svc-doctor.io/created-by"
	AnnotationReason    = "svc-doctor.io/reason"

	// NameValue and ManagedByValue are the values of LabelName and LabelManagedBy.
	NameValue      = "svc-doctor-helper"
	ManagedByValue = "svc-doctor"
)

// Fixed parts of the helper pod.
const (
	// GenerateName prefixes the helper pod's name.
	GenerateName = "svc-doctor-helper-"
	// ContainerName is the agent container of the helper pod.
	ContainerName = "agent"
	// RunAsUser is the numeric non-root user (and group) the agent runs as ("nonroot" of distroless).
	RunAsUser int64 = 65532
)

// Defaults for Options fields left empty.
const (
	DefaultActiveDeadline     = 10 * time.Minute
	DefaultKeepActiveDeadline = time.Hour
	DefaultStartTimeout       = time.Minute
	DefaultReason             = "diagnose"
	DefaultCreator            = "svc-doctor"
	// TerminationGracePeriod is short: the agent exits at once on SIGTERM.
	TerminationGracePeriod int64 = 1
)

// Options describe the helper pod. The zero value plus a Namespace is valid: empty fields take the
// defaults documented on each.
type Options struct {
	// Namespace is where the helper pod runs (required).
	Namespace string
	// Image is the agent image; empty means version.AgentImage().
	Image string
	// ImagePullPolicy is empty for IfNotPresent; tests and air-gapped clusters use Never.
	ImagePullPolicy corev1.PullPolicy
	// NodeName, when set, places the pod on that node (bypassing the scheduler, as kubectl debug
	// node does), to test from a chosen node's network position.
	NodeName string
	// Tolerations let the pod run on tainted nodes.
	Tolerations []corev1.Toleration
	// EnableServiceLinks gives the pod the <SVC>_SERVICE_HOST/PORT variables of its namespace.
	EnableServiceLinks bool
	// RunID labels the pod with the invocation that created it; Start generates one when empty.
	RunID string
	// Creator and Reason are recorded as annotations (who created the pod and why), e.g.
	// "alice via kubectl-svc_doctor v0.3.0" and "diagnose svc/web".
	Creator string
	Reason  string
	// ActiveDeadline bounds the pod's life even if nobody deletes it; empty means
	// DefaultActiveDeadline, or DefaultKeepActiveDeadline with Keep.
	ActiveDeadline time.Duration
	// Resources of the agent container; nil means DefaultResources().
	Resources *corev1.ResourceRequirements
	// Keep leaves the pod running after Close for reuse by Find (--keep-helper).
	Keep bool
	// TargetContainer (Attach only) is the container of the target pod whose process namespace the
	// ephemeral agent shares; empty shares none.
	TargetContainer string
	// StartTimeout bounds the wait for the pod to run (Start and Attach); empty means
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// Exec runs the agent's command in the container; nil goes through the pods/exec subresource
	// (tests run the agent in-process).
	Exec ExecFunc
}

// Complete returns opts with every empty field set to its default, except RunID (see NewRunID).
func (o Options) Complete() Options {
	if o.Image == "" {
		o.Image = version.AgentImage()
	}
	if o.ImagePullPolicy == "" {
		o.ImagePullPolicy = corev1.PullIfNotPresent
	}
	if o.Creator == "" {
		o.Creator = DefaultCreator
	}
	if o.Reason == "" {
		o.Reason = DefaultReason
	}
	if o.ActiveDeadline <= 0 {
		o.ActiveDeadline = DefaultActiveDeadline
		if o.Keep {
			o.ActiveDeadline = DefaultKeepActiveDeadline
		}
	}
	if o.Resources == nil {
		r := DefaultResources()
		o.Resources = &r
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	return o
}

// DefaultResources are small: the agent idles, and a check request is a few sockets.
func DefaultResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("10m"),
			corev1.ResourceMemory: resource.MustParse("16Mi"),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("200m"),
			corev1.ResourceMemory: resource.MustParse("64Mi"),
		},
	}
}

// NewRunID returns a random label-safe run ID.
func NewRunID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// Selector selects every helper pod svc-doctor created.
func Selector() labels.Selector {
	return labels.SelectorFromSet(labels.Set{LabelName: NameValue, LabelManagedBy: ManagedByValue})
}

// PodSpec returns the helper pod for opts. It is pure: it reads no cluster and no clock, and
// fills empty fields with their defaults (Options.Complete). The pod satisfies the "restricted"
// Pod Security Standard: non-root numeric user, no privilege escalation, all capabilities dropped,
// RuntimeDefault seccomp, read-only root filesystem.
func PodSpec(opts Options) *corev1.Pod {
	opts = opts.Complete()
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: GenerateName,
			Namespace:    opts.Namespace,
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:            ContainerName,
				Image:           opts.Image,
				ImagePullPolicy: opts.ImagePullPolicy,
				Command:         []string{agent.BinaryName, agent.ServeArg},
				// A crash of the agent shows its last log lines in the container status.
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}},
			RestartPolicy: corev1.RestartPolicyNever,
			DNSPolicy:     corev1.DNSClusterFirst,
		},
	}
	for _, apply := range []func(*corev1.Pod, Options){
		withMetadata,
		withRestrictedSecurity,
		withBounds,
		withPlacement,
	} {
		apply(pod, opts)
	}
	return pod
}

// withMetadata sets the owner labels and the creator/reason annotations.
func withMetadata(pod *corev1.Pod, opts Options) {
	pod.Labels = map[string]string{LabelName: NameValue, LabelManagedBy: ManagedByValue}
	if opts.RunID != "" {
		pod.Labels[LabelRunID] = opts.RunID
	}
	if opts.Keep {
		pod.Labels[LabelKeep] = "true"
	}
	pod.Annotations = map[string]string{AnnotationCreatedBy: opts.Creator, AnnotationReason: opts.Reason}
}

// withRestrictedSecurity applies the restricted profile to the pod and to every container.
func withRestrictedSecurity(pod *corev1.Pod, _ Options) {
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To(RunAsUser),
		RunAsGroup:     ptr.To(RunAsUser),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	pod.Spec.AutomountServiceAccountToken = ptr.To(false)
	for i := range pod.Spec.Containers {
		pod.Spec.Containers[i].SecurityContext = RestrictedSecurityContext()
	}
}

// RestrictedSecurityContext is the container security context of the agent, complete on its own
// (it does not rely on the pod-level context, so it also serves an ephemeral container added to a
// pod whose pod-level context is not restricted).
func RestrictedSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		RunAsUser:                ptr.To(RunAsUser),
		RunAsGroup:               ptr.To(RunAsUser),
		AllowPrivilegeEscalation: ptr.To(false),
		Privileged:               ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// withBounds limits the pod's resources and lifetime.
func withBounds(pod *corev1.Pod, opts Options) {
	pod.Spec.Containers[0].Resources = *opts.Resources.DeepCopy()
	pod.Spec.ActiveDeadlineSeconds = ptr.To(max(1, int64(opts.ActiveDeadline/time.Second)))
	pod.Spec.TerminationGracePeriodSeconds = ptr.To(TerminationGracePeriod)
	pod.Spec.EnableServiceLinks = ptr.To(opts.EnableServiceLinks)
}

// withPlacement pins the pod to a node and adds tolerations.
func withPlacement(pod *corev1.Pod, opts Options) {
	pod.Spec.NodeName = opts.NodeName
	if len(opts.Tolerations) > 0 {
		pod.Spec.Tolerations = append([]corev1.Toleration(nil), opts.Tolerations...)
	}
}
