package snapshot

// A Snapshot is read-only once built: what a command learns later (the objects it plans to
// create, objects fetched by name, the parts read namespace by namespace) makes a new snapshot
// with With or Merge, and the snapshots it started from stay as they were.

// Overlay is what With lays over a snapshot.
type Overlay struct {
	// Objects to add; each replaces an object of the base with the same kind, namespace and name.
	Services       []*Service
	Endpoints      []*Endpoints
	EndpointSlices []*EndpointSlice
	Ingresses      []*Ingress
	Secrets        []*Secret
	// Drop leaves out objects of the base (e.g. the EndpointSlices a rerun prunes).
	Drop func(src *Source) bool
	// Read marks kinds as completely known (objects fetched by name: "not found" now means
	// absent); Unread marks kinds as not read.
	Read   []string
	Unread map[string]Unread
}

// With returns a new snapshot: s's objects and the overlay's. s is not changed.
func (s *Snapshot) With(o Overlay) *Snapshot {
	out := s.shallowCopy()
	out.Services = overlay(s.Services, o.Services, o.Drop, func(v *Service) *Source { return v.Src })
	out.Endpoints = overlay(s.Endpoints, o.Endpoints, o.Drop, func(v *Endpoints) *Source { return v.Src })
	out.EndpointSlices = overlay(s.EndpointSlices, o.EndpointSlices, o.Drop, func(v *EndpointSlice) *Source { return v.Src })
	out.Ingresses = overlay(s.Ingresses, o.Ingresses, o.Drop, func(v *Ingress) *Source { return v.Src })
	out.Secrets = overlay(s.Secrets, o.Secrets, o.Drop, func(v *Secret) *Source { return v.Src })
	for _, k := range o.Read {
		delete(out.Unavailable, k)
	}
	for k, u := range o.Unread {
		out.Unavailable[k] = u
	}
	out.Index()
	return out
}

// Merge returns a new snapshot holding base's objects and those of the parts (the namespaces of a
// live read, each read on its own), with base's Unavailable marks; unread sets the marks of the
// kinds the parts could not read. No snapshot given is changed.
func Merge(base *Snapshot, unread map[string]Unread, parts ...*Snapshot) *Snapshot {
	out := base.shallowCopy()
	for _, p := range parts {
		out.Services = append(out.Services, p.Services...)
		out.Endpoints = append(out.Endpoints, p.Endpoints...)
		out.EndpointSlices = append(out.EndpointSlices, p.EndpointSlices...)
		out.Ingresses = append(out.Ingresses, p.Ingresses...)
		out.IngressClasses = append(out.IngressClasses, p.IngressClasses...)
		out.NetworkPolicies = append(out.NetworkPolicies, p.NetworkPolicies...)
		out.Secrets = append(out.Secrets, p.Secrets...)
		out.Workloads = append(out.Workloads, p.Workloads...)
		out.Nodes = append(out.Nodes, p.Nodes...)
		out.GatewayAPI = out.GatewayAPI.merged(p.GatewayAPI)
	}
	for k, u := range unread {
		out.Unavailable[k] = u
	}
	out.Index()
	return out
}

// shallowCopy copies the snapshot's fields with slices of their own (capacity cut, so that an
// append never writes into the original's arrays) and a map of Unavailable marks of its own.
func (s *Snapshot) shallowCopy() *Snapshot {
	out := &Snapshot{Live: s.Live, DefaultNamespace: s.DefaultNamespace,
		Services: clip(s.Services), Endpoints: clip(s.Endpoints), EndpointSlices: clip(s.EndpointSlices),
		Ingresses: clip(s.Ingresses), IngressClasses: clip(s.IngressClasses), NetworkPolicies: clip(s.NetworkPolicies),
		Secrets: clip(s.Secrets), Workloads: clip(s.Workloads), Nodes: clip(s.Nodes), GatewayAPI: s.GatewayAPI.clipped(),
		Other: clip(s.Other), Issues: clip(s.Issues), Files: clip(s.Files), Superseded: s.Superseded,
		Unavailable: make(map[string]Unread, len(s.Unavailable))}
	for k, u := range s.Unavailable {
		out.Unavailable[k] = u
	}
	return out
}

func clip[T any](v []T) []T { return v[:len(v):len(v)] }

// overlay returns base without the dropped objects and those that add replaces, then add.
func overlay[T any](base, add []T, drop func(*Source) bool, src func(T) *Source) []T {
	if len(add) == 0 && drop == nil {
		return base
	}
	replaced := map[string]bool{}
	for _, v := range add {
		replaced[src(v).Ref.String()] = true
	}
	out := make([]T, 0, len(base)+len(add))
	for _, v := range base {
		s := src(v)
		if replaced[s.Ref.String()] || (drop != nil && drop(s)) {
			continue
		}
		out = append(out, v)
	}
	return append(out, add...)
}
