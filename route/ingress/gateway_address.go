package ingress

// Where a Gateway receives traffic: the Service in front of its data plane, for --probe and for
// telling which path an address reaches.

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/svc-doctor/svc-doctor/report"
)

// GatewayNameLabel is the label implementations that deploy a data plane per Gateway (Istio, NGINX
// Gateway Fabric, kgateway) put on its Service.
const GatewayNameLabel = "gateway.networking.k8s.io/gateway-name"

// GatewayControllerWorkload says why w runs the Gateway controller controllerName with a shared
// data plane that serves every Gateway of its classes ("" when it does not, or when svc-doctor
// does not know that controller). Traefik serves Gateways from its own pods when its Kubernetes
// Gateway provider is on.
func GatewayControllerWorkload(w Workload, controllerName string) string {
	if w.Spec == nil || controllerName != "traefik.io/gateway-controller" {
		return ""
	}
	for _, c := range w.Spec.Containers {
		if !strings.Contains(strings.ToLower(c.Image), "traefik") {
			continue
		}
		for _, a := range append(append([]string{}, c.Command...), c.Args...) {
			if a == "--providers.kubernetesgateway" || a == "--providers.kubernetesgateway=true" {
				return fmt.Sprintf("%s %s/%s runs Traefik (image %s) with %s", strings.ToLower(w.Kind), w.Namespace, w.Name, c.Image, a)
			}
		}
	}
	return ""
}

// GatewayAddresses finds the Service in front of each Gateway: one labelled with the Gateway's
// name in its namespace, else one that selects the pods of a workload running the class's
// controller (GatewayControllerWorkload). classes maps a GatewayClass to its controllerName;
// services are the Services known, by namespace. Each address lists the Service's ports with the
// container port each reaches, so that a request to port 80 can be resolved on the listener of
// port 8000 behind it.
func GatewayAddresses(gws []*gwv1.Gateway, classes map[string]string, workloads []Workload, services map[string][]corev1.Service) map[string]report.GatewayAddress {
	out := map[string]report.GatewayAddress{}
	for _, g := range gws {
		a := report.GatewayAddress{}
		for _, addr := range g.Status.Addresses {
			a.Addresses = append(a.Addresses, addr.Value)
		}
		if svc, how := labelledService(g, services[g.Namespace]); svc != nil {
			setService(&a, svc, nil, how)
		} else {
			for _, w := range workloads {
				why := GatewayControllerWorkload(w, classes[string(g.Spec.GatewayClassName)])
				if why == "" {
					continue
				}
				if svc := selectingService(services[w.Namespace], w); svc != nil {
					setService(&a, svc, w.Spec, fmt.Sprintf("%s; service %s/%s selects its pods", why, svc.Namespace, svc.Name))
					break
				}
			}
		}
		if a.Service != "" || len(a.Addresses) > 0 {
			out[g.Namespace+"/"+g.Name] = a
		}
	}
	return out
}

func labelledService(g *gwv1.Gateway, svcs []corev1.Service) (*corev1.Service, string) {
	for i := range svcs {
		if svcs[i].Labels[GatewayNameLabel] == g.Name {
			return &svcs[i], fmt.Sprintf("service %s/%s carries label %s=%s", svcs[i].Namespace, svcs[i].Name, GatewayNameLabel, g.Name)
		}
	}
	return nil, ""
}

// selectingService is the Service that selects the workload's pods, the one with the fewest ports
// first (the data plane's, not a Service that exposes its dashboard too), then by name.
func selectingService(svcs []corev1.Service, w Workload) *corev1.Service {
	var found []*corev1.Service
	for i := range svcs {
		s := &svcs[i]
		if s.Namespace == w.Namespace && len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(w.TemplateLabels)) {
			found = append(found, s)
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Name < found[j].Name })
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

func setService(a *report.GatewayAddress, svc *corev1.Service, spec *corev1.PodSpec, how string) {
	a.Service, a.ClusterIP, a.How = svc.Namespace+"/"+svc.Name, svc.Spec.ClusterIP, how
	for _, ing := range svc.Status.LoadBalancer.Ingress {
		if ing.IP != "" {
			a.Addresses = append(a.Addresses, ing.IP)
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
			continue
		}
		gp := report.GatewayPort{Port: p.Port, NodePort: p.NodePort}
		switch {
		case p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal != 0:
			gp.TargetPort = p.TargetPort.IntVal
		case p.TargetPort.Type == intstr.String && spec != nil:
			gp.TargetPort = containerPort(spec, p.TargetPort.StrVal)
		case p.TargetPort.Type == intstr.Int:
			gp.TargetPort = p.Port
		}
		a.Ports = append(a.Ports, gp)
	}
}

func containerPort(spec *corev1.PodSpec, name string) int32 {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if p.Name == name {
				return p.ContainerPort
			}
		}
	}
	return 0
}

// ServicePortFor is the port of the Gateway's Service that reaches listener port lp (0 when none).
func ServicePortFor(a report.GatewayAddress, lp int32) int32 {
	for _, p := range a.Ports {
		if p.TargetPort == lp {
			return p.Port
		}
	}
	for _, p := range a.Ports {
		if p.Port == lp {
			return p.Port
		}
	}
	return 0
}
