package semantics

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
)

// Certs is the certificate material of a PEM bundle (a TLS Secret's tls.crt).
type Certs struct {
	// Chain holds the certificates in order: the leaf first.
	Chain []*x509.Certificate
	// Err says why the bundle is unusable ("" when it holds at least one certificate and all
	// parse).
	Err string
}

// OK reports whether the bundle holds certificates that all parse.
func (c Certs) OK() bool { return c.Err == "" }

// Leaf is the first certificate (nil when there is none).
func (c Certs) Leaf() *x509.Certificate {
	if len(c.Chain) == 0 {
		return nil
	}
	return c.Chain[0]
}

// ParseCerts reads the CERTIFICATE blocks of a PEM bundle; other blocks are skipped.
func ParseCerts(data []byte) Certs {
	var out Certs
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			out.Err = "a CERTIFICATE block does not parse: " + err.Error()
			return out
		}
		out.Chain = append(out.Chain, c)
	}
	if len(out.Chain) == 0 {
		out.Err = "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
	}
	return out
}

// CertCovers reports whether a certificate is valid for host, a name or a wildcard name
// ("*.example.com" is covered only by the same wildcard SAN).
func CertCovers(c *x509.Certificate, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if strings.HasPrefix(host, "*.") {
		for _, n := range c.DNSNames {
			if strings.EqualFold(n, host) {
				return true
			}
		}
		return false
	}
	return c.VerifyHostname(host) == nil
}
