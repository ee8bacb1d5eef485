#!/usr/bin/env bash
# Starts the svc-doctor test cluster (after setup.sh) with SVCDOC_NODES nodes, or only the named
# components, in this order:
#   net etcd apiserver controller-manager scheduler containerd images kubelet kube-proxy addons
# containerd, images, kubelet and kube-proxy are per node: they run on every node, or only on the nodes
# given with --node (a number 1..N or a node name; repeatable). e.g. `start.sh kubelet` restarts the
# kubelets that were stopped, `start.sh --node 2 kube-proxy` node 2's kube-proxy. Already running
# components are kept. Prints the KUBECONFIG to use at the end. Logs: $SVCDOC_CLUSTER_ROOT/logs/NAME.log
# (node K >= 2: nodeK-NAME.log).
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
need_root
if [ ! -x "$K8S_BIN/kube-apiserver" ] || [ ! -x "$ETCD_BIN/etcd" ] || [ ! -f "$CL_PKI/ca.crt" ]; then
  die "not set up: run hack/cluster/setup.sh first"
fi
[[ $SVCDOC_NODES =~ ^[1-9]$ ]] || die "SVCDOC_NODES=$SVCDOC_NODES: 1 to 9 nodes"
SEL_NODES=()
while [ $# -gt 0 ]; do
  case $1 in
    --node) SEL_NODES+=("$(node_index "${2:?--node needs a node number or name}")") || exit 1; shift 2 ;;
    --node=*) SEL_NODES+=("$(node_index "${1#--node=}")") || exit 1; shift ;;
    *) break ;;
  esac
done
[ ${#SEL_NODES[@]} -gt 0 ] || mapfile -t SEL_NODES < <(node_list)
for k in "${SEL_NODES[@]}"; do
  [ "$k" -le "$SVCDOC_NODES" ] || die "node $k is not one of the SVCDOC_NODES=$SVCDOC_NODES nodes"
done
mkdir -p "$CL_RUN" "$CL_LOGS" "$CL_STATE"/{etcd,kubelet,pod-logs,cni-ipam,imported}
# certificates and kubeconfigs of nodes added since setup (idempotent, cheap)
"$SVCDOC_HACK/pki.sh" >/dev/null || die "pki.sh failed"

# render the configs (cheap; picks up any overridden setting)
render "$SVCDOC_HACK/etc/registry-hosts.toml" "$CL_ETC/containerd/certs.d/_default/hosts.toml"
for k in $(node_list); do
  node_vars "$k"
  mkdir -p "$N_STATE"/{kubelet,pod-logs,cni-ipam,imported}
  render "$SVCDOC_HACK/etc/containerd.toml" "$N_ETC/containerd/config.toml"
  render "$SVCDOC_HACK/etc/cni.conflist" "$N_ETC/cni/net.d/10-svc-doctor.conflist"
  render "$SVCDOC_HACK/etc/kubelet-config.yaml" "$N_ETC/kubelet-config.yaml"
  render "$SVCDOC_HACK/etc/kube-proxy-config.yaml" "$N_ETC/kube-proxy-config.yaml"
done
node_vars 1

running() { [ -f "$CL_RUN/$1.pid" ] && kill -0 "$(cat "$CL_RUN/$1.pid")" 2>/dev/null; }
# launch NAME CMD...: starts CMD in its own session, in group $SVCDOC_GID (DNS accounting, net.sh), in
# the network namespace of the node selected by node_vars. NAME gets the node's prefix (nodeK-).
launch() {
  local n=$N_PID$1 pre=(); shift
  if running "$n"; then log "$n already running (pid $(cat "$CL_RUN/$n.pid"))"; return 0; fi
  [ -n "$N_NETNS" ] && pre=(nsenter --net="/run/netns/$N_NETNS" --)
  # the daemon gets no descriptor of the caller beyond 0-2: an inherited one (a flock of the caller's
  # caller, a pipe of a test) would stay held as long as the daemon lives
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid "${pre[@]}" setpriv --regid "$SVCDOC_GID" --clear-groups -- "$@" >>"$CL_LOGS/$n.log" 2>&1 </dev/null
  ) &
  echo $! >"$CL_RUN/$n.pid"
  log "started $n (pid $!)"
}

c_net() { "$SVCDOC_HACK/net.sh" up; }
c_etcd() {
  launch etcd "$ETCD_BIN/etcd" --name svc-doctor --data-dir "$CL_STATE/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster svc-doctor=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
    --quota-backend-bytes 2147483648 --log-level warn
  waitfor etcd 60 curl -sf http://127.0.0.1:2381/health
}
c_apiserver() {
  launch kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers=http://127.0.0.1:2379 \
    --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port=6443 \
    --service-cluster-ip-range="$SVC_CIDR" --service-node-port-range="$NODEPORT_RANGE" \
    --client-ca-file="$CL_PKI/ca.crt" --tls-cert-file="$CL_PKI/apiserver.crt" --tls-private-key-file="$CL_PKI/apiserver.key" \
    --kubelet-client-certificate="$CL_PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$CL_PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$CL_PKI/ca.crt" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file="$CL_PKI/sa.pub" --service-account-signing-key-file="$CL_PKI/sa.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true --profiling=false --v=1
  waitfor kube-apiserver 120 kc get --raw /readyz
}
c_controller-manager() {
  local k="$CL_KCFG/controller-manager.kubeconfig"
  launch kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig="$k" --authentication-kubeconfig="$k" --authorization-kubeconfig="$k" \
    --bind-address=127.0.0.1 --leader-elect=false \
    --allocate-node-cidrs=true --cluster-cidr="$POD_CIDR" --node-cidr-mask-size=24 --service-cluster-ip-range="$SVC_CIDR" \
    --cluster-signing-cert-file="$CL_PKI/ca.crt" --cluster-signing-key-file="$CL_PKI/ca.key" \
    --root-ca-file="$CL_PKI/ca.crt" --service-account-private-key-file="$CL_PKI/sa.key" --use-service-account-credentials=true \
    --profiling=false --v=1
}
c_scheduler() {
  local k="$CL_KCFG/scheduler.kubeconfig"
  launch kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig="$k" \
    --authentication-kubeconfig="$k" --authorization-kubeconfig="$k" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false --v=1
}

# --- per node (node_vars selects the node) ---
c_containerd() {
  [ -z "$N_NETNS" ] || [ -e "/run/netns/$N_NETNS" ] || die "node $N_IDX has no network namespace: run start.sh net"
  launch containerd "${CONTAINERD_BIN:-/usr/bin/containerd}" --config "$N_ETC/containerd/config.toml"
  waitfor "containerd of $N_NAME" 60 ctr --address "$N_CTRD_SOCK" version
}
# images: imports the infrastructure images (setup.sh built them); skips those already imported.
c_images() {
  local t name
  for t in "$CL_IMAGES"/*.tar; do
    name=$(basename "$t" .tar)
    case $name in
      traefik) [ "$SVCDOC_WITH_TRAEFIK" = 1 ] || continue ;;
      kube-network-policies) [ "$SVCDOC_WITH_NETPOL" = 1 ] || continue ;;
    esac
    if [ "$N_STATE/imported/$name" -nt "$t" ] && ctr_k8s images ls -q | grep -xF "$(cat "$t.ref")" >/dev/null; then continue; fi
    ctr_k8s images import --no-unpack=false "$t" >/dev/null || { log "import of $t into $N_NAME failed"; return 1; }
    touch "$N_STATE/imported/$name"
    log "imported $(cat "$t.ref") into $N_NAME"
  done
}
# node_cgroup_root: the cgroup root of a node K >= 2 (/svcdoc-nodeK) in every cgroup hierarchy; the
# kubelet refuses a cgroupRoot that does not exist. cpuset needs its cpus and mems set before use.
node_cgroup_root() {
  [ "$N_CGROOT" = / ] && return 0
  local h d c
  for h in $(awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/mounts); do
    d=$h$N_CGROOT
    mkdir -p "$d" || return 1
    if [ -f "$h/cpuset.cpus" ] && [ -f "$d/cpuset.cpus" ]; then
      [ -n "$(cat "$d/cpuset.cpus")" ] || cat "$h/cpuset.cpus" >"$d/cpuset.cpus"
      [ -n "$(cat "$d/cpuset.mems")" ] || cat "$h/cpuset.mems" >"$d/cpuset.mems"
    fi
    if [ -f "$h/cgroup.subtree_control" ] && [ -f "$d/cgroup.subtree_control" ]; then # v2: delegate the controllers
      for c in $(cat "$h/cgroup.subtree_control"); do echo "+$c" >"$d/cgroup.subtree_control" 2>/dev/null; done
    fi
  done
}
# node_object: the Node object of the selected node, created before its kubelet starts with the pod
# CIDR its CNI config and routes use (spec.podCIDR cannot be changed once set; the node IPAM controller
# then counts it as taken). A node whose object has another pod CIDR is deleted first (stale etcd).
node_object() {
  local cidr
  cidr=$(kc get node "$N_NAME" -o jsonpath='{.spec.podCIDR}' 2>/dev/null) || cidr=missing
  [ "$cidr" = "$N_POD_CIDR" ] && return 0
  if [ "$cidr" != missing ] && [ -n "$cidr" ]; then
    log "node $N_NAME has pod CIDR $cidr, not $N_POD_CIDR: deleting its Node object"
    kc delete node "$N_NAME" --wait=true >/dev/null || return 1
    cidr=missing
  fi
  if [ "$cidr" = missing ]; then
    kc create -f - >/dev/null <<EOF || return 1
apiVersion: v1
kind: Node
metadata:
  name: $N_NAME
  labels: {kubernetes.io/hostname: $N_NAME, kubernetes.io/os: linux}
spec:
  podCIDR: $N_POD_CIDR
  podCIDRs: [$N_POD_CIDR]
EOF
  else
    kc patch node "$N_NAME" --type merge -p "{\"spec\":{\"podCIDR\":\"$N_POD_CIDR\",\"podCIDRs\":[\"$N_POD_CIDR\"]}}" >/dev/null || return 1
  fi
}
# kubelet_posted: the node's kubelet has reported its status.
kubelet_posted() { [ -n "$(kc get node "$N_NAME" -o jsonpath='{.status.nodeInfo.kubeletVersion}' 2>/dev/null)" ]; }
c_kubelet() {
  node_cgroup_root || { log "cannot create the cgroup root $N_CGROOT of $N_NAME"; return 1; }
  running "${N_PID}kubelet" || node_object || { log "cannot create the Node object of $N_NAME"; return 1; }
  launch kubelet "$K8S_BIN/kubelet" --config="$N_ETC/kubelet-config.yaml" --kubeconfig="$CL_KCFG/kubelet$N_CERT.kubeconfig" \
    --root-dir="$N_STATE/kubelet" --hostname-override="$N_NAME" --node-ip="$N_IP" --v=1
}
# kubelets_registered: waits until every selected node's kubelet has reported (they start together).
kubelets_registered() {
  local k
  for k in "${SEL_NODES[@]}"; do
    node_vars "$k"
    waitfor "node $N_NAME registered" 90 kubelet_posted || return 1
  done
}
c_kube-proxy() {
  launch kube-proxy "$K8S_BIN/kube-proxy" --config="$N_ETC/kube-proxy-config.yaml" --v=1
}
# prune_nodes: deletes the Node objects of nodes beyond SVCDOC_NODES (a previous run with more nodes):
# their DaemonSet pods would never start and the pods bound to them would stay.
prune_nodes() {
  local n k
  for n in $(kc get nodes -o name 2>/dev/null | sed 's|^node/||'); do
    [[ $n =~ ^$NODE_NAME([0-9]+)$ ]] || continue
    k=${BASH_REMATCH[1]}
    if [ "$k" -gt "$SVCDOC_NODES" ]; then kc delete node "$n" --wait=false >/dev/null && log "deleted node $n (SVCDOC_NODES=$SVCDOC_NODES)"; fi
  done
  return 0
}

c_addons() {
  local m k
  if [ "$SVCDOC_WITH_TRAEFIK" = 1 ]; then
    # Gateway API CRDs (standard channel, the version Traefik supports; setup.sh copied them), before
    # Traefik, whose Kubernetes Gateway provider watches them
    kc apply --server-side --force-conflicts -f "$GATEWAY_API_CRDS" >/dev/null || return 1
    waitfor "Gateway API CRDs established" 60 kc wait --for condition=Established --timeout=1s \
      crd/gatewayclasses.gateway.networking.k8s.io crd/gateways.gateway.networking.k8s.io crd/httproutes.gateway.networking.k8s.io || return 1
  fi
  for m in coredns netpol traefik; do
    [ "$m" = netpol ] && [ "$SVCDOC_WITH_NETPOL" != 1 ] && continue
    [ "$m" = traefik ] && [ "$SVCDOC_WITH_TRAEFIK" != 1 ] && continue
    render "$SVCDOC_HACK/manifests/$m.yaml" "$CL_ETC/manifests/$m.yaml"
    kc apply -f "$CL_ETC/manifests/$m.yaml" >/dev/null || return 1
    log "applied $m"
  done
  for k in $(node_list); do
    node_vars "$k"
    waitfor "node $N_NAME Ready" 120 kc wait --for=condition=Ready "node/$N_NAME" --timeout=1s || return 1
  done
  waitfor "coredns" 120 kc -n kube-system rollout status deploy/coredns --timeout=1s || return 1
  if [ "$SVCDOC_WITH_NETPOL" = 1 ]; then
    waitfor "kube-network-policies" 120 kc -n kube-system rollout status ds/kube-network-policies --timeout=1s || return 1
    # every node's enforcer listens on its nfqueue (otherwise --queue-bypass lets everything through)
    for k in $(node_list); do
      node_vars "$k"
      # shellcheck disable=SC2016 # awk program
      waitfor "nfqueue $KNP_QUEUE bound on $N_NAME" 60 in_node awk -v q="$KNP_QUEUE" '$1 == q {f = 1} END {exit !f}' /proc/net/netfilter/nfnetlink_queue || return 1
    done
  fi
  if [ "$SVCDOC_WITH_TRAEFIK" = 1 ]; then
    waitfor "traefik" 120 kc -n ingress rollout status deploy/traefik --timeout=1s || return 1
  fi
  node_vars 1
}

# addons_diag prints what a failed addon start needs for a diagnosis on CI, where the logs directory
# is not kept: the pods, the recent events and the logs of the pods that are not ready.
addons_diag() {
  local ns pod
  echo "--- pods" >&2
  kc get pods -A -o wide >&2 2>&1 || true
  echo "--- events (last 25)" >&2
  kc get events -A --sort-by=.lastTimestamp 2>&1 | tail -25 >&2 || true
  kc get pods -A --no-headers 2>/dev/null | awk '{split($3, r, "/"); if (r[1] != r[2] || $4 != "Running") print $1, $2}' |
    while read -r ns pod; do
      echo "--- logs of $ns/$pod (last 30 lines)" >&2
      kc -n "$ns" logs "$pod" --all-containers --tail=30 >&2 2>&1 || true
    done
  for k in $(node_list); do
    node_vars "$k"
    echo "--- kubelet of $N_NAME (last 20 lines)" >&2
    tail -20 "$CL_LOGS/${N_PID}kubelet.log" >&2 2>/dev/null || true
  done
}

PER_NODE=" containerd images kubelet kube-proxy "
ALL="net etcd apiserver controller-manager scheduler containerd images kubelet kube-proxy addons"
# shellcheck disable=SC2086 # word splitting of the default list is intended
[ $# -gt 0 ] || set -- $ALL
for c in "$@"; do
  declare -F "c_$c" >/dev/null || die "unknown component $c (components: $ALL)"
  if [[ $PER_NODE == *" $c "* ]]; then
    [ "$c" = kubelet ] && prune_nodes
    for k in "${SEL_NODES[@]}"; do
      node_vars "$k"
      "c_$c" || die "failed at $c on node $N_NAME (logs in $CL_LOGS)"
    done
    [ "$c" = kubelet ] && { kubelets_registered || die "a kubelet did not register (logs in $CL_LOGS)"; }
    node_vars 1
  else
    "c_$c" || { [ "$c" = addons ] && addons_diag; die "failed at $c (logs in $CL_LOGS)"; }
  fi
done
log "started: $* (nodes: $(for k in "${SEL_NODES[@]}"; do node_vars "$k"; printf '%s ' "$N_NAME"; done))"
echo "export KUBECONFIG=$ADMIN_KUBECONFIG"
