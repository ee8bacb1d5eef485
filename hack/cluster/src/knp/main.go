// Command kube-network-policies runs the NetworkPolicy enforcer of sigs.k8s.io/kube-network-policies
// (the one kind ships) on the svc-doctor test cluster.
//
// It differs from upstream's cmd/main.go in three ways that this node needs:
//   - Debian's containerd 1.6 has no NRI socket: the NRI plugin is created but cannot connect (it logs
//     "nri plugin exited") and pod IPs come from the API server. NRI must not be *disabled* in the
//     config: v0.8.0 then dereferences a nil plugin for any IP that is not a pod's (e.g. the node's).
//   - --kubeconfig lets it run as a host process as well as in a pod (in-cluster config is the default).
//   - The packet path: upstream diverts packets with an nftables "queue" rule, but these kernels are built
//     without CONFIG_NFT_QUEUE, so that rule set is rejected (the controller logs the error and retries).
//     The harness sends the same packets to the same nfqueue with iptables' NFQUEUE target (xt_NFQUEUE is
//     built in) from the mangle FORWARD hook (see hack/cluster/net.sh); the verdicts come from this process.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

func main() {
	var (
		kubeconfig  = flag.String("kubeconfig", "", "kubeconfig file; empty means in-cluster configuration")
		nodeName    = flag.String("hostname-override", "", "name of this node (default: the hostname)")
		queueID     = flag.Int("nfqueue-id", 100, "nfqueue number the packets are sent to")
		failOpen    = flag.Bool("fail-open", false, "accept packets when the queue overflows")
		metricsAddr = flag.String("metrics-bind-address", "127.0.0.1:9080", "address of /metrics and /healthz")
	)
	klog.InitFlags(nil)
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM, syscall.SIGINT)
	defer cancel()

	var cfg *rest.Config
	var err error
	if *kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", *kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		klog.Fatalf("client configuration: %v", err)
	}
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		klog.Fatalf("client: %v", err)
	}
	name := *nodeName
	if name == "" {
		if name, err = os.Hostname(); err != nil {
			klog.Fatalf("hostname: %v", err)
		}
	}

	http.Handle("/metrics", promhttp.Handler())
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	go func() { utilruntime.HandleError(http.ListenAndServe(*metricsAddr, nil)) }()

	factory := informers.NewSharedInformerFactory(client, 0)
	ctrl, err := networkpolicy.NewController(client,
		factory.Networking().V1().NetworkPolicies(),
		factory.Core().V1().Namespaces(),
		factory.Core().V1().Pods(),
		nil, nil, nil, nil,
		networkpolicy.Config{
			FailOpen:            *failOpen,
			QueueID:             *queueID,
			NodeName:            name,
			NetfilterBug1766Fix: false, // fixed in the kernels this runs on (6.12+)
			NRIdisabled:         false, // see the package comment: true crashes v0.8.0
		})
	if err != nil {
		klog.Fatalf("controller: %v", err)
	}
	go func() { utilruntime.HandleError(ctrl.Run(ctx)) }()
	factory.Start(ctx.Done())
	klog.Infof("kube-network-policies %s enforcing on node %s via nfqueue %d", "v0.8.0", name, *queueID)
	<-ctx.Done()
	time.Sleep(2 * time.Second)
}
