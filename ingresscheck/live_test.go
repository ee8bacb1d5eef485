package ingresscheck

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/route/ingress"
)

func readB64(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/certs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func pod(ns, name string, labels map[string]string, ip string, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img",
			Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}}}}, NodeName: "node-1"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: ready, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
	return p
}

// liveObjects is a cluster with Traefik in namespace ingress and a shop with one ready and one
// unready web pod behind a TLS Ingress, plus an Ingress of a class no controller serves.
func liveObjects(t *testing.T) []runtime.Object {
	prefix := networkingv1.PathTypePrefix
	webLabels := map[string]string{"app": "web"}
	return []runtime.Object{
		&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "traefik", Annotations: map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}},
			Spec: networkingv1.IngressClassSpec{Controller: ingress.TraefikController}},
		&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ingress", Name: "traefik"},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "traefik"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "traefik"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "traefik", Image: "localhost/svc-doctor/traefik:3.6.12", Args: []string{"--providers.kubernetesingress=true"}}}}}}},
		pod("ingress", "traefik-abc", map[string]string{"app": "traefik"}, "10.244.0.2", true),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ingress", Name: "traefik"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.50", Selector: map[string]string{"app": "traefik"},
				Ports: []corev1.ServicePort{{Name: "web", Port: 80, TargetPort: intstr.FromString("web"), NodePort: 30081}, {Name: "websecure", Port: 443, TargetPort: intstr.FromString("websecure"), NodePort: 30443}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", Selector: webLabels, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}},
		pod("shop", "web-1", webLabels, "10.244.0.11", true),
		pod("shop", "web-2", webLabels, "10.244.0.12", false),
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-abcde", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080))}},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.244.0.11"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}, NodeName: ptr.To("node-1"), TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web-1"}},
				{Addresses: []string{"10.244.0.12"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}, NodeName: ptr.To("node-1"), TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web-2"}},
			}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "shop-tls"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": readB64(t, "shop.crt.b64"), "tls.key": readB64(t, "shop.key.b64")}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "shop"},
			Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("traefik"),
				TLS: []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}},
				Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http"}}}}}}}}}}},
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "orphan"},
			Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("nginx"),
				Rules: []networkingv1.IngressRule{{Host: "orphan.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}},
	}
}

func TestLiveURL(t *testing.T) {
	client := fake.NewClientset(liveObjects(t)...)
	stdout, stderr, code := run(t, client, "https://shop.example.com/", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stderr, stdout)
	}
	var rep report.IngressCheckReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Source != "cluster" || rep.Class == nil || rep.Class.Name != "traefik" {
		t.Errorf("source %q class %+v", rep.Source, rep.Class)
	}
	if len(rep.Controllers) != 1 || !rep.Controllers[0].Found || rep.Controllers[0].Workloads[0].PodsReady != 1 ||
		len(rep.Controllers[0].Services) != 1 || rep.Controllers[0].Services[0].HTTPSPort != 443 || rep.Controllers[0].Name != "Traefik" {
		t.Errorf("controllers: %+v", rep.Controllers)
	}
	rc := rep.Routes[0]
	h := rc.Backend.Health
	if h == nil || !h.Checked || h.Ready != 1 || h.NotReady != 1 || len(h.Endpoints) != 2 || len(h.Pods) != 2 {
		t.Fatalf("health: %+v", h)
	}
	if h.Pods[1].Ready || h.Pods[1].Reason == "" {
		t.Errorf("unready pod without reason: %+v", h.Pods[1])
	}
	if h.Diagnosis == nil {
		t.Errorf("no diagnosis of the backend")
	}
	if rc.TLS == nil || !rc.TLS.OK {
		t.Errorf("TLS: %+v", rc.TLS)
	}
	for _, want := range []string{"reading IngressClasses and the Ingresses of all namespaces", "reading namespace shop", "looking for the Ingress controllers"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "reading namespace other") {
		t.Errorf("read a namespace the URL does not concern:\n%s", stderr)
	}
	// the table of the same check
	stdout, _, _ = run(t, client, "https://shop.example.com/")
	goldenCompare(t, "live-shop.txt", stdout)
}

func TestLiveNoController(t *testing.T) {
	client := fake.NewClientset(liveObjects(t)...)
	stdout, _, code := run(t, client, "ing/other/orphan")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stdout, "no controller serves class nginx (controller k8s.io/ingress-nginx): the Ingress will never get an address") {
		t.Errorf("no controller message missing:\n%s", stdout)
	}
}

func TestLiveAllNamespaces(t *testing.T) {
	client := fake.NewClientset(liveObjects(t)...)
	stdout, stderr, code := run(t, client, "-A")
	if code != 1 {
		t.Errorf("exit %d, want 1 (the orphan Ingress has no controller)", code)
	}
	for _, want := range []string{"1/2 ready", "shop-tls OK", "other/orphan", "no controller serves class nginx", "BROKEN: 1 of 2 routes are broken"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "reading namespace other") || !strings.Contains(stderr, "reading namespace shop") {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestLiveUnknownIngress(t *testing.T) {
	client := fake.NewClientset(liveObjects(t)...)
	_, stderr, code := run(t, client, "ing/nope", "-n", "shop")
	if code != 2 || !strings.Contains(stderr, "ingress nope not found in namespace shop (it has shop)") {
		t.Errorf("exit %d stderr %s", code, stderr)
	}
}

func TestMatchWorkload(t *testing.T) {
	spec := func(image string, args ...string) *corev1.PodSpec {
		return &corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image, Args: args}}}
	}
	tests := []struct {
		name       string
		w          ingress.Workload
		class, ctl string
		wantWhy    string
		wantExcl   string
	}{
		{name: "traefik by image", w: ingress.Workload{Spec: spec("docker.io/traefik:v3.6")}, class: "traefik", ctl: ingress.TraefikController, wantWhy: "image docker.io/traefik:v3.6"},
		{name: "traefik by label", w: ingress.Workload{Spec: spec("mirror/proxy:1"), TemplateLabels: map[string]string{"app.kubernetes.io/name": "traefik"}}, class: "traefik", ctl: ingress.TraefikController, wantWhy: "labels app.kubernetes.io/name=traefik"},
		{name: "traefik for another class", w: ingress.Workload{Kind: "Deployment", Namespace: "a", Name: "t", Spec: spec("traefik:v3", "--providers.kubernetesingress.ingressclass=internal")}, class: "traefik", ctl: ingress.TraefikController,
			wantExcl: "deployment a/t runs Traefik for class internal only (--providers.kubernetesingress.ingressclass=internal)"},
		{name: "nginx by controller class argument", w: ingress.Workload{Spec: spec("registry.k8s.io/x:1", "--controller-class=k8s.io/ingress-nginx")}, class: "nginx", ctl: "k8s.io/ingress-nginx", wantWhy: "argument --controller-class=k8s.io/ingress-nginx"},
		{name: "nginx image", w: ingress.Workload{Spec: spec("registry.k8s.io/ingress-nginx/controller:v1.12.0")}, class: "nginx", ctl: "k8s.io/ingress-nginx", wantWhy: "image registry.k8s.io/ingress-nginx/controller:v1.12.0"},
		{name: "traefik image does not serve nginx", w: ingress.Workload{Spec: spec("traefik:v3")}, class: "nginx", ctl: "k8s.io/ingress-nginx"},
		{name: "unknown controller by image name", w: ingress.Workload{Spec: spec("example.com/fancy-ingress:2")}, class: "fancy", ctl: "example.com/fancy-ingress", wantWhy: "image example.com/fancy-ingress:2 (named after example.com/fancy-ingress)"},
		{name: "unknown generic controller name", w: ingress.Workload{Spec: spec("example.com/controller:2")}, class: "x", ctl: "example.com/controller"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why, ex := ingress.MatchWorkload(tt.w, tt.class, tt.ctl)
			if why != tt.wantWhy || ex != tt.wantExcl {
				t.Errorf("matchWorkload = %q, %q; want %q, %q", why, ex, tt.wantWhy, tt.wantExcl)
			}
		})
	}
}
