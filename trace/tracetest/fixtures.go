// Package tracetest holds the object builders and the fake cluster network that the tests of the
// trace layers and of the commands over them share.
package tracetest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/agent"
	"github.com/svc-doctor/svc-doctor/trace"
)

// Object builders for the tests. Everything lives in namespace "shop" unless said otherwise.

// TestNS is the namespace of the fixtures.
const TestNS = "shop"

// TestNow is the fixtures' clock.
var TestNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// FixedClock returns TestNow.
func FixedClock() time.Time { return TestNow }

// SvcOpt changes a Service fixture.
type SvcOpt func(*corev1.Service)

// Service is a ClusterIP Service selecting app=name, port http 80 -> targetPort http.
func Service(name string, opts ...SvcOpt) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: TestNS, CreationTimestamp: metav1.NewTime(TestNow.Add(-time.Hour))},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.20", ClusterIPs: []string{"10.96.0.20"},
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// WithSelector sets the Service's selector.
func WithSelector(sel map[string]string) SvcOpt {
	return func(s *corev1.Service) { s.Spec.Selector = sel }
}

// WithTargetPort sets the targetPort of the Service's first port.
func WithTargetPort(tp intstr.IntOrString) SvcOpt {
	return func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = tp }
}

// Headless makes the Service headless.
func Headless() SvcOpt {
	return func(s *corev1.Service) {
		s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
	}
}

// ExternalName makes the Service an alias of target.
func ExternalName(target string) SvcOpt {
	return func(s *corev1.Service) {
		s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target}
	}
}

// NodePort makes the Service a NodePort Service on np, with externalTrafficPolicy Local when local.
func NodePort(np int32, local bool) SvcOpt {
	return func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = np
		if local {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}
	}
}

// LoadBalancer makes the Service a LoadBalancer Service.
func LoadBalancer() SvcOpt {
	return func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Spec.Ports[0].NodePort = 31000
	}
}

// PodOpt changes a Pod fixture.
type PodOpt func(*corev1.Pod)

// Pod returns a running, ready Pod of Deployment <app> with container "web" declaring http 8080.
func Pod(name, app, ip string, opts ...PodOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: TestNS, Labels: map[string]string{"app": app, "pod-template-hash": "abc12"},
			CreationTimestamp: metav1.NewTime(TestNow.Add(-30 * time.Minute)),
			OwnerReferences:   []metav1.OwnerReference{{Kind: "ReplicaSet", Name: app + "-abc12", Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{
			Name: "web", Image: "example/web:1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}},
				PeriodSeconds: 5, TimeoutSeconds: 1},
		}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// InNamespace moves the pod to namespace ns.
func InNamespace(ns string) PodOpt { return func(p *corev1.Pod) { p.Namespace = ns } }

// NotReady makes the pod not ready (its readiness probe failing).
func NotReady() PodOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions[0].Status = corev1.ConditionFalse
		p.Status.ContainerStatuses[0].Ready = false
	}
}

// Waiting makes the pod's container wait with reason and msg.
func Waiting(reason, msg string) PodOpt {
	return func(p *corev1.Pod) {
		NotReady()(p)
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
		p.Status.ContainerStatuses[0].RestartCount = 4
		p.Status.ContainerStatuses[0].LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}
	}
}

// PortName renames the pod's container port.
func PortName(n string) PodOpt {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = n }
}

// SliceEP is an endpoint of Slice.
type SliceEP struct {
	IP, Pod string
	Ready   bool
}

// Slice returns the controller-managed EndpointSlice of a Service with port http=8080.
func Slice(svc string, eps ...SliceEP) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc + "-x1", Namespace: TestNS, Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, e := range eps {
		ep := discoveryv1.Endpoint{Addresses: []string{e.IP}, NodeName: ptr.To("node-1"),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.Ready), Serving: ptr.To(e.Ready), Terminating: ptr.To(false)}}
		if e.Pod != "" {
			ep.TargetRef = &corev1.ObjectReference{Kind: "Pod", Name: e.Pod, Namespace: TestNS}
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

// ManualSlice is an EndpointSlice written by hand for a selector-less Service.
func ManualSlice(svc, port string, ips ...string) *discoveryv1.EndpointSlice {
	s := Slice(svc)
	s.Labels[discoveryv1.LabelManagedBy] = "staff"
	s.Ports[0].Name = ptr.To(port)
	s.Ports[0].Port = ptr.To(int32(5432))
	for _, ip := range ips {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}})
	}
	return s
}

// Deployment is a Deployment of app=name with replicas.
func Deployment(name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: TestNS},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}}}}
}

// Unhealthy is a readiness-probe failure event of a pod.
func Unhealthy(podName, msg string) *corev1.Event {
	return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: podName + ".ev", Namespace: TestNS},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: podName, Namespace: TestNS},
		Reason:         "Unhealthy", Message: msg, Count: 12, Type: corev1.EventTypeWarning,
		LastTimestamp: metav1.NewTime(TestNow.Add(-5 * time.Second))}
}

// TLSIngress is an Ingress of another application whose TLS entry names a Secret.
func TLSIngress(name, secret string) *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: TestNS},
		Spec: networkingv1.IngressSpec{TLS: []networkingv1.IngressTLS{{Hosts: []string{name + ".example.com"}, SecretName: secret}}}}
}

// DenyAll is a NetworkPolicy that admits no ingress to any pod of the namespace.
func DenyAll() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all", Namespace: TestNS},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
}

// Node is a node with an internal IP.
func Node(name, ip string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}}}
}

// Namespace is a namespace with its metadata.name label.
func Namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelMetadataName: name}}}
}

// KubeDNS is the cluster DNS of a healthy cluster (slices with a ready endpoint, coredns 2/2).
func KubeDNS(ready bool, replicas int32) []runtime.Object {
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "kube-dns-x", Namespace: "kube-system",
		Labels: map[string]string{discoveryv1.LabelServiceName: "kube-dns"}}, AddressType: discoveryv1.AddressTypeIPv4}
	if ready {
		s.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas)}}
	return []runtime.Object{s, d}
}

// FakeNet answers agent checks like a small cluster network: DNS from a zone table, TCP/UDP/HTTP
// from per-address behaviours (default: answers).
type FakeNet struct {
	mu sync.Mutex
	// zone maps "A name." (absolute) to addresses, "CNAME name." to a target, "SRV name." to
	// "target:port" values.
	Zone map[string][]string
	// dnsDown makes every DNS query fail with this class.
	DNSDown agent.FailureClass
	// addr maps "ip:port" to a failure class (absent: the address answers).
	Addr map[string]agent.FailureClass
	// once maps "ip:port" to a failure class returned only the first time.
	Once map[string]agent.FailureClass
	// httpStatus maps "ip:port" to an HTTP status (default 200).
	HTTPStatus map[string]int
	Search     []string
	Requests   int
	Checks     []agent.Check
}

// NewNet is an empty fake network (every address answers, no DNS record).
func NewNet() *FakeNet {
	return &FakeNet{Zone: map[string][]string{}, Addr: map[string]agent.FailureClass{}, Once: map[string]agent.FailureClass{}, HTTPStatus: map[string]int{},
		Search: []string{TestNS + ".svc.cluster.local", "svc.cluster.local", "cluster.local"}}
}

// Run answers the checks of an agent request (trace.Agent).
func (n *FakeNet) Run(_ context.Context, req agent.Request) (*agent.Response, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := req.Validate(); err != nil {
		return nil, err
	}
	n.Requests++
	resp := &agent.Response{APIVersion: agent.APIVersion, Kind: agent.KindCheckResponse, AgentVersion: "test"}
	for _, c := range req.Checks {
		n.Checks = append(n.Checks, c)
		r := n.answer(c)
		r.ID, r.Type, r.OK = c.ID, c.Type, r.Failure == ""
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

func (n *FakeNet) answer(c agent.Check) agent.Result {
	switch c.Type {
	case agent.CheckResolvConf:
		return agent.Result{ResolvConf: &agent.ResolvConf{Path: "/etc/resolv.conf", Nameservers: []string{"10.96.0.10"}, Search: n.Search, Ndots: 5}}
	case agent.CheckDNS:
		return n.dns(c.DNS)
	case agent.CheckTCP:
		hp := net.JoinHostPort(c.TCP.Host, strconv.Itoa(c.TCP.Port))
		if f := n.Once[hp]; f != "" {
			delete(n.Once, hp)
			return agent.Result{Failure: f, Detail: "dial tcp " + hp + ": " + string(f)}
		}
		if f := n.Addr[hp]; f != "" {
			return agent.Result{Failure: f, Detail: "dial tcp " + hp + ": " + string(f)}
		}
		return agent.Result{TCP: &agent.TCPResult{RemoteAddr: hp, LocalAddr: "10.244.0.99:40000"}, Detail: "connected"}
	case agent.CheckUDP:
		hp := net.JoinHostPort(c.UDP.Host, strconv.Itoa(c.UDP.Port))
		if f := n.Addr[hp]; f == agent.FailRefused {
			return agent.Result{Failure: f, UDP: &agent.UDPResult{Outcome: agent.UDPRefused}}
		}
		return agent.Result{UDP: &agent.UDPResult{Outcome: agent.UDPNoAnswer}}
	case agent.CheckHTTP:
		host := strings.TrimPrefix(c.HTTP.URL, "http://")
		host, _, _ = strings.Cut(host, "/")
		if f := n.Addr[host]; f != "" {
			return agent.Result{Failure: f, Detail: string(f)}
		}
		code := n.HTTPStatus[host]
		if code == 0 {
			code = 200
		}
		r := agent.Result{HTTP: &agent.HTTPResult{StatusCode: code}}
		if code >= 400 {
			r.Failure, r.Detail = agent.FailHTTPStatus, fmt.Sprintf("HTTP %d", code)
		}
		return r
	}
	return agent.Result{Failure: agent.FailOther, Detail: "unsupported in the fake"}
}

// dns resolves the system way over the search path (ndots 5) or an absolute name.
func (n *FakeNet) dns(c *agent.DNSCheck) agent.Result {
	qtype := c.QType
	if qtype == "" {
		qtype = agent.QueryA
	}
	res := agent.Result{DNS: &agent.DNSResult{QType: qtype}}
	if n.DNSDown != "" {
		res.Failure, res.Detail = n.DNSDown, "no answer from 10.96.0.10:53"
		return res
	}
	names := []string{c.Name}
	if !strings.HasSuffix(c.Name, ".") {
		names = nil
		for _, s := range n.Search {
			names = append(names, c.Name+"."+s+".")
		}
		names = append(names, c.Name+".")
	}
	for _, name := range names {
		res.DNS.Tries = append(res.DNS.Tries, agent.DNSTry{Name: name})
		if vals, ok := n.Zone[qtype+" "+name]; ok {
			res.DNS.Name = name
			for _, v := range vals {
				rec := agent.DNSRecord{Name: name, Type: qtype, Value: v}
				if qtype == agent.QuerySRV {
					h, p, _ := strings.Cut(v, ":")
					port, _ := strconv.Atoi(p)
					rec.Value, rec.Port = h, uint16(port)
				}
				res.DNS.Answers = append(res.DNS.Answers, rec)
			}
			return res
		}
	}
	res.Failure, res.Detail = agent.FailNXDomain, "NXDOMAIN: "+c.Name+" does not exist"
	return res
}

// Provider hands out the fake network as the agent, from a helper Pod in Namespace shop.
type Provider struct {
	Net   *FakeNet
	Err   error
	Calls int
}

// Agent hands out the fake network (trace.AgentProvider).
func (p *Provider) Agent(context.Context) (trace.Agent, *trace.Source, error) {
	p.Calls++
	if p.Err != nil {
		return nil, nil, p.Err
	}
	return p.Net, &trace.Source{Description: "helper pod shop/svc-doctor-helper-x", Namespace: TestNS, IP: "10.244.0.99", Node: "node-1",
		Labels: map[string]string{"app.kubernetes.io/name": "svc-doctor-helper", "app.kubernetes.io/managed-by": "svc-doctor"}}, nil
}

// HealthyZone is what CoreDNS answers for a ClusterIP Service web.
func HealthyZone(n *FakeNet, name, ip string) {
	fqdn := name + "." + TestNS + ".svc.cluster.local."
	n.Zone["A "+fqdn] = []string{ip}
	n.Zone["SRV _http._tcp."+fqdn] = []string{fqdn + ":80"}
}
