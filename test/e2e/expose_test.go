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
	"encoding/json"
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
	"sigs.k8s.io/yaml"

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
	case "endpointslice":
		_, err = f.Client.DiscoveryV1().EndpointSlices(f.Namespace).Get(f.Ctx, name, metav1.GetOptions{})
	case "endpoints":
		_, err = f.Client.CoreV1().Endpoints(f.Namespace).Get(f.Ctx, name, metav1.GetOptions{})
	default:
		f.T.Fatalf("exposeAssertAbsent: unknown kind %q", kind)
	}
	if !apierrors.IsNotFound(err) {
		f.T.Errorf("%s/%s exists, but nothing should have been created (err %v)", kind, name, err)
	}
}

// exposeAssertNoSlices fails when an EndpointSlice of service svc exists (written by expose, or
// mirrored from an Endpoints object by the control plane).
func exposeAssertNoSlices(f *framework.F, svc string) {
	f.T.Helper()
	l, err := f.Client.DiscoveryV1().EndpointSlices(f.Namespace).List(f.Ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		f.T.Fatalf("list the EndpointSlices of %s: %v", svc, err)
	}
	for _, es := range l.Items {
		f.T.Errorf("endpointslice/%s of service %s exists (managed by %q)", es.Name, svc, es.Labels[discoveryv1.LabelManagedBy])
	}
}

// exposeRerunUnchanged reruns `expose ARGS...` and fails when it changed the object that get reads
// (a different resourceVersion): server-side apply of the same values is a no-op.
func exposeRerunUnchanged(f *framework.F, what string, get func() (metav1.Object, error), args ...string) {
	f.T.Helper()
	before, err := get()
	if err != nil {
		f.T.Fatalf("%s: %v", what, err)
	}
	exposeMust(f, args...)
	after, err := get()
	if err != nil {
		f.T.Fatalf("%s after the rerun: %v", what, err)
	}
	if after.GetUID() != before.GetUID() || after.GetResourceVersion() != before.GetResourceVersion() {
		f.T.Errorf("rerun changed %s: uid %s -> %s, resourceVersion %s -> %s", what, before.GetUID(), after.GetUID(),
			before.GetResourceVersion(), after.GetResourceVersion())
	}
}

// exposeServiceGetter reads Service name for exposeRerunUnchanged.
func exposeServiceGetter(f *framework.F, name string) func() (metav1.Object, error) {
	return func() (metav1.Object, error) {
		return f.Client.CoreV1().Services(f.Namespace).Get(f.Ctx, name, metav1.GetOptions{})
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
	npArgs := []string{"deployment", "web", "--name", "web-np", "--port", "80:http", "--type", "NodePort", "--external-traffic-policy", "Local"}
	res = exposeMust(f, npArgs...)
	np := exposeGetService(f, "web-np")
	nodePort := np.Spec.Ports[0].NodePort
	if np.Spec.Type != corev1.ServiceTypeNodePort || nodePort < 30000 || nodePort > 32767 || np.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		t.Errorf("service web-np: %+v", np.Spec)
	}
	if want := fmt.Sprintf("service/web-np: node ports 80:%d/TCP", nodePort); !strings.Contains(res.Stdout, want) {
		t.Errorf("stdout lacks %q", want)
	}
	// externalTrafficPolicy Local: a node without a local endpoint drops what a pod of another node
	// sends to its node port, so ask a node that runs a web pod, the client's own node when it runs
	// one: from a pod of another node the answers were lost once (the web pod logged the requests,
	// the client timed out), the un-NATed reply taking another path than the request
	webNodes := map[string]bool{}
	for _, p := range f.Pods("app=web") {
		webNodes[p.Spec.NodeName] = true
	}
	clientNode := ""
	for _, p := range f.Pods("role=client") {
		if p.Name == client {
			clientNode = p.Spec.NodeName
		}
	}
	nodeIP := ""
	for _, n := range f.Cluster.Nodes {
		if webNodes[n.Name] && (nodeIP == "" || n.Name == clientNode) {
			nodeIP = n.IP
		}
	}
	if nodeIP == "" {
		t.Fatalf("no node runs a pod of web")
	}
	nodeURL := fmt.Sprintf("http://%s/", net.JoinHostPort(nodeIP, fmt.Sprint(nodePort)))
	exposeOnlyFrom(t, exposeAnswers(f, client, nodeURL, 4), web.PodNames())
	exposeOnlyFrom(t, exposeAnswers(f, client, "http://web-np/", 4), web.PodNames())
	// the rerun keeps the node port the cluster chose (expose does not send one)
	exposeRerunUnchanged(f, "service/web-np", exposeServiceGetter(f, "web-np"), npArgs...)

	// LoadBalancer: no load-balancer controller here, so the address stays pending; the node port
	// and the ClusterIP work
	lbArgs := []string{"deploy/web", "--name", "web-lb", "--port", "80:http", "--type", "LoadBalancer"}
	res = exposeMust(f, lbArgs...)
	lb := exposeGetService(f, "web-lb")
	if lb.Spec.Type != corev1.ServiceTypeLoadBalancer || lb.Spec.Ports[0].NodePort == 0 {
		t.Errorf("service web-lb: %+v", lb.Spec)
	}
	if !strings.Contains(res.Stdout, "service/web-lb: load balancer address pending") {
		t.Errorf("stdout does not say the load balancer is pending")
	}
	exposeOnlyFrom(t, exposeAnswers(f, client, "http://web-lb/", 4), web.PodNames())
	exposeRerunUnchanged(f, "service/web-lb", exposeServiceGetter(f, "web-lb"), lbArgs...)

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
	exposeRerunUnchanged(f, "service/web-headless", exposeServiceGetter(f, "web-headless"), "deploy/web", "--headless", "--name", "web-headless")
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
	// Synchronise with the mirroring controller on a positive event: an Endpoints object created
	// after ext's, without the skip-mirror label, is mirrored; by then the controller has handled
	// ext's Endpoints too (its queue is first in, first out).
	f.Apply(fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: mirror-probe}
spec:
  ports: [{name: web, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: mirror-probe}
subsets:
- addresses: [{ip: %s}]
  ports: [{name: web, port: 8080, protocol: TCP}]
`, ip))
	f.WaitFor("the mirroring controller to mirror endpoints/mirror-probe", time.Minute, func(ctx context.Context) (bool, error) {
		l, err := f.Client.DiscoveryV1().EndpointSlices(f.Namespace).List(ctx, metav1.ListOptions{
			LabelSelector: discoveryv1.LabelServiceName + "=mirror-probe," + discoveryv1.LabelManagedBy + "=endpointslicemirroring-controller.k8s.io"})
		return err == nil && len(l.Items) > 0, err
	})
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
	exposeRerunUnchanged(f, "service/alias", exposeServiceGetter(f, "alias"), "externalname", "alias", "--to", target)

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
	// rerun: idempotent, for the Ingress and for its TLS Secret (the same certificate and key)
	before := ing.ResourceVersion
	exposeRerunUnchanged(f, "secret/web-tls", func() (metav1.Object, error) {
		return f.Client.CoreV1().Secrets(f.Namespace).Get(f.Ctx, "web-tls", metav1.GetOptions{})
	}, args...)
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
		absent   []string // kind/name of other objects the command would have written
	}{
		{name: "named target port no container defines", args: []string{"deploy/web", "--port", "80:https"}, svc: "web", wantCode: 1,
			want: []string{`targetPort "https" of port port-80 (80/TCP) is not a port of pod/web-`, "[service-target-port-unresolved]", "nothing was created"}},
		{name: "NodePort out of range", args: []string{"deploy/web", "--name", "web-np", "--port", "80:http", "--type", "NodePort", "--node-port", "40000"}, svc: "web-np", wantCode: 1,
			want: []string{"nodePort 40000 is outside the node port range 30000-32767 [service-node-port-invalid]", "nothing was created"}},
		{name: "selector that matches no pod", args: []string{"deploy/web", "--name", "nobody", "--selector", "app=nobody"}, svc: "nobody", wantCode: 1,
			want: []string{"selector app=nobody matches no pod in namespace " + f.Namespace, "near misses: pod/web-"}},
		{name: "external endpoint on loopback", args: []string{"external", "lo", "--address", "127.0.0.1", "--port", "80", "--legacy-endpoints"}, svc: "lo", wantCode: 1,
			want: []string{"127.0.0.1 is a loopback address", "[endpoints-address-invalid]", "nothing was created"}, absent: []string{"endpointslice/lo-ipv4", "endpoints/lo"}},
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
			for _, a := range tt.absent {
				kind, name, _ := strings.Cut(a, "/")
				exposeAssertAbsent(f, kind, name)
			}
			if len(tt.absent) > 0 {
				exposeAssertNoSlices(f, tt.svc)
			}
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

// exposeDecodeStrict decodes JSON into v, refusing fields v does not have.
func exposeDecodeStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, data)
	}
}

// TestExposeServerDryRun checks --dry-run=server with -o yaml and -o json: nothing is persisted,
// and what is printed is the API server's answer (defaulted fields, a uid, an allocated
// clusterIP), unlike --dry-run=client, which prints the objects as expose built them.
func TestExposeServerDryRun(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	backend := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})

	// -o yaml: one Service, as the server would store it
	res := exposeMust(f, "deploy/web", "--dry-run=server", "-o", "yaml")
	exposeAssertAbsent(f, "service", "web")
	if strings.Contains(res.Stdout, "serverside-applied") || strings.Contains(res.Stdout, "managedFields") || strings.Contains(res.Stdout, "\n---") {
		t.Errorf("stdout is not one clean object:\n%s", res.Stdout)
	}
	if !strings.Contains(res.Stderr, "0 errors, 0 warnings") {
		t.Errorf("the check did not run, or was not clean:\n%s", res.Stderr)
	}
	var server corev1.Service
	if err := yaml.UnmarshalStrict([]byte(res.Stdout), &server); err != nil {
		t.Fatalf("-o yaml: %v\n%s", err, res.Stdout)
	}
	if server.APIVersion != "v1" || server.Kind != "Service" || server.Name != "web" || server.Namespace != f.Namespace ||
		server.Spec.Selector["app"] != "web" || len(server.Spec.Ports) != 1 || server.Spec.Ports[0].TargetPort != intstr.FromString("http") {
		t.Errorf("server dry run printed %+v", server)
	}
	// what only the server adds: identity, timestamps, an IP, defaults
	if server.UID == "" || server.CreationTimestamp.IsZero() || net.ParseIP(server.Spec.ClusterIP) == nil ||
		server.Spec.SessionAffinity != corev1.ServiceAffinityNone || server.Spec.InternalTrafficPolicy == nil || len(server.Spec.IPFamilies) == 0 ||
		server.Spec.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("the server dry run lacks what the API server fills in (uid %q, created %v, clusterIP %q, sessionAffinity %q, ipFamilies %v)",
			server.UID, server.CreationTimestamp, server.Spec.ClusterIP, server.Spec.SessionAffinity, server.Spec.IPFamilies)
	}
	// the client dry run prints none of that
	res = exposeMust(f, "deploy/web", "--dry-run=client", "-o", "yaml")
	var client corev1.Service
	if err := yaml.UnmarshalStrict([]byte(res.Stdout), &client); err != nil {
		t.Fatalf("client -o yaml: %v\n%s", err, res.Stdout)
	}
	if client.UID != "" || client.Spec.ClusterIP != "" || !client.CreationTimestamp.IsZero() || client.Spec.SessionAffinity != "" {
		t.Errorf("client dry run printed server-side fields: %+v", client)
	}
	exposeAssertAbsent(f, "service", "web")

	// -o json of several objects: a v1 List with the Service, the EndpointSlice and the Endpoints
	ip := backend.Pods[0].Status.PodIP
	res = exposeMust(f, "external", "ext", "--address", ip, "--port", "web=80:8080", "--legacy-endpoints", "--dry-run=server", "-o", "json")
	var list struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Items      []json.RawMessage `json:"items"`
	}
	exposeDecodeStrict(t, []byte(res.Stdout), &list)
	if list.APIVersion != "v1" || list.Kind != "List" || len(list.Items) != 3 {
		t.Fatalf("-o json: %s %s with %d items, want a v1 List of 3:\n%s", list.APIVersion, list.Kind, len(list.Items), res.Stdout)
	}
	var (
		svc corev1.Service
		es  discoveryv1.EndpointSlice
		ep  corev1.Endpoints
	)
	exposeDecodeStrict(t, list.Items[0], &svc)
	exposeDecodeStrict(t, list.Items[1], &es)
	exposeDecodeStrict(t, list.Items[2], &ep)
	if svc.Kind != "Service" || svc.Name != "ext" || svc.UID == "" || net.ParseIP(svc.Spec.ClusterIP) == nil || len(svc.Spec.Selector) != 0 {
		t.Errorf("items[0]: %+v", svc)
	}
	if es.Kind != "EndpointSlice" || es.Name != "ext-ipv4" || es.UID == "" || es.Labels[discoveryv1.LabelServiceName] != "ext" ||
		len(es.Endpoints) != 1 || es.Endpoints[0].Addresses[0] != ip || len(es.Ports) != 1 || *es.Ports[0].Port != 8080 {
		t.Errorf("items[1]: %+v", es)
	}
	if ep.Kind != "Endpoints" || ep.Name != "ext" || ep.UID == "" || len(ep.Subsets) != 1 || ep.Subsets[0].Addresses[0].IP != ip {
		t.Errorf("items[2]: %+v", ep)
	}
	exposeAssertAbsent(f, "service", "ext")
	exposeAssertAbsent(f, "endpointslice", "ext-ipv4")
	exposeAssertAbsent(f, "endpoints", "ext")
	exposeAssertNoSlices(f, "ext")

	// -o json of one object (client dry run): the object itself, not a List
	res = exposeMust(f, "externalname", "alias", "--to", "web."+f.Namespace+".svc.cluster.local", "--dry-run=client", "-o", "json")
	var alias corev1.Service
	exposeDecodeStrict(t, []byte(res.Stdout), &alias)
	if alias.Kind != "Service" || alias.Spec.Type != corev1.ServiceTypeExternalName || alias.Spec.ExternalName != "web."+f.Namespace+".svc.cluster.local" {
		t.Errorf("-o json: %+v", alias)
	}
	exposeAssertAbsent(f, "service", "alias")
}

// TestExposeFieldManager checks that --field-manager names the server-side apply manager that
// owns the applied fields, and that another manager cannot change them without --force-conflicts.
func TestExposeFieldManager(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	const manager = "e2e-expose-owner"
	exposeMust(f, "deploy/web", "--name", "web-fm", "--port", "80:http", "--field-manager", manager, "--wait=false")
	svc := exposeGetService(f, "web-fm")
	var owners []string
	applied := false
	for _, m := range svc.ManagedFields {
		owners = append(owners, fmt.Sprintf("%s/%s", m.Manager, m.Operation))
		if m.Manager == manager && m.Operation == metav1.ManagedFieldsOperationApply && m.FieldsV1 != nil &&
			strings.Contains(m.FieldsV1.GetRawString(), `"f:selector"`) && strings.Contains(m.FieldsV1.GetRawString(), `"f:targetPort"`) {
			applied = true
		}
		if m.Manager == "svc-doctor" {
			t.Errorf("the default field manager svc-doctor owns fields despite --field-manager %s: %s", manager, m.FieldsV1.GetRawString())
		}
	}
	if !applied {
		t.Errorf("no Apply entry of manager %s owning spec.selector and the ports' targetPort; managers: %v", manager, owners)
	}
	// the same values under the same manager: no change
	exposeRerunUnchanged(f, "service/web-fm", exposeServiceGetter(f, "web-fm"), "deploy/web", "--name", "web-fm", "--port", "80:http", "--field-manager", manager, "--wait=false")
	// another manager (the default one) changing a field the first one owns (the targetPort of
	// port 80, http -> 8080: the same container port, so the checks pass) is a conflict that names
	// the owner, and nothing changes
	res := exposeRun(f, "deploy/web", "--name", "web-fm", "--port", "80:8080", "--wait=false")
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, `conflict with "`+manager+`"`) || !strings.Contains(res.Stderr, "--force-conflicts") {
		t.Errorf("default manager over %s's targetPort: exit %d\n%s", manager, res.ExitCode, res.Stderr)
	}
	if got := exposeGetService(f, "web-fm"); got.Spec.Ports[0].TargetPort != intstr.FromString("http") || got.ResourceVersion != svc.ResourceVersion {
		t.Errorf("the refused apply changed service/web-fm: targetPort %s, resourceVersion %s -> %s", got.Spec.Ports[0].TargetPort.String(), svc.ResourceVersion, got.ResourceVersion)
	}
}

// TestExposeIngressConflictAcrossNamespaces checks that `expose ingress` reports a route that an
// Ingress of the same class in another namespace already has (the controller merges them), and
// that a user who may not list Ingresses cluster-wide gets a warning instead.
func TestExposeIngressConflictAcrossNamespaces(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	other := framework.New(t)
	host := f.Namespace + ".svcdoc.test" // unique: Traefik merges routes across namespaces
	svc := `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
`
	f.Apply(svc)
	other.Apply(svc)
	other.Apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: blog}
spec:
  ingressClassName: traefik
  rules:
  - host: ` + host + `
    http:
      paths:
      - {path: /api, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`)
	conflict := "is also routed by ingress/" + other.Namespace + "/blog (spec.rules[0].http.paths[0]): only one of them can serve requests [ingress-route-conflict]"
	tests := []struct {
		name      string
		rule      string
		class     string
		want      []string
		notWanted []string
	}{
		{name: "same class, host and path", rule: host + "/api*=web:80", class: "traefik",
			want: []string{"warning: ingress/web spec.rules[0].http.paths[0]: " + host + " Prefix /api " + conflict, "0 errors, 1 warning"}},
		{name: "another path", rule: host + "/shop*=web:80", class: "traefik", notWanted: []string{"[ingress-route-conflict]"}},
		{name: "another host", rule: "www." + host + "/api*=web:80", class: "traefik", notWanted: []string{"[ingress-route-conflict]"}},
		{name: "another class", rule: host + "/api*=web:80", class: "other-class", notWanted: []string{"[ingress-route-conflict]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := exposeRun(f, "ingress", "web", "--class", tt.class, "--rule", tt.rule, "--dry-run=server")
			if res.ExitCode != 0 {
				t.Errorf("exit %d (a conflict is a warning)", res.ExitCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.Stderr, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			for _, w := range tt.notWanted {
				if strings.Contains(res.Stderr, w) {
					t.Errorf("stderr has %q", w)
				}
			}
			if strings.Contains(res.Stderr, "other namespaces' routes not checked") {
				t.Errorf("the cluster-wide list failed for the admin")
			}
			exposeAssertAbsent(f, "ingress", "web")
		})
	}
	// with the roles of deploy/rbac/expose.yaml: checked across namespaces if they allow listing
	// Ingresses cluster-wide, else a warning says what was not checked
	t.Run("with the expose roles", func(t *testing.T) {
		u := newRBACUser(t, f, "expose.yaml", nil)
		clusterWide := u.can(f.Ctx, "list", "networking.k8s.io", "ingresses", "")
		res := u.run(t, f, "expose", "ingress", "web", "-n", f.Namespace, "--class", "traefik", "--rule", host+"/api*=web:80", "--dry-run=server")
		noCrash(t, res)
		if res.ExitCode != 0 {
			t.Errorf("exit %d:\n%s", res.ExitCode, res.Stderr)
		}
		const warn = "warning: forbidden: needs list on ingresses in the cluster: other namespaces' routes not checked\n"
		if clusterWide {
			if strings.Contains(res.Stderr, warn) || !strings.Contains(res.Stderr, conflict) {
				t.Errorf("the roles allow listing Ingresses cluster-wide, but the conflict was not found:\n%s", res.Stderr)
			}
		} else if !strings.Contains(res.Stderr, warn) || strings.Contains(res.Stderr, "[ingress-route-conflict]") {
			t.Errorf("the roles do not allow listing Ingresses cluster-wide: want the warning %q and no conflict:\n%s", warn, res.Stderr)
		}
		exposeAssertAbsent(f, "ingress", "web")
	})
}
