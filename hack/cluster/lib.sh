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

# ctr_k8s ARGS...: ctr against the harness containerd, in the CRI namespace.
ctr_k8s() { ctr --address "$CL_CTRD_SOCK" -n k8s.io "$@"; }

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
# strays: pids of processes started from this harness's binaries or bound to its containerd, whatever
# their pid files say (after a crash, a killed start.sh, a lost $CL_RUN).
strays() {
  # shellcheck disable=SC2016 # awk program
  awk -v RS='\0' -v pre="$CL_CACHE/" -v sock="$CL_CTRD_SOCK" -v cfg="$CL_ETC/containerd/config.toml" '
    FNR == 1 { first = $0; if (index(first, pre) == 1) { print FILENAME; nextfile } }
    ($0 == cfg) || (index(first, "containerd-shim") && $0 == sock) { print FILENAME; nextfile }
  ' /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3
}
# pod_pids: processes in the kubelet's pod cgroups (containers whose shim is gone keep running):
# the pids hierarchy of cgroup v1, or the unified hierarchy of cgroup v2.
pod_pids() {
  if [ -d /sys/fs/cgroup/pids ]; then
    cat /sys/fs/cgroup/pids/kubepods/cgroup.procs /sys/fs/cgroup/pids/kubepods/*/cgroup.procs \
      /sys/fs/cgroup/pids/kubepods/*/*/cgroup.procs /sys/fs/cgroup/pids/kubepods/*/*/*/cgroup.procs 2>/dev/null
  else
    find /sys/fs/cgroup/kubepods /sys/fs/cgroup/kubepods.slice -name cgroup.procs -exec cat {} + 2>/dev/null
  fi | sort -u
}
# kubepods_cgroups: the kubelet's pod cgroup roots (cgroupfs driver), v1 controllers or v2.
kubepods_cgroups() {
  local c
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods /sys/fs/cgroup/kubepods.slice; do
    [ -d "$c" ] && echo "$c"
  done
  return 0
}

# leftovers: prints, one per line, whatever of the harness is still on the host (processes, mounts,
# network namespaces, iptables chains, nftables tables, links, routes, pod cgroups, the net state file).
# Prints nothing on a clean host. stop.sh must always get the host there.
leftovers() {
  local p t tbl c
  for p in $( (strays; pod_pids) | sort -u | grep -vx -e "$$" -e "${BASHPID:-$$}"); do
    alive "$p" && echo "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)"
  done
  grep -E " ($CL_STATE|$CL_CTRD_STATE|/run/netns/cni-)" /proc/mounts | awk '{print "mount " $2}'
  for p in /run/netns/cni-*; do [ -e "$p" ] && echo "netns $p"; done
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
  ip route show | grep -E "(^| )($SVC_CIDR|$POD_CIDR|$NODE_POD_CIDR)( |$)|dev ($NODE_IF|$CNI_BRIDGE)( |$)" | sed 's/^/route /'
  for c in $(kubepods_cgroups); do echo "cgroup $c"; done
  [ -f "$CL_RUN/net.state" ] && echo "file $CL_RUN/net.state"
  return 0
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
