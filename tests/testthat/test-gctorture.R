# Every .Call entry point under gctorture(TRUE) (a garbage collection at every
# allocation), on tiny inputs: an unPROTECTed object inside the C code would
# be collected and reused, and the result would differ from (or crash) the
# ordinary run.  The R-level preparation runs outside the torture (it is
# slow under gctorture and not what is being tested); only the .Call runs
# inside it.

torture <- function(expr) {
  gctorture(TRUE)
  on.exit(gctorture(FALSE))
  force(expr)
}

ns <- asNamespace("betanmf")

# the arguments nmf() would hand to C_nmf_fit, prepared once
prepared_call <- function(x, beta, solver, mask = NULL, update_w = TRUE, volume = 0) {
  d <- ns$prepare_data(x, beta = beta, mask = mask)
  set.seed(1)
  start <- ns$init_factors(d$xs, 2L, "random", 1)
  if (volume > 0) start <- ns$simplex_start(start)
  ctl <- ns$solver_control(list(check = 1L), solver, d$dims, 2L, 2L, 0)
  unname(ns$solver_args(d, start$w, start$h, beta, solver, ctl, update_w, 1L, FALSE, volume = volume))
}

call_fit <- function(args) do.call(.Call, c(list(ns$C_nmf_fit), args))

test_that("C_nmf_fit survives gctorture: dense/sparse, HALS/MU/CD, masks, fixed W", {
  skip_on_cran()
  set.seed(3)
  x <- matrix(stats::rexp(12) + 0.1, 3, 4)
  x[2, 3] <- 0
  xs <- methods::as(Matrix::Matrix(x, sparse = TRUE), "CsparseMatrix")
  mask <- matrix(FALSE, 3, 4)
  mask[1, 2] <- TRUE
  cases <- list(
    list(x, 2, "hals", NULL, TRUE), list(x, 2, "mu", NULL, TRUE),
    list(x, 1, "mu", NULL, TRUE), list(x, 1.5, "mu", NULL, TRUE),
    list(xs, 2, "hals", NULL, TRUE), list(xs, 1, "mu", NULL, TRUE), list(xs, 1.5, "mu", NULL, TRUE),
    list(x, 2, "hals", mask, TRUE), list(x, 1, "mu", mask, TRUE), list(x, 0.5, "mu", mask, TRUE),
    list(xs, 2, "hals", mask, TRUE), list(xs, 1, "mu", mask, TRUE), list(xs, 3, "mu", mask, TRUE),
    list(x + 1, 0, "mu", NULL, TRUE),
    list(x, 1, "cd", NULL, TRUE), list(xs, 1, "cd", NULL, TRUE), list(x, 1, "cd", mask, TRUE),
    list(xs, 1, "cd", mask, TRUE), list(x, 1, "cd", NULL, FALSE),
    # update_w = FALSE: the predict() / refitting path
    list(x, 2, "hals", NULL, FALSE), list(x, 1, "mu", NULL, FALSE), list(xs, 1.5, "mu", NULL, FALSE),
    # minimum volume (the sixth element: volume)
    list(x, 1, "mu", NULL, TRUE, 0.1), list(xs, 0.5, "mu", mask, TRUE, 0.1), list(x + 1, 0, "mu", NULL, TRUE, 0.1)
  )
  for (cs in cases) {
    args <- prepared_call(cs[[1]], cs[[2]], cs[[3]], cs[[4]], cs[[5]], if (length(cs) > 5) cs[[6]] else 0)
    expected <- call_fit(args)
    got <- torture(call_fit(args))
    expect_identical(got, expected,
                     label = sprintf("beta %g %s sparse %s mask %s update_w %s", cs[[2]], cs[[3]],
                                     inherits(cs[[1]], "sparseMatrix"), !is.null(cs[[4]]), cs[[5]]))
  }
})

test_that("C_beta_divergence survives gctorture", {
  skip_on_cran()
  x <- as.double(1:12)
  y <- as.double(12:1)
  keep <- rep(c(TRUE, FALSE, TRUE), 4)
  for (beta in c(-1, 0, 0.5, 1, 1.5, 2, 3)) {
    expected <- .Call(ns$C_beta_divergence, x, y, beta, NULL)
    expect_identical(torture(.Call(ns$C_beta_divergence, x, y, beta, NULL)), expected)
    expected_k <- .Call(ns$C_beta_divergence, x, y, beta, keep)
    expect_identical(torture(.Call(ns$C_beta_divergence, x, y, beta, keep)), expected_k)
  }
})

test_that("the public entry points give the same answers under gctorture", {
  skip_on_cran()
  # the whole R path too, on the smallest input (slow under torture: one fit)
  x <- matrix(c(1, 2, 0, 4, 5, 6, 7, 0, 9, 1, 2, 3), 3, 4)
  fit <- suppressWarnings(nmf(x, 2, beta = 1, maxit = 2, seed = 1))
  nd <- x[, 1:2]
  p0 <- suppressWarnings(predict(fit, newdata = nd, maxit = 2))
  p1 <- torture(suppressWarnings(predict(fit, newdata = nd, maxit = 2)))
  expect_identical(p1, p0)
  b0 <- beta_divergence(x, fitted(fit), 1)
  expect_identical(torture(beta_divergence(x, fitted(fit), 1)), b0)
})

test_that("C_hungarian survives gctorture", {
  skip_on_cran()
  skip_if_not(exists("C_hungarian", envir = ns, inherits = FALSE), "no C_hungarian in this version")
  cost <- matrix(c(4, 1, 3, 2, 0, 5, 3, 2, 2, 7, 1, 1), 3, 4)
  for (maximize in c(FALSE, TRUE)) {
    expected <- .Call(ns$C_hungarian, cost, maximize)
    expect_identical(torture(.Call(ns$C_hungarian, cost, maximize)), expected)
  }
})

test_that("C_nmf_conv and C_conv_transpose survive gctorture", {
  skip_on_cran()
  set.seed(3)
  x <- matrix(stats::rpois(24, 2), 4, 6)
  x[2, ] <- 0
  xs <- methods::as(Matrix::Matrix(x, sparse = TRUE), "CsparseMatrix")
  mask <- matrix(FALSE, 4, 6)
  mask[cbind(c(1, 3), c(2, 5))] <- TRUE
  w <- array(stats::runif(4 * 2 * 3) + 0.1, c(4, 2, 3))
  h <- matrix(stats::runif(12) + 0.1, 2, 6)
  for (xx in list(x, xs)) for (beta in c(1, 2, 0.5)) for (held in list(NULL, mask)) {
    d <- ns$prepare_data(xx, beta = beta, mask = held, drop_empty = FALSE)
    ctl <- list(beta = beta, lags = 3L, maxit = 2L, tol = 0, l1w = 0.1, l1h = 0.1, lam = 0.2, update_w = TRUE,
                threads = 1L, verbose = FALSE, unit = 1, run = 0L)
    expected <- ns$conv_call(d, w, h, ctl)
    expect_identical(torture(ns$conv_call(d, w, h, ctl)), expected)
    expected_t <- ns$conv_transpose_data(w, d)
    expect_identical(torture(ns$conv_transpose_data(w, d)), expected_t)
  }
})
