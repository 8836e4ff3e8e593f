#!/usr/bin/env bash
# scripts/release.sh (`make release`): cross-builds gpumesh for every target
# with its version, commit and build date stamped, and packs it:
#
#   dist/gpumesh_<v>_linux_amd64.tar.gz     (cgo: NVML; with gcc present)
#   dist/gpumesh_<v>_linux_arm64.tar.gz     (cgo only with aarch64-linux-gnu-gcc)
#   dist/gpumesh_<v>_windows_amd64.zip      (gpumesh.exe, double-click to run)
#   dist/gpumesh_<v>_darwin_arm64.tar.gz    (Apple silicon)
#   dist/gpumesh_<v>_darwin_amd64.tar.gz    (Intel Macs)
#   dist/gpumesh_<v>_amd64.deb, _arm64.deb  (binary + systemd unit, via nfpm)
#   dist/SHA256SUMS                         (sha256sum -c SHA256SUMS checks them)
#
# and the bare binaries under dist/bin/<os>_<arch>/. VERSION (default: git
# describe, or 0.1.0-dev+g<commit> without a tag), COMMIT and DATE override
# what is stamped. RELEASE_TARGETS (e.g. "windows/amd64") builds fewer
# targets; RELEASE_DEB=0 skips the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

GO="${GO:-go}"
NFPM_VERSION=v2.45.2 # served by the module proxy here and builds with our Go
# A tree without tags has no describe: 0.1.0-dev+g<commit>, since
# versions start with a digit (Debian requires it).
VERSION="${VERSION:-$(git describe --tags --dirty 2>/dev/null ||
  echo "0.1.0-dev+g$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")}"
VERSION="${VERSION#v}"
COMMIT="${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
# The commit's date, not the clock's, so a rebuild of one commit stamps the
# same date (SOURCE_DATE_EPOCH, when set, wins).
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
  DATE="${DATE:-$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)}"
else
  DATE="${DATE:-$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)}"
fi
TARGETS="${RELEASE_TARGETS:-linux/amd64 linux/arm64 windows/amd64 darwin/arm64 darwin/amd64}"
DIST=dist
LDFLAGS="-s -w -X github.com/gpumesh/gpumesh/node.Version=$VERSION -X github.com/gpumesh/gpumesh/cmd/gpumesh/cli.Commit=$COMMIT -X github.com/gpumesh/gpumesh/cmd/gpumesh/cli.BuildDate=$DATE"

rm -rf "$DIST"
mkdir -p "$DIST/bin"

# cgo_for says whether a target is built with cgo: Linux only (NVML needs
# it, see gpu/nvml.go), and only with a C compiler for that target.
cgo_for() {
  case "$1" in
    linux/amd64) [ "$("$GO" env GOHOSTARCH)" = amd64 ] && command -v gcc >/dev/null 2>&1 && echo "1 gcc" && return ;;
    linux/arm64) command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && echo "1 aarch64-linux-gnu-gcc" && return ;;
  esac
  echo "0"
}

build() {
  local os=${1%/*} arch=${1#*/} exe=gpumesh
  [ "$os" = windows ] && exe=gpumesh.exe
  local out="$DIST/bin/${os}_${arch}/$exe"
  read -r cgo cc < <(cgo_for "$1")
  say "build $os/$arch (cgo=$cgo)"
  CGO_ENABLED=$cgo CC="${cc:-}" GOOS=$os GOARCH=$arch "$GO" build -trimpath -buildvcs=false \
    -ldflags "$LDFLAGS" -o "$out" ./cmd/gpumesh
  if [ "$cgo" = 0 ] && [ "$os" = linux ]; then say "  $os/$arch without cgo: no NVML in this binary (CPU only); install a cross gcc to include it"; fi
}

pack() {
  local os=${1%/*} arch=${1#*/} exe=gpumesh ext=tar.gz
  [ "$os" = windows ] && exe=gpumesh.exe ext=zip
  local name="gpumesh_${VERSION}_${os}_${arch}"
  "$GO" run ./scripts/archive -o "$DIST/$name.$ext" -dir "$name" -exec "$exe" -date "$DATE" \
    "$DIST/bin/${os}_${arch}/$exe" README.md docs/install.md
}

deb() {
  local arch=$1 bin="$DIST/bin/linux_$1/gpumesh"
  [ -f "$bin" ] || return 0
  mkdir -p "$DIST/deb"
  cp "$bin" "$DIST/deb/gpumesh"
  sed 's#/usr/local/bin/gpumesh#/usr/bin/gpumesh#g' packaging/gpumesh.service >"$DIST/deb/gpumesh.service"
  say "deb $arch (nfpm $NFPM_VERSION)"
  # '~' sorts a dev build (git describe's 1.2.3-4-gabc) before its release.
  VERSION="$(printf '%s' "$VERSION" | sed 's/-/~/g')" DEB_ARCH=$arch \
    "$GO" run "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION" package \
    --config packaging/nfpm.yaml --packager deb --target "$DIST/gpumesh_${VERSION}_${arch}.deb" >/dev/null
  rm -rf "$DIST/deb"
}

for t in $TARGETS; do build "$t"; done
for t in $TARGETS; do pack "$t"; done
if [ "${RELEASE_DEB:-1}" = 1 ]; then
  for t in $TARGETS; do case "$t" in linux/*) deb "${t#*/}" ;; esac; done
fi

(cd "$DIST" && sha256sum -- *.tar.gz *.zip *.deb 2>/dev/null >SHA256SUMS)
say "artifacts in $DIST/ (version $VERSION, commit ${COMMIT:0:12}, built $DATE):"
(cd "$DIST" && ls -l -- *.tar.gz *.zip *.deb SHA256SUMS 2>/dev/null | awk '{printf "    %10d  %s\n", $5, $9}')
say "binary sizes:"
for t in $TARGETS; do
  f=$(ls "$DIST/bin/${t%/*}_${t#*/}"/gpumesh* 2>/dev/null | head -1)
  if [ -n "$f" ]; then stat -c %s "$f" | awk -v t="$t" '{printf "    %-14s %6.1f MiB\n", t, $1 / 1048576}'; fi
done
