package expose

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/rules"
)

// Complete fills the options from the arguments and the kubectl flags, and builds the client
// (unless a test injected one).
func (o *Options) Complete(cmd *cobra.Command, f cmdutil.Factory, args []string) error {
	o.Args = args
	if cmd != nil {
		o.explicitOut = cmd.Flags().Changed("output")
	}
	if o.Kube != nil {
		if o.Namespace == "" {
			o.Namespace = "default"
		}
		if o.Diagnose == nil {
			o.Diagnose = StaticDiagnosis(o.Kube)
		}
		return nil
	}
	c, err := f.Clients()
	if err != nil {
		if o.DryRun == DryRunClient && o.Mode != ModeWorkload {
			o.offlineWhy = err.Error()
			o.Namespace = "default"
			if ns, explicit := f.Namespace(); explicit {
				o.Namespace = ns
			}
			return nil
		}
		return err
	}
	o.Kube, o.Namespace = c.Kube, c.Namespace
	if o.Diagnose == nil {
		o.Diagnose = StaticDiagnosis(o.Kube)
	}
	return nil
}

// Validate checks the flags and turns them into the object specs. It needs no cluster.
func (o *Options) Validate() error {
	switch o.DryRun {
	case DryRunNone, DryRunClient, DryRunServer:
	default:
		return cmdutil.UsageError("--dry-run %q: use none, client or server", o.DryRun)
	}
	switch o.Output {
	case "", OutputYAML, OutputJSON:
	default:
		return cmdutil.UsageError("--output %q is not supported: use yaml or json", o.Output)
	}
	if o.FieldManager == "" {
		return cmdutil.UsageError("--field-manager may not be empty")
	}
	r, err := parsePortRange(o.NodePortRange)
	if err != nil {
		return cmdutil.UsageError("--node-port-range: %v", err)
	}
	o.cfg = rules.DefaultConfig()
	o.cfg.NodePortRange = r
	o.cfg.Now = o.Now()
	labelMap, err := ParseKeyValues("--labels", o.Labels, validateLabel)
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	annotations := map[string]string{}
	for _, a := range o.Annotations {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return cmdutil.UsageError("--annotation %q: write KEY=VALUE", a)
		}
		if errs := validateAnnotation(k, v); len(errs) > 0 {
			return cmdutil.UsageError("--annotation %q: %s", a, strings.Join(errs, "; "))
		}
		annotations[k] = v
	}
	switch o.Mode {
	case ModeWorkload:
		ref, err := ParseWorkloadArgs(o.Args)
		if err != nil {
			return cmdutil.AsUsage(err)
		}
		o.workload = ref
		if o.Name == "" {
			o.Name = ref.Name
			if len(o.Name) > 63 {
				o.Name = o.Name[:63]
			}
		}
		return o.validateService(labelMap, annotations)
	case ModeExternal:
		o.Name = o.Args[0]
		if len(o.Ports) == 0 {
			return cmdutil.UsageError("--port is required: the port(s) the Service serves, e.g. --port 5432 or --port 80:8080")
		}
		if len(o.Addresses) == 0 {
			return cmdutil.UsageError("--address is required: the IP address(es) the Service sends its traffic to")
		}
		return o.validateService(labelMap, annotations)
	case ModeExternalName:
		o.Name = o.Args[0]
		ports, err := o.portSpecs()
		if err != nil {
			return err
		}
		proto, err := optionalProtocol(o.Protocol)
		if err != nil {
			return err
		}
		o.svcSpec = ServiceSpec{Name: o.Name, Namespace: o.Namespace, Labels: labelMap, Annotations: nonEmpty(annotations), Ports: ports, Protocol: proto}
		if _, err := BuildExternalName(o.svcSpec, o.To); err != nil {
			return cmdutil.AsUsage(err)
		}
		return nil
	case ModeIngress:
		o.Name = o.Args[0]
		return o.validateIngress(labelMap, annotations)
	}
	return cmdutil.UsageError("unknown expose mode")
}

func optionalProtocol(s string) (corev1.Protocol, error) {
	if s == "" {
		return "", nil
	}
	p, err := ParseProtocol(s)
	if err != nil {
		return "", cmdutil.UsageError("--protocol: %v", err)
	}
	return p, nil
}

// portSpecs merges --port and --target-port.
func (o *Options) portSpecs() ([]PortSpec, error) {
	var ports []PortSpec
	for _, p := range o.Ports {
		ps, err := ParsePortSpec(p)
		if err != nil {
			return nil, cmdutil.UsageError("--port %v", err)
		}
		ports = append(ports, ps)
	}
	if len(o.TargetPorts) == 0 {
		return ports, nil
	}
	targets := make([]PortSpec, len(o.TargetPorts))
	for i, t := range o.TargetPorts {
		tp, err := ParseTargetPort(t)
		if err != nil {
			return nil, cmdutil.UsageError("--target-port: %v", err)
		}
		targets[i].Target = tp
	}
	if len(ports) == 0 { // --target-port alone: the Service port is the container port
		return targets, nil
	}
	if len(targets) != len(ports) {
		return nil, cmdutil.UsageError("--target-port gives %d %s for %d --port %s: give one per port, in the same order (or write --port PORT:TARGET)",
			len(targets), plural(len(targets), "target", "targets"), len(ports), plural(len(ports), "value", "values"))
	}
	for i := range ports {
		if ports[i].hasTarget() {
			return nil, cmdutil.UsageError("--port %s already names its target: drop --target-port or the :TARGET part", o.Ports[i])
		}
		ports[i].Target = targets[i].Target
	}
	return ports, nil
}

func (o *Options) validateService(labelMap, annotations map[string]string) error {
	ports, err := o.portSpecs()
	if err != nil {
		return err
	}
	proto, err := optionalProtocol(o.Protocol)
	if err != nil {
		return err
	}
	spec := ServiceSpec{Name: o.Name, Namespace: o.Namespace, Labels: labelMap, Annotations: nonEmpty(annotations), Ports: ports,
		Protocol: proto, Headless: o.Headless, PublishNotReadyAddresses: o.PublishNotReady}
	switch strings.ToLower(o.Type) {
	case "", "clusterip":
		spec.Type = corev1.ServiceTypeClusterIP
	case "nodeport":
		spec.Type = corev1.ServiceTypeNodePort
	case "loadbalancer":
		spec.Type = corev1.ServiceTypeLoadBalancer
	case "externalname":
		return cmdutil.UsageError("--type ExternalName: use `kubectl svc-doctor expose externalname NAME --to HOSTNAME`")
	default:
		return cmdutil.UsageError("--type %q: use ClusterIP, NodePort or LoadBalancer", o.Type)
	}
	external := spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer
	if o.Headless && spec.Type != corev1.ServiceTypeClusterIP {
		return cmdutil.UsageError("--headless cannot be combined with --type %s: a headless Service has no cluster IP for node ports or load balancers to forward to", spec.Type)
	}
	for _, np := range o.NodePorts {
		n, err := strconv.Atoi(strings.TrimSpace(np))
		if err != nil || n < 0 || n > 65535 {
			return cmdutil.UsageError("--node-port %q is not a port number", np)
		}
		spec.NodePorts = append(spec.NodePorts, int32(n))
	}
	if len(spec.NodePorts) > 0 && !external {
		return cmdutil.UsageError("--node-port needs --type NodePort or LoadBalancer (a %s Service has no node ports)", spec.Type)
	}
	switch strings.ToLower(o.ExternalTrafficPolicy) {
	case "":
	case "cluster", "local":
		if !external {
			return cmdutil.UsageError("--external-traffic-policy applies to traffic from outside the cluster: it needs --type NodePort or LoadBalancer")
		}
		spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		if strings.EqualFold(o.ExternalTrafficPolicy, "local") {
			spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}
	default:
		return cmdutil.UsageError("--external-traffic-policy %q: use Cluster or Local", o.ExternalTrafficPolicy)
	}
	switch strings.ToLower(o.SessionAffinity) {
	case "", "none":
		if o.SessionAffinityTimeout != "" {
			return cmdutil.UsageError("--session-affinity-timeout needs --session-affinity ClientIP")
		}
	case "clientip":
		spec.SessionAffinity = corev1.ServiceAffinityClientIP
		if o.SessionAffinityTimeout != "" {
			secs, err := parseSeconds(o.SessionAffinityTimeout)
			if err != nil {
				return cmdutil.UsageError("--session-affinity-timeout %q: %v", o.SessionAffinityTimeout, err)
			}
			spec.SessionAffinityTimeout = &secs
		}
	default:
		return cmdutil.UsageError("--session-affinity %q: use None or ClientIP (a Service has no cookie affinity: that is an Ingress controller feature)", o.SessionAffinity)
	}
	if o.Selector != "" {
		sel, err := labels.ConvertSelectorToLabelsMap(o.Selector)
		if err != nil {
			return cmdutil.UsageError("--selector %q: a Service selector is KEY=VALUE[,KEY=VALUE] (equality only): %v", o.Selector, err)
		}
		spec.Selector = sel
	}
	o.svcSpec = spec
	if o.Mode == ModeExternal {
		if _, err := BuildExternal(spec, o.Addresses, o.LegacyEndpoints); err != nil {
			return cmdutil.AsUsage(err)
		}
	}
	return nil
}

// maxAffinitySeconds is the longest session affinity timeout the API accepts (one day).
const maxAffinitySeconds = 86400

// parseSeconds reads a session affinity timeout: a duration (3h, 90m) or a number of seconds,
// between 1 and 86400 (the API's range).
func parseSeconds(s string) (int32, error) {
	var secs int64
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		secs = n
	} else {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("write a duration such as 3h or a number of seconds")
		}
		if d%time.Second != 0 {
			return 0, fmt.Errorf("the timeout is counted in whole seconds")
		}
		secs = int64(d / time.Second)
	}
	if secs < 1 || secs > maxAffinitySeconds {
		return 0, fmt.Errorf("the timeout must be between 1s and 24h (86400 seconds)")
	}
	return int32(secs), nil
}

func (o *Options) validateIngress(labelMap, annotations map[string]string) error {
	pt, err := ParsePathType(o.PathType)
	if err != nil {
		return cmdutil.AsUsage(err)
	}
	spec := IngressSpec{Name: o.Name, Namespace: o.Namespace, Labels: labelMap, Annotations: nonEmpty(annotations), Class: o.Class}
	for _, r := range o.Rules {
		rule, err := ParseRule(r, pt)
		if err != nil {
			return cmdutil.AsUsage(err)
		}
		spec.Rules = append(spec.Rules, rule)
	}
	if o.DefaultBackend != "" {
		b, err := ParseBackend(o.DefaultBackend)
		if err != nil {
			return cmdutil.UsageError("--default-backend %v", err)
		}
		spec.DefaultBackend = &b
	}
	for _, t := range o.TLS {
		tls, err := ParseTLS(t)
		if err != nil {
			return cmdutil.AsUsage(err)
		}
		spec.TLS = append(spec.TLS, tls)
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return cmdutil.UsageError("--cert and --key go together: the certificate chain and its private key")
	}
	if o.CertFile != "" {
		switch len(spec.TLS) {
		case 0:
			spec.TLS = []IngressTLS{{Secret: o.Name + "-tls"}}
		case 1:
		default:
			return cmdutil.UsageError("--cert/--key fill one Secret, but %d --tls entries are given: create the other Secrets first, or run expose ingress once per certificate", len(spec.TLS))
		}
		o.certSecret = spec.TLS[0].Secret
		certPEM, err := o.ReadFile(o.CertFile)
		if err != nil {
			return cmdutil.UsageError("--cert: %v", err)
		}
		keyPEM, err := o.ReadFile(o.KeyFile)
		if err != nil {
			return cmdutil.UsageError("--key: %v", err)
		}
		pair, err := LoadCertPair(certPEM, keyPEM)
		if err != nil {
			return cmdutil.AsUsage(err)
		}
		o.cert = pair
	}
	if _, err := BuildIngress(spec); err != nil {
		return cmdutil.AsUsage(err)
	}
	o.ingSpec = spec
	return nil
}

func parsePortRange(s string) (rules.PortRange, error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return rules.PortRange{}, fmt.Errorf("%q is not a port range MIN-MAX with 1 <= MIN <= MAX <= 65535", s)
	}
	return rules.PortRange{Min: int32(a), Max: int32(b)}, nil
}
