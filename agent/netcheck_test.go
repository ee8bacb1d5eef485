package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// outcome is the part of any result most tests assert on.
type outcome struct {
	OK      bool
	Failure FailureClass
}

func TestTCPCheck(t *testing.T) {
	tests := []struct {
		name    string
		port    func(t *testing.T) int
		timeout time.Duration
		want    outcome
	}{
		{name: "listening", port: listener, want: outcome{OK: true}},
		{name: "closed port: refused", port: func(t *testing.T) int { return closedPort(t, "tcp") }, want: outcome{Failure: FailRefused}},
		{name: "full accept queue: timeout", port: fullBacklog, timeout: 300 * time.Millisecond, want: outcome{Failure: FailTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Check{ID: "t", Type: CheckTCP, TCP: &TCPCheck{Host: "127.0.0.1", Port: tt.port(t)}, Timeout: Duration{tt.timeout}}
			got := (&Runner{}).runCheck(context.Background(), c)
			if diff := cmp.Diff(tt.want, outcome{got.OK, got.Failure}); diff != "" {
				t.Errorf("(-want +got):\n%s\ndetail: %s", diff, got.Detail)
			}
			if got.OK && !strings.HasPrefix(got.TCP.RemoteAddr, "127.0.0.1:") {
				t.Errorf("remote addr %q", got.TCP.RemoteAddr)
			}
			if got.Target != fmt.Sprintf("tcp://127.0.0.1:%d", c.TCP.Port) {
				t.Errorf("target %q", got.Target)
			}
		})
	}
}

func TestUDPCheck(t *testing.T) {
	tests := []struct {
		name        string
		port        func(t *testing.T) int
		expectReply bool
		want        outcome
		wantOutcome string
		wantReply   string
	}{
		{name: "echo reply", port: echoUDP, want: outcome{OK: true}, wantOutcome: UDPReply, wantReply: "echo: ping"},
		{name: "closed port: ICMP refused", port: func(t *testing.T) int { return closedPort(t, "udp") },
			want: outcome{Failure: FailRefused}, wantOutcome: UDPRefused},
		{name: "silence is best effort OK", port: silentUDP, want: outcome{OK: true}, wantOutcome: UDPNoAnswer},
		{name: "silence with expectReply: timeout", port: silentUDP, expectReply: true,
			want: outcome{Failure: FailTimeout}, wantOutcome: UDPNoAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Check{ID: "u", Type: CheckUDP, Timeout: Duration{300 * time.Millisecond},
				UDP: &UDPCheck{Host: "127.0.0.1", Port: tt.port(t), Payload: "ping", ExpectReply: tt.expectReply}}
			got := (&Runner{}).runCheck(context.Background(), c)
			if diff := cmp.Diff(tt.want, outcome{got.OK, got.Failure}); diff != "" {
				t.Errorf("(-want +got):\n%s\ndetail: %s", diff, got.Detail)
			}
			if got.UDP.Outcome != tt.wantOutcome || got.UDP.Reply != tt.wantReply {
				t.Errorf("udp result %+v, want outcome %q reply %q", *got.UDP, tt.wantOutcome, tt.wantReply)
			}
		})
	}
}

// testHandler serves the paths the HTTP tests use.
func testHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/host":
		fmt.Fprint(w, "host="+r.Host)
	case "/echo":
		fmt.Fprintf(w, "%s x-version=%s", r.Method, r.Header.Get("X-Version"))
	case "/big":
		fmt.Fprint(w, strings.Repeat("x", 5000))
	case "/missing":
		http.Error(w, "nope", http.StatusNotFound)
	case "/redirect":
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	case "/slow":
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	default:
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "hello")
	}
}

// httpView is the part of an HTTP result the tests assert on.
type httpView struct {
	OK        bool
	Failure   FailureClass
	Status    int
	Body      string
	Truncated bool
	Location  string
	Verified  bool
	HasCerts  bool
}

func viewHTTP(r Result) httpView {
	v := httpView{OK: r.OK, Failure: r.Failure}
	if h := r.HTTP; h != nil {
		v.Status, v.Body, v.Truncated, v.Location = h.StatusCode, h.BodySnippet, h.BodyTruncated, h.Location
		if h.TLS != nil {
			v.Verified, v.HasCerts = h.TLS.Verified, len(h.TLS.PeerCertificates) > 0
		}
	}
	return v
}

// tlsServer is an httptest TLS server on loopback that does not log the handshakes the tests fail
// on purpose.
func tlsServer(t *testing.T) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(testHandler))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPCheck(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(testHandler))
	t.Cleanup(plain.Close)
	secure := tlsServer(t)
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw}))
	closed := fmt.Sprintf("http://127.0.0.1:%d/", closedPort(t, "tcp"))

	tests := []struct {
		name    string
		check   HTTPCheck
		timeout time.Duration
		want    httpView
	}{
		{name: "GET 200", check: HTTPCheck{URL: plain.URL + "/"}, want: httpView{OK: true, Status: 200, Body: "hello"}},
		{name: "HEAD has no body", check: HTTPCheck{URL: plain.URL + "/", Method: "HEAD"}, want: httpView{OK: true, Status: 200}},
		{name: "Host header override", check: HTTPCheck{URL: plain.URL + "/host", Host: "web.example"},
			want: httpView{OK: true, Status: 200, Body: "host=web.example"}},
		{name: "method and headers sent", check: HTTPCheck{URL: plain.URL + "/echo", Method: "post", Headers: []HTTPHeader{{Name: "x-version", Value: "2"}}},
			want: httpView{OK: true, Status: 200, Body: "POST x-version=2"}},
		{name: "body snippet capped", check: HTTPCheck{URL: plain.URL + "/big", MaxBodyBytes: 10},
			want: httpView{OK: true, Status: 200, Body: "xxxxxxxxxx", Truncated: true}},
		{name: "404 is an http-status failure", check: HTTPCheck{URL: plain.URL + "/missing"},
			want: httpView{Failure: FailHTTPStatus, Status: 404, Body: "nope\n"}},
		{name: "404 expected", check: HTTPCheck{URL: plain.URL + "/missing", ExpectStatus: []int{404}},
			want: httpView{OK: true, Status: 404, Body: "nope\n"}},
		{name: "redirect reported, not followed", check: HTTPCheck{URL: plain.URL + "/redirect", Method: "HEAD"},
			want: httpView{OK: true, Status: 302, Location: "/elsewhere"}},
		{name: "closed port: refused", check: HTTPCheck{URL: closed}, want: httpView{Failure: FailRefused}},
		{name: "no response in time: timeout", check: HTTPCheck{URL: plain.URL + "/slow"}, timeout: 300 * time.Millisecond,
			want: httpView{Failure: FailTimeout}},
		{name: "TLS insecure: chain reported unverified", check: HTTPCheck{URL: secure.URL + "/", InsecureSkipVerify: true},
			want: httpView{OK: true, Status: 200, Body: "hello", HasCerts: true}},
		{name: "TLS unknown authority: tls failure with the chain", check: HTTPCheck{URL: secure.URL + "/"},
			want: httpView{Failure: FailTLS, HasCerts: true}},
		{name: "TLS verified with caData and SNI", check: HTTPCheck{URL: secure.URL + "/", CAData: caPEM, ServerName: "example.com"},
			want: httpView{OK: true, Status: 200, Body: "hello", Verified: true, HasCerts: true}},
		{name: "TLS verified against the IP SAN", check: HTTPCheck{URL: secure.URL + "/", CAData: caPEM},
			want: httpView{OK: true, Status: 200, Body: "hello", Verified: true, HasCerts: true}},
		{name: "TLS name mismatch", check: HTTPCheck{URL: secure.URL + "/", CAData: caPEM, Host: "wrong.test"},
			want: httpView{Failure: FailTLS, HasCerts: true}},
		{name: "plain HTTP to a TLS port", check: HTTPCheck{URL: "http://" + strings.TrimPrefix(secure.URL, "https://") + "/"},
			want: httpView{Failure: FailHTTPStatus, Status: 400, Body: "Client sent an HTTP request to an HTTPS server.\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Check{ID: "h", Type: CheckHTTP, HTTP: &tt.check, Timeout: Duration{tt.timeout}}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got := (&Runner{Version: "test"}).runCheck(context.Background(), c)
			if diff := cmp.Diff(tt.want, viewHTTP(got)); diff != "" {
				t.Errorf("(-want +got):\n%s\ndetail: %s", diff, got.Detail)
			}
		})
	}
}

func TestHTTPCertificateSummary(t *testing.T) {
	secure := tlsServer(t)
	cert := secure.Certificate()
	sum := sha256.Sum256(cert.Raw)
	got := (&Runner{}).runCheck(context.Background(), Check{ID: "h", Type: CheckHTTP,
		HTTP: &HTTPCheck{URL: secure.URL + "/", InsecureSkipVerify: true}})
	if got.HTTP.TLS == nil || len(got.HTTP.TLS.PeerCertificates) != 1 {
		t.Fatalf("tls info %+v", got.HTTP.TLS)
	}
	want := CertSummary{
		Subject:   cert.Subject.String(),
		Issuer:    cert.Issuer.String(),
		DNSNames:  cert.DNSNames,
		IPs:       []string{"127.0.0.1", "::1"},
		NotBefore: cert.NotBefore.UTC(),
		NotAfter:  cert.NotAfter.UTC(),
		SHA256:    hex.EncodeToString(sum[:]),
	}
	if diff := cmp.Diff(want, got.HTTP.TLS.PeerCertificates[0]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got.HTTP.TLS.Version == "" || got.HTTP.TLS.ServerName != "127.0.0.1" || got.HTTP.TLS.Verified {
		t.Errorf("tls info %+v", got.HTTP.TLS)
	}
	if got.HTTP.ResponseTime.Duration <= 0 || !strings.HasPrefix(got.HTTP.RemoteAddr, "127.0.0.1:") {
		t.Errorf("response time %v remote %q", got.HTTP.ResponseTime, got.HTTP.RemoteAddr)
	}
}

func TestEnvCheck(t *testing.T) {
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "42"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "42", "environ"), []byte("WEB_SERVICE_HOST=10.96.0.12\x00PATH=/bin\x00WEB_SERVICE_PORT=80\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	environ := func() []string {
		return []string{"HOME=/", "WEB_SERVICE_PORT=80", "WEB_SERVICE_HOST=10.96.0.12", "SECRET=x", "WEBX=1"}
	}
	tests := []struct {
		name  string
		check EnvCheck
		want  Result
	}{
		{
			name:  "own environment, sorted",
			check: EnvCheck{Prefix: "WEB_SERVICE_"},
			want: Result{ID: "e", Type: CheckEnv, Target: "env WEB_SERVICE_*", OK: true,
				Detail: "2 variable(s) start with WEB_SERVICE_: WEB_SERVICE_HOST, WEB_SERVICE_PORT",
				Env:    &EnvResult{Vars: []EnvVar{{"WEB_SERVICE_HOST", "10.96.0.12"}, {"WEB_SERVICE_PORT", "80"}}}},
		},
		{
			name:  "none match",
			check: EnvCheck{Prefix: "DB_SERVICE_"},
			want: Result{ID: "e", Type: CheckEnv, Target: "env DB_SERVICE_*", OK: true,
				Detail: "no environment variable starts with DB_SERVICE_", Env: &EnvResult{Vars: []EnvVar{}}},
		},
		{
			name:  "another process",
			check: EnvCheck{Prefix: "WEB_", PID: 42},
			want: Result{ID: "e", Type: CheckEnv, Target: "env WEB_* of pid 42", OK: true,
				Detail: "2 variable(s) start with WEB_: WEB_SERVICE_HOST, WEB_SERVICE_PORT",
				Env:    &EnvResult{Vars: []EnvVar{{"WEB_SERVICE_HOST", "10.96.0.12"}, {"WEB_SERVICE_PORT", "80"}}}},
		},
		{
			name:  "missing process",
			check: EnvCheck{Prefix: "WEB_", PID: 7},
			want: Result{ID: "e", Type: CheckEnv, Target: "env WEB_* of pid 7", Failure: FailOther,
				Detail: "cannot read the environment of pid 7: open " + filepath.Join(proc, "7", "environ") + ": no such file or directory",
				Env:    &EnvResult{Vars: []EnvVar{}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Runner{Environ: environ, ProcRoot: proc}
			got := r.runCheck(context.Background(), Check{ID: "e", Type: CheckEnv, Env: &tt.check})
			got.Duration = Duration{}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
