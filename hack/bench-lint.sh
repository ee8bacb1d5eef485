#!/usr/bin/env bash
# Lint throughput benchmark: generates a corpus of N objects (default 10000), times the
# kubectl-svc_doctor binary on it (wall time, objects/s, peak RSS), runs kube-score on the same
# corpus for comparison (built once from the Go module proxy into the cache; a benchmark tool only,
# never a dependency), prints the ratio, then runs the Go benchmark BenchmarkLint10k.
# Usage: hack/bench-lint.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
N=${1:-10000}
RUNS=${2:-5}
CACHE=${SVCDOC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/svc-doctor}
KUBE_SCORE_VERSION=v1.20.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -trimpath -o "$work/kubectl-svc_doctor" ./cmd/kubectl-svc_doctor
objects=$(go run ./hack/benchgen -n "$N" -o "$work/corpus")
echo "corpus: $objects objects in $(ls "$work/corpus" | wc -l) files, $(du -sh "$work/corpus" | cut -f1)"

# measure CMD...: prints "<median seconds> <max RSS MiB>" over RUNS runs
measure() {
  local times=() rss=0 i out s r
  for ((i = 0; i < RUNS; i++)); do
    /usr/bin/time -o "$work/time" -f '%e %M' "$@" >/dev/null 2>&1 || true
    read -r s r < <(tail -n 1 "$work/time") # time adds a line when the command exits non-zero
    times+=("$s"); ((r > rss)) && rss=$r
  done
  printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")" "$((rss / 1024))"
}

read -r t m < <(measure "$work/kubectl-svc_doctor" lint -R -f "$work/corpus" --fail-on none -o json)
rate=$(awk -v n="$objects" -v t="$t" 'BEGIN { printf "%.0f", n / t }')
echo "svc-doctor lint: ${t}s (median of $RUNS), ${rate} objects/s, peak RSS ${m} MiB"

KS="$CACHE/tools/kube-score-$KUBE_SCORE_VERSION/kube-score"
if [ ! -x "$KS" ]; then
  echo "building kube-score $KUBE_SCORE_VERSION (once, into $KS)..."
  GOBIN="$(dirname "$KS")" go install "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION" 2>/dev/null || KS=""
fi
if [ -n "$KS" ]; then
  read -r kt km < <(measure "$KS" score "$work"/corpus/*.yaml)
  krate=$(awk -v n="$objects" -v t="$kt" 'BEGIN { printf "%.0f", n / t }')
  ratio=$(awk -v a="$kt" -v b="$t" 'BEGIN { printf "%.2f", a / b }')
  echo "kube-score $KUBE_SCORE_VERSION: ${kt}s, ${krate} objects/s, peak RSS ${km} MiB"
  echo "ratio: svc-doctor is ${ratio}x the speed of kube-score on this corpus"
else
  echo "kube-score could not be built (no module proxy?): comparison skipped"
fi
go test ./lint -run '^$' -bench BenchmarkLint10k -benchtime 3x
