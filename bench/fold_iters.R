# Iterations of the rank survey's fold fits (issue 28): the plain solver
# against the ways of stopping sooner that were tried, on the folds of the
# 96 x 300 catalog survey of bench/survey.R (planted rank 6, beta = 1,
# coordinate descent, maxit 1000, tol 1e-5, check 5), one random start per
# (rank, fold). Counts, not timings: they do not depend on the machine's load.
#
#   R_LIBS=<lib with betanmf> Rscript --vanilla bench/fold_iters.R
#
# BENCH_VARIANTS (e.g. "plain,check") runs some of the variants only;
# BENCH_SEED (default 0) shifts the seeds of the folds' masks and starts.
#
# Per variant and rank: the iterations (mean over the folds), the loss
# evaluations, and the held-out error (mean and sd across folds, scored as
# nmf_rank() scores it). The variants, each an R loop around the driver's
# own iterations (run_solver() with maxit = 1 or 5 and tol = 0: the solvers
# keep no state between iterations but the factors, so these are the
# iterates a C driver would make):
#   plain     the driver as it is (the stopping rule every 5 iterations)
#   extrap    extrapolation after every iteration (Ang & Gillis 2019's rule
#             for beta_k: grow by 1.1 up to a bound that grows by 1.05 to
#             1, shrink by 1.5 on a failure), E = [Q + b (Q - Q_prev)]_+
#             with Q the plain iterate: E is kept when its loss is at most
#             the last kept loss (monotone), else Q; a loss every iteration
#   her       Ang & Gillis's HER order: W extrapolated after its half, H
#             updated from it and extrapolated; on an increase, back to the
#             last kept pair and one plain iteration from it
#   check     extrapolation only at the stopping rule's checks, over the
#             5-iteration step, kept when better than the plain iterate
#   early3/6  stop when the held-out error has not improved for 3 (6)
#             checks, scored at its best check (early stopping on the
#             held-out entries themselves)
args <- commandArgs(TRUE)
suppressPackageStartupMessages(library(betanmf))
ns <- asNamespace("betanmf")
source("bench/common.R", local = TRUE) # make_catalog()
x <- make_catalog(96, 300, 6, seed = 2)
ranks <- 2:10
folds <- 5L
check <- 5L
tol <- 1e-5
maxit <- 1000L

variants <- list(
  plain = function(f) {
    r <- f$run(f$w, f$h, maxit, tol)
    list(it = r$iterations, nloss = r$iterations %/% check + 1, w = t(r$wt), h = r$h)
  },
  extrap = function(f) {
    P <- list(w = f$w, h = f$h); Lp <- f$run(P$w, P$h, 0L)$loss; Qprev <- P
    b <- 0.5; bbar <- 1; bprev <- b; prevL <- Lp; L0 <- Lp; nloss <- 1
    for (it in seq_len(maxit)) {
      r <- f$run(P$w, P$h, 1L); Q <- list(w = t(r$wt), h = r$h)
      E <- list(w = pmax(Q$w + b * (Q$w - Qprev$w), 0), h = pmax(Q$h + b * (Q$h - Qprev$h), 0))
      LE <- f$run(E$w, E$h, 0L)$loss; nloss <- nloss + 1
      if (LE <= Lp) {
        P <- E; Lp <- LE; nb <- min(bbar, 1.1 * b); bbar <- min(1, 1.05 * bbar); bprev <- b; b <- nb
      } else {
        P <- Q; Lp <- r$loss; nloss <- nloss + 1; bbar <- bprev; bprev <- b; b <- b / 1.5
      }
      Qprev <- Q
      if (it %% check == 0) {
        rel <- (prevL - Lp) / max(prevL, 1e-6 * L0) / check; prevL <- Lp
        if (rel < tol) break
      }
    }
    list(it = it, nloss = nloss, w = P$w, h = P$h)
  },
  her = function(f) {
    W <- f$w; H <- f$h; Wh <- W; Hh <- H; Wk <- W; Hk <- H
    e <- f$run(W, H, 0L)$loss; L0 <- e; prevL <- e; nloss <- 1
    b <- 0.5; bbar <- 1; bprev <- b
    for (it in seq_len(maxit)) {
      Wn <- t(f$half_w(Wh, Hh)$h); Whn <- pmax(Wn + b * (Wn - W), 0)
      rh <- f$half_h(Whn, Hh); Hn <- rh$h; Hhn <- pmax(Hn + b * (Hn - H), 0)
      en <- rh$loss; nloss <- nloss + 1; Wo <- Whn; Ho <- Hn
      if (en > e) {
        bbar <- bprev; bprev <- b; b <- b / 1.5
        r <- f$run(Wk, Hk, 1L); Wn <- t(r$wt); Hn <- r$h; Whn <- Wn; Hhn <- Hn
        en <- r$loss; nloss <- nloss + 1; Wo <- Wn; Ho <- Hn
      } else {
        nb <- min(bbar, 1.1 * b); bbar <- min(1, 1.05 * bbar); bprev <- b; b <- nb
      }
      e <- en; Wk <- Wo; Hk <- Ho
      W <- Wn; H <- Hn; Wh <- Whn; Hh <- Hhn
      if (it %% check == 0) {
        rel <- (prevL - e) / max(prevL, 1e-6 * L0) / check; prevL <- e
        if (rel < tol) break
      }
    }
    list(it = it, nloss = nloss, w = Wk, h = Hk)
  },
  check = function(f) {
    P <- list(w = f$w, h = f$h); L0 <- f$run(P$w, P$h, 0L)$loss; prevL <- L0; Pprev <- P
    b <- 0.5; bbar <- 1; bprev <- b; it <- 0L; nloss <- 1
    while (it < maxit) {
      r <- f$run(P$w, P$h, check); it <- it + check; Q <- list(w = t(r$wt), h = r$h)
      E <- list(w = pmax(Q$w + b * (Q$w - Pprev$w), 0), h = pmax(Q$h + b * (Q$h - Pprev$h), 0))
      LE <- f$run(E$w, E$h, 0L)$loss; nloss <- nloss + 2
      if (LE < r$loss) {
        Pn <- E; L <- LE; nb <- min(bbar, 1.1 * b); bbar <- min(1, 1.05 * bbar); bprev <- b; b <- nb
      } else {
        Pn <- Q; L <- r$loss; bbar <- bprev; bprev <- b; b <- b / 1.5
      }
      Pprev <- Q; P <- Pn
      rel <- (prevL - L) / max(prevL, 1e-6 * L0) / check; prevL <- L
      if (rel < tol) break
    }
    list(it = it, nloss = nloss, w = P$w, h = P$h)
  })
early <- function(patience) function(f) {
  w <- f$w; h <- f$h; best <- Inf; since <- 0; it <- 0L
  prevL <- f$run(w, h, 0L)$loss; L0 <- prevL; nloss <- 1
  repeat {
    r <- f$run(w, h, check); it <- it + check; w <- t(r$wt); h <- r$h; nloss <- nloss + 1
    cv <- f$score(w, h)
    if (cv < best) { best <- cv; bw <- w; bh <- h; since <- 0 } else since <- since + 1
    rel <- (prevL - r$loss) / max(prevL, 1e-6 * L0) / check; prevL <- r$loss
    if (rel < tol || since >= patience || it >= maxit) break
  }
  list(it = it, nloss = nloss, w = bw, h = bh)
}
variants$early3 <- early(3)
variants$early6 <- early(6)
only <- Sys.getenv("BENCH_VARIANTS")
if (nzchar(only)) variants <- variants[unique(c("plain", strsplit(only, ",")[[1]]))]
seed0 <- as.integer(Sys.getenv("BENCH_SEED", "0"))

rows <- list()
for (fold in seq_len(folds)) {
  mask <- cv_mask(x, 0.1, seed = seed0 + 10 + fold)
  d <- ns$prepare_data(x, beta = 1, mask = mask)
  dt <- ns$prepare_data(t(x), beta = 1, mask = t(mask)) # the W half as an H half of t(x)
  stopifnot(isTRUE(all.equal(d$scale, dt$scale)))
  mean_x <- sum(d$dense) / d$n_obs
  held <- which(mask)
  floor_y <- 0.01 * mean_x * d$scale # nmf_rank()'s floor (held_floor)
  for (rank in ranks) {
    ctl <- ns$solver_control(list(), "cd", d$dims, rank, maxit, tol)
    set.seed(seed0 + fold * 100 + rank)
    st <- ns$init_factors(d$xs, rank, "random", mean_x, d$xscale)
    one <- function(w, h, mx) utils::modifyList(ctl, list(maxit = as.integer(mx), tol = 0))
    f <- list(w = st$w, h = st$h,
              run = function(w, h, mx, tl = 0) {
                ns$run_solver(d, w, h, 1, "cd", utils::modifyList(ctl, list(maxit = as.integer(mx), tol = tl)),
                              TRUE, 1L, FALSE)
              },
              half_h = function(w, h) ns$run_solver(d, w, h, 1, "cd", one(w, h, 1L), FALSE, 1L, FALSE),
              half_w = function(w, h) ns$run_solver(dt, t(h), t(w), 1, "cd", one(w, h, 1L), FALSE, 1L, FALSE),
              score = function(w, h) {
                y <- pmax((w %*% h)[held] * d$scale, floor_y)
                beta_divergence(x[held], y, 1) / length(y)
              })
    for (v in names(variants)) {
      r <- variants[[v]](f)
      rows[[length(rows) + 1L]] <- data.frame(variant = v, fold = fold, rank = rank, it = r$it, nloss = r$nloss,
                                              cv = f$score(r$w, r$h))
    }
  }
}
res <- do.call(rbind, rows)
res$variant <- factor(res$variant, levels = names(variants))
cat(sprintf("catalog 96 x 300 (planted rank 6), beta = 1, CD, 5 folds, one random start per (rank, fold), seed shift %d\n\n", seed0))
cat("iterations per fold fit (mean over folds), by rank; total iterations and loss evaluations over all fits\n")
it_tab <- tapply(res$it, list(res$variant, res$rank), mean)
print(cbind(round(it_tab), total_it = tapply(res$it, res$variant, sum), total_loss = tapply(res$nloss, res$variant, sum)))
cat("\nheld-out error, mean (sd across folds), by rank\n")
cv_m <- tapply(res$cv, list(res$variant, res$rank), mean)
cv_s <- tapply(res$cv, list(res$variant, res$rank), stats::sd)
print(noquote(matrix(sprintf("%.4f (%.4f)", cv_m, cv_s), nrow(cv_m), dimnames = dimnames(cv_m))))
cat("\nranks where the mean held-out error moved from plain's by more than the larger fold sd\n")
for (v in setdiff(levels(res$variant), "plain")) {
  moved <- abs(cv_m[v, ] - cv_m["plain", ]) > pmax(cv_s[v, ], cv_s["plain", ])
  cat(sprintf("  %-7s %s; smallest mean at rank %s (plain: %s)\n", v,
              if (any(moved)) paste(colnames(cv_m)[moved], collapse = ", ") else "none",
              colnames(cv_m)[which.min(cv_m[v, ])], colnames(cv_m)[which.min(cv_m["plain", ])]))
}
