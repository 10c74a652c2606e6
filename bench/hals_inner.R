# HALS's start and inner sweeps against the iterations to the target (issue
# 28). RcppML 1.0 starts from a random W (no SVD: R's runif) and solves each
# half's NNLS to convergence (coordinate descent, up to 100 sweeps, tol
# 1e-8); betanmf starts from NNDSVDa (the randomized range finder) and sweeps
# at most `inner` times a half (Gillis & Glineur's rule), stopping at
# inner_tol. For each setting (control(inner, inner_tol); "random start":
# init = "random"): the first maxit of 1, 2, ..., 100 whose loss is within
# 1 % (and 0.1 %) of the best loss any setting reached in 2000 iterations,
# the median seconds of that fit over BENCH_REPEATS (default 5) interleaved
# repeats, and where each setting ends after 2000 iterations, over the best.
#
#   Rscript --vanilla bench/hals_inner.R <library with betanmf>
args <- commandArgs(TRUE)
if (length(args)) .libPaths(c(args[1], .libPaths()))
source("bench/common.R")
repeats <- as.integer(Sys.getenv("BENCH_REPEATS", 5L))
sets <- list(expr = list(x = make_expr(5000, 38, 3, 11), rank = 3),
             catalog = list(x = make_catalog(96, 1000, 8, 12), rank = 8))
settings <- list("default" = list(), "inner 50, tol 1e-3" = list(inner = 50L, inner_tol = 1e-3),
                 "inner 100, tol 1e-4" = list(inner = 100L, inner_tol = 1e-4),
                 "inner 100, tol 1e-8" = list(inner = 100L, inner_tol = 1e-8),
                 "random start" = list(init = "random"),
                 "random start, inner 100, tol 1e-8" = list(init = "random", inner = 100L, inner_tol = 1e-8))
fit <- function(s, k, ctl) {
  init <- if (is.null(ctl$init)) NULL else ctl$init
  ctl$init <- NULL
  suppressWarnings(betanmf::nmf(s$x, s$rank, maxit = k, tol = 0, seed = 1, threads = 1, init = init, control = ctl))
}
for (nm in names(sets)) {
  s <- sets[[nm]]
  final <- vapply(settings, function(ctl) fit(s, 2000, ctl)$loss, 0) # where each setting ends
  best <- min(final)
  ks <- lapply(settings, function(ctl) {
    l <- vapply(1:100, function(k) fit(s, k, ctl)$loss, 0)
    c(k1 = which(l <= 1.01 * best)[1], k01 = which(l <= 1.001 * best)[1])
  })
  tt <- matrix(NA_real_, length(settings), repeats)
  for (r in seq_len(repeats)) for (j in seq_along(settings)) {
    k <- ks[[j]][["k1"]]
    if (is.na(k)) k <- 100L # never within 1 %: the time of 100 iterations
    gc(FALSE); t0 <- proc.time()[["elapsed"]]
    for (z in 1:5) fit(s, k, settings[[j]])
    tt[j, r] <- (proc.time()[["elapsed"]] - t0) / 5
  }
  cat(sprintf("\n%s (best loss %.8g)\n", nm, best))
  print(data.frame(setting = names(settings), maxit_1pct = vapply(ks, `[[`, 0, "k1"),
                   maxit_0.1pct = vapply(ks, `[[`, 0, "k01"), ms_to_1pct = signif(1000 * apply(tt, 1, median), 3),
                   final_over_best = signif(final / best, 7)),
        row.names = FALSE)
}
