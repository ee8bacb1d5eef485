#!/usr/bin/env bash
# Runs svc-doctor's end-to-end tests on the local test cluster (SVCDOC_NODES nodes, default 2), from a
# fresh machine or clone:
#   setup (cached after the first run) -> start -> project images -> go test ./test/e2e/... -> stop
# The cluster this script started is ALWAYS stopped at the end (trap), and the exit code is the tests'.
# A cluster that was already running when it began (a developer's, shared with others) is reused and
# left running; E2E_STOP=always stops it anyway.
#   E2E_RUN=RE          only the tests matching RE (go test -run)
#   E2E_KEEP_CLUSTER=1  leave the cluster running afterwards (for debugging; stop with hack/cluster/stop.sh)
#   E2E_TIMEOUT=30m     go test -timeout
#   E2E_FRESH=0         keep the etcd data of the last run when this script starts the cluster
#   E2E_STOP_TEST=0     skip hack/cluster/stop-test.sh, which otherwise runs after the tests when this
#                       script started the cluster (stop, stop again, crash + stop: the host is clean)
# Needs root on Debian 12 (see hack/cluster/README.md).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
C="$REPO/hack/cluster"
KEEP=${E2E_KEEP_CLUSTER:-0}
RUNNING=0
# shellcheck source=SCRIPTDIR/cluster/env.sh
. "$C/env.sh"
if [ -f "$CL_RUN/kube-apiserver.pid" ] && kill -0 "$(cat "$CL_RUN/kube-apiserver.pid")" 2>/dev/null; then
  RUNNING=1
  if [ "${E2E_STOP:-}" != always ]; then
    echo "e2e: the cluster is already running: reusing it and leaving it running (E2E_STOP=always stops it)"
    KEEP=1
  fi
fi
# shellcheck disable=SC2317 # called through the trap
cleanup() {
  local rc=$?
  if [ "$KEEP" = 1 ]; then
    echo "e2e: cluster left running: export KUBECONFIG=$("$C/status.sh" kubeconfig)"
  else
    "$C/stop.sh" || echo "e2e: WARNING: stop.sh failed" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

s=$(date +%s)
"$C/setup.sh"
if [ "$RUNNING" = 0 ]; then
  # Not running: clear what a crashed or killed earlier run may have left (mounts, rules, stale pids),
  # and start from an empty etcd: objects an earlier run left (Node objects of another node count,
  # test namespaces of a killed run, addons of another version) must not decide this run.
  "$C/stop.sh" >/dev/null
  if [ "${E2E_FRESH:-1}" = 1 ]; then rm -rf "$CL_STATE/etcd"; fi
fi
"$C/start.sh"
"$C/images.sh"
echo "e2e: cluster ready in $(($(date +%s) - s))s; nodes (number name IP pod-CIDR netns):"
"$C/status.sh" nodes | sed 's/^/e2e:   /'
KUBECONFIG="$("$C/status.sh" kubeconfig)"
export KUBECONFIG SVCDOC_E2E=1
cd "$REPO"
rc=0
go test ./test/e2e/... -count=1 -v -parallel "${E2E_PARALLEL:-4}" -timeout "${E2E_TIMEOUT:-30m}" ${E2E_RUN:+-run "$E2E_RUN"} || rc=$?
echo "e2e: go test exit code $rc after $(($(date +%s) - s))s; memory at the end of the tests:"
"$C/status.sh" memory | sed 's/^/e2e:   /'
if [ "$KEEP" = 0 ] && [ "$RUNNING" = 0 ] && [ "${E2E_STOP_TEST:-1}" != 0 ]; then
  "$C/stop-test.sh" || { echo "e2e: stop.sh left the host unclean (see above)"; [ "$rc" != 0 ] || rc=1; }
fi
exit "$rc"
