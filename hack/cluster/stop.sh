#!/usr/bin/env bash
# Stops the svc-doctor test cluster, every node of it, and leaves the host as it found it: processes (also
# ones whose pid files are gone, e.g. after a crash), pods and their network namespaces, the nodes'
# network namespaces, mounts, cgroups, iptables and nftables rules, bridges, veths, routes and sysctls.
# Idempotent: running it twice, or on a clean host, is fine.
# Keeps the data (etcd, imported images, PKI) under $SVCDOC_CLUSTER_ROOT; `stop.sh --purge` deletes it too.
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
need_root
PURGE=0
[ "${1:-}" = --purge ] && PURGE=1

# every node, also one of a previous run with more nodes than SVCDOC_NODES
NODES=$(present_nodes)
per_node() { local k; for k in $NODES; do node_vars "$k"; echo "$N_PID$1"; done; }
# shellcheck disable=SC2046 # one name per node
stop_pids 15 $(per_node kube-proxy) $(per_node kubelet)
# Remove the pods through CRI so that CNI DEL runs (frees IPs, deletes veths and network namespaces),
# on every node at once.
rmpods() {
  [ -S "$N_CTRD_SOCK" ] && [ -x "$CRICTL_BIN/crictl" ] && [ -f "$CL_RUN/${N_PID}containerd.pid" ] &&
    alive "$(cat "$CL_RUN/${N_PID}containerd.pid")" || return 0
  timeout 60 "$CRICTL_BIN/crictl" --runtime-endpoint "unix://$N_CTRD_SOCK" --timeout 20s rmp -fa >/dev/null 2>&1 ||
    log "crictl rmp on $N_NAME did not finish: killing what is left"
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -s KILL "$id" >/dev/null 2>&1; done
}
for k in $NODES; do (node_vars "$k"; rmpods) & done
wait
# shellcheck disable=SC2046 # one name per node
stop_pids 15 $(per_node containerd) kube-scheduler kube-controller-manager
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

# Mounts of the kubelets (volumes), containerds (rootfs, shm) and CNI (netns), deepest first (the nodes'
# network namespaces go with net.sh down).
grep -E " ($CL_STATE|$CL_CTRD_STATE|/run/netns/cni-)" /proc/mounts | awk '{print $2}' | sort -r |
  while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
for ns in /run/netns/cni-*; do [ -e "$ns" ] && { ip netns delete "$(basename "$ns")" 2>/dev/null || rm -f "$ns"; }; done
rm -rf "$CL_CTRD_STATE" "$CL_CTRD_STATE"-*
# what containerd and the kubelets write outside their configured directories: the killed shims'
# sockets, and the kubelets' /var/log/containers symlinks into their pod logs
for s in $(dead_shim_sockets); do rm -f "$s"; done
find /var/log/containers -maxdepth 1 -type l -lname "$CL_STATE/*" -delete 2>/dev/null
# Pod cgroups the kubelets created (cgroupfs driver) and the nodes' cgroup roots, deepest first.
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
