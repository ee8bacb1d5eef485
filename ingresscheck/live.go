package ingresscheck

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/svc-doctor/svc-doctor/live"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/ingress"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/semantics"
	"github.com/svc-doctor/svc-doctor/snapshot"
	"github.com/svc-doctor/svc-doctor/trace"
	"github.com/svc-doctor/svc-doctor/trace/servicetrace"
)

// clusterReader reads what a check needs: IngressClasses and Ingresses of every namespace (the
// routes of a class compete across namespaces), then, only for the namespaces the check is about,
// the namespace snapshot of the diagnosis (Services, EndpointSlices, pods, TLS Secrets: one LIST
// per kind, shared with the diagnose hops), and the controllers' workloads, pods and Services.
type clusterReader struct {
	client kubernetes.Interface
	// gw reads the Gateway API (nil: not read).
	gw     gatewayclient.Interface
	errOut io.Writer
	reads  map[string]*trace.Reads
	cfg    rules.Config
	// degraded lists the reads that failed (each was printed as a warning): the check is then
	// incomplete.
	degraded []string

	// workloads are the Deployments and DaemonSets of all namespaces (listed once, when a
	// controller is looked for); workloadsWhy the reads that failed.
	workloads     []ingress.Workload
	workloadsRead bool
	workloadsWhy  []string
	// services and pods are the Services and pods of the namespaces that run a controller or a
	// Gateway, listed once each.
	services map[string][]corev1.Service
	pods     map[string][]corev1.Pod
	podsWhy  map[string]string
}

const pageSize = 500

func newClusterReader(client kubernetes.Interface, gw gatewayclient.Interface, errOut io.Writer, cfg rules.Config) *clusterReader {
	return &clusterReader{client: client, gw: gw, errOut: errOut, reads: map[string]*trace.Reads{}, cfg: cfg,
		services: map[string][]corev1.Service{}, pods: map[string][]corev1.Pod{}, podsWhy: map[string]string{}}
}

// snapshot reads the objects for target. defaultNS is -n (or the kubeconfig's namespace); scope is
// the namespace of "every Ingress" ("" with -A).
func (cr *clusterReader) snapshot(ctx context.Context, t ingress.Target, defaultNS, scope string) (*snapshot.Snapshot, map[string]bool, error) {
	s := &snapshot.Snapshot{Live: true, DefaultNamespace: defaultNS, Unavailable: map[string]snapshot.Unread{}}
	fmt.Fprintln(cr.errOut, "reading IngressClasses and the Ingresses of all namespaces...")
	classes, err := live.ListAll(ctx, pageSize, func(ctx context.Context, lo metav1.ListOptions) ([]networkingv1.IngressClass, string, error) {
		l, err := cr.client.NetworkingV1().IngressClasses().List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		s.Unavailable["IngressClass"] = live.UnreadOf(err, "list", "ingressclasses", "")
		fmt.Fprintf(cr.errOut, "warning: IngressClasses not read: %s\n", s.Unavailable["IngressClass"].Detail)
	}
	for i := range classes {
		v := &classes[i]
		s.IngressClasses = append(s.IngressClasses, &snapshot.IngressClass{IngressClass: v, Src: snapshot.LiveSource("networking.k8s.io/v1", "IngressClass", &v.ObjectMeta)})
	}
	ingNS := ""
	ings, err := cr.listIngresses(ctx, "")
	if apierrors.IsForbidden(err) {
		ingNS = defaultNS
		if t.Namespace != "" {
			ingNS = t.Namespace
		}
		fmt.Fprintf(cr.errOut, "warning: cannot list Ingresses in all namespaces (%s): only namespace %s is considered; routes of other namespaces may take precedence\n",
			live.DescribeAPIError(err, "list", "ingresses", ""), ingNS)
		ings, err = cr.listIngresses(ctx, ingNS)
	}
	if err != nil {
		if len(classes) == 0 {
			return nil, nil, fmt.Errorf("could not read Ingresses: %s", live.DescribeAPIError(err, "list", "ingresses", ingNS))
		}
		s.Unavailable["Ingress"] = live.UnreadOf(err, "list", "ingresses", ingNS)
	}
	for i := range ings {
		v := &ings[i]
		s.Ingresses = append(s.Ingresses, &snapshot.Ingress{Ingress: v, Src: snapshot.LiveSource("networking.k8s.io/v1", "Ingress", &v.ObjectMeta)})
	}
	s.Index()
	s = cr.readGatewayAPI(ctx, s)
	namespaces := cr.relevantNamespaces(s, t, defaultNS, scope)
	read := map[string]bool{}
	unavailable := map[string][]snapshot.Unread{}
	var parts []*snapshot.Snapshot
	for _, ns := range namespaces {
		fmt.Fprintf(cr.errOut, "reading namespace %s (Services, EndpointSlices, pods, TLS Secrets)...\n", ns)
		nsSnap, err := cr.readsFor(ns).Snapshot(ctx)
		if err != nil {
			fmt.Fprintf(cr.errOut, "warning: namespace %s not read: %v\n", ns, err)
			continue
		}
		read[ns] = true
		// the namespace's objects; its Ingresses and IngressClasses are those read above, and so
		// are the listener certificates of the Gateways
		var secrets []*snapshot.Secret
		for _, sec := range nsSnap.Secrets {
			if s.Secret(sec.Src.Ref.Namespace, sec.Src.Ref.Name) == nil {
				secrets = append(secrets, sec)
			}
		}
		parts = append(parts, &snapshot.Snapshot{Services: nsSnap.Services, EndpointSlices: nsSnap.EndpointSlices,
			Workloads: nsSnap.Workloads, Secrets: secrets, NetworkPolicies: nsSnap.NetworkPolicies})
		for kind, why := range nsSnap.Unavailable {
			if kind != "Ingress" && kind != "IngressClass" {
				unavailable[kind] = append(unavailable[kind], why)
			}
		}
	}
	marks := map[string]snapshot.Unread{}
	for kind, whys := range unavailable {
		// a kind read in one namespace and not asked for (nothing to read) in another is complete
		if len(whys) < len(read) && allNotRead(whys) {
			continue
		}
		marks[kind] = whys[0]
	}
	if refs := s.GatewayAPI.Refs; refs != nil {
		refs.Namespaces = read // the Services of other namespaces were not read
	}
	return snapshot.Merge(s, marks, parts...), read, nil
}

// readGatewayAPI reads the Gateway API objects of all namespaces (the routes attached to a
// Gateway compete across namespaces) and the listener certificates by name.
func (cr *clusterReader) readGatewayAPI(ctx context.Context, s *snapshot.Snapshot) *snapshot.Snapshot {
	if cr.gw == nil {
		marks := map[string]snapshot.Unread{}
		live.NotRequestedGateway(marks, "no Gateway API client")
		return snapshot.Merge(s, marks)
	}
	fmt.Fprintln(cr.errOut, "reading the Gateway API objects of all namespaces...")
	rd := live.ReadGatewayAPI(ctx, cr.gw, cr.client, live.GatewayOptions{PageSize: pageSize})
	for kind, u := range rd.Unread {
		if u.Degraded() {
			fmt.Fprintf(cr.errOut, "warning: %s not read: %s\n", kind, u.Detail)
		}
	}
	return snapshot.Merge(s, rd.Unread, rd.Part)
}

func allNotRead(whys []snapshot.Unread) bool {
	for _, w := range whys {
		if w.Degraded() {
			return false
		}
	}
	return true
}

func (cr *clusterReader) readsFor(ns string) *trace.Reads {
	r := cr.reads[ns]
	if r == nil {
		r = trace.NewReads(cr.client, ns)
		r.Rules = cr.cfg
		r.TLSSecrets = true
		cr.reads[ns] = r
	}
	return r
}

func (cr *clusterReader) listIngresses(ctx context.Context, ns string) ([]networkingv1.Ingress, error) {
	return live.ListAll(ctx, pageSize, func(ctx context.Context, lo metav1.ListOptions) ([]networkingv1.Ingress, string, error) {
		l, err := cr.client.NetworkingV1().Ingresses(ns).List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
}

// relevantNamespaces are the namespaces whose Services and Secrets the check needs: those of the
// Ingresses with a rule (or default backend) for the URL, of the named Ingress, or of the scope.
func (cr *clusterReader) relevantNamespaces(s *snapshot.Snapshot, t ingress.Target, defaultNS, scope string) []string {
	set := map[string]bool{}
	switch {
	case t.URL != nil:
		var routes []ingress.Route
		for _, ing := range s.Ingresses {
			routes = append(routes, ingress.Routes(ing.Ingress, semantics.EffectiveClass(s, ing))...)
			if ing.Spec.DefaultBackend != nil {
				set[ing.Namespace] = true
			}
			for _, tl := range ing.Spec.TLS {
				for _, h := range tl.Hosts {
					if ingress.HostMatches(h, t.URL.Host) {
						set[ing.Namespace] = true
					}
				}
			}
		}
		for _, m := range ingress.Match(routes, t.URL.Host, t.URL.Path) {
			set[m.Namespace] = true
		}
	case t.Ingress != "":
		ns := t.Namespace
		if ns == "" {
			ns = defaultNS
		}
		set[ns] = true
	case scope != "":
		set[scope] = true
	default:
		for _, ing := range s.Ingresses {
			set[ing.Namespace] = true
		}
	}
	for ns := range gatewayNamespaces(s, t, defaultNS) {
		set[ns] = true
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// gatewayNamespaces are the namespaces of the backends of the HTTPRoutes a target concerns:
// those whose hostnames take the URL's host (or that name none), httproute/NAME, or the routes
// whose parentRefs name gateway/NAME.
func gatewayNamespaces(s *snapshot.Snapshot, t ingress.Target, defaultNS string) map[string]bool {
	set := map[string]bool{}
	ns := t.Namespace
	if ns == "" {
		ns = defaultNS
	}
	for _, r := range s.HTTPRoutes {
		h := r.HTTPRoute
		switch {
		case t.URL != nil:
			takes := len(h.Spec.Hostnames) == 0
			for _, name := range h.Spec.Hostnames {
				takes = takes || ingress.HostMatches(string(name), t.URL.Host) || ingress.HostMatches(t.URL.Host, string(name))
			}
			if !takes {
				continue
			}
		case t.HTTPRoute != "":
			if h.Namespace != ns || h.Name != t.HTTPRoute {
				continue
			}
		case t.Gateway != "":
			if !namesGateway(h.Namespace, h.Spec.ParentRefs, ns, t.Gateway) {
				continue
			}
		default:
			continue
		}
		set[h.Namespace] = true
		for _, rule := range h.Spec.Rules {
			for _, b := range rule.BackendRefs {
				if b.Namespace != nil {
					set[string(*b.Namespace)] = true
				}
			}
		}
	}
	return set
}

// namesGateway reports whether parentRefs of a route in namespace routeNS name Gateway ns/name.
func namesGateway(routeNS string, refs []gwv1.ParentReference, ns, name string) bool {
	for _, p := range refs {
		pns := routeNS
		if p.Namespace != nil {
			pns = string(*p.Namespace)
		}
		if (p.Kind == nil || *p.Kind == "Gateway") && pns == ns && string(p.Name) == name {
			return true
		}
	}
	return false
}

// diagnose runs the diagnose hops that need no helper (service, selector, ports, readiness,
// endpoints) on one backend Service port, with the namespace reads already made.
func (cr *clusterReader) diagnose(ctx context.Context) func(ns, svc, port string) *report.Verdict {
	return func(ns, svc, port string) *report.Verdict {
		st := servicetrace.NewState(servicetrace.Config{Namespace: ns, Name: svc, Port: port, Static: true}, cr.readsFor(ns), nil)
		var hops []servicetrace.Hop
		for _, h := range servicetrace.StaticHops() {
			if h.ID() != servicetrace.HopExposure {
				hops = append(hops, h)
			}
		}
		v := trace.Conclude(servicetrace.Run(ctx, st, hops))
		return &v
	}
}

// listWorkloads lists the Deployments and DaemonSets of all namespaces once (one LIST each).
func (cr *clusterReader) listWorkloads(ctx context.Context) ([]ingress.Workload, []string) {
	if cr.workloadsRead {
		return cr.workloads, cr.workloadsWhy
	}
	cr.workloadsRead = true
	deps, err := live.ListAll(ctx, pageSize, func(ctx context.Context, lo metav1.ListOptions) ([]appsv1.Deployment, string, error) {
		l, err := cr.client.AppsV1().Deployments("").List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		cr.workloadsWhy = append(cr.workloadsWhy, live.DescribeAPIError(err, "list", "deployments", ""))
	}
	for i := range deps {
		d := &deps[i]
		sel, _ := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		cr.workloads = append(cr.workloads, ingress.Workload{Kind: "Deployment", Namespace: d.Namespace, Name: d.Name, TemplateLabels: d.Spec.Template.Labels, Selector: sel, Spec: &d.Spec.Template.Spec})
	}
	dss, err := live.ListAll(ctx, pageSize, func(ctx context.Context, lo metav1.ListOptions) ([]appsv1.DaemonSet, string, error) {
		l, err := cr.client.AppsV1().DaemonSets("").List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	if err != nil {
		cr.workloadsWhy = append(cr.workloadsWhy, live.DescribeAPIError(err, "list", "daemonsets", ""))
	}
	for i := range dss {
		d := &dss[i]
		sel, _ := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		cr.workloads = append(cr.workloads, ingress.Workload{Kind: "DaemonSet", Namespace: d.Namespace, Name: d.Name, TemplateLabels: d.Spec.Template.Labels, Selector: sel, Spec: &d.Spec.Template.Spec})
	}
	for _, w := range cr.workloadsWhy {
		fmt.Fprintf(cr.errOut, "warning: controllers not fully checked: %s\n", w)
		cr.degraded = append(cr.degraded, w)
	}
	return cr.workloads, cr.workloadsWhy
}

// namespaceServices lists the Services of a namespace once.
func (cr *clusterReader) namespaceServices(ctx context.Context, ns string) []corev1.Service {
	if svcs, done := cr.services[ns]; done {
		return svcs
	}
	svcs, _ := live.ListAll(ctx, pageSize, func(ctx context.Context, lo metav1.ListOptions) ([]corev1.Service, string, error) {
		l, err := cr.client.CoreV1().Services(ns).List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	cr.services[ns] = svcs
	return svcs
}

// namespacePods lists the pods of a namespace once ("" and the error's description when it fails).
func (cr *clusterReader) namespacePods(ctx context.Context, ns string) ([]corev1.Pod, string) {
	if pods, done := cr.pods[ns]; done {
		return pods, cr.podsWhy[ns]
	}
	pods, err := live.ListAll(ctx, pageSize, func(ctx context.Context, lo metav1.ListOptions) ([]corev1.Pod, string, error) {
		l, err := cr.client.CoreV1().Pods(ns).List(ctx, lo)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	cr.pods[ns] = pods
	if err != nil {
		cr.podsWhy[ns] = live.DescribeAPIError(err, "list", "pods", ns)
	}
	return pods, cr.podsWhy[ns]
}

// controllers finds the controller of every IngressClass (see ingress.ControllerHeuristic): one LIST of
// Deployments and one of DaemonSets in all namespaces, then one LIST of pods and one of Services
// in each namespace that runs a controller.
func (cr *clusterReader) controllers(ctx context.Context, s *snapshot.Snapshot) map[string]report.ControllerInfo {
	out := map[string]report.ControllerInfo{}
	if len(s.IngressClasses) == 0 {
		return out
	}
	fmt.Fprintln(cr.errOut, "looking for the Ingress controllers (Deployments and DaemonSets of all namespaces)...")
	ws, why := cr.listWorkloads(ctx)
	for _, ic := range s.IngressClasses {
		info := report.ControllerInfo{Class: ic.Name, Controller: ic.Spec.Controller, Checked: len(why) < 2}
		info.Name = ingress.KnownControllerName(ic.Spec.Controller)
		var excluded []string
		for _, w := range ws {
			m, ex := ingress.MatchWorkload(w, ic.Name, ic.Spec.Controller)
			if ex != "" {
				excluded = append(excluded, ex)
			}
			if m == "" {
				continue
			}
			info.Found = true
			info.StrictPrefix = info.StrictPrefix || ingress.StrictPrefixArg(w.Spec)
			info.Classless = info.Classless || ingress.ServesClassless(w.Spec)
			cw := report.ControllerWorkload{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name, Image: ingress.FirstImage(w.Spec), Why: m}
			pods, podsWhy := cr.namespacePods(ctx, w.Namespace)
			svcs := cr.namespaceServices(ctx, w.Namespace)
			if podsWhy == "" && w.Selector != nil && !w.Selector.Empty() {
				cw.PodsListed = true
				for i := range pods {
					p := &pods[i]
					if p.DeletionTimestamp != nil || !w.Selector.Matches(labels.Set(p.Labels)) {
						continue
					}
					cw.PodsTotal++
					if semantics.IsReady(p) {
						cw.PodsReady++
					}
				}
			}
			info.Workloads = append(info.Workloads, cw)
			info.Services = append(info.Services, ingress.ControllerServices(svcs, w.Namespace, w.TemplateLabels)...)
		}
		switch {
		case info.Found:
			info.Message = "found"
		case !info.Checked:
			info.Message = "not checked: " + strings.Join(why, "; ")
		default:
			info.Message = fmt.Sprintf("no Deployment or DaemonSet runs controller %s", ic.Spec.Controller)
			if len(excluded) > 0 {
				info.Message += " (" + strings.Join(excluded, "; ") + ")"
			}
		}
		out[ic.Name] = info
	}
	return out
}

// gatewayAddresses finds the Service in front of each Gateway (ingress.GatewayAddresses): the
// Services of each Gateway's namespace (one LIST each) and of the namespaces of the workloads
// that run a Gateway controller svc-doctor knows.
func (cr *clusterReader) gatewayAddresses(ctx context.Context, s *snapshot.Snapshot) map[string]report.GatewayAddress {
	if len(s.Gateways) == 0 {
		return nil
	}
	classes := map[string]string{}
	for _, c := range s.GatewayClasses {
		classes[c.Name] = string(c.Spec.ControllerName)
	}
	ws, _ := cr.listWorkloads(ctx)
	services := map[string][]corev1.Service{}
	var gws []*gwv1.Gateway
	for _, g := range s.Gateways {
		gws = append(gws, g.Gateway)
		services[g.Namespace] = cr.namespaceServices(ctx, g.Namespace)
		for _, w := range ws {
			if _, done := services[w.Namespace]; !done && ingress.GatewayControllerWorkload(w, classes[string(g.Spec.GatewayClassName)]) != "" {
				services[w.Namespace] = cr.namespaceServices(ctx, w.Namespace)
			}
		}
	}
	return ingress.GatewayAddresses(gws, classes, ws, services)
}
