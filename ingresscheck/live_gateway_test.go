package ingresscheck

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/report"
)

// liveGatewayClients is liveObjects with Traefik's Gateway provider on (entry points web 8000 and
// websecure 8443 behind the traefik Service's ports 80 and 443), a Gateway of class traefik with
// listeners on 8000 and 8443, and an HTTPRoute for www.example.com to the Service web.
func liveGatewayClients(t *testing.T) (*fake.Clientset, *gwfake.Clientset) {
	objs := liveObjects(t)
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok && d.Name == "traefik" {
			c := &d.Spec.Template.Spec.Containers[0]
			c.Args = append(c.Args, "--providers.kubernetesgateway=true")
			c.Ports = []corev1.ContainerPort{{Name: "web", ContainerPort: 8000}, {Name: "websecure", ContainerPort: 8443}}
		}
	}
	ns := gwv1.Namespace("edge")
	all := gwv1.NamespacesFromAll
	gw := []runtime.Object{
		&gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "traefik"}, Spec: gwv1.GatewayClassSpec{ControllerName: "traefik.io/gateway-controller"}},
		&gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "edge", Name: "gw"}, Spec: gwv1.GatewaySpec{GatewayClassName: "traefik",
			Listeners: []gwv1.Listener{{Name: "web", Port: 8000, Protocol: gwv1.HTTPProtocolType, AllowedRoutes: &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: &all}}}}},
			Status: gwv1.GatewayStatus{Addresses: []gwv1.GatewayStatusAddress{{Value: "192.0.2.10"}}}},
		&gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "www", CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))},
			Spec: gwv1.HTTPRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw", Namespace: &ns}}},
				Hostnames: []gwv1.Hostname{"www.example.com"},
				Rules:     []gwv1.HTTPRouteRule{{BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{Name: "web", Port: new(gwv1.PortNumber(80))}}}}}}}},
	}
	// the fake's constructor files a Gateway under "gatewaies": create each under its resource
	c := gwfake.NewSimpleClientset()
	for _, o := range gw {
		res := map[string]string{"GatewayClass": "gatewayclasses", "Gateway": "gateways", "HTTPRoute": "httproutes"}[reflect.TypeOf(o).Elem().Name()]
		if err := c.Tracker().Create(schema.GroupVersion(gwv1.GroupVersion).WithResource(res), o, o.(metav1.Object).GetNamespace()); err != nil {
			t.Fatal(err)
		}
	}
	return fake.NewClientset(objs...), c
}

// runLive runs the command against fake clusters for both APIs.
func runLive(t *testing.T, kube *fake.Clientset, gw *gwfake.Clientset, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	f := &cmdutil.StaticFactory{}
	o := NewOptions(streams)
	o.Now = func() time.Time { return goldenNow }
	o.Client, o.Gateway = kube, gw
	cmd := newCmd(f, o)
	f.AddFlags(cmd.Flags())
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	if err != nil && !cmdutil.IsSilent(err) {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), cmdutil.ExitCode(err)
}

// TestLiveGatewayURL resolves a URL through a Gateway read from the cluster: the Service in front
// of it is Traefik's, its port 80 reaches the listener on port 8000, and the backend is checked
// live (endpoints, pods).
func TestLiveGatewayURL(t *testing.T) {
	kube, gw := liveGatewayClients(t)
	stdout, stderr, code := runLive(t, kube, gw, "http://www.example.com/", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stderr, stdout)
	}
	var rep report.IngressCheckReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Gateway == nil || rep.Gateway.Served != report.ServedByGateway || len(rep.Gateway.Resolutions) != 1 {
		t.Fatalf("gateway: %+v", rep.Gateway)
	}
	res := rep.Gateway.Resolutions[0]
	if res.Port != 8000 || !strings.Contains(res.PortWhy, "port 80 of service ingress/traefik reaches the listeners on port 8000") {
		t.Errorf("port %d (%s), want 8000 through the traefik Service", res.Port, res.PortWhy)
	}
	a := res.Address
	if a == nil || a.Service != "ingress/traefik" || a.ClusterIP != "10.96.0.50" || !strings.Contains(a.How, "--providers.kubernetesgateway=true") ||
		len(a.Addresses) != 1 || a.Addresses[0] != "192.0.2.10" {
		t.Errorf("address: %+v", a)
	}
	if res.Route == nil || res.Route.Name != "httproute shop/www rule[0]" || len(res.Route.Backends) != 1 {
		t.Fatalf("route: %+v", res.Route)
	}
	h := res.Route.Backends[0].Health
	if h == nil || !h.Checked || h.Ready != 1 || h.NotReady != 1 {
		t.Errorf("backend health: %+v", h)
	}
	if !strings.Contains(rep.Verdict.Text(), "is served by httproute shop/www rule[0] on gateway edge/gw listener web -> service web port http (80/TCP) (1 ready endpoint)") {
		t.Errorf("verdict: %s", rep.Verdict.Text())
	}
	for _, want := range []string{"reading the Gateway API objects of all namespaces", "reading namespace shop"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
}
