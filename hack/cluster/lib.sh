# shellcheck shell=bash
# Helpers shared by the hack/cluster scripts.
# shellcheck source=SCRIPTDIR/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

SVCDOC_T0=${SVCDOC_T0:-$(date +%s.%N)}
# log MSG...: prints a line with the seconds elapsed since the script started.
log() { printf '[%6.1fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$SVCDOC_T0" 'BEGIN{print a-b}')" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (the harness manages network namespaces, iptables and containerd)"; }

# srchash DIR: short hash of a build module's files, part of the cache key (a changed go.mod rebuilds).
# Only go.mod, go.sum and Go files count; an empty directory hashes to a constant.
srchash() { (cd "$1" && find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 | sort -z | xargs -0 -r sha256sum | sha256sum | cut -c1-10); }

# Nodes. Node 1 is this host (host network namespace, the settings of env.sh). Node K >= 2 lives in the
# network namespace svcdoc-nodeK (its kubelet, containerd, kube-proxy and host-network pods run there),
# linked to the host by the veth pair svcdoc-nK (host) <-> eth0 (node), with its own node IP, pod CIDR,
# state directories, containerd state/socket and kubelet cgroup root. It shares the host's mount
# namespace: every path it uses is its own by configuration (see the N_* variables below).
#
# node_vars K: sets (not exported) the N_* variables of node K:
#   N_NAME N_IP N_POD_CIDR N_GW        name, node IP, pod CIDR and pod gateway
#   N_RANGE_END                        the last address the IPAM gives a pod: .240-.254 of each node's
#                                      /24 never belong to a pod (tests use them as stale endpoints)
#   N_NETNS N_LINK                     network namespace and host-side veth ("" for node 1)
#   N_STATE N_ETC                      state and rendered-config directories
#   N_CTRD_STATE N_CTRD_SOCK           containerd state directory and socket
#   N_PID                              prefix of its pid/log file names ("" for node 1, "nodeK-")
#   N_CGROOT                           kubelet cgroupRoot ("/" for node 1, "/svcdoc-nodeK")
#   N_CERT                             suffix of its kubelet certificate and kubeconfig names
node_vars() {
  local k=$1 a b c
  [[ $k =~ ^[1-9][0-9]?$ ]] || die "node_vars: bad node number '$k'"
  N_IDX=$k
  IFS=. read -r a b c _ <<<"${NODE_POD_CIDR%/*}"
  if [ "$k" = 1 ]; then
    N_RANGE_END=$a.$b.$c.239
    N_NAME=$NODE_NAME N_IP=$NODE_IP N_POD_CIDR=$NODE_POD_CIDR N_GW=$POD_GATEWAY N_NETNS="" N_LINK=""
    N_STATE=$CL_STATE N_ETC=$CL_ETC N_CTRD_STATE=$CL_CTRD_STATE N_PID="" N_CGROOT=/ N_CERT=""
  else
    N_RANGE_END=$a.$b.$((c + k - 1)).239
    N_NAME=$NODE_NAME$k N_IP=${NODE_IP%.*}.$k
    N_POD_CIDR=$a.$b.$((c + k - 1)).0/24 N_GW=$a.$b.$((c + k - 1)).1
    N_NETNS=svcdoc-node$k N_LINK=svcdoc-n$k
    N_STATE=$CL_STATE/node$k N_ETC=$CL_ETC/node$k N_CTRD_STATE=$CL_CTRD_STATE-$k N_PID=node$k- N_CGROOT=/svcdoc-node$k N_CERT=-node$k
  fi
  N_CTRD_SOCK=$N_CTRD_STATE/containerd.sock
}
# node_index NAME|K: prints the number of a node given by number or by name.
node_index() {
  local k
  if [[ $1 =~ ^[1-9][0-9]?$ ]]; then echo "$1"; return 0; fi
  for k in $(seq 1 20); do node_vars "$k"; [ "$N_NAME" = "$1" ] && { echo "$k"; return 0; }; done
  die "no node named $1 (nodes: $(for k in $(seq 1 "$SVCDOC_NODES"); do node_vars "$k"; printf '%s ' "$N_NAME"; done))"
}
# node_list: the numbers of the configured nodes (1..SVCDOC_NODES).
node_list() { seq 1 "$SVCDOC_NODES"; }
# present_nodes: the configured nodes plus any other node whose traces are on the host (stop.sh must
# stop a node started with a larger SVCDOC_NODES too).
present_nodes() {
  {
    node_list
    find "$CL_RUN" -maxdepth 1 -name 'node*-*.pid' 2>/dev/null | sed -n 's|.*/node\([0-9]*\)-.*|\1|p'
    find /run/netns -maxdepth 1 -name 'svcdoc-node*' 2>/dev/null | sed -n 's|.*/svcdoc-node\([0-9]*\)$|\1|p'
    ip -o link show 2>/dev/null | sed -n 's|^[0-9]*: svcdoc-n\([0-9]*\)[@:].*|\1|p'
    find /run -maxdepth 1 -name "$(basename "$CL_CTRD_STATE")-*" 2>/dev/null | sed -n 's|.*-\([0-9]*\)$|\1|p'
    find /sys/fs/cgroup /sys/fs/cgroup/* -maxdepth 1 -name 'svcdoc-node*' 2>/dev/null | sed -n 's|.*/svcdoc-node\([0-9]*\)$|\1|p'
  } | grep -E '^[1-9][0-9]?$' | sort -un
}
# in_node CMD...: runs CMD in the network namespace of the node selected by node_vars.
in_node() {
  if [ -n "${N_NETNS:-}" ]; then nsenter --net="/run/netns/$N_NETNS" -- "$@"; else "$@"; fi
}

# ctr_k8s ARGS...: ctr against the harness containerd (node 1's, or the node selected by node_vars), in
# the CRI namespace.
ctr_k8s() { ctr --address "${N_CTRD_SOCK:-$CL_CTRD_SOCK}" -n k8s.io "$@"; }

# render SRC DST: copies a template, replacing @NAME@ with the value of the setting $NAME.
render() {
  local src=$1 dst=$2 content var
  content=$(<"$src")
  for var in $(grep -o '@[A-Z_][A-Z0-9_]*@' "$src" | sort -u | tr -d @); do
    [ -n "${!var+x}" ] || die "render $src: \$$var is not set"
    content=${content//@$var@/${!var}}
  done
  mkdir -p "$(dirname "$dst")"
  # Leave an unchanged file alone: kube-proxy exits when its config file is touched.
  if [ -f "$dst" ] && [ "$(<"$dst")" = "$content" ]; then return 0; fi
  printf '%s\n' "$content" >"$dst.tmp" && mv "$dst.tmp" "$dst"
}

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() { [ -r "/proc/$1/stat" ] && ! awk '{exit !($3 == "Z")}' "/proc/$1/stat" 2>/dev/null; }
# strays: pids of processes started from this harness's binaries or bound to one of its containerds
# (any node's), whatever their pid files say (after a crash, a killed start.sh, a lost $CL_RUN).
strays() {
  # shellcheck disable=SC2016 # awk program
  awk -v RS='\0' -v pre="$CL_CACHE/" -v sock="$CL_CTRD_STATE" -v etc="$CL_ETC/" '
    FNR == 1 { first = $0; if (index(first, pre) == 1) { print FILENAME; nextfile } }
    (index($0, etc) == 1 && $0 ~ /containerd\/config\.toml$/) ||
    (index(first, "containerd-shim") && index($0, sock) == 1 && $0 ~ /containerd\.sock$/) { print FILENAME; nextfile }
  ' /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3
}
# pod_pids: processes in the kubelets' pod cgroups (containers whose shim is gone keep running), of
# every node: the pids hierarchy of cgroup v1, or the unified hierarchy of cgroup v2.
pod_pids() {
  if [ -d /sys/fs/cgroup/pids ]; then
    find /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/pids/svcdoc-node*/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null
  else
    find /sys/fs/cgroup/kubepods /sys/fs/cgroup/kubepods.slice /sys/fs/cgroup/svcdoc-node*/kubepods \
      -name cgroup.procs -exec cat {} + 2>/dev/null
  fi | sort -u
}
# kubepods_cgroups: the kubelets' pod cgroup roots (cgroupfs driver), v1 controllers or v2, and the
# cgroup roots of nodes 2..N (svcdoc-nodeK, which hold their kubepods).
kubepods_cgroups() {
  local c
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods /sys/fs/cgroup/kubepods.slice \
    /sys/fs/cgroup/*/svcdoc-node* /sys/fs/cgroup/svcdoc-node*; do
    [ -d "$c" ] && echo "$c"
  done
  return 0
}

# stop_pids TIMEOUT_S NAME...: TERM the processes of $CL_RUN/NAME.pid together, KILL what is left
# after TIMEOUT_S.
stop_pids() {
  local to=$1 n p i pids=() names=(); shift
  for n in "$@"; do
    [ -f "$CL_RUN/$n.pid" ] || continue
    p=$(cat "$CL_RUN/$n.pid")
    if alive "$p"; then kill -TERM "$p" 2>/dev/null && pids+=("$p") && names+=("$n"); fi
    rm -f "$CL_RUN/$n.pid"
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  for ((i = 0; i < to * 10; i++)); do
    for p in "${pids[@]}"; do alive "$p" && break; done
    alive "$p" || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do
    if alive "$p"; then log "pid $p did not stop in ${to}s: KILL"; kill -KILL "$p" 2>/dev/null; fi
  done
  log "stopped ${names[*]}"
}

# leftovers: prints, one per line, whatever of the harness is still on the host (processes, mounts,
# network namespaces, iptables chains, nftables tables, links, routes, pod cgroups, the net state file).
# Prints nothing on a clean host. stop.sh must always get the host there.
leftovers() {
  local p t tbl c
  for p in $( (strays; pod_pids) | sort -u | grep -vx -e "$$" -e "${BASHPID:-$$}"); do
    alive "$p" && echo "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"
  done
  grep -E " ($CL_STATE|$CL_CTRD_STATE|/run/netns/cni-|/run/netns/svcdoc-)" /proc/mounts | awk '{print "mount " $2}'
  for p in /run/netns/cni-* /run/netns/svcdoc-*; do [ -e "$p" ] && echo "netns $p"; done
  for p in "$CL_CTRD_STATE" "$CL_CTRD_STATE"-*; do [ -e "$p" ] && echo "directory $p"; done
  for t in iptables ip6tables; do
    for tbl in filter nat mangle raw; do
      for c in $($t -t "$tbl" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE-|SVCDOC-|CNI-)/ {print $2}'); do
        echo "$t -t $tbl chain $c"
      done
    done
  done
  for tbl in "inet kube-network-policies" "ip kube-proxy" "ip6 kube-proxy"; do
    # shellcheck disable=SC2086
    nft list table $tbl >/dev/null 2>&1 && echo "nft table $tbl"
  done
  for c in "$NODE_IF" "$CNI_BRIDGE"; do ip link show "$c" >/dev/null 2>&1 && echo "link $c"; done
  ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^svcdoc-n[0-9]+(@|$)/ {print "link " $2}'
  ip route show | grep -E "(^| )($SVC_CIDR|$POD_CIDR|${POD_CIDR%.*.*}\.[0-9]+\.0/24)( |$)|dev ($NODE_IF|$CNI_BRIDGE|svcdoc-n[0-9]+)( |$)" | sed 's/^/route /'
  for c in $(kubepods_cgroups); do echo "cgroup $c"; done
  [ -f "$CL_RUN/net.state" ] && echo "file $CL_RUN/net.state"
  for p in $(dead_shim_sockets); do echo "socket $p"; done
  find /var/log/containers -maxdepth 1 -type l -lname "$CL_STATE/*" 2>/dev/null | sed 's/^/symlink /'
  return 0
}

# dead_shim_sockets: the containerd shims' sockets (containerd 1.6 puts them in /run/containerd/s, whatever
# its configuration) that nothing listens on any more: left by shims that were killed.
dead_shim_sockets() {
  local s ns bound
  [ -d /run/containerd/s ] || return 0
  # bound unix sockets are listed per network namespace: the host's and the nodes'
  bound=$(
    cat /proc/net/unix
    for ns in /run/netns/svcdoc-node*; do [ -e "$ns" ] && nsenter --net="$ns" cat /proc/net/unix; done
  ) 2>/dev/null
  for s in /run/containerd/s/*; do
    [ -S "$s" ] || continue
    awk -v p="$s" '$NF == p {f = 1} END {exit !f}' <<<"$bound" || echo "$s"
  done
}

kc() { "$K8S_BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

# waitfor DESC TIMEOUT_S CMD...: runs CMD every 0.2s until it succeeds or TIMEOUT_S seconds passed.
waitfor() {
  local d=$1 to=$2 deadline; shift 2
  deadline=$((SECONDS + to))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then log "$d ready"; return 0; fi
    sleep 0.2
  done
  log "TIMEOUT waiting ${to}s for $d"; return 1
}
