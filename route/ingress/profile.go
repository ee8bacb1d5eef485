package ingress

import (
	"fmt"
	"strings"

	"github.com/svc-doctor/svc-doctor/report"
)

// Controller profiles: the route semantics a verdict is produced with. The Ingress
// specification's (spec) unless the controller of the class is one whose deviations svc-doctor
// models: Traefik (traefik.go) and ingress-nginx (nginx.go).

// Profile names.
const (
	ProfileSpec         = "spec"
	ProfileTraefik      = "traefik"
	ProfileIngressNginx = "ingress-nginx"
)

// ingressProfile names the semantics a route of class cls was checked with, and how the
// controller was recognised: traefik when the class's controller is Traefik (its route ordering
// and its dropping of routes with broken backends are modelled, traefik.go), ingress-nginx when it
// is k8s.io/ingress-nginx (server by host, regular-expression paths, trailing-slash redirects,
// default backends and 503s, nginx.go), else spec (the Ingress specification's precedence).
func (c *checker) ingressProfile(cls string) *report.ProfileInfo {
	ic := c.ingressClass(cls)
	detected := "IngressClass " + report.ClassText(cls)
	switch {
	case ic != nil:
		detected += " spec.controller " + ic.Spec.Controller
	case cls == "":
		detected = "no IngressClass"
	default:
		detected += " not found"
	}
	if info, ok := c.opts.Controllers[cls]; ok && info.Found && len(info.Workloads) > 0 {
		w := info.Workloads[0]
		detected += fmt.Sprintf("; run by %s %s/%s (%s)", strings.ToLower(w.Kind), w.Namespace, w.Name, w.Why)
	}
	if c.isTraefik(cls) {
		if ic == nil {
			detected += "; a Traefik serves Ingresses without a class"
		}
		return &report.ProfileInfo{Name: ProfileTraefik, Detected: detected}
	}
	if c.isIngressNginx(cls) {
		return &report.ProfileInfo{Name: ProfileIngressNginx, Detected: detected}
	}
	if ic != nil && ic.Spec.Controller != "" {
		detected += " (no profile for it: the specification's semantics)"
	}
	return &report.ProfileInfo{Name: ProfileSpec, Detected: detected}
}

// setProfiles names the profile of every route checked.
func (c *checker) setProfiles() {
	for i := range c.rep.Routes {
		rc := &c.rep.Routes[i]
		if rc.Ingress.Name != "" {
			rc.Profile = c.ingressProfile(rc.Class)
		}
	}
}
