test_that("beta_divergence matches the direct formula, zeros included", {
  set.seed(1)
  x <- matrix(rpois(30, 2), 5, 6)
  y <- matrix(runif(30) + 0.5, 5, 6)
  for (beta in c(0.5, 1, 2, 3)) {
    expect_equal(beta_divergence(x, y, beta), ref_div(x, y, beta), tolerance = 1e-12)
  }
  xp <- x + 1
  expect_equal(beta_divergence(xp, y, 0), ref_div(xp, y, 0), tolerance = 1e-12)
  # closed forms for single entries
  expect_equal(beta_divergence(2, 1, 1), 2 * log(2) - 1)
  expect_equal(beta_divergence(0, 3, 1), 3)
  expect_equal(beta_divergence(2, 1, 0), 2 - log(2) - 1)
  expect_equal(beta_divergence(3, 1, 2), 2)
  expect_equal(beta_divergence(0, 2, 3), 2^3 / 3)
  # the divergence is zero only at x = y
  expect_equal(beta_divergence(y, y, 1.5), 0)
})

test_that("masks leave entries out of the sum", {
  set.seed(2)
  x <- matrix(rpois(20, 3), 4, 5)
  y <- matrix(runif(20) + 1, 4, 5)
  m <- matrix(FALSE, 4, 5)
  m[2, 3] <- m[4, 1] <- TRUE
  expect_equal(beta_divergence(x, y, 1, mask = m), ref_div(x[!m], y[!m], 1))
  expect_equal(beta_divergence(x, y, 1, mask = !m), ref_div(x[m], y[m], 1))
  expect_equal(beta_divergence(Matrix::Matrix(x, sparse = TRUE), y, 2), ref_div(x, y, 2))
  expect_error(beta_divergence(x, y[, 1:4], 1), "same dimensions")
  expect_error(beta_divergence(x, y, 1, mask = matrix(1, 4, 5)), "'mask'")
  expect_error(beta_divergence(x, -y, 1), "non-negative")
})
