// Package agent is the in-cluster side of svc-doctor: the versioned JSON protocol spoken between the
// CLI and the helper agent, and the network checks (DNS, resolv.conf, TCP, UDP, HTTP, environment)
// that the agent runs from inside a pod.
//
// The CLI builds a Request, the agent binary (cmd/svc-doctor-agent) reads it on stdin, runs it with a
// Runner and writes a Response on stdout; the CLI reads it back with DecodeResponse, which refuses a
// response it does not understand instead of guessing.
package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The protocol identifiers. A breaking change to the JSON shape gets a new version.
const (
	// APIGroup is the group part of APIVersion.
	APIGroup = "agent.svc-doctor.io"
	// APIVersion is the only protocol version this package speaks.
	APIVersion = APIGroup + "/v1"
	// KindCheckRequest is the Kind of a Request.
	KindCheckRequest = "CheckRequest"
	// KindCheckResponse is the Kind of a Response.
	KindCheckResponse = "CheckResponse"
)

// Limits that keep one request bounded in time and size.
const (
	// MaxChecks is the largest number of checks one request may carry.
	MaxChecks = 64
	// DefaultTimeout applies to a check that names no timeout.
	DefaultTimeout = 2 * time.Second
	// MaxTimeout is the longest timeout a check may ask for.
	MaxTimeout = 30 * time.Second
	// DefaultBodyBytes is the default size of an HTTP body snippet.
	DefaultBodyBytes = 1024
	// MaxBodyBytes caps an HTTP body snippet whatever the request asks.
	MaxBodyBytes = 8192
	// MaxUDPPayload caps the payload of a UDP check and the reply kept from it.
	MaxUDPPayload = 512
	// DefaultConcurrency is how many checks run at once. A request may carry the checks of several
	// Services (diagnose -n NS merges them), and most of a check's time is spent waiting on the
	// network (a dropped connection waits its whole timeout), so half a full request runs at once.
	DefaultConcurrency = MaxChecks / 2
	// MaxRequestBytes caps the size of an encoded request read by the agent.
	MaxRequestBytes = 1 << 20
	// MaxResponseBytes caps the size of an encoded response read by the CLI.
	MaxResponseBytes = 8 << 20
)

// CheckType names a kind of check.
type CheckType string

// The check types.
const (
	// CheckDNS queries a name, against a given nameserver or the way the pod's resolver would.
	CheckDNS CheckType = "dns"
	// CheckResolvConf reports the agent's parsed /etc/resolv.conf.
	CheckResolvConf CheckType = "resolvconf"
	// CheckTCP opens a TCP connection.
	CheckTCP CheckType = "tcp"
	// CheckUDP sends one datagram and waits for a reply or an ICMP error (best effort).
	CheckUDP CheckType = "udp"
	// CheckHTTP makes one HTTP(S) request.
	CheckHTTP CheckType = "http"
	// CheckEnv reports environment variables that start with a prefix.
	CheckEnv CheckType = "env"
)

// FailureClass says why a check failed, in terms a diagnosis can map to a cause. It is derived from
// the error values the system returned (errno, DNS rcode, TLS and x509 error types), not from text.
type FailureClass string

// The failure classes. The zero value means the check did not fail.
const (
	// FailRefused: the peer answered with a TCP RST or an ICMP port unreachable (nothing listens there).
	FailRefused FailureClass = "refused"
	// FailTimeout: no answer before the deadline (packets dropped: NetworkPolicy, no route, dead backend).
	FailTimeout FailureClass = "timeout"
	// FailReset: the connection was established and then reset or aborted by the peer.
	FailReset FailureClass = "reset"
	// FailUnreachable: the kernel reported the host or network unreachable.
	FailUnreachable FailureClass = "unreachable"
	// FailNXDomain: the name does not exist (DNS rcode NXDOMAIN).
	FailNXDomain FailureClass = "nxdomain"
	// FailNoData: the name exists but has no record of the asked type (NOERROR with an empty answer).
	FailNoData FailureClass = "nodata"
	// FailServFail: the nameserver failed to answer (DNS rcode SERVFAIL).
	FailServFail FailureClass = "servfail"
	// FailDNSTimeout: no nameserver answered before the deadline.
	FailDNSTimeout FailureClass = "dns-timeout"
	// FailTLS: the TLS handshake or the certificate verification failed.
	FailTLS FailureClass = "tls"
	// FailHTTPStatus: the HTTP server answered with a status the check did not expect.
	FailHTTPStatus FailureClass = "http-status"
	// FailOther: anything else; Detail says what.
	FailOther FailureClass = "other"
)

// Duration is a time.Duration that reads and writes JSON as a Go duration string ("1.5s").
type Duration struct {
	time.Duration
}

// MarshalJSON writes the duration as a string such as "250ms".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.Duration.String())
}

// UnmarshalJSON reads a duration string such as "2s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"2s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", s, err)
	}
	d.Duration = v
	return nil
}

// Request asks the agent to run checks.
type Request struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Checks     []Check `json:"checks"`
}

// NewRequest returns a Request of the current version carrying checks.
func NewRequest(checks ...Check) Request {
	return Request{APIVersion: APIVersion, Kind: KindCheckRequest, Checks: checks}
}

// Check is one check. Exactly the parameter block that matches Type is set (ResolvConf may be nil).
type Check struct {
	// ID is chosen by the caller, unique within the request, and copied into the Result.
	ID   string    `json:"id"`
	Type CheckType `json:"type"`
	// Timeout bounds the whole check; zero means DefaultTimeout; at most MaxTimeout.
	Timeout Duration `json:"timeout,omitzero"`

	DNS        *DNSCheck        `json:"dns,omitempty"`
	ResolvConf *ResolvConfCheck `json:"resolvconf,omitempty"`
	TCP        *TCPCheck        `json:"tcp,omitempty"`
	UDP        *UDPCheck        `json:"udp,omitempty"`
	HTTP       *HTTPCheck       `json:"http,omitempty"`
	Env        *EnvCheck        `json:"env,omitempty"`
}

// DNS query types a DNSCheck may ask for.
const (
	QueryA     = "A"
	QueryAAAA  = "AAAA"
	QueryCNAME = "CNAME"
	QuerySRV   = "SRV"
	QueryPTR   = "PTR"
)

// DNSCheck queries Name for QType.
//
// With Server set, the name is queried as given (made absolute) against that nameserver only. With
// Server empty the query is made the "system way": the nameservers, search list and ndots of the
// agent's /etc/resolv.conf, trying the expanded names in the order glibc does; every name tried is
// reported in DNSResult.Tries.
type DNSCheck struct {
	// Name is a domain name, or an IP address when QType is PTR.
	Name string `json:"name"`
	// QType is one of A, AAAA, CNAME, SRV, PTR; empty means A.
	QType string `json:"qtype,omitempty"`
	// Server is "host" or "host:port" (port 53 by default); empty means the system way.
	Server string `json:"server,omitempty"`
	// TCP queries over TCP instead of UDP (a truncated UDP answer is always retried over TCP).
	TCP bool `json:"tcp,omitempty"`
}

// ResolvConfCheck reports the agent's resolver configuration. It has no parameters.
type ResolvConfCheck struct{}

// TCPCheck opens a TCP connection to Host:Port and closes it.
type TCPCheck struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// UDPCheck sends Payload to Host:Port and waits for a reply.
//
// UDP gives no handshake: a reply proves a listener, an ICMP port unreachable (seen as "connection
// refused") proves there is none, and silence proves nothing. So silence is OK unless ExpectReply is
// set, in which case it is a timeout failure.
type UDPCheck struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// Payload is sent as is (at most MaxUDPPayload bytes); empty sends "svc-doctor\n".
	Payload string `json:"payload,omitempty"`
	// ExpectReply makes silence a failure.
	ExpectReply bool `json:"expectReply,omitempty"`
}

// HTTPCheck makes one request to URL without following redirects or using a proxy.
type HTTPCheck struct {
	// URL is absolute, http or https.
	URL string `json:"url"`
	// Method is the request method, sent without a body: an HTTP token, GET when empty.
	Method string `json:"method,omitempty"`
	// Headers are sent with the request (Host, Content-Length, Transfer-Encoding and Connection
	// are refused: Host is set with the field of that name).
	Headers []HTTPHeader `json:"headers,omitempty"`
	// Host overrides the Host header (and the TLS server name unless ServerName is set).
	Host string `json:"host,omitempty"`
	// ServerName overrides the TLS SNI and the name the certificate is verified against.
	ServerName string `json:"serverName,omitempty"`
	// InsecureSkipVerify accepts any certificate (the chain is still reported).
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// CAData is a PEM bundle to verify the server with instead of the system roots (the agent image
	// ships none).
	CAData string `json:"caData,omitempty"`
	// ExpectStatus lists the statuses that count as OK; empty means 200-399.
	ExpectStatus []int `json:"expectStatus,omitempty"`
	// MaxBodyBytes caps the body snippet; zero means DefaultBodyBytes, at most MaxBodyBytes.
	MaxBodyBytes int `json:"maxBodyBytes,omitempty"`
}

// HTTPHeader is one request header.
type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EnvCheck reports the environment variables whose names start with Prefix.
type EnvCheck struct {
	// Prefix must not be empty: the agent never dumps its whole environment.
	Prefix string `json:"prefix"`
	// PID, when set, reads /proc/PID/environ instead of the agent's own environment (for an
	// ephemeral container that shares the target container's process namespace).
	PID int `json:"pid,omitempty"`
}

// Response carries the results of a Request, in request order.
type Response struct {
	APIVersion   string `json:"apiVersion"`
	Kind         string `json:"kind"`
	AgentVersion string `json:"agentVersion"`
	// Error is set, and Results empty, when the agent rejected the request as a whole.
	Error   string   `json:"error,omitempty"`
	Results []Result `json:"results"`
}

// Result is the outcome of one check.
type Result struct {
	ID     string    `json:"id"`
	Type   CheckType `json:"type"`
	Target string    `json:"target"`
	OK     bool      `json:"ok"`
	// Failure is empty when OK.
	Failure FailureClass `json:"failure,omitempty"`
	// Detail says what happened in a sentence.
	Detail   string   `json:"detail"`
	Duration Duration `json:"duration"`

	DNS        *DNSResult  `json:"dns,omitempty"`
	ResolvConf *ResolvConf `json:"resolvconf,omitempty"`
	TCP        *TCPResult  `json:"tcp,omitempty"`
	UDP        *UDPResult  `json:"udp,omitempty"`
	HTTP       *HTTPResult `json:"http,omitempty"`
	Env        *EnvResult  `json:"env,omitempty"`
}

// DNSResult is what a DNS check saw.
type DNSResult struct {
	QType string `json:"qtype"`
	// Name is the absolute name that produced the final answer (or the last one tried).
	Name string `json:"name"`
	// Server is the nameserver that gave the final answer.
	Server string `json:"server,omitempty"`
	// Rcode of the final answer: NOERROR, NXDOMAIN, SERVFAIL, ...; empty when nothing answered.
	Rcode string `json:"rcode,omitempty"`
	// Answers are the answer-section records of the final answer, CNAMEs included.
	Answers []DNSRecord `json:"answers,omitempty"`
	// CNAMEChain lists the names from the queried name to the final target when CNAMEs were followed.
	CNAMEChain []string `json:"cnameChain,omitempty"`
	// Tries lists every query made, in order.
	Tries []DNSTry `json:"tries"`
}

// DNSRecord is one resource record of an answer.
type DNSRecord struct {
	Name string `json:"name"`
	Type string `json:"type"`
	TTL  uint32 `json:"ttl"`
	// Value is the address (A, AAAA), the target name (CNAME, PTR, SRV).
	Value    string `json:"value"`
	Priority uint16 `json:"priority,omitempty"`
	Weight   uint16 `json:"weight,omitempty"`
	Port     uint16 `json:"port,omitempty"`
}

// DNSTry is one query of a DNS check.
type DNSTry struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	// Rcode is empty when no answer came (Error says why).
	Rcode    string   `json:"rcode,omitempty"`
	Answers  int      `json:"answers"`
	Error    string   `json:"error,omitempty"`
	Duration Duration `json:"duration"`
}

// ResolvConf is a parsed resolv.conf.
type ResolvConf struct {
	Path        string   `json:"path"`
	Nameservers []string `json:"nameservers"`
	Search      []string `json:"search"`
	// Ndots is 1 unless options ndots:N says otherwise.
	Ndots int `json:"ndots"`
	// Options are the raw options, ndots included.
	Options []string `json:"options,omitempty"`
}

// TCPResult is what a TCP check saw.
type TCPResult struct {
	LocalAddr  string `json:"localAddr,omitempty"`
	RemoteAddr string `json:"remoteAddr,omitempty"`
}

// The outcomes of a UDP check.
const (
	UDPReply    = "reply"
	UDPRefused  = "refused"
	UDPNoAnswer = "no-answer"
)

// UDPResult is what a UDP check saw.
type UDPResult struct {
	// Outcome is reply, refused or no-answer (or empty when the check failed before sending).
	Outcome string `json:"outcome"`
	// Reply is the start of the reply, at most MaxUDPPayload bytes.
	Reply string `json:"reply,omitempty"`
}

// HTTPResult is what an HTTP check saw.
type HTTPResult struct {
	StatusCode int    `json:"statusCode,omitempty"`
	Status     string `json:"status,omitempty"`
	Proto      string `json:"proto,omitempty"`
	// RemoteAddr is the address the request was sent to.
	RemoteAddr string `json:"remoteAddr,omitempty"`
	// Location is the redirect target, which is reported, not followed.
	Location    string `json:"location,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	// ResponseTime is the time from the start of the request to the response headers.
	ResponseTime  Duration `json:"responseTime,omitzero"`
	BodySnippet   string   `json:"bodySnippet,omitempty"`
	BodyTruncated bool     `json:"bodyTruncated,omitempty"`
	TLS           *TLSInfo `json:"tls,omitempty"`
}

// TLSInfo summarises a TLS handshake, also a failed one when the peer sent its certificates.
type TLSInfo struct {
	Version     string `json:"version,omitempty"`
	CipherSuite string `json:"cipherSuite,omitempty"`
	ServerName  string `json:"serverName,omitempty"`
	// Verified is true when the chain was verified (false with InsecureSkipVerify).
	Verified    bool   `json:"verified"`
	VerifyError string `json:"verifyError,omitempty"`
	// PeerCertificates is the chain the server sent, leaf first.
	PeerCertificates []CertSummary `json:"peerCertificates,omitempty"`
}

// CertSummary describes one certificate.
type CertSummary struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	DNSNames  []string  `json:"dnsNames,omitempty"`
	IPs       []string  `json:"ips,omitempty"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	// SHA256 is the hex SHA-256 fingerprint of the DER certificate.
	SHA256 string `json:"sha256"`
}

// EnvResult lists matching environment variables sorted by name.
type EnvResult struct {
	Vars []EnvVar `json:"vars"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ErrUnsupportedVersion is returned (wrapped) for a request or response of a version this package
// does not speak.
var ErrUnsupportedVersion = errors.New("unsupported agent protocol version")

// checkVersion accepts exactly APIVersion and kind.
func checkVersion(apiVersion, kind, wantKind string) error {
	if apiVersion != APIVersion {
		if g, _, ok := strings.Cut(apiVersion, "/"); ok && g == APIGroup {
			return fmt.Errorf("%w: got %s, this build speaks %s: use an agent image and a svc-doctor of the same release (--image)",
				ErrUnsupportedVersion, apiVersion, APIVersion)
		}
		return fmt.Errorf("%w: apiVersion %q is not %s", ErrUnsupportedVersion, apiVersion, APIVersion)
	}
	if kind != wantKind {
		return fmt.Errorf("kind %q is not %s", kind, wantKind)
	}
	return nil
}

// DecodeRequest reads a Request strictly (unknown fields are errors) and validates it.
func DecodeRequest(data []byte) (Request, error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, fmt.Errorf("malformed request: %w", err)
	}
	if dec.More() {
		return Request{}, errors.New("malformed request: trailing data after the JSON object")
	}
	if err := req.Validate(); err != nil {
		return Request{}, err
	}
	return req, nil
}

// DecodeResponse reads a Response and refuses one of another protocol version. A response that
// carries an agent-side Error is returned together with an error that quotes it.
func DecodeResponse(data []byte) (*Response, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("malformed agent response: %w", err)
	}
	if err := checkVersion(head.APIVersion, head.Kind, KindCheckResponse); err != nil {
		return nil, fmt.Errorf("agent response: %w", err)
	}
	var resp Response
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("malformed agent response: %w", err)
	}
	if resp.Error != "" {
		return &resp, fmt.Errorf("agent %s rejected the request: %s", resp.AgentVersion, resp.Error)
	}
	return &resp, nil
}

// MatchRequest checks that resp answers req: one result per check, same IDs, same order.
func (resp *Response) MatchRequest(req Request) error {
	if len(resp.Results) != len(req.Checks) {
		return fmt.Errorf("agent response has %d results for %d checks", len(resp.Results), len(req.Checks))
	}
	for i, c := range req.Checks {
		if resp.Results[i].ID != c.ID {
			return fmt.Errorf("agent response result %d has id %q, want %q", i, resp.Results[i].ID, c.ID)
		}
	}
	return nil
}

// Validate checks the version, the limits and every check's parameters.
func (r Request) Validate() error {
	if err := checkVersion(r.APIVersion, r.Kind, KindCheckRequest); err != nil {
		return err
	}
	if len(r.Checks) == 0 {
		return errors.New("request has no checks")
	}
	if len(r.Checks) > MaxChecks {
		return fmt.Errorf("request has %d checks, at most %d are allowed", len(r.Checks), MaxChecks)
	}
	seen := make(map[string]bool, len(r.Checks))
	var errs []error
	for i, c := range r.Checks {
		if c.ID == "" {
			errs = append(errs, fmt.Errorf("check %d: id is empty", i))
		} else if seen[c.ID] {
			errs = append(errs, fmt.Errorf("check %d: id %q is used twice", i, c.ID))
		}
		seen[c.ID] = true
		if err := c.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("check %d (%s): %w", i, c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Validate checks one check's type, timeout and parameters.
func (c Check) Validate() error {
	if c.Timeout.Duration < 0 || c.Timeout.Duration > MaxTimeout {
		return fmt.Errorf("timeout %s is outside 0-%s", c.Timeout.Duration, MaxTimeout)
	}
	params := []struct {
		t   CheckType
		set bool
	}{
		{CheckDNS, c.DNS != nil}, {CheckResolvConf, c.ResolvConf != nil}, {CheckTCP, c.TCP != nil},
		{CheckUDP, c.UDP != nil}, {CheckHTTP, c.HTTP != nil}, {CheckEnv, c.Env != nil},
	}
	known, own := false, false
	for _, p := range params {
		if p.t == c.Type {
			known, own = true, p.set
		}
	}
	if !known {
		return fmt.Errorf("unknown check type %q (want dns, resolvconf, tcp, udp, http or env)", c.Type)
	}
	for _, p := range params {
		if p.set && p.t != c.Type {
			return fmt.Errorf("type is %s but %s parameters are set", c.Type, p.t)
		}
	}
	if !own && c.Type != CheckResolvConf {
		return fmt.Errorf("%s parameters are missing", c.Type)
	}
	switch c.Type {
	case CheckDNS:
		return c.DNS.validate()
	case CheckTCP:
		return validHostPort(c.TCP.Host, c.TCP.Port)
	case CheckUDP:
		if len(c.UDP.Payload) > MaxUDPPayload {
			return fmt.Errorf("payload is %d bytes, at most %d are allowed", len(c.UDP.Payload), MaxUDPPayload)
		}
		return validHostPort(c.UDP.Host, c.UDP.Port)
	case CheckHTTP:
		return c.HTTP.validate()
	case CheckEnv:
		if c.Env.Prefix == "" {
			return errors.New("env prefix is empty (the agent does not dump its whole environment)")
		}
		if c.Env.PID < 0 {
			return fmt.Errorf("env pid %d is negative", c.Env.PID)
		}
	}
	return nil
}

func validHostPort(host string, port int) error {
	if host == "" {
		return errors.New("host is empty")
	}
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d is outside 1-65535", port)
	}
	return nil
}

// timeout is the check's effective timeout.
func (c Check) timeout() time.Duration {
	if c.Timeout.Duration <= 0 {
		return DefaultTimeout
	}
	return min(c.Timeout.Duration, MaxTimeout)
}
