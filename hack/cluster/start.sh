#!/usr/bin/env bash
# Starts the svc-doctor test cluster (after setup.sh), or only the named components, in this order:
#   net etcd apiserver controller-manager scheduler containerd images kubelet kube-proxy addons
# e.g. `start.sh kubelet` restarts a kubelet that was stopped. Already running components are kept.
# Prints the KUBECONFIG to use at the end. Logs: $SVCDOC_CLUSTER_ROOT/logs/NAME.log
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
need_root
if [ ! -x "$K8S_BIN/kube-apiserver" ] || [ ! -x "$ETCD_BIN/etcd" ] || [ ! -f "$CL_PKI/ca.crt" ]; then
  die "not set up: run hack/cluster/setup.sh first"
fi
mkdir -p "$CL_RUN" "$CL_LOGS" "$CL_STATE"/{etcd,kubelet,pod-logs,cni-ipam,imported}

# render the configs (cheap; picks up any overridden setting)
render "$SVCDOC_HACK/etc/containerd.toml" "$CL_ETC/containerd/config.toml"
render "$SVCDOC_HACK/etc/registry-hosts.toml" "$CL_ETC/containerd/certs.d/_default/hosts.toml"
render "$SVCDOC_HACK/etc/cni.conflist" "$CL_ETC/cni/net.d/10-svc-doctor.conflist"
render "$SVCDOC_HACK/etc/kubelet-config.yaml" "$CL_ETC/kubelet-config.yaml"
render "$SVCDOC_HACK/etc/kube-proxy-config.yaml" "$CL_ETC/kube-proxy-config.yaml"

running() { [ -f "$CL_RUN/$1.pid" ] && kill -0 "$(cat "$CL_RUN/$1.pid")" 2>/dev/null; }
# launch NAME CMD...: starts CMD in its own session, in group $SVCDOC_GID (DNS accounting, net.sh).
launch() {
  local n=$1; shift
  if running "$n"; then log "$n already running (pid $(cat "$CL_RUN/$n.pid"))"; return 0; fi
  setsid setpriv --regid "$SVCDOC_GID" --clear-groups -- "$@" >>"$CL_LOGS/$n.log" 2>&1 </dev/null &
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
c_containerd() {
  launch containerd "${CONTAINERD_BIN:-/usr/bin/containerd}" --config "$CL_ETC/containerd/config.toml"
  waitfor containerd 60 ctr --address "$CL_CTRD_SOCK" version
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
    if [ "$CL_STATE/imported/$name" -nt "$t" ] && ctr_k8s images ls -q | grep -qxF "$(cat "$t.ref")"; then continue; fi
    ctr_k8s images import --no-unpack=false "$t" >/dev/null || { log "import of $t failed"; return 1; }
    touch "$CL_STATE/imported/$name"
    log "imported $(cat "$t.ref")"
  done
}
c_kubelet() {
  launch kubelet "$K8S_BIN/kubelet" --config="$CL_ETC/kubelet-config.yaml" --kubeconfig="$CL_KCFG/kubelet.kubeconfig" \
    --root-dir="$CL_STATE/kubelet" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
  waitfor "node registered" 90 kc get node "$NODE_NAME"
}
c_kube-proxy() {
  launch kube-proxy "$K8S_BIN/kube-proxy" --config="$CL_ETC/kube-proxy-config.yaml" --v=1
}
c_addons() {
  local m
  for m in coredns netpol traefik; do
    [ "$m" = netpol ] && [ "$SVCDOC_WITH_NETPOL" != 1 ] && continue
    [ "$m" = traefik ] && [ "$SVCDOC_WITH_TRAEFIK" != 1 ] && continue
    render "$SVCDOC_HACK/manifests/$m.yaml" "$CL_ETC/manifests/$m.yaml"
    kc apply -f "$CL_ETC/manifests/$m.yaml" >/dev/null || return 1
    log "applied $m"
  done
  waitfor "node Ready" 120 kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s || return 1
  waitfor "coredns" 120 kc -n kube-system rollout status deploy/coredns --timeout=1s || return 1
  if [ "$SVCDOC_WITH_NETPOL" = 1 ]; then
    waitfor "kube-network-policies" 120 kc -n kube-system rollout status ds/kube-network-policies --timeout=1s || return 1
    # the enforcer listens on its nfqueue (otherwise --queue-bypass lets everything through)
    # shellcheck disable=SC2016 # awk program
    waitfor "nfqueue $KNP_QUEUE bound" 60 awk -v q="$KNP_QUEUE" '$1 == q {f = 1} END {exit !f}' /proc/net/netfilter/nfnetlink_queue || return 1
  fi
  if [ "$SVCDOC_WITH_TRAEFIK" = 1 ]; then
    waitfor "traefik" 120 kc -n ingress rollout status deploy/traefik --timeout=1s || return 1
  fi
}

ALL="net etcd apiserver controller-manager scheduler containerd images kubelet kube-proxy addons"
# shellcheck disable=SC2086 # word splitting of the default list is intended
[ $# -gt 0 ] || set -- $ALL
for c in "$@"; do
  declare -F "c_$c" >/dev/null || die "unknown component $c (components: $ALL)"
  "c_$c" || die "failed at $c (logs in $CL_LOGS)"
done
log "started: $*"
echo "export KUBECONFIG=$ADMIN_KUBECONFIG"
