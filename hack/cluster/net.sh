#!/usr/bin/env bash
# Host networking of the svc-doctor test cluster, with its safety guards.
#   net.sh up      node IP on an empty bridge, routes, sysctls, guards, DNS accounting, NetworkPolicy hook;
#                  and for every node K >= 2 its network namespace svcdoc-nodeK, the veth svcdoc-nK to it,
#                  the routes between the nodes' pod CIDRs and the same guards inside the namespace
#   net.sh routes  (re)installs the routes between the nodes' pod CIDRs (fault.sh restores with it)
#   net.sh down    removes all of it and whatever kube-proxy, the CNI plugins and the enforcer left
#   net.sh counters  prints the safety counters (see status.sh counters), summed over every node
# Safety: nothing from the pod CIDR, the service CIDR or a node IP may leave through the uplink; the
# mangle-table guards drop it and count it. Nodes 2..N have no default route, and their guard drops
# (and counts) anything they send to the host that is not for a node IP or a pod. DNS queries to the
# host's resolvers are counted, separately for the cluster's own processes (they run with group
# $SVCDOC_GID, see start.sh; for nodes 2..N also what the host forwards for them) and for all others.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

STATE_FILE="$CL_RUN/net.state"

up() {
  need_root
  mkdir -p "$CL_RUN"
  local uplink resolvers
  uplink=$(ip route show default | awk '{print $5; exit}')
  [ -n "$uplink" ] || uplink=eth0
  resolvers=$(awk '/^nameserver/{print $2}' /etc/resolv.conf | grep -v ':' | tr '\n' ' ' || true)
  if [ ! -f "$STATE_FILE" ]; then
    # Refuse to share the host with another Kubernetes node: stop.sh removes every KUBE-* chain.
    if iptables-save 2>/dev/null | grep '^:KUBE-' >/dev/null; then
      die "iptables already has KUBE-* chains and this harness did not create them (another node on this host?)"
    fi
    {
      echo "UPLINK=$uplink"
      echo "RESOLVERS=\"$resolvers\""
      echo "IP_FORWARD=$(sysctl -n net.ipv4.ip_forward)"
      echo "NFT_TABLES=\"$(nft list tables 2>/dev/null | awk '{print $2"/"$3}' | tr '\n' ' ')\""
      echo "NETNS_DIR_MOUNTED=$(mountpoint -q /run/netns 2>/dev/null && echo 1 || echo 0)"
      # directories the harness creates outside its own (ip netns; containerd's shim sockets)
      echo "NEW_DIRS=\"$(for d in /run/netns /run/containerd; do [ -e "$d" ] || printf '%s ' "$d"; done)\""
    } >"$STATE_FILE"
  fi

  # The kernels here have no "dummy" link type: an empty bridge carries the node IP.
  ip link show "$NODE_IF" >/dev/null 2>&1 || ip link add "$NODE_IF" type bridge
  ip addr replace "$NODE_IP/32" dev "$NODE_IF"
  ip link set "$NODE_IF" up
  # A ClusterIP packet that kube-proxy did not DNAT must never follow the default route: the service
  # CIDR goes into the port-less bridge (a black hole). Not "unreachable": host->ClusterIP needs a route
  # before the OUTPUT DNAT happens.
  ip route replace "$SVC_CIDR" dev "$NODE_IF"
  # Pod addresses outside this node's /24 go nowhere.
  ip route replace unreachable "$POD_CIDR"
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 2>/dev/null || true

  local t net ns p
  for t in iptables ip6tables; do
    $t -t mangle -N SVCDOC-GUARD-FWD 2>/dev/null || $t -t mangle -F SVCDOC-GUARD-FWD
    $t -t mangle -C FORWARD -j SVCDOC-GUARD-FWD 2>/dev/null || $t -t mangle -I FORWARD 1 -j SVCDOC-GUARD-FWD
    # This host forwards for the cluster only: nothing is forwarded to or from the uplink.
    $t -t mangle -A SVCDOC-GUARD-FWD -o "$uplink" -m comment --comment "svcdoc:guard" -j DROP
    $t -t mangle -A SVCDOC-GUARD-FWD -i "$uplink" -m comment --comment "svcdoc:guard" -j DROP
  done
  iptables -t mangle -N SVCDOC-GUARD-OUT 2>/dev/null || iptables -t mangle -F SVCDOC-GUARD-OUT
  iptables -t mangle -C POSTROUTING -j SVCDOC-GUARD-OUT 2>/dev/null || iptables -t mangle -I POSTROUTING 1 -j SVCDOC-GUARD-OUT
  for net in "$POD_CIDR" "$SVC_CIDR" "${NODE_IP%.*}.0/24"; do
    iptables -t mangle -A SVCDOC-GUARD-OUT -o "$uplink" -s "$net" -m comment --comment "svcdoc:guard" -j DROP
    iptables -t mangle -A SVCDOC-GUARD-OUT -o "$uplink" -d "$net" -m comment --comment "svcdoc:guard" -j DROP
  done

  # Accounting only: DNS queries this host sends to its resolvers. The cluster's processes must send none.
  iptables -N SVCDOC-DNS-ACCT 2>/dev/null || iptables -F SVCDOC-DNS-ACCT
  iptables -A SVCDOC-DNS-ACCT -m owner --gid-owner "$SVCDOC_GID" -j LOG --log-prefix "svcdoc-dns-cluster: " --log-uid
  iptables -A SVCDOC-DNS-ACCT -m owner --gid-owner "$SVCDOC_GID" -m comment --comment "svcdoc:dns-cluster" -j RETURN
  iptables -A SVCDOC-DNS-ACCT -m comment --comment "svcdoc:dns-host" -j RETURN
  for ns in $resolvers; do
    for p in udp tcp; do
      iptables -C OUTPUT -d "$ns" -p "$p" --dport 53 -j SVCDOC-DNS-ACCT 2>/dev/null ||
        iptables -I OUTPUT 1 -d "$ns" -p "$p" --dport 53 -j SVCDOC-DNS-ACCT
    done
  done

  # Nodes 2..N could reach the resolvers only through this host (they have no default route): such a
  # query is counted as the cluster's, before the forwarding guard drops it.
  for ns in $resolvers; do
    for p in udp tcp; do
      iptables -t mangle -I SVCDOC-GUARD-FWD 1 -i "svcdoc-n+" -d "$ns" -p "$p" --dport 53 -m comment --comment "svcdoc:dns-cluster" -j DROP
    done
  done

  node_vars 1
  netpol_hook
  node_list_up
  log "net up: $NODE_IF=$NODE_IP, uplink $uplink guarded, resolvers counted: ${resolvers:-none}"
}

# netpol_hook: in the current network namespace, the first packets of every forwarded pod connection go
# to the kube-network-policies nfqueue (--queue-bypass: they pass while no enforcer listens).
netpol_hook() {
  [ "$SVCDOC_WITH_NETPOL" = 1 ] || return 0
  in_node iptables -t mangle -N SVCDOC-NETPOL 2>/dev/null || in_node iptables -t mangle -F SVCDOC-NETPOL
  in_node iptables -t mangle -A SVCDOC-NETPOL -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
  in_node iptables -t mangle -A SVCDOC-NETPOL -s "$POD_CIDR" -j NFQUEUE --queue-num "$KNP_QUEUE" --queue-bypass
  in_node iptables -t mangle -A SVCDOC-NETPOL -d "$POD_CIDR" -j NFQUEUE --queue-num "$KNP_QUEUE" --queue-bypass
  in_node iptables -t mangle -C FORWARD -j SVCDOC-NETPOL 2>/dev/null || in_node iptables -t mangle -A FORWARD -j SVCDOC-NETPOL
}

# node_list_up: the network namespaces of nodes 2..N, then the routes between all nodes.
node_list_up() {
  local k
  for k in $(node_list); do
    [ "$k" = 1 ] && continue
    node_vars "$k"
    node_up
  done
  routes
}

# node_up: the network namespace of the node selected by node_vars (K >= 2): veth to the host with the
# two node IPs as point-to-point peers, an empty bridge as the service CIDR's black hole (as on the host),
# no default route, no IPv6, sysctls, guards, DNS accounting and the NetworkPolicy hook.
node_up() {
  local resolvers ns p
  resolvers=$(awk '/^nameserver/{print $2}' /etc/resolv.conf | grep -v ':' | tr '\n' ' ' || true)
  [ -e "/run/netns/$N_NETNS" ] || ip netns add "$N_NETNS"
  if ! ip link show "$N_LINK" >/dev/null 2>&1; then
    in_node ip link del eth0 2>/dev/null || true
    ip link add "$N_LINK" type veth peer name eth0 netns "$N_NETNS"
  fi
  sysctl -qw "net.ipv6.conf.$N_LINK.disable_ipv6=1"
  # the host end carries node 1's IP too: kube-proxy's MASQUERADE towards the node picks it (an
  # address-less link would make it pick the uplink's address)
  ip addr replace "$NODE_IP/32" peer "$N_IP/32" dev "$N_LINK"
  ip link set "$N_LINK" up
  in_node sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  in_node sysctl -qw net.ipv4.ip_forward=1
  in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
  in_node ip link set lo up
  in_node ip addr replace "$N_IP/32" peer "$NODE_IP/32" dev eth0
  in_node ip link set eth0 up
  in_node ip link show "$NODE_IF" >/dev/null 2>&1 || in_node ip link add "$NODE_IF" type bridge
  in_node ip link set "$NODE_IF" up
  in_node ip route replace "$SVC_CIDR" dev "$NODE_IF" src "$N_IP"
  in_node ip route replace unreachable "$POD_CIDR"
  # the other nodes' IPs through the host (node 1), which forwards between nodes
  in_node ip route replace "${NODE_IP%.*}.0/24" via "$NODE_IP" dev eth0 src "$N_IP"
  # guard: this node sends the host nothing but node and pod traffic
  in_node iptables -t mangle -N SVCDOC-GUARD-OUT 2>/dev/null || in_node iptables -t mangle -F SVCDOC-GUARD-OUT
  in_node iptables -t mangle -C POSTROUTING -j SVCDOC-GUARD-OUT 2>/dev/null || in_node iptables -t mangle -I POSTROUTING 1 -j SVCDOC-GUARD-OUT
  in_node iptables -t mangle -A SVCDOC-GUARD-OUT -o eth0 -d "${NODE_IP%.*}.0/24" -j RETURN
  in_node iptables -t mangle -A SVCDOC-GUARD-OUT -o eth0 -d "$POD_CIDR" -j RETURN
  in_node iptables -t mangle -A SVCDOC-GUARD-OUT -o eth0 -m comment --comment "svcdoc:guard" -j DROP
  # DNS accounting, as on the host (the node has no route to the resolvers: this counts attempts only)
  in_node iptables -N SVCDOC-DNS-ACCT 2>/dev/null || in_node iptables -F SVCDOC-DNS-ACCT
  in_node iptables -A SVCDOC-DNS-ACCT -m owner --gid-owner "$SVCDOC_GID" -m comment --comment "svcdoc:dns-cluster" -j RETURN
  in_node iptables -A SVCDOC-DNS-ACCT -m comment --comment "svcdoc:dns-host" -j RETURN
  for ns in $resolvers; do
    for p in udp tcp; do
      in_node iptables -C OUTPUT -d "$ns" -p "$p" --dport 53 -j SVCDOC-DNS-ACCT 2>/dev/null ||
        in_node iptables -I OUTPUT 1 -d "$ns" -p "$p" --dport 53 -j SVCDOC-DNS-ACCT
    done
  done
  netpol_hook
  log "net up: node $N_IDX $N_NAME in netns $N_NETNS, $N_LINK <-> eth0 $N_IP"
}

# route_set FROM TO add|del: the route of node FROM to node TO's pod CIDR (through the host for
# nodes >= 2; the host routes to node K's pod CIDR through svcdoc-nK).
route_set() {
  local from=$1 to=$2 op=$3 cidr ip link
  [ "$from" != "$to" ] || return 0
  node_vars "$to"; cidr=$N_POD_CIDR ip=$N_IP link=$N_LINK
  node_vars "$from"
  if [ "$from" = 1 ]; then
    if [ "$op" = add ]; then ip route replace "$cidr" via "$ip" dev "$link"; else ip route del "$cidr" 2>/dev/null || true; fi
  else
    if [ "$op" = add ]; then in_node ip route replace "$cidr" via "$NODE_IP" dev eth0; else in_node ip route del "$cidr" 2>/dev/null || true; fi
  fi
}
# routes: every node's route to every other node's pod CIDR (idempotent; restores deleted ones).
routes() {
  local a b
  for a in $(node_list); do
    for b in $(node_list); do route_set "$a" "$b" add; done
  done
}

# remove_chains TOOL TABLE REGEX: deletes jumps from built-in chains into matching chains, then the chains.
remove_chains() {
  local t=$1 tbl=$2 re=$3 rule c
  $t -t "$tbl" -S 2>/dev/null | grep -E "^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j ($re)" |
    sed 's/^-A/-D/' | while read -r rule; do
    # shellcheck disable=SC2086 # the rule is a list of words
    eval "$t -t $tbl $rule" || true
  done
  for c in $($t -t "$tbl" -S 2>/dev/null | awk -v re="^($re)" '$1 == "-N" && $2 ~ re {print $2}'); do $t -t "$tbl" -F "$c" || true; done
  for c in $($t -t "$tbl" -S 2>/dev/null | awk -v re="^($re)" '$1 == "-N" && $2 ~ re {print $2}'); do $t -t "$tbl" -X "$c" || true; done
}

down() {
  need_root
  set +e +o pipefail # best effort: remove everything that is there, whatever is missing
  local IP_FORWARD="" NFT_TABLES="" NETNS_DIR_MOUNTED="" NEW_DIRS="" t tbl l net
  # shellcheck disable=SC1090 # written by up(): UPLINK, RESOLVERS, IP_FORWARD, NFT_TABLES
  if [ -f "$STATE_FILE" ]; then . "$STATE_FILE"; fi
  if [ -x "$K8S_BIN/kube-proxy" ]; then "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true; fi
  for t in iptables ip6tables; do
    command -v $t >/dev/null || continue
    for tbl in filter nat mangle raw; do remove_chains $t $tbl 'KUBE-|SVCDOC-|CNI-'; done
  done
  # nftables tables of kube-proxy / kube-network-policies, if any were created
  for tbl in "inet kube-network-policies" "ip kube-proxy" "ip6 kube-proxy"; do
    # shellcheck disable=SC2086
    nft list table $tbl >/dev/null 2>&1 && nft delete table $tbl
  done
  # Empty iptables-nft tables that exist only because the cluster used iptables.
  for t in ip:iptables ip6:ip6tables; do
    for tbl in filter nat mangle raw; do
      case " $NFT_TABLES " in *" ${t%%:*}/$tbl "*) continue ;; esac
      nft list table "${t%%:*}" "$tbl" >/dev/null 2>&1 || continue
      if [ -f "$STATE_FILE" ] && [ "$("${t#*:}" -t "$tbl" -S 2>/dev/null | grep -c -E '^-(A|N)')" = 0 ]; then
        nft delete table "${t%%:*}" "$tbl" 2>/dev/null || true
      fi
    done
  done
  # nodes 2..N: their veths (the peer goes with it) and network namespaces, with all they hold
  for l in $(ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^svcdoc-n[0-9]+(@|$)/ {print $2}' | cut -d@ -f1); do ip link del "$l" 2>/dev/null || true; done
  for l in /run/netns/svcdoc-node*; do [ -e "$l" ] && { ip netns delete "$(basename "$l")" 2>/dev/null || { umount "$l" 2>/dev/null; rm -f "$l"; }; }; done
  if [ "${NETNS_DIR_MOUNTED:-1}" = 0 ] && mountpoint -q /run/netns && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
    umount /run/netns 2>/dev/null || true # the self bind mount that `ip netns add` made
  fi
  ip route del "$SVC_CIDR" dev "$NODE_IF" 2>/dev/null || true
  ip route del unreachable "$POD_CIDR" 2>/dev/null || true
  if ip link show "$CNI_BRIDGE" >/dev/null 2>&1; then
    for l in $(ip -o link show master "$CNI_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do ip link del "$l" 2>/dev/null || true; done
    ip link del "$CNI_BRIDGE" 2>/dev/null || true
  fi
  ip link del "$NODE_IF" 2>/dev/null || true
  if command -v conntrack >/dev/null; then
    for net in "$POD_CIDR" "$SVC_CIDR"; do
      conntrack -D -s "$net" >/dev/null 2>&1 || true
      conntrack -D -d "$net" >/dev/null 2>&1 || true
    done
  fi
  if [ -n "$IP_FORWARD" ]; then sysctl -qw net.ipv4.ip_forward="$IP_FORWARD"; fi
  # the directories that were not there before, when empty (stop.sh ran first: no socket is left)
  for l in $NEW_DIRS; do
    mountpoint -q "$l" || find "$l" -depth -type d -empty -delete 2>/dev/null || true
  done
  rm -f "$STATE_FILE"
  log "net down: done"
}

# counters: key=value lines, summed over the host and every node's network namespace; exit 3 when the
# harness network is not up.
counters() {
  iptables -nvxL SVCDOC-DNS-ACCT >/dev/null 2>&1 || { echo "harness network is not up" >&2; exit 3; }
  local cluster host drops k all
  all=$(
    iptables -nvxL SVCDOC-DNS-ACCT; iptables -nvxL FORWARD
    iptables -t mangle -nvxL 2>/dev/null; ip6tables -t mangle -nvxL 2>/dev/null
    for k in $(present_nodes); do
      [ "$k" = 1 ] && continue
      node_vars "$k"
      [ -e "/run/netns/$N_NETNS" ] || continue
      in_node iptables -nvxL SVCDOC-DNS-ACCT 2>/dev/null; in_node iptables -t mangle -nvxL 2>/dev/null
    done
  )
  cluster=$(awk '/svcdoc:dns-cluster/ {s += $1} END {print s + 0}' <<<"$all")
  host=$(awk '/svcdoc:dns-host/ {s += $1} END {print s + 0}' <<<"$all")
  drops=$(awk '/svcdoc:guard/ {s += $1} END {print s + 0}' <<<"$all")
  echo "dns_upstream_cluster=$cluster"   # DNS queries from the cluster's processes to the host's resolvers
  echo "dns_upstream_other=$host"        # the same from any other process on this host (developers' tools...)
  echo "guard_drops=$drops"              # packets from/to pods, services or the node IP stopped at the uplink
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  routes) need_root; routes ;;
  counters) counters ;;
  *) echo "usage: $0 up|down|routes|counters" >&2; exit 2 ;;
esac
