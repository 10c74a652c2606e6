# Bit-for-bit comparison of two builds of betanmf (issue 23, the driver).
# Run once per library, then compare:
#   R_LIBS=/tmp/lib-base23 Rscript tools/identity-grid.R /tmp/base.rds
#   R_LIBS=/tmp/lib-new    Rscript tools/identity-grid.R /tmp/new.rds
#   Rscript tools/identity-grid.R --compare /tmp/base.rds /tmp/new.rds
# The grid: every solver, beta in {0, 0.5, 1, 1.5, 2, 3}, dense, sparse and
# masked (dense and sparse), ranks 1, 3, 4, 8, 13, 20, 33, 35, both kernel
# builds, predict(), nrun = 2, a dense matrix of 2^20 entries (HALS's fused
# pass) and the environment switches BETANMF_NOFUSE, BETANMF_FUSE,
# BETANMF_BLAS.
args <- commandArgs(TRUE)
if (length(args) == 3 && args[1] == "--compare") {
  a <- readRDS(args[2]); b <- readRDS(args[3])
  stopifnot(identical(names(a), names(b)))
  fields <- c("w", "h", "loss", "trace", "iterations", "converged", "runs", "value", "error")
  bad <- character(0)
  for (k in names(a)) for (f in fields) {
    if (!identical(a[[k]][[f]], b[[k]][[f]])) bad <- c(bad, paste(k, f))
  }
  cat(sprintf("%d cases, %d fields compared; %d differ\n", length(a), length(a) * length(fields), length(bad)))
  if (length(bad)) { cat(bad, sep = "\n"); quit(status = 1) }
  quit(status = 0)
}
suppressPackageStartupMessages({ library(betanmf); library(Matrix) })
cat("betanmf from", find.package("betanmf"), "\n")
out <- list()
keep <- function(key, expr) {
  res <- tryCatch(expr, error = function(e) list(error = conditionMessage(e)))
  if (inherits(res, "nmf_fit")) {
    res <- list(w = res$w, h = res$h, loss = res$loss, trace = res$trace, iterations = res$iterations,
                converged = res$converged, runs = res$runs)
  } else if (!is.list(res) || is.null(res$error)) res <- list(value = res)
  out[[key]] <<- res
}
set.seed(23)
m <- 60; n <- 50
w0 <- matrix(rexp(m * 5), m, 5); h0 <- matrix(rexp(5 * n), 5, n)
counts <- matrix(rpois(m * n, w0 %*% h0), m, n)           # zeros included
pos <- matrix(rgamma(m * n, 2) * (w0 %*% h0) / 2 + 0.01, m, n) # positive
mask <- matrix(runif(m * n) < 0.1, m, n)
ranks <- c(1, 3, 4, 8, 13, 20, 33, 35)
cases <- list(
  list(solver = "hals", beta = 2), list(solver = "cd", beta = 1),
  list(solver = "mu", beta = 0), list(solver = "mu", beta = 0.5), list(solver = "mu", beta = 1),
  list(solver = "mu", beta = 1.5), list(solver = "mu", beta = 2), list(solver = "mu", beta = 3),
  list(solver = "auto", beta = 1), list(solver = "auto", beta = 2)
)
for (base in c(FALSE, TRUE)) {
  betanmf:::simd_baseline(base)
  for (cs in cases) for (st in c("dense", "sparse", "dmask", "smask")) for (r in ranks) {
    if (cs$solver == "cd" && st %in% c("dmask", "smask")) next
    x <- if (cs$beta <= 0) pos else counts
    if (st %in% c("sparse", "smask")) x <- as(x, "CsparseMatrix")
    msk <- if (st %in% c("dmask", "smask")) mask else NULL
    key <- sprintf("simd%d %s b%g %s r%d", base, cs$solver, cs$beta, st, r)
    keep(key, nmf(x, r, beta = cs$beta, solver = cs$solver, mask = msk, seed = 1, maxit = 25,
                  tol = if (r %% 2) 0 else 1e-4, threads = 1 + (r %% 2)))
  }
  # predict with W fixed (CD, MU, HALS), dense and sparse newdata
  for (cs in list(list("cd", 1), list("mu", 1), list("mu", 0.5), list("mu", 2), list("hals", 2), list("mu", 3)))
    for (r in c(1, 4, 8, 33)) for (st in c("dense", "sparse")) {
      fit <- nmf(counts[, 1:40], r, beta = cs[[2]], solver = cs[[1]], seed = 2, maxit = 15)
      nd <- counts[, 41:50]
      if (st == "sparse") nd <- as(nd, "CsparseMatrix")
      keep(sprintf("simd%d predict %s b%g %s r%d", base, cs[[1]], cs[[2]], st, r), predict(fit, newdata = nd))
    }
  # restarts
  for (cs in cases[c(1, 2, 5, 4)]) keep(sprintf("simd%d nrun2 %s b%g", base, cs$solver, cs$beta),
       nmf(counts, 4, beta = cs$beta, solver = cs$solver, nrun = 2, seed = 3, maxit = 20))
  # signature refitting
  keep(sprintf("simd%d refit", base), {
    f <- fit_signatures(counts[1:60, 1:8], w0, beta = 1)
    unclass(f)[c("exposures")]
  })
}
betanmf:::simd_baseline(FALSE)
# large dense: HALS's one-pass update from 2^20 entries; MU's fused rank <= 4
set.seed(5)
big <- matrix(rpois(1024 * 1024, 2), 1024, 1024)
for (r in c(1, 3, 5, 20)) keep(sprintf("big hals r%d", r), nmf(big, r, beta = 2, seed = 1, maxit = 4, tol = 0, threads = 2))
keep("big mu r3", nmf(big, 3, beta = 1, solver = "mu", seed = 1, maxit = 3, tol = 0, threads = 2))
keep("big cd r3", nmf(big, 3, beta = 1, solver = "cd", seed = 1, maxit = 2, tol = 0, threads = 2))
# environment switches
envs <- list(NOFUSE = c(BETANMF_NOFUSE = "1"), FUSE = c(BETANMF_FUSE = "1"), BLAS = c(BETANMF_BLAS = "1"),
             BLAS_FUSE = c(BETANMF_BLAS = "1", BETANMF_FUSE = "1"))
for (e in names(envs)) {
  do.call(Sys.setenv, as.list(envs[[e]]))
  for (cs in cases[1:8]) for (st in c("dense", "sparse", "dmask")) for (r in c(1, 3, 4, 8, 33)) {
    if (cs$solver == "cd" && st == "dmask") next
    x <- if (cs$beta <= 0) pos else counts
    if (st == "sparse") x <- as(x, "CsparseMatrix")
    keep(sprintf("env%s %s b%g %s r%d", e, cs$solver, cs$beta, st, r),
         nmf(x, r, beta = cs$beta, solver = cs$solver, mask = if (st == "dmask") mask else NULL,
             seed = 1, maxit = 15, tol = 0, threads = 2))
  }
  keep(sprintf("env%s big hals r5", e), nmf(big, 5, beta = 2, seed = 1, maxit = 3, tol = 0, threads = 2))
  keep(sprintf("env%s predict", e), predict(nmf(counts, 3, beta = 1, seed = 1, maxit = 10), newdata = counts[, 1:7]))
  Sys.unsetenv(names(envs[[e]]))
}
saveRDS(out, args[1])
cat(length(out), "cases saved to", args[1], "\n")
