package expose

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// PortSpec is one Service port as asked for on the command line. Zero fields are inferred.
type PortSpec struct {
	// Name of the Service port ("" = derived from the container port name, else port-<port>).
	Name string
	// Port is the Service port (0 = the container port's number).
	Port int32
	// Target is the targetPort, a number or a container port name (zero value = inferred).
	Target intstr.IntOrString
	// Protocol is TCP, UDP or SCTP ("" = the container port's, else TCP).
	Protocol corev1.Protocol
}

func (p PortSpec) hasTarget() bool {
	return p.Target.Type == intstr.String && p.Target.StrVal != "" || p.Target.Type == intstr.Int && p.Target.IntVal != 0
}

// ParsePortSpec reads one --port item: [NAME=]PORT[:TARGET][/PROTOCOL], e.g. 80, 80:8080,
// 443:https, http=80:web/TCP, 53/UDP.
func ParsePortSpec(s string) (PortSpec, error) {
	var ps PortSpec
	in := strings.TrimSpace(s)
	if in == "" {
		return ps, fmt.Errorf("empty port")
	}
	if name, rest, ok := strings.Cut(in, "="); ok {
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			return ps, fmt.Errorf("%q: port name %q is invalid: %s", s, name, strings.Join(errs, "; "))
		}
		ps.Name, in = name, rest
	}
	if rest, proto, ok := strings.Cut(in, "/"); ok {
		p, err := ParseProtocol(proto)
		if err != nil {
			return ps, fmt.Errorf("%q: %v", s, err)
		}
		ps.Protocol, in = p, rest
	}
	port, target, hasTarget := strings.Cut(in, ":")
	n, err := parsePortNumber(port)
	if err != nil {
		return ps, fmt.Errorf("%q: %v (write [NAME=]PORT[:TARGET][/PROTOCOL], e.g. 80:8080 or 443:https)", s, err)
	}
	ps.Port = n
	if hasTarget {
		t, err := ParseTargetPort(target)
		if err != nil {
			return ps, fmt.Errorf("%q: %v", s, err)
		}
		ps.Target = t
	}
	return ps, nil
}

// ParseTargetPort reads a target port: a number 1-65535 or a container port name.
func ParseTargetPort(s string) (intstr.IntOrString, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return intstr.IntOrString{}, fmt.Errorf("empty target port")
	}
	if s[0] >= '0' && s[0] <= '9' {
		n, err := parsePortNumber(s)
		if err != nil {
			return intstr.IntOrString{}, err
		}
		return intstr.FromInt32(n), nil
	}
	if errs := validation.IsValidPortName(s); len(errs) > 0 {
		return intstr.IntOrString{}, fmt.Errorf("target port %q is neither a number nor a valid container port name: %s", s, strings.Join(errs, "; "))
	}
	return intstr.FromString(s), nil
}

func parsePortNumber(s string) (int32, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return int32(n), nil
}

// ParseProtocol reads TCP, UDP or SCTP, case-insensitively.
func ParseProtocol(s string) (corev1.Protocol, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "TCP":
		return corev1.ProtocolTCP, nil
	case "UDP":
		return corev1.ProtocolUDP, nil
	case "SCTP":
		return corev1.ProtocolSCTP, nil
	}
	return "", fmt.Errorf("protocol %q is not TCP, UDP or SCTP", s)
}

// containerPort is a port a pod template declares on a container that can serve a Service
// (a regular container or a sidecar).
type containerPort struct {
	container string
	name      string
	number    int32
	protocol  corev1.Protocol
}

func (c containerPort) String() string {
	s := fmt.Sprintf("%d/%s", c.number, c.protocol)
	if c.name != "" {
		s = c.name + " " + s
	}
	return s
}

// servingPorts lists the ports of a pod spec's regular containers and sidecars (init containers
// with restartPolicy Always), in declaration order.
func servingPorts(spec *corev1.PodSpec) []containerPort {
	if spec == nil {
		return nil
	}
	var out []containerPort
	add := func(c *corev1.Container) {
		for _, p := range c.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			out = append(out, containerPort{container: c.Name, name: p.Name, number: p.ContainerPort, protocol: proto})
		}
	}
	for i := range spec.Containers {
		add(&spec.Containers[i])
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			add(c)
		}
	}
	return out
}

func describePorts(ports []containerPort) string {
	if len(ports) == 0 {
		return "no container declares a port"
	}
	return "declared: " + portList(ports)
}

func portList(ports []containerPort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = p.String()
	}
	return strings.Join(parts, ", ")
}

// resolvePorts turns the requested ports into Service ports. With a pod template (what) it infers
// what was not given: every declared container port when no port is asked for, the container port
// a Service port forwards to (its name preferred as targetPort), the protocol and the port name.
// Without a template (selector-less Services) the targetPort defaults to the port.
//
//nolint:funlen // one inference in order (defaults, each requested port, names, the result) over the shared maps of declared and used ports
func resolvePorts(items []PortSpec, defProto corev1.Protocol, spec *corev1.PodSpec, what string) ([]corev1.ServicePort, error) {
	declared := servingPorts(spec)
	type resolved struct {
		sp       corev1.ServicePort
		fromName string // container port name the port was matched to
	}
	var out []resolved
	if len(items) == 0 {
		if spec == nil {
			return nil, fmt.Errorf("--port is required")
		}
		seen := map[string]bool{}
		for _, cp := range declared {
			if defProto != "" && cp.protocol != defProto {
				continue
			}
			key := fmt.Sprintf("%d/%s", cp.number, cp.protocol)
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, resolved{sp: corev1.ServicePort{Port: cp.number, TargetPort: preferName(cp), Protocol: cp.protocol}, fromName: cp.name})
		}
		if len(out) == 0 {
			if defProto != "" && len(declared) > 0 {
				return nil, fmt.Errorf("%s declares no %s container port (%s): pass --port", what, defProto, describePorts(declared))
			}
			return nil, fmt.Errorf("%s declares no container ports: pass --port (and --target-port if the application listens on another port)", what)
		}
	}
	for _, it := range items {
		proto := it.Protocol
		if proto == "" {
			proto = defProto
		}
		r := resolved{sp: corev1.ServicePort{Name: it.Name, Port: it.Port, Protocol: proto}}
		switch {
		case it.hasTarget() && it.Target.Type == intstr.String:
			r.sp.TargetPort = it.Target
			if cp, ok := findByName(declared, it.Target.StrVal, proto); ok {
				r.fromName = cp.name
				if r.sp.Protocol == "" {
					r.sp.Protocol = cp.protocol
				}
				if r.sp.Port == 0 {
					r.sp.Port = cp.number
				}
			} else if r.sp.Port == 0 {
				// the rules report the unresolved name; the port needs a number meanwhile
				return nil, fmt.Errorf("target port %q: %s has no container port of that name (%s): give the Service port too, as --port PORT:%s",
					it.Target.StrVal, what, describePorts(declared), it.Target.StrVal)
			}
		case it.hasTarget():
			r.sp.TargetPort = it.Target
			if cp, ok := findByNumber(declared, it.Target.IntVal, proto); ok {
				r.fromName = cp.name
				if r.sp.Protocol == "" {
					r.sp.Protocol = cp.protocol
				}
			}
			if r.sp.Port == 0 {
				r.sp.Port = it.Target.IntVal
			}
		case spec == nil:
			r.sp.TargetPort = intstr.FromInt32(it.Port)
		default:
			cp, err := pickContainerPort(declared, it.Port, proto, what)
			if err != nil {
				return nil, err
			}
			if cp == nil { // nothing declared: the application is assumed to listen on the port itself
				r.sp.TargetPort = intstr.FromInt32(it.Port)
				break
			}
			r.sp.TargetPort = preferName(*cp)
			r.fromName = cp.name
			if r.sp.Protocol == "" {
				r.sp.Protocol = cp.protocol
			}
		}
		if r.sp.Protocol == "" {
			r.sp.Protocol = corev1.ProtocolTCP
		}
		out = append(out, r)
	}

	// names: as given, else the container port's name, else port-<port> (-udp/-sctp when needed)
	used := map[string]bool{}
	for _, r := range out {
		if r.sp.Name != "" {
			if used[r.sp.Name] {
				return nil, fmt.Errorf("port name %q is given twice", r.sp.Name)
			}
			used[r.sp.Name] = true
		}
	}
	ports := make([]corev1.ServicePort, len(out))
	for i, r := range out {
		sp := r.sp
		if sp.Name == "" {
			for _, cand := range []string{dnsLabel(r.fromName), fmt.Sprintf("port-%d", sp.Port),
				fmt.Sprintf("port-%d-%s", sp.Port, strings.ToLower(string(sp.Protocol)))} {
				if cand != "" && !used[cand] {
					sp.Name = cand
					break
				}
			}
			if sp.Name == "" {
				return nil, fmt.Errorf("port %d/%s is given twice", sp.Port, sp.Protocol)
			}
			used[sp.Name] = true
		}
		ports[i] = sp
	}
	return ports, nil
}

// dnsLabel returns name when it is a valid Service port name (a container port name usually is).
func dnsLabel(name string) string {
	if name == "" || len(validation.IsDNS1123Label(name)) > 0 {
		return ""
	}
	return name
}

func preferName(cp containerPort) intstr.IntOrString {
	if cp.name != "" {
		return intstr.FromString(cp.name)
	}
	return intstr.FromInt32(cp.number)
}

func findByName(ports []containerPort, name string, proto corev1.Protocol) (containerPort, bool) {
	for _, cp := range ports {
		if cp.name == name && (proto == "" || cp.protocol == proto) {
			return cp, true
		}
	}
	return containerPort{}, false
}

func findByNumber(ports []containerPort, n int32, proto corev1.Protocol) (containerPort, bool) {
	for _, cp := range ports {
		if cp.number == n && (proto == "" || cp.protocol == proto) {
			return cp, true
		}
	}
	return containerPort{}, false
}

// pickContainerPort chooses the container port a Service port without --target-port forwards
// to: the container port with the same number, else the only declared port (of the protocol).
// It returns nil when the template declares no port at all.
func pickContainerPort(declared []containerPort, port int32, proto corev1.Protocol, what string) (*containerPort, error) {
	if cp, ok := findByNumber(declared, port, proto); ok {
		return &cp, nil
	}
	var cands []containerPort
	seen := map[string]bool{}
	for _, cp := range declared {
		key := fmt.Sprintf("%d/%s", cp.number, cp.protocol)
		if (proto == "" || cp.protocol == proto) && !seen[key] {
			seen[key] = true
			cands = append(cands, cp)
		}
	}
	switch {
	case len(declared) == 0:
		return nil, nil
	case len(cands) == 1:
		return &cands[0], nil
	case len(cands) == 0:
		return nil, fmt.Errorf("port %d/%s: %s declares no %s port (%s): set the target with --target-port or --port %d:TARGET",
			port, proto, what, proto, describePorts(declared), port)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].number < cands[j].number })
	return nil, fmt.Errorf("port %d: %s declares several ports (%s): say which one it forwards to with --target-port or --port %d:TARGET",
		port, what, portList(cands), port)
}
