package expose

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/manifest"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testNow is the clock of every test: the fixture certificate is valid from 2025 to 2125.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// neighbours decodes testdata/neighbours.yaml and adds, for every workload, ready pods made from
// its template (named <workload>-0, -1, ...), as a cluster would have them.
func neighbours(t *testing.T) []runtime.Object {
	t.Helper()
	data := readFixture(t, "neighbours.yaml")
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []runtime.Object
	ip := 10
	addPods := func(name string, replicas int32, tmpl corev1.PodTemplateSpec) {
		for i := range replicas {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, i), Namespace: "shop", Labels: tmpl.Labels},
				Spec: tmpl.Spec, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.244.0.%d", ip),
					Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
			ip++
			out = append(out, p)
		}
	}
	for {
		var raw runtime.RawExtension
		if err := dec.Decode(&raw); err != nil {
			break
		}
		if len(bytes.TrimSpace(raw.Raw)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw.Raw, nil, nil)
		if err != nil {
			t.Fatalf("neighbours.yaml: %v", err)
		}
		out = append(out, obj)
		switch w := obj.(type) {
		case *appsv1.Deployment:
			addPods(w.Name, *w.Spec.Replicas, w.Spec.Template)
		case *appsv1.StatefulSet:
			addPods(w.Name, *w.Spec.Replicas, w.Spec.Template)
		}
	}
	return out
}

// runResult is one run of the command.
type runResult struct {
	stdout, stderr string
	err            error
}

func (r runResult) code() int { return cmdutil.ExitCode(r.err) }

// run runs `expose ARGS...` against cs in namespace shop.
func run(t *testing.T, cs *fake.Clientset, args ...string) runResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	o := NewOptions(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr})
	o.Kube, o.Namespace = cs, "shop"
	o.Now = func() time.Time { return testNow }
	o.Settle = 50 * time.Millisecond
	cmd := newCmd(o, nil)
	cmd.SetArgs(args)
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return runResult{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// goldenCases are the --dry-run=client outputs kept in testdata/golden-<name>.yaml|json.
var goldenCases = []struct {
	name string
	args []string
}{
	{name: "clusterip", args: []string{"deploy/web"}},
	{name: "nodeport-multiport", args: []string{"deployment", "web", "--port", "80:http,9090", "--type", "NodePort", "--node-port", "30080,0",
		"--external-traffic-policy", "Local", "--session-affinity", "ClientIP", "--session-affinity-timeout", "1h", "--labels", "tier=front"}},
	{name: "loadbalancer", args: []string{"deploy/web", "--name", "web-lb", "--port", "https=443:http", "--type", "LoadBalancer"}},
	{name: "headless", args: []string{"sts/db", "--headless", "--publish-not-ready-addresses"}},
	{name: "external", args: []string{"external", "legacy-db", "--address", "10.0.12.7,10.0.12.8", "--address", "2001:db8::7", "--port", "pg=5432", "--legacy-endpoints"}},
	{name: "externalname", args: []string{"externalname", "payments", "--to", "api.payments.example.com", "--port", "https=443"}},
	{name: "ingress-tls", args: []string{"ingress", "shop", "--class", "traefik", "--rule", "shop.example.com/api*=api:http",
		"--rule", "shop.example.com/=storefront:80", "--rule", "*.shop.example.com/=storefront:http", "--path-type", "Exact",
		"--tls", "shop.example.com,*.shop.example.com=shop-tls", "--cert", "testdata/shop.crt", "--key", "testdata/shop.key"}},
}

func goldenPath(name, format string) string {
	return filepath.Join("testdata", "golden-"+name+"."+format)
}

func TestGoldenDryRunClient(t *testing.T) {
	for _, tc := range goldenCases {
		for _, format := range []string{OutputYAML, OutputJSON} {
			if format == OutputJSON && tc.name != "external" {
				continue // one JSON case (a List) is enough
			}
			t.Run(tc.name+"-"+format, func(t *testing.T) {
				cs := fake.NewClientset(neighbours(t)...)
				res := run(t, cs, append(tc.args, "--dry-run=client", "-o", format)...)
				if res.err != nil {
					t.Fatalf("exit %d: %v\nstderr:\n%s", res.code(), res.err, res.stderr)
				}
				path := goldenPath(tc.name, format)
				if *update {
					if err := os.WriteFile(path, []byte(res.stdout), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./expose -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), res.stdout); diff != "" {
					t.Errorf("%s (-want +got), refresh with -update:\n%s", path, diff)
				}
				if !strings.Contains(res.stderr, "checked ") || !strings.Contains(res.stderr, " 0 errors, 0 warnings") {
					t.Errorf("stderr does not report a clean check:\n%s", res.stderr)
				}
				for _, a := range cs.Actions() { // a client dry run only reads
					if v := a.GetVerb(); v != "get" && v != "list" {
						t.Errorf("client dry run sent %s %s", v, a.GetResource().Resource)
					}
				}
			})
		}
	}
}

// TestGoldenLintsClean lints every golden YAML with the project's linter, next to the neighbours
// it was generated against, and decodes it strictly into the Kubernetes types.
func TestGoldenLintsClean(t *testing.T) {
	neigh := manifest.Parse("testdata/neighbours.yaml", readFixture(t, "neighbours.yaml"))
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			path := goldenPath(tc.name, OutputYAML)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			res := manifest.Parse(path, data)
			if len(res.Problems) > 0 {
				t.Fatalf("problems reading %s: %+v", path, res.Problems)
			}
			all := &manifest.Result{Objects: append(append([]*manifest.Object(nil), neigh.Objects...), res.Objects...)}
			snap := snapshot.FromManifests(all, "shop")
			cfg := rules.DefaultConfig()
			cfg.Now = testNow
			out, err := rules.Run(snap, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range out.Findings {
				if f.Location == nil || f.Location.File != path {
					continue
				}
				if f.Severity >= report.Warning {
					t.Errorf("%s: %s %s: %s", f.Location, f.Severity, f.Rule, f.Message)
				} else {
					t.Logf("%s: info %s: %s", f.Location, f.Rule, f.Message)
				}
			}
			for _, doc := range strings.Split(string(data), "\n---\n") {
				var tm metav1.TypeMeta
				if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
					t.Fatal(err)
				}
				var target any
				switch tm.Kind {
				case "Service":
					target = &corev1.Service{}
				case "Endpoints":
					target = &corev1.Endpoints{}
				case "Secret":
					target = &corev1.Secret{}
				case "EndpointSlice":
					target = &discoveryv1.EndpointSlice{}
				case "Ingress":
					target = &networkingv1.Ingress{}
				default:
					t.Fatalf("unexpected kind %q in %s", tm.Kind, path)
				}
				if err := yaml.UnmarshalStrict([]byte(doc), target); err != nil {
					t.Errorf("%s: %s does not decode strictly: %v", path, tm.Kind, err)
				}
			}
		})
	}
}

func TestRefusedRequestsCreateNothing(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr []string
		wantErr    string
	}{
		{
			name:     "target port that no container defines",
			args:     []string{"deploy/web", "--port", "80:web"},
			wantCode: 1,
			wantStderr: []string{
				`error: service/web spec.ports[0].targetPort: targetPort "web" of port port-80 (80/TCP) is not a port of pod/web-0 (declared: http 8080/TCP, metrics 9090/TCP): its pods get no endpoint for this port [service-target-port-unresolved]`,
				"  fix: Name the container port exactly like the Service's targetPort",
			},
			wantErr: "nothing was created: the checks found 2 errors (above); fix them, or pass --force to create anyway",
		},
		{
			name:       "numeric target port no container declares",
			args:       []string{"deploy/web", "--port", "80:8081"},
			wantCode:   1,
			wantStderr: []string{"error: service/web spec.ports[0].targetPort: targetPort 8081 of port port-80 (80/TCP) is not declared by pod/web-0, pod/web-1", "expose refuses a target port that none of the selected containers declares"},
			wantErr:    "nothing was created: the checks found 1 error (above)",
		},
		{
			name:       "selector that matches no pod",
			args:       []string{"deploy/web", "--selector", "app=shop"},
			wantCode:   1,
			wantStderr: []string{"error: service/web spec.selector: selector app=shop matches no pod in namespace shop, so the Service has no endpoints; near misses: pod/db-0 has app=db; pod/web-0 has app=web; pod/web-1 has app=web [service-selector-no-match]"},
			wantErr:    "nothing was created",
		},
		{
			name:       "backend Service missing",
			args:       []string{"ingress", "shop", "--rule", "shop.example.com/=catalog:80"},
			wantCode:   1,
			wantStderr: []string{"error: ingress/shop spec.rules[0].http.paths[0].backend.service.name: backend service catalog does not exist in namespace shop [ingress-backend-service-missing]"},
			wantErr:    "nothing was created",
		},
		{
			name:       "backend port the Service does not have",
			args:       []string{"ingress", "shop", "--rule", "shop.example.com/=api:8080"},
			wantCode:   1,
			wantStderr: []string{"error: ingress/shop spec.rules[0].http.paths[0].backend.service.port: service/api has no port 8080 (it has port http (80/TCP)) [ingress-backend-port-missing]"},
			wantErr:    "nothing was created",
		},
		{
			name:       "certificate that does not cover the host",
			args:       []string{"ingress", "shop", "--rule", "www.example.org/=api:80", "--cert", "testdata/shop.crt", "--key", "testdata/shop.key"},
			wantCode:   1,
			wantStderr: []string{"error: ingress/shop spec.tls[0].hosts[0]: certificate in Secret shop-tls does not cover www.example.org: it has subjectAltNames shop.example.com, *.shop.example.com [tls-cert-host-mismatch]"},
			wantErr:    "nothing was created",
		},
		{
			name:       "NodePort out of range",
			args:       []string{"deploy/web", "--port", "80:http", "--type", "NodePort", "--node-port", "40000"},
			wantCode:   1,
			wantStderr: []string{"error: service/web spec.ports[0].nodePort: nodePort 40000 is outside the node port range 30000-32767 [service-node-port-invalid]"},
			wantErr:    "nothing was created",
		},
		{
			name:     "ExternalName given an IP",
			args:     []string{"externalname", "pay", "--to", "192.0.2.10"},
			wantCode: 2,
			wantErr:  "--to 192.0.2.10 is an IP address, and an ExternalName Service is only a DNS CNAME record",
		},
		{
			name:     "workload that does not exist",
			args:     []string{"deploy/nope"},
			wantCode: 2,
			wantErr:  "deployment/nope not found in namespace shop (check the name, or pass -n NAMESPACE)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(neighbours(t)...)
			res := run(t, cs, tt.args...)
			if res.code() != tt.wantCode || res.err == nil || !strings.Contains(res.err.Error(), tt.wantErr) {
				t.Fatalf("exit %d, error %v; want exit %d with %q\nstderr:\n%s", res.code(), res.err, tt.wantCode, tt.wantErr, res.stderr)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, res.stderr)
				}
			}
			for _, a := range cs.Actions() {
				if v := a.GetVerb(); v != "get" && v != "list" {
					t.Errorf("a refused request sent %s %s", v, a.GetResource().Resource)
				}
			}
		})
	}
}

func TestForceAppliesDespiteErrors(t *testing.T) {
	cs := fake.NewClientset(neighbours(t)...)
	res := run(t, cs, "deploy/web", "--port", "80:web", "--force", "--wait=false")
	if res.err != nil {
		t.Fatalf("%v\n%s", res.err, res.stderr)
	}
	if !strings.Contains(res.stderr, "warning: --force: applying despite 2 errors") || res.stdout != "service/web serverside-applied\n" {
		t.Errorf("stdout %q stderr:\n%s", res.stdout, res.stderr)
	}
	if _, err := cs.CoreV1().Services("shop").Get(context.Background(), "web", metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "no argument", args: nil, wantErr: "expose takes one workload, as TYPE/NAME or TYPE NAME (e.g. deploy/web), or a subcommand: external, externalname, ingress"},
		{name: "unknown kind", args: []string{"svc/web"}, wantErr: `cannot expose a "svc": expose deployments (deploy), replicasets (rs), statefulsets (sts), replicationcontrollers (rc) or pods (po)`},
		{name: "bare name", args: []string{"web"}, wantErr: `"web": name the workload as TYPE/NAME or TYPE NAME, e.g. deploy/web`},
		{name: "bad dry-run", args: []string{"deploy/web", "--dry-run=maybe"}, wantErr: `--dry-run "maybe": use none, client or server`},
		{name: "bad output", args: []string{"deploy/web", "-o", "wide"}, wantErr: `--output "wide" is not supported: use yaml or json`},
		{name: "bad type", args: []string{"deploy/web", "--type", "Ingress"}, wantErr: `--type "Ingress": use ClusterIP, NodePort or LoadBalancer`},
		{name: "headless NodePort", args: []string{"deploy/web", "--headless", "--type", "NodePort"}, wantErr: "--headless cannot be combined with --type NodePort"},
		{name: "node port on ClusterIP", args: []string{"deploy/web", "--node-port", "30080"}, wantErr: "--node-port needs --type NodePort or LoadBalancer (a ClusterIP Service has no node ports)"},
		{name: "traffic policy on ClusterIP", args: []string{"deploy/web", "--external-traffic-policy", "Local"}, wantErr: "--external-traffic-policy applies to traffic from outside the cluster: it needs --type NodePort or LoadBalancer"},
		{name: "affinity timeout beyond int32", args: []string{"deploy/web", "--session-affinity", "ClientIP", "--session-affinity-timeout", "4294967297"}, wantErr: "the timeout must be between 1s and 24h (86400 seconds)"},
		{name: "affinity timeout beyond a day", args: []string{"deploy/web", "--session-affinity", "ClientIP", "--session-affinity-timeout", "1000000h"}, wantErr: "the timeout must be between 1s and 24h (86400 seconds)"},
		{name: "affinity timeout zero", args: []string{"deploy/web", "--session-affinity", "ClientIP", "--session-affinity-timeout", "0"}, wantErr: "the timeout must be between 1s and 24h"},
		{name: "affinity timeout without affinity", args: []string{"deploy/web", "--session-affinity-timeout", "1h"}, wantErr: "--session-affinity-timeout needs --session-affinity ClientIP"},
		{name: "cookie affinity", args: []string{"deploy/web", "--session-affinity", "Cookie"}, wantErr: `--session-affinity "Cookie": use None or ClientIP (a Service has no cookie affinity: that is an Ingress controller feature)`},
		{name: "target ports do not match ports", args: []string{"deploy/web", "--port", "80,443", "--target-port", "http"}, wantErr: "--target-port gives 1 target for 2 --port values: give one per port, in the same order (or write --port PORT:TARGET)"},
		{name: "target twice", args: []string{"deploy/web", "--port", "80:http", "--target-port", "http"}, wantErr: "--port 80:http already names its target: drop --target-port or the :TARGET part"},
		{name: "set-based selector", args: []string{"deploy/web", "--selector", "app in (web)"}, wantErr: `--selector "app in (web)": a Service selector is KEY=VALUE[,KEY=VALUE] (equality only)`},
		{name: "external without address", args: []string{"external", "db", "--port", "5432"}, wantErr: "--address is required: the IP address(es) the Service sends its traffic to"},
		{name: "external without port", args: []string{"external", "db", "--address", "10.0.0.1"}, wantErr: "--port is required"},
		{name: "external two names", args: []string{"external", "a", "b"}, wantErr: "expose external takes one argument, the name of the object to create; got 2"},
		{name: "cert without key", args: []string{"ingress", "shop", "--rule", "/=api:80", "--cert", "testdata/shop.crt"}, wantErr: "--cert and --key go together: the certificate chain and its private key"},
		{name: "swapped cert and key", args: []string{"ingress", "shop", "--rule", "a.example.com/=api:80", "--cert", "testdata/shop.key", "--key", "testdata/shop.crt"}, wantErr: "--cert/--key do not load as a TLS pair"},
		{name: "cert with two TLS entries", args: []string{"ingress", "shop", "--rule", "a.example.com/=api:80", "--tls", "a.example.com=a", "--tls", "b.example.com=b", "--cert", "testdata/shop.crt", "--key", "testdata/shop.key"}, wantErr: "--cert/--key fill one Secret, but 2 --tls entries are given"},
		{name: "bad path type", args: []string{"ingress", "shop", "--rule", "/=api:80", "--path-type", "Regex"}, wantErr: `--path-type "Regex": use Prefix or Exact (or ImplementationSpecific)`},
		{name: "bad wait", args: []string{"deploy/web", "--wait=soon"}, wantErr: `invalid argument "soon" for "--wait" flag: "soon": use --wait, --wait=false or --wait=TIMEOUT such as --wait=90s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(neighbours(t)...)
			res := run(t, cs, tt.args...)
			if res.err == nil || !strings.Contains(res.err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", res.err, tt.wantErr)
			}
			if c := res.code(); c != cmdutil.ExitUsage && !strings.Contains(tt.wantErr, "flag") {
				t.Errorf("exit code %d, want %d", c, cmdutil.ExitUsage)
			}
			if len(cs.Actions()) > 0 && tt.args != nil && tt.args[0] != "deploy/web" {
				t.Errorf("a usage error contacted the cluster: %v", cs.Actions())
			}
		})
	}
}

// readySlice is the EndpointSlice the endpoint controller would write for service web.
func readySlice(service string, ready ...bool) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: service + "-abcde", Namespace: "shop",
		Labels: map[string]string{discoveryv1.LabelServiceName: service, discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080)), Protocol: ptr(corev1.ProtocolTCP)}}}
	for i, r := range ready {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.244.0.%d", 10+i)},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr(r)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: fmt.Sprintf("web-%d", i)}})
	}
	return es
}

func TestApplyIsIdempotentAndReportsEndpoints(t *testing.T) {
	cs := fake.NewClientset(append(neighbours(t), readySlice("web", true, true))...)
	first := run(t, cs, "deploy/web", "--port", "80:http")
	if first.err != nil {
		t.Fatalf("%v\n%s", first.err, first.stderr)
	}
	want := "service/web serverside-applied\nservice/web: 2/2 endpoints ready after "
	if !strings.HasPrefix(first.stdout, want) {
		t.Errorf("stdout %q, want it to start with %q", first.stdout, want)
	}
	svc1, err := cs.CoreV1().Services("shop").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second := run(t, cs, "deploy/web", "--port", "80:http")
	if second.err != nil {
		t.Fatalf("rerun: %v\n%s", second.err, second.stderr)
	}
	svc2, _ := cs.CoreV1().Services("shop").Get(context.Background(), "web", metav1.GetOptions{})
	if diff := cmp.Diff(svc1.Spec, svc2.Spec); diff != "" {
		t.Errorf("rerun changed the Service (-first +second):\n%s", diff)
	}
	if svc2.ManagedFields == nil || svc2.ManagedFields[0].Manager != DefaultFieldManager {
		t.Errorf("managed fields %+v, want manager %s", svc2.ManagedFields, DefaultFieldManager)
	}
}

func TestExternalRerunPrunesSlices(t *testing.T) {
	cs := fake.NewClientset(neighbours(t)...)
	if res := run(t, cs, "external", "db", "--address", "10.0.0.7,2001:db8::7", "--port", "5432"); res.err != nil {
		t.Fatalf("%v\n%s", res.err, res.stderr)
	}
	l, _ := cs.DiscoveryV1().EndpointSlices("shop").List(context.Background(), metav1.ListOptions{})
	if len(l.Items) != 2 {
		t.Fatalf("%d slices after the first run, want 2", len(l.Items))
	}
	res := run(t, cs, "external", "db", "--address", "10.0.0.8", "--port", "5432")
	if res.err != nil {
		t.Fatalf("%v\n%s", res.err, res.stderr)
	}
	if want := "service/db serverside-applied\nendpointslice/db-ipv4 serverside-applied\nendpointslice/db-ipv6 deleted (no longer in --address)\n"; res.stdout != want {
		t.Errorf("stdout %q, want %q", res.stdout, want)
	}
	v4, err := cs.DiscoveryV1().EndpointSlices("shop").Get(context.Background(), "db-ipv4", metav1.GetOptions{})
	if err != nil || len(v4.Endpoints) != 1 || v4.Endpoints[0].Addresses[0] != "10.0.0.8" {
		t.Errorf("db-ipv4 = %+v %v", v4, err)
	}
	if _, err := cs.DiscoveryV1().EndpointSlices("shop").Get(context.Background(), "db-ipv6", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("db-ipv6 still there: %v", err)
	}
}

func TestAfterCheckTimeoutPointsAtDiagnose(t *testing.T) {
	cs := fake.NewClientset(neighbours(t)...)
	res := run(t, cs, "deploy/web", "--port", "80:http", "--wait=300ms")
	if res.code() != 1 {
		t.Fatalf("exit %d (%v), want 1\n%s", res.code(), res.err, res.stderr)
	}
	for _, w := range []string{"service/web: 0/0 endpoints ready after ", ": no EndpointSlice lists an endpoint for its ports\n",
		"diagnosis: fault at hop endpoints: no EndpointSlice labelled kubernetes.io/service-name=web, though 2 pods are ready",
		"for the full trace (DNS and traffic from inside the cluster), run: kubectl svc-doctor diagnose svc/web -n shop\n"} {
		if !strings.Contains(res.stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, res.stdout)
		}
	}
}

func TestAfterCheckWithoutDiagnosis(t *testing.T) {
	cs := fake.NewClientset(neighbours(t)...)
	var stdout, stderr bytes.Buffer
	o := NewOptions(genericiooptions.IOStreams{Out: &stdout, ErrOut: &stderr})
	o.Kube, o.Namespace, o.Now = cs, "shop", func() time.Time { return testNow }
	o.Diagnose = func(context.Context, string, string) (string, error) { return "", fmt.Errorf("forbidden") }
	cmd := newCmd(o, nil)
	cmd.SetArgs([]string{"deploy/web", "--port", "80:http", "--wait=100ms"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.ExecuteContext(context.Background()); cmdutil.ExitCode(err) != 1 {
		t.Fatalf("err %v", err)
	}
	if !strings.HasSuffix(stdout.String(), "to find out why, run: kubectl svc-doctor diagnose svc/web -n shop\n") ||
		!strings.Contains(stderr.String(), "warning: the diagnosis of service/web could not run: forbidden") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

func TestAfterCheckRunsDiagnosis(t *testing.T) {
	cs := fake.NewClientset(append(neighbours(t), readySlice("web", false))...)
	var stdout, stderr bytes.Buffer
	o := NewOptions(genericiooptions.IOStreams{Out: &stdout, ErrOut: &stderr})
	o.Kube, o.Namespace, o.Now = cs, "shop", func() time.Time { return testNow }
	o.Diagnose = func(_ context.Context, ns, svc string) (string, error) {
		return "verdict: " + ns + "/" + svc + " pods fail their readiness probe", nil
	}
	cmd := newCmd(o, nil)
	cmd.SetArgs([]string{"deploy/web", "--port", "80:http", "--wait=200ms"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	if cmdutil.ExitCode(err) != 1 {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(stdout.String(), "service/web: 0/1 endpoints ready after") || !strings.Contains(stdout.String(), "(not ready: pod/web-0 (10.244.0.10))") ||
		!strings.Contains(stdout.String(), "verdict: shop/web pods fail their readiness probe") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

func TestDryRunServerAndOutput(t *testing.T) {
	cs := fake.NewClientset(neighbours(t)...)
	res := run(t, cs, "externalname", "pay", "--to", "api.example.com", "--dry-run=server")
	if res.err != nil || res.stdout != "service/pay serverside-applied (server dry run)\n" {
		t.Errorf("stdout %q err %v", res.stdout, res.err)
	}
	res = run(t, cs, "externalname", "pay", "--to", "api.example.com", "-o", "yaml")
	if res.err != nil || !strings.HasPrefix(res.stdout, "apiVersion: v1\nkind: Service\n") || strings.Contains(res.stdout, "managedFields") {
		t.Errorf("-o yaml printed %q (err %v)", res.stdout, res.err)
	}
}

func TestClientDryRunWithoutCluster(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o := NewOptions(genericiooptions.IOStreams{Out: &stdout, ErrOut: &stderr})
	o.Now = func() time.Time { return testNow }
	missing := filepath.Join(t.TempDir(), "no-kubeconfig")
	kube := &cmdutil.StaticFactory{Err: fmt.Errorf("--kubeconfig %s: no such file or directory", missing)}
	cmd := newCmd(o, kube)
	cmd.SetArgs([]string{"externalname", "pay", "--to", "api.example.com", "--dry-run=client", "-o", "yaml"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "warning: not checked against the cluster (") || !strings.Contains(stdout.String(), "externalName: api.example.com") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	// a workload cannot be read without the cluster
	o2 := NewOptions(genericiooptions.IOStreams{Out: &stdout, ErrOut: &stderr})
	cmd = newCmd(o2, kube)
	cmd.SetArgs([]string{"deploy/web", "--dry-run=client"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.ExecuteContext(context.Background()); cmdutil.ExitCode(err) != cmdutil.ExitIncomplete {
		t.Errorf("deploy/web without a cluster: %v (exit %d)", err, cmdutil.ExitCode(err))
	}
}

// TestIngressWaitTimeoutRunsDiagnosis checks that an Ingress that gets no address is followed by
// the diagnosis of its backend Services and a pointer to ingresscheck.
func TestIngressWaitTimeoutRunsDiagnosis(t *testing.T) {
	cs := fake.NewClientset(neighbours(t)...)
	var stdout, stderr bytes.Buffer
	o := NewOptions(genericiooptions.IOStreams{Out: &stdout, ErrOut: &stderr})
	o.Kube, o.Namespace, o.Now = cs, "shop", func() time.Time { return testNow }
	var diagnosed []string
	o.Diagnose = func(_ context.Context, ns, svc string) (string, error) {
		diagnosed = append(diagnosed, ns+"/"+svc)
		return "verdict: " + ns + "/" + svc + " is healthy", nil
	}
	cmd := newCmd(o, nil)
	cmd.SetArgs([]string{"ingress", "shop", "--class", "traefik", "--rule", "shop.example.com/api*=api:http", "--wait=200ms"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.ExecuteContext(context.Background()); cmdutil.ExitCode(err) != 1 {
		t.Fatalf("err %v, want exit 1 (no address)\n%s", err, stderr.String())
	}
	for _, w := range []string{"ingress/shop: no address after", "kubectl svc-doctor ingresscheck ing/shop -n shop", "verdict: shop/api is healthy"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
		}
	}
	if len(diagnosed) != 1 || diagnosed[0] != "shop/api" {
		t.Errorf("diagnosed %v, want [shop/api]", diagnosed)
	}
}
