#!/usr/bin/env bash
# Fault injection on the running svc-doctor test cluster, for the end-to-end tests. Every fault has its
# restore, and `fault.sh clear` restores all of them on every node (stop.sh removes them too). NODE is a
# node number (1..SVCDOC_NODES) or a node name (status.sh nodes lists them).
#   fault.sh route-del FROM TO      node FROM loses its route to node TO's pod CIDR (one direction)
#   fault.sh route-del-both A B     both directions between nodes A and B
#   fault.sh route-restore [FROM TO]  restores that route (without arguments: every route between nodes)
#   fault.sh kube-proxy-stop NODE [--flush]
#                                   stops NODE's kube-proxy: its rules stay, so they go stale as Services
#                                   and endpoints change; --flush also deletes them (kube-proxy --cleanup),
#                                   as after a reboot without kube-proxy
#   fault.sh kube-proxy-start NODE  starts it again (it resyncs every rule)
#   fault.sh dns-block NODE         drops DNS traffic to the cluster DNS Service ($DNS_SVC_IP, UDP and TCP
#                                   53) from NODE's pods and host-network processes, in NODE's network
#                                   namespace (raw table, before kube-proxy's DNAT): DNS fails from that
#                                   node only
#   fault.sh dns-unblock NODE
#   fault.sh apiserver-stop         stops the kube-apiserver (as stop.sh does: TERM, KILL after 5s); every
#                                   client then gets "connection refused"
#   fault.sh apiserver-start        starts it again and waits until it is ready and every node Ready
#   fault.sh clear                  restores everything above, on every node
#   fault.sh list                   the active faults, one per line (nothing when there are none)
# Exit 0 when done; 1 with a message when the fault could not be applied or restored.
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
need_root
FAULTS="$CL_RUN/faults"
mkdir -p "$FAULTS"

# the network of a running cluster
[ -f "$CL_RUN/net.state" ] || die "the cluster's network is not up (hack/cluster/start.sh)"

node_arg() {
  local k
  k=$(node_index "${1:?a node number or name is needed}") || exit 1
  [ "$k" -le "$SVCDOC_NODES" ] || die "node $1 is not one of the SVCDOC_NODES=$SVCDOC_NODES nodes"
  echo "$k"
}
net() { "$SVCDOC_HACK/net.sh" "$@"; }

# route_del FROM TO
route_del() {
  local from=$1 to=$2 cidr
  [ "$from" != "$to" ] || die "route-del: a node has no route to its own pod CIDR"
  node_vars "$to"; cidr=$N_POD_CIDR
  node_vars "$from"
  if [ "$from" = 1 ]; then ip route del "$cidr" 2>/dev/null; else in_node ip route del "$cidr" 2>/dev/null; fi
  # the fault is there when the node has no route to that CIDR other than the unreachable catch-all
  if in_node ip -4 route show "$cidr" | grep . >/dev/null; then die "route-del: $N_NAME still routes $cidr"; fi
  touch "$FAULTS/route-$from-$to"
  log "fault: $N_NAME has no route to $cidr (node $to's pods)"
}
route_restore() {
  local from=$1 to=$2
  "$SVCDOC_HACK/net.sh" routes >/dev/null || die "route-restore: net.sh routes failed"
  rm -f "$FAULTS/route-$from-$to"
}

kube_proxy_stop() {
  local k=$1 flush=${2:-}
  node_vars "$k"
  [ -f "$CL_RUN/${N_PID}kube-proxy.pid" ] && alive "$(cat "$CL_RUN/${N_PID}kube-proxy.pid")" ||
    die "kube-proxy-stop: the kube-proxy of $N_NAME is not running"
  touch "$FAULTS/kube-proxy-$k"
  stop_pids 15 "${N_PID}kube-proxy"
  if [ "$flush" = --flush ]; then
    in_node "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1
    if in_node iptables -t nat -S KUBE-SERVICES >/dev/null 2>&1; then die "kube-proxy-stop --flush: $N_NAME still has KUBE-SERVICES"; fi
    log "fault: kube-proxy of $N_NAME stopped and its rules deleted"
  else
    log "fault: kube-proxy of $N_NAME stopped (its rules stay and go stale)"
  fi
}
kube_proxy_start() {
  local k=$1
  node_vars "$k"
  "$SVCDOC_HACK/start.sh" --node "$k" kube-proxy >/dev/null || die "kube-proxy-start: start.sh failed on $N_NAME"
  # it has synced once its health endpoint answers (in its node's network namespace)
  waitfor "kube-proxy of $N_NAME healthy" 60 in_node curl -sf http://127.0.0.1:10256/healthz || die "kube-proxy of $N_NAME is not healthy"
  rm -f "$FAULTS/kube-proxy-$k"
}

# The DNS block lives in the chain SVCDOC-FAULT-DNS of the node's raw table (stop.sh and net.sh down
# remove every SVCDOC-* chain).
dns_block() {
  local k=$1 p hook
  node_vars "$k"
  in_node iptables -t raw -N SVCDOC-FAULT-DNS 2>/dev/null || in_node iptables -t raw -F SVCDOC-FAULT-DNS
  for p in udp tcp; do
    in_node iptables -t raw -A SVCDOC-FAULT-DNS -d "$DNS_SVC_IP" -p "$p" --dport 53 -m comment --comment "svcdoc:fault-dns" -j DROP
  done
  for hook in PREROUTING OUTPUT; do
    in_node iptables -t raw -C "$hook" -j SVCDOC-FAULT-DNS 2>/dev/null || in_node iptables -t raw -I "$hook" 1 -j SVCDOC-FAULT-DNS
  done
  touch "$FAULTS/dns-$k"
  log "fault: DNS to $DNS_SVC_IP dropped on $N_NAME"
}
dns_unblock() {
  local k=$1 hook
  node_vars "$k"
  for hook in PREROUTING OUTPUT; do
    while in_node iptables -t raw -D "$hook" -j SVCDOC-FAULT-DNS 2>/dev/null; do :; done
  done
  in_node iptables -t raw -F SVCDOC-FAULT-DNS 2>/dev/null
  in_node iptables -t raw -X SVCDOC-FAULT-DNS 2>/dev/null
  if in_node iptables -t raw -S SVCDOC-FAULT-DNS >/dev/null 2>&1; then die "dns-unblock: SVCDOC-FAULT-DNS is still there on $N_NAME"; fi
  rm -f "$FAULTS/dns-$k"
}

apiserver_running() { [ -f "$CL_RUN/kube-apiserver.pid" ] && alive "$(cat "$CL_RUN/kube-apiserver.pid")"; }
apiserver_stop() {
  apiserver_running || die "apiserver-stop: the kube-apiserver is not running"
  touch "$FAULTS/apiserver"
  stop_pids 5 kube-apiserver
  if apiserver_running; then die "apiserver-stop: the kube-apiserver still runs"; fi
  log "fault: kube-apiserver stopped"
}
apiserver_start() {
  "$SVCDOC_HACK/start.sh" apiserver >/dev/null || die "apiserver-start: start.sh apiserver failed"
  # start.sh waited for /readyz; the nodes' components reconnect on their own
  waitfor "every node Ready" 60 kc wait --for=condition=Ready nodes --all --timeout=5s >/dev/null ||
    die "apiserver-start: not every node is Ready again"
  rm -f "$FAULTS/apiserver"
}

clear_all() {
  local k rc=0
  if [ -f "$FAULTS/apiserver" ] || ! apiserver_running; then
    (apiserver_start) || rc=1
  fi
  net routes >/dev/null || rc=1
  rm -f "$FAULTS"/route-*
  for k in $(node_list); do
    (dns_unblock "$k") || rc=1
    node_vars "$k"
    if [ -f "$FAULTS/kube-proxy-$k" ] || ! { [ -f "$CL_RUN/${N_PID}kube-proxy.pid" ] && alive "$(cat "$CL_RUN/${N_PID}kube-proxy.pid")"; }; then
      (kube_proxy_start "$k") || rc=1
    fi
  done
  [ "$rc" = 0 ] || die "clear: some faults could not be restored (see above)"
  log "faults cleared on every node"
}

cmd=${1:-}
shift || true
case $cmd in
  route-del) route_del "$(node_arg "${1:-}")" "$(node_arg "${2:-}")" ;;
  route-del-both) a=$(node_arg "${1:-}"); b=$(node_arg "${2:-}"); route_del "$a" "$b"; route_del "$b" "$a" ;;
  route-restore)
    if [ $# -ge 2 ]; then route_restore "$(node_arg "$1")" "$(node_arg "$2")"; else net routes >/dev/null && rm -f "$FAULTS"/route-*; fi
    log "routes between the nodes' pod CIDRs restored" ;;
  kube-proxy-stop) kube_proxy_stop "$(node_arg "${1:-}")" "${2:-}" ;;
  kube-proxy-start) kube_proxy_start "$(node_arg "${1:-}")"; log "kube-proxy of $N_NAME running" ;;
  dns-block) dns_block "$(node_arg "${1:-}")" ;;
  dns-unblock) dns_unblock "$(node_arg "${1:-}")"; log "DNS of $N_NAME unblocked" ;;
  apiserver-stop) apiserver_stop ;;
  apiserver-start) apiserver_start; log "kube-apiserver running" ;;
  clear) clear_all ;;
  list) find "$FAULTS" -type f -printf '%f\n' | sort ;;
  *) sed -n '2,24p' "$0" >&2; exit 2 ;;
esac
