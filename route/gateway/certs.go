package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// terminatesTLS reports whether the listener terminates TLS itself and so needs certificates:
// HTTPS, and TLS in mode Terminate (ListenerTLSConfig.Mode, default Terminate; for TLS the mode
// must be set).
func terminatesTLS(l *gwv1.Listener) bool {
	switch l.Protocol {
	case gwv1.HTTPSProtocolType:
		return true
	case gwv1.TLSProtocolType:
		return l.TLS != nil && l.TLS.Mode != nil && *l.TLS.Mode == gwv1.TLSModeTerminate
	}
	return false
}

// listenerCert is a certificate a listener serves.
type listenerCert struct {
	ref  string // secret ns/name
	leaf *x509.Certificate
}

// checkCertificates checks the certificateRefs of a listener that terminates TLS
// (ListenerTLSConfig.CertificateRefs): a reference to a missing, malformed or non-Secret object
// is InvalidCertificateRef; one to another namespace without a ReferenceGrant is
// RefNotPermitted; expired certificates are reported too.
func (m *Model) checkCertificates(l *ListenerState) {
	if !terminatesTLS(l.Listener) {
		return
	}
	if l.Listener.TLS == nil || len(l.Listener.TLS.CertificateRefs) == 0 {
		l.problem(CheckCertificateRef, ReasonInvalidCertificateRef, l.Field, Broken,
			"%s: listener %s (%s) terminates TLS but has no tls.certificateRefs, so it has no certificate to serve", ReasonInvalidCertificateRef, l.Name(), l.Listener.Protocol)
		return
	}
	for i, ref := range l.Listener.TLS.CertificateRefs {
		m.checkCertificateRef(l, i, ref)
	}
}

func (m *Model) checkCertificateRef(l *ListenerState, i int, ref gwv1.SecretObjectReference) {
	field := fmt.Sprintf("%s.tls.certificateRefs[%d]", l.Field, i)
	gw := l.Gateway.Gateway
	grp, kind := string(deref(ref.Group, "")), string(deref(ref.Kind, KindSecret))
	if grp != "" || kind != KindSecret {
		l.problem(CheckCertificateRef, ReasonInvalidCertificateRef, field, Risky,
			"%s unless the implementation supports it: certificateRefs[%d] of listener %s is a %s; Core support is a Secret of type kubernetes.io/tls", ReasonInvalidCertificateRef, i, l.Name(), groupKind(grp, kind))
		return
	}
	ns := string(deref(ref.Namespace, gwv1.Namespace(gw.Namespace)))
	name := string(ref.Name)
	if ns != gw.Namespace {
		r := reference{Group, KindGateway, gw.Namespace, "", KindSecret, ns, name}
		if ok, why := m.permitted(r); !ok {
			l.problem(CheckCertificateNotAllowed, ReasonRefNotPermitted, field, m.missingLevel(KindReferenceGrant, ns),
				"%s: listener %s refers to Secret %s/%s in another namespace, and %s", ReasonRefNotPermitted, l.Name(), ns, name, why)
		}
	}
	sec := m.secrets[nsName(ns, name)]
	if sec == nil {
		l.problem(CheckCertificateRef, ReasonInvalidCertificateRef, field, m.missingLevel(KindSecret, ns),
			"%s: the certificate Secret %s/%s of listener %s %s", ReasonInvalidCertificateRef, ns, name, l.Name(), missingText(m.complete(KindSecret, ns)))
		return
	}
	crt, hasCrt := sec.Data[corev1.TLSCertKey]
	key, hasKey := sec.Data[corev1.TLSPrivateKeyKey]
	if !hasCrt || !hasKey {
		l.problem(CheckCertificateRef, ReasonInvalidCertificateRef, field, Broken,
			"%s: Secret %s/%s of listener %s has no %s: a certificate Secret needs tls.crt and tls.key", ReasonInvalidCertificateRef, ns, name, l.Name(), missingKeys(hasCrt, hasKey))
		return
	}
	if sec.Type != corev1.SecretTypeTLS {
		l.problem(CheckCertificateRef, ReasonInvalidCertificateRef, field, Risky,
			"%s on implementations that only take Core support: Secret %s/%s of listener %s is of type %s, not kubernetes.io/tls", ReasonInvalidCertificateRef, ns, name, l.Name(), sec.Type)
	}
	leaf, err := parseLeaf(crt, key)
	if err != "" {
		l.problem(CheckCertificateRef, ReasonInvalidCertificateRef, field, Broken, "%s: Secret %s/%s of listener %s: %s", ReasonInvalidCertificateRef, ns, name, l.Name(), err)
		return
	}
	m.checkValidity(l, field, ns+"/"+name, leaf)
}

func missingText(complete bool) string {
	if complete {
		return "does not exist"
	}
	return "is not in the given manifests"
}

func missingKeys(hasCrt, hasKey bool) string {
	switch {
	case !hasCrt && !hasKey:
		return "tls.crt and no tls.key"
	case !hasCrt:
		return "tls.crt"
	}
	return "tls.key"
}

// parseLeaf returns the first certificate of a PEM chain, or why the pair does not load.
func parseLeaf(crt, key []byte) (*x509.Certificate, string) {
	var b *pem.Block
	for rest := crt; ; {
		if b, rest = pem.Decode(rest); b == nil || b.Type == "CERTIFICATE" {
			break
		}
	}
	if b == nil {
		return nil, "tls.crt holds no PEM certificate"
	}
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, "tls.crt does not parse: " + err.Error()
	}
	if _, err := tls.X509KeyPair(crt, key); err != nil {
		return nil, "tls.crt and tls.key do not load as a pair: " + strings.TrimPrefix(err.Error(), "tls: ")
	}
	return leaf, ""
}

// checkValidity reports an expired certificate, one that expires within ExpiryWarning, and one
// that is not valid yet.
func (m *Model) checkValidity(l *ListenerState, field, secret string, leaf *x509.Certificate) {
	now := m.objs.Now
	l.certs = append(l.certs, listenerCert{ref: secret, leaf: leaf})
	if now.IsZero() {
		return
	}
	day := func(t time.Time) string { return t.UTC().Format(time.DateOnly) }
	switch {
	case now.After(leaf.NotAfter):
		l.problem(CheckCertificateExpired, "", field, Broken, "the certificate of listener %s (Secret %s) expired on %s: clients refuse the TLS handshake", l.Name(), secret, day(leaf.NotAfter))
	case m.objs.ExpiryWarning > 0 && leaf.NotAfter.Sub(now) < m.objs.ExpiryWarning:
		l.problem(CheckCertificateExpired, "", field, Risky, "the certificate of listener %s (Secret %s) expires on %s", l.Name(), secret, day(leaf.NotAfter))
	case now.Before(leaf.NotBefore):
		l.problem(CheckCertificateExpired, "", field, Risky, "the certificate of listener %s (Secret %s) is not valid before %s", l.Name(), secret, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
}

// certCovers reports whether a certificate's DNS subjectAltNames cover a hostname. A certificate
// wildcard covers exactly one label (RFC 6125), unlike a Gateway API wildcard hostname; a
// wildcard hostname is covered only by the same wildcard.
func certCovers(c *x509.Certificate, hostname string) bool {
	if isWildcard(hostname) {
		for _, n := range c.DNSNames {
			if strings.EqualFold(n, hostname) {
				return true
			}
		}
		return false
	}
	return c.VerifyHostname(hostname) == nil
}

// checkCertificateHosts reports, for each listener that terminates TLS, the hostnames its
// certificates do not cover: the listener hostname, or without one the exact hostnames of the
// routes attached to it. Clients refuse the handshake for those names.
func (m *Model) checkCertificateHosts() {
	for _, g := range m.gateStates {
		for _, l := range g.Listeners {
			if len(l.certs) == 0 {
				continue
			}
			if h := l.Hostname(); h != "" {
				m.certHost(l, l.Field+".hostname", h, "its hostname "+h)
				continue
			}
			seen := map[string]bool{}
			for _, a := range l.Attached {
				for _, h := range a.Hostnames {
					if h != "" && !seen[h] {
						seen[h] = true
						m.certHost(l, l.Field, h, "hostname "+h+" of "+a.Parent.Route.Ref.String())
					}
				}
			}
		}
	}
}

func (m *Model) certHost(l *ListenerState, field, hostname, what string) {
	var names []string
	for _, c := range l.certs {
		if certCovers(c.leaf, hostname) {
			return
		}
		names = append(names, fmt.Sprintf("%s (%s)", c.ref, sanList(c.leaf)))
	}
	note := ""
	if isWildcard(hostname) {
		note = "; a wildcard hostname needs the same wildcard in the certificate, which then covers one label only"
	}
	l.problem(CheckCertificateHost, "", field, Broken, "no certificate of listener %s covers %s: %s%s", l.Name(), what, strings.Join(names, ", "), note)
}

func sanList(c *x509.Certificate) string {
	if len(c.DNSNames) == 0 {
		return "no DNS subjectAltNames"
	}
	return "subjectAltNames " + strings.Join(c.DNSNames, ", ")
}
