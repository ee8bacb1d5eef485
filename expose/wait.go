package expose

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// EndpointsStatus sums up a Service's EndpointSlices. Terminating endpoints are left out; an
// endpoint present in several slices (dual-stack) counts once; for a Service with ports, slices
// without ports (pods on which no targetPort resolves) do not count.
type EndpointsStatus struct {
	Ready, Total int
	// NotReady names the endpoints that are not ready: pod/NAME (IP), or the IP.
	NotReady []string
	// Unserved names the Service ports that no ready endpoint serves.
	Unserved []string
}

func (s EndpointsStatus) String() string {
	return fmt.Sprintf("%d/%d endpoints ready", s.Ready, s.Total)
}

// Served is true when there is a ready endpoint for every port of the Service.
func (s EndpointsStatus) Served() bool { return s.Ready > 0 && len(s.Unserved) == 0 }

// SummarizeSlices counts the endpoints of a Service's slices, for its ports.
func SummarizeSlices(slices []*discoveryv1.EndpointSlice, ports []corev1.ServicePort) EndpointsStatus {
	var st EndpointsStatus
	seen := map[string]bool{}
	served := map[string]bool{}
	for _, es := range slices {
		if len(ports) > 0 && len(es.Ports) == 0 {
			continue
		}
		for _, e := range es.Endpoints {
			if e.Conditions.Terminating != nil && *e.Conditions.Terminating {
				continue
			}
			ready := e.Conditions.Ready == nil || *e.Conditions.Ready
			if ready {
				for _, p := range es.Ports {
					if p.Name != nil {
						served[*p.Name] = true
					} else {
						served[""] = true
					}
				}
			}
			key, label := strings.Join(e.Addresses, ","), strings.Join(e.Addresses, ",")
			if e.TargetRef != nil && e.TargetRef.Name != "" {
				key = e.TargetRef.Kind + "/" + e.TargetRef.Name
				label = strings.ToLower(e.TargetRef.Kind) + "/" + e.TargetRef.Name + " (" + label + ")"
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			st.Total++
			if ready {
				st.Ready++
			} else {
				st.NotReady = append(st.NotReady, label)
			}
		}
	}
	for _, sp := range ports {
		if !served[sp.Name] {
			st.Unserved = append(st.Unserved, portName(sp))
		}
	}
	sort.Strings(st.NotReady)
	return st
}

// portName names a Service port in messages: http (80/TCP).
func portName(sp corev1.ServicePort) string {
	s := fmt.Sprintf("%d/%s", sp.Port, sp.Protocol)
	if sp.Name == "" {
		return s
	}
	return sp.Name + " (" + s + ")"
}

// WaitResult is what the after-check saw.
type WaitResult struct {
	OK      bool
	Elapsed time.Duration
	// Endpoints is set when waiting for a Service.
	Endpoints EndpointsStatus
	// Addresses is set when waiting for an Ingress.
	Addresses []string
}

// errTimeout ends a wait whose deadline passed.
var errTimeout = errors.New("timed out")

// WaitEndpoints watches the EndpointSlices of a Service until every port has a ready endpoint,
// then for up to settle more until all endpoints are ready (so that the report says 3/3 rather
// than 1/3 when the others are a moment behind), or until timeout. It lists once and then
// watches; it never polls.
//
//nolint:funlen // one list-then-watch loop: its closures (result, done, relist) share the slices seen and the resourceVersion with the watch
func WaitEndpoints(ctx context.Context, cs kubernetes.Interface, ns, service string, ports []corev1.ServicePort, timeout, settle time.Duration) (WaitResult, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sel := discoveryv1.LabelServiceName + "=" + service
	state := map[string]*discoveryv1.EndpointSlice{}
	var settleC <-chan time.Time
	result := func(ok bool) WaitResult {
		slices := make([]*discoveryv1.EndpointSlice, 0, len(state))
		for _, es := range state {
			slices = append(slices, es)
		}
		return WaitResult{OK: ok, Elapsed: time.Since(start), Endpoints: SummarizeSlices(slices, ports)}
	}
	done := func() bool {
		st := result(false).Endpoints
		if st.Served() && st.Ready == st.Total {
			return true
		}
		if st.Served() && settleC == nil {
			settleC = time.After(settle)
		}
		return false
	}
	rv := ""
	relist := func() error {
		l, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return err
		}
		clear(state)
		for i := range l.Items {
			if l.Items[i].Labels[discoveryv1.LabelServiceName] == service {
				state[l.Items[i].Name] = &l.Items[i]
			}
		}
		rv = l.ResourceVersion
		return nil
	}
	if err := relist(); err != nil {
		return result(false), waitErr(ctx, err)
	}
	if done() {
		return result(true), nil
	}
	for {
		w, err := cs.DiscoveryV1().EndpointSlices(ns).Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			return result(false), waitErr(ctx, err)
		}
		gone, err := func() (bool, error) {
			defer w.Stop()
			for {
				select {
				case ev, open := <-w.ResultChan():
					if !open {
						return false, nil // watch ended (server timeout): watch again from rv
					}
					switch ev.Type {
					case watch.Added, watch.Modified:
						if es, ok := ev.Object.(*discoveryv1.EndpointSlice); ok && es.Labels[discoveryv1.LabelServiceName] == service {
							state[es.Name], rv = es, es.ResourceVersion
						}
					case watch.Deleted:
						if es, ok := ev.Object.(*discoveryv1.EndpointSlice); ok {
							delete(state, es.Name)
							rv = es.ResourceVersion
						}
					case watch.Bookmark:
						if es, ok := ev.Object.(*discoveryv1.EndpointSlice); ok {
							rv = es.ResourceVersion
						}
					case watch.Error:
						return true, apierrors.FromObject(ev.Object)
					}
					if done() {
						return false, errDone
					}
				case <-settleC:
					return false, errDone
				case <-ctx.Done():
					return false, ctx.Err()
				}
			}
		}()
		switch {
		case errors.Is(err, errDone):
			return result(true), nil
		case gone:
			if err := relist(); err != nil { // 410 Gone: the resource version is too old
				return result(false), waitErr(ctx, err)
			}
			if done() {
				return result(true), nil
			}
		case err != nil:
			return result(false), waitErr(ctx, err)
		}
	}
}

var errDone = errors.New("done")

func waitErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errTimeout
	}
	return err
}

// ingressAddresses lists the addresses an Ingress controller published in the status.
func ingressAddresses(ing *networkingv1.Ingress) []string {
	var out []string
	for _, a := range ing.Status.LoadBalancer.Ingress {
		switch {
		case a.IP != "":
			out = append(out, a.IP)
		case a.Hostname != "":
			out = append(out, a.Hostname)
		}
	}
	return out
}

// WaitIngress watches an Ingress until its controller publishes an address, or until timeout.
func WaitIngress(ctx context.Context, cs kubernetes.Interface, ns, name string, timeout time.Duration) (WaitResult, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := func(addrs []string) WaitResult {
		return WaitResult{OK: len(addrs) > 0, Elapsed: time.Since(start), Addresses: addrs}
	}
	fs := fields.OneTermEqualSelector("metadata.name", name).String()
	for {
		l, err := cs.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{FieldSelector: fs})
		if err != nil {
			return res(nil), waitErr(ctx, err)
		}
		for i := range l.Items {
			if l.Items[i].Name == name {
				if a := ingressAddresses(&l.Items[i]); len(a) > 0 {
					return res(a), nil
				}
			}
		}
		w, err := cs.NetworkingV1().Ingresses(ns).Watch(ctx, metav1.ListOptions{FieldSelector: fs, ResourceVersion: l.ResourceVersion})
		if err != nil {
			return res(nil), waitErr(ctx, err)
		}
		addrs, err := func() ([]string, error) {
			defer w.Stop()
			for {
				select {
				case ev, open := <-w.ResultChan():
					if !open {
						return nil, nil
					}
					if ev.Type == watch.Error {
						return nil, nil // relist
					}
					if ing, ok := ev.Object.(*networkingv1.Ingress); ok && ing.Name == name {
						if a := ingressAddresses(ing); len(a) > 0 {
							return a, nil
						}
					}
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
		}()
		if len(addrs) > 0 {
			return res(addrs), nil
		}
		if err != nil {
			return res(nil), waitErr(ctx, err)
		}
	}
}

// roundDuration prints 40ms, 4.2s, 61s, 2m3s.
func roundDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(10 * time.Millisecond).String()
	}
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
