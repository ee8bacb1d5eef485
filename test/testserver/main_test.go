package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in, def string
		want    []int
		wantErr bool
	}{
		{in: "", def: "8080", want: []int{8080}},
		{in: "8080,9090", want: []int{8080, 9090}},
		{in: " 8080 , 9090 ,8080", want: []int{8080, 9090}},
		{in: "0", wantErr: true},
		{in: "65536", wantErr: true},
		{in: "http", wantErr: true},
		{in: ",", wantErr: true},
		{in: "", def: "", wantErr: true},
	}
	for _, tc := range tests {
		got, err := parsePorts(tc.in, tc.def)
		if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parsePorts(%q, %q) = %v, %v; want %v (error %v)", tc.in, tc.def, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestDefaultPorts(t *testing.T) {
	t.Setenv("PORTS", "")
	t.Setenv("PORT", "")
	if got := defaultPorts(); got != "8080" {
		t.Errorf("no env: %q", got)
	}
	t.Setenv("PORT", "9000")
	if got := defaultPorts(); got != "9000" {
		t.Errorf("PORT: %q", got)
	}
	t.Setenv("PORTS", "1,2")
	if got := defaultPorts(); got != "1,2" {
		t.Errorf("PORTS wins: %q", got)
	}
}

func newTestServer(t *testing.T) (*server, *httptest.Server) {
	t.Helper()
	s := &server{id: identity{Pod: "web-0", Namespace: "ns"}, unreadyFile: filepath.Join(t.TempDir(), "unready"), log: log.New(io.Discard, "", 0)}
	ts := httptest.NewServer(s.handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func call(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHandler(t *testing.T) {
	s, ts := newTestServer(t)
	steps := []struct {
		name, method, path string
		before             func()
		wantCode           int
		wantBody           string
	}{
		{name: "root is the pod name", method: "GET", path: "/", wantCode: 200, wantBody: "web-0\n"},
		{name: "healthz", method: "GET", path: "/healthz", wantCode: 200, wantBody: "ok\n"},
		{name: "ready", method: "GET", path: "/ready", wantCode: 200, wantBody: "ready\n"},
		{name: "told to fail", method: "POST", path: "/ready/fail", wantCode: 200},
		{name: "not ready", method: "GET", path: "/ready", wantCode: 503},
		{name: "still healthy", method: "GET", path: "/healthz", wantCode: 200},
		{name: "told ok", method: "POST", path: "/ready/ok", wantCode: 200},
		{name: "ready again", method: "GET", path: "/ready", wantCode: 200},
		{name: "file makes it unready", method: "GET", path: "/ready", wantCode: 503,
			before: func() { _ = os.WriteFile(s.unreadyFile, nil, 0o644) }},
		{name: "file removed", method: "GET", path: "/ready", wantCode: 200,
			before: func() { _ = os.Remove(s.unreadyFile) }},
		{name: "POST /ready/ok removes the file", method: "POST", path: "/ready/ok", wantCode: 200,
			before: func() { _ = os.WriteFile(s.unreadyFile, nil, 0o644) }},
		{name: "ready after ok", method: "GET", path: "/ready", wantCode: 200},
		{name: "status code", method: "GET", path: "/status/418", wantCode: 418, wantBody: "418 web-0\n"},
		{name: "bad status code", method: "GET", path: "/status/abc", wantCode: 400},
		{name: "GET on a POST route", method: "GET", path: "/ready/fail", wantCode: 405},
		{name: "unknown path", method: "GET", path: "/nope", wantCode: 404},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		code, body := call(t, st.method, ts.URL+st.path)
		if code != st.wantCode || (st.wantBody != "" && body != st.wantBody) {
			t.Errorf("%s: %s %s = %d %q; want %d %q", st.name, st.method, st.path, code, body, st.wantCode, st.wantBody)
		}
	}
}

func TestEcho(t *testing.T) {
	_, ts := newTestServer(t)
	for _, p := range []string{"/echo", "/info"} {
		code, body := call(t, "GET", ts.URL+p)
		if code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
		var e echoResponse
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("%s: %v: %s", p, err, body)
		}
		if e.Pod != "web-0" || e.Namespace != "ns" || e.ClientIP != "127.0.0.1" || !strings.HasPrefix(e.Client, "127.0.0.1:") || e.Path != p || e.ServerAddr == "" {
			t.Errorf("%s: %+v", p, e)
		}
	}
}

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestFileCommands(t *testing.T) {
	p := filepath.Join(t.TempDir(), "unready")
	if code, _, e := runCmd("touch", p); code != 0 {
		t.Fatalf("touch: %d %s", code, e)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	if code, _, e := runCmd("rm", p); code != 0 {
		t.Fatalf("rm: %d %s", code, e)
	}
	if code, _, _ := runCmd("rm", p); code != exitFail {
		t.Fatalf("rm of a missing file: %d", code)
	}
	if code, _, _ := runCmd("touch"); code != exitUsage {
		t.Fatalf("touch without path: %d", code)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"get"}, {"tcp"}, {"udp"}, {"lookup"}, {"sleep", "soon"}, {"serve", "-ports", "x"}} {
		if code, _, _ := runCmd(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, out, _ := runCmd("help"); code != 0 || !strings.Contains(out, "usage") {
		t.Errorf("help: %d %q", code, out)
	}
	if code, _, _ := runCmd("sleep", "1ms"); code != 0 {
		t.Errorf("sleep 1ms: %d", code)
	}
}

func TestGetAndTCP(t *testing.T) {
	_, ts := newTestServer(t)
	code, out, errs := runCmd("get", ts.URL+"/")
	if code != 0 || out != "web-0\n" || !strings.Contains(errs, "HTTP 200") {
		t.Fatalf("get: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCmd("get", ts.URL+"/status/503"); code != exitFail || !strings.Contains(errs, "HTTP 503") {
		t.Fatalf("get 503: %d %q", code, errs)
	}
	code, out, _ = runCmd("get", "-host", "web.example.test", ts.URL+"/echo")
	if code != 0 || !strings.Contains(out, `"host":"web.example.test"`) {
		t.Fatalf("get -host: %d %s", code, out)
	}
	addr := strings.TrimPrefix(ts.URL, "http://")
	if code, out, _ := runCmd("tcp", addr); code != 0 || !strings.HasPrefix(out, "connected") {
		t.Fatalf("tcp: %d %q", code, out)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	if code, _, _ := runCmd("tcp", "-timeout", "1s", closed); code != exitFail {
		t.Fatalf("tcp to a closed port: %d", code)
	}
}

func TestUDPEcho(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{id: identity{Pod: "dns-0"}, log: log.New(io.Discard, "", 0)}
	done := make(chan error, 1)
	go func() { done <- s.udpEcho(pc) }()
	code, out, errs := runCmd("udp", pc.LocalAddr().String(), "hello")
	if code != 0 || !strings.HasPrefix(out, "dns-0 127.0.0.1:") || !strings.HasSuffix(out, " hello\n") {
		t.Fatalf("udp: %d %q %q", code, out, errs)
	}
	pc.Close()
	if err := <-done; err != nil {
		t.Fatalf("udpEcho after close: %v", err)
	}
}

// fakeDNS answers A queries for known names, an empty NOERROR for other types of known names and
// NXDOMAIN for everything else.
func fakeDNS(t *testing.T, records map[string]net.IP) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			// question name
			var labels []string
			i := 12
			for i < n && q[i] != 0 {
				l := int(q[i])
				labels = append(labels, string(q[i+1:i+1+l]))
				i += 1 + l
			}
			qend := i + 5 // zero byte + qtype + qclass
			qtype := binary.BigEndian.Uint16(q[i+1:])
			name := strings.ToLower(strings.Join(labels, ".")) + "."
			resp := append([]byte(nil), q[:qend]...)
			resp[2] |= 0x80 // QR
			resp[3] = 0x80  // RA, rcode 0
			binary.BigEndian.PutUint16(resp[6:], 0)
			binary.BigEndian.PutUint16(resp[8:], 0)
			binary.BigEndian.PutUint16(resp[10:], 0)
			ip, ok := records[name]
			switch {
			case !ok:
				resp[3] |= 3 // NXDOMAIN
			case qtype == 1:
				binary.BigEndian.PutUint16(resp[6:], 1)
				resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4)
				resp = append(resp, ip.To4()...)
			}
			_, _ = pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String()
}

func TestDNSCommands(t *testing.T) {
	srv := fakeDNS(t, map[string]net.IP{"web.test.": net.ParseIP("10.244.0.7")})
	tests := []struct {
		args     []string
		wantCode int
		wantOut  []string
	}{
		{args: []string{"lookup", "-server", srv, "web.test."}, wantCode: 0, wantOut: []string{"10.244.0.7"}},
		{args: []string{"lookup", "-server", srv, "example.com."}, wantCode: exitNotFound},
		{args: []string{"srv", "-server", srv, "_http._tcp.nothing.test."}, wantCode: exitNotFound},
	}
	for _, tc := range tests {
		code, out, errs := runCmd(tc.args...)
		if code != tc.wantCode || (tc.wantOut != nil && !reflect.DeepEqual(trimLines(out), tc.wantOut)) {
			t.Errorf("%v = %d %q (stderr %q); want %d %v", tc.args, code, out, errs, tc.wantCode, tc.wantOut)
		}
		if tc.wantCode == exitNotFound && !strings.HasPrefix(errs, "NXDOMAIN") {
			t.Errorf("%v: stderr %q lacks NXDOMAIN", tc.args, errs)
		}
	}
}

func TestDNSTimeoutIsRetriedThenFails(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got := make(chan int, 16)
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			got <- 1
		}
	}()
	code, _, errs := runCmd("lookup", "-server", pc.LocalAddr().String(), "-timeout", "200ms", "-attempts", "2", "web.test.")
	if code != exitFail || !strings.Contains(errs, "timeout") {
		t.Fatalf("exit %d stderr %q, want 1 and a timeout", code, errs)
	}
	if len(got) < 2 {
		t.Errorf("server saw %d queries, want at least one per attempt", len(got))
	}
	if code, _, _ := runCmd("lookup", "-attempts", "0", "x."); code != exitUsage {
		t.Errorf("-attempts 0: exit %d", code)
	}
}
