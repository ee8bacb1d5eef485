// Package snapshot is the read-only object graph every rule reads: Services, their endpoints,
// the pod templates (or, live, the pods) they select, Ingresses, IngressClasses, TLS Secrets and
// NetworkPolicies. A snapshot is built either from manifests (FromManifests, pure) or from a
// cluster (FromCluster, a few paginated LISTs per kind); rules cannot tell the difference except
// through Complete, which says whether "not found" means "absent" or only "not in the input".
package snapshot

import (
	"sort"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
)

// Source identifies an object and, for manifests, where it was read.
type Source struct {
	Ref report.ObjectRef
	// Manifest is the object as read from a file; nil for objects read from a cluster.
	Manifest *manifest.Object
	// WrittenAPIVersion is the apiVersion as written, when it differs from Ref.APIVersion (a
	// removed API version read into the current type, or a wrong-case spelling).
	WrittenAPIVersion string
	// Annotations of the object (suppressions are read from them).
	Annotations map[string]string
}

// Location returns where field (a path such as spec.ports[0].targetPort, or "" for the object)
// is, or only the field path for live objects.
func (s *Source) Location(field string) *report.Location {
	if s == nil {
		return nil
	}
	if s.Manifest == nil {
		if field == "" {
			return nil
		}
		return &report.Location{Field: field}
	}
	m := s.Manifest
	loc := &report.Location{File: m.File, Document: m.Doc, Item: m.Item, Line: m.Line, Field: field}
	if field != "" {
		loc.FieldLine, _ = m.FieldLine(field)
	}
	return loc
}

// Service is a v1 Service.
type Service struct {
	*corev1.Service
	Src *Source
}

// Endpoints is a v1 Endpoints object.
type Endpoints struct {
	*corev1.Endpoints
	Src *Source
}

// EndpointSlice is a discovery.k8s.io/v1 EndpointSlice.
type EndpointSlice struct {
	*discoveryv1.EndpointSlice
	Src *Source
}

// Ingress is a networking.k8s.io/v1 Ingress; Legacy is set when it was written in a removed
// API version and converted.
type Ingress struct {
	*networkingv1.Ingress
	Src    *Source
	Legacy bool
}

// IngressClass is a networking.k8s.io/v1 IngressClass.
type IngressClass struct {
	*networkingv1.IngressClass
	Src *Source
}

// NetworkPolicy is a networking.k8s.io/v1 NetworkPolicy.
type NetworkPolicy struct {
	*networkingv1.NetworkPolicy
	Src *Source
}

// Secret holds what the rules need of a Secret. Data merges data (base64-decoded) and
// stringData; BadData lists data keys whose value is not valid base64.
type Secret struct {
	Src     *Source
	Type    corev1.SecretType
	Data    map[string][]byte
	BadData []string
	// FromStringData marks the Data keys that were written under stringData.
	FromStringData map[string]bool
}

// Field is the field path of a key of the Secret as written: data[key] or stringData[key].
func (s *Secret) Field(key string) string {
	if s.FromStringData[key] {
		return "stringData[" + key + "]"
	}
	return "data[" + key + "]"
}

// Node is a cluster node (live snapshots only).
type Node struct {
	*corev1.Node
	Src *Source
}

// Workload is a pod template (from a Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet,
// ReplicationController, Job or CronJob) or, in a live snapshot, a running Pod.
type Workload struct {
	Src *Source
	// Labels are the labels pods of this workload carry.
	Labels map[string]string
	// Selector is the workload's own selector (nil for Pods and Jobs).
	Selector labels.Selector
	// SelectorRequired is set for kinds whose API version requires a non-empty selector
	// (apps/v1 workloads); Selector is then nil when it is missing or empty.
	SelectorRequired bool
	// SelectorPath and LabelsPath locate the selector and template labels in the manifest.
	SelectorPath, LabelsPath string
	Spec                     *corev1.PodSpec
	// SpecPath locates Spec in the manifest, e.g. spec.template.spec.
	SpecPath string
	// Pod is set for live workloads: the Pod itself, with its status.
	Pod *corev1.Pod
	// Replicas is the desired replica count where the kind has one (nil otherwise).
	Replicas *int32
	// Deployment is set when the template came from a Deployment (for diagnosis of rollouts).
	Deployment *appsv1.Deployment
	// ServiceName is a StatefulSet's spec.serviceName, its governing Service ("" for other kinds).
	ServiceName string
	// PodIPs are the IPs in the status of a Pod manifest (an exported Pod); empty when it has no
	// status. Live pods have theirs in Pod.
	PodIPs []string
}

// HelmHookAnnotation marks an object Helm creates around an install, upgrade or `helm test`
// (helm.sh/hook: test, pre-install...) instead of as part of the release's running workloads.
const HelmHookAnnotation = "helm.sh/hook"

// RunsToCompletion reports whether the workload's pods run a task and exit instead of serving:
// Jobs, CronJobs, Pods with restartPolicy Never or OnFailure, and Helm hooks (such as the test Pod
// of `helm create`, which carries the chart's selector labels). A Service selecting them gets no
// lasting endpoints from them, so they are left out of SelectedWorkloads. A live Pod is judged by
// what it is, not by its restartPolicy: one that is still running gets endpoints and serves (a
// `kubectl run --restart=Never` Pod behind a Service), so only a finished Pod, a Job's Pod or a
// Helm hook counts.
func (w *Workload) RunsToCompletion() bool {
	if _, hook := w.Src.Annotations[HelmHookAnnotation]; hook {
		return true
	}
	switch w.Src.Ref.Kind {
	case "Job", "CronJob":
		return true
	case "Pod":
		if p := w.Pod; p != nil {
			if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				return true
			}
			for _, o := range p.OwnerReferences {
				if o.Kind == "Job" && o.Controller != nil && *o.Controller {
					return true
				}
			}
			return false
		}
		if w.Spec != nil && (w.Spec.RestartPolicy == corev1.RestartPolicyNever || w.Spec.RestartPolicy == corev1.RestartPolicyOnFailure) {
			return true
		}
	}
	return false
}

// Issue is a problem found while reading or decoding the input, reported by the rule named Rule.
type Issue struct {
	Rule    string
	Src     *Source          // the object, when known
	Loc     *report.Location // used when Src is nil or to override the position
	Field   string
	Message string
}

// Snapshot is the read-only graph of objects the rules see.
type Snapshot struct {
	// Live is true for snapshots read from a cluster.
	Live bool
	// DefaultNamespace is given to namespaced objects that have none.
	DefaultNamespace string

	Services        []*Service
	Endpoints       []*Endpoints
	EndpointSlices  []*EndpointSlice
	Ingresses       []*Ingress
	IngressClasses  []*IngressClass
	NetworkPolicies []*NetworkPolicy
	Secrets         []*Secret
	Workloads       []*Workload
	Nodes           []*Node
	// GatewayAPI holds the Gateway API objects and the Namespaces (snapshot/gateway.go).
	GatewayAPI
	// Other lists objects of kinds no rule models (ConfigMaps, CRDs, ...): passed through.
	Other []*Source
	// Issues are problems found while reading and decoding; the input rules report them.
	Issues []Issue
	// Unavailable maps a kind that a live snapshot does not hold to why: not asked for, or could
	// not be read (see Unread.Degraded).
	Unavailable map[string]Unread
	// Files lists the manifest files read.
	Files []string
	// Superseded counts the objects left out of the graph because the input defines them again
	// later (duplicate-object): only the last definition applied survives, so only it is checked.
	Superseded int
	// PassedThrough counts the objects of kinds no rule models that a streaming read (FromStream)
	// counted without keeping them: Other lists none of those.
	PassedThrough int

	// issueFields lists, per object, the fields the input issues were found on (HasIssueUnder)
	issueFields map[*Source][]string
	issueOnce   sync.Once
	// present marks the kinds and namespaces of objects this graph leaves out (partial snapshots
	// of a streaming read), which Index adds to the ones it finds
	extraPresent map[string]map[string]bool

	sel      selection
	present  map[string]map[string]bool // kind -> namespace -> any object
	services map[string]*Service        // ns/name
	secrets  map[string]*Secret
}

// Objects counts the objects read: those in the graph and the superseded copies of objects
// defined more than once.
func (s *Snapshot) Objects() int {
	return len(s.Services) + len(s.Endpoints) + len(s.EndpointSlices) + len(s.Ingresses) + len(s.IngressClasses) +
		len(s.NetworkPolicies) + len(s.Secrets) + len(s.Workloads) + len(s.Nodes) + len(s.Other) + s.Superseded + s.PassedThrough +
		s.GatewayAPI.count()
}

// Complete reports whether the snapshot holds every object of kind in namespace ns, so that
// "not found" means "does not exist": true for a live snapshot whose LIST of that kind
// succeeded. For manifests it is true when the input holds at least one object of that kind in
// that namespace (the input is then taken to describe that namespace's objects of that kind).
func (s *Snapshot) Complete(kind, ns string) bool {
	if s.Live {
		_, missing := s.Unavailable[kind]
		return !missing
	}
	return s.present[kind][ns]
}

// HasKind reports whether the input holds any object of kind, in any namespace.
func (s *Snapshot) HasKind(kind string) bool {
	if s.Live {
		_, missing := s.Unavailable[kind]
		return !missing
	}
	return len(s.present[kind]) > 0
}

// Service returns the Service ns/name, or nil.
func (s *Snapshot) Service(ns, name string) *Service { return s.services[ns+"/"+name] }

// Secret returns the Secret ns/name, or nil.
func (s *Snapshot) Secret(ns, name string) *Secret { return s.secrets[ns+"/"+name] }

// SecretsNamed returns Secrets called name in any namespace (to point at a namespace mix-up).
func (s *Snapshot) SecretsNamed(name string) []*Secret {
	var out []*Secret
	for _, sec := range s.Secrets {
		if sec.Src.Ref.Name == name {
			out = append(out, sec)
		}
	}
	return out
}

// Selects reports whether a Service selector selects a workload.
func Selects(selector map[string]string, w *Workload) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if lv, ok := w.Labels[k]; !ok || lv != v {
			return false
		}
	}
	return true
}

// selection maps Services to the workloads they select and back; built once, on first use.
type selection struct {
	once sync.Once
	byNS map[string][]*Workload
	// byLabel holds the workloads of a namespace that carry a label: [namespace, key, value]
	byLabel   map[[3]string][]*Workload
	selected  map[*Service][]*Workload
	selecting map[*Workload][]*Service
	// completing holds the run-to-completion workloads a Service's selector matches
	completing map[*Service][]*Workload
}

func (s *Snapshot) selectionIndex() *selection {
	x := &s.sel
	x.once.Do(func() {
		x.byNS = map[string][]*Workload{}
		// workloads by namespace and label: a selector's candidates are those with one of its labels
		byLabel := map[[3]string][]*Workload{}
		x.byLabel = byLabel
		for _, w := range s.Workloads {
			ns := w.Src.Ref.Namespace
			x.byNS[ns] = append(x.byNS[ns], w)
			for k, v := range w.Labels {
				byLabel[[3]string{ns, k, v}] = append(byLabel[[3]string{ns, k, v}], w)
			}
		}
		x.selected = map[*Service][]*Workload{}
		x.selecting = map[*Workload][]*Service{}
		x.completing = map[*Service][]*Workload{}
		for _, svc := range s.Services {
			if len(svc.Spec.Selector) == 0 {
				continue
			}
			var candidates []*Workload
			first := true
			for k, v := range svc.Spec.Selector {
				c := byLabel[[3]string{svc.Namespace, k, v}]
				if first || len(c) < len(candidates) {
					candidates, first = c, false
				}
			}
			for _, w := range candidates {
				if !Selects(svc.Spec.Selector, w) {
					continue
				}
				if w.RunsToCompletion() {
					x.completing[svc] = append(x.completing[svc], w)
					continue
				}
				x.selected[svc] = append(x.selected[svc], w)
				x.selecting[w] = append(x.selecting[w], svc)
			}
		}
	})
	return x
}

// SelectedWorkloads returns the long-running workloads in svc's namespace that its selector
// selects: the ones that serve its traffic. Workloads that run to completion (see
// Workload.RunsToCompletion) are left out; SelectedRunToCompletion returns them.
func (s *Snapshot) SelectedWorkloads(svc *Service) []*Workload {
	return s.selectionIndex().selected[svc]
}

// SelectedRunToCompletion returns the workloads in svc's namespace that its selector matches but
// that run to completion (Jobs, CronJobs, Pods that do not restart, Helm hooks).
func (s *Snapshot) SelectedRunToCompletion(svc *Service) []*Workload {
	return s.selectionIndex().completing[svc]
}

// SelectingServices returns the Services (with a selector) that select w; none when w runs to
// completion.
func (s *Snapshot) SelectingServices(w *Workload) []*Service {
	return s.selectionIndex().selecting[w]
}

// WorkloadsIn returns the workloads of namespace ns.
func (s *Snapshot) WorkloadsIn(ns string) []*Workload {
	return s.selectionIndex().byNS[ns]
}

// Index builds the lookup tables. FromManifests and FromCluster call it; code that assembles a
// snapshot by hand (tests) must call it too.
func (s *Snapshot) Index() {
	s.present = map[string]map[string]bool{}
	mark := func(src *Source) {
		k := src.Ref.Kind
		if s.present[k] == nil {
			s.present[k] = map[string]bool{}
		}
		s.present[k][src.Ref.Namespace] = true
	}
	s.services = make(map[string]*Service, len(s.Services))
	for _, v := range s.Services {
		mark(v.Src)
		s.services[v.Namespace+"/"+v.Name] = v
	}
	s.secrets = make(map[string]*Secret, len(s.Secrets))
	for _, v := range s.Secrets {
		mark(v.Src)
		s.secrets[v.Src.Ref.Namespace+"/"+v.Src.Ref.Name] = v
	}
	for _, v := range s.Endpoints {
		mark(v.Src)
	}
	for _, v := range s.EndpointSlices {
		mark(v.Src)
	}
	for _, v := range s.Ingresses {
		mark(v.Src)
	}
	for _, v := range s.IngressClasses {
		mark(v.Src)
	}
	for _, v := range s.NetworkPolicies {
		mark(v.Src)
	}
	for _, v := range s.Workloads {
		mark(v.Src)
		// every workload kind counts as "pods" for selector questions
		if s.present["Pod"] == nil {
			s.present["Pod"] = map[string]bool{}
		}
		s.present["Pod"][v.Src.Ref.Namespace] = true
	}
	for _, v := range s.Other {
		mark(v)
	}
	s.GatewayAPI.index(mark)
	for k, nss := range s.extraPresent {
		if s.present[k] == nil {
			s.present[k] = map[string]bool{}
		}
		for ns := range nss {
			s.present[k][ns] = true
		}
	}
}

// Namespaces lists the namespaces that hold any object, sorted.
func (s *Snapshot) Namespaces() []string {
	set := map[string]bool{}
	for _, m := range s.present {
		for ns := range m {
			if ns != "" {
				set[ns] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}
