# savepoint — every command a developer or CI needs.
#   make run    the example server, zero-config
#   make test   every test (CI runs it with CI=true)
#   make bench  the end-to-end throughput benchmark
SHELL := /bin/bash
GO ?= go
CACHE := $(CURDIR)/.cache
BIN := $(CACHE)/bin
export PATH := $(BIN):$(PATH)
export SAVEPOINT_TOOLS_DIR := $(BIN)

# Files that `make generate` writes; check-generated fails when they drift.
GENERATED := backup/ports/portsmock adapters/sidecar/sidecarpb openapi.yaml examples/dashboard/src/api

.PHONY: test vet check-tidy check-generated generate tools run bench test-go fuzz-short test-dashboard

test: vet check-tidy check-generated test-go fuzz-short test-dashboard

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

# go.mod and go.sum list exactly what the code imports (direct and indirect
# marked as such); prints the difference and fails otherwise.
check-tidy:
	$(GO) mod tidy -diff

generate:
	scripts/install-protoc.sh
	$(GO) generate ./...
	scripts/generate-dashboard-types.sh

# Regenerates and fails if anything generated differs from what is committed.
check-generated: generate
	@drift=$$(git status --porcelain -- $(GENERATED)); \
	if [ -n "$$drift" ]; then echo "generated files differ from the committed ones (run make generate and commit):"; echo "$$drift"; git diff --stat -- $(GENERATED); exit 1; fi

tools:
	scripts/install-tools.sh

test-go: tools
	$(GO) test -race -count=1 -timeout 20m ./...

fuzz-short:
	scripts/fuzz-short.sh

# Component tests, type drift, build, and browser tests in Debian's Chromium.
test-dashboard:
	scripts/test-dashboard.sh

run:
	scripts/build-dashboard.sh
	$(GO) run ./examples/server

# BENCH_SIZE, BENCH_RUNS, BENCH_OUT and BENCH_FLAGS: see scripts/bench.sh.
bench: tools
	scripts/bench.sh
