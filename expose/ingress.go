package expose

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// IngressRule is one --rule: host (may be empty or a wildcard), path, path type and backend.
type IngressRule struct {
	Host     string
	Path     string
	PathType networkingv1.PathType
	Backend  networkingv1.IngressServiceBackend
}

// IngressTLS is one --tls entry.
type IngressTLS struct {
	Hosts  []string
	Secret string
}

// IngressSpec is what the flags ask for an Ingress.
type IngressSpec struct {
	Name, Namespace string
	Labels          map[string]string
	Annotations     map[string]string
	Class           string
	Rules           []IngressRule
	DefaultBackend  *networkingv1.IngressServiceBackend
	TLS             []IngressTLS
}

// ParsePathType reads Prefix, Exact or ImplementationSpecific (case-insensitive).
func ParsePathType(s string) (networkingv1.PathType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "prefix":
		return networkingv1.PathTypePrefix, nil
	case "exact":
		return networkingv1.PathTypeExact, nil
	case "implementationspecific":
		return networkingv1.PathTypeImplementationSpecific, nil
	}
	return "", fmt.Errorf("--path-type %q: use Prefix or Exact (or ImplementationSpecific)", s)
}

// ParseRule reads one --rule: [HOST]/PATH=SERVICE:PORT, or HOST=SERVICE:PORT for the whole host.
// A path ending in * is a Prefix path (the * is dropped: /api* matches /api and /api/...); other
// paths get defaultType. PORT is the Service's port number or name.
func ParseRule(s string, defaultType networkingv1.PathType) (IngressRule, error) {
	var r IngressRule
	i := strings.LastIndex(s, "=")
	if i < 0 {
		return r, fmt.Errorf("--rule %q: write HOST/PATH=SERVICE:PORT, e.g. shop.example.com/api*=api:http", s)
	}
	left, right := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	be, err := ParseBackend(right)
	if err != nil {
		return r, fmt.Errorf("--rule %q: %v", s, err)
	}
	r.Backend = be
	host, path := left, "/"
	if j := strings.IndexByte(left, '/'); j >= 0 {
		host, path = left[:j], left[j:]
	}
	r.Host = strings.ToLower(host)
	if r.Host != "" {
		if msg := hostProblem(r.Host); msg != "" {
			return r, fmt.Errorf("--rule %q: host %q %s", s, host, msg)
		}
	}
	r.PathType = defaultType
	if strings.HasSuffix(path, "*") {
		path = strings.TrimSuffix(path, "*")
		r.PathType = networkingv1.PathTypePrefix
		if path == "" {
			path = "/"
		}
		if strings.Contains(path, "*") {
			return r, fmt.Errorf("--rule %q: only a trailing * is understood (it makes the path a Prefix path)", s)
		}
	}
	if r.PathType == networkingv1.PathTypePrefix && len(path) > 1 {
		path = strings.TrimSuffix(path, "/") // Prefix matching is per path element: /api/ and /api are the same
	}
	r.Path = path
	return r, nil
}

// ParseBackend reads SERVICE:PORT (PORT a number or a port name of the Service).
func ParseBackend(s string) (networkingv1.IngressServiceBackend, error) {
	var b networkingv1.IngressServiceBackend
	name, port, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || name == "" || port == "" {
		return b, fmt.Errorf("backend %q: write SERVICE:PORT (the Service's port number or name)", s)
	}
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
		return b, fmt.Errorf("backend %q: %q is not a Service name: %s", s, name, strings.Join(errs, "; "))
	}
	b.Name = name
	if port[0] >= '0' && port[0] <= '9' {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return b, fmt.Errorf("backend %q: %q is not a port number (1-65535)", s, port)
		}
		b.Port.Number = int32(n)
		return b, nil
	}
	if errs := validation.IsDNS1123Label(port); len(errs) > 0 {
		return b, fmt.Errorf("backend %q: %q is not a Service port name: %s", s, port, strings.Join(errs, "; "))
	}
	b.Port.Name = port
	return b, nil
}

// ParseTLS reads one --tls: HOST[,HOST...]=SECRET, or SECRET alone for every host of the rules.
func ParseTLS(s string) (IngressTLS, error) {
	var t IngressTLS
	hosts, secret, ok := strings.Cut(s, "=")
	if !ok {
		hosts, secret = "", s
	}
	secret = strings.TrimSpace(secret)
	if errs := validation.IsDNS1123Subdomain(secret); len(errs) > 0 {
		return t, fmt.Errorf("--tls %q: Secret name %q is invalid: %s", s, secret, strings.Join(errs, "; "))
	}
	t.Secret = secret
	for _, h := range strings.Split(hosts, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if msg := hostProblem(h); msg != "" {
			return t, fmt.Errorf("--tls %q: host %q %s", s, h, msg)
		}
		t.Hosts = append(t.Hosts, h)
	}
	return t, nil
}

// hostProblem explains why h cannot be an Ingress host ("" when it can).
func hostProblem(h string) string {
	if net.ParseIP(h) != nil {
		return "is an IP address: Ingress rules match the Host header and TLS SNI, which carry DNS names (omit the host to match any)"
	}
	if strings.Contains(h, ":") {
		return "contains a port; hosts are matched without port"
	}
	if strings.Contains(h, "*") {
		if !strings.HasPrefix(h, "*.") || strings.Count(h, "*") > 1 {
			return "is not a valid wildcard: '*' must be the whole first label, as in *.example.com"
		}
		h = h[2:]
	}
	if errs := validation.IsDNS1123Subdomain(h); len(errs) > 0 {
		return "is not a valid DNS name: " + strings.Join(errs, "; ")
	}
	return ""
}

// BuildIngress builds a networking.k8s.io/v1 Ingress. Rules with the same host share one
// spec.rules entry, in the order the hosts first appear. A --tls entry without hosts covers every
// host of the rules.
func BuildIngress(spec IngressSpec) (*networkingv1.Ingress, error) {
	if errs := validation.IsDNS1123Subdomain(spec.Name); len(errs) > 0 {
		return nil, fmt.Errorf("ingress name %q is invalid: %s", spec.Name, strings.Join(errs, "; "))
	}
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		return nil, fmt.Errorf("nothing to route: give at least one --rule HOST/PATH=SERVICE:PORT or a --default-backend SERVICE:PORT")
	}
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: objectMeta(spec.Name, spec.Namespace, spec.Labels, spec.Annotations),
	}
	if spec.Class != "" {
		c := spec.Class
		ing.Spec.IngressClassName = &c
	}
	if spec.DefaultBackend != nil {
		b := *spec.DefaultBackend
		ing.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &b}
	}
	index := map[string]int{}
	var hosts []string
	type routeKey struct {
		host, path string
		pt         networkingv1.PathType
	}
	seen := map[routeKey]bool{}
	for _, r := range spec.Rules {
		k := routeKey{r.Host, r.Path, r.PathType}
		if seen[k] {
			return nil, fmt.Errorf("--rule %s%s is given twice (%s): only one backend can serve it", r.Host, r.Path, r.PathType)
		}
		seen[k] = true
		i, ok := index[r.Host]
		if !ok {
			i = len(ing.Spec.Rules)
			index[r.Host] = i
			ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: r.Host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}})
			if r.Host != "" {
				hosts = append(hosts, r.Host)
			}
		}
		pt := r.PathType
		b := r.Backend
		ing.Spec.Rules[i].HTTP.Paths = append(ing.Spec.Rules[i].HTTP.Paths, networkingv1.HTTPIngressPath{
			Path: r.Path, PathType: &pt, Backend: networkingv1.IngressBackend{Service: &b}})
	}
	for _, t := range spec.TLS {
		h := t.Hosts
		if len(h) == 0 {
			if len(hosts) == 0 {
				return nil, fmt.Errorf("--tls %s names no host and no --rule has one: write --tls HOST[,HOST]=%s (TLS is chosen by host name, SNI)", t.Secret, t.Secret)
			}
			h = hosts
		}
		ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{Hosts: append([]string(nil), h...), SecretName: t.Secret})
	}
	return ing, nil
}

// CertPair is a certificate chain and its private key, as read from --cert and --key.
type CertPair struct {
	CertPEM, KeyPEM []byte
	// Leaf is the first certificate of the chain.
	Leaf *x509.Certificate
}

// LoadCertPair checks that a PEM certificate chain and a PEM private key load as a pair (the
// key matches the first certificate).
func LoadCertPair(certPEM, keyPEM []byte) (*CertPair, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "tls: ")
		if strings.Contains(msg, "does not match") {
			msg = "the private key does not belong to the certificate (is the leaf certificate first in --cert, and is this its key?)"
		}
		return nil, fmt.Errorf("--cert/--key do not load as a TLS pair: %s", msg)
	}
	leaf := pair.Leaf
	if leaf == nil && len(pair.Certificate) > 0 {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("--cert: %v", err)
		}
	}
	return &CertPair{CertPEM: certPEM, KeyPEM: keyPEM, Leaf: leaf}, nil
}

// BuildTLSSecret builds the kubernetes.io/tls Secret an Ingress reads: keys tls.crt and tls.key.
func BuildTLSSecret(name, namespace string, pair *CertPair, labels map[string]string) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: objectMeta(name, namespace, labels, nil),
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: pair.CertPEM, corev1.TLSPrivateKeyKey: pair.KeyPEM},
	}
}
