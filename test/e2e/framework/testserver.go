package framework

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestserverSpec describes a Deployment of the test server (image TestserverImage).
type TestserverSpec struct {
	Name     string            // Deployment name; pods get label app=<Name>
	Replicas int               // default 1
	Ports    []int             // HTTP ports (default 8080); the first one is named "http"
	UDPPort  int               // optional UDP echo port, named "udp"
	Labels   map[string]string // extra pod labels
	// NodeName pins the pods to that node (nodeSelector kubernetes.io/hostname; "" = anywhere).
	NodeName string
	// NoReadinessProbe leaves out the readiness probe (GET /ready on the first port, every 1s).
	NoReadinessProbe bool
	// Wait: do not wait for the replicas to become ready.
	NoWait bool
}

// Testserver is a deployed test server.
type Testserver struct {
	Name     string
	Selector string // label selector of its pods (app=<Name>)
	Pods     []corev1.Pod
}

// PodNames returns the sorted names of the pods.
func (ts *Testserver) PodNames() []string {
	var n []string
	for _, p := range ts.Pods {
		n = append(n, p.Name)
	}
	sort.Strings(n)
	return n
}

// PodIPs returns the sorted pod IPs.
func (ts *Testserver) PodIPs() []string {
	var n []string
	for _, p := range ts.Pods {
		n = append(n, p.Status.PodIP)
	}
	sort.Strings(n)
	return n
}

// TestserverManifest returns the Deployment YAML of spec (for tests that want to tweak it).
func TestserverManifest(spec TestserverSpec) string {
	if spec.Replicas == 0 {
		spec.Replicas = 1
	}
	if len(spec.Ports) == 0 {
		spec.Ports = []int{8080}
	}
	var ports, portList []string
	for i, p := range spec.Ports {
		name := "http"
		if i > 0 {
			name = "http-" + strconv.Itoa(p)
		}
		ports = append(ports, fmt.Sprintf("        - {name: %s, containerPort: %d, protocol: TCP}", name, p))
		portList = append(portList, strconv.Itoa(p))
	}
	udpEnv := ""
	if spec.UDPPort != 0 {
		ports = append(ports, fmt.Sprintf("        - {name: udp, containerPort: %d, protocol: UDP}", spec.UDPPort))
		udpEnv = fmt.Sprintf("\n        - {name: UDP_PORT, value: %q}", strconv.Itoa(spec.UDPPort))
	}
	labels := fmt.Sprintf("app: %s", spec.Name)
	keys := make([]string, 0, len(spec.Labels))
	for k := range spec.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		labels += fmt.Sprintf(", %q: %q", k, spec.Labels[k])
	}
	probe := ""
	if !spec.NoReadinessProbe {
		probe = fmt.Sprintf(`
        readinessProbe:
          httpGet: {path: /ready, port: %d}
          periodSeconds: 1
          failureThreshold: 1
          successThreshold: 1`, spec.Ports[0])
	}
	nodeSelector := ""
	if spec.NodeName != "" {
		nodeSelector = fmt.Sprintf("\n      nodeSelector: {kubernetes.io/hostname: %q}", spec.NodeName)
	}
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  labels: {app: %[1]s}
spec:
  replicas: %[2]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {%[3]s}
    spec:
      terminationGracePeriodSeconds: 1%[9]s
      containers:
      - name: testserver
        image: %[4]s
        imagePullPolicy: Never
        args: ["serve"]
        env:
        - {name: PORTS, value: %[5]q}%[6]s
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: POD_NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: NODE_NAME
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        ports:
%[7]s%[8]s
`, spec.Name, spec.Replicas, labels, TestserverImage, strings.Join(portList, ","), udpEnv, strings.Join(ports, "\n"), probe, nodeSelector)
}

// DeployTestserver applies a test server Deployment and, unless spec.NoWait, waits until all its
// replicas are ready (2 minutes at most).
func (f *F) DeployTestserver(spec TestserverSpec) *Testserver {
	f.T.Helper()
	if spec.Replicas == 0 {
		spec.Replicas = 1
	}
	f.Apply(TestserverManifest(spec))
	ts := &Testserver{Name: spec.Name, Selector: "app=" + spec.Name}
	if !spec.NoWait {
		ts.Pods = f.WaitPodsReady(ts.Selector, spec.Replicas, 2*time.Minute)
	}
	return ts
}

// ClientPod starts a pod running `testserver sleep` (a client for get/tcp/udp/lookup/srv/cname
// through InPod) with label role=client and the given extra "key=value" labels, waits until it
// runs, and returns its name.
func (f *F) ClientPod(name string, labels ...string) string {
	f.T.Helper()
	return f.clientPod(name, "", false, labels)
}

// ClientPodOn is ClientPod on the given node (nodeName: "" = anywhere).
func (f *F) ClientPodOn(name, node string, labels ...string) string {
	f.T.Helper()
	return f.clientPod(name, node, false, labels)
}

// HostNetworkClientPodOn is ClientPodOn for a pod in the node's own network namespace (hostNetwork):
// its traffic comes from the node IP, as a process of the node would send it.
func (f *F) HostNetworkClientPodOn(name, node string, labels ...string) string {
	f.T.Helper()
	return f.clientPod(name, node, true, labels)
}

func (f *F) clientPod(name, node string, hostNetwork bool, labels []string) string {
	f.T.Helper()
	l := "role: client"
	for _, kv := range labels {
		k, v, _ := strings.Cut(kv, "=")
		l += fmt.Sprintf(", %q: %q", k, v)
	}
	extra := ""
	if node != "" {
		extra += fmt.Sprintf("\n  nodeName: %q", node)
	}
	if hostNetwork {
		extra += "\n  hostNetwork: true\n  dnsPolicy: ClusterFirstWithHostNet"
	}
	f.Apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels: {%s}
spec:
  terminationGracePeriodSeconds: 0%s
  containers:
  - name: client
    image: %s
    imagePullPolicy: Never
    args: ["sleep"]
`, name, l, extra, TestserverImage))
	f.WaitPodsReady("role=client", f.countClients(), 2*time.Minute)
	return name
}

func (f *F) countClients() int {
	return len(f.Pods("role=client"))
}

// Lookup resolves name from inside pod (the pod's resolv.conf: cluster DNS and search path) and
// returns the sorted addresses. IsNXDOMAIN(err) tells a name that does not exist.
func (f *F) Lookup(pod, name string) ([]string, error) {
	return f.dns(pod, "lookup", name)
}

// SRV returns the SRV records of name as "target port priority weight" lines.
func (f *F) SRV(pod, name string) ([]string, error) {
	return f.dns(pod, "srv", name)
}

// CNAME returns the canonical name of name.
func (f *F) CNAME(pod, name string) (string, error) {
	l, err := f.dns(pod, "cname", name)
	if err != nil || len(l) == 0 {
		return "", err
	}
	return l[0], nil
}

func (f *F) dns(pod, kind, name string) ([]string, error) {
	out, err := f.InPod(pod, kind, name)
	if err != nil {
		return nil, err
	}
	return lines(out), nil
}

// HTTPGet fetches url from inside pod and returns the body (error on non-2xx/3xx answers).
func (f *F) HTTPGet(pod, url string) (string, error) {
	return f.InPod(pod, "get", "-timeout", "5s", url)
}

// CanConnect tells whether pod can open a TCP connection to hostport within timeout.
func (f *F) CanConnect(pod, hostport string, timeout time.Duration) bool {
	_, err := f.InPod(pod, "tcp", "-timeout", timeout.String(), hostport)
	return err == nil
}

// ServiceIP returns the ClusterIP of a Service of the namespace.
func (f *F) ServiceIP(name string) string {
	f.T.Helper()
	s, err := f.Client.CoreV1().Services(f.Namespace).Get(f.Ctx, name, metav1.GetOptions{})
	if err != nil {
		f.T.Fatalf("service %s: %v", name, err)
	}
	return s.Spec.ClusterIP
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

var _ testing.TB = (*testing.T)(nil)
