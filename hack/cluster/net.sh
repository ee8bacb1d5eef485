#!/usr/bin/env bash
# Host networking of the svc-doctor test cluster, with its safety guards.
#   net.sh up      node IP on an empty bridge, routes, sysctls, guards, DNS accounting, NetworkPolicy hook
#   net.sh down    removes all of it and whatever kube-proxy, the CNI plugins and the enforcer left
#   net.sh counters  prints the safety counters (see status.sh counters)
# Safety: nothing from the pod CIDR, the service CIDR or the node IP may leave through the uplink; the
# mangle-table guards drop it and count it. DNS queries to the host's resolvers are counted, separately
# for the cluster's own processes (they run with group $SVCDOC_GID, see start.sh) and for all others.
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
    if iptables-save 2>/dev/null | grep -q '^:KUBE-'; then
      die "iptables already has KUBE-* chains and this harness did not create them (another node on this host?)"
    fi
    {
      echo "UPLINK=$uplink"
      echo "RESOLVERS=\"$resolvers\""
      echo "IP_FORWARD=$(sysctl -n net.ipv4.ip_forward)"
      echo "NFT_TABLES=\"$(nft list tables 2>/dev/null | awk '{print $2"/"$3}' | tr '\n' ' ')\""
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
  for net in "$POD_CIDR" "$SVC_CIDR" "$NODE_IP/32"; do
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

  # NetworkPolicy enforcement: the first packets of every forwarded pod connection go to the
  # kube-network-policies nfqueue (--queue-bypass: they pass while no enforcer listens).
  if [ "$SVCDOC_WITH_NETPOL" = 1 ]; then
    iptables -t mangle -N SVCDOC-NETPOL 2>/dev/null || iptables -t mangle -F SVCDOC-NETPOL
    iptables -t mangle -A SVCDOC-NETPOL -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
    iptables -t mangle -A SVCDOC-NETPOL -s "$POD_CIDR" -j NFQUEUE --queue-num "$KNP_QUEUE" --queue-bypass
    iptables -t mangle -A SVCDOC-NETPOL -d "$POD_CIDR" -j NFQUEUE --queue-num "$KNP_QUEUE" --queue-bypass
    iptables -t mangle -C FORWARD -j SVCDOC-NETPOL 2>/dev/null || iptables -t mangle -A FORWARD -j SVCDOC-NETPOL
  fi
  log "net up: $NODE_IF=$NODE_IP, uplink $uplink guarded, resolvers counted: ${resolvers:-none}"
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
  local IP_FORWARD="" NFT_TABLES="" t tbl l net
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
  rm -f "$STATE_FILE"
  log "net down: done"
}

# counters: key=value lines; exit 3 when the harness network is not up.
counters() {
  iptables -nvxL SVCDOC-DNS-ACCT >/dev/null 2>&1 || { echo "harness network is not up" >&2; exit 3; }
  local cluster host drops
  cluster=$(iptables -nvxL SVCDOC-DNS-ACCT | awk '/svcdoc:dns-cluster/ {s += $1} END {print s + 0}')
  host=$(iptables -nvxL SVCDOC-DNS-ACCT | awk '/svcdoc:dns-host/ {s += $1} END {print s + 0}')
  drops=$( (iptables -t mangle -nvxL 2>/dev/null; ip6tables -t mangle -nvxL 2>/dev/null) | awk '/svcdoc:guard/ {s += $1} END {print s + 0}')
  echo "dns_upstream_cluster=$cluster"   # DNS queries from the cluster's processes to the host's resolvers
  echo "dns_upstream_other=$host"        # the same from any other process on this host (developers' tools...)
  echo "guard_drops=$drops"              # packets from/to pods, services or the node IP stopped at the uplink
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  counters) counters ;;
  *) echo "usage: $0 up|down|counters" >&2; exit 2 ;;
esac
