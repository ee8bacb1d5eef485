package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// dnsView is the part of a DNS result the tests assert on.
type dnsView struct {
	OK      bool
	Failure FailureClass
	Name    string
	Rcode   string
	Answers []string // "TYPE value" in answer order
	Chain   []string
	Tried   []string
}

func viewDNS(r Result) dnsView {
	v := dnsView{OK: r.OK, Failure: r.Failure}
	if r.DNS == nil {
		return v
	}
	v.Name, v.Rcode, v.Chain, v.Tried = r.DNS.Name, r.DNS.Rcode, r.DNS.CNAMEChain, triedNames(r.DNS.Tries)
	for _, a := range r.DNS.Answers {
		s := a.Type + " " + a.Value
		if a.Type == QuerySRV {
			s = fmt.Sprintf("SRV %d %d %d %s", a.Priority, a.Weight, a.Port, a.Value)
		}
		v.Answers = append(v.Answers, s)
	}
	return v
}

func TestDNSCheck(t *testing.T) {
	server, port := startDNS(t)
	silent := fmt.Sprintf("127.0.0.1:%d", silentUDP(t))
	closed := fmt.Sprintf("127.0.0.1:%d", closedPort(t, "udp"))
	clusterConf := writeResolvConf(t, "# kubelet\nnameserver 127.0.0.1\nsearch ns.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n")
	silentConf := writeResolvConf(t, "nameserver 127.0.0.1\nsearch ns.svc.cluster.local\noptions ndots:5\n")

	tests := []struct {
		name       string
		check      DNSCheck
		resolvConf string
		port       string // NameserverPort
		timeout    time.Duration
		want       dnsView
	}{
		{
			name:  "direct A",
			check: DNSCheck{Name: "web.ns.svc.cluster.local", Server: server},
			want: dnsView{OK: true, Name: "web.ns.svc.cluster.local.", Rcode: "NOERROR",
				Answers: []string{"A 10.96.0.12"}, Tried: []string{"web.ns.svc.cluster.local."}},
		},
		{
			name:  "direct CNAME chain to A",
			check: DNSCheck{Name: "alias.example.", Server: server},
			want: dnsView{OK: true, Name: "alias.example.", Rcode: "NOERROR",
				Answers: []string{"CNAME web.ns.svc.cluster.local.", "A 10.96.0.12"},
				Chain:   []string{"alias.example.", "web.ns.svc.cluster.local."}, Tried: []string{"alias.example."}},
		},
		{
			name:  "direct SRV",
			check: DNSCheck{Name: "_http._tcp.web.ns.svc.cluster.local", QType: "srv", Server: server},
			want: dnsView{OK: true, Name: "_http._tcp.web.ns.svc.cluster.local.", Rcode: "NOERROR",
				Answers: []string{"SRV 0 100 80 web.ns.svc.cluster.local."}, Tried: []string{"_http._tcp.web.ns.svc.cluster.local."}},
		},
		{
			name:  "direct PTR of an IP",
			check: DNSCheck{Name: "10.96.0.12", QType: QueryPTR, Server: server},
			want: dnsView{OK: true, Name: "12.0.96.10.in-addr.arpa.", Rcode: "NOERROR",
				Answers: []string{"PTR web.ns.svc.cluster.local."}, Tried: []string{"12.0.96.10.in-addr.arpa."}},
		},
		{
			name:  "headless: one A per pod",
			check: DNSCheck{Name: "headless.ns.svc.cluster.local", Server: server},
			want: dnsView{OK: true, Name: "headless.ns.svc.cluster.local.", Rcode: "NOERROR",
				Answers: []string{"A 10.244.0.7", "A 10.244.0.8"}, Tried: []string{"headless.ns.svc.cluster.local."}},
		},
		{
			name:  "truncated UDP answer retried over TCP",
			check: DNSCheck{Name: "big.example", Server: server},
			want: func() dnsView {
				v := dnsView{OK: true, Name: "big.example.", Rcode: "NOERROR", Tried: []string{"big.example."}}
				for i := 1; i <= 60; i++ {
					v.Answers = append(v.Answers, fmt.Sprintf("A 10.0.0.%d", i))
				}
				return v
			}(),
		},
		{
			name:  "direct over TCP",
			check: DNSCheck{Name: "web.ns.svc.cluster.local", Server: server, TCP: true},
			want: dnsView{OK: true, Name: "web.ns.svc.cluster.local.", Rcode: "NOERROR",
				Answers: []string{"A 10.96.0.12"}, Tried: []string{"web.ns.svc.cluster.local."}},
		},
		{
			name:  "NXDOMAIN",
			check: DNSCheck{Name: "missing.ns.svc.cluster.local", Server: server},
			want: dnsView{Failure: FailNXDomain, Name: "missing.ns.svc.cluster.local.", Rcode: "NXDOMAIN",
				Tried: []string{"missing.ns.svc.cluster.local."}},
		},
		{
			name:  "NODATA: the name exists without AAAA",
			check: DNSCheck{Name: "web.ns.svc.cluster.local", QType: QueryAAAA, Server: server},
			want: dnsView{Failure: FailNoData, Name: "web.ns.svc.cluster.local.", Rcode: "NOERROR",
				Tried: []string{"web.ns.svc.cluster.local."}},
		},
		{
			name:  "CNAME to nowhere has no A",
			check: DNSCheck{Name: "dangling.ns.svc.cluster.local", Server: server},
			want: dnsView{Failure: FailNoData, Name: "dangling.ns.svc.cluster.local.", Rcode: "NOERROR",
				Answers: []string{"CNAME nowhere.example."}, Chain: []string{"dangling.ns.svc.cluster.local.", "nowhere.example."},
				Tried: []string{"dangling.ns.svc.cluster.local."}},
		},
		{
			name:  "SERVFAIL",
			check: DNSCheck{Name: "x.servfail.example", Server: server},
			want:  dnsView{Failure: FailServFail, Name: "x.servfail.example.", Rcode: "SERVFAIL", Tried: []string{"x.servfail.example."}},
		},
		{
			name:    "no answer from the server: dns-timeout",
			check:   DNSCheck{Name: "x.slow.example", Server: server},
			timeout: 300 * time.Millisecond,
			want:    dnsView{Failure: FailDNSTimeout, Name: "x.slow.example.", Tried: []string{"x.slow.example."}},
		},
		{
			name:    "a UDP socket that never answers: dns-timeout",
			check:   DNSCheck{Name: "web.ns.svc.cluster.local", Server: silent},
			timeout: 300 * time.Millisecond,
			want:    dnsView{Failure: FailDNSTimeout, Name: "web.ns.svc.cluster.local.", Tried: []string{"web.ns.svc.cluster.local."}},
		},
		{
			name:  "nothing listens on the server port: refused",
			check: DNSCheck{Name: "web.ns.svc.cluster.local", Server: closed},
			want:  dnsView{Failure: FailRefused, Name: "web.ns.svc.cluster.local.", Tried: []string{"web.ns.svc.cluster.local."}},
		},
		{
			name:       "system way: short name found with the first search domain",
			check:      DNSCheck{Name: "web"},
			resolvConf: clusterConf, port: port,
			want: dnsView{OK: true, Name: "web.ns.svc.cluster.local.", Rcode: "NOERROR",
				Answers: []string{"A 10.96.0.12"}, Tried: []string{"web.ns.svc.cluster.local."}},
		},
		{
			name:       "system way: name.namespace found with the second search domain",
			check:      DNSCheck{Name: "web.ns"},
			resolvConf: clusterConf, port: port,
			want: dnsView{OK: true, Name: "web.ns.svc.cluster.local.", Rcode: "NOERROR",
				Answers: []string{"A 10.96.0.12"}, Tried: []string{"web.ns.ns.svc.cluster.local.", "web.ns.svc.cluster.local."}},
		},
		{
			name:       "system way: absolute name is not searched",
			check:      DNSCheck{Name: "web.ns.svc.cluster.local."},
			resolvConf: clusterConf, port: port,
			want: dnsView{OK: true, Name: "web.ns.svc.cluster.local.", Rcode: "NOERROR",
				Answers: []string{"A 10.96.0.12"}, Tried: []string{"web.ns.svc.cluster.local."}},
		},
		{
			name:       "system way: NXDOMAIN for every expansion",
			check:      DNSCheck{Name: "nosuch"},
			resolvConf: clusterConf, port: port,
			want: dnsView{Failure: FailNXDomain, Name: "nosuch.", Rcode: "NXDOMAIN",
				Tried: []string{"nosuch.ns.svc.cluster.local.", "nosuch.svc.cluster.local.", "nosuch.cluster.local.", "nosuch."}},
		},
		{
			name:       "system way: NODATA wins over later NXDOMAINs",
			check:      DNSCheck{Name: "web", QType: QueryAAAA},
			resolvConf: clusterConf, port: port,
			want: dnsView{Failure: FailNoData, Name: "web.ns.svc.cluster.local.", Rcode: "NOERROR",
				Tried: []string{"web.ns.svc.cluster.local.", "web.svc.cluster.local.", "web.cluster.local.", "web."}},
		},
		{
			name:       "system way: a timeout ends the search",
			check:      DNSCheck{Name: "web"},
			resolvConf: silentConf, port: fmt.Sprint(silentUDP(t)),
			timeout: 300 * time.Millisecond,
			want:    dnsView{Failure: FailDNSTimeout, Name: "web.ns.svc.cluster.local.", Tried: []string{"web.ns.svc.cluster.local."}},
		},
		{
			name:       "system way: unreadable resolv.conf",
			check:      DNSCheck{Name: "web"},
			resolvConf: "/nonexistent/resolv.conf",
			want:       dnsView{Failure: FailOther},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Runner{ResolvConfPath: tt.resolvConf, NameserverPort: tt.port}
			c := Check{ID: "q", Type: CheckDNS, DNS: &tt.check, Timeout: Duration{tt.timeout}}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got := r.runCheck(context.Background(), c)
			if diff := cmp.Diff(tt.want, viewDNS(got)); diff != "" {
				t.Errorf("result mismatch (-want +got):\n%s\ndetail: %s", diff, got.Detail)
			}
			if got.Detail == "" {
				t.Error("empty detail")
			}
		})
	}
}

func TestDNSCheckTTLAndDetail(t *testing.T) {
	server, _ := startDNS(t)
	r := &Runner{}
	got := r.runCheck(context.Background(), Check{ID: "q", Type: CheckDNS, DNS: &DNSCheck{Name: "alias.example", Server: server}})
	want := []DNSRecord{
		{Name: "alias.example.", Type: "CNAME", TTL: 30, Value: "web.ns.svc.cluster.local."},
		{Name: "web.ns.svc.cluster.local.", Type: "A", TTL: 5, Value: "10.96.0.12"},
	}
	if diff := cmp.Diff(want, got.DNS.Answers); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	wantDetail := "A alias.example. -> 10.96.0.12 (ttl 5) via " + server + "; CNAME chain alias.example. -> web.ns.svc.cluster.local."
	if got.Detail != wantDetail {
		t.Errorf("detail\n got %q\nwant %q", got.Detail, wantDetail)
	}
	if got.Target != "A alias.example @"+server {
		t.Errorf("target %q", got.Target)
	}
}

func TestSearchNames(t *testing.T) {
	search := []string{"ns.svc.cluster.local", "svc.cluster.local", "cluster.local"}
	tests := []struct {
		name   string
		input  string
		search []string
		ndots  int
		want   []string
	}{
		{name: "short name, ndots 5", input: "web", search: search, ndots: 5,
			want: []string{"web.ns.svc.cluster.local.", "web.svc.cluster.local.", "web.cluster.local.", "web."}},
		{name: "FQDN without dot, ndots 5: still searched first", input: "web.ns.svc.cluster.local", search: search, ndots: 5,
			want: []string{"web.ns.svc.cluster.local.ns.svc.cluster.local.", "web.ns.svc.cluster.local.svc.cluster.local.", "web.ns.svc.cluster.local.cluster.local.", "web.ns.svc.cluster.local."}},
		{name: "enough dots: as is first", input: "example.com", search: search, ndots: 1,
			want: []string{"example.com.", "example.com.ns.svc.cluster.local.", "example.com.svc.cluster.local.", "example.com.cluster.local."}},
		{name: "trailing dot: only as is", input: "web.", search: search, ndots: 5, want: []string{"web."}},
		{name: "no search list", input: "web", ndots: 1, want: []string{"web."}},
		{name: "duplicate search domains", input: "web", search: []string{"a.", "a"}, ndots: 1, want: []string{"web.a.", "web."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, searchNames(tt.input, tt.search, tt.ndots)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseResolvConf(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  ResolvConf
	}{
		{
			name:  "kubelet ClusterFirst",
			input: "search ns.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
			want: ResolvConf{Nameservers: []string{"10.96.0.10"}, Search: []string{"ns.svc.cluster.local", "svc.cluster.local", "cluster.local"},
				Ndots: 5, Options: []string{"ndots:5"}},
		},
		{
			name:  "defaults, comments, last search wins, domain",
			input: "; comment\n# another\nnameserver 1.1.1.1 # trailing\nnameserver 2.2.2.2\nsearch old.example\ndomain new.example\nbogus line\n",
			want:  ResolvConf{Nameservers: []string{"1.1.1.1", "2.2.2.2"}, Search: []string{"new.example"}, Ndots: 1},
		},
		{
			name:  "ndots capped at 15, bad ndots ignored",
			input: "options ndots:40 timeout:1\noptions ndots:x\n",
			want:  ResolvConf{Nameservers: []string{}, Search: []string{}, Ndots: 15, Options: []string{"ndots:40", "timeout:1", "ndots:x"}},
		},
		{
			name:  "empty",
			input: "",
			want:  ResolvConf{Nameservers: []string{}, Search: []string{}, Ndots: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResolvConf(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolvConfCheck(t *testing.T) {
	p := writeResolvConf(t, "nameserver 10.96.0.10\nsearch ns.svc.cluster.local svc.cluster.local\noptions ndots:5\n")
	got := (&Runner{ResolvConfPath: p}).runCheck(context.Background(), Check{ID: "rc", Type: CheckResolvConf})
	want := Result{
		ID: "rc", Type: CheckResolvConf, Target: p, OK: true,
		Detail: "nameservers 10.96.0.10; search ns.svc.cluster.local svc.cluster.local; ndots 5",
		ResolvConf: &ResolvConf{Path: p, Nameservers: []string{"10.96.0.10"},
			Search: []string{"ns.svc.cluster.local", "svc.cluster.local"}, Ndots: 5, Options: []string{"ndots:5"}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Result{}, "Duration")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
