# Minimum-volume NMF (nmf(..., volume > 0)): Leplat, Gillis & Ang (2020).
# The C update is checked against a plain-R twin written from the formulas
# (MATH.md, "Minimum volume"), solved by bisection rather than the C side's
# closed forms and Newton steps.

# the derivative in w_ik of the majoriser of row i's part of the objective,
# as a function of rho = w_ik / w~_ik: Fevotte & Idier's divergence part
# plus the penalty's (a2 = 2 lam a, b2 = 2 lam b) plus the multiplier mu
mv_phi_twin <- function(rho, P, Q, a2, b2, mu, beta) {
  div <- if (beta > 2) {
    rho^(beta - 1) * P - Q
  } else if (beta < 1) {
    P - rho^(beta - 2) * Q
  } else {
    rho^(beta - 1) * P - rho^(beta - 2) * Q
  }
  div + a2 * rho - b2 / rho + mu
}

# the root in rho of the increasing phi, entrywise, by bisection on log rho
mv_rho_twin <- function(P, Q, a2, b2, mu, beta) {
  lo <- rep(-300, length(P))
  hi <- rep(300, length(P))
  stopifnot(all(mv_phi_twin(exp(lo), P, Q, a2, b2, mu, beta) < 0),
            all(mv_phi_twin(exp(hi), P, Q, a2, b2, mu, beta) > 0))
  repeat {
    mid <- (lo + hi) / 2
    if (all(mid == lo | mid == hi)) break
    neg <- mv_phi_twin(exp(mid), P, Q, a2, b2, mu, beta) < 0
    lo[neg] <- mid[neg]
    hi[!neg] <- mid[!neg]
  }
  exp((lo + hi) / 2)
}

# one min-volume W update (x, w, h dense; keep: 1 observed, 0 held out):
# P, Q the MU denominator and numerator, Y = (W'W + delta I)^-1 split into
# its positive and negative parts, then per column the multiplier that puts
# the column on the simplex (bisection on mu, the column sum decreasing in mu)
minvol_w_twin <- function(x, w, h, beta, lam, delta = 1, keep = 1) {
  y <- w %*% h
  P <- (keep * y^(beta - 1)) %*% t(h)
  Q <- (keep * x * y^(beta - 2)) %*% t(h)
  Y <- solve(crossprod(w) + delta * diag(ncol(w)))
  a2 <- 2 * lam * w %*% pmax(Y, 0)
  b2 <- 2 * lam * w %*% pmax(-Y, 0)
  out <- w
  for (k in seq_len(ncol(w))) {
    gap <- function(mu) sum(w[, k] * mv_rho_twin(P[, k], Q[, k], a2[, k], b2[, k], mu, beta)) - 1
    lo <- -1
    while (gap(lo) < 0) lo <- lo * 2
    hi <- 1
    while (gap(hi) > 0) hi <- hi * 2
    repeat {
      mid <- (lo + hi) / 2
      if (mid == lo || mid == hi) break
      if (gap(mid) > 0) lo <- mid else hi <- mid
    }
    rho <- mv_rho_twin(P[, k], Q[, k], a2[, k], b2[, k], (lo + hi) / 2, beta)
    out[, k] <- w[, k] * rho / sum(w[, k] * rho)
  }
  out
}

div_twin <- function(x, y, beta, keep = 1) {
  d <- if (beta == 1) {
    ifelse(x > 0, x * log(x / y), 0) - x + y
  } else if (beta == 0) {
    x / y - log(x / y) - 1
  } else {
    (x^beta + (beta - 1) * y^beta - beta * x * y^(beta - 1)) / (beta * (beta - 1))
  }
  sum(keep * d)
}

logdet_twin <- function(w, delta = 1) {
  as.numeric(determinant(crossprod(w) + delta * diag(ncol(w)))$modulus)
}

# one iteration (W half, then the ordinary MU H half) from (w0, h0) with
# the relative weight `volume`: the start normalised, lam from it
minvol_iteration_twin <- function(x, w0, h0, beta, volume, keep = 1) {
  cs <- colSums(w0)
  w <- sweep(w0, 2, cs, "/")
  h <- h0 * cs
  lam <- volume * div_twin(x, w %*% h, beta, keep) / abs(logdet_twin(w))
  w <- minvol_w_twin(x, w, h, beta, lam, keep = keep)
  y <- w %*% h
  h <- h * ((t(w) %*% (keep * x * y^(beta - 2))) / (t(w) %*% (keep * y^(beta - 1))))^ref_gamma(beta)
  ord <- order(rowSums(h), decreasing = TRUE)
  list(w = w[, ord], h = h[ord, ], lam = lam)
}

minvol_data <- function(m = 23, n = 17, r = 3, seed = 1) {
  set.seed(seed)
  w <- matrix(stats::rexp(m * r), m, r)
  h <- matrix(stats::rexp(r * n), r, n)
  x <- matrix(stats::rpois(m * n, 4 * w %*% h), m, n) + 0.25 # positive: beta = 0 too
  w0 <- matrix(stats::runif(m * r, 0.5, 1.5), m, r)
  h0 <- matrix(stats::runif(r * n, 0.5, 1.5), r, n)
  list(x = x, w0 = w0, h0 = h0)
}

one_minvol <- function(x, w0, h0, beta, volume, ...) {
  nmf(x, ncol(w0), beta = beta, init = list(w = w0, h = h0), maxit = 1, tol = 0,
      volume = volume, control = list(check = 1), ...)
}

expect_twin <- function(fit, twin, label) {
  expect_equal(unname(fit$w), unname(twin$w), tolerance = 1e-12, label = paste(label, "W"))
  expect_equal(unname(fit$h), unname(twin$h), tolerance = 1e-12, label = paste(label, "H"))
  expect_equal(fit$lam, twin$lam, tolerance = 1e-12, label = paste(label, "lam"))
}

test_that("one min-volume iteration equals its plain-R twin (dense, every path)", {
  for (r in c(3, 6)) { # rank 3: the fused update of small ranks; 6: the blocked one
    p <- minvol_data(r = r, seed = r)
    for (beta in c(0, 0.5, 1, 2)) {
      fit <- one_minvol(p$x, p$w0, p$h0, beta, volume = 0.3)
      twin <- minvol_iteration_twin(p$x, p$w0, p$h0, beta, 0.3)
      expect_twin(fit, twin, sprintf("dense rank %d beta %g", r, beta))
    }
  }
  # the update as written (BETANMF_NOFUSE; ranks above 32 take it too)
  p <- minvol_data(r = 3, seed = 7)
  Sys.setenv(BETANMF_NOFUSE = "1")
  fit <- tryCatch(one_minvol(p$x, p$w0, p$h0, 1.5, volume = 0.05), finally = Sys.unsetenv("BETANMF_NOFUSE"))
  expect_twin(fit, minvol_iteration_twin(p$x, p$w0, p$h0, 1.5, 0.05), "unfused beta 1.5")
  fit <- one_minvol(p$x, p$w0, p$h0, 3, volume = 0.05)
  expect_twin(fit, minvol_iteration_twin(p$x, p$w0, p$h0, 3, 0.05), "beta 3")
  # the multipliers by the nested search alone (the fallback of the joint
  # Newton iteration when that does not settle)
  Sys.setenv(BETANMF_MINVOL_NESTED = "1")
  on.exit(Sys.unsetenv("BETANMF_MINVOL_NESTED"), add = TRUE)
  for (beta in c(0, 0.5, 1, 2, 3)) {
    fit <- one_minvol(p$x, p$w0, p$h0, beta, volume = 0.3)
    expect_twin(fit, minvol_iteration_twin(p$x, p$w0, p$h0, beta, 0.3), sprintf("nested beta %g", beta))
  }
})

test_that("one min-volume iteration equals its plain-R twin (sparse and masked)", {
  p <- minvol_data(r = 4, seed = 11)
  xz <- p$x
  xz[sample(length(xz), 120)] <- 0 # zeros: sparse storage (beta > 0 only)
  xs <- Matrix::Matrix(xz, sparse = TRUE)
  mask <- matrix(FALSE, nrow(p$x), ncol(p$x))
  mask[sample(length(mask), 40)] <- TRUE
  for (beta in c(0, 0.5, 1, 2)) {
    xb <- if (beta == 0) p$x else xz
    xsb <- if (beta == 0) Matrix::Matrix(p$x, sparse = TRUE) else xs
    fit <- one_minvol(xsb, p$w0, p$h0, beta, volume = 0.2)
    expect_twin(fit, minvol_iteration_twin(xb, p$w0, p$h0, beta, 0.2), sprintf("sparse beta %g", beta))
    fit <- one_minvol(p$x, p$w0, p$h0, beta, volume = 0.2, mask = mask)
    twin <- minvol_iteration_twin(p$x, p$w0, p$h0, beta, 0.2, keep = !mask)
    expect_twin(fit, twin, sprintf("masked beta %g", beta))
    fit <- one_minvol(xsb, p$w0, p$h0, beta, volume = 0.2, mask = mask)
    twin <- minvol_iteration_twin(xb, p$w0, p$h0, beta, 0.2, keep = !mask)
    expect_twin(fit, twin, sprintf("sparse masked beta %g", beta))
  }
})

test_that("the C update keeps every column of W on the simplex, threads or not", {
  p <- minvol_data(r = 5, seed = 3)
  d <- betanmf:::prepare_data(p$x, beta = 1)
  ctl <- betanmf:::solver_control(list(check = 1), "mu", d$dims, 5L, 1L, 0)
  st <- betanmf:::simplex_start(list(w = p$w0, h = p$h0 / d$scale))
  w <- st$w
  h <- st$h
  for (it in 1:5) {
    res <- betanmf:::run_solver(d, w, h, 1, "mu", ctl, TRUE, 1L, FALSE, volume = 0.5)
    res2 <- betanmf:::run_solver(d, w, h, 1, "mu", ctl, TRUE, 2L, FALSE, volume = 0.5)
    expect_identical(res2$wt, res$wt)
    expect_equal(rowSums(res$wt), rep(1, 5), tolerance = 1e-14)
    expect_true(all(res$wt >= 0))
    w <- t(res$wt)
    h <- res$h
  }
})

test_that("the row passes: many blocks of rows, ranks in two vectors, beta off the chain", {
  # 1100 rows: two blocks of the row passes (their sums added in block
  # order) and rows read through the padded copy at the end; rank 5: two
  # vectors of lanes; beta 1.3: rho^(beta - 2) by pow lane by lane
  set.seed(21)
  m <- 1100
  n <- 6
  for (r in c(3, 5)) {
    w <- matrix(stats::rexp(m * r), m, r)
    h <- matrix(stats::rexp(r * n), r, n)
    x <- matrix(stats::rpois(m * n, 3 * w %*% h), m, n) + 0.5
    w0 <- matrix(stats::runif(m * r, 0.5, 1.5), m, r)
    h0 <- matrix(stats::runif(r * n, 0.5, 1.5), r, n)
    for (beta in if (r == 3) c(1, 1.3) else c(1.5, 2)) {
      fit <- one_minvol(x, w0, h0, beta, volume = 0.2)
      twin <- minvol_iteration_twin(x, w0, h0, beta, 0.2)
      expect_twin(fit, twin, sprintf("%d rows rank %d beta %g", m, r, beta))
      two <- one_minvol(x, w0, h0, beta, volume = 0.2, threads = 2)
      expect_identical(two$w, fit$w)
    }
  }
})

# later iterations: the joint Newton iteration (beta off 1 and 2) starts
# from the roots of the last solve, kept between iterations (the first
# from rho = 1), and the same W halves must come out as from the twin,
# which knows nothing of starts
test_that("several min-volume iterations equal their plain-R twins (the joint iteration's warm start)", {
  set.seed(33)
  for (r in c(3, 5)) {
    m <- 40
    n <- 12
    w <- matrix(stats::rexp(m * r), m, r)
    w[sample(m * r, 8)] <- 1e-3 * w[sample(m * r, 8)] # entries headed for zero
    h <- matrix(stats::rexp(r * n), r, n)
    x <- matrix(stats::rpois(m * n, 5 * w %*% h), m, n) + 0.5
    w0 <- matrix(stats::runif(m * r, 0.5, 1.5), m, r)
    h0 <- matrix(stats::runif(r * n, 0.5, 1.5), r, n)
    for (beta in c(0.5, 1.5, 3)) {
      iters <- 6
      fit <- nmf(x, r, beta = beta, init = list(w = w0, h = h0), maxit = iters, tol = 0, volume = 0.3,
                 control = list(check = 1))
      twin <- minvol_iteration_twin(x, w0, h0, beta, 0.3)
      wt <- twin$w
      ht <- twin$h
      for (it in seq_len(iters - 1)) {
        wt <- minvol_w_twin(x, wt, ht, beta, twin$lam)
        y <- wt %*% ht
        ht <- ht * ((t(wt) %*% (x * y^(beta - 2))) / (t(wt) %*% y^(beta - 1)))^ref_gamma(beta)
      }
      ord <- order(rowSums(ht), decreasing = TRUE)
      label <- sprintf("rank %d beta %g, %d iterations", r, beta, iters)
      expect_equal(unname(fit$w), unname(wt[, ord]), tolerance = 1e-11, label = paste(label, "W"))
      expect_equal(unname(fit$h), unname(ht[ord, ]), tolerance = 1e-11, label = paste(label, "H"))
    }
  }
})

test_that("the objective never increases over 500 iterations on hostile data", {
  set.seed(5)
  m <- 30
  n <- 25
  base <- stats::rexp(m)
  # near-duplicate columns of W (cosine 0.9999), rows spanning 12 orders of
  # magnitude, a row of tiny values
  w <- cbind(base, base * (1 + 0.01 * stats::runif(m)), stats::rexp(m)) * 10^seq(-6, 6, length.out = m)
  h <- matrix(stats::rexp(3 * n), 3, n)
  x <- w %*% h * matrix(stats::rgamma(m * n, 20, 20), m, n)
  x[1, ] <- x[1, ] * 1e-8
  for (beta in c(0, 0.5, 1, 2)) {
    fit <- suppressWarnings(nmf(x, 3, beta = beta, volume = 0.5, maxit = 500, tol = 0, seed = 2,
                                init = "random", control = list(check = 1)))
    obj <- fit$trace$loss + fit$trace$penalty
    expect_length(obj, 501)
    expect_true(all(is.finite(obj)))
    rise <- diff(obj) / abs(obj[-length(obj)])
    expect_lte(max(rise), 1e-12, label = sprintf("largest relative rise, beta %g", beta))
    expect_equal(unname(colSums(fit$w)), rep(1, 3))
  }
})

test_that("volume = 0 is the ordinary fit, bit for bit", {
  p <- minvol_data(r = 3, seed = 9)
  strip <- function(f) { f$call <- NULL; f }
  for (solver in c("auto", "mu")) for (beta in c(1, 2)) {
    a <- suppressWarnings(nmf(p$x, 3, beta = beta, solver = solver, maxit = 30, seed = 1))
    b <- suppressWarnings(nmf(p$x, 3, beta = beta, solver = solver, maxit = 30, seed = 1, volume = 0))
    expect_identical(strip(b), strip(a))
  }
  a <- suppressWarnings(nmf(p$x, 3, beta = 0.5, nrun = 2, maxit = 30, seed = 1))
  b <- suppressWarnings(nmf(p$x, 3, beta = 0.5, nrun = 2, maxit = 30, seed = 1, volume = 0))
  expect_identical(strip(b), strip(a))
})

test_that("the fit records the penalty; restarts, nmf_rank and bad input", {
  p <- minvol_data(r = 3, seed = 4)
  fit <- suppressWarnings(nmf(p$x, 3, beta = 1, volume = 0.1, nrun = 3, maxit = 50, seed = 1))
  expect_identical(fit$solver, "mu")
  expect_identical(fit$volume, 0.1)
  expect_identical(fit$delta, 1)
  expect_named(fit$trace, c("iteration", "loss", "penalty"))
  expect_equal(fit$penalty, fit$lam * logdet_twin(fit$w), tolerance = 1e-10)
  expect_equal(fit$loss, div_twin(p$x, fit$w %*% fit$h, 1), tolerance = 1e-10)
  expect_output(print(fit), "minimum volume 0.1: penalty lam \\* logdet\\(W'W \\+ 1 I\\)")
  objective <- vapply(fit$runs, function(r) r$loss + r$penalty, numeric(1))
  expect_identical(fit$best, which.min(objective))
  # one weight for every run (the relative rule at the first run's start),
  # so the objectives compare
  lams <- vapply(fit$runs, function(r) r$lam, numeric(1))
  expect_identical(lams, rep(fit$lam, 3))
  # what works on restarts works on min-volume restarts
  expect_s3_class(consensus(fit), "nmf_consensus")
  expect_length(stability(fit)$mean_stability, 1)
  expect_equal(dim(predict(fit, p$x)), dim(fit$h))
  # a single run from the same seed starts where the first restart did
  first <- suppressWarnings(nmf(p$x, 3, beta = 1, volume = 0.1, init = "random", maxit = 50, seed = 1))
  expect_identical(first$lam, fit$lam)
  expect_identical(first$w, fit$runs[[1]]$w)
  survey <- suppressWarnings(nmf_rank(p$x, 2:3, beta = 1, folds = 2, nrun = 2, seed = 1, maxit = 30,
                                      volume = 0.1))
  expect_identical(survey$fits[[1]]$volume, 0.1)
  expect_error(nmf(p$x, 3, beta = 2, solver = "hals", volume = 0.1), "solver", class = "betanmf_error_input")
  expect_error(nmf(p$x, 3, beta = 1, solver = "cd", volume = 0.1), "solver", class = "betanmf_error_input")
  expect_error(nmf(p$x, 3, volume = -1), "volume", class = "betanmf_error_input")
  expect_error(nmf(p$x, 3, volume = c(1, 2)), "volume", class = "betanmf_error_input")
  expect_error(nmf(p$x, 3, volume = 0.1, control = list(l1 = 1)), "l1", class = "betanmf_error_input")
  expect_error(nmf(p$x, 3, volume = 0.1, control = list(l2 = c(1, 0))), "l2", class = "betanmf_error_input")
  expect_error(nmf(p$x, 3, volume = 0.1, control = list(l1 = NA_real_)), "l1", class = "betanmf_error_input")
  # an l1/l2 penalty on H alone is fine
  expect_silent(suppressWarnings(nmf(p$x, 3, beta = 1, volume = 0.1, maxit = 5, control = list(l1 = c(0, 1)))))
  expect_output(suppressWarnings(nmf(p$x, 3, beta = 1, volume = 0.1, maxit = 10, verbose = TRUE)),
                "iteration +10  loss [0-9.e+]+  penalty [0-9.e+]+  relative decrease")
})

test_that("a single min-volume run takes its weight in its own solver call", {
  p <- minvol_data(r = 3, seed = 12)
  calls <- 0L
  count <- function() calls <<- calls + 1L
  suppressMessages(trace("run_solver", tracer = bquote(.(count)()), print = FALSE, where = asNamespace("betanmf")))
  on.exit(suppressMessages(untrace("run_solver", where = asNamespace("betanmf"))), add = TRUE)
  one <- suppressWarnings(nmf(p$x, 3, beta = 1, volume = 0.1, init = "random", maxit = 20, seed = 3))
  expect_identical(calls, 1L)
  calls <- 0L
  runs <- suppressWarnings(nmf(p$x, 3, beta = 1, volume = 0.1, init = "random", maxit = 20, seed = 3, nrun = 2))
  expect_identical(calls, 3L) # the weight from the first start, then the two runs
  expect_identical(one$lam, runs$lam)
  expect_identical(one$w, runs$runs[[1]]$w)
})

# 96 channels x n samples of Poisson counts from three signatures: two flat
# SBS-like profiles at cosine 0.8-0.9 (the second a perturbation of the
# first, as tools/minvol-planted.R draws them) and the peaked SynA, or, with
# overlap = FALSE, the three well-separated peaked SynA, SynC, SynD
planted_flat <- function(seed, n = 100, overlap = TRUE, depth = 1500) {
  set.seed(seed)
  m <- nrow(sbs_signatures)
  repeat {
    flat1 <- stats::rgamma(m, 8)
    flat2 <- flat1 * exp(stats::rnorm(m, 0, 0.6))
    if (abs(cosine_similarity(flat1, flat2) - 0.85) <= 0.05) break
  }
  w <- if (overlap) cbind(flat1, flat2, SynA = sbs_signatures[, "SynA"])
       else sbs_signatures[, c("SynA", "SynC", "SynD")]
  w <- sweep(w, 2, colSums(w), "/")
  h <- matrix(stats::rgamma(3 * n, 0.7), 3, n)
  h <- sweep(h, 2, colSums(h), "/") * depth
  x <- matrix(stats::rpois(m * n, w %*% h), m, n, dimnames = list(rownames(sbs_signatures), NULL))
  list(x = x, w = w)
}

# the truth's columns matched to a fit's by Hungarian on cosine
matched_cosines <- function(truth, w) {
  cs <- cosine_similarity(truth, w)
  cs[cbind(seq_len(ncol(truth)), hungarian(cs, maximize = TRUE)$assignment)]
}

auto_fit <- function(x, ...) {
  suppressWarnings(nmf(x, 3, beta = 1, volume = "auto", maxit = 2000, tol = 1e-6, ...))
}

test_that("volume = \"auto\" picks a positive weight on an overlapping flat pair, by its rule", {
  p <- planted_flat(1)
  fit <- auto_fit(p$x, seed = 1)
  sel <- fit$volume_selection
  expect_named(sel$table, c("volume", "cv_error", "cv_se", "stability", "candidate"))
  expect_identical(sel$table$volume, c(0, 0.001, 0.003, 0.01, 0.03, 0.1))
  expect_gt(sel$chosen, 0)
  expect_identical(fit$volume, sel$chosen)
  # one held-out score by hand: the first hold-out of the chosen weight is
  # nmf() with that hold-out as its mask, from the first fit seed; scored
  # per held-out entry with the fitted values floored at a hundredth of the
  # mean observed entry
  held <- cv_mask(p$x, fraction = 0.1, seed = sel$fold_seeds[1])
  one <- suppressWarnings(nmf(p$x, 3, beta = 1, mask = held, init = "random", seed = sel$fit_seeds[1],
                              volume = sel$chosen, maxit = 2000, tol = 1e-6))
  floor <- 0.01 * mean(p$x[!held])
  y <- pmax((one$w %*% one$h)[held], floor)
  expect_equal(sel$cv[1, as.character(sel$chosen)], div_twin(p$x[held], y, 1) / sum(held), tolerance = 1e-10)
  # the rule from the table: candidates within one standard error of the
  # smallest mean held-out error; the largest candidate whose least stable
  # component is within 0.01 of the best candidate's
  tab <- sel$table
  expect_equal(tab$cv_error, unname(colMeans(sel$cv)))
  expect_equal(tab$cv_se, unname(apply(sel$cv, 2, sd) / sqrt(3)))
  best <- which.min(tab$cv_error)
  cand <- tab$cv_error <= tab$cv_error[best] + tab$cv_se[best]
  expect_identical(tab$candidate, cand)
  ok <- cand & tab$stability >= max(tab$stability[cand]) - 0.01
  expect_identical(sel$chosen, max(tab$volume[ok]))
  # the returned fit is the fit at the chosen weight from the same seed
  fixed <- suppressWarnings(nmf(p$x, 3, beta = 1, volume = sel$chosen, seed = 1, maxit = 2000, tol = 1e-6))
  expect_identical(fit$w, fixed$w)
  expect_identical(fit$h, fixed$h)
  # the same seed, the same selection and fit
  again <- auto_fit(p$x, seed = 1)
  expect_identical(again$volume_selection, sel)
  expect_identical(again$w, fit$w)
  expect_output(print(fit), "volume = \"auto\": 0.00[0-9]+ chosen by held-out error and stability")
})

test_that("volume = \"auto\" keeps well-separated signatures as plain NMF finds them", {
  for (s in 1:2) {
    p <- planted_flat(s, overlap = FALSE)
    fit <- auto_fit(p$x, seed = s, init = "random")
    plain <- suppressWarnings(nmf(p$x, 3, beta = 1, seed = s, init = "random", maxit = 2000, tol = 1e-6))
    expect_lte(fit$volume_selection$chosen, 0.003)
    expect_gte(min(matched_cosines(p$w, fit$w)), min(matched_cosines(p$w, plain$w)) - 0.005)
  }
})

test_that("volume = \"auto\" with sparse input, masks, NA and restarts", {
  p <- planted_flat(3, n = 60)
  dense <- auto_fit(p$x, seed = 2)
  sparse <- auto_fit(Matrix::Matrix(p$x, sparse = TRUE), seed = 2)
  expect_identical(sparse$volume_selection$chosen, dense$volume_selection$chosen)
  expect_equal(sparse$volume_selection$table, dense$volume_selection$table, tolerance = 1e-6)
  # restarts: the same selection (its fits do not depend on nrun), nrun runs
  # of the chosen weight
  runs <- auto_fit(p$x, seed = 2, nrun = 3)
  expect_identical(runs$volume_selection, dense$volume_selection)
  expect_length(runs$runs, 3)
  expect_s3_class(stability(runs), "nmf_stability")
  # a mask: its entries are never held out, so the selection equals that of
  # the same entries as NA
  mask <- matrix(FALSE, nrow(p$x), ncol(p$x))
  mask[sample(length(mask), 300)] <- TRUE
  masked <- auto_fit(p$x, seed = 2, mask = mask)
  xna <- p$x
  xna[mask] <- NA
  with_na <- auto_fit(xna, seed = 2, missing = "mask")
  expect_identical(masked$volume_selection, with_na$volume_selection)
  expect_true(all(is.finite(masked$volume_selection$cv)))
  expect_equal(length(masked$mask$i), 300)
  for (k in seq_len(3)) {
    held <- cv_mask(xna, fraction = 0.1, seed = masked$volume_selection$fold_seeds[k])
    expect_false(any(held & mask))
  }
  # a masked sparse input
  sm <- auto_fit(Matrix::Matrix(p$x, sparse = TRUE), seed = 2, mask = mask)
  expect_identical(sm$volume_selection$chosen, masked$volume_selection$chosen)
})

test_that("volume = \"auto\": bad strings and solvers are classed errors", {
  x <- planted_flat(4, n = 20)$x
  expect_error(nmf(x, 3, volume = "automatic"), "volume", class = "betanmf_error_input")
  expect_error(nmf(x, 3, volume = c("auto", "auto")), "volume", class = "betanmf_error_input")
  expect_error(nmf(x, 3, volume = NA_character_), "volume", class = "betanmf_error_input")
  expect_error(nmf(x, 3, beta = 2, solver = "hals", volume = "auto"), "solver", class = "betanmf_error_input")
  expect_error(nmf(x, 3, beta = 1, volume = "auto", control = list(l1 = 1)), "l1",
               class = "betanmf_error_input")
  expect_error(nmf_rank(x, 2:3, beta = 1, folds = 2, nrun = 1, volume = "auto"), "in nmf\\(\\) only",
               class = "betanmf_error_input")
})

test_that("a min-volume fit works with consensus, stability, matching, predict, refitting, rank surveys", {
  p <- planted_flat(1)
  fit <- suppressWarnings(nmf(p$x, 3, beta = 1, volume = 0.01, nrun = 3, seed = 1, maxit = 2000, tol = 1e-6))
  # restarts agree on the planted components
  st <- stability(fit)
  expect_gt(min(st$components$mean_cosine), 0.99)
  cons <- consensus(fit)
  expect_gt(cons$cophenetic, 0.9)
  # matched to the planted profiles (named references): each component to
  # the reference Hungarian on the cosines gives it
  ref <- cbind(p$w, sbs_signatures[, c("SynC", "SynD")])
  colnames(ref) <- c("flat1", "flat2", "SynA", "SynC", "SynD")
  mt <- match_signatures(fit, ref)$matches
  cs <- cosine_similarity(ref, fit$w)
  a <- hungarian(t(cs), maximize = TRUE)$assignment
  expect_identical(mt$reference, colnames(ref)[a])
  expect_equal(mt$cosine, t(cs)[cbind(1:3, a)], tolerance = 1e-12)
  expect_setequal(mt$reference, c("flat1", "flat2", "SynA"))
  expect_gt(min(mt$cosine), 0.98)
  # predict() and fit_signatures() with the min-volume W minimise the
  # divergence over H: no worse than the fit's H, near it, and (KL with
  # columns of W summing to one) the fitted column totals are the data's
  h_pred <- predict(fit, p$x)
  expect_lte(div_twin(p$x, fit$w %*% h_pred, 1), fit$loss * (1 + 1e-8))
  expect_gt(cor(as.vector(h_pred), as.vector(fit$h)), 0.999)
  expect_equal(unname(colSums(h_pred)), unname(colSums(p$x)), tolerance = 1e-4)
  rf <- fit_signatures(p$x, basis(fit), beta = 1)
  expect_equal(unname(colSums(coef(rf))), unname(colSums(p$x)), tolerance = 1e-4)
  expect_lte(div_twin(p$x, fit$w %*% coef(rf), 1), fit$loss * (1 + 1e-8))
  expect_gt(cor(as.vector(coef(rf)), as.vector(fit$h)), 0.999)
  # a rank survey of min-volume fits finds the planted rank
  survey <- suppressWarnings(nmf_rank(p$x, 2:4, beta = 1, folds = 2, nrun = 2, seed = 1, maxit = 500,
                                      volume = 0.01))
  expect_identical(survey$chosen, 3L)
  expect_true(all(is.finite(survey$cv)))
  expect_true(all(vapply(survey$fits, function(f) f$volume == 0.01 && f$penalty > 0, logical(1))))
})
