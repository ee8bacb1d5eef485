package servicetrace

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/trace"
)

// probe is one planned network check and what it targets.
type probe struct {
	check   agent.Check
	target  Target
	cluster bool // via the ClusterIP (else an endpoint directly)
	kind    string
	result  agent.Result
}

func (p *probe) where() string {
	if p.cluster {
		return "ClusterIP"
	}
	if p.target.Pod != "" {
		return "pod/" + p.target.Pod
	}
	return "manual endpoint"
}

// planChecks builds the TCP/UDP/HTTP checks for one address and port.
func (st *State) planChecks(id string, t Target, cluster bool) []*probe {
	timeout := agent.Duration{Duration: st.CheckTimeout}
	var out []*probe
	switch t.Protocol {
	case corev1.ProtocolTCP:
		out = append(out, &probe{check: agent.Check{ID: id + "-tcp", Type: agent.CheckTCP, Timeout: timeout, TCP: &agent.TCPCheck{Host: t.IP, Port: int(t.Port)}}, target: t, cluster: cluster, kind: "tcp"})
		if st.HTTPPath != "" {
			u := url.URL{Scheme: "http", Host: net.JoinHostPort(t.IP, strconv.Itoa(int(t.Port))), Path: st.HTTPPath}
			out = append(out, &probe{check: agent.Check{ID: id + "-http", Type: agent.CheckHTTP, Timeout: timeout, HTTP: &agent.HTTPCheck{URL: u.String()}}, target: t, cluster: cluster, kind: "http"})
		}
	case corev1.ProtocolUDP:
		out = append(out, &probe{check: agent.Check{ID: id + "-udp", Type: agent.CheckUDP, Timeout: timeout, UDP: &agent.UDPCheck{Host: t.IP, Port: int(t.Port)}}, target: t, cluster: cluster, kind: "udp"})
	}
	return out
}

func (p *probe) line() string {
	r := p.result
	s := fmt.Sprintf("%s %s (%s", p.kind, net.JoinHostPort(p.target.IP, strconv.Itoa(int(p.target.Port))), p.where())
	if p.target.PortName != "" {
		s += ", port " + p.target.PortName
	}
	s += "): "
	switch {
	case r.OK && p.kind == "udp" && r.UDP != nil && r.UDP.Outcome == agent.UDPNoAnswer:
		s += "no reply (UDP has no handshake: silence proves nothing)"
	case r.OK && p.kind == "http" && r.HTTP != nil:
		s += fmt.Sprintf("HTTP %d", r.HTTP.StatusCode)
	case r.OK:
		s += "ok"
	default:
		s += string(r.Failure) + ": " + r.Detail
	}
	return s + fmt.Sprintf(" (%s)", r.Duration.Duration.Round(100_000))
}

func runConnectivity(ctx context.Context, st *State) trace.Result {
	svc := st.Service
	if semantics.IsExternalName(svc) {
		return trace.Result{Status: trace.Skip, Summary: "not applicable: ExternalName Service (no proxying; see hop dns)"}
	}
	ag, src, err := st.agentFor(ctx)
	if err != nil {
		return trace.Result{Status: trace.Skip, Incomplete: true, Summary: "skipped: no helper: " + err.Error()}
	}
	probes, notes := st.planConnectivity()
	if len(probes) == 0 {
		return trace.Result{Status: trace.Skip, Summary: "nothing to test: no ClusterIP and no ready endpoint", Evidence: notes}
	}
	req := agent.Request{APIVersion: agent.APIVersion, Kind: agent.KindCheckRequest}
	for _, p := range probes {
		req.Checks = append(req.Checks, p.check)
	}
	resp, err := ag.Run(ctx, req)
	if err != nil {
		return trace.Result{Status: trace.Skip, Incomplete: true, Summary: "skipped: the agent did not run: " + err.Error()}
	}
	for i, p := range probes {
		p.result = resp.Results[i]
	}
	// The endpoints answer but the ClusterIP does not: kube-proxy may still be programming a
	// new or changed Service. Test the ClusterIP once more before calling it a proxy fault.
	if len(failures(probes)) > 0 && len(failures(probesOf(probes, false))) == 0 && st.ProxyRetryDelay >= 0 {
		select {
		case <-time.After(st.ProxyRetryDelay):
		case <-ctx.Done():
		}
		retry := agent.Request{APIVersion: agent.APIVersion, Kind: agent.KindCheckRequest}
		var again []*probe
		for _, p := range probes {
			if p.cluster && !p.result.OK {
				retry.Checks = append(retry.Checks, p.check)
				again = append(again, p)
			}
		}
		if resp, err := ag.Run(ctx, retry); err == nil {
			for i, p := range again {
				p.result = resp.Results[i]
			}
			notes = append(notes, fmt.Sprintf("the ClusterIP did not answer at first and was tested again after %s (kube-proxy may still have been programming the Service)", st.ProxyRetryDelay))
		}
	}
	return st.judgeConnectivity(ctx, src, probes, notes)
}

// probesOf returns the probes of the endpoints (cluster=false) or of the ClusterIP (true).
func probesOf(ps []*probe, cluster bool) []*probe {
	var out []*probe
	for _, p := range ps {
		if p.cluster == cluster {
			out = append(out, p)
		}
	}
	return out
}

type failureGroup struct {
	class  agent.FailureClass
	probes []*probe
}

func (st *State) judgeConnectivity(ctx context.Context, src *trace.Source, probes []*probe, notes []string) trace.Result {
	r := trace.Result{Status: trace.Pass}
	r.Evidence = append(r.Evidence, "from "+src.Description+nodeSuffix(src.Node))
	var cip, ep []*probe
	for _, p := range probes {
		if p.cluster {
			cip = append(cip, p)
		} else {
			ep = append(ep, p)
		}
	}
	lines := 0
	for _, p := range append(append([]*probe{}, cip...), ep...) {
		if lines == 2*maxListed {
			r.Evidence = append(r.Evidence, fmt.Sprintf("... and %d more checks", len(probes)-lines))
			break
		}
		r.Evidence = append(r.Evidence, p.line())
		lines++
	}
	r.Evidence = append(r.Evidence, notes...)
	epFail := failures(ep)
	cipFail := failures(cip)
	epOK := countOK(ep)
	cipOK := countOK(cip)
	st.connectivityOK = len(epFail) == 0 && len(cipFail) == 0

	// manual endpoints that do not answer are stale
	if st.ManualEndpoints && len(epFail) > 0 {
		return st.staleManualAddresses(r, ep, epFail)
	}
	if res, ok := st.judgeEndpointFailures(ctx, src, r, ep, epFail); ok {
		return res
	}
	if len(cipFail) > 0 {
		return st.clusterIPFault(r, src, ep, epOK, cipFail[0])
	}
	switch {
	case len(cip) > 0 && len(ep) > 0:
		r.Summary = fmt.Sprintf("the ClusterIP (%d/%d checks) and %d/%d endpoint checks answer", cipOK, len(cip), epOK, len(ep))
	case len(cip) > 0:
		r.Summary = fmt.Sprintf("the ClusterIP answers (%d/%d checks)", cipOK, len(cip))
	default:
		r.Summary = fmt.Sprintf("%d/%d endpoint checks answer", epOK, len(ep))
	}
	return r
}

func nodeSuffix(node string) string {
	if node == "" {
		return ""
	}
	return " on node " + node
}

func verbFor(c agent.FailureClass) string {
	if c == agent.FailUnreachable {
		return "unreachable"
	}
	return "connections time out"
}

// policies evaluates the NetworkPolicies for src once.
func (st *State) policies(ctx context.Context, src *trace.Source) *policyEvaluation {
	if st.policyEval == nil {
		st.policyEval = st.evaluatePolicies(ctx, src)
	}
	return st.policyEval
}

// notListening explains endpoints that refuse connections.
func (st *State) notListening(r trace.Result, g failureGroup, ep []*probe) trace.Result {
	svc := st.Service
	ns := svc.Namespace
	t := g.probes[0].target
	r.Status = trace.Fail
	verb := report.Plural(len(distinctBackends(g.probes)), "refuses", "refuse")
	r.Summary = fmt.Sprintf("%s %s connections on %s: nothing listens there", podsOf(g.probes), verb, portsOf(g.probes))
	cause := &trace.Cause{RootCause: fmt.Sprintf("the application does not listen on targetPort %d: %s %s connections on %s",
		t.Port, podsOf(g.probes), verb, portsOf(g.probes))}
	// what the container declares, to propose a targetPort
	var pod *corev1.Pod
	for _, p := range st.Pods {
		if p.Name == t.Pod {
			pod = p
		}
	}
	idx := -1
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Name == t.PortName {
			idx = i
		}
	}
	var other []corev1.ContainerPort
	if pod != nil {
		for _, cp := range servingPorts(&pod.Spec) {
			if cp.port.ContainerPort != t.Port && semantics.Protocol(cp.port.Protocol) == t.Protocol {
				other = append(other, cp.port)
			}
		}
	}
	switch {
	case len(other) == 1 && idx >= 0:
		var value any = other[0].ContainerPort
		if other[0].Name != "" {
			value = other[0].Name
		}
		patch, _ := json.Marshal([]map[string]any{{"op": "replace", "path": fmt.Sprintf("/spec/ports/%d/targetPort", idx), "value": value}})
		cause.RootCause += fmt.Sprintf(" (the container declares %d/%s)", other[0].ContainerPort, t.Protocol)
		cause.Fix = fmt.Sprintf("point the Service at the port the app listens on: kubectl -n %s patch service %s --type json -p '%s'   (or make the app listen on %d)", ns, svc.Name, patch, t.Port)
	default:
		cause.Fix = fmt.Sprintf("make the application listen on port %d (on all interfaces, not 127.0.0.1), or set targetPort of service/%s to the port it listens on", t.Port, svc.Name)
	}
	r.Cause = cause
	return r
}

func failures(ps []*probe) []failureGroup {
	idx := map[agent.FailureClass]int{}
	var out []failureGroup
	for _, p := range ps {
		if p.result.OK {
			continue
		}
		c := p.result.Failure
		if p.kind == "udp" && p.result.UDP != nil && p.result.UDP.Outcome == agent.UDPRefused {
			c = agent.FailRefused
		}
		i, ok := idx[c]
		if !ok {
			i = len(out)
			idx[c] = i
			out = append(out, failureGroup{class: c})
		}
		out[i].probes = append(out[i].probes, p)
	}
	return out
}

func countOK(ps []*probe) int {
	n := 0
	for _, p := range ps {
		if p.result.OK {
			n++
		}
	}
	return n
}

// distinctBackends lists the pods (or addresses) probes went to.
func distinctBackends(ps []*probe) []string {
	set := map[string]bool{}
	for _, p := range ps {
		if p.target.Pod != "" {
			set[p.target.Pod] = true
		} else {
			set[p.target.IP] = true
		}
	}
	return sortedKeys(set)
}

func podsOf(ps []*probe) string {
	set := map[string]bool{}
	for _, p := range ps {
		if p.target.Pod != "" {
			set["pod/"+p.target.Pod] = true
		} else {
			set[p.target.IP] = true
		}
	}
	return strings.Join(capList(sortedKeys(set)), ", ")
}

func portsOf(ps []*probe) string {
	set := map[string]bool{}
	for _, p := range ps {
		set[fmt.Sprintf("%d/%s", p.target.Port, p.target.Protocol)] = true
	}
	return "port " + strings.Join(sortedKeys(set), ", ")
}

func firstPod(ps []*probe) string {
	for _, p := range ps {
		if p.target.Pod != "" {
			return "pod/" + p.target.Pod
		}
	}
	return "<pod>"
}

func failedTargets(gs []failureGroup) []string {
	set := map[string]bool{}
	for _, g := range gs {
		for _, p := range g.probes {
			set[net.JoinHostPort(p.target.IP, strconv.Itoa(int(p.target.Port)))] = true
		}
	}
	out := sortedKeys(set)
	sort.Strings(out)
	return out
}

func distinctTargets(ps []*probe) []string {
	set := map[string]bool{}
	for _, p := range ps {
		set[net.JoinHostPort(p.target.IP, strconv.Itoa(int(p.target.Port)))] = true
	}
	return sortedKeys(set)
}

// planConnectivity lists the checks of the connectivity hop: every port of the ClusterIP, then
// every endpoint target directly (at most MaxEndpoints), with notes on what is left out.
func (st *State) planConnectivity() ([]*probe, []string) {
	svc := st.Service
	var probes []*probe
	var notes []string
	clusterIP := svc.Spec.ClusterIP
	if !semantics.IsHeadless(svc) && clusterIP != "" {
		for i, sp := range st.Ports {
			if semantics.Protocol(sp.Protocol) == corev1.ProtocolSCTP {
				notes = append(notes, "port "+semantics.PortName(&sp)+": SCTP is not tested")
				continue
			}
			probes = append(probes, st.planChecks(fmt.Sprintf("cip-%d", i), Target{IP: clusterIP, Port: sp.Port, PortName: sp.Name, Protocol: semantics.Protocol(sp.Protocol)}, true)...)
		}
	}
	targets := st.Targets
	if st.SlicesUnread != "" && !st.ManualEndpoints {
		notes = append(notes, "the endpoints were not tested directly: the EndpointSlices could not be read ("+st.SlicesUnread+")")
	}
	if len(targets) > st.MaxEndpoints {
		notes = append(notes, fmt.Sprintf("%d of %d endpoint targets tested", st.MaxEndpoints, len(targets)))
		targets = targets[:st.MaxEndpoints]
	}
	for i, t := range targets {
		probes = append(probes, st.planChecks(fmt.Sprintf("ep-%d", i), t, false)...)
	}
	if len(probes) > agent.MaxChecks {
		probes = probes[:agent.MaxChecks]
	}
	return probes, notes
}

// staleManualAddresses is the fault of hand-written endpoint addresses that do not answer.
func (st *State) staleManualAddresses(r trace.Result, ep []*probe, epFail []failureGroup) trace.Result {
	svc := st.Service
	ns := svc.Namespace
	bad := failedTargets(epFail)
	r.Status = trace.Fail
	r.Summary = fmt.Sprintf("%d of %d manual endpoint %s do not answer: %s", len(bad), len(distinctTargets(ep)), report.Plural(len(ep), "address", "addresses"), strings.Join(capList(bad), ", "))
	slice, mirrored := "<slice>", false
	if len(st.Slices) > 0 {
		slice = st.Slices[0].Name
		mirrored = st.Slices[0].Labels[discoveryv1.LabelManagedBy] == mirrorControllerName
	}
	fix := fmt.Sprintf("update or remove the stale addresses: kubectl -n %s edit endpointslice/%s, or give the Service a selector", ns, slice)
	if mirrored {
		fix = fmt.Sprintf("update or remove the stale addresses in the Endpoints object: kubectl -n %s edit endpoints/%s (endpointslice/%s is mirrored from it: edits to the slice are undone), or give the Service a selector", ns, svc.Name, slice)
	}
	r.Cause = &trace.Cause{RootCause: fmt.Sprintf("stale endpoint addresses: service/%s has no selector and its hand-written endpoints %s do not answer (%s)", svc.Name, strings.Join(capList(bad), ", "), epFail[0].class),
		Fix: fix}
	return r
}

// judgeEndpointFailures judges the endpoints that fail, the class that explains the most first:
// refused, reset, timed out or unreachable (a NetworkPolicy, or the application or the pod
// network), an HTTP status, anything else. False when every endpoint answers.
func (st *State) judgeEndpointFailures(ctx context.Context, src *trace.Source, r trace.Result, ep []*probe, epFail []failureGroup) (trace.Result, bool) {
	ns := st.Service.Namespace
	for _, g := range epFail {
		switch g.class {
		case agent.FailRefused:
			return st.notListening(r, g, ep), true
		case agent.FailReset:
			r.Status = trace.Fail
			r.Summary = fmt.Sprintf("%s %s the connection on %s", podsOf(g.probes), report.Plural(len(distinctBackends(g.probes)), "resets", "reset"), portsOf(g.probes))
			r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the backends (%s) accept and then reset connections on %s: the application or a sidecar rejects them", podsOf(g.probes), portsOf(g.probes)),
				Fix: fmt.Sprintf("read the application's logs: kubectl -n %s logs %s", ns, firstPod(g.probes))}
			return r, true
		}
	}
	for _, g := range epFail {
		if g.class == agent.FailTimeout || g.class == agent.FailUnreachable {
			pe := st.policies(ctx, src)
			r.Evidence = append(r.Evidence, pe.Lines...)
			r.Status = trace.Fail
			if pe.Denies() {
				r.Summary = fmt.Sprintf("%s: %s on %s, and NetworkPolicy %s denies %s", podsOf(g.probes), verbFor(g.class), portsOf(g.probes), strings.Join(pe.Blockers(), ", "), src.Description)
				what := "admits nothing (no ingress rule)"
				if len(pe.DenyAll) == 0 {
					what = "does not admit it"
				}
				if len(pe.DeniedIngress) == 0 {
					what = "egress of the client is restricted"
				}
				r.Cause = &trace.Cause{RootCause: fmt.Sprintf("NetworkPolicy: %s selects the backend pods and %s: connections from %s to %s time out", strings.Join(pe.Blockers(), ", "), what, src.Description, portsOf(g.probes)),
					Fix: policyFix(st, pe)}
				return r, true
			}
			r.Summary = fmt.Sprintf("%s: %s on %s (no NetworkPolicy explains it)", podsOf(g.probes), verbFor(g.class), portsOf(g.probes))
			r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the backends %s do not answer on %s (%s) and no NetworkPolicy denies the traffic: the application is hung or the pod network drops packets", podsOf(g.probes), portsOf(g.probes), g.class),
				Fix: fmt.Sprintf("check the application (kubectl -n %s logs %s) and the pod network on node %s (CNI plugin, host firewall)", ns, firstPod(g.probes), orNone(g.probes[0].target.Node))}
			return r, true
		}
	}
	for _, g := range epFail {
		if g.class == agent.FailHTTPStatus {
			r.Status = trace.Fail
			code := 0
			if h := g.probes[0].result.HTTP; h != nil {
				code = h.StatusCode
			}
			r.Summary = fmt.Sprintf("%s: HTTP %d on GET %s", podsOf(g.probes), code, st.HTTPPath)
			r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the application answers HTTP %d to GET %s (%s)", code, st.HTTPPath, podsOf(g.probes)),
				Fix: fmt.Sprintf("the path is reached: fix the application or the path (kubectl -n %s logs %s)", ns, firstPod(g.probes))}
			return r, true
		}
	}
	if len(epFail) > 0 {
		g := epFail[0]
		r.Status = trace.Fail
		r.Summary = fmt.Sprintf("%s: %s", podsOf(g.probes), g.probes[0].result.Detail)
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the backends do not answer on %s: %s", portsOf(g.probes), g.probes[0].result.Detail),
			Fix: fmt.Sprintf("kubectl -n %s logs %s", ns, firstPod(g.probes))}
		return r, true
	}
	return r, false
}

// clusterIPFault is the fault of a ClusterIP that does not answer (g) while the endpoints do, or
// when they could not be tested.
func (st *State) clusterIPFault(r trace.Result, src *trace.Source, ep []*probe, epOK int, g failureGroup) trace.Result {
	svc := st.Service
	ns := svc.Namespace
	r.Status = trace.Fail
	if len(ep) == 0 && st.SlicesUnread != "" {
		r.Summary = fmt.Sprintf("ClusterIP %s: %s", net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(g.probes[0].target.Port))), g.probes[0].result.Detail)
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the ClusterIP does not answer (%s); whether the backends or the service proxy are at fault is unknown: the EndpointSlices could not be read (%s)", g.class, st.SlicesUnread),
			Fix: fmt.Sprintf("kubectl -n %s get endpointslices -l %s=%s (does it have ready endpoints?), or grant list on endpointslices and run the diagnosis again", ns, discoveryv1.LabelServiceName, svc.Name)}
		return r
	}
	if len(ep) == 0 {
		r.Summary = fmt.Sprintf("ClusterIP %s: %s", net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(g.probes[0].target.Port))), g.probes[0].result.Detail)
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the ClusterIP does not answer (%s)", g.class), Fix: "check kube-proxy on node " + orNone(src.Node)}
		return r
	}
	r.Summary = fmt.Sprintf("every endpoint answers directly (%d/%d), but the ClusterIP %s does not (%s)", epOK, len(ep), svc.Spec.ClusterIP, g.class)
	r.Cause = &trace.Cause{RootCause: fmt.Sprintf("service proxy fault: the endpoints answer directly, but %s:%d (the ClusterIP) does not forward to them (%s) from node %s", svc.Spec.ClusterIP, g.probes[0].target.Port, g.class, orNone(src.Node)),
		Fix: fmt.Sprintf("check kube-proxy (or the CNI's service proxy) on node %s: is it running, and does it program the Service (iptables-save | grep %s, or ipvsadm -Ln)? A NetworkPolicy enforcer or host firewall that drops routed (DNATed) pod traffic looks the same", orNone(src.Node), svc.Spec.ClusterIP)}
	return r
}
