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

# simulate_sequences(): planted neural sequences (issue 27)

# the expected counts given the onsets, by explicit shifted sums:
# background + sum_l W_l shift(H, l)
sequence_rate_twin <- function(sim) {
  m <- nrow(sim$x)
  n <- ncol(sim$x)
  mu <- matrix(sim$background, m, n)
  for (l in seq_len(dim(sim$w)[3]) - 1L) {
    if (l >= n) break
    for (s in seq_len(dim(sim$w)[2])) {
      for (t in which(sim$h[s, ] > 0)) {
        if (t + l <= n) mu[, t + l] <- mu[, t + l] + sim$w[, s, l + 1L] * sim$h[s, t]
      }
    }
  }
  mu
}

test_that("simulate_sequences() returns the documented truth", {
  sim <- simulate_sequences(seed = 1)
  expect_named(sim, c("x", "w", "h", "onsets", "neurons", "neuron_lag", "background", "seed"))
  expect_identical(dim(sim$x), c(100L, 5000L))
  expect_identical(dim(sim$w), c(100L, 3L, 20L))
  expect_identical(dim(sim$h), c(3L, 5000L))
  expect_identical(dimnames(sim$w), list(rownames(sim$x), c("seq1", "seq2", "seq3"), paste0("lag", 0:19)))
  expect_identical(rownames(sim$x)[c(1, 100)], c("n001", "n100"))
  expect_identical(colnames(sim$h), colnames(sim$x))
  expect_equal(unname(apply(sim$w, 2, sum)), rep(1, 3))
  expect_identical(sim$neurons, list(seq1 = 1:20, seq2 = 21:40, seq3 = 41:60))
  # only members load, and member j of each sequence peaks at its own lag
  expect_true(all(apply(sim$w[61:100, , ], 1, sum) == 0))
  own <- round((0:19) * 19 / 19)
  for (s in 1:3) {
    peak <- apply(sim$w[sim$neurons[[s]], s, ], 1, which.max) - 1L
    expect_equal(unname(peak), own)
    expect_equal(unname(sim$neuron_lag[sim$neurons[[s]], s]), own)
    expect_equal(unname(which(sim$h[s, ] > 0)), sim$onsets[[s]])
    expect_true(all(sim$h[s, sim$onsets[[s]]] == 20))
  }
  # about onset_rate * n = 50 occurrences each
  expect_true(all(lengths(sim$onsets) > 25 & lengths(sim$onsets) < 80))
  expect_true(all(sim$x == round(sim$x) & sim$x >= 0))
})

test_that("simulate_sequences() without jitter is Poisson around the convolutive model", {
  sim <- simulate_sequences(m = 30, n = 3000, n_seq = 2, seq_neurons = 10, lags = 8, jitter = 0,
                            amplitude = 2, background = 0.05, overlap = 2, seed = 2)
  expect_identical(sim$neurons, list(seq1 = 1:10, seq2 = 9:18))
  # the shared neurons fire late in seq1 and early in seq2
  # own lags round((j - 1) * 7 / 9): members 9, 10 of seq1 and 1, 2 of seq2
  expect_equal(unname(sim$neuron_lag[9:10, ]), matrix(c(6, 7, 0, 1), 2))
  mu <- sequence_rate_twin(sim)
  # the planted rate is well above background where the members fire
  expect_gt(min(mu[cbind(9, sim$onsets[[1]][sim$onsets[[1]] <= 2990] + 6)]), 2)
  expect_equal(mean(sim$x), mean(mu), tolerance = 0.03)
  # the Pearson statistic is ~ 1 per entry only if every spike is where the
  # model puts it
  expect_equal(mean((sim$x - mu)^2 / mu), 1, tolerance = 0.05)
  on <- mu > 1
  expect_equal(sum(sim$x[on]), sum(mu[on]), tolerance = 0.05)
  expect_lt(mean(sim$x[!on]), 0.06)
})

test_that("simulate_sequences() jitters each spike by a discretised normal", {
  sim <- simulate_sequences(m = 60, n = 50000, n_seq = 3, seq_neurons = 20, lags = 20, onset_rate = 0.002,
                            amplitude = 1, jitter = 1, background = 0.02, seed = 3)
  p <- dnorm(-2:2) / sum(dnorm(-9:9)) # the lag distribution around a central own lag
  for (d in -2:2) {
    total <- 0
    terms <- 0
    for (s in 1:3) {
      keep <- sim$neuron_lag[sim$neurons[[s]], s] %in% 3:16
      rows <- sim$neurons[[s]][keep]
      lag <- sim$neuron_lag[rows, s]
      t0 <- sim$onsets[[s]][sim$onsets[[s]] <= 50000 - 20]
      for (j in seq_along(rows)) {
        total <- total + sum(sim$x[rows[j], t0 + lag[j] + d])
        terms <- terms + length(t0)
      }
    }
    expect_equal(total / terms, p[d + 3] + 0.02, tolerance = 0.1)
  }
})

test_that("simulate_sequences() is reproducible by seed and leaves the user's RNG alone", {
  set.seed(42)
  before <- .Random.seed
  a <- simulate_sequences(m = 20, n = 300, n_seq = 2, seq_neurons = 5, lags = 5, seed = 7)
  expect_identical(.Random.seed, before)
  b <- simulate_sequences(m = 20, n = 300, n_seq = 2, seq_neurons = 5, lags = 5, seed = 7)
  expect_identical(a, b)
  c <- simulate_sequences(m = 20, n = 300, n_seq = 2, seq_neurons = 5, lags = 5, seed = 8)
  expect_false(identical(a$x, c$x))
})

test_that("simulate_sequences() rejects bad arguments by name", {
  expect_error(simulate_sequences(m = 50), "need 60 neurons, but 'm' is 50")
  expect_error(simulate_sequences(overlap = 20), "'overlap' must be smaller")
  expect_error(simulate_sequences(lags = 0), "'lags'")
  expect_error(simulate_sequences(n = 10, lags = 20), "'lags' \\(20\\) must not exceed")
  expect_error(simulate_sequences(onset_rate = 0), "'onset_rate'")
  expect_error(simulate_sequences(jitter = -1), "'jitter'")
  expect_error(simulate_sequences(background = c(1, 2)), "'background'")
  expect_error(simulate_sequences(amplitude = 0), "'amplitude'")
})
