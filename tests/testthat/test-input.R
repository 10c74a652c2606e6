# as_nmf_matrix(): what every entry point does with the x it is given.

test_that("samples in rows are refused with advice to transpose (issue 22, item 8)", {
  x <- sbs_catalog[, 1:12]
  expect_error(nmf(t(x), 3), "columns of 'x' are named by SBS-96 channels.*samples seem to be in rows.*t\\(x\\)")
  expect_error(fit_signatures(t(x), sbs_signatures), "samples seem to be in rows.*t\\(catalog\\)")
  expect_error(nmf_rank(t(x), 2:3), "samples seem to be in rows")
  expect_error(predict(nmf(x, 2, beta = 1, seed = 1), t(x)), "samples seem to be in rows.*t\\(newdata\\)")
  # any label style, and a sparse matrix
  ch <- sbs96_channels()
  xt <- t(x)
  colnames(xt) <- paste0(substr(ch, 1, 1), substr(ch, 3, 3), substr(ch, 7, 7), ">",
                         substr(ch, 1, 1), substr(ch, 5, 5), substr(ch, 7, 7))
  expect_error(nmf(xt, 2), "samples seem to be in rows")
  expect_error(nmf(Matrix::Matrix(t(x), sparse = TRUE), 2), "samples seem to be in rows")
  # the right orientation, and unrelated column names, still fit
  expect_s3_class(nmf(x, 2, beta = 1, seed = 1), "nmf_fit")
  g <- matrix(rpois(60, 5) + 1, 20, 3, dimnames = list(paste0("g", 1:20), c("A[C>A]A", "b", "c")))
  expect_s3_class(nmf(g, 2, beta = 1, seed = 1), "nmf_fit")
})

test_that("a data frame's first column of labels becomes the row names (issue 22, item 8)", {
  x <- sbs_catalog[, 1:12]
  ch <- rownames(x)
  # SigProfilerMatrixGenerator's layout: MutationType, then one column per sample
  sp <- data.frame(MutationType = ch, x, check.names = FALSE)
  f1 <- nmf(sp, 3, beta = 1, seed = 1)
  f0 <- nmf(x, 3, beta = 1, seed = 1)
  expect_identical(f1$w, f0$w)
  expect_identical(rownames(basis(f1)), ch)
  # in alphabetical order, the labels carry the pairing to the signatures
  sp_alpha <- sp[order(ch), ]
  expect_equal(coef(fit_signatures(sp_alpha, sbs_signatures)), coef(fit_signatures(x, sbs_signatures)),
               tolerance = 1e-6)
  # a factor column works too, and SigProfiler's Type / SubType pair
  expect_identical(nmf(data.frame(id = factor(ch), x), 3, beta = 1, seed = 1)$w, f0$w)
  pair <- data.frame(Type = substr(ch, 3, 5), SubType = paste0(substr(ch, 1, 1), substr(ch, 3, 3), substr(ch, 7, 7)),
                     x, check.names = FALSE)
  expect_equal(coef(fit_signatures(pair[96:1, ], sbs_signatures)), coef(fit_signatures(x, sbs_signatures)),
               tolerance = 1e-6)
  # COSMIC's signature layout (a Type column) as the signatures
  cosmic <- data.frame(Type = ch, sbs_signatures, check.names = FALSE)[order(ch), ]
  expect_equal(coef(fit_signatures(x, cosmic)), coef(fit_signatures(x, sbs_signatures)), tolerance = 1e-6)
  # labels must be unique and present
  expect_error(nmf(rbind(sp, sp), 2), "first column 'MutationType' holds row labels, but they repeat: A\\[C>A\\]A")
  sp$MutationType[3] <- NA
  expect_error(nmf(sp, 2), "1 of them are missing")
  # other non-numeric columns are still refused
  expect_error(nmf(data.frame(id = ch, x, note = "a"), 2), "non-numeric column\\(s\\): note")
})

# the held-out pattern in CSC form, built in plain R from a logical matrix:
# which() lists the TRUE entries by column, then row, each once
pattern_twin <- function(held) {
  ij <- which(held, arr.ind = TRUE)
  list(p = c(0L, cumsum(as.integer(colSums(held)))), i = as.integer(ij[, 1] - 1L), j = as.integer(ij[, 2] - 1L))
}

test_that("the held-out pattern equals its plain-R twin, repeats and NA overlaps kept once (issue 28)", {
  set.seed(28)
  for (trial in 1:20) {
    m <- sample(1:12, 1)
    n <- sample(1:15, 1)
    held <- matrix(runif(m * n) < runif(1), m, n)
    ij <- which(held, arr.ind = TRUE) - 1L
    # every entry listed 1 to 3 times, in a random order
    times <- sample(1:3, nrow(ij), replace = TRUE)
    rep_ij <- ij[rep(seq_len(nrow(ij)), times), , drop = FALSE]
    rep_ij <- rep_ij[sample.int(nrow(rep_ij)), , drop = FALSE]
    expect_identical(betanmf:::pattern_csc(rep_ij[, 1], rep_ij[, 2], c(m, n)), pattern_twin(held))
  }
  expect_identical(betanmf:::pattern_csc(integer(0), integer(0), c(3L, 4L)), pattern_twin(matrix(FALSE, 3, 4)))
  one <- matrix(FALSE, 3, 4)
  one[3, 4] <- TRUE
  expect_identical(betanmf:::pattern_csc(2, 3, c(3L, 4L)), pattern_twin(one)) # doubles, as from which() - 1

  # a dense mask and NA in x that overlap it: held out = mask | is.na(x)
  for (trial in 1:10) {
    x <- matrix(rpois(40 * 60, 3), 40, 60)
    mask <- matrix(runif(length(x)) < 0.15, 40, 60)
    x[sample(length(x), 300)] <- NA
    x[which(mask)[1:20]] <- NA # certainly overlapping
    d <- betanmf:::prepare_data(x, 1, mask = mask, missing = "mask")
    expect_identical(d$hold_ij, pattern_twin(mask | is.na(x)))
    expect_identical(d$hold, d$hold_ij[c("p", "i")])
    # the same with the mask sparse, and x sparse
    d_sp <- betanmf:::prepare_data(Matrix::Matrix(x, sparse = TRUE), 1, mask = Matrix::Matrix(mask, sparse = TRUE),
                                   missing = "mask")
    expect_identical(d_sp$hold_ij, pattern_twin(mask | is.na(x)))
  }

  # a triplet mask with an entry stored twice (TRUE and FALSE: held out, as
  # Matrix reads it, TRUE) and an explicit FALSE (not held out)
  tm <- Matrix::sparseMatrix(i = c(1, 1, 2, 3, 3), j = c(1, 1, 3, 2, 2), x = c(TRUE, FALSE, TRUE, FALSE, FALSE),
                             dims = c(3, 4), repr = "T")
  held <- matrix(FALSE, 3, 4)
  held[1, 1] <- held[2, 3] <- TRUE
  expect_identical(as.matrix(tm), held)
  expect_identical(betanmf:::check_mask(tm, c(3L, 4L)), pattern_twin(held))
})

test_that("the data's sum comes from prepare_data's passes, equal to sum() bit for bit (issue 28)", {
  # the C passes against their plain-R twins: sum() and x / scale.  Values
  # spread over many magnitudes, whose sum in double precision (not R's long
  # double accumulator) would differ in the last bits
  set.seed(28)
  v <- c(stats::rexp(5000) * 10^stats::runif(5000, -8, 8), 1e15, 3, -1e15 / 3)
  m <- matrix(abs(v)[1:5000], 100, 50, dimnames = list(paste0("r", 1:100), NULL))
  for (scale in c(2^-30, 0.5, 2^40)) {
    q <- .Call(betanmf:::C_scale_values, m, scale)
    expect_identical(q$x, m / scale)
    expect_identical(q$sum, sum(m / scale))
  }
  expect_identical(.Call(betanmf:::C_scale_values, rep(1e308, 4), 2)$sum, sum(rep(1e308, 4) / 2)) # Inf
  # prepare_data()'s sum in internal units is the one the starts used to
  # recompute: dense, scaled by 1 (no copy), held out, NA, sparse, sparse at
  # beta <= 0 (made dense), and finite data whose sum overflows
  twin <- function(d) if (is.null(d$sp)) sum(d$dense) else sum(d$sp$x) / d$xscale
  x <- matrix(stats::rexp(60 * 40) * 1e5, 60, 40)
  x1 <- matrix(stats::runif(60 * 40) * 2, 60, 40)
  xna <- x
  xna[5, 7] <- NA
  mask <- matrix(stats::runif(60 * 40) < 0.2, 60, 40)
  sp <- Matrix::rsparsematrix(80, 30, 0.2, rand.x = function(n) stats::rexp(n) * 7)
  cases <- list(dense = list(x), unit = list(x1), masked = list(x, mask = mask),
                na = list(xna, missing = "mask"), sparse = list(sp), sparse_mask = list(sp, mask = mask[1:80 %% 60 + 1, 1:30]),
                sparse_b0 = list(Matrix::Matrix(x1 + 0.1, sparse = TRUE), beta = 0.5),
                huge = list(matrix(c(1.5e308, 1.7e308, 1, 2), 2, 2)))
  for (nm in names(cases)) {
    a <- cases[[nm]]
    d <- do.call(betanmf:::prepare_data, c(a[1], list(beta = if (is.null(a$beta)) 2 else a$beta),
                                            a[setdiff(names(a), c("", "beta"))]))
    expect_identical(d$sum_xs, twin(d), label = nm)
  }
  expect_identical(betanmf:::prepare_data(x1, 2)$scale, 1)
})

test_that("data already in internal units are not copied (issue 28)", {
  # the mean of x1 is about 1, so its power-of-two scale is 1: the C core
  # reads x itself.  Before, prepare_data() divided by 1, a copy of x
  skip_if_not(capabilities("profmem"))
  set.seed(3)
  x1 <- matrix(stats::runif(500 * 100) * 2, 500, 100)
  d <- betanmf:::prepare_data(x1, 2) # load everything first
  expect_identical(d$scale, 1)
  f <- tempfile()
  on.exit(unlink(f), add = TRUE)
  utils::Rprofmem(f, threshold = 0.5 * 8 * length(x1))
  d <- betanmf:::prepare_data(x1, 2)
  utils::Rprofmem(NULL)
  l <- readLines(f)
  expect_length(l[grepl("^[0-9]+ :", l)], 0)
  expect_identical(d$dense, x1)
})
