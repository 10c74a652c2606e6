#!/usr/bin/env bash
# The test command: build the package (with vignettes) and run
# R CMD check --as-cran on the tarball, outside the source tree.
#
#   bash tools/check.sh
#
# Prints every NOTE, WARNING and ERROR of the check, then a line
#   tests: N passed, M failed
# from testthat's summary. Exits non-zero on any ERROR or WARNING.
# The check directory is kept and its path printed; set BETANMF_CHECK_DIR to
# choose it (it must not be inside the repository).
#
# _R_CHECK_CRAN_INCOMING_REMOTE_=false and --no-manual: the build and CI
# machines reach the package registries only (no CRAN incoming lookups) and
# have no LaTeX (no PDF manual). _R_CHECK_SYSTEM_CLOCK_=false: the check of
# future file timestamps compares with the local clock instead of asking an
# internet time server (which would only yield "unable to verify current
# time").
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash tools/install-deps.sh

work="${BETANMF_CHECK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/betanmf-check.XXXXXX")}"
mkdir -p "$work"
work=$(cd "$work" && pwd)
case "$work/" in
  "$repo"/*) echo "check.sh: BETANMF_CHECK_DIR must be outside the repository" >&2; exit 2 ;;
esac
echo "check.sh: working in $work"

# Build from a copy so that nothing (objects, vignette outputs) lands in the
# working tree; .Rbuildignore still applies inside R CMD build.
rm -rf "$work/src"
mkdir -p "$work/src/betanmf"
tar -C "$repo" --exclude=./.git --exclude=./output --exclude='./*.Rcheck' \
    --exclude='./*.tar.gz' -cf - . | tar -C "$work/src/betanmf" -xf -

cd "$work"
rm -f betanmf_*.tar.gz
echo "check.sh: R CMD build"
if ! R CMD build src/betanmf; then
  echo "check.sh: FAILED: R CMD build (see above; vignettes are built here)" >&2
  exit 1
fi
tarball=$(ls -t betanmf_*.tar.gz | head -n 1)

echo "check.sh: R CMD check --as-cran --no-manual $tarball"
rm -rf betanmf.Rcheck
set +e
_R_CHECK_CRAN_INCOMING_REMOTE_=false _R_CHECK_SYSTEM_CLOCK_=false \
  R CMD check --as-cran --no-manual "$tarball"
check_rc=$?
set -e

log="$work/betanmf.Rcheck/00check.log"
if [ ! -f "$log" ]; then
  echo "check.sh: no 00check.log (R CMD check exited with $check_rc)" >&2
  exit 1
fi

# Every check item that ended in NOTE, WARNING or ERROR, with its details.
echo
echo "==== NOTEs, WARNINGs and ERRORs (from $log) ===="
awk '
  /^\* / { show = ($0 ~ /(NOTE|WARNING|ERROR)$/) }
  show   { print }
' "$log"
status_line=$(grep -E '^Status:' "$log" | tail -n 1 || true)
echo "${status_line:-Status: (none; the check stopped early)}"

# testthat summary: the last "[ FAIL x | WARN y | SKIP z | PASS w ]" line.
tests_dir="$work/betanmf.Rcheck/tests"
rout=""
for f in "$tests_dir/testthat.Rout.fail" "$tests_dir/testthat.Rout"; do
  if [ -f "$f" ]; then rout="$f"; break; fi
done
tests_failed=0
if [ -n "$rout" ]; then
  summary=$(grep -E '\[ FAIL [0-9]+ \| WARN [0-9]+ \| SKIP [0-9]+ \| PASS [0-9]+ \]' "$rout" | tail -n 1 || true)
  if [ -n "$summary" ]; then
    n_fail=$(sed -E 's/.*FAIL ([0-9]+).*/\1/' <<<"$summary")
    n_pass=$(sed -E 's/.*PASS ([0-9]+).*/\1/' <<<"$summary")
    echo "tests: ${n_pass} passed, ${n_fail} failed"
    if [ "$n_fail" -gt 0 ]; then tests_failed=1; fi
  else
    echo "check.sh: no testthat summary line in $rout" >&2
    tests_failed=1
  fi
  if [ "$rout" = "$tests_dir/testthat.Rout.fail" ]; then
    tests_failed=1
    echo "---- tail of $rout ----"
    tail -n 60 "$rout"
    echo "----"
  fi
else
  echo "check.sh: tests did not run (no $tests_dir/testthat.Rout)" >&2
fi

fail=0
if [ -z "$status_line" ] || grep -qE 'ERROR|WARNING' <<<"$status_line"; then fail=1; fi
if [ "$check_rc" -ne 0 ] || [ "$tests_failed" -ne 0 ]; then fail=1; fi
if [ "$fail" -ne 0 ]; then
  echo "check.sh: FAILED (R CMD check exit $check_rc; ${status_line:-no status})" >&2
  exit 1
fi
echo "check.sh: OK ($status_line)"
