# stability(): alignment against brute force and planted permutations,
# silhouette against its definition, planted noiseless factorizations.

# a minimal nmf_fit from a list of runs' W (and optionally H)
fit_from_w <- function(ws, hs = NULL, best = 1L) {
  if (is.null(hs)) hs <- lapply(ws, function(w) matrix(1, ncol(w), 4))
  runs <- Map(function(w, h) list(w = w, h = h, loss = 0, iterations = 1L, converged = TRUE), ws, hs)
  structure(list(w = ws[[best]], h = hs[[best]], rank = ncol(ws[[1]]), runs = runs, best = best),
            class = "nmf_fit")
}

unit <- function(x) sweep(x, 2, sqrt(colSums(x^2)), "/")

test_that("stability() undoes planted permutations and scalings of the runs", {
  set.seed(1)
  m <- 25
  r <- 4
  w <- matrix(rgamma(m * r, 0.4), m, r)
  h <- matrix(rexp(r * 6), r, 6)
  perms <- replicate(6, sample(r), simplify = FALSE)
  ws <- lapply(perms, function(p) {
    noisy <- w[, p] * matrix(runif(m * r, 0.95, 1.05), m, r)
    sweep(noisy, 2, colSums(noisy), "/")
  })
  hs <- lapply(perms, function(p) h[p, ])
  st <- stability(fit_from_w(ws, hs, best = 2))
  expect_s3_class(st, "nmf_stability")
  expect_true(st$converged)
  # centroid k is the best run's component k, i.e. planted column perms[[2]][k];
  # run t holds planted column j at position match(j, perms[[t]])
  for (t in seq_along(perms)) {
    expect_equal(unname(st$assignments[t, ]), match(perms[[2]], perms[[t]]))
  }
  expect_equal(st$h, h[perms[[2]], ], ignore_attr = TRUE)
  expect_equal(colSums(st$w), rep(1, r), ignore_attr = TRUE)
  expect_equal(unname(cosine_similarity(st$w, w[, perms[[2]]])[cbind(1:r, 1:r)]), rep(1, r), tolerance = 1e-3)
  expect_true(all(st$components$mean_cosine > 0.99))
  expect_named(st$components, c("component", "mean_cosine", "min_cosine", "silhouette"))
  expect_equal(st$mean_stability, mean(st$components$mean_cosine))
})

test_that("the aligned assignment maximises total cosine to the centroids (brute force)", {
  set.seed(2)
  r <- 4
  ws <- replicate(5, matrix(rexp(15 * r), 15, r), simplify = FALSE)  # unrelated runs
  st <- stability(fit_from_w(ws))
  centroids <- unit(st$w)
  perms <- as.matrix(expand.grid(rep(list(1:r), r)))
  perms <- perms[apply(perms, 1, function(p) length(unique(p)) == r), ]
  for (t in seq_along(ws)) {
    s <- crossprod(centroids, unit(ws[[t]]))
    totals <- apply(perms, 1, function(p) sum(s[cbind(1:r, p)]))
    expect_equal(sum(s[cbind(1:r, st$assignments[t, ])]), max(totals))
  }
  # centroids are the renormalised mean of the aligned unit columns
  mean_unit <- Reduce(`+`, lapply(seq_along(ws), function(t) unit(ws[[t]])[, st$assignments[t, ]])) / 5
  expect_equal(unname(centroids), unname(unit(mean_unit)))
  # cosines and their summaries
  for (k in 1:r) {
    cos_k <- vapply(seq_along(ws), function(t) sum(unit(ws[[t]])[, st$assignments[t, k]] * centroids[, k]),
                    numeric(1))
    expect_equal(st$components$mean_cosine[k], mean(cos_k))
    expect_equal(st$components$min_cosine[k], min(cos_k))
  }
})

# Rousseeuw (1987) silhouette, point by point from its definition
reference_silhouette <- function(d, labels) {
  vapply(seq_along(labels), function(i) {
    own <- labels == labels[i]
    if (sum(own) == 1L) return(0)
    a <- sum(d[i, own]) / (sum(own) - 1)
    b <- min(vapply(setdiff(unique(labels), labels[i]), function(k) mean(d[i, labels == k]), numeric(1)))
    (b - a) / max(a, b)
  }, numeric(1))
}

test_that("silhouettes follow the definition with the cosine distance", {
  set.seed(3)
  r <- 3
  ws <- replicate(6, matrix(rexp(12 * r), 12, r), simplify = FALSE)
  st <- stability(fit_from_w(ws))
  members <- do.call(cbind, lapply(seq_along(ws), function(t) unit(ws[[t]])[, st$assignments[t, ]]))
  labels <- rep(1:r, length(ws))
  s <- reference_silhouette(1 - crossprod(members), labels)
  expect_equal(st$components$silhouette, as.vector(tapply(s, labels, mean)), tolerance = 1e-12)
  expect_true(all(st$components$silhouette < 0.9)) # unrelated runs: no tight clusters
})

test_that("runs from a noiseless planted factorization have stability ~1", {
  sim <- simulate_nmf(40, 30, 3, noise = "none", w_shape = 0.3, h_shape = 0.5, seed = 4)
  # on exactly factorizable data the loss shrinks geometrically towards 0, so
  # its relative decrease per iteration never falls below tol: some runs stop
  # at maxit with a warning although their factors have converged
  fit <- suppressWarnings(nmf(sim$x, 3, beta = 2, nrun = 5, seed = 1, maxit = 1000))
  st <- stability(fit)
  expect_true(all(st$components$mean_cosine > 0.999))
  expect_true(all(st$components$min_cosine > 0.99))
  expect_true(all(st$components$silhouette > 0.9))
  expect_equal(st$mean_stability, 1, tolerance = 1e-3)
  # the consensus W is the planted one, up to order
  mt <- match_components(sim$w, st$w)
  expect_true(all(mt$cosine > 0.999))
  expect_equal(dim(st$h), c(3, 30))
  expect_equal(dim(st$assignments), c(5, 3))
})

test_that("stability() handles rank 1, explains what it needs, prints and plots", {
  set.seed(5)
  st1 <- stability(fit_from_w(replicate(3, matrix(rexp(8), 8, 1), simplify = FALSE)))
  expect_equal(dim(st1$assignments), c(3, 1))
  expect_true(is.na(st1$components$silhouette))
  x <- simulate_nmf(10, 8, 2, seed = 5)$x
  expect_error(stability(nmf(x, 2, beta = 1, seed = 1)), "nrun > 1")
  expect_error(stability(fit_from_w(list(diag(2), diag(2))), max_iter = 0), "'max_iter'")
  st <- stability(fit_from_w(replicate(4, matrix(rexp(20), 10, 2), simplify = FALSE)))
  expect_output(print(st), "nmf_stability")
  p <- autoplot(st)
  expect_s3_class(p, "ggplot")
  pdf(NULL)
  on.exit(dev.off())
  expect_false(withVisible(plot(st))$visible)
})

test_that("summary() and as.data.frame() of a stability agree with its matrices", {
  set.seed(8)
  base <- matrix(rexp(30), 10, 3)
  # five runs: the same components shuffled and perturbed, one run far off on a component
  ws <- lapply(1:5, function(t) {
    w <- base + matrix(runif(30, 0, if (t == 5) 2 else 0.05), 10, 3)
    w[, sample(3)]
  })
  st <- stability(fit_from_w(ws))
  s <- summary(st)
  expect_s3_class(s, "summary.nmf_stability")
  cosine <- st$cosine
  ref <- data.frame(component = colnames(cosine), mean_cosine = colMeans(cosine),
                    median_cosine = apply(cosine, 2, median), min_cosine = apply(cosine, 2, min),
                    below_0.9 = colSums(cosine < 0.9), stringsAsFactors = FALSE)
  ref <- ref[order(ref$mean_cosine), ]
  expect_identical(s$components$component, ref$component)
  for (col in c("mean_cosine", "median_cosine", "min_cosine", "below_0.9")) {
    expect_equal(s$components[[col]], unname(ref[[col]]), label = col)
  }
  expect_equal(s$mean_stability, st$mean_stability)
  expect_output(print(s), "least stable first")

  expect_identical(as.data.frame(st), st$components)
  runs <- as.data.frame(st, what = "runs")
  expect_named(runs, c("component", "run", "run_component", "cosine"))
  expect_equal(nrow(runs), 5 * 3)
  expect_identical(runs$run_component[runs$run == 5 & runs$component == "NMF2"], unname(st$assignments[5, "NMF2"]))
  # each run's aligned component, checked against the cosine to its centroid
  for (k in seq_len(nrow(runs))) {
    w <- ws[[runs$run[k]]][, runs$run_component[k]]
    centroid <- unit(st$w)[, runs$component[k]]
    expect_equal(sum(w * centroid) / sqrt(sum(w^2)), runs$cosine[k], tolerance = 1e-12)
  }
})
