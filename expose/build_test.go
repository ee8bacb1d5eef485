package expose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ptr[T any](v T) *T { return &v }

// webTemplate declares http 8080/TCP and metrics 9090/TCP on the app, dns 53/UDP on a sidecar.
func webTemplate() *corev1.PodSpec {
	always := corev1.ContainerRestartPolicyAlways
	return &corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080},
			{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
		}}},
		InitContainers: []corev1.Container{
			{Name: "migrate", Ports: []corev1.ContainerPort{{Name: "ignored", ContainerPort: 7000}}},
			{Name: "dns", RestartPolicy: &always, Ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}}},
		},
	}
}

func webTarget() *Target {
	return &Target{Kind: "deployment", Name: "web", Selector: map[string]string{"app": "web"},
		Labels: map[string]string{"app": "web", "team": "shop"}, Template: webTemplate()}
}

func sp(name string, port int32, target intstr.IntOrString, proto corev1.Protocol) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: target, Protocol: proto}
}

func TestParsePortSpec(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    PortSpec
		wantErr string
	}{
		{name: "port only", in: "80", want: PortSpec{Port: 80}},
		{name: "numeric target", in: "80:8080", want: PortSpec{Port: 80, Target: intstr.FromInt32(8080)}},
		{name: "named target", in: "443:https", want: PortSpec{Port: 443, Target: intstr.FromString("https")}},
		{name: "all parts", in: "web=80:http/tcp", want: PortSpec{Name: "web", Port: 80, Target: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		{name: "udp", in: "53/UDP", want: PortSpec{Port: 53, Protocol: corev1.ProtocolUDP}},
		{name: "not a number", in: "http", wantErr: `"http": "http" is not a port number (1-65535) (write [NAME=]PORT[:TARGET][/PROTOCOL], e.g. 80:8080 or 443:https)`},
		{name: "out of range", in: "70000", wantErr: `"70000" is not a port number`},
		{name: "bad protocol", in: "80/HTTP", wantErr: `protocol "HTTP" is not TCP, UDP or SCTP`},
		{name: "bad name", in: "Web=80", wantErr: `port name "Web" is invalid`},
		{name: "target name too long", in: "80:a-very-long-port-name", wantErr: `neither a number nor a valid container port name`},
		{name: "empty", in: " ", wantErr: "empty port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePortSpec(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestResolvePorts(t *testing.T) {
	tests := []struct {
		name     string
		items    []PortSpec
		proto    corev1.Protocol
		template *corev1.PodSpec
		want     []corev1.ServicePort
		wantErr  string
	}{
		{
			name:     "no port: every declared port, named targets, sidecar included, plain init container not",
			template: webTemplate(),
			want: []corev1.ServicePort{
				sp("http", 8080, intstr.FromString("http"), corev1.ProtocolTCP),
				sp("metrics", 9090, intstr.FromString("metrics"), corev1.ProtocolTCP),
				sp("dns", 53, intstr.FromString("dns"), corev1.ProtocolUDP),
			},
		},
		{
			name:     "--protocol filters the inferred ports",
			proto:    corev1.ProtocolUDP,
			template: webTemplate(),
			want:     []corev1.ServicePort{sp("dns", 53, intstr.FromString("dns"), corev1.ProtocolUDP)},
		},
		{
			name:     "port matching a container port number forwards to its name",
			items:    []PortSpec{{Port: 9090}},
			template: webTemplate(),
			want:     []corev1.ServicePort{sp("metrics", 9090, intstr.FromString("metrics"), corev1.ProtocolTCP)},
		},
		{
			name:     "explicit named target takes the container port's name",
			items:    []PortSpec{{Port: 80, Target: intstr.FromString("http")}, {Port: 9100, Target: intstr.FromString("metrics")}},
			template: webTemplate(),
			want: []corev1.ServicePort{
				sp("http", 80, intstr.FromString("http"), corev1.ProtocolTCP),
				sp("metrics", 9100, intstr.FromString("metrics"), corev1.ProtocolTCP),
			},
		},
		{
			name:     "explicit numeric target is kept as a number, named after the container port",
			items:    []PortSpec{{Port: 80, Target: intstr.FromInt32(8080)}},
			template: webTemplate(),
			want:     []corev1.ServicePort{sp("http", 80, intstr.FromInt32(8080), corev1.ProtocolTCP)},
		},
		{
			name:     "target without port: the Service port is the container port",
			items:    []PortSpec{{Target: intstr.FromString("metrics")}},
			template: webTemplate(),
			want:     []corev1.ServicePort{sp("metrics", 9090, intstr.FromString("metrics"), corev1.ProtocolTCP)},
		},
		{
			name:     "unknown target name with a port is built (the rules refuse it later)",
			items:    []PortSpec{{Port: 80, Target: intstr.FromString("web")}},
			template: webTemplate(),
			want:     []corev1.ServicePort{sp("port-80", 80, intstr.FromString("web"), corev1.ProtocolTCP)},
		},
		{
			name:     "unknown target name without a port",
			items:    []PortSpec{{Target: intstr.FromString("web")}},
			template: webTemplate(),
			wantErr:  `target port "web": deployment/web has no container port of that name (declared: http 8080/TCP, metrics 9090/TCP, dns 53/UDP): give the Service port too, as --port PORT:web`,
		},
		{
			name:     "port with several candidates is ambiguous",
			items:    []PortSpec{{Port: 80}},
			template: webTemplate(),
			wantErr:  "port 80: deployment/web declares several ports (dns 53/UDP, http 8080/TCP, metrics 9090/TCP): say which one it forwards to with --target-port or --port 80:TARGET",
		},
		{
			name:     "port with a single candidate forwards to it",
			items:    []PortSpec{{Port: 80}},
			template: &corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{ContainerPort: 3000}}}}},
			want:     []corev1.ServicePort{sp("port-80", 80, intstr.FromInt32(3000), corev1.ProtocolTCP)},
		},
		{
			name:     "nothing declared: the target is the port itself",
			items:    []PortSpec{{Port: 80}},
			template: &corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}},
			want:     []corev1.ServicePort{sp("port-80", 80, intstr.FromInt32(80), corev1.ProtocolTCP)},
		},
		{
			name:     "nothing declared and no port",
			template: &corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}},
			wantErr:  "deployment/web declares no container ports: pass --port",
		},
		{
			name:  "no template: ports forward to themselves, names port-N, UDP twin gets a suffix",
			items: []PortSpec{{Port: 53}, {Port: 53, Protocol: corev1.ProtocolUDP}, {Name: "admin", Port: 8443, Target: intstr.FromInt32(443)}},
			want: []corev1.ServicePort{
				sp("port-53", 53, intstr.FromInt32(53), corev1.ProtocolTCP),
				sp("port-53-udp", 53, intstr.FromInt32(53), corev1.ProtocolUDP),
				sp("admin", 8443, intstr.FromInt32(443), corev1.ProtocolTCP),
			},
		},
		{
			name:    "no template and no port",
			wantErr: "--port is required",
		},
		{
			name:    "the same name twice",
			items:   []PortSpec{{Name: "a", Port: 1}, {Name: "a", Port: 2}},
			wantErr: `port name "a" is given twice`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolvePorts(tt.items, tt.proto, tt.template, "deployment/web")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestBuildService(t *testing.T) {
	timeout := int32(3600)
	tests := []struct {
		name    string
		spec    ServiceSpec
		target  *Target
		want    corev1.ServiceSpec
		labels  map[string]string
		wantErr string
	}{
		{
			name:   "defaults: workload selector, labels and ports",
			spec:   ServiceSpec{Name: "web", Namespace: "shop", Protocol: corev1.ProtocolTCP},
			target: webTarget(),
			labels: map[string]string{"app": "web", "team": "shop"},
			want: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{
				sp("http", 8080, intstr.FromString("http"), corev1.ProtocolTCP),
				sp("metrics", 9090, intstr.FromString("metrics"), corev1.ProtocolTCP),
			}},
		},
		{
			name: "NodePort with node ports, Local policy, ClientIP affinity, own labels and selector",
			spec: ServiceSpec{Name: "web", Namespace: "shop", Type: corev1.ServiceTypeNodePort,
				Ports:     []PortSpec{{Port: 80, Target: intstr.FromString("http")}, {Port: 9090}},
				NodePorts: []int32{30080, 0}, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
				SessionAffinity: corev1.ServiceAffinityClientIP, SessionAffinityTimeout: &timeout,
				Labels: map[string]string{"tier": "front"}, Selector: map[string]string{"app": "web", "track": "stable"}},
			target: webTarget(),
			labels: map[string]string{"tier": "front"},
			want: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web", "track": "stable"},
				Ports: []corev1.ServicePort{
					{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP, NodePort: 30080},
					{Name: "metrics", Port: 9090, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP},
				},
				ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, SessionAffinity: corev1.ServiceAffinityClientIP,
				SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}},
		},
		{
			name:   "headless, publishing not-ready pods",
			spec:   ServiceSpec{Name: "db", Namespace: "shop", Headless: true, PublishNotReadyAddresses: true, Ports: []PortSpec{{Port: 8080}}},
			target: webTarget(),
			labels: map[string]string{"app": "web", "team": "shop"},
			want: corev1.ServiceSpec{ClusterIP: "None", PublishNotReadyAddresses: true, Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{sp("http", 8080, intstr.FromString("http"), corev1.ProtocolTCP)}},
		},
		{
			name: "headless without any port",
			spec: ServiceSpec{Name: "db", Namespace: "shop", Headless: true},
			target: &Target{Kind: "statefulset", Name: "db", Selector: map[string]string{"app": "db"},
				Template: &corev1.PodSpec{Containers: []corev1.Container{{Name: "db"}}}},
			want: corev1.ServiceSpec{ClusterIP: "None", Selector: map[string]string{"app": "db"}},
		},
		{
			name:    "node ports do not match the ports",
			spec:    ServiceSpec{Name: "web", Type: corev1.ServiceTypeNodePort, NodePorts: []int32{30080}},
			target:  webTarget(),
			wantErr: "--node-port gives 1 port for 3 Service ports: give one per port, in --port order (0 lets the cluster choose)",
		},
		{
			name:    "invalid name",
			spec:    ServiceSpec{Name: "web.v2"},
			target:  webTarget(),
			wantErr: `service name "web.v2" is invalid`,
		},
		{
			name:    "matchExpressions selector",
			spec:    ServiceSpec{Name: "web"},
			target:  &Target{Kind: "deployment", Name: "web", Template: webTemplate(), selectorNote: "deployment/web selects its pods with matchExpressions, which a Service selector cannot express"},
			wantErr: "deployment/web selects its pods with matchExpressions, which a Service selector cannot express: pass --selector KEY=VALUE[,KEY=VALUE]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildService(tt.spec, tt.target)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr && !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Spec); diff != "" {
				t.Errorf("spec (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff(tt.labels, got.Labels); diff != "" {
				t.Errorf("labels (-want +got)\n%s", diff)
			}
			if got.APIVersion != "v1" || got.Kind != "Service" || got.Name != tt.spec.Name || got.Namespace != tt.spec.Namespace {
				t.Errorf("type/object meta: %+v %+v", got.TypeMeta, got.ObjectMeta)
			}
		})
	}
}

func TestBuildExternal(t *testing.T) {
	tests := []struct {
		name      string
		spec      ServiceSpec
		addresses []string
		legacy    bool
		wantSvc   corev1.ServiceSpec
		wantSlice map[string][]string // slice name -> addresses
		wantPorts []discoveryv1.EndpointPort
		wantErr   string
	}{
		{
			name:      "IPv4 and IPv6 in separate slices, duplicates dropped, target ports on the endpoints",
			spec:      ServiceSpec{Name: "db", Namespace: "shop", Ports: []PortSpec{{Name: "pg", Port: 5432}, {Port: 80, Target: intstr.FromInt32(8080)}}},
			addresses: []string{"10.0.0.7", "2001:db8::7", "10.0.0.8", "10.0.0.7"},
			legacy:    true,
			wantSvc: corev1.ServiceSpec{IPFamilyPolicy: ptr(corev1.IPFamilyPolicyPreferDualStack), Ports: []corev1.ServicePort{
				sp("pg", 5432, intstr.FromInt32(5432), corev1.ProtocolTCP),
				sp("port-80", 80, intstr.FromInt32(8080), corev1.ProtocolTCP),
			}},
			wantSlice: map[string][]string{"db-ipv4": {"10.0.0.7", "10.0.0.8"}, "db-ipv6": {"2001:db8::7"}},
			wantPorts: []discoveryv1.EndpointPort{
				{Name: ptr("pg"), Port: ptr(int32(5432)), Protocol: ptr(corev1.ProtocolTCP)},
				{Name: ptr("port-80"), Port: ptr(int32(8080)), Protocol: ptr(corev1.ProtocolTCP)},
			},
		},
		{
			name:      "IPv6 only: an IPv6 Service",
			spec:      ServiceSpec{Name: "db", Namespace: "shop", Ports: []PortSpec{{Port: 5432}}},
			addresses: []string{"2001:db8::7"},
			wantSvc: corev1.ServiceSpec{IPFamilies: []corev1.IPFamily{corev1.IPv6Protocol},
				Ports: []corev1.ServicePort{sp("port-5432", 5432, intstr.FromInt32(5432), corev1.ProtocolTCP)}},
			wantSlice: map[string][]string{"db-ipv6": {"2001:db8::7"}},
			wantPorts: []discoveryv1.EndpointPort{{Name: ptr("port-5432"), Port: ptr(int32(5432)), Protocol: ptr(corev1.ProtocolTCP)}},
		},
		{
			name:      "a host name is not an address",
			spec:      ServiceSpec{Name: "db", Ports: []PortSpec{{Port: 5432}}},
			addresses: []string{"db.example.com"},
			wantErr:   "--address \"db.example.com\" is not an IP address (for a DNS name use `kubectl svc-doctor expose externalname NAME --to db.example.com`)",
		},
		{
			name:      "named target port",
			spec:      ServiceSpec{Name: "db", Ports: []PortSpec{{Port: 5432, Target: intstr.FromString("pg")}}},
			addresses: []string{"10.0.0.7"},
			wantErr:   `target port "pg": a Service without selector forwards to the endpoint ports, which are numbers: give a number`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := BuildExternal(tt.spec, tt.addresses, tt.legacy)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantSvc, plan.Service.Spec); diff != "" {
				t.Errorf("service spec (-want +got)\n%s", diff)
			}
			got := map[string][]string{}
			for _, es := range plan.EndpointSlices {
				if es.Labels[discoveryv1.LabelServiceName] != tt.spec.Name || es.Labels[discoveryv1.LabelManagedBy] != ManagedBy {
					t.Errorf("slice %s labels %v", es.Name, es.Labels)
				}
				if es.Name != SliceName(tt.spec.Name, es.AddressType) {
					t.Errorf("slice %s has addressType %s", es.Name, es.AddressType)
				}
				if diff := cmp.Diff(tt.wantPorts, es.Ports); diff != "" {
					t.Errorf("slice %s ports (-want +got)\n%s", es.Name, diff)
				}
				for _, e := range es.Endpoints {
					if e.Conditions.Ready == nil || !*e.Conditions.Ready {
						t.Errorf("slice %s endpoint %v not ready", es.Name, e.Addresses)
					}
					got[es.Name] = append(got[es.Name], e.Addresses...)
				}
			}
			if diff := cmp.Diff(tt.wantSlice, got); diff != "" {
				t.Errorf("slices (-want +got)\n%s", diff)
			}
			if tt.legacy {
				ep := plan.Endpoints
				if ep == nil || ep.Labels[discoveryv1.LabelSkipMirror] != "true" || len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 3 || len(ep.Subsets[0].Ports) != 2 {
					t.Errorf("legacy Endpoints %+v", ep)
				}
			}
		})
	}
}

func TestBuildExternalName(t *testing.T) {
	tests := []struct {
		name    string
		to      string
		want    string
		wantErr string
	}{
		{name: "a DNS name, trailing dot and case normalised", to: "API.Example.com.", want: "api.example.com"},
		{name: "an IPv4 address is refused with the alternative", to: "192.0.2.10",
			wantErr: "--to 192.0.2.10 is an IP address, and an ExternalName Service is only a DNS CNAME record: a CNAME to 192.0.2.10 points at a host name that does not exist, so lookups fail. To send a Service's traffic to an IP address, create a Service with an EndpointSlice instead: kubectl svc-doctor expose external pay --address 192.0.2.10 --port PORT"},
		{name: "an IPv6 address too", to: "2001:db8::1", wantErr: "is an IP address"},
		{name: "not a DNS name", to: "api_example.com", wantErr: `--to "api_example.com" is not a valid DNS name`},
		{name: "missing", to: "", wantErr: "--to is required"},
		{name: "an incomplete IP address", to: "1.2.3", wantErr: "looks like an incomplete IP address"},
		{name: "localhost", to: "localhost", wantErr: "localhost is the client's own loopback"},
		{name: "a numeric label that is not the last is fine", to: "1.example.com", want: "1.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, err := BuildExternalName(ServiceSpec{Name: "pay", Namespace: "shop"}, tt.to)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if svc.Spec.Type != corev1.ServiceTypeExternalName || svc.Spec.ExternalName != tt.want || svc.Spec.Selector != nil || svc.Spec.ClusterIP != "" {
				t.Errorf("spec %+v", svc.Spec)
			}
		})
	}
}

func TestParseRule(t *testing.T) {
	be := func(name string, n int32, port string) networkingv1.IngressServiceBackend {
		return networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: n, Name: port}}
	}
	tests := []struct {
		name     string
		in       string
		pathType networkingv1.PathType
		want     IngressRule
		wantErr  string
	}{
		{name: "star suffix is a Prefix path", in: "shop.example.com/api*=api:http", pathType: networkingv1.PathTypeExact,
			want: IngressRule{Host: "shop.example.com", Path: "/api", PathType: networkingv1.PathTypePrefix, Backend: be("api", 0, "http")}},
		{name: "root star", in: "shop.example.com/*=web:80", pathType: networkingv1.PathTypeExact,
			want: IngressRule{Host: "shop.example.com", Path: "/", PathType: networkingv1.PathTypePrefix, Backend: be("web", 80, "")}},
		{name: "default path type Exact", in: "shop.example.com/healthz=web:80", pathType: networkingv1.PathTypeExact,
			want: IngressRule{Host: "shop.example.com", Path: "/healthz", PathType: networkingv1.PathTypeExact, Backend: be("web", 80, "")}},
		{name: "Prefix drops a trailing slash", in: "/static/=web:80", pathType: networkingv1.PathTypePrefix,
			want: IngressRule{Path: "/static", PathType: networkingv1.PathTypePrefix, Backend: be("web", 80, "")}},
		{name: "wildcard host, no path", in: "*.Example.com=web:80", pathType: networkingv1.PathTypePrefix,
			want: IngressRule{Host: "*.example.com", Path: "/", PathType: networkingv1.PathTypePrefix, Backend: be("web", 80, "")}},
		{name: "no backend", in: "shop.example.com/", wantErr: `--rule "shop.example.com/": write HOST/PATH=SERVICE:PORT`},
		{name: "no port", in: "/=web", wantErr: `backend "web": write SERVICE:PORT`},
		{name: "IP host", in: "10.0.0.1/=web:80", wantErr: `host "10.0.0.1" is an IP address`},
		{name: "bad wildcard", in: "foo.*.com/=web:80", wantErr: "is not a valid wildcard"},
		{name: "star in the middle", in: "/a*/b*=web:80", wantErr: "only a trailing * is understood"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRule(tt.in, tt.pathType)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestBuildIngress(t *testing.T) {
	prefix, exact := networkingv1.PathTypePrefix, networkingv1.PathTypeExact
	rule := func(in string) IngressRule {
		r, err := ParseRule(in, exact)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	svcBackend := func(name string, n int32) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: n}}}
	}
	tests := []struct {
		name    string
		spec    IngressSpec
		want    networkingv1.IngressSpec
		wantErr string
	}{
		{
			name: "rules grouped by host, TLS without hosts covers the rule hosts, class and default backend",
			spec: IngressSpec{Name: "shop", Class: "traefik",
				Rules:          []IngressRule{rule("a.example.com/api*=api:80"), rule("b.example.com/=web:80"), rule("a.example.com/=web:80"), rule("/ping=web:80")},
				DefaultBackend: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}},
				TLS:            []IngressTLS{{Secret: "shop-tls"}}},
			want: networkingv1.IngressSpec{
				IngressClassName: ptr("traefik"),
				DefaultBackend:   ptr(svcBackend("web", 80)),
				TLS:              []networkingv1.IngressTLS{{Hosts: []string{"a.example.com", "b.example.com"}, SecretName: "shop-tls"}},
				Rules: []networkingv1.IngressRule{
					{Host: "a.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
						{Path: "/api", PathType: &prefix, Backend: svcBackend("api", 80)},
						{Path: "/", PathType: &exact, Backend: svcBackend("web", 80)},
					}}}},
					{Host: "b.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
						{Path: "/", PathType: &exact, Backend: svcBackend("web", 80)},
					}}}},
					{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
						{Path: "/ping", PathType: &exact, Backend: svcBackend("web", 80)},
					}}}},
				},
			},
		},
		{
			name:    "the same route twice",
			spec:    IngressSpec{Name: "shop", Rules: []IngressRule{rule("a.example.com/=web:80"), rule("a.example.com/=api:80")}},
			wantErr: "--rule a.example.com/ is given twice (Exact): only one backend can serve it",
		},
		{
			name:    "nothing to route",
			spec:    IngressSpec{Name: "shop"},
			wantErr: "nothing to route: give at least one --rule HOST/PATH=SERVICE:PORT or a --default-backend SERVICE:PORT",
		},
		{
			name:    "TLS without any host",
			spec:    IngressSpec{Name: "shop", Rules: []IngressRule{rule("/=web:80")}, TLS: []IngressTLS{{Secret: "s"}}},
			wantErr: "--tls s names no host and no --rule has one: write --tls HOST[,HOST]=s (TLS is chosen by host name, SNI)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildIngress(tt.spec)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Spec); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if got.APIVersion != "networking.k8s.io/v1" || got.Kind != "Ingress" {
				t.Errorf("type meta %+v", got.TypeMeta)
			}
		})
	}
}

func TestLoadCertPair(t *testing.T) {
	crt, key := readFixture(t, "shop.crt"), readFixture(t, "shop.key")
	pair, err := LoadCertPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	if pair.Leaf == nil || pair.Leaf.DNSNames[0] != "shop.example.com" {
		t.Errorf("leaf %+v", pair.Leaf)
	}
	other := strings.Replace(string(key), "M", "N", 1)
	if _, err := LoadCertPair(crt, []byte(other)); err == nil || !strings.HasPrefix(err.Error(), "--cert/--key do not load as a TLS pair: ") {
		t.Errorf("corrupt key: %v", err)
	}
	if _, err := LoadCertPair(key, crt); err == nil {
		t.Error("swapped files loaded")
	}
	sec := BuildTLSSecret("shop-tls", "shop", pair, nil)
	if sec.Type != corev1.SecretTypeTLS || len(sec.Data[corev1.TLSCertKey]) == 0 || len(sec.Data[corev1.TLSPrivateKeyKey]) == 0 || len(sec.Data) != 2 {
		t.Errorf("secret %+v", sec)
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
