# consensus(): connectivity, cophenetic correlation and dispersion against
# direct formulas, identical runs and planted clusters.

# a minimal nmf_fit with the given runs' H (W is not used by consensus())
fit_from_h <- function(hs, rank = nrow(hs[[1]])) {
  runs <- lapply(hs, function(h) list(w = matrix(1 / 3, 3, nrow(h)), h = h, loss = 0,
                                      iterations = 1L, converged = TRUE))
  structure(list(w = runs[[1]]$w, h = hs[[1]], rank = rank, runs = runs, best = 1L),
            class = "nmf_fit")
}

test_that("consensus() equals the mean connectivity and the published formulas", {
  set.seed(1)
  n <- 12
  hs <- replicate(7, matrix(rexp(3 * n), 3, n), simplify = FALSE)
  cons <- consensus(fit_from_h(hs))
  # reference: one full n x n connectivity matrix per run, averaged
  connectivity <- lapply(hs, function(h) {
    cl <- apply(h, 2, which.max)
    outer(cl, cl, "==") * 1
  })
  ref <- Reduce(`+`, connectivity) / length(hs)
  expect_equal(cons$consensus, ref, ignore_attr = TRUE)
  expect_equal(cons$dispersion, sum(4 * (ref - 0.5)^2) / n^2)
  d <- as.dist(1 - ref)
  tree <- hclust(d, method = "average")
  expect_equal(cons$cophenetic, cor(as.vector(d), as.vector(cophenetic(tree))))
  expect_equal(cons$order, tree$order)
  expect_equal(unname(cons$classes), unname(cutree(tree, 3)))
  expect_true(cons$cophenetic < 1 && cons$dispersion < 1)
  expect_equal(cons$nrun, 7)
})

test_that("identical runs give cophenetic 1 and dispersion 1", {
  set.seed(2)
  h <- matrix(rexp(3 * 15), 3, 15)
  cons <- consensus(fit_from_h(rep(list(h), 4)))
  expect_equal(cons$cophenetic, 1)
  expect_equal(cons$dispersion, 1)
  expect_true(all(cons$consensus %in% c(0, 1)))
  # all samples in one component in every run: distances all zero
  h1 <- rbind(rep(5, 6), rep(1, 6))
  cons1 <- consensus(fit_from_h(rep(list(h1), 3)))
  expect_equal(cons1$cophenetic, 1)
  expect_equal(cons1$dispersion, 1)
})

test_that("identical runs (one nmf() fit, three times) give cophenetic and dispersion 1", {
  sim <- simulate_nmf(20, 15, 3, noise = "poisson", depth = 200, seed = 3)
  start <- list(w = sim$w + 0.01, h = sim$h + 0.01)
  # nmf() refuses restarts from one start (see test-nmf.R): copy one run
  fit <- nmf(sim$x, 3, beta = 1, init = start, seed = 1, maxit = 5000)
  fit$runs <- rep(list(fit[c("w", "h", "loss", "iterations", "converged")]), 3)
  fit$best <- 1L
  cons <- consensus(fit)
  expect_equal(cons$cophenetic, 1)
  expect_equal(cons$dispersion, 1)
  expect_equal(dim(cons$consensus), c(15, 15))
  expect_equal(rownames(cons$consensus), colnames(sim$x))
})

test_that("consensus() recovers planted, well-separated clusters", {
  set.seed(4)
  m <- 40
  n <- 30
  truth <- rep(1:3, each = 10)
  w <- matrix(0.01, m, 3)
  w[1:14, 1] <- w[14:27, 2] <- w[27:40, 3] <- 1
  h <- matrix(0.02, 3, n)
  h[cbind(truth, seq_len(n))] <- runif(n, 1, 2)
  x <- matrix(rpois(m * n, 50 * w %*% h), m, n)
  fit <- nmf(x, 3, beta = 1, nrun = 8, seed = 1, maxit = 3000)
  cons <- consensus(fit)
  expect_equal(cons$cophenetic, 1)
  expect_equal(cons$dispersion, 1)
  # one class per planted cluster, one-to-one
  tab <- table(truth, cons$classes)
  expect_equal(sum(tab > 0), 3)
  expect_equal(unname(sort(apply(tab, 1, max))), rep(10L, 3))
  # the heatmap order keeps the planted clusters contiguous
  expect_equal(sum(diff(truth[cons$order]) != 0), 2)
})

test_that("consensus() explains what it needs", {
  x <- simulate_nmf(10, 8, 2, seed = 5)$x
  single <- nmf(x, 2, beta = 1, seed = 1)
  expect_error(consensus(single), "nrun > 1")
  expect_error(consensus(x), "'fit' must be an nmf_fit")
  multi <- nmf(x, 2, beta = 1, nrun = 2, seed = 1)
  expect_error(consensus(multi, max_samples = 5), "max_samples = 5")
  expect_error(consensus(multi, max_samples = 0), "'max_samples'")
})

test_that("consensus() prints and plots", {
  set.seed(6)
  hs <- replicate(3, matrix(rexp(2 * 9), 2, 9), simplify = FALSE)
  cons <- consensus(fit_from_h(hs))
  expect_output(print(cons), "nmf_consensus")
  expect_output(print(cons), "cophenetic")
  p <- autoplot(cons)
  expect_s3_class(p, "ggplot")
  # samples on the x axis in the tree's order
  expect_equal(levels(p$data$sample_i), rownames(cons$consensus)[cons$order])
  pdf(NULL)
  on.exit(dev.off())
  expect_s3_class(withVisible(plot(cons))$value, "ggplot")
  expect_false(withVisible(plot(cons))$visible)
})

test_that("summary() and as.data.frame() of a consensus agree with brute force", {
  h_of <- function(cl) {
    h <- matrix(1, 2, length(cl), dimnames = list(NULL, paste0("s", seq_along(cl))))
    h[cbind(cl, seq_along(cl))] <- 2
    h
  }
  # two runs: {1,2,3}{4,5,6} and {1,2}{3,4,5,6}; sample 3 is the ambiguous one
  cons <- consensus(fit_from_h(list(h_of(c(1, 1, 1, 2, 2, 2)), h_of(c(1, 1, 2, 2, 2, 2)))))
  s <- summary(cons)
  expect_s3_class(s, "summary.nmf_consensus")
  # the pairs connected in one run of two: (1,3), (2,3), (3,4), (3,5), (3,6)
  expect_equal(s$ambiguous, 5 / 15)
  cl <- as.integer(cons$classes)
  cbar <- cons$consensus
  for (k in unique(cl)) {
    within <- between <- numeric(0)
    for (i in which(cl == k)) for (j in seq_along(cl)) {
      if (i == j) next
      if (cl[j] == k) within <- c(within, cbar[i, j]) else between <- c(between, cbar[i, j])
    }
    row <- s$classes[s$classes$class == k, ]
    expect_equal(row$size, sum(cl == k))
    expect_equal(row$within, if (length(within)) mean(within) else NA_real_)
    expect_equal(row$between, if (length(between)) mean(between) else NA_real_)
  }
  expect_equal(c(s$cophenetic, s$dispersion, s$nrun, s$n_samples), c(cons$cophenetic, cons$dispersion, 2, 6))
  expect_output(print(s), "connected in some runs but not all: 33.3%")

  pairs <- as.data.frame(cons)
  expect_named(pairs, c("sample_i", "sample_j", "consensus"))
  expect_equal(nrow(pairs), 36)
  back <- matrix(NA_real_, 6, 6, dimnames = dimnames(cbar))
  back[cbind(pairs$sample_i, pairs$sample_j)] <- pairs$consensus
  expect_identical(back, cbar)
  samples <- as.data.frame(cons, what = "samples")
  expect_identical(samples$sample, rownames(cbar))
  expect_identical(samples$class, cl)
  expect_identical(samples$sample[order(samples$position)], rownames(cbar)[cons$order])
})
