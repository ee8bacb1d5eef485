package diagnose

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svc-doctor/svc-doctor/agent"
)

// Agent runs agent check requests from a position in the cluster: the helper pod, an ephemeral
// container (--from), or, in tests, canned results.
type Agent interface {
	Run(ctx context.Context, req agent.Request) (*agent.Response, error)
}

// Source describes where the agent's checks run from: what NetworkPolicies see as the client.
type Source struct {
	// Description names it in messages: "helper pod ns/name".
	Description string
	Namespace   string
	Labels      map[string]string
	IP          string
	Node        string
	// Pod is the source pod when it was read (nil in tests that do not need it).
	Pod *corev1.Pod
}

// AgentProvider hands out the agent, acquiring it the first time a hop needs it (the helper pod
// starts lazily). Acquisition happens at most once per State; its error is remembered.
type AgentProvider interface {
	Agent(ctx context.Context) (Agent, *Source, error)
}

// Config is what a diagnosis is about and how it runs.
type Config struct {
	Namespace string
	Name      string
	// Port is the requested Service port (name or number); "" tests every port.
	Port string
	// HTTPPath, when set, adds an HTTP GET of that path to the TCP checks.
	HTTPPath string
	// CheckTimeout bounds each network check of the agent (default 3s).
	CheckTimeout time.Duration
	// MaxEndpoints bounds how many endpoints are tested directly (default 16).
	MaxEndpoints int
	// Static leaves out every check that needs the agent.
	Static bool
	// ProxyRetryDelay is how long to wait before testing a ClusterIP again that failed while its
	// endpoints answered (default 2s; negative: no second try).
	ProxyRetryDelay time.Duration
}

// State is shared by the hops of one trace: the configuration, the cached cluster reads, the
// agent, the results so far and the facts the hops established for the hops after them.
type State struct {
	Config
	Reads  *Reads
	Agents AgentProvider
	// Clock and RequestCount are injected (tests fix the clock; the CLI counts API requests).
	Clock        func() time.Time
	RequestCount func() int64

	results map[string]Result
	// fatal stops the trace: the cluster cannot be read at all.
	fatal error

	agentDone bool
	agent     Agent
	source    *Source
	agentErr  error

	// Facts, filled in by the hops in order.
	Service *corev1.Service
	// Ports are the Service ports under test.
	Ports []corev1.ServicePort
	// Pods are the selected pods that are not in a terminal phase.
	Pods []*corev1.Pod
	// PodsUnread says why the pods could not be read ("" when they were): the hops after the
	// selector then compare the EndpointSlices with nothing.
	PodsUnread string
	// TargetPorts maps pod name -> Service port name -> resolved container port.
	TargetPorts map[string]map[string]int32
	// ReadyPods are the names of the selected pods that are Ready.
	ReadyPods map[string]bool
	// Slices are the Service's EndpointSlices.
	Slices []*discoveryv1.EndpointSlice
	// SlicesUnread says why the EndpointSlices could not be read ("" when they were).
	SlicesUnread string
	// Targets are the endpoints the connectivity hop tests directly.
	Targets []Target
	// ManualEndpoints is true for a selector-less Service (endpoints written by hand).
	ManualEndpoints bool
	// Connectivity records what the connectivity hop saw, for the exposure hop.
	connectivityOK bool
	policyEval     *policyEvaluation
}

// Target is one endpoint address and port that should answer.
type Target struct {
	IP   string
	Port int32
	// PortName is the Service port name it serves.
	PortName string
	Protocol corev1.Protocol
	Pod      string // "" for manual endpoints
	Node     string
	// Ready, Serving and Terminating are the EndpointSlice conditions.
	Ready, Serving, Terminating bool
}

// NewState returns a State for cfg.
func NewState(cfg Config, reads *Reads, agents AgentProvider) *State {
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 3 * time.Second
	}
	if cfg.MaxEndpoints <= 0 {
		cfg.MaxEndpoints = 16
	}
	if cfg.ProxyRetryDelay == 0 {
		cfg.ProxyRetryDelay = 2 * time.Second
	}
	return &State{Config: cfg, Reads: reads, Agents: agents, results: map[string]Result{}}
}

// Fatal is the error that stopped the trace (cluster unreachable), or nil.
func (st *State) Fatal() error { return st.fatal }

// Result returns the result of a hop that ran, and whether it ran.
func (st *State) Result(id string) (Result, bool) {
	r, ok := st.results[id]
	return r, ok
}

func (st *State) now() time.Time {
	if st.Clock != nil {
		return st.Clock()
	}
	return time.Now()
}

func (st *State) requests() int64 {
	if st.RequestCount != nil {
		return st.RequestCount()
	}
	return 0
}

// agentFor returns the agent, acquiring it on first use.
func (st *State) agentFor(ctx context.Context) (Agent, *Source, error) {
	if !st.agentDone {
		st.agentDone = true
		if st.Agents == nil {
			st.agentErr = errNoAgent
		} else {
			st.agent, st.source, st.agentErr = st.Agents.Agent(ctx)
		}
		if st.source == nil {
			st.source = &Source{Description: "the helper", Namespace: st.Namespace}
		}
	}
	return st.agent, st.source, st.agentErr
}

type noAgentError struct{}

func (noAgentError) Error() string { return "no helper pod in this mode" }

var errNoAgent error = noAgentError{}

// isExternalName, isHeadless: Service shapes.
func isExternalName(svc *corev1.Service) bool { return svc.Spec.Type == corev1.ServiceTypeExternalName }
func isHeadless(svc *corev1.Service) bool     { return svc.Spec.ClusterIP == corev1.ClusterIPNone }

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// AgentFor returns the agent and where it runs, acquiring it on first use (for the focused
// commands that run their own checks).
func (st *State) AgentFor(ctx context.Context) (Agent, *Source, error) { return st.agentFor(ctx) }
