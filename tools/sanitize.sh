#!/usr/bin/env bash
# Build betanmf with AddressSanitizer + UBSan into a private library and run
# tools/valgrind-script.R against it; exit non-zero on any sanitizer report.
#
#   tools/sanitize.sh [WORKDIR]      (run from the package root; `make sanitize`)
#
# The compiler flags go through a private Makevars file passed as
# R_MAKEVARS_USER, so ~/.R/Makevars is neither read nor written.  R itself is
# not instrumented, so the ASan runtime is preloaded (it must come first in
# the process).  Leak detection is off: R keeps memory alive until exit by
# design.  UBSan is built with -fno-sanitize-recover, so the first report
# aborts the run.
set -euo pipefail

R=${R:-R}
root=$(pwd)
[ -f "$root/DESCRIPTION" ] && [ -f "$root/tools/valgrind-script.R" ] || {
  echo "sanitize.sh: run from the betanmf package root" >&2; exit 2; }
work=${1:-${TMPDIR:-/tmp}/betanmf-harden-$(id -u)-$(printf '%s' "$root" | cksum | cut -d' ' -f1)}/sanitize
rm -rf "$work" && mkdir -p "$work/pkg" "$work/lib"

flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
cat > "$work/Makevars" <<MK
CFLAGS = $flags
CXXFLAGS = $flags
LDFLAGS = -fsanitize=address,undefined
MK

# build from a copy: a stale object file from an ordinary build must not be
# linked into the instrumented library
tar -C "$root" --exclude=.git --exclude='src/*.o' --exclude='src/*.so' --exclude='src/*.dll' \
    --exclude='*.Rcheck' --exclude='*.tar.gz' -cf - . | tar -C "$work/pkg" -xf -
R_MAKEVARS_USER="$work/Makevars" "$R" CMD INSTALL --preclean --no-multiarch --no-test-load \
    --library="$work/lib" "$work/pkg"

so="$work/lib/betanmf/libs/betanmf.so"
# (grep reads all of nm's output: with -q it stops at the match, nm dies of
# SIGPIPE, and pipefail turns an instrumented library into a failure)
nm -D "$so" | grep __asan_init >/dev/null || { echo "sanitize.sh: $so is not instrumented" >&2; exit 1; }

cc=$("$R" CMD config CC | cut -d' ' -f1)
libasan=$("$cc" -print-file-name=libasan.so)
[ -e "$libasan" ] || { echo "sanitize.sh: libasan not found (install the gcc ASan runtime)" >&2; exit 1; }

log="$work/sanitizer"
status=0
R_LIBS="$work/lib" LD_PRELOAD="$libasan" \
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:exitcode=1:log_path=$log" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$log" \
  "$R" --vanilla --no-echo -f "$root/tools/valgrind-script.R" || status=$?
# reports go to log_path.<pid> (R's own stderr is not always where they land)
if compgen -G "$log.*" > /dev/null; then
  cat "$log".* >&2
  echo "sanitize.sh: sanitizer report(s) above" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "sanitize.sh: the script failed (exit $status)" >&2
  exit "$status"
fi
echo "sanitize.sh: no AddressSanitizer or UBSan report"
