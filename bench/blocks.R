# Fits of an HDF5 matrix read in blocks (R/blocks.R) against the same fit in
# memory: peak memory and time per iteration, each in a child R process of
# its own.
#
#   R_LIBS=$LIB Rscript bench/blocks.R
#
# Environment: BLOCKS_ROWS, BLOCKS_COLS (the matrix, 4000 x 8000 doubles by
# default: 256 MB), BLOCKS_BLOCK_MB (DelayedArray's block size, 16),
# BLOCKS_RANK (10), BLOCKS_ITERS (5), BLOCKS_BETA ("2,1").
# The file is written once into tempdir(), chunked in 500 x 500 tiles without
# compression (the block path reads it by columns and by rows).  Each child
# prints its VmHWM (peak resident memory, /proc/self/status) before the fit
# (the HDF5 child: after opening the file and loading the packages; the
# in-memory child: after reading the matrix into memory) and after it; the
# difference is the fit's own peak.  The time per iteration is that of a fit
# of BLOCKS_ITERS iterations (tol = 0) less that of a fit of one iteration
# (the set-up: the checks, the scale and the start), over BLOCKS_ITERS - 1.
# With the file just written it is in the page cache: the HDF5 time is then
# the cost of reading blocks through DelayedArray, not of the disk.

suppressMessages({
  library(HDF5Array)
})
env_num <- function(name, default) as.numeric(Sys.getenv(name, default))
m <- env_num("BLOCKS_ROWS", 4000)
n <- env_num("BLOCKS_COLS", 8000)
block_mb <- env_num("BLOCKS_BLOCK_MB", 16)
rank <- env_num("BLOCKS_RANK", 10)
iters <- env_num("BLOCKS_ITERS", 5)
betas <- as.numeric(strsplit(Sys.getenv("BLOCKS_BETA", "2,1"), ",")[[1]])

file <- file.path(tempdir(), "blocks-bench.h5")
set.seed(1)
cat(sprintf("writing %g x %g doubles (%.0f MB) to %s\n", m, n, m * n * 8 / 2^20, file))
w <- matrix(rexp(m * rank), m, rank)
sink <- HDF5Array::HDF5RealizationSink(c(as.integer(m), as.integer(n)), type = "double", filepath = file,
                                       name = "x", chunkdim = c(500L, 500L), level = 0L)
grid <- DelayedArray::colAutoGrid(sink, ncol = 500L)
for (b in seq_along(grid)) {
  vp <- grid[[1L, b]]
  nc <- dim(vp)[2]
  h <- matrix(rexp(rank * nc), rank, nc)
  DelayedArray::write_block(sink, vp, matrix(rpois(m * nc, w %*% h), m, nc) + 0)
}
close(sink)
rm(w, sink)

child <- function(mode, beta, maxit) {
  code <- sprintf('
    suppressMessages({library(betanmf); library(HDF5Array)})
    hwm <- function() as.numeric(sub("[^0-9]*([0-9]+).*", "\\\\1", grep("VmHWM", readLines("/proc/self/status"), value = TRUE))) / 1024
    x <- HDF5Array("%s", "x")
    if ("%s" == "memory") x <- as.matrix(x)
    suppressMessages(DelayedArray::setAutoBlockSize(%g * 2^20))
    base <- hwm()
    t <- system.time(fit <- nmf(x, %d, beta = %g, maxit = %d, tol = 0, seed = 1))[["elapsed"]]
    cat(base, hwm(), t, fit$loss, "\\n")', file, mode, block_mb, rank, beta, maxit)
  out <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(code)), stdout = TRUE)
  as.numeric(strsplit(trimws(out[length(out)]), " +")[[1]])
}

size_mb <- m * n * 8 / 2^20
cat(sprintf("rank %d, block size %g MB, %d iterations\n", rank, block_mb, iters))
for (beta in betas) {
  for (mode in c("hdf5", "memory")) {
    one <- child(mode, beta, 1)
    full <- child(mode, beta, iters)
    per_it <- (full[3] - one[3]) / (iters - 1)
    cat(sprintf("beta = %g  %-6s  baseline %7.0f MB  peak over baseline %7.0f MB (%.3f x the matrix)  %.2f s/iteration  loss %.6g\n",
                beta, mode, full[1], full[2] - full[1], (full[2] - full[1]) / size_mb, per_it, full[4]))
  }
}
