#!/usr/bin/env bash
# Benchmark of `kubectl svc-doctor diagnose` on the local cluster (hack/cluster): wall time and API
# request count of a full diagnosis of a healthy 3-replica Service (all 8 hops run), with a cold
# helper (started and deleted by every run) and with a reused one (--keep-helper).
#
#   hack/bench-diagnose.sh [RUNS]        # default 3 runs of each kind
#
# Needs the cluster running (hack/cluster/start.sh) and the images imported (hack/cluster/images.sh).
# It works in a namespace of its own, deleted at the end (kept helpers included).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-3}"
# shellcheck source=hack/cluster/env.sh
. hack/cluster/env.sh
export KUBECONFIG="${KUBECONFIG:-$(hack/cluster/status.sh kubeconfig)}"
KUBECTL="${KUBECTL:-$K8S_BIN/kubectl}"
command -v "$KUBECTL" >/dev/null || KUBECTL=kubectl
AGENT_IMAGE="${SVCDOC_AGENT_IMAGE:-ghcr.io/svc-doctor/agent:dev}"
TESTSERVER_IMAGE="${SVCDOC_TESTSERVER_IMAGE:-localhost/svc-doctor/testserver:dev}"
NS="svcdoc-bench-$$"

work="$(mktemp -d)"
bin="$work/kubectl-svc_doctor"
cleanup() {
  "$bin" cleanup -n "$NS" >/dev/null 2>&1 || true
  "$KUBECTL" delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building kubectl-svc_doctor..." >&2
make -s build BIN="$bin" # the binary as it ships

"$KUBECTL" create namespace "$NS" >/dev/null
"$KUBECTL" -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: testserver
        image: $TESTSERVER_IMAGE
        imagePullPolicy: Never
        args: ["serve"]
        env: [{name: PORTS, value: "8080"}]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
EOF
"$KUBECTL" -n "$NS" rollout status deployment/web --timeout=120s >/dev/null
# wait until the 3 endpoints are published
for _ in $(seq 60); do
  n="$("$KUBECTL" -n "$NS" get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{range .items[*].endpoints[*]}{.conditions.ready}{"\n"}{end}' | grep -c true || true)"
  [ "$n" = 3 ] && break
  sleep 1
done

# run KIND [FLAGS...]: one diagnosis; prints "seconds requests exit"
run() {
  local start end out code
  start="$(date +%s.%N)"
  set +e
  out="$("$bin" diagnose svc/web -n "$NS" --image "$AGENT_IMAGE" --image-pull-policy Never --stats "$@" 2>&1 >/dev/null)"
  code=$?
  set -e
  end="$(date +%s.%N)"
  req="$(sed -n 's/^\([0-9]*\) API requests in .*/\1/p' <<<"$out")"
  printf '%.2f %s %s\n' "$(echo "$end - $start" | bc)" "${req:-?}" "$code"
}

row() { printf '%-8s %-4s %-8s %-9s %-5s %s\n' "$@"; }
results=("$(row HELPER RUN SECONDS REQUESTS EXIT "")")
for i in $(seq "$RUNS"); do
  read -r s r c < <(run)
  results+=("$(row cold "$i" "$s" "$r" "$c" "")")
done
# the first --keep-helper run starts the kept helper; the next ones reuse it
read -r s r c < <(run --keep-helper)
results+=("$(row keep 0 "$s" "$r" "$c" "(starts the kept helper)")")
for i in $(seq "$RUNS"); do
  read -r s r c < <(run --keep-helper)
  results+=("$(row reused "$i" "$s" "$r" "$c" "")")
done
printf '%s\n' "${results[@]}"
