package dnscheck

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/trace"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func svc(name string, created time.Time, spec corev1.ServiceSpec) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", CreationTimestamp: metav1.NewTime(created)}, Spec: spec}
}

func clusterIP(ip string) corev1.ServiceSpec {
	return corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: ip, ClusterIPs: []string{ip},
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}
}

func clientPod(started time.Time, links *bool) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "client", Namespace: "shop", CreationTimestamp: metav1.NewTime(started)},
		Spec: corev1.PodSpec{EnableServiceLinks: links, Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "app",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(started)}}}}}}
}

func TestExplainEnv(t *testing.T) {
	web := svc("web-api", t0, clusterIP("10.96.0.20"))
	tests := []struct {
		name     string
		svc      *corev1.Service
		pod      *corev1.Pod
		expected bool
		explain  string
	}{
		{name: "pod started after the Service", svc: web, pod: clientPod(t0.Add(time.Minute), nil), expected: true,
			explain: "after service/web-api was created at 2026-05-01T12:00:00Z, with service links enabled: it has WEB_API_SERVICE_HOST=10.96.0.20 and WEB_API_SERVICE_PORT"},
		{name: "pod started before the Service", svc: web, pod: clientPod(t0.Add(-time.Hour), nil),
			explain: "container app started at 2026-05-01T11:00:00Z, before service/web-api was created at 2026-05-01T12:00:00Z: environment variables are fixed when a container starts, so it has no WEB_API_SERVICE_HOST/WEB_API_SERVICE_PORT. It works by DNS (web-api.shop.svc), not by environment variable"},
		{name: "service links disabled", svc: web, pod: clientPod(t0.Add(time.Minute), ptr.To(false)),
			explain: "the pod sets enableServiceLinks: false, so it gets no WEB_API_SERVICE_HOST/WEB_API_SERVICE_PORT: it works by DNS (web-api.shop.svc), not by environment variable"},
		{name: "headless", svc: svc("db", t0, corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone}), pod: clientPod(t0.Add(time.Minute), nil),
			explain: "service/db has no ClusterIP (headless or ExternalName): the kubelet sets no environment variables for it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ExplainEnv(tc.svc, tc.pod)
			if got.Expected != tc.expected || !strings.Contains(got.Explanation, tc.explain) {
				t.Errorf("= %v %q\nwant %v containing %q", got.Expected, got.Explanation, tc.expected, tc.explain)
			}
		})
	}
}

// zoneAgent answers DNS from a zone table and env checks from a list.
type zoneAgent struct {
	zone map[string][]string
	env  []agent.EnvVar
}

func (z *zoneAgent) Run(_ context.Context, req agent.Request) (*agent.Response, error) {
	resp := &agent.Response{APIVersion: agent.APIVersion, Kind: agent.KindCheckResponse}
	for _, c := range req.Checks {
		r := agent.Result{ID: c.ID, Type: c.Type}
		switch c.Type {
		case agent.CheckResolvConf:
			r.ResolvConf = &agent.ResolvConf{Nameservers: []string{"10.96.0.10"}, Search: []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local"}, Ndots: 5}
		case agent.CheckEnv:
			r.Env = &agent.EnvResult{Vars: z.env}
		case agent.CheckDNS:
			name := c.DNS.Name
			if !strings.HasSuffix(name, ".") {
				name = strings.TrimSuffix(name, ".shop") + ".shop.svc.cluster.local."
			}
			qt := c.DNS.QType
			if vals, ok := z.zone[qt+" "+name]; ok {
				r.DNS = &agent.DNSResult{QType: qt, Name: name}
				for _, v := range vals {
					r.DNS.Answers = append(r.DNS.Answers, agent.DNSRecord{Type: qt, Value: v, Port: 80})
				}
			} else {
				r.Failure, r.Detail = agent.FailNXDomain, "NXDOMAIN: "+c.DNS.Name+" does not exist"
			}
		}
		r.OK = r.Failure == ""
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

type zoneProvider struct{ a *zoneAgent }

func (p zoneProvider) Agent(context.Context) (trace.Agent, *trace.Source, error) {
	return p.a, &trace.Source{Description: "helper pod shop/svc-doctor-helper-x", Namespace: "shop"}, nil
}

func TestRun(t *testing.T) {
	healthy := &zoneAgent{zone: map[string][]string{
		"A web.shop.svc.cluster.local.":              {"10.96.0.20"},
		"SRV _http._tcp.web.shop.svc.cluster.local.": {"web.shop.svc.cluster.local."},
	}}
	tests := []struct {
		name    string
		objects []runtime.Object
		agent   *zoneAgent
		from    string
		output  string
		code    int
		golden  string
	}{
		{name: "healthy", objects: []runtime.Object{svc("web", t0, clusterIP("10.96.0.20"))}, agent: healthy, golden: "healthy.txt"},
		{name: "healthy json", objects: []runtime.Object{svc("web", t0, clusterIP("10.96.0.20"))}, agent: healthy, output: "json", golden: "healthy.json"},
		{name: "from a pod created before the Service", objects: []runtime.Object{svc("web", t0, clusterIP("10.96.0.20")), clientPod(t0.Add(-time.Hour), nil)},
			agent: healthy, from: "pod/client", golden: "from-old-pod.txt"},
		{name: "ExternalName target does not resolve", objects: []runtime.Object{svc("pay", t0, corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "pay.example.invalid"})},
			agent: &zoneAgent{zone: map[string][]string{"CNAME pay.shop.svc.cluster.local.": {"pay.example.invalid."}}}, code: 1, golden: "externalname.txt"},
		{name: "no such Service", objects: nil, agent: healthy, code: 1, golden: "missing.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			o := NewOptions(genericiooptions.IOStreams{Out: &out, ErrOut: &errOut})
			o.Client, o.Namespace, o.Now = fake.NewSimpleClientset(tc.objects...), "shop", func() time.Time { return t0 }
			o.Agents = zoneProvider{tc.agent}
			o.Helper.From = tc.from
			if tc.output != "" {
				o.Output = tc.output
			}
			name := "web"
			if tc.name == "ExternalName target does not resolve" {
				name = "pay"
			}
			if err := o.Complete(nil, []string{name}); err != nil {
				t.Fatal(err)
			}
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			err := o.Run(context.Background())
			if got := cmdutil.ExitCode(err); got != tc.code {
				t.Errorf("exit %d (%v), want %d", got, err, tc.code)
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				_ = os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./dnscheck -update)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s (go test ./dnscheck -update):\n%s", path, out.String())
			}
		})
	}
}
