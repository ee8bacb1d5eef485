package diagnose

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
)

// Object builders for the tests. Everything lives in namespace "shop" unless said otherwise.

const testNS = "shop"

var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

type svcOpt func(*corev1.Service)

func service(name string, opts ...svcOpt) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, CreationTimestamp: metav1.NewTime(testNow.Add(-time.Hour))},
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

func withSelector(sel map[string]string) svcOpt {
	return func(s *corev1.Service) { s.Spec.Selector = sel }
}
func withTargetPort(tp intstr.IntOrString) svcOpt {
	return func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = tp }
}
func headless() svcOpt {
	return func(s *corev1.Service) {
		s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
	}
}
func externalName(target string) svcOpt {
	return func(s *corev1.Service) {
		s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target}
	}
}
func nodePort(np int32, local bool) svcOpt {
	return func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = np
		if local {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}
	}
}
func loadBalancer() svcOpt {
	return func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Spec.Ports[0].NodePort = 31000
	}
}

type podOpt func(*corev1.Pod)

// pod returns a running, ready pod of deployment <app> with container "web" declaring http 8080.
func pod(name, app, ip string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: map[string]string{"app": app, "pod-template-hash": "abc12"},
			CreationTimestamp: metav1.NewTime(testNow.Add(-30 * time.Minute)),
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

func inNamespace(ns string) podOpt { return func(p *corev1.Pod) { p.Namespace = ns } }
func notReady() podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions[0].Status = corev1.ConditionFalse
		p.Status.ContainerStatuses[0].Ready = false
	}
}
func waiting(reason, msg string) podOpt {
	return func(p *corev1.Pod) {
		notReady()(p)
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
		p.Status.ContainerStatuses[0].RestartCount = 4
		p.Status.ContainerStatuses[0].LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}
	}
}
func portName(n string) podOpt {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = n }
}

type sliceEP struct {
	ip, pod string
	ready   bool
}

// slice returns the controller-managed EndpointSlice of a Service with port http=8080.
func slice(svc string, eps ...sliceEP) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc + "-x1", Namespace: testNS, Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: sliceControllerName}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, e := range eps {
		ep := discoveryv1.Endpoint{Addresses: []string{e.ip}, NodeName: ptr.To("node-1"),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.ready), Serving: ptr.To(e.ready), Terminating: ptr.To(false)}}
		if e.pod != "" {
			ep.TargetRef = &corev1.ObjectReference{Kind: "Pod", Name: e.pod, Namespace: testNS}
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

func manualSlice(svc, port string, ips ...string) *discoveryv1.EndpointSlice {
	s := slice(svc)
	s.Labels[discoveryv1.LabelManagedBy] = "staff"
	s.Ports[0].Name = ptr.To(port)
	s.Ports[0].Port = ptr.To(int32(5432))
	for _, ip := range ips {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}})
	}
	return s
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}}}}
}

func unhealthy(podName, msg string) *corev1.Event {
	return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: podName + ".ev", Namespace: testNS},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: podName, Namespace: testNS},
		Reason:         "Unhealthy", Message: msg, Count: 12, Type: corev1.EventTypeWarning,
		LastTimestamp: metav1.NewTime(testNow.Add(-5 * time.Second))}
}

// tlsIngress is an Ingress of another application whose TLS entry names a Secret.
func tlsIngress(name, secret string) *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec: networkingv1.IngressSpec{TLS: []networkingv1.IngressTLS{{Hosts: []string{name + ".example.com"}, SecretName: secret}}}}
}

func denyAll() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny-all", Namespace: testNS},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
}

func node(name, ip string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}}}
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelMetadataName: name}}}
}

// kubeDNS is the cluster DNS of a healthy cluster (slices with a ready endpoint, coredns 2/2).
func kubeDNS(ready bool, replicas int32) []runtime.Object {
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "kube-dns-x", Namespace: "kube-system",
		Labels: map[string]string{discoveryv1.LabelServiceName: "kube-dns"}}, AddressType: discoveryv1.AddressTypeIPv4}
	if ready {
		s.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas)}}
	return []runtime.Object{s, d}
}

// fakeNet answers agent checks like a small cluster network: DNS from a zone table, TCP/UDP/HTTP
// from per-address behaviours (default: answers).
type fakeNet struct {
	mu sync.Mutex
	// zone maps "A name." (absolute) to addresses, "CNAME name." to a target, "SRV name." to
	// "target:port" values.
	zone map[string][]string
	// dnsDown makes every DNS query fail with this class.
	dnsDown agent.FailureClass
	// addr maps "ip:port" to a failure class (absent: the address answers).
	addr map[string]agent.FailureClass
	// once maps "ip:port" to a failure class returned only the first time.
	once map[string]agent.FailureClass
	// httpStatus maps "ip:port" to an HTTP status (default 200).
	httpStatus map[string]int
	search     []string
	requests   int
	checks     []agent.Check
}

func newNet() *fakeNet {
	return &fakeNet{zone: map[string][]string{}, addr: map[string]agent.FailureClass{}, once: map[string]agent.FailureClass{}, httpStatus: map[string]int{},
		search: []string{testNS + ".svc.cluster.local", "svc.cluster.local", "cluster.local"}}
}

func (n *fakeNet) Run(_ context.Context, req agent.Request) (*agent.Response, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := req.Validate(); err != nil {
		return nil, err
	}
	n.requests++
	resp := &agent.Response{APIVersion: agent.APIVersion, Kind: agent.KindCheckResponse, AgentVersion: "test"}
	for _, c := range req.Checks {
		n.checks = append(n.checks, c)
		r := n.answer(c)
		r.ID, r.Type, r.OK = c.ID, c.Type, r.Failure == ""
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

func (n *fakeNet) answer(c agent.Check) agent.Result {
	switch c.Type {
	case agent.CheckResolvConf:
		return agent.Result{ResolvConf: &agent.ResolvConf{Path: "/etc/resolv.conf", Nameservers: []string{"10.96.0.10"}, Search: n.search, Ndots: 5}}
	case agent.CheckDNS:
		return n.dns(c.DNS)
	case agent.CheckTCP:
		hp := net.JoinHostPort(c.TCP.Host, strconv.Itoa(c.TCP.Port))
		if f := n.once[hp]; f != "" {
			delete(n.once, hp)
			return agent.Result{Failure: f, Detail: "dial tcp " + hp + ": " + string(f)}
		}
		if f := n.addr[hp]; f != "" {
			return agent.Result{Failure: f, Detail: "dial tcp " + hp + ": " + string(f)}
		}
		return agent.Result{TCP: &agent.TCPResult{RemoteAddr: hp, LocalAddr: "10.244.0.99:40000"}, Detail: "connected"}
	case agent.CheckUDP:
		hp := net.JoinHostPort(c.UDP.Host, strconv.Itoa(c.UDP.Port))
		if f := n.addr[hp]; f == agent.FailRefused {
			return agent.Result{Failure: f, UDP: &agent.UDPResult{Outcome: agent.UDPRefused}}
		}
		return agent.Result{UDP: &agent.UDPResult{Outcome: agent.UDPNoAnswer}}
	case agent.CheckHTTP:
		host := strings.TrimPrefix(c.HTTP.URL, "http://")
		host, _, _ = strings.Cut(host, "/")
		if f := n.addr[host]; f != "" {
			return agent.Result{Failure: f, Detail: string(f)}
		}
		code := n.httpStatus[host]
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
func (n *fakeNet) dns(c *agent.DNSCheck) agent.Result {
	qtype := c.QType
	if qtype == "" {
		qtype = agent.QueryA
	}
	res := agent.Result{DNS: &agent.DNSResult{QType: qtype}}
	if n.dnsDown != "" {
		res.Failure, res.Detail = n.dnsDown, "no answer from 10.96.0.10:53"
		return res
	}
	names := []string{c.Name}
	if !strings.HasSuffix(c.Name, ".") {
		names = nil
		for _, s := range n.search {
			names = append(names, c.Name+"."+s+".")
		}
		names = append(names, c.Name+".")
	}
	for _, name := range names {
		res.DNS.Tries = append(res.DNS.Tries, agent.DNSTry{Name: name})
		if vals, ok := n.zone[qtype+" "+name]; ok {
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

// provider hands out the fake network as the agent, from a helper pod in namespace shop.
type provider struct {
	net   *fakeNet
	err   error
	calls int
}

func (p *provider) Agent(context.Context) (Agent, *Source, error) {
	p.calls++
	if p.err != nil {
		return nil, nil, p.err
	}
	return p.net, &Source{Description: "helper pod shop/svc-doctor-helper-x", Namespace: testNS, IP: "10.244.0.99", Node: "node-1",
		Labels: map[string]string{"app.kubernetes.io/name": "svc-doctor-helper", "app.kubernetes.io/managed-by": "svc-doctor"}}, nil
}
