package agent

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Every server in these tests listens on 127.0.0.1 and every check targets 127.0.0.1: the addresses
// inside DNS answers are data only, nothing is ever sent to them.

// testZone is what the test nameserver knows.
var testZone = map[string][]string{
	"web.ns.svc.cluster.local. A":              {"web.ns.svc.cluster.local. 5 IN A 10.96.0.12"},
	"web.ns.svc.cluster.local. AAAA":           nil, // exists, no AAAA: NODATA
	"alias.example. A":                         {"alias.example. 30 IN CNAME web.ns.svc.cluster.local.", "web.ns.svc.cluster.local. 5 IN A 10.96.0.12"},
	"_http._tcp.web.ns.svc.cluster.local. SRV": {"_http._tcp.web.ns.svc.cluster.local. 5 IN SRV 0 100 80 web.ns.svc.cluster.local."},
	"12.0.96.10.in-addr.arpa. PTR":             {"12.0.96.10.in-addr.arpa. 5 IN PTR web.ns.svc.cluster.local."},
	"headless.ns.svc.cluster.local. A":         {"headless.ns.svc.cluster.local. 5 IN A 10.244.0.7", "headless.ns.svc.cluster.local. 5 IN A 10.244.0.8"},
	"dangling.ns.svc.cluster.local. A":         {"dangling.ns.svc.cluster.local. 5 IN CNAME nowhere.example."},
	"dangling.ns.svc.cluster.local. CNAME":     {"dangling.ns.svc.cluster.local. 5 IN CNAME nowhere.example."},
	"big.example. A":                           bigAnswer(),
}

// bigAnswer does not fit a 512-byte UDP answer, so the server truncates it and the client retries
// over TCP.
func bigAnswer() []string {
	var rrs []string
	for i := 1; i <= 60; i++ {
		rrs = append(rrs, "big.example. 5 IN A 10.0.0."+strconv.Itoa(i))
	}
	return rrs
}

// testDNSHandler answers from testZone; names under servfail. SERVFAIL, names under slow. never
// get an answer.
func testDNSHandler(w dns.ResponseWriter, req *dns.Msg) {
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	if strings.HasSuffix(name, "slow.example.") {
		return
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	switch {
	case strings.HasSuffix(name, "servfail.example."):
		m.Rcode = dns.RcodeServerFailure
	default:
		rrs, ok := testZone[name+" "+dns.TypeToString[q.Qtype]]
		if !ok && !nameExists(name) {
			m.Rcode = dns.RcodeNameError
		}
		for _, s := range rrs {
			rr, err := dns.NewRR(s)
			if err != nil {
				panic(err)
			}
			m.Answer = append(m.Answer, rr)
		}
	}
	if w.LocalAddr().Network() == "udp" && m.Len() > 512 {
		m.Truncate(512)
	}
	_ = w.WriteMsg(m)
}

func nameExists(name string) bool {
	for k := range testZone {
		if strings.HasPrefix(k, name+" ") {
			return true
		}
	}
	return false
}

// startDNS starts the test nameserver on UDP and TCP 127.0.0.1 with the same port, and returns it.
func startDNS(t *testing.T) (addr, port string) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			if attempt < 5 {
				continue
			}
			t.Fatal(err)
		}
		for _, srv := range []*dns.Server{
			{PacketConn: pc, Handler: dns.HandlerFunc(testDNSHandler)},
			{Listener: l, Handler: dns.HandlerFunc(testDNSHandler)},
		} {
			started := make(chan struct{})
			srv.NotifyStartedFunc = func() { close(started) }
			go func() { _ = srv.ActivateAndServe() }()
			<-started
			t.Cleanup(func() { _ = srv.Shutdown() })
		}
		addr = pc.LocalAddr().String()
		_, port, _ = net.SplitHostPort(addr)
		return addr, port
	}
}

// closedPort returns a loopback port that nothing listens on (TCP or UDP).
func closedPort(t *testing.T, network string) int {
	t.Helper()
	var addr net.Addr
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = pc.LocalAddr()
		pc.Close()
	} else {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr()
		l.Close()
	}
	_, p, _ := net.SplitHostPort(addr.String())
	n, _ := strconv.Atoi(p)
	return n
}

// silentUDP returns a loopback UDP port bound to a socket that never answers.
func silentUDP(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// echoUDP returns a loopback UDP port that answers every datagram with "echo: " and the datagram.
func echoUDP(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(append([]byte("echo: "), buf[:n]...), from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// listener returns a loopback TCP port that accepts connections.
func listener(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// fullBacklog returns a loopback TCP port whose listener never accepts and whose accept queue is
// full, so that a new connection attempt gets no SYN-ACK and times out. Linux only.
func fullBacklog(t *testing.T) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux accept-queue semantics")
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// Fill the queue: connect until a connection attempt hangs.
	for i := 0; i < 16; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return port
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the accept queue never filled")
	return 0
}

// writeResolvConf writes a resolv.conf pointing at the loopback test nameserver.
func writeResolvConf(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
