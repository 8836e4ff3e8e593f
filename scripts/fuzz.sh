#!/usr/bin/env bash
# Runs every fuzz target of the module (`make fuzz`, and the brief pass of
# `make test`) for FUZZTIME each, then prints a summary table: package,
# target, seconds fuzzed, executions, new interesting inputs, result.
#
# Environment:
#   FUZZTIME       how long each target runs (go test -fuzztime); default 10s
#   FUZZ_REPORT    where the summary is written as JSON; default
#                  fuzz-report.json in $TMPDIR (/tmp when TMPDIR is unset)
#   FUZZ_PKGS      the packages to fuzz (go list patterns); default ./...
#   FUZZ_PARALLEL  fuzzing workers per target (go test -parallel); default
#                  GOMAXPROCS
#
# The go command sometimes ends a fuzz run whose time ran out while it was
# minimizing a new interesting input with "context deadline exceeded" and
# no failing input (a toolchain flake, not a crash): such a run is tried
# again, up to three tries in all (on a loaded machine it comes about once
# per pass of 60 targets). A real failure writes its input under testdata/fuzz and fails.
# Exits 1 when any target failed (or its package did not build).
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-10s}"
report="${FUZZ_REPORT:-${TMPDIR:-/tmp}/fuzz-report.json}"
module=$(go list -m)

say() { printf '==> %s\n' "$*"; }

# One row per target, fields separated by tabs:
# package target seconds execs new total result tries failing-input
rows=()

# fuzz_one runs target $2 of package $1 and appends its row.
fuzz_one() {
  local pkg=$1 t=$2 out rc try last secs execs new total input result
  local args=(-run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime")
  [ -n "${FUZZ_PARALLEL:-}" ] && args+=(-parallel "$FUZZ_PARALLEL")
  out=$(mktemp)
  for try in 1 2 3; do
    say "fuzz $pkg $t ($fuzztime)"
    if go test "${args[@]}" "$pkg" 2>&1 | tee "$out"; then rc=0; else rc=$?; fi
    if [ "$rc" != 0 ] && [ "$try" -lt 3 ] && grep -q "context deadline exceeded" "$out" && ! grep -q "Failing input written" "$out"; then
      say "$t: the fuzz run timed out while minimizing, not a failure: try $((try + 1)) of 3"
      continue
    fi
    break
  done
  # The last progress line holds the totals, e.g.
  # fuzz: elapsed: 10s, execs: 123456 (12345/sec), new interesting: 3 (total: 40)
  last=$(grep -E '^fuzz: elapsed: [0-9]+s, execs: [0-9]+ ' "$out" | tail -n 1 || true)
  secs=0 execs=0 new=0 total=0
  if [[ $last =~ elapsed:\ ([0-9]+)s,\ execs:\ ([0-9]+)\ .*new\ interesting:\ ([0-9]+)\ \(total:\ ([0-9]+)\) ]]; then
    secs=${BASH_REMATCH[1]} execs=${BASH_REMATCH[2]} new=${BASH_REMATCH[3]} total=${BASH_REMATCH[4]}
  fi
  input=$(sed -n 's/.*Failing input written to \([^ ]*\).*/\1/p' "$out" | tail -n 1)
  [ -n "$input" ] && input=".${pkg#"$module"}/$input" # relative to the module, not the package
  result=ok
  [ "$rc" = 0 ] || result=FAIL
  rows+=("$pkg"$'\t'"$t"$'\t'"$secs"$'\t'"$execs"$'\t'"$new"$'\t'"$total"$'\t'"$result"$'\t'"$try"$'\t'"$input")
  rm -f "$out"
}

# A package whose tests do not build cannot list its targets: it is one
# failed row, so a broken build never passes as "no targets".
pkgs=$(go list ${FUZZ_PKGS:-./...})
for pkg in $pkgs; do
  if ! list=$(go test -list '^Fuzz' "$pkg" 2>&1); then
    printf '%s\n' "$list" >&2
    rows+=("$pkg"$'\t'"(build)"$'\t0\t0\t0\t0\tFAIL\t1\t')
    continue
  fi
  for t in $(printf '%s\n' "$list" | grep '^Fuzz' || true); do
    fuzz_one "$pkg" "$t"
  done
done

# The table, and the report as JSON.
table=$(printf 'PACKAGE\tTARGET\tSECONDS\tEXECS\tNEW\tRESULT\n'
  for r in ${rows[@]+"${rows[@]}"}; do
    IFS=$'\t' read -r pkg t secs execs new total result tries input <<<"$r"
    printf '.%s\t%s\t%s\t%s\t%s\t%s\n' "${pkg#"$module"}" "$t" "$secs" "$execs" "$new" "$result"
  done)
printf '%s\n' "$table" | awk -F'\t' '
  { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
  END { for (r = 1; r <= NR; r++) {
    line = ""
    for (i = 1; i <= 6; i++) line = line sprintf(i < 3 ? "%-" w[i] "s  " : "%" w[i] "s  ", cell[r, i])
    sub(/ +$/, "", line); print line } }'
failed=0
json=""
for r in ${rows[@]+"${rows[@]}"}; do
  IFS=$'\t' read -r pkg t secs execs new total result tries input <<<"$r"
  [ -n "$json" ] && json+=","
  json+=$(printf '\n    {"package": "%s", "target": "%s", "seconds": %s, "execs": %s, "new_interesting": %s, "corpus": %s, "result": "%s", "tries": %s, "failing_input": "%s"}' \
    "$pkg" "$t" "$secs" "$execs" "$new" "$total" "$result" "$tries" "$input")
  if [ "$result" != ok ]; then
    failed=$((failed + 1))
    [ -n "$input" ] && say "$pkg $t: failing input in $input"
  fi
done
mkdir -p "$(dirname "$report")"
printf '{\n  "fuzztime": "%s",\n  "targets": [%s\n  ]\n}\n' "$fuzztime" "$json" >"$report"
say "fuzz report: $report (${#rows[@]} targets, $failed failed)"
[ "$failed" = 0 ]
