package gateway

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	// The conformance suite is a module of its own (sigs.k8s.io/gateway-api/conformance). This
	// import of its small report-types package keeps it in go.mod at the version of the API
	// module, so that the module cache holds the suite this test reads; nothing of it is used.
	_ "sigs.k8s.io/gateway-api/conformance/apis/v1"
)

var update = flag.Bool("update", false, "rewrite docs/gateway-conformance.md")

// conformanceModule is the module whose tests are the oracle.
const conformanceModule = "sigs.k8s.io/gateway-api/conformance"

// skipReason says why a derived case is not run: it needs behaviour the resolver does not
// model. Every other derived case must pass.
func skipReason(ct *confTest, c confCase) string {
	if c.Condition != "" {
		return ""
	}
	rq, _ := c.Expected["Request"].(map[string]any)
	resp, _ := c.Expected["Response"].(map[string]any)
	switch ct.ShortName {
	case "HTTPRouteTimeoutRequest", "HTTPRouteTimeoutBackendRequest":
		if containsInt(wantStatuses(resp), 504) {
			return "the expected 504 comes from a backend slower than the rule's timeouts (HTTPRouteRule.Timeouts are not modelled)"
		}
	case "HTTPRouteCORS":
		if m, _ := rq["Method"].(string); m == "OPTIONS" {
			return "a CORS preflight request is answered by the Gateway's CORS filter, which is not modelled"
		}
	}
	return ""
}

// zeroCaseNotes explain the tests from which no request case is derived.
var zeroCaseNotes = map[string]string{
	"HTTPRouteBackendProtocolWebSocket": "a WebSocket exchange (a dialer inside AwaitConvergence), not an expected response",
	"HTTPRouteRetry":                    "its expectations are built in a helper from a backend that fails on purpose at run time (retries are not modelled)",
}

// moduleDir returns the directory of a module in the module cache, as the go command sees it.
func moduleDir(t *testing.T, module string) (dir, version string) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH (%v): the test reads a module's directory with go list -m", err)
	}
	out, err := exec.Command(goCmd, "list", "-m", "-f", "{{.Dir}} {{.Version}}", module).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v (the module is a test dependency: run `go mod download %s`)", module, err, module)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || f[0] == "" {
		t.Fatalf("go list -m %s: no directory in %q (run `go mod download %s`)", module, out, module)
	}
	return f[0], f[1]
}

// confOutcome is the result of one derived case.
type confOutcome struct {
	test, name string
	condition  bool   // a status condition, not a request
	skip       string // why the case is not run
	fail       string // why it failed
}

// checkCondition compares a status condition the suite expects with the attachment and backend
// checks computed from the specs ("" when they agree).
func checkCondition(m *Model, c confCase) string {
	r := m.Route(KindHTTPRoute, c.RouteNS, c.RouteName)
	if r == nil && c.Condition != "ZeroRoutes" {
		return fmt.Sprintf("HTTPRoute %s/%s is not in the manifests", c.RouteNS, c.RouteName)
	}
	switch c.Condition {
	case "NoAcceptedParents":
		if r.Attached() {
			return fmt.Sprintf("%s is attached, want no accepted parent", r.Ref)
		}
	case "ZeroRoutes":
		g := m.Gateway(c.GatewayNS, c.GatewayName)
		if g == nil {
			return fmt.Sprintf("Gateway %s/%s is not in the manifests", c.GatewayNS, c.GatewayName)
		}
		for _, l := range g.Listeners {
			if len(l.Attached) > 0 {
				return fmt.Sprintf("%s has %d routes attached, want none", l, len(l.Attached))
			}
		}
	case "Accepted":
		for _, p := range r.Parents {
			if p.Gateway == nil || p.Gateway.Gateway.Name != c.GatewayName || p.Gateway.Gateway.Namespace != c.GatewayNS {
				continue
			}
			if p.Accepted == c.Status && (c.Reason == "" || p.Reason == c.Reason) {
				return ""
			}
		}
		return fmt.Sprintf("%s: want Accepted=%v %s on gateway/%s/%s, got %s", r.Ref, c.Status, c.Reason, c.GatewayNS, c.GatewayName, parentsText(r))
	case "ResolvedRefs":
		reasons := map[string]bool{}
		for _, b := range r.Backends {
			if !b.Invalid() {
				continue
			}
			for _, p := range b.Problems {
				reasons[p.Reason] = true
			}
		}
		if c.Status != (len(reasons) == 0) || (!c.Status && c.Reason != "" && !reasons[c.Reason]) {
			return fmt.Sprintf("%s: want ResolvedRefs=%v %s, got problems %v", r.Ref, c.Status, c.Reason, sortedKeys(reasons))
		}
	}
	return ""
}

func parentsText(r *RouteState) string {
	var out []string
	for _, p := range r.Parents {
		out = append(out, fmt.Sprintf("%s %s (%s)", p.Field, p.Reason, p.Message))
	}
	return strings.Join(out, "; ")
}

// TestConformance runs every request of the conformance suite's HTTPRoute tests through the
// resolver and compares the backend (or status, redirect and rewritten path) with what the
// suite expects.
func TestConformance(t *testing.T) {
	dir, version := moduleDir(t, conformanceModule)
	apiDir, apiVersion := moduleDir(t, "sigs.k8s.io/gateway-api")
	if apiVersion != version {
		t.Fatalf("the conformance suite is %s but the API module is %s: keep them at the same version in go.mod", version, apiVersion)
	}
	tests, err := parseConformance(dir, apiDir)
	if err != nil {
		t.Fatal(err)
	}
	var all []confOutcome
	for _, ct := range tests {
		paths := []string{filepath.Join(dir, "base", "manifests.yaml")}
		for _, m := range ct.Manifests {
			paths = append(paths, filepath.Join(dir, m))
		}
		objs := loadManifests(t, paths...)
		models := map[string]*Model{} // by the objects deleted so far
		for _, c := range ct.Cases {
			o := confOutcome{test: ct.ShortName, name: fmt.Sprintf("%s/%d", ct.ShortName, c.Index)}
			key := strings.Join(c.Deleted, ",")
			if models[key] == nil {
				models[key] = New(without(objs.Objects, c.Deleted))
			}
			o.condition = c.Condition != ""
			switch {
			case skipReason(ct, c) != "":
				o.skip = skipReason(ct, c)
			case o.condition:
				o.fail = checkCondition(models[key], c)
			case c.GatewayName == "" || c.Expected == nil:
				o.fail = "the parser could not tell the Gateway or the expectation of this case"
			default:
				o.fail, o.skip = runConfCase(models[key], objs, c)
			}
			all = append(all, o)
		}
	}
	report := conformanceReport(version, tests, all)
	for _, o := range all {
		if o.fail != "" {
			t.Errorf("%s: %s", o.name, o.fail)
		}
	}
	if len(all) < 300 {
		t.Errorf("only %d cases derived from %d tests: the parser no longer reads the suite", len(all), len(tests))
	}
	t.Log("\n" + report)
	path := filepath.Join("..", "..", "docs", "gateway-conformance.md")
	if *update {
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != report {
		t.Errorf("docs/gateway-conformance.md is out of date: run `go test ./route/gateway -run TestConformance -update`")
	}
}

// confRequest builds the resolver's request for a case: the listener port is the one of the
// first listener named in NewGatewayRef, else of the Gateway's first listener (as the suite's
// WaitForGatewayAddress picks it); a request without Host carries the Gateway address.
func confRequest(m *Model, c confCase) (Request, string) {
	g := m.Gateway(c.GatewayNS, c.GatewayName)
	if g == nil || len(g.Listeners) == 0 {
		return Request{}, fmt.Sprintf("Gateway %s/%s is not in the manifests", c.GatewayNS, c.GatewayName)
	}
	port := g.Listeners[0].Listener.Port
	if len(c.Listeners) > 0 {
		if l := g.Listener(c.Listeners[0]); l != nil {
			port = l.Listener.Port
		}
	}
	rq, _ := c.Expected["Request"].(map[string]any)
	req := Request{GatewayNamespace: c.GatewayNS, GatewayName: c.GatewayName, Scheme: c.Scheme, Port: port, SNI: c.SNI}
	req.Host, _ = rq["Host"].(string)
	if req.Host == "" {
		req.Host = "192.0.2.1:" + strconv.Itoa(int(port))
	}
	req.Method, _ = rq["Method"].(string)
	path, _ := rq["Path"].(string)
	path, rawQuery, _ := strings.Cut(path, "?")
	req.Path = path
	req.Query, _ = url.ParseQuery(rawQuery)
	if hs, ok := rq["Headers"].(map[string]any); ok {
		req.Headers = map[string][]string{}
		for k, v := range hs {
			if s, ok := v.(string); ok {
				req.Headers[k] = []string{s}
			}
		}
	}
	return req, ""
}

// runConfCase resolves one case and returns why it disagrees with the suite ("" when it agrees),
// or why it cannot be compared.
func runConfCase(m *Model, objs *confObjects, c confCase) (fail, skip string) {
	req, problem := confRequest(m, c)
	if problem != "" {
		return problem, ""
	}
	res := m.Resolve(req)[0]
	exp := c.Expected
	resp, _ := exp["Response"].(map[string]any)
	want := wantStatuses(resp)
	got := gotStatus(res)
	if !containsInt(want, got) {
		return fmt.Sprintf("%s %s%s: status %d, want %v (%s)", req.Method, req.Host, req.Path, got, want, res.Why), ""
	}
	if got == 200 {
		return checkBackend(res, objs, exp)
	}
	if rr, ok := exp["RedirectRequest"].(map[string]any); ok && res.Redirect != nil {
		return checkRedirect(res, rr), ""
	}
	return "", ""
}

// answeredBy reports whether a request sent to backend b is answered by the pods of the
// Deployment the suite names: the Service of that name, or a Service whose selector selects that
// Deployment's pods. For a Service without selector (its EndpointSlices are written at run time)
// it cannot tell: unknown is set.
func answeredBy(b *BackendShare, objs *confObjects, backend string) (ok, unknown bool) {
	if b.Name == backend {
		return true, false
	}
	if b.Service == nil || len(b.Service.Spec.Selector) == 0 {
		return false, true
	}
	for _, d := range objs.deployments {
		if d.Name == backend && d.Namespace == b.Namespace && labels.SelectorFromSet(b.Service.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			return true, false
		}
	}
	return false, false
}

func wantStatuses(resp map[string]any) []int {
	var want []int
	if codes, ok := resp["StatusCodes"].([]any); ok {
		for _, c := range codes {
			if n, ok := c.(int); ok {
				want = append(want, n)
			}
		}
	}
	if n, ok := resp["StatusCode"].(int); ok && n != 0 {
		want = append(want, n)
	}
	if len(want) == 0 {
		want = []int{200}
	}
	return want
}

// gotStatus is the status the resolution implies: 200 when forwarded to a valid backend, 500
// when every backend that gets requests is invalid (checkBackend then checks which one).
func gotStatus(res *Resolution) int {
	if !res.Forwarded() {
		return res.Status
	}
	for _, b := range res.Backends {
		if b.Share > 0 && b.Status == 0 {
			return 200
		}
	}
	return 500
}

func checkBackend(res *Resolution, objs *confObjects, exp map[string]any) (fail, skip string) {
	backend, _ := exp["Backend"].(string)
	ns, _ := exp["Namespace"].(string)
	if backend != "" {
		found, unknown := false, false
		for _, b := range res.Backends {
			if b.Share == 0 || b.Status != 0 || (ns != "" && b.Namespace != ns) {
				continue
			}
			ok, unk := answeredBy(b, objs, backend)
			found, unknown = found || ok, unknown || unk
		}
		switch {
		case !found && unknown:
			return "", "the backend Service has no selector: the test writes its EndpointSlices (pods of " + backend + ") at run time"
		case !found:
			return fmt.Sprintf("served by %s with backends %s, want %s/%s", res.Winner.Name(), backendsText(res), ns, backend), ""
		}
	}
	return checkRewrite(res, exp), ""
}

// checkRewrite compares the path (and host) the backend receives with ExpectedRequest.
func checkRewrite(res *Resolution, exp map[string]any) string {
	er, ok := exp["ExpectedRequest"].(map[string]any)
	if !ok {
		return ""
	}
	inner, _ := er["Request"].(map[string]any)
	if path, _ := inner["Path"].(string); path != "" {
		got := res.Request.Path
		if res.Rewrite != nil && res.Rewrite.Path != "" {
			got = res.Rewrite.Path
		}
		if p, _, _ := strings.Cut(path, "?"); got != p {
			return fmt.Sprintf("the backend sees path %s, want %s", got, p)
		}
	}
	if host, _ := inner["Host"].(string); host != "" && res.Rewrite != nil && res.Rewrite.Hostname != "" && res.Rewrite.Hostname != host {
		return fmt.Sprintf("the backend sees host %s, want %s", res.Rewrite.Hostname, host)
	}
	return ""
}

func backendsText(res *Resolution) string {
	var out []string
	for _, b := range res.Backends {
		out = append(out, fmt.Sprintf("%s (share %.2f, status %d)", b, b.Share, b.Status))
	}
	return strings.Join(out, ", ")
}

// checkRedirect compares a redirect as the suite does (utils/http CompareRoundTrip): an empty
// expected host is not checked, an empty scheme or path is the request's, an empty port means
// none or the scheme's well-known port.
func checkRedirect(res *Resolution, rr map[string]any) string {
	r := res.Redirect
	if host, _ := rr["Host"].(string); host != "" && host != r.Hostname {
		return fmt.Sprintf("redirects to host %s, want %s", r.Hostname, host)
	}
	scheme, _ := rr["Scheme"].(string)
	if scheme == "" {
		scheme = res.Request.Scheme
	}
	if scheme != r.Scheme {
		return fmt.Sprintf("redirects to scheme %s, want %s", r.Scheme, scheme)
	}
	port, _ := rr["Port"].(string)
	gotPort := ""
	if r.Port != 0 {
		gotPort = strconv.Itoa(int(r.Port))
	}
	if port != gotPort && (port != "" || (gotPort != "80" || r.Scheme != "http") && (gotPort != "443" || r.Scheme != "https")) {
		return fmt.Sprintf("redirects to port %q, want %q", gotPort, port)
	}
	path, _ := rr["Path"].(string)
	if path == "" {
		path = res.Request.Path
	}
	if path != r.Path {
		return fmt.Sprintf("redirects to path %s, want %s", r.Path, path)
	}
	return ""
}

func containsInt(list []int, n int) bool {
	for _, v := range list {
		if v == n {
			return true
		}
	}
	return false
}

// conformanceReport renders docs/gateway-conformance.md: the module version, the counts, and
// every test with its derived, passing and skipped cases.
func conformanceReport(version string, tests []*confTest, all []confOutcome) string {
	type counts struct {
		derived, passed, skipped, conds, condsPassed int
		skips                                        map[string]int
	}
	per := map[string]*counts{}
	var total counts
	for _, o := range all {
		c := per[o.test]
		if c == nil {
			c = &counts{skips: map[string]int{}}
			per[o.test] = c
		}
		if o.condition {
			c.conds++
			total.conds++
			if o.fail == "" {
				c.condsPassed++
				total.condsPassed++
			}
			continue
		}
		c.derived++
		total.derived++
		switch {
		case o.skip != "":
			c.skipped++
			total.skipped++
			c.skips[o.skip]++
		case o.fail == "":
			c.passed++
			total.passed++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Gateway API conformance as an oracle\n\n")
	fmt.Fprintf(&b, "Generated by `go test ./route/gateway -run TestConformance -update`; the test fails when this file drifts.\n\n")
	fmt.Fprintf(&b, "`route/gateway` is checked against the HTTPRoute tests of the Gateway API conformance suite, module `%s` %s, ", conformanceModule, version)
	fmt.Fprintf(&b, "read from the Go module cache (no network): the test files are parsed with go/parser and their manifests decoded.\n\n")
	fmt.Fprintf(&b, "- **Requests**: each request's expected backend (the Deployment that answers, reached through the Service) or status, ")
	fmt.Fprintf(&b, "and the redirect or the path the backend receives when the case has one, is compared with the resolver's. ")
	fmt.Fprintf(&b, "Header modifications, mirrors, response headers and protocols are not compared.\n")
	fmt.Fprintf(&b, "- **Conditions**: each route condition the test waits for (Accepted on a Gateway, ResolvedRefs, no accepted parent, ")
	fmt.Fprintf(&b, "a Gateway with zero routes) is compared with the attachment and backend checks computed from the specs.\n\n")
	fmt.Fprintf(&b, "**%d tests: %d request cases derived, %d passing, %d skipped, %d failing; %d condition cases, %d passing.**\n\n",
		len(tests), total.derived, total.passed, total.skipped, total.derived-total.passed-total.skipped, total.conds, total.condsPassed)
	fmt.Fprintf(&b, "| test | requests | passing | skipped | conditions | passing | note |\n|---|---:|---:|---:|---:|---:|---|\n")
	sorted := append([]*confTest(nil), tests...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ShortName < sorted[j].ShortName })
	for _, ct := range sorted {
		c := per[ct.ShortName]
		if c == nil {
			c = &counts{skips: map[string]int{}}
		}
		var notes []string
		for _, why := range sortedKeys(boolSet(c.skips)) {
			notes = append(notes, fmt.Sprintf("%d skipped: %s", c.skips[why], why))
		}
		if c.derived == 0 {
			note := zeroCaseNotes[ct.ShortName]
			if note == "" {
				note = "no request: the test checks status conditions only"
			}
			notes = append(notes, note)
		}
		fmt.Fprintf(&b, "| %s (`%s`) | %d | %d | %d | %d | %d | %s |\n", ct.ShortName, ct.File, c.derived, c.passed, c.skipped, c.conds, c.condsPassed, strings.Join(notes, "; "))
	}
	return b.String()
}

func boolSet(m map[string]int) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}
