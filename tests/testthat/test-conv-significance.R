# conv_significance(): seqNMF's held-out skewness test (issue 27), checked
# against plain-R twins that build every null motif explicitly.

# W' (*) X by explicit sums: out[k, t] = sum_l sum_i w[i, k, l] x[i, t + l]
overlap_twin <- function(w, x) {
  n <- ncol(x)
  out <- matrix(0, dim(w)[2], n)
  for (k in seq_len(dim(w)[2])) {
    for (t in seq_len(n)) {
      for (l in seq_len(dim(w)[3]) - 1L) {
        if (t + l <= n) out[k, t] <- out[k, t] + sum(w[, k, l + 1L] * x[, t + l])
      }
    }
  }
  out
}

skew_twin <- function(v) {
  d <- v - mean(v)
  mean(d^3) / mean(d^2)^1.5
}

# each neuron's row shifted circularly by its own amount: null[i, l] = w[i, (l - s_i) mod L]
shift_rows_twin <- function(wk, s) {
  lags <- ncol(wk)
  out <- wk
  for (i in seq_len(nrow(wk))) {
    if (s[i] > 0) out[i, ] <- wk[i, c((lags - s[i] + 1):lags, 1:(lags - s[i]))]
  }
  out
}

small_sequences <- function(seed, n = 1200, ...) {
  simulate_sequences(m = 24, n = n, n_seq = 2, seq_neurons = 8, lags = 6, onset_rate = 0.02,
                     amplitude = 1.5, jitter = 0.3, background = 0.05, seed = seed, ...)
}

test_that("the observed skewness is that of W' (*) X by explicit sums", {
  sim <- small_sequences(1, n = 300)
  set.seed(1)
  w <- sim$w + array(rexp(length(sim$w), 50), dim(sim$w), dimnames(sim$w))
  res <- conv_significance(w, sim$x, nnull = 99, seed = 1)
  expected <- apply(overlap_twin(w, sim$x), 1, skew_twin)
  expect_equal(res$skewness, unname(expected), tolerance = 1e-10)
  expect_identical(res$component, c("seq1", "seq2"))
  expect_equal(unname(betanmf:::conv_transpose(w, sim$x)), overlap_twin(w, sim$x), tolerance = 1e-12)
})

test_that("the null skewness equals explicitly shifted motifs, chunk by chunk", {
  set.seed(2)
  m <- 7
  lags <- 4
  w <- array(rgamma(m * 3 * lags, 0.5), c(m, 3, lags))
  x <- matrix(rpois(m * 50, 1), m, 50)
  shifts <- array(sample.int(lags, m * 3 * 6, replace = TRUE) - 1L, c(m, 3, 6))
  expected <- matrix(0, 3, 6)
  for (k in 1:3) {
    for (j in 1:6) {
      null_w <- w
      null_w[, k, ] <- shift_rows_twin(w[, k, ], shifts[, k, j])
      expected[k, j] <- skew_twin(overlap_twin(null_w, x)[k, ])
    }
  }
  # one chunk, and chunks of 1 and of 3 time bins (m L = 28 entries a bin)
  expect_equal(betanmf:::conv_null_skewness(w, x, shifts), expected, tolerance = 1e-10)
  expect_equal(betanmf:::conv_null_skewness(w, x, shifts, chunk_entries = 1), expected, tolerance = 1e-10)
  expect_equal(betanmf:::conv_null_skewness(w, x, shifts, chunk_entries = 3 * m * lags), expected,
               tolerance = 1e-10)
  # no shift: the null is the motif itself
  zero <- array(0L, c(m, 3, 1))
  expect_equal(betanmf:::conv_null_skewness(w, x, zero)[, 1], apply(overlap_twin(w, x), 1, skew_twin),
               tolerance = 1e-10)
})

test_that("planted sequences are significant on held-out time", {
  sim <- small_sequences(3)
  test <- sim$x[, 601:1200]
  res <- conv_significance(sim$w, test, nnull = 199, seed = 1)
  # p = (1 + #null >= observed) / (1 + nnull) against the twin's null
  null <- attr(res, "null")
  expect_identical(dim(null), c(2L, 199L))
  expect_equal(res$p_value, unname(1 + rowSums(null >= res$skewness)) / 200)
  expect_equal(res$p_value, c(1, 1) / 200)
  expect_true(all(res$significant))
  expect_equal(attr(res, "threshold"), 0.025)
  # p-value at the threshold: 1 / 40 = 0.05 / 2 is significant
  edge <- conv_significance(sim$w, test, nnull = 39, seed = 1)
  expect_equal(edge$p_value, c(1, 1) / 40)
  expect_true(all(edge$significant))
  # a fit object carries its motifs in $w
  fit <- structure(list(w = sim$w, h = sim$h), class = "nmf_conv")
  expect_identical(conv_significance(fit, test, nnull = 199, seed = 1), res)
  # reproducible by seed, without touching the user's RNG
  set.seed(9)
  before <- .Random.seed
  again <- conv_significance(sim$w, test, nnull = 199, seed = 1)
  expect_identical(.Random.seed, before)
  expect_identical(again, res)
})

test_that("an nmf_conv() fit passes on held-out time, a fit of noise does not", {
  sim <- simulate_sequences(m = 30, n = 1600, n_seq = 2, seq_neurons = 10, lags = 10, onset_rate = 0.02,
                            amplitude = 1.5, jitter = 0.3, background = 0.05, seed = 2)
  fit <- nmf_conv(sim$x[, 1:800], rank = 2, lags = 10, seed = 1)
  res <- conv_significance(fit, sim$x[, 801:1600], nnull = 199, seed = 1)
  expect_true(all(res$significant))
  set.seed(2)
  quiet <- matrix(rpois(30 * 1600, 0.2), 30, 1600, dimnames = list(rownames(sim$x), NULL))
  fit_quiet <- nmf_conv(quiet[, 1:800], rank = 2, lags = 10, seed = 1)
  res_quiet <- conv_significance(fit_quiet, quiet[, 801:1600], nnull = 199, seed = 1)
  expect_false(any(res_quiet$significant))
})

test_that("motifs without a sequence are not significant", {
  sim <- small_sequences(4)
  test <- sim$x[, 601:1200]
  # the true neurons with their timing scrambled, and weights from noise
  set.seed(5)
  scrambled <- sim$w
  for (k in 1:2) scrambled[, k, ] <- shift_rows_twin(sim$w[, k, ], sample.int(6, 24, TRUE) - 1L)
  noise <- array(rexp(length(sim$w)), dim(sim$w), dimnames(sim$w))
  for (w in list(scrambled, noise)) {
    res <- conv_significance(w, test, nnull = 199, seed = 2)
    expect_false(any(res$significant))
    expect_true(all(res$p_value > 0.05))
  }
  # a motif flat over the lags is unchanged by the shifts: p = 1
  flat <- sim$w
  flat[] <- apply(sim$w, 1:2, mean)
  res <- conv_significance(flat, test, nnull = 99, seed = 2)
  expect_equal(res$p_value, c(1, 1))
  # on data with no sequence the p-values of noise motifs are about uniform
  quiet <- matrix(rpois(24 * 600, 0.3), 24, 600, dimnames = list(rownames(sim$x), NULL))
  p <- unlist(lapply(1:20, function(s) {
    set.seed(100 + s)
    w <- array(rexp(24 * 2 * 6), c(24, 2, 6), list(rownames(sim$x), NULL, NULL))
    conv_significance(w, quiet, nnull = 99, seed = s)$p_value
  }))
  expect_gt(mean(p <= 0.5), 0.25)
  expect_lt(mean(p <= 0.5), 0.75)
  expect_lt(mean(p <= 0.1), 0.25)
})

test_that("newdata's rows are matched to the motifs' by name", {
  sim <- small_sequences(6, n = 400)
  res <- conv_significance(sim$w, sim$x, nnull = 99, seed = 3)
  perm <- sample.int(24)
  expect_identical(conv_significance(sim$w, sim$x[perm, ], nnull = 99, seed = 3), res)
  sparse <- Matrix::Matrix(sim$x[perm, ], sparse = TRUE)
  expect_equal(conv_significance(sim$w, sparse, nnull = 99, seed = 3), res, tolerance = 1e-12)
  expect_equal(conv_significance(sim$w, as.data.frame(sim$x), nnull = 99, seed = 3), res)
  other <- sim$x
  rownames(other)[3] <- "z99"
  expect_error(conv_significance(sim$w, other, nnull = 99), "z99", class = "betanmf_error_alignment")
  expect_error(conv_significance(sim$w, unname(sim$x), nnull = 99), class = "betanmf_error_alignment")
  expect_error(conv_significance(sim$w, sim$x[-1, ], nnull = 99), class = "betanmf_error_alignment")
  unnamed <- unname(sim$w)
  expect_equal(conv_significance(unnamed, unname(sim$x), nnull = 99, seed = 3)$p_value, res$p_value)
  expect_error(conv_significance(unnamed, unname(sim$x[-1, ]), nnull = 99), "must have 24 rows",
               class = "betanmf_error_alignment")
})

test_that("bad arguments are errors that name them", {
  sim <- small_sequences(7, n = 200)
  expect_error(conv_significance(sim$w), "'newdata' is required")
  expect_error(conv_significance(sim$w[, , 1], sim$x), "'fit' must be an nmf_conv fit")
  bad <- sim$w
  bad[1] <- -1
  expect_error(conv_significance(bad, sim$x), "non-negative")
  expect_error(conv_significance(sim$w, sim$x, nnull = 0), "'nnull'")
  expect_error(conv_significance(sim$w, sim$x, nnull = 20), "use nnull >= 39")
  expect_error(conv_significance(sim$w, sim$x, alpha = 1), "'alpha'")
  x_na <- sim$x
  x_na[2, 2] <- NA
  expect_error(conv_significance(sim$w, x_na, nnull = 99), "without NA", class = "betanmf_error_data")
  expect_error(conv_significance(sim$w, sim$x[, 1:2], nnull = 99), "at least 3 time bins")
  # an empty motif and data without spikes have no skewness: NA, p = 1
  empty <- sim$w
  empty[, 2, ] <- 0
  res <- conv_significance(empty, sim$x, nnull = 99, seed = 1)
  expect_true(is.na(res$skewness[2]) && res$p_value[2] == 1 && !res$significant[2])
  res0 <- conv_significance(sim$w, sim$x * 0, nnull = 99, seed = 1)
  expect_equal(res0$p_value, c(1, 1))
})
