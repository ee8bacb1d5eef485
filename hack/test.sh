#!/usr/bin/env bash
# The README's test command (make test; .ci/run calls it):
#   1. static checks: gofmt, go vet, golangci-lint and go mod tidy (hack/lint.sh); the generated
#      rule docs are checked for drift by the unit tests
#   2. the local cluster's setup (hack/cluster/setup.sh, cached): it builds the kubectl that the offline
#      krew install test (hack/release) needs, so that test runs in step 3 instead of skipping
#   3. unit tests: go test ./... (end-to-end tests skip themselves here)
#   4. end-to-end tests on the local cluster (hack/e2e.sh: start, test, stop)
# --unit runs only steps 1 and 3 (no root or cluster needed; the krew install test then skips without
# a kubectl, or fails when CI is set).
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
hack/lint.sh

if [ "${1:-}" != "--unit" ]; then
  step "cluster setup (cached)"
  hack/cluster/setup.sh
fi

step "unit tests"
go test ./... -count=1 -timeout 20m

if [ "${1:-}" = "--unit" ]; then
  echo "unit tests passed in $(($(date +%s) - t0))s"
  exit 0
fi

step "end-to-end tests"
hack/e2e.sh
echo "all tests passed in $(($(date +%s) - t0))s"
