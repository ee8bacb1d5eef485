#!/usr/bin/env bash
# Proves that stop.sh leaves the host clean (status.sh leftovers prints nothing), with every node:
#   1. a normal stop of the running cluster (if one runs), then a second stop;
#   2. a crash: start the cluster, KILL every component of every node (pid files, shims, pods and the
#      nodes' network namespaces are left behind as after a real crash), then stop, and stop again.
# Exit 1 with the leftovers when a step leaves anything. hack/e2e.sh runs it after the tests when it
# started the cluster itself (E2E_STOP_TEST=0 skips it). Leaves the cluster stopped.
set -uo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
need_root
C="$SVCDOC_HACK"
fail=0
# clean STEP: asserts that nothing of the harness is left on the host.
clean() {
  local left
  left=$(leftovers)
  if [ -n "$left" ]; then
    log "stop-test: FAIL after $1: left on the host:"; echo "$left" | sed 's/^/    /'
    fail=1
  else
    log "stop-test: ok after $1: nothing left on the host"
  fi
}
"$C/stop.sh" >/dev/null; clean "stop"
"$C/stop.sh" >/dev/null; clean "a second stop"

"$C/start.sh" >/dev/null || { log "stop-test: start.sh failed"; "$C/stop.sh" >/dev/null; exit 1; }
waitfor "a running pod" 60 sh -c "$K8S_BIN/kubectl --kubeconfig $ADMIN_KUBECONFIG get pods -A --field-selector=status.phase=Running -o name | grep -q ."
killed=() want=()
for k in $(node_list); do node_vars "$k"; want+=("${N_PID}kube-proxy" "${N_PID}kubelet" "${N_PID}containerd"); done
want+=(kube-scheduler kube-controller-manager kube-apiserver etcd)
for n in "${want[@]}"; do
  if [ -f "$CL_RUN/$n.pid" ] && alive "$(cat "$CL_RUN/$n.pid")"; then
    kill -KILL "$(cat "$CL_RUN/$n.pid")" && killed+=("$n")
  fi
done
[ ${#killed[@]} = ${#want[@]} ] || { log "stop-test: FAIL: only ${killed[*]} of ${want[*]} were running to be killed"; fail=1; }
sleep 1
survivors=$(pod_pids | wc -l)
log "stop-test: killed ${killed[*]}; $( (strays; pod_pids) | sort -u | wc -l) harness processes survive ($survivors in pod cgroups)"
# the crash must leave pods running, on every node, or this step proves nothing about cleaning them up
[ "$survivors" -gt 0 ] || { log "stop-test: FAIL: no pod process found after the crash (pod cgroups not seen?)"; fail=1; }
for k in $(node_list); do
  node_vars "$k"
  [ "$k" = 1 ] && continue
  n=$(find /sys/fs/cgroup/*"$N_CGROOT"/kubepods /sys/fs/cgroup"$N_CGROOT"/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | wc -l)
  log "stop-test: $n processes survive in the pod cgroups of $N_NAME"
  [ "$n" -gt 0 ] || { log "stop-test: FAIL: no pod process of $N_NAME survived the crash"; fail=1; }
done
"$C/stop.sh" >/dev/null; clean "stop after a crash"
"$C/stop.sh" >/dev/null; clean "a second stop after a crash"
exit "$fail"
