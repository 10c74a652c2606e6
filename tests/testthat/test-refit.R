# Independent references: the Poisson Fisher information for the spread of
# the exposures, KKT conditions for the KL optimum, and exhaustive
# active-set enumeration for non-negative least squares.

# evaluate expr under set.seed(seed), restoring the RNG state afterwards
with_seed_local <- function(seed, expr) {
  old <- get0(".Random.seed", envir = globalenv(), inherits = FALSE)
  on.exit(if (is.null(old)) rm(".Random.seed", envir = globalenv()) else
    assign(".Random.seed", old, envir = globalenv()))
  set.seed(seed)
  expr
}

fisher_sd <- function(w, h) {
  mu <- drop(w %*% h)
  sqrt(diag(solve(crossprod(w, w / mu))))
}

nnls_brute <- function(w, x) {
  best <- rep(0, ncol(w))
  best_rss <- sum(x^2)
  for (s in 1:(2^ncol(w) - 1)) {
    set <- which(bitwAnd(s, 2^(seq_len(ncol(w)) - 1)) > 0)
    coefs <- qr.solve(w[, set, drop = FALSE], x)
    if (all(coefs >= 0)) {
      rss <- sum((x - w[, set, drop = FALSE] %*% coefs)^2)
      if (rss < best_rss) {
        best_rss <- rss
        best <- replace(rep(0, ncol(w)), set, coefs)
      }
    }
  }
  best
}

test_that("Poisson refits recover planted exposures within the Poisson noise", {
  h <- matrix(c(800, 400, 300, 200, 300,
                1500, 200, 0, 600, 100,
                300, 300, 300, 300, 300), 5)
  h <- h[, rep(1:3, 10)]
  sim <- simulate_nmf(w = sbs_signatures, h = h, seed = 1)
  refit <- fit_signatures(sim$x, sbs_signatures)
  expect_s3_class(refit, "signature_refit")
  expect_identical(dimnames(refit$exposures), list(colnames(sbs_signatures), colnames(sim$x)))
  z <- (refit$exposures - h) / sapply(seq_len(ncol(h)), function(j) fisher_sd(sbs_signatures, pmax(h[, j], 1)))
  # every exposure within 4.5 Fisher standard deviations, and the squared
  # standardised errors average about one (excluding the true zeros, which
  # sit on the boundary)
  expect_true(all(abs(z) < 4.5))
  expect_gt(mean(z[h > 0]^2), 0.6)
  expect_lt(mean(z[h > 0]^2), 1.5)
  expect_true(all(refit$cosine > 0.9))
  expect_equal(refit$fitted, sbs_signatures %*% refit$exposures, ignore_attr = TRUE)
})

test_that("the KL refit satisfies the optimality (KKT) conditions", {
  sim <- simulate_nmf(w = sbs_signatures, n = 4, depth = 1000, h_shape = 0.3, seed = 5)
  refit <- fit_signatures(sim$x, sbs_signatures, beta = 1)
  for (j in 1:4) {
    mu <- drop(sbs_signatures %*% refit$exposures[, j])
    grad <- colSums(sbs_signatures * (1 - sim$x[, j] / mu))  # d KL / d h
    # MU approaches zero exposures only asymptotically: "positive" means more
    # than one mutation
    pos <- refit$exposures[, j] > 1
    expect_true(all(abs(grad[pos]) < 1e-3))
    expect_true(all(grad[!pos] > -1e-3))
  }
})

test_that("least-squares refits agree with exhaustive NNLS", {
  sim <- simulate_nmf(w = sbs_signatures, n = 5, depth = 500, h_shape = 0.4, seed = 2)
  refit <- fit_signatures(sim$x, sbs_signatures, beta = 2)
  ref <- sapply(1:5, function(j) nnls_brute(sbs_signatures, sim$x[, j]))
  expect_equal(unname(refit$exposures), ref, tolerance = 1e-5)
})

test_that("an opportunity enters as Y = o * (W H)", {
  set.seed(3)
  o <- runif(96, 0.3, 3)
  names(o) <- sbs96_channels()
  h <- matrix(c(500, 300, 0, 400, 100), 5, 8)
  mu <- o * (sbs_signatures %*% h)
  x <- matrix(rpois(length(mu), mu), 96, dimnames = list(sbs96_channels(), paste0("s", 1:8)))
  with_o <- fit_signatures(x, sbs_signatures, opportunity = o)
  without <- fit_signatures(x, sbs_signatures)
  # per channel: the same as refitting with W' = diag(o) W
  wo <- sbs_signatures * o
  direct <- fit_signatures(x, wo)
  expect_equal(unname(with_o$exposures), unname(direct$exposures / colSums(wo)), tolerance = 1e-5)
  expect_equal(with_o$contributions, direct$exposures, tolerance = 1e-5, ignore_attr = TRUE)
  expect_equal(with_o$fitted, o * (sbs_signatures %*% with_o$exposures), ignore_attr = TRUE)
  expect_lt(with_o$loss, without$loss)
  err_with <- mean(abs(with_o$exposures - h)[h > 0] / h[h > 0])
  expect_lt(err_with, 0.15)
  # per sample: a matrix with identical columns gives the same answer, and
  # differing columns equal sample-by-sample refits
  omat <- matrix(o, 96, 8)
  expect_equal(fit_signatures(x, sbs_signatures, opportunity = omat)$exposures, with_o$exposures)
  omat[, 2] <- rev(o)
  per <- fit_signatures(x, sbs_signatures, opportunity = omat)
  one <- fit_signatures(x[, 2], sbs_signatures, opportunity = unname(rev(o)))
  # (the solver stops on the loss summed over the samples it is given, so
  # sample-by-sample and joint solves agree to the optimisation tolerance)
  expect_equal(unname(per$exposures[, 2]), unname(one$exposures[, 1]), tolerance = 1e-3)
  expect_equal(per$exposures[, -2], with_o$exposures[, -2], tolerance = 1e-3)
  # a named opportunity vector is matched to the channels by name
  expect_equal(fit_signatures(x, sbs_signatures, opportunity = rev(o))$exposures, with_o$exposures)
  expect_error(fit_signatures(x, sbs_signatures, opportunity = o[-1]), "'opportunity'")
  expect_error(fit_signatures(x, sbs_signatures, opportunity = -o), "'opportunity'")
})

test_that("bootstrap intervals cover the truth at about the nominal rate", {
  w <- sbs_signatures[, 1:3]
  h <- c(600, 300, 300)
  n <- 50
  # fixed burden: the multinomial bootstrap's own model
  xm <- with_seed_local(1, rmultinom(n, 1200, drop(w %*% h) / 1200))
  rownames(xm) <- rownames(w)
  rm <- fit_signatures(xm, w, bootstrap = 80, seed = 1)
  cover_m <- mean(rm$lower <= h & rm$upper >= h)
  expect_gt(cover_m, 0.86)
  expect_lt(cover_m, 0.995)
  # Poisson burden: the Poisson resampling
  xp <- with_seed_local(2, matrix(rpois(96 * n, drop(w %*% h)), 96, n))
  rownames(xp) <- rownames(w)
  rp <- fit_signatures(xp, w, bootstrap = 80, resample = "poisson", seed = 1)
  cover_p <- mean(rp$lower <= h & rp$upper >= h)
  expect_gt(cover_p, 0.86)
  expect_lt(cover_p, 0.995)
  expect_equal(dim(rp$replicates), c(3L, n, 80L))
  # a truly absent signature: its numerical zeros are exact, so the interval
  # reaches 0 and covers the truth
  h0 <- c(600, 0, 300)
  x0 <- with_seed_local(3, matrix(rpois(96 * 20, drop(w %*% h0)), 96, 20))
  r0 <- fit_signatures(x0, w, bootstrap = 50, seed = 1)
  expect_gt(mean(r0$lower[2, ] == 0), 0.5)
})

test_that("bootstrap is reproducible and leaves the user's RNG alone", {
  sim <- simulate_nmf(w = sbs_signatures, n = 3, depth = 400, seed = 4)
  set.seed(9)
  before <- .Random.seed
  a <- fit_signatures(sim$x, sbs_signatures, bootstrap = 20, seed = 5)
  expect_identical(.Random.seed, before)
  b <- fit_signatures(sim$x, sbs_signatures, bootstrap = 20, seed = 5)
  expect_identical(a$replicates, b$replicates)
  expect_identical(a$seed, 5L)
  expect_error(fit_signatures(sim$x + 0.5, sbs_signatures, bootstrap = 10), "whole-number")
})

test_that("pruning drops signatures that are absent and keeps those present", {
  h <- matrix(0, 5, 4, dimnames = list(colnames(sbs_signatures), NULL))
  h["SynA", ] <- 800
  h["SynC", ] <- 600
  h["SynB", 1:2] <- 400  # the flat signature, in half of the samples
  sim <- simulate_nmf(w = sbs_signatures, h = h, seed = 6)
  for (rule in c("deviance", "cosine")) {
    pruned <- fit_signatures(sim$x, sbs_signatures, prune = TRUE, prune_rule = rule)
    expect_identical(pruned$prune_rule, rule)
    expect_true(all(pruned$active[c("SynA", "SynC"), ]))
    expect_true(all(!pruned$active[c("SynD", "SynE"), ]))
    expect_true(all(!pruned$active["SynB", 3:4]))
    expect_true(all(pruned$exposures[!pruned$active] == 0))
  }
  # the deviance rule keeps the flat signature where it is present, and
  # every removal it made raised the deviance by less than the threshold
  dev <- fit_signatures(sim$x, sbs_signatures, prune = TRUE)
  expect_identical(dev$prune_rule, "deviance")
  expect_equal(dev$prune_threshold, qchisq(0.99, 1))
  expect_true(all(dev$active["SynB", 1:2]))
  # a huge threshold prunes down to a single signature
  one <- fit_signatures(sim$x[, 3:4], sbs_signatures, prune = TRUE, prune_rule = "cosine", prune_threshold = 0.9)
  expect_true(all(colSums(one$active) == 1))
  # bootstrap with pruning refits the selected signatures only
  pb <- fit_signatures(sim$x[, 3:4], sbs_signatures, prune = TRUE, bootstrap = 10, seed = 1)
  expect_true(all(pb$replicates[!pb$active[, rep(1:2, 10)]] == 0))
  expect_error(fit_signatures(sim$x, sbs_signatures, beta = 2, prune = TRUE, prune_rule = "deviance"), "beta = 1")
  expect_error(fit_signatures(sim$x, sbs_signatures, prune = TRUE, prune_rule = "cosine", prune_threshold = 2),
               "'prune_threshold'")
})

test_that("fit_signatures() matches channels by name and validates input", {
  sim <- simulate_nmf(w = sbs_signatures, n = 3, depth = 500, seed = 7)
  a <- fit_signatures(sim$x, sbs_signatures)
  ch <- rownames(sim$x)
  x2 <- sim$x[96:1, ]
  rownames(x2) <- paste0(substr(ch, 1, 1), substr(ch, 3, 3), substr(ch, 7, 7), ">",
                         substr(ch, 1, 1), substr(ch, 5, 5), substr(ch, 7, 7))[96:1]
  b <- fit_signatures(x2, sbs_signatures)
  expect_equal(a$exposures, b$exposures, tolerance = 1e-6)
  expect_identical(rownames(b$fitted), rownames(x2))
  # a single sample as a named vector, and an nmf fit as the signatures
  v <- fit_signatures(sim$x[, 1], sbs_signatures)
  expect_equal(unname(v$exposures[, 1]), unname(a$exposures[, 1]), tolerance = 1e-3)
  expect_error(fit_signatures(sim$x, sbs_signatures[1:90, ]), "lacks 6 channel")
  expect_error(fit_signatures(-sim$x, sbs_signatures), "'catalog'")
  expect_error(fit_signatures(sim$x, sbs_signatures, bootstrap = -1), "'bootstrap'")
  expect_error(fit_signatures(sim$x, sbs_signatures, level = 2), "'level'")
  expect_error(fit_signatures(sim$x, sbs_signatures, prune = NA), "'prune'")
  expect_error(fit_signatures(sim$x, sbs_signatures, beta = "a"), "'beta'")
  expect_output(print(a), "Signature refit: 5 signatures x 3 samples")
  df <- as.data.frame(fit_signatures(sim$x, sbs_signatures, bootstrap = 5, seed = 1))
  expect_named(df, c("sample", "signature", "exposure", "contribution", "active", "lower", "upper"))
  expect_equal(nrow(df), 15)
  # an empty sample has zero exposures
  x0 <- cbind(sim$x, empty = 0)
  expect_equal(unname(fit_signatures(x0, sbs_signatures)$exposures[, 4]), rep(0, 5))
})

# ---- rows meet by name (issue 22, item 1) ------------------------------------

test_that("fit_signatures() pairs channels by name or canonical order, never by a foreign position", {
  # a noise-free catalog: the refit must return the planted exposures
  h <- matrix(c(400, 0, 250, 100, 50,  0, 300, 0, 600, 20,  90, 90, 90, 0, 500), 5,
              dimnames = list(colnames(sbs_signatures), c("s1", "s2", "s3")))
  x <- sbs_signatures %*% h
  alpha <- order(rownames(x))
  planted <- function(fit) expect_equal(coef(fit), h, tolerance = 1e-4, ignore_attr = TRUE)
  # MutationalPatterns-style unnamed signatures with a catalog in alphabetical
  # order (SigProfilerMatrixGenerator's): the signatures are in canonical order
  planted(fit_signatures(x[alpha, ], unname(sbs_signatures)))
  # an unnamed canonical catalog with signatures in any named order
  refit <- fit_signatures(unname(x), sbs_signatures[sample(96), ])
  planted(refit)
  expect_identical(rownames(refit$catalog), sbs96_channels())
  # named on both sides, shuffled: by name; the output keeps the catalog's order
  shuffled <- fit_signatures(x[alpha, ], sbs_signatures[96:1, ])
  planted(shuffled)
  expect_identical(rownames(shuffled$fitted), rownames(x)[alpha])
  expect_identical(colnames(coef(shuffled)), colnames(h))
  # sets that differ are errors naming the channels, not a silent subset
  expect_error(fit_signatures(x[1:90, ], sbs_signatures), "'signatures' has 6 channel\\(s\\) that 'catalog' lacks")
  expect_error(fit_signatures(x[1:90, ], unname(sbs_signatures)), "'signatures' has no row names but 'catalog' has")
  # outside SBS-96 an unnamed/named mix is an error saying which side lacks names
  genes <- sbs_signatures[1:20, ]
  rownames(genes) <- paste0("g", 1:20)
  xg <- genes %*% h
  expect_error(fit_signatures(unname(xg), genes), "'catalog' has none")
  expect_error(fit_signatures(xg, unname(genes)), "'signatures' has no row names but 'catalog' has")
})

test_that("an opportunity is matched to the catalog's channels by name or canonical order", {
  set.seed(4)
  o <- runif(96, 0.3, 3)
  h <- matrix(c(500, 300, 0, 400, 100, 50, 0, 700, 10, 200), 5, dimnames = list(NULL, c("s1", "s2")))
  x <- o * (sbs_signatures %*% h)
  alpha <- order(rownames(x))
  planted <- function(fit) expect_equal(coef(fit), h, tolerance = 1e-4, ignore_attr = TRUE)
  planted(fit_signatures(x, sbs_signatures, opportunity = o))
  # an unnamed opportunity is in canonical order, whatever the catalog's order
  planted(fit_signatures(x[alpha, ], sbs_signatures, opportunity = o))
  # a matrix opportunity: rows by name, and samples by name when both are named
  omat <- matrix(o, 96, 2, dimnames = list(sbs96_channels(), c("s1", "s2")))
  planted(fit_signatures(x[alpha, ], sbs_signatures, opportunity = omat[96:1, 2:1]))
  om2 <- omat
  rownames(om2)[2] <- rownames(om2)[1]
  expect_error(fit_signatures(x, sbs_signatures, opportunity = om2), "'opportunity' has duplicated row names")
  expect_error(fit_signatures(x, sbs_signatures, opportunity = omat[, c(1, 1)]), "samples of 'catalog'.*missing: s2")
  genes <- sbs_signatures[1:20, ]
  rownames(genes) <- paste0("g", 1:20)
  expect_error(fit_signatures(genes %*% h, genes, opportunity = o[1:20]), "'opportunity' has no names.*names\\(opportunity\\) <-")
})

test_that("print() of a refit lists the signatures present by share, not the absent ones", {
  w <- refit65_signatures()
  x <- refit65_catalog(w)
  pruned <- fit_signatures(x, w, prune = TRUE, bootstrap = 20, seed = 1, threads = 1)
  out <- capture.output(print(pruned))
  totals <- rowSums(pruned$contributions)
  present <- names(sort(totals[totals > 0], decreasing = TRUE))
  absent <- names(totals)[totals == 0]
  expect_gt(length(absent), 50)
  has <- function(name) grepl(sprintf("(^|\\s)%s(\\s|$)", name), out)
  lines <- vapply(present, function(s) which(has(s))[1], integer(1))
  expect_false(anyNA(lines))
  expect_false(is.unsorted(lines))  # sorted by share
  for (s in absent) expect_false(any(has(s)), info = s)
  expect_true(any(out == sprintf("%d of 65 signatures contribute nothing; see coef()", length(absent))))
  expect_lt(length(out), 20)
  # each line: the share of all mutations, the samples where present, the
  # median width of the interval of the share where present
  top <- present[1]
  fields <- strsplit(trimws(out[lines[1]]), "\\s+")[[1]]
  expect_identical(fields[2], sprintf("%.1f%%", 100 * totals[[top]] / sum(totals)))
  expect_identical(fields[3], sprintf("%d/8", sum(pruned$contributions[top, ] > 0)))
  reps <- pruned$replicates
  widths <- vapply(colnames(x)[pruned$contributions[top, ] > 0], function(j) {
    diff(stats::quantile(reps[top, j, ] / colSums(reps[, j, ]), c(0.025, 0.975), names = FALSE))
  }, numeric(1))
  expect_identical(fields[4], sprintf("%.1f%%", 100 * stats::median(widths)))

  # without pruning most signatures get a little: the largest 20 are listed
  plain <- fit_signatures(x, w, threads = 1)
  out <- capture.output(print(plain))
  totals <- rowSums(plain$contributions)
  n_present <- sum(totals > 0)
  expect_gt(n_present, 20)
  listed <- names(sort(totals[totals > 0], decreasing = TRUE))
  has <- function(name) any(grepl(sprintf("(^|\\s)%s(\\s|$)", name), out))
  expect_true(all(vapply(listed[1:20], has, logical(1))))
  expect_false(any(vapply(listed[-(1:20)], has, logical(1))))
  expect_true(any(grepl(sprintf("and %d more present", n_present - 20), out)))
  expect_output(print(plain, n = 100), listed[n_present])
  expect_error(print(plain, n = 0), "'n'")
})
