#!/usr/bin/env bash
# Benchmark betanmf against RcppML and NMF (see bench/bench.R for what is
# measured) and bench/targets.R (the performance targets against the peers, set
# in issue 6). bench.R takes about 10-15 minutes on 2 cores with the reference
# BLAS, targets.R about 30-35 (5 interleaved repeats).
#
#   bash bench/run.sh                      # everything: bench.R, then targets.R
#   BENCH_QUICK=1 bash bench/run.sh        # smoke test on small data
#   BENCH_ONLY=targets bash bench/run.sh   # only the performance targets (bench/targets.R;
#                                          # BENCH_ONLY=issue6, its old name, still works)
#   BENCH_ONLY=bench bash bench/run.sh     # only the first yardstick (bench/bench.R)
#   BENCH_ONLY=mu_start bash bench/run.sh  # MU's iterations from its two NNDSVD starts (bench/mu_start.R)
#   BENCH_ONLY=sparse_kl bash bench/run.sh # sparse beta = 1: MU (the old default) vs CD (bench/sparse_kl.R)
#   BENCH_ONLY=minvol_cost bash bench/run.sh
#                                          # minimum volume's iteration against MU's (bench/minvol_cost.R)
#   BENCH_ONLY=conv bash bench/run.sh      # convolutive NMF's iteration on sparse data at three
#                                          # densities (bench/conv.R)
#   BENCH_OLD=<rev> BENCH_ONLY=commits bash bench/run.sh
#                                          # commit <rev> against the work tree, interleaved (bench/commits.R)
#   BENCH_OLD=<rev> BENCH_ONLY=survey bash bench/run.sh
#                                          # the rank surveys of issue 28, <rev> against the work tree,
#                                          # interleaved (bench/survey.R)
#   BENCH_OLD=<rev> BENCH_ONLY=overhead bash bench/run.sh
#                                          # the per-call overhead of small fits, <rev> against the
#                                          # work tree, interleaved (bench/overhead.R)
#   BENCH_ONLY=starts bash bench/run.sh    # NNDSVDa, random and exact-SVD NNDSVDa starts against the
#                                          # time to 1 % and 0.1 % of the best loss (bench/starts.R)
#   BENCH_ONLY=anchor bash bench/run.sh    # the anchor table of issue 28 against RcppML 1.0, RcppML
#                                          # 0.3.7, NMF and scikit-learn (bench/anchor.R), with the
#                                          # reference BLAS and then with OpenBLAS as R's BLAS
#
# BENCH_ONLY=anchor installs RcppML 1.0 from BENCH_RCPPML1 (default
# ../shared/peers/RcppML_1.0.0.tar.gz, beside the repository) into a library
# of its own ($BENCH_LIB-rcppml1: CRAN's 0.3.7 has the same name), with
# r-cran-rcpp and r-cran-rcppeigen through apt when root and missing. The
# OpenBLAS table (BENCH_ANCHOR_BLAS, default "reference openblas"; apt
# installs libopenblas0-pthread when root and missing, after pinning the
# system's BLAS and LAPACK alternatives to what they are, so that installing
# it switches nothing) puts OpenBLAS's libblas.so.3 first in R's library path
# (R_LD_LIBRARY_PATH) for the benchmark's processes only: the other users of
# the machine keep the system's BLAS. BENCH_BLAS_SWITCH=system instead sets
# the system alternative (update-alternatives --set) for the run and restores
# the original on exit, also on failure or interrupt.
#
# bench/targets.R measures every target of issue 6 (four data sets; betanmf vs
# RcppML, NMF brunet and scikit-learn MU; beta = 0 / 1.5; sparse KL scaling in
# nnz; the machine's FMA peak from bench/peak.c, compiled into a temporary
# directory with -O2 -mavx2 -mfma; a perf profile when perf is installed;
# threads = 2; a 30-restart rank survey; peak RSS of a sparse fit). It takes
# about 30-35 minutes. scikit-learn is used when BENCH_PYTHON (default
# /usr/bin/python3) imports sklearn; as root on Debian, python3-sklearn is
# installed through apt for the benchmark if missing (BENCH_SKLEARN=0: never).
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

only="${BENCH_ONLY:-all}"
if [ "$only" = issue6 ]; then only=targets; fi # the old name of targets.R
case "$only" in all|bench|targets|mu_start|sparse_kl|minvol_cost|conv|commits|survey|overhead|anchor|starts) ;; *) echo "bench: BENCH_ONLY must be all, bench, targets, mu_start, sparse_kl, minvol_cost, conv, commits, survey, overhead, anchor or starts" >&2; exit 2;; esac
if { [ "$only" = commits ] || [ "$only" = survey ] || [ "$only" = overhead ]; } && [ -z "${BENCH_OLD:-}" ]; then
  echo "bench: BENCH_ONLY=$only needs BENCH_OLD=<git revision> to compare the work tree with" >&2; exit 2
fi
py="${BENCH_PYTHON:-/usr/bin/python3}"
if { [ "$only" = all ] || [ "$only" = targets ] || [ "$only" = anchor ]; } && [ "${BENCH_SKLEARN:-1}" != 0 ] && ! "$py" -c 'import sklearn' >/dev/null 2>&1 &&
   [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$py" = /usr/bin/python3 ]; then
  echo "bench: apt-get install python3-sklearn (for the scikit-learn comparison)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-sklearn >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-sklearn >/dev/null 2>&1; } ||
    echo "bench: python3-sklearn not installed; the sklearn rows are skipped" >&2
fi

src=$(mktemp -d "${TMPDIR:-/tmp}/betanmf-bench-src.XXXXXX")
trap 'rm -rf "$src"' EXIT
tar -C "$repo" --exclude=./.git --exclude=./output --exclude='./*.Rcheck' \
    --exclude='./*.tar.gz' --exclude='./src/*.o' --exclude='./src/*.so' -cf - . | tar -C "$src" -xf -
echo "bench: installing betanmf into $lib" >&2
R CMD INSTALL --preclean --library="$lib" "$src" >"$src/install.log" 2>&1 || { cat "$src/install.log" >&2; exit 1; }

if [ "$only" = mu_start ]; then
  Rscript --vanilla -e '.libPaths(c(commandArgs(TRUE)[1], .libPaths())); source("bench/mu_start.R")' "$lib"
  exit 0
fi
if [ "$only" = commits ] || [ "$only" = survey ] || [ "$only" = overhead ]; then
  # the old build from `git archive`, into a library of its own
  old_lib="$lib-old"
  old_src=$(mktemp -d "${TMPDIR:-/tmp}/betanmf-bench-old.XXXXXX")
  trap 'rm -rf "$src" "$old_src"' EXIT
  mkdir -p "$old_lib"
  git -C "$repo" archive "$BENCH_OLD" | tar -C "$old_src" -xf -
  echo "bench: installing betanmf at $BENCH_OLD into $old_lib" >&2
  R CMD INSTALL --preclean --library="$old_lib" "$old_src" >"$old_src/install.log" 2>&1 || { cat "$old_src/install.log" >&2; exit 1; }
  BENCH_OLD_DESC="$(git -C "$repo" log -1 --format='%h %s' "$BENCH_OLD")" \
  BENCH_NEW_DESC="work tree at $(git -C "$repo" log -1 --format='%h %s')$(git -C "$repo" diff --quiet || echo ' (modified)')" \
    Rscript --vanilla "bench/$only.R" "$old_lib" "$lib"
  exit 0
fi
if [ "$only" = anchor ]; then
  as_root_apt() { # as_root_apt <package>...: install through apt when root, else say what is missing
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "bench: apt-get install $*" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; }
    else
      echo "bench: needs $* (not root: install them first)" >&2; return 1
    fi
  }
  peer_lib="$lib-rcppml1"
  mkdir -p "$peer_lib"
  if [ ! -f "$peer_lib/RcppML/DESCRIPTION" ]; then
    if ! Rscript --vanilla -e 'q(status = !all(vapply(c("Rcpp", "RcppEigen"), requireNamespace, logical(1), quietly = TRUE)))'; then
      as_root_apt r-cran-rcpp r-cran-rcppeigen || exit 1
    fi
    tarball="${BENCH_RCPPML1:-$repo/../shared/peers/RcppML_1.0.0.tar.gz}"
    echo "bench: installing RcppML 1.0 from $tarball into $peer_lib" >&2
    R CMD INSTALL --library="$peer_lib" "$tarball" >"$src/rcppml1.log" 2>&1 || { tail -30 "$src/rcppml1.log" >&2; exit 1; }
  fi
  for blas in ${BENCH_ANCHOR_BLAS:-reference openblas}; do
    if [ "$blas" = reference ]; then
      Rscript --vanilla bench/anchor.R "$peer_lib" # R_LIBS (exported above) puts $lib first
      echo
      continue
    fi
    [ "$blas" = openblas ] || { echo "bench: BENCH_ANCHOR_BLAS knows reference and openblas, not $blas" >&2; exit 2; }
    arch_dir=/usr/lib/x86_64-linux-gnu
    ob="$arch_dir/openblas-pthread/libblas.so.3"
    alt=libblas.so.3-x86_64-linux-gnu
    if [ ! -e "$ob" ]; then
      if [ "$(id -u)" -eq 0 ] && command -v update-alternatives >/dev/null 2>&1; then
        # pin the alternatives to their current values first: installing
        # OpenBLAS (priority 100) would otherwise switch every process on the machine
        for a in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
          cur=$(update-alternatives --query "$a" 2>/dev/null | sed -n 's/^Value: //p')
          [ -n "$cur" ] && update-alternatives --set "$a" "$cur" >/dev/null
        done
      fi
      as_root_apt libopenblas0-pthread || exit 1
    fi
    if [ "${BENCH_BLAS_SWITCH:-process}" = system ]; then
      [ "$(id -u)" -eq 0 ] || { echo "bench: BENCH_BLAS_SWITCH=system needs root" >&2; exit 1; }
      orig=$(update-alternatives --query "$alt" | sed -n 's/^Value: //p')
      orig_status=$(update-alternatives --query "$alt" | sed -n 's/^Status: //p')
      restore_blas() {
        if [ "$orig_status" = auto ]; then update-alternatives --auto "$alt" >/dev/null; else update-alternatives --set "$alt" "$orig" >/dev/null; fi
        echo "bench: $alt restored to $(update-alternatives --query "$alt" | sed -n 's/^Value: //p')" >&2
      }
      trap 'restore_blas; rm -rf "$src"' EXIT
      trap 'exit 130' INT TERM
      update-alternatives --set "$alt" "$ob" >/dev/null
      Rscript --vanilla bench/anchor.R "$peer_lib"
      restore_blas
      trap 'rm -rf "$src"' EXIT
    else
      # OpenBLAS's libblas.so.3 first in the library path of this run's processes only
      # (R's etc/ldpaths puts R_LD_LIBRARY_PATH before LD_LIBRARY_PATH; python inherits it)
      ob_dir="$src/openblas"
      mkdir -p "$ob_dir"
      ln -sf "$ob" "$ob_dir/libblas.so.3"
      R_LD_LIBRARY_PATH="$ob_dir:$(R RHOME)/lib:$arch_dir" LD_LIBRARY_PATH="$ob_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        Rscript --vanilla bench/anchor.R "$peer_lib"
    fi
    echo
  done
  exit 0
fi
if [ "$only" = starts ]; then
  Rscript --vanilla bench/starts.R "$lib"
  exit 0
fi
if [ "$only" = sparse_kl ]; then
  Rscript --vanilla -e '.libPaths(c(commandArgs(TRUE)[1], .libPaths())); source("bench/sparse_kl.R")' "$lib"
  exit 0
fi
if [ "$only" = minvol_cost ]; then
  Rscript --vanilla -e '.libPaths(c(commandArgs(TRUE)[1], .libPaths())); source("bench/minvol_cost.R")' "$lib"
  exit 0
fi
if [ "$only" = conv ]; then
  Rscript --vanilla -e '.libPaths(c(commandArgs(TRUE)[1], .libPaths())); source("bench/conv.R")' "$lib"
  exit 0
fi
if [ "$only" != targets ]; then
  Rscript --vanilla -e '.libPaths(c(commandArgs(TRUE)[1], .libPaths())); source("bench/bench.R")' "$lib"
  echo
fi
if [ "$only" != bench ]; then
  Rscript --vanilla -e '.libPaths(c(commandArgs(TRUE)[1], .libPaths())); source("bench/targets.R")' "$lib"
fi
