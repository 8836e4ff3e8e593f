#!/usr/bin/env bash
# The README's test command (`make test`): installs what the tests need when
# it can, then runs every test, the brief fuzzing pass and the linters.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

# Debian packages the tests use: unshare (util-linux) and ip (iproute2) put
# the mDNS test in a private network namespace so multicast never leaves
# this machine. Installed only when missing and we are root.
need=()
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v git >/dev/null 2>&1 || need+=(git)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    say "missing ${need[*]}: the tests that need them will skip and say so"
  fi
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

say "lint: go vet, gofmt"
go vet ./...
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:" >&2; echo "$unformatted" >&2; exit 1
fi

say "tests"
go test -count=1 -timeout 20m ./...

say "fuzzing each target briefly"
for pkg in $(go list ./...); do
  for t in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    go test -run '^$' -fuzz "^$t\$" -fuzztime "${FUZZTIME:-10s}" "$pkg"
  done
done
say "all tests passed"
