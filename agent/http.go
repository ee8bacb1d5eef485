package agent

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

func (c *HTTPCheck) method() string {
	if c.Method == "" {
		return http.MethodGet
	}
	return strings.ToUpper(c.Method)
}

func (c *HTTPCheck) validate() error {
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("http url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("http url %q must start with http:// or https://", c.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("http url %q has no host", c.URL)
	}
	if !ValidToken(c.method()) {
		return fmt.Errorf("http method %q is not a token", c.Method)
	}
	for _, h := range c.Headers {
		switch {
		case !ValidToken(h.Name):
			return fmt.Errorf("http header name %q is not a token", h.Name)
		case strings.ContainsAny(h.Value, "\r\n\x00"):
			return fmt.Errorf("http header %s: the value holds a line break or NUL", h.Name)
		}
		switch http.CanonicalHeaderKey(h.Name) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
			return fmt.Errorf("http header %s cannot be set (Host is the host field)", h.Name)
		}
	}
	if c.MaxBodyBytes < 0 || c.MaxBodyBytes > MaxBodyBytes {
		return fmt.Errorf("maxBodyBytes %d is outside 0-%d", c.MaxBodyBytes, MaxBodyBytes)
	}
	for _, s := range c.ExpectStatus {
		if s < 100 || s > 599 {
			return fmt.Errorf("expectStatus %d is not an HTTP status", s)
		}
	}
	if c.CAData != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(c.CAData)) {
		return errors.New("caData holds no PEM certificate")
	}
	return nil
}

// tlsRecorder keeps what a handshake showed, also when verification fails.
type tlsRecorder struct {
	mu   sync.Mutex
	info *TLSInfo
}

func (r *tlsRecorder) set(info *TLSInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.info = info
}

func (r *tlsRecorder) get() *TLSInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info
}

// tlsConfig verifies the server itself (in VerifyConnection) so that the peer chain is recorded even
// when verification fails or is skipped.
func (c *HTTPCheck) tlsConfig(u *url.URL, rec *tlsRecorder) *tls.Config {
	serverName := c.ServerName
	if serverName == "" && c.Host != "" {
		serverName = c.Host
		if h, _, err := net.SplitHostPort(c.Host); err == nil {
			serverName = h
		}
	}
	if serverName == "" {
		serverName = u.Hostname()
	}
	var roots *x509.CertPool
	if c.CAData != "" {
		roots = x509.NewCertPool()
		roots.AppendCertsFromPEM([]byte(c.CAData))
	}
	return &tls.Config{
		ServerName:         serverName,
		InsecureSkipVerify: true, // verified below, by hand, to keep the chain of a failed verification
		VerifyConnection: func(cs tls.ConnectionState) error {
			info := &TLSInfo{
				Version:     tls.VersionName(cs.Version),
				CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
				ServerName:  serverName,
			}
			for _, cert := range cs.PeerCertificates {
				info.PeerCertificates = append(info.PeerCertificates, summarize(cert))
			}
			defer rec.set(info)
			if c.InsecureSkipVerify {
				return nil
			}
			if len(cs.PeerCertificates) == 0 {
				info.VerifyError = "the server sent no certificate"
				return errors.New(info.VerifyError)
			}
			opts := x509.VerifyOptions{DNSName: serverName, Roots: roots, Intermediates: x509.NewCertPool()}
			for _, cert := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(cert)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				info.VerifyError = err.Error()
				return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
			}
			info.Verified = true
			return nil
		},
	}
}

func summarize(cert *x509.Certificate) CertSummary {
	sum := sha256.Sum256(cert.Raw)
	s := CertSummary{
		Subject:   cert.Subject.String(),
		Issuer:    cert.Issuer.String(),
		DNSNames:  cert.DNSNames,
		NotBefore: cert.NotBefore.UTC(),
		NotAfter:  cert.NotAfter.UTC(),
		SHA256:    hex.EncodeToString(sum[:]),
	}
	for _, ip := range cert.IPAddresses {
		s.IPs = append(s.IPs, ip.String())
	}
	return s
}

func (r *Runner) checkHTTP(ctx context.Context, c *HTTPCheck) Result {
	res := Result{Target: c.method() + " " + c.URL, HTTP: &HTTPResult{}}
	u, _ := url.Parse(c.URL) // validated
	rec := &tlsRecorder{}
	transport := &http.Transport{
		Proxy:             nil, // never through a proxy from the environment
		DialContext:       (&net.Dialer{}).DialContext,
		TLSClientConfig:   c.tlsConfig(u, rec),
		DisableKeepAlives: true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var remote string
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { remote = info.Conn.RemoteAddr().String() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), c.method(), c.URL, nil)
	if err != nil {
		res.Failure, res.Detail = FailOther, err.Error()
		return res
	}
	if c.Host != "" {
		req.Host = c.Host
	}
	ua := "svc-doctor-agent"
	if r.Version != "" {
		ua += "/" + r.Version
	}
	req.Header.Set("User-Agent", ua)
	for _, h := range c.Headers {
		req.Header.Add(h.Name, h.Value)
	}

	start := time.Now()
	resp, err := client.Do(req)
	res.HTTP.TLS = rec.get()
	res.HTTP.RemoteAddr = remote
	if err != nil {
		res.Failure, res.Detail = Classify(err), err.Error()
		if res.HTTP.TLS != nil && res.HTTP.TLS.VerifyError != "" {
			res.Failure, res.Detail = FailTLS, "certificate verification failed: "+res.HTTP.TLS.VerifyError
		}
		return res
	}
	defer func() { _ = resp.Body.Close() }()
	h := res.HTTP
	h.ResponseTime = Duration{time.Since(start).Round(time.Microsecond)}
	h.StatusCode, h.Status, h.Proto = resp.StatusCode, resp.Status, resp.Proto
	h.Location, h.ContentType = resp.Header.Get("Location"), resp.Header.Get("Content-Type")

	limit := c.MaxBodyBytes
	if limit == 0 {
		limit = DefaultBodyBytes
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if len(body) > limit {
		body, h.BodyTruncated = body[:limit], true
	}
	h.BodySnippet = strings.ToValidUTF8(string(body), "\uFFFD")

	res.Detail = fmt.Sprintf("%s %s in %s", resp.Proto, resp.Status, h.ResponseTime.Duration)
	if remote != "" {
		res.Detail += " from " + remote
	}
	if !statusOK(resp.StatusCode, c.ExpectStatus) {
		res.Failure = FailHTTPStatus
		want := "200-399"
		if len(c.ExpectStatus) > 0 {
			want = strings.Trim(fmt.Sprint(c.ExpectStatus), "[]")
		}
		res.Detail += "; expected " + want
	}
	if readErr != nil && !h.BodyTruncated {
		res.Failure = Classify(readErr)
		res.Detail += "; reading the body failed: " + readErr.Error()
	}
	return res
}

// ValidToken reports whether s is an HTTP token (RFC 9110 section 5.6.2).
func ValidToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", c):
		default:
			return false
		}
	}
	return true
}

func statusOK(code int, expect []int) bool {
	if len(expect) == 0 {
		return code >= 200 && code < 400
	}
	return slices.Contains(expect, code)
}
