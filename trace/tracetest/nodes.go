package tracetest

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/trace"
)

// Fixtures of a cluster with several nodes: pods and endpoints on given nodes, and a fake network
// per node (what a helper on that node sees).

// OnNode places the pod on node.
func OnNode(node string) PodOpt { return func(p *corev1.Pod) { p.Spec.NodeName = node } }

// NodeEP is an endpoint of SliceOn, on a node.
type NodeEP struct {
	IP, Pod, Node string
	Ready         bool
}

// SliceOn is Slice with each endpoint on its own node.
func SliceOn(svc string, eps ...NodeEP) *discoveryv1.EndpointSlice {
	var plain []SliceEP
	for _, e := range eps {
		plain = append(plain, SliceEP{IP: e.IP, Pod: e.Pod, Ready: e.Ready})
	}
	s := Slice(svc, plain...)
	for i, e := range eps {
		s.Endpoints[i].NodeName = ptr.To(e.Node)
	}
	return s
}

// InternalTrafficPolicyLocal sets internalTrafficPolicy: Local.
func InternalTrafficPolicyLocal() SvcOpt {
	return func(s *corev1.Service) {
		p := corev1.ServiceInternalTrafficPolicyLocal
		s.Spec.InternalTrafficPolicy = &p
	}
}

// NodeProvider hands out an agent per node (servicetrace.NodeAgents): the fake network of that
// node, as a helper pod pinned there would see it.
type NodeProvider struct {
	// Nets are the networks of the nodes; a node without one has no helper (Errs, or an error).
	Nets map[string]*FakeNet
	Errs map[string]error
	// Calls lists the nodes asked for, in order.
	Calls []string

	mu sync.Mutex
}

// AgentOn hands out node's network.
func (p *NodeProvider) AgentOn(_ context.Context, node string) (trace.Agent, *trace.Source, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Calls = append(p.Calls, node)
	if err := p.Errs[node]; err != nil {
		return nil, nil, err
	}
	n, ok := p.Nets[node]
	if !ok {
		return nil, nil, fmt.Errorf("no fake network for node %s", node)
	}
	return n, &trace.Source{Description: "helper pod shop/svc-doctor-helper-" + node, Namespace: TestNS, Node: node,
		Labels: map[string]string{"app.kubernetes.io/name": "svc-doctor-helper", "app.kubernetes.io/managed-by": "svc-doctor"}}, nil
}
