#!/usr/bin/env bash
# Scale benchmark of `kubectl svc-doctor diagnose` over every Service, on the running local cluster
# (hack/cluster): wall time, maximum RSS (the child's rusage) and API requests (--stats) of
#   1. `diagnose -A --static -o json` and the table over 2,000 Services and 10,000 pods, then over
#      10,000 Services and 50,000 pods: API objects only, in namespaces of their own (100 Services
#      each); the pods carry a scheduling gate, so they stay unscheduled and never run (no Node
#      object is faked); the Services are labelled service.kubernetes.io/service-proxy-name so that
#      kube-proxy leaves them alone (still ClusterIP Services with an address and an EndpointSlice);
#   2. `diagnose -n NS` with the network checks (one helper pod) over 100 real Services with one
#      ready test server pod each.
# Everything is created concurrently (hack/benchscale, -workers requests at a time) and deleted at
# the end, Ctrl-C included; the script waits until the namespaces are gone.
#
#   hack/bench-scale.sh [CASE...]     CASE: small (2k/10k), large (10k/50k), network (100); default all
#   RUNS=2                            runs of each command
#
# To compare builds on the same objects without creating them again, run hack/benchscale itself:
# -keep leaves them behind, -reuse measures them (same -run-id and sizes), -cleanup deletes them.
#
# Needs the cluster running (hack/cluster/start.sh) and the images imported (hack/cluster/images.sh).
# The service CIDR (SVC_CIDR, 10.96.0.0/16: 65,534 addresses) holds the 10,000 ClusterIPs.
# On a cluster shared with others, run it under their lock: flock /tmp/svcdoc-cluster.lock hack/bench-scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/cluster/env.sh
. hack/cluster/env.sh
export KUBECONFIG="${KUBECONFIG:-$(hack/cluster/status.sh kubeconfig)}"
RUNS=${RUNS:-2}
RUN_ID="b$$"
[ $# -gt 0 ] || set -- small large network

work=$(mktemp -d)
cleanup() {
  local rc=$?
  # benchscale deletes its namespaces itself; this is for a run killed before it could
  [ -x "$work/benchscale" ] && "$work/benchscale" -cleanup -run-id "$RUN_ID" || rc=1
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make -s build BIN="$work/kubectl-svc_doctor" # the binary as it ships (static, stripped)
go build -o "$work/benchscale" ./hack/benchscale
bench() { "$work/benchscale" -bin "$work/kubectl-svc_doctor" -run-id "$RUN_ID" -runs "$RUNS" \
  -testserver-image "$TESTSERVER_IMAGE" -agent-image "$AGENT_IMAGE" "$@"; }

for c in "$@"; do
  case $c in
    small) bench -mode static -services 2000 -pods 10000 ;;
    large) bench -mode static -services 10000 -pods 50000 ;;
    network) bench -mode network -services 100 ;;
    *) echo "bench-scale: unknown case $c (small, large, network)" >&2; exit 2 ;;
  esac
done
