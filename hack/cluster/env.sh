# shellcheck shell=bash
# Settings of the svc-doctor local test cluster. Sourced by every script in hack/cluster/.
# Every value can be overridden from the environment (export it before calling a script).

# Where this harness lives (hack/cluster) and the repository root.
SVCDOC_HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SVCDOC_REPO="$(cd "$SVCDOC_HACK/../.." && pwd)"
export SVCDOC_HACK SVCDOC_REPO

# Runtime state (etcd data, containerd root, logs, PKI, kubeconfigs, rendered configs, pid files).
export SVCDOC_CLUSTER_ROOT="${SVCDOC_CLUSTER_ROOT:-/var/tmp/svc-doctor-cluster}"
# Build outputs (binaries, infrastructure image tarballs), keyed by version. Never inside the repo.
export SVCDOC_CACHE="${SVCDOC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/svc-doctor}"

# Versions of everything the harness builds.
export K8S_VERSION="${K8S_VERSION:-1.37.2}"
export ETCD_VERSION="${ETCD_VERSION:-3.7.3}"
export COREDNS_VERSION="${COREDNS_VERSION:-1.15.0}"
export CRICTL_VERSION="${CRICTL_VERSION:-1.37.0}"
export TRAEFIK_VERSION="${TRAEFIK_VERSION:-3.6.12}"
export KNP_VERSION="${KNP_VERSION:-0.8.0}"          # sigs.k8s.io/kube-network-policies
export PAUSE_VERSION="${PAUSE_VERSION:-3.10}"        # our own pause binary (hack/cluster/src/pause)
# Gateway API CRDs (standard channel) of the version Traefik's go.mod requires (setup.sh checks it),
# copied by setup.sh from the Go module cache.
export GATEWAY_API_VERSION="${GATEWAY_API_VERSION:-1.4.0}"

# Optional add-ons (1 = on). Both are on by default: together they cost ~3 min of a cold setup.
export SVCDOC_WITH_TRAEFIK="${SVCDOC_WITH_TRAEFIK:-1}"
export SVCDOC_WITH_NETPOL="${SVCDOC_WITH_NETPOL:-1}"

# Nodes: how many real nodes to run (kubelet + containerd + kube-proxy + the NetworkPolicy enforcer each).
# Node 1 is this host's own network namespace and runs the control plane; node K >= 2 runs in the network
# namespace svcdoc-nodeK, linked to the host by the veth svcdoc-nK (see lib.sh node_vars for its names,
# addresses, pod CIDR, state directories and cgroup root). The e2e suite runs on 2.
export SVCDOC_NODES="${SVCDOC_NODES:-2}"

# Addresses of node 1 (node K gets NODE_NAME with K appended, the node IP ending in .K, and the K-th /24
# of the pod CIDR). The node IP sits on an empty bridge (no dummy driver on these kernels).
export NODE_NAME="${NODE_NAME:-svcdoc-node}"
export NODE_IP="${NODE_IP:-10.201.0.1}"
export NODE_IF="${NODE_IF:-svcdoc0}"                 # empty bridge carrying NODE_IP; the service CIDR is routed into it
export CNI_BRIDGE="${CNI_BRIDGE:-svcdoc-br0}"        # pod bridge created by the CNI bridge plugin
export POD_CIDR="${POD_CIDR:-10.244.0.0/16}"
export NODE_POD_CIDR="${NODE_POD_CIDR:-10.244.0.0/24}"  # the first /24: what the node IPAM controller assigns
export POD_GATEWAY="${POD_GATEWAY:-10.244.0.1}"
export SVC_CIDR="${SVC_CIDR:-10.96.0.0/16}"
export KUBERNETES_SVC_IP="${KUBERNETES_SVC_IP:-10.96.0.1}"
export DNS_SVC_IP="${DNS_SVC_IP:-10.96.0.10}"
export CLUSTER_DOMAIN="${CLUSTER_DOMAIN:-cluster.local}"
export NODEPORT_RANGE="${NODEPORT_RANGE:-30000-32767}"
export TRAEFIK_NODEPORT="${TRAEFIK_NODEPORT:-30081}"     # http://$NODE_IP:$TRAEFIK_NODEPORT serves Ingresses
export KNP_QUEUE="${KNP_QUEUE:-100}"                     # nfqueue number of the NetworkPolicy enforcer
export SVCDOC_GID="${SVCDOC_GID:-64788}"                 # group the cluster processes run with (DNS accounting)

# Derived paths (not meant to be overridden).
export CL_ETC="$SVCDOC_CLUSTER_ROOT/etc"
export CL_PKI="$CL_ETC/pki"
export CL_KCFG="$CL_ETC/kubeconfig"
export CL_STATE="$SVCDOC_CLUSTER_ROOT/state"
export CL_RUN="$SVCDOC_CLUSTER_ROOT/run"
export CL_LOGS="$SVCDOC_CLUSTER_ROOT/logs"
export CL_CTRD_STATE="/run/svc-doctor-containerd"      # containerd state + socket (short path: unix socket limit)
export CL_CTRD_SOCK="$CL_CTRD_STATE/containerd.sock"
export CL_CACHE="$SVCDOC_CACHE/cluster"
export K8S_BIN="$CL_CACHE/k8s-v$K8S_VERSION/bin"
export ETCD_BIN="$CL_CACHE/etcd-v$ETCD_VERSION/bin"
export COREDNS_BIN="$CL_CACHE/coredns-v$COREDNS_VERSION/bin"
export CRICTL_BIN="$CL_CACHE/crictl-v$CRICTL_VERSION/bin"
export TRAEFIK_BIN="$CL_CACHE/traefik-v$TRAEFIK_VERSION/bin"
export KNP_BIN="$CL_CACHE/kube-network-policies-v$KNP_VERSION/bin"
export PAUSE_BIN="$CL_CACHE/pause-v$PAUSE_VERSION/bin"
export CL_IMAGES="$CL_CACHE/images"
export GATEWAY_API_CRDS="$CL_CACHE/gateway-api-v$GATEWAY_API_VERSION/crd-standard"
export ADMIN_KUBECONFIG="$CL_KCFG/admin.kubeconfig"

# Infrastructure images (built by setup.sh, imported by start.sh).
export PAUSE_IMAGE="localhost/svc-doctor/pause:$PAUSE_VERSION"
export COREDNS_IMAGE="localhost/svc-doctor/coredns:$COREDNS_VERSION"
export TRAEFIK_IMAGE="localhost/svc-doctor/traefik:$TRAEFIK_VERSION"
export KNP_IMAGE="localhost/svc-doctor/kube-network-policies:$KNP_VERSION"
# Project images (built from this repo by images.sh on every run).
export AGENT_IMAGE="${AGENT_IMAGE:-ghcr.io/svc-doctor/agent:dev}"
export TESTSERVER_IMAGE="${TESTSERVER_IMAGE:-localhost/svc-doctor/testserver:dev}"

export PATH="$K8S_BIN:$ETCD_BIN:$CRICTL_BIN:$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
export CGO_ENABLED=0
