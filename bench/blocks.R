# Fits of an HDF5 matrix read in blocks (R/blocks.R) against the same fit in
# memory, each fit in a child R process of its own.  One command:
#
#   R_LIBS=$LIB Rscript bench/blocks.R
#
# prints, in two parts:
#
# 1. Memory at scale: a dense HDF5 matrix of BLOCKS_BIG_ROWS x
#    BLOCKS_BIG_COLS doubles (20000 x 20000 by default: 3.2 GB), chunked by
#    column blocks (whole columns, 100 per chunk), uncompressed, fitted at
#    rank BLOCKS_RANK (10) for beta = 2 (HALS) and beta = 1 (MU),
#    BLOCKS_BIG_ITERS (3) iterations, DelayedArray's block size left at its
#    default (getAutoBlockSize()).  The peak resident memory (VmHWM,
#    /proc/self/status) of the fitting child over that of a baseline child
#    that only loads the packages and opens the file, as a fraction of the
#    matrix's in-memory size 8 m n bytes (target: below 0.15).
# 2. Time: a matrix that fits in memory both ways (BLOCKS_ROWS x BLOCKS_COLS,
#    8000 x 8000 by default: 512 MB), in memory and from HDF5 with the file
#    in the page cache: seconds per iteration (a fit of BLOCKS_ITERS
#    iterations, tol = 0, less a fit of one iteration, over BLOCKS_ITERS - 1:
#    the set-up, i.e. the checks, the scale and the start, cancels), elapsed
#    and CPU (user + system of the child), and their ratio; the time of one
#    read-only pass over the file's blocks (the reads alone, into the fit's
#    buffer) and its throughput in GB/s, beside the disk's: dd of the file
#    with the page cache warm (after a read) and with O_DIRECT (iflag=direct,
#    the page cache bypassed: the device's own sequential speed, without
#    dropping the whole machine's caches).  Each HDF5 figure twice: for the
#    file as HDF5Array writes it (shuffle and deflate, at level 0 too) and
#    for the same values with no filter (rhdf5).  Printed beside each
#    HDF5 s/iteration: its ratio to the in-memory one, and to the in-memory
#    one plus one read-only pass of the same file.  BLOCKS_REPS (3)
#    repeats, interleaved (memory, HDF5, read pass in turn), median [min,
#    max]; the load average is printed with each repeat.
#
# The files are written once into BLOCKS_CACHE (/tmp/betanmf-bench-blocks)
# and reused when present.  Other knobs: BLOCKS_FITS ("2:hals,1:mu"),
# BLOCKS_PARTS ("memory,time": either part alone), BLOCKS_RANKS (the time
# part's ranks, "10,30"; default BLOCKS_RANK), BLOCKS_LIBS (libraries to
# compare in one run, "before=/tmp/lib-a,after=/tmp/lib-b": each HDF5 fit
# from each, in turn within every repeat).

suppressMessages({
  library(HDF5Array)
})
env_num <- function(name, default) as.numeric(Sys.getenv(name, default))
rank <- env_num("BLOCKS_RANK", 10)
fits <- lapply(strsplit(strsplit(Sys.getenv("BLOCKS_FITS", "2:hals,1:mu"), ",")[[1]], ":"),
               function(f) list(beta = as.numeric(f[1]), solver = f[2]))
parts <- strsplit(Sys.getenv("BLOCKS_PARTS", "memory,time"), ",")[[1]]
cache <- Sys.getenv("BLOCKS_CACHE", "/tmp/betanmf-bench-blocks")
dir.create(cache, showWarnings = FALSE, recursive = TRUE)
lib <- Sys.getenv("R_LIBS", "")
load_avg <- function() paste(strsplit(readLines("/proc/loadavg"), " ")[[1]][1:3], collapse = " ")

# a rank-10 non-negative matrix with multiplicative noise, written by blocks
# of 500 columns into column chunks of 100 (m x 100 doubles): as HDF5Array
# writes it (the shuffle and deflate filters, level 0), or, filtered =
# FALSE, with no filter (rhdf5, the same values)
write_file <- function(m, n, filtered = TRUE) {
  file <- file.path(cache, sprintf("dense-%dx%d-cols100%s.h5", m, n, if (filtered) "" else "-nofilter"))
  if (file.exists(file)) return(file)
  cat(sprintf("writing %d x %d doubles (%.2f GB) to %s\n", m, n, 8 * m * n / 1e9, file))
  tmp <- paste0(file, ".part")
  unlink(tmp)
  set.seed(1)
  w <- matrix(rexp(m * 10), m, 10)
  if (filtered) {
    sink <- HDF5Array::HDF5RealizationSink(c(as.integer(m), as.integer(n)), type = "double", filepath = tmp,
                                           name = "x", chunkdim = c(as.integer(m), 100L), level = 0L)
  } else {
    rhdf5::h5createFile(tmp)
    rhdf5::h5createDataset(tmp, "x", c(m, n), storage.mode = "double", chunk = c(m, 100),
                           filter = "NONE", shuffle = FALSE, level = 0)
  }
  grid <- DelayedArray::RegularArrayGrid(c(as.integer(m), as.integer(n)), c(as.integer(m), 500L))
  for (b in seq_along(grid)) {
    vp <- grid[[1L, b]]
    nc <- dim(vp)[2]
    blk <- w %*% matrix(rexp(10 * nc), 10, nc)
    blk <- blk * (0.5 + runif(length(blk)))
    if (filtered) {
      DelayedArray::write_block(sink, vp, blk)
    } else {
      j <- IRanges::start(DelayedArray::ranges(vp))[2]
      rhdf5::h5write(blk, tmp, "x", index = list(NULL, j:(j + nc - 1)))
    }
  }
  if (filtered) close(sink)
  file.rename(tmp, file)
  file
}

# one child: mode "open" (load, open the file, nothing else), "hdf5", "memory"
# (as.matrix() first) or "read" (one read-only pass over the fit's blocks);
# prints VmHWM (MB) before and after, elapsed and CPU seconds, the loss
child <- function(file, mode, fit = list(beta = 2, solver = "hals"), maxit = 1, lib_path = lib, rk = rank) {
  code <- sprintf('
    suppressMessages({library(betanmf); library(HDF5Array)})
    hwm <- function() as.numeric(sub("[^0-9]*([0-9]+).*", "\\\\1", grep("VmHWM", readLines("/proc/self/status"), value = TRUE))) / 1024
    x <- HDF5Array("%s", "x")
    invisible(x[1, 1])
    if ("%s" == "memory") x <- as.matrix(x)
    base <- hwm()
    loss <- NA
    t0 <- proc.time()
    if ("%s" %%in%% c("hdf5", "memory")) {
      loss <- nmf(x, %d, beta = %g, solver = "%s", maxit = %d, tol = 0, seed = 1)$loss
    } else if ("%s" == "read") {
      B <- betanmf:::prepare_data(x, beta = 1)$blocks
      t0 <- proc.time()
      for (vp in B$cvps) betanmf:::dense_col_block(B, vp)
    }
    t <- proc.time() - t0
    cat(base, hwm(), t[["elapsed"]], t[["user.self"]] + t[["sys.self"]], loss, "\\n")',
    file, mode, mode, rk, fit$beta, fit$solver, maxit, mode)
  out <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(code)), stdout = TRUE,
                 env = paste0("R_LIBS=", lib_path))
  v <- suppressWarnings(as.numeric(strsplit(trimws(out[length(out)]), " +")[[1]]))
  list(base = v[1], peak = v[2], elapsed = v[3], cpu = v[4], loss = v[5])
}

dd_speed <- function(file, direct) {
  args <- c(paste0("if=", file), "of=/dev/null", "bs=16M", if (direct) "iflag=direct")
  out <- suppressWarnings(system2("dd", args, stdout = TRUE, stderr = TRUE))
  line <- grep("copied", out, value = TRUE)
  secs <- as.numeric(sub(".*copied, ([0-9.e+-]+) s.*", "\\1", line))
  file.size(file) / secs / 1e9
}

med <- function(v) sprintf("%.3f [%.3f, %.3f]", stats::median(v), min(v), max(v))

if ("memory" %in% parts) {
  m <- env_num("BLOCKS_BIG_ROWS", 20000)
  n <- env_num("BLOCKS_BIG_COLS", 20000)
  iters <- env_num("BLOCKS_BIG_ITERS", 3)
  file <- write_file(m, n)
  size_mb <- 8 * m * n / 2^20
  cat(sprintf("\n== memory: %d x %d doubles (%.0f MB in memory), rank %d, %d iterations, default block size ==\n",
              m, n, size_mb, rank, iters))
  invisible(dd_speed(file, FALSE))
  base <- child(file, "open")
  cat(sprintf("baseline child (packages loaded, file open): VmHWM %.0f MB   load %s\n", base$peak, load_avg()))
  for (fit in fits) {
    r <- child(file, "hdf5", fit, iters)
    over <- r$peak - base$peak
    cat(sprintf("beta = %g %-4s  VmHWM %.0f MB, over the baseline %.0f MB = %.3f x the matrix (target < 0.15)  %.0f s  loss %.8g  load %s\n",
                fit$beta, fit$solver, r$peak, over, over / size_mb, r$elapsed, r$loss, load_avg()))
  }
}

if ("time" %in% parts) {
  m <- env_num("BLOCKS_ROWS", 8000)
  n <- env_num("BLOCKS_COLS", 8000)
  iters <- env_num("BLOCKS_ITERS", 4)
  reps <- env_num("BLOCKS_REPS", 3)
  # BLOCKS_RANKS: the ranks of the time part ("10,30"; default BLOCKS_RANK);
  # BLOCKS_LIBS: libraries to compare in one run, "name=path,name=path"
  # (default: this process's R_LIBS), each HDF5 fit run from each, in turn
  # within every repeat; the in-memory fits and the read pass (whose code
  # the libraries share) from the first
  ranks <- as.numeric(strsplit(Sys.getenv("BLOCKS_RANKS", as.character(rank)), ",")[[1]])
  lib_spec <- Sys.getenv("BLOCKS_LIBS", "")
  libs <- if (nzchar(lib_spec)) {
    kv <- strsplit(strsplit(lib_spec, ",")[[1]], "=")
    stats::setNames(vapply(kv, `[`, "", 2), vapply(kv, `[`, "", 1))
  } else c(lib = lib)
  files <- c(hdf5 = write_file(m, n), nofilter = write_file(m, n, filtered = FALSE))
  gb <- 8 * m * n / 1e9
  cat(sprintf("\n== time: %d x %d doubles (%.2f GB), ranks %s, %d iterations, %d repeats, median [min, max] ==\n",
              m, n, gb, paste(ranks, collapse = ", "), iters, reps))
  cat("hdf5: the file as HDF5Array writes it (shuffle + deflate at level 0); nofilter: the same values, no filter\n")
  cat(sprintf("libraries: %s\n", paste(names(libs), libs, sep = " = ", collapse = "; ")))
  res <- list()
  read <- list()
  dd <- matrix(NA_real_, reps, 2)
  for (r in seq_len(reps)) {
    cat(sprintf("repeat %d: load %s\n", r, load_avg()))
    for (rk in ranks) for (f in seq_along(fits)) {
      runs <- c(list(c(mode = "memory", lib = names(libs)[1])),
                lapply(as.vector(outer(names(files), names(libs), paste)), function(v) {
                  v <- strsplit(v, " ")[[1]]
                  c(mode = v[1], lib = v[2])
                }))
      for (run in runs) {
        mode <- run[["mode"]]
        file <- if (mode == "memory") files[["hdf5"]] else files[[mode]]
        cm <- if (mode == "memory") "memory" else "hdf5"
        lp <- libs[[run[["lib"]]]]
        one <- child(file, cm, fits[[f]], 1, lp, rk)
        full <- child(file, cm, fits[[f]], iters, lp, rk)
        key <- paste(rk, f, mode, if (mode == "memory") "" else run[["lib"]])
        res[[key]] <- rbind(res[[key]], c(elapsed = (full$elapsed - one$elapsed) / (iters - 1),
                                          cpu = (full$cpu - one$cpu) / (iters - 1), loss = full$loss))
      }
    }
    for (kind in names(files)) {
      rd <- child(files[[kind]], "read", lib_path = libs[[1]])
      read[[kind]] <- rbind(read[[kind]], c(rd$elapsed, rd$cpu))
    }
    dd[r, ] <- c(dd_speed(files[["hdf5"]], FALSE), dd_speed(files[["hdf5"]], TRUE))
  }
  cat(sprintf("load at the end %s\n", load_avg()))
  for (kind in names(files)) {
    rd <- read[[kind]]
    cat(sprintf("%-8s one read-only pass over the blocks: elapsed %s s (%.2f GB/s), CPU %s s (%.2f GB/s)\n", kind,
                med(rd[, 1]), gb / stats::median(rd[, 1]), med(rd[, 2]), gb / stats::median(rd[, 2])))
  }
  cat(sprintf("dd of the file: page cache warm %s GB/s, O_DIRECT (the device) %s GB/s\n", med(dd[, 1]), med(dd[, 2])))
  # the ratios of medians; "+ read" is the in-memory iteration plus one
  # read-only pass of the same file (the restated target: <= 1.5)
  for (rk in ranks) for (f in seq_along(fits)) {
    mem <- res[[paste(rk, f, "memory", "")]]
    cat(sprintf("rank %d, beta = %g %-4s  s/iteration in memory: elapsed %s, CPU %s  (loss %.10g)\n",
                rk, fits[[f]]$beta, fits[[f]]$solver, med(mem[, 1]), med(mem[, 2]), mem[1, 3]))
    for (lb in names(libs)) for (kind in names(files)) {
      h5 <- res[[paste(rk, f, kind, lb)]]
      rd <- read[[kind]]
      cat(sprintf(paste0("    %-6s %-8s s/iteration: elapsed %s, CPU %s;  / memory: elapsed %.2f, CPU %.2f;  ",
                         "/ (memory + read): elapsed %.2f, CPU %.2f  (loss %.10g)\n"),
                  lb, kind, med(h5[, 1]), med(h5[, 2]),
                  stats::median(h5[, 1]) / stats::median(mem[, 1]), stats::median(h5[, 2]) / stats::median(mem[, 2]),
                  stats::median(h5[, 1]) / (stats::median(mem[, 1]) + stats::median(rd[, 1])),
                  stats::median(h5[, 2]) / (stats::median(mem[, 2]) + stats::median(rd[, 2])), h5[1, 3]))
    }
  }
}
