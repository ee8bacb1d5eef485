// Package framework is the small end-to-end test framework of svc-doctor: it connects to the cluster
// that KUBECONFIG names (the local harness of hack/cluster, or kind), gives every test its own
// namespace, applies YAML, deploys the test server, execs into pods, queries DNS from inside the
// cluster, runs the kubectl-svc_doctor binary, and checks the harness's safety counters.
//
// Tests run only when asked: SVCDOC_E2E=1 and a KUBECONFIG. Every test package starts with
//
//	func TestMain(m *testing.M) { framework.Main(m) }
//
// and every test with
//
//	f := framework.New(t)            // namespace e2e-<test>-xxxxx, deleted at the end of the test
//	f.Apply(`apiVersion: v1 ...`)    // YAML; namespaced objects land in f.Namespace
//	ts := f.DeployTestserver(framework.TestserverSpec{Name: "web", Replicas: 3})
//	out, err := f.InPod(f.ClientPod("client"), "get", "http://web/")
//
// A test that breaks something all tests rely on (scales CoreDNS down, stops kube-proxy...) uses
// framework.NewDisruptive(t) instead: it then runs alone, never alongside other tests.
package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Environment variables.
const (
	// EnvEnable must be "1" for the end-to-end tests to run.
	EnvEnable = "SVCDOC_E2E"
	// EnvStrictDNS=1 also fails the run when any process of the host sent DNS to the host's resolvers
	// while the tests ran (meaningful on a dedicated machine such as CI; a shared one has other tools).
	EnvStrictDNS = "SVCDOC_E2E_STRICT_DNS"
	// EnvTestserverImage and EnvAgentImage override the image references (e.g. for kind).
	EnvTestserverImage = "SVCDOC_TESTSERVER_IMAGE"
	EnvAgentImage      = "SVCDOC_AGENT_IMAGE"
)

// Image references the harness imports (hack/cluster/images.sh).
var (
	TestserverImage = envOr(EnvTestserverImage, "localhost/svc-doctor/testserver:dev")
	AgentImage      = envOr(EnvAgentImage, "ghcr.io/svc-doctor/agent:dev")
)

// ManagedByLabel is the label svc-doctor puts on every pod it creates.
const ManagedByLabel = "app.kubernetes.io/managed-by=svc-doctor"

// Cluster is the cluster under test, set up once by Main.
type Cluster struct {
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface
	// NodeIP is the InternalIP of the first node (10.201.0.1 on the local harness).
	NodeIP string
	// Nodes are the cluster's nodes sorted by name (on the local harness: svcdoc-node, svcdoc-node2...).
	Nodes []Node
	// Harness is true when the cluster is the local harness of hack/cluster (its safety counters work).
	Harness bool
}

var cluster *Cluster

// RepoRoot is the root of the svc-doctor checkout (found from this file's location).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// Main is the TestMain of an end-to-end package. Without SVCDOC_E2E=1 and a KUBECONFIG it prints one
// line and exits 0, so `go test ./...` passes without a cluster. Otherwise it connects, runs the
// tests and finally checks that nothing left the machine while they ran (harness clusters only).
func Main(m *testing.M) {
	if os.Getenv(EnvEnable) != "1" {
		fmt.Printf("e2e: skipped: set %s=1 and KUBECONFIG to a test cluster (hack/e2e.sh does both)\n", EnvEnable)
		os.Exit(0)
	}
	c, err := connect()
	if err != nil {
		fmt.Printf("e2e: FAIL: %v\n", err)
		os.Exit(1)
	}
	cluster = c
	fmt.Printf("e2e: cluster %s (node IP %s, harness %v), images %s %s\n", c.Config.Host, c.NodeIP, c.Harness, TestserverImage, AgentImage)
	for _, n := range c.Nodes {
		fmt.Printf("e2e: node %s: IP %s, pod CIDR %s\n", n.Name, n.IP, n.PodCIDR)
	}
	before, countersOK := Counters()
	code := m.Run()
	if countersOK {
		if err := checkCounters(before); err != nil {
			fmt.Printf("e2e: FAIL: %v\n", err)
			code = 1
		}
	}
	cleanupBinary()
	os.Exit(code)
}

func connect() (*Cluster, error) {
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		return nil, fmt.Errorf("%s=1 but KUBECONFIG is empty (hack/cluster/status.sh kubeconfig prints it)", EnvEnable)
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("KUBECONFIG %s: %w", kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("cluster %s unreachable: %w", cfg.Host, err)
	}
	if len(nodes.Items) == 0 {
		return nil, fmt.Errorf("cluster %s has no node", cfg.Host)
	}
	c := &Cluster{Kubeconfig: kubeconfig, Config: cfg, Client: client, Dynamic: dyn, Nodes: nodesOf(nodes.Items)}
	c.NodeIP = c.Nodes[0].IP
	_, c.Harness = Counters()
	return c, nil
}

// Current returns the cluster under test (only valid inside tests run by Main).
func Current(t testing.TB) *Cluster {
	t.Helper()
	if cluster == nil {
		t.Fatal("framework.Main did not run: add func TestMain(m *testing.M) { framework.Main(m) }")
	}
	return cluster
}

// Counters reads the harness's safety counters (hack/cluster/status.sh counters): DNS queries sent to
// the host's resolvers by the cluster's processes and by any other process, and packets of pods,
// services or the node IP stopped at the uplink. ok is false when they are not available (another
// cluster, not root, harness down).
func Counters() (map[string]int64, bool) {
	script := filepath.Join(RepoRoot(), "hack", "cluster", "status.sh")
	if os.Geteuid() != 0 {
		return nil, false
	}
	if _, err := os.Stat(script); err != nil {
		return nil, false
	}
	out, err := exec.Command("bash", script, "counters").Output()
	if err != nil {
		return nil, false
	}
	m := map[string]int64{}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			m[k] = n
		}
	}
	return m, len(m) > 0
}

func checkCounters(before map[string]int64) error {
	after, ok := Counters()
	if !ok {
		return fmt.Errorf("safety counters unavailable after the run (harness network went down?)")
	}
	d := func(k string) int64 { return after[k] - before[k] }
	fmt.Printf("e2e: safety counters during the run: dns_upstream_cluster +%d, guard_drops +%d, dns_upstream_other +%d\n",
		d("dns_upstream_cluster"), d("guard_drops"), d("dns_upstream_other"))
	var problems []string
	if d("dns_upstream_cluster") != 0 {
		problems = append(problems, fmt.Sprintf("the cluster's processes sent %d DNS queries to the host's resolvers", d("dns_upstream_cluster")))
	}
	if d("guard_drops") != 0 {
		problems = append(problems, fmt.Sprintf("%d packets of the cluster tried to leave through the uplink (dropped)", d("guard_drops")))
	}
	if os.Getenv(EnvStrictDNS) == "1" && d("dns_upstream_other") != 0 {
		problems = append(problems, fmt.Sprintf("%d DNS queries went to the host's resolvers (%s=1)", d("dns_upstream_other"), EnvStrictDNS))
	}
	if len(problems) > 0 {
		return fmt.Errorf("traffic left the machine: %s", strings.Join(problems, "; "))
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
