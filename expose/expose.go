// Package expose implements `kubectl svc-doctor expose`: it creates Services (from a workload,
// headless, with manual EndpointSlices, ExternalName) and Ingresses (with their TLS Secret), the
// objects of the Services chapter. Before anything is sent, the new objects go through the same
// rules as `lint`, against their live neighbours; errors stop the apply. Objects are
// server-side-applied, so a rerun updates rather than fails. Afterwards expose watches until the
// Service has ready endpoints or the Ingress an address, and says what it saw.
package expose

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/svc-doctor/svc-doctor/internal/cmdutil"
	"github.com/svc-doctor/svc-doctor/rules"
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
func NewCmd(factory cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(NewOptions(streams), factory)
}

// newCmd builds the command tree over o (tests pass options with their dependencies set).
//
//nolint:funlen // declarations only: the command and its three subcommands (external, externalname, ingress) with their help text and flags
func newCmd(o *Options, factory cmdutil.Factory) *cobra.Command {
	run := func(mode Mode) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			o.Mode = mode
			if err := o.Complete(cmd, factory, args); err != nil {
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
