#!/usr/bin/env bash
# Benchmark betanmf against RcppML and NMF (see bench/bench.R for what is
# measured). Takes about 10-15 minutes on 2 cores with the reference BLAS.
#
#   bash bench/run.sh              # full run
#   BENCH_QUICK=1 bash bench/run.sh  # smoke test, seconds
#
# The peers (RcppML, NMF) are installed for the benchmark only: Debian's
# r-cran-rcppml / r-cran-nmf through apt when root, else from CRAN into the
# private library. betanmf is installed from this repository into that private
# library (BENCH_LIB, default $TMPDIR/betanmf-bench-lib), never into the
# user's or the site library.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
lib="${BENCH_LIB:-${TMPDIR:-/tmp}/betanmf-bench-lib}"
mkdir -p "$lib"
export R_LIBS="$lib${R_LIBS:+:$R_LIBS}"

bash tools/install-deps.sh

missing=$(Rscript --vanilla -e 'p <- c("RcppML", "NMF"); cat(p[!vapply(p, requireNamespace, logical(1), quietly = TRUE)])')
if [ -n "$missing" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  pkgs=""
  for p in $missing; do pkgs="$pkgs r-cran-$(tr '[:upper:]' '[:lower:]' <<<"$p")"; done
  echo "bench: apt-get install$pkgs" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null ||
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null; } ||
    echo "bench: apt could not install$pkgs; trying CRAN" >&2
  missing=$(Rscript --vanilla -e 'p <- c("RcppML", "NMF"); cat(p[!vapply(p, requireNamespace, logical(1), quietly = TRUE)])')
fi
if [ -n "$missing" ]; then
  echo "bench: installing from CRAN into $lib: $missing" >&2
  Rscript --vanilla -e 'install.packages(commandArgs(TRUE)[-1], lib = commandArgs(TRUE)[1], repos = "https://cloud.r-project.org", quiet = TRUE)' "$lib" $missing
fi

src=$(mktemp -d "${TMPDIR:-/tmp}/betanmf-bench-src.XXXXXX")
trap 'rm -rf "$src"' EXIT
tar -C "$repo" --exclude=./.git --exclude=./output --exclude='./*.Rcheck' \
    --exclude='./*.tar.gz' --exclude='./src/*.o' --exclude='./src/*.so' -cf - . | tar -C "$src" -xf -
echo "bench: installing betanmf into $lib" >&2
R CMD INSTALL --preclean --library="$lib" "$src" >"$src/install.log" 2>&1 || { cat "$src/install.log" >&2; exit 1; }

Rscript --vanilla -e '.libPaths(c(commandArgs(TRUE)[1], .libPaths())); source("bench/bench.R")' "$lib"
