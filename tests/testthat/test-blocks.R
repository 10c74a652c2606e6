# Data read in blocks (R/blocks.R, src/blocks.c): a DelayedMatrix, here
# small HDF5 files written in tempdir(), fitted block by block with the
# block size forced small, against the same fit in memory.

skip_blocks <- function() {
  skip_if_not_installed("DelayedArray", minimum_version = NULL)
  skip_if_not_installed("HDF5Array")
}

# a tiny block size, 4800 bytes (1200 integers: three blocks of rows and
# three of columns of the 60 x 45 counts); returns the old one, for
# on.exit(restore_blocks(old))
small_blocks <- function(bytes = 4800) {
  old <- DelayedArray::getAutoBlockSize()
  suppressMessages(DelayedArray::setAutoBlockSize(bytes))
  old
}
restore_blocks <- function(old) suppressMessages(DelayedArray::setAutoBlockSize(old))

block_counts <- function() {
  set.seed(11)
  m <- 60
  n <- 45
  w <- matrix(rexp(m * 3), m, 3)
  h <- matrix(rexp(3 * n), 3, n)
  matrix(rpois(m * n, w %*% h * 0.4), m, n, dimnames = list(paste0("g", seq_len(m)), paste0("c", seq_len(n))))
}

h5_matrix <- function(x, sparse = FALSE) {
  HDF5Array::writeHDF5Array(x, tempfile(fileext = ".h5"), name = "x", chunkdim = c(20L, 10L),
                            as.sparse = sparse, with.dimnames = TRUE)
}

rel_diff <- function(a, b) max(abs(a - b)) / max(abs(b))

reset_reads <- function() {
  e <- betanmf:::blocks_env
  e$reads <- 0
  e$largest <- 0
  e$row_reads <- 0
  e$direct_reads <- 0
}

solvers <- list(list(beta = 2, solver = "hals"), list(beta = 1, solver = "mu"),
                list(beta = 0.5, solver = "mu"), list(beta = 1, solver = "cd"))

test_that("an HDF5 matrix in blocks gives the in-memory iterates (dense, every solver)", {
  skip_blocks()
  x <- block_counts()
  X <- h5_matrix(x)
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  for (s in solvers) {
    a <- nmf(x, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1)
    reset_reads()
    b <- nmf(X, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1)
    info <- sprintf("%s, beta = %g", s$solver, s$beta)
    expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
    expect_equal(b$loss, a$loss, tolerance = 1e-10, label = info)
    expect_identical(dimnames(b$w)[[1]], rownames(x))
    expect_identical(dimnames(b$h)[[2]], colnames(x))
    expect_true(is.matrix(b$w) && is.matrix(b$h))
    # read block by block, never whole: several blocks per pass, each a
    # fraction of the matrix
    e <- betanmf:::blocks_env
    expect_gte(e$reads, 50 * 3)
    expect_lte(e$largest, length(x) / 2)
  }
})

test_that("HALS and MU fits read only column blocks, one pass per iteration", {
  skip_blocks()
  x <- block_counts()
  set.seed(7)
  mask <- matrix(runif(length(x)) < 0.1, nrow(x), ncol(x))
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  maxit <- 40
  for (sparse in c(FALSE, TRUE)) {
    X <- h5_matrix(x, sparse = sparse)
    ncb <- length(betanmf:::prepare_data(X, beta = 1)$blocks$cvps)
    expect_gt(ncb, 2)
    for (s in solvers) {
      info <- sprintf("%s, beta = %g, sparse = %s", s$solver, s$beta, sparse)
      for (mk in list(NULL, mask)) {
        reset_reads()
        b <- nmf(X, 3, beta = s$beta, solver = s$solver, maxit = maxit, tol = 0, seed = 1, mask = mk)
        a <- nmf(x, 3, beta = s$beta, solver = s$solver, maxit = maxit, tol = 0, seed = 1, mask = mk)
        expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
        expect_equal(b$trace$loss, a$trace$loss, tolerance = 1e-10, label = info)
        e <- betanmf:::blocks_env
        if (s$solver == "cd") {
          # coordinate descent's W half takes whole rows: a pass by rows
          expect_gte(e$row_reads, maxit * 2, label = info)
        } else {
          expect_identical(e$row_reads, 0, label = info)
          # the set-up (checks, scale, the NNDSVD start: six passes), the
          # start's loss with the first W half's sums, then one pass per
          # iteration
          expect_lte(e$reads, (maxit + 7) * ncb, label = info)
        }
      }
    }
  }
  # penalties on W and H: the W step from the column blocks' totals applies
  # them as the W half in memory does
  X <- h5_matrix(x)
  ctl <- list(l1 = c(0.3, 0.1), l2 = c(0.2, 0.05))
  for (s in solvers[1:3]) {
    info <- sprintf("%s, beta = %g, penalties", s$solver, s$beta)
    a <- nmf(x, 3, beta = s$beta, solver = s$solver, maxit = maxit, tol = 0, seed = 1, mask = mask, control = ctl)
    b <- nmf(X, 3, beta = s$beta, solver = s$solver, maxit = maxit, tol = 0, seed = 1, mask = mask, control = ctl)
    expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
  }
  # W fixed (predict()): the H half alone, by columns
  fit <- nmf(x, 3, beta = 1, seed = 1, maxit = 200)
  reset_reads()
  p <- predict(fit, h5_matrix(x))
  expect_identical(betanmf:::blocks_env$row_reads, 0)
})

test_that("the default solver and start on an HDF5 matrix match the fit in memory", {
  skip_blocks()
  x <- block_counts()
  X <- h5_matrix(x)
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  a <- nmf(x, 3, beta = 1, maxit = 50, tol = 0, seed = 1)
  b <- nmf(X, 3, beta = 1, maxit = 50, tol = 0, seed = 1)
  expect_identical(b$solver, "cd")
  expect_lt(rel_diff(b$w, a$w), 1e-10)
  expect_lt(rel_diff(b$h, a$h), 1e-10)
  expect_equal(b$trace$loss, a$trace$loss, tolerance = 1e-10)
  # a fit that converges stops at the same iteration
  a <- nmf(x, 3, beta = 2, seed = 2, tol = 1e-4)
  b <- nmf(X, 3, beta = 2, seed = 2, tol = 1e-4)
  expect_identical(b$iterations, a$iterations)
  expect_lt(rel_diff(b$h, a$h), 1e-10)
  # random starts and restarts draw the same numbers
  a <- nmf(x, 2, beta = 1, nrun = 2, seed = 3, maxit = 20, tol = 0)
  b <- nmf(X, 2, beta = 1, nrun = 2, seed = 3, maxit = 20, tol = 0)
  expect_lt(rel_diff(b$runs[[2]]$w, a$runs[[2]]$w), 1e-10)
})

test_that("sparse blocks go to the sparse kernels and give the in-memory iterates", {
  skip_blocks()
  x <- block_counts()
  xs <- methods::as(x, "dgCMatrix")
  X <- h5_matrix(x, sparse = TRUE)
  expect_true(DelayedArray::is_sparse(X))
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  for (s in solvers) {
    a <- nmf(xs, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1)
    b <- nmf(X, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1)
    info <- sprintf("%s, beta = %g", s$solver, s$beta)
    expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
  }
  # a block really is read sparse
  B <- betanmf:::prepare_data(X, beta = 1)$blocks
  expect_s4_class(betanmf:::read_one_block(B$x, B$cvps[[1]], B$sparse), "dgCMatrix")
})

test_that("masks and NA work on blocks as in memory", {
  skip_blocks()
  x <- block_counts()
  set.seed(5)
  mask <- matrix(runif(length(x)) < 0.1, nrow(x), ncol(x))
  xna <- x
  xna[sample(length(x), 40)] <- NA
  X <- h5_matrix(x)
  Xs <- h5_matrix(x, sparse = TRUE)
  Xna <- h5_matrix(xna)
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  for (s in solvers) {
    info <- sprintf("%s, beta = %g", s$solver, s$beta)
    a <- nmf(x, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1, mask = mask)
    b <- nmf(X, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1, mask = mask)
    expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
    # the mask itself a DelayedMatrix, the data sparse
    b <- nmf(Xs, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1,
             mask = DelayedArray::DelayedArray(mask))
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
    a <- nmf(xna, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1, missing = "mask")
    b <- nmf(Xna, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1, missing = "mask")
    expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
  }
  expect_error(nmf(Xna, 3, beta = 1), "NA value")
  # a column with no observed entry: an error that says what to do
  xe <- xna
  xe[, 3] <- NA
  expect_error(nmf(h5_matrix(xe), 3, beta = 1, missing = "mask"), "subset it")
})

test_that("HALS's H half takes a block's scale on its products, with the scaled block's bits", {
  skip_blocks()
  # The fit of x * 2^e is the fit of x with H times 2^e, bit for bit: the
  # data are scaled by an exact power of two to mean ~1, the same scaled
  # values either way.  At scale 1 the blocks are handed over as read; at
  # any other, HALS's H half gets them unscaled and scales its products
  # (blocks_env$deferred counts those calls), where a pass over the block
  # scaled it before.
  x <- block_counts()
  storage.mode(x) <- "integer"
  expect_identical(2^round(log2(mean(x))), 1) # x's own scale: no deferral
  set.seed(5)
  mask <- matrix(runif(length(x)) < 0.1, nrow(x), ncol(x))
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  e <- betanmf:::blocks_env
  fit <- function(v, ...) {
    e$deferred <- 0
    f <- nmf(h5_matrix(v), 3, beta = 2, solver = "hals", maxit = 30, tol = 0, seed = 1, ...)
    list(fit = f, deferred = e$deferred)
  }
  for (masked in c(FALSE, TRUE)) {
    mk <- if (masked) mask
    a <- fit(x, mask = mk)
    expect_identical(a$deferred, 0)
    # an integer file read directly, a double one, and a DelayedArray in memory
    for (k in list(1024L, 2^-20, "delayed")) {
      info <- sprintf("masked %s, %s", masked, format(k))
      b <- if (identical(k, "delayed")) {
        e$deferred <- 0
        k <- 2^12
        list(fit = nmf(DelayedArray::DelayedArray(x * k), 3, beta = 2, solver = "hals", maxit = 30, tol = 0,
                       seed = 1, mask = mk), deferred = e$deferred)
      } else fit(x * k, mask = mk)
      expect_gt(b$deferred, 30, label = info)
      expect_identical(b$fit$w, a$fit$w, label = info)
      expect_identical(b$fit$h, a$fit$h * k, label = info)
      expect_equal(b$fit$loss, a$fit$loss * k^2, tolerance = 1e-13, label = info)
    }
  }
})

test_that("MU's W-half sums on a tall, narrow block need memory of its size, not 32 columns a thread", {
  # block_share() -> mu_block_sums() on blocks of 1 and 40 columns of m
  # rows: the sums against a plain-R twin, the same bits on one thread and
  # two, and the peak of R's heap (the kernels' scratch is R vectors) over
  # the call with two threads.  Its own memory is the block's width in
  # buffers and a few r x m matrices (the sums, their partial sums, the
  # padded factor; r = 2, padded to 4); 32-column buffers for each thread
  # were 128 m cells at beta = 1.5.
  set.seed(3)
  r <- 2L
  ctl <- list(inner = 10L, inner_tol = 0.1, l1 = c(0, 0), l2 = c(0, 0))
  for (nc in c(1L, 40L)) {
    m <- if (nc == 1L) 1e5 else 5e4
    x <- matrix(rexp(m * nc), m, nc)
    wt <- matrix(runif(r * m), r, m)
    h <- matrix(runif(r * nc), r, nc)
    blk <- list(dense = x, sparse = NULL, dims = c(as.integer(m), nc), hold = NULL)
    y <- crossprod(wt, h)
    for (beta in c(1, 1.5)) {
      info <- sprintf("%d columns, beta = %g", nc, beta)
      invisible(gc(reset = TRUE))
      base <- gc()["Vcells", "max used"]
      res <- betanmf:::block_half(blk, h, wt, "mu", beta, ctl, "h", 2L, update = FALSE, share = TRUE)
      peak <- gc()["Vcells", "max used"] - base
      expect_lt(peak, (40 + 2 * nc) * m, label = paste(info, "peak cells"))
      expect_equal(res$num, h %*% t(x * y^(beta - 2)), tolerance = 1e-12, label = info)
      expect_equal(res$den, h %*% t(y^(beta - 1)), tolerance = 1e-12, label = info)
      one <- betanmf:::block_half(blk, h, wt, "mu", beta, ctl, "h", 1L, update = FALSE, share = TRUE)
      expect_identical(one$num, res$num, label = info)
      expect_identical(one$den, res$den, label = info)
    }
  }
})

test_that("bad values in an HDF5 matrix are reported like in memory", {
  skip_blocks()
  x <- block_counts()
  x[2, 3] <- -1
  expect_error(nmf(h5_matrix(x), 2), "negative")
  x[2, 3] <- 0
  expect_error(nmf(h5_matrix(x), 2, beta = 0), "zero entries")
  expect_error(nmf(h5_matrix(x), 2, volume = 0.1), "DelayedMatrix")
  # cv_mask() draws in memory: an error, not a realisation
  expect_error(cv_mask(h5_matrix(x)), "block by block")
  expect_error(nmf_rank(h5_matrix(x), 1:2, beta = 0), "zero entries")
})

test_that("predict() on a DelayedMatrix matches predict() on the matrix", {
  skip_blocks()
  x <- block_counts()
  fit <- nmf(x[, 1:30], 3, beta = 1, seed = 1, maxit = 200)
  newx <- x[, 31:45]
  X <- h5_matrix(newx)
  old <- small_blocks(2400)
  on.exit(restore_blocks(old), add = TRUE)
  for (b in list(list(beta = 1), list(beta = 2))) {
    fit$beta <- b$beta
    a <- predict(fit, newx)
    reset_reads()
    p <- predict(fit, X)
    expect_lt(rel_diff(p, a), 1e-10)
    expect_identical(dimnames(p), dimnames(a))
    expect_gt(betanmf:::blocks_env$reads, 3)
    expect_lt(betanmf:::blocks_env$largest, length(newx))
  }
})

test_that("fit_signatures() on a DelayedMatrix catalog matches the in-memory refit", {
  skip_blocks()
  sim <- simulate_nmf(w = sbs_signatures, n = 30, depth = 500, seed = 1)
  cat_mem <- sim$x
  X <- h5_matrix(cat_mem)
  old <- small_blocks(8 * 96 * 8)
  on.exit(restore_blocks(old), add = TRUE)
  for (beta in c(1, 2)) {
    a <- fit_signatures(cat_mem, sbs_signatures, beta = beta)
    reset_reads()
    b <- fit_signatures(X, sbs_signatures, beta = beta)
    expect_lt(rel_diff(b$exposures, a$exposures), 1e-10)
    expect_identical(dimnames(b$exposures), dimnames(a$exposures))
    expect_equal(b$cosine, a$cosine, tolerance = 1e-10)
    expect_equal(b$loss, a$loss, tolerance = 1e-10)
    expect_gt(betanmf:::blocks_env$reads, 3)
    expect_lt(betanmf:::blocks_env$largest, length(cat_mem))
  }
  expect_output(print(b))
  expect_error(fitted(b), "DelayedMatrix")
  expect_error(fit_signatures(X, sbs_signatures, bootstrap = 10), "in-memory subset")
})

test_that("a SingleCellExperiment whose assay is a DelayedMatrix is fitted in blocks", {
  skip_blocks()
  skip_if_not_installed("SingleCellExperiment")
  x <- block_counts()
  sce <- SingleCellExperiment::SingleCellExperiment(list(counts = h5_matrix(x)))
  expect_true(methods::is(SummarizedExperiment::assay(sce, "counts"), "DelayedMatrix"))
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  a <- nmf(x, 3, beta = 1, maxit = 30, tol = 0, seed = 1)
  reset_reads()
  b <- nmf(sce, 3, beta = 1, maxit = 30, tol = 0, seed = 1, assay = "counts")
  expect_lt(rel_diff(b$h, a$h), 1e-10)
  expect_gt(betanmf:::blocks_env$reads, 30)
})

test_that("store_nmf() puts H in reducedDim and W in rowData, aligned by name", {
  skip_if_not_installed("SingleCellExperiment")
  x <- block_counts()
  sce <- SingleCellExperiment::SingleCellExperiment(list(counts = x))
  # a fit on a subset of the genes, in another order
  genes <- rev(rownames(x)[seq(1, nrow(x), by = 2)])
  fit <- nmf(x[genes, ], 3, beta = 1, seed = 1, maxit = 30, tol = 0)
  out <- store_nmf(sce, fit)
  rd <- SingleCellExperiment::reducedDim(out, "NMF")
  expect_identical(dim(rd), c(ncol(x), 3L))
  expect_identical(rownames(rd), colnames(x))
  expect_equal(unname(rd), unname(t(fit$h)))
  w <- SummarizedExperiment::rowData(out)[["NMF"]]
  expect_identical(dim(w), c(nrow(x), 3L))
  expect_equal(w[genes, ], fit$w[genes, ])
  expect_true(all(is.na(w[setdiff(rownames(x), genes), ])))
  # round trip: W H from the container is the fit's
  expect_equal(w[genes, ] %*% t(rd), fitted(fit)[genes, ], ignore_attr = TRUE)
  # another name keeps both
  out2 <- store_nmf(out, fit, name = "NMF2")
  expect_setequal(SingleCellExperiment::reducedDimNames(out2), c("NMF", "NMF2"))
  # a gene the object lacks, unnamed sides of another size, a plain SE
  bad <- fit
  rownames(bad$w)[1] <- "nope"
  expect_error(store_nmf(sce, bad), "does not")
  un <- fit
  rownames(un$w) <- NULL
  expect_error(store_nmf(sce, un), "matched by name")
  se <- SummarizedExperiment::SummarizedExperiment(list(counts = x))
  expect_error(store_nmf(se, fit), "SingleCellExperiment")
})

test_that("a checkpoint digests an HDF5 matrix by its values, not its file's path", {
  skip_blocks()
  skip_if_not_installed("rhdf5")
  x <- block_counts()
  storage.mode(x) <- "double"
  path <- tempfile(fileext = ".h5")
  dir <- tempfile("ck")
  on.exit(unlink(c(dir, path), recursive = TRUE), add = TRUE)
  h5 <- HDF5Array::writeHDF5Array(x, path, name = "x", chunkdim = c(20L, 10L))
  fit_ck <- function() {
    suppressWarnings(suppressMessages(nmf(HDF5Array::HDF5Array(path, "x"), 2, beta = 1, nrun = 2, seed = 3,
                                          maxit = 20, checkpoint = dir)))
  }
  fit <- fit_ck()
  again <- fit_ck()
  expect_equal(attr(again, "checkpoint")$computed, 0)
  # a different block size reads the same values
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  third <- fit_ck()
  expect_equal(attr(third, "checkpoint")$computed, 0)
  expect_identical(third$w, fit$w)
  # one value changed in place: same path, same object, other data
  rhdf5::h5write(x[30, 40] + 1, path, "x", index = list(30L, 40L))
  expect_error(fit_ck(), "the data", class = "betanmf_error_input")
})

# A TENxMatrix (the 10x Genomics layout: groups data/indices/indptr/shape,
# compressed by columns) of x, in tempdir().  writeTENxMatrix() writes the
# file, then fails to open it with HDF5Array 1.26 and rhdf5 2.42 (Debian
# 12): HDF5Array's h5isdataset() and h5isgroup() expect H5Dopen()/H5Gopen()
# to signal an error on an object of the other kind, but this rhdf5 returns
# FALSE (printing "HDF5: unable to open dataset"), which they then pass to
# H5Dclose()/H5Gclose(): "h5checktype(). Argument not of class
# H5IdComponent".  So when TENxMatrix() fails so, the two are replaced by
# versions that test the class of what the open returned, for the
# construction only (restored on exit); reading blocks does not use them.
tenx_matrix <- function(x) {
  skip_if_not_installed("rhdf5")
  path <- tempfile(fileext = ".h5")
  x <- methods::as(x, "dgCMatrix")
  try(suppressWarnings(suppressMessages(HDF5Array::writeTENxMatrix(x, path, group = "x"))), silent = TRUE)
  tenx_open(path)
}
tenx_open <- function(path) h5_open(function() HDF5Array::TENxMatrix(path, "x"))

test_that("a TENxMatrix is fitted from its column blocks as a dgCMatrix in memory", {
  skip_blocks()
  x <- block_counts()
  xs <- methods::as(x, "dgCMatrix")
  X <- tenx_matrix(x)
  expect_s4_class(X, "TENxMatrix")
  expect_true(DelayedArray::is_sparse(X))
  expect_equal(as.matrix(X), unname(x), ignore_attr = TRUE)
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  for (s in solvers) {
    info <- sprintf("%s, beta = %g", s$solver, s$beta)
    a <- nmf(xs, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1)
    reset_reads()
    b <- nmf(X, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1)
    expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
    if (s$solver != "cd") expect_identical(betanmf:::blocks_env$row_reads, 0, label = info)
  }
  B <- betanmf:::prepare_data(X, beta = 1)$blocks
  expect_s4_class(betanmf:::read_one_block(B$x, B$cvps[[1]], B$sparse), "dgCMatrix")
})

test_that("the block path's NNDSVD start allocates few n x k matrices (issue 24)", {
  # truncated_svd_blocks() on a 200 x 20000 TENxMatrix at rank 5 (k = 15),
  # in two column blocks: R's allocations (Rprofmem counts R_alloc too) of
  # at least one n x k matrix of doubles.  13 when it drew Omega as an R
  # matrix, kept X' Q untransposed with t() copies, duplicated the sketch
  # in C_orth (whose kernels took a fresh chunk per request) and took
  # La.svd() (its copy of B, V', t(V')); 4 since: t(Omega), orth()'s work
  # and scratch, V'.  The start is still the in-memory one.
  skip_blocks()
  skip_if_not(capabilities("profmem"), "R built without memory profiling")
  set.seed(3)
  n <- 20000
  x <- Matrix::rsparsematrix(200, n, 0.03, rand.x = function(k) stats::rpois(k, 2) + 1)
  x <- methods::as(x, "CsparseMatrix")
  X <- tenx_matrix(x)
  old <- small_blocks(8 * 3000 * 40)
  on.exit(restore_blocks(old), add = TRUE)
  d <- betanmf:::prepare_data(X, beta = 1)
  expect_identical(length(d$blocks$cvps), 2L)
  invisible(betanmf:::truncated_svd(d$xs, 5)) # load everything first
  tf <- tempfile()
  on.exit(unlink(tf), add = TRUE)
  set.seed(1)
  utils::Rprofmem(tf, threshold = n * 15 * 8)
  s <- betanmf:::truncated_svd(d$xs, 5)
  utils::Rprofmem(NULL)
  l <- grep("^[0-9]+ ?:", readLines(tf), value = TRUE)
  expect_lte(sum(as.numeric(sub(" ?:.*", "", l)) >= n * 15 * 8), 5,
             label = "allocations of an n x k matrix or more in truncated_svd_blocks()")
  dm <- betanmf:::prepare_data(x, beta = 1)
  set.seed(1)
  sm <- betanmf:::truncated_svd(dm$xs, 5, dm$xscale)
  expect_equal(s$d, sm$d, tolerance = 1e-12)
  expect_equal(s$u, sm$u, tolerance = 1e-10)
  expect_equal(s$vt[1:5, ], sm$vt[1:5, ], tolerance = 1e-10)
})

test_that("a TENxMatrix is read from its arrays, in blocks of at most the block size of non-zeros", {
  skip_blocks()
  x <- block_counts()
  xs <- methods::as(x, "dgCMatrix")
  X <- tenx_matrix(x)
  expect_false(is.null(betanmf:::h5sparse_direct(X)))
  # a delayed operation or a subset: read through DelayedArray
  expect_null(betanmf:::h5sparse_direct(X * 2))
  expect_null(betanmf:::h5sparse_direct(X[, 1:20]))
  # 4800 bytes: 400 non-zeros a block
  old <- small_blocks(4800)
  on.exit(restore_blocks(old), add = TRUE)
  nz <- diff(xs@p)
  B <- betanmf:::prepare_data(X, beta = 1)$blocks
  cols <- lapply(B$cvps, betanmf:::vp_range, 2)
  expect_identical(unlist(cols), seq_len(ncol(x)))
  expect_gt(length(cols), 2)
  # each block at most 400 non-zeros, and as long as that allows: with the
  # next column it would hold more
  per <- vapply(cols, function(j) sum(nz[j]), numeric(1))
  expect_true(all(per <= 400))
  nxt <- vapply(cols[-length(cols)], function(j) nz[max(j) + 1L], numeric(1))
  expect_true(all(per[-length(per)] + nxt > 400))
  # a block read is the matrix's columns
  blk <- betanmf:::read_one_block(X, B$cvps[[2]], TRUE)
  expect_s4_class(blk, "dgCMatrix")
  expect_equal(as.matrix(blk), unname(x[, cols[[2]]]))
  # every column block read directly; the iterates those in memory, with
  # and without held-out entries
  set.seed(8)
  mask <- matrix(runif(length(x)) < 0.1, nrow(x), ncol(x))
  for (s in solvers) {
    for (mk in list(NULL, mask)) {
      info <- sprintf("%s, beta = %g, mask = %s", s$solver, s$beta, !is.null(mk))
      a <- nmf(xs, 3, beta = s$beta, solver = s$solver, maxit = 30, tol = 0, seed = 1, mask = mk)
      reset_reads()
      b <- nmf(X, 3, beta = s$beta, solver = s$solver, maxit = 30, tol = 0, seed = 1, mask = mk)
      expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
      expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
      e <- betanmf:::blocks_env
      expect_gt(e$direct_reads, 30, label = info)
      expect_identical(e$direct_reads, e$reads - e$row_reads, label = info)
    }
  }
})

# a copy of a TENxMatrix's file, to damage or rewrite in a test
tenx_copy <- function(X) {
  path <- tempfile(fileext = ".h5")
  expect_true(file.copy(X@seed@filepath, path))
  path
}

test_that("a TENx file with row indices out of range stops with a message", {
  skip_blocks()
  x <- block_counts()
  X <- tenx_matrix(x)
  path <- tenx_copy(X)
  # the first non-zero's row index set to the number of rows (0-based: one past the last)
  rhdf5::h5write(nrow(x), path, "x/indices", start = 1, count = 1)
  rhdf5::h5closeAll()
  Y <- tenx_open(path)
  expect_error(nmf(Y, 3, beta = 1, solver = "mu", maxit = 5), "invalid row indices in columns 1-")
})

test_that("a TENx file with a column's row indices out of order is fitted as the sorted one", {
  skip_blocks()
  x <- block_counts()
  X <- tenx_matrix(x)
  path <- tenx_copy(X)
  # CSC allows any order within a column: reverse the first column's
  w1 <- sum(x[, 1] != 0)
  expect_gt(w1, 1)
  idx <- rhdf5::h5read(path, "x/indices", start = 1, count = w1)
  val <- rhdf5::h5read(path, "x/data", start = 1, count = w1)
  rhdf5::h5write(rev(as.integer(idx)), path, "x/indices", start = 1, count = w1)
  rhdf5::h5write(rev(val), path, "x/data", start = 1, count = w1)
  rhdf5::h5closeAll()
  Y <- tenx_open(path)
  expect_equal(unname(as.matrix(Y)), unname(as.matrix(x)))
  a <- nmf(X, 3, beta = 1, solver = "mu", maxit = 10, tol = 0, seed = 1)
  b <- nmf(Y, 3, beta = 1, solver = "mu", maxit = 10, tol = 0, seed = 1)
  expect_identical(b$w, a$w)
  expect_identical(b$h, a$h)
})

test_that("a TENxMatrix read as dense blocks (beta <= 0) keeps the dense block size", {
  skip_blocks()
  # 10 % non-zeros (every row and column keeps one): a block sized by its
  # non-zeros would hold many more columns than a dense one
  x <- block_counts()
  set.seed(5)
  x[matrix(runif(length(x)) < 0.9, nrow(x))] <- 0
  x[cbind(seq_len(nrow(x)), (seq_len(nrow(x)) - 1L) %% ncol(x) + 1L)] <- 1
  X <- tenx_matrix(x)
  old <- suppressMessages(DelayedArray::setAutoBlockSize(8 * nrow(x) * 3))
  on.exit(suppressMessages(DelayedArray::setAutoBlockSize(old)), add = TRUE)
  # Itakura-Saito needs the zeros held out; its blocks are dense ones
  mask <- as.matrix(x) == 0
  e <- betanmf:::blocks_env
  e$largest <- 0
  fit <- nmf(X, 2, beta = 0, mask = mask, maxit = 3, tol = 0, seed = 1)
  expect_lte(e$largest, 3 * nrow(x))
  ref <- nmf(as.matrix(x), 2, beta = 0, mask = mask, maxit = 3, tol = 0, seed = 1)
  expect_lt(max(abs(fit$h - ref$h)) / max(ref$h), 1e-10)
})

# Rank surveys of a DelayedMatrix (R/blocks-rank.R): each fold's held-out
# entries are made per block from the fold's seed (tiles of 256 x 256
# entries); the in-memory survey given those entries (rank_survey(fold_masks
# =)) is the reference.

# counts of rank 3 with rows and columns that have a single positive entry
# (whose hold-out the folds must give back)
survey_counts <- function(m = 300, n = 24, seed = 3, lonely = 0) {
  set.seed(seed)
  w <- matrix(rexp(m * 3), m, 3)
  h <- matrix(rexp(3 * n), 3, n)
  x <- matrix(rpois(m * n, w %*% h * 2), m, n, dimnames = list(paste0("g", seq_len(m)), paste0("c", seq_len(n))))
  if (lonely > 0) {
    r <- seq_len(lonely)
    x[r, ] <- 0
    x[cbind(r, sample(n, lonely, replace = TRUE))] <- 5
    cc <- seq_len(min(lonely, n %/% 2))
    x[, cc] <- 0
    x[cbind(sample(m, length(cc)), cc)] <- 4
  }
  x
}

# the in-memory survey of x holding out the entries of the folds of the
# block survey `sb` of X
memory_survey <- function(x, X, sb, ranks, beta, nrun = 1, screen = 20, fraction = 0.1, dots = list()) {
  masks <- lapply(sb$fold_seeds, function(s) betanmf:::fold_rule_mask(x, betanmf:::block_fold_rule(X, s, fraction)))
  betanmf:::rank_survey(x, ranks, beta = beta, folds = length(masks), nrun = nrun, fraction = fraction,
                        seed = sb$seed, rule = "min", threads = 1L, type = "speckled", block = 1,
                        checkpoint = NULL, screen = screen, dots = dots, call = NULL, fold_masks = masks)
}

expect_same_survey <- function(sb, sm, info) {
  expect_identical(sb$chosen, sm$chosen, label = info)
  expect_lt(max(abs(sb$cv - sm$cv) / abs(sm$cv)), 1e-10, label = info)
  expect_lt(max(abs(sb$table$train_loss - sm$table$train_loss) / sm$table$train_loss), 1e-10, label = info)
  for (r in names(sm$fits)) {
    expect_lt(rel_diff(sb$fits[[r]]$w, sm$fits[[r]]$w), 1e-10, label = info)
    expect_lt(rel_diff(sb$fits[[r]]$h, sm$fits[[r]]$h), 1e-10, label = info)
  }
  expect_identical(sb$fold_seeds, sm$fold_seeds)
  expect_identical(sb$fit_seeds, sm$fit_seeds)
}

test_that("a DelayedMatrix survey's held-out entries follow the tile rule, per block, whatever the block size", {
  skip_blocks()
  x <- survey_counts(600, 530, lonely = 40)
  x[sample(length(x), 50)] <- NA
  X <- h5_matrix(x)
  fraction <- 0.3
  old <- small_blocks(8 * 600 * 45)
  on.exit(restore_blocks(old), add = TRUE)
  rule <- betanmf:::block_fold_rule(X, 17L, fraction)
  mask <- betanmf:::fold_rule_mask(x, rule)
  # a plain-R twin of the documented draw: tile (a, b) draws a binomial
  # count, then that many entries, on its own stream
  twin <- matrix(FALSE, nrow(x), ncol(x))
  betanmf:::preserve_rng({
    RNGkind("L'Ecuyer-CMRG", "Inversion", "Rejection")
    for (a in 0:2) for (b in 0:2) {
      rows <- (a * 256 + 1):min(nrow(x), a * 256 + 256)
      cols <- (b * 256 + 1):min(ncol(x), b * 256 + 256)
      set.seed(betanmf:::tile_seed(17L, a, b))
      tile <- rep(FALSE, length(rows) * length(cols))
      tile[sample.int(length(tile), rbinom(1, length(tile), fraction))] <- TRUE
      twin[rows, cols] <- tile
    }
  })
  twin[is.na(x)] <- FALSE
  # the held-out entries are the draw less at most one given back per row
  # and column, so that every row and column keeps an observed positive entry
  expect_true(all(mask <= twin))
  back <- which(twin & !mask, arr.ind = TRUE)
  expect_gt(nrow(back), 0)
  expect_lte(nrow(back), sum(dim(x)))
  kept_pos <- !mask & !is.na(x) & x > 0
  has_pos <- !is.na(x) & x > 0
  expect_true(all(rowSums(kept_pos) > 0 | rowSums(has_pos) == 0))
  expect_true(all(colSums(kept_pos) > 0 | colSums(has_pos) == 0))
  expect_true(all(rowSums(!mask & !is.na(x)) > 0))
  expect_equal(rule$n_held, sum(mask))
  expect_equal(rule$sum_held, sum(x[mask]))
  expect_equal(mean(mask[!is.na(x)]), fraction, tolerance = 0.02)
  # the same rule from blocks of another size, and another fold's seed
  # holds out other entries
  restore_blocks(small_blocks(8 * 600 * 200))
  rule2 <- betanmf:::block_fold_rule(X, 17L, fraction)
  expect_identical(rule2$release, rule$release)
  expect_gt(sum(xor(betanmf:::fold_rule_mask(x, betanmf:::block_fold_rule(X, 18L, fraction)), mask)), 0)
  # the fits see exactly these entries held out (with the NA entries), in
  # every block of columns and of rows, and never all of them at once
  restore_blocks(small_blocks(8 * 600 * 45))
  d <- betanmf:::prepare_data(X, beta = 1, mask = rule, missing = "mask")
  expect_equal(d$n_obs, sum(!mask & !is.na(x)))
  B <- d$blocks
  left_out <- unname(mask | is.na(x))
  for (along in c("col", "row")) {
    seen <- matrix(FALSE, nrow(x), ncol(x))
    nb <- length(if (along == "col") B$cvps else B$rvps)
    expect_gt(nb, 2)
    for (b in seq_len(nb)) {
      blk <- betanmf:::block_data(B, along, b)
      pat <- matrix(FALSE, blk$dims[1], blk$dims[2])
      if (!is.null(blk$hold)) pat[cbind(blk$hold$i + 1L, rep(seq_len(blk$dims[2]), diff(blk$hold$p)))] <- TRUE
      if (along == "col") seen[, blk$index] <- pat else seen[blk$index, ] <- t(pat)
    }
    expect_identical(seen, left_out, label = along)
  }
})

test_that("nmf_rank() on an HDF5 matrix is the in-memory survey of the same held-out entries", {
  skip_blocks()
  # blocks of 8 columns (of integers) and of 100 rows
  old <- small_blocks(4 * 300 * 8)
  on.exit(restore_blocks(old), add = TRUE)
  # dense and sparse files; HALS (its W step in bands of 256 rows), MU and
  # coordinate descent (blocks of rows), on counts with rows and columns of
  # a single positive entry
  cases <- list(list(beta = 2, sparse = FALSE), list(beta = 1, sparse = FALSE),
                list(beta = 1, sparse = TRUE, solver = "mu"))
  for (s in cases) {
    info <- sprintf("beta = %g, sparse = %s%s", s$beta, s$sparse, if (is.null(s$solver)) "" else ", mu")
    x <- survey_counts(300, 24, lonely = 4)
    X <- h5_matrix(x, sparse = s$sparse)
    dots <- list(maxit = 20, tol = 0)
    if (!is.null(s$solver)) dots$solver <- s$solver
    reset_reads()
    sb <- do.call(nmf_rank, c(list(X, 2:4, beta = s$beta, folds = 2, nrun = 1, seed = 1), dots))
    expect_lte(betanmf:::blocks_env$largest, length(x) / 2)
    sm <- memory_survey(x, X, sb, 2:4, s$beta, dots = dots)
    expect_same_survey(sb, sm, info)
    expect_identical(sb$chosen, 3L, label = info)
    if (s$beta == 2) expect_equal(sb$table$vaf, sm$table$vaf, tolerance = 1e-10)
  }
})

test_that("blocks give the in-memory iterates under a fold's mask, with single-entry rows and columns", {
  skip_blocks()
  # Counts whose first rows and columns have one positive entry, some of
  # them held out: coordinate descent steps a column of H (or row of W) to
  # the bound, coordinate after coordinate, until one coordinate alone makes
  # the model at its one positive entry.  A step of that coordinate to the
  # bound then leaves y = y - f_k g_k = a rounding residue there; it used to
  # be accepted when the residue came out positive (an emptied model at a
  # positive entry passing for a finite gain), so that the fits in memory
  # and in blocks, whose starts differ by rounding, parted by several
  # percent after one or two iterations.
  x <- survey_counts(300, 24, lonely = 4)
  X <- h5_matrix(x)
  old <- small_blocks(4 * 300 * 8)
  on.exit(restore_blocks(old), add = TRUE)
  # a mask of cv_mask() and a survey fold's; the other solvers (never
  # affected: no steps to the bound) on the second
  masks <- list(cv_mask(x, 0.1, seed = 2), betanmf:::fold_rule_mask(x, betanmf:::block_fold_rule(X, 6L, 0.1)))
  for (s in solvers) {
    for (k in if (s$solver == "cd") seq_along(masks) else 2L) {
      info <- sprintf("%s, beta = %g, mask %d", s$solver, s$beta, k)
      a <- nmf(x, 4, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1, mask = masks[[k]])
      b <- nmf(X, 4, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1, mask = masks[[k]])
      expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
      expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
      expect_equal(b$trace$loss, a$trace$loss, tolerance = 1e-10, label = info)
    }
  }
  # sparse storage, in memory and in blocks
  a <- nmf(methods::as(x, "dgCMatrix"), 4, beta = 1, maxit = 50, tol = 0, seed = 1, mask = masks[[1]])
  b <- nmf(h5_matrix(x, sparse = TRUE), 4, beta = 1, maxit = 50, tol = 0, seed = 1, mask = masks[[1]])
  expect_identical(b$solver, "cd")
  expect_lt(rel_diff(b$w, a$w), 1e-10)
  expect_lt(rel_diff(b$h, a$h), 1e-10)
})

test_that("a TENxMatrix survey with screened restarts is the in-memory survey", {
  skip_blocks()
  skip_on_cran() # minutes of rhdf5 reads: run by make extended-tests
  x <- survey_counts(60, 45, lonely = 3)
  X <- tenx_matrix(x)
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  dots <- list(maxit = 40, tol = 0)
  sb <- do.call(nmf_rank, c(list(X, 2:3, beta = 1, folds = 2, nrun = 3, screen = 10, seed = 2), dots))
  expect_identical(sb$screen, 10L)
  sm <- memory_survey(methods::as(x, "dgCMatrix"), X, sb, 2:3, 1, nrun = 3, screen = 10, dots = dots)
  expect_same_survey(sb, sm, "TENx, screened")
  expect_false(anyNA(sb$table$cophenetic))
  # the hold-out is speckled only; a clear error for blocks of columns
  expect_error(nmf_rank(X, 2:3, type = "columns", block = 5), "speckled entries only")
})

test_that("a checkpointed survey of an HDF5 matrix resumes to the uninterrupted survey", {
  skip_blocks()
  x <- survey_counts(60, 45)
  X <- h5_matrix(x)
  dir <- tempfile("ck-survey")
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  run <- function(checkpoint) {
    suppressMessages(nmf_rank(X, 2:3, beta = 1, folds = 2, nrun = 1, seed = 4, maxit = 30, tol = 0,
                              checkpoint = checkpoint))
  }
  plain <- run(NULL)
  first <- run(dir)
  expect_identical(attr(first, "checkpoint")$computed, 6L)
  # as if the survey had been killed after half of its fits
  unlink(file.path(dir, sprintf("task-%04d.rds", 4:6)))
  again <- run(dir)
  expect_identical(attr(again, "checkpoint")[c("done_before", "computed")], list(done_before = 3L, computed = 3L))
  strip <- function(s) {
    attr(s, "checkpoint") <- NULL
    s$call <- NULL
    s
  }
  expect_identical(strip(again), strip(first))
  expect_identical(strip(again), strip(plain))
  # another hold-out fraction is another survey
  expect_error(suppressMessages(nmf_rank(X, 2:3, beta = 1, folds = 2, nrun = 1, seed = 4, maxit = 30, tol = 0,
                                         fraction = 0.2, checkpoint = dir)), "fraction")
})

# Issue 24 at scale: dense column blocks read into buffers reused for the
# whole fit (an HDF5Matrix of doubles straight through HDF5's H5Dread), the
# scale and held-out zeros applied in C, a chunk-aligned grid.

# a double HDF5 file (the direct path) chunked by columns, 7 per chunk
h5_double <- function(x) {
  storage.mode(x) <- "double"
  HDF5Array::writeHDF5Array(x, tempfile(fileext = ".h5"), name = "x", chunkdim = c(nrow(x), 7L),
                            with.dimnames = TRUE)
}

# an integer HDF5 file (the direct path into an integer buffer) of HDF5
# type `type`, chunked by columns, 7 per chunk
h5_int <- function(x, type = "H5T_STD_I32LE") {
  storage.mode(x) <- "integer"
  HDF5Array::writeHDF5Array(x, tempfile(fileext = ".h5"), name = "x", chunkdim = c(nrow(x), 7L),
                            with.dimnames = TRUE, H5type = type)
}

test_that("C_block_prepare scales and zeroes in place as blk / sc does in R", {
  set.seed(3)
  src <- matrix(rpois(24, 5), 4, 6)
  src[2, 3] <- NA
  hi <- c(0L, 3L, 1L)
  hj <- c(0L, 5L, 2L)
  sc <- 2^-3
  for (s in list(src, src + 0.25)) {
    ref <- s / sc
    ref[cbind(hi + 1L, hj + 1L)] <- 0
    buf <- matrix(0, 4, 6)
    .Call(betanmf:::C_block_prepare, buf, s, sc, hi, hj)
    expect_identical(buf, ref)
    # values already in the buffer (as H5Dread leaves them)
    buf2 <- s + 0
    storage.mode(buf2) <- "double"
    .Call(betanmf:::C_block_prepare, buf2, NULL, sc, hi, hj)
    expect_identical(buf2, ref)
  }
  expect_error(.Call(betanmf:::C_block_prepare, matrix(0, 4, 5), src, 1, integer(0), integer(0)), "internal error")
  expect_error(.Call(betanmf:::C_block_prepare, matrix(0, 4, 6), src, 1, 4L, 0L), "internal error")
})

test_that("an HDF5Matrix of doubles is read directly, giving the in-memory iterates", {
  skip_blocks()
  x <- block_counts() + 0
  set.seed(5)
  mask <- matrix(runif(length(x)) < 0.1, nrow(x), ncol(x))
  xna <- x
  xna[sample(length(x), 40)] <- NA
  X <- h5_double(x)
  Xna <- h5_double(xna)
  expect_false(is.null(betanmf:::h5_direct(X)))
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  for (s in solvers) {
    info <- sprintf("%s, beta = %g", s$solver, s$beta)
    for (mk in list(NULL, mask)) {
      a <- nmf(x, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1, mask = mk)
      reset_reads()
      b <- nmf(X, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1, mask = mk)
      expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
      expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
      expect_equal(b$trace$loss, a$trace$loss, tolerance = 1e-10, label = info)
      # every column block came through H5Dread
      expect_gt(betanmf:::blocks_env$direct_reads, 50, label = info)
      expect_identical(betanmf:::blocks_env$direct_reads, betanmf:::blocks_env$reads - betanmf:::blocks_env$row_reads,
                       label = info)
    }
    a <- nmf(xna, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1, missing = "mask")
    b <- nmf(Xna, 3, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1, missing = "mask")
    expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
  }
  expect_error(nmf(Xna, 3, beta = 1), "40 NA value")
  # not direct: 64-bit integers in the file, a delayed operation, sparse
  # storage; those still give the in-memory iterates through extract_array()
  expect_null(betanmf:::h5_direct(h5_int(block_counts(), "H5T_STD_I64LE")))
  expect_null(betanmf:::h5_direct(X * 2))
  expect_null(betanmf:::h5_direct(X[, 1:20]))
  expect_null(betanmf:::h5_direct(h5_matrix(block_counts(), sparse = TRUE)))
  a <- nmf(x[, 1:20] * 2, 3, beta = 2, maxit = 30, tol = 0, seed = 1)
  reset_reads()
  b <- nmf(X[, 1:20] * 2, 3, beta = 2, maxit = 30, tol = 0, seed = 1)
  expect_identical(betanmf:::blocks_env$direct_reads, 0)
  expect_lt(rel_diff(b$h, a$h), 1e-10)
})

test_that("column blocks are chunk-aligned and fill the block size", {
  skip_blocks()
  X <- h5_double(block_counts())
  # 60 rows: 4800 bytes are 10 columns of doubles, rounded down to the
  # 7-column chunks
  old <- small_blocks(4800)
  on.exit(restore_blocks(old), add = TRUE)
  B <- betanmf:::prepare_data(X, beta = 1)$blocks
  starts <- vapply(B$cvps, function(vp) betanmf:::vp_range(vp, 2)[1], 1L)
  widths <- vapply(B$cvps, function(vp) length(betanmf:::vp_range(vp, 2)), 1L)
  expect_identical(starts, seq(1L, 45L, by = 7L))
  expect_identical(widths, c(rep(7L, 6), 3L))
  # a block size below one chunk: one chunk per block
  small_blocks(800)
  B <- betanmf:::prepare_data(X, beta = 1)$blocks
  expect_identical(length(B$cvps), 7L)
})

# the allocations of `bytes` to `bytes` + 1 KiB (a block's size, with its
# header) that evaluating `expr` makes, from R's memory profiler
block_sized_allocs <- function(bytes, expr) {
  f <- tempfile()
  on.exit(unlink(f))
  utils::Rprofmem(f, threshold = bytes)
  force(expr)
  utils::Rprofmem(NULL)
  lines <- grep("^[0-9]+ ?:", readLines(f), value = TRUE)
  size <- as.numeric(sub(" ?:.*", "", lines))
  sum(size >= bytes & size < bytes + 1024)
}

# the data of the two tests below: 400 x 63 counts in an HDF5 file, read
# in blocks of 7 columns (8 * 400 * 7 bytes)
alloc_counts_file <- function() {
  set.seed(2)
  h5_double(matrix(rpois(400 * 63, 6), 400, 63) + 0)
}

test_that("a fit's iterations allocate no block-sized memory", {
  skip_blocks()
  skip_if_not(capabilities("profmem"), "R built without memory profiling")
  X <- alloc_counts_file()
  # blocks of 7 columns: 2800 doubles (22400 bytes); the allocations of a
  # block's size (a block read, a scaled or transposed copy) are counted,
  # nothing else in an iteration has that size (the factors are 3 x 400
  # and 3 x 63; the kernels' scratch chunks are 1 MiB)
  bytes <- 8 * 400 * 7
  old <- small_blocks(bytes)
  on.exit(restore_blocks(old), add = TRUE)
  big <- function(maxit, beta, solver) {
    block_sized_allocs(bytes, nmf(X, 3, beta = beta, solver = solver, maxit = maxit, tol = 0, seed = 1))
  }
  # a first fit's one-off allocations (packages' lazy loads) not counted
  big(1, 2, "hals")
  for (s in solvers[1:3]) {
    info <- sprintf("%s, beta = %g", s$solver, s$beta)
    # 9 blocks per pass: ten more iterations read 90 more blocks, with
    # no allocation of their size
    expect_identical(big(12, s$beta, s$solver), big(2, s$beta, s$solver), label = info)
  }
})

test_that("an MU fit makes the W half's sums from the block as stored, with no transposed copy", {
  skip_blocks()
  skip_if_not(capabilities("profmem"), "R built without memory profiling")
  X <- alloc_counts_file()
  # blocks of 7 columns (22400 bytes): the fit's one buffer for a block
  # read is its only allocation of that size; a transposed copy of the
  # block (7 x 400) would be another
  bytes <- 8 * 400 * 7
  old <- small_blocks(bytes)
  on.exit(restore_blocks(old), add = TRUE)
  big <- function(beta, solver) {
    block_sized_allocs(bytes, nmf(X, 3, beta = beta, solver = solver, maxit = 3, tol = 0, seed = 1))
  }
  hals <- big(2, "hals")
  expect_gte(hals, 1)
  expect_identical(big(1, "mu"), hals)
  expect_identical(big(0.5, "mu"), hals)
})

test_that("wide dense blocks (several chunks and partial sums each) give the in-memory iterates", {
  skip_blocks()
  set.seed(4)
  m <- 40
  n <- 230
  x <- matrix(rpois(m * n, 5), m, n) + 0
  x[sample(length(x), 12)] <- NA
  mask <- matrix(runif(m * n) < 0.05, m, n)
  X <- h5_double(x)
  # blocks of 105 columns (15 chunks of 7) and the last of 20: HALS's
  # one-pass H half in four partial sums of 16-column blocks, MU's W sums
  # in four parts of 32-column chunks
  old <- small_blocks(8 * m * 110)
  on.exit(restore_blocks(old), add = TRUE)
  expect_identical(vapply(betanmf:::prepare_data(X, beta = 1, missing = "mask")$blocks$cvps,
                          function(vp) length(betanmf:::vp_range(vp, 2)), 1L), c(105L, 105L, 20L))
  for (s in solvers[1:3]) for (mk in list(NULL, mask)) for (k in c(3, 14)) {
    info <- sprintf("%s, beta = %g, rank %d, mask %s", s$solver, s$beta, k, !is.null(mk))
    a <- nmf(x, k, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1, mask = mk, missing = "mask")
    b <- nmf(X, k, beta = s$beta, solver = s$solver, maxit = 50, tol = 0, seed = 1, mask = mk, missing = "mask")
    expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
    expect_equal(b$trace$loss, a$trace$loss, tolerance = 1e-10, label = info)
  }
})

test_that("HALS on blocks takes the loss directly where its expansion would cancel (an exact fit)", {
  skip_blocks()
  set.seed(6)
  w <- matrix(rexp(30 * 2), 30, 2)
  h <- matrix(rexp(2 * 40), 2, 40)
  x <- w %*% h
  X <- h5_double(x)
  old <- small_blocks(8 * 30 * 14)
  on.exit(restore_blocks(old), add = TRUE)
  b <- nmf(X, 2, beta = 2, solver = "hals", maxit = 300, tol = 0, seed = 1)
  # the loss of the returned factors, in plain R
  direct <- sum((x - b$w %*% b$h)^2) / 2
  expect_lt(b$loss, 1e-6 * sum(x^2) / 2)
  expect_equal(b$loss, direct, tolerance = 1e-6)
  expect_equal(b$trace$loss[length(b$trace$loss)], b$loss)
  # from a start near the truth, the fit in memory checks its loss likewise
  # (src/nmf.c), so both stop at the same iteration with the same trace
  set.seed(9)
  init <- list(w = w * runif(length(w), 0.9, 1.1) + 0.01, h = h)
  for (tol in c(1e-4, 0)) {
    a <- nmf(x, 2, beta = 2, solver = "hals", maxit = 8, tol = tol, init = init)
    b <- nmf(X, 2, beta = 2, solver = "hals", maxit = 8, tol = tol, init = init)
    expect_identical(b$iterations, a$iterations, label = sprintf("tol = %g", tol))
    expect_true(all(a$trace$loss > 0) && all(b$trace$loss > 0), label = sprintf("tol = %g", tol))
    # each check's loss, to the rounding of the two paths' factors (which
    # dominates below ~1e-20 ||X||^2)
    keep <- a$trace$loss > 1e-20 * sum(x^2)
    expect_gte(sum(keep), 5)
    expect_equal(b$trace$loss[keep] / a$trace$loss[keep], rep(1, sum(keep)), tolerance = 1e-5,
                 label = sprintf("tol = %g", tol))
    expect_lt(a$loss, 1e-9 * sum(x^2) / 2)
  }
})

test_that("dense data: the checks and the scale take one pass, the whole set-up six", {
  skip_blocks()
  x <- block_counts()
  set.seed(5)
  mask <- matrix(runif(length(x)) < 0.1, nrow(x), ncol(x))
  xna <- x
  xna[sample(length(x), 40)] <- NA
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  for (X in list(h5_double(x), h5_matrix(x))) {
    ncb <- length(betanmf:::prepare_data(X, beta = 1)$blocks$cvps)
    for (s in solvers[1:2]) {
      reset_reads()
      nmf(X, 3, beta = s$beta, solver = s$solver, maxit = 1, tol = 0, seed = 1)
      # the checks and the scale, the range finder's four products, the
      # start's loss with the first W sums, then the one iteration
      expect_identical(betanmf:::blocks_env$reads, 7 * ncb)
    }
  }
  # the scale, the mean and the column sums from that pass, with held-out
  # entries (mask, NA) left out: as in memory, and as in plain R
  for (mk in list(NULL, mask)) {
    a <- betanmf:::prepare_data(xna, beta = 1, mask = mk, missing = "mask")
    b <- betanmf:::prepare_data(h5_double(xna), beta = 1, mask = mk, missing = "mask")
    held <- is.na(xna) | (if (is.null(mk)) FALSE else mk)
    xz <- xna
    xz[held] <- 0
    expect_identical(b$scale, a$scale)
    expect_identical(b$n_obs, a$n_obs)
    expect_equal(b$n_obs, length(x) - sum(held))
    expect_equal(b$blocks$colsums, unname(colSums(xz)) / b$scale, tolerance = 1e-14)
    expect_equal(b$blocks$mean_x, sum(xz) / b$scale / b$n_obs, tolerance = 1e-14)
  }
})

test_that("a survey fold's held-out entries are left out of a dense file's sums, as in memory", {
  skip_blocks()
  # the set-up pass of dense column blocks (direct reads) must zero the
  # fold rule's entries, or the scale, column sums and mean of a fold
  # would count the held-out values the fit never sees
  old <- small_blocks(300 * 8 * 10)
  on.exit(restore_blocks(old), add = TRUE)
  set.seed(31)
  x <- matrix(rpois(300 * 40, 3), 300, 40)
  X <- h5_double(x)
  rule <- betanmf:::block_fold_rule(X, 7L, 0.1)
  held <- betanmf:::fold_rule_mask(X, rule)
  a <- betanmf:::prepare_data(x, beta = 1, mask = held)
  b <- betanmf:::prepare_data(X, beta = 1, mask = rule)
  xz <- x
  xz[held] <- 0
  expect_identical(b$n_obs, a$n_obs)
  expect_identical(b$scale, a$scale)
  expect_equal(b$blocks$mean_x, sum(xz) / b$scale / b$n_obs, tolerance = 1e-14)
  expect_equal(b$blocks$colsums, colSums(xz) / b$scale, tolerance = 1e-14)
})

test_that("reading a filtered HDF5 file's blocks faults no page per chunk (glibc)", {
  skip_blocks()
  skip_if_not_installed("rhdf5")
  skip_on_cran() # a child R process
  skip_if_not(grepl("linux-gnu", R.version$os) && file.exists("/proc/self/stat"), "glibc's malloc on Linux only")
  # HDF5Array writes shuffle and deflate even at level 0, so each chunk
  # (4000 x 100 doubles, 3.2 MB) is staged through buffers HDF5 mallocs
  # and frees per chunk.  In a fresh R process after x[1, 1] (as printing
  # the matrix does), glibc's adaptive thresholds handed those buffers'
  # pages back to the system after every chunk: about two page faults per
  # page read, and several times the CPU time of the read.  The minor
  # faults of two passes (/proc/self/stat) over 25.6 MB, 6250 pages each,
  # counted in a child process, whose allocator starts as a user's session
  # does.
  m <- 4000L
  n <- 800L
  file <- tempfile(fileext = ".h5")
  set.seed(3)
  HDF5Array::writeHDF5Array(matrix(runif(m * n), m, n), file, "x", chunkdim = c(m, 100L), level = 0L)
  code <- sprintf('
    suppressMessages(library(betanmf))
    x <- HDF5Array::HDF5Array("%s", "x")
    invisible(x[1, 1])
    minflt <- function() as.numeric(strsplit(sub("^.*[)] ", "", readLines("/proc/self/stat")), " ")[[1]][8])
    B <- betanmf:::prepare_data(x, beta = 1)$blocks
    f0 <- minflt()
    for (pass in 1:2) for (vp in B$cvps) betanmf:::dense_col_block(B, vp)
    cat(isTRUE(B$direct$filtered), minflt() - f0, "\\n")', file)
  env <- c(paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep)),
           "MALLOC_MMAP_THRESHOLD_=", "MALLOC_TRIM_THRESHOLD_=", "GLIBC_TUNABLES=")
  out <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", "-e", shQuote(code)),
                                  stdout = TRUE, stderr = TRUE, env = env))
  res <- strsplit(trimws(out[length(out)]), " +")[[1]]
  expect_identical(res[1], "TRUE", label = paste(out, collapse = "\n"))
  pages <- 2 * 8 * m * n / 4096
  expect_lt(as.numeric(res[2]), 0.5 * pages, label = paste("minor page faults of two passes over", pages, "pages"))
})

test_that("C_block_w_step takes H H' once made: the same step, and the one it is given", {
  set.seed(7)
  r <- 3L
  m <- 30L
  n <- 12L
  x <- matrix(rpois(m * n, 4), m, n) + 0
  wt <- matrix(runif(r * m), r, m)
  h <- matrix(runif(r * n), r, n)
  num <- h %*% t(x) # the W half's product H t(X), as the column blocks sum it
  ctl <- list(solver = 1L, beta = 2, inner = 2L, inner_tol = 0, l1 = 0, l2 = 0, threads = 1L) # 1: HALS
  step <- function(hh) .Call(betanmf:::C_block_w_step, NULL, c(n, m), wt, h, num, NULL, ctl, hh)
  a <- step(NULL)
  # the Gram matrix it made is H H' (plain R); given back, the same step, bit
  # for bit (a survey fold's bands of rows share it: R/blocks-rank.R)
  expect_lt(max(abs(a$hh - tcrossprod(h))) / max(tcrossprod(h)), 1e-14)
  b <- step(a$hh)
  expect_identical(b$f, a$f)
  expect_identical(b$hh, a$hh)
  # the H H' given is the one used: twice it is the step of 2 H H' in plain R
  hals_sweep <- function(wt, s, a) { # one HALS sweep per inner iteration, as hals.c
    for (it in seq_len(ctl$inner)) for (k in seq_len(r)) {
      wt[k, ] <- pmax(0, wt[k, ] + (a[k, ] - s[k, ] %*% wt) / s[k, k])
    }
    wt
  }
  expect_lt(max(abs(step(2 * a$hh)$f - hals_sweep(wt, 2 * tcrossprod(h), num))), 1e-10)
  expect_lt(max(abs(a$f - hals_sweep(wt, tcrossprod(h), num))), 1e-10)
  expect_error(step(matrix(0, 2, 2)), "internal error")
})

test_that("an HDF5Matrix of integers is read directly, giving the in-memory iterates, NA as missing", {
  skip_blocks()
  skip_if_not_installed("rhdf5")
  x <- block_counts()
  expect_true(is.integer(x))
  set.seed(5)
  mask <- matrix(runif(length(x)) < 0.1, nrow(x), ncol(x))
  xna <- x
  xna[sample(length(x), 40)] <- NA
  X <- h5_int(x)
  Xna <- h5_int(xna)
  expect_identical(DelayedArray::type(Xna), "integer")
  expect_identical(betanmf:::h5_direct(X)$type, "integer")
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  direct_only <- function(info) {
    e <- betanmf:::blocks_env
    expect_gt(e$direct_reads, 50, label = info)
    expect_identical(e$direct_reads, e$reads - e$row_reads, label = info)
  }
  for (s in solvers) {
    info <- sprintf("%s, beta = %g", s$solver, s$beta)
    for (mk in list(NULL, mask)) {
      a <- nmf(x, 3, beta = s$beta, solver = s$solver, maxit = 30, tol = 0, seed = 1, mask = mk)
      reset_reads()
      b <- nmf(X, 3, beta = s$beta, solver = s$solver, maxit = 30, tol = 0, seed = 1, mask = mk)
      expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
      expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
      expect_equal(b$trace$loss, a$trace$loss, tolerance = 1e-10, label = info)
      direct_only(info)
    }
    # NA_integer_ in the file is NA: held out with missing = "mask", as in memory
    a <- nmf(xna, 3, beta = s$beta, solver = s$solver, maxit = 30, tol = 0, seed = 1, missing = "mask")
    reset_reads()
    b <- nmf(Xna, 3, beta = s$beta, solver = s$solver, maxit = 30, tol = 0, seed = 1, missing = "mask")
    expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
    direct_only(paste(info, "with NA"))
  }
  expect_error(nmf(Xna, 3, beta = 1), "40 NA value")
  # the held-out pattern, scale and sums of the set-up pass: those of plain R
  # on the matrix with its NA (and mask) entries zero
  b <- betanmf:::prepare_data(Xna, beta = 1, mask = mask, missing = "mask")
  held <- is.na(xna) | mask
  xz <- xna
  xz[held] <- 0L
  expect_equal(b$n_obs, length(x) - sum(held))
  expect_equal(b$blocks$colsums, unname(colSums(xz)) / b$scale, tolerance = 1e-14)
  hp <- b$hold_ij
  expect_identical(sort(hp$i + 1L + nrow(x) * hp$j), which(held))
  # a block as read: the values of the file as doubles, NA where the file has NA_integer_
  B <- betanmf:::prepare_data(Xna, beta = 1, missing = "mask")$blocks
  blk <- betanmf:::dense_col_block(B, B$cvps[[2]])
  cols <- betanmf:::vp_range(B$cvps[[2]], 2)
  expect_identical(blk, unname(xna[, cols] + 0))
  expect_true(anyNA(blk))
  # 8- and 16-bit integers and big-endian ones read directly too; 64-bit and
  # unsigned 32-bit ones (not all R integers) through extract_array()
  for (type in c("H5T_STD_I16BE", "H5T_STD_U16LE", "H5T_STD_I8LE", "H5T_STD_I64LE", "H5T_STD_U32LE")) {
    Y <- h5_int(x, type)
    direct <- !(type %in% c("H5T_STD_I64LE", "H5T_STD_U32LE"))
    expect_identical(!is.null(betanmf:::h5_direct(Y)), direct, label = type)
    a <- nmf(x, 3, beta = 1, solver = "mu", maxit = 10, tol = 0, seed = 1)
    reset_reads()
    b <- nmf(Y, 3, beta = 1, solver = "mu", maxit = 10, tol = 0, seed = 1)
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = type)
    expect_identical(betanmf:::blocks_env$direct_reads > 0, direct, label = type)
  }
  # a delayed operation on integers stays on DelayedArray's path
  reset_reads()
  b <- nmf(X[, 1:20] + 1L, 3, beta = 1, solver = "mu", maxit = 10, tol = 0, seed = 1)
  expect_identical(betanmf:::blocks_env$direct_reads, 0)
  a <- nmf(x[, 1:20] + 1L, 3, beta = 1, solver = "mu", maxit = 10, tol = 0, seed = 1)
  expect_lt(rel_diff(b$h, a$h), 1e-10)
})

# x (genes x cells) as a sparse HDF5 group, as anndata and h5sparse write
# one: the file's matrix is t(x) (cells x genes), stored by its rows
# ("csr": x's CSC arrays) or by its columns ("csc": t(x)'s CSC arrays);
# `h5ad` names the group X with anndata's attributes.  Integer values
# (counts) are stored as 32-bit integers.
write_h5sparse <- function(x, layout = c("csr", "csc"), h5ad = FALSE) {
  layout <- match.arg(layout)
  path <- tempfile(fileext = if (h5ad) ".h5ad" else ".h5")
  group <- if (h5ad) "X" else "counts"
  s <- methods::as(if (layout == "csr") x else t(x), "dgCMatrix")
  vals <- if (is.integer(x)) as.integer(s@x) else s@x
  rhdf5::h5createFile(path)
  rhdf5::h5createGroup(path, group)
  rhdf5::h5write(vals, path, paste0(group, "/data"))
  rhdf5::h5write(s@i, path, paste0(group, "/indices"))
  rhdf5::h5write(s@p, path, paste0(group, "/indptr"))
  fid <- rhdf5::H5Fopen(path)
  gid <- rhdf5::H5Gopen(fid, group)
  rhdf5::h5writeAttribute(c(ncol(x), nrow(x)), gid, if (h5ad) "shape" else "h5sparse_shape")
  rhdf5::h5writeAttribute(if (h5ad) paste0(layout, "_matrix") else layout, gid,
                          if (h5ad) "encoding-type" else "h5sparse_format")
  rhdf5::H5Gclose(gid)
  rhdf5::H5Fclose(fid)
  rhdf5::h5closeAll()
  if (h5ad) h5_open(function() HDF5Array::H5ADMatrix(path)) else h5_open(function() HDF5Array::H5SparseMatrix(path, group))
}

test_that("sparse HDF5 groups stored by the fitted matrix's columns are read directly; by rows through DelayedArray", {
  skip_blocks()
  skip_if_not_installed("rhdf5")
  x <- block_counts()
  xs <- methods::as(x, "dgCMatrix")
  set.seed(8)
  mask <- matrix(runif(length(x)) < 0.1, nrow(x), ncol(x))
  old <- small_blocks(4800)
  on.exit(restore_blocks(old), add = TRUE)
  cases <- list(
    list(X = write_h5sparse(x, "csr"), seed = "CSC_H5SparseMatrixSeed", direct = TRUE),
    list(X = write_h5sparse(x + 0, "csr", h5ad = TRUE), seed = "CSC_H5ADMatrixSeed", direct = TRUE),
    list(X = write_h5sparse(x, "csc"), seed = "CSR_H5SparseMatrixSeed", direct = FALSE),
    list(X = write_h5sparse(x + 0, "csc", h5ad = TRUE), seed = "CSR_H5ADMatrixSeed", direct = FALSE)
  )
  for (k in seq_along(cases)) {
    X <- cases[[k]]$X
    direct <- cases[[k]]$direct
    # HDF5Array presents every layout as the genes x cells matrix x
    expect_identical(class(X@seed)[[1]], cases[[k]]$seed)
    expect_true(DelayedArray::is_sparse(X))
    expect_identical(unname(as.matrix(X)) + 0, unname(x + 0))
    expect_identical(!is.null(betanmf:::h5sparse_direct(X)), direct, label = k)
    if (direct) {
      # a block as read is the matrix's columns; its blocks sized by their non-zeros
      B <- betanmf:::prepare_data(X, beta = 1)$blocks
      cols <- betanmf:::vp_range(B$cvps[[2]], 2)
      blk <- betanmf:::read_one_block(X, B$cvps[[2]], TRUE)
      expect_s4_class(blk, "dgCMatrix")
      expect_identical(as.matrix(blk), unname(x[, cols] + 0))
      expect_true(all(vapply(B$cvps, function(vp) sum(xs[, betanmf:::vp_range(vp, 2)] != 0), 1) <= 400))
      # a delayed subset, transposition or operation: through DelayedArray
      expect_null(betanmf:::h5sparse_direct(X[, 1:20]))
      expect_null(betanmf:::h5sparse_direct(t(X)))
      expect_null(betanmf:::h5sparse_direct(X * 2))
    }
    for (s in solvers) {
      for (mk in list(NULL, mask)) {
        info <- sprintf("case %d, %s, beta = %g, mask = %s", k, s$solver, s$beta, !is.null(mk))
        a <- nmf(xs, 3, beta = s$beta, solver = s$solver, maxit = 20, tol = 0, seed = 1, mask = mk)
        reset_reads()
        b <- nmf(X, 3, beta = s$beta, solver = s$solver, maxit = 20, tol = 0, seed = 1, mask = mk)
        expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
        expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
        e <- betanmf:::blocks_env
        if (direct) {
          expect_gt(e$direct_reads, 20, label = info)
          expect_identical(e$direct_reads, e$reads - e$row_reads, label = info)
        } else {
          expect_identical(e$direct_reads, 0, label = info)
        }
      }
    }
  }
  # NA among the stored counts (32-bit NA_integer_) is NA, held out as in memory
  xna <- x
  xna[which(x > 0)[c(3, 50, 200)]] <- NA
  X <- write_h5sparse(xna, "csr")
  expect_identical(sum(is.na(as.matrix(X))), 3L)
  expect_error(nmf(X, 3, beta = 1, solver = "mu", maxit = 5), "3 NA value")
  for (s in solvers) {
    info <- sprintf("NA, %s, beta = %g", s$solver, s$beta)
    a <- nmf(xna, 3, beta = s$beta, solver = s$solver, maxit = 20, tol = 0, seed = 1, missing = "mask")
    reset_reads()
    b <- nmf(X, 3, beta = s$beta, solver = s$solver, maxit = 20, tol = 0, seed = 1, missing = "mask")
    expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
    expect_gt(betanmf:::blocks_env$direct_reads, 20, label = info)
  }
})

test_that("a sparse HDF5 group's 64-bit counts above the integer range are read as their values", {
  skip_blocks()
  skip_if_not_installed("rhdf5")
  x <- block_counts() + 0
  x[which(x > 0)[c(5, 90)]] <- c(3e9, 5e9) # above .Machine$integer.max
  s <- methods::as(x, "dgCMatrix")
  path <- tempfile(fileext = ".h5")
  rhdf5::h5createFile(path)
  rhdf5::h5createGroup(path, "counts")
  rhdf5::h5createDataset(path, "counts/data", dims = length(s@x), H5type = "H5T_STD_I64LE", chunk = length(s@x))
  rhdf5::h5write(s@x, path, "counts/data")
  rhdf5::h5write(s@i, path, "counts/indices")
  rhdf5::h5write(s@p, path, "counts/indptr")
  fid <- rhdf5::H5Fopen(path)
  gid <- rhdf5::H5Gopen(fid, "counts")
  rhdf5::h5writeAttribute(c(ncol(x), nrow(x)), gid, "h5sparse_shape")
  rhdf5::h5writeAttribute("csr", gid, "h5sparse_format")
  rhdf5::H5Gclose(gid)
  rhdf5::H5Fclose(fid)
  rhdf5::h5closeAll()
  X <- h5_open(function() HDF5Array::H5SparseMatrix(path, "counts"))
  expect_false(is.null(betanmf:::h5sparse_direct(X)))
  old <- small_blocks(4800)
  on.exit(restore_blocks(old), add = TRUE)
  # rhdf5's default conversion made those two counts NA: an error blaming
  # the data, or (missing = "mask") a fit without them
  a <- nmf(s, 3, beta = 1, solver = "mu", maxit = 10, tol = 0, seed = 1)
  reset_reads()
  b <- nmf(X, 3, beta = 1, solver = "mu", maxit = 10, tol = 0, seed = 1)
  expect_gt(betanmf:::blocks_env$direct_reads, 5)
  expect_lt(rel_diff(b$w, a$w), 1e-10)
  expect_lt(rel_diff(b$h, a$h), 1e-10)
})

test_that("a dense h5ad X is read directly, giving the in-memory iterates", {
  skip_blocks()
  skip_if_not_installed("rhdf5")
  x <- block_counts() + 0
  path <- tempfile(fileext = ".h5ad")
  rhdf5::h5createFile(path)
  # rhdf5 writes the R matrix (genes x cells) as the HDF5 dataset cells x
  # genes, anndata's orientation
  rhdf5::h5createDataset(path, "X", dim(x), chunk = c(nrow(x), 7L), level = 0)
  rhdf5::h5write(x, path, "X")
  rhdf5::h5closeAll()
  X <- h5_open(function() HDF5Array::H5ADMatrix(path))
  expect_s4_class(X@seed, "Dense_H5ADMatrixSeed")
  expect_identical(unname(as.matrix(X)), unname(x))
  expect_identical(betanmf:::h5_direct(X)$type, "double")
  old <- small_blocks()
  on.exit(restore_blocks(old), add = TRUE)
  for (s in solvers[1:2]) {
    info <- sprintf("%s, beta = %g", s$solver, s$beta)
    a <- nmf(x, 3, beta = s$beta, solver = s$solver, maxit = 20, tol = 0, seed = 1)
    reset_reads()
    b <- nmf(X, 3, beta = s$beta, solver = s$solver, maxit = 20, tol = 0, seed = 1)
    expect_lt(rel_diff(b$h, a$h), 1e-10, label = info)
    expect_lt(rel_diff(b$w, a$w), 1e-10, label = info)
    expect_gt(betanmf:::blocks_env$direct_reads, 20, label = info)
  }
})
