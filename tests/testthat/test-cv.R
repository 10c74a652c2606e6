# cv_mask(): hold-out patterns for cross-validation.

test_that("a speckled mask holds out the requested fraction and keeps every row and column observed", {
  set.seed(51)
  x <- matrix(rpois(60 * 40, 3), 60, 40, dimnames = list(paste0("g", 1:60), paste0("s", 1:40)))
  for (fraction in c(0.05, 0.1, 0.3)) {
    m <- cv_mask(x, fraction = fraction, seed = 1)
    expect_true(is.logical(m) && is.matrix(m))
    expect_identical(dim(m), dim(x))
    expect_identical(dimnames(m), dimnames(x))
    expect_equal(sum(m), round(fraction * length(x)))
    expect_true(all(rowSums(!m) > 0))
    expect_true(all(colSums(!m) > 0))
  }
  # it is a valid mask for nmf() and the held-out score is what it says
  m <- cv_mask(x, 0.1, seed = 2)
  fit <- nmf(x, 2, beta = 1, mask = m, seed = 1)
  y <- fitted(fit)
  expect_equal(beta_divergence(x, y, 1, mask = !m),
               sum(ifelse(x[m] > 0, x[m] * log(x[m] / y[m]), 0) - x[m] + y[m]))
})

test_that("a speckled mask is uniform over the entries", {
  # every entry is held out with probability `fraction`: over many masks the
  # per-row and per-column counts follow their binomial means
  x <- matrix(1, 20, 10)
  hits <- Reduce(`+`, lapply(1:200, function(s) cv_mask(x, 0.2, seed = s) * 1))
  expect_equal(mean(hits), 40)
  # each entry ~ Binomial(200, 0.2): sd 5.66; the extremes of 200 such stay
  # within 4.5 sd
  expect_true(all(abs(hits - 40) < 4.5 * sqrt(200 * 0.2 * 0.8)))
})

test_that("masks are reproducible from the seed and leave the session's RNG alone", {
  x <- matrix(rexp(30 * 20), 30, 20)
  a <- cv_mask(x, 0.1, seed = 7)
  b <- cv_mask(x, 0.1, seed = 7)
  expect_identical(a, b)
  expect_false(identical(unclass(a), unclass(cv_mask(x, 0.1, seed = 8))))
  set.seed(99)
  before <- .Random.seed
  cv_mask(x, 0.1, seed = 7)
  expect_identical(.Random.seed, before)
  # seed = NULL: set.seed() reproduces it
  set.seed(3)
  c1 <- cv_mask(x, 0.1)
  set.seed(3)
  c2 <- cv_mask(x, 0.1)
  expect_identical(c1, c2)
  expect_identical(attr(a, "seed"), 7L)
  for (type in c("columns", "rows")) {
    expect_identical(cv_mask(x, 0.2, seed = 4, type = type, block = 3),
                     cv_mask(x, 0.2, seed = 4, type = type, block = 3))
  }
})

test_that("column blocks are contiguous, held out in half of the rows, near the fraction", {
  set.seed(52)
  x <- matrix(rpois(40 * 60, 2), 40, 60)
  m <- cv_mask(x, fraction = 0.1, seed = 3, type = "columns", block = 5)
  per_col <- colSums(m)
  held_cols <- which(per_col > 0)
  # each held-out column loses exactly floor(40 / 2) = 20 rows
  expect_true(all(per_col[held_cols] == 20))
  # held-out columns come in whole blocks 1-5, 6-10, ...
  blocks <- split(seq_len(60), ceiling(seq_len(60) / 5))
  for (b in blocks) expect_true(all(per_col[b] > 0) || all(per_col[b] == 0))
  # all columns of a block share their held-out rows
  for (b in blocks) {
    if (per_col[b[1]] > 0) expect_true(all(m[, b] == m[, b[1]]))
  }
  # 0.1 * 40 * 60 = 240 entries = 12 columns of 20 rows = 2.4 blocks: the
  # closest whole number of blocks is 2 (200 entries)
  expect_equal(sum(m), 200)
  expect_true(all(rowSums(!m) > 0) && all(colSums(!m) > 0))

  r <- cv_mask(x, fraction = 0.2, seed = 3, type = "rows", block = 4)
  per_row <- rowSums(r)
  expect_true(all(per_row[per_row > 0] == 30))
  rblocks <- split(seq_len(40), ceiling(seq_len(40) / 4))
  for (b in rblocks) expect_true(all(per_row[b] > 0) || all(per_row[b] == 0))
  expect_equal(sum(r), 0.2 * 40 * 60)
  # uneven last block: 60 columns in blocks of 7
  u <- cv_mask(x, 0.3, seed = 5, type = "columns", block = 7)
  pc <- colSums(u) > 0
  for (b in split(seq_len(60), ceiling(seq_len(60) / 7))) expect_true(length(unique(pc[b])) == 1)
})

test_that("sparse input gives the same mask; missing values are never drawn", {
  set.seed(53)
  x <- matrix(rpois(30 * 25, 0.5), 30, 25)
  xs <- Matrix::Matrix(x, sparse = TRUE)
  expect_identical(cv_mask(xs, 0.1, seed = 1), cv_mask(x, 0.1, seed = 1))
  expect_identical(cv_mask(xs, 0.2, seed = 1, type = "columns", block = 2),
                   cv_mask(x, 0.2, seed = 1, type = "columns", block = 2))
  xn <- x
  xn[sample(length(x), 50)] <- NA
  m <- cv_mask(xn, 0.1, seed = 2)
  expect_false(any(m & is.na(xn)))
  expect_equal(sum(m), round(0.1 * sum(!is.na(xn))))
  expect_true(all(rowSums(!m & !is.na(xn)) > 0) && all(colSums(!m & !is.na(xn)) > 0))
  fit <- nmf(xn, 2, beta = 1, seed = 1, mask = m, missing = "mask")
  expect_equal(nobs(fit), sum(!m & !is.na(xn)))
  mb <- cv_mask(xn, 0.2, seed = 2, type = "columns", block = 3)
  expect_false(any(mb & is.na(xn)))
})

test_that("every row and column keeps an observed positive entry where it has one (sparse counts)", {
  # spike-count-like data: most columns have one to three positive counts,
  # some none at all
  set.seed(55)
  x <- matrix(rpois(40 * 300, 0.04), 40, 300)
  x[, 1:10] <- 0
  x[3, 1] <- 2 # a column with a single positive count
  xs <- Matrix::Matrix(x, sparse = TRUE)
  has_pos_col <- colSums(x > 0) > 0
  has_pos_row <- rowSums(x > 0) > 0
  for (seed in 1:5) {
    m <- cv_mask(x, 0.2, seed = seed)
    expect_equal(sum(m), round(0.2 * length(x)))
    expect_true(all(colSums(x > 0 & !m)[has_pos_col] > 0))
    expect_true(all(rowSums(x > 0 & !m)[has_pos_row] > 0))
    expect_false(m[3, 1])
    expect_identical(cv_mask(xs, 0.2, seed = seed), m)
    mb <- cv_mask(x, 0.3, seed = seed, type = "columns", block = 3)
    expect_true(all(colSums(x > 0 & !mb)[has_pos_col] > 0))
    expect_true(all(rowSums(x > 0 & !mb)[has_pos_row] > 0))
    expect_true(all(colSums(mb)[colSums(mb) > 0] == 20)) # still half of the rows
    expect_identical(cv_mask(xs, 0.3, seed = seed, type = "columns", block = 3), mb)
    mr <- cv_mask(t(x), 0.3, seed = seed, type = "rows", block = 3)
    expect_true(all(rowSums(t(x) > 0 & !mr)[has_pos_col] > 0))
  }
})

test_that("rows and columns with no non-missing entry are left alone, not blamed on 'fraction'", {
  set.seed(56)
  x <- matrix(rpois(20 * 30, 3), 20, 30)
  x[, 11:13] <- NA # dropped frames
  x[4, ] <- NA
  for (type in c("speckled", "columns")) {
    m <- cv_mask(x, 0.1, seed = 1, type = type, block = 2)
    expect_false(any(m & is.na(x)))
    known <- !is.na(x)
    expect_true(all(colSums(known & !m)[-(11:13)] > 0))
    expect_true(all(rowSums(known & !m)[-4] > 0))
    expect_true(sum(m) > 0)
  }
  # when a smaller fraction can help, the error still says so
  expect_error(cv_mask(matrix(1, 3, 3), 0.9, seed = 1), "could not draw.*smaller 'fraction'")
})

test_that("a large sparse matrix gets a sparse logical mask that nmf() accepts", {
  set.seed(54)
  xs <- Matrix::rsparsematrix(4000, 3000, density = 0.0005, rand.x = function(n) rpois(n, 3) + 1)
  m <- cv_mask(xs, 0.001, seed = 1)
  expect_s4_class(m, "lgCMatrix")
  expect_equal(sum(m), round(0.001 * 4000 * 3000))
  expect_identical(dim(m), dim(xs))
})

test_that("bad inputs are clear errors", {
  x <- matrix(rexp(50), 10, 5)
  expect_error(cv_mask(x, 0), "'fraction'")
  expect_error(cv_mask(x, 1), "'fraction'")
  expect_error(cv_mask(x, c(0.1, 0.2)), "'fraction'")
  expect_error(cv_mask(x, NA), "'fraction'")
  expect_error(cv_mask(x, 0.001), "'fraction'.*holds out none")
  expect_error(cv_mask(x, "0.1"), "'fraction'")
  expect_error(cv_mask(x, 0.6, type = "columns"), "'fraction'.*0.5")
  expect_error(cv_mask(x, 0.1, type = "columns", block = 6), "'block'.*5")
  expect_error(cv_mask(x, 0.1, type = "rows", block = 0), "'block'")
  expect_error(cv_mask(x, 0.1, type = "rows", block = 1.5), "'block'")
  expect_error(cv_mask(x, 0.1, type = "diagonal"), "'type' must be one of")
  expect_error(cv_mask(x, 0.1, seed = "a"), "'seed'")
  expect_error(cv_mask("x", 0.1), "'x'")
  # too much held out to keep every row and column observed
  expect_error(cv_mask(matrix(1, 3, 3), 0.9, seed = 1), "could not draw.*smaller 'fraction'")
  expect_error(cv_mask(matrix(1, 1, 5), 0.2, type = "columns"), "two rows")
})

test_that("a block hold-out that cannot keep its columns informed asks for a smaller 'block'", {
  # one count per column: a block of 40 columns held out in half the rows
  # loses some column's only count at almost every draw, whatever 'fraction'
  x <- matrix(0, 20, 200)
  x[cbind(rep_len(1:20, 200), 1:200)] <- 1
  expect_error(cv_mask(x, 0.01, type = "columns", block = 40, seed = 1), "use a smaller 'block'")
  expect_no_error(cv_mask(x, 0.01, type = "columns", block = 2, seed = 1))
})
