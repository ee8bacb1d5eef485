#!/usr/bin/env bash
# Lint benchmarks, the kubectl-svc_doctor binary end to end (wall time, peak RSS from
# /usr/bin/time):
#   1. a generated corpus of N objects (default 10000), next to kube-score on the same corpus
#      (built once from the Go module proxy into the cache; a benchmark tool only, never a
#      dependency), and the ratio;
#   2. 50 MB of valid Services in one file (about 295,000 objects);
#   3. 1,000,000 tiny documents in one file, one identical finding each (capped by --max-findings);
# then the Go benchmarks BenchmarkLint10k and BenchmarkLintStream10k. Figures are medians, with the
# range, over RUNS runs; the machine is shared, so the ranges matter.
# Usage: hack/bench-lint.sh [N] [RUNS]    (SKIP_LARGE=1 skips 2 and 3)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
N=${1:-10000}
RUNS=${2:-5}
LARGE_RUNS=${LARGE_RUNS:-3}
CACHE=${SVCDOC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/svc-doctor}
KUBE_SCORE_VERSION=v1.20.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# the binary as it ships (make build: static, stripped): a build with cgo and symbols peaks
# 15-20 MiB higher on the 10k corpus
make -s build BIN="$work/kubectl-svc_doctor"
go build -o "$work/benchgen" ./hack/benchgen
objects=$("$work/benchgen" -n "$N" -o "$work/corpus")
echo "corpus: $objects objects in $(ls "$work/corpus" | wc -l) files, $(du -sh "$work/corpus" | cut -f1)"

# measure RUNS CMD...: prints "<median s> <min s> <max s> <max RSS MiB> <exit code>"
measure() {
  local runs=$1 times=() rss=0 i s r code=0
  shift
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -o "$work/time" -f '%e %M %x' "$@" >/dev/null 2>"$work/stderr" || true
    read -r s r code < <(tail -n 1 "$work/time") # time adds a line when the command exits non-zero
    times+=("$s"); ((r > rss)) && rss=$r
  done
  local sorted
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  printf '%s %s %s %s %s\n' "$(sed -n "$(((runs + 1) / 2))p" <<<"$sorted")" "$(head -n 1 <<<"$sorted")" "$(tail -n 1 <<<"$sorted")" "$((rss / 1024))" "$code"
}

read -r t tmin tmax m _ < <(measure "$RUNS" "$work/kubectl-svc_doctor" lint -R -f "$work/corpus" --fail-on none -o json)
rate=$(awk -v n="$objects" -v t="$t" 'BEGIN { printf "%.0f", n / t }')
echo "svc-doctor lint, $objects objects: ${t}s (median of $RUNS, range ${tmin}-${tmax}s), ${rate} objects/s, peak RSS ${m} MiB"

KS="$CACHE/tools/kube-score-$KUBE_SCORE_VERSION/kube-score"
if [ ! -x "$KS" ]; then
  echo "building kube-score $KUBE_SCORE_VERSION (once, into $KS)..."
  GOBIN="$(dirname "$KS")" go install "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION" 2>/dev/null || KS=""
fi
if [ -n "$KS" ]; then
  read -r kt ktmin ktmax km _ < <(measure "$RUNS" "$KS" score "$work"/corpus/*.yaml)
  krate=$(awk -v n="$objects" -v t="$kt" 'BEGIN { printf "%.0f", n / t }')
  ratio=$(awk -v a="$kt" -v b="$t" 'BEGIN { printf "%.2f", a / b }')
  echo "kube-score $KUBE_SCORE_VERSION, $objects objects: ${kt}s (range ${ktmin}-${ktmax}s), ${krate} objects/s, peak RSS ${km} MiB"
  echo "ratio: svc-doctor is ${ratio}x the speed of kube-score on this corpus"
else
  echo "kube-score could not be built (no module proxy?): comparison skipped"
fi

if [ -z "${SKIP_LARGE:-}" ]; then
  svcs=$("$work/benchgen" -services-mb 50 -o "$work/services.yaml")
  read -r t tmin tmax m code < <(measure "$LARGE_RUNS" "$work/kubectl-svc_doctor" lint -f "$work/services.yaml" -o json)
  echo "svc-doctor lint, 50 MB of valid Services ($svcs objects, $(du -h "$work/services.yaml" | cut -f1)): ${t}s (median of $LARGE_RUNS, range ${tmin}-${tmax}s), peak RSS ${m} MiB, exit code $code"
  rm -f "$work/services.yaml"
  "$work/benchgen" -tiny 1000000 -o "$work/tiny.yaml" >/dev/null
  read -r t tmin tmax m code < <(measure "$LARGE_RUNS" "$work/kubectl-svc_doctor" lint -f "$work/tiny.yaml")
  "$work/kubectl-svc_doctor" lint -f "$work/tiny.yaml" >"$work/tiny.out" 2>&1 || true
  echo "svc-doctor lint, 1,000,000 tiny documents ($(du -h "$work/tiny.yaml" | cut -f1)): ${t}s (median of $LARGE_RUNS, range ${tmin}-${tmax}s), peak RSS ${m} MiB, exit code $code, output $(wc -c <"$work/tiny.out") bytes"
fi
go test ./lint -run '^$' -bench 'BenchmarkLint(Stream)?10k' -benchtime 3x
