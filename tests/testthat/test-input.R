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
