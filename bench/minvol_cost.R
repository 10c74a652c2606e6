# Per-iteration cost of minimum-volume NMF (nmf(..., volume > 0), issue 26)
# against plain MU at the same beta, on two benchmark sets of common.R:
# the 5000 x 38 expression matrix at rank 3 (MU's fused update of small
# ranks) and the 96 x 1000 catalog at rank 8 (the blocked update).
#
#   R CMD INSTALL --preclean --library=$LIB . && rm -f src/*.o src/*.so
#   R_LIBS=$LIB Rscript bench/minvol_cost.R
#
# Both fits run a fixed number of iterations (tol = 0) from the same random
# start with threads = 1; the two are timed interleaved (each of
# BENCH_REPEATS repeats runs both in turn) and the ratio is taken per repeat,
# so the machine's drift over minutes cancels. Printed: per set and beta,
# the seconds per iteration of each (best of the repeats) and the median
# ratio min-vol / MU with its range.

source(file.path("bench", "common.R"))
iters <- as.integer(Sys.getenv("MINVOL_ITERS", if (quick) "20" else "200"))
sets <- list(expr = list(x = make_expr(5000, 38, 3, 11), rank = 3),
             catalog = list(x = make_catalog(96, 1000, 8, 12), rank = 8))
fit_time <- function(x, rank, beta, volume) {
  system.time(suppressWarnings(nmf(x, rank, beta = beta, solver = "mu", init = "random", seed = 1,
                                   maxit = iters, tol = 0, threads = 1, volume = volume)))[["elapsed"]]
}
out <- list()
for (nm in names(sets)) for (beta in c(1, 1.5)) {
  s <- sets[[nm]]
  fit_time(s$x, s$rank, beta, 0.01) # warm up
  tm <- matrix(NA_real_, repeats, 2, dimnames = list(NULL, c("mu", "minvol")))
  for (k in seq_len(repeats)) {
    tm[k, "mu"] <- fit_time(s$x, s$rank, beta, 0)
    tm[k, "minvol"] <- fit_time(s$x, s$rank, beta, 0.01)
  }
  ratio <- tm[, "minvol"] / tm[, "mu"]
  out[[length(out) + 1L]] <- data.frame(set = nm, dims = paste(dim(s$x), collapse = " x "), rank = s$rank,
                                        beta = beta, mu_ms_per_it = 1000 * min(tm[, "mu"]) / iters,
                                        minvol_ms_per_it = 1000 * min(tm[, "minvol"]) / iters,
                                        ratio_median = stats::median(ratio), ratio_min = min(ratio),
                                        ratio_max = max(ratio))
}
res <- do.call(rbind, out)
cat(sprintf("%d iterations per fit, %d interleaved repeats, threads = 1\n", iters, repeats))
print(format(res, digits = 3), row.names = FALSE)
