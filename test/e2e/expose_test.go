package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
)

// The tests in this file run `kubectl svc-doctor expose` against the cluster and check what it
// created through the API and with traffic from a pod.

// exposeRun runs `kubectl-svc_doctor expose -n <test namespace> ARGS...`.
func exposeRun(f *framework.F, args ...string) framework.Result {
	f.T.Helper()
	res := f.SvcDoctor(append([]string{"expose", "-n", f.Namespace}, args...)...)
	f.T.Logf("stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	return res
}

func exposeMust(f *framework.F, args ...string) framework.Result {
	f.T.Helper()
	res := exposeRun(f, args...)
	if res.ExitCode != 0 {
		f.T.Fatalf("expose %v: exit %d\n%s", args, res.ExitCode, res.Stderr)
	}
	return res
}

func exposeGetService(f *framework.F, name string) *corev1.Service {
	f.T.Helper()
	svc, err := f.Client.CoreV1().Services(f.Namespace).Get(f.Ctx, name, metav1.GetOptions{})
	if err != nil {
		f.T.Fatalf("service %s: %v", name, err)
	}
	return svc
}

func exposeAssertAbsent(f *framework.F, kind, name string) {
	f.T.Helper()
	var err error
	switch kind {
	case "service":
		_, err = f.Client.CoreV1().Services(f.Namespace).Get(f.Ctx, name, metav1.GetOptions{})
	case "ingress":
		_, err = f.Client.NetworkingV1().Ingresses(f.Namespace).Get(f.Ctx, name, metav1.GetOptions{})
	case "secret":
		_, err = f.Client.CoreV1().Secrets(f.Namespace).Get(f.Ctx, name, metav1.GetOptions{})
	}
	if !apierrors.IsNotFound(err) {
		f.T.Errorf("%s/%s exists after a refused request (err %v)", kind, name, err)
	}
}

// exposeAnswers fetches url from the client pod until it answers (kube-proxy may need a moment for
// a new Service), then n more times, and returns the pod names that answered.
func exposeAnswers(f *framework.F, client, url string, n int) map[string]int {
	f.T.Helper()
	f.WaitFor("an answer from "+url, 60*time.Second, func(context.Context) (bool, error) {
		_, err := f.HTTPGet(client, url)
		return err == nil, err
	})
	got := map[string]int{}
	for range n {
		body, err := f.HTTPGet(client, url)
		if err != nil {
			f.T.Fatalf("GET %s from %s: %v", url, client, err)
		}
		got[strings.TrimSpace(body)]++
	}
	return got
}

func exposeOnlyFrom(t *testing.T, got map[string]int, pods []string) {
	t.Helper()
	for p := range got {
		if !slices.Contains(pods, p) {
			t.Errorf("answer from %q, not one of %v", p, pods)
		}
	}
}

func TestExposeServiceTypes(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 2})
	client := f.ClientPod("client")

	// ClusterIP, everything inferred from the Deployment: selector, port 8080 -> targetPort http
	res := exposeMust(f, "deploy/web")
	if !strings.HasPrefix(res.Stdout, "service/web serverside-applied\nservice/web: 2/2 endpoints ready after ") {
		t.Errorf("stdout %q", res.Stdout)
	}
	if !strings.Contains(res.Stderr, "0 errors, 0 warnings") {
		t.Errorf("the check was not clean:\n%s", res.Stderr)
	}
	svc := exposeGetService(f, "web")
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Selector["app"] != "web" || len(svc.Spec.Ports) != 1 ||
		svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].TargetPort != intstr.FromString("http") || svc.Spec.Ports[0].Name != "http" {
		t.Errorf("service web: %+v", svc.Spec)
	}
	exposeOnlyFrom(t, exposeAnswers(f, client, "http://web:8080/", 6), web.PodNames())

	// a rerun is a no-op for the API server: same object, same resourceVersion
	exposeMust(f, "deploy/web")
	if again := exposeGetService(f, "web"); again.ResourceVersion != svc.ResourceVersion {
		t.Errorf("rerun changed service/web: resourceVersion %s -> %s", svc.ResourceVersion, again.ResourceVersion)
	}

	// NodePort with a node port chosen by the cluster and externalTrafficPolicy Local
	res = exposeMust(f, "deployment", "web", "--name", "web-np", "--port", "80:http", "--type", "NodePort", "--external-traffic-policy", "Local")
	np := exposeGetService(f, "web-np")
	nodePort := np.Spec.Ports[0].NodePort
	if np.Spec.Type != corev1.ServiceTypeNodePort || nodePort < 30000 || nodePort > 32767 || np.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		t.Errorf("service web-np: %+v", np.Spec)
	}
	if want := fmt.Sprintf("service/web-np: node ports 80:%d/TCP", nodePort); !strings.Contains(res.Stdout, want) {
		t.Errorf("stdout lacks %q", want)
	}
	nodeURL := fmt.Sprintf("http://%s/", net.JoinHostPort(f.Cluster.NodeIP, fmt.Sprint(nodePort)))
	exposeOnlyFrom(t, exposeAnswers(f, client, nodeURL, 4), web.PodNames())
	exposeOnlyFrom(t, exposeAnswers(f, client, "http://web-np/", 4), web.PodNames())

	// LoadBalancer: no load-balancer controller here, so the address stays pending; the node port
	// and the ClusterIP work
	res = exposeMust(f, "deploy/web", "--name", "web-lb", "--port", "80:http", "--type", "LoadBalancer")
	lb := exposeGetService(f, "web-lb")
	if lb.Spec.Type != corev1.ServiceTypeLoadBalancer || lb.Spec.Ports[0].NodePort == 0 {
		t.Errorf("service web-lb: %+v", lb.Spec)
	}
	if !strings.Contains(res.Stdout, "service/web-lb: load balancer address pending") {
		t.Errorf("stdout does not say the load balancer is pending")
	}
	exposeOnlyFrom(t, exposeAnswers(f, client, "http://web-lb/", 4), web.PodNames())

	// ClientIP session affinity: one client keeps landing on one pod
	exposeMust(f, "deploy/web", "--name", "web-sticky", "--port", "80:http", "--session-affinity", "ClientIP", "--session-affinity-timeout", "1h")
	sticky := exposeGetService(f, "web-sticky")
	if sticky.Spec.SessionAffinity != corev1.ServiceAffinityClientIP || *sticky.Spec.SessionAffinityConfig.ClientIP.TimeoutSeconds != 3600 {
		t.Errorf("service web-sticky: %+v", sticky.Spec)
	}
	if got := exposeAnswers(f, client, "http://web-sticky/", 10); len(got) != 1 {
		t.Errorf("ClientIP affinity: 10 requests reached %v", got)
	}
}

func TestExposeMultiPortNamedTargets(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	multi := f.DeployTestserver(framework.TestserverSpec{Name: "multi", Replicas: 1, Ports: []int{8080, 9090}})
	client := f.ClientPod("client")
	exposeMust(f, "deploy/multi", "--port", "80:http", "--port", "90:http-9090")
	svc := exposeGetService(f, "multi")
	want := []corev1.ServicePort{
		{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
		{Name: "http-9090", Port: 90, TargetPort: intstr.FromString("http-9090"), Protocol: corev1.ProtocolTCP},
	}
	if !slices.Equal(svc.Spec.Ports, want) {
		t.Errorf("ports %+v, want %+v", svc.Spec.Ports, want)
	}
	// the named targets resolved on the pod: the EndpointSlice carries 8080 and 9090 under the Service's port names
	l, err := f.Client.DiscoveryV1().EndpointSlices(f.Namespace).List(f.Ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=multi"})
	if err != nil || len(l.Items) == 0 {
		t.Fatalf("slices of multi: %v %v", l, err)
	}
	ports := map[string]int32{}
	for _, p := range l.Items[0].Ports {
		ports[*p.Name] = *p.Port
	}
	if ports["http"] != 8080 || ports["http-9090"] != 9090 {
		t.Errorf("slice ports %v", ports)
	}
	exposeOnlyFrom(t, exposeAnswers(f, client, "http://multi:80/", 2), multi.PodNames())
	exposeOnlyFrom(t, exposeAnswers(f, client, "http://multi:90/", 2), multi.PodNames())
}

func TestExposeHeadlessDNS(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 3})
	client := f.ClientPod("client")
	exposeMust(f, "deploy/web", "--headless", "--name", "web-headless")
	exposeMust(f, "deploy/web", "--headless", "--publish-not-ready-addresses", "--name", "web-all")
	if svc := exposeGetService(f, "web-headless"); svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("clusterIP %q, want None", svc.Spec.ClusterIP)
	}
	headless := "web-headless." + f.Namespace + ".svc.cluster.local"
	all := "web-all." + f.Namespace + ".svc.cluster.local"
	f.WaitFor("headless DNS to return the pod IPs", 30*time.Second, func(context.Context) (bool, error) {
		a, err := f.Lookup(client, headless)
		return slices.Equal(a, web.PodIPs()), err
	})
	// an unready pod leaves the plain headless name, but stays under --publish-not-ready-addresses
	victim := web.Pods[0]
	if _, err := f.InPod(victim.Name, "touch", "/tmp/unready"); err != nil {
		t.Fatal(err)
	}
	f.WaitFor("the unready pod to leave web-headless", 30*time.Second, func(context.Context) (bool, error) {
		a, err := f.Lookup(client, headless)
		return len(a) == 2 && !slices.Contains(a, victim.Status.PodIP), err
	})
	if a, err := f.Lookup(client, all); err != nil || !slices.Equal(a, web.PodIPs()) {
		t.Errorf("web-all (publishNotReadyAddresses) = %v %v, want all of %v", a, err, web.PodIPs())
	}
}

func TestExposeExternalEndpoints(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	backend := f.DeployTestserver(framework.TestserverSpec{Name: "backend", Replicas: 1})
	client := f.ClientPod("client")
	ip := backend.Pods[0].Status.PodIP
	res := exposeMust(f, "external", "ext", "--address", ip, "--port", "web=80:8080", "--legacy-endpoints")
	for _, w := range []string{"service/ext serverside-applied\n", "endpointslice/ext-ipv4 serverside-applied\n", "endpoints/ext serverside-applied\n"} {
		if !strings.Contains(res.Stdout, w) {
			t.Errorf("stdout lacks %q", w)
		}
	}
	svc := exposeGetService(f, "ext")
	if len(svc.Spec.Selector) != 0 || svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Errorf("service ext: %+v", svc.Spec)
	}
	es, err := f.Client.DiscoveryV1().EndpointSlices(f.Namespace).Get(f.Ctx, "ext-ipv4", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if es.Labels[discoveryv1.LabelServiceName] != "ext" || es.Labels[discoveryv1.LabelManagedBy] != "svc-doctor" || es.AddressType != discoveryv1.AddressTypeIPv4 ||
		len(es.Ports) != 1 || *es.Ports[0].Name != "web" || *es.Ports[0].Port != 8080 || es.Endpoints[0].Addresses[0] != ip {
		t.Errorf("endpointslice ext-ipv4: %+v", es)
	}
	// traffic from a pod through the ClusterIP, by IP and by name, reaches the backend pod
	exposeOnlyFrom(t, exposeAnswers(f, client, "http://"+svc.Spec.ClusterIP+"/", 3), backend.PodNames())
	exposeOnlyFrom(t, exposeAnswers(f, client, "http://ext/", 3), backend.PodNames())
	// the legacy Endpoints object exists and is not mirrored into a second slice
	ep, err := f.Client.CoreV1().Endpoints(f.Namespace).Get(f.Ctx, "ext", metav1.GetOptions{})
	if err != nil || ep.Labels[discoveryv1.LabelSkipMirror] != "true" || ep.Subsets[0].Addresses[0].IP != ip {
		t.Errorf("endpoints ext: %+v %v", ep, err)
	}
	time.Sleep(2 * time.Second) // give the mirroring controller a chance to (wrongly) act
	l, _ := f.Client.DiscoveryV1().EndpointSlices(f.Namespace).List(f.Ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=ext"})
	if len(l.Items) != 1 {
		t.Errorf("%d EndpointSlices for ext, want only ext-ipv4", len(l.Items))
	}
	// rerun: idempotent
	before := es.ResourceVersion
	exposeMust(f, "external", "ext", "--address", ip, "--port", "web=80:8080", "--legacy-endpoints")
	if es2, _ := f.Client.DiscoveryV1().EndpointSlices(f.Namespace).Get(f.Ctx, "ext-ipv4", metav1.GetOptions{}); es2 == nil || es2.ResourceVersion != before {
		t.Errorf("rerun rewrote ext-ipv4")
	}
}

func TestExposeExternalName(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	exposeMust(f, "deploy/web", "--port", "80:http", "--wait=false")
	client := f.ClientPod("client")
	target := "web." + f.Namespace + ".svc.cluster.local"
	exposeMust(f, "externalname", "alias", "--to", target)
	if svc := exposeGetService(f, "alias"); svc.Spec.Type != corev1.ServiceTypeExternalName || svc.Spec.ExternalName != target {
		t.Errorf("service alias: %+v", svc.Spec)
	}
	alias := "alias." + f.Namespace + ".svc.cluster.local"
	f.WaitFor("the CNAME of alias", 30*time.Second, func(context.Context) (bool, error) {
		c, err := f.CNAME(client, alias)
		return c == target+".", err
	})
	if a, err := f.Lookup(client, alias); err != nil || !slices.Equal(a, []string{f.ServiceIP("web")}) {
		t.Errorf("A %s = %v %v, want web's ClusterIP", alias, a, err)
	}
	// traffic through the alias reaches web's pod (kube-proxy may need a moment for the new Service)
	exposeOnlyFrom(t, exposeAnswers(f, client, "http://"+alias+"/", 2), web.PodNames())
	exposeMust(f, "externalname", "alias", "--to", target) // rerun

	// an IP address is refused, with the way to do it instead, and nothing is created
	res := exposeRun(f, "externalname", "byip", "--to", f.ServiceIP("web"))
	if res.ExitCode != 2 || !strings.Contains(res.Stderr, "is an IP address, and an ExternalName Service is only a DNS CNAME record") ||
		!strings.Contains(res.Stderr, "kubectl svc-doctor expose external byip --address") {
		t.Errorf("exit %d, stderr:\n%s", res.ExitCode, res.Stderr)
	}
	exposeAssertAbsent(f, "service", "byip")
}

// exposeTestCA issues a certificate for hosts, signed by a fresh CA. It returns the CA pool and the
// paths of the leaf's certificate and key files.
func exposeTestCA(t *testing.T, hosts ...string) (*x509.CertPool, string, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "svc-doctor e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	crt, k := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, crt, k
}

// Where the harness's Traefik serves Ingresses on the node IP (hack/cluster/manifests/traefik.yaml):
// HTTP, and HTTPS with the certificates of the Ingresses' TLS Secrets chosen by SNI.
const (
	exposeHTTPPort  = "30081"
	exposeHTTPSPort = "30443"
)

// exposeHostHTTPS fetches https://host/path from the test process, connecting to addr (the node IP and
// Traefik's node port: cluster addresses only) and verifying the certificate with pool.
func exposeHostHTTPS(pool *x509.CertPool, addr, host, path string) (string, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		Proxy: nil,
	}}
	resp, err := c.Get("https://" + host + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return string(b), nil
}

func TestExposeIngressTLS(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 2})
	client := f.ClientPod("client")
	exposeMust(f, "deploy/web", "--port", "80:http")
	host := f.Namespace + ".svcdoc.test" // unique per test: Traefik merges routes across namespaces
	pool, crt, key := exposeTestCA(t, host, "*."+host)

	// refused first: the backend Service does not exist, and nothing is created (not even the Secret)
	res := exposeRun(f, "ingress", "web", "--class", "traefik", "--rule", host+"/*=missing:80", "--tls", host+"=web-tls", "--cert", crt, "--key", key)
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "backend service missing does not exist in namespace "+f.Namespace+" [ingress-backend-service-missing]") ||
		!strings.Contains(res.Stderr, "nothing was created") {
		t.Errorf("missing backend: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	exposeAssertAbsent(f, "ingress", "web")
	exposeAssertAbsent(f, "secret", "web-tls")

	// refused too: the certificate does not cover the host
	res = exposeRun(f, "ingress", "web", "--rule", "other.svcdoc.test/*=web:80", "--tls", "other.svcdoc.test=web-tls", "--cert", crt, "--key", key)
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "[tls-cert-host-mismatch]") {
		t.Errorf("uncovered host: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	exposeAssertAbsent(f, "secret", "web-tls")

	args := []string{"ingress", "web", "--class", "traefik", "--rule", host + "/*=web:http", "--rule", host + "/ready=web:80",
		"--path-type", "Exact", "--tls", host + "=web-tls", "--cert", crt, "--key", key, "--annotation", "svc-doctor.io/e2e=expose"}
	res = exposeMust(f, args...)
	if !strings.Contains(res.Stdout, "secret/web-tls serverside-applied\ningress/web serverside-applied\n") ||
		!strings.Contains(res.Stdout, "ingress/web: address "+f.Cluster.NodeIP+" after ") {
		t.Errorf("stdout %q", res.Stdout)
	}
	sec, err := f.Client.CoreV1().Secrets(f.Namespace).Get(f.Ctx, "web-tls", metav1.GetOptions{})
	if err != nil || sec.Type != corev1.SecretTypeTLS || len(sec.Data["tls.crt"]) == 0 || len(sec.Data["tls.key"]) == 0 || len(sec.Data) != 2 {
		t.Fatalf("secret web-tls: %v %v", sec, err)
	}
	ing, err := f.Client.NetworkingV1().Ingresses(f.Namespace).Get(f.Ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	paths := ing.Spec.Rules[0].HTTP.Paths
	if *ing.Spec.IngressClassName != "traefik" || ing.Spec.TLS[0].SecretName != "web-tls" || ing.Spec.TLS[0].Hosts[0] != host ||
		ing.Annotations["svc-doctor.io/e2e"] != "expose" || len(ing.Spec.Rules) != 1 || len(paths) != 2 ||
		*paths[0].PathType != "Prefix" || paths[0].Path != "/" || paths[0].Backend.Service.Port.Name != "http" ||
		*paths[1].PathType != "Exact" || paths[1].Path != "/ready" || paths[1].Backend.Service.Port.Number != 80 {
		t.Fatalf("ingress web: %+v", ing)
	}
	// HTTP through Traefik from a pod, with the Host header
	httpAddr := net.JoinHostPort(f.Cluster.NodeIP, exposeHTTPPort)
	var body string
	f.WaitFor("HTTP through the Ingress from a pod", 60*time.Second, func(context.Context) (bool, error) {
		var err error
		body, err = f.InPod(client, "get", "-host", host, "http://"+httpAddr+"/")
		return err == nil, err
	})
	if !slices.Contains(web.PodNames(), strings.TrimSpace(body)) {
		t.Errorf("HTTP answer %q, not from %v", body, web.PodNames())
	}
	if _, err := f.InPod(client, "get", "-host", "unknown."+host, "http://"+httpAddr+"/"); err == nil {
		t.Errorf("unknown.%s answered, but no rule serves it", host)
	}
	// HTTPS with SNI, the certificate verified against the test CA: from the test process (the
	// node IP is local on the harness), and a TLS connection from a pod
	httpsAddr := net.JoinHostPort(f.Cluster.NodeIP, exposeHTTPSPort)
	if f.Cluster.Harness {
		f.WaitFor("HTTPS through the Ingress", 60*time.Second, func(context.Context) (bool, error) {
			var err error
			body, err = exposeHostHTTPS(pool, httpsAddr, host, "/")
			return err == nil, err
		})
		if !slices.Contains(web.PodNames(), strings.TrimSpace(body)) {
			t.Errorf("HTTPS answer %q, not from %v", body, web.PodNames())
		}
	}
	if !f.CanConnect(client, httpsAddr, 3*time.Second) {
		t.Errorf("client pod cannot reach Traefik's HTTPS port %s", httpsAddr)
	}
	// rerun: idempotent
	before := ing.ResourceVersion
	exposeMust(f, args...)
	if again, _ := f.Client.NetworkingV1().Ingresses(f.Namespace).Get(f.Ctx, "web", metav1.GetOptions{}); again.ResourceVersion != before {
		t.Errorf("rerun rewrote ingress/web (%s -> %s)", before, again.ResourceVersion)
	}
}

func TestExposeRefusesBadRequests(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	tests := []struct {
		name     string
		args     []string
		svc      string
		wantCode int
		want     []string
	}{
		{name: "named target port no container defines", args: []string{"deploy/web", "--port", "80:https"}, svc: "web", wantCode: 1,
			want: []string{`targetPort "https" of port port-80 (80/TCP) is not a port of pod/web-`, "[service-target-port-unresolved]", "nothing was created"}},
		{name: "numeric target port no container declares", args: []string{"deploy/web", "--port", "80:8443"}, svc: "web", wantCode: 1,
			want: []string{"targetPort 8443 of port port-80 (80/TCP) is not declared by pod/web-", "expose refuses a target port", "nothing was created"}},
		{name: "NodePort out of range", args: []string{"deploy/web", "--name", "web-np", "--port", "80:http", "--type", "NodePort", "--node-port", "40000"}, svc: "web-np", wantCode: 1,
			want: []string{"nodePort 40000 is outside the node port range 30000-32767 [service-node-port-invalid]", "nothing was created"}},
		{name: "selector that matches no pod", args: []string{"deploy/web", "--name", "nobody", "--selector", "app=nobody"}, svc: "nobody", wantCode: 1,
			want: []string{"selector app=nobody matches no pod in namespace " + f.Namespace, "near misses: pod/web-"}},
		{name: "external endpoint on loopback", args: []string{"external", "lo", "--address", "127.0.0.1", "--port", "80"}, svc: "lo", wantCode: 1,
			want: []string{"127.0.0.1 is a loopback address", "[endpoints-address-invalid]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := exposeRun(f, tt.args...)
			if res.ExitCode != tt.wantCode {
				t.Errorf("exit %d, want %d", res.ExitCode, tt.wantCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.Stderr, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			exposeAssertAbsent(f, "service", tt.svc)
		})
	}
	// --force creates it anyway
	res := exposeRun(f, "deploy/web", "--port", "80:https", "--force", "--wait=3s")
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "--force: applying despite") {
		t.Errorf("--force: exit %d (want 1: the Service gets no ready endpoint for that port)\n%s", res.ExitCode, res.Stderr)
	}
	exposeGetService(f, "web")
}

func TestExposeAfterCheckTimesOut(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	sick := f.DeployTestserver(framework.TestserverSpec{Name: "sick", Replicas: 1})
	if _, err := f.InPod(sick.Pods[0].Name, "touch", "/tmp/unready"); err != nil {
		t.Fatal(err)
	}
	f.WaitFor("the pod to turn unready", 30*time.Second, func(ctx context.Context) (bool, error) {
		p, err := f.Client.CoreV1().Pods(f.Namespace).Get(ctx, sick.Pods[0].Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status == corev1.ConditionFalse, nil
			}
		}
		return false, nil
	})
	start := time.Now()
	res := exposeRun(f, "deploy/sick", "--port", "80:http", "--wait=5s")
	if res.ExitCode != 1 {
		t.Errorf("exit %d, want 1", res.ExitCode)
	}
	if d := time.Since(start); d > 40*time.Second {
		t.Errorf("took %s for a 5s wait", d)
	}
	for _, w := range []string{"service/sick serverside-applied\n", "service/sick: 0/1 endpoints ready after ", "(not ready: pod/" + sick.Pods[0].Name} {
		if !strings.Contains(res.Stdout, w) {
			t.Errorf("stdout lacks %q", w)
		}
	}
	// the diagnosis ran and its verdict names the cause, with the probe's own message
	for _, w := range []string{"diagnosis: fault at hop readiness", "503", "for the full trace (DNS and traffic from inside the cluster), run: kubectl svc-doctor diagnose svc/sick -n " + f.Namespace} {
		if !strings.Contains(res.Stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, res.Stdout)
		}
	}

	// an Ingress that no controller picks up: no address, then the backends' diagnosis
	res = exposeRun(f, "ingress", "nowhere", "--class", "no-such-class", "--rule", "nowhere.svcdoc.test/=sick:80", "--wait=3s", "--force")
	if res.ExitCode != 1 {
		t.Errorf("ingress: exit %d, want 1 (no address)", res.ExitCode)
	}
	for _, w := range []string{"ingress/nowhere: no address after", "kubectl svc-doctor ingresscheck ing/nowhere -n " + f.Namespace, "diagnosis: fault at hop readiness"} {
		if !strings.Contains(res.Stdout, w) {
			t.Errorf("ingress: stdout lacks %q:\n%s", w, res.Stdout)
		}
	}
}

// exposeClusterKubectl is the cluster's own kubectl (hack/cluster/README.md), or "" when absent (kind).
func exposeClusterKubectl() string {
	cache := os.Getenv("SVCDOC_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "svc-doctor")
	}
	p := filepath.Join(cache, "cluster", "k8s-v1.37.2", "bin", "kubectl")
	if _, err := os.Stat(p); err != nil {
		if p, err = exec.LookPath("kubectl"); err != nil {
			return ""
		}
	}
	return p
}

func TestExposeDryRunOutputApplies(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	backend := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	host := f.Namespace + ".svcdoc.test"
	_, crt, key := exposeTestCA(t, host)
	exposeMust(f, "deploy/web", "--name", "api", "--port", "80:http", "--wait=false")
	cases := []struct {
		args       []string
		kind, name string // the main object, absent after the dry run
	}{
		{[]string{"deploy/web", "--port", "80:http", "--type", "NodePort"}, "service", "web"},
		{[]string{"deploy/web", "--name", "web-headless", "--headless"}, "service", "web-headless"},
		{[]string{"external", "ext", "--address", backend.Pods[0].Status.PodIP, "--port", "80:8080", "--legacy-endpoints"}, "service", "ext"},
		{[]string{"externalname", "alias", "--to", "api." + f.Namespace + ".svc.cluster.local"}, "service", "alias"},
		{[]string{"ingress", "shop", "--rule", host + "/api*=api:http", "--tls", host + "=shop-tls", "--cert", crt, "--key", key}, "ingress", "shop"},
	}
	kubectl := exposeClusterKubectl()
	for _, tc := range cases {
		args := tc.args
		res := exposeMust(f, append(args, "--dry-run=client", "-o", "yaml")...)
		exposeAssertAbsent(f, tc.kind, tc.name)
		if kubectl != "" {
			cmd := exec.Command(kubectl, "apply", "--validate=strict", "-f", "-")
			cmd.Env = append(os.Environ(), "KUBECONFIG="+f.Cluster.Kubeconfig)
			cmd.Stdin = strings.NewReader(res.Stdout)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Errorf("kubectl apply of `expose %v --dry-run=client -o yaml`: %v\n%s\n%s", args, err, out.String(), res.Stdout)
			} else {
				t.Logf("kubectl apply:\n%s", out.String())
			}
		} else if _, err := f.ApplyE(res.Stdout); err != nil {
			t.Errorf("apply of `expose %v --dry-run=client -o yaml`: %v", args, err)
		}
	}
	exposeGetService(f, "web")
	exposeGetService(f, "web-headless")
	exposeGetService(f, "ext")
	exposeGetService(f, "alias")
	if _, err := f.Client.NetworkingV1().Ingresses(f.Namespace).Get(f.Ctx, "shop", metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
	// objects kubectl applied can be applied again by expose (same values: no field conflict)
	exposeMust(f, "externalname", "alias", "--to", "api."+f.Namespace+".svc.cluster.local")
}
