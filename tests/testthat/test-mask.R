# Masked fits (TRUE = held out) against plain-R masked updates, and the
# invariances a mask must have.

# One masked HALS iteration, single inner sweep: W first (row i uses only the
# observed columns of row i), then H (column j uses only the observed rows).
mask_ref_hals <- function(x, w, h, held) {
  keep <- !held
  x[held] <- 0
  r <- ncol(w)
  for (i in seq_len(nrow(x))) {
    hj <- h[, keep[i, ], drop = FALSE]
    b <- hj %*% t(hj)
    a <- hj %*% x[i, keep[i, ]]
    for (k in seq_len(r)) w[i, k] <- max(0, w[i, k] + (a[k] - sum(b[k, ] * w[i, ])) / b[k, k])
  }
  for (j in seq_len(ncol(x))) {
    wi <- w[keep[, j], , drop = FALSE]
    d <- t(wi) %*% wi
    cc <- t(wi) %*% x[keep[, j], j]
    for (k in seq_len(r)) h[k, j] <- max(0, h[k, j] + (cc[k] - sum(d[k, ] * h[, j])) / d[k, k])
  }
  list(w = w, h = h)
}

# One masked multiplicative iteration (Fevotte & Idier 2011), W then H, with
# the held-out entries given weight zero in numerator and denominator.
mask_ref_mu <- function(x, w, h, beta, held) {
  g <- if (beta < 1) 1 / (2 - beta) else if (beta > 2) 1 / (beta - 1) else 1
  m <- (!held) * 1
  x[held] <- 1 # any value: it is multiplied by zero
  y <- w %*% h
  w <- w * (((m * x * y^(beta - 2)) %*% t(h)) / ((m * y^(beta - 1)) %*% t(h)))^g
  y <- w %*% h
  h <- h * ((t(w) %*% (m * x * y^(beta - 2))) / (t(w) %*% (m * y^(beta - 1))))^g
  list(w = w, h = h)
}

mask_div <- function(x, y, beta, keep) {
  x <- x[keep]
  y <- y[keep]
  if (beta == 2) return(sum((x - y)^2) / 2)
  if (beta == 1) return(sum(ifelse(x > 0, x * log(x / y), 0) - x + y))
  if (beta == 0) return(sum(x / y - log(x / y) - 1))
  sum((x^beta + (beta - 1) * y^beta - beta * x * y^(beta - 1)) / (beta * (beta - 1)))
}

masked_step <- function(x, w, h, beta, solver, held) {
  suppressWarnings(nmf(x, ncol(w), beta = beta, solver = solver, mask = held,
                       init = list(w = w, h = h), maxit = 1, tol = 0,
                       control = list(inner = 1, check = 1)))
}

mask_case <- function(seed, m = 11, n = 9, r = 3) {
  set.seed(seed)
  x <- matrix(rexp(m * n) + 0.1, m, n)
  w <- matrix(runif(m * r) + 0.1, m, r)
  h <- matrix(runif(r * n) + 0.1, r, n)
  held <- matrix(runif(m * n) < 0.25, m, n)
  held[1, ] <- FALSE # keep every row and column observed
  held[, 1] <- FALSE
  held[, n] <- FALSE
  held[2, 1:(n - 1)] <- TRUE # one row almost fully held out
  # a sparse version whose every row and column keeps a positive observed
  # entry (otherwise MU drives a factor row to zero and the EPS floors decide)
  xz <- x * (x > 0.8)
  xz[, n] <- x[, n]
  xz[1, ] <- x[1, ]
  list(x = x, xz = xz, w = w, h = h, held = held)
}

test_that("one masked HALS iteration equals the plain-R masked update, dense and sparse", {
  p <- mask_case(41)
  ref <- mask_ref_hals(p$x, p$w, p$h, p$held)
  fit <- masked_step(p$x, p$w, p$h, 2, "hals", p$held)
  expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE)
  # the loss is scored over the observed entries only
  expect_equal(fit$loss, mask_div(p$x, fitted(fit), 2, !p$held), tolerance = 1e-10)

  xz <- p$xz
  xs <- Matrix::Matrix(xz, sparse = TRUE)
  ref_s <- mask_ref_hals(xz, p$w, p$h, p$held)
  fit_s <- masked_step(xs, p$w, p$h, 2, "hals", p$held)
  expect_equal(fitted(fit_s), ref_s$w %*% ref_s$h, tolerance = 1e-10, ignore_attr = TRUE)
  expect_equal(fit_s$loss, mask_div(xz, fitted(fit_s), 2, !p$held), tolerance = 1e-10)
  # and a sparse logical mask gives the same as the dense one
  fit_sm <- masked_step(xs, p$w, p$h, 2, "hals", Matrix::Matrix(p$held, sparse = TRUE))
  expect_equal(fitted(fit_sm), fitted(fit_s), tolerance = 1e-12)
})

test_that("masked one-pass HALS iterations equal the plain-R masked updates", {
  # the one-pass update of dense data (hals.c; BETANMF_FUSE=1 at any size):
  # held-out rows correct each column's Gram matrix in the H half, and the
  # W half's product, made by the H half, has zeros there
  old <- Sys.getenv("BETANMF_FUSE", NA)
  Sys.setenv(BETANMF_FUSE = "1")
  on.exit(if (is.na(old)) Sys.unsetenv("BETANMF_FUSE") else Sys.setenv(BETANMF_FUSE = old))
  p <- mask_case(43, m = 13, n = 50, r = 4)
  ref <- list(w = p$w, h = p$h)
  for (i in 1:2) ref <- mask_ref_hals(p$x, ref$w, ref$h, p$held)
  fit <- suppressWarnings(nmf(p$x, 4, beta = 2, solver = "hals", mask = p$held, init = list(w = p$w, h = p$h),
                              maxit = 2, tol = 0, control = list(inner = 1, check = 1)))
  expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE)
  expect_equal(fit$loss, mask_div(p$x, fitted(fit), 2, !p$held), tolerance = 1e-10)
})

test_that("one masked MU iteration equals the plain-R masked update for every beta", {
  p <- mask_case(42)
  for (beta in c(0, 0.5, 1, 1.5, 2, 3)) {
    ref <- mask_ref_mu(p$x, p$w, p$h, beta, p$held)
    fit <- masked_step(p$x, p$w, p$h, beta, "mu", p$held)
    expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE,
                 label = sprintf("dense masked MU, beta = %g", beta))
    expect_equal(fit$loss, mask_div(p$x, fitted(fit), beta, !p$held), tolerance = 1e-10,
                 label = sprintf("dense masked loss, beta = %g", beta))
  }
  # sparse data: zeros among the observed and among the held-out entries
  xz <- p$xz
  xs <- Matrix::Matrix(xz, sparse = TRUE)
  for (beta in c(0.5, 1, 1.5, 2, 3)) {
    ref <- mask_ref_mu(xz, p$w, p$h, beta, p$held)
    fit <- masked_step(xs, p$w, p$h, beta, "mu", p$held)
    expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE,
                 label = sprintf("sparse masked MU, beta = %g", beta))
    expect_equal(fit$loss, mask_div(xz, fitted(fit), beta, !p$held), tolerance = 1e-10,
                 label = sprintf("sparse masked loss, beta = %g", beta))
  }
  # beta = 0 needs positive data; a dgCMatrix of positive values is accepted
  ref <- mask_ref_mu(p$x, p$w, p$h, 0, p$held)
  fit <- masked_step(Matrix::Matrix(p$x, sparse = TRUE), p$w, p$h, 0, "mu", p$held)
  expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE)
})

test_that("zeros held out of a sparse matrix are zeros of the pattern, not data", {
  p <- mask_case(43)
  xz <- p$xz
  held <- p$held & xz == 0 # only zeros are held out
  xs <- Matrix::Matrix(xz, sparse = TRUE)
  for (beta in c(1, 1.5)) {
    ref <- mask_ref_mu(xz, p$w, p$h, beta, held)
    fit <- masked_step(xs, p$w, p$h, beta, "mu", held)
    expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE)
  }
  ref <- mask_ref_hals(xz, p$w, p$h, held)
  fit <- masked_step(xs, p$w, p$h, 2, "hals", held)
  expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE)
})

test_that("an all-FALSE mask gives the unmasked fit exactly", {
  set.seed(44)
  x <- matrix(rpois(30 * 20, 5), 30, 20)
  none <- matrix(FALSE, 30, 20)
  for (beta in c(1, 2)) {
    a <- suppressWarnings(nmf(x, 3, beta = beta, seed = 3, maxit = 200))
    b <- suppressWarnings(nmf(x, 3, beta = beta, seed = 3, maxit = 200, mask = none))
    expect_identical(b$w, a$w)
    expect_identical(b$h, a$h)
    expect_identical(b$loss, a$loss)
    expect_null(b$mask)
  }
  xs <- Matrix::Matrix(x, sparse = TRUE)
  a <- suppressWarnings(nmf(xs, 3, beta = 1, seed = 3, maxit = 200))
  b <- suppressWarnings(nmf(xs, 3, beta = 1, seed = 3, maxit = 200, mask = Matrix::Matrix(none, sparse = TRUE)))
  expect_identical(b$h, a$h)
})

test_that("the values of held-out entries do not change the fit", {
  set.seed(45)
  x <- matrix(rpois(30 * 25, 4), 30, 25)
  held <- matrix(runif(30 * 25) < 0.15, 30, 25)
  x2 <- x
  x2[held] <- x2[held] * 7 + 100
  for (solver in c("hals", "mu")) {
    beta <- if (solver == "hals") 2 else 1
    # held-out values must not even move the internal scale or the init
    a <- suppressWarnings(nmf(x, 3, beta = beta, solver = solver, seed = 2, maxit = 100, mask = held))
    b <- suppressWarnings(nmf(x2, 3, beta = beta, solver = solver, seed = 2, maxit = 100, mask = held))
    expect_equal(b$w, a$w, tolerance = 1e-12)
    expect_equal(b$h, a$h, tolerance = 1e-12)
    expect_equal(b$loss, a$loss, tolerance = 1e-12)
    # the same with the held-out entries given as NA
    x3 <- x
    x3[held] <- NA
    c3 <- suppressWarnings(nmf(x3, 3, beta = beta, solver = solver, seed = 2, maxit = 100, missing = "mask"))
    expect_equal(c3$h, a$h, tolerance = 1e-12)
  }
})

test_that("sparse and dense masked fits agree", {
  set.seed(46)
  x <- matrix(rpois(40 * 30, 1.5), 40, 30)
  held <- matrix(runif(40 * 30) < 0.1, 40, 30)
  xs <- Matrix::Matrix(x, sparse = TRUE)
  for (beta in c(1, 1.5, 2)) {
    d <- suppressWarnings(nmf(x, 3, beta = beta, solver = "mu", init = "random", seed = 4,
                              maxit = 50, mask = held))
    s <- suppressWarnings(nmf(xs, 3, beta = beta, solver = "mu", init = "random", seed = 4,
                              maxit = 50, mask = held))
    expect_equal(fitted(s), fitted(d), tolerance = 1e-9, label = sprintf("beta = %g", beta))
    expect_equal(s$loss, d$loss, tolerance = 1e-9)
  }
  d <- suppressWarnings(nmf(x, 3, beta = 2, init = "random", seed = 4, maxit = 50, mask = held))
  s <- suppressWarnings(nmf(xs, 3, beta = 2, init = "random", seed = 4, maxit = 50, mask = held))
  expect_equal(fitted(s), fitted(d), tolerance = 1e-9)
})

test_that("a masked fit keeps the loss non-increasing and scores held-out entries", {
  set.seed(47)
  x <- matrix(rpois(40 * 30, 3), 40, 30)
  held <- matrix(runif(40 * 30) < 0.2, 40, 30)
  for (beta in c(0.5, 1, 2)) {
    fit <- suppressWarnings(nmf(x, 3, beta = beta, solver = "mu", seed = 5, maxit = 40, tol = 0,
                                control = list(check = 1), mask = held))
    tr <- fit$trace$loss
    expect_true(all(diff(tr) <= 1e-10 * tr[-length(tr)]), label = sprintf("monotone, beta = %g", beta))
    expect_equal(fit$loss, beta_divergence(x, fitted(fit), beta, mask = held), tolerance = 1e-10)
    expect_equal(nobs(fit), sum(!held))
  }
  for (sparse in c(FALSE, TRUE)) {
    xx <- if (sparse) Matrix::Matrix(x, sparse = TRUE) else x
    fit <- suppressWarnings(nmf(xx, 3, beta = 2, solver = "hals", seed = 5, maxit = 40, tol = 0, mask = held))
    tr <- fit$trace$loss
    expect_true(all(diff(tr) <= 1e-10 * tr[-length(tr)]), label = sprintf("HALS monotone, sparse = %s", sparse))
    expect_equal(fit$loss, beta_divergence(x, fitted(fit), 2, mask = held), tolerance = 1e-10)
  }
})

test_that("bad masks are clear errors", {
  x <- matrix(rpois(60, 3) + 1, 10, 6)
  expect_error(nmf(x, 2, mask = matrix(FALSE, 10, 5)), "'mask'.*dimensions")
  expect_error(nmf(x, 2, mask = matrix(0, 10, 6)), "'mask' must be logical")
  expect_error(nmf(x, 2, mask = Matrix::Matrix(0, 10, 6, sparse = TRUE)), "'mask' must be logical")
  na <- matrix(FALSE, 10, 6)
  na[3, 3] <- NA
  expect_error(nmf(x, 2, mask = na), "'mask' contains NA")
  row <- matrix(FALSE, 10, 6)
  row[4, ] <- TRUE
  expect_warning(nmf(x, 2, mask = row), "1 row \\(4\\) with no observed entry")
  col <- matrix(FALSE, 10, 6)
  col[, 5] <- TRUE
  expect_warning(nmf(x, 2, mask = col), "1 column \\(5\\) with no observed entry")
  expect_warning(nmf(x, 2, mask = Matrix::Matrix(col, sparse = TRUE)), "1 column \\(5\\) with no observed entry")
  expect_error(nmf(x, 2, mask = matrix(TRUE, 10, 6)), "no observed entry: every entry is NA or masked")
  expect_error(nmf(x, 2, mask = as.vector(row)), "'mask'")
})

test_that("NA in x is an error by default, and missing = \"mask\" leaves it out", {
  set.seed(48)
  x <- matrix(rpois(20 * 15, 5) + 0, 20, 15)
  x[3, 4] <- NA
  x[10, 2] <- NA
  expect_error(nmf(x, 2), "NA.*missing = \"mask\"")
  fit <- nmf(x, 2, beta = 1, seed = 1, missing = "mask")
  held <- is.na(x)
  expect_equal(nobs(fit), sum(!held))
  ref <- nmf(replace(x, held, 0), 2, beta = 1, seed = 1, mask = held)
  expect_equal(fit$h, ref$h, tolerance = 1e-12)
  # NA together with a user mask: both are left out
  m <- matrix(FALSE, 20, 15)
  m[5, 6] <- TRUE
  both <- nmf(x, 2, beta = 1, seed = 1, missing = "mask", mask = m)
  ref2 <- nmf(replace(x, held, 0), 2, beta = 1, seed = 1, mask = held | m)
  expect_equal(both$h, ref2$h, tolerance = 1e-12)
  expect_equal(nobs(both), sum(!(held | m)))
  # sparse x with NA
  xs <- Matrix::Matrix(replace(x, held, 0), sparse = TRUE)
  xs[3, 4] <- NA
  xs[10, 2] <- NA
  fits <- nmf(xs, 2, beta = 1, seed = 1, missing = "mask")
  expect_equal(nobs(fits), sum(!held))
  expect_equal(fitted(fits), fitted(fit), tolerance = 1e-8)
})

test_that("sparse W updates read the data in several row blocks, as the plain-R updates say", {
  # rank 2 pads to 4, so the scatter kernel takes blocks of 2048 rows: 4500
  # rows make three blocks (and rank 35 takes the scalar path for r > 32)
  for (r in c(2, 35)) {
    p <- mask_case(43, m = 4500, n = 40, r = r)
    # half the entries zero; the last column (never held out) keeps every
    # row positive, so no factor row is driven to zero
    p$xz <- p$x * (matrix(runif(4500 * 40), 4500, 40) < 0.5)
    p$xz[, 40] <- p$x[, 40]
    xs <- Matrix::Matrix(p$xz, sparse = TRUE)
    ref <- ref_hals(p$xz, p$w, p$h)
    fit <- one_step(xs, p$w, p$h, 2, "hals")
    expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE,
                 label = sprintf("HALS rank %d", r))
    for (beta in c(1, 1.5)) {
      ref <- ref_mu(p$xz, p$w, p$h, beta)
      fit <- one_step(xs, p$w, p$h, beta, "mu")
      expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE,
                   label = sprintf("MU beta %g rank %d", beta, r))
      ref <- mask_ref_mu(p$xz, p$w, p$h, beta, p$held)
      fit <- masked_step(xs, p$w, p$h, beta, "mu", p$held)
      expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE,
                   label = sprintf("masked MU beta %g rank %d", beta, r))
    }
    # (at rank 35 a W column can hit zero, where the plain-R masked HALS
    # divides by zero and the C code leaves the component alone)
    if (r > 2) next
    ref <- mask_ref_hals(p$xz, p$w, p$h, p$held)
    fit <- masked_step(xs, p$w, p$h, 2, "hals", p$held)
    expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE,
                 label = sprintf("masked HALS rank %d", r))
  }
})

# the maxit warning muffled, every other warning kept
quiet_maxit <- function(expr) {
  withCallingHandlers(expr, warning = function(w) {
    if (grepl("maxit", conditionMessage(w))) invokeRestart("muffleWarning")
  })
}

test_that("columns and rows with no observed entry are left out: NA there, W as the fit without them", {
  # dropped frames of a calcium-like trace: whole columns NA, plus one
  # neuron masked throughout
  set.seed(81)
  w0 <- matrix(rexp(24 * 3), 24, 3)
  h0 <- matrix(rexp(3 * 60), 3, 60)
  x <- w0 %*% h0 + matrix(runif(24 * 60, 0, 0.05), 24, 60)
  dimnames(x) <- list(paste0("n", 1:24), paste0("t", 1:60))
  x[, 31:36] <- NA
  x[5, 10] <- NA # an ordinary missing entry stays an ordinary missing entry
  for (beta in c(2, 1)) {
    expect_warning(fit <- quiet_maxit(nmf(x, 3, beta = beta, missing = "mask", seed = 1, maxit = 300, tol = 1e-6)),
                   "6 columns \\(31-36\\) with no observed entry: their coefficients in H are NA")
    ref <- suppressWarnings(nmf(x[, -(31:36)], 3, beta = beta, missing = "mask", seed = 1, maxit = 300, tol = 1e-6))
    expect_equal(fit$w, ref$w, tolerance = 1e-12)
    expect_equal(fit$h[, -(31:36)], ref$h, tolerance = 1e-12)
    expect_true(all(is.na(fit$h[, 31:36])))
    expect_false(anyNA(fit$h[, -(31:36)]))
    expect_identical(dim(fit$h), c(3L, 60L))
    expect_identical(colnames(fit$h), colnames(x))
    expect_equal(fit$loss, ref$loss, tolerance = 1e-12)
    expect_equal(deviance(fit), deviance(ref), tolerance = 1e-12)
    expect_equal(nobs(fit), sum(!is.na(x)))
    expect_equal(as.numeric(logLik(fit)), as.numeric(logLik(ref)), tolerance = 1e-10)
    expect_identical(attr(logLik(fit), "df"), attr(logLik(ref), "df"))
    # fitted values and residuals: NA exactly in the dropped columns
    y <- fitted(fit)
    expect_identical(dim(y), dim(x))
    expect_identical(which(is.na(y)), which(col(x) %in% 31:36))
    expect_equal(y[, -(31:36)], ref$w %*% ref$h, tolerance = 1e-12)
    expect_identical(is.na(residuals(fit)), is.na(x) | col(x) %in% 31:36)
    # new columns are solved with the fitted W
    expect_equal(predict(fit, x[, 1:4]), predict(ref, x[, 1:4]), tolerance = 1e-10)
    expect_output(print(fit), "0 rows and 6 columns without an observed entry")
    expect_false(anyNA(summary(fit)$components))
  }
  # a row with no observed entry: NA in W, and the rest as the fit without it
  m <- matrix(FALSE, 24, 60)
  m[7, ] <- TRUE
  xr <- x[, -(31:36)]
  expect_warning(fit <- quiet_maxit(nmf(xr, 3, beta = 1, mask = m[, 1:54], missing = "mask", seed = 2, maxit = 200)),
                 "1 row \\(7\\) with no observed entry: their rows of W are NA")
  ref <- suppressWarnings(nmf(xr[-7, ], 3, beta = 1, missing = "mask", seed = 2, maxit = 200))
  expect_equal(fit$w[-7, ], ref$w, tolerance = 1e-12)
  expect_true(all(is.na(fit$w[7, ])))
  expect_equal(fit$h, ref$h, tolerance = 1e-12)
  expect_identical(which(rowSums(is.na(fitted(fit))) > 0), c(n7 = 7L))
  # predict() leaves the row out, matching rows by name (and refuses to
  # pair an unnamed newdata with the fit's named rows by position)
  expect_equal(predict(fit, xr[, 1:3]), predict(ref, xr[-7, 1:3]), tolerance = 1e-10)
  expect_equal(predict(fit, xr[c(2:24, 1), 1:3]), predict(ref, xr[-7, 1:3]), tolerance = 1e-10)
  expect_error(predict(fit, unname(xr[, 1:3])), "no row names")
  # restarts: every run is back at full size, the best run is the one kept,
  # and a start given at full size is cut to the fitted rows and columns
  expect_warning(fr <- quiet_maxit(nmf(x, 3, beta = 2, missing = "mask", seed = 3, nrun = 3, maxit = 100)), "6 columns")
  rr <- suppressWarnings(nmf(x[, -(31:36)], 3, beta = 2, missing = "mask", seed = 3, nrun = 3, maxit = 100))
  for (k in 1:3) {
    expect_equal(fr$runs[[k]]$w, rr$runs[[k]]$w, tolerance = 1e-12)
    expect_true(all(is.na(fr$runs[[k]]$h[, 31:36])))
  }
  expect_identical(fr$best, rr$best)
  # consensus over the columns that were fitted; stability of the fitted rows
  expect_equal(consensus(fr)$consensus, consensus(rr)$consensus)
  expect_equal(stability(fr)$components, stability(rr)$components)
  fm <- quiet_maxit(suppressWarnings(nmf(x[, -(31:36)], 3, beta = 2, missing = "mask", mask = m[, 1:54],
                                         seed = 3, nrun = 3, maxit = 100)))
  rm7 <- quiet_maxit(nmf(x[-7, -(31:36)], 3, beta = 2, missing = "mask", seed = 3, nrun = 3, maxit = 100))
  st <- stability(fm)
  expect_equal(st$components, stability(rm7)$components)
  expect_true(all(is.na(st$w[7, ])))
  start <- list(w = matrix(1, 24, 3), h = matrix(1, 3, 60) + diag(1, 3, 60))
  fu <- suppressWarnings(nmf(x, 3, beta = 2, missing = "mask", init = start, maxit = 50))
  ru <- suppressWarnings(nmf(x[, -(31:36)], 3, beta = 2, missing = "mask",
                             init = list(w = start$w, h = start$h[, -(31:36)]), maxit = 50))
  expect_equal(fu$w, ru$w, tolerance = 1e-12)
  # sparse x gives the same fit
  xs <- Matrix::Matrix(replace(x, is.na(x), 0), sparse = TRUE)
  xs[is.na(x)] <- NA
  fs <- suppressWarnings(nmf(xs, 3, beta = 1, missing = "mask", seed = 1, maxit = 300, tol = 1e-6))
  fd <- suppressWarnings(nmf(x, 3, beta = 1, missing = "mask", seed = 1, maxit = 300, tol = 1e-6))
  expect_equal(fs$w, fd$w, tolerance = 1e-8)
  expect_true(all(is.na(fs$h[, 31:36])))
})

test_that("beta = 1 with held-out entries runs coordinate descent, equal to its plain-R twin", {
  # solver = "auto": held-out entries leave coordinate descent's gradients,
  # curvatures and column sums (ref_cd's `observed`), three iterations
  set.seed(48)
  for (r in c(1, 3, 5)) {
    x <- matrix(rpois(14 * 12, 1.5), 14, 12) * 1
    x[, 3] <- c(rep(0, 13), 5)          # one positive entry, observed
    held <- matrix(runif(14 * 12) < 0.2, 14, 12)
    held[14, 3] <- FALSE
    held[2, ] <- TRUE                   # a row observed in one column only
    held[2, 5] <- FALSE
    w <- matrix(runif(14 * r) + 0.05, 14, r)
    h <- matrix(runif(r * 12) + 0.05, r, 12)
    ref <- list(w = w, h = h)
    for (it in 1:3) ref <- ref_cd(x, ref$w, ref$h, observed = !held)
    for (sparse in c(FALSE, TRUE)) {
      xx <- if (sparse) Matrix::Matrix(x, sparse = TRUE) else x
      what <- sprintf("rank %d, sparse = %s", r, sparse)
      fit <- suppressWarnings(nmf(xx, r, beta = 1, init = list(w = w, h = h), mask = held, maxit = 3, tol = 0,
                                  control = list(check = 1)))
      expect_identical(fit$solver, "cd", label = what)
      expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-12, ignore_attr = TRUE, label = what)
    }
    # the same entries given as NA, left out by missing = "mask"
    xna <- x
    xna[held] <- NA
    fna <- suppressWarnings(nmf(xna, r, beta = 1, init = list(w = w, h = h), missing = "mask", maxit = 3,
                                tol = 0, control = list(check = 1)))
    expect_identical(fna$solver, "cd")
    expect_equal(fitted(fna), ref$w %*% ref$h, tolerance = 1e-12, ignore_attr = TRUE)
  }
})

test_that("masked coordinate descent never increases the loss over the observed entries", {
  set.seed(49)
  m <- 50
  n <- 40
  w <- matrix(rexp(m * 3)^2, m, 3)
  h <- matrix(rexp(3 * n)^2, 3, n)
  x <- matrix(rpois(m * n, 0.5 * w %*% h / mean(w %*% h)), m, n) * 1 # about 2 / 3 zeros
  held <- matrix(runif(m * n) < 0.2, m, n)
  for (sparse in c(FALSE, TRUE)) {
    xx <- if (sparse) Matrix::Matrix(x, sparse = TRUE) else x
    for (seed in 1:2) {
      what <- sprintf("sparse = %s, seed %d", sparse, seed)
      fit <- suppressWarnings(nmf(xx, 4, beta = 1, seed = seed, maxit = 60, tol = 0, mask = held,
                                  control = list(check = 1)))
      expect_identical(fit$solver, "cd", label = what)
      tr <- fit$trace$loss
      expect_identical(length(tr), 61L, label = what)
      expect_true(all(diff(tr) <= 1e-12 * tr[-length(tr)]), label = paste("monotone", what))
      # the loss is that of the observed entries only (mask_div: plain R)
      expect_equal(fit$loss, mask_div(x, fitted(fit), 1, !held), tolerance = 1e-10, label = what)
    }
  }
  # and the same fit from the held-out entries' values: they are never read
  x2 <- x
  x2[held] <- x2[held] * 3 + 7
  a <- suppressWarnings(nmf(x, 4, beta = 1, seed = 1, maxit = 60, mask = held))
  b <- suppressWarnings(nmf(x2, 4, beta = 1, seed = 1, maxit = 60, mask = held))
  expect_identical(b$w, a$w)
  expect_identical(b$h, a$h)
  # multiplicative updates stay available by name
  expect_identical(suppressWarnings(nmf(x, 4, beta = 1, seed = 1, maxit = 5, mask = held, solver = "mu"))$solver,
                   "mu")
})

test_that("the masked loss of dense data is the unmasked loss of its observed entries, to the bit", {
  # src/loss.c packs each column's observed entries and sums them through
  # the vector kernel of an unmasked column: with whole rows held out
  # (rows prepare_data() would drop, kept here through the driver's own
  # arguments) the masked loss is that of the data without those rows
  ns <- asNamespace("betanmf")
  set.seed(28)
  m <- 23L # not a multiple of the kernels' four lanes: the scalar tail too
  n <- 9L
  rows <- c(2L, 5L, 11L, 23L)
  for (beta in c(1, 0, 0.5, 1.5)) {
    x <- matrix(stats::rpois(m * n, 6) + if (beta <= 0) 1 else 0, m, n)
    d <- ns$prepare_data(x, beta = beta)
    d$hold <- list(p = as.integer(seq(0L, by = length(rows), length.out = n + 1L)),
                   i = rep(rows - 1L, n))
    sub <- d
    sub$dense <- d$dense[-rows, , drop = FALSE]
    sub$dims <- c(m - length(rows), n)
    sub$hold <- NULL
    for (r in c(3L, 7L)) {
      w <- matrix(stats::runif(m * r) + 0.1, m, r)
      h <- matrix(stats::runif(r * n) + 0.1, r, n)
      loss0 <- function(dd, ww) {
        ctl <- ns$solver_control(list(), "mu", dd$dims, r, 0L, 0)
        ns$run_solver(dd, ww, h, beta, "mu", ctl, TRUE, 1L, FALSE)$loss
      }
      masked <- loss0(d, w)
      expect_identical(masked, loss0(sub, w[-rows, , drop = FALSE]), label = sprintf("beta %g rank %d", beta, r))
      # and the plain-R sum over the observed entries
      keep <- setdiff(seq_len(m), rows)
      expect_equal(masked, ref_div(d$dense[keep, ], (w %*% h)[keep, ], beta), tolerance = 1e-12)
    }
  }
})
