package trace

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"

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
// starts lazily).
type AgentProvider interface {
	Agent(ctx context.Context) (Agent, *Source, error)
}

// AgentSlot acquires the agent of one trace at most once, the first time a hop asks; its error is
// remembered. The zero value, or one without a Provider, has no agent (static traces).
type AgentSlot struct {
	Provider AgentProvider

	done   bool
	agent  Agent
	source *Source
	err    error
}

// ErrNoAgent is the error of a slot without a provider.
var ErrNoAgent error = noAgentError{}

type noAgentError struct{}

func (noAgentError) Error() string { return "no helper pod in this mode" }

// Get returns the agent and where it runs, acquiring it on first use. namespace names the source
// when it could not be acquired.
func (s *AgentSlot) Get(ctx context.Context, namespace string) (Agent, *Source, error) {
	if !s.done {
		s.done = true
		if s.Provider == nil {
			s.err = ErrNoAgent
		} else {
			s.agent, s.source, s.err = s.Provider.Agent(ctx)
		}
		if s.source == nil {
			s.source = &Source{Description: "the helper", Namespace: namespace}
		}
	}
	return s.agent, s.source, s.err
}

// Acquired returns where the agent runs when it was acquired successfully.
func (s *AgentSlot) Acquired() (*Source, bool) {
	if s.done && s.err == nil && s.source != nil {
		return s.source, true
	}
	return nil, false
}

// Shared returns a provider that acquires p's agent once, for every trace that asks (the traces of
// the Services of one namespace share one helper pod), safely from many goroutines. The agent it
// hands out merges the requests that wait into fewer execs (Coalesce).
func Shared(p AgentProvider) AgentProvider { return &sharedProvider{p: p} }

type sharedProvider struct {
	p    AgentProvider
	once sync.Once
	a    Agent
	src  *Source
	err  error
}

func (s *sharedProvider) Agent(ctx context.Context) (Agent, *Source, error) {
	s.once.Do(func() {
		s.a, s.src, s.err = s.p.Agent(ctx)
		if s.err == nil && s.a != nil {
			s.a = Coalesce(s.a)
		}
	})
	return s.a, s.src, s.err
}
