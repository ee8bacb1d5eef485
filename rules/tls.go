package rules

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// tlsSecrets returns the Secrets the TLS rules look at: every kubernetes.io/tls Secret and every
// Secret an Ingress uses for TLS, each once, in input order.
func tlsSecrets(s *snapshot.Snapshot) []*snapshot.Secret {
	used := map[*snapshot.Secret]bool{}
	for _, ing := range s.Ingresses {
		for _, t := range ing.Spec.TLS {
			if sec := s.Secret(ing.Namespace, t.SecretName); sec != nil {
				used[sec] = true
			}
		}
	}
	var out []*snapshot.Secret
	for _, sec := range s.Secrets {
		if sec.Type == corev1.SecretTypeTLS || used[sec] {
			out = append(out, sec)
		}
	}
	return out
}

var ruleSecretTLSKeys = &Rule{
	ID: "secret-tls-keys", Severity: report.Error, Category: CatTLS,
	Summary:     "TLS Secret without the keys tls.crt and tls.key",
	Remediation: "Name the keys tls.crt (certificate chain) and tls.key (private key), e.g. with `kubectl create secret tls`.",
	Docs: "A `kubernetes.io/tls` Secret must hold `tls.crt` and `tls.key`; the API server rejects it otherwise, and " +
		"Ingress controllers read exactly these keys. Keys such as `server.crt`/`server.key` (common in tutorials " +
		"and in nginx configurations) are not used.",
	Check: func(p *Pass) {
		for _, sec := range tlsSecrets(p.Snap) {
			var missing []string
			for _, k := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey} {
				if _, ok := sec.Data[k]; !ok && !contains(sec.BadData, k) {
					missing = append(missing, k)
				}
			}
			if len(missing) == 0 {
				continue
			}
			keys := make([]string, 0, len(sec.Data)+len(sec.BadData))
			for k := range sec.Data {
				keys = append(keys, k)
			}
			keys = append(keys, sec.BadData...)
			sort.Strings(keys)
			has := "has no keys"
			if len(keys) > 0 {
				has = "has keys " + strings.Join(keys, ", ") + " but"
			}
			field := "data"
			if len(keys) > 0 {
				field = sec.Field(keys[0])
			}
			p.Report(sec.Src, field, "TLS Secret %s lacks %s: a TLS Secret needs tls.crt and tls.key", has, strings.Join(missing, " and "))
		}
	},
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var ruleTLSCertInvalid = &Rule{
	ID: "tls-cert-invalid", Severity: report.Error, Category: CatTLS,
	Summary:     "tls.crt or tls.key that is not a PEM certificate or private key",
	Remediation: "Put the PEM certificate chain (leaf first) in tls.crt and the PEM private key in tls.key.",
	Docs:        "Controllers load the pair with the same checks as `openssl x509`/`openssl pkey`; an unreadable pair makes them fall back to their default certificate.",
	Check: func(p *Pass) {
		for _, sec := range tlsSecrets(p.Snap) {
			crt, okC := sec.Data[corev1.TLSCertKey]
			key, okK := sec.Data[corev1.TLSPrivateKeyKey]
			if okC {
				if pc := semantics.ParseCerts(crt); !pc.OK() {
					p.Report(sec.Src, sec.Field(corev1.TLSCertKey), "tls.crt is not a certificate: %s", pc.Err)
				}
			}
			if okK {
				if b, _ := pem.Decode(key); b == nil || !strings.Contains(b.Type, "PRIVATE KEY") {
					p.Report(sec.Src, sec.Field(corev1.TLSPrivateKeyKey), "tls.key holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)")
				}
			}
		}
	},
}

var ruleTLSKeyMismatch = &Rule{
	ID: "tls-key-mismatch", Severity: report.Error, Category: CatTLS,
	Summary:     "tls.key that does not belong to the certificate in tls.crt",
	Remediation: "Put the private key that was used for this certificate's request in tls.key (the leaf certificate must come first in tls.crt).",
	Docs:        "The private key must match the public key of the first certificate in tls.crt. A mismatch (often a renewed certificate with the old key, or a chain in the wrong order) makes the controller reject the pair.",
	Check: func(p *Pass) {
		for _, sec := range tlsSecrets(p.Snap) {
			crt, okC := sec.Data[corev1.TLSCertKey]
			key, okK := sec.Data[corev1.TLSPrivateKeyKey]
			if !okC || !okK || !semantics.ParseCerts(crt).OK() {
				continue
			}
			if b, _ := pem.Decode(key); b == nil || !strings.Contains(b.Type, "PRIVATE KEY") {
				continue
			}
			if _, err := tls.X509KeyPair(crt, key); err != nil {
				msg := err.Error()
				if strings.Contains(msg, "does not match") {
					p.Report(sec.Src, sec.Field(corev1.TLSPrivateKeyKey), "tls.key does not match the certificate in tls.crt (is the leaf certificate first, and is this the key of this certificate?)")
				} else {
					p.Report(sec.Src, sec.Field(corev1.TLSPrivateKeyKey), "tls.crt and tls.key do not load as a pair: %s", strings.TrimPrefix(msg, "tls: "))
				}
			}
		}
	},
}

var ruleTLSCertExpired = &Rule{
	ID: "tls-cert-expired", Severity: report.Error, Category: CatTLS,
	Summary:     "certificate that has expired, expires soon, or is not valid yet",
	Remediation: "Renew the certificate (cert-manager can do it automatically) and update the Secret.",
	Docs: "An expired certificate makes every client refuse the connection. Expiry within 30 days (see " +
		"`--cert-expiry-warning`) is a warning; a notBefore in the future (a clock or issuance problem) is a warning too.",
	Check: func(p *Pass) {
		now := p.Config.Now
		for _, sec := range tlsSecrets(p.Snap) {
			pc := semantics.ParseCerts(sec.Data[corev1.TLSCertKey])
			if !pc.OK() {
				continue
			}
			leaf := pc.Leaf()
			field := sec.Field(corev1.TLSCertKey)
			switch {
			case now.After(leaf.NotAfter):
				p.Report(sec.Src, field, "certificate %s expired on %s (%s ago)", certName(leaf), leaf.NotAfter.UTC().Format(time.DateOnly), roundDays(now.Sub(leaf.NotAfter)))
			case leaf.NotAfter.Sub(now) < p.Config.CertExpiryWarning:
				p.ReportSeverity(report.Warning, sec.Src, field, "certificate %s expires on %s (in %s)", certName(leaf), leaf.NotAfter.UTC().Format(time.DateOnly), roundDays(leaf.NotAfter.Sub(now)))
			case now.Before(leaf.NotBefore):
				p.ReportSeverity(report.Warning, sec.Src, field, "certificate %s is not valid before %s", certName(leaf), leaf.NotBefore.UTC().Format(time.RFC3339))
			}
		}
	},
}

func certName(c *x509.Certificate) string {
	if len(c.DNSNames) > 0 {
		return "for " + c.DNSNames[0]
	}
	if c.Subject.CommonName != "" {
		return "CN=" + c.Subject.CommonName
	}
	return fmt.Sprintf("serial %s", c.SerialNumber)
}

func roundDays(d time.Duration) string {
	days := int(d.Hours() / 24)
	if days == 0 {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d %s", days, plural(days, "day", "days"))
}

var ruleTLSHostMismatch = &Rule{
	ID: "tls-cert-host-mismatch", Severity: report.Error, Category: CatTLS,
	Summary:     "certificate that does not cover a host listed in the Ingress's spec.tls",
	Remediation: "Issue a certificate whose subjectAltNames include every host of the TLS entry (a wildcard covers one label).",
	Docs: "Clients check the requested host against the certificate's DNS subjectAltNames; the Common Name is " +
		"ignored by modern clients. A wildcard `*.example.com` covers `shop.example.com` but neither `example.com` nor " +
		"`a.shop.example.com` (RFC 6125).",
	Check: func(p *Pass) {
		for _, ing := range p.Snap.Ingresses {
			for ti, t := range ing.Spec.TLS {
				sec := p.Snap.Secret(ing.Namespace, t.SecretName)
				if sec == nil {
					continue
				}
				pc := semantics.ParseCerts(sec.Data[corev1.TLSCertKey])
				if !pc.OK() {
					continue
				}
				leaf := pc.Leaf()
				for hi, h := range t.Hosts {
					if semantics.CertCovers(leaf, h) {
						continue
					}
					sans := "no DNS subjectAltNames (a CN-only certificate is refused by modern clients)"
					if len(leaf.DNSNames) > 0 {
						sans = "subjectAltNames " + strings.Join(leaf.DNSNames, ", ")
					}
					p.Report(ing.Src, fmt.Sprintf("spec.tls[%d].hosts[%d]", ti, hi), "certificate in Secret %s does not cover %s: it has %s", t.SecretName, h, sans)
				}
			}
		}
	},
}
