package diagnose

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/trace/tracetest"
)

// costCluster is a fake API server for the cost test: LISTs are paginated by limit and continue
// token as the API server does, created pods start the agent (a kubelet), and every request is
// counted, each exec of the agent included.
type costCluster struct {
	cs    *fake.Clientset
	gw    *gwfake.Clientset
	net   *tracetest.FakeNet
	execs atomic.Int64
}

func newCostCluster(net *tracetest.FakeNet, objs ...runtime.Object) *costCluster {
	c := &costCluster{cs: fake.NewClientset(objs...), gw: gwfake.NewSimpleClientset(), net: net}
	var seq atomic.Int32
	c.cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Name == "" {
			pod.Name = fmt.Sprintf("%s%05d", pod.GenerateName, seq.Add(1))
		}
		pod.UID = types.UID("uid-" + pod.Name)
		if pod.Spec.NodeName == "" { // pinned helpers (per-node checks) keep their node
			pod.Spec.NodeName = "node-1"
		}
		pod.Status.Phase = corev1.PodRunning
		pod.Status.PodIP = "10.244.0.99"
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: helper.ContainerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		return false, nil, nil
	})
	tracker := c.cs.Tracker()
	c.cs.PrependReactor("list", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		handled, obj, err := k8stesting.ObjectReaction(tracker)(a)
		if !handled || err != nil {
			return handled, obj, err
		}
		return true, page(obj, a.(k8stesting.ListActionImpl).ListOptions), nil
	})
	return c
}

// page cuts a list to the page that opts ask for (limit, continue = offset).
func page(obj runtime.Object, opts metav1.ListOptions) runtime.Object {
	items, err := meta.ExtractList(obj)
	if err != nil || opts.Limit <= 0 {
		return obj
	}
	from, _ := strconv.Atoi(opts.Continue)
	to := min(from+int(opts.Limit), len(items))
	out := obj.DeepCopyObject()
	_ = meta.SetList(out, items[from:to])
	if to < len(items) {
		if l, err := meta.ListAccessor(out); err == nil {
			l.SetContinue(strconv.Itoa(to))
		}
	}
	return out
}

// exec runs the agent's command against the fake network, as the pods/exec subresource would.
func (c *costCluster) exec(ctx context.Context, _ *helper.Helper, _ []string, stdin io.Reader, stdout, _ io.Writer) error {
	c.execs.Add(1)
	var req agent.Request
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		return err
	}
	resp, err := c.net.Run(ctx, req)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(resp)
}

// diagnose runs `diagnose svc/web` with the real helper pod lifecycle and returns the number of
// API requests and the exit code.
func (c *costCluster) diagnose(t *testing.T, setup ...func(*Options)) (int, int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	o := NewOptions(genericiooptions.IOStreams{Out: &out, ErrOut: &errOut})
	o.Client, o.Config, o.Namespace, o.Name = c.cs, &rest.Config{Host: "https://127.0.0.1:1"}, tracetest.TestNS, "web"
	o.Gateway = c.gw
	o.Now, o.HelperExec = tracetest.FixedClock, c.exec
	o.Helper.Image = "localhost/svc-doctor/agent:test"
	for _, s := range setup {
		s(o)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	err := o.Run(context.Background())
	return len(c.cs.Actions()) + len(c.gw.Actions()) + int(c.execs.Load()), cmdutil.ExitCode(err), out.String() + errOut.String()
}

// costObjects is namespace shop with Service web selecting pods pods, plus others unrelated pods,
// policies NetworkPolicies that select none of them and ingresses TLS Ingresses.
func costObjects(pods, others, policies, ingresses int, opts ...tracetest.PodOpt) ([]runtime.Object, *tracetest.FakeNet) {
	objs := []runtime.Object{tracetest.Namespace(tracetest.TestNS), tracetest.Service("web")}
	var eps []tracetest.SliceEP
	for i := range pods {
		name, ip := fmt.Sprintf("web-%d", i), fmt.Sprintf("10.244.%d.%d", 1+i/250, 1+i%250)
		objs = append(objs, tracetest.Pod(name, "web", ip, opts...))
		eps = append(eps, tracetest.SliceEP{IP: ip, Pod: name, Ready: len(opts) == 0})
	}
	objs = append(objs, tracetest.Slice("web", eps...))
	for i := range others {
		objs = append(objs, tracetest.Pod(fmt.Sprintf("other-%d", i), "other", fmt.Sprintf("10.245.%d.%d", 1+i/250, 1+i%250)))
	}
	for i := range policies {
		objs = append(objs, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%d", i), Namespace: tracetest.TestNS},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}}})
	}
	for i := range ingresses {
		objs = append(objs, tracetest.TLSIngress(fmt.Sprintf("ing-%d", i), fmt.Sprintf("tls-%d", i)))
	}
	n := tracetest.NewNet()
	tracetest.HealthyZone(n, "web", "10.96.0.20")
	return objs, n
}

// TestDiagnosisCost counts every API request of one diagnosis, the helper pod's creation, watch,
// the agent's execs and its deletion included, on every read path: it stays at most 12 (10 for the
// trace, plus one LIST of Ingresses and one of HTTPRoutes of the namespace for the routes that send
// traffic to the Service), does not
// grow with the objects of the namespace (pods, policies, Ingresses), and grows only by the pages
// of a LIST longer than one page, never by a request per object.
func TestDiagnosisCost(t *testing.T) {
	const max = 10
	notReady := func() ([]runtime.Object, *tracetest.FakeNet) {
		objs, n := costObjects(2, 0, 0, 0, tracetest.NotReady())
		return append(objs, tracetest.Unhealthy("web-0", "Readiness probe failed: HTTP probe failed with statuscode: 503")), n
	}
	tests := []struct {
		name     string
		cluster  func() ([]runtime.Object, *tracetest.FakeNet)
		wantCode int
		// sameAs names a case that must cost exactly as much; extraPages what it adds on top
		sameAs     string
		extraPages int
		// beyond are the requests allowed on top of the budget, each once: the reads that find
		// the replicas a workload scaled to 0 had (only then), for the fix that restores them; the
		// node LIST of a NodePort Service (the node ports are tested on every node); the GET of
		// the namespace whose labels a namespaceSelector asks about
		beyond []string
		// outHas is in the report when the case reads what it says it reads
		outHas string
	}{
		{name: "healthy, 2 pods", cluster: func() ([]runtime.Object, *tracetest.FakeNet) { return costObjects(2, 0, 0, 0) }},
		{name: "healthy, 400 pods", cluster: func() ([]runtime.Object, *tracetest.FakeNet) { return costObjects(400, 0, 0, 0) }, sameAs: "healthy, 2 pods"},
		{name: "healthy, 400 other pods, policies and TLS Ingresses", cluster: func() ([]runtime.Object, *tracetest.FakeNet) { return costObjects(2, 400, 400, 400) },
			sameAs: "healthy, 2 pods"},
		{name: "1,200 pods: two more pages", cluster: func() ([]runtime.Object, *tracetest.FakeNet) { return costObjects(1200, 0, 0, 0) },
			sameAs: "healthy, 2 pods", extraPages: 2},
		{name: "1,200 policies: two more pages", cluster: func() ([]runtime.Object, *tracetest.FakeNet) { return costObjects(2, 0, 1200, 0) },
			sameAs: "healthy, 2 pods", extraPages: 2},
		{name: "pods not ready: the probe events are read", cluster: notReady, wantCode: 1},
		{name: "NodePort: the nodes are read, node ports tested", cluster: func() ([]runtime.Object, *tracetest.FakeNet) {
			objs, n := costObjects(2, 0, 0, 0)
			objs[1] = tracetest.Service("web", tracetest.NodePort(30080, true))
			return append(objs, tracetest.Node("node-1", "10.201.0.1")), n
		}, beyond: []string{"list nodes"}},
		{name: "policies with namespaceSelectors on a team label: the namespace labels are read", cluster: func() ([]runtime.Object, *tracetest.FakeNet) {
			return costWithNamespacePolicy(&metav1.LabelSelector{MatchLabels: map[string]string{"team": "shop"}})
		}, beyond: []string{"get namespaces"}},
		{name: "policies with namespaceSelectors on every namespace or the name: no namespace read", cluster: func() ([]runtime.Object, *tracetest.FakeNet) {
			return costWithNamespacePolicy(&metav1.LabelSelector{}, &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "tools"}})
		}, sameAs: "healthy, 2 pods"},
		{name: "pods restart: the Unhealthy and the Killing events are read", cluster: func() ([]runtime.Object, *tracetest.FakeNet) {
			objs, n := costObjects(2, 0, 0, 0, tracetest.Liveness("/healthz"), tracetest.Restarted(3, time.Minute, 137, "Error"))
			return append(objs, tracetest.ProbeFailed("web-0", "Liveness probe failed: HTTP probe failed with statuscode: 500"), tracetest.Killing("web-0", "liveness")), n
		}, wantCode: 1, outHas: "statuscode: 500"},
		{name: "StatefulSet OrderedReady blocked: the StatefulSet is read", cluster: func() ([]runtime.Object, *tracetest.FakeNet) {
			objs, n := costObjects(0, 0, 0, 0)
			objs[1] = tracetest.Service("web", tracetest.Headless())
			return append(objs, tracetest.StatefulSet("web", 3, "", "web"), tracetest.StatefulSetPod("web-0", "web", "10.244.1.1", tracetest.NotReady()),
				tracetest.Unhealthy("web-0", "Readiness probe failed: HTTP probe failed with statuscode: 503")), n
		}, wantCode: 1, outHas: "podManagementPolicy OrderedReady waits for web-0"},
		// CoreDNS at 0: the deployment controller's scaling events say how many replicas it had
		// (one LIST); without such an event (they expire after an hour) its ReplicaSets (one more)
		{name: "DNS down: the cluster DNS is read", cluster: func() ([]runtime.Object, *tracetest.FakeNet) {
			objs, n := costObjects(2, 0, 0, 0)
			n.DNSDown = agent.FailTimeout
			return append(objs, tracetest.KubeDNS(false, 0)...), n
		}, wantCode: 1, beyond: []string{"list events", "list replicasets"}},
		{name: "DNS down, CoreDNS scaled to 0 an hour ago at most: its scaling event", cluster: func() ([]runtime.Object, *tracetest.FakeNet) {
			objs, n := costObjects(2, 0, 0, 0)
			n.DNSDown = agent.FailTimeout
			ev := tracetest.WorkloadEvent("Deployment", "coredns", "ScalingReplicaSet", "Scaled down replica set coredns-5d78c9869d from 2 to 0", 10*time.Minute)
			ev.Namespace, ev.InvolvedObject.Namespace = "kube-system", "kube-system"
			return append(append(objs, tracetest.KubeDNS(false, 0)...), ev), n
		}, wantCode: 1, beyond: []string{"list events"}, outHas: "--replicas=2"},
		{name: "selector matches nothing: near misses, no helper", cluster: func() ([]runtime.Object, *tracetest.FakeNet) {
			objs, n := costObjects(0, 3, 0, 0)
			return append(objs, tracetest.Deployment("other", 3)), n
		}, wantCode: 1},
	}
	costs := map[string]int{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, n := tc.cluster()
			c := newCostCluster(n, objs...)
			got, code, out := c.diagnose(t)
			costs[tc.name] = got
			t.Logf("%d API requests (%d execs of the agent)", got, c.execs.Load())
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d\n%s", code, tc.wantCode, out)
			}
			// the routes to the Service are looked for when it does not fail
			if listsRoutes := strings.Contains(actions(c.cs), "list ingresses"); listsRoutes != (code != 1) {
				t.Errorf("exit code %d and the Ingresses listed: %v, want them listed only when the Service does not fail", code, listsRoutes)
			}
			// the network hops (DNS, connectivity, node ports) send their checks in one request
			if e := c.execs.Load(); e > 1 {
				t.Errorf("%d execs of the agent, want at most 1", e)
			}
			if tc.sameAs != "" {
				if want := costs[tc.sameAs] + tc.extraPages; got != want {
					t.Errorf("%d API requests, want %d (%q costs %d, plus %d pages)\n%s", got, want, tc.sameAs, costs[tc.sameAs], tc.extraPages, actions(c.cs))
				}
				return
			}
			if !strings.Contains(out, tc.outHas) {
				t.Errorf("the report does not say %q\n%s", tc.outHas, out)
			}
			for _, b := range tc.beyond {
				if n := strings.Count(actions(c.cs), "  "+b+" \n"); n != 1 {
					t.Errorf("%d %q requests, want 1\n%s", n, b, actions(c.cs))
				}
			}
			if got-len(tc.beyond) > max {
				t.Errorf("%d API requests (%d beyond the budget: %s), want at most %d\n%s", got, len(tc.beyond), strings.Join(tc.beyond, ", "), max, actions(c.cs))
			}
			if pods, _ := c.cs.CoreV1().Pods(tracetest.TestNS).List(context.Background(), metav1.ListOptions{LabelSelector: helper.LabelName + "=" + helper.NameValue}); len(pods.Items) != 0 {
				t.Errorf("the helper pod was left behind")
			}
		})
	}
}

// costWithNamespacePolicy is the healthy cluster with a NetworkPolicy on the backends that admits
// the pods of the namespaces each selector selects.
func costWithNamespacePolicy(sels ...*metav1.LabelSelector) ([]runtime.Object, *tracetest.FakeNet) {
	objs, n := costObjects(2, 0, 0, 0)
	var from []networkingv1.NetworkPolicyPeer
	for _, sel := range sels {
		from = append(from, networkingv1.NetworkPolicyPeer{NamespaceSelector: sel})
	}
	return append(objs, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "from-namespaces", Namespace: tracetest.TestNS},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: from}}}}), n
}

func actions(cs *fake.Clientset) string {
	var b bytes.Buffer
	for _, a := range cs.Actions() {
		fmt.Fprintf(&b, "  %s %s %s\n", a.GetVerb(), a.GetResource().Resource, a.GetSubresource())
	}
	return b.String()
}
