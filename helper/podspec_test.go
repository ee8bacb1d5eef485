package helper

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/internal/version"
)

// wantPod is the helper pod for Options{Namespace: "team-a"}, written out in full.
func wantPod() *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "svc-doctor-helper-",
			Namespace:    "team-a",
			Labels: map[string]string{
				"app.kubernetes.io/name":       "svc-doctor-helper",
				"app.kubernetes.io/managed-by": "svc-doctor",
			},
			Annotations: map[string]string{
				"svc-doctor.io/created-by": "svc-doctor",
				"svc-doctor.io/reason":     "diagnose",
			},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:                     "agent",
				Image:                    version.AgentImage(),
				ImagePullPolicy:          corev1.PullIfNotPresent,
				Command:                  []string{"svc-doctor-agent", "serve"},
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
				SecurityContext: &corev1.SecurityContext{
					RunAsNonRoot:             ptr.To(true),
					RunAsUser:                ptr.To(int64(65532)),
					RunAsGroup:               ptr.To(int64(65532)),
					AllowPrivilegeEscalation: ptr.To(false),
					Privileged:               ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
			}},
			RestartPolicy:                 corev1.RestartPolicyNever,
			DNSPolicy:                     corev1.DNSClusterFirst,
			ActiveDeadlineSeconds:         ptr.To(int64(600)),
			TerminationGracePeriodSeconds: ptr.To(int64(1)),
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To(int64(65532)),
				RunAsGroup:     ptr.To(int64(65532)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
		},
	}
}

func TestPodSpec(t *testing.T) {
	tolerations := []corev1.Toleration{{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	tests := []struct {
		name string
		opts Options
		want func(p *corev1.Pod) // applied to wantPod()
	}{
		{
			name: "defaults",
			opts: Options{Namespace: "team-a"},
			want: func(*corev1.Pod) {},
		},
		{
			name: "run ID, creator, reason",
			opts: Options{Namespace: "team-a", RunID: "abc123", Creator: "alice via kubectl-svc_doctor v0.3.0", Reason: "diagnose svc/web"},
			want: func(p *corev1.Pod) {
				p.Labels["svc-doctor.io/run-id"] = "abc123"
				p.Annotations["svc-doctor.io/created-by"] = "alice via kubectl-svc_doctor v0.3.0"
				p.Annotations["svc-doctor.io/reason"] = "diagnose svc/web"
			},
		},
		{
			name: "image and pull policy Never",
			opts: Options{Namespace: "team-a", Image: "localhost/svc-doctor/agent:dev", ImagePullPolicy: corev1.PullNever},
			want: func(p *corev1.Pod) {
				p.Spec.Containers[0].Image = "localhost/svc-doctor/agent:dev"
				p.Spec.Containers[0].ImagePullPolicy = corev1.PullNever
			},
		},
		{
			name: "on a chosen node with tolerations",
			opts: Options{Namespace: "team-a", NodeName: "node-2", Tolerations: tolerations},
			want: func(p *corev1.Pod) {
				p.Spec.NodeName = "node-2"
				p.Spec.Tolerations = tolerations
			},
		},
		{
			name: "service links",
			opts: Options{Namespace: "team-a", EnableServiceLinks: true},
			want: func(p *corev1.Pod) { p.Spec.EnableServiceLinks = ptr.To(true) },
		},
		{
			name: "kept: label and a longer default deadline",
			opts: Options{Namespace: "team-a", Keep: true},
			want: func(p *corev1.Pod) {
				p.Labels["svc-doctor.io/keep"] = "true"
				p.Spec.ActiveDeadlineSeconds = ptr.To(int64(3600))
			},
		},
		{
			name: "explicit deadline, sub-second rounds up to 1s",
			opts: Options{Namespace: "team-a", ActiveDeadline: 300 * time.Millisecond},
			want: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To(int64(1)) },
		},
		{
			name: "resources",
			opts: Options{Namespace: "team-a", Resources: &corev1.ResourceRequirements{
				Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}}},
			want: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := wantPod()
			tt.want(want)
			got := PodSpec(tt.opts)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("PodSpec (-want +got):\n%s", diff)
			}
			// Pure: the same options give the same pod, and the pod shares no memory with them.
			if diff := cmp.Diff(got, PodSpec(tt.opts)); diff != "" {
				t.Errorf("second call differs:\n%s", diff)
			}
			if len(tt.opts.Tolerations) > 0 {
				got.Spec.Tolerations[0].Key = "changed"
				if tt.opts.Tolerations[0].Key == "changed" {
					t.Error("the pod aliases opts.Tolerations")
				}
			}
		})
	}
}

// evaluateRestricted runs the Pod Security admission checks of the "restricted" level, latest
// version, and returns the aggregate verdict.
func evaluateRestricted(t *testing.T, pod *corev1.Pod) policy.AggregateCheckResult {
	t.Helper()
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lv := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}
	return policy.AggregateCheckResults(evaluator.EvaluatePod(lv, &pod.ObjectMeta, &pod.Spec))
}

func TestPodSpecSatisfiesRestricted(t *testing.T) {
	for name, opts := range map[string]Options{
		"defaults":           {Namespace: "ns"},
		"kept, on a node":    {Namespace: "ns", Keep: true, NodeName: "n1", EnableServiceLinks: true},
		"custom image Never": {Namespace: "ns", Image: "registry.local/agent:1", ImagePullPolicy: corev1.PullNever},
	} {
		t.Run(name, func(t *testing.T) {
			if res := evaluateRestricted(t, PodSpec(opts)); !res.Allowed {
				t.Errorf("restricted profile violated: %s", res.ForbiddenDetail())
			}
		})
	}
}

// TestRestrictedEvaluatorBites proves the evaluator above would notice: each weakening of the pod
// is a violation.
func TestRestrictedEvaluatorBites(t *testing.T) {
	tests := []struct {
		name       string
		weaken     func(p *corev1.Pod)
		wantReason string
	}{
		{name: "privilege escalation", weaken: func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil },
			wantReason: "allowPrivilegeEscalation != false"},
		{name: "capabilities kept", weaken: func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext.Capabilities = nil },
			wantReason: "unrestricted capabilities"},
		{name: "root allowed", weaken: func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsNonRoot, p.Spec.Containers[0].SecurityContext.RunAsNonRoot = nil, nil
		}, wantReason: "runAsNonRoot != true"},
		{name: "no seccomp", weaken: func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile, p.Spec.Containers[0].SecurityContext.SeccompProfile = nil, nil
		}, wantReason: "seccompProfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PodSpec(Options{Namespace: "ns"})
			tt.weaken(p)
			res := evaluateRestricted(t, p)
			if res.Allowed || !contains(res.ForbiddenReasons, tt.wantReason) {
				t.Errorf("got allowed=%v reasons %q, want %q", res.Allowed, res.ForbiddenReasons, tt.wantReason)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// targetPod is an application pod; restricted says whether it complies with the restricted profile.
func targetPod(restricted bool) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "shop"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "web", Image: "nginx"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if restricted {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
	}
	return p
}

func TestEphemeralContainer(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		opts Options
		want corev1.EphemeralContainer
	}{
		{
			name: "defaults",
			pod:  targetPod(true),
			opts: Options{Namespace: "shop", RunID: "r1", Image: "localhost/svc-doctor/agent:dev", ImagePullPolicy: corev1.PullNever},
			want: corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name:                     "svc-doctor-r1",
				Image:                    "localhost/svc-doctor/agent:dev",
				ImagePullPolicy:          corev1.PullNever,
				Command:                  []string{"svc-doctor-agent", "serve", "--max-lifetime=10m0s"},
				SecurityContext:          RestrictedSecurityContext(),
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}},
		},
		{
			name: "name taken, target container, lifetime",
			pod: func() *corev1.Pod {
				p := targetPod(false)
				p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "svc-doctor-r1"}}}
				p.Spec.InitContainers = []corev1.Container{{Name: "svc-doctor-r1-2"}}
				return p
			}(),
			opts: Options{Namespace: "shop", RunID: "r1", TargetContainer: "web", ActiveDeadline: time.Hour},
			want: corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name:                     "svc-doctor-r1-3",
				Image:                    version.AgentImage(),
				ImagePullPolicy:          corev1.PullIfNotPresent,
				Command:                  []string{"svc-doctor-agent", "serve", "--max-lifetime=1h0m0s"},
				SecurityContext:          RestrictedSecurityContext(),
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}, TargetContainerName: "web"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.pod.DeepCopy()
			got := EphemeralContainer(tt.pod, tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.pod); diff != "" {
				t.Errorf("the pod was modified:\n%s", diff)
			}
		})
	}
}

// TestEphemeralContainerSatisfiesRestricted: added to a compliant pod, the agent keeps it compliant;
// added to a non-compliant one, it adds no violation of its own.
func TestEphemeralContainerSatisfiesRestricted(t *testing.T) {
	for _, restricted := range []bool{true, false} {
		t.Run(map[bool]string{true: "restricted pod", false: "unrestricted pod"}[restricted], func(t *testing.T) {
			pod := targetPod(restricted)
			before := evaluateRestricted(t, pod)
			pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, EphemeralContainer(pod, Options{Namespace: "shop", RunID: "r1"}))
			after := evaluateRestricted(t, pod)
			if restricted && !after.Allowed {
				t.Errorf("restricted profile violated: %s", after.ForbiddenDetail())
			}
			if before.ForbiddenDetail() != after.ForbiddenDetail() {
				t.Errorf("the agent added violations:\nbefore: %s\nafter:  %s", before.ForbiddenDetail(), after.ForbiddenDetail())
			}
			if !restricted && before.Allowed {
				t.Fatal("the unrestricted target pod should violate the profile")
			}
		})
	}
}
