package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxNameservers is how many resolv.conf nameservers glibc uses (MAXNS).
const maxNameservers = 3

var queryTypes = map[string]uint16{
	QueryA: dns.TypeA, QueryAAAA: dns.TypeAAAA, QueryCNAME: dns.TypeCNAME, QuerySRV: dns.TypeSRV, QueryPTR: dns.TypePTR,
}

func (c *DNSCheck) qtype() string {
	if c.QType == "" {
		return QueryA
	}
	return strings.ToUpper(c.QType)
}

func (c *DNSCheck) validate() error {
	if _, ok := queryTypes[c.qtype()]; !ok {
		return fmt.Errorf("dns qtype %q is not one of A, AAAA, CNAME, SRV, PTR", c.QType)
	}
	if c.Name == "" {
		return errors.New("dns name is empty")
	}
	if c.qtype() != QueryPTR {
		if _, ok := dns.IsDomainName(c.Name); !ok {
			return fmt.Errorf("dns name %q is not a domain name", c.Name)
		}
	}
	if c.Server != "" {
		if _, err := serverAddr(c.Server); err != nil {
			return err
		}
	}
	return nil
}

// serverAddr turns "host" or "host:port" into "host:port" with port 53 by default.
func serverAddr(s string) (string, error) {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s, nil
	}
	host := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if host == "" || strings.ContainsAny(host, " /") {
		return "", fmt.Errorf("dns server %q is not host or host:port", s)
	}
	return net.JoinHostPort(host, "53"), nil
}

// dnsOutcome is the result of querying one name (possibly against several servers).
type dnsOutcome struct {
	name   string
	server string
	msg    *dns.Msg // nil when no server answered
	err    error    // the last transport error
}

//nolint:funlen // the res_search walk over names and servers: the deadline, the last answer and the last transport error are shared by every step it takes
func (r *Runner) checkDNS(ctx context.Context, c *DNSCheck) Result {
	qtypeName := c.qtype()
	qtype := queryTypes[qtypeName]
	res := Result{DNS: &DNSResult{QType: qtypeName, Tries: []DNSTry{}}}
	name := c.Name
	if qtype == dns.TypePTR {
		if ip, err := netip.ParseAddr(name); err == nil {
			arpa, err := dns.ReverseAddr(ip.String())
			if err != nil {
				res.Failure, res.Detail = FailOther, err.Error()
				return res
			}
			name = arpa
		}
	}

	var servers, names []string
	if c.Server != "" {
		addr, _ := serverAddr(c.Server) // validated
		servers, names = []string{addr}, []string{dns.Fqdn(name)}
	} else {
		rc, err := r.loadResolvConf()
		if err != nil {
			res.Failure, res.Detail = FailOther, "cannot read the resolver configuration: "+err.Error()
			return res
		}
		if len(rc.Nameservers) == 0 {
			res.Failure, res.Detail = FailOther, rc.Path+" lists no nameserver"
			return res
		}
		port := r.NameserverPort
		if port == "" {
			port = "53"
		}
		for _, ns := range rc.Nameservers[:min(len(rc.Nameservers), maxNameservers)] {
			servers = append(servers, net.JoinHostPort(ns, port))
		}
		names = searchNames(name, rc.Search, rc.Ndots)
	}

	// Walk the names like glibc's res_search: an answer ends the walk, NXDOMAIN / NODATA / SERVFAIL move
	// on to the next name, a transport failure (timeout, refused) ends it.
	var nodata, servfail, last *dnsOutcome
	for _, n := range names {
		o := r.queryName(ctx, res.DNS, n, qtype, servers, c.TCP)
		last = &o
		if o.msg == nil {
			break
		}
		if o.msg.Rcode == dns.RcodeSuccess {
			if hasType(o.msg.Answer, qtype) {
				fillAnswer(res.DNS, o)
				res.Detail = answerDetail(res.DNS, len(names) > 1)
				return res
			}
			if nodata == nil {
				nodata = &o
			}
		} else if o.msg.Rcode != dns.RcodeNameError && servfail == nil {
			servfail = &o
		}
	}

	final := last
	switch {
	case last.msg == nil:
	case nodata != nil:
		final = nodata
	case servfail != nil:
		final = servfail
	}
	fillAnswer(res.DNS, *final)
	triedList := triedNames(res.DNS.Tries)
	tried := fmt.Sprintf("%d name(s) tried: %s", len(triedList), strings.Join(triedList, ", "))
	switch {
	case final.msg == nil:
		res.Failure = Classify(final.err)
		if res.Failure == FailTimeout {
			res.Failure = FailDNSTimeout
		}
		res.Detail = fmt.Sprintf("no answer from %s for %s: %v", final.server, final.name, final.err)
	case final.msg.Rcode == dns.RcodeSuccess:
		res.Failure = FailNoData
		res.Detail = fmt.Sprintf("%s exists but has no %s record (%s)", final.name, qtypeName, tried)
	case final.msg.Rcode == dns.RcodeNameError:
		res.Failure = FailNXDomain
		res.Detail = fmt.Sprintf("NXDOMAIN: %s does not exist (%s)", strings.TrimSuffix(name, "."), tried)
	case final.msg.Rcode == dns.RcodeServerFailure:
		res.Failure = FailServFail
		res.Detail = fmt.Sprintf("SERVFAIL from %s for %s (%s)", final.server, final.name, tried)
	default:
		res.Failure = FailOther
		res.Detail = fmt.Sprintf("%s from %s for %s (%s)", dns.RcodeToString[final.msg.Rcode], final.server, final.name, tried)
	}
	return res
}

// queryName asks the servers in turn for name, moving to the next server when one does not answer
// or answers SERVFAIL, REFUSED or NOTIMP (as glibc does), and records every try.
func (r *Runner) queryName(ctx context.Context, out *DNSResult, name string, qtype uint16, servers []string, useTCP bool) dnsOutcome {
	o := dnsOutcome{name: name}
	for i, server := range servers {
		o.server = server
		// Leave time for the servers after this one.
		qctx := ctx
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			qctx, cancel = context.WithTimeout(ctx, time.Until(dl)/time.Duration(len(servers)-i))
			defer cancel()
		}
		start := time.Now()
		msg, err := exchange(qctx, name, qtype, server, useTCP)
		try := DNSTry{Name: name, Server: server, Duration: Duration{time.Since(start).Round(time.Microsecond)}}
		if err != nil {
			try.Error = err.Error()
			o.msg, o.err = nil, err
		} else {
			try.Rcode = dns.RcodeToString[msg.Rcode]
			try.Answers = len(msg.Answer)
			o.msg, o.err = msg, nil
		}
		out.Tries = append(out.Tries, try)
		if err == nil && msg.Rcode != dns.RcodeServerFailure && msg.Rcode != dns.RcodeRefused && msg.Rcode != dns.RcodeNotImplemented {
			return o
		}
		if ctx.Err() != nil {
			return o
		}
	}
	return o
}

// exchange sends one query, over UDP unless useTCP, and retries a truncated UDP answer over TCP.
func exchange(ctx context.Context, name string, qtype uint16, server string, useTCP bool) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	m.SetEdns0(1232, false)
	network := "udp"
	if useTCP {
		network = "tcp"
	}
	for {
		c := &dns.Client{Net: network}
		if dl, ok := ctx.Deadline(); ok {
			c.Timeout = time.Until(dl)
		}
		msg, _, err := c.ExchangeContext(ctx, m, server)
		if err != nil {
			return nil, err
		}
		if msg.Truncated && network == "udp" {
			network = "tcp"
			continue
		}
		return msg, nil
	}
}

func hasType(rrs []dns.RR, qtype uint16) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype {
			return true
		}
	}
	return false
}

func fillAnswer(out *DNSResult, o dnsOutcome) {
	out.Name, out.Server = o.name, o.server
	if o.msg == nil {
		return
	}
	out.Rcode = dns.RcodeToString[o.msg.Rcode]
	for _, rr := range o.msg.Answer {
		out.Answers = append(out.Answers, record(rr))
	}
	out.CNAMEChain = cnameChain(o.name, o.msg.Answer)
}

func record(rr dns.RR) DNSRecord {
	h := rr.Header()
	rec := DNSRecord{Name: h.Name, Type: dns.TypeToString[h.Rrtype], TTL: h.Ttl}
	switch v := rr.(type) {
	case *dns.A:
		rec.Value = v.A.String()
	case *dns.AAAA:
		rec.Value = v.AAAA.String()
	case *dns.CNAME:
		rec.Value = v.Target
	case *dns.PTR:
		rec.Value = v.Ptr
	case *dns.SRV:
		rec.Value, rec.Priority, rec.Weight, rec.Port = v.Target, v.Priority, v.Weight, v.Port
	default:
		rec.Value = strings.TrimSpace(strings.TrimPrefix(rr.String(), h.String()))
	}
	return rec
}

// cnameChain follows the CNAME records of an answer from name; it is nil when there is none.
func cnameChain(name string, rrs []dns.RR) []string {
	chain := []string{name}
	for range rrs { // at most one hop per record: no loop can run forever
		next := ""
		for _, rr := range rrs {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, chain[len(chain)-1]) {
				next = c.Target
				break
			}
		}
		if next == "" {
			break
		}
		chain = append(chain, next)
	}
	if len(chain) == 1 {
		return nil
	}
	return chain
}

func answerDetail(d *DNSResult, searched bool) string {
	var vals []string
	for _, a := range d.Answers {
		if a.Type == d.QType {
			v := a.Value
			if a.Type == QuerySRV {
				v = fmt.Sprintf("%s:%d", a.Value, a.Port)
			}
			vals = append(vals, fmt.Sprintf("%s (ttl %d)", v, a.TTL))
		}
	}
	s := fmt.Sprintf("%s %s -> %s via %s", d.QType, d.Name, strings.Join(vals, ", "), d.Server)
	if len(d.CNAMEChain) > 0 {
		s += "; CNAME chain " + strings.Join(d.CNAMEChain, " -> ")
	}
	if searched {
		s += fmt.Sprintf("; %d name(s) tried", len(triedNames(d.Tries)))
	}
	return s
}

// triedNames lists the distinct names in the order they were tried.
func triedNames(tries []DNSTry) []string {
	var out []string
	for i, t := range tries {
		if i == 0 || tries[i-1].Name != t.Name {
			out = append(out, t.Name)
		}
	}
	return out
}
