# The start of a fit against the time to reach the best loss (issue 28):
# NNDSVDa (the default for HALS and CD, its SVD from the randomized range
# finder), the random start (init = "random", three seeds) and a cheaper
# deterministic one where the data have a short side ("nndsvda exact":
# NNDSVDa from the exact SVD of the short side's Gram matrix, crossprod()
# and eigen(), in place of the range finder; only where min(m, n) <= 200),
# on the four sets of the anchor table (bench/anchor.R) at beta = 2 (HALS)
# and beta = 1 (coordinate descent), threads = 1.
#
#   BENCH_ONLY=starts bash bench/run.sh
#   Rscript --vanilla bench/starts.R <library with betanmf>
#
# Per set, beta and start:
#   it_1pct, it_0.1pct  the first iteration whose loss is within 1 % (0.1 %)
#                       of the best loss any start reached, from one fit of
#                       maxit N, tol 0 and control(check = 1) (its trace);
#                       NA: not within N iterations
#   t_setup             the median seconds of BENCH_REPEATS (default 3) fits
#                       of maxit 1 (the checks, the start, the driver's
#                       set-up, one iteration, the result)
#   s_iter              seconds per iteration: (T(maxit K) - T(maxit 1)) /
#                       (K - 1), medians over the repeats, default check
#   t_1pct, t_0.1pct    t_setup + (it - 1) * s_iter: the time to the target
#   end_over_best       the loss after N iterations over the best
# The random start's three seeds are reported one by one (its iterations
# vary with the draw). BENCH_SETS: the sets to run (default "expr catalog
# dense sparse").
args <- commandArgs(TRUE)
if (length(args)) .libPaths(c(args[1], .libPaths()))
source("bench/common.R")
repeats <- as.integer(Sys.getenv("BENCH_REPEATS", 3L))
options(width = 200, warn = 1)
t_start <- proc.time()[["elapsed"]]
stamp <- function(...) cat(sprintf("[%6.0f s] ", proc.time()[["elapsed"]] - t_start), ..., "\n", sep = "")

sets <- list(expr = function() list(x = make_expr(5000, 38, 3, 11), rank = 3, N = c(300, 150), K = c(100, 50)),
             catalog = function() list(x = make_catalog(96, 1000, 8, 12), rank = 8, N = c(300, 150), K = c(100, 50)),
             dense = function() list(x = make_dense(2000, 2000, 20, 1), rank = 20, N = c(150, 60), K = c(20, 6)),
             sparse = function() list(x = make_sparse(20000, 3000, 10, 0.05, 2), rank = 10, N = c(100, 40),
                                      K = c(10, 4)))
only <- strsplit(Sys.getenv("BENCH_SETS", paste(names(sets), collapse = " ")), "[ ,]+")[[1]]
stopifnot(all(only %in% names(sets)))

# the exact truncated SVD of the short side's Gram matrix (xs / xscale in
# internal units, as truncated_svd() gets it): the cheap deterministic start
exact_svd <- function(xs, rank, xscale = 1) {
  tall <- nrow(xs) >= ncol(xs)
  g <- as.matrix(if (tall) crossprod(xs) else tcrossprod(xs)) / xscale^2
  e <- eigen(g, symmetric = TRUE)
  d <- sqrt(pmax(e$values[seq_len(rank)], 0))
  vec <- e$vectors[, seq_len(rank), drop = FALSE]
  other <- as.matrix(if (tall) xs %*% vec else crossprod(xs, vec)) / xscale
  other <- sweep(other, 2, ifelse(d > 0, d, 1), "/")
  if (tall) list(d = d, u = other, v = vec) else list(d = d, u = vec, v = other)
}
ns <- asNamespace("betanmf")
range_svd <- get("truncated_svd", ns)
use_svd <- function(f) {
  unlockBinding("truncated_svd", ns)
  assign("truncated_svd", f, envir = ns)
  lockBinding("truncated_svd", ns)
}

starts <- function(s) {
  out <- list("nndsvda" = list(init = "nndsvda", seed = 1, svd = range_svd))
  if (min(dim(s$x)) <= 200) out[["nndsvda exact"]] <- list(init = "nndsvda", seed = 1, svd = exact_svd)
  for (sd in 1:3) out[[sprintf("random seed %d", sd)]] <- list(init = "random", seed = sd, svd = range_svd)
  out
}
fit <- function(s, beta, st, maxit, check = NULL) {
  use_svd(st$svd)
  on.exit(use_svd(range_svd))
  ctl <- if (is.null(check)) list() else list(check = check)
  suppressWarnings(nmf(s$x, s$rank, beta = beta, init = st$init, seed = st$seed, maxit = maxit, tol = 0,
                       threads = 1, control = ctl))
}
elapsed <- function(f) {
  gc(FALSE)
  t0 <- proc.time()[["elapsed"]]
  f
  proc.time()[["elapsed"]] - t0
}

rows <- list()
cat("== starts against the time to 1 % and 0.1 % of the best loss (issue 28)\n")
cat(sprintf("R BLAS: %s; load average at the start: %s\n\n", sessionInfo()$BLAS,
            paste(readLines("/proc/loadavg", warn = FALSE), collapse = "")))
for (nm in only) {
  s <- sets[[nm]]()
  stamp(sprintf("== %s: %d x %d, rank %d, %s", nm, nrow(s$x), ncol(s$x), s$rank, class(s$x)[1]))
  for (b in c(2, 1)) {
    N <- s$N[if (b == 2) 1 else 2]
    K <- s$K[if (b == 2) 1 else 2]
    sts <- starts(s)
    invisible(fit(s, b, sts[[1]], 1)) # warm-up
    traces <- lapply(sts, function(st) fit(s, b, st, N, check = 1)$trace)
    best <- min(vapply(traces, function(t) min(t$loss), 0))
    tm <- lapply(names(sts), function(k) list(t1 = numeric(0), tk = numeric(0)))
    names(tm) <- names(sts)
    for (r in seq_len(repeats)) {
      for (k in names(sts)[((seq_along(sts) + r - 2L) %% length(sts)) + 1L]) { # rotate who goes first
        tm[[k]]$t1 <- c(tm[[k]]$t1, elapsed(fit(s, b, sts[[k]], 1)))
        tm[[k]]$tk <- c(tm[[k]]$tk, elapsed(fit(s, b, sts[[k]], K)))
      }
    }
    for (k in names(sts)) {
      tr <- traces[[k]]
      hit <- function(f) { i <- which(tr$loss <= (1 + f) * best)[1]; if (is.na(i)) NA_real_ else tr$iteration[i] }
      t1 <- stats::median(tm[[k]]$t1)
      s_iter <- max(0, (stats::median(tm[[k]]$tk) - t1) / (K - 1))
      i1 <- hit(0.01); i01 <- hit(0.001)
      rows[[length(rows) + 1L]] <- data.frame(
        set = nm, beta = b, start = k, it_1pct = i1, it_0.1pct = i01, t_setup = signif(t1, 3),
        s_iter = signif(s_iter, 3), t_1pct = signif(t1 + (i1 - 1) * s_iter, 3),
        t_0.1pct = signif(t1 + (i01 - 1) * s_iter, 3),
        end_over_best = signif(tr$loss[nrow(tr)] / best, 6), stringsAsFactors = FALSE)
      stamp(sprintf("   beta %g %-15s it %s / %s", b, k, i1, i01))
    }
  }
}
cat("\n")
print(do.call(rbind, rows), row.names = FALSE, right = FALSE)
cat(sprintf("\nload average at the end: %s\n", paste(readLines("/proc/loadavg", warn = FALSE), collapse = "")))
stamp("done")
