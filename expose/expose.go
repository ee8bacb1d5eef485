// Package expose implements `kubectl svc-doctor expose`: it creates Services (from a workload,
// headless, with manual EndpointSlices, ExternalName) and Ingresses (with their TLS Secret), the
// objects of the Services chapter. Before anything is sent, the new objects go through the same
// rules as `lint`, against their live neighbours; errors stop the apply. Objects are
// server-side-applied, so a rerun updates rather than fails. Afterwards expose watches until the
// Service has ready endpoints or the Ingress an address, and says what it saw.
package expose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/report"
	"github.com/svc-doctor/svc-doctor/rules"
	"github.com/svc-doctor/svc-doctor/snapshot"
)

// Mode is what an expose command creates.
type Mode int

// The modes, one per command.
const (
	ModeWorkload     Mode = iota // expose TYPE/NAME
	ModeExternal                 // expose external NAME --address
	ModeExternalName             // expose externalname NAME --to
	ModeIngress                  // expose ingress NAME --rule
)

// Dry-run strategies.
const (
	DryRunNone   = "none"
	DryRunClient = "client"
	DryRunServer = "server"
)

// DefaultFieldManager owns the fields expose applies.
const DefaultFieldManager = "svc-doctor"

// DefaultWait is how long the after-check waits by default.
const DefaultWait = 60 * time.Second

// DiagnoseFunc runs the Service diagnosis after a failed after-check and returns its verdict
// (one paragraph), or an error when it could not run.
type DiagnoseFunc func(ctx context.Context, namespace, service string) (string, error)

// Options are the inputs of an expose run. Flags fill the exported fields; dependencies are
// fields so that tests inject them.
type Options struct {
	Mode Mode
	Args []string

	// service flags
	Name                   string
	Ports                  []string
	TargetPorts            []string
	Protocol               string
	Type                   string
	NodePorts              []string
	ExternalTrafficPolicy  string
	SessionAffinity        string
	SessionAffinityTimeout string
	Selector               string
	Headless               bool
	PublishNotReady        bool
	// external, externalname
	Addresses       []string
	LegacyEndpoints bool
	To              string
	// ingress
	Rules          []string
	Class          string
	DefaultBackend string
	TLS            []string
	CertFile       string
	KeyFile        string
	PathType       string
	// common
	Labels         []string
	Annotations    []string
	DryRun         string
	Output         string
	FieldManager   string
	Force          bool
	ForceConflicts bool
	Wait           WaitFlag
	NodePortRange  string

	// Kube is the cluster client; nil means offline (only with --dry-run=client).
	Kube kubernetes.Interface
	// Namespace is -n, or the kubeconfig context's namespace.
	Namespace string
	// Now is the clock certificates are checked against.
	Now func() time.Time
	// Diagnose, when set, runs the diagnosis after a failed after-check.
	Diagnose DiagnoseFunc
	// Settle is how long the after-check keeps waiting for the remaining endpoints once one is ready.
	Settle time.Duration
	// ReadFile reads --cert and --key.
	ReadFile func(string) ([]byte, error)

	genericiooptions.IOStreams

	cfg         rules.Config
	svcSpec     ServiceSpec
	ingSpec     IngressSpec
	workload    WorkloadRef
	cert        *CertPair
	certSecret  string
	offlineWhy  string
	explicitOut bool
}

// NewOptions returns options with the defaults.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams, DryRun: DryRunNone, FieldManager: DefaultFieldManager, Wait: WaitFlag{On: true, Timeout: DefaultWait},
		NodePortRange: "30000-32767", PathType: "Prefix", Now: time.Now, Settle: 5 * time.Second, ReadFile: os.ReadFile}
}

// WaitFlag is --wait[=TIMEOUT]: true, false, or a timeout such as 90s.
type WaitFlag struct {
	On      bool
	Timeout time.Duration
	// Given is true when the flag was given.
	Given bool
}

func (w *WaitFlag) String() string {
	if !w.On {
		return "false"
	}
	return w.Timeout.String()
}

// Set implements pflag.Value.
func (w *WaitFlag) Set(s string) error {
	w.Given = true
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "":
		w.On = true
		if w.Timeout <= 0 {
			w.Timeout = DefaultWait
		}
		return nil
	case "false":
		w.On = false
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if n, e := strconv.Atoi(s); e == nil {
			d, err = time.Duration(n)*time.Second, nil
		}
	}
	if err != nil || d < 0 {
		return fmt.Errorf("%q: use --wait, --wait=false or --wait=TIMEOUT such as --wait=90s", s)
	}
	w.On, w.Timeout = d > 0, d
	return nil
}

// Type implements pflag.Value.
func (w *WaitFlag) Type() string { return "timeout" }

const exposeLong = `Create a Service, its endpoints or an Ingress, checked before and after.

Before anything is sent, the new objects go through the same rules as 'kubectl svc-doctor lint',
against the objects already in the namespace: the pods the Service selects, the container ports its
targetPorts name, the Services and ports an Ingress routes to, the TLS Secret and the hosts its
certificate covers, node ports. An error stops everything (nothing is created) unless --force;
warnings are printed. Objects are server-side-applied (field manager "svc-doctor"), so running the
same command again updates them. Afterwards expose watches until the Service has a ready endpoint or
the Ingress an address (--wait, default 60s) and reports what it saw; exit code 1 when it never did.

Ports (--port, repeatable or comma-separated) are written [NAME=]PORT[:TARGET][/PROTOCOL]. TARGET is
a container port number or name; without it expose picks the container port of the same number, or
the only one, preferring its name as targetPort. Every port gets a name: the container port's, else
port-<PORT>.

Workloads: deployment (deploy), replicaset (rs), statefulset (sts), replicationcontroller (rc), pod (po).

Exit codes: 0 done, 1 refused by the checks or the after-check failed, 2 usage error, 3 could not
complete (cluster unreachable, forbidden).`

const exposeExample = `  # a ClusterIP Service for a Deployment: selector and ports come from it
  kubectl svc-doctor expose deploy/web

  # port 80 forwarding to the container port named http, and 443 to https, as a NodePort Service
  kubectl svc-doctor expose deployment web --port 80:http --port 443:https --type NodePort

  # a headless Service whose DNS name lists the pods, ready or not
  kubectl svc-doctor expose sts/db --headless --publish-not-ready-addresses --name db

  # only print the Service (nothing is created)
  kubectl svc-doctor expose deploy/web --port 80:8080 --dry-run=client -o yaml`

// NewCmd returns the expose command and its subcommands (external, externalname, ingress).
func NewCmd(kube *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(NewOptions(streams), kube)
}

// newCmd builds the command tree over o (tests pass options with their dependencies set).
func newCmd(o *Options, kube *genericclioptions.ConfigFlags) *cobra.Command {
	run := func(mode Mode) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			o.Mode = mode
			if err := o.Complete(cmd, kube, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		}
	}
	cmd := &cobra.Command{
		Use:     "expose (TYPE/NAME | TYPE NAME) [--port [NAME=]PORT[:TARGET][/PROTOCOL]]... [--type TYPE] [flags]",
		Short:   "Create a Service (or endpoints, an ExternalName alias, an Ingress), checked before and after",
		Long:    exposeLong,
		Example: exposeExample,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 || len(args) > 2 {
				return cmdutil.UsageError("expose takes one workload, as TYPE/NAME or TYPE NAME (e.g. deploy/web), or a subcommand: external, externalname, ingress")
			}
			return nil
		},
		RunE: run(ModeWorkload),
		ValidArgs: []string{"deployment", "replicaset", "statefulset", "replicationcontroller", "pod",
			"external", "externalname", "ingress"},
	}
	addCommonFlags(cmd, o)
	addServiceFlags(cmd, o, true)

	external := &cobra.Command{
		Use:   "external NAME --address IP[,IP]... --port [NAME=]PORT[:TARGET][/PROTOCOL]",
		Short: "Create a Service without selector and the EndpointSlices that send it to IP addresses",
		Long: `Create a Service without selector and the EndpointSlices (discovery.k8s.io/v1) that send its traffic
to the given IP addresses: one slice per IP family, labelled kubernetes.io/service-name=NAME and
managed by svc-doctor, with the Service's port names. TARGET is the port on those addresses. A rerun
replaces the addresses (slices of a family no longer given are deleted). --legacy-endpoints also
writes a core/v1 Endpoints object for clusters or tools that still read them.`,
		Example: `  # a Service in front of a database outside the cluster
  kubectl svc-doctor expose external legacy-db --address 10.0.12.7,10.0.12.8 --port 5432

  # port 80 forwarding to 8080 on the addresses
  kubectl svc-doctor expose external api --address 192.0.2.10 --port http=80:8080`,
		Args: exactlyOneName("external"),
		RunE: run(ModeExternal),
	}
	addServiceFlags(external, o, false)
	external.Flags().StringSliceVar(&o.Addresses, "address", nil, "IP address(es) to send the traffic to; repeatable or comma-separated")
	external.Flags().BoolVar(&o.LegacyEndpoints, "legacy-endpoints", false, "also write a core/v1 Endpoints object (deprecated API)")

	externalName := &cobra.Command{
		Use:   "externalname NAME --to HOSTNAME [--port PORT]",
		Short: "Create an ExternalName Service: a DNS alias (CNAME) of another host name",
		Long: `Create an ExternalName Service: the cluster DNS answers NAME.NAMESPACE.svc with a CNAME record to the
given host name. There is no cluster IP and no proxying: clients connect to that host directly. An IP
address is refused: a CNAME to an IP points at a host name that does not exist. For an IP address,
use 'kubectl svc-doctor expose external NAME --address IP'.`,
		Example: `  kubectl svc-doctor expose externalname payments --to api.payments.example.com --port 443`,
		Args:    exactlyOneName("externalname"),
		RunE:    run(ModeExternalName),
	}
	ef := externalName.Flags()
	ef.StringVar(&o.To, "to", "", "the DNS name the Service is an alias of")
	ef.StringSliceVar(&o.Ports, "port", nil, "port(s) to document on the Service (ExternalName Services do not proxy), [NAME=]PORT[/PROTOCOL]")
	ef.StringVar(&o.Protocol, "protocol", "", "protocol of the ports: TCP, UDP or SCTP")

	ingress := &cobra.Command{
		Use:   "ingress NAME --rule HOST/PATH=SERVICE:PORT... [--class CLASS] [--tls HOSTS=SECRET] [--cert FILE --key FILE]",
		Short: "Create an Ingress (and its TLS Secret), checked against the Services it routes to",
		Long: `Create a networking.k8s.io/v1 Ingress. Each --rule is [HOST]/PATH=SERVICE:PORT (PORT is the Service's
port number or name, not the container's): a path ending in * is a Prefix path (/api* matches /api
and /api/...), other paths get --path-type (Prefix by default, or Exact). HOST may be a wildcard of
one label (*.example.com) or left out to match every host. --tls HOST[,HOST]=SECRET names the
Secret holding the certificate for those hosts (every host of the rules when only SECRET is given);
with --cert and --key expose creates that kubernetes.io/tls Secret (keys tls.crt and tls.key) after
checking that the pair loads and covers the hosts.`,
		Example: `  # two paths of one host, TLS from certificate files
  kubectl svc-doctor expose ingress shop --class traefik \
    --rule 'shop.example.com/api*=api:http' --rule 'shop.example.com/=web:80' \
    --tls shop.example.com=shop-tls --cert shop.crt --key shop.key

  # a wildcard host and a default backend
  kubectl svc-doctor expose ingress tenants --rule '*.example.com/*=tenant-router:80' --default-backend web:80`,
		Args: exactlyOneName("ingress"),
		RunE: run(ModeIngress),
	}
	inf := ingress.Flags()
	inf.StringArrayVar(&o.Rules, "rule", nil, "route [HOST]/PATH=SERVICE:PORT (a trailing * makes a Prefix path); repeatable")
	inf.StringVar(&o.Class, "class", "", "IngressClass (spec.ingressClassName); default: the cluster's default class")
	inf.StringVar(&o.DefaultBackend, "default-backend", "", "SERVICE:PORT for requests that match no rule")
	inf.StringArrayVar(&o.TLS, "tls", nil, "HOST[,HOST]=SECRET: serve these hosts over TLS with this Secret's certificate; repeatable")
	inf.StringVar(&o.CertFile, "cert", "", "PEM certificate (chain) file: create the TLS Secret named by --tls from it (with --key)")
	inf.StringVar(&o.KeyFile, "key", "", "PEM private key file of --cert")
	inf.StringVar(&o.PathType, "path-type", o.PathType, "pathType of paths without a trailing *: Prefix or Exact")
	_ = ingress.MarkFlagFilename("cert")
	_ = ingress.MarkFlagFilename("key")

	cmd.AddCommand(external, externalName, ingress)
	return cmd
}

func exactlyOneName(what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return cmdutil.UsageError("expose %s takes one argument, the name of the object to create; got %d", what, len(args))
		}
		return nil
	}
}

func addCommonFlags(cmd *cobra.Command, o *Options) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.DryRun, "dry-run", o.DryRun, `"none" applies; "client" only prints what would be applied; "server" sends it for validation without persisting`)
	f.Lookup("dry-run").NoOptDefVal = DryRunClient
	f.StringVarP(&o.Output, "output", "o", "", "print the objects as yaml or json instead of one line each")
	f.StringVar(&o.FieldManager, "field-manager", o.FieldManager, "name of the server-side apply field manager")
	f.BoolVar(&o.Force, "force", false, "apply even when the checks find errors")
	f.BoolVar(&o.ForceConflicts, "force-conflicts", false, "take over fields another field manager owns (server-side apply conflicts)")
	f.Var(&o.Wait, "wait", "after applying, wait until the Service has a ready endpoint or the Ingress an address: --wait[=TIMEOUT], --wait=false to skip")
	f.Lookup("wait").NoOptDefVal = "true"
	f.StringVar(&o.NodePortRange, "node-port-range", o.NodePortRange, "the cluster's --service-node-port-range, as MIN-MAX")
	f.StringSliceVarP(&o.Labels, "labels", "l", nil, "labels of the created objects, KEY=VALUE[,KEY=VALUE] (default for a workload's Service: the workload's labels)")
	f.StringArrayVar(&o.Annotations, "annotation", nil, "annotation of the Service or Ingress, KEY=VALUE; repeatable")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{OutputYAML, OutputJSON}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("dry-run", cobra.FixedCompletions([]string{DryRunNone, DryRunClient, DryRunServer}, cobra.ShellCompDirectiveNoFileComp))
}

func addServiceFlags(cmd *cobra.Command, o *Options, workload bool) {
	f := cmd.Flags()
	f.StringSliceVar(&o.Ports, "port", nil, "Service port(s), [NAME=]PORT[:TARGET][/PROTOCOL]; repeatable or comma-separated (default: the container ports)")
	f.StringSliceVar(&o.TargetPorts, "target-port", nil, "container port number or name each --port forwards to, in --port order")
	f.StringVar(&o.Protocol, "protocol", "", "protocol of ports that do not name one: TCP, UDP or SCTP (default: the container port's, else TCP)")
	f.StringVar(&o.Type, "type", "ClusterIP", "Service type: ClusterIP, NodePort or LoadBalancer")
	f.StringSliceVar(&o.NodePorts, "node-port", nil, "node port of each --port, in order (NodePort and LoadBalancer; 0 lets the cluster choose)")
	f.StringVar(&o.ExternalTrafficPolicy, "external-traffic-policy", "", "Cluster or Local (NodePort and LoadBalancer): Local keeps the client IP and only uses the node's own endpoints")
	f.StringVar(&o.SessionAffinity, "session-affinity", "", "None or ClientIP: send each client IP to the same pod")
	f.StringVar(&o.SessionAffinityTimeout, "session-affinity-timeout", "", "with --session-affinity ClientIP: how long a client sticks to its pod, e.g. 3h or 10800 (seconds; at most 24h)")
	f.StringVar(&o.Name, "name", "", "name of the Service (default: the workload's name)")
	f.BoolVar(&o.Headless, "headless", false, "headless Service (clusterIP: None): DNS answers with the endpoint IPs, nothing is proxied")
	if workload {
		f.StringVar(&o.Selector, "selector", "", "pod selector KEY=VALUE[,KEY=VALUE] (default: the workload's)")
		f.BoolVar(&o.PublishNotReady, "publish-not-ready-addresses", false, "count pods as endpoints (and in DNS) before they are ready")
	}
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions([]string{"ClusterIP", "NodePort", "LoadBalancer"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("external-traffic-policy", cobra.FixedCompletions([]string{"Cluster", "Local"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("session-affinity", cobra.FixedCompletions([]string{"None", "ClientIP"}, cobra.ShellCompDirectiveNoFileComp))
}

// Complete fills the options from the arguments and the kubectl flags, and builds the client
// (unless a test injected one).
func (o *Options) Complete(cmd *cobra.Command, kube *genericclioptions.ConfigFlags, args []string) error {
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
	c, err := cmdutil.NewClients(kube, 30*time.Second)
	if err != nil {
		if o.DryRun == DryRunClient && o.Mode != ModeWorkload {
			o.offlineWhy = err.Error()
			o.Namespace = "default"
			if kube != nil && kube.Namespace != nil && *kube.Namespace != "" {
				o.Namespace = *kube.Namespace
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

// parseSeconds reads a duration (3h, 90m) or a number of seconds.
func parseSeconds(s string) (int32, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return int32(n), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("write a duration such as 3h or a number of seconds")
	}
	if d%time.Second != 0 {
		return 0, fmt.Errorf("the timeout is counted in whole seconds")
	}
	return int32(d / time.Second), nil
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

// Build returns the objects to create. For a workload it reads the workload (one GET).
func (o *Options) Build(ctx context.Context) (*Plan, *Target, error) {
	switch o.Mode {
	case ModeWorkload:
		if o.Kube == nil {
			return nil, nil, cmdutil.Incomplete(fmt.Errorf("reading %s needs the cluster: %s", o.workload, o.offlineWhy))
		}
		t, err := FetchTarget(ctx, o.Kube, o.Namespace, o.workload)
		if err != nil {
			if strings.Contains(err.Error(), "not found") {
				return nil, nil, cmdutil.AsUsage(err)
			}
			return nil, nil, cmdutil.Incomplete(err)
		}
		spec := o.svcSpec
		spec.Namespace = o.Namespace
		svc, err := BuildService(spec, t)
		if err != nil {
			return nil, nil, cmdutil.AsUsage(err)
		}
		return &Plan{Service: svc}, t, nil
	case ModeExternal:
		spec := o.svcSpec
		spec.Namespace = o.Namespace
		p, err := BuildExternal(spec, o.Addresses, o.LegacyEndpoints)
		return p, nil, cmdutil.AsUsage(err)
	case ModeExternalName:
		spec := o.svcSpec
		spec.Namespace = o.Namespace
		svc, err := BuildExternalName(spec, o.To)
		if err != nil {
			return nil, nil, cmdutil.AsUsage(err)
		}
		return &Plan{Service: svc}, nil, nil
	case ModeIngress:
		spec := o.ingSpec
		spec.Namespace = o.Namespace
		ing, err := BuildIngress(spec)
		if err != nil {
			return nil, nil, cmdutil.AsUsage(err)
		}
		p := &Plan{Ingress: ing}
		if o.cert != nil {
			p.Secret = BuildTLSSecret(o.certSecret, o.Namespace, o.cert, spec.Labels)
		}
		return p, nil, nil
	}
	return nil, nil, fmt.Errorf("unknown mode")
}

// Run builds, checks, applies and verifies.
func (o *Options) Run(ctx context.Context) error {
	plan, target, err := o.Build(ctx)
	if err != nil {
		return err
	}
	if target != nil && target.ServiceName != "" && o.Headless && target.ServiceName != plan.Service.Name {
		fmt.Fprintf(o.ErrOut, "warning: %s names %s as its governing Service (spec.serviceName): its pods get DNS names <pod>.%s only from a headless Service of that name (use --name %s)\n",
			target, target.ServiceName, target.ServiceName, target.ServiceName)
	}
	res, err := o.check(ctx, plan)
	if err != nil {
		return err
	}
	if res.Counts.Error > 0 {
		if !o.Force {
			return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Err: fmt.Errorf("nothing was created: the checks found %d %s (above); fix %s, or pass --force to create anyway",
				res.Counts.Error, plural(res.Counts.Error, "error", "errors"), plural(res.Counts.Error, "it", "them"))}
		}
		fmt.Fprintf(o.ErrOut, "warning: --force: applying despite %d %s\n", res.Counts.Error, plural(res.Counts.Error, "error", "errors"))
	}
	applied, err := o.apply(ctx, plan)
	if err != nil {
		return err
	}
	if o.DryRun != DryRunNone {
		return nil
	}
	return o.after(ctx, plan, applied)
}

// check runs the rules over the plan and prints the findings on stderr.
func (o *Options) check(ctx context.Context, plan *Plan) (*CheckResult, error) {
	base := &snapshot.Snapshot{DefaultNamespace: o.Namespace, Unavailable: map[string]string{}}
	what := "on their own (no cluster)"
	if o.Kube != nil {
		fmt.Fprintf(o.ErrOut, "reading namespace %s from the cluster...\n", o.Namespace)
		live, warnings, err := liveNeighbours(ctx, o.Kube, o.Namespace, plan)
		switch {
		case err != nil && o.DryRun == DryRunClient && o.Mode != ModeWorkload:
			o.offlineWhy = err.Error()
		case err != nil:
			return nil, cmdutil.Incomplete(fmt.Errorf("reading namespace %s: %w", o.Namespace, err))
		default:
			base = live
			what = fmt.Sprintf("against %d %s in namespace %s", live.Objects(), plural(live.Objects(), "object", "objects"), o.Namespace)
			for _, w := range warnings {
				fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
			}
		}
	}
	if o.offlineWhy != "" {
		fmt.Fprintf(o.ErrOut, "warning: not checked against the cluster (%s): the objects are checked on their own\n", o.offlineWhy)
	}
	neighbours := base.Objects()
	snap := WithPlan(base, plan, o.Now())
	res, err := Check(snap, plan, o.cfg, neighbours)
	if err != nil {
		return nil, cmdutil.AsUsage(err)
	}
	WriteFindings(o.ErrOut, res.Findings)
	n := len(plan.Objects())
	fmt.Fprintf(o.ErrOut, "checked %d new %s %s with %d rules: %d %s, %d %s, %d info\n", n, plural(n, "object", "objects"), what, res.Rules,
		res.Counts.Error, plural(res.Counts.Error, "error", "errors"), res.Counts.Warning, plural(res.Counts.Warning, "warning", "warnings"), res.Counts.Info)
	return res, nil
}

// apply sends the plan (or prints it, with --dry-run=client) and returns what the server stored.
func (o *Options) apply(ctx context.Context, plan *Plan) ([]runtime.Object, error) {
	objs := plan.Objects()
	suffix := ""
	switch o.DryRun {
	case DryRunClient:
		if o.Output != "" {
			return objs, cmdutil.Incomplete(WriteObjects(o.Out, o.Output, objs))
		}
		for _, obj := range objs {
			fmt.Fprintf(o.Out, "%s serverside-applied (dry run)\n", ObjectName(obj))
		}
		return objs, nil
	case DryRunServer:
		suffix = " (server dry run)"
	}
	a := &applier{cs: o.Kube, fieldManager: o.FieldManager, force: o.ForceConflicts, dryRun: true}
	if o.DryRun == DryRunNone {
		// validate everything first, so that an object the API server rejects stops all of them
		for _, obj := range objs {
			if _, err := a.apply(ctx, obj); err != nil {
				return nil, o.applyError(obj, err, true)
			}
		}
		a.dryRun = false
	}
	var out []runtime.Object
	for i, obj := range objs {
		res, err := a.apply(ctx, obj)
		if err != nil {
			err = o.applyError(obj, err, false)
			if i > 0 {
				err = fmt.Errorf("%w (already applied: %s)", err, names(objs[:i]))
			}
			return out, err
		}
		out = append(out, res)
		if o.Output == "" {
			fmt.Fprintf(o.Out, "%s serverside-applied%s\n", ObjectName(obj), suffix)
		}
	}
	if o.Mode == ModeExternal {
		if err := o.pruneSlices(ctx, plan, a.dryRun, suffix); err != nil {
			return out, err
		}
	}
	if o.Output != "" {
		if err := WriteObjects(o.Out, o.Output, out); err != nil {
			return out, cmdutil.Incomplete(err)
		}
	}
	return out, nil
}

func names(objs []runtime.Object) string {
	parts := make([]string, len(objs))
	for i, o := range objs {
		parts[i] = ObjectName(o)
	}
	return strings.Join(parts, ", ")
}

// applyError explains an API error on obj.
func (o *Options) applyError(obj runtime.Object, err error, validating bool) error {
	prefix := ObjectName(obj) + ": "
	if validating {
		prefix = "nothing was created: the API server rejects " + ObjectName(obj) + ": "
	}
	var status apierrors.APIStatus
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		return cmdutil.Incomplete(errors.New(prefix + snapshot.DescribeAPIError(err, "patch", resourceOf(obj), o.Namespace)))
	case apierrors.IsConflict(err):
		return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Err: fmt.Errorf("%s%v\n(another field manager owns these fields: pass --force-conflicts to take them over)", prefix, err)}
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || errors.As(err, &status) && status.Status().Code == 422:
		return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Err: fmt.Errorf("%s%v", prefix, err)}
	}
	return cmdutil.Incomplete(fmt.Errorf("%s%w", prefix, err))
}

// pruneSlices deletes the EndpointSlices an earlier run wrote for this Service that the plan no
// longer has (an IP family that is not given any more).
func (o *Options) pruneSlices(ctx context.Context, plan *Plan, dryRun bool, suffix string) error {
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: plan.Service.Name, discoveryv1.LabelManagedBy: ManagedBy}).String()
	l, err := o.Kube.DiscoveryV1().EndpointSlices(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return cmdutil.Incomplete(fmt.Errorf("listing the EndpointSlices of service/%s: %s", plan.Service.Name, snapshot.DescribeAPIError(err, "list", "endpointslices", o.Namespace)))
	}
	keep := map[string]bool{}
	for _, es := range plan.EndpointSlices {
		keep[es.Name] = true
	}
	opts := metav1.DeleteOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, es := range l.Items {
		if keep[es.Name] {
			continue
		}
		if err := o.Kube.DiscoveryV1().EndpointSlices(o.Namespace).Delete(ctx, es.Name, opts); err != nil && !apierrors.IsNotFound(err) {
			return cmdutil.Incomplete(fmt.Errorf("deleting endpointslice/%s: %w", es.Name, err))
		}
		if o.Output == "" {
			fmt.Fprintf(o.Out, "endpointslice/%s deleted (no longer in --address)%s\n", es.Name, suffix)
		}
	}
	return nil
}

// after is the after-check: it waits for endpoints or an Ingress address and reports.
func (o *Options) after(ctx context.Context, plan *Plan, applied []runtime.Object) error {
	// with -o the objects own stdout: the report goes to stderr
	out := o.Out
	if o.Output != "" {
		out = o.ErrOut
	}
	var svc *corev1.Service
	for _, obj := range applied {
		if s, ok := obj.(*corev1.Service); ok {
			svc = s
		}
	}
	if svc != nil {
		o.describeService(out, svc)
	}
	waitSvc := svc != nil && svc.Spec.Type != corev1.ServiceTypeExternalName && (len(svc.Spec.Selector) > 0 || o.Wait.Given)
	if !o.Wait.On || (!waitSvc && plan.Ingress == nil) {
		return nil
	}
	if waitSvc {
		fmt.Fprintf(o.ErrOut, "waiting up to %s for service/%s to have a ready endpoint...\n", o.Wait.Timeout, svc.Name)
		res, err := WaitEndpoints(ctx, o.Kube, o.Namespace, svc.Name, o.Wait.Timeout, o.Settle)
		if err != nil && !errors.Is(err, errTimeout) {
			return cmdutil.Incomplete(fmt.Errorf("watching the EndpointSlices of service/%s: %s", svc.Name, snapshot.DescribeAPIError(err, "watch", "endpointslices", o.Namespace)))
		}
		if !res.OK {
			return o.endpointsFailed(ctx, out, svc, res)
		}
		line := fmt.Sprintf("service/%s: %s after %s", svc.Name, res.Endpoints, roundDuration(res.Elapsed))
		if len(res.Endpoints.NotReady) > 0 {
			line += " (not ready: " + report.Sanitize(strings.Join(res.Endpoints.NotReady, ", ")) + ")"
		}
		fmt.Fprintln(out, line)
	}
	if ing := plan.Ingress; ing != nil {
		fmt.Fprintf(o.ErrOut, "waiting up to %s for ingress/%s to get an address...\n", o.Wait.Timeout, ing.Name)
		res, err := WaitIngress(ctx, o.Kube, o.Namespace, ing.Name, o.Wait.Timeout)
		if err != nil && !errors.Is(err, errTimeout) {
			return cmdutil.Incomplete(fmt.Errorf("watching ingress/%s: %s", ing.Name, snapshot.DescribeAPIError(err, "watch", "ingresses", o.Namespace)))
		}
		if !res.OK {
			fmt.Fprintf(out, "ingress/%s: no address after %s: no Ingress controller has picked it up (is its IngressClass served? kubectl get ingressclass)\n", ing.Name, roundDuration(res.Elapsed))
			for _, b := range ingressServices(ing) {
				fmt.Fprintf(out, "  to check backend service/%s: kubectl svc-doctor diagnose svc/%s -n %s\n", b, b, o.Namespace)
			}
			return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Silent: true, Err: fmt.Errorf("ingress/%s got no address", ing.Name)}
		}
		fmt.Fprintf(out, "ingress/%s: address %s after %s\n", ing.Name, report.Sanitize(strings.Join(res.Addresses, ", ")), roundDuration(res.Elapsed))
	}
	return nil
}

// describeService prints what the cluster allocated: node ports, a pending load balancer.
func (o *Options) describeService(out io.Writer, svc *corev1.Service) {
	if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		var parts []string
		for _, p := range svc.Spec.Ports {
			parts = append(parts, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol))
		}
		fmt.Fprintf(out, "service/%s: node ports %s (on every node's IP)\n", svc.Name, strings.Join(parts, ", "))
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && len(svc.Status.LoadBalancer.Ingress) == 0 {
		fmt.Fprintf(out, "service/%s: load balancer address pending (a cloud or load-balancer controller assigns it; the node ports work meanwhile)\n", svc.Name)
	}
}

// ingressServices lists the Services an Ingress routes to, sorted.
func ingressServices(ing *networkingv1.Ingress) []string {
	set := map[string]string{}
	if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil {
		set[b.Service.Name] = ""
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, p := range r.HTTP.Paths {
			if p.Backend.Service != nil {
				set[p.Backend.Service.Name] = ""
			}
		}
	}
	return sortedKeys(set)
}

// endpointsFailed reports a Service that never got a ready endpoint: the diagnosis verdict when
// the diagnosis is available, the command to run it otherwise.
func (o *Options) endpointsFailed(ctx context.Context, out io.Writer, svc *corev1.Service, res WaitResult) error {
	line := fmt.Sprintf("service/%s: %s after %s", svc.Name, res.Endpoints, roundDuration(res.Elapsed))
	switch {
	case res.Endpoints.Total == 0:
		line += ": no pod is an endpoint (no EndpointSlice lists one)"
	case len(res.Endpoints.NotReady) > 0:
		line += " (not ready: " + report.Sanitize(strings.Join(res.Endpoints.NotReady, ", ")) + ")"
	}
	fmt.Fprintln(out, line)
	cmd := fmt.Sprintf("kubectl svc-doctor diagnose svc/%s -n %s", svc.Name, o.Namespace)
	if o.Diagnose == nil {
		fmt.Fprintf(out, "to find out why, run: %s\n", cmd)
	} else {
		fmt.Fprintln(o.ErrOut, "diagnosing (static hops: no helper pod)...")
		verdict, err := o.Diagnose(ctx, o.Namespace, svc.Name)
		if err != nil {
			fmt.Fprintf(o.ErrOut, "warning: the diagnosis could not run: %v\n", err)
			fmt.Fprintf(out, "to find out why, run: %s\n", cmd)
		} else {
			for _, line := range strings.Split(verdict, "\n") {
				fmt.Fprintln(out, report.Sanitize(line))
			}
			fmt.Fprintf(out, "for the full trace (DNS and traffic from inside the cluster), run: %s\n", cmd)
		}
	}
	return &cmdutil.ExitError{Code: cmdutil.ExitFindings, Silent: true, Err: fmt.Errorf("service/%s has no ready endpoint", svc.Name)}
}
