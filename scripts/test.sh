#!/usr/bin/env bash
# The README's test command (`make test`): installs what the tests need when
# it can, then runs every test, the brief fuzzing pass and the linters.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

# Debian packages the tests use: unshare (util-linux) and ip (iproute2) put
# the mDNS test in a private network namespace so multicast never leaves
# this machine, and with iptables build the NAT topology of
# p2p's TestNATTopology and cmd/gpumesh's TestJobAcrossNATs (home LANs behind
# masquerading routers, built by internal/netnstest); gcc is the C compiler that the race detector (cgo) needs;
# docker.io is the engine the docker executor's tests run against; chromium
# runs the dashboard's browser test; python3 runs the reference proof
# helper (scripts/prover) in its pure-Python mode against the Go verifier.
# Installed only when missing and we are root.
need=()
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v git >/dev/null 2>&1 || need+=(git)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v curl >/dev/null 2>&1 || need+=(curl ca-certificates)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# python3-torch (CPU build, with torch.distributed and gloo) runs the
# ranks of node's TestJobNetworkAllReduce, which all-reduce over a job's
# network (p2p/overlay); without it they exchange over a plain socket.
/usr/bin/python3 -c 'import torch.distributed' >/dev/null 2>&1 || need+=(python3-torch)
# wine64 runs the Windows binary in cmd/gpumesh's TestWindowsUnderWine
# (Linux x86_64 only). Go's Windows runtime needs bcryptprimitives.dll,
# which Wine has only since 9.0: under bookworm's Wine 8.0 the test builds
# a stand-in (cmd/gpumesh/testdata/bcryptprimitives.c) with MinGW.
if [ "$(uname -m)" = x86_64 ]; then
  command -v wine64 >/dev/null 2>&1 || command -v wine >/dev/null 2>&1 || need+=(wine64)
  command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64-win32)
fi
# nodejs (with npm) runs the js-libp2p conformance client of interop/js in
# cmd/gpumesh's TestJSConformanceClient; it needs Node 20 or newer (see below).
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    say "missing ${need[*]}: the tests that need them will skip and say so"
  fi
fi

# The dashboard's browser test (node/dashboard) drives Debian's chromium
# headless against a running node; with chromium installed,
# GPUMESH_REQUIRE_BROWSER=1 makes it fail, not skip, if it cannot start it.
if [ -x /usr/bin/chromium ]; then
  export GPUMESH_REQUIRE_BROWSER=1
else
  say "no /usr/bin/chromium (needs root and Debian's chromium package): the browser test will skip and say so"
fi

# The docker executor's tests (scheduler/executor) need an engine: when none
# answers and we are root, dockerd starts in the background with the vfs
# storage driver (it works on any filesystem, inside a container too), logs
# to $TMPDIR and is left running for the next run. No registry is needed:
# the tests build their FROM scratch image through the engine's API. With an
# engine up, GPUMESH_REQUIRE_DOCKER=1 makes those tests fail, not skip, if
# they cannot reach it.
docker_answers() { command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; }
if ! docker_answers && [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null 2>&1; then
  dockerd_log="${TMPDIR:-/tmp}/gpumesh-dockerd.log"
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    say "starting dockerd --storage-driver=vfs (log: $dockerd_log)"
    setsid dockerd --storage-driver=vfs >"$dockerd_log" 2>&1 </dev/null &
  fi
  for _ in $(seq 120); do docker_answers && break; sleep 0.5; done
fi
if docker_answers; then
  export GPUMESH_REQUIRE_DOCKER=1
else
  say "no docker engine answers (needs root, docker.io and a dockerd that starts; log: ${dockerd_log:-none}): the docker tests will skip and say so"
  [ -n "${dockerd_log:-}" ] && tail -n 20 "$dockerd_log" >&2 || true
fi

# The anchoring tests (ledger/anchor/evm) run against a real EVM dev chain
# over JSON-RPC: Foundry's anvil, a prebuilt binary from the npm registry
# (package @foundry-rs/anvil-linux-amd64, pinned and checked by its sha512
# below), cached in ~/.cache/gpumesh/anvil. It listens on 127.0.0.1 only,
# mines each transaction at once, logs to $TMPDIR and is left running for the
# next run (reused when it already answers). With a chain up,
# GPUMESH_REQUIRE_EVM=1 makes those tests fail, not skip, if they cannot
# reach it. GPUMESH_EVM_RPC set beforehand points them at another chain.
anvil_version=1.7.1
anvil_sha512=f979928726c46b17c2aebd0e514670604cb63a7619b79a471fd4f306d2efdfe56b2b43bf00db8d49511a86a3612879605fb191279f77f37a1f361c644562184e
anvil_port="${GPUMESH_ANVIL_PORT:-8545}"
anvil_dir="${XDG_CACHE_HOME:-$HOME/.cache}/gpumesh/anvil/$anvil_version"
evm_rpc="${GPUMESH_EVM_RPC:-http://127.0.0.1:$anvil_port}"
evm_answers() {
  curl -fsS -m 2 -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$evm_rpc" 2>/dev/null | grep -q '"result"'
}
if ! evm_answers && [ -z "${GPUMESH_EVM_RPC:-}" ]; then
  anvil_bin=$(command -v anvil 2>/dev/null || true)
  [ -z "$anvil_bin" ] && [ -x "$anvil_dir/anvil" ] && anvil_bin="$anvil_dir/anvil"
  if [ -z "$anvil_bin" ] && [ "$(uname -sm)" = "Linux x86_64" ] && command -v curl >/dev/null 2>&1; then
    say "fetching anvil $anvil_version from the npm registry"
    tgz=$(mktemp)
    if curl -fsSL -m 120 -o "$tgz" "https://registry.npmjs.org/@foundry-rs/anvil-linux-amd64/-/anvil-linux-amd64-$anvil_version.tgz" &&
      [ "$(sha512sum "$tgz" | cut -d' ' -f1)" = "$anvil_sha512" ]; then
      mkdir -p "$anvil_dir"
      tar -xzf "$tgz" -C "$anvil_dir" --strip-components=2 package/bin/anvil && chmod 755 "$anvil_dir/anvil"
      anvil_bin="$anvil_dir/anvil"
    else
      say "anvil download failed or its checksum did not match"
    fi
    rm -f "$tgz"
  fi
  if [ -n "$anvil_bin" ]; then
    anvil_log="${TMPDIR:-/tmp}/gpumesh-anvil.log"
    say "starting anvil on 127.0.0.1:$anvil_port (log: $anvil_log)"
    setsid "$anvil_bin" --host 127.0.0.1 --port "$anvil_port" >"$anvil_log" 2>&1 </dev/null &
    for _ in $(seq 100); do evm_answers && break; sleep 0.1; done
  fi
fi
if evm_answers; then
  export GPUMESH_EVM_RPC="$evm_rpc" GPUMESH_REQUIRE_EVM=1
else
  say "no EVM dev chain answers at $evm_rpc (needs curl, Linux x86_64 and the npm registry, or anvil on PATH; log: ${anvil_log:-none}): the chain tests will skip and say so"
  [ -n "${anvil_log:-}" ] && tail -n 20 "$anvil_log" >&2 || true
fi

# The js-libp2p conformance client (interop/js, docs/protocol/interop.md):
# its npm packages, pinned in package-lock.json, installed with `npm ci`
# from the npm registry when Node is v20 or newer. With them installed,
# GPUMESH_REQUIRE_NODE=1 makes TestJSConformanceClient fail, not skip, if
# it cannot run the client.
node_major=$(node --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p')
if [ -n "$node_major" ] && [ "$node_major" -ge 20 ] && command -v npm >/dev/null 2>&1; then
  say "node $(node --version): npm ci in interop/js"
  if (cd interop/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    export GPUMESH_REQUIRE_NODE=1
  else
    say "npm ci in interop/js failed: the js conformance test will skip and say so"
  fi
  # The settlement contracts (ledger/settle/contracts, docs/settlement.md):
  # solc (solcjs) and OpenZeppelin pinned in its package-lock.json; with them
  # installed, GPUMESH_REQUIRE_SOLC=1 makes TestArtifactsReproduce fail, not
  # skip, if recompiling does not give the committed bytecode exactly.
  say "npm ci in ledger/settle/contracts (solc, OpenZeppelin)"
  if (cd ledger/settle/contracts && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    export GPUMESH_REQUIRE_SOLC=1
  else
    say "npm ci in ledger/settle/contracts failed: the contracts' reproduction test will skip and say so"
  fi
else
  say "no Node v20 or newer with npm (found ${node_major:+v$node_major}${node_major:-none}): the js conformance test and the contracts' reproduction test will skip and say so"
fi

if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && PATH="$d:$PATH"; done
fi
command -v go >/dev/null 2>&1 || { echo "go not found: install Go 1.26 or newer" >&2; exit 1; }
# go.mod pins the Go version; an older local Go fetches it from the module proxy.
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

say "go $(go env GOVERSION): downloading modules"
go mod download

# Every release target cross-compiles on every run (nothing else of theirs
# can run here; Windows runs under Wine in the tests when wine64 is there).
say "cross-building every release target"
for target in linux/amd64 linux/arm64 windows/amd64 darwin/arm64 darwin/amd64; do
  CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build -o /dev/null ./cmd/gpumesh ||
    { echo "cross build for $target failed" >&2; exit 1; }
done
for goos in windows darwin; do
  GOOS=$goos go vet ./... || { echo "go vet for GOOS=$goos failed" >&2; exit 1; }
done
if ! command -v wine64 >/dev/null 2>&1 && ! command -v wine >/dev/null 2>&1; then
  say "no wine64 (needs root, Linux x86_64 and Debian's wine64 package): the Windows binary is cross-built only, TestWindowsUnderWine will skip and say so"
fi

say "lint: go vet, gofmt"
go vet ./...
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:" >&2; echo "$unformatted" >&2; exit 1
fi

say "tests"
go test -count=1 -timeout 20m ./...

# The race detector: every package's -short tests under -race, after the full
# suite above without it. Not the whole suite under -race: instrumented code
# runs several times slower (the CPU prover and the wasm compiler most), and
# the long many-node scenarios that -short skips would take the run past the
# CI time limit on 2 cores; the -short tests still drive every protocol,
# executor and store concurrently. -p 1 runs one package at a time so the
# race runtime's extra memory and CPU do not starve the loopback tests.
# `make test-race` runs the same command.
say "tests under the race detector (-race -short)"
go test -race -short -count=1 -p 1 -timeout 30m ./...

# Every fuzz target, briefly; scripts/fuzz.sh retries the toolchain's
# minimizing flake once and ends with a table of executions per target.
say "fuzzing each target briefly"
FUZZTIME="${FUZZTIME:-10s}" ./scripts/fuzz.sh
say "all tests passed"
