test_that("simulate_nmf() returns planted factors with the documented scale", {
  sim <- simulate_nmf(30, 20, 3, noise = "none", depth = 500, seed = 1)
  expect_named(sim, c("x", "w", "h", "noise", "seed"))
  expect_equal(dim(sim$x), c(30L, 20L))
  expect_equal(dim(sim$w), c(30L, 3L))
  expect_equal(dim(sim$h), c(3L, 20L))
  expect_equal(unname(colSums(sim$w)), rep(1, 3))
  expect_equal(unname(colSums(sim$x)), rep(500, 20))
  expect_equal(sim$x, sim$w %*% sim$h)
  expect_identical(rownames(sim$x), paste0("r", 1:30))
  expect_identical(colnames(sim$x), paste0("s", 1:20))
  expect_identical(colnames(sim$w), rownames(sim$h))
  depth <- seq(100, 2000, length.out = 20)
  sim2 <- simulate_nmf(30, 20, 3, noise = "none", depth = depth, seed = 1)
  expect_equal(unname(colSums(sim2$x)), depth)
})

test_that("the same seed gives the same data and leaves the user's RNG alone", {
  set.seed(42)
  before <- .Random.seed
  a <- simulate_nmf(20, 15, 2, seed = 7)
  expect_identical(.Random.seed, before)
  b <- simulate_nmf(20, 15, 2, seed = 7)
  expect_identical(a, b)
  c <- simulate_nmf(20, 15, 2, seed = 8)
  expect_false(identical(a$x, c$x))
})

test_that("the noise models have their documented moments", {
  sim <- simulate_nmf(200, 100, 3, noise = "poisson", depth = 2000, seed = 3)
  y <- sim$w %*% sim$h
  expect_true(all(sim$x == round(sim$x)))
  # Poisson: E x = y and Var x = y, so the Pearson statistic is ~ 1 per entry
  expect_equal(mean((sim$x - y)^2 / y), 1, tolerance = 0.03)
  g <- simulate_nmf(50, 50, 2, noise = "gamma", noise_level = 0.2, w_shape = 5, seed = 4)
  ratio <- g$x / (g$w %*% g$h)
  expect_equal(mean(ratio), 1, tolerance = 0.02)
  expect_equal(sd(as.vector(ratio)), 0.2, tolerance = 0.05)
  n <- simulate_nmf(50, 50, 2, noise = "gaussian", noise_level = 0.01, w_shape = 20, seed = 5)
  y <- n$w %*% n$h
  expect_equal(sd(as.vector(n$x - y)), 0.01 * mean(y), tolerance = 0.05)
  expect_true(all(n$x >= 0))
})

test_that("given factors are used and W H is preserved", {
  w <- matrix(c(1, 1, 0, 0, 0, 0, 2, 2), 4, 2, dimnames = list(letters[1:4], c("P", "Q")))
  h <- matrix(1:6, 2, 3)
  sim <- simulate_nmf(w = w, h = h, noise = "none", seed = 1)
  expect_equal(unname(sim$x), unname(w %*% h))
  expect_identical(rownames(sim$x), letters[1:4])
  expect_identical(rownames(sim$h), c("P", "Q"))
  expect_equal(unname(colSums(sim$w)), c(1, 1))
  sim2 <- simulate_nmf(w = w, n = 5, depth = 100, noise = "none", seed = 1)
  expect_equal(unname(colSums(sim2$x)), rep(100, 5))
})

test_that("bad arguments are errors that name them", {
  expect_error(simulate_nmf(0, 5, 2), "'m'")
  expect_error(simulate_nmf(5, 5, 1.5), "'rank'")
  expect_error(simulate_nmf(5, 5, 2, depth = c(1, 2)), "'depth'")
  expect_error(simulate_nmf(5, 5, 2, noise_level = -1), "'noise_level'")
  expect_error(simulate_nmf(5, 5, 2, noise = "cauchy"), "'noise' must be one of")
  expect_error(simulate_nmf(5, 5, 2, w = matrix(1, 4, 2)), "'w'")
  expect_error(simulate_nmf(5, 5, 2, seed = 1.5), "'seed'")
})
