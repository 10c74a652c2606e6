# Per-mutation attribution (issue 25): the responsibilities
# W_ik H_kj / (W H)_ij against a plain-R twin written with loops.

# the twin: one entry at a time, the model's mean including the opportunity
attribution_by_loops <- function(w, h, x, opp = NULL) {
  rows <- list()
  for (j in seq_len(ncol(h))) for (i in seq_len(nrow(w))) {
    o <- if (is.null(opp)) 1 else opp[i, j]
    total <- 0
    for (k in seq_len(ncol(w))) total <- total + o * w[i, k] * h[k, j]
    for (k in seq_len(ncol(w))) {
      p <- if (total > 0) o * w[i, k] * h[k, j] / total else NA_real_
      rows[[length(rows) + 1L]] <- data.frame(sample = colnames(h)[j], channel = rownames(w)[i],
                                              signature = colnames(w)[k], probability = p,
                                              expected = if (x[i, j] == 0) 0 else p * x[i, j])
    }
  }
  do.call(rbind, rows)
}

as_plain <- function(df) {
  df[] <- lapply(df, function(col) if (is.factor(col)) as.character(col) else col)
  df
}

test_that("attribute_mutations() of a refit gives W_ik H_kj / (WH)_ij, with and without opportunity", {
  w <- read_signatures(system.file("extdata", "toy_signatures_DBS78.tsv", package = "betanmf"))
  set.seed(5)
  h <- matrix(c(300, 100, 0, 50, 400, 200), 3, 2, dimnames = list(colnames(w), c("s1", "s2")))
  x <- matrix(as.double(rpois(78 * 2, w %*% h)), 78, 2, dimnames = list(rownames(w), colnames(h)))
  refit <- fit_signatures(x, w)
  a <- attribute_mutations(refit)
  expect_identical(names(a), c("sample", "channel", "signature", "probability", "expected"))
  expect_identical(nrow(a), 78L * 3L * 2L)
  expect_identical(levels(a$channel), mutation_channels("DBS78"))
  expect_equal(as_plain(a), attribution_by_loops(refit$signatures, refit$exposures, x), tolerance = 1e-12)
  sums <- tapply(a$probability, list(a$sample, a$channel), sum)
  expect_equal(as.vector(sums), rep(1, 78 * 2))
  expect_equal(as.vector(tapply(a$expected, list(a$channel, a$sample), sum)), as.vector(x))
  # an opportunity cancels from the shares
  opp <- matrix(runif(78 * 2, 0.5, 2), 78, 2, dimnames = dimnames(x))
  r_opp <- fit_signatures(x, w, opportunity = opp)
  expect_equal(as_plain(attribute_mutations(r_opp)),
               attribution_by_loops(r_opp$signatures, r_opp$exposures, x, opp), tolerance = 1e-12)
})

test_that("attribute_mutations() works for an nmf() fit, with its data or given data", {
  set.seed(2)
  x <- matrix(as.double(rpois(20 * 6, 8)), 20, 6, dimnames = list(paste0("g", 1:20), paste0("c", 1:6)))
  fit <- nmf(x, 2, beta = 1, seed = 1)
  a <- attribute_mutations(fit)
  expect_equal(as_plain(a), attribution_by_loops(fit$w, fit$h, x), tolerance = 1e-12)
  # given data is matched by name
  expect_equal(attribute_mutations(fit, x = x[20:1, 6:1]), a)
  expect_error(attribute_mutations(fit, x = x[-1, ]), "lacks 1 row")
  expect_error(attribute_mutations(refit_like <- list()), "'object'")
})

test_that("a channel the model gives no mutations has NA shares, and 0 expected when nothing was seen", {
  w <- cbind(A = c(0.5, 0.5, 0), B = c(0.2, 0.8, 0))
  rownames(w) <- c("r1", "r2", "r3")
  x <- matrix(c(10, 20, 0), 3, 1, dimnames = list(rownames(w), "s"))
  refit <- fit_signatures(x, w)
  a <- attribute_mutations(refit)
  expect_true(all(is.na(a$probability[a$channel == "r3"])))
  expect_identical(a$expected[a$channel == "r3"], c(0, 0))
  expect_equal(sum(a$expected), 30)
  expect_error(attribute_mutations(refit, x = x), "'x' is for nmf\\(\\) fits only")
})
