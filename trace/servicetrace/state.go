package servicetrace

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svc-doctor/svc-doctor/trace"
)

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
	// RestartWindow is how recent a container restart of a selected pod must be to count as a
	// fault of the readiness hop (default DefaultRestartWindow; negative: only CrashLoopBackOff).
	RestartWindow time.Duration
}

// State is shared by the hops of one trace: the configuration, the cached cluster reads, the
// agent, the results so far and the facts the hops established for the hops after them.
type State struct {
	trace.Run
	Config
	Reads *trace.Reads
	// Agent is the agent the network checks run on, acquired on first use.
	Agent trace.AgentSlot
	// batch answers the network hops' checks from one request (see batch.go); prefetch is set
	// when the trace runs both network hops, so that the first sends the checks of both.
	batch      *batchAgent
	prefetch   bool
	prefetched bool

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
	// nodes is what the per-node checks found (nodes.go), nil when they did not run.
	nodes *nodeRun
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
func NewState(cfg Config, reads *trace.Reads, agents trace.AgentProvider) *State {
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 3 * time.Second
	}
	if cfg.MaxEndpoints <= 0 {
		cfg.MaxEndpoints = 16
	}
	if cfg.ProxyRetryDelay == 0 {
		cfg.ProxyRetryDelay = 2 * time.Second
	}
	if cfg.RestartWindow == 0 {
		cfg.RestartWindow = DefaultRestartWindow
	}
	return &State{Config: cfg, Reads: reads, Agent: trace.AgentSlot{Provider: agents}}
}

// agentFor returns the agent, acquiring it on first use.
func (st *State) agentFor(ctx context.Context) (trace.Agent, *trace.Source, error) {
	ag, src, err := st.Agent.Get(ctx, st.Namespace)
	if err != nil {
		return nil, src, err
	}
	if st.batch == nil {
		st.batch = newBatchAgent(ag)
	}
	return st.batch, src, nil
}

// AgentFor returns the agent and where it runs, acquiring it on first use (for the focused
// commands that run their own checks).
func (st *State) AgentFor(ctx context.Context) (trace.Agent, *trace.Source, error) {
	return st.agentFor(ctx)
}

// AgentSource returns where the agent runs, when it was acquired.
func (st *State) AgentSource() (*trace.Source, bool) { return st.Agent.Acquired() }
