# gpumesh: `make build`, `make release`, `make test`, `make test-race`, `make bench`, `make bench-scale`, `make run`, `make demo`, `make fuzz`, `make lint`, `make contracts`.
GO      ?= go
BIN     ?= bin/gpumesh
VERSION ?= 0.1.0-dev
LDFLAGS := -X github.com/gpumesh/gpumesh/node.Version=$(VERSION)
FUZZTIME ?= 30s

.PHONY: build release test test-short test-race bench bench-scale run demo fuzz lint clean contracts

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gpumesh

# Every target (linux amd64/arm64, windows amd64, darwin arm64/amd64) with
# VERSION (default: git describe), commit and date stamped, archives, .deb
# packages and SHA256SUMS, under dist/: see scripts/release.sh.
release:
	GO=$(GO) $(if $(filter command line environment,$(origin VERSION)),VERSION=$(VERSION)) ./scripts/release.sh

# The README's test command: installs and starts what the tests need, then runs them all.
test:
	./scripts/test.sh

# Quick loop while coding: skips the slow many-node scenarios.
test-short:
	$(GO) test -short ./...

# Every package's -short tests under the race detector, as CI runs them
# after the full suite (scripts/test.sh); needs cgo and a C compiler.
test-race:
	$(GO) test -race -short -count=1 -p 1 -timeout 30m ./...

bench: build
	$(GO) run ./bench -binary $(BIN) -out bench/results.json

# B13: full nodes on the simulated country network at each of SCALE_N (with
# churn, NAT and a job load, in virtual time); the JSON goes to
# bench/scale_results.json and a markdown table is printed. See docs/scale.md.
# SCALE_NAT is the share of nodes behind the modelled NAT. SCALE_MEMONLY=1
# stops each size once its memory is measured (after settling). A watchdog
# fails a run whose virtual clock stands still for 3 minutes, with a
# goroutine dump (docs/scale.md, "The stall"). 1,000 nodes need about 29 GB
# (docs/scale.md, "Memory"): the default sizes are those that fit 24 GB.
SCALE_N ?= 100,300
SCALE_MEMONLY ?=
# SCALE_WINDOWS=warmup,idle,load (e.g. 60s,60s,60s) shortens the phases
# (default 90s,120s,120s of virtual time).
SCALE_WINDOWS ?=
SCALE_NAT ?= 0.3
bench-scale:
	GPUMESH_B13_N=$(SCALE_N) GPUMESH_B13_NAT=$(SCALE_NAT) GPUMESH_B13_MEMONLY=$(SCALE_MEMONLY) GPUMESH_B13_WINDOWS=$(SCALE_WINDOWS) GPUMESH_B13_OUT=$(CURDIR)/bench/scale_results.json \
		$(GO) test ./bench -run '^TestB13Scale$$' -count=1 -timeout 600m -v

run: build
	./$(BIN) run

# See it work: a local network in one process runs a job end to end.
demo: build
	./$(BIN) demo

# Each fuzz target runs for FUZZTIME; a table of executions per target ends
# the run, and FUZZ_REPORT (default $TMPDIR/fuzz-report.json) holds it as JSON.
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# Recompile the settlement contracts with the pinned solc (npm ci first)
# and regenerate their Go bindings with abigen; commit what changes
# (TestArtifactsReproduce checks the two agree). See docs/settlement.md.
contracts:
	cd ledger/settle/contracts && npm ci --no-audit --no-fund --loglevel=error && $(GO) generate .

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)

clean:
	rm -rf bin dist
