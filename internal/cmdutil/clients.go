package cmdutil

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Clients are the cluster clients a command uses, built once from the kubectl flags.
type Clients struct {
	Config *rest.Config
	Kube   kubernetes.Interface
	// Namespace is -n, or the kubeconfig context's namespace, or "default".
	Namespace string
	// ExplicitNamespace is true when -n was given.
	ExplicitNamespace bool
	requests          *atomic.Int64
}

// Requests returns how many HTTP requests the clients sent to the API server.
func (c *Clients) Requests() int64 {
	if c == nil || c.requests == nil {
		return 0
	}
	return c.requests.Load()
}

// NewClients builds clients from the kubectl flags. Requests are counted (for -v output) and
// API server deprecation warnings are dropped (svc-doctor reports deprecations itself).
func NewClients(kube *genericclioptions.ConfigFlags, timeout time.Duration) (*Clients, error) {
	cfg, err := kube.ToRESTConfig()
	if err != nil {
		return nil, Incomplete(fmt.Errorf("reading the kubeconfig: %w (set KUBECONFIG or pass --kubeconfig)", err))
	}
	cfg = rest.CopyConfig(cfg)
	if timeout > 0 && cfg.Timeout == 0 {
		cfg.Timeout = timeout
	}
	cfg.WarningHandler = rest.NoWarnings{}
	counter := &atomic.Int64{}
	prev := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return countingTransport{rt: rt, n: counter}
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, Incomplete(fmt.Errorf("creating the Kubernetes client: %w", err))
	}
	ns, explicit, err := kube.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, Incomplete(fmt.Errorf("reading the namespace from the kubeconfig: %w", err))
	}
	if ns == "" {
		ns = "default"
	}
	return &Clients{Config: cfg, Kube: cs, Namespace: ns, ExplicitNamespace: explicit, requests: counter}, nil
}

type countingTransport struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.rt.RoundTrip(r)
}
