# Sparse beta = 1 before and after issue 22, item 7: solver = "auto" used to
# pick multiplicative updates (MU) on a dgCMatrix and now picks coordinate
# descent (CD), as on dense data, so that storage never changes the answer.
# Both solvers are in the same build, so "before" is solver = "mu" (with its
# default start, "nndsvds") and "after" solver = "cd" (NNDSVDa), measured in
# the same run, interleaved.
#
# Data: Poisson counts of a rank-10 model, 20000 x 3000, 5 % non-zero (the
# sparse set of bench/targets.R) and 0.5 % non-zero; fits at rank 10.
#
#   1. Reference fits (untimed, the loss at every iteration): MU for
#      SPARSE_KL_MU_ITERS (400) and CD for SPARSE_KL_CD_ITERS (100)
#      iterations.  The best loss is the lowest either reached; for each
#      solver, the iterations it needed to come within 1 % (and 0.1 %) of it.
#   2. Timed (BENCH_REPEATS, default 3, each repeat runs every contender in
#      turn): a fresh fit of exactly those iterations (tol = 0, the default
#      loss checks), set-up and initialisation included -- the time to 1 %
#      of the best loss -- and a 1-iteration fit, for the seconds per
#      iteration ((T(k) - T(1)) / (k - 1)).  Medians over repeats.
#   3. Peak memory of a 5-iteration fit in a fresh Rscript each (VmHWM reset
#      after reading x): (peak RSS - R's baseline) / (dgCMatrix + factors),
#      the measure of issue 6's target 7.
#
#   BENCH_ONLY=sparse_kl bash bench/run.sh     (about 5 minutes)
#   BENCH_QUICK=1: 3000 x 500 sets, one repeat (smoke test)

suppressPackageStartupMessages({
  library(Matrix)
  library(betanmf)
})
options(width = 200, warn = 1)
Sys.setenv(OMP_NUM_THREADS = "1", OPENBLAS_NUM_THREADS = "1")
quick <- nzchar(Sys.getenv("BENCH_QUICK"))
repeats <- as.integer(Sys.getenv("BENCH_REPEATS", if (quick) 1L else 3L))
mu_iters <- as.integer(Sys.getenv("SPARSE_KL_MU_ITERS", if (quick) 100L else 400L))
cd_iters <- as.integer(Sys.getenv("SPARSE_KL_CD_ITERS", if (quick) 40L else 100L))
# make_sparse (Poisson counts at a given density) and loss(), the benchmark's
# own beta-divergence from the returned factors, from bench/common.R (not
# sourced whole: it needs the peers, RcppML and NMF, which this script does not)
src <- readLines("bench/common.R")
eval(parse(text = src[grep("^make_sparse <- ", src):(grep("^timed <- ", src) - 1L)]))
t_start <- proc.time()[["elapsed"]]
stamp <- function(...) cat(sprintf("[%5.0f s] ", proc.time()[["elapsed"]] - t_start), ..., "\n", sep = "")

dims <- if (quick) c(3000, 500) else c(20000, 3000)
rank <- 10
solvers <- c(MU = "mu", CD = "cd")
fit_k <- function(x, solver, k, check = NULL) {
  ctl <- if (is.null(check)) list() else list(check = check)
  suppressWarnings(nmf(x, rank, beta = 1, solver = solver, seed = 1, maxit = k, tol = 0, control = ctl))
}
elapsed <- function(expr) {
  gc(FALSE)
  t0 <- proc.time()[["elapsed"]]
  force(expr)
  proc.time()[["elapsed"]] - t0
}

mem_script <- tempfile("sparse-kl-mem-", fileext = ".R")
writeLines(c(
  sprintf(".libPaths(c(%s, .libPaths()))", deparse(.libPaths()[1])),
  "suppressPackageStartupMessages({library(Matrix); library(betanmf)})",
  "kb <- function(f) as.numeric(sub('kB', '', sub('.*:', '', grep(paste0('^', f), readLines('/proc/self/status'), value = TRUE))))",
  "a <- commandArgs(TRUE)",
  "invisible(gc()); base <- kb('VmRSS')",
  "x <- readRDS(a[1]); invisible(gc())",
  "cat('5', file = '/proc/self/clear_refs')  # reset VmHWM to the current RSS",
  "f <- suppressWarnings(nmf(x, 10, beta = 1, solver = a[2], maxit = 5, tol = 0, seed = 1))",
  "peak <- kb('VmHWM')",
  "cat(base, peak, as.numeric(object.size(x)) / 1024, as.numeric(object.size(f$w) + object.size(f$h)) / 1024, '\\n')"),
  mem_script)

rows <- list()
for (density in c(0.05, 0.005)) {
  x <- make_sparse(dims[1], dims[2], rank, density, 2)
  sname <- sprintf("%d x %d, %.1f%% (nnz %d)", nrow(x), ncol(x), 100 * density, length(x@x))
  stamp("== ", sname, ", rank ", rank)
  # 1. reference traces
  tr <- list()
  for (s in names(solvers)) {
    k <- if (s == "MU") mu_iters else cd_iters
    f <- fit_k(x, solvers[[s]], k, check = 1)
    tr[[s]] <- f$trace$loss # tr[i] is the loss after i - 1 iterations
    stamp(sprintf("   %s reference: %d iterations, loss %.8g", s, k, tail(tr[[s]], 1)))
  }
  best <- min(vapply(tr, min, 0))
  hit <- function(l, eps) { i <- which(l <= (1 + eps) * best)[1]; if (is.na(i)) NA_integer_ else max(1L, i - 1L) }
  k1 <- vapply(tr, hit, 0L, eps = 0.01)
  k01 <- vapply(tr, hit, 0L, eps = 0.001)
  # 2. timed, interleaved
  t1 <- t01 <- tone <- matrix(NA_real_, length(solvers), repeats, dimnames = list(names(solvers), NULL))
  for (r in seq_len(repeats)) for (s in names(solvers)) {
    tone[s, r] <- elapsed(fit_k(x, solvers[[s]], 1))
    if (!is.na(k1[[s]])) {
      t1[s, r] <- elapsed(f <- fit_k(x, solvers[[s]], k1[[s]]))
      l <- loss(x, f$w, f$h, 1)
      if (l > 1.01 * best * (1 + 1e-9)) cat(sprintf("   ! %s after %d iterations: loss %.8g above the 1 %% target\n", s, k1[[s]], l))
    }
    if (!is.na(k01[[s]])) t01[s, r] <- elapsed(fit_k(x, solvers[[s]], k01[[s]]))
  }
  med <- function(v) if (all(is.na(v))) NA_real_ else stats::median(v, na.rm = TRUE)
  for (s in names(solvers)) {
    s_iter <- if (!is.na(k1[[s]]) && k1[[s]] > 1) med((t1[s, ] - tone[s, ]) / (k1[[s]] - 1)) else NA_real_
    rows[[length(rows) + 1]] <- data.frame(
      set = sname, solver = s, "iters to 1%" = k1[[s]], "s to 1%" = med(t1[s, ]),
      "iters to 0.1%" = k01[[s]], "s to 0.1%" = med(t01[s, ]), "s/iter" = s_iter,
      "1-iter fit s" = med(tone[s, ]), "final loss / best" = tail(tr[[s]], 1) / best, check.names = FALSE)
  }
  # 3. memory, fresh process each
  rds <- tempfile("sparse-kl-", fileext = ".rds")
  saveRDS(x, rds, compress = FALSE)
  for (s in names(solvers)) {
    o <- system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", mem_script, rds, solvers[[s]]), stdout = TRUE)
    v <- as.numeric(strsplit(trimws(tail(o, 1)), " +")[[1]])
    i <- length(rows) - length(solvers) + match(s, names(solvers))
    rows[[i]][["peak - base MB"]] <- (v[2] - v[1]) / 1024
    rows[[i]][["dgC MB"]] <- v[3] / 1024
    rows[[i]][["mem ratio"]] <- (v[2] - v[1]) / (v[3] + v[4])
  }
  unlink(rds)
  rm(x); invisible(gc(FALSE))
}
res <- do.call(rbind, rows)
cat("\n== sparse beta = 1, rank ", rank, ": MU (the old auto choice) against CD (the new), ", repeats,
    " interleaved repeats, medians; times include set-up and initialisation\n", sep = "")
print(res, row.names = FALSE, right = FALSE, digits = 4)
cat("\n== ratios CD / MU (below 1: CD faster)\n")
# a solver that never came within 0.1 % in its reference iterations gets the
# time of all of them (1-iteration fit + iterations x s/iter) as a bound
ratio_text <- function(a, b, col, iters) {
  ta <- a[[col]]; tb <- b[[col]]
  if (!is.na(ta) && !is.na(tb)) return(sprintf("%.2f", tb / ta))
  if (is.na(ta) && is.na(tb)) return("- (neither within)")
  if (is.na(ta)) return(sprintf("< %.2f (MU not within in %d iterations)", tb / (a[["1-iter fit s"]] + iters[1] * a[["s/iter"]]), iters[1]))
  sprintf("> %.2f (CD not within in %d iterations)", (b[["1-iter fit s"]] + iters[2] * b[["s/iter"]]) / ta, iters[2])
}
for (sname in unique(res$set)) {
  a <- res[res$set == sname & res$solver == "MU", ]
  b <- res[res$set == sname & res$solver == "CD", ]
  cat(sprintf("%-36s time to 1 %%: %s   time to 0.1 %%: %s   s/iter: %.2f   peak memory above R: %.2f\n", sname,
              ratio_text(a, b, "s to 1%", c(mu_iters, cd_iters)), ratio_text(a, b, "s to 0.1%", c(mu_iters, cd_iters)),
              b[["s/iter"]] / a[["s/iter"]], b[["peak - base MB"]] / a[["peak - base MB"]]))
}
unlink(mem_script)
stamp("done")
