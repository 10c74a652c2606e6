#!/usr/bin/env bash
# Install everything betanmf, its tests, vignettes and R CMD check need.
#
#   bash tools/install-deps.sh
#
# As root (or with password-less sudo) on Debian/Ubuntu: Debian's prebuilt
# r-cran-* packages and pandoc through apt (seconds, built for the system R).
# Otherwise, or for whatever apt could not provide: install.packages() from
# CRAN into the first writable library. Idempotent: when everything is already
# there it does nothing (BETANMF_DEPS_FORCE=1 goes through apt anyway). Exits
# non-zero, naming them, if required packages are still missing at the end.
set -euo pipefail

# R packages the package, tests, vignettes and check need.
required_r="ggplot2 knitr rmarkdown roxygen2 future future.apply progressr clue pkgbuild Matrix testthat"
# Optional Suggests (input classes from Bioconductor, and DelayedArray,
# HDF5Array and SingleCellExperiment for data fitted in blocks; NMF and RcppML, whose
# like-named functions the tests load next to betanmf's; future.batchtools and
# batchtools, the cluster backend of checkpointed sweeps); never fatal.
optional_r="Biobase SummarizedExperiment DelayedArray HDF5Array rhdf5 SingleCellExperiment NMF RcppML future.batchtools batchtools"

apt_required="r-cran-ggplot2 r-cran-knitr r-cran-rmarkdown r-cran-roxygen2 r-cran-future
  r-cran-future.apply r-cran-progressr r-cran-clue r-cran-pkgbuild r-cran-matrix
  r-cran-testthat pandoc"
# Optional: Bioconductor input classes (and the DelayedMatrix / HDF5 data
# fitted in blocks, SingleCellExperiment results); NMF and RcppML (tests of betanmf next
# to them); future.batchtools and batchtools (checkpointed sweeps on a
# scheduler); qpdf and tidy let R CMD check --as-cran run its PDF-size and
# HTML-validation checks instead of noting they were skipped.
apt_optional="r-bioc-biobase r-bioc-summarizedexperiment r-bioc-delayedarray
  r-bioc-hdf5array r-bioc-rhdf5 r-bioc-singlecellexperiment r-cran-nmf r-cran-rcppml
  r-cran-future.batchtools r-cran-batchtools qpdf tidy"

cran="${BETANMF_CRAN:-https://cloud.r-project.org}"

log() { printf 'install-deps: %s\n' "$*" >&2; }

# Prints the R packages among "$@" that requireNamespace() cannot load.
missing_r() {
  Rscript --vanilla -e '
    pkgs <- commandArgs(TRUE)
    ok <- vapply(pkgs, requireNamespace, logical(1), quietly = TRUE)
    cat(pkgs[!ok], sep = "\n")' "$@" 2>/dev/null
}

have_pandoc() { command -v pandoc >/dev/null 2>&1; }

if ! command -v Rscript >/dev/null 2>&1; then
  log "Rscript not found: install R (>= 4.0) first"
  exit 1
fi

need_r=$(missing_r $required_r)
need_opt=$(missing_r $optional_r)
if [ -z "$need_r" ] && [ -z "$need_opt" ] && have_pandoc && [ -z "${BETANMF_DEPS_FORCE:-}" ]; then
  log "all dependencies present"
  exit 0
fi

# 1. apt, when we are root (or have password-less sudo) on a Debian-like system.
as_root=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root="sudo -n env DEBIAN_FRONTEND=noninteractive"
fi
if { [ "$(id -u)" -eq 0 ] || [ -n "$as_root" ]; } && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  log "apt-get update"
  $as_root apt-get update -qq >/dev/null || log "apt-get update failed; trying with the existing package lists"
  log "apt-get install:" $apt_required
  # shellcheck disable=SC2086
  if ! $as_root apt-get install -y -qq --no-install-recommends $apt_required >/dev/null; then
    log "apt-get install of the required set failed; falling back to CRAN for what is missing"
  fi
  # Optional packages one at a time, only those apt knows about.
  for p in $apt_optional; do
    if dpkg -s "$p" >/dev/null 2>&1; then continue; fi
    if apt-cache show "$p" >/dev/null 2>&1; then
      $as_root apt-get install -y -qq --no-install-recommends "$p" >/dev/null ||
        log "optional $p could not be installed (ignored)"
    else
      log "optional $p not available from apt (ignored)"
    fi
  done
fi

# 2. CRAN for whatever is still missing (no root/apt, or apt lacked it).
need_r=$(missing_r $required_r)
if [ -n "$need_r" ]; then
  log "from CRAN ($cran):" $need_r
  Rscript --vanilla -e '
    args <- commandArgs(TRUE); repo <- args[1]; pkgs <- args[-1]
    lib <- .libPaths()[file.access(.libPaths(), 2) == 0][1]
    if (is.na(lib)) {
      lib <- Sys.getenv("R_LIBS_USER")
      dir.create(lib, recursive = TRUE, showWarnings = FALSE)
    }
    message("installing into ", lib)
    install.packages(pkgs, lib = lib, repos = repo, quiet = TRUE,
                     Ncpus = max(1L, min(2L, parallel::detectCores())))
  ' "$cran" $need_r || log "install.packages() reported an error"
fi
# Optional packages are not fetched from CRAN (the Bioconductor ones are not
# there, and NMF needs Bioconductor's Biobase): apt only.
need_opt=$(missing_r $optional_r)
if [ -n "$need_opt" ]; then
  log "optional packages not installed (tests that need them are skipped):" $need_opt
fi

# 3. Fail loudly if anything required is still missing.
status=0
need_r=$(missing_r $required_r)
if [ -n "$need_r" ]; then
  log "ERROR: required R packages still missing:" $need_r
  status=1
fi
if ! have_pandoc; then
  log "ERROR: pandoc not found; the vignettes need it (apt-get install pandoc)"
  status=1
fi
if [ "$status" -eq 0 ]; then log "done"; fi
exit "$status"
