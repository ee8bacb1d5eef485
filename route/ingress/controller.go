package ingress

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svc-doctor/svc-doctor/report"
)

// ControllerHeuristic says how a class's controller is found (it is also the --help text).
//
// The IngressClass's spec.controller names the controller. svc-doctor then looks at every
// Deployment and DaemonSet (one LIST each, all namespaces) and takes those that
//   - run a well-known image of that controller (traefik, ingress-nginx/controller, ...), or carry
//     its well-known labels (app.kubernetes.io/name=traefik, ...), or
//   - pass the controller string itself as an argument (--controller-class=k8s.io/ingress-nginx), or
//   - for a controller svc-doctor does not know, run an image named after the last part of the
//     controller string,
//
// and leaves out those whose arguments restrict them to another class (--ingress-class=other,
// --providers.kubernetesingress.ingressclass=other). The controller's pods are those its selector
// selects (one LIST in its namespace) and its Services those selecting its pods (one LIST). The
// HTTP port is the Service port named web or http (else port 80), the HTTPS port the one named
// websecure or https (else 443).
const ControllerHeuristic = `The controller of a class is found from the IngressClass's spec.controller: a Deployment or
DaemonSet (any namespace) that runs a well-known image of that controller or carries its
well-known labels, or passes the controller string as an argument; for unknown controllers, one
whose image is named after the controller. Workloads whose arguments restrict them to another
class are left out. Its Services are those selecting its pods; the HTTP port is the one named
web or http (else 80), the HTTPS port the one named websecure or https (else 443).`

// knownController describes a well-known Ingress controller.
type knownController struct {
	controller string
	name       string
	images     []string            // substrings of the image reference
	labels     []map[string]string // label sets of its pod template
	// classArgs are argument prefixes whose value restricts the controller to one class.
	classArgs []string
	// outside is set for controllers that run outside the cluster (cloud load balancers).
	outside bool
}

var knownControllers = []knownController{
	{controller: "traefik.io/ingress-controller", name: "Traefik", images: []string{"traefik"},
		labels:    []map[string]string{{"app.kubernetes.io/name": "traefik"}, {"app": "traefik"}},
		classArgs: []string{"--providers.kubernetesingress.ingressclass="}},
	{controller: "k8s.io/ingress-nginx", name: "ingress-nginx", images: []string{"ingress-nginx/controller"},
		labels:    []map[string]string{{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}},
		classArgs: []string{"--ingress-class=", "--controller-class="}},
	{controller: "nginx.org/ingress-controller", name: "NGINX Ingress Controller", images: []string{"nginx/nginx-ingress", "nginx-plus-ingress"},
		labels:    []map[string]string{{"app.kubernetes.io/name": "nginx-ingress"}},
		classArgs: []string{"-ingress-class=", "--ingress-class="}},
	{controller: "ingress-controllers.konghq.com/kong", name: "Kong", images: []string{"kong/kubernetes-ingress-controller"},
		classArgs: []string{"--ingress-class="}},
	{controller: "haproxy.org/ingress-controller/haproxy", name: "HAProxy Kubernetes Ingress", images: []string{"haproxytech/kubernetes-ingress"},
		classArgs: []string{"--ingress.class="}},
	{controller: "ingress.k8s.aws/alb", name: "AWS Load Balancer Controller", images: []string{"aws-load-balancer-controller"}, outside: true},
	{controller: "k8s.io/ingress-gce", name: "GKE Ingress", outside: true},
}

// KnownControllerName is the name of a well-known controller (spec.controller of its
// IngressClass), "" when it is not one.
func KnownControllerName(controller string) string {
	if k := lookupKnown(controller); k != nil {
		return k.name
	}
	return ""
}

func lookupKnown(controller string) *knownController {
	for i := range knownControllers {
		if knownControllers[i].controller == controller {
			return &knownControllers[i]
		}
	}
	return nil
}

// Workload is a Deployment or DaemonSet as the controller search sees it.
type Workload struct {
	Kind, Namespace, Name string
	// TemplateLabels are the labels of its pods; Selector selects them.
	TemplateLabels map[string]string
	Selector       labels.Selector
	Spec           *corev1.PodSpec
}

// MatchWorkload says why w runs the controller of class (controller string), "" when it does not,
// and excluded explains a workload of that controller restricted to another class.
func MatchWorkload(w Workload, class, controller string) (why, excluded string) {
	if w.Spec == nil {
		return "", ""
	}
	known := lookupKnown(controller)
	var images, args []string
	for _, c := range append(append([]corev1.Container{}, w.Spec.InitContainers...), w.Spec.Containers...) {
		images = append(images, c.Image)
		args = append(args, c.Command...)
		args = append(args, c.Args...)
	}
	// a class filter naming another class excludes the workload
	if known != nil {
		for _, a := range args {
			for _, p := range known.classArgs {
				if v, ok := strings.CutPrefix(a, p); ok && v != "" && v != class && v != controller {
					return "", fmt.Sprintf("%s %s/%s runs %s for class %s only (%s)", strings.ToLower(w.Kind), w.Namespace, w.Name, known.name, v, a)
				}
			}
		}
	}
	for _, a := range args {
		if strings.Contains(a, controller) {
			return fmt.Sprintf("argument %s", a), ""
		}
	}
	if known != nil {
		for _, img := range images {
			for _, k := range known.images {
				if strings.Contains(strings.ToLower(img), k) {
					return fmt.Sprintf("image %s", img), ""
				}
			}
		}
		for _, set := range known.labels {
			if len(set) > 0 && labels.SelectorFromSet(set).Matches(labels.Set(w.TemplateLabels)) {
				return fmt.Sprintf("labels %s", labels.Set(set).String()), ""
			}
		}
		return "", ""
	}
	token := controllerToken(controller)
	if token == "" {
		return "", ""
	}
	for _, img := range images {
		if strings.Contains(strings.ToLower(img), token) {
			return fmt.Sprintf("image %s (named after %s)", img, controller), ""
		}
	}
	return "", ""
}

// controllerToken is the part of an unknown controller string an image would be named after:
// "example.com/fancy-ingress" -> "fancy-ingress"; too generic names give "".
func controllerToken(controller string) string {
	parts := strings.Split(strings.ToLower(controller), "/")
	t := parts[len(parts)-1]
	switch t {
	case "controller", "ingress", "ingress-controller", "ingresscontroller", "k8s", "kubernetes":
		return ""
	}
	if len(t) < 4 {
		return ""
	}
	return t
}

// ControllerServices returns the Services of ns that select pods with podLabels, with their
// HTTP and HTTPS ports.
func ControllerServices(services []corev1.Service, ns string, podLabels map[string]string) []report.ControllerService {
	var out []report.ControllerService
	for _, s := range services {
		if s.Namespace != ns || len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(podLabels)) {
			continue
		}
		cs := report.ControllerService{Namespace: s.Namespace, Name: s.Name, Type: string(s.Spec.Type), ClusterIP: s.Spec.ClusterIP}
		if cs.Type == "" {
			cs.Type = string(corev1.ServiceTypeClusterIP)
		}
		if p := pickPort(s.Spec.Ports, []string{"web", "http"}, 80); p != nil {
			cs.HTTPPort, cs.HTTPNodePort = p.Port, p.NodePort
		}
		if p := pickPort(s.Spec.Ports, []string{"websecure", "https"}, 443); p != nil {
			cs.HTTPSPort, cs.HTTPSNodePort = p.Port, p.NodePort
		}
		out = append(out, cs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// pickPort finds the Service port named one of names (or whose named targetPort is), else the
// one numbered number.
func pickPort(ports []corev1.ServicePort, names []string, number int32) *corev1.ServicePort {
	for _, n := range names {
		for i, p := range ports {
			if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
				continue
			}
			if p.Name == n || (p.TargetPort.Type == intstr.String && p.TargetPort.StrVal == n) {
				return &ports[i]
			}
		}
	}
	for i, p := range ports {
		if p.Port == number && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
			return &ports[i]
		}
	}
	return nil
}

// FirstImage is the image of the first container.
func FirstImage(spec *corev1.PodSpec) string {
	if spec == nil || len(spec.Containers) == 0 {
		return ""
	}
	return spec.Containers[0].Image
}

// StrictPrefixArg reports whether a Traefik pod template enables strictPrefixMatching.
func StrictPrefixArg(spec *corev1.PodSpec) bool {
	if spec == nil {
		return false
	}
	for _, c := range spec.Containers {
		for _, a := range append(append([]string{}, c.Command...), c.Args...) {
			if a == traefikStrictPrefixFlag || a == traefikStrictPrefixFlag+"=true" {
				return true
			}
		}
	}
	return false
}

// traefikIngressClassArg is the Traefik option that restricts its Kubernetes Ingress provider to
// one class; without it (the default) the provider also serves Ingresses without class.
const traefikIngressClassArg = "--providers.kubernetesingress.ingressclass"

// ServesClassless reports whether a Traefik pod template leaves the provider's ingressClass option
// empty (argument or TRAEFIK_PROVIDERS_KUBERNETESINGRESS_INGRESSCLASS), so that Traefik serves
// Ingresses without class.
func ServesClassless(spec *corev1.PodSpec) bool {
	if spec == nil {
		return false
	}
	for _, c := range spec.Containers {
		for _, a := range append(append([]string{}, c.Command...), c.Args...) {
			if v, ok := strings.CutPrefix(strings.ToLower(a), traefikIngressClassArg+"="); ok && v != "" {
				return false
			}
		}
		for _, e := range c.Env {
			if e.Name == "TRAEFIK_PROVIDERS_KUBERNETESINGRESS_INGRESSCLASS" && (e.Value != "" || e.ValueFrom != nil) {
				return false
			}
		}
	}
	return true
}
