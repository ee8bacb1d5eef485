#!/usr/bin/env bash
# Stops the svc-doctor test cluster and leaves the host as it found it: processes (also ones whose pid
# files are gone, e.g. after a crash), pods and their network namespaces, mounts, cgroups, iptables and
# nftables rules, bridges, routes and sysctls. Idempotent: running it twice, or on a clean host, is fine.
# Keeps the data (etcd, imported images, PKI) under $SVCDOC_CLUSTER_ROOT; `stop.sh --purge` deletes it too.
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
need_root
PURGE=0
[ "${1:-}" = --purge ] && PURGE=1

alive() { kill -0 "$1" 2>/dev/null; }
# stop_pid NAME [TIMEOUT_S]: TERM, then KILL after TIMEOUT_S, the process in $CL_RUN/NAME.pid.
stop_pid() {
  local n=$1 to=${2:-15} p i
  [ -f "$CL_RUN/$n.pid" ] || return 0
  p=$(cat "$CL_RUN/$n.pid")
  if alive "$p"; then
    kill -TERM "$p" 2>/dev/null
    for ((i = 0; i < to * 5; i++)); do alive "$p" || break; sleep 0.2; done
    if alive "$p"; then log "$n ($p) did not stop: KILL"; kill -KILL "$p" 2>/dev/null; fi
    log "stopped $n ($p)"
  fi
  rm -f "$CL_RUN/$n.pid"
}
# strays: pids of processes started from this harness's binaries or bound to its containerd, whatever
# their pid files say (after a crash, a killed start.sh, a lost $CL_RUN).
strays() {
  local d cmd
  for d in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
    case $cmd in
      "$CL_CACHE"/* | *"$CL_ETC/containerd/config.toml"* | *containerd-shim*"$CL_CTRD_SOCK"*) echo "${d#/proc/}" ;;
    esac
  done
}
# pod_pids: processes in the kubelet's pod cgroups (containers whose shim is gone keep running).
pod_pids() { cat /sys/fs/cgroup/pids/kubepods/cgroup.procs /sys/fs/cgroup/pids/kubepods/*/cgroup.procs \
  /sys/fs/cgroup/pids/kubepods/*/*/cgroup.procs /sys/fs/cgroup/pids/kubepods/*/*/*/cgroup.procs 2>/dev/null | sort -u; }

stop_pid kube-proxy
stop_pid kubelet
# Remove the pods through CRI so that CNI DEL runs (frees IPs, deletes veths and network namespaces).
if [ -S "$CL_CTRD_SOCK" ] && [ -x "$CRICTL_BIN/crictl" ] && alive "$(cat "$CL_RUN/containerd.pid" 2>/dev/null || echo x)"; then
  timeout 60 "$CRICTL_BIN/crictl" --runtime-endpoint "unix://$CL_CTRD_SOCK" --timeout 20s rmp -fa >/dev/null 2>&1 ||
    log "crictl rmp did not finish: killing what is left"
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -s KILL "$id" >/dev/null 2>&1; done
fi
stop_pid containerd
stop_pid kube-scheduler
stop_pid kube-controller-manager
stop_pid kube-apiserver
stop_pid etcd 30

# Whatever survived (no pid file, crashed start, killed shims): kill precisely what belongs to the harness.
for round in 1 2 3; do
  left=$( (strays; pod_pids) | sort -u | grep -vx "$$" || true)
  [ -n "$left" ] || break
  log "killing leftover processes (round $round): $(echo "$left" | tr '\n' ' ')"
  # shellcheck disable=SC2086
  kill -KILL $left 2>/dev/null
  sleep 1
done

# Mounts of the kubelet (volumes), containerd (rootfs, shm) and CNI (netns), deepest first.
grep -E " ($CL_STATE|$CL_CTRD_STATE|/run/netns/cni-)" /proc/mounts | awk '{print $2}' | sort -r |
  while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
for ns in /run/netns/cni-*; do [ -e "$ns" ] && { ip netns delete "$(basename "$ns")" 2>/dev/null || rm -f "$ns"; }; done
rm -rf "$CL_CTRD_STATE"
# Pod cgroups the kubelet created (cgroupfs driver), deepest first.
for c in /sys/fs/cgroup/*/kubepods; do
  [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
done
"$SVCDOC_HACK/net.sh" down
rm -f "$CL_RUN"/*.pid
if [ "$PURGE" = 1 ]; then
  rm -rf "$SVCDOC_CLUSTER_ROOT"
  log "purged $SVCDOC_CLUSTER_ROOT (setup.sh recreates the PKI; the build cache $CL_CACHE is kept)"
fi
log "stop: done"
