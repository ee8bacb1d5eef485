package live

// The Gateway API reads of a live snapshot.

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/svc-doctor/svc-doctor/snapshot"
)

// GatewayKinds are the Gateway API kinds a live snapshot reads, as the snapshot's Unavailable
// marks name them.
var GatewayKinds = []string{"GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant"}

// gatewayResources are the API resources of GatewayKinds (for messages and RBAC).
var gatewayResources = map[string]string{
	"GatewayClass": "gatewayclasses", "Gateway": "gateways", "HTTPRoute": "httproutes",
	"GRPCRoute": "grpcroutes", "ReferenceGrant": "referencegrants",
}

// GatewayOptions scope ReadGatewayAPI.
type GatewayOptions struct {
	// Namespace whose Gateways, routes and ReferenceGrants are listed; "" lists every namespace.
	Namespace string
	// PageSize bounds each LIST page (default 500).
	PageSize int64
	// MaxRefs bounds the reads of objects of other namespaces that objects in Namespace refer to
	// (default 30); references beyond it stay unknown.
	MaxRefs int
	// MaxSecrets bounds the certificate Secrets read, one GET each (default 50).
	MaxSecrets int
	// SkipSecrets reads no Secret (the certificate checks then say they could not tell).
	SkipSecrets bool
	// HaveSecret reports the Secrets (namespace, name) the caller has read already (nil: none).
	HaveSecret func(ns, name string) bool
}

// NotRequestedGateway marks the Gateway API kinds of a snapshot that did not read them.
func NotRequestedGateway(marks map[string]snapshot.Unread, why string) {
	for _, k := range GatewayKinds {
		marks[k] = snapshot.NotRead(why)
	}
}

// ReadGatewayAPI reads the Gateway API objects of a cluster: the GatewayClasses (cluster-wide),
// the Gateways, HTTPRoutes, GRPCRoutes and ReferenceGrants of the namespace (or of every
// namespace), the Namespaces when a listener selects route namespaces by label, the Secrets that
// listener certificateRefs name (one GET each, never a LIST of Secrets), and, when one namespace
// is read, the objects of other namespaces its objects refer to (snapshot.GatewayRefs): a parent
// Gateway or a backend Service is read by name, the ReferenceGrants of a namespace a reference
// goes to by one LIST there. Each kind is read at v1, else at v1beta1 where the CRDs of older
// releases serve only that (ReferenceGrant before Gateway API v1.5). A cluster without the
// Gateway API CRDs costs two requests and is not an error: no Gateway API object exists there, so
// the kinds are known, and empty.
func ReadGatewayAPI(ctx context.Context, gw gatewayclient.Interface, kube kubernetes.Interface, opts GatewayOptions) GatewayRead {
	if opts.PageSize == 0 {
		opts.PageSize = 500
	}
	if opts.MaxRefs == 0 {
		opts.MaxRefs = 30
	}
	if opts.MaxSecrets == 0 {
		opts.MaxSecrets = 50
	}
	r := &gatewayReader{gw: gw, kube: kube, opts: opts, part: &snapshot.Snapshot{Live: true}, marks: map[string]snapshot.Unread{},
		refs: &snapshot.GatewayRefs{Scope: opts.Namespace, Read: map[string]map[string]bool{}}, versions: map[string]string{}}
	if !r.classes(ctx) {
		r.part.Index()
		return GatewayRead{Part: r.part, Unread: r.marks, NotInstalled: true}
	}
	r.namespaced(ctx)
	if opts.Namespace != "" {
		r.references(ctx)
	}
	r.namespaces(ctx)
	if !opts.SkipSecrets {
		r.certificateSecrets(ctx)
	}
	r.part.GatewayAPI.Refs = r.refs
	r.part.Index()
	return GatewayRead{Part: r.part, Unread: r.marks}
}

// GatewayRead is what ReadGatewayAPI read.
type GatewayRead struct {
	// Part holds the objects read, to merge into a snapshot (snapshot.Merge).
	Part *snapshot.Snapshot
	// Unread marks the kinds that could not be read, with why.
	Unread map[string]snapshot.Unread
	// NotInstalled is set when the cluster serves no Gateway API at all.
	NotInstalled bool
}

type gatewayReader struct {
	gw    gatewayclient.Interface
	kube  kubernetes.Interface
	opts  GatewayOptions
	part  *snapshot.Snapshot
	marks map[string]snapshot.Unread
	refs  *snapshot.GatewayRefs
	// versions is the version each kind was read at (v1 or v1beta1).
	versions map[string]string
	// refReads counts the reads of referenced objects (bounded by MaxRefs).
	refReads int
}

func (r *gatewayReader) where() string {
	if r.opts.Namespace == "" {
		return "all namespaces"
	}
	return r.opts.Namespace
}

func (r *gatewayReader) fail(kind, scope string, err error) {
	r.marks[kind] = UnreadOf(err, "list", gatewayResources[kind]+"."+snapshot.GatewayGroup, scope)
}

func (r *gatewayReader) source(kind string, m *metav1.ObjectMeta) *snapshot.Source {
	return snapshot.LiveSource(snapshot.GatewayGroup+"/"+r.versions[kind], kind, m)
}

// classes lists the GatewayClasses; false when the Gateway API is not served at all.
func (r *gatewayReader) classes(ctx context.Context) bool {
	items, version, err := listVersions(ctx, r.opts.PageSize,
		func(ctx context.Context, lo metav1.ListOptions) ([]gwv1.GatewayClass, string, error) {
			l, err := r.gw.GatewayV1().GatewayClasses().List(ctx, lo)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		},
		func(ctx context.Context, lo metav1.ListOptions) ([]gwv1.GatewayClass, string, error) {
			l, err := r.gw.GatewayV1beta1().GatewayClasses().List(ctx, lo)
			if err != nil {
				return nil, "", err
			}
			out := make([]gwv1.GatewayClass, len(l.Items))
			for i := range l.Items {
				out[i] = gwv1.GatewayClass(l.Items[i])
			}
			return out, l.Continue, nil
		})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		r.fail("GatewayClass", "the cluster", err)
	}
	r.versions["GatewayClass"] = version
	for i := range items {
		v := &items[i]
		r.part.GatewayClasses = append(r.part.GatewayClasses, &snapshot.GatewayClass{GatewayClass: v, Src: r.source("GatewayClass", &v.ObjectMeta)})
	}
	return true
}

// listVersions lists at v1, and at v1beta1 when v1 is not served (nil v1beta1: v1 only).
func listVersions[T any](ctx context.Context, pageSize int64, v1, v1beta1 func(context.Context, metav1.ListOptions) ([]T, string, error)) ([]T, string, error) {
	items, err := ListAll(ctx, pageSize, v1)
	if apierrors.IsNotFound(err) && v1beta1 != nil {
		items, err = ListAll(ctx, pageSize, v1beta1)
		return items, "v1beta1", err
	}
	return items, "v1", err
}

// namespaced lists the Gateways, HTTPRoutes, GRPCRoutes and ReferenceGrants of the scope.
func (r *gatewayReader) namespaced(ctx context.Context) {
	ns, size := r.opts.Namespace, r.opts.PageSize
	gws, v, err := listVersions(ctx, size, r.gatewayList(ns, "v1"), r.gatewayList(ns, "v1beta1"))
	r.versions["Gateway"] = v
	if err != nil {
		r.fail("Gateway", r.where(), err)
	}
	for i := range gws {
		g := &gws[i]
		r.part.Gateways = append(r.part.Gateways, &snapshot.Gateway{Gateway: g, Src: r.source("Gateway", &g.ObjectMeta)})
	}
	routes, v, err := listVersions(ctx, size,
		func(ctx context.Context, lo metav1.ListOptions) ([]gwv1.HTTPRoute, string, error) {
			l, err := r.gw.GatewayV1().HTTPRoutes(ns).List(ctx, lo)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		},
		func(ctx context.Context, lo metav1.ListOptions) ([]gwv1.HTTPRoute, string, error) {
			l, err := r.gw.GatewayV1beta1().HTTPRoutes(ns).List(ctx, lo)
			if err != nil {
				return nil, "", err
			}
			out := make([]gwv1.HTTPRoute, len(l.Items))
			for i := range l.Items {
				out[i] = gwv1.HTTPRoute(l.Items[i])
			}
			return out, l.Continue, nil
		})
	r.versions["HTTPRoute"] = v
	if err != nil {
		r.fail("HTTPRoute", r.where(), err)
	}
	for i := range routes {
		h := &routes[i]
		r.part.HTTPRoutes = append(r.part.HTTPRoutes, &snapshot.HTTPRoute{HTTPRoute: h, Src: r.source("HTTPRoute", &h.ObjectMeta)})
	}
	grpc, v, err := listVersions(ctx, size, func(ctx context.Context, lo metav1.ListOptions) ([]gwv1.GRPCRoute, string, error) {
		l, err := r.gw.GatewayV1().GRPCRoutes(ns).List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}, nil)
	r.versions["GRPCRoute"] = v
	if err != nil {
		r.fail("GRPCRoute", r.where(), err)
	}
	for i := range grpc {
		g := &grpc[i]
		r.part.GRPCRoutes = append(r.part.GRPCRoutes, &snapshot.GRPCRoute{GRPCRoute: g, Src: r.source("GRPCRoute", &g.ObjectMeta)})
	}
	grants, v, err := listVersions(ctx, size, r.grantList(ns, "v1"), r.grantList(ns, "v1beta1"))
	r.versions["ReferenceGrant"] = v
	if err != nil {
		r.fail("ReferenceGrant", r.where(), err)
	}
	for i := range grants {
		g := &grants[i]
		r.part.ReferenceGrants = append(r.part.ReferenceGrants, &snapshot.ReferenceGrant{ReferenceGrant: g, Src: r.source("ReferenceGrant", &g.ObjectMeta)})
	}
}

func (r *gatewayReader) gatewayList(ns, version string) func(context.Context, metav1.ListOptions) ([]gwv1.Gateway, string, error) {
	return func(ctx context.Context, lo metav1.ListOptions) ([]gwv1.Gateway, string, error) {
		if version == "v1" {
			l, err := r.gw.GatewayV1().Gateways(ns).List(ctx, lo)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}
		l, err := r.gw.GatewayV1beta1().Gateways(ns).List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		out := make([]gwv1.Gateway, len(l.Items))
		for i := range l.Items {
			out[i] = gwv1.Gateway(l.Items[i])
		}
		return out, l.Continue, nil
	}
}

func (r *gatewayReader) grantList(ns, version string) func(context.Context, metav1.ListOptions) ([]gwv1.ReferenceGrant, string, error) {
	return func(ctx context.Context, lo metav1.ListOptions) ([]gwv1.ReferenceGrant, string, error) {
		if version == "v1" {
			l, err := r.gw.GatewayV1().ReferenceGrants(ns).List(ctx, lo)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}
		l, err := r.gw.GatewayV1beta1().ReferenceGrants(ns).List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		out := make([]gwv1.ReferenceGrant, len(l.Items))
		for i := range l.Items {
			out[i] = gwv1.ReferenceGrant(l.Items[i])
		}
		return out, l.Continue, nil
	}
}

// namespaces lists the Namespaces (their labels) when a listener selects route namespaces by
// label: one cluster-scoped LIST, only then.
func (r *gatewayReader) namespaces(ctx context.Context) {
	if !selectsNamespaces(r.part.Gateways) && !selectsNamespaces(r.refs.Gateways) {
		return
	}
	nss, err := ListAll(ctx, r.opts.PageSize, func(ctx context.Context, lo metav1.ListOptions) ([]corev1.Namespace, string, error) {
		l, err := r.kube.CoreV1().Namespaces().List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		// the route layer then knows only the kubernetes.io/metadata.name label: selectors on
		// other labels are undecided (Unknown), not wrong
		r.marks["Namespace"] = UnreadOf(err, "list", "namespaces", "the cluster")
		return
	}
	for i := range nss {
		n := &nss[i]
		r.part.NamespaceObjects = append(r.part.NamespaceObjects, &snapshot.Namespace{Namespace: n, Src: snapshot.LiveSource("v1", "Namespace", &n.ObjectMeta)})
	}
}

func selectsNamespaces(gws []*snapshot.Gateway) bool {
	for _, g := range gws {
		for _, l := range g.Spec.Listeners {
			if a := l.AllowedRoutes; a != nil && a.Namespaces != nil && a.Namespaces.From != nil && *a.Namespaces.From == gwv1.NamespacesFromSelector {
				return true
			}
		}
	}
	return false
}

// readMark records that every referenced object of kind in ns was read.
func (r *gatewayReader) readMark(ns, kind string, ok bool) {
	if r.refs.Read[ns] == nil {
		r.refs.Read[ns] = map[string]bool{}
	}
	if _, seen := r.refs.Read[ns][kind]; !seen {
		r.refs.Read[ns][kind] = ok
		return
	}
	r.refs.Read[ns][kind] = r.refs.Read[ns][kind] && ok
}

// spend takes one reference read from the budget; false when it is spent.
func (r *gatewayReader) spend() bool {
	if r.refReads >= r.opts.MaxRefs {
		return false
	}
	r.refReads++
	return true
}

type nsName struct{ ns, name string }

// references reads the objects of other namespaces that the scope's routes and Gateways refer
// to: parent Gateways and backend Services by name, and the ReferenceGrants of the namespaces
// backendRefs and certificateRefs go to.
func (r *gatewayReader) references(ctx context.Context) {
	scope := r.opts.Namespace
	parents, backends := map[nsName]bool{}, map[nsName]bool{}
	grantNS := map[string]bool{}
	for _, h := range r.part.HTTPRoutes {
		collectRefs(h.Namespace, h.Spec.ParentRefs, httpBackends(h.HTTPRoute), parents, backends)
	}
	for _, g := range r.part.GRPCRoutes {
		collectRefs(g.Namespace, g.Spec.ParentRefs, grpcBackends(g.GRPCRoute), parents, backends)
	}
	for k := range backends {
		grantNS[k.ns] = true
	}
	for _, g := range r.part.Gateways {
		for _, ref := range certificateRefs(g.Gateway) {
			grantNS[ref.ns] = true
		}
	}
	for _, k := range sortedRefs(parents) {
		if k.ns == scope {
			continue
		}
		if !r.spend() {
			r.readMark(k.ns, "Gateway", false)
			continue
		}
		g, err := r.getGateway(ctx, k)
		r.readMark(k.ns, "Gateway", err == nil || apierrors.IsNotFound(err))
		if err == nil {
			r.refs.Gateways = append(r.refs.Gateways, &snapshot.Gateway{Gateway: g, Src: r.source("Gateway", &g.ObjectMeta)})
		}
	}
	for _, k := range sortedRefs(backends) {
		if k.ns == scope {
			continue
		}
		if !r.spend() {
			r.readMark(k.ns, "Service", false)
			continue
		}
		s, err := r.kube.CoreV1().Services(k.ns).Get(ctx, k.name, metav1.GetOptions{})
		r.readMark(k.ns, "Service", err == nil || apierrors.IsNotFound(err))
		if err == nil {
			r.refs.Services = append(r.refs.Services, &snapshot.Service{Service: s, Src: snapshot.LiveSource("v1", "Service", &s.ObjectMeta)})
		}
	}
	nss := make([]string, 0, len(grantNS))
	for ns := range grantNS {
		if ns != scope {
			nss = append(nss, ns)
		}
	}
	sort.Strings(nss)
	for _, ns := range nss {
		if !r.spend() {
			r.readMark(ns, "ReferenceGrant", false)
			continue
		}
		version := r.versions["ReferenceGrant"]
		grants, err := ListAll(ctx, r.opts.PageSize, r.grantList(ns, version))
		r.readMark(ns, "ReferenceGrant", err == nil)
		for i := range grants {
			g := &grants[i]
			r.refs.ReferenceGrants = append(r.refs.ReferenceGrants, &snapshot.ReferenceGrant{ReferenceGrant: g, Src: r.source("ReferenceGrant", &g.ObjectMeta)})
		}
	}
}

func (r *gatewayReader) getGateway(ctx context.Context, k nsName) (*gwv1.Gateway, error) {
	if r.versions["Gateway"] == "v1beta1" {
		g, err := r.gw.GatewayV1beta1().Gateways(k.ns).Get(ctx, k.name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		v := gwv1.Gateway(*g)
		return &v, nil
	}
	return r.gw.GatewayV1().Gateways(k.ns).Get(ctx, k.name, metav1.GetOptions{})
}

// certificateSecrets GETs the Secrets that the listeners of the scope's Gateways name: those of
// the scope join the snapshot's Secrets (the TLS rules check them too), the others its refs.
func (r *gatewayReader) certificateSecrets(ctx context.Context) {
	seen := map[nsName]bool{}
	for _, g := range r.part.Gateways {
		for _, k := range certificateRefs(g.Gateway) {
			seen[k] = true
		}
	}
	keys := sortedRefs(seen)
	for i, k := range keys {
		if r.opts.HaveSecret != nil && r.opts.HaveSecret(k.ns, k.name) {
			r.readMark(k.ns, "Secret", true)
			continue
		}
		if i >= r.opts.MaxSecrets {
			r.readMark(k.ns, "Secret", false)
			continue
		}
		sec, err := r.kube.CoreV1().Secrets(k.ns).Get(ctx, k.name, metav1.GetOptions{})
		r.readMark(k.ns, "Secret", err == nil || apierrors.IsNotFound(err))
		if err != nil {
			if !apierrors.IsNotFound(err) {
				r.marks["Secret"] = UnreadOf(err, "get", "secrets", k.ns)
			}
			continue
		}
		out := &snapshot.Secret{Src: snapshot.LiveSource("v1", "Secret", &sec.ObjectMeta), Type: sec.Type, Data: map[string][]byte{}}
		for name, v := range sec.Data {
			out.Data[name] = v
		}
		if r.opts.Namespace == "" || k.ns == r.opts.Namespace {
			r.part.Secrets = append(r.part.Secrets, out)
		} else {
			r.refs.Secrets = append(r.refs.Secrets, out)
		}
	}
}

// certificateRefs are the Secrets the TLS listeners of g name.
func certificateRefs(g *gwv1.Gateway) []nsName {
	var out []nsName
	for _, l := range g.Spec.Listeners {
		if l.TLS == nil {
			continue
		}
		for _, c := range l.TLS.CertificateRefs {
			if deref(c.Group, "") != "" || deref(c.Kind, "Secret") != "Secret" {
				continue
			}
			out = append(out, nsName{string(deref(c.Namespace, gwv1.Namespace(g.Namespace))), string(c.Name)})
		}
	}
	return out
}

func httpBackends(h *gwv1.HTTPRoute) []gwv1.BackendRef {
	var out []gwv1.BackendRef
	for _, rule := range h.Spec.Rules {
		for _, b := range rule.BackendRefs {
			out = append(out, b.BackendRef)
		}
	}
	return out
}

func grpcBackends(g *gwv1.GRPCRoute) []gwv1.BackendRef {
	var out []gwv1.BackendRef
	for _, rule := range g.Spec.Rules {
		for _, b := range rule.BackendRefs {
			out = append(out, b.BackendRef)
		}
	}
	return out
}

// collectRefs adds the Gateway parents and Service backends of a route in namespace ns.
func collectRefs(ns string, parents []gwv1.ParentReference, backends []gwv1.BackendRef, gws, svcs map[nsName]bool) {
	for _, p := range parents {
		if deref(p.Group, snapshot.GatewayGroup) != snapshot.GatewayGroup || deref(p.Kind, "Gateway") != "Gateway" {
			continue
		}
		gws[nsName{string(deref(p.Namespace, gwv1.Namespace(ns))), string(p.Name)}] = true
	}
	for _, b := range backends {
		if deref(b.Group, "") != "" || deref(b.Kind, "Service") != "Service" {
			continue
		}
		svcs[nsName{string(deref(b.Namespace, gwv1.Namespace(ns))), string(b.Name)}] = true
	}
}

func sortedRefs(set map[nsName]bool) []nsName {
	out := make([]nsName, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ns != out[j].ns {
			return out[i].ns < out[j].ns
		}
		return out[i].name < out[j].name
	})
	return out
}

func deref[T ~string](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
