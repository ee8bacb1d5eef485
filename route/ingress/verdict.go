package ingress

// The findings of the objects involved, and the verdict.

import (
	"fmt"
	"strings"

	"github.com/svc-doctor/svc-doctor/report"

	"github.com/svc-doctor/svc-doctor/rules/ruleid"
)

func (c *checker) collectFindings() {
	mentions := func(f report.Finding) bool {
		for k := range c.shown {
			if strings.HasPrefix(k, "Ingress/") && strings.Contains(f.Message, strings.ToLower(k)+" ") {
				return true
			}
		}
		return false
	}
	for _, f := range c.findings {
		if f.Object == nil {
			continue
		}
		if c.opts.ReadNamespaces != nil && !c.opts.ReadNamespaces[f.Object.Namespace] && !structuralRules[f.Rule] {
			continue
		}
		ref := report.ObjectRef{Kind: f.Object.Kind, Namespace: f.Object.Namespace, Name: f.Object.Name}.String()
		switch {
		case c.shown[ref] && (f.Object.Kind == "Ingress" || f.Object.Kind == "Secret" || f.Object.Kind == "Service" ||
			f.Object.Kind == "HTTPRoute" || f.Object.Kind == "Gateway"):
		case f.Object.Kind == "Ingress" && (f.Rule == string(ruleid.IngressRouteConflict) || f.Rule == string(ruleid.IngressRouteShadowed)) && mentions(f):
		default:
			continue
		}
		c.rep.Findings = append(c.rep.Findings, f)
	}
}

func (c *checker) verdict(t Target) {
	v := &c.rep.Verdict
	seen := map[string]bool{}
	for _, rc := range c.rep.Routes {
		for _, p := range rc.Problems {
			if !seen[p] {
				seen[p] = true
				v.Problems = append(v.Problems, p)
			}
		}
	}
	ok := len(v.Problems) == 0 && len(c.rep.Routes) > 0
	var summary string
	switch {
	case t.URL != nil && len(c.rep.Routes) == 1:
		rc := c.rep.Routes[0]
		what := fmt.Sprintf("ingress %s/%s %s", rc.Ingress.Namespace, rc.Ingress.Name, rc.Field)
		if rc.Ingress.Name == "" {
			what = "no rule"
		}
		switch {
		case ok && rc.Redirect != nil:
			summary = fmt.Sprintf("%s is answered by the controller with %s (by the Ingress specification it would be served by %s -> %s)",
				t.URL.URL, rc.ControllerRoute, what, backendSummary(rc.Backend))
		case ok && rc.ControllerRoute != "":
			// the controller's choice is what answers: lead with it
			summary = fmt.Sprintf("%s is served by %s (where the controller really sends it; by the Ingress specification it would be %s -> %s)",
				t.URL.URL, rc.ControllerRoute, what, backendSummary(rc.Backend))
		case ok:
			summary = fmt.Sprintf("%s is served by %s -> %s%s", t.URL.URL, what, backendSummary(rc.Backend), readySummary(rc.Backend))
		default:
			summary = fmt.Sprintf("%s is broken (%d %s)", t.URL.URL, len(v.Problems), plural(len(v.Problems), "problem", "problems"))
		}
	case len(c.rep.Routes) == 0:
		summary = "no Ingress to check"
		if t.All() && c.opts.Namespace != "" {
			summary = "no Ingress in namespace " + c.opts.Namespace
		}
	default:
		broken := 0
		for _, rc := range c.rep.Routes {
			if !rc.OK() {
				broken++
			}
		}
		if broken == 0 {
			summary = fmt.Sprintf("all %d %s OK", len(c.rep.Routes), plural(len(c.rep.Routes), "route is", "routes are"))
		} else {
			summary = fmt.Sprintf("%d of %d %s broken", broken, len(c.rep.Routes), plural(len(c.rep.Routes), "route is", "routes are"))
		}
	}
	if t.URL != nil && c.rep.Gateway != nil && c.rep.Gateway.Served != "" {
		c.combineVerdict(t.URL.URL, ok, summary, v.Problems)
		return
	}
	if ok {
		v.Kind, v.Message = report.VerdictHealthy, summary
	} else {
		v.Kind, v.RootCause = report.VerdictFault, summary
	}
}

func backendSummary(b report.RouteBackend) string {
	switch {
	case b.Resource != "":
		return b.Resource
	case b.Port != nil:
		return fmt.Sprintf("service %s port %s", b.Service, report.PortText(b.Port))
	case b.Service != "":
		return fmt.Sprintf("service %s port %s", b.Service, b.Requested)
	}
	return "(no backend)"
}

func readySummary(b report.RouteBackend) string {
	if b.Health == nil || !b.Health.Checked {
		return ""
	}
	return fmt.Sprintf(" (%d ready %s)", b.Health.Ready, plural(b.Health.Ready, "endpoint", "endpoints"))
}
