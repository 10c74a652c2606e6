# Hostile inputs (issue 7): awkward but legal data must give finite,
# non-negative factors, a finite loss and a non-increasing loss trace; illegal
# input must stop with an R error that names the argument at fault.

# ---- a seeded generator of awkward but legal inputs ------------------------

hostile_kinds <- c("1x1", "1xn", "mx1", "generic", "zero_row", "zero_col", "tiny", "huge",
                   "counts", "dup_cols", "low_rank", "sparse_zeros", "sparse_empty_col")

# A list(x, kind, positive): x dense or dgCMatrix, positive = no zero entries.
hostile_case <- function(kind) {
  m <- sample(2:7, 1)
  n <- sample(2:7, 1)
  pos <- function(a, b) matrix(stats::rexp(a * b) + 0.05, a, b)
  x <- switch(kind,
    "1x1" = matrix(stats::rexp(1) + 0.1, 1, 1),
    "1xn" = pos(1, n),
    "mx1" = pos(m, 1),
    "generic" = pos(m, n),
    "zero_row" = { a <- pos(m, n); a[sample.int(m, 1), ] <- 0; a },
    "zero_col" = { a <- pos(m, n); a[, sample.int(n, 1)] <- 0; a },
    "tiny" = pos(m, n) * 1e-300,
    "huge" = pos(m, n) * 1e300,
    "counts" = matrix(round(stats::rexp(m * n) * 1e9) + 1, m, n),
    "dup_cols" = { a <- pos(m, max(1, n %/% 2)); a[, c(seq_len(ncol(a)), 1), drop = FALSE] },
    "low_rank" = { k <- sample.int(min(m, n), 1); pos(m, k) %*% pos(k, n) },
    "sparse_zeros" = {
      # explicit stored zeros next to true non-zeros
      nz <- m * n %/% 2 + 1
      Matrix::sparseMatrix(i = sample.int(m, nz, TRUE), j = sample.int(n, nz, TRUE),
                           x = ifelse(stats::runif(nz) < 0.3, 0, stats::rpois(nz, 4) + 1),
                           dims = c(m, n), repr = "C")
    },
    "sparse_empty_col" = {
      a <- Matrix::Matrix(pos(m, n) * (stats::runif(m * n) < 0.6), sparse = TRUE)
      a[, sample.int(n, 1)] <- 0
      a <- methods::as(a, "CsparseMatrix")
      a[1, 1] <- a[1, 1] + 1 # something positive, whatever the draw
      a
    })
  vals <- if (inherits(x, "sparseMatrix")) as.matrix(x) else x
  list(x = x, kind = kind, positive = all(vals > 0))
}

# the divergence of x from its mean: the natural scale of the loss, used for
# an absolute rounding floor when the fit is (nearly) exact and the trace
# sits at 1e-16 of the data's size
loss_scale <- function(x, beta) {
  xd <- as.matrix(x)
  beta_divergence(xd, matrix(mean(xd), nrow(xd), ncol(xd)), if (beta <= 0) 1 else beta)
}

check_hostile_fit <- function(fit, x, beta, label) {
  bad <- character(0)
  if (!(all(is.finite(fit$w)) && all(fit$w >= 0))) bad <- c(bad, "W not finite non-negative")
  if (!(all(is.finite(fit$h)) && all(fit$h >= 0))) bad <- c(bad, "H not finite non-negative")
  tr <- fit$trace$loss
  if (anyNA(tr) || anyNA(fit$loss) || fit$loss < 0) bad <- c(bad, "NaN or negative loss")
  if (all(is.finite(tr))) {
    if (!is.finite(fit$loss)) bad <- c(bad, "loss not finite")
    prev <- tr[-length(tr)]
    floor <- 1e-12 * loss_scale(x, beta)
    if (!all(diff(tr) <= 1e-9 * abs(prev) + floor)) bad <- c(bad, "loss trace increases")
  } else if (!all(tr == Inf)) {
    # only in the user's units, when loss * scale^beta overflows (data ~ 1e300, beta > 1)
    bad <- c(bad, "trace partly infinite")
  }
  if (length(bad)) paste0(label, ": ", paste(bad, collapse = ", ")) else character(0)
}

test_that("hundreds of awkward but legal inputs give finite factors and a monotone loss", {
  set.seed(20261124)
  failures <- character(0)
  n_cases <- 0L
  betas <- c(0, 0.5, 1, 1.5, 2, 3)
  for (case in seq_len(360)) {
    kind <- hostile_kinds[(case - 1) %% length(hostile_kinds) + 1]
    hc <- hostile_case(kind)
    beta <- sample(if (hc$positive) betas else betas[betas > 0], 1)
    solver <- if (beta == 2 && stats::runif(1) < 0.6) "hals" else if (beta == 1 && case %% 2 == 0) "cd" else "mu"
    x <- hc$x
    sparse_in <- inherits(x, "sparseMatrix")
    if (!sparse_in && stats::runif(1) < 0.3) x <- methods::as(Matrix::Matrix(x, sparse = TRUE), "CsparseMatrix")
    top <- min(dim(x))
    rank <- switch(sample.int(3, 1), 1L, top, sample.int(top, 1))
    mask <- NULL
    if (all(dim(x) >= 2) && stats::runif(1) < 0.2) {
      mask <- matrix(FALSE, nrow(x), ncol(x))
      mask[sample.int(nrow(x), 1), sample.int(ncol(x), 1)] <- TRUE
      # the mask must not hide the only positive entry
      if (sum(as.matrix(x)[!mask]) <= 0) mask <- NULL
    }
    label <- sprintf("case %d (%s, %d x %d, %s, rank %d, beta %g, %s%s)", case, kind, nrow(x), ncol(x),
                     if (inherits(x, "sparseMatrix")) "sparse" else "dense", rank, beta, solver,
                     if (is.null(mask)) "" else ", masked")
    fit <- tryCatch(suppressWarnings(nmf(x, rank, beta = beta, solver = solver, maxit = 30, tol = 0,
                                         seed = case, mask = mask, control = list(check = 3))),
                    error = function(e) e)
    n_cases <- n_cases + 1L
    if (inherits(fit, "error")) {
      failures <- c(failures, paste0(label, ": error ", conditionMessage(fit)))
      next
    }
    failures <- c(failures, check_hostile_fit(fit, x, beta, label))
    if (case %% 30 == 0) {
      # results do not depend on the number of threads, bit for bit
      fit2 <- suppressWarnings(nmf(x, rank, beta = beta, solver = solver, maxit = 30, tol = 0, seed = case,
                                   mask = mask, control = list(check = 3), threads = 2))
      if (!identical(fit2[c("w", "h", "trace")], fit[c("w", "h", "trace")])) {
        failures <- c(failures, paste0(label, ": threads = 2 differs from threads = 1"))
      }
    }
  }
  expect_identical(failures, character(0))
  expect_gte(n_cases, 360L)
})

test_that("every solver and beta survives each awkward kind (exhaustive small grid)", {
  set.seed(7)
  failures <- character(0)
  for (kind in hostile_kinds) {
    hc <- hostile_case(kind)
    for (beta in c(0, 0.5, 1, 1.5, 2, 3)) {
      if (beta <= 0 && !hc$positive) next
      for (solver in if (beta == 2) c("hals", "mu") else if (beta == 1) c("mu", "cd") else "mu") {
        label <- sprintf("%s beta %g %s", kind, beta, solver)
        fit <- tryCatch(suppressWarnings(nmf(hc$x, min(dim(hc$x)), beta = beta, solver = solver,
                                             maxit = 20, tol = 0, seed = 1)),
                        error = function(e) e)
        failures <- c(failures, if (inherits(fit, "error")) paste(label, conditionMessage(fit))
                                else check_hostile_fit(fit, hc$x, beta, label))
      }
    }
  }
  expect_identical(failures, character(0))
})

test_that("explicit stored zeros and empty columns of a dgCMatrix fit like the dense matrix", {
  x <- Matrix::sparseMatrix(i = c(1, 2, 3, 1, 4, 2), j = c(1, 1, 2, 4, 4, 5), x = c(2, 0, 1, 0, 5, 3),
                            dims = c(4, 5), repr = "C")
  expect_true(any(x@x == 0))          # stored zeros really are stored
  expect_true(any(diff(x@p) == 0))    # column 3 is empty
  for (beta in c(0.5, 1, 1.5, 2)) {
    fs <- suppressWarnings(nmf(x, 2, beta = beta, solver = "mu", maxit = 15, tol = 0, seed = 3))
    fd <- suppressWarnings(nmf(as.matrix(x), 2, beta = beta, solver = "mu", maxit = 15, tol = 0, seed = 3))
    expect_equal(fitted(fs), fitted(fd), tolerance = 1e-8, ignore_attr = TRUE)
    expect_equal(fs$loss, fd$loss, tolerance = 1e-8)
  }
})

test_that("magnitudes 1e-300 and 1e300 give the unit-scale fit times the magnitude", {
  set.seed(5)
  x0 <- matrix(stats::rexp(30) + 0.1, 5, 6)
  for (beta in c(0, 1, 1.5, 2)) {
    for (mag in c(1e-300, 1e300)) {
      # init = "random" scales with the data; NNDSVDa's fill value does not
      # (it fills with mean(x) where the factors scale as sqrt(x))
      f0 <- suppressWarnings(nmf(x0, 2, beta = beta, solver = "mu", maxit = 20, tol = 0, seed = 2,
                                 init = "random"))
      f1 <- suppressWarnings(nmf(x0 * mag, 2, beta = beta, solver = "mu", maxit = 20, tol = 0, seed = 2,
                                 init = "random"))
      expect_equal(fitted(f1) / mag, fitted(f0), tolerance = 1e-6, ignore_attr = TRUE,
                   label = sprintf("beta %g, magnitude %g", beta, mag))
      expect_equal(f1$w, f0$w, tolerance = 1e-6)
      # the loss in the user's units is mag^beta times the unit-scale loss:
      # representable unless that overflows (1e300^2 does)
      expect_false(is.nan(f1$loss))
      if (is.finite(f0$loss * mag^beta) && f0$loss * mag^beta > 1e-290) {
        expect_equal(f1$loss, f0$loss * mag^beta, tolerance = 1e-6)
      }
    }
  }
})

test_that("finite entries whose sum overflows a double still fit", {
  # 100 entries ~1e307: sum(x) is Inf, the internal scale must not be
  set.seed(15)
  x <- matrix(stats::rexp(100) + 0.5, 10, 10) * 1e307
  expect_true(is.infinite(sum(x)) && all(is.finite(x)))
  for (beta in c(0.5, 1, 2)) {
    fit <- suppressWarnings(nmf(x, 2, beta = beta, maxit = 10, tol = 0, seed = 1))
    expect_true(all(is.finite(fit$w)) && all(fit$w >= 0), label = sprintf("W, beta %g", beta))
    expect_true(all(is.finite(fit$h)) && all(fit$h >= 0), label = sprintf("H, beta %g", beta))
    expect_gt(max(fit$h), 1e306)
    expect_false(is.nan(fit$loss))
    expect_equal(predict(fit, newdata = x[, 1:3], maxit = 50) / 1e307,
                 suppressWarnings(predict(fit, newdata = x[, 1:3] / 1e307, maxit = 50)), tolerance = 1e-6)
  }
})

test_that("large integer-valued counts keep the KL fit exact in shape", {
  set.seed(9)
  w <- matrix(stats::rexp(12), 6, 2)
  h <- matrix(stats::rexp(10), 2, 5)
  x <- round(w %*% h * 1e9)
  fit <- suppressWarnings(nmf(x, 2, beta = 1, maxit = 500, tol = 1e-12, seed = 1))
  expect_true(all(is.finite(fit$w)) && all(is.finite(fit$h)))
  expect_lt(max(abs(fitted(fit) - x) / x), 1e-3)
})

# ---- numerical safety (issue 7, item 5) --------------------------------------

test_that("extreme beta on data with a dynamic range of 1e12 stays finite", {
  set.seed(12)
  m <- 8
  n <- 7
  x <- matrix(10^stats::runif(m * n, -6, 6), m, n)
  x[1, 1] <- 1e-6
  x[m, n] <- 1e6 # the full 1e12 range
  for (beta in c(-1, 0, 3, 10)) {
    for (sparse in c(FALSE, TRUE)) {
      xx <- if (sparse) methods::as(Matrix::Matrix(x, sparse = TRUE), "CsparseMatrix") else x
      fit <- suppressWarnings(nmf(xx, 3, beta = beta, maxit = 40, tol = 0, seed = 1,
                                  control = list(check = 1)))
      lbl <- sprintf("beta = %g, sparse = %s", beta, sparse)
      expect_true(all(is.finite(fit$w)) && all(fit$w >= 0), label = paste(lbl, "W"))
      expect_true(all(is.finite(fit$h)) && all(fit$h >= 0), label = paste(lbl, "H"))
      expect_true(all(is.finite(fit$trace$loss)), label = paste(lbl, "trace"))
      expect_true(is.finite(fit$loss) && fit$loss >= 0, label = paste(lbl, "loss"))
      tr <- fit$trace$loss
      expect_true(all(diff(tr) <= 1e-9 * abs(tr[-length(tr)])), label = paste(lbl, "monotone"))
    }
  }
})

test_that("a fit that hits maxit says so: converged = FALSE and a warning naming maxit", {
  set.seed(4)
  x <- matrix(stats::rexp(60), 10, 6)
  for (beta in c(1, 2)) {
    expect_warning(fit <- nmf(x, 3, beta = beta, maxit = 3, tol = 1e-12, seed = 1), "maxit = 3")
    expect_false(fit$converged)
    expect_identical(fit$iterations, 3L)
  }
  expect_warning(fit <- nmf(x, 3, nrun = 2, maxit = 2, tol = 1e-12, seed = 1), "2 of 2 runs reached maxit")
  expect_false(fit$converged)
})

test_that("huge maxit does not allocate by maxit and converges normally", {
  set.seed(4)
  x <- matrix(stats::rexp(60), 10, 6)
  fit <- expect_silent(nmf(x, 2, beta = 1, maxit = .Machine$integer.max, tol = 1e-4, seed = 1))
  expect_true(fit$converged)
  expect_lt(fit$iterations, 10000L)
  # a trace longer than the first buffer (1024 checks) grows correctly
  # (MU on noisy data keeps decreasing: tol = 0 stops only at maxit)
  x <- matrix(stats::rexp(600), 30, 20)
  fit <- suppressWarnings(nmf(x, 4, beta = 1, solver = "mu", maxit = 2500, tol = 0, seed = 1,
                              control = list(check = 1)))
  expect_identical(nrow(fit$trace), 2501L)
  expect_identical(fit$trace$iteration, 0:2500)
  expect_true(all(diff(fit$trace$loss) <= 0))
})

test_that("memory does not grow with the number of iterations", {
  # the kernels' scratch (R_alloc) is released every iteration, not only when
  # .Call returns; before that, 400 iterations here held ~400 MB.  Released
  # scratch still counts as used until the next garbage collection, so the
  # peak may rise by up to a GC trigger's worth, but not with maxit.
  set.seed(6)
  x <- matrix(stats::rexp(2000 * 30), 2000, 30)
  xs <- methods::as(Matrix::Matrix(x * (x > 1), sparse = TRUE), "CsparseMatrix")
  peak <- function(expr) {
    invisible(gc(reset = TRUE))
    force(expr)
    gc()[2, 6] # Vcells "max used", MB: R_alloc memory is counted here
  }
  for (case in list(list(x, 1, "mu"), list(x, 2, "hals"), list(xs, 1, "mu"))) {
    run <- function(maxit) suppressWarnings(nmf(case[[1]], 4, beta = case[[2]], solver = case[[3]],
                                                maxit = maxit, tol = 0, seed = 1, init = "random"))
    short <- peak(run(20))
    long <- peak(run(400))
    expect_lt(long - short, 100, label = sprintf("extra MB after 400 iterations (beta %g, %s, %s)", case[[2]],
                                                 case[[3]], class(case[[1]])[1]))
  }
})

# ---- illegal input: an R error naming the argument -------------------------

test_that("illegal data are refused with an error naming 'x'", {
  x <- matrix(1:12 + 0, 3, 4)
  with_value <- function(v) { y <- x; y[2, 3] <- v; y }
  expect_error(nmf(-x, 2), "'x' contains 12 negative")
  expect_error(nmf(with_value(-1e-300), 2), "'x' contains 1 negative")
  expect_error(nmf(with_value(NA), 2), "'x' contains 1 NA")
  expect_error(nmf(with_value(NaN), 2), "'x' contains 1 NaN")
  expect_error(nmf(with_value(Inf), 2), "'x' contains 1 infinite")
  expect_error(nmf(with_value(-Inf), 2), "'x' contains 1 infinite")
  xs <- methods::as(Matrix::Matrix(x, sparse = TRUE), "CsparseMatrix")
  xs@x[3] <- NaN
  expect_error(nmf(xs, 2), "'x' contains 1 NaN")
  xs@x[3] <- -2
  expect_error(nmf(xs, 2), "'x' contains 1 negative")
  expect_error(nmf(matrix(letters[1:12], 3), 2), "'x' must be numeric, not character")
  expect_error(nmf(matrix(TRUE, 3, 3), 1), "'x' must be numeric, not logical")
  expect_error(nmf(matrix(1i, 3, 3), 1), "'x' must be numeric, not complex")
  expect_error(nmf(data.frame(a = 1:3, b = factor(c("u", "v", "w"))), 1),
               "'x' is a data frame with non-numeric column\\(s\\): b")
  expect_error(nmf(data.frame(a = 1:3, b = c("u", "v", "w")), 1), "'x' is a data frame")
  expect_error(nmf(list(1, 2), 1), "'x' must be a numeric matrix")
  expect_error(nmf(1:5, 1), "'x' must be a numeric matrix")
  expect_error(nmf(matrix(numeric(0), 0, 3), 1), "'x' has 0 rows and 3 columns")
  expect_error(nmf(matrix(numeric(0), 3, 0), 1), "'x' has 3 rows and 0 columns")
  expect_error(nmf(matrix(0, 3, 4), 1), "'x' has no positive observed entry")
  expect_error(nmf(Matrix::Matrix(0, 3, 4, sparse = TRUE), 1), "'x' has no positive observed entry")
  expect_error(nmf(with_value(0), 2, beta = 0), "'x' has 1 zero entries.*beta = 0")
  expect_error(nmf(with_value(0), 2, beta = -1), "'x' has 1 zero entries.*beta = -1")
  expect_error(nmf(xs * 0 + Matrix::Diagonal(3, 1)[, c(1:3, 1)], 2, beta = 0), "'x' has 8 zero entries")
})

test_that("illegal rank, beta and control arguments are refused by name", {
  x <- matrix(1:12 + 0, 3, 4)
  for (r in list(0, -1, 1.5, 4, NA, NaN, Inf, "2", c(1, 2), NULL)) {
    expect_error(nmf(x, r), "'rank' must be a single whole number between 1 and min\\(dim\\(x\\)\\) = 3",
                 label = deparse(r))
  }
  for (b in list(NA, NaN, Inf, -Inf, "1", c(1, 2), NULL, TRUE)) {
    expect_error(nmf(x, 2, beta = b), "'beta' must be a single finite number", label = deparse(b))
  }
  expect_error(nmf(x, 2, seed = NA), "'seed'")
  expect_error(nmf(x, 2, seed = 1.5), "'seed'")
  expect_error(nmf(x, 2, seed = "a"), "'seed'")
  for (th in list(-1, 0, NA, 1.5, Inf, 1e10, "2")) {
    expect_error(nmf(x, 2, threads = th), "'threads'", label = deparse(th))
  }
  expect_error(nmf(x, 2, nrun = 0), "'nrun'")
  expect_error(nmf(x, 2, nrun = NA), "'nrun'")
  expect_error(nmf(x, 2, maxit = 0), "'maxit'")
  expect_error(nmf(x, 2, maxit = -5), "'maxit'")
  expect_error(nmf(x, 2, maxit = 2.5), "'maxit'")
  expect_error(nmf(x, 2, maxit = 1e10), "'maxit'")
  expect_error(nmf(x, 2, tol = NA), "'tol'")
  expect_error(nmf(x, 2, tol = -1), "'tol'")
  expect_error(nmf(x, 2, verbose = NA), "'verbose'")
  expect_error(nmf(x, 2, init = "svd"), "'init'")
  expect_error(nmf(x, 2, solver = "hals", beta = 1), "solver = \"hals\"")
  expect_error(nmf(x, 2, control = list(check = 0)), "'control\\$check'")
  expect_error(nmf(x, 2, control = list(check = 1e10)), "'control\\$check'")
  expect_error(nmf(x, 2, control = list(inner = NA)), "'control\\$inner'")
  expect_error(nmf(x, 2, control = list(l1 = -1)), "'control\\$l1'")
  expect_error(nmf(x, 2, control = list(l2 = NA)), "'control\\$l2'")
  expect_error(nmf(x, 2, control = list(bogus = 1)), "unknown 'control' entry: bogus")
})

test_that("illegal init matrices and masks are refused by name", {
  x <- matrix(1:12 + 0, 3, 4)
  w <- matrix(1, 3, 2)
  h <- matrix(1, 2, 4)
  expect_error(nmf(x, 2, init = list(w = matrix(1, 3, 3), h = h)), "'init\\$w' must be a numeric 3 x 2")
  expect_error(nmf(x, 2, init = list(w = t(w), h = h)), "'init\\$w' must be a numeric 3 x 2")
  expect_error(nmf(x, 2, init = list(w = w, h = matrix(1, 2, 5))), "'init\\$h' must be a numeric 2 x 4")
  expect_error(nmf(x, 2, init = list(w = w, h = 1:8)), "'init\\$h'")
  expect_error(nmf(x, 2, init = list(w = -w, h = h)), "'init\\$w' and 'init\\$h' must be non-negative")
  expect_error(nmf(x, 2, init = list(w = w, h = h * NA)), "'init\\$w' and 'init\\$h' must be finite")
  expect_error(nmf(x, 2, init = list(w = w, h = h * Inf)), "'init\\$w' and 'init\\$h' must be finite")
  expect_error(nmf(x, 2, init = list(w = w)), "'init'")
  expect_error(nmf(x, 2, mask = matrix(FALSE, 4, 3)), "'mask' must be a logical matrix with the dimensions of x")
  expect_error(nmf(x, 2, mask = rep(FALSE, 12)), "'mask' must be a logical matrix")
  expect_error(nmf(x, 2, mask = matrix(0, 3, 4)), "'mask' must be logical \\(TRUE = held out\\), not double")
  expect_error(nmf(x, 2, mask = matrix("a", 3, 4)), "'mask' must be logical")
  expect_error(nmf(x, 2, mask = matrix(NA, 3, 4)), "'mask' contains NA")
  expect_error(nmf(x, 2, mask = Matrix::Matrix(FALSE, 2, 4, sparse = TRUE)), "'mask' must have the dimensions of x")
  expect_error(nmf(x, 2, mask = Matrix::Matrix(0, 3, 4, sparse = TRUE)), "'mask' must be logical")
  expect_error(nmf(x, 2, mask = matrix(TRUE, 3, 4)), "'x' has no observed entry: every entry is NA or masked")
  full_row <- matrix(FALSE, 3, 4)
  full_row[2, ] <- TRUE
  # a row with nothing observed is left out of the fit (NA in W), with a warning
  expect_warning(nmf(x, 2, mask = full_row), "'x' has 1 row \\(2\\) with no observed entry")
})

test_that("predict() and beta_divergence() refuse illegal input by name", {
  x <- matrix(1:12 + 0, 3, 4)
  fit <- suppressWarnings(nmf(x, 2, maxit = 3, seed = 1))
  expect_error(predict(fit), "'newdata' is required")
  expect_error(predict(fit, newdata = -x), "'newdata' contains 12 negative")
  expect_error(predict(fit, newdata = x[1:2, ]), "'newdata' must have 3 rows")
  expect_error(predict(fit, newdata = x * NA), "'newdata' contains 12 NA")
  expect_error(predict(fit, newdata = matrix("a", 3, 2)), "'newdata' must be numeric")
  expect_error(predict(fit, newdata = x, maxit = 0), "'maxit'")
  expect_error(predict(fit, newdata = x, threads = 0), "'threads'")
  expect_error(beta_divergence(x, x, NA), "'beta'")
  expect_error(beta_divergence(x, x, "2"), "'beta'")
  expect_error(beta_divergence(x, -x, 1), "'x' and 'y' must be non-negative")
  expect_error(beta_divergence(x, x[, 1:2], 1), "'x' and 'y' must have the same dimensions")
  expect_error(beta_divergence(x, x, 1, mask = matrix(NA, 3, 4)), "'mask' contains NA")
  expect_error(beta_divergence(x, x, 1, mask = matrix(1, 3, 4)), "'mask' must be a logical matrix")
  expect_error(beta_divergence(matrix("a", 3, 4), x, 2), "'x' and 'y' must be numeric")
})

# ---- dimensions beyond 2^31 cells (issue 7, item 6) ------------------------

test_that("a 70000 x 40000 dgCMatrix (2.8e9 cells) fits without forming m x n", {
  skip_on_cran()
  set.seed(31)
  m <- 70000L
  n <- 40000L
  nnz <- 400L
  x <- Matrix::sparseMatrix(i = sample.int(m, nnz, TRUE), j = sample.int(n, nnz, TRUE),
                            x = stats::rpois(nnz, 5) + 1, dims = c(m, n))
  expect_gt(prod(as.numeric(dim(x))), 2^31)
  invisible(gc(reset = TRUE))
  before <- sum(gc()[, 2])
  for (beta in c(1, 2)) {
    expect_warning(fit <- nmf(x, 2, beta = beta, maxit = 3, seed = 1), "maxit = 3")
    # beta = 1 by coordinate descent, which reads x in place (no copy)
    expect_identical(fit$solver, if (beta == 1) "cd" else "hals")
    expect_identical(dim(fit$w), c(m, 2L))
    expect_identical(dim(fit$h), c(2L, n))
    expect_true(all(is.finite(fit$w)) && all(fit$w >= 0) && all(is.finite(fit$h)) && all(fit$h >= 0))
    expect_true(is.finite(fit$loss))
    # the loss over all 2.8e9 cells agrees with the sum over the non-zeros
    # plus the closed form of the zeros (computed in R from the factors)
    y_nz <- rowSums(fit$w[x@i + 1L, , drop = FALSE] * t(fit$h)[rep(seq_len(n), diff(x@p)), , drop = FALSE])
    if (beta == 1) {
      ref <- sum(fit$w %*% rowSums(fit$h)) + sum(x@x * log(x@x / y_nz) - x@x)
    } else {
      ref <- 0.5 * sum((crossprod(fit$w) * tcrossprod(fit$h))) + sum(0.5 * (x@x - y_nz)^2 - 0.5 * y_nz^2)
    }
    expect_equal(fit$loss, ref, tolerance = 1e-6)
  }
  # m x n doubles would be 22 GB; allow a generous 1 GB for everything else
  peak_mb <- sum(gc()[, 6]) - before
  expect_lt(peak_mb, 1024)
})
