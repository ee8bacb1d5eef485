# svc-doctor. The two commands of the README:
#   make run    build kubectl-svc_doctor and lint the bundled examples (no cluster needed)
#   make test   unit tests, then end-to-end tests on a local cluster the repo builds and starts
# Other targets: build, unit, lint, e2e, bench, fuzz, docs, release-snapshot, clean.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BIN := bin/kubectl-svc_doctor
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/svc-doctor/svc-doctor/internal/version.Version=$(VERSION) \
	-X github.com/svc-doctor/svc-doctor/internal/version.Commit=$(shell git rev-parse --short HEAD 2>/dev/null || echo none) \
	-X github.com/svc-doctor/svc-doctor/internal/version.Date=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)

.PHONY: run build test unit lint e2e bench fuzz docs release-snapshot clean

run: build
	hack/run-examples.sh $(BIN)

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kubectl-svc_doctor

test:
	hack/test.sh

unit:
	hack/test.sh --unit

lint:
	hack/lint.sh

e2e:
	hack/e2e.sh

bench:
	hack/bench-lint.sh

# every fuzz target, FUZZTIME each (go test -fuzz takes one target at a time: the names are anchored,
# FuzzParse would also match FuzzParseFastPathAgrees and fuzz nothing)
FUZZTIME ?= 60s
fuzz:
	for t in FuzzParse FuzzParseFastPathAgrees FuzzFastPath FuzzStreamSplit; do \
	  $(GO) test ./manifest -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) || exit 1; done
	for t in FuzzMatch FuzzNormalizePath; do \
	  $(GO) test ./route/ingress -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) || exit 1; done

docs:
	$(GO) test ./rules -run TestRulesDoc -update

# every archive, checksums, the agent image and the krew manifest into dist/; publishes nothing
release-snapshot:
	$(GO) run ./hack/release --snapshot

clean:
	rm -rf bin dist
