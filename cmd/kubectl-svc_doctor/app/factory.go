package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/internal/version"
	"github.com/svc-doctor/svc-doctor/live"
)

// factory is the one cmdutil.Factory of the CLI, and the one place that constructs Kubernetes
// clientsets: it sets the request timeout, the user agent, request counting and the guard that
// fails fast once the API server stopped answering.
type factory struct {
	flags *genericclioptions.ConfigFlags
	// defaultTimeout bounds each request when --request-timeout is not given.
	defaultTimeout time.Duration

	once    sync.Once
	clients *cmdutil.Clients
	err     error
}

func newFactory() *factory {
	return &factory{flags: genericclioptions.NewConfigFlags(true), defaultTimeout: cmdutil.DefaultRequestTimeout}
}

// AddFlags implements cmdutil.Factory.
func (f *factory) AddFlags(fs *pflag.FlagSet) { f.flags.AddFlags(fs) }

// Namespace implements cmdutil.Factory.
func (f *factory) Namespace() (string, bool) {
	ns, explicit, err := f.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil || ns == "" {
		ns = "default"
	}
	if f.flags.Namespace != nil && *f.flags.Namespace != "" {
		return *f.flags.Namespace, true
	}
	return ns, explicit
}

// Clients implements cmdutil.Factory.
func (f *factory) Clients() (*cmdutil.Clients, error) {
	f.once.Do(func() { f.clients, f.err = f.build() })
	return f.clients, f.err
}

func (f *factory) build() (*cmdutil.Clients, error) {
	if err := f.checkKubeconfig(); err != nil {
		return nil, cmdutil.AsUsage(err)
	}
	cfg, err := f.flags.ToRESTConfig()
	if err != nil {
		return nil, cmdutil.Incomplete(fmt.Errorf("reading the kubeconfig: %w (pass --kubeconfig or set KUBECONFIG)", err))
	}
	cfg = rest.CopyConfig(cfg)
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = f.defaultTimeout
	}
	// the guard below applies the timeout to every request; client-go's http.Client must not
	// (its timeout error would hide which server did not answer)
	cfg.Timeout = 0
	cfg.UserAgent = "svc-doctor/" + version.Current()
	// svc-doctor reports deprecated APIs itself
	cfg.WarningHandler = rest.NoWarnings{}
	counter := &atomic.Int64{}
	g := &guard{server: cfg.Host, timeout: timeout, n: counter}
	prev := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return &guardedTransport{rt: rt, g: g}
	}
	if cfg.QPS == 0 && cfg.Burst == 0 {
		// client-go's default (5 requests/s after a burst of 10) would make one paginated LIST of
		// 50,000 pods wait for itself: kubectl's discovery limits instead; the API server's
		// priority and fairness protects it from the rest
		cfg.QPS, cfg.Burst = 50, 300
	}
	// built-in kinds travel as protobuf, as between Kubernetes' own components: about a third of the bytes of JSON and far
	// less to decode and collect on a big LIST; the Gateway API client (custom resources) keeps JSON
	kubeCfg := rest.CopyConfig(cfg)
	kubeCfg.ContentType = runtime.ContentTypeProtobuf
	kubeCfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cs, err := kubernetes.NewForConfig(kubeCfg)
	if err != nil {
		return nil, cmdutil.Incomplete(fmt.Errorf("creating the Kubernetes client for %s: %w", cfg.Host, err))
	}
	gw, err := gatewayclient.NewForConfig(cfg)
	if err != nil {
		return nil, cmdutil.Incomplete(fmt.Errorf("creating the Gateway API client for %s: %w", cfg.Host, err))
	}
	ns, explicit := f.Namespace()
	return &cmdutil.Clients{Config: cfg, Kube: cs, Gateway: gw, Namespace: ns, ExplicitNamespace: explicit, Server: cfg.Host,
		RequestTimeout: timeout, Requests: counter.Load}, nil
}

// checkKubeconfig turns the silent fallbacks of client-go's loader into errors that name the file
// or context at fault: a KUBECONFIG whose files all do not exist (the loader would talk to
// http://localhost:8080), and a --context the kubeconfig does not have.
func (f *factory) checkKubeconfig() error {
	explicit := ""
	if f.flags.KubeConfig != nil {
		explicit = *f.flags.KubeConfig
	}
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return fmt.Errorf("--kubeconfig %s: %w", explicit, unwrapPathError(err))
		}
	} else if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		var missing []string
		found := false
		for _, p := range filepath.SplitList(env) {
			if p == "" {
				continue
			}
			if _, err := os.Stat(p); err == nil {
				found = true
			} else {
				missing = append(missing, p)
			}
		}
		if !found && len(missing) > 0 {
			return fmt.Errorf("KUBECONFIG names %s, which does not exist: point KUBECONFIG at your kubeconfig file, or pass --kubeconfig", strings.Join(missing, ", "))
		}
	}
	if f.flags.Context == nil || *f.flags.Context == "" {
		return nil
	}
	raw, err := f.flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil // the loader reports it with its own words
	}
	want := *f.flags.Context
	if _, ok := raw.Contexts[want]; ok {
		return nil
	}
	names := make([]string, 0, len(raw.Contexts))
	for n := range raw.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	where := explicit
	if where == "" {
		where = strings.Join(existing(f.flags.ToRawKubeConfigLoader().ConfigAccess().GetLoadingPrecedence()), ", ")
	}
	if len(names) == 0 {
		return fmt.Errorf("--context %q: %s has no contexts", want, where)
	}
	return fmt.Errorf("--context %q is not in %s: its contexts are %s", want, where, strings.Join(names, ", "))
}

func existing(files []string) []string {
	var out []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return files
	}
	return out
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// guard is shared by every transport of one run's clients (API requests and exec streams): it
// counts requests and remembers when the API server stopped answering.
type guard struct {
	server  string
	timeout time.Duration
	n       *atomic.Int64
	dead    atomic.Pointer[live.UnresponsiveError]
}

type guardedTransport struct {
	rt http.RoundTripper
	g  *guard
}

// RoundTrip sends r with the request timeout of the run: like http.Client's Timeout, it covers
// the wait for the answer and the reading of its body, but not a connection upgraded for an exec
// stream. A request that got no answer in time trips the guard: every request after it fails at
// once with the same UnresponsiveError (client-go's own http.Client timeout would replace that
// error by a string).
func (t *guardedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.g.n.Add(1)
	if dead := t.g.dead.Load(); dead != nil {
		return nil, dead
	}
	ctx, cancel := context.WithCancel(r.Context())
	var expired atomic.Bool
	timer := time.AfterFunc(t.g.timeout, func() {
		expired.Store(true)
		cancel()
	})
	resp, err := t.rt.RoundTrip(r.WithContext(ctx))
	if err != nil {
		timer.Stop()
		cancel()
		if expired.Load() {
			ue := &live.UnresponsiveError{Server: t.g.server, Timeout: t.g.timeout, Request: r.Method + " " + r.URL.Path, Err: err}
			t.g.dead.CompareAndSwap(nil, ue)
			return nil, ue
		}
		return nil, err
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// an exec stream: it lasts as long as the command in the container (the agent's own
		// time limits bound it)
		timer.Stop()
		return resp, nil
	}
	resp.Body = &timedBody{ReadCloser: resp.Body, stop: func() { timer.Stop(); cancel() }}
	return resp, nil
}

// timedBody releases the request's timer when the body is closed.
type timedBody struct {
	io.ReadCloser
	stop func()
}

func (b *timedBody) Close() error {
	err := b.ReadCloser.Close()
	b.stop()
	return err
}

// CancelRequest passes a cancellation on (client-go asks the transports it wraps).
func (t *guardedTransport) CancelRequest(r *http.Request) {
	if c, ok := t.rt.(interface{ CancelRequest(*http.Request) }); ok {
		c.CancelRequest(r)
	}
}

// WrappedRoundTripper lets client-go see the transport underneath.
func (t *guardedTransport) WrappedRoundTripper() http.RoundTripper { return t.rt }
