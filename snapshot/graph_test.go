package snapshot

import (
	"fmt"
	"strings"
	"testing"

	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svc-doctor/svc-doctor/manifest"
)

func TestDuplicatesKeepOnlyTheLastCopy(t *testing.T) {
	svc := func(port int) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: np}\nspec:\n  type: NodePort\n  ports: [{port: 80, nodePort: %d}]\n", port)
	}
	// enough objects that decoding is split between several workers
	var b strings.Builder
	b.WriteString(svc(30080))
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm%d}\n", i)
	}
	b.WriteString("---\n" + svc(30081) + "---\n" + svc(30082))
	b.WriteString("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm7}\ndata: {last: \"yes\"}\n")
	s := FromManifests(manifest.Parse("in.yaml", []byte(b.String())), "")
	if len(s.Services) != 1 || s.Services[0].Spec.Ports[0].NodePort != 30082 {
		t.Fatalf("want only the last copy of service np in the graph, got %d services", len(s.Services))
	}
	if s.Service("default", "np") != s.Services[0] {
		t.Error("the lookup does not return the copy in the graph")
	}
	if len(s.Other) != 300 || s.Other[len(s.Other)-1].Ref.Name != "cm7" {
		t.Errorf("want the 300 ConfigMaps once each, cm7's last copy at the end; got %d", len(s.Other))
	}
	if got := issues(s, RuleDuplicateObject); len(got) != 3 {
		t.Errorf("want a duplicate-object issue on each later copy, got %q", got)
	}
	if s.Objects() != 304 || s.Superseded != 3 {
		t.Errorf("Objects() = %d (superseded %d), want the 304 objects read (3 superseded)", s.Objects(), s.Superseded)
	}
}

func TestRemovedVersionCopyIsTheSameObject(t *testing.T) {
	s := decode(t, "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  backend: {serviceName: old, servicePort: 80}\n---\n"+
		"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  defaultBackend: {service: {name: new, port: {number: 80}}}\n")
	if len(s.Ingresses) != 1 || s.Ingresses[0].Legacy || len(issues(s, RuleDuplicateObject)) != 1 {
		t.Fatalf("want the v1 copy only and one duplicate-object issue, got %d ingresses, issues %q", len(s.Ingresses), issues(s, RuleDuplicateObject))
	}
}

func TestRunToCompletionWorkloadsAreNotSelected(t *testing.T) {
	const labels = "{app: web}"
	s := decode(t, `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: `+labels+`, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: `+labels+`}
  template: {metadata: {labels: `+labels+`}, spec: {containers: [{name: web, image: nginx}]}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-test, labels: `+labels+`, annotations: {helm.sh/hook: test}}
spec: {containers: [{name: t, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-once, labels: `+labels+`}
spec: {restartPolicy: OnFailure, containers: [{name: t, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-pod, labels: `+labels+`}
spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: web-job}
spec: {template: {metadata: {labels: `+labels+`}, spec: {restartPolicy: Never, containers: [{name: j, image: busybox}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: web-cron}
spec: {schedule: "@daily", jobTemplate: {spec: {template: {metadata: {labels: `+labels+`}, spec: {restartPolicy: Never, containers: [{name: j, image: busybox}]}}}}}
`)
	names := func(ws []*Workload) string {
		var n []string
		for _, w := range ws {
			n = append(n, w.Src.Ref.Name)
		}
		return strings.Join(n, ",")
	}
	svc := s.Service("default", "web")
	if got := names(s.SelectedWorkloads(svc)); got != "web,web-pod" {
		t.Errorf("SelectedWorkloads = %s, want the Deployment and the restarting Pod", got)
	}
	if got := names(s.SelectedRunToCompletion(svc)); got != "web-test,web-once,web-job,web-cron" {
		t.Errorf("SelectedRunToCompletion = %s", got)
	}
	for _, w := range s.Workloads {
		if w.RunsToCompletion() && len(s.SelectingServices(w)) > 0 {
			t.Errorf("%s runs to completion but is selected", w.Src.Ref.Name)
		}
	}
}

func TestKnownKindsFromTheScheme(t *testing.T) {
	tests := []struct {
		name, yaml string
		rule       string // the rule expected to report, "" for none of the apiVersion rules
		want       string
	}{
		{name: "CSIStorageCapacity", yaml: "apiVersion: storage.k8s.io/v1\nkind: CSIStorageCapacity\nmetadata: {name: a}\nstorageClassName: fast\n"},
		{name: "VolumeAttributesClass", yaml: "apiVersion: storage.k8s.io/v1\nkind: VolumeAttributesClass\nmetadata: {name: a}\ndriverName: d\n"},
		{name: "ComponentStatus", yaml: "apiVersion: v1\nkind: ComponentStatus\nmetadata: {name: etcd-0}\n"},
		{name: "Binding", yaml: "apiVersion: v1\nkind: Binding\nmetadata: {name: a}\ntarget: {kind: Node, name: n}\n"},
		{name: "a beta version the cluster may enable", yaml: "apiVersion: resource.k8s.io/v1beta2\nkind: ResourceClaim\nmetadata: {name: a}\n"},
		{name: "a custom resource of an unknown group", yaml: "apiVersion: acme.example.com/v1\nkind: Widget\nmetadata: {name: a}\n"},
		{name: "a custom resource named like a built-in kind", yaml: "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: a}\n"},
		{name: "the newest version is the home", yaml: "apiVersion: apps/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: a}\n",
			rule: RuleUnknownAPIVersion, want: "use apiVersion autoscaling/v2"},
		{name: "core Event wins over events.k8s.io", yaml: "apiVersion: apps/v1\nkind: Event\nmetadata: {name: a}\n",
			rule: RuleUnknownAPIVersion, want: "use apiVersion v1"},
		{name: "unknown kind of a built-in version", yaml: "apiVersion: storage.k8s.io/v1\nkind: StorageKlass\nmetadata: {name: a}\n",
			rule: RuleUnknownAPIVersion, want: `apiVersion storage.k8s.io/v1 has no kind "StorageKlass"`},
		{name: "a removed beta the scheme still knows", yaml: "apiVersion: storage.k8s.io/v1beta1\nkind: CSIStorageCapacity\nmetadata: {name: a}\n",
			rule: RuleRemovedAPI, want: "removed in Kubernetes 1.27: use apiVersion storage.k8s.io/v1"},
		{name: "removed Ingress", yaml: "apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata: {name: a}\n",
			rule: RuleRemovedAPI, want: "removed in Kubernetes 1.22"},
		{name: "removed PodDisruptionBudget", yaml: "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: a}\n",
			rule: RuleRemovedAPI, want: "use apiVersion policy/v1"},
		{name: "kind case", yaml: "apiVersion: storage.k8s.io/v1\nkind: csistoragecapacity\nmetadata: {name: a}\n",
			rule: RuleKindCase, want: `write "CSIStorageCapacity"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := decode(t, tt.yaml)
			for _, rule := range []string{RuleUnknownAPIVersion, RuleRemovedAPI, RuleKindCase, RuleAPIVersionCase} {
				got := issues(s, rule)
				switch {
				case rule != tt.rule && len(got) > 0:
					t.Errorf("unexpected %s: %q", rule, got)
				case rule == tt.rule && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
					t.Errorf("%s = %q, want one containing %q", rule, got, tt.want)
				}
			}
		})
	}
}

func TestObjectWithoutName(t *testing.T) {
	s := decode(t, "apiVersion: v1\nkind: Service\nmetadata: {labels: {app: a}}\n---\napiVersion: v1\nkind: Service\nmetadata: {generateName: a-}\n---\n"+
		"apiVersion: authorization.k8s.io/v1\nkind: SelfSubjectAccessReview\nspec: {}\n---\napiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\n")
	if got := issues(s, RuleNameMissing); len(got) != 1 || !strings.HasPrefix(got[0], "metadata.name: Service has no metadata.name") {
		t.Errorf("want one object-name-missing issue for the first Service, got %q", got)
	}
}

// BenchmarkBuildTables measures the one-off derivation of the kind tables from the scheme.
func BenchmarkBuildTables(b *testing.B) {
	known := schemeTypes()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buildTables(known)
	}
}

// TestLivePodsRunToCompletionByWhatTheyAre checks that a live Pod is judged by its phase and owner,
// not by its restartPolicy: a running `kubectl run --restart=Never` Pod serves its Service.
func TestLivePodsRunToCompletionByWhatTheyAre(t *testing.T) {
	job := true
	tests := []struct {
		name string
		pod  corev1.Pod
		want bool
	}{
		{name: "running, restartPolicy Never: serves", want: false,
			pod: corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}},
		{name: "running, restartPolicy Always: serves", want: false,
			pod: corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}},
		{name: "succeeded: finished", want: true,
			pod: corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}},
		{name: "failed: finished", want: true,
			pod: corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed}}},
		{name: "a Job's running pod", want: true,
			pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "Job", Name: "j", Controller: &job}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning}}},
		{name: "a running Helm test hook", want: true,
			pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{HelmHookAnnotation: "test"}}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.pod.Name, tc.pod.Namespace = "p", "default"
			if got := PodWorkload(&tc.pod).RunsToCompletion(); got != tc.want {
				t.Errorf("RunsToCompletion = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBuiltinSchemeMatchesClientGo checks that the snapshot's own registration of the built-in
// API types (it may not import client-go) knows exactly the group/version/kinds of client-go's
// scheme.
func TestBuiltinSchemeMatchesClientGo(t *testing.T) {
	ours, theirs := builtinScheme.AllKnownTypes(), clientgoscheme.Scheme.AllKnownTypes()
	for gvk := range theirs {
		if _, ok := ours[gvk]; !ok {
			t.Errorf("client-go's scheme has %s, the snapshot's does not: add its group to snapshot/scheme.go", gvk)
		}
	}
	for gvk := range ours {
		if _, ok := theirs[gvk]; !ok {
			t.Errorf("the snapshot's scheme has %s, client-go's does not", gvk)
		}
	}
}
