# A first benchmark yardstick for betanmf (run it with `bash bench/run.sh`).
#
# Two problems:
#   dense : 2000 x 2000, rank 20, low rank plus Gaussian noise (clipped at 0)
#   sparse: 20000 x 3000 Poisson counts from a rank-10 model, about 5 % non-zero
#           (a Matrix::dgCMatrix)
# Methods, all single-threaded:
#   beta = 2: betanmf HALS, RcppML::nmf (alternating NNLS)
#   beta = 1: betanmf MU, NMF::nmf(method = "brunet") (dense only: NMF densifies)
# and, as the floor no iteration can beat, R's %*% for the two products with X
# that every iteration needs: X %*% t(H) and t(W) %*% X.
#
# Every loss is computed here, by one formula, from the factors each method
# returns (RcppML's model is w %*% diag(d) %*% h), so the packages' own loss
# definitions and stopping rules do not enter.
#
# Figures:
#   per iter  median over `repeats` of (T(n2) - T(n1)) / (n2 - n1): the cost of
#             one iteration without the setup (initialisation, copies)
#   setup     median T(n1) - n1 * per iter
#   to 1 %    time of the shortest run (from a grid of maxit, each a fresh
#             start from the same seed) whose loss is within 1 % of the best
#             loss any method reached on that problem and beta; "-" = not
#             within the grid (also given for 0.1 %, CPU time)
# Times are elapsed seconds, with the CPU seconds (user + system) next to them:
# on a shared machine elapsed time includes waiting for a core, CPU time of a
# single-threaded method does not.
#
# BENCH_QUICK=1 shrinks everything for a smoke test (minutes -> seconds).

# packages, peers, BENCH_QUICK, repeats and one thread for every peer; then
# the data generators, loss() and timed(), shared with the other script
source("bench/common.R")
options(width = 200)
Sys.setenv(OMP_NUM_THREADS = "1")

## ---------------------------------------------------------------- data ----


## ------------------------------------------------------------- methods ----
# Each takes (x, rank, maxit) and returns list(w, h) with x ~ w %*% h after
# exactly `maxit` iterations (tolerances set so that nothing stops early).

methods <- list(
  betanmf_hals = list(beta = 2, label = "betanmf HALS", fun = function(x, rank, maxit) {
    fit <- suppressWarnings(betanmf::nmf(x, rank, beta = 2, solver = "hals", maxit = maxit,
                                         tol = 0, seed = 1, threads = 1))
    list(w = fit$w, h = fit$h, iterations = fit$iterations, loss = fit$loss)
  }),
  rcppml = list(beta = 2, label = "RcppML::nmf", fun = function(x, rank, maxit) {
    fit <- RcppML::nmf(x, rank, tol = 1e-300, maxit = maxit, verbose = FALSE, seed = 1)
    list(w = sweep(fit$w, 2, fit$d, "*"), h = fit$h, iterations = fit$iter)
  }),
  betanmf_mu = list(beta = 1, label = "betanmf MU", fun = function(x, rank, maxit) {
    fit <- suppressWarnings(betanmf::nmf(x, rank, beta = 1, solver = "mu", maxit = maxit,
                                         tol = 0, seed = 1, threads = 1))
    list(w = fit$w, h = fit$h, iterations = fit$iterations, loss = fit$loss)
  }),
  nmf_brunet = list(beta = 1, label = "NMF brunet", dense_only = TRUE, fun = function(x, rank, maxit) {
    fit <- NMF::nmf(x, rank, method = "brunet", seed = 1,
                    .stop = NMF::nmf.stop.iteration(maxit))
    list(w = NMF::basis(fit), h = NMF::coef(fit), iterations = NMF::niter(fit))
  })
)


## ------------------------------------------------------------ problems ----

problems <- if (quick) {
  list(
    dense = list(x = make_dense(300, 300, 5, 1), rank = 5,
                 grid = list(betanmf_hals = c(5, 10, 20), rcppml = c(5, 10, 20),
                             betanmf_mu = c(10, 20, 40), nmf_brunet = c(10, 20)),
                 per_iter = list(betanmf_hals = c(5, 15), rcppml = c(5, 15),
                                 betanmf_mu = c(10, 30), nmf_brunet = c(5, 15))),
    sparse = list(x = make_sparse(2000, 300, 5, 0.05, 2), rank = 5,
                  grid = list(betanmf_hals = c(5, 10, 20), rcppml = c(5, 10, 20),
                              betanmf_mu = c(10, 20, 40)),
                  per_iter = list(betanmf_hals = c(5, 15), rcppml = c(5, 15),
                                  betanmf_mu = c(10, 30)))
  )
} else {
  list(
    dense = list(x = make_dense(2000, 2000, 20, 1), rank = 20,
                 grid = list(betanmf_hals = c(5, 10, 15, 20, 30, 50, 80, 120),
                             rcppml = c(5, 10, 15, 20, 30, 50, 80),
                             betanmf_mu = c(10, 20, 40, 80, 160, 320, 640),
                             nmf_brunet = c(10, 20, 40, 80, 160)),
                 per_iter = list(betanmf_hals = c(5, 25), rcppml = c(5, 25),
                                 betanmf_mu = c(10, 40), nmf_brunet = c(5, 20))),
    sparse = list(x = make_sparse(20000, 3000, 10, 0.05, 2), rank = 10,
                  grid = list(betanmf_hals = c(5, 10, 15, 20, 30, 50, 80, 120),
                              rcppml = c(5, 10, 15, 20, 30, 50, 80, 120),
                              betanmf_mu = c(10, 20, 40, 80, 160, 320)),
                  per_iter = list(betanmf_hals = c(5, 25), rcppml = c(5, 25),
                                  betanmf_mu = c(10, 40)))
  )
}

median_of <- function(x) stats::median(unlist(x))

cat(sprintf("BLAS:    %s\nLAPACK:  %s\nthreads: 1 (betanmf threads = 1, RcppML::setRcppMLthreads(1), NMF sequential, OMP_NUM_THREADS=1)\n",
            sessionInfo()$BLAS, sessionInfo()$LAPACK))
cat(sprintf("cores:   %d; versions: betanmf %s, RcppML %s, NMF %s, Matrix %s, %s\n",
            parallel::detectCores(), packageVersion("betanmf"), packageVersion("RcppML"),
            packageVersion("NMF"), packageVersion("Matrix"), R.version.string))
cat(sprintf("repeats: %d (medians)%s\n\n", repeats, if (quick) "  [BENCH_QUICK]" else ""))

rows <- list()
for (pname in names(problems)) {
  prob <- problems[[pname]]
  x <- prob$x
  rank <- prob$rank
  cat(sprintf("== %s: %d x %d, rank %d, %s, %.1f%% non-zero\n", pname, nrow(x), ncol(x), rank,
              class(x)[1], 100 * (if (inherits(x, "sparseMatrix")) length(x@x) else sum(x > 0)) / prod(dim(x))))

  # The floor: the two products with X one iteration cannot avoid.
  set.seed(3)
  w0 <- matrix(runif(nrow(x) * rank), nrow(x), rank)
  h0 <- matrix(runif(rank * ncol(x)), rank, ncol(x))
  xht <- replicate(max(5L, repeats), unlist(timed(x %*% t(h0))[c("elapsed", "cpu")]))
  wtx <- replicate(max(5L, repeats), unlist(timed(t(w0) %*% x)[c("elapsed", "cpu")]))
  blas <- c(elapsed = median(xht["elapsed", ]) + median(wtx["elapsed", ]),
            cpu = median(xht["cpu", ]) + median(wtx["cpu", ]))
  cat(sprintf("   X %%*%% t(H): %.3f s   t(W) %%*%% X: %.3f s   (elapsed medians)\n",
              median(xht["elapsed", ]), median(wtx["elapsed", ])))
  rows[[length(rows) + 1]] <- data.frame(
    problem = pname, beta = NA, method = "R %*% X H' + W'X", per_iter = blas[["elapsed"]],
    per_iter_cpu = blas[["cpu"]], setup = NA, iters = NA, to_1pct = NA, to_1pct_cpu = NA,
    to_01pct_cpu = NA,
    final_loss = NA, vs_best = NA)

  results <- list()
  for (mname in names(prob$grid)) {
    meth <- methods[[mname]]
    if (isTRUE(meth$dense_only) && inherits(x, "sparseMatrix")) next
    # per-iteration cost
    n12 <- prob$per_iter[[mname]]
    reps <- lapply(seq_len(repeats), function(r) {
      a <- timed(meth$fun(x, rank, n12[1]))
      b <- timed(meth$fun(x, rank, n12[2]))
      c(elapsed1 = a$elapsed, elapsed2 = b$elapsed, cpu1 = a$cpu, cpu2 = b$cpu)
    })
    reps <- do.call(rbind, reps)
    per_iter <- median((reps[, "elapsed2"] - reps[, "elapsed1"]) / diff(n12))
    per_iter_cpu <- median((reps[, "cpu2"] - reps[, "cpu1"]) / diff(n12))
    setup <- median(reps[, "elapsed1"]) - n12[1] * per_iter
    # loss against time: fresh runs with increasing maxit
    grid <- lapply(prob$grid[[mname]], function(k) {
      r <- timed(meth$fun(x, rank, k))
      own <- loss(x, r$value$w, r$value$h, meth$beta)
      if (!is.null(r$value$loss) && abs(r$value$loss / own - 1) > 1e-6) {
        cat(sprintf("   ! %s maxit %d: package loss %.8g, bench loss %.8g\n",
                    meth$label, k, r$value$loss, own))
      }
      if (!is.null(r$value$iterations) && r$value$iterations != k) {
        cat(sprintf("   ! %s maxit %d ran %d iterations\n", meth$label, k, r$value$iterations))
      }
      data.frame(maxit = k, elapsed = r$elapsed, cpu = r$cpu, loss = own)
    })
    grid <- do.call(rbind, grid)
    cat(sprintf("   %-13s per iter %.4f s (cpu %.4f), setup %.2f s; loss by maxit: %s\n",
                meth$label, per_iter, per_iter_cpu, setup,
                paste(sprintf("%d:%.6g", grid$maxit, grid$loss), collapse = " ")))
    results[[mname]] <- list(beta = meth$beta, label = meth$label, per_iter = per_iter,
                             per_iter_cpu = per_iter_cpu, setup = setup, grid = grid)
  }

  for (beta in c(2, 1)) {
    these <- Filter(function(r) r$beta == beta, results)
    best <- min(vapply(these, function(r) min(r$grid$loss), numeric(1)))
    for (r in these) {
      hit <- which(r$grid$loss <= 1.01 * best)[1]
      hit01 <- which(r$grid$loss <= 1.001 * best)[1]
      rows[[length(rows) + 1]] <- data.frame(
        problem = pname, beta = beta, method = r$label, per_iter = r$per_iter,
        per_iter_cpu = r$per_iter_cpu, setup = r$setup,
        iters = if (is.na(hit)) NA else r$grid$maxit[hit],
        to_1pct = if (is.na(hit)) NA else r$grid$elapsed[hit],
        to_1pct_cpu = if (is.na(hit)) NA else r$grid$cpu[hit],
        to_01pct_cpu = if (is.na(hit01)) NA else r$grid$cpu[hit01],
        final_loss = tail(r$grid$loss, 1), vs_best = tail(r$grid$loss, 1) / best - 1)
    }
  }
  cat("\n")
}

tab <- do.call(rbind, rows)
fmt <- function(v, d) ifelse(is.na(v), "-", formatC(v, format = "f", digits = d))
out <- data.frame(
  problem = tab$problem, beta = ifelse(is.na(tab$beta), "", tab$beta), method = tab$method,
  "s/iter" = fmt(tab$per_iter, 4), "cpu s/iter" = fmt(tab$per_iter_cpu, 4),
  "setup s" = fmt(tab$setup, 2), "iters to 1%" = ifelse(is.na(tab$iters), "-", tab$iters),
  "s to 1%" = fmt(tab$to_1pct, 2), "cpu s to 1%" = fmt(tab$to_1pct_cpu, 2),
  "cpu s to 0.1%" = fmt(tab$to_01pct_cpu, 2),
  "final loss" = ifelse(is.na(tab$final_loss), "-", formatC(tab$final_loss, format = "g", digits = 7)),
  "vs best" = ifelse(is.na(tab$vs_best), "-", sprintf("%+.3f%%", 100 * tab$vs_best)),
  check.names = FALSE)
cat("== results (medians; 'to 1%' = first grid run within 1% of the best loss on that problem and beta)\n")
print(out, row.names = FALSE, right = FALSE)

ratio <- function(p, a, b, col) {
  va <- tab[tab$problem == p & tab$method == a, col]
  vb <- tab[tab$problem == p & tab$method == b, col]
  if (length(va) != 1 || length(vb) != 1 || is.na(va) || is.na(vb)) return("-")
  sprintf("%.2f", va / vb)
}
pairs <- list(c("betanmf HALS", "RcppML::nmf"), c("betanmf MU", "NMF brunet"),
              c("betanmf HALS", "R %*% X H' + W'X"), c("betanmf MU", "R %*% X H' + W'X"),
              c("RcppML::nmf", "R %*% X H' + W'X"))
cat("\n== ratios measured in this run (< 1: the first is faster)\n")
rat <- do.call(rbind, lapply(names(problems), function(p) do.call(rbind, lapply(pairs, function(pr) {
  data.frame(problem = p, ratio = paste(pr[1], "/", pr[2]),
             "s/iter" = ratio(p, pr[1], pr[2], "per_iter"),
             "cpu s/iter" = ratio(p, pr[1], pr[2], "per_iter_cpu"),
             "s to 1%" = if (grepl("%\\*%", pr[2])) "-" else ratio(p, pr[1], pr[2], "to_1pct"),
             "cpu s to 1%" = if (grepl("%\\*%", pr[2])) "-" else ratio(p, pr[1], pr[2], "to_1pct_cpu"),
             check.names = FALSE)
}))))
rat <- rat[!(rat$`s/iter` == "-" & rat$`s to 1%` == "-"), ]
print(rat, row.names = FALSE, right = FALSE)
