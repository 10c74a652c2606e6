# The single-cell size of issue 24: a genes x cells count matrix at 0.5 %
# density (30 000 x 1 000 000: 1.5e8 non-zeros), fitted at beta = 1, rank
# 20, as a dgCMatrix in memory and as a TENxMatrix on disk, each in a child
# R process of its own: seconds per iteration and peak resident memory.
#
#   R_LIBS=$LIB Rscript bench/singlecell.R
#
# Environment: SC_ROWS (30000), SC_COLS (1e6), SC_DENSITY (0.005), SC_RANK
# (20), SC_ITERS (3), SC_SOLVER ("mu": a TENxMatrix is compressed by
# columns, and coordinate descent, the beta = 1 default, would read every
# column for each block of rows), SC_BLOCK_MB (DelayedArray's block size,
# 100), SC_CACHE (/tmp/betanmf-singlecell: the matrix is generated once per
# size, in chunks of 10 000 columns, and kept there as an .rds of the
# dgCMatrix and a TENx .h5 file; delete it to start over).
#
# The counts: each cell's non-zero genes drawn uniformly (a binomial number,
# density x genes on average), each count 1 + Poisson(1); the fit's speed and
# memory depend on the non-zeros, not on what they hold.
# The time per iteration is that of a fit of 1 + SC_ITERS iterations (tol =
# 0) less that of a fit of one iteration (the set-up: checks, scale, start),
# over SC_ITERS, after one untimed fit of one iteration (lazy loading and
# first allocations, which otherwise land in the one-iteration fit).  Peak
# memory: the child's VmHWM (/proc/self/status) during the timed fit (the
# earlier fits' garbage collected and the high-water mark reset before it,
# through /proc/self/clear_refs; the whole child's peak is printed too)
# less its resident size before the data: for the dgCMatrix, after
# loading the packages (so the matrix itself counts); for the TENxMatrix,
# after loading the packages and opening the file.  Printed beside the
# dgCMatrix's size plus the factors' (the issue's bound for memory: at most
# twice that) and the block size plus the factors (on disk: O(block + (m +
# n) k)).

env_num <- function(name, default) as.numeric(Sys.getenv(name, default))
m <- env_num("SC_ROWS", 30000)
n <- env_num("SC_COLS", 1e6)
density <- env_num("SC_DENSITY", 0.005)
rank <- env_num("SC_RANK", 20)
iters <- env_num("SC_ITERS", 3)
solver <- Sys.getenv("SC_SOLVER", "mu")
block_mb <- env_num("SC_BLOCK_MB", 100)
cache <- Sys.getenv("SC_CACHE", "/tmp/betanmf-singlecell")
dir.create(cache, showWarnings = FALSE, recursive = TRUE)
stem <- file.path(cache, sprintf("counts-%g-%g-%g", m, n, density))
rds <- paste0(stem, ".rds")
h5 <- paste0(stem, ".h5")
stamp <- function(...) cat(format(Sys.time(), "%H:%M:%S"), ..., "\n")

# The counts, vectorised: every column's number of non-zeros at once
# (binomial), then, for a chunk of columns whose keys (column in the chunk) *
# m + row fit an integer, all row indices drawn with replacement, the
# duplicates dropped (unique) and redrawn for the columns left short until
# each has its count: rejection of repeats, so each column's rows are a
# uniform draw without replacement, as sample.int(m, k) per column gives.
generate <- function(m, n, density) {
  set.seed(1)
  per <- stats::rbinom(n, m, density)
  total <- sum(per)
  i <- integer(total)
  x <- 1 + stats::rpois(total, 1)
  step <- max(1, floor((.Machine$integer.max - m) / m))
  at <- 0
  for (j0 in seq(1, n, by = step)) {
    cols <- j0:min(n, j0 + step - 1)
    want <- per[cols]
    key <- rep.int(seq_along(cols) - 1L, want) * as.integer(m) + sample.int(m, sum(want), replace = TRUE) - 1L
    repeat {
      key <- unique(key)
      short <- want - tabulate(key %/% as.integer(m) + 1L, length(cols))
      if (!any(short > 0)) break
      key <- c(key, rep.int(seq_along(cols) - 1L, short) * as.integer(m) +
                 sample.int(m, sum(short), replace = TRUE) - 1L)
    }
    key <- sort(key, method = "radix")
    i[at + seq_along(key)] <- key %% as.integer(m)
    at <- at + length(key)
  }
  methods::new("dgCMatrix", i = i, p = c(0L, as.integer(cumsum(per))), x = x,
               Dim = as.integer(c(m, n)))
}

# The TENx layout writeTENxMatrix() writes (HDF5Array 1.26: group "x" with
# data (doubles) and indices (uint32), chunks of 16384 at gzip level 6;
# indptr (uint32, chunks of 4096, uncompressed); shape), written by rhdf5 in
# slices rather than appended block by block through DelayedArray's
# realization (one extraction and one reopening of the file per block).
write_tenx <- function(x, path) {
  unlink(path)
  rhdf5::h5createFile(path)
  rhdf5::h5createGroup(path, "x")
  nnz <- length(x@x)
  rhdf5::h5createDataset(path, "x/data", dims = nnz, storage.mode = "double",
                         chunk = 16384, level = 6)
  rhdf5::h5createDataset(path, "x/indices", dims = nnz, storage.mode = "integer",
                         H5type = "H5T_STD_U32LE", chunk = 16384, level = 6)
  rhdf5::h5createDataset(path, "x/indptr", dims = length(x@p), storage.mode = "integer",
                         H5type = "H5T_STD_U32LE", chunk = 4096, level = 0)
  rhdf5::h5createDataset(path, "x/shape", dims = 2, storage.mode = "integer",
                         H5type = "H5T_STD_U32LE", chunk = 2, level = 0)
  slice <- 2^24
  for (s in seq(1, nnz, by = slice)) {
    e <- min(nnz, s + slice - 1)
    rhdf5::h5write(x@x[s:e], path, "x/data", start = s, count = e - s + 1)
    rhdf5::h5write(x@i[s:e], path, "x/indices", start = s, count = e - s + 1)
  }
  rhdf5::h5write(x@p, path, "x/indptr")
  rhdf5::h5write(dim(x), path, "x/shape")
  rhdf5::h5closeAll()
}

if (!file.exists(rds) || !file.exists(h5)) {
  suppressPackageStartupMessages(library(Matrix))
  stamp(sprintf("generating %g x %g at %g %%", m, n, 100 * density))
  x <- generate(m, n, density)
  saveRDS(x, rds, compress = FALSE)
  stamp(sprintf("writing the TENx file (%.0f non-zeros)", length(x@x)))
  write_tenx(x, h5)
  stamp("data ready")
  rm(x)
  invisible(gc())
}
if (nzchar(Sys.getenv("SC_DATA_ONLY"))) quit(save = "no")

child <- tempfile("singlecell-", fileext = ".R")
writeLines(c(
  "a <- commandArgs(TRUE)",
  "suppressPackageStartupMessages({library(Matrix); library(betanmf); library(HDF5Array)})",
  "kb <- function(f) as.numeric(sub('kB', '', sub('.*:', '', grep(paste0('^', f), readLines('/proc/self/status'), value = TRUE))))",
  "open_tenx <- function(path) {",
  "  X <- tryCatch(TENxMatrix(path, 'x'), error = function(e) e)",
  "  if (!inherits(X, 'error')) return(X)",
  "  is_obj <- function(open, close) function(filepath, name) {",
  "    fid <- rhdf5::H5Fopen(filepath, flags = 'H5F_ACC_RDONLY'); on.exit(rhdf5::H5Fclose(fid))",
  "    id <- suppressMessages(try(open(fid, name), silent = TRUE)); ok <- methods::is(id, 'H5IdComponent')",
  "    if (ok) close(id); ok }",
  "  utils::assignInNamespace('h5isdataset', is_obj(rhdf5::H5Dopen, rhdf5::H5Dclose), 'HDF5Array')",
  "  utils::assignInNamespace('h5isgroup', is_obj(rhdf5::H5Gopen, rhdf5::H5Gclose), 'HDF5Array')",
  "  TENxMatrix(path, 'x') }",
  "suppressMessages(DelayedArray::setAutoBlockSize(as.numeric(a[5]) * 2^20))",
  "x <- if (a[1] == 'tenx') open_tenx(a[2]) else NULL",
  "invisible(gc()); base <- kb('VmRSS')",
  "if (a[1] == 'mem') x <- readRDS(a[2])",
  "fit <- function(k) { t0 <- proc.time()[['elapsed']]",
  "  f <- suppressWarnings(nmf(x, as.integer(a[3]), beta = 1, solver = a[6], maxit = k, tol = 0, seed = 1))",
  "  list(t = proc.time()[['elapsed']] - t0, f = f) }",
  "invisible(fit(1))  # warm-up: lazy loading, first allocations",
  "one <- fit(1)",
  "whole <- kb('VmHWM')",
  "# the timed fit's own peak: the earlier fits' garbage collected, then the",
  "# high-water mark reset (Linux: 5 to /proc/self/clear_refs); if the",
  "# kernel refuses, the child's whole peak stands",
  "invisible(gc())",
  "reset <- !inherits(try(cat('5', file = '/proc/self/clear_refs'), silent = TRUE), 'try-error')",
  "more <- fit(1 + as.integer(a[4]))",
  "peak <- kb('VmHWM')",
  "whole <- max(whole, peak)",
  "cat(sprintf('RESULT %.4f %.0f %.0f %.0f %.0f %d\\n', (more$t - one$t) / as.integer(a[4]), base, peak,",
  "            as.numeric(object.size(more$f$w) + object.size(more$f$h)) / 1024, whole, reset))"),
  child)

run <- function(mode) {
  path <- if (mode == "mem") rds else h5
  stamp("fitting", mode)
  out <- system2(file.path(R.home("bin"), "Rscript"),
                 c(child, mode, path, rank, iters, block_mb, solver), stdout = TRUE, stderr = TRUE)
  line <- grep("^RESULT", out, value = TRUE)
  if (!length(line)) {
    cat(out, sep = "\n")
    stop("the ", mode, " child failed")
  }
  v <- as.numeric(strsplit(line, " ")[[1]][-1])
  list(sec = v[1], base = v[2], peak = v[3], factors = v[4], whole = v[5], reset = v[6] == 1)
}
mem <- run("mem")
tenx <- run("tenx")
x_kb <- file.size(rds) / 1024 # the uncompressed serialisation: the dgCMatrix's size
cat(sprintf("\n%g x %g counts at %g %% (beta = 1, rank %d, solver \"%s\", %d iterations timed), block %g MB\n",
            m, n, 100 * density, rank, solver, iters, block_mb))
cat(sprintf("dgCMatrix %.0f MB, factors %.0f MB; TENx file %.0f MB\n", x_kb / 1024, mem$factors / 1024,
            file.size(h5) / 2^20))
show <- function(name, r, ref, ref_name) {
  over <- (r$peak - r$base) / 1024
  whole <- (r$whole - r$base) / 1024
  cat(sprintf("%-10s %8.2f s/iteration   peak RSS over baseline %7.0f MB   (%s %.0f MB: ratio %.2f)\n",
              name, r$sec, over, ref_name, ref, over / ref))
  cat(sprintf("%-10s %s; the whole child (three fits) %.0f MB: ratio %.2f\n", "",
              if (r$reset) "the timed fit's peak" else "no reset of the peak: the whole child's", whole, whole / ref))
}
show("dgCMatrix", mem, (x_kb + mem$factors) / 1024, "dgCMatrix + factors")
show("TENx", tenx, block_mb + tenx$factors / 1024, "block + factors")
cat(sprintf("TENx / in memory, time per iteration: %.2f\n", tenx$sec / mem$sec))
