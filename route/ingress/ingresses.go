package ingress

// Ingress mode: every route of ing/NAME, or of every Ingress.

import (
	"fmt"
	"sort"
	"strings"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

func (c *checker) checkIngresses(t Target) error {
	var ings []*snapshot.Ingress
	if t.Ingress != "" {
		ns := t.Namespace
		if ns == "" {
			ns = c.opts.Namespace
		}
		if ns == "" {
			ns = c.snap.DefaultNamespace
		}
		ing := c.ings[ns+"/"+t.Ingress]
		if ing == nil {
			return notFound(c.snap, ns, t.Ingress)
		}
		ings = []*snapshot.Ingress{ing}
	} else {
		for _, ing := range c.snap.Ingresses {
			if c.opts.Namespace == "" || ing.Namespace == c.opts.Namespace {
				ings = append(ings, ing)
			}
		}
	}
	// the cross-Ingress analyses run once over every route, then are looked up per Ingress
	shadows := map[string]Shadow{}
	shadowsOf := map[string][]Shadow{} // by ns/name of either Ingress
	for _, s := range NeverWins(c.routes) {
		shadows[routeID(s.Route)] = s
		shadowsOf[s.Route.Namespace+"/"+s.Route.Ingress] = append(shadowsOf[s.Route.Namespace+"/"+s.Route.Ingress], s)
		if by := s.By.Namespace + "/" + s.By.Ingress; by != s.Route.Namespace+"/"+s.Route.Ingress {
			shadowsOf[by] = append(shadowsOf[by], s)
		}
	}
	hostShadows := map[string][]HostShadow{} // by ns/name of the shadowed Ingress
	for _, hs := range HostShadows(c.routes) {
		hostShadows[hs.Route.Namespace+"/"+hs.Route.Ingress] = append(hostShadows[hs.Route.Namespace+"/"+hs.Route.Ingress], hs)
	}
	for _, ing := range ings {
		c.show("Ingress", ing.Namespace, ing.Name)
		cls := c.classOf(ing)
		c.addController(cls)
		for _, r := range Routes(ing.Ingress, cls) {
			rc := c.routeCheck(r, r.Host, tlsRoute)
			if s, ok := shadows[routeID(r)]; ok {
				rc.ShadowedBy = fmt.Sprintf("ingress %s/%s %s", s.By.Namespace, s.By.Ingress, s.By.Field())
				rc.Warnings = append(rc.Warnings, fmt.Sprintf("never serves a request: %s takes every request it matches (%s)", s.By, s.Reason))
			}
			c.rep.Routes = append(c.rep.Routes, rc)
		}
		if ing.Spec.DefaultBackend != nil {
			rc := c.defaultCheck(ing, "", tlsRoute)
			if len(ing.Spec.Rules) > 0 && c.isTraefik(cls) {
				rc.Warnings = append(rc.Warnings, traefikIgnoresDefault(ing))
			}
			c.rep.Routes = append(c.rep.Routes, rc)
		}
		if len(ing.Spec.Rules) == 0 && ing.Spec.DefaultBackend == nil {
			c.rep.Routes = append(c.rep.Routes, report.RouteCheck{Ingress: ingRef(ing), Class: cls, Field: "spec",
				Problems: []string{"the Ingress has neither rules nor a default backend: it routes nothing"}})
		}
		// other Ingresses that shadow this one, or that this one shadows, are part of the picture
		for _, s := range shadowsOf[ing.Namespace+"/"+ing.Name] {
			c.show("Ingress", s.Route.Namespace, s.Route.Ingress)
			c.show("Ingress", s.By.Namespace, s.By.Ingress)
		}
		for _, hs := range hostShadows[ing.Namespace+"/"+ing.Name] {
			scope := "any host"
			if hs.Route.Host != "" {
				scope = "host " + hs.Route.Host
			}
			c.rep.Notes = append(c.rep.Notes, fmt.Sprintf("ingress %s/%s %s (%s %s for %s) does not serve host %s: requests to %s%s go to %s, because a rule for that host is matched before any path",
				ing.Namespace, ing.Name, hs.Route.Field(), hs.Route.PathType, hs.Route.Path, scope, report.HostText(hs.Host), report.HostText(hs.Host), hs.Path, hs.By))
		}
	}
	return nil
}

func routeID(r Route) string {
	return r.Namespace + "/" + r.Ingress + "/" + r.Field()
}

// notFound is the error for ing/NAME that does not exist, naming the Ingresses that do.
func notFound(snap *snapshot.Snapshot, ns, name string) error {
	var names []string
	for _, ing := range snap.Ingresses {
		if ing.Namespace == ns {
			names = append(names, ing.Name)
		}
	}
	sort.Strings(names)
	have := "it has none"
	if len(names) > 0 {
		have = "it has " + strings.Join(names, ", ")
	}
	return fmt.Errorf("ingress %s not found in namespace %s (%s): pass -n NAMESPACE or ing/NAMESPACE/NAME", name, ns, have)
}
