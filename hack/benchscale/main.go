// Command benchscale measures `kubectl-svc_doctor diagnose` over many Services of the local test
// cluster (hack/cluster), as hack/bench-scale.sh runs it:
//
//   - static: -services Services and -pods pods as API objects only, in namespaces of their own
//     (-per-namespace Services each); the pods carry a scheduling gate, so they are never scheduled
//     and never run, and no Node object is faked; the Services carry
//     service.kubernetes.io/service-proxy-name, so kube-proxy does not program them. Then `diagnose -A --static` (-o json, then the
//     table) runs -runs times each.
//   - network: -services real Services with one test server pod each, in one namespace, all pods
//     ready; then `diagnose -n NS` with the network checks (one helper pod) runs -runs times.
//
// For every run it prints the wall time, the maximum RSS of the child (its rusage), the number of
// API requests (--stats), the exit code and the size of the output. Every object it created is
// deleted at the end (on Ctrl-C too), and it waits until its namespaces are gone.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// RunLabel marks every namespace of a run (its value is -run-id), so that a crashed run's
// namespaces can be found and deleted: kubectl delete namespace -l svc-doctor.io/bench-scale.
const RunLabel = "svc-doctor.io/bench-scale"

// proxyNameLabel names the proxy that handles a Service; kube-proxy skips Services that carry it.
const proxyNameLabel = "service.kubernetes.io/service-proxy-name"

// gate keeps the static benchmark's pods unscheduled API objects.
const gate = "svc-doctor.io/bench-never-schedule"

type config struct {
	mode         string
	bin          string
	kubeconfig   string
	runID        string
	services     int
	pods         int
	perNamespace int
	workers      int
	runs         int
	parallel     int
	testserver   string
	agent        string
	cleanupOnly  bool
	keep         bool
	reuse        bool
}

func main() {
	var c config
	flag.StringVar(&c.mode, "mode", "static", "static (API objects only, diagnose -A --static) or network (real pods, diagnose -n NS)")
	flag.StringVar(&c.bin, "bin", "", "path of kubectl-svc_doctor (required)")
	flag.StringVar(&c.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the test cluster")
	flag.StringVar(&c.runID, "run-id", strconv.Itoa(os.Getpid()), "value of the "+RunLabel+" label of this run's namespaces")
	flag.IntVar(&c.services, "services", 2000, "number of Services")
	flag.IntVar(&c.pods, "pods", 10000, "number of pods (static; network: one per Service)")
	flag.IntVar(&c.perNamespace, "per-namespace", 100, "Services per namespace (static)")
	flag.IntVar(&c.workers, "workers", 48, "concurrent create requests")
	flag.IntVar(&c.runs, "runs", 2, "runs of each diagnose command")
	flag.IntVar(&c.parallel, "parallel", 0, "--parallel of diagnose (0: its default)")
	flag.StringVar(&c.testserver, "testserver-image", "localhost/svc-doctor/testserver:dev", "image of the pods")
	flag.StringVar(&c.agent, "agent-image", "ghcr.io/svc-doctor/agent:dev", "image of the helper pods (network)")
	flag.BoolVar(&c.cleanupOnly, "cleanup", false, "only delete the namespaces of -run-id (every run's with -run-id '')")
	flag.BoolVar(&c.keep, "keep", false, "static: leave the objects behind (measure other builds on them with -reuse; delete with -cleanup)")
	flag.BoolVar(&c.reuse, "reuse", false, "static: measure the objects a -keep run of the same -run-id and sizes left, creating nothing")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.bin == "" && !c.cleanupOnly {
		return errors.New("-bin is required")
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: c.kubeconfig}, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig %q: %w", c.kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 2000, 4000
	cfg.Timeout = time.Minute
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	b := &bench{c: c, client: client}
	if c.cleanupOnly {
		return b.cleanup()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() {
		if c.keep || c.reuse {
			logf("left the namespaces of run %s (delete them with -cleanup -run-id %s)", c.runID, c.runID)
			return
		}
		if cerr := b.cleanup(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	switch c.mode {
	case "static":
		return b.static(ctx)
	case "network":
		return b.network(ctx)
	}
	return fmt.Errorf("-mode %q: static or network", c.mode)
}

type bench struct {
	c      config
	client kubernetes.Interface
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (b *bench) namespace(i int) string { return fmt.Sprintf("svcdoc-scale-%s-%03d", b.c.runID, i) }

func (b *bench) createNamespaces(ctx context.Context, n int) ([]string, error) {
	var names []string
	for i := range n {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.namespace(i), Labels: map[string]string{RunLabel: b.c.runID}}}
		if _, err := b.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return names, fmt.Errorf("create namespace %s: %w", ns.Name, err)
		}
		names = append(names, ns.Name)
	}
	// pods need the namespace's default ServiceAccount (static pods are never admitted to a node,
	// but the ServiceAccount admission still wants it)
	for _, ns := range names {
		if err := poll(ctx, 60*time.Second, func() bool {
			_, err := b.client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err == nil
		}); err != nil {
			return names, fmt.Errorf("default ServiceAccount of %s: %w", ns, err)
		}
	}
	return names, nil
}

// parallel runs fn(0..n-1) on c.workers goroutines and returns the first error.
func (b *bench) parallel(ctx context.Context, what string, n int, fn func(ctx context.Context, i int) error) error {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range b.c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
				if d := done.Add(1); d%5000 == 0 {
					logf("  %s: %d/%d", what, d, n)
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	el := time.Since(start)
	logf("created %d %s in %s (%.0f/s)", n, what, el.Round(time.Millisecond), float64(n)/el.Seconds())
	return nil
}

func service(ns, name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// pod is a test server pod as the e2e framework deploys it (test/e2e/framework: TestserverManifest).
func (b *bench) pod(ns, name, app string, gated bool) *corev1.Pod {
	grace := int64(1)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: "testserver", Image: b.c.testserver, ImagePullPolicy: corev1.PullNever,
				Args:  []string{"serve"},
				Env:   []corev1.EnvVar{{Name: "PORTS", Value: "8080"}},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1, FailureThreshold: 1, SuccessThreshold: 1,
				},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("1m"), corev1.ResourceMemory: resource.MustParse("8Mi")}},
			}},
		},
	}
	if gated {
		p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: gate}}
	}
	return p
}

func (b *bench) static(ctx context.Context) error {
	c := b.c
	nsCount := (c.services + c.perNamespace - 1) / c.perNamespace
	logf("static: %d Services and %d unscheduled pods in %d namespaces (run %s)", c.services, c.pods, nsCount, c.runID)
	if c.reuse {
		return b.measureStatic(ctx, nsCount)
	}
	names, err := b.createNamespaces(ctx, nsCount)
	if err != nil {
		return err
	}
	svcName := func(i int) (string, string) { return names[i/c.perNamespace], fmt.Sprintf("s-%05d", i) }
	if err := b.parallel(ctx, "Services", c.services, func(ctx context.Context, i int) error {
		ns, name := svcName(i)
		svc := service(ns, name)
		// kube-proxy leaves Services with this label alone: they are still ClusterIP Services
		// (an address allocated, an EndpointSlice), but 10,000 of them do not become 10,000 sets of
		// iptables rules rewritten on every change, on both nodes of a 2-core host
		svc.Labels[proxyNameLabel] = "svc-doctor-bench-none"
		_, err := b.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
		return err
	}); err != nil {
		return err
	}
	if err := b.parallel(ctx, "pods", c.pods, func(ctx context.Context, i int) error {
		ns, app := svcName(i % c.services)
		_, err := b.client.CoreV1().Pods(ns).Create(ctx, b.pod(ns, fmt.Sprintf("%s-%d", app, i/c.services), app, true), metav1.CreateOptions{})
		return err
	}); err != nil {
		return err
	}
	if err := b.waitSlices(ctx, names, c.services, false); err != nil {
		return err
	}
	return b.measureStatic(ctx, nsCount)
}

// measureStatic runs diagnose -A --static, as JSON and as a table, c.runs times each.
func (b *bench) measureStatic(ctx context.Context, nsCount int) error {
	c := b.c
	var rows []row
	for _, args := range [][]string{{"-o", "json"}, {}} {
		for i := range c.runs {
			r, err := b.diagnose(ctx, append([]string{"diagnose", "-A", "--static", "--stats"}, args...))
			if err != nil {
				return err
			}
			r.run = i + 1
			rows = append(rows, r)
		}
	}
	printRows(fmt.Sprintf("%d Services, %d pods (unscheduled) in %d namespaces", c.services, c.pods, nsCount), rows)
	return nil
}

func (b *bench) network(ctx context.Context) error {
	c := b.c
	logf("network: %d Services with one test server pod each in one namespace (run %s)", c.services, c.runID)
	names, err := b.createNamespaces(ctx, 1)
	if err != nil {
		return err
	}
	ns := names[0]
	if err := b.parallel(ctx, "Services and pods", c.services, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("web-%03d", i)
		if _, err := b.client.CoreV1().Services(ns).Create(ctx, service(ns, name), metav1.CreateOptions{}); err != nil {
			return err
		}
		_, err := b.client.CoreV1().Pods(ns).Create(ctx, b.pod(ns, name, name, false), metav1.CreateOptions{})
		return err
	}); err != nil {
		return err
	}
	if err := b.waitSlices(ctx, names, c.services, true); err != nil {
		return err
	}
	args := []string{"diagnose", "-n", ns, "--stats", "--image", c.agent, "--image-pull-policy", "Never"}
	if c.parallel > 0 {
		args = append(args, "--parallel", strconv.Itoa(c.parallel))
	}
	var rows []row
	for i := range c.runs {
		r, err := b.diagnose(ctx, args)
		if err != nil {
			return err
		}
		r.run = i + 1
		rows = append(rows, r)
	}
	printRows(fmt.Sprintf("%d Services with one ready pod each, network checks (helper pod)", c.services), rows)
	return nil
}

// waitSlices waits until the EndpointSlice controller has caught up: one slice per Service, and with
// ready, one ready endpoint per Service.
func (b *bench) waitSlices(ctx context.Context, namespaces []string, services int, ready bool) error {
	start := time.Now()
	what := "an EndpointSlice for every Service"
	if ready {
		what = "a ready endpoint for every Service"
	}
	last := -1
	err := poll(ctx, 15*time.Minute, func() bool {
		seen := map[string]bool{}
		for _, ns := range namespaces {
			cont := ""
			for {
				l, err := b.client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{Limit: 500, Continue: cont})
				if err != nil {
					return false
				}
				for _, s := range l.Items {
					if !ready || anyReady(s.Endpoints) {
						seen[ns+"/"+s.Labels[discoveryv1.LabelServiceName]] = true
					}
				}
				if cont = l.Continue; cont == "" {
					break
				}
			}
		}
		if len(seen) != last {
			last = len(seen)
			logf("  waiting for %s: %d/%d", what, last, services)
		}
		return len(seen) >= services
	})
	if err != nil {
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	logf("%s after %s", what, time.Since(start).Round(time.Second))
	return nil
}

func anyReady(eps []discoveryv1.Endpoint) bool {
	for _, e := range eps {
		if e.Conditions.Ready != nil && *e.Conditions.Ready {
			return true
		}
	}
	return false
}

type row struct {
	args     string
	run      int
	wall     time.Duration
	maxRSS   int64 // KiB
	requests string
	exit     int
	outBytes int
}

var requestsLine = regexp.MustCompile(`(?m)^(\d+) API requests in `)

// diagnose runs the binary once and measures it from outside: wall time and the child's rusage.
func (b *bench) diagnose(ctx context.Context, args []string) (row, error) {
	cmd := exec.CommandContext(ctx, b.c.bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+b.c.kubeconfig)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := row{args: strings.Join(args, " "), wall: time.Since(start), outBytes: stdout.Len()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.exit = ee.ExitCode()
	default:
		return r, fmt.Errorf("run %s: %w", b.c.bin, err)
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss
	}
	r.requests = "?"
	if m := requestsLine.FindStringSubmatch(stderr.String()); m != nil {
		r.requests = m[1]
	}
	if r.exit > 1 {
		logf("exit %d; stderr:\n%s", r.exit, tail(stderr.String(), 20))
	}
	logf("  %s: %.2f s, %d MiB, %s requests, exit %d", r.args, r.wall.Seconds(), r.maxRSS/1024, r.requests, r.exit)
	return r, nil
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func printRows(title string, rows []row) {
	fmt.Printf("\n%s\n", title)
	fmt.Printf("%-80s %4s %9s %8s %9s %5s %10s\n", "COMMAND", "RUN", "WALL(s)", "RSS(MiB)", "REQUESTS", "EXIT", "STDOUT(KB)")
	for _, r := range rows {
		fmt.Printf("%-80s %4d %9.2f %8d %9s %5d %10d\n", "kubectl-svc_doctor "+r.args, r.run, r.wall.Seconds(), r.maxRSS/1024, r.requests, r.exit, r.outBytes/1024)
	}
}

// cleanup deletes this run's namespaces (every run's when -run-id is empty) and waits until they
// are gone; it uses a context of its own, so that it also runs after Ctrl-C.
func (b *bench) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	sel := RunLabel
	if b.c.runID != "" {
		sel = RunLabel + "=" + b.c.runID
	}
	l, err := b.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("cleanup: list namespaces %s: %w", sel, err)
	}
	if len(l.Items) == 0 {
		return nil
	}
	start := time.Now()
	logf("deleting %d namespaces (%s)...", len(l.Items), sel)
	for _, ns := range l.Items {
		err := b.client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("cleanup: delete namespace %s: %w", ns.Name, err)
		}
	}
	err = poll(ctx, 15*time.Minute, func() bool {
		l, err := b.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sel})
		return err == nil && len(l.Items) == 0
	})
	if err != nil {
		return fmt.Errorf("cleanup: namespaces %s still there: %w", sel, err)
	}
	logf("namespaces deleted in %s", time.Since(start).Round(time.Second))
	return nil
}

// poll calls cond every second until it is true, timeout passes or ctx ends.
func poll(ctx context.Context, timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
