package ingress

// TLS: the spec.tls entry and certificate that serve a route's host.

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"

	"github.com/svc-doctor/svc-doctor/rules/ruleid"
)

// tlsMode says what a TLS problem means for a route check.
type tlsMode int

const (
	// tlsRoute: a route of an Ingress; a host with a TLS entry is meant for https, its problems count.
	tlsRoute tlsMode = iota
	// tlsHTTP: a plain http request; TLS problems are warnings.
	tlsHTTP
	// tlsHTTPS: an https request; a missing or broken certificate is a problem.
	tlsHTTPS
)

func urlTLSMode(https bool) tlsMode {
	if https {
		return tlsHTTPS
	}
	return tlsHTTP
}

// fillTLS finds the spec.tls entry of the class that covers host (the route's own Ingress
// first: controllers share certificates per host across the Ingresses of a class) and checks its
// Secret. With https a missing or broken certificate is a problem, otherwise it is one when the
// host has a TLS entry (it is meant to be served over https).
func (c *checker) fillTLS(rc *report.RouteCheck, self *snapshot.Ingress, cls, host string, mode tlsMode) {
	https := mode == tlsHTTPS
	if host == "" {
		if https {
			rc.TLSProblems = append(rc.TLSProblems, "no host: https needs a host to choose a certificate")
			rc.Problems = append(rc.Problems, rc.TLSProblems...)
		}
		return
	}
	ing, ti := c.tlsEntry(self, cls, host)
	if ing == nil {
		if https {
			rc.TLSProblems = append(rc.TLSProblems, fmt.Sprintf("no spec.tls entry of class %s covers host %s: the controller answers https with its default certificate, which clients refuse", report.ClassText(cls), host))
			rc.Problems = append(rc.Problems, rc.TLSProblems...)
		}
		return
	}
	c.show("Ingress", ing.Namespace, ing.Name)
	t := ing.Spec.TLS[ti]
	ref := ingRef(ing)
	info := &report.TLSInfo{Host: host, Ingress: &ref, Field: fmt.Sprintf("spec.tls[%d]", ti), Secret: ing.Namespace + "/" + t.SecretName}
	rc.TLS = info
	var probs, warns []string
	defer func() {
		info.Problems = probs
		info.OK = len(probs) == 0 && info.Certificate != nil
		if mode == tlsHTTP {
			// this request does not use TLS: what would break https is worth a warning only
			for _, p := range probs {
				warns = append(warns, "over https: "+p)
			}
		} else {
			rc.Problems = append(rc.Problems, probs...)
			rc.TLSProblems = append(rc.TLSProblems, probs...)
		}
		rc.Warnings = append(rc.Warnings, warns...)
	}()
	if ing != self {
		warns = append(warns, fmt.Sprintf("the certificate for %s comes from ingress %s/%s %s (controllers share certificates per host)", host, ing.Namespace, ing.Name, info.Field))
	}
	if t.SecretName == "" {
		probs = append(probs, fmt.Sprintf("%s of ingress %s/%s names no secretName: the controller serves its default certificate", info.Field, ing.Namespace, ing.Name))
		return
	}
	c.show("Secret", ing.Namespace, t.SecretName)
	sec := c.snap.Secret(ing.Namespace, t.SecretName)
	if sec == nil {
		if c.snap.Complete("Secret", ing.Namespace) {
			probs = append(probs, fmt.Sprintf("TLS Secret %s does not exist in namespace %s: the controller serves its default certificate", t.SecretName, ing.Namespace))
		} else {
			warns = append(warns, fmt.Sprintf("TLS Secret %s is not in the given manifests: the certificate is not checked", t.SecretName))
		}
		return
	}
	fp, fw := c.tlsFindings(ing, t.SecretName, info.Field)
	probs, warns = append(probs, fp...), append(warns, fw...)
	leaf := semantics.ParseCerts(sec.Data[corev1.TLSCertKey]).Leaf()
	if leaf == nil {
		if len(probs) == 0 {
			probs = append(probs, fmt.Sprintf("Secret %s holds no readable certificate in tls.crt", t.SecretName))
		}
		return
	}
	info.Certificate = certInfo(leaf)
	info.Covers = semantics.CertCovers(leaf, host)
	if !info.Covers {
		sans := "no DNS names"
		if len(leaf.DNSNames) > 0 {
			sans = strings.Join(leaf.DNSNames, ", ")
		}
		probs = append(probs, fmt.Sprintf("the certificate in Secret %s does not cover %s (it has %s): clients refuse it", t.SecretName, host, sans))
	}
}

// tlsFindings are what the lint rules found on a TLS Secret (keys, parsing, key pair, expiry) and
// on the spec.tls entry (field) naming it: errors as problems, warnings as warnings.
func (c *checker) tlsFindings(ing *snapshot.Ingress, secret, field string) (probs, warns []string) {
	for _, f := range c.findings {
		if f.Object == nil {
			continue
		}
		onSecret := f.Object.Kind == "Secret" && f.Object.Namespace == ing.Namespace && f.Object.Name == secret
		onEntry := f.Object.Kind == "Ingress" && f.Object.Namespace == ing.Namespace && f.Object.Name == ing.Name &&
			f.Location != nil && strings.HasPrefix(f.Location.Field, field+".secretName") && f.Rule != string(ruleid.IngressTLSSecretMissing)
		if !onSecret && !onEntry {
			continue
		}
		switch f.Severity {
		case report.Error:
			probs = append(probs, f.Message+" ("+f.Rule+")")
		case report.Warning:
			warns = append(warns, f.Message+" ("+f.Rule+")")
		}
	}
	return probs, warns
}

// tlsRef is a spec.tls entry: entry ti of ing, the order-th Ingress of its class (oldest first).
type tlsRef struct {
	ing       *snapshot.Ingress
	ti, order int
}

// tlsEntryHosts are the hosts a spec.tls entry covers: its hosts, or without any the Ingress's
// own rule hosts.
func tlsEntryHosts(ing *snapshot.Ingress, ti int) []string {
	hosts := ing.Spec.TLS[ti].Hosts
	if len(hosts) == 0 {
		for _, r := range ing.Spec.Rules {
			hosts = append(hosts, r.Host)
		}
	}
	return hosts
}

// tlsCovers reports whether a spec.tls host h covers the request host.
func tlsCovers(h, host string) bool {
	return h != "" && (strings.EqualFold(h, host) || (!strings.HasPrefix(host, "*.") && HostMatches(h, host)))
}

// tlsEntry returns the Ingress and index of the spec.tls entry that covers host, preferring self,
// then the oldest Ingress of cls.
func (c *checker) tlsEntry(self *snapshot.Ingress, cls, host string) (*snapshot.Ingress, int) {
	if self != nil {
		for ti := range self.Spec.TLS {
			for _, h := range tlsEntryHosts(self, ti) {
				if tlsCovers(h, host) {
					return self, ti
				}
			}
		}
	}
	idx := c.tlsIndex(cls)
	keys := []string{NormalizeHost(host)}
	if n := keys[0]; !strings.HasPrefix(host, "*.") {
		if d := strings.IndexByte(n, '.'); d > 0 {
			keys = append(keys, "*"+n[d:])
		}
	}
	var best *tlsRef
	for _, k := range keys {
		for i, ref := range idx[k] {
			if ref.ing == self || (best != nil && (ref.order > best.order || ref.order == best.order && ref.ti >= best.ti)) {
				continue
			}
			for _, h := range tlsEntryHosts(ref.ing, ref.ti) {
				if tlsCovers(h, host) {
					best = &idx[k][i]
					break
				}
			}
		}
	}
	if best == nil {
		return nil, 0
	}
	return best.ing, best.ti
}

// tlsIndex maps the normalized hosts of the spec.tls entries of cls to the entries.
func (c *checker) tlsIndex(cls string) map[string][]tlsRef {
	if idx, ok := c.tlsHosts[cls]; ok {
		return idx
	}
	idx := map[string][]tlsRef{}
	var ings []*snapshot.Ingress
	for _, ing := range c.snap.Ingresses {
		if len(ing.Spec.TLS) > 0 && c.classOf(ing) == cls {
			ings = append(ings, ing)
		}
	}
	sortOldestFirst(ings)
	for order, ing := range ings {
		for ti := range ing.Spec.TLS {
			seen := map[string]bool{}
			for _, h := range tlsEntryHosts(ing, ti) {
				if k := NormalizeHost(h); h != "" && !seen[k] {
					seen[k] = true
					idx[k] = append(idx[k], tlsRef{ing: ing, ti: ti, order: order})
				}
			}
		}
	}
	c.tlsHosts[cls] = idx
	return idx
}

func certInfo(c *x509.Certificate) *report.CertInfo {
	sum := sha256.Sum256(c.Raw)
	return &report.CertInfo{Subject: c.Subject.String(), DNSNames: c.DNSNames, NotAfter: c.NotAfter.UTC(), SHA256: hex.EncodeToString(sum[:])}
}
