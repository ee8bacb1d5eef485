package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteTable implements Document.
func (r *IngressCheckReport) WriteTable(w io.Writer, o TableOptions) error {
	return (&tableWriter{w: w, r: r, wide: o.Wide, color: o.Color}).write()
}

type tableWriter struct {
	w     io.Writer
	r     *IngressCheckReport
	wide  bool
	color bool
	err   error
}

// line prints a "KEY: value" line (kubectl describe style); values are sanitized.
func (t *tableWriter) line(key, format string, args ...any) {
	if t.err != nil {
		return
	}
	v := Sanitize(fmt.Sprintf(format, args...))
	if key == "" {
		_, t.err = fmt.Fprintln(t.w, v)
		return
	}
	_, t.err = fmt.Fprintf(t.w, "%-12s %s\n", key+":", v)
}

func (t *tableWriter) blank() {
	if t.err == nil {
		_, t.err = fmt.Fprintln(t.w)
	}
}

func (t *tableWriter) table(title string, headers []string, rows [][]string) {
	if t.err != nil || len(rows) == 0 {
		return
	}
	t.blank()
	t.line("", "%s", title)
	t.err = WriteTable(t.w, headers, rows, nil)
}

func (t *tableWriter) write() error {
	r := t.r
	if r.Request != nil {
		t.line("URL", "%s", r.Request.URL)
		if r.Request.GivenPath != "" {
			t.line("PATH", "%s (normalised from %s: %s)", r.Request.Path, r.Request.GivenPath, strings.Join(r.Request.PathNormalised, ", "))
		}
		if c := r.Class; c != nil {
			s := ClassText(c.Name) + " (" + c.Source + ")"
			if len(c.Defaults) > 1 {
				s += "; " + strconv.Itoa(len(c.Defaults)) + " default classes: " + strings.Join(c.Defaults, ", ")
			}
			if len(c.OtherClasses) > 0 {
				s += "; also routed by class " + strings.Join(c.OtherClasses, ", ")
			}
			t.line("CLASS", "%s", s)
		}
		t.requestLine()
	} else if len(r.Listeners) == 0 && len(r.GatewayRoutes) == 0 {
		t.line("INGRESSES", "%s", ingressesText(r))
	}
	t.controllers()
	switch {
	case r.Request != nil:
		t.candidates()
		for _, rc := range r.Routes {
			t.routeDetail(rc)
		}
		t.gateway()
	case len(r.Listeners) > 0 || len(r.GatewayRoutes) > 0:
		t.gatewayObjects()
	default:
		t.routes()
	}
	t.findings()
	if len(r.Notes) > 0 {
		t.blank()
		t.line("", "NOTES")
		for _, n := range r.Notes {
			t.line("", "  - %s", n)
		}
	}
	t.probes()
	t.verdict()
	return t.err
}

func ingressesText(r *IngressCheckReport) string {
	seen := map[string]bool{}
	var names []string
	for _, rc := range r.Routes {
		n := rc.Ingress.Namespace + "/" + rc.Ingress.Name
		if !seen[n] {
			seen[n] = true
			names = append(names, n+" (class "+ClassText(rc.Class)+")")
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (t *tableWriter) controllers() {
	for _, c := range t.r.Controllers {
		what := c.Controller
		if c.Name != "" {
			what = c.Name + " (" + c.Controller + ")"
		}
		if what == "" {
			what = "class " + c.Class
		}
		if !c.Found {
			t.line("CONTROLLER", "%s: %s", what, c.Message)
			continue
		}
		var parts []string
		for _, w := range c.Workloads {
			s := strings.ToLower(w.Kind) + " " + w.Namespace + "/" + w.Name
			if w.PodsListed {
				s += fmt.Sprintf(" (%d/%d pods ready)", w.PodsReady, w.PodsTotal)
			}
			parts = append(parts, s)
		}
		for _, s := range c.Services {
			p := "service " + s.Namespace + "/" + s.Name + " " + s.Type
			if s.ClusterIP != "" && s.ClusterIP != "None" {
				p += " " + s.ClusterIP
			}
			var ports []string
			if s.HTTPPort != 0 {
				ports = append(ports, "http "+strconv.Itoa(int(s.HTTPPort))+nodePortText(s.HTTPNodePort))
			}
			if s.HTTPSPort != 0 {
				ports = append(ports, "https "+strconv.Itoa(int(s.HTTPSPort))+nodePortText(s.HTTPSNodePort))
			}
			if len(ports) > 0 {
				p += " (" + strings.Join(ports, ", ") + ")"
			}
			parts = append(parts, p)
		}
		if len(c.Services) == 0 {
			parts = append(parts, "no Service selects its pods")
		}
		t.line("CONTROLLER", "%s: %s", what, strings.Join(parts, ", "))
		if t.wide {
			for _, w := range c.Workloads {
				t.line("", "             %s/%s matched by %s", w.Namespace, w.Name, w.Why)
			}
		}
	}
}

func nodePortText(p int32) string {
	if p == 0 {
		return ""
	}
	return " nodePort " + strconv.Itoa(int(p))
}

func (t *tableWriter) candidates() {
	if len(t.r.Candidates) == 0 {
		return
	}
	var rows [][]string
	for _, c := range t.r.Candidates {
		rank := strconv.Itoa(c.Rank)
		result := "wins"
		if c.Rank == 0 {
			rank = "-"
		}
		if !c.Winner {
			result = "loses: " + c.Reason
		}
		if c.ControllerDefined {
			result += " [ImplementationSpecific: controller-defined]"
		}
		row := []string{rank, c.Ingress.Namespace + "/" + c.Ingress.Name, HostText(c.Host), c.Path, c.PathType, c.Backend, result}
		if t.wide {
			row = []string{rank, c.Ingress.Namespace + "/" + c.Ingress.Name, c.Field, ClassText(c.Class), HostText(c.Host), c.Path, c.PathType, c.Backend, result}
		}
		rows = append(rows, row)
	}
	headers := []string{"rank", "ingress", "host", "path", "type", "backend", "result"}
	if t.wide {
		headers = []string{"rank", "ingress", "rule", "class", "host", "path", "type", "backend", "result"}
	}
	t.table("MATCHING RULES (best first)", headers, rows)
}

// routeDetail prints the winning route of a URL: backend, endpoints, pods, TLS.
func (t *tableWriter) routeDetail(rc RouteCheck) {
	t.blank()
	if rc.Ingress.Name != "" {
		t.line("ROUTE", "ingress %s/%s %s", rc.Ingress.Namespace, rc.Ingress.Name, rc.Field)
	} else {
		t.line("ROUTE", "none")
	}
	if rc.Ingress.Name != "" {
		if rc.Profile != nil {
			t.line("PROFILE", "%s", rc.Profile.String())
		}
		t.line("BACKEND", "%s", backendLine(rc.Backend))
	}
	h := rc.Backend.Health
	if h != nil {
		if h.Checked {
			t.line("ENDPOINTS", "%d ready, %d not ready, %d terminating", h.Ready, h.NotReady, h.Terminating)
		}
		if h.Note != "" {
			t.line("HEALTH", "%s", h.Note)
		}
		if d := h.Diagnosis; d != nil {
			msg := d.Message
			if i := strings.Index(msg, ": see above)"); i >= 0 {
				msg = msg[:i] + "; details: kubectl svc-doctor diagnose svc/" + rc.Backend.Service + " -n " + rc.Backend.Namespace + ")"
			}
			t.line("DIAGNOSIS", "%s", diagnosisText(d.Kind, d.RootCause, d.Fix, msg))
		}
	}
	if rc.ControllerRoute != "" {
		t.line("ROUTED TO", "%s (where the controller really sends it)", rc.ControllerRoute)
	}
	if tl := rc.TLS; tl != nil {
		t.line("TLS", "%s", tlsLine(tl))
	}
	if h != nil {
		t.endpoints(h)
		t.pods(h)
	}
}

func backendLine(b RouteBackend) string {
	switch {
	case b.Resource != "":
		return "resource " + b.Resource
	case b.Service == "":
		return "(none)"
	}
	s := "service " + b.Namespace + "/" + b.Service + " port " + b.Requested
	switch {
	case b.Port != nil:
		s = "service " + b.Namespace + "/" + b.Service + " port " + PortText(b.Port) + " -> targetPort " + b.Port.TargetPort
	case !b.Known:
		s += " (not in the input)"
	case !b.Exists:
		s += " (does not exist)"
	default:
		s += " (no such port)"
	}
	if b.Type != "" && b.Type != "ClusterIP" {
		s += ", type " + b.Type
	}
	return s
}

func diagnosisText(kind, cause, fix, msg string) string {
	switch {
	case cause != "" && fix != "":
		return kind + ": " + cause + " (fix: " + fix + ")"
	case cause != "":
		return kind + ": " + cause
	case msg != "":
		return kind + ": " + msg
	}
	return kind
}

func tlsLine(tl *TLSInfo) string {
	s := "host " + tl.Host + ": Secret " + tl.Secret
	if tl.Ingress != nil {
		s += " (ingress " + tl.Ingress.Namespace + "/" + tl.Ingress.Name + " " + tl.Field + ")"
	}
	if c := tl.Certificate; c != nil {
		s += ", certificate for " + strings.Join(c.DNSNames, ",") + ", expires " + c.NotAfter.Format(time.DateOnly) + ", sha256 " + ShortFingerprint(c.SHA256)
	}
	if tl.OK {
		return s + ": OK"
	}
	if len(tl.Problems) > 0 {
		return s + ": BROKEN"
	}
	return s + ": not checked"
}

// ShortFingerprint abbreviates a certificate fingerprint for tables.
func ShortFingerprint(fp string) string {
	if len(fp) > 16 {
		return fp[:16] + "…"
	}
	return fp
}

func (t *tableWriter) endpoints(h *BackendHealth) {
	var rows [][]string
	for _, e := range h.Endpoints {
		rows = append(rows, []string{e.Address + ":" + strconv.Itoa(int(e.Port)), e.Pod, e.Node, strconv.FormatBool(e.Ready), strconv.FormatBool(e.Serving), strconv.FormatBool(e.Terminating)})
	}
	t.table("ENDPOINTS (EndpointSlices)", []string{"endpoint", "pod", "node", "ready", "serving", "terminating"}, rows)
}

func (t *tableWriter) pods(h *BackendHealth) {
	if !t.wide {
		// only the pods that are not ready: ready ones are in the endpoint table already
		var rows [][]string
		for _, p := range h.Pods {
			if !p.Ready {
				rows = append(rows, []string{p.Name, p.Phase, "false", p.Reason})
			}
		}
		t.table("PODS NOT READY", []string{"pod", "phase", "ready", "reason"}, rows)
		return
	}
	var rows [][]string
	for _, p := range h.Pods {
		rows = append(rows, []string{p.Name, p.Phase, strconv.FormatBool(p.Ready), p.Reason})
	}
	t.table("PODS", []string{"pod", "phase", "ready", "reason"}, rows)
}

// routes prints every route of the Ingresses (ing/NAME and every-Ingress modes).
func (t *tableWriter) routes() {
	var rows [][]string
	for _, rc := range t.r.Routes {
		host, path, typ := HostText(rc.Host), rc.Path, rc.PathType
		if rc.Default {
			host, path, typ = "(default backend)", "", ""
		}
		status := "OK"
		if !rc.OK() {
			status = "BROKEN"
		} else if rc.ShadowedBy != "" {
			status = "NEVER WINS"
		}
		row := []string{rc.Ingress.Namespace + "/" + rc.Ingress.Name, host, path, typ, backendShort(rc.Backend), endpointsShort(rc.Backend), tlsShort(rc.TLS), status}
		if t.wide {
			row = append([]string{}, row[:1]...)
			row = append(row, rc.Field, host, path, typ, backendShort(rc.Backend), endpointsShort(rc.Backend), tlsShort(rc.TLS), status)
		}
		rows = append(rows, row)
	}
	headers := []string{"ingress", "host", "path", "type", "backend", "endpoints", "tls", "status"}
	if t.wide {
		headers = []string{"ingress", "rule", "host", "path", "type", "backend", "endpoints", "tls", "status"}
	}
	t.table("ROUTES", headers, rows)
	var prob [][]string
	for _, rc := range t.r.Routes {
		where := rc.Ingress.Namespace + "/" + rc.Ingress.Name + " " + rc.Field
		for _, p := range rc.Problems {
			prob = append(prob, []string{"problem", where, p})
		}
		for _, w := range rc.Warnings {
			prob = append(prob, []string{"warning", where, w})
		}
	}
	t.table("ROUTE PROBLEMS", []string{"kind", "route", "message"}, prob)
}

func backendShort(b RouteBackend) string {
	switch {
	case b.Resource != "":
		return b.Resource
	case b.Service == "":
		return "(none)"
	case b.Port != nil:
		p := strconv.Itoa(int(b.Port.Port))
		if b.Port.Name != "" {
			p = b.Port.Name + "(" + p + ")"
		}
		return b.Service + ":" + p + "->" + b.Port.TargetPort
	case !b.Known:
		return b.Service + ":" + b.Requested + " (not in input)"
	case !b.Exists:
		return b.Service + ":" + b.Requested + " (missing)"
	}
	return b.Service + ":" + b.Requested + " (no such port)"
}

func endpointsShort(b RouteBackend) string {
	h := b.Health
	if h == nil {
		return "-"
	}
	if !h.Checked {
		return "not checked"
	}
	return fmt.Sprintf("%d/%d ready", h.Ready, h.Ready+h.NotReady+h.Terminating)
}

func tlsShort(tl *TLSInfo) string {
	if tl == nil {
		return "-"
	}
	name := tl.Secret
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	switch {
	case tl.OK:
		return name + " OK"
	case len(tl.Problems) > 0:
		return name + " BROKEN"
	}
	return name + " not checked"
}

func (t *tableWriter) findings() {
	var rows [][]string
	for _, f := range t.r.Findings {
		obj := ""
		if f.Object != nil {
			obj = f.Object.String()
		}
		loc := ""
		if f.Location != nil {
			loc = f.Location.String()
		}
		rows = append(rows, []string{f.Severity.String(), f.Rule, obj, loc, f.Message})
	}
	t.table("FINDINGS (lint rules)", []string{"severity", "rule", "object", "location", "message"}, rows)
}

func (t *tableWriter) probes() {
	var rows [][]string
	for _, p := range t.r.Probes {
		status := strconv.Itoa(p.Status)
		if p.Status == 0 {
			status = "failed"
		}
		answered := p.AnsweredBy
		if answered != "" && p.AnsweredService != "" {
			answered += " (" + p.AnsweredService + ")"
		}
		if answered == "" && p.Error != "" {
			answered = p.Error
		}
		cert := "-"
		if c := p.Certificate; c != nil {
			cert = ShortFingerprint(c.SHA256)
			switch {
			case c.MatchesSecret != nil && *c.MatchesSecret:
				cert += " = Secret"
			case c.MatchesSecret != nil:
				cert += " != Secret (" + c.Subject + ")"
			default:
				cert += " (" + c.Subject + ")"
			}
		}
		agrees := "?"
		if p.Agrees != nil {
			agrees = map[bool]string{true: "yes", false: "NO"}[*p.Agrees]
		}
		rows = append(rows, []string{p.URL, p.Host, status, answered, cert, p.Expected, agrees})
	}
	if len(rows) == 0 {
		return
	}
	via := t.r.Probes[0].Via
	t.table("PROBES (through "+via+")", []string{"url", "host", "status", "answered by", "certificate", "simulation", "agrees"}, rows)
	for _, p := range t.r.Probes {
		if p.Agrees == nil || !*p.Agrees || t.wide {
			t.line("", "  - %s: %s", p.URL, p.Result)
		}
	}
}

func (t *tableWriter) verdict() {
	v := t.r.Verdict
	t.blank()
	status := "OK"
	if !v.OK() {
		status = "BROKEN"
	}
	if t.color {
		status = map[bool]string{true: "\x1b[32m", false: "\x1b[31m"}[v.OK()] + status + "\x1b[0m"
	}
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, "VERDICT:     %s: %s\n", status, Sanitize(v.Text()))
	}
	if len(t.r.Routes) == 1 || t.r.Request != nil {
		for _, rc := range t.r.Routes {
			for _, p := range rc.Problems {
				t.line("", "  - problem: %s", p)
			}
			for _, w := range rc.Warnings {
				t.line("", "  - warning: %s", w)
			}
		}
	}
	t.gatewayVerdictLines()
}

// ClassText names an IngressClass in messages ("(none)" for no class).
func ClassText(c string) string {
	if c == "" {
		return "(none)"
	}
	return c
}

// HostText names an Ingress rule's host in messages ("(any host)" for none).
func HostText(h string) string {
	if h == "" {
		return "(any host)"
	}
	return h
}

// JUnit implements Document: one case per route checked (failing with its problems) and per
// probe sent through the controller, and the verdict.
func (r *IngressCheckReport) JUnit() JUnitSuites {
	class := "ingresscheck " + r.Target
	suite := JUnitSuite{Name: class}
	for _, rc := range r.Routes {
		name := rc.Ingress.Namespace + "/" + rc.Ingress.Name + " " + rc.Field
		if rc.Ingress.Name == "" {
			name = "no rule"
		}
		c := JUnitCase{Name: name, Classname: class, SystemOut: strings.Join(rc.Warnings, "\n")}
		if len(rc.Problems) > 0 {
			c.Failure = &JUnitFailure{Message: rc.Problems[0], Type: "broken", Text: strings.Join(rc.Problems, "\n")}
		}
		suite.Cases = append(suite.Cases, c)
	}
	for _, p := range r.Probes {
		c := JUnitCase{Name: "probe " + p.URL, Classname: class, SystemOut: p.Result}
		if p.Agrees != nil && !*p.Agrees {
			c.Failure = &JUnitFailure{Message: p.Result, Type: "probe", Text: p.Result}
		}
		suite.Cases = append(suite.Cases, c)
	}
	r.gatewayJUnit(&suite, class)
	suite.Cases = append(suite.Cases, verdictCase(class, r.Verdict))
	out := JUnitSuites{Name: "svc-doctor ingresscheck"}
	out.Add(suite)
	return out
}

// PortText names a backend's Service port: "http (80/TCP)", "80/TCP".
func PortText(p *BackendPort) string {
	if p.Name != "" {
		return fmt.Sprintf("%s (%d/%s)", p.Name, p.Port, p.Protocol)
	}
	return fmt.Sprintf("%d/%s", p.Port, p.Protocol)
}
