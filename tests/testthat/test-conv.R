# nmf_conv() (R/conv.R, src/conv.c) against the plain-R twins of
# helper-conv.R (explicit shifted copies), nmf(), planted truth.

conv_small <- function(m = 7, n = 25, K = 3, L = 4, seed = 3) {
  set.seed(seed)
  list(x = matrix(rpois(m * n, 2), m, n),
       held = matrix(runif(m * n) < 0.15, m, n),
       w0 = array(runif(m * K * L, 0.5, 1.5), c(m, K, L)),
       h0 = matrix(runif(K * n, 0.5, 1.5), K, n), K = K, L = L)
}

expect_conv_iterate <- function(p, beta, sparse, lambda = 0, l1w = 0, l1h = 0, masked = FALSE) {
  held <- if (masked) p$held else NULL
  xx <- if (sparse) Matrix::Matrix(p$x, sparse = TRUE) else p$x
  fit <- suppressWarnings(nmf_conv(xx, p$K, p$L, beta = beta, lambda = lambda, l1w = l1w, l1h = l1h,
                                   mask = held, init = list(w = p$w0, h = p$h0), maxit = 1, tol = 0))
  obs <- if (masked) p$x[!held] else p$x
  lam <- lambda * mean(obs)^(beta - 2)
  r <- ref_conv_iterate(p$x, p$w0, p$h0, beta, lam = lam, l1w = l1w, l1h = l1h, held = held)
  rn <- ref_conv_normalise(r$w, r$h)
  label <- sprintf("beta %g, %s, lambda %g, l1 %g/%g, %s", beta, if (sparse) "sparse" else "dense",
                   lambda, l1w, l1h, if (masked) "masked" else "unmasked")
  expect_equal(unname(fit$w), rn$w, tolerance = 1e-12, label = paste("w:", label))
  expect_equal(unname(fit$h), rn$h, tolerance = 1e-12, label = paste("h:", label))
  expect_equal(fit$loss, ref_conv_loss(p$x, r$w, r$h, beta, held), tolerance = 1e-12,
               label = paste("loss:", label))
  if (lambda > 0) {
    x0 <- p$x
    if (masked) x0[held] <- 0
    # the trace at the iterate, the penalty at the returned (rescaled) factors
    expect_equal(fit$trace$penalty[2], lam * ref_conv_penalty(x0, r$w, r$h), tolerance = 1e-12,
                 label = paste("trace penalty:", label))
    expect_equal(fit$penalty, lam * ref_conv_penalty(x0, rn$w, rn$h), tolerance = 1e-12,
                 label = paste("penalty:", label))
  }
}

test_that("one iteration equals the plain-R twin (dense, sparse, masked, penalties)", {
  p <- conv_small()
  for (beta in c(1, 2, 0.5)) for (sparse in c(FALSE, TRUE)) {
    expect_conv_iterate(p, beta, sparse)
    expect_conv_iterate(p, beta, sparse, masked = TRUE)
    expect_conv_iterate(p, beta, sparse, lambda = 0.3, l1w = 0.2, l1h = 0.1, masked = TRUE)
  }
  expect_conv_iterate(p, 1, TRUE, lambda = 0.05)
  expect_conv_iterate(p, 1.5, FALSE, l1h = 0.5, masked = TRUE)
})

test_that("bins and neurons with no observed entry are kept, and NA can be masked", {
  p <- conv_small()
  p$held[, 9] <- TRUE # a dropped frame: still explained by the activations before it
  p$held[2, ] <- TRUE
  for (beta in c(1, 2)) for (sparse in c(FALSE, TRUE)) expect_conv_iterate(p, beta, sparse, masked = TRUE)
  expect_warning(f <- nmf_conv(p$x, p$K, p$L, mask = p$held, seed = 1, maxit = 3, tol = 0),
                 class = "betanmf_warning_empty")
  expect_true(all(f$w[2, , ] == 0) && all(is.finite(f$h)))
  x_na <- p$x
  x_na[p$held] <- NA
  f_na <- suppressWarnings(nmf_conv(x_na, p$K, p$L, missing = "mask", init = list(w = p$w0, h = p$h0), maxit = 2,
                                    tol = 0))
  f_mask <- suppressWarnings(nmf_conv(p$x, p$K, p$L, mask = p$held, init = list(w = p$w0, h = p$h0), maxit = 2,
                                      tol = 0))
  expect_identical(dim(f_na$h), dim(p$h0))
  expect_equal(f_na$h, f_mask$h, tolerance = 1e-14)
  expect_equal(f_na$loss, f_mask$loss, tolerance = 1e-14)
  expect_error(nmf_conv(x_na, p$K, p$L), class = "betanmf_error_data")
})

test_that("lags = 1 gives nmf()'s multiplicative update", {
  p <- conv_small()
  set.seed(4)
  w1 <- matrix(runif(nrow(p$x) * p$K), nrow(p$x), p$K)
  for (beta in c(1, 2, 0.5)) for (sparse in c(FALSE, TRUE)) {
    xx <- if (sparse) Matrix::Matrix(p$x, sparse = TRUE) else p$x
    for (iters in c(1, 3)) {
      f1 <- suppressWarnings(nmf(xx, p$K, beta = beta, solver = "mu", init = list(w = w1, h = p$h0),
                                 maxit = iters, tol = 0))
      f2 <- suppressWarnings(nmf_conv(xx, p$K, 1, beta = beta, init = list(w = w1, h = p$h0),
                                      maxit = iters, tol = 0))
      expect_equal(unname(f2$w[, , 1]), unname(f1$w), tolerance = 1e-12)
      expect_equal(unname(f2$h), unname(f1$h), tolerance = 1e-12)
      expect_equal(f2$loss, f1$loss, tolerance = 1e-12)
    }
  }
})

test_that("the returned factors follow the conventions", {
  p <- ref_conv_planted(seed = 2)
  rownames(p$x) <- paste0("n", seq_len(nrow(p$x)))
  colnames(p$x) <- paste0("t", seq_len(ncol(p$x)))
  fit <- nmf_conv(p$x, 2, 6, seed = 1, maxit = 30, tol = 0)
  expect_s3_class(fit, "nmf_conv")
  expect_identical(dim(fit$w), c(30L, 2L, 6L))
  expect_identical(dimnames(fit$w), list(rownames(p$x), c("NMF1", "NMF2"), paste0("lag", 0:5)))
  expect_identical(dimnames(fit$h), list(c("NMF1", "NMF2"), colnames(p$x)))
  expect_equal(unname(apply(fit$w, 2, sum)), c(1, 1), tolerance = 1e-12)
  expect_true(sum(fit$h[1, ]) >= sum(fit$h[2, ]))
  expect_identical(names(fit$trace), c("iteration", "loss", "penalty"))
  expect_identical(fit$trace$iteration, 0:30)
  expect_equal(fit$loss, ref_conv_loss(p$x, fit$w, fit$h, 1), tolerance = 1e-10)
  expect_equal(fit$trace$loss[31], fit$loss, tolerance = 1e-12)
  expect_output(print(fit), "nmf_conv")
  expect_output(print(summary(fit)), "lags 6")
})

test_that("the objective never increases", {
  # hostile but legal: a row and a time bin of zeros, a huge count, ties,
  # held-out entries, tiny values; 300 iterations at lambda = 0
  set.seed(5)
  x <- matrix(rpois(12 * 60, 0.7), 12, 60)
  x[3, ] <- 0
  x[, 20] <- 0
  x[5, 7] <- 1e4
  x[7, ] <- 1e-8
  held <- matrix(runif(length(x)) < 0.1, nrow(x))
  for (beta in c(1, 2, 0.5)) for (sparse in c(FALSE, TRUE)) {
    xx <- if (sparse) Matrix::Matrix(x, sparse = TRUE) else x
    fit <- nmf_conv(xx, 3, 5, beta = beta, mask = held, seed = 1, maxit = 300, tol = 0)
    obj <- fit$trace$loss
    expect_true(all(diff(obj) <= 1e-12 * abs(obj[-length(obj)])),
                label = sprintf("divergence non-increasing, beta %g, %s", beta, if (sparse) "sparse" else "dense"))
  }
  # with the x-ortho penalty and L1 each half is still an MM step (beta = 1, 2)
  p <- ref_conv_planted(seed = 3)
  for (beta in c(1, 2)) {
    fit <- nmf_conv(p$x, 3, 6, beta = beta, lambda = 0.01, l1h = 0.01, l1w = 0.1, seed = 2, maxit = 150,
                    tol = 0)
    obj <- fit$trace$loss + fit$trace$penalty
    expect_true(fit$trace$penalty[151] > 0)
    expect_true(all(diff(obj) <= 1e-12 * abs(obj[-length(obj)])),
                label = sprintf("divergence + penalty non-increasing, beta %g", beta))
  }
})

test_that("the fit stops at tol, whatever maxit, and reports as it goes", {
  p <- ref_conv_planted(seed = 8)
  fit <- nmf_conv(p$x, 2, 6, seed = 1, maxit = .Machine$integer.max, tol = 1e-3)
  expect_true(fit$converged)
  expect_lt(fit$iterations, 1000)
  expect_identical(fit$trace$iteration, 0:fit$iterations)
  rel <- -diff(fit$trace$loss) / fit$trace$loss[-nrow(fit$trace)]
  expect_lt(rel[length(rel)], 1e-3)
  expect_true(all(rel[-length(rel)] >= 1e-3))
  expect_warning(nmf_conv(p$x, 2, 6, seed = 1, maxit = 3), class = "betanmf_warning_convergence")
  expect_output(nmf_conv(p$x, 2, 6, lambda = 0.01, seed = 1, maxit = 2, tol = 0, verbose = TRUE),
                "iteration +2  loss [0-9.e+]+  penalty")
})

test_that("fitted, residuals and deviance match the twins", {
  p <- ref_conv_planted(seed = 4)
  held <- matrix(runif(length(p$x)) < 0.1, nrow(p$x))
  fit <- nmf_conv(p$x, 2, 6, mask = held, seed = 1, maxit = 20, tol = 0)
  y <- ref_conv_model(fit$w, fit$h)
  expect_equal(unname(fitted(fit)), y, tolerance = 1e-12)
  expect_equal(unname(residuals(fit)), p$x - y, tolerance = 1e-12)
  expect_equal(deviance(fit), 2 * ref_conv_loss(p$x, fit$w, fit$h, 1, held), tolerance = 1e-12)
  expect_equal(deviance(fit), 2 * fit$loss, tolerance = 1e-10)
})

test_that("predict() recovers activations of known motifs and aligns rows by name", {
  set.seed(6)
  m <- 20; n <- 200; K <- 2; L <- 5
  w <- array(0, c(m, K, L))
  for (i in 1:10) w[i, 1, 1 + (i - 1) %% L] <- 1
  for (i in 11:20) w[i, 2, 1 + (i - 11) %% L] <- 1
  w[, 1, ] <- w[, 1, ] / sum(w[, 1, ])
  w[, 2, ] <- w[, 2, ] / sum(w[, 2, ])
  h <- matrix(rbinom(K * n, 1, 0.05) * runif(K * n, 5, 10), K, n)
  x <- ref_conv_model(w, h) # exact data: the activations are identifiable
  dimnames(w) <- list(paste0("n", 1:m), c("NMF1", "NMF2"), paste0("lag", 0:(L - 1)))
  fit <- structure(list(w = w, h = h, beta = 1, rank = K, lags = L, lambda = 0, lam = 0, l1w = 0, l1h = 0),
                   class = "nmf_conv")
  rownames(x) <- paste0("n", 1:m)
  hp <- predict(fit, x, maxit = 3000, tol = 0)
  expect_identical(dimnames(hp), list(c("NMF1", "NMF2"), NULL))
  expect_equal(unname(hp), h, tolerance = 1e-3)
  expect_lt(max(abs(ref_conv_model(unname(w), hp) - x)), 1e-4)
  # shuffled rows give the same activations; sparse input too
  shuffled <- x[sample(m), ]
  expect_equal(predict(fit, shuffled, maxit = 50), predict(fit, x, maxit = 50), tolerance = 1e-12)
  expect_equal(predict(fit, Matrix::Matrix(shuffled, sparse = TRUE), maxit = 50),
               predict(fit, x, maxit = 50), tolerance = 1e-12)
  # names that do not match, and unnamed rows of the wrong number
  bad <- x
  rownames(bad)[3] <- "zz"
  expect_error(predict(fit, bad), class = "betanmf_error_alignment")
  expect_error(predict(fit, unname(x[-1, ])), class = "betanmf_error_alignment")
  expect_error(predict(fit), class = "betanmf_error_input")
})

test_that("threads do not change the fit, and the seed reproduces it", {
  p <- ref_conv_planted(seed = 7)
  xs <- Matrix::Matrix(p$x, sparse = TRUE)
  for (xx in list(p$x, xs)) for (beta in c(1, 2)) {
    f1 <- nmf_conv(xx, 2, 6, beta = beta, lambda = 0.01, seed = 3, maxit = 15, tol = 0, threads = 1)
    f2 <- nmf_conv(xx, 2, 6, beta = beta, lambda = 0.01, seed = 3, maxit = 15, tol = 0, threads = 2)
    expect_identical(f1$w, f2$w)
    expect_identical(f1$h, f2$h)
    expect_identical(f1$trace, f2$trace)
  }
  f3 <- nmf_conv(p$x, 2, 6, seed = 3, maxit = 15, tol = 0)
  f4 <- nmf_conv(p$x, 2, 6, seed = 3, maxit = 15, tol = 0)
  f5 <- nmf_conv(p$x, 2, 6, seed = 4, maxit = 15, tol = 0)
  expect_identical(f3$w, f4$w)
  expect_false(identical(f3$w, f5$w))
  # restarts: the best run by the objective, every run kept
  fr <- nmf_conv(p$x, 2, 6, nrun = 3, lambda = 0.01, init = "random", seed = 3, maxit = 15, tol = 0)
  obj <- vapply(fr$runs, function(r) r$objective, numeric(1))
  expect_length(fr$runs, 3)
  expect_identical(fr$best, which.min(obj))
  expect_equal(fr$objective, min(obj))
  expect_equal(fr$objective, sum(fr$trace[16, c("loss", "penalty")]))
  # each run is the single fit from its own stream: run 2 alone, from the
  # start drawn from the second stream, gives the same factors
  ns <- asNamespace("betanmf")
  d <- ns$prepare_data(p$x, 1, drop_empty = FALSE)
  s <- ns$with_stream(ns$rng_streams(3L, 3)[[2]], ns$conv_random_start(d, 2L, 6L, sum(d$dense) / d$n_obs))
  start <- list(w = s$w, h = s$h * d$scale)
  f2 <- nmf_conv(p$x, 2, 6, lambda = 0.01, init = start, maxit = 15, tol = 0)
  expect_equal(f2$w, fr$runs[[2]]$w, tolerance = 1e-12)
})

test_that("conv_transpose() is W' (*) X for dense and sparse x", {
  p <- conv_small()
  expect_equal(unname(betanmf:::conv_transpose(p$w0, p$x)), ref_conv_transpose(p$w0, p$x), tolerance = 1e-12)
  expect_equal(unname(betanmf:::conv_transpose(p$w0, Matrix::Matrix(p$x, sparse = TRUE))),
               ref_conv_transpose(p$w0, p$x), tolerance = 1e-12)
  expect_error(betanmf:::conv_transpose(p$w0, p$x[-1, ]), class = "betanmf_error_alignment")
})

test_that("bad input is a classed error", {
  p <- conv_small()
  expect_error(nmf_conv(p$x, 2, 0), class = "betanmf_error_input")
  expect_error(nmf_conv(p$x, 2, 26), class = "betanmf_error_input")
  expect_error(nmf_conv(p$x, 2, 2.5), class = "betanmf_error_input")
  expect_error(nmf_conv(p$x, 0, 3), class = "betanmf_error_input")
  expect_error(nmf_conv(p$x, 3, 4, init = list(w = p$w0[, , 1:3], h = p$h0)), class = "betanmf_error_input")
  expect_error(nmf_conv(p$x, 3, 4, init = list(w = p$w0, h = p$h0[, -1])), class = "betanmf_error_input")
  expect_error(nmf_conv(p$x, 3, 4, init = list(w = -p$w0, h = p$h0)), class = "betanmf_error_data")
  expect_error(nmf_conv(p$x, 3, 4, init = "nndsvd"), class = "betanmf_error_input")
  expect_error(nmf_conv(p$x, 3, 4, lambda = -1), class = "betanmf_error_input")
  expect_error(nmf_conv(p$x, 3, 4, l1h = NA), class = "betanmf_error_input")
  expect_error(nmf_conv(-p$x, 3, 4), class = "betanmf_error_data")
  expect_error(nmf_conv(p$x, 3, 4, mask = p$held[, -1]), class = "betanmf_error_input")
  expect_error(nmf_conv(p$x, 3, 4, init = list(w = p$w0, h = p$h0), nrun = 2), class = "betanmf_error_input")
})

# init = "windows" (?nmf_conv, "Starts"): the plain-R construction of the
# start, with explicit window sums and nmf() on them
ref_windows_start <- function(x, rank, lags, seed, held = NULL) {
  if (!is.null(held)) x[held] <- 0
  n <- ncol(x)
  v <- matrix(0, nrow(x), n)
  for (t in seq_len(n)) v[, t] <- rowSums(x[, t:min(t + lags - 1, n), drop = FALSE])
  ns <- asNamespace("betanmf")
  nmf_seed <- ns$with_stream(ns$rng_streams(seed, 1L)[[1]], sample.int(.Machine$integer.max, 1L))
  f <- suppressWarnings(nmf(v, rank, beta = 1, seed = nmf_seed, maxit = 200, tol = 1e-4))
  w <- unname(f$w)
  h <- unname(f$h) / lags
  list(w = array(rep(w + 1e-3 * mean(w), lags), c(nrow(x), rank, lags)), h = h + 1e-3 * mean(h))
}

test_that("init = \"windows\" starts from nmf() of the window sums, dense and sparse, masked", {
  p <- conv_small(m = 12, n = 60, K = 2, L = 5, seed = 4)
  for (masked in c(FALSE, TRUE)) {
    held <- if (masked) p$held else NULL
    want <- suppressWarnings(nmf_conv(p$x, 2, 5, mask = held, init = ref_windows_start(p$x, 2, 5, 11, held),
                                      maxit = 3, tol = 0))
    for (sparse in c(FALSE, TRUE)) {
      xx <- if (sparse) Matrix::Matrix(p$x, sparse = TRUE) else p$x
      got <- suppressWarnings(nmf_conv(xx, 2, 5, mask = held, init = "windows", seed = 11, maxit = 3, tol = 0))
      label <- sprintf("%s, %s", if (sparse) "sparse" else "dense", if (masked) "masked" else "unmasked")
      expect_equal(unname(got$w), unname(want$w), tolerance = 1e-12, label = label)
      expect_equal(unname(got$h), unname(want$h), tolerance = 1e-12, label = label)
      expect_identical(got$init, "windows")
    }
  }
  # held-out entries never reach the start: changing them changes nothing
  x2 <- p$x
  x2[p$held] <- x2[p$held] + 7
  a <- suppressWarnings(nmf_conv(p$x, 2, 5, mask = p$held, init = "windows", seed = 11, maxit = 3, tol = 0))
  b <- suppressWarnings(nmf_conv(x2, 2, 5, mask = p$held, init = "windows", seed = 11, maxit = 3, tol = 0))
  expect_identical(a$w, b$w)
  expect_identical(a$h, b$h)
  # restarts draw their own starts, reproducibly
  r1 <- suppressWarnings(nmf_conv(p$x, 2, 5, init = "windows", nrun = 3, seed = 2, maxit = 5, tol = 0))
  r2 <- suppressWarnings(nmf_conv(p$x, 2, 5, init = "windows", nrun = 3, seed = 2, maxit = 5, tol = 0))
  expect_identical(r1$runs, r2$runs)
  expect_false(identical(r1$runs[[1]]$w, r1$runs[[2]]$w))
  expect_error(nmf_conv(p$x, 2, 5, init = "window"), "\"windows\"", class = "betanmf_error_input")
})

test_that("planted sequences: init = \"windows\" finds every motif from one start, and never raises the objective", {
  sim <- simulate_sequences(m = 60, n = 2000, n_seq = 3, seq_neurons = 15, lags = 10, onset_rate = 0.01,
                            amplitude = 1.5, jitter = 0, background = 0.05, seed = 3)
  fit <- suppressWarnings(nmf_conv(sim$x, 3, 10, init = "windows", seed = 1, maxit = 300, tol = 1e-5))
  cosine <- function(a, b) sum(a * b) / sqrt(sum(a^2) * sum(b^2))
  cm <- outer(1:3, 1:3, Vectorize(function(i, j) cosine(sim$w[, i, ], fit$w[, j, ])))
  matched <- cm[cbind(1:3, hungarian(cm, maximize = TRUE)$assignment)]
  expect_true(all(matched >= 0.9), label = paste(round(matched, 3), collapse = " "))
  expect_true(all(diff(fit$trace$loss) <= 1e-9 * abs(fit$trace$loss[-1])))
})
