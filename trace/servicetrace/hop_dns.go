package servicetrace

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/trace"
)

// ClusterDomainFromSearch derives the cluster domain from a pod's search path (the entry
// "svc.<domain>"); ok is false when the path has none.
func ClusterDomainFromSearch(search []string) (string, bool) {
	for _, s := range search {
		if d, ok := strings.CutPrefix(strings.TrimSuffix(s, "."), "svc."); ok && d != "" {
			return d, true
		}
	}
	return "cluster.local", false
}

// serviceSlices returns the Service's EndpointSlices: those the endpoints hop read, or else the
// snapshot's.
func serviceSlices(ctx context.Context, st *State) []*discoveryv1.EndpointSlice {
	if st.Slices != nil {
		return st.Slices
	}
	snap, err := st.Reads.Snapshot(ctx)
	if err != nil {
		return nil
	}
	var out []*discoveryv1.EndpointSlice
	for _, s := range snap.EndpointSlices {
		if s.Namespace == st.Service.Namespace && s.Labels[discoveryv1.LabelServiceName] == st.Service.Name {
			out = append(out, s.EndpointSlice)
		}
	}
	return out
}

// headlessAddresses are the IPv4 addresses a headless Service's name resolves to: its ready
// endpoints (the endpoint controllers publish not-ready pods as ready when
// publishNotReadyAddresses is set).
func headlessAddresses(slices []*discoveryv1.EndpointSlice) []string {
	set := map[string]bool{}
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, e := range s.Endpoints {
			if cond(e.Conditions.Ready, true) {
				for _, a := range e.Addresses {
					set[a] = true
				}
			}
		}
	}
	return sortedKeys(set)
}

func ipv4(ips []string) []string {
	var out []string
	for _, ip := range ips {
		if p := net.ParseIP(ip); p != nil && p.To4() != nil {
			out = append(out, ip)
		}
	}
	sort.Strings(out)
	return out
}

// dnsQueries plans the queries for a Service, with their expected answers.
func dnsQueries(st *State, slices []*discoveryv1.EndpointSlice, domain string, sameNamespace bool) []report.DNSQuery {
	svc := st.Service
	fqdn := fmt.Sprintf("%s.%s.svc.%s", svc.Name, svc.Namespace, domain)
	var expected []string
	from := ""
	switch {
	case semantics.IsExternalName(svc):
		var qs []report.DNSQuery
		qs = append(qs, report.DNSQuery{Purpose: "FQDN", Name: fqdn + ".", Type: agent.QueryCNAME, Expected: []string{strings.TrimSuffix(svc.Spec.ExternalName, ".") + "."}, ExpectedFrom: "spec.externalName"})
		if sameNamespace {
			qs = append(qs, report.DNSQuery{Purpose: "short name", Name: svc.Name, Type: agent.QueryCNAME, Expected: []string{strings.TrimSuffix(svc.Spec.ExternalName, ".") + "."}, ExpectedFrom: "spec.externalName"})
		}
		target := strings.TrimSuffix(svc.Spec.ExternalName, ".")
		if net.ParseIP(target) == nil {
			qs = append(qs, report.DNSQuery{Purpose: "ExternalName target", Name: target + ".", Type: agent.QueryA, AnyAnswer: true, ExpectedFrom: "any address (the target must resolve)"})
		}
		return qs
	case semantics.IsHeadless(svc):
		expected = headlessAddresses(slices)
		from = fmt.Sprintf("%d ready %s (headless: one A record per ready pod)", len(expected), report.Plural(len(expected), "endpoint", "endpoints"))
		if svc.Spec.PublishNotReadyAddresses {
			from += ", not-ready ones included (publishNotReadyAddresses)"
		}
	default:
		expected = ipv4(nonEmpty(svc.Spec.ClusterIPs, svc.Spec.ClusterIP))
		from = "the ClusterIP"
	}
	var qs []report.DNSQuery
	if sameNamespace {
		qs = append(qs, report.DNSQuery{Purpose: "short name", Name: svc.Name, Type: agent.QueryA, Expected: expected, ExpectedFrom: from})
	}
	qs = append(qs,
		report.DNSQuery{Purpose: "name.namespace", Name: svc.Name + "." + svc.Namespace, Type: agent.QueryA, Expected: expected, ExpectedFrom: from},
		report.DNSQuery{Purpose: "FQDN", Name: fqdn + ".", Type: agent.QueryA, Expected: expected, ExpectedFrom: from})
	// SRV records for named ports
	for _, sp := range st.Ports {
		if sp.Name == "" || len(qs) >= 12 {
			continue
		}
		name := fmt.Sprintf("_%s._%s.%s.", sp.Name, strings.ToLower(string(semantics.Protocol(sp.Protocol))), fqdn)
		q := report.DNSQuery{Purpose: "SRV " + sp.Name, Name: name, Type: agent.QuerySRV}
		if semantics.IsHeadless(svc) {
			sp := sp
			for _, s := range slices {
				p, ok := slicePort(s, &sp)
				if !ok || p.Port == nil || s.AddressType != discoveryv1.AddressTypeIPv4 {
					continue
				}
				for _, e := range s.Endpoints {
					if cond(e.Conditions.Ready, true) && len(e.Addresses) > 0 {
						q.Expected = append(q.Expected, fmt.Sprintf("port %d", *p.Port))
					}
				}
			}
			q.ExpectedFrom = "one record per ready endpoint, port = the endpoint's port"
		} else {
			q.Expected = []string{fmt.Sprintf("%s.:%d", fqdn, sp.Port)}
			q.ExpectedFrom = "the Service name and port"
		}
		sort.Strings(q.Expected)
		qs = append(qs, q)
	}
	return qs
}

func dnsInfraFailure(f agent.FailureClass) bool {
	switch f {
	case agent.FailDNSTimeout, agent.FailTimeout, agent.FailRefused, agent.FailServFail, agent.FailUnreachable:
		return true
	}
	return false
}

// CheckDNS runs the DNS hop's queries from the agent and compares them with the API's
// expectations. It needs st.Service; st.Ports selects the SRV records.
func CheckDNS(ctx context.Context, st *State) (*report.DNSReport, trace.Result) {
	ag, src, err := st.agentFor(ctx)
	if err != nil {
		return nil, trace.Result{Status: trace.Skip, Incomplete: true, Summary: "skipped: no helper: " + err.Error()}
	}
	rep := &report.DNSReport{Source: src.Description}
	sameNS := src.Namespace == st.Service.Namespace
	if st.prefetch && !st.prefetched {
		// one exec for the resolver configuration, the queries (for the usual cluster domain:
		// another one asks again), the connectivity hop's checks and the exposure hop's node ports
		st.prefetched = true
		checks := append([]agent.Check{{ID: "resolvconf", Type: agent.CheckResolvConf}},
			dnsChecks(dnsQueries(st, serviceSlices(ctx, st), defaultClusterDomain, sameNS), st.CheckTimeout)...)
		if !semantics.IsExternalName(st.Service) {
			probes, _ := st.planConnectivity()
			for _, p := range probes {
				checks = append(checks, p.check)
			}
			checks = append(checks, st.nodePortPrefetch(ctx)...)
		}
		_ = st.batch.prefetch(ctx, checks) // on error, each hop sends its own request and says so
	}
	// first the resolver configuration, to know the cluster domain
	resp, err := ag.Run(ctx, agent.NewRequest(agent.Check{ID: "resolvconf", Type: agent.CheckResolvConf}))
	if err != nil {
		return rep, trace.Result{Status: trace.Skip, Incomplete: true, Summary: "skipped: the agent did not run: " + err.Error()}
	}
	if rc := resp.Results[0].ResolvConf; rc != nil {
		rep.ResolvConf = rc
	}
	var search []string
	if rep.ResolvConf != nil {
		search = rep.ResolvConf.Search
	}
	domain, ok := ClusterDomainFromSearch(search)
	rep.Domain, rep.DomainGuess = domain, !ok
	qs := dnsQueries(st, serviceSlices(ctx, st), domain, sameNS)
	resp, err = ag.Run(ctx, agent.NewRequest(dnsChecks(qs, st.CheckTimeout)...))
	if err != nil {
		return rep, trace.Result{Status: trace.Skip, Incomplete: true, Summary: "skipped: the agent did not run: " + err.Error()}
	}
	for i := range qs {
		evalDNS(&qs[i], resp.Results[i])
	}
	rep.Queries = qs
	return rep, st.judgeDNS(ctx, rep, sameNS)
}

// defaultClusterDomain is the cluster domain of most clusters (the prefetch's guess).
const defaultClusterDomain = "cluster.local"

// dnsChecks are the agent checks of the DNS queries.
func dnsChecks(qs []report.DNSQuery, timeout time.Duration) []agent.Check {
	var checks []agent.Check
	for i, q := range qs {
		checks = append(checks, agent.Check{ID: fmt.Sprintf("dns-%d", i), Type: agent.CheckDNS, Timeout: agent.Duration{Duration: timeout},
			DNS: &agent.DNSCheck{Name: q.Name, QType: q.Type}})
	}
	return checks
}

// evalDNS compares one answer with the expectation.
func evalDNS(q *report.DNSQuery, res agent.Result) {
	q.Detail = res.Detail
	q.Failure = res.Failure
	q.Got = []string{}
	if res.DNS != nil {
		for _, a := range res.DNS.Answers {
			if a.Type != q.Type {
				continue
			}
			switch a.Type {
			case agent.QuerySRV:
				if len(q.Expected) > 0 && strings.HasPrefix(q.Expected[0], "port ") {
					q.Got = append(q.Got, fmt.Sprintf("port %d", a.Port))
				} else {
					q.Got = append(q.Got, fmt.Sprintf("%s:%d", a.Value, a.Port))
				}
			default:
				q.Got = append(q.Got, a.Value)
			}
		}
		sort.Strings(q.Got)
	}
	noRecords := res.Failure == agent.FailNXDomain || res.Failure == agent.FailNoData
	switch {
	case q.AnyAnswer:
		if res.OK && len(q.Got) > 0 {
			q.Status = trace.Pass
		} else {
			q.Status = trace.Fail
		}
	case len(q.Expected) == 0 && (noRecords || (res.OK && len(q.Got) == 0)):
		q.Status = trace.Pass
		q.Note = "no records, as expected"
	case res.OK && slices.Equal(q.Got, q.Expected):
		q.Status = trace.Pass
	case res.OK && q.Type == agent.QueryA && len(q.Expected) > 0 && overlap(q.Got, q.Expected):
		q.Status = trace.Warn
		q.Note = "partly different from the API (DNS caches for the record's TTL)"
	default:
		q.Status = trace.Fail
	}
	if q.Status == trace.Pass && res.DNS != nil && q.Purpose == "short name" && len(res.DNS.Tries) > 0 {
		q.Note = strings.TrimSpace(q.Note + " resolved as " + res.DNS.Name)
	}
}

func overlap(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func dnsLine(q report.DNSQuery) string {
	got := strings.Join(q.Got, ",")
	if q.Failure != "" {
		got = string(q.Failure)
	}
	if got == "" {
		got = "no records"
	}
	exp := strings.Join(q.Expected, ",")
	if q.AnyAnswer {
		exp = "any address"
	} else if exp == "" {
		exp = "no records"
	}
	s := fmt.Sprintf("%s %s (%s): got %s, expected %s (%s)", q.Type, q.Name, q.Purpose, got, exp, q.ExpectedFrom)
	if q.Status != trace.Pass {
		s += " " + strings.ToUpper(string(q.Status))
	}
	if q.Note != "" {
		s += "; " + q.Note
	}
	return s
}

// judgeDNS turns the queries into the hop's result.
func (st *State) judgeDNS(ctx context.Context, rep *report.DNSReport, sameNS bool) trace.Result {
	svc := st.Service
	r := trace.Result{Status: trace.Pass}
	if rc := rep.ResolvConf; rc != nil {
		line := fmt.Sprintf("resolv.conf of %s: nameserver %s, search %s, ndots %d", rep.Source, strings.Join(rc.Nameservers, ","), strings.Join(rc.Search, " "), rc.Ndots)
		if rep.DomainGuess {
			line += "; no svc.<domain> entry in the search path: cluster domain assumed cluster.local"
		} else {
			line += " (cluster domain " + rep.Domain + ")"
		}
		r.Evidence = append(r.Evidence, line)
	}
	if !sameNS {
		r.Evidence = append(r.Evidence, fmt.Sprintf("the short name %q is not tested: it resolves only from namespace %s", svc.Name, svc.Namespace))
	}
	infra, fails := 0, 0
	var firstFail, fqdn *report.DNSQuery
	for i := range rep.Queries {
		q := &rep.Queries[i]
		r.Evidence = append(r.Evidence, dnsLine(*q))
		if q.Purpose == "FQDN" {
			fqdn = q
		}
		if q.Status == trace.Fail {
			fails++
			if firstFail == nil {
				firstFail = q
			}
			if dnsInfraFailure(q.Failure) {
				infra++
			}
		}
	}
	nameserver := "the cluster DNS"
	if rep.ResolvConf != nil && len(rep.ResolvConf.Nameservers) > 0 {
		nameserver = "nameserver " + rep.ResolvConf.Nameservers[0]
	}
	switch {
	case fails == 0:
		r.Summary = fmt.Sprintf("%d %s answered as the API predicts", len(rep.Queries), report.Plural(len(rep.Queries), "query", "queries"))
		return r
	case infra > 0 && infra == fails:
		r.Status = trace.Fail
		r.Summary = fmt.Sprintf("DNS does not answer: %s (%s)", firstFail.Failure, firstFail.Detail)
		r.Cause = st.dnsDownCause(ctx, &r, nameserver, firstFail)
		return r
	case semantics.IsExternalName(svc) && firstFail.Purpose == "ExternalName target":
		r.Status = trace.Fail
		r.Summary = fmt.Sprintf("the ExternalName target %s does not resolve from inside the cluster (%s)", strings.TrimSuffix(firstFail.Name, "."), firstFail.Failure)
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("service/%s is a CNAME to %s, which does not resolve from inside the cluster (%s): clients get no address",
			svc.Name, strings.TrimSuffix(firstFail.Name, "."), firstFail.Detail),
			Fix: fmt.Sprintf("point spec.externalName at a name the cluster DNS resolves (kubectl -n %s patch service %s -p '{\"spec\":{\"externalName\":\"<name>\"}}'), or make CoreDNS resolve it (a forward/stub zone for its domain)", svc.Namespace, svc.Name)}
		return r
	case fqdn != nil && fqdn.Status != trace.Fail:
		// the FQDN works: the failures are of the search path or SRV records
		r.Status = trace.Warn
		r.Summary = fmt.Sprintf("%s resolves, but %s %s: %s", strings.TrimSuffix(fqdn.Name, "."), firstFail.Purpose, firstFail.Name, failText(firstFail))
		if firstFail.Purpose == "short name" || firstFail.Purpose == "name.namespace" {
			r.Evidence = append(r.Evidence, "check the pod's dnsPolicy (ClusterFirst) and its dnsConfig searches/ndots")
		}
		return r
	}
	r.Status = trace.Fail
	r.Summary = fmt.Sprintf("%s %s: %s", firstFail.Type, firstFail.Name, failText(firstFail))
	if semantics.IsHeadless(svc) && len(firstFail.Expected) > 0 {
		r.Cause = &trace.Cause{RootCause: fmt.Sprintf("the headless name %s does not return the ready endpoints (%s)", strings.TrimSuffix(firstFail.Name, "."), failText(firstFail)),
			Fix: "check CoreDNS (kubectl -n kube-system logs -l k8s-app=kube-dns): it may not see the EndpointSlices (RBAC: list/watch endpointslices.discovery.k8s.io)"}
		return r
	}
	r.Cause = &trace.Cause{RootCause: fmt.Sprintf("%s does not resolve to %s (%s)", strings.TrimSuffix(firstFail.Name, "."), strings.Join(firstFail.Expected, ","), failText(firstFail)),
		Fix: fmt.Sprintf("check CoreDNS: kubectl -n kube-system logs -l k8s-app=kube-dns; the cluster domain it serves must be %s", rep.Domain)}
	return r
}

func failText(q *report.DNSQuery) string {
	if q.Failure != "" {
		return string(q.Failure) + ": " + q.Detail
	}
	got := strings.Join(q.Got, ",")
	if got == "" {
		got = "no records"
	}
	return "got " + got + ", expected " + strings.Join(q.Expected, ",")
}

// dnsDownCause explains a cluster DNS that does not answer, with what the API says about it.
func (st *State) dnsDownCause(ctx context.Context, r *trace.Result, nameserver string, q *report.DNSQuery) *trace.Cause {
	c := &trace.Cause{RootCause: fmt.Sprintf("cluster DNS does not answer: %s gives %s for %s", nameserver, q.Failure, strings.TrimSuffix(q.Name, "."))}
	info, why := st.Reads.ClusterDNS(ctx)
	switch {
	case why != "":
		r.Evidence = append(r.Evidence, "kube-system/kube-dns not read: "+why)
		c.Fix = "check CoreDNS: kubectl -n kube-system get deploy,pods -l k8s-app=kube-dns"
	case info.ReadyEndpoints == 0:
		line := fmt.Sprintf("service kube-system/kube-dns has %d ready %s (of %d)", info.ReadyEndpoints, report.Plural(info.ReadyEndpoints, "endpoint", "endpoints"), info.Endpoints)
		if info.Deployment != "" {
			line += "; " + info.Deployment
		}
		r.Evidence = append(r.Evidence, line)
		c.RootCause += ": CoreDNS is down (" + line + ")"
		if info.Replicas == 0 && info.CoreDNS != nil {
			prev := st.Reads.Previous(ctx, trace.Template{Kind: "deployment", Namespace: metav1.NamespaceSystem, Name: info.CoreDNS.Name, Deployment: info.CoreDNS}, st.Now())
			r.Evidence = append(r.Evidence, previousEvidence("deployment/coredns", prev))
			c.Fix = restoreFix(metav1.NamespaceSystem, "deployment/coredns", prev, 2, "2 is kubeadm's default")
		} else {
			c.Fix = "kubectl -n kube-system get pods -l k8s-app=kube-dns; kubectl -n kube-system describe deployment coredns; kubectl -n kube-system logs -l k8s-app=kube-dns"
		}
	default:
		line := fmt.Sprintf("service kube-system/kube-dns has %d ready %s", info.ReadyEndpoints, report.Plural(info.ReadyEndpoints, "endpoint", "endpoints"))
		r.Evidence = append(r.Evidence, line)
		c.RootCause += " although " + line + ": DNS packets from the pod are dropped"
		c.Fix = "look for an egress NetworkPolicy that blocks UDP/TCP 53 from the client, and check kube-proxy's rules for the kube-dns ClusterIP"
	}
	return c
}

func runDNS(ctx context.Context, st *State) trace.Result {
	svc := st.Service
	// the cause is known already: no helper pod for it (stop short of noise)
	for _, id := range []string{HopSelector, HopPorts, HopReadiness, HopEndpoints} {
		if r, ok := st.Result(id); ok && r.Status == trace.Fail {
			return trace.SkippedBy(r, id)
		}
	}
	if semantics.IsHeadless(svc) {
		// a headless name resolves to the ready pods: no ready pod, nothing to resolve
		for _, id := range []string{HopSelector, HopReadiness} {
			if r, blocked := st.SkipBecause(id); blocked {
				return r
			}
		}
	}
	_, r := CheckDNS(ctx, st)
	return r
}
