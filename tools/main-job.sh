#!/usr/bin/env bash
# The main job: install betanmf from this repository and run the
# mutational-signature workflow on the shipped example catalog.
#
#   bash tools/main-job.sh [output-dir]      # default: output/
#
# Installs the dependencies (tools/install-deps.sh), installs the package
# into the user library (R_LIBS_USER) from a temporary copy of the sources, so
# no build artefacts land in the working tree, then runs tools/main-job.R,
# which renders the signature report (or, if the package does not ship one,
# fits a simulated catalog) and prints the paths of what it wrote.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
out="${1:-output}"

bash tools/install-deps.sh

# The user library: created if needed, so R puts it first on .libPaths().
lib=$(Rscript --vanilla -e 'cat(path.expand(Sys.getenv("R_LIBS_USER")))')
mkdir -p "$lib"
export R_LIBS_USER="$lib"

src=$(mktemp -d "${TMPDIR:-/tmp}/betanmf-src.XXXXXX")
trap 'rm -rf "$src"' EXIT
tar -C "$repo" --exclude=./.git --exclude=./output --exclude='./*.Rcheck' \
    --exclude='./*.tar.gz' --exclude='./src/*.o' --exclude='./src/*.so' -cf - . | tar -C "$src" -xf -
echo "main-job: R CMD INSTALL into $lib"
R CMD INSTALL --preclean --library="$lib" "$src" >"$src.install.log" 2>&1 || {
  cat "$src.install.log" >&2; rm -f "$src.install.log"; exit 1; }
rm -f "$src.install.log"

# Put the fresh install first even if R_LIBS names other libraries.
R_LIBS="$lib${R_LIBS:+:$R_LIBS}" Rscript tools/main-job.R "$out"
