package rules

import (
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/ingress"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// backendRef is one backend of an Ingress with its field path.
type backendRef struct {
	b    *networkingv1.IngressBackend
	path string
}

// ingressBackends lists the default backend and every path backend.
func ingressBackends(ing *snapshot.Ingress) []backendRef {
	var out []backendRef
	if ing.Spec.DefaultBackend != nil {
		p := "spec.defaultBackend"
		if ing.Legacy {
			p = "spec.backend"
		}
		out = append(out, backendRef{ing.Spec.DefaultBackend, p})
	}
	for ri, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for pi := range r.HTTP.Paths {
			out = append(out, backendRef{&r.HTTP.Paths[pi].Backend, fmt.Sprintf("spec.rules[%d].http.paths[%d].backend", ri, pi)})
		}
	}
	return out
}

// svcField is the field of a backend's service name (or port) in the ingress as written.
func svcField(ing *snapshot.Ingress, base, which string) string {
	if ing.Legacy {
		if which == "name" {
			return base + ".serviceName"
		}
		return base + ".servicePort"
	}
	if which == "name" {
		return base + ".service.name"
	}
	return base + ".service.port"
}

var ruleIngressPathType = &Rule{
	ID: "ingress-path-type-missing", Severity: report.Error, Category: CatIngress,
	Summary:     "Ingress path without pathType",
	Remediation: "Set pathType: Prefix (matches the path and everything below it) or Exact on every path.",
	Docs:        "In networking.k8s.io/v1 `pathType` is required on every path; the API server rejects the Ingress without it.",
	Check: func(p *Pass) {
		for _, ing := range p.Snap.Ingresses {
			if ing.Legacy {
				continue // removed-api-version already spells out the v1 form
			}
			for ri, r := range ing.Spec.Rules {
				if r.HTTP == nil {
					continue
				}
				for pi, path := range r.HTTP.Paths {
					if path.PathType == nil {
						p.Report(ing.Src, fmt.Sprintf("spec.rules[%d].http.paths[%d]", ri, pi), "path %q has no pathType: use Prefix or Exact", path.Path)
					}
				}
			}
		}
	},
}

var ruleIngressPathInvalid = &Rule{
	ID: "ingress-path-invalid", Severity: report.Error, Category: CatIngress,
	Summary:     "Ingress path that is not absolute or not a literal path",
	Remediation: "Start every path with '/', avoid '//', '/./' and '/../'; regular expressions need pathType ImplementationSpecific and a controller that supports them.",
	Docs: "Paths must begin with `/`. For Exact and Prefix paths the API server also refuses `//`, `/./` and `/../` " +
		"segments. Exact and Prefix paths are literal: `/api/.*` only matches a path element that is literally `.*`, " +
		"which is rarely what was meant (a warning).",
	Check: func(p *Pass) {
		for _, ing := range p.Snap.Ingresses {
			for ri, r := range ing.Spec.Rules {
				if r.HTTP == nil {
					continue
				}
				for pi, path := range r.HTTP.Paths {
					field := fmt.Sprintf("spec.rules[%d].http.paths[%d].path", ri, pi)
					pt := networkingv1.PathTypeImplementationSpecific
					if path.PathType != nil {
						pt = *path.PathType
					}
					switch {
					case path.Path == "" && pt != networkingv1.PathTypeImplementationSpecific:
						p.Report(ing.Src, fmt.Sprintf("spec.rules[%d].http.paths[%d]", ri, pi), "a %s path may not be empty: write path: /", pt)
					case path.Path != "" && !strings.HasPrefix(path.Path, "/"):
						p.Report(ing.Src, field, "path %q must start with '/'", path.Path)
					case pt != networkingv1.PathTypeImplementationSpecific && badSegments(path.Path) != "":
						p.Report(ing.Src, field, "path %q contains %q, which %s paths may not", path.Path, badSegments(path.Path), pt)
					case pt != networkingv1.PathTypeImplementationSpecific && strings.ContainsAny(path.Path, "*()[]$^+?|{}\\"):
						p.ReportSeverity(report.Warning, ing.Src, field, "path %q looks like a regular expression, but %s paths are literal; use pathType ImplementationSpecific with a controller that supports regular expressions, or write the literal prefix", path.Path, pt)
					}
				}
			}
		}
	},
}

func badSegments(path string) string {
	for _, bad := range []string{"//", "/./", "/../", "%2f", "%2F"} {
		if strings.Contains(path, bad) {
			return bad
		}
	}
	for _, bad := range []string{"/.", "/.."} {
		if strings.HasSuffix(path, bad) {
			return bad
		}
	}
	return ""
}

var ruleIngressHostIP = &Rule{
	ID: "ingress-host-ip", Severity: report.Error, Category: CatIngress,
	Summary:     "Ingress host that is an IP address",
	Remediation: "Use a DNS name that resolves to the Ingress controller, or leave host empty to match every host.",
	Docs:        "Ingress rules route by the HTTP Host header and TLS SNI, both DNS names; the API server rejects an IP address as host.",
	Check: func(p *Pass) {
		for _, ing := range p.Snap.Ingresses {
			for ri, r := range ing.Spec.Rules {
				if net.ParseIP(r.Host) != nil {
					p.Report(ing.Src, fmt.Sprintf("spec.rules[%d].host", ri), "host %s is an IP address; use a DNS name, or omit host to match every host", r.Host)
				}
			}
			for ti, t := range ing.Spec.TLS {
				for hi, h := range t.Hosts {
					if net.ParseIP(h) != nil {
						p.Report(ing.Src, fmt.Sprintf("spec.tls[%d].hosts[%d]", ti, hi), "TLS host %s is an IP address; TLS SNI carries DNS names only", h)
					}
				}
			}
		}
	},
}

var ruleIngressHostInvalid = &Rule{
	ID: "ingress-host-invalid", Severity: report.Error, Category: CatIngress,
	Summary:     "Ingress host that is not a valid DNS name or wildcard",
	Remediation: "Write a lower-case DNS name; a wildcard must be exactly '*.' followed by a domain, e.g. *.example.com.",
	Docs: "A wildcard host covers exactly one DNS label: `*.foo.com` matches `bar.foo.com` but neither `foo.com` nor " +
		"`baz.bar.foo.com`. `*` alone, `*foo.com` or `foo.*.com` are rejected, as are upper-case letters, `_` and ports.",
	Check: func(p *Pass) {
		for _, ing := range p.Snap.Ingresses {
			for ri, r := range ing.Spec.Rules {
				if msg := hostProblem(r.Host); msg != "" {
					p.Report(ing.Src, fmt.Sprintf("spec.rules[%d].host", ri), "host %q %s", r.Host, msg)
				}
			}
			for ti, t := range ing.Spec.TLS {
				for hi, h := range t.Hosts {
					if msg := hostProblem(h); msg != "" {
						p.Report(ing.Src, fmt.Sprintf("spec.tls[%d].hosts[%d]", ti, hi), "TLS host %q %s", h, msg)
					}
				}
			}
		}
	},
}

func hostProblem(h string) string {
	if h == "" || net.ParseIP(h) != nil {
		return ""
	}
	if strings.Contains(h, "*") {
		if h == "*" {
			return "is a bare wildcard: omit host to match every host, or write *.<domain>"
		}
		if !strings.HasPrefix(h, "*.") || strings.Count(h, "*") > 1 {
			return "is not a valid wildcard: '*' must be the whole first label, as in *.example.com"
		}
		h = h[2:]
	}
	if strings.Contains(h, ":") {
		return "contains a port; hosts are matched without port"
	}
	if errs := validation.IsDNS1123Subdomain(h); len(errs) > 0 {
		return "is not a valid DNS name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
	}
	return ""
}

var ruleIngressBackendService = &Rule{
	ID: "ingress-backend-service-missing", Severity: report.Error, Category: CatIngress,
	Summary:     "Ingress backend whose Service does not exist (or a path without backend)",
	Remediation: "Create the Service in the Ingress's namespace, or fix the backend's service name.",
	Docs: "An Ingress can only send traffic to Services of its own namespace. A missing backend Service makes the " +
		"controller answer 503 (ingress-nginx) or 404 (Traefik) for that path. When the input holds no Services in " +
		"that namespace, the finding is informational.",
	Check: func(p *Pass) {
		for _, ing := range p.Snap.Ingresses {
			for _, br := range ingressBackends(ing) {
				b := br.b
				if b.Service == nil {
					if b.Resource == nil {
						p.Report(ing.Src, br.path, "backend has neither a service nor a resource")
					}
					continue
				}
				field := svcField(ing, br.path, "name")
				if b.Service.Name == "" {
					if !p.Snap.HasIssueUnder(ing.Src, br.path) { // a misspelt field is reported already
						p.Report(ing.Src, field, "backend service has no name")
					}
					continue
				}
				if p.Snap.Service(ing.Namespace, b.Service.Name) != nil {
					continue
				}
				if !p.Snap.Complete("Service", ing.Namespace) {
					p.ReportSeverity(report.Info, ing.Src, field, "backend service %s is not in the given manifests", b.Service.Name)
					continue
				}
				p.Report(ing.Src, field, "backend service %s does not exist in namespace %s%s", b.Service.Name, ing.Namespace, serviceNearMiss(p.Snap, ing.Namespace, b.Service.Name))
			}
		}
	},
}

var ruleIngressBackendPort = &Rule{
	ID: "ingress-backend-port-missing", Severity: report.Error, Category: CatIngress,
	Summary:     "Ingress backend port (number or name) that its Service does not have",
	Remediation: "Use the Service's port (not the targetPort): its number, or its name.",
	Docs: "An Ingress backend names a port of the Service: `port.number` must equal one of the Service's `port` " +
		"values (not a targetPort or containerPort), and `port.name` one of its port names. Otherwise the controller has " +
		"no endpoints for the route and answers 503.",
	Check: func(p *Pass) {
		for _, ing := range p.Snap.Ingresses {
			for _, br := range ingressBackends(ing) {
				b := br.b
				if b.Service == nil {
					continue
				}
				field := svcField(ing, br.path, "port")
				svc := p.Snap.Service(ing.Namespace, b.Service.Name)
				if b.Service.Port.Number == 0 && b.Service.Port.Name == "" {
					p.Report(ing.Src, field, "backend service %s has no port: set port.number or port.name", b.Service.Name)
					continue
				}
				if svc == nil || semantics.IsExternalName(svc.Service) {
					continue
				}
				if msg := backendPortProblem(svc, b.Service.Port); msg != "" {
					p.Report(ing.Src, field, "%s", msg)
				}
			}
		}
	},
}

// backendPortProblem explains why an Ingress backend port does not exist on svc ("" if it does).
func backendPortProblem(svc *snapshot.Service, port networkingv1.ServiceBackendPort) string {
	var have []string
	for _, sp := range svc.Spec.Ports {
		if port.Name != "" && sp.Name == port.Name || port.Name == "" && sp.Port == port.Number {
			return ""
		}
		have = append(have, semantics.PortLabel(&sp))
	}
	if port.Name != "" {
		return fmt.Sprintf("service/%s has no port named %q (it has %s)", svc.Name, port.Name, strings.Join(have, ", "))
	}
	for _, sp := range svc.Spec.Ports {
		if sp.TargetPort.IntVal == port.Number && sp.TargetPort.IntVal != 0 {
			return fmt.Sprintf("%d is the targetPort of service/%s's %s: an Ingress backend uses the Service port, %d", port.Number, svc.Name, semantics.PortLabel(&sp), sp.Port)
		}
	}
	return fmt.Sprintf("service/%s has no port %d (it has %s)", svc.Name, port.Number, strings.Join(have, ", "))
}

var ruleIngressConflict = &Rule{
	ID: "ingress-route-conflict", Severity: report.Warning, Category: CatIngress,
	Summary:     "the same host and path routed twice (in one Ingress or across Ingresses of a class)",
	Remediation: "Keep one route per host+path+pathType; merge the Ingresses or change one path.",
	Docs: "When two routes have the same host, the same path (a trailing slash does not count for Prefix) and the " +
		"same pathType, only one of them can ever serve requests; which one is controller-defined (ingress-nginx and " +
		"Traefik prefer the oldest Ingress). The other is dead configuration, often left behind by a copy. Routes " +
		"that differ only in pathType are fine: for equal paths Exact wins over Prefix, and the longest path wins first. " +
		"When both routes go to the same backend (the same Service of the same namespace, and the same port, " +
		"whether written by name or by number) one is only redundant, and the finding is informational.",
	Check: func(p *Pass) {
		type owner struct {
			ing *snapshot.Ingress
			r   ingress.Route
		}
		first := map[string]owner{}
		ings := append([]*snapshot.Ingress(nil), p.Snap.Ingresses...)
		sort.SliceStable(ings, func(i, j int) bool {
			a, b := ings[i], ings[j]
			if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
				return a.CreationTimestamp.Before(&b.CreationTimestamp)
			}
			return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
		})
		for _, ing := range ings {
			for _, r := range ingress.Routes(ing.Ingress, semantics.EffectiveClass(p.Snap, ing)) {
				k := r.Key()
				o, dup := first[k]
				if !dup {
					first[k] = owner{ing, r}
					continue
				}
				where := fmt.Sprintf("spec.rules[%d].http.paths[%d] of this Ingress", o.r.RuleIndex, o.r.PathIndex)
				if o.ing != ing {
					where = fmt.Sprintf("ingress/%s/%s (spec.rules[%d].http.paths[%d])", o.ing.Namespace, o.ing.Name, o.r.RuleIndex, o.r.PathIndex)
				}
				host := r.Host
				if host == "" {
					host = "(any host)"
				}
				sev := report.Warning
				tail := "only one of them can serve requests"
				if backendKey(p.Snap, o.ing.Namespace, o.r.Backend) == backendKey(p.Snap, ing.Namespace, r.Backend) {
					sev, tail = report.Info, "both go to the same backend, so one is redundant"
				}
				p.ReportSeverity(sev, ing.Src, fmt.Sprintf("spec.rules[%d].http.paths[%d]", r.RuleIndex, r.PathIndex),
					"%s %s %s is also routed by %s: %s", host, r.PathType, r.Path, where, tail)
			}
		}
	},
}

// backendKey identifies where a backend of an Ingress in namespace ns sends traffic: the Service
// (backends name Services of the Ingress's own namespace) and its port, a port name resolved to
// the port's number when the Service is in the snapshot, so that {name: http} and {number: 80}
// are the same backend; or the resource.
func backendKey(s *snapshot.Snapshot, ns string, b networkingv1.IngressBackend) string {
	if b.Service != nil {
		port := b.Service.Port
		if port.Name != "" {
			if svc := s.Service(ns, b.Service.Name); svc != nil {
				for _, sp := range svc.Spec.Ports {
					if sp.Name == port.Name {
						return fmt.Sprintf("svc:%s/%s:%d", ns, b.Service.Name, sp.Port)
					}
				}
			}
			return fmt.Sprintf("svc:%s/%s:%s", ns, b.Service.Name, port.Name)
		}
		return fmt.Sprintf("svc:%s/%s:%d", ns, b.Service.Name, port.Number)
	}
	if b.Resource != nil {
		g := ""
		if b.Resource.APIGroup != nil {
			g = *b.Resource.APIGroup
		}
		return "res:" + ns + "/" + g + "/" + b.Resource.Kind + "/" + b.Resource.Name
	}
	return ""
}

var ruleIngressImplSpecific = &Rule{
	ID: "ingress-path-implementation-specific", Severity: report.Info, Category: CatIngress,
	Summary:     "pathType ImplementationSpecific: matching is controller-defined",
	Remediation: "Prefer Prefix or Exact unless the controller's own matching (such as regular expressions) is needed.",
	Docs: "With ImplementationSpecific the Ingress controller decides what the path means (ingress-nginx may treat " +
		"it as a regular expression, Traefik as a prefix), so the route can behave differently after a controller " +
		"change. svc-doctor's own route simulation treats such paths as prefixes.",
	Check: func(p *Pass) {
		for _, ing := range p.Snap.Ingresses {
			if ing.Legacy {
				continue
			}
			for ri, r := range ing.Spec.Rules {
				if r.HTTP == nil {
					continue
				}
				for pi, path := range r.HTTP.Paths {
					if path.PathType != nil && *path.PathType == networkingv1.PathTypeImplementationSpecific {
						p.Report(ing.Src, fmt.Sprintf("spec.rules[%d].http.paths[%d].pathType", ri, pi), "path %q uses ImplementationSpecific: how it matches depends on the Ingress controller", path.Path)
					}
				}
			}
		}
	},
}

var ruleIngressClass = &Rule{
	ID: "ingress-class-missing", Severity: report.Warning, Category: CatIngress,
	Summary:     "Ingress that no IngressClass (and so no controller) will pick up",
	Remediation: "Set spec.ingressClassName to an existing IngressClass, or mark exactly one IngressClass as the default.",
	Docs: "An Ingress is served by the controller of its class: `spec.ingressClassName`, the deprecated " +
		"`kubernetes.io/ingress.class` annotation, or the IngressClass annotated " +
		"`ingressclass.kubernetes.io/is-default-class: \"true\"`. With none of these the Ingress never gets an address. " +
		"When the input holds no IngressClass at all this is informational: the cluster may have a default class.",
	Check: func(p *Pass) {
		defaults := semantics.DefaultClasses(p.Snap)
		for _, ing := range p.Snap.Ingresses {
			if cn := ing.Spec.IngressClassName; cn != nil && *cn != "" {
				if !p.Snap.HasKind("IngressClass") {
					continue
				}
				found := false
				for _, c := range p.Snap.IngressClasses {
					if c.Name == *cn {
						found = true
					}
				}
				if !found {
					p.Report(ing.Src, "spec.ingressClassName", "IngressClass %s does not exist (classes: %s): no controller serves this Ingress", *cn, classNames(p.Snap))
				}
				continue
			}
			if c := ing.Annotations[semantics.ClassAnnotation]; c != "" {
				p.ReportSeverity(report.Info, ing.Src, "metadata.annotations["+semantics.ClassAnnotation+"]", "the %s annotation is deprecated: use spec.ingressClassName: %s", semantics.ClassAnnotation, c)
				continue
			}
			switch {
			case len(defaults) == 1:
			case len(defaults) > 1:
				p.Report(ing.Src, "spec", "no ingressClassName, and %d IngressClasses claim to be the default (%s): set spec.ingressClassName", len(defaults), classNames(p.Snap))
			case p.Snap.HasKind("IngressClass"):
				p.Report(ing.Src, "spec", "no ingressClassName and no default IngressClass (classes: %s): only a controller that serves class-less Ingresses picks it up (Traefik does by default; ingress-nginx only with --watch-ingress-without-class)", classNames(p.Snap))
			default:
				p.ReportSeverity(report.Info, ing.Src, "spec", "no ingressClassName, and no default IngressClass in the given manifests: the Ingress relies on the cluster having a default class")
			}
		}
	},
}

func classNames(s *snapshot.Snapshot) string {
	var n []string
	for _, c := range s.IngressClasses {
		n = append(n, c.Name)
	}
	if len(n) == 0 {
		return "none"
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

var ruleTLSSecretMissing = &Rule{
	ID: "ingress-tls-secret-missing", Severity: report.Error, Category: CatIngress,
	Summary:     "Ingress TLS Secret that does not exist in the Ingress's namespace",
	Remediation: "Create the kubernetes.io/tls Secret in the same namespace as the Ingress, or fix spec.tls[].secretName.",
	Docs: "An Ingress can only use a TLS Secret from its own namespace. Without it the controller serves its " +
		"default (self-signed) certificate and browsers refuse the connection. A Secret of that name in another " +
		"namespace is pointed out. When the input holds no Secrets in that namespace the finding is a warning if " +
		"TLS Secrets exist elsewhere in the input, informational otherwise.",
	Check: func(p *Pass) {
		for _, ing := range p.Snap.Ingresses {
			for ti, t := range ing.Spec.TLS {
				if t.SecretName == "" || p.Snap.Secret(ing.Namespace, t.SecretName) != nil {
					continue
				}
				field := fmt.Sprintf("spec.tls[%d].secretName", ti)
				if others := p.Snap.SecretsNamed(t.SecretName); len(others) > 0 {
					p.Report(ing.Src, field, "Secret %s exists in namespace %s, but an Ingress can only use Secrets of its own namespace (%s)",
						t.SecretName, others[0].Src.Ref.Namespace, ing.Namespace)
					continue
				}
				if p.Snap.Complete("Secret", ing.Namespace) {
					p.Report(ing.Src, field, "TLS Secret %s does not exist in namespace %s", t.SecretName, ing.Namespace)
					continue
				}
				var elsewhere []string
				for _, s := range p.Snap.Secrets {
					if s.Type == corev1.SecretTypeTLS {
						elsewhere = append(elsewhere, s.Src.Ref.Namespace+"/"+s.Src.Ref.Name)
					}
				}
				if len(elsewhere) > 0 {
					p.ReportSeverity(report.Warning, ing.Src, field, "TLS Secret %s is not in namespace %s; the input's TLS Secrets are %s (an Ingress can only use Secrets of its own namespace)",
						t.SecretName, ing.Namespace, strings.Join(elsewhere, ", "))
					continue
				}
				p.ReportSeverity(report.Info, ing.Src, field, "TLS Secret %s is not in the given manifests", t.SecretName)
			}
		}
	},
}

var ruleTLSSecretType = &Rule{
	ID: "ingress-tls-secret-type", Severity: report.Warning, Category: CatIngress,
	Summary:     "Ingress TLS Secret that is not of type kubernetes.io/tls",
	Remediation: "Recreate it with `kubectl create secret tls NAME --cert=... --key=...` (type kubernetes.io/tls).",
	Docs: "The Ingress API documents TLS Secrets as type `kubernetes.io/tls` with keys `tls.crt` and `tls.key`. Some " +
		"controllers accept an Opaque Secret with the same keys, others ignore it and serve their default certificate.",
	Check: func(p *Pass) {
		for _, ing := range p.Snap.Ingresses {
			for ti, t := range ing.Spec.TLS {
				s := p.Snap.Secret(ing.Namespace, t.SecretName)
				if s == nil || s.Type == corev1.SecretTypeTLS {
					continue
				}
				p.Report(ing.Src, fmt.Sprintf("spec.tls[%d].secretName", ti), "Secret %s is of type %s, not kubernetes.io/tls", t.SecretName, s.Type)
			}
		}
	},
}

var ruleTLSHostUnserved = &Rule{
	ID: "ingress-tls-host-unserved", Severity: report.Warning, Category: CatIngress,
	Summary:     "TLS host that no rule or default backend of the Ingress class serves",
	Remediation: "Add a rule for the host, or remove it from spec.tls[].hosts (a typo in one of the two is common).",
	Docs: "`spec.tls[].hosts` selects the certificate for those hosts; the rules decide where their requests go. A " +
		"TLS host without a rule gets the certificate but then the controller's default backend (404).",
	Check: func(p *Pass) {
		// rule hosts per class, indexed once
		hosts := map[string]*hostIndex{}
		for _, ing := range p.Snap.Ingresses {
			class := semantics.EffectiveClass(p.Snap, ing)
			x := hosts[class]
			if x == nil {
				x = &hostIndex{hosts: map[string]bool{}}
				hosts[class] = x
			}
			for _, r := range ing.Spec.Rules {
				x.add(r.Host)
			}
			if ing.Spec.DefaultBackend != nil { // it takes every request no rule matches
				x.add("")
			}
		}
		for _, ing := range p.Snap.Ingresses {
			class := semantics.EffectiveClass(p.Snap, ing)
			for ti, t := range ing.Spec.TLS {
				for hi, h := range t.Hosts {
					if hosts[class].serves(h) {
						continue
					}
					p.Report(ing.Src, fmt.Sprintf("spec.tls[%d].hosts[%d]", ti, hi), "TLS host %s has no rule: its requests get the controller's default backend", h)
				}
			}
		}
	},
}

// hostIndex holds the rule hosts of one Ingress class.
type hostIndex struct {
	any   bool            // a rule (or default backend) for every host
	hosts map[string]bool // normalized rule hosts, wildcards included
}

func (x *hostIndex) add(h string) {
	if h == "" {
		x.any = true
		return
	}
	x.hosts[ingress.NormalizeHost(h)] = true
}

// serves reports whether a TLS host is served by a rule: the same host, a wildcard rule covering
// it, a rule host its own wildcard covers, or a rule for any host.
func (x *hostIndex) serves(h string) bool {
	if x == nil {
		return false
	}
	if x.any {
		return true
	}
	h = ingress.NormalizeHost(h)
	if x.hosts[h] {
		return true
	}
	if i := strings.IndexByte(h, '.'); i > 0 && x.hosts["*"+h[i:]] {
		return true
	}
	if strings.HasPrefix(h, "*.") {
		for rh := range x.hosts {
			if ingress.HostMatches(h, rh) {
				return true
			}
		}
	}
	return false
}
