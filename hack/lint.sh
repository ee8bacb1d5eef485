#!/usr/bin/env bash
# Static checks beyond go vet: golangci-lint (pinned; the layering rules of .golangci.yml among them)
# and go.mod tidiness. golangci-lint is installed once from the Go module proxy into
# $SVCDOC_CACHE/tools/golangci-lint-$VERSION (a few minutes cold, then cached).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v2.15.0
CACHE="${SVCDOC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/svc-doctor}"
BIN="$CACHE/tools/golangci-lint-$VERSION"
if [ ! -x "$BIN/golangci-lint" ]; then
  echo "lint: installing golangci-lint $VERSION into $BIN (once)"
  mkdir -p "$BIN"
  GOBIN="$BIN" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$VERSION"
fi
go mod tidy -diff || { echo "lint: go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
"$BIN/golangci-lint" run ./...
# the size rule of docs/architecture.md: no source file over 600 lines (functions: funlen above)
long=$(git ls-files '*.go' ':!:*_test.go' | xargs wc -l | awk '$2 != "total" && $1 > 600 {print "  " $2 ": " $1 " lines"}')
if [ -n "$long" ]; then
  echo "lint: source files over 600 lines (split them by concern):"; echo "$long"; exit 1
fi
