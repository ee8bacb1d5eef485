package diagnose

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/svc-doctor/svc-doctor/helper"
	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/servicetrace"
)

// The per-node checks of diagnose (see trace/servicetrace/nodes.go): flags, and the helper pods
// pinned to nodes. Each costs what the main helper costs (create, watch, one exec, delete), and
// the per-node hop reads the nodes (one LIST, when the exposure hop did not) and runs one more
// exec on the main helper: a healthy Service costs 14 API requests from two nodes against 8 from
// one, and each further node 4 (TestMultiNodeDiagnosisCost).

// nodeFlags are the flags of the per-node checks.
type nodeFlags struct {
	// Nodes is --nodes: "" (chosen automatically), "all", "none" or a comma-separated list.
	Nodes    string
	MaxNodes int
}

func (n *nodeFlags) addFlags(f *pflag.FlagSet) {
	f.StringVar(&n.Nodes, "nodes", "", "run the network checks from a helper on each of these nodes too: a,b | all | none (default: when the ready endpoints span nodes or the Service has node ports or a Local traffic policy, the helper's node and the endpoints' nodes)")
	f.IntVar(&n.MaxNodes, "max-nodes", servicetrace.DefaultMaxNodes, "at most this many nodes when --nodes chooses them")
}

func (n *nodeFlags) validate(name string) error {
	if n.MaxNodes < 1 || n.MaxNodes > servicetrace.MaxNodesAll {
		return cmdutil.UsageError("--max-nodes %d: use 1 to %d", n.MaxNodes, servicetrace.MaxNodesAll)
	}
	if n.Nodes == "" {
		return nil
	}
	if name == "" {
		return cmdutil.UsageError("--nodes applies to the diagnosis of one Service (svc/NAME)")
	}
	switch n.Nodes {
	case "all", "none":
		return nil
	}
	names := strings.Split(n.Nodes, ",")
	if len(names) > servicetrace.MaxNodesAll {
		return cmdutil.UsageError("--nodes names %d nodes: at most %d (or all)", len(names), servicetrace.MaxNodesAll)
	}
	for _, s := range names {
		if errs := validation.IsDNS1123Subdomain(s); len(errs) > 0 {
			return cmdutil.UsageError("--nodes %q: %q is not a node name (%s); write a,b, all or none", n.Nodes, s, strings.Join(errs, "; "))
		}
	}
	return nil
}

func (n *nodeFlags) options(agents servicetrace.NodeAgents) servicetrace.NodeOptions {
	opts := servicetrace.NodeOptions{Max: n.MaxNodes, Agents: agents}
	switch n.Nodes {
	case "":
	case "all":
		opts.All = true
	case "none":
		opts.Off = true
	default:
		opts.Nodes = strings.Split(n.Nodes, ",")
	}
	return opts
}

// nodeHelpers starts a helper pod pinned to each node asked for (servicetrace.NodeAgents) and
// deletes them all on Close.
type nodeHelpers struct {
	o      *Options
	errOut *lockedWriter // the helpers start at the same time

	mu       sync.Mutex
	sessions []*helper.Session
}

// AgentOn starts a helper pod on node.
func (n *nodeHelpers) AgentOn(ctx context.Context, node string) (trace.Agent, *trace.Source, error) {
	flags := n.o.Helper
	flags.KeepHelper, flags.From = false, "" // always a fresh pod, always deleted
	s := &helper.Session{Client: n.o.Client, Config: n.o.Config, Namespace: n.o.Namespace, Flags: flags,
		Reason: fmt.Sprintf("diagnose svc/%s from node %s", n.o.Name, node), ErrOut: n.errOut, Exec: n.o.HelperExec, NodeName: node}
	n.mu.Lock()
	n.sessions = append(n.sessions, s)
	n.mu.Unlock()
	ag, src, err := s.Agent(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("helper pod on node %s: %w", node, err)
	}
	return ag, src, nil
}

// Close deletes every helper pod, at the same time (with a fresh context: after Ctrl-C too).
func (n *nodeHelpers) Close(ctx context.Context) error {
	n.mu.Lock()
	sessions := n.sessions
	n.sessions = nil
	n.mu.Unlock()
	errs := make([]error, len(sessions))
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Close(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// nodeAgents returns what starts the per-node helpers: the injected one (tests) or helper pods.
func (o *Options) nodeAgents() (servicetrace.NodeAgents, func(context.Context) error) {
	if o.NodeAgents != nil {
		return o.NodeAgents, func(context.Context) error { return nil }
	}
	n := &nodeHelpers{o: o, errOut: &lockedWriter{w: o.ErrOut}}
	return n, n.Close
}
