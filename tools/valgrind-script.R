# A representative, fast tour of every .Call entry point on tiny inputs, run
# under valgrind (`make valgrind`) and under AddressSanitizer/UBSan
# (`make sanitize`).  It must stay quick under valgrind (~2 minutes) and must
# error (non-zero exit) on any wrong result, so a silent miscomputation that
# the memory checkers cannot see still fails the target.
#
# Covered: dense and sparse data; beta = 0, 1, 2, 1.5 (plus 0.5 and 3); HALS (also the one-pass update),
# MU (also minimum volume) and coordinate descent; masks (dense logical and sparse pattern, including NA -> missing =
# "mask"); restarts (nrun = 2); user init; predict(); beta_divergence() with
# and without a mask; tiny and degenerate sizes (1 x 1, 1 x n, m x 1,
# rank = min(dim), empty sparse columns, explicit stored zeros); and the
# entry points of the optional modules when they exist in the package; the
# block path on a DelayedMatrix in memory and on small HDF5 files of every
# layout it reads directly (dense double, filtered and not; dense integer;
# TENx; an h5sparse group).

suppressPackageStartupMessages({
  library(betanmf)
  library(Matrix)
})
options(warn = 1)

ok <- function(cond, what) {
  if (!isTRUE(cond)) stop("valgrind-script check failed: ", what, call. = FALSE)
}
check_fit <- function(fit, what) {
  ok(all(is.finite(fit$w)) && all(fit$w >= 0), paste(what, ": W finite and >= 0"))
  ok(all(is.finite(fit$h)) && all(fit$h >= 0), paste(what, ": H finite and >= 0"))
  ok(is.finite(fit$loss) && fit$loss >= 0, paste(what, ": finite loss"))
  tr <- fit$trace$loss
  ok(all(diff(tr) <= 1e-9 * abs(tr[-length(tr)]) + 1e-300), paste(what, ": loss trace non-increasing"))
  invisible(fit)
}
quiet <- function(expr) suppressWarnings(expr)
n_fits <- 0L
fit_one <- function(x, rank, beta, solver, what, control = list(check = 2), ...) {
  fit <- quiet(nmf(x, rank, beta = beta, solver = solver, maxit = 6, tol = 0, seed = 1,
                   control = control, ...))
  n_fits <<- n_fits + 1L
  check_fit(fit, what)
}

set.seed(42)
m <- 7; n <- 5
w0 <- matrix(rexp(m * 2), m, 2)
h0 <- matrix(rexp(2 * n), 2, n)
dense <- matrix(rpois(m * n, 3 * w0 %*% h0), m, n)
dense[1, 1] <- 0                       # at least one zero
positive <- w0 %*% h0 + 0.1            # strictly positive (beta <= 0)
sparse <- as(Matrix(dense, sparse = TRUE), "CsparseMatrix")
sparse_pos <- as(Matrix(positive, sparse = TRUE), "CsparseMatrix")
held <- matrix(FALSE, m, n)
held[cbind(c(2, 5, 7), c(1, 3, 5))] <- TRUE
held_sparse <- as(Matrix(held, sparse = TRUE), "CsparseMatrix")

# the solvers over beta, dense and sparse, HALS and MU, with and without mask
for (beta in c(0, 0.5, 1, 1.5, 2, 3)) {
  xd <- if (beta <= 0) positive else dense
  xs <- if (beta <= 0) sparse_pos else sparse
  solvers <- if (beta == 2) c("hals", "mu") else if (beta == 1) c("mu", "cd") else "mu"
  for (solver in solvers) {
    for (masked in c(FALSE, TRUE)) {
      mk <- if (masked) held else NULL
      lbl <- sprintf("beta = %g, %s, mask = %s", beta, solver, masked)
      fit_one(xd, 2, beta, solver, paste("dense", lbl), mask = mk)
      fit_one(xs, 2, beta, solver, paste("sparse", lbl),
              mask = if (masked) held_sparse else NULL)
    }
  }
}

# restarts, every init, user init, threads = 2 (OpenMP paths)
fit_one(dense, 2, 1, "mu", "nrun = 2", nrun = 2)
fit_one(sparse, 2, 2, "hals", "sparse nrun = 2", nrun = 2)
for (init in c("nndsvd", "nndsvda", "nndsvdar", "random")) {
  fit_one(dense, 2, 2, "hals", paste("init", init), init = init)
}
fit_one(dense, 2, 1, "mu", "user init", init = list(w = w0, h = h0))
fit_one(dense, 2, 1, "mu", "threads = 2", threads = 2)
fit_one(sparse, 2, 2, "hals", "sparse threads = 2, mask", threads = 2, mask = held)
# a sparse matrix tall enough that the W half scatters over several row
# blocks (2048 rows each at rank <= 4), with a mask, 2 threads, and the
# NNDSVD range finder (src/range.c) on sparse and dense data; plus the thin
# products beyond the kernels' 32 columns
tall <- rsparsematrix(4500, 6, density = 0.3, rand.x = function(k) rpois(k, 3) + 1)
tall[, 6] <- 1                                  # every row observed and positive
tall_held <- matrix(FALSE, 4500, 6)
tall_held[cbind(c(1, 2049, 4500), c(1, 2, 3))] <- TRUE
for (beta in c(1, 1.5, 2)) {
  solver <- if (beta == 2) "hals" else "mu"
  fit_one(tall, 2, beta, solver, paste("tall sparse, beta", beta), init = "nndsvda", threads = 2,
          mask = tall_held)
}
fit_one(as.matrix(tall), 2, 1, "mu", "tall dense nndsvd", init = "nndsvd")
# sparse coordinate descent (the default for beta = 1): gathered columns and
# the all-positive column walked whole, 2 threads; the same fit as dense
cd_sparse <- fit_one(tall, 2, 1, "auto", "tall sparse CD", threads = 2)
ok(identical(cd_sparse$solver, "cd"), "auto picks CD on sparse beta = 1")
cd_dense <- fit_one(as.matrix(tall), 2, 1, "auto", "tall dense CD", threads = 2)
ok(identical(cd_sparse$w, cd_dense$w) && identical(cd_sparse$h, cd_dense$h), "sparse CD = dense CD")
q40 <- matrix(rnorm(6 * 40), 6, 40)
ok(isTRUE(all.equal(betanmf:::thin_mult(tall, q40[, 1:5]), as.matrix(tall %*% q40[, 1:5]))), "sparse thin product")
ok(identical(betanmf:::thin_mult(tall, q40), betanmf:::thin_mult(as.matrix(tall), q40)),
   "thin product, 40 columns: sparse = dense")
qd <- matrix(rnorm(m * 40), m, 40)
ok(isTRUE(all.equal(betanmf:::thin_crossprod(dense * 1, qd), crossprod(dense, qd))), "dense thin product, 40 columns")

# missing values as a mask
xna <- dense
xna[3, 2] <- NA
fit_one(xna, 2, 1, "mu", "NA masked", missing = "mask")
fit_one(xna, 2, 2, "hals", "NA masked HALS", missing = "mask")

# penalties
fit_one(dense, 2, 2, "hals", "l1/l2 HALS", control = list(check = 2, l1 = 0.1, l2 = c(0.2, 0)))
fit_one(dense, 2, 1.5, "mu", "l1/l2 MU", control = list(check = 2, l1 = 0.1, l2 = 0.1))

# minimum volume (issue 26): the W half stores MU's terms from each path
# (fused rank 2, blocked rank 5, the update as written on sparse data and
# with a mask), then the multipliers; the objective, not the divergence
# alone, never increases
minvol_one <- function(x, rank, beta, what, ...) {
  fit <- quiet(nmf(x, rank, beta = beta, volume = 0.1, maxit = 6, tol = 0, seed = 1,
                   init = "random", control = list(check = 1), ...))
  n_fits <<- n_fits + 1L
  ok(all(is.finite(fit$w)) && all(fit$w >= 0) && all(is.finite(fit$h)), paste(what, ": finite factors"))
  obj <- fit$trace$loss + fit$trace$penalty
  ok(all(diff(obj) <= 1e-9 * abs(obj[-length(obj)])), paste(what, ": objective non-increasing"))
}
minvol_one(positive, 2, 1, "min-vol KL fused")
minvol_one(positive, 5, 0.5, "min-vol beta 0.5 blocked")
minvol_one(positive, 2, 0, "min-vol IS")
minvol_one(sparse, 2, 2, "min-vol sparse beta 2")
minvol_one(dense, 2, 1.5, "min-vol masked", mask = held)

# tiny and degenerate shapes
fit_one(matrix(3), 1, 1, "mu", "1 x 1 MU")
fit_one(matrix(3), 1, 2, "hals", "1 x 1 HALS")
fit_one(matrix(c(1, 2, 3), 1), 1, 2, "hals", "1 x 3")
fit_one(matrix(c(1, 2, 3), 3), 1, 1.5, "mu", "3 x 1")
fit_one(dense, min(dim(dense)), 2, "hals", "rank = min(dim)")
fit_one(dense, min(dim(dense)), 0.5, "mu", "rank = min(dim) MU")
zc <- dense
zc[, 2] <- 0
zc[4, ] <- 0
fit_one(zc, 2, 2, "hals", "zero row and column")
fit_one(zc, 2, 1, "mu", "zero row and column MU")
# sparse with explicit stored zeros and an empty column
sz <- sparseMatrix(i = c(1, 2, 3, 1, 4), j = c(1, 1, 2, 4, 4), x = c(2, 0, 1, 0, 5), dims = c(4, 5))
fit_one(sz, 2, 1, "mu", "explicit zeros KL")
fit_one(sz, 2, 1.5, "mu", "explicit zeros beta 1.5")
fit_one(sz, 2, 2, "hals", "explicit zeros HALS")

# predict(): dense, sparse, HALS and MU, with row names matched by name
fit2 <- quiet(nmf(dense, 2, beta = 2, maxit = 5, seed = 1))
fit1 <- quiet(nmf(dense, 2, beta = 1, maxit = 5, seed = 1))
for (fit in list(fit1, fit2)) {
  for (nd in list(dense[, 1:3], sparse[, 2:4], dense[, 1, drop = FALSE])) {
    hp <- quiet(predict(fit, newdata = nd, maxit = 5))
    ok(all(is.finite(hp)) && all(hp >= 0) && identical(dim(hp), c(2L, ncol(nd))), "predict")
  }
}
fit0 <- quiet(nmf(positive, 2, beta = 0, maxit = 5, seed = 1))
ok(all(is.finite(quiet(predict(fit0, newdata = positive[, 1:2], maxit = 5)))), "predict beta = 0")

# beta_divergence(): every branch of the scalar divergence, masks, sparse x
y <- positive
for (beta in c(-1, 0, 0.5, 1, 1.5, 2, 3)) {
  xb <- if (beta <= 0) positive + 0.5 else dense
  ok(is.finite(beta_divergence(xb, y, beta)), sprintf("beta_divergence beta = %g", beta))
  ok(is.finite(beta_divergence(xb, y, beta, mask = held)), "beta_divergence with mask")
}
ok(is.finite(beta_divergence(sparse, y, 1)), "beta_divergence sparse x")
ok(beta_divergence(dense, dense, 2) == 0, "beta_divergence of x from itself")

# fit methods that go back to C or walk the factors
invisible(capture.output(print(fit1), summary(fit1)))
ok(is.finite(deviance(fit1)) && is.finite(AIC(fit1)), "deviance / AIC")
ok(all(is.finite(fitted(fit1))) && all(is.finite(residuals(fit1))), "fitted / residuals")

# optional modules (only when they exist in this version of the package);
# an R-level error here (an API that moved) is reported but does not fail the
# run: the memory checkers watch what C code these calls reach
ns <- asNamespace("betanmf")
has <- function(f) exists(f, envir = ns, inherits = FALSE)
extra <- character(0)
optional <- function(name, expr) {
  if (!has(name)) return(invisible())
  res <- tryCatch({ quiet(expr); "ok" }, error = function(e) conditionMessage(e))
  if (!identical(res, "ok")) message("note: ", name, "() failed at the R level: ", res)
  extra <<- c(extra, name)
}
hg <- function(...) get("hungarian", envir = ns)(...)
optional("hungarian", {
  cost <- matrix(c(4, 1, 3, 2, 0, 5, 3, 2, 2), 3)
  ok(identical(hg(cost)$assignment, c(2L, 1L, 3L)), "hungarian 3 x 3")
  hg(cost, maximize = TRUE)
  hg(cost[1:2, ])                       # more columns than rows
  hg(cost[, 1:2])                       # more rows than columns (transposed in R)
  hg(matrix(5))                         # 1 x 1
  hg(matrix(0, 4, 4))                   # all ties
  hg(matrix(runif(30), 5, 6))
})
fit_runs <- quiet(nmf(dense, 2, beta = 1, nrun = 2, maxit = 5, seed = 3))
optional("match_components", get("match_components", envir = ns)(fit1, fit_runs))
optional("consensus", get("consensus", envir = ns)(fit_runs))
optional("stability", get("stability", envir = ns)(fit_runs))
optional("cv_mask", {
  cvm <- get("cv_mask", envir = ns)(dense, fraction = 0.2, seed = 1)
  if (is.matrix(cvm)) fit_one(dense, 2, 1, "mu", "cv_mask", mask = cvm)
})
optional("nmf_rank", get("nmf_rank", envir = ns)(dense, ranks = 1:2, beta = 1, folds = 2, nrun = 1, seed = 1,
                                                  maxit = 5))
optional("fit_signatures", get("fit_signatures", envir = ns)(dense[, 1:3], fit1$w, beta = 1, bootstrap = 2,
                                                              seed = 1, maxit = 5))
# convolutive NMF (src/conv.c): dense and sparse, beta 1, 2 and 0.5, a mask
# and an empty time bin, the x-ortho penalty and L1, threads = 2, restarts,
# lags = 1 and lags = n, predict() and conv_transpose()
optional("nmf_conv", {
  nc <- get("nmf_conv", envir = ns)
  xc <- matrix(rpois(6 * 30, 1), 6, 30)
  xc[, 9] <- 0
  heldc <- matrix(FALSE, 6, 30)
  heldc[cbind(c(1, 4, 6), c(2, 15, 30))] <- TRUE
  for (xx in list(xc, Matrix(xc, sparse = TRUE))) for (beta in c(1, 2, 0.5)) {
    fc <- nc(xx, 2, 4, beta = beta, lambda = 0.01, l1h = 0.1, mask = heldc, seed = 1, maxit = 5, tol = 0,
             threads = 2)
    check_fit(fc, sprintf("nmf_conv beta %g", beta))
    ok(all(is.finite(predict(fc, xx, maxit = 3))), "nmf_conv predict")
  }
  check_fit(nc(xc, 2, 1, seed = 1, maxit = 3, tol = 0, nrun = 2), "nmf_conv lags = 1, restarts")
  check_fit(nc(xc[, 1:5], 1, 5, seed = 1, maxit = 3, tol = 0), "nmf_conv lags = n")
  ok(all(is.finite(get("conv_transpose", envir = ns)(fc$w, xc))), "conv_transpose")
})

# the one-pass dense HALS update (src/hals.c; taken from 2^20 entries,
# BETANMF_FUSE=1 forces it): 9 x 40 is three blocks of 16 columns in three
# partial sums; ranks 3 and 5 (padding), threads = 2, a mask, predict()
Sys.setenv(BETANMF_FUSE = "1")
wide <- matrix(rpois(9 * 40, 3), 9, 40)
held_wide <- matrix(FALSE, 9, 40)
held_wide[cbind(c(2, 5, 7, 9), c(1, 17, 33, 40))] <- TRUE
fit_one(wide, 3, 2, "hals", "one-pass HALS")
fit_one(wide, 5, 2, "hals", "one-pass HALS, rank 5, threads = 2", threads = 2)
fit_one(wide, 3, 2, "hals", "one-pass HALS, mask", mask = held_wide)
fw <- quiet(nmf(wide, 3, beta = 2, solver = "hals", maxit = 4, tol = 0, seed = 1))
ok(all(is.finite(predict(fw, wide))), "one-pass HALS predict")
Sys.unsetenv("BETANMF_FUSE")

# the baseline build of every kernel (what CPUs without AVX2 and other
# architectures run; betanmf:::simd_baseline): dense and sparse, HALS, MU
# (fused and blocked), CD, the one-pass HALS, the NNDSVD start
old_simd <- get("simd_baseline", envir = ns)(TRUE)
tall <- matrix(rpois(37 * 6, 3), 37, 6)
for (beta in c(0, 1, 1.5)) fit_one(if (beta == 0) positive else dense, 2, beta, "mu", sprintf("baseline MU beta %g", beta))
fit_one(tall, 3, 1, "mu", "baseline fused MU, 37 rows")
fit_one(tall, 5, 1, "mu", "baseline blocked MU, rank 5")
fit_one(dense, 2, 1, "cd", "baseline CD")
fit_one(dense, 2, 2, "hals", "baseline HALS")
fit_one(sparse, 2, 1, "mu", "baseline sparse MU")
fit_one(sparse, 2, 2, "hals", "baseline sparse HALS")
Sys.setenv(BETANMF_FUSE = "1")
fit_one(wide, 3, 2, "hals", "baseline one-pass HALS")
Sys.unsetenv("BETANMF_FUSE")
fb <- quiet(nmf(tall, 2, beta = 1, init = "nndsvda", maxit = 3, tol = 0, seed = 2))
ok(all(is.finite(fb$w)), "baseline NNDSVD start")
get("simd_baseline", envir = ns)(old_simd)

# the block path (R/blocks.R, src/blocks.c: C_block_half, C_orth) on a
# DelayedMatrix over an in-memory matrix, several blocks each way: every
# solver, dense and sparse, a mask, predict(); against the fit in memory
if (requireNamespace("DelayedArray", quietly = TRUE)) {
  old_block <- DelayedArray::getAutoBlockSize()
  suppressMessages(DelayedArray::setAutoBlockSize(8 * 60))
  xb <- matrix(rpois(20 * 15, 3) + 0, 20, 15)
  held_b <- matrix(FALSE, 20, 15)
  held_b[cbind(c(1, 4, 9, 20), c(2, 7, 7, 15))] <- TRUE
  for (cfg in list(c(2, 1), c(1, 2), c(0.5, 2), c(1, 3))) {
    solver <- c("hals", "mu", "cd")[cfg[2]]
    for (sp in c(FALSE, TRUE)) {
      xin <- if (sp) methods::as(xb, "dgCMatrix") else xb
      a <- quiet(nmf(xin, 3, beta = cfg[1], solver = solver, maxit = 4, tol = 0, seed = 1, mask = held_b))
      b <- check_fit(quiet(nmf(DelayedArray::DelayedArray(xin), 3, beta = cfg[1], solver = solver, maxit = 4,
                               tol = 0, seed = 1, mask = held_b)), sprintf("blocks %s beta %g", solver, cfg[1]))
      ok(max(abs(b$h - a$h)) <= 1e-10 * max(a$h), sprintf("blocks %s beta %g sparse %s: in-memory iterates",
                                                          solver, cfg[1], sp))
      n_fits <- n_fits + 1L
    }
  }
  ok(all(is.finite(predict(b, DelayedArray::DelayedArray(xb)))), "blocks predict")
  extra <- c(extra, "the block path")
  # the files the block path reads directly (R/blocks.R): a dense dataset
  # by H5Dread into the fit's buffer (h5_read_into), filtered as HDF5Array
  # writes it (C_block_heap_keep) and unfiltered as rhdf5 writes it; an
  # integer one through its integer buffer (C_block_prepare's conversion,
  # an NA held out); sparse ones from their CSC arrays (h5sparse_read_cols):
  # a TENx file and an h5sparse group stored by rows (HDF5Array's
  # CSC_H5SparseMatrixSeed).  Each fitted for 3 iterations with HALS and MU
  # (and CD for the sparse ones) against the same fit in memory.
  if (requireNamespace("HDF5Array", quietly = TRUE) && requireNamespace("rhdf5", quietly = TRUE)) {
    # h5_open(): HDF5Array's constructors worked around where this rhdf5
    # makes them fail (the tests' helper, from the package's root)
    source(file.path("tests", "testthat", "helper-h5.R"), local = TRUE)
    h5dir <- tempfile("vg-h5-")
    dir.create(h5dir)
    h5f <- function(name) file.path(h5dir, name)
    xi <- matrix(as.integer(xb), nrow(xb), ncol(xb))
    xi[3, 4] <- NA
    nofilter <- h5f("nofilter.h5")
    rhdf5::h5createFile(nofilter)
    rhdf5::h5createDataset(nofilter, "x", dim(xb), chunk = c(nrow(xb), 4L), filter = "NONE", shuffle = FALSE)
    rhdf5::h5write(xb, nofilter, "x")
    xs_b <- methods::as(xb, "dgCMatrix")
    csr <- h5f("csr.h5")
    rhdf5::h5createFile(csr)
    rhdf5::h5createGroup(csr, "m")
    rhdf5::h5write(as.integer(xs_b@x), csr, "m/data")
    rhdf5::h5write(xs_b@i, csr, "m/indices")
    rhdf5::h5write(xs_b@p, csr, "m/indptr")
    fid <- rhdf5::H5Fopen(csr)
    gid <- rhdf5::H5Gopen(fid, "m")
    rhdf5::h5writeAttribute(rev(dim(xb)), gid, "h5sparse_shape")
    rhdf5::h5writeAttribute("csr", gid, "h5sparse_format")
    rhdf5::H5Gclose(gid)
    rhdf5::H5Fclose(fid)
    rhdf5::h5closeAll()
    # (it writes the file, then may fail opening it, as h5_open() says)
    try(suppressWarnings(suppressMessages(HDF5Array::writeTENxMatrix(xs_b, h5f("tenx.h5"), group = "m"))),
        silent = TRUE)
    files <- list(
      filtered = list(X = HDF5Array::writeHDF5Array(xb, h5f("filtered.h5"), "x", chunkdim = c(20L, 4L)), x = xb),
      nofilter = list(X = h5_open(function() HDF5Array::HDF5Array(nofilter, "x")), x = xb),
      integer = list(X = HDF5Array::writeHDF5Array(xi, h5f("integer.h5"), "x", chunkdim = c(20L, 4L)), x = xi),
      tenx = list(X = h5_open(function() HDF5Array::TENxMatrix(h5f("tenx.h5"), "m")), x = xs_b),
      h5sparse = list(X = h5_open(function() HDF5Array::H5SparseMatrix(csr, "m")), x = xs_b)
    )
    ns_env <- get("blocks_env", envir = ns)
    for (nm in names(files)) {
      X <- files[[nm]]$X
      x_mem <- files[[nm]]$x
      sparse_file <- nm %in% c("tenx", "h5sparse")
      for (cfg in list(c(2, 1), c(1, 2), c(1, 3))) {
        solver <- c("hals", "mu", "cd")[cfg[2]]
        if (solver == "cd" && !sparse_file) next
        a <- quiet(nmf(x_mem, 3, beta = cfg[1], solver = solver, maxit = 3, tol = 0, seed = 1, missing = "mask"))
        ns_env$direct_reads <- 0
        b <- check_fit(quiet(nmf(X, 3, beta = cfg[1], solver = solver, maxit = 3, tol = 0, seed = 1,
                                 missing = "mask")), sprintf("%s file, %s", nm, solver))
        ok(ns_env$direct_reads > 0, sprintf("%s file, %s: read directly", nm, solver))
        ok(max(abs(b$h - a$h)) <= 1e-10 * max(a$h), sprintf("%s file, %s: in-memory iterates", nm, solver))
        n_fits <- n_fits + 1L
      }
    }
    rhdf5::h5closeAll()
    unlink(h5dir, recursive = TRUE)
    extra <- c(extra, "HDF5 files read directly")
  }
  suppressMessages(DelayedArray::setAutoBlockSize(old_block))
}

cat(sprintf("valgrind-script: %d fits and all checks passed%s\n", n_fits,
            if (length(extra)) paste0("; also ran ", paste(extra, collapse = ", ")) else ""))
