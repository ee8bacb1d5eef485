// Package servicetrace is the Service trace the engine (package trace) runs: the hops a request
// takes to a Service's backends, in causal order: (1) the Service and the lint rules on it, (2)
// selector -> pods with near misses, (3) service port -> targetPort -> container port, (4) pod
// readiness, (5) EndpointSlices (manual endpoints included), (6) DNS and (7) connectivity from the
// agent in the cluster, (8) node ports, load balancer, session affinity and NetworkPolicies. The
// route layers hand over to it with the backend Service they resolved.
package servicetrace

import (
	"context"

	"github.com/svc-doctor/svc-doctor/trace"
)

// Hop is a hop of the Service trace.
type Hop = trace.Hop[*State]

// Hop IDs, in trace order.
const (
	HopService      = "service"
	HopSelector     = "selector"
	HopPorts        = "ports"
	HopReadiness    = "readiness"
	HopEndpoints    = "endpoints"
	HopDNS          = "dns"
	HopConnectivity = "connectivity"
	HopExposure     = "exposure"
)

// Hops returns the full trace, in causal order.
func Hops() []Hop {
	return []Hop{
		trace.NewHop(HopService, "Service exists, ports, lint", nil, nil, runService),
		trace.NewHop(HopSelector, "selector -> pods", []string{HopService}, nil, runSelector),
		trace.NewHop(HopPorts, "port -> targetPort -> container port", []string{HopSelector}, nil, runPorts),
		trace.NewHop(HopReadiness, "pod readiness", []string{HopSelector}, nil, runReadiness),
		// the EndpointSlices are read even when the pods could not be (compared with less)
		trace.NewHop(HopEndpoints, "EndpointSlices", []string{HopService}, []string{HopPorts, HopReadiness}, runEndpoints),
		trace.NewHop(HopDNS, "DNS from the helper", []string{HopService}, nil, runDNS),
		// the ClusterIP is tested even when the EndpointSlices could not be read
		trace.NewHop(HopConnectivity, "connectivity from the helper", []string{HopService}, []string{HopEndpoints}, runConnectivity),
		trace.NewHop(HopExposure, "NodePort, LoadBalancer, affinity, NetworkPolicies", []string{HopService}, nil, runExposure),
	}
}

// StaticHops are the hops that need no helper pod (the -A summary runs these): the DNS and
// connectivity hops are left out and the exposure hop evaluates only what the API says.
func StaticHops() []Hop {
	var out []Hop
	for _, h := range Hops() {
		if h.ID() != HopDNS && h.ID() != HopConnectivity {
			out = append(out, h)
		}
	}
	return out
}

// Run traces st's Service through hops.
func Run(ctx context.Context, st *State, hops []Hop) []trace.Step {
	st.prefetch = hasHop(hops, HopDNS) && hasHop(hops, HopConnectivity)
	return trace.Trace(ctx, st, hops)
}

func hasHop(hops []Hop, id string) bool {
	for _, h := range hops {
		if h.ID() == id {
			return true
		}
	}
	return false
}

// RunHops runs the hops with the given IDs, in trace order, over st (the focused commands run
// parts of the trace: dnscheck runs service and dns).
func RunHops(ctx context.Context, st *State, ids ...string) []trace.Step {
	var hops []Hop
	for _, h := range Hops() {
		for _, id := range ids {
			if h.ID() == id {
				hops = append(hops, h)
			}
		}
	}
	return Run(ctx, st, hops)
}
