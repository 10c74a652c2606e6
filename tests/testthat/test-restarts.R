# Restarts in nmf(): reproducible from the seed, all runs kept, the best one
# returned, identical whether run sequentially or on parallel workers.

restart_data <- function() simulate_nmf(25, 20, 3, noise = "poisson", depth = 300, seed = 11)$x

test_that("nmf(nrun = 5, seed = 1) is reproducible and keeps every run", {
  x <- restart_data()
  fit1 <- nmf(x, 3, beta = 1, nrun = 5, seed = 1, maxit = 3000)
  fit2 <- nmf(x, 3, beta = 1, nrun = 5, seed = 1, maxit = 3000)
  expect_identical(fit1$w, fit2$w)
  expect_identical(fit1$h, fit2$h)
  expect_identical(fit1$runs, fit2$runs)
  expect_length(fit1$runs, 5)
  for (run in fit1$runs) {
    expect_named(run, c("w", "h", "loss", "iterations", "converged"))
    expect_equal(dim(run$w), c(25, 3))
    expect_equal(dim(run$h), c(3, 20))
    expect_equal(unname(colSums(run$w)), rep(1, 3))
    # each run's loss is the divergence of its own factors
    expect_equal(run$loss, beta_divergence(x, run$w %*% run$h, beta = 1), tolerance = 1e-8)
  }
  # the runs differ (random starts), and a different seed gives different runs
  expect_false(identical(fit1$runs[[1]]$w, fit1$runs[[2]]$w))
  expect_false(identical(nmf(x, 3, beta = 1, nrun = 5, seed = 2, maxit = 3000)$runs, fit1$runs))
})

test_that("the returned fit is the run with the smallest loss", {
  x <- restart_data()
  fit <- nmf(x, 3, beta = 1, nrun = 5, seed = 1, maxit = 3000)
  losses <- vapply(fit$runs, function(r) r$loss, numeric(1))
  expect_equal(fit$best, which.min(losses))
  expect_identical(fit$loss, min(losses))
  expect_identical(fit$w, fit$runs[[fit$best]]$w)
  expect_identical(fit$h, fit$runs[[fit$best]]$h)
  # a single run keeps no runs
  single <- nmf(x, 3, beta = 1, seed = 1)
  expect_null(single$runs)
  expect_null(single$best)
})

test_that("restarts leave the user's random-number stream alone", {
  x <- restart_data()
  set.seed(123)
  before <- runif(1)
  set.seed(123)
  invisible(nmf(x, 3, beta = 1, nrun = 3, seed = 1, maxit = 3000))
  expect_identical(runif(1), before)
})

test_that("restarts are silent (no printed progress, messages or warnings)", {
  x <- restart_data()
  expect_silent(nmf(x, 3, beta = 1, nrun = 3, seed = 1, maxit = 3000))
})

test_that("sequential and multisession restarts give identical fits", {
  skip_on_cran()
  skip_if_not_installed("future")
  skip_if_not_installed("future.apply")
  x <- restart_data()
  old_plan <- future::plan(future::sequential)
  on.exit(future::plan(old_plan), add = TRUE)
  sequential_fit <- nmf(x, 3, beta = 1, nrun = 5, seed = 1, maxit = 3000)
  future::plan(future::multisession, workers = 2)
  parallel_fit <- nmf(x, 3, beta = 1, nrun = 5, seed = 1, maxit = 3000)
  expect_identical(parallel_fit$runs, sequential_fit$runs)
  expect_identical(parallel_fit$w, sequential_fit$w)
  expect_identical(parallel_fit$best, sequential_fit$best)
})
