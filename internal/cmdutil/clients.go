package cmdutil

import (
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// DefaultRequestTimeout bounds every API request when --request-timeout is not given: no command
// waits longer than this on an API server that accepts connections but never answers.
const DefaultRequestTimeout = 15 * time.Second

// Factory gives a command its cluster clients. The composition root builds the one implementation
// from the kubectl flags (cmd/kubectl-svc_doctor/app); tests pass their own. Commands that talk to a
// cluster add the kubeconfig flags to their own flag set with AddFlags, so that commands that do
// not (rules, explain, version, completion) do not list them.
type Factory interface {
	// Clients builds the clients the first time and returns the same ones afterwards. Its error
	// names the kubeconfig file or context at fault and says what to do.
	Clients() (*Clients, error)
	// Namespace is -n, else the namespace of the kubeconfig's context, else "default"; explicit is
	// true when -n was given. It needs no cluster.
	Namespace() (ns string, explicit bool)
	// AddFlags adds the kubeconfig flags (--kubeconfig, --context, -n, --request-timeout, ...).
	AddFlags(fs *pflag.FlagSet)
}

// Clients are the cluster clients of one run, built once from the kubectl flags.
type Clients struct {
	// Config is the REST config the clients were built from (exec streams need it).
	Config *rest.Config
	Kube   kubernetes.Interface
	// Gateway reads the Gateway API (gateway.networking.k8s.io) through the same config; nil when
	// a test does not provide one (the Gateway API is then not read).
	Gateway gatewayclient.Interface
	// Namespace is -n, or the kubeconfig context's namespace, or "default".
	Namespace string
	// ExplicitNamespace is true when -n was given.
	ExplicitNamespace bool
	// Server is the API server's URL, for messages.
	Server string
	// RequestTimeout bounds each request (--request-timeout, else DefaultRequestTimeout).
	RequestTimeout time.Duration
	// Requests returns how many HTTP requests the clients sent to the API server (nil: not
	// counted).
	Requests func() int64
}

// RequestCount returns how many HTTP requests the clients sent.
func (c *Clients) RequestCount() int64 {
	if c == nil || c.Requests == nil {
		return 0
	}
	return c.Requests()
}

// StaticFactory is a Factory over clients built elsewhere, for tests: AddFlags adds only
// -n/--namespace.
type StaticFactory struct {
	C   *Clients
	Err error
	ns  string
}

// Clients implements Factory.
func (f *StaticFactory) Clients() (*Clients, error) { return f.C, f.Err }

// Namespace implements Factory.
func (f *StaticFactory) Namespace() (string, bool) {
	switch {
	case f.ns != "":
		return f.ns, true
	case f.C != nil && f.C.Namespace != "":
		return f.C.Namespace, f.C.ExplicitNamespace
	}
	return "default", false
}

// AddFlags implements Factory.
func (f *StaticFactory) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&f.ns, "namespace", "n", "", "namespace")
}
