package snapshot

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// GatewayGroup is the API group of the Gateway API.
const GatewayGroup = "gateway.networking.k8s.io"

// NamespaceNameLabel is the label the API server puts on every Namespace, with its name as value
// (Kubernetes 1.22+): selectors can rely on it even when the input has no Namespace object.
const NamespaceNameLabel = corev1.LabelMetadataName

// GatewayClass is a gateway.networking.k8s.io GatewayClass (v1, or v1beta1 read into v1).
type GatewayClass struct {
	*gwv1.GatewayClass
	Src *Source
}

// Gateway is a gateway.networking.k8s.io Gateway (v1, or v1beta1 read into v1).
type Gateway struct {
	*gwv1.Gateway
	Src *Source
}

// HTTPRoute is a gateway.networking.k8s.io HTTPRoute (v1, or v1beta1 read into v1).
type HTTPRoute struct {
	*gwv1.HTTPRoute
	Src *Source
}

// GRPCRoute is a gateway.networking.k8s.io/v1 GRPCRoute.
type GRPCRoute struct {
	*gwv1.GRPCRoute
	Src *Source
}

// ReferenceGrant is a gateway.networking.k8s.io ReferenceGrant (v1, or v1beta1 read into v1).
type ReferenceGrant struct {
	*gwv1.ReferenceGrant
	Src *Source
}

// Namespace is a v1 Namespace. Its labels include kubernetes.io/metadata.name, which the API
// server sets on every Namespace.
type Namespace struct {
	*corev1.Namespace
	Src *Source
}

// GatewayAPI holds the Gateway API objects of a snapshot and the Namespace objects (whose labels
// listener allowedRoutes selectors match). Other route kinds (TLSRoute, TCPRoute, UDPRoute) and
// ListenerSets are not modelled: they are in Snapshot.Other, passed through and counted.
type GatewayAPI struct {
	GatewayClasses   []*GatewayClass
	Gateways         []*Gateway
	HTTPRoutes       []*HTTPRoute
	GRPCRoutes       []*GRPCRoute
	ReferenceGrants  []*ReferenceGrant
	NamespaceObjects []*Namespace
	// Refs are objects of other namespaces that a live read of one namespace fetched because its
	// Gateway API objects refer to them (nil when the read covered every namespace).
	Refs *GatewayRefs

	classes    map[string]*GatewayClass
	gateways   map[string]*Gateway // ns/name
	namespaces map[string]*Namespace
}

// GatewayRefs are the objects outside its scope that a live read of the Gateway API fetched because
// objects in scope refer to them: the parent Gateways of routes, the Services of backendRefs, the
// ReferenceGrants of the namespaces such references go to, the Secrets of certificateRefs. The
// Gateway route layer resolves references with them; no rule reports on them and they are not part
// of the graph the other rules check (their namespace's pods, for one, were not read).
type GatewayRefs struct {
	// Scope is the namespace whose Gateway API objects were listed ("" every namespace).
	Scope string
	// Namespaces, when set, are the namespaces whose Services and Secrets the snapshot holds
	// (a read of the namespaces a check concerns): those of other namespaces are unknown.
	Namespaces      map[string]bool
	Gateways        []*Gateway
	Services        []*Service
	ReferenceGrants []*ReferenceGrant
	// Secrets are the certificate Secrets read by name, in scope and outside it.
	Secrets []*Secret
	// Read maps a namespace to the kinds whose referenced objects were all read there (by name
	// for Gateway, Service and Secret, by LIST for ReferenceGrant): an object of such a kind that
	// is not found there does not exist.
	Read map[string]map[string]bool
}

// Complete reports whether every object of kind that is referred to in namespace ns was read.
func (r *GatewayRefs) Complete(kind, ns string) bool {
	return r != nil && r.Read[ns][kind]
}

// GatewayClass returns the GatewayClass called name, or nil.
func (g *GatewayAPI) GatewayClass(name string) *GatewayClass { return g.classes[name] }

// Gateway returns the Gateway ns/name, or nil.
func (g *GatewayAPI) Gateway(ns, name string) *Gateway { return g.gateways[ns+"/"+name] }

// Namespace returns the Namespace object called name, or nil when the input has none.
func (g *GatewayAPI) Namespace(name string) *Namespace { return g.namespaces[name] }

// Sources lists the sources of every object GatewayAPI holds, in kind order then input order.
func (g *GatewayAPI) Sources() []*Source {
	out := make([]*Source, 0, g.count())
	for _, v := range g.GatewayClasses {
		out = append(out, v.Src)
	}
	for _, v := range g.Gateways {
		out = append(out, v.Src)
	}
	for _, v := range g.HTTPRoutes {
		out = append(out, v.Src)
	}
	for _, v := range g.GRPCRoutes {
		out = append(out, v.Src)
	}
	for _, v := range g.ReferenceGrants {
		out = append(out, v.Src)
	}
	for _, v := range g.NamespaceObjects {
		out = append(out, v.Src)
	}
	return out
}

func (g *GatewayAPI) count() int {
	return len(g.GatewayClasses) + len(g.Gateways) + len(g.HTTPRoutes) + len(g.GRPCRoutes) +
		len(g.ReferenceGrants) + len(g.NamespaceObjects)
}

func (g *GatewayAPI) merge(o *GatewayAPI) {
	g.GatewayClasses = append(g.GatewayClasses, o.GatewayClasses...)
	g.Gateways = append(g.Gateways, o.Gateways...)
	g.HTTPRoutes = append(g.HTTPRoutes, o.HTTPRoutes...)
	g.GRPCRoutes = append(g.GRPCRoutes, o.GRPCRoutes...)
	g.ReferenceGrants = append(g.ReferenceGrants, o.ReferenceGrants...)
	g.NamespaceObjects = append(g.NamespaceObjects, o.NamespaceObjects...)
	if g.Refs == nil {
		g.Refs = o.Refs
	}
}

func (g *GatewayAPI) drop(d map[*Source]bool) {
	g.GatewayClasses = keep(g.GatewayClasses, func(v *GatewayClass) *Source { return v.Src }, d)
	g.Gateways = keep(g.Gateways, func(v *Gateway) *Source { return v.Src }, d)
	g.HTTPRoutes = keep(g.HTTPRoutes, func(v *HTTPRoute) *Source { return v.Src }, d)
	g.GRPCRoutes = keep(g.GRPCRoutes, func(v *GRPCRoute) *Source { return v.Src }, d)
	g.ReferenceGrants = keep(g.ReferenceGrants, func(v *ReferenceGrant) *Source { return v.Src }, d)
	g.NamespaceObjects = keep(g.NamespaceObjects, func(v *Namespace) *Source { return v.Src }, d)
}

// index builds the lookup tables and marks every object present with mark.
func (g *GatewayAPI) index(mark func(*Source)) {
	g.classes = make(map[string]*GatewayClass, len(g.GatewayClasses))
	for _, v := range g.GatewayClasses {
		g.classes[v.Name] = v
	}
	g.gateways = make(map[string]*Gateway, len(g.Gateways))
	for _, v := range g.Gateways {
		g.gateways[v.Namespace+"/"+v.Name] = v
	}
	g.namespaces = make(map[string]*Namespace, len(g.NamespaceObjects))
	for _, v := range g.NamespaceObjects {
		g.namespaces[v.Name] = v
	}
	for _, src := range g.Sources() {
		mark(src)
	}
}

// gatewayKinds are the Gateway API kinds the snapshot models, with the versions the standard
// channel CRDs of Gateway API v1.6 serve for each (the first one is the storage-independent
// preferred version). Every served version has the same schema as v1.
var gatewayKinds = map[string][]string{
	"GatewayClass":   {"v1", "v1beta1"},
	"Gateway":        {"v1", "v1beta1"},
	"HTTPRoute":      {"v1", "v1beta1"},
	"GRPCRoute":      {"v1"},
	"ReferenceGrant": {"v1", "v1beta1"},
}

// gatewayKindsLower maps a lower-case Gateway API kind to its spelling, for kind-wrong-case.
var gatewayKindsLower = func() map[string]string {
	m := map[string]string{}
	for k := range gatewayKinds {
		m[strings.ToLower(k)] = k
	}
	for _, k := range []string{"TLSRoute", "TCPRoute", "UDPRoute", "ListenerSet", "BackendTLSPolicy"} {
		m[strings.ToLower(k)] = k
	}
	return m
}()

// decodeGateway decodes the Gateway API kinds the snapshot models and v1 Namespaces; it
// returns false for every other kind. A version that Gateway API v1.6 no longer serves (such as
// v1alpha2 GRPCRoute or ReferenceGrant) is reported as unknown-api-version and read as v1, whose
// schema it shares.
func (d *decoder) decodeGateway(src *Source, av, kind string) bool {
	if av == "v1" && kind == "Namespace" {
		d.namespace(src)
		return true
	}
	grp, version, ok := strings.Cut(av, "/")
	if !ok || grp != GatewayGroup {
		return false
	}
	if canon, ok := gatewayKindsLower[strings.ToLower(kind)]; ok && canon != kind {
		d.issue(RuleKindCase, src, "kind", "kind %q is written with the wrong case: kinds are case-sensitive, write %q", kind, canon)
		kind = canon
		src.Ref.Kind = kind
	}
	versions, modelled := gatewayKinds[kind]
	if !modelled {
		return false
	}
	strict := true
	if !contains(versions, version) {
		d.issue(RuleUnknownAPIVersion, src, "apiVersion", "apiVersion %s does not serve kind %s (Gateway API v1.6 serves %s): use apiVersion %s/%s",
			av, kind, GatewayGroup+"/"+strings.Join(versions, ", "+GatewayGroup+"/"), GatewayGroup, versions[0])
		src.WrittenAPIVersion, src.Ref.APIVersion = av, GatewayGroup+"/"+versions[0]
		strict = false
	}
	d.gatewayObject(src, kind, strict)
	return true
}

// gatewayObject decodes one object of a modelled Gateway API kind into its v1 type.
func (d *decoder) gatewayObject(src *Source, kind string, strict bool) {
	ns := src.Ref.Namespace
	g := &d.s.GatewayAPI
	switch kind {
	case "GatewayClass":
		var v gwv1.GatewayClass
		if d.into(src, &v, strict) {
			src.Annotations = v.Annotations
			g.GatewayClasses = append(g.GatewayClasses, &GatewayClass{GatewayClass: &v, Src: src})
		}
	case "Gateway":
		var v gwv1.Gateway
		if d.into(src, &v, strict) {
			src.Annotations, v.Namespace = v.Annotations, ns
			g.Gateways = append(g.Gateways, &Gateway{Gateway: &v, Src: src})
		}
	case "HTTPRoute":
		var v gwv1.HTTPRoute
		if d.into(src, &v, strict) {
			src.Annotations, v.Namespace = v.Annotations, ns
			g.HTTPRoutes = append(g.HTTPRoutes, &HTTPRoute{HTTPRoute: &v, Src: src})
		}
	case "GRPCRoute":
		var v gwv1.GRPCRoute
		if d.into(src, &v, strict) {
			src.Annotations, v.Namespace = v.Annotations, ns
			g.GRPCRoutes = append(g.GRPCRoutes, &GRPCRoute{GRPCRoute: &v, Src: src})
		}
	case "ReferenceGrant":
		var v gwv1.ReferenceGrant
		if d.into(src, &v, strict) {
			src.Annotations, v.Namespace = v.Annotations, ns
			g.ReferenceGrants = append(g.ReferenceGrants, &ReferenceGrant{ReferenceGrant: &v, Src: src})
		}
	}
}

// namespace decodes a v1 Namespace and adds the kubernetes.io/metadata.name label the API
// server sets (it overwrites any other value written for that label).
func (d *decoder) namespace(src *Source) {
	var v corev1.Namespace
	if !d.into(src, &v, true) {
		return
	}
	src.Annotations = v.Annotations
	if v.Name != "" {
		labels := make(map[string]string, len(v.Labels)+1)
		for k, val := range v.Labels {
			labels[k] = val
		}
		labels[NamespaceNameLabel] = v.Name
		v.Labels = labels
	}
	d.s.GatewayAPI.NamespaceObjects = append(d.s.GatewayAPI.NamespaceObjects, &Namespace{Namespace: &v, Src: src})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// clipped copies the lists with capacities cut (see Snapshot.shallowCopy); the indexes are rebuilt
// by Index.
func (g *GatewayAPI) clipped() GatewayAPI {
	return GatewayAPI{GatewayClasses: clip(g.GatewayClasses), Gateways: clip(g.Gateways), HTTPRoutes: clip(g.HTTPRoutes),
		GRPCRoutes: clip(g.GRPCRoutes), ReferenceGrants: clip(g.ReferenceGrants), NamespaceObjects: clip(g.NamespaceObjects), Refs: g.Refs}
}

// merged returns g's lists followed by o's.
func (g GatewayAPI) merged(o GatewayAPI) GatewayAPI {
	out := g.clipped()
	out.merge(&o)
	return out
}
