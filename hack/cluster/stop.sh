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
stop_pids 15 kube-proxy kubelet
# Remove the pods through CRI so that CNI DEL runs (frees IPs, deletes veths and network namespaces).
if [ -S "$CL_CTRD_SOCK" ] && [ -x "$CRICTL_BIN/crictl" ] && [ -f "$CL_RUN/containerd.pid" ] && alive "$(cat "$CL_RUN/containerd.pid")"; then
  timeout 60 "$CRICTL_BIN/crictl" --runtime-endpoint "unix://$CL_CTRD_SOCK" --timeout 20s rmp -fa >/dev/null 2>&1 ||
    log "crictl rmp did not finish: killing what is left"
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -s KILL "$id" >/dev/null 2>&1; done
fi
stop_pids 15 containerd kube-scheduler kube-controller-manager
stop_pids 5 kube-apiserver # in-flight watches and execs can hold it for a minute
stop_pids 30 etcd

# Whatever survived (no pid file, crashed start, killed shims): kill precisely what belongs to the harness.
for round in 1 2 3; do
  left=$( (strays; pod_pids) | sort -u | grep -vx -e "$$" -e "$BASHPID" || true)
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
for c in $(kubepods_cgroups); do
  find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
done
"$SVCDOC_HACK/net.sh" down
rm -f "$CL_RUN"/*.pid
if [ "$PURGE" = 1 ]; then
  rm -rf "$SVCDOC_CLUSTER_ROOT"
  log "purged $SVCDOC_CLUSTER_ROOT (setup.sh recreates the PKI; the build cache $CL_CACHE is kept)"
fi
log "stop: done"
