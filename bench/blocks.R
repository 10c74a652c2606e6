# Fits of an HDF5 matrix read in blocks (R/blocks.R) against the same fit in
# memory: peak memory and time per iteration, each in a child R process of
# its own.
#
#   R_LIBS=$LIB Rscript bench/blocks.R
#
# Environment: BLOCKS_ROWS, BLOCKS_COLS (the matrix, 4000 x 4000 doubles by
# default: 128 MB), BLOCKS_BLOCK_MB (DelayedArray's block size, 16),
# BLOCKS_RANK (10), BLOCKS_ITERS (4), BLOCKS_FITS ("2:hals,1:mu": beta and
# solver of each fit; "1:cd" is coordinate descent, whose W half reads
# blocks of rows), BLOCKS_CHUNKS ("cols,tiles": the file chunked in whole
# columns, BLOCKS_ROWS x 100, and in 500 x 500 tiles, both uncompressed),
# BLOCKS_REPS (3: the children run this many times, interleaved, and the
# median and range of each time are printed), BLOCKS_OLD_LIB (a library
# holding another build of betanmf, e.g. one whose W half reads blocks of
# rows, before the column-block W half: its HDF5 fits are timed too, as
# "old").
# Each child prints its VmHWM (peak resident memory, /proc/self/status)
# before the fit (the HDF5 child: after opening the file and loading the
# packages; the in-memory child: after reading the matrix into memory) and
# after it; the difference is the fit's own peak.  The time per iteration is
# that of a fit of BLOCKS_ITERS iterations (tol = 0) less that of a fit of
# one iteration (the set-up: the checks, the scale and the start), over
# BLOCKS_ITERS - 1.  With the files just written they are in the page cache:
# the HDF5 time is then the cost of reading blocks through DelayedArray, not
# of the disk.  The machine may be shared: the spread over the repeats says
# how far one figure can be trusted.

suppressMessages({
  library(HDF5Array)
})
env_num <- function(name, default) as.numeric(Sys.getenv(name, default))
m <- env_num("BLOCKS_ROWS", 4000)
n <- env_num("BLOCKS_COLS", 4000)
block_mb <- env_num("BLOCKS_BLOCK_MB", 16)
rank <- env_num("BLOCKS_RANK", 10)
iters <- env_num("BLOCKS_ITERS", 4)
reps <- env_num("BLOCKS_REPS", 3)
fits <- lapply(strsplit(strsplit(Sys.getenv("BLOCKS_FITS", "2:hals,1:mu"), ",")[[1]], ":"),
               function(f) list(beta = as.numeric(f[1]), solver = f[2]))
chunks <- strsplit(Sys.getenv("BLOCKS_CHUNKS", "cols,tiles"), ",")[[1]]
old_lib <- Sys.getenv("BLOCKS_OLD_LIB", "")
new_lib <- Sys.getenv("R_LIBS", "")

set.seed(1)
w <- matrix(rexp(m * rank), m, rank)
hs <- lapply(seq_len(ceiling(n / 500)), function(b) matrix(rexp(rank * min(500, n - (b - 1) * 500)), rank))
write_file <- function(chunk) {
  file <- file.path(tempdir(), sprintf("blocks-bench-%s.h5", chunk))
  cd <- if (chunk == "cols") c(as.integer(m), as.integer(min(100, n))) else as.integer(pmin(500, c(m, n)))
  cat(sprintf("writing %g x %g doubles (%.0f MB) to %s, chunks %d x %d\n", m, n, m * n * 8 / 2^20, file,
              cd[1], cd[2]))
  sink <- HDF5Array::HDF5RealizationSink(c(as.integer(m), as.integer(n)), type = "double", filepath = file,
                                         name = "x", chunkdim = cd, level = 0L)
  grid <- DelayedArray::colAutoGrid(sink, ncol = as.integer(min(500, n)))
  set.seed(2)
  for (b in seq_along(grid)) {
    vp <- grid[[1L, b]]
    nc <- dim(vp)[2]
    DelayedArray::write_block(sink, vp, matrix(rpois(m * nc, w %*% hs[[b]]), m, nc) + 0)
  }
  close(sink)
  file
}
files <- setNames(lapply(chunks, write_file), chunks)

child <- function(file, mode, lib, fit, maxit) {
  code <- sprintf('
    suppressMessages({library(betanmf); library(HDF5Array)})
    hwm <- function() as.numeric(sub("[^0-9]*([0-9]+).*", "\\\\1", grep("VmHWM", readLines("/proc/self/status"), value = TRUE))) / 1024
    x <- HDF5Array("%s", "x")
    if ("%s" == "memory") x <- as.matrix(x)
    suppressMessages(DelayedArray::setAutoBlockSize(%g * 2^20))
    base <- hwm()
    t <- system.time(fit <- nmf(x, %d, beta = %g, solver = "%s", maxit = %d, tol = 0, seed = 1))[["elapsed"]]
    cat(base, hwm(), t, fit$loss, "\\n")', file, mode, block_mb, rank, fit$beta, fit$solver, maxit)
  out <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(code)), stdout = TRUE,
                 env = paste0("R_LIBS=", lib))
  as.numeric(strsplit(trimws(out[length(out)]), " +")[[1]])
}

# the configurations: in memory once per fit, then each file with this
# build and, if given, the old one
configs <- list(list(label = "memory", mode = "memory", file = files[[1]], lib = new_lib))
for (ch in chunks) {
  configs[[length(configs) + 1L]] <- list(label = paste0("hdf5 ", ch), mode = "hdf5", file = files[[ch]],
                                          lib = new_lib)
  if (nzchar(old_lib)) {
    configs[[length(configs) + 1L]] <- list(label = paste0("hdf5 ", ch, " old"), mode = "hdf5",
                                            file = files[[ch]], lib = old_lib)
  }
}

size_mb <- m * n * 8 / 2^20
cat(sprintf("rank %d, block size %g MB, %d iterations, %d repeats (median [min, max])\n", rank, block_mb,
            iters, reps))
for (fit in fits) {
  per_it <- matrix(NA_real_, reps, length(configs))
  peak <- matrix(NA_real_, reps, length(configs))
  loss <- numeric(length(configs))
  for (r in seq_len(reps)) {
    for (c in seq_along(configs)) {
      cf <- configs[[c]]
      one <- child(cf$file, cf$mode, cf$lib, fit, 1)
      full <- child(cf$file, cf$mode, cf$lib, fit, iters)
      per_it[r, c] <- (full[3] - one[3]) / (iters - 1)
      peak[r, c] <- full[2] - full[1]
      loss[c] <- full[4]
    }
  }
  mem <- stats::median(per_it[, 1])
  for (c in seq_along(configs)) {
    s <- per_it[, c]
    cat(sprintf(paste0("beta = %g %-4s  %-16s  %.3f s/iteration [%.3f, %.3f]  %.2f x in memory  ",
                       "peak over baseline %5.0f MB (%.3f x the matrix)  loss %.8g\n"),
                fit$beta, fit$solver, configs[[c]]$label, stats::median(s), min(s), max(s),
                stats::median(s) / mem, max(peak[, c]), max(peak[, c]) / size_mb, loss[c]))
  }
}
