// Package e2e holds svc-doctor's end-to-end tests. They run against the cluster KUBECONFIG names when
// SVCDOC_E2E=1 (hack/e2e.sh builds, starts and stops the local one); see test/e2e/framework.
package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/svc-doctor/svc-doctor/test/e2e/framework"
)

// The tests in this file prove that the cluster under test is a real one: pod networking, Services,
// kube-proxy, CoreDNS, readiness, exec/logs and NetworkPolicy enforcement all work.

const webServices = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 8080, targetPort: http}]
`

func TestPodsGetIPsAndReachEachOther(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 2})
	client := f.ClientPod("client")
	seen := map[string]bool{}
	for _, p := range web.Pods {
		ip := net.ParseIP(p.Status.PodIP)
		if ip == nil || seen[p.Status.PodIP] {
			t.Fatalf("pod %s has no IP of its own: %q", p.Name, p.Status.PodIP)
		}
		seen[p.Status.PodIP] = true
		body, err := f.HTTPGet(client, fmt.Sprintf("http://%s/", net.JoinHostPort(p.Status.PodIP, "8080")))
		if err != nil {
			t.Fatalf("client -> pod %s (%s): %v", p.Name, p.Status.PodIP, err)
		}
		if strings.TrimSpace(body) != p.Name {
			t.Errorf("pod %s answered %q", p.Name, body)
		}
	}
	// and pod -> pod between two server pods, with the server seeing the client's pod IP
	a, b := web.Pods[0], web.Pods[1]
	out, err := f.InPod(a.Name, "get", fmt.Sprintf("http://%s/echo", net.JoinHostPort(b.Status.PodIP, "8080")))
	if err != nil {
		t.Fatalf("%s -> %s: %v", a.Name, b.Name, err)
	}
	var echo struct{ Pod, ClientIP string }
	if err := json.Unmarshal([]byte(out), &echo); err != nil {
		t.Fatalf("echo: %v: %s", err, out)
	}
	if echo.Pod != b.Name || echo.ClientIP != a.Status.PodIP {
		t.Errorf("echo %+v, want pod %s seeing client %s", echo, b.Name, a.Status.PodIP)
	}
}

func TestClusterIPAndNodePortRoute(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 3})
	f.Apply(webServices + `---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`)
	client := f.ClientPod("client")
	clusterIP := f.ServiceIP("web")
	np, err := f.Client.CoreV1().Services(f.Namespace).Get(f.Ctx, "web-np", metav1GetOptions)
	if err != nil {
		t.Fatal(err)
	}
	nodePort := np.Spec.Ports[0].NodePort

	// kube-proxy may need a moment to program a new Service.
	f.WaitFor("ClusterIP answers", 30*time.Second, func(_ ctxT) (bool, error) {
		_, err := f.HTTPGet(client, "http://"+clusterIP+"/")
		return err == nil, err
	})
	backends := map[string]int{}
	for range 15 {
		body, err := f.HTTPGet(client, "http://"+clusterIP+"/")
		if err != nil {
			t.Fatalf("client -> ClusterIP %s: %v", clusterIP, err)
		}
		backends[strings.TrimSpace(body)]++
	}
	for b := range backends {
		if !slices.Contains(web.PodNames(), b) {
			t.Errorf("ClusterIP answered from %q, not one of %v", b, web.PodNames())
		}
	}
	if len(backends) < 2 {
		t.Errorf("15 requests to the ClusterIP reached only %v", backends)
	}
	// by name through the pod's DNS search path
	if body, err := f.HTTPGet(client, "http://web/"); err != nil || !slices.Contains(web.PodNames(), strings.TrimSpace(body)) {
		t.Errorf("http://web/ from a pod: %q %v", body, err)
	}
	// NodePort from a pod
	nodeURL := fmt.Sprintf("http://%s/", net.JoinHostPort(f.Cluster.NodeIP, fmt.Sprint(nodePort)))
	f.WaitFor("NodePort answers", 30*time.Second, func(_ ctxT) (bool, error) {
		_, err := f.HTTPGet(client, nodeURL)
		return err == nil, err
	})
	if f.Cluster.Harness {
		// From the host too (the node IP is local to this machine): NodePort and ClusterIP.
		for _, u := range []string{nodeURL, "http://" + clusterIP + "/"} {
			body, err := hostGet(u)
			if err != nil || !slices.Contains(web.PodNames(), strings.TrimSpace(body)) {
				t.Errorf("host -> %s: %q %v", u, body, err)
			}
		}
	}
}

func TestHeadlessDNSAndSRV(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 3})
	f.Apply(webServices)
	client := f.ClientPod("client")
	name := "web-headless." + f.Namespace + ".svc.cluster.local"
	var got []string
	f.WaitFor("one A record per ready pod", 30*time.Second, func(_ ctxT) (bool, error) {
		var err error
		got, err = f.Lookup(client, name)
		return slices.Equal(got, web.PodIPs()), err
	})
	srv, err := f.SRV(client, "_http._tcp."+name)
	if err != nil {
		t.Fatalf("SRV: %v", err)
	}
	if len(srv) != 3 {
		t.Fatalf("SRV _http._tcp.%s = %v, want 3 records", name, srv)
	}
	for _, r := range srv {
		fields := strings.Fields(r) // target port priority weight
		if len(fields) != 4 || fields[1] != "8080" || !strings.HasSuffix(fields[0], "."+name+".") {
			t.Errorf("SRV record %q, want <pod>.%s. 8080 ...", r, name)
		}
	}
	// the ClusterIP service has a single A record: its ClusterIP
	if a, err := f.Lookup(client, "web."+f.Namespace+".svc.cluster.local"); err != nil || !slices.Equal(a, []string{f.ServiceIP("web")}) {
		t.Errorf("A web = %v %v, want [%s]", a, err, f.ServiceIP("web"))
	}
	if a, err := f.Lookup(client, "kubernetes.default.svc.cluster.local"); err != nil || len(a) != 1 {
		t.Errorf("A kubernetes.default = %v %v", a, err)
	}
}

func TestExternalNameAndNoUpstreamDNS(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(webServices + `---
apiVersion: v1
kind: Service
metadata: {name: alias}
spec:
  type: ExternalName
  externalName: web.` + f.Namespace + `.svc.cluster.local
---
apiVersion: v1
kind: Service
metadata: {name: outside}
spec:
  type: ExternalName
  externalName: example.com
`)
	client := f.ClientPod("client")
	alias := "alias." + f.Namespace + ".svc.cluster.local"
	var cname string
	f.WaitFor("CNAME of the ExternalName service", 30*time.Second, func(_ ctxT) (bool, error) {
		var err error
		cname, err = f.CNAME(client, alias)
		return err == nil, err
	})
	if want := "web." + f.Namespace + ".svc.cluster.local."; cname != want {
		t.Errorf("CNAME %s = %q, want %q", alias, cname, want)
	}
	if a, err := f.Lookup(client, alias); err != nil || !slices.Equal(a, []string{f.ServiceIP("web")}) {
		t.Errorf("A %s = %v %v, want the ClusterIP %s", alias, a, err, f.ServiceIP("web"))
	}
	outside := "outside." + f.Namespace + ".svc.cluster.local"
	if c, err := f.CNAME(client, outside); err != nil || c != "example.com." {
		t.Errorf("CNAME %s = %q %v, want example.com.", outside, c, err)
	}
	// CoreDNS has no upstream: the CNAME target and any other outside name do not resolve.
	if a, err := f.Lookup(client, outside); err == nil {
		t.Errorf("%s resolved to %v: DNS went beyond the cluster", outside, a)
	}
	for _, n := range []string{"example.com", "example.com.", "svc-doctor.invalid."} {
		a, err := f.Lookup(client, n)
		if !framework.IsNXDOMAIN(err) {
			t.Errorf("lookup %s = %v %v, want NXDOMAIN", n, a, err)
		}
	}
}

func TestUnreadyPodLeavesEndpointsAndDNS(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 3})
	f.Apply(webServices)
	client := f.ClientPod("client")
	headless := "web-headless." + f.Namespace + ".svc.cluster.local"
	f.WaitFor("3 ready endpoints", 30*time.Second, func(_ ctxT) (bool, error) {
		ready, _ := f.Endpoints("web")
		return len(ready) == 3, nil
	})
	victim := web.Pods[0]
	if _, err := f.InPod(victim.Name, "touch", "/tmp/unready"); err != nil {
		t.Fatalf("touch /tmp/unready in %s: %v", victim.Name, err)
	}
	f.WaitFor("the pod to leave the EndpointSlice's ready set", 30*time.Second, func(_ ctxT) (bool, error) {
		ready, notReady := f.Endpoints("web")
		return !slices.Contains(ready, victim.Status.PodIP) && slices.Contains(notReady, victim.Status.PodIP) && len(ready) == 2, nil
	})
	f.WaitFor("headless DNS to drop the pod", 30*time.Second, func(_ ctxT) (bool, error) {
		a, err := f.Lookup(client, headless)
		return len(a) == 2 && !slices.Contains(a, victim.Status.PodIP), err
	})
	clusterIP := f.ServiceIP("web")
	f.WaitFor("kube-proxy to drop the pod", 15*time.Second, func(_ ctxT) (bool, error) {
		for range 10 {
			body, err := f.HTTPGet(client, "http://"+clusterIP+"/")
			if err != nil || strings.TrimSpace(body) == victim.Name {
				return false, err
			}
		}
		return true, nil
	})
	// and back
	if _, err := f.InPod(victim.Name, "rm", "/tmp/unready"); err != nil {
		t.Fatalf("rm /tmp/unready: %v", err)
	}
	f.WaitFor("the pod to be ready and in DNS again", 30*time.Second, func(_ ctxT) (bool, error) {
		a, err := f.Lookup(client, headless)
		return slices.Equal(a, web.PodIPs()), err
	})
}

func TestExecAndLogs(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1, Ports: []int{8080, 9090}})
	pod := web.Pods[0].Name
	res, err := f.Exec(pod, "testserver", "/testserver", "get", "http://127.0.0.1:9090/status/201")
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != "201 "+pod || !strings.Contains(res.Stderr, "HTTP 201") {
		t.Fatalf("exec: %+v %v", res, err)
	}
	res, err = f.Exec(pod, "", "/testserver", "rm", "/does/not/exist")
	if err != nil || res.ExitCode != 1 {
		t.Fatalf("exec of a failing command: %+v %v (want exit 1)", res, err)
	}
	f.WaitFor("the request in the pod's log", 15*time.Second, func(_ ctxT) (bool, error) {
		logs, err := f.Logs(pod, "", 0)
		return strings.Contains(logs, "GET /status/201") && strings.Contains(logs, "serving HTTP on [8080 9090]"), err
	})
}

func TestNetworkPolicyDropsAndRestores(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 1})
	f.Apply(webServices)
	allowed := f.ClientPod("allowed", "access=web")
	other := f.ClientPod("other")
	podAddr := net.JoinHostPort(web.Pods[0].Status.PodIP, "8080")
	svcAddr := net.JoinHostPort(f.ServiceIP("web"), "80")
	reach := func(client, addr string) bool { return f.CanConnect(client, addr, 2*time.Second) }
	expect := func(desc string, want map[string]bool) {
		t.Helper()
		f.WaitFor(desc, 30*time.Second, func(_ ctxT) (bool, error) {
			for c, ok := range want {
				if reach(c, podAddr) != ok || reach(c, svcAddr) != ok {
					return false, nil
				}
			}
			return true, nil
		})
	}
	expect("both clients reach the server", map[string]bool{allowed: true, other: true})

	denyAll := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`
	f.Apply(denyAll)
	expect("deny-all to drop both clients' traffic", map[string]bool{allowed: false, other: false})

	allow := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web-clients}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {access: web}}}]
    ports: [{port: 8080, protocol: TCP}]
`
	f.Apply(allow)
	expect("only the labelled client to get through", map[string]bool{allowed: true, other: false})

	f.Delete(denyAll + "---\n" + allow)
	expect("removing the policies to restore traffic", map[string]bool{allowed: true, other: true})
}

// hostGet fetches url from the test process itself (only for the node IP and ClusterIPs of the local
// harness, which live on this machine).
func hostGet(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return string(b), err
}

func TestIngressThroughTraefik(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	if _, err := f.Client.NetworkingV1().IngressClasses().Get(f.Ctx, "traefik", metav1GetOptions); err != nil {
		t.Skipf("no IngressClass traefik in this cluster (hack/cluster runs it unless SVCDOC_WITH_TRAEFIK=0): %v", err)
	}
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 2})
	f.Apply(webServices + `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  ingressClassName: traefik
  rules:
  - host: web.` + f.Namespace + `.example.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`)
	client := f.ClientPod("client")
	host := "web." + f.Namespace + ".example.test"
	// inside the cluster through the controller's Service, and through its NodePort on the node IP
	for _, u := range []string{"http://traefik.ingress.svc.cluster.local/", fmt.Sprintf("http://%s/", net.JoinHostPort(f.Cluster.NodeIP, "30081"))} {
		f.WaitFor("Traefik to route "+host+" via "+u, 60*time.Second, func(_ ctxT) (bool, error) {
			body, err := f.InPod(client, "get", "-host", host, u)
			return err == nil && slices.Contains(web.PodNames(), strings.TrimSpace(body)), err
		})
	}
	// an unknown host gets Traefik's 404
	if _, err := f.InPod(client, "get", "-host", "nobody.example.test", "http://traefik.ingress.svc.cluster.local/"); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("unknown host: %v, want HTTP 404", err)
	}
}

// TestGatewayAPIThroughTraefik: a Gateway of class traefik (Traefik's Kubernetes Gateway provider)
// with an HTTP and an HTTPS listener, and an HTTPRoute to a test Service. Traefik sets the route's
// status.parents and the Gateway's status, and serves the route on the Ingress addresses: the node
// IP's NodePorts (30081, 30443 with the listener's certificate) and traefik.ingress.svc.
func TestGatewayAPIThroughTraefik(t *testing.T) {
	t.Parallel()
	f := framework.New(t)
	gvr := gatewayGVR
	needGatewayClass(f)
	web := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 2})
	h := host(f, "gw")
	now := time.Now()
	cert := newTestCert(t, []string{h}, now.Add(-time.Hour), now.Add(24*time.Hour))
	f.Apply(webServices + tlsGateway(cert, h) + fmt.Sprintf(`---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: gw}]
  hostnames: [%[1]q]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: web, port: 80}]
`, h))

	// Traefik accepts the route on both listeners of the Gateway and resolves its backend
	var parents []any
	f.WaitFor("Traefik to set the HTTPRoute's status.parents", 90*time.Second, func(ctx ctxT) (bool, error) {
		r, err := f.Cluster.Dynamic.Resource(gvr("httproutes")).Namespace(f.Namespace).Get(ctx, "web", metav1GetOptions)
		if err != nil {
			return false, err
		}
		parents, _, _ = unstructured.NestedSlice(r.Object, "status", "parents")
		for _, p := range parents {
			pm, _ := p.(map[string]any)
			ctrl, _, _ := unstructured.NestedString(pm, "controllerName")
			name, _, _ := unstructured.NestedString(pm, "parentRef", "name")
			conds, _, _ := unstructured.NestedSlice(pm, "conditions")
			if ctrl == "traefik.io/gateway-controller" && name == "gw" && condTrue(conds, "Accepted") && condTrue(conds, "ResolvedRefs") {
				return true, nil
			}
		}
		return false, fmt.Errorf("status.parents %v", parents)
	})
	f.WaitFor("the Gateway to be programmed with the node IP as its address", 60*time.Second, func(ctx ctxT) (bool, error) {
		g, err := f.Cluster.Dynamic.Resource(gvr("gateways")).Namespace(f.Namespace).Get(ctx, "gw", metav1GetOptions)
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(g.Object, "status", "conditions")
		addrs, _, _ := unstructured.NestedSlice(g.Object, "status", "addresses")
		ip := ""
		if len(addrs) > 0 {
			ip, _, _ = unstructured.NestedString(addrs[0].(map[string]any), "value")
		}
		if condTrue(conds, "Accepted") && condTrue(conds, "Programmed") && ip == f.Cluster.NodeIP {
			return true, nil
		}
		return false, fmt.Errorf("conditions %v, addresses %v", conds, addrs)
	})

	// requests: HTTP and HTTPS (the listener's certificate, by SNI) on the node IP's NodePorts...
	waitServed(f, "http", h, "/", web.PodNames())
	waitServed(f, "https", h, "/", web.PodNames())
	if _, _, served, err := viaTraefik(f, "https", h, "/"); err != nil || served != cert.sha {
		t.Errorf("https://%s/ was served with certificate %s (%v), want the listener's %s", h, served, err, cert.sha)
	}
	// ... and from a pod through Traefik's Service; another host gets Traefik's 404
	client := f.ClientPod("client")
	f.WaitFor("Traefik's Service to route "+h, 60*time.Second, func(_ ctxT) (bool, error) {
		body, err := f.InPod(client, "get", "-host", h, "http://traefik.ingress.svc.cluster.local/")
		return err == nil && slices.Contains(web.PodNames(), strings.TrimSpace(body)), err
	})
	if _, err := f.InPod(client, "get", "-host", "nobody."+h, "http://traefik.ingress.svc.cluster.local/"); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("unknown host: %v, want HTTP 404", err)
	}
}

// condTrue tells whether the metav1.Condition list (unstructured) has type typ with status True.
func condTrue(conds []any, typ string) bool {
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] == typ && cm["status"] == "True" {
			return true
		}
	}
	return false
}
