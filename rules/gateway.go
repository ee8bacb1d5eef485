package rules

import (
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/gateway"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// CatGateway groups the Gateway API rules.
const CatGateway Category = "gateway"

// gatewayView is the Gateway API route layer's model of a snapshot, with the sources of the
// objects it reports on.
type gatewayView struct {
	model   *gateway.Model
	sources map[gateway.ObjectRef]*snapshot.Source
}

// gatewayCache keeps the model of the snapshot being linted: every Gateway rule of a run reads
// the same snapshot with the same clock, so the model is built once per run. The last enabled
// Gateway rule of the run releases it (releaseGatewayModel), so that no snapshot outlives its run.
var gatewayCache struct {
	sync.Mutex
	snap *snapshot.Snapshot
	cfg  Config
	view *gatewayView
}

var emptyGatewayView = &gatewayView{model: gateway.New(gateway.Objects{})}

// gatewayModel returns the route layer's model of the pass's snapshot.
func gatewayModel(p *Pass) *gatewayView {
	if len(p.Snap.Gateways)+len(p.Snap.HTTPRoutes)+len(p.Snap.GRPCRoutes) == 0 {
		return emptyGatewayView // nothing to check: the Services and Secrets need no model
	}
	gatewayCache.Lock()
	defer gatewayCache.Unlock()
	c := &gatewayCache
	if c.view != nil && c.snap == p.Snap && c.cfg.Now.Equal(p.Config.Now) && c.cfg.CertExpiryWarning == p.Config.CertExpiryWarning {
		return c.view
	}
	c.snap, c.cfg, c.view = p.Snap, *p.Config, buildGatewayView(p.Snap, p.Config)
	return c.view
}

// GatewayObjects converts a snapshot into the route layer's input. Missing objects are known to
// be absent when the snapshot is complete for their kind and namespace (snapshot.Complete), with
// these exceptions: Namespace labels are known only for the Namespace objects present; a live
// snapshot does not read every Secret, so a Secret missing from it is unknown unless it was looked
// for by name; and a live read of one namespace knows of other namespaces only the objects its
// own refer to (snapshot.GatewayRefs), which the route layer gets too.
func GatewayObjects(s *snapshot.Snapshot, cfg Config) gateway.Objects {
	g := &s.GatewayAPI
	objs := gateway.Objects{Now: cfg.Now, ExpiryWarning: cfg.CertExpiryWarning, StatusExpected: s.Live,
		AllNamespaces: s.Live && (g.Refs == nil || g.Refs.Scope == "") && s.Complete(gateway.KindHTTPRoute, "") && s.Complete(gateway.KindGRPCRoute, "")}
	for _, v := range g.GatewayClasses {
		objs.GatewayClasses = append(objs.GatewayClasses, v.GatewayClass)
	}
	for _, v := range g.Gateways {
		objs.Gateways = append(objs.Gateways, v.Gateway)
	}
	for _, v := range g.HTTPRoutes {
		objs.HTTPRoutes = append(objs.HTTPRoutes, v.HTTPRoute)
	}
	for _, v := range g.GRPCRoutes {
		objs.GRPCRoutes = append(objs.GRPCRoutes, v.GRPCRoute)
	}
	for _, v := range g.ReferenceGrants {
		objs.ReferenceGrants = append(objs.ReferenceGrants, v.ReferenceGrant)
	}
	for _, v := range g.NamespaceObjects {
		objs.Namespaces = append(objs.Namespaces, v.Namespace)
	}
	for _, v := range s.Services {
		objs.Services = append(objs.Services, v.Service)
	}
	for _, v := range s.Secrets {
		objs.Secrets = append(objs.Secrets, &gateway.Secret{Namespace: v.Src.Ref.Namespace, Name: v.Src.Ref.Name, Type: v.Type, Data: v.Data})
	}
	refs := g.Refs
	if refs != nil {
		for _, v := range refs.Gateways {
			objs.Gateways = append(objs.Gateways, v.Gateway)
		}
		for _, v := range refs.Services {
			objs.Services = append(objs.Services, v.Service)
		}
		for _, v := range refs.ReferenceGrants {
			objs.ReferenceGrants = append(objs.ReferenceGrants, v.ReferenceGrant)
		}
		for _, v := range refs.Secrets {
			objs.Secrets = append(objs.Secrets, &gateway.Secret{Namespace: v.Src.Ref.Namespace, Name: v.Src.Ref.Name, Type: v.Type, Data: v.Data})
		}
	}
	objs.TargetPorts = func(svc *corev1.Service, sp *corev1.ServicePort) []int32 {
		ss := s.Service(svc.Namespace, svc.Name)
		if ss == nil {
			return nil
		}
		var out []int32
		for _, w := range s.SelectedWorkloads(ss) {
			if r := semantics.ResolveTargetPort(w, sp); r.Number != 0 {
				out = append(out, r.Number)
			}
		}
		return out
	}
	objs.Complete = func(kind, ns string) bool {
		switch {
		case refs.Complete(kind, ns):
			return true // every object of kind referred to in ns was read by name
		case refs != nil && refs.Namespaces != nil && (kind == gateway.KindService || kind == gateway.KindSecret) && !refs.Namespaces[ns]:
			return false // a namespace whose Services and Secrets were not read
		case refs != nil && refs.Scope != "" && ns != "" && ns != refs.Scope:
			return false // a namespace outside the live read
		case kind == gateway.KindSecret && s.Live:
			return false // a live snapshot reads only the Secrets it is told about
		}
		return s.Complete(kind, ns)
	}
	return objs
}

func buildGatewayView(s *snapshot.Snapshot, cfg *Config) *gatewayView {
	v := &gatewayView{model: gateway.New(GatewayObjects(s, *cfg)), sources: map[gateway.ObjectRef]*snapshot.Source{}}
	add := func(kind string, src *snapshot.Source) {
		v.sources[gateway.ObjectRef{Kind: kind, Namespace: src.Ref.Namespace, Name: src.Ref.Name}] = src
	}
	for _, o := range s.Gateways {
		add(gateway.KindGateway, o.Src)
	}
	for _, o := range s.HTTPRoutes {
		add(gateway.KindHTTPRoute, o.Src)
	}
	for _, o := range s.GRPCRoutes {
		add(gateway.KindGRPCRoute, o.Src)
	}
	return v
}

// reportGateway reports every problem of one check: Broken at the rule's severity, Risky as a
// warning, Unknown (an object not in the given manifests) as info.
func reportGateway(p *Pass, check gateway.Check) {
	v := gatewayModel(p)
	for _, pr := range v.model.Problems() {
		if pr.Check != check {
			continue
		}
		src := v.sources[pr.Object]
		if src == nil {
			continue
		}
		sev := p.rule.Severity
		switch pr.Level {
		case gateway.Risky:
			sev = minSeverity(sev, report.Warning)
		case gateway.Unknown:
			sev = report.Info
		}
		p.ReportSeverity(sev, src, pr.Field, "%s", pr.Message)
	}
	releaseGatewayModel(p)
}

// gatewayRuleIDs are the rules that read the model, in registry order. (IDs, not the rules: the
// rules' Check functions lead here.)
var gatewayRuleIDs = []string{"gateway-class-missing", "gateway-listener-conflict", "gateway-listener-route-kinds-invalid",
	"gateway-certificate-ref-invalid", "gateway-certificate-ref-not-permitted", "gateway-certificate-expired",
	"gateway-certificate-host-mismatch", "route-parent-no-match", "route-not-allowed-by-listeners",
	"route-no-matching-listener-hostname", "route-backend-not-found", "route-backend-ref-not-permitted",
	"route-backend-invalid-kind", "route-backend-weights-zero", "route-match-shadowed", "gateway-status-mismatch",
	"route-status-mismatch"}

// idEnabled is isEnabled for a rule that is on by default, known by its ID.
func idEnabled(id string, cfg *Config) bool {
	for _, e := range cfg.Enable {
		if e == id {
			return true
		}
	}
	for _, d := range cfg.Disable {
		if d == id {
			return false
		}
	}
	return true
}

// releaseGatewayModel drops the cached model after the last enabled Gateway rule of the run.
func releaseGatewayModel(p *Pass) {
	for i, id := range gatewayRuleIDs {
		if id != p.rule.ID {
			continue
		}
		for _, later := range gatewayRuleIDs[i+1:] {
			if idEnabled(later, p.Config) {
				return
			}
		}
	}
	gatewayCache.Lock()
	defer gatewayCache.Unlock()
	if gatewayCache.snap == p.Snap {
		gatewayCache.snap, gatewayCache.view = nil, nil
	}
}

func minSeverity(a, b report.Severity) report.Severity {
	if a < b {
		return a
	}
	return b
}
