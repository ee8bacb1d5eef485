package agent

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRequestValidate(t *testing.T) {
	tcp := &TCPCheck{Host: "10.96.0.1", Port: 443}
	many := make([]Check, MaxChecks+1)
	for i := range many {
		many[i] = Check{ID: fmt.Sprint(i), Type: CheckTCP, TCP: tcp}
	}
	tests := []struct {
		name    string
		req     Request
		wantErr string
	}{
		{name: "valid", req: NewRequest(
			Check{ID: "a", Type: CheckTCP, TCP: tcp},
			Check{ID: "b", Type: CheckResolvConf},
			Check{ID: "c", Type: CheckDNS, DNS: &DNSCheck{Name: "kubernetes.default", QType: "srv"}, Timeout: Duration{MaxTimeout}},
			Check{ID: "d", Type: CheckHTTP, HTTP: &HTTPCheck{URL: "https://10.96.0.1/healthz", Method: "head"}},
			Check{ID: "e", Type: CheckUDP, UDP: &UDPCheck{Host: "10.96.0.10", Port: 53}},
			Check{ID: "f", Type: CheckEnv, Env: &EnvCheck{Prefix: "KUBERNETES_"}},
		)},
		{name: "newer version", req: Request{APIVersion: APIGroup + "/v2", Kind: KindCheckRequest, Checks: []Check{{ID: "a", Type: CheckResolvConf}}},
			wantErr: "unsupported agent protocol version: got agent.svc-doctor.io/v2, this build speaks agent.svc-doctor.io/v1: use an agent image and a svc-doctor of the same release (--image)"},
		{name: "foreign apiVersion", req: Request{APIVersion: "v1", Kind: KindCheckRequest},
			wantErr: `unsupported agent protocol version: apiVersion "v1" is not agent.svc-doctor.io/v1`},
		{name: "wrong kind", req: Request{APIVersion: APIVersion, Kind: "Pod"}, wantErr: `kind "Pod" is not CheckRequest`},
		{name: "no checks", req: NewRequest(), wantErr: "request has no checks"},
		{name: "too many checks", req: NewRequest(many...), wantErr: "request has 65 checks, at most 64 are allowed"},
		{name: "empty and duplicate ids", req: NewRequest(Check{Type: CheckTCP, TCP: tcp}, Check{ID: "x", Type: CheckTCP, TCP: tcp}, Check{ID: "x", Type: CheckTCP, TCP: tcp}),
			wantErr: "check 0: id is empty\ncheck 2: id \"x\" is used twice"},
		{name: "unknown type", req: NewRequest(Check{ID: "a", Type: "icmp"}),
			wantErr: `check 0 (a): unknown check type "icmp" (want dns, resolvconf, tcp, udp, http or env)`},
		{name: "missing parameters", req: NewRequest(Check{ID: "a", Type: CheckTCP}), wantErr: "check 0 (a): tcp parameters are missing"},
		{name: "mismatched parameters", req: NewRequest(Check{ID: "a", Type: CheckTCP, TCP: tcp, UDP: &UDPCheck{}}),
			wantErr: "check 0 (a): type is tcp but udp parameters are set"},
		{name: "timeout too long", req: NewRequest(Check{ID: "a", Type: CheckTCP, TCP: tcp, Timeout: Duration{time.Minute}}),
			wantErr: "check 0 (a): timeout 1m0s is outside 0-30s"},
		{name: "bad port", req: NewRequest(Check{ID: "a", Type: CheckTCP, TCP: &TCPCheck{Host: "x", Port: 70000}}),
			wantErr: "check 0 (a): port 70000 is outside 1-65535"},
		{name: "bad qtype", req: NewRequest(Check{ID: "a", Type: CheckDNS, DNS: &DNSCheck{Name: "x", QType: "MX"}}),
			wantErr: `check 0 (a): dns qtype "MX" is not one of A, AAAA, CNAME, SRV, PTR`},
		{name: "bad dns server", req: NewRequest(Check{ID: "a", Type: CheckDNS, DNS: &DNSCheck{Name: "x", Server: "a b"}}),
			wantErr: `check 0 (a): dns server "a b" is not host or host:port`},
		{name: "bad url", req: NewRequest(Check{ID: "a", Type: CheckHTTP, HTTP: &HTTPCheck{URL: "ftp://x/"}}),
			wantErr: `check 0 (a): http url "ftp://x/" must start with http:// or https://`},
		{name: "bad method", req: NewRequest(Check{ID: "a", Type: CheckHTTP, HTTP: &HTTPCheck{URL: "http://x/", Method: "GE T"}}),
			wantErr: `check 0 (a): http method "GE T" is not a token`},
		{name: "bad header name", req: NewRequest(Check{ID: "a", Type: CheckHTTP, HTTP: &HTTPCheck{URL: "http://x/", Headers: []HTTPHeader{{Name: "a b", Value: "c"}}}}),
			wantErr: `check 0 (a): http header name "a b" is not a token`},
		{name: "header value with a line break", req: NewRequest(Check{ID: "a", Type: CheckHTTP, HTTP: &HTTPCheck{URL: "http://x/", Headers: []HTTPHeader{{Name: "a", Value: "b\r\nc: d"}}}}),
			wantErr: `check 0 (a): http header a: the value holds a line break or NUL`},
		{name: "host header", req: NewRequest(Check{ID: "a", Type: CheckHTTP, HTTP: &HTTPCheck{URL: "http://x/", Headers: []HTTPHeader{{Name: "host", Value: "y"}}}}),
			wantErr: `check 0 (a): http header host cannot be set (Host is the host field)`},
		{name: "body cap", req: NewRequest(Check{ID: "a", Type: CheckHTTP, HTTP: &HTTPCheck{URL: "http://x/", MaxBodyBytes: 1 << 20}}),
			wantErr: "check 0 (a): maxBodyBytes 1048576 is outside 0-8192"},
		{name: "bad caData", req: NewRequest(Check{ID: "a", Type: CheckHTTP, HTTP: &HTTPCheck{URL: "https://x/", CAData: "junk"}}),
			wantErr: "check 0 (a): caData holds no PEM certificate"},
		{name: "empty env prefix", req: NewRequest(Check{ID: "a", Type: CheckEnv, Env: &EnvCheck{}}),
			wantErr: "check 0 (a): env prefix is empty (the agent does not dump its whole environment)"},
		{name: "udp payload too big", req: NewRequest(Check{ID: "a", Type: CheckUDP, UDP: &UDPCheck{Host: "x", Port: 1, Payload: strings.Repeat("x", 513)}}),
			wantErr: "check 0 (a): payload is 513 bytes, at most 512 are allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("error\n got %q\nwant %q", got, tt.wantErr)
			}
		})
	}
}

func TestRequestJSON(t *testing.T) {
	req := NewRequest(Check{ID: "svc", Type: CheckTCP, Timeout: Duration{1500 * time.Millisecond}, TCP: &TCPCheck{Host: "10.96.0.12", Port: 80}})
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckRequest","checks":[{"id":"svc","type":"tcp","timeout":"1.5s","tcp":{"host":"10.96.0.12","port":80}}]}`
	if string(b) != want {
		t.Errorf("json\n got %s\nwant %s", b, want)
	}
	back, err := DecodeRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(req, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		wantErr string
	}{
		{name: "not JSON", input: "hello", wantErr: "malformed request: invalid character 'h' looking for beginning of value"},
		{name: "unknown field", input: `{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckRequest","checks":[],"extra":1}`,
			wantErr: `malformed request: json: unknown field "extra"`},
		{name: "bad duration", input: `{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckRequest","checks":[{"id":"a","type":"resolvconf","timeout":"soon"}]}`,
			wantErr: `malformed request: invalid duration "soon": time: invalid duration "soon"`},
		{name: "trailing data", input: `{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckRequest","checks":[{"id":"a","type":"resolvconf"}]} {}`,
			wantErr: "malformed request: trailing data after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.input))
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("error\n got %v\nwant %s", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		name        string
		input       string
		wantErr     string
		wantVersion bool // errors.Is(err, ErrUnsupportedVersion)
		wantResults int
	}{
		{name: "current", input: `{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckResponse","agentVersion":"dev","results":[{"id":"a","type":"tcp","target":"x","ok":true,"detail":"","duration":"1ms","future":"ignored"}]}`,
			wantResults: 1},
		{name: "newer", input: `{"apiVersion":"agent.svc-doctor.io/v2","kind":"CheckResponse","results":[]}`, wantVersion: true,
			wantErr: "agent response: unsupported agent protocol version: got agent.svc-doctor.io/v2, this build speaks agent.svc-doctor.io/v1: use an agent image and a svc-doctor of the same release (--image)"},
		{name: "missing version", input: `{"kind":"CheckResponse"}`, wantVersion: true,
			wantErr: `agent response: unsupported agent protocol version: apiVersion "" is not agent.svc-doctor.io/v1`},
		{name: "wrong kind", input: `{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckRequest"}`,
			wantErr: `agent response: kind "CheckRequest" is not CheckResponse`},
		{name: "agent error", input: `{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckResponse","agentVersion":"v0.1.0","error":"request has no checks","results":[]}`,
			wantErr: "agent v0.1.0 rejected the request: request has no checks"},
		{name: "garbage", input: `Error from server`, wantErr: "malformed agent response: invalid character 'E' looking for beginning of value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := DecodeResponse([]byte(tt.input))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("error\n got %q\nwant %q", got, tt.wantErr)
			}
			if errors.Is(err, ErrUnsupportedVersion) != tt.wantVersion {
				t.Errorf("errors.Is(ErrUnsupportedVersion) = %v", !tt.wantVersion)
			}
			if err == nil && len(resp.Results) != tt.wantResults {
				t.Errorf("%d results", len(resp.Results))
			}
		})
	}
}

func TestMatchRequest(t *testing.T) {
	req := NewRequest(Check{ID: "a"}, Check{ID: "b"})
	tests := []struct {
		name    string
		results []Result
		wantErr string
	}{
		{name: "match", results: []Result{{ID: "a"}, {ID: "b"}}},
		{name: "short", results: []Result{{ID: "a"}}, wantErr: "agent response has 1 results for 2 checks"},
		{name: "reordered", results: []Result{{ID: "b"}, {ID: "a"}}, wantErr: `agent response result 0 has id "b", want "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Response{Results: tt.results}).MatchRequest(req)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("error %q, want %q", got, tt.wantErr)
			}
		})
	}
}

func TestRunKeepsOrderUnderConcurrency(t *testing.T) {
	open := listener(t)
	closed := closedPort(t, "tcp")
	silent := silentUDP(t)
	var checks []Check
	var want []outcome
	for i := 0; i < 12; i++ {
		switch i % 3 {
		case 0: // slowest first: finishes last
			checks = append(checks, Check{ID: fmt.Sprint(i), Type: CheckUDP, Timeout: Duration{200 * time.Millisecond},
				UDP: &UDPCheck{Host: "127.0.0.1", Port: silent, ExpectReply: true}})
			want = append(want, outcome{Failure: FailTimeout})
		case 1:
			checks = append(checks, Check{ID: fmt.Sprint(i), Type: CheckTCP, TCP: &TCPCheck{Host: "127.0.0.1", Port: open}})
			want = append(want, outcome{OK: true})
		case 2:
			checks = append(checks, Check{ID: fmt.Sprint(i), Type: CheckTCP, TCP: &TCPCheck{Host: "127.0.0.1", Port: closed}})
			want = append(want, outcome{Failure: FailRefused})
		}
	}
	start := time.Now()
	resp, err := (&Runner{Version: "test", Concurrency: 4}).Run(context.Background(), NewRequest(checks...))
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	var got []outcome
	for i, r := range resp.Results {
		if r.ID != fmt.Sprint(i) {
			t.Errorf("result %d has id %s", i, r.ID)
		}
		got = append(got, outcome{r.OK, r.Failure})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Four 200ms timeouts with four workers: about one round, never four sequential ones.
	if elapsed > 700*time.Millisecond {
		t.Errorf("took %v: checks did not run concurrently", elapsed)
	}
	if resp.AgentVersion != "test" || resp.APIVersion != APIVersion || resp.Kind != KindCheckResponse {
		t.Errorf("envelope %+v", resp)
	}
}

func TestHandleCheck(t *testing.T) {
	port := listener(t)
	tests := []struct {
		name     string
		input    string
		wantCode int
		wantErr  string
		wantOK   []bool
	}{
		{name: "ok", input: fmt.Sprintf(`{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckRequest","checks":[{"id":"a","type":"tcp","tcp":{"host":"127.0.0.1","port":%d}}]}`, port),
			wantOK: []bool{true}},
		{name: "failing check still exits 0", input: `{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckRequest","checks":[{"id":"a","type":"env","env":{"prefix":"X"},"timeout":"1s"},{"id":"b","type":"resolvconf"}]}`,
			wantOK: []bool{true, false}},
		{name: "malformed", input: `{"apiVersion":`, wantCode: 2, wantErr: "malformed request: unexpected EOF"},
		{name: "invalid", input: `{"apiVersion":"agent.svc-doctor.io/v1","kind":"CheckRequest","checks":[]}`, wantCode: 2, wantErr: "request has no checks"},
		{name: "too big", input: strings.Repeat(" ", MaxRequestBytes+1), wantCode: 2, wantErr: "request is larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			r := &Runner{Version: "test", ResolvConfPath: "/nonexistent", Environ: func() []string { return nil }}
			code, err := HandleCheck(context.Background(), strings.NewReader(tt.input), &out, r)
			if code != tt.wantCode || err != nil {
				t.Errorf("exit code %d (%v), want %d", code, err, tt.wantCode)
			}
			var resp Response
			if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out.String())
			}
			if resp.APIVersion != APIVersion || resp.Kind != KindCheckResponse || resp.Error != tt.wantErr {
				t.Errorf("envelope %+v", resp)
			}
			var ok []bool
			for _, r := range resp.Results {
				ok = append(ok, r.OK)
			}
			if diff := cmp.Diff(tt.wantOK, ok); diff != "" {
				t.Errorf("ok (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	opErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	tests := []struct {
		name string
		err  error
		want FailureClass
	}{
		{name: "nil", err: nil, want: ""},
		{name: "refused", err: opErr(syscall.ECONNREFUSED), want: FailRefused},
		{name: "reset", err: fmt.Errorf("read: %w", opErr(syscall.ECONNRESET)), want: FailReset},
		{name: "broken pipe", err: opErr(syscall.EPIPE), want: FailReset},
		{name: "host unreachable", err: opErr(syscall.EHOSTUNREACH), want: FailUnreachable},
		{name: "network unreachable", err: opErr(syscall.ENETUNREACH), want: FailUnreachable},
		{name: "connect timed out", err: opErr(syscall.ETIMEDOUT), want: FailTimeout},
		{name: "deadline", err: context.DeadlineExceeded, want: FailTimeout},
		{name: "io deadline", err: &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, want: FailTimeout},
		{name: "name not found", err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, want: FailNXDomain},
		{name: "resolver timeout", err: &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}, want: FailDNSTimeout},
		{name: "resolver failure", err: &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}, want: FailServFail},
		{name: "unknown authority", err: fmt.Errorf("get: %w", x509.UnknownAuthorityError{}), want: FailTLS},
		{name: "hostname mismatch", err: x509.HostnameError{Host: "x"}, want: FailTLS},
		{name: "other", err: errors.New("boom"), want: FailOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
