package ingresscheck

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

var genCerts = flag.Bool("gencerts", false, "regenerate the test certificates in testdata/certs")

// TestGenerateCerts writes the test certificates and keys (test-only, self-signed) that the
// fixtures embed, as base64 ready for a Secret's data (only with -gencerts).
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
		{name: "shop", hosts: []string{"shop.example.com", "*.shop.example.com"}, notBefore: goldenNow.Add(-365 * day), notAfter: goldenNow.Add(100 * 365 * day)},
		{name: "expired", hosts: []string{"old.example.com"}, notBefore: goldenNow.Add(-3 * 365 * day), notAfter: goldenNow.Add(-30 * day)},
		{name: "otherhost", hosts: []string{"other.example.net"}, notBefore: goldenNow.Add(-day), notAfter: goldenNow.Add(100 * 365 * day)},
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
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(100 + i)), Subject: pkix.Name{CommonName: c.hosts[0]},
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
		for name, b := range map[string][]byte{c.name + ".crt.b64": crt, c.name + ".key.b64": k} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(base64.StdEncoding.EncodeToString(b)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
