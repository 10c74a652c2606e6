# Per-iteration cost of convolutive NMF (nmf_conv(), issue 27) on sparse
# spike counts: the issue asks for a cost proportional to nnz * rank * lags
# at beta = 1 (src/conv.c needs the model only at the non-zeros there).
#
#   R CMD INSTALL --preclean --library=$LIB . && rm -f src/*.o src/*.so
#   R_LIBS=$LIB Rscript bench/conv.R        (or BENCH_ONLY=conv bash bench/run.sh)
#
# 2000 neurons x 5000 bins of Poisson counts at three densities (0.5, 2 and
# 8 % non-zero), rank 5 and lags 20, plus rank 10 and lags 40 at 2 %; a fixed
# number of iterations (tol = 0) from the same random start, threads = 1.
# The cases are timed interleaved (each of BENCH_REPEATS repeats runs every
# case in turn, so the machine's drift over minutes spreads over all of
# them); printed: per case the non-zeros, the seconds per iteration (best of
# the repeats) and the nanoseconds per nnz * rank * lags, which stays about
# constant when the cost is proportional to it (the O((m + n) rank lags)
# denominators add a little at the lowest density). beta != 1 forms the
# model densely, O(m n rank lags) per iteration, and is not shown.

source(file.path("bench", "common.R"))
suppressPackageStartupMessages(library(Matrix))
iters <- as.integer(Sys.getenv("CONV_ITERS", if (quick) "3" else "10"))
m <- if (quick) 200L else 2000L
n <- if (quick) 500L else 5000L
make_counts <- function(density, seed) {
  set.seed(seed)
  nnz <- round(density * m * n)
  cells <- sample.int(m * n, nnz)
  sparseMatrix(i = (cells - 1L) %% m + 1L, j = (cells - 1L) %/% m + 1L, x = rpois(nnz, 1) + 1, dims = c(m, n))
}
sets <- list("0.5%" = make_counts(0.005, 1), "2%" = make_counts(0.02, 2), "8%" = make_counts(0.08, 3))
cases <- list(
  list(set = "0.5%", rank = 5, lags = 20, beta = 1),
  list(set = "2%", rank = 5, lags = 20, beta = 1),
  list(set = "8%", rank = 5, lags = 20, beta = 1),
  list(set = "2%", rank = 10, lags = 20, beta = 1),
  list(set = "2%", rank = 5, lags = 40, beta = 1)
)
fit_time <- function(cs) {
  x <- sets[[cs$set]]
  system.time(suppressWarnings(nmf_conv(x, cs$rank, cs$lags, beta = cs$beta, seed = 1, maxit = iters, tol = 0,
                                        threads = 1)))[["elapsed"]]
}
for (cs in cases) fit_time(utils::modifyList(cs, list(lags = 2))) # warm up
tm <- matrix(NA_real_, repeats, length(cases))
for (k in seq_len(repeats)) for (j in seq_along(cases)) tm[k, j] <- fit_time(cases[[j]])
cat(sprintf("nmf_conv on sparse %d x %d counts, %d iterations, threads = 1, best of %d repeats\n", m, n, iters,
            repeats))
cat(sprintf("%-6s %5s %5s %5s %9s %10s %12s\n", "dens.", "beta", "rank", "lags", "nnz", "s / iter", "ns / nnz k L"))
for (j in seq_along(cases)) {
  cs <- cases[[j]]
  nnz <- length(sets[[cs$set]]@x)
  per <- min(tm[, j]) / iters
  cat(sprintf("%-6s %5g %5d %5d %9d %10.4f %12.2f\n", cs$set, cs$beta, cs$rank, cs$lags, nnz, per,
              1e9 * per / (nnz * cs$rank * cs$lags)))
}
