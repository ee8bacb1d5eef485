package rules

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var genCerts = flag.Bool("gencerts", false, "regenerate the certificates in testdata/certs")

// TestGenerateCerts writes the test certificates (only with -gencerts). Each certificate is
// written as PEM and as base64 lines ready to paste into a Secret fixture.
func TestGenerateCerts(t *testing.T) {
	if !*genCerts {
		t.Skip("run with -gencerts to regenerate testdata/certs")
	}
	day := 24 * time.Hour
	certs := []struct {
		name      string
		hosts     []string
		notBefore time.Time
		notAfter  time.Time
	}{
		{name: "valid", hosts: []string{"kubia.example.com", "*.shop.example.com"}, notBefore: fixtureNow.Add(-365 * day), notAfter: fixtureNow.Add(100 * 365 * day)},
		{name: "expired", hosts: []string{"kubia.example.com"}, notBefore: fixtureNow.Add(-3 * 365 * day), notAfter: fixtureNow.Add(-30 * day)},
		{name: "expiring", hosts: []string{"kubia.example.com"}, notBefore: fixtureNow.Add(-300 * day), notAfter: fixtureNow.Add(10 * day)},
		{name: "otherhost", hosts: []string{"other.example.net"}, notBefore: fixtureNow.Add(-day), notAfter: fixtureNow.Add(100 * 365 * day)},
	}
	dir := filepath.Join("testdata", "certs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, c := range certs {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: c.hosts[0]},
			DNSNames: c.hosts, NotBefore: c.notBefore, NotAfter: c.notAfter,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		k := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
		write := func(name string, b []byte) {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(c.name+".crt", crt)
		write(c.name+".key", k)
		write(c.name+".crt.b64", []byte(base64.StdEncoding.EncodeToString(crt)+"\n"))
		write(c.name+".key.b64", []byte(base64.StdEncoding.EncodeToString(k)+"\n"))
	}
}
