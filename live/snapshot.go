// Package live reads a running cluster for the layers above it: the live snapshot (one paginated
// LIST per kind, snapshot.Snapshot like the one built from manifests), and the sentences that say
// what an API error means for the user (the permission missing, the server that did not answer).
// It is the layer between client-go and the read-only snapshot: snapshot and rules never import
// client-go.
package live

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/svc-doctor/svc-doctor/snapshot"
)

// ClusterOptions scopes a live snapshot.
type ClusterOptions struct {
	// Namespace to read; "" reads all namespaces.
	Namespace string
	// PageSize bounds each LIST page (default 500).
	PageSize int64
	// MaxTLSSecrets bounds how many Secrets referenced by Ingress TLS entries are fetched (GET
	// each; default 50). Only those Secrets are read, never all Secrets.
	MaxTLSSecrets int
	// SkipNodes skips the cluster-scoped node LIST (lint does not need it).
	SkipNodes bool
	// SkipSecrets reads no Secret at all (the TLS rules then treat them as unknown): a diagnosis of
	// one Service needs none, and reading other workloads' private keys is not its business.
	SkipSecrets bool
	// PodLabelSelector, when set, is sent with the pod LIST (a server-side label selector): only
	// the pods it matches are read. Rules about other objects' pods then see a partial picture,
	// so only findings about the objects that selector stands for are meaningful.
	PodLabelSelector string
	// Gateway, when set, also reads the Gateway API objects of the scope (ReadGatewayAPI) with
	// this client; without it they are marked not requested.
	Gateway gatewayclient.Interface
	// EndpointSliceLabelSelector, when set, narrows the EndpointSlice LIST the same way (e.g.
	// kubernetes.io/service-name=web).
	EndpointSliceLabelSelector string
	// Services, when not nil, are the Services already read (the diagnosis of one Service GETs
	// it first): they are not listed, and the other Services of the scope are marked not read.
	Services []corev1.Service
	// SkipIngresses reads no Ingress and no IngressClass (marked not read).
	SkipIngresses bool
}

// FromCluster reads a snapshot from a cluster with one paginated LIST per kind (Services,
// EndpointSlices, Pods, Ingresses, NetworkPolicies in the namespace; IngressClasses and Nodes
// cluster-wide) plus one GET per Secret referenced by an Ingress TLS entry. A kind that cannot be
// read (forbidden, timeout, not served) is recorded in Unavailable with the reason, and the rest
// of the snapshot is still built: rules that need that kind treat it as unknown. The error is
// non-nil only when nothing at all could be read.
func FromCluster(ctx context.Context, cs kubernetes.Interface, opts ClusterOptions) (*snapshot.Snapshot, error) {
	if opts.PageSize == 0 {
		opts.PageSize = 500
	}
	if opts.MaxTLSSecrets == 0 {
		opts.MaxTLSSecrets = 50
	}
	ns := opts.Namespace
	s := &snapshot.Snapshot{Live: true, DefaultNamespace: ns, Unavailable: map[string]snapshot.Unread{}}
	fail := func(kind, scope string, err error) {
		s.Unavailable[kind] = UnreadOf(err, "list", resourceNames[kind], scope)
	}
	where := ns
	if where == "" {
		where = "all namespaces"
	}

	readServices(ctx, cs, s, opts, where, fail)
	readEndpointSlices(ctx, cs, s, opts, where, fail)
	readPods(ctx, cs, s, opts, where, fail)

	if opts.SkipIngresses {
		s.Unavailable["Ingress"] = snapshot.NotRead("not needed")
		s.Unavailable["IngressClass"] = snapshot.NotRead("not needed")
	} else {
		readIngresses(ctx, cs, s, ns, where, opts.PageSize, fail)
	}

	readNetworkPolicies(ctx, cs, s, opts, where, fail)
	readNodes(ctx, cs, s, opts, fail)

	if opts.SkipSecrets {
		s.Unavailable["Secret"] = snapshot.NotRead("not needed")
	} else {
		readTLSSecrets(ctx, s, cs, opts.MaxTLSSecrets)
	}
	// core/v1 Endpoints are not listed (deprecated since 1.33): manual Endpoints are mirrored into
	// EndpointSlices, which the rules read.
	s.Unavailable["Endpoints"] = snapshot.NotRead("deprecated API; the EndpointSlices mirrored from it are checked")
	if len(s.Degraded()) >= 6 && len(s.Services) == 0 && len(s.Workloads) == 0 {
		return nil, fmt.Errorf("could not read anything from the cluster: %s", s.Unavailable["Service"].Detail)
	}
	s.Index()
	if opts.Gateway == nil {
		NotRequestedGateway(s.Unavailable, "no Gateway API client")
		return s, nil
	}
	gw := ReadGatewayAPI(ctx, opts.Gateway, cs, GatewayOptions{Namespace: ns, PageSize: opts.PageSize,
		SkipSecrets: opts.SkipSecrets, HaveSecret: func(ns, name string) bool { return s.Secret(ns, name) != nil }})
	return snapshot.Merge(s, gw.Unread, gw.Part), nil
}

// readServices lists the Services of the scope, unless opts.Services holds them already.
func readServices(ctx context.Context, cs kubernetes.Interface, s *snapshot.Snapshot, opts ClusterOptions, where string, fail func(kind, scope string, err error)) {
	svcs := opts.Services
	if svcs == nil {
		listed, err := ListAllPtr(ctx, opts.PageSize, func(ctx context.Context, lo metav1.ListOptions) ([]corev1.Service, string, error) {
			l, err := cs.CoreV1().Services(opts.Namespace).List(ctx, lo)
			if err != nil {
				return nil, "", err
			}
			for i := range l.Items {
				l.Items[i].ManagedFields = nil
			}
			return l.Items, l.Continue, nil
		})
		if err != nil {
			fail("Service", where, err)
		}
		for _, v := range listed {
			s.Services = append(s.Services, &snapshot.Service{Service: v, Src: snapshot.LiveSource("v1", "Service", &v.ObjectMeta)})
		}
	} else {
		s.Unavailable["Service"] = snapshot.NotRead("only the Service diagnosed")
		for i := range svcs {
			v := &svcs[i]
			s.Services = append(s.Services, &snapshot.Service{Service: v, Src: snapshot.LiveSource("v1", "Service", &v.ObjectMeta)})
		}
	}
}

// readEndpointSlices lists the EndpointSlices of the scope (opts.EndpointSliceLabelSelector).
func readEndpointSlices(ctx context.Context, cs kubernetes.Interface, s *snapshot.Snapshot, opts ClusterOptions, where string, fail func(kind, scope string, err error)) {
	slices, err := ListAllPtr(ctx, opts.PageSize, func(ctx context.Context, lo metav1.ListOptions) ([]discoveryv1.EndpointSlice, string, error) {
		lo.LabelSelector = opts.EndpointSliceLabelSelector
		l, err := cs.DiscoveryV1().EndpointSlices(opts.Namespace).List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		for i := range l.Items {
			l.Items[i].ManagedFields = nil
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		fail("EndpointSlice", where, err)
	}
	for _, v := range slices {
		s.EndpointSlices = append(s.EndpointSlices, &snapshot.EndpointSlice{EndpointSlice: v, Src: snapshot.LiveSource("discovery.k8s.io/v1", "EndpointSlice", &v.ObjectMeta)})
	}
}

// readPods lists the Pods of the scope (opts.PodLabelSelector) as workloads.
func readPods(ctx context.Context, cs kubernetes.Interface, s *snapshot.Snapshot, opts ClusterOptions, where string, fail func(kind, scope string, err error)) {
	pods, err := ListAllPtr(ctx, opts.PageSize, func(ctx context.Context, lo metav1.ListOptions) ([]corev1.Pod, string, error) {
		lo.LabelSelector = opts.PodLabelSelector
		l, err := cs.CoreV1().Pods(opts.Namespace).List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		for i := range l.Items {
			trimPod(&l.Items[i])
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		fail("Pod", where, err)
	}
	for _, p := range pods {
		s.Workloads = append(s.Workloads, snapshot.PodWorkload(p))
	}
}

// readNetworkPolicies lists the NetworkPolicies of the scope.
func readNetworkPolicies(ctx context.Context, cs kubernetes.Interface, s *snapshot.Snapshot, opts ClusterOptions, where string, fail func(kind, scope string, err error)) {
	pols, err := ListAll(ctx, opts.PageSize, func(ctx context.Context, lo metav1.ListOptions) ([]networkingv1.NetworkPolicy, string, error) {
		l, err := cs.NetworkingV1().NetworkPolicies(opts.Namespace).List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		fail("NetworkPolicy", where, err)
	}
	for i := range pols {
		v := &pols[i]
		s.NetworkPolicies = append(s.NetworkPolicies, &snapshot.NetworkPolicy{NetworkPolicy: v, Src: snapshot.LiveSource("networking.k8s.io/v1", "NetworkPolicy", &v.ObjectMeta)})
	}
}

// readNodes lists the Nodes, unless opts.SkipNodes.
func readNodes(ctx context.Context, cs kubernetes.Interface, s *snapshot.Snapshot, opts ClusterOptions, fail func(kind, scope string, err error)) {
	if !opts.SkipNodes {
		nodes, err := ListAll(ctx, opts.PageSize, func(ctx context.Context, lo metav1.ListOptions) ([]corev1.Node, string, error) {
			l, err := cs.CoreV1().Nodes().List(ctx, lo)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		})
		if err != nil {
			fail("Node", "the cluster", err)
		}
		for i := range nodes {
			v := &nodes[i]
			s.Nodes = append(s.Nodes, &snapshot.Node{Node: v, Src: snapshot.LiveSource("v1", "Node", &v.ObjectMeta)})
		}
	} else {
		s.Unavailable["Node"] = snapshot.NotRead("not needed")
	}
}

// readIngresses lists the Ingresses of the scope and the IngressClasses.
func readIngresses(ctx context.Context, cs kubernetes.Interface, s *snapshot.Snapshot, ns, where string, pageSize int64, fail func(kind, scope string, err error)) {
	ings, err := ListAll(ctx, pageSize, func(ctx context.Context, lo metav1.ListOptions) ([]networkingv1.Ingress, string, error) {
		l, err := cs.NetworkingV1().Ingresses(ns).List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		fail("Ingress", where, err)
	}
	for i := range ings {
		v := &ings[i]
		s.Ingresses = append(s.Ingresses, &snapshot.Ingress{Ingress: v, Src: snapshot.LiveSource("networking.k8s.io/v1", "Ingress", &v.ObjectMeta)})
	}

	classes, err := ListAll(ctx, pageSize, func(ctx context.Context, lo metav1.ListOptions) ([]networkingv1.IngressClass, string, error) {
		l, err := cs.NetworkingV1().IngressClasses().List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		fail("IngressClass", "the cluster", err)
	}
	for i := range classes {
		v := &classes[i]
		s.IngressClasses = append(s.IngressClasses, &snapshot.IngressClass{IngressClass: v, Src: snapshot.LiveSource("networking.k8s.io/v1", "IngressClass", &v.ObjectMeta)})
	}

}

// resourceNames are the API resources of the kinds a live snapshot lists (for RBAC messages).
var resourceNames = map[string]string{
	"Service": "services", "EndpointSlice": "endpointslices", "Pod": "pods", "Ingress": "ingresses",
	"IngressClass": "ingressclasses", "NetworkPolicy": "networkpolicies", "Node": "nodes",
}

// readTLSSecrets GETs the Secrets that Ingress TLS entries name, and nothing else.
func readTLSSecrets(ctx context.Context, s *snapshot.Snapshot, cs kubernetes.Interface, max int) {
	type key struct{ ns, name string }
	seen := map[key]bool{}
	var keys []key
	for _, ing := range s.Ingresses {
		for _, t := range ing.Spec.TLS {
			k := key{ing.Namespace, t.SecretName}
			if t.SecretName != "" && !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ns+"/"+keys[i].name < keys[j].ns+"/"+keys[j].name })
	if len(keys) > max {
		keys = keys[:max]
	}
	for _, k := range keys {
		sec, err := cs.CoreV1().Secrets(k.ns).Get(ctx, k.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			continue // absent: the rules say so
		case err != nil:
			s.Unavailable["Secret"] = UnreadOf(err, "get", "secrets", k.ns)
			continue
		}
		out := &snapshot.Secret{Src: snapshot.LiveSource("v1", "Secret", &sec.ObjectMeta), Type: sec.Type, Data: map[string][]byte{}}
		for name, v := range sec.Data {
			out.Data[name] = v
		}
		s.Secrets = append(s.Secrets, out)
	}
	// Secrets were only fetched by name: "not found" is authoritative for those names
	if _, failed := s.Unavailable["Secret"]; !failed && len(keys) == 0 {
		s.Unavailable["Secret"] = snapshot.NotRead("no Ingress TLS entry names one")
	}
}

// trimPod drops what no rule or hop reads of a listed pod and is large across 50,000 of them:
// managedFields, the volumes (every pod has at least the projected service-account token volume),
// the scheduling constraints (tolerations: every pod has two; affinity, node selector, spread
// constraints), the security contexts, image pull secrets, DNS config and host aliases, and of the
// containers their volume mounts, security contexts and resources but the memory limit (which
// explains an OOMKilled restart).
func trimPod(p *corev1.Pod) {
	p.ManagedFields = nil
	s := &p.Spec
	s.Volumes, s.Tolerations, s.Affinity, s.NodeSelector, s.TopologySpreadConstraints = nil, nil, nil, nil, nil
	s.SecurityContext, s.ImagePullSecrets, s.DNSConfig, s.HostAliases = nil, nil, nil, nil
	for _, cs := range [][]corev1.Container{s.InitContainers, s.Containers} {
		for i := range cs {
			cs[i].VolumeMounts, cs[i].SecurityContext = nil, nil
			r := corev1.ResourceRequirements{}
			if q, ok := cs[i].Resources.Limits[corev1.ResourceMemory]; ok {
				r.Limits = corev1.ResourceList{corev1.ResourceMemory: q}
			}
			cs[i].Resources = r
		}
	}
}

// ListAllPtr is ListAll returning pointers into each page's items: the pages are kept as they
// were decoded, never copied into one growing slice (the 50,000 pods of a big cluster would be
// copied over and over). FromCluster's lists also drop managedFields: nothing reads them, and they
// are often the larger part of an object's metadata.
func ListAllPtr[T any](ctx context.Context, pageSize int64, list func(context.Context, metav1.ListOptions) ([]T, string, error)) ([]*T, error) {
	var out []*T
	lo := metav1.ListOptions{Limit: pageSize}
	for {
		items, cont, err := list(ctx, lo)
		if err != nil {
			return out, err
		}
		for i := range items {
			out = append(out, &items[i])
		}
		if cont == "" {
			return out, nil
		}
		lo.Continue = cont
	}
}

// ListAll pages through a LIST, pageSize items at a time: list receives the options of each page
// and returns its items and continue token.
func ListAll[T any](ctx context.Context, pageSize int64, list func(context.Context, metav1.ListOptions) ([]T, string, error)) ([]T, error) {
	var out []T
	lo := metav1.ListOptions{Limit: pageSize}
	for {
		items, cont, err := list(ctx, lo)
		if err != nil {
			return out, err
		}
		out = append(out, items...)
		if cont == "" {
			return out, nil
		}
		lo.Continue = cont
	}
}
