#!/usr/bin/env bash
# The README's test command (make test; .ci/run calls it):
#   1. static checks: gofmt, go vet, the generated rule docs are up to date
#   2. unit tests: go test ./... (end-to-end tests skip themselves here)
#   3. end-to-end tests on the local cluster (hack/e2e.sh: build it if needed, start, test, stop)
# --unit stops after step 2 (no root or cluster needed).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
step() { printf '\n=== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
t0=$(date +%s)

step "static checks"
unformatted=$(gofmt -l $(git ls-files '*.go') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...

step "unit tests"
go test ./... -count=1 -timeout 20m

if [ "${1:-}" = "--unit" ]; then
  echo "unit tests passed in $(($(date +%s) - t0))s"
  exit 0
fi

step "end-to-end tests"
hack/e2e.sh
echo "all tests passed in $(($(date +%s) - t0))s"
