package trace

import (
	"context"
	"fmt"
	"sort"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/svc-doctor/svc-doctor/live"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// Reads caches everything a diagnosis reads from the API server. The namespace snapshot
// (live.FromCluster: one paginated LIST per kind) answers most questions; the other reads are
// single LISTs or GETs made only when a hop needs them, never one request per pod. A read that
// fails is remembered with its reason ("forbidden: needs list on events in namespace shop") and
// degrades only the hop that needed it. One Reads can serve many Services of its scope (-A).
type Reads struct {
	// mu makes one Reads safe for the traces of many Services at once (diagnose -A): a read is
	// made once, under the lock, and every trace gets its answer.
	mu sync.Mutex

	Client kubernetes.Interface
	// Scope is the namespace read, or "" for all namespaces.
	Scope string
	// Rules configures the lint rules run on the snapshot.
	Rules rules.Config
	// OneService makes the snapshot serve the diagnosis of one Service (see Focus): the pod LIST
	// carries that Service's selector (server-side).
	OneService bool
	// TLSSecrets makes the snapshot GET the Secrets that Ingress TLS entries name (ingresscheck
	// checks them); the diagnosis of a Service reads no Secret.
	TLSSecrets bool

	podSelector string // the server-side selector of the pod LIST ("" = every pod)
	// one is the Service a OneService Reads diagnoses, once read (Focus): the snapshot holds it and
	// lists only what it needs (its pods and EndpointSlices by label, no Ingress)
	one       *corev1.Service
	nsPods    map[string][]*corev1.Pod
	nsPodsWhy map[string]string

	snap     *snapshot.Snapshot
	snapErr  error
	snapDone bool

	findings     []report.Finding
	findingsDone bool
	// serviceFindings indexes the findings on Services by "namespace/name" (the only ones a
	// trace shows: the full list of a big cluster, one finding per pod, is not kept for it)
	serviceFindings map[string][]report.Finding

	events     map[string]map[string][]corev1.Event // reason/namespace -> ns/pod -> events
	eventsWhy  map[string]string
	workloads  map[string][]Template
	workWhy    map[string]string
	sts        map[string]*Template // ns/name -> one StatefulSet read with a GET
	stsWhy     map[string]string
	nodes      []corev1.Node
	nodesWhy   string
	nodesDone  bool
	nsLabels   map[string]map[string]string
	nsWhy      map[string]string
	endpoints  map[string]*corev1.Endpoints
	endWhy     map[string]string
	matching   map[string][]corev1.Pod
	dnsInfo    *DNSBackend
	dnsInfoWhy string
	previous   map[string]PreviousReplicas // kind/ns/name -> the count before 0
}

// NewReads returns an empty cache for scope (a namespace, or "" for all).
func NewReads(client kubernetes.Interface, scope string) *Reads {
	return &Reads{Client: client, Scope: scope, Rules: rules.DefaultConfig(),
		events: map[string]map[string][]corev1.Event{}, eventsWhy: map[string]string{},
		workloads: map[string][]Template{}, workWhy: map[string]string{},
		sts: map[string]*Template{}, stsWhy: map[string]string{},
		nsLabels: map[string]map[string]string{}, nsWhy: map[string]string{},
		endpoints: map[string]*corev1.Endpoints{}, endWhy: map[string]string{}}
}

func (r *Reads) scopeNS(ns string) string {
	if r.Scope == "" {
		return ""
	}
	return ns
}

// Snapshot is the live snapshot of the scope (nodes are read separately, when needed).
func (r *Reads) Snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshotLocked(ctx)
}

func (r *Reads) snapshotLocked(ctx context.Context) (*snapshot.Snapshot, error) {
	if !r.snapDone {
		r.snapDone = true
		opts := live.ClusterOptions{Namespace: r.Scope, SkipNodes: true, SkipSecrets: !r.TLSSecrets, PodLabelSelector: r.podSelector}
		if r.one != nil {
			opts.Services = []corev1.Service{*r.one}
			opts.EndpointSliceLabelSelector = discoveryv1.LabelServiceName + "=" + r.one.Name
			opts.SkipIngresses = true
		}
		r.snap, r.snapErr = live.FromCluster(ctx, r.Client, opts)
	}
	return r.snap, r.snapErr
}

// Focus narrows the snapshot of a OneService Reads to what the diagnosis of svc needs: svc itself
// (read already: the other Services are not listed), the pods its selector matches and its
// EndpointSlices (server-side label selectors: the cost does not grow with the other objects of
// the namespace), no Ingress. It has no effect once the snapshot was read.
func (r *Reads) Focus(svc *corev1.Service) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.focusLocked(svc)
}

func (r *Reads) focusLocked(svc *corev1.Service) {
	if !r.OneService || r.snapDone || svc.Namespace != r.Scope {
		return
	}
	r.one = svc
	if len(svc.Spec.Selector) > 0 {
		r.podSelector = labels.SelectorFromSet(svc.Spec.Selector).String()
	}
}

// NamespacePods returns the pods of ns that are not finished or helpers' (for near misses): from
// the snapshot when it holds every pod, else one paginated LIST (only a failing selector needs it).
func (r *Reads) NamespacePods(ctx context.Context, ns string) ([]*corev1.Pod, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.namespacePodsLocked(ctx, ns)
}

func (r *Reads) namespacePodsLocked(ctx context.Context, ns string) ([]*corev1.Pod, string) {
	if r.podSelector == "" {
		snap, err := r.snapshotLocked(ctx)
		if err != nil {
			return nil, err.Error()
		}
		if why, missing := snap.Unavailable["Pod"]; missing {
			return nil, why.Detail
		}
		var out []*corev1.Pod
		for _, w := range snap.WorkloadsIn(ns) {
			if w.Pod != nil {
				out = append(out, w.Pod)
			}
		}
		return out, ""
	}
	if r.nsPods == nil {
		r.nsPods, r.nsPodsWhy = map[string][]*corev1.Pod{}, map[string]string{}
	}
	if _, ok := r.nsPods[ns]; !ok {
		if why, failed := r.nsPodsWhy[ns]; failed {
			return nil, why
		}
		pods, err := live.ListAll(ctx, 500, func(ctx context.Context, lo metav1.ListOptions) ([]corev1.Pod, string, error) {
			l, err := r.Client.CoreV1().Pods(ns).List(ctx, lo)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		})
		if err != nil {
			r.nsPodsWhy[ns] = live.DescribeAPIError(err, "list", "pods", ns)
			return nil, r.nsPodsWhy[ns]
		}
		out := make([]*corev1.Pod, 0, len(pods))
		for i := range pods {
			out = append(out, &pods[i])
		}
		r.nsPods[ns] = out
	}
	return r.nsPods[ns], ""
}

// Service GETs one Service (the first read of a diagnosis: it also tells whether the cluster
// answers at all).
func (r *Reads) Service(ctx context.Context, ns, name string) (*corev1.Service, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.serviceLocked(ctx, ns, name)
}

func (r *Reads) serviceLocked(ctx context.Context, ns, name string) (*corev1.Service, error) {
	if r.snapDone && r.snapErr == nil {
		if _, missing := r.snap.Unavailable["Service"]; !missing {
			if s := r.snap.Service(ns, name); s != nil {
				return s.Service, nil
			}
			if r.Scope == "" || r.Scope == ns {
				return nil, apierrors.NewNotFound(corev1.Resource("services"), name)
			}
		}
	}
	return r.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
}

// ServicesNamed lists the Services called name in every namespace (one LIST with a field
// selector).
func (r *Reads) ServicesNamed(ctx context.Context, name string) ([]corev1.Service, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.servicesNamedLocked(ctx, name)
}

func (r *Reads) servicesNamedLocked(ctx context.Context, name string) ([]corev1.Service, string) {
	l, err := r.Client.CoreV1().Services("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
	if err != nil {
		return nil, live.DescribeAPIError(err, "list", "services", "")
	}
	var out []corev1.Service
	for _, s := range l.Items {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out, ""
}

// PodsMatching lists, across all namespaces, the pods a selector matches (one LIST with a
// server-side label selector; answered from the snapshot when the scope is every namespace).
func (r *Reads) PodsMatching(ctx context.Context, sel labels.Selector) ([]corev1.Pod, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.podsMatchingLocked(ctx, sel)
}

func (r *Reads) podsMatchingLocked(ctx context.Context, sel labels.Selector) ([]corev1.Pod, string) {
	if r.Scope == "" {
		snap, err := r.snapshotLocked(ctx)
		if err == nil {
			if why, missing := snap.Unavailable["Pod"]; missing {
				return nil, why.Detail
			}
			var out []corev1.Pod
			for _, w := range snap.Workloads {
				if w.Pod != nil && sel.Matches(labels.Set(w.Pod.Labels)) {
					out = append(out, *w.Pod)
				}
			}
			return out, ""
		}
	}
	if pods, ok := r.matching[sel.String()]; ok {
		return pods, ""
	}
	l, err := r.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, live.DescribeAPIError(err, "list", "pods", "")
	}
	if r.matching == nil {
		r.matching = map[string][]corev1.Pod{}
	}
	r.matching[sel.String()] = l.Items
	return l.Items, ""
}

// Template is the pod template of a Deployment or StatefulSet, for "scaled to 0" and "cannot
// create pods" hints.
type Template struct {
	Kind, Namespace, Name string
	Labels                map[string]string
	Replicas              int32
	// Failure is the ReplicaFailure condition message of a Deployment, if any.
	Failure string
	Spec    *corev1.PodSpec
	// Deployment and StatefulSet are the object itself (one of them is set).
	Deployment  *appsv1.Deployment
	StatefulSet *appsv1.StatefulSet
}

// Templates lists the Deployments and StatefulSets of ns (one LIST each): read when a selector
// matches no pod, or when a pod of a StatefulSet is not ready.
func (r *Reads) Templates(ctx context.Context, ns string) ([]Template, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.templatesLocked(ctx, ns)
}

func (r *Reads) templatesLocked(ctx context.Context, ns string) ([]Template, string) {
	key := r.scopeNS(ns)
	if _, ok := r.workloads[key]; !ok {
		if _, failed := r.workWhy[key]; !failed {
			r.loadTemplates(ctx, key)
		}
	}
	var out []Template
	for _, t := range r.workloads[key] {
		if t.Namespace == ns {
			out = append(out, t)
		}
	}
	return out, r.workWhy[key]
}

func (r *Reads) loadTemplates(ctx context.Context, ns string) {
	var out []Template
	deps, err := r.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		r.workWhy[ns] = live.DescribeAPIError(err, "list", "deployments", ns)
	} else {
		for i := range deps.Items {
			d := &deps.Items[i]
			t := Template{Kind: "deployment", Namespace: d.Namespace, Name: d.Name, Labels: d.Spec.Template.Labels, Replicas: replicas(d.Spec.Replicas), Spec: &d.Spec.Template.Spec, Deployment: d}
			for _, c := range d.Status.Conditions {
				if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
					t.Failure = c.Reason + ": " + c.Message
				}
			}
			out = append(out, t)
		}
	}
	sts, err := r.Client.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		if r.workWhy[ns] == "" {
			r.workWhy[ns] = live.DescribeAPIError(err, "list", "statefulsets", ns)
		}
	} else {
		for i := range sts.Items {
			s := &sts.Items[i]
			out = append(out, Template{Kind: "statefulset", Namespace: s.Namespace, Name: s.Name, Labels: s.Spec.Template.Labels, Replicas: replicas(s.Spec.Replicas), Spec: &s.Spec.Template.Spec, StatefulSet: s})
		}
	}
	r.workloads[ns] = out
}

// StatefulSet returns the template of one StatefulSet: from the namespace's workloads when they
// were read already, else one GET (cached). It returns nil and why when it cannot be read.
func (r *Reads) StatefulSet(ctx context.Context, ns, name string) (*Template, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.workloads[r.scopeNS(ns)]; ok {
		for _, t := range r.workloads[r.scopeNS(ns)] {
			if t.StatefulSet != nil && t.Namespace == ns && t.Name == name {
				return &t, ""
			}
		}
	}
	key := ns + "/" + name
	if t, ok := r.sts[key]; ok {
		return t, ""
	}
	if why, failed := r.stsWhy[key]; failed {
		return nil, why
	}
	s, err := r.Client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		r.stsWhy[key] = live.DescribeAPIError(err, "get", "statefulsets", ns)
		return nil, r.stsWhy[key]
	}
	t := &Template{Kind: "statefulset", Namespace: s.Namespace, Name: s.Name, Labels: s.Spec.Template.Labels, Replicas: replicas(s.Spec.Replicas), Spec: &s.Spec.Template.Spec, StatefulSet: s}
	r.sts[key] = t
	return t, ""
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// UnhealthyEvents returns the Unhealthy events (probe failures) of the pods of ns, newest last,
// keyed by pod name: one LIST of events with a field selector, for all pods at once.
func (r *Reads) UnhealthyEvents(ctx context.Context, ns string) (map[string][]corev1.Event, string) {
	return r.PodEvents(ctx, ns, "Unhealthy")
}

// KillingEvents returns the Killing events of the pods of ns (the kubelet stopping a container,
// "Container web failed liveness probe, will be restarted"), newest last, keyed by pod name: one
// LIST of events with a field selector, for all pods at once. The diagnosis reads them only when a
// pod restarts.
func (r *Reads) KillingEvents(ctx context.Context, ns string) (map[string][]corev1.Event, string) {
	return r.PodEvents(ctx, ns, "Killing")
}

// PodEvents returns the events of one reason about the pods of ns, newest last, keyed by pod name:
// one LIST of events with a field selector (reason and involvedObject.kind) per reason and
// namespace (or one for every namespace, when the scope is all of them), never one per pod.
func (r *Reads) PodEvents(ctx context.Context, ns, reason string) (map[string][]corev1.Event, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.podEventsLocked(ctx, ns, reason)
}

func (r *Reads) podEventsLocked(ctx context.Context, ns, reason string) (map[string][]corev1.Event, string) {
	key := reason + "/" + r.scopeNS(ns)
	if _, ok := r.events[key]; !ok {
		if why, failed := r.eventsWhy[key]; failed {
			return nil, why
		}
		l, err := r.Client.CoreV1().Events(r.scopeNS(ns)).List(ctx, metav1.ListOptions{
			FieldSelector: fields.Set{"reason": reason, "involvedObject.kind": "Pod"}.AsSelector().String()})
		if err != nil {
			r.eventsWhy[key] = live.DescribeAPIError(err, "list", "events", r.scopeNS(ns))
			return nil, r.eventsWhy[key]
		}
		m := map[string][]corev1.Event{}
		for _, e := range l.Items {
			if e.Reason != reason || e.InvolvedObject.Kind != "Pod" {
				continue
			}
			k := e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name
			m[k] = append(m[k], e)
		}
		for k := range m {
			evs := m[k]
			sort.SliceStable(evs, func(i, j int) bool { return semantics.EventTime(evs[i]).Before(semantics.EventTime(evs[j])) })
		}
		r.events[key] = m
	}
	out := map[string][]corev1.Event{}
	for _, evs := range r.events[key] {
		if len(evs) > 0 && evs[0].InvolvedObject.Namespace == ns {
			out[evs[0].InvolvedObject.Name] = evs
		}
	}
	return out, ""
}

// Endpoints GETs the v1 Endpoints object of a selector-less Service (nil when there is none).
func (r *Reads) Endpoints(ctx context.Context, ns, name string) (*corev1.Endpoints, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.endpointsLocked(ctx, ns, name)
}

func (r *Reads) endpointsLocked(ctx context.Context, ns, name string) (*corev1.Endpoints, string) {
	key := ns + "/" + name
	if why, ok := r.endWhy[key]; ok {
		return r.endpoints[key], why
	}
	ep, err := r.Client.CoreV1().Endpoints(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		r.endWhy[key] = ""
	case err != nil:
		r.endWhy[key] = live.DescribeAPIError(err, "get", "endpoints", ns)
	default:
		r.endpoints[key], r.endWhy[key] = ep, ""
	}
	return r.endpoints[key], r.endWhy[key]
}

// Nodes lists the nodes (one LIST, for node ports), sorted by name once: the list is shared by
// concurrent traces, which read it and never reorder or change it.
func (r *Reads) Nodes(ctx context.Context) ([]corev1.Node, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nodesLocked(ctx)
}

func (r *Reads) nodesLocked(ctx context.Context) ([]corev1.Node, string) {
	if !r.nodesDone {
		r.nodesDone = true
		l, err := r.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			r.nodesWhy = live.DescribeAPIError(err, "list", "nodes", "")
		} else {
			r.nodes = l.Items
			sort.Slice(r.nodes, func(i, j int) bool { return r.nodes[i].Name < r.nodes[j].Name })
		}
	}
	return r.nodes, r.nodesWhy
}

// NamespaceLabels GETs a namespace's labels (for NetworkPolicy namespaceSelectors). When it
// cannot be read, the labels the API server always sets are returned with the reason.
func (r *Reads) NamespaceLabels(ctx context.Context, ns string) (map[string]string, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.namespaceLabelsLocked(ctx, ns)
}

func (r *Reads) namespaceLabelsLocked(ctx context.Context, ns string) (map[string]string, string) {
	if l, ok := r.nsLabels[ns]; ok {
		return l, r.nsWhy[ns]
	}
	n, err := r.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		r.nsLabels[ns] = map[string]string{corev1.LabelMetadataName: ns}
		r.nsWhy[ns] = live.DescribeAPIError(err, "get", "namespaces", "")
	} else {
		l := map[string]string{corev1.LabelMetadataName: ns}
		for k, v := range n.Labels {
			l[k] = v
		}
		r.nsLabels[ns] = l
	}
	return r.nsLabels[ns], r.nsWhy[ns]
}

// DNSBackend is the state of the cluster DNS Service, read when DNS fails.
type DNSBackend struct {
	// ReadyEndpoints counts the ready endpoints of kube-system/kube-dns.
	ReadyEndpoints, Endpoints int
	// Slices is false when kube-system/kube-dns has no EndpointSlice at all.
	Slices bool
	// Deployment describes kube-system/coredns ("" when it does not exist or cannot be read).
	Deployment string
	// Replicas is its spec.replicas (-1 when unknown).
	Replicas int32
	// CoreDNS is the kube-system/coredns Deployment (nil when it cannot be read).
	CoreDNS *appsv1.Deployment
}

// ClusterDNS reads the cluster DNS Service's EndpointSlices and the coredns Deployment in
// kube-system (one LIST and one GET, only when a DNS check failed).
func (r *Reads) ClusterDNS(ctx context.Context) (*DNSBackend, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clusterDNSLocked(ctx)
}

func (r *Reads) clusterDNSLocked(ctx context.Context) (*DNSBackend, string) {
	if r.dnsInfo != nil || r.dnsInfoWhy != "" {
		return r.dnsInfo, r.dnsInfoWhy
	}
	l, err := r.Client.DiscoveryV1().EndpointSlices(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=kube-dns"})
	if err != nil {
		r.dnsInfoWhy = live.DescribeAPIError(err, "list", "endpointslices", metav1.NamespaceSystem)
		return nil, r.dnsInfoWhy
	}
	info := &DNSBackend{Replicas: -1, Slices: len(l.Items) > 0}
	for _, s := range l.Items {
		for _, e := range s.Endpoints {
			info.Endpoints++
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				info.ReadyEndpoints++
			}
		}
	}
	if d, err := r.Client.AppsV1().Deployments(metav1.NamespaceSystem).Get(ctx, "coredns", metav1.GetOptions{}); err == nil {
		info.Replicas, info.CoreDNS = replicas(d.Spec.Replicas), d
		info.Deployment = fmt.Sprintf("deployment kube-system/coredns: %d/%d replicas ready", d.Status.ReadyReplicas, info.Replicas)
	}
	r.dnsInfo = info
	return info, ""
}
