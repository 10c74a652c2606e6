test_that("one HALS iteration equals the plain-R update, dense and sparse", {
  set.seed(11)
  x <- matrix(rexp(12 * 9), 12, 9)
  w <- matrix(runif(12 * 3), 12, 3)
  h <- matrix(runif(3 * 9), 3, 9)
  ref <- ref_hals(x, w, h)
  fit <- one_step(x, w, h, 2, "hals")
  expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-12, ignore_attr = TRUE)
  xs <- Matrix::Matrix(x * (x > 0.7), sparse = TRUE)
  ref_s <- ref_hals(as.matrix(xs), w, h)
  fit_s <- one_step(xs, w, h, 2, "hals")
  expect_equal(fitted(fit_s), ref_s$w %*% ref_s$h, tolerance = 1e-12, ignore_attr = TRUE)
})

test_that("the dense product kernels agree with the reference for every padded rank", {
  set.seed(13)
  # 41 x 41 and 43 x 46 leave every remainder of the kernels' 8-, 6- and
  # 4-column passes (1, 2, 3, 4, 5 columns) somewhere, in both halves;
  # 67 x 70: factors long enough (>= 64) for the Gram matrix through hxt
  for (n in c(41, 43, 67)) {
    nc <- c("41" = 41, "43" = 46, "67" = 70)[[as.character(n)]]
    x <- matrix(rexp(n * nc), n, nc)
    ranks <- switch(as.character(n), "41" = c(1, 4, 5, 9, 17, 32, 35), # 35 > 32: BLAS path
                    "43" = c(2, 7, 12, 24, 29), "67" = c(3, 6, 13, 20, 31))
    for (r in ranks) {
      w <- matrix(runif(n * r), n, r)
      h <- matrix(runif(r * nc), r, nc)
      ref <- ref_hals(x, w, h)
      fit <- one_step(x, w, h, 2, "hals")
      expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-11, ignore_attr = TRUE,
                   label = sprintf("HALS step at rank %d, %d x %d", r, n, nc))
      ref <- ref_mu(x, w, h, 1)
      fit <- one_step(x, w, h, 1, "mu")
      expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-11, ignore_attr = TRUE,
                   label = sprintf("MU step at rank %d, %d x %d", r, n, nc))
    }
  }
})

test_that("large dense HALS reads the data transposed in place, as the plain-R update says", {
  # HALS keeps no transposed copy here: the first W half runs the H t(X)
  # kernel on the original array, the H half the one-pass update (hals.c)
  set.seed(14)
  x <- matrix(runif(2050 * 2050), 2050, 2050)
  w <- matrix(runif(2050 * 3), 2050, 3)
  h <- matrix(runif(3 * 2050), 3, 2050)
  ref <- ref_hals(x, w, h)
  fit <- one_step(x, w, h, 2, "hals")
  expect_equal(fit$w %*% fit$h, ref$w %*% ref$h, tolerance = 1e-11, ignore_attr = TRUE)
})

test_that("the one-pass HALS update equals the plain-R updates, and threads change nothing", {
  # dense data from 2^20 entries: each H half also makes the next W half's
  # product; BETANMF_FUSE=1 takes that path at any size.  37 x 70 gives five
  # blocks of 16 columns (the last of 6) in four partial sums; three
  # iterations, so two W halves use a product the H half made
  old <- Sys.getenv("BETANMF_FUSE", NA)
  Sys.setenv(BETANMF_FUSE = "1")
  on.exit(if (is.na(old)) Sys.unsetenv("BETANMF_FUSE") else Sys.setenv(BETANMF_FUSE = old))
  set.seed(41)
  x <- matrix(rexp(37 * 70), 37, 70)
  for (r in c(1, 3, 5, 9, 13)) {
    w <- matrix(runif(37 * r), 37, r)
    h <- matrix(runif(r * 70), r, 70)
    ref <- list(w = w, h = h)
    for (i in 1:3) ref <- ref_hals(x, ref$w, ref$h)
    run <- function(threads) {
      suppressWarnings(nmf(x, r, beta = 2, solver = "hals", init = list(w = w, h = h), maxit = 3, tol = 0,
                           control = list(inner = 1, check = 1), threads = threads))
    }
    fit <- run(1)
    expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE,
                 label = sprintf("one-pass HALS at rank %d", r))
    fit2 <- run(2)
    expect_identical(fit2$w, fit$w)
    expect_identical(fit2$h, fit$h)
  }
  # W held fixed (predict): the H half alone, no product for a W half
  pr <- predict(fit, x)
  Sys.setenv(BETANMF_FUSE = "", BETANMF_NOFUSE = "1")
  on.exit(Sys.unsetenv("BETANMF_NOFUSE"), add = TRUE)
  Sys.unsetenv("BETANMF_FUSE")
  expect_equal(predict(fit, x), pr, tolerance = 1e-10)
})

test_that("HALS's repeated inner sweeps and their count match the plain-R rule", {
  # fit$sweeps counts the sweeps each row of W and column of H ran before
  # the stopping rule; dense (two passes, and the one-pass update through
  # BETANMF_FUSE), sparse, and threads = 2 (an integer sum: identical)
  set.seed(17)
  x <- matrix(rexp(45 * 38), 45, 38)
  w <- matrix(runif(45 * 4), 45, 4)
  h <- matrix(runif(4 * 38), 4, 38)
  xs <- Matrix::Matrix(x * (x > 0.8), sparse = TRUE)
  run <- function(x, maxit, inner, threads = 1) {
    suppressWarnings(nmf(x, 4, beta = 2, solver = "hals", init = list(w = w, h = h), maxit = maxit, tol = 0,
                         threads = threads, control = list(inner = inner, inner_tol = 0.01, check = 1)))
  }
  old <- Sys.getenv("BETANMF_FUSE", NA)
  on.exit(if (is.na(old)) Sys.unsetenv("BETANMF_FUSE") else Sys.setenv(BETANMF_FUSE = old))
  for (fuse in c("", "1")) for (dense in c(TRUE, FALSE)) {
    if (nzchar(fuse)) Sys.setenv(BETANMF_FUSE = fuse) else Sys.unsetenv("BETANMF_FUSE")
    xx <- if (dense) x else xs
    ref <- list(w = w, h = h, sweeps = 0)
    total <- 0
    for (i in 1:3) {
      ref <- ref_hals_inner(as.matrix(xx), ref$w, ref$h, inner = 6, inner_tol = 0.01)
      total <- total + ref$sweeps
    }
    fit <- run(xx, 3, 6)
    what <- sprintf("%s, BETANMF_FUSE = '%s'", if (dense) "dense" else "sparse", fuse)
    expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-10, ignore_attr = TRUE, label = what)
    expect_identical(fit$sweeps, total, label = what)
    # more than one sweep ran somewhere, and not always all six
    expect_true(total > 3 * (45 + 38) && total < 3 * 6 * (45 + 38), label = what)
    expect_identical(run(xx, 3, 6, threads = 2)$sweeps, total, label = what)
    # one sweep each: rows plus columns, per iteration
    expect_identical(run(xx, 3, 1)$sweeps, 3 * (45 + 38), label = what)
  }
  # held-out entries: those columns and rows are swept one at a time
  mask <- matrix(FALSE, 45, 38)
  mask[cbind(c(1, 5, 9, 30), c(2, 2, 17, 30))] <- TRUE
  one <- suppressWarnings(nmf(x, 4, beta = 2, solver = "hals", init = list(w = w, h = h), maxit = 3, tol = 0,
                              mask = mask, control = list(inner = 1, check = 1)))
  expect_identical(one$sweeps, 3 * (45 + 38))
  expect_null(suppressWarnings(nmf(x, 4, beta = 1, solver = "mu", maxit = 3, tol = 0))$sweeps)
})

test_that("one MU iteration equals the plain-R update for every beta, dense and sparse", {
  set.seed(12)
  x <- matrix(rexp(10 * 8) + 0.1, 10, 8)
  w <- matrix(runif(10 * 3) + 0.1, 10, 3)
  h <- matrix(runif(3 * 8) + 0.1, 3, 8)
  for (beta in c(-1, 0, 0.5, 1, 1.5, 2, 3)) {
    ref <- ref_mu(x, w, h, beta)
    fit <- one_step(x, w, h, beta, "mu")
    expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-12, ignore_attr = TRUE,
                 label = sprintf("MU beta = %g", beta))
  }
  xz <- x * (x > 1)
  xs <- Matrix::Matrix(xz, sparse = TRUE)
  for (beta in c(0.5, 1, 1.5, 2, 3)) {
    ref <- ref_mu(xz, w, h, beta)
    fit <- one_step(xs, w, h, beta, "mu")
    expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-12, ignore_attr = TRUE,
                 label = sprintf("sparse MU beta = %g", beta))
  }
})

test_that("MU's paired reciprocals fall back to one division each where their product leaves the range", {
  # beta < 2: the kernels take two reciprocals y^(beta - 2) from one division,
  # 1 / (a0 a1) times a1 and a0 (VPOW_CHAIN2 in simd.h), unless a0 a1 is not a
  # normal number, nor its reciprocal.  W's first 8 rows at 1e-40 make y
  # about 1e-40, so at beta = -2 a0 a1 = y0^4 y1^4 is about 1e-320 and
  # underflows; at 1e80 and beta = 0, y0^2 y1^2 is about 1e320 and
  # overflows.  Rank 6 runs the blocked kernels, which pair; rank 2 the
  # fused ones, which take a division per vector, at the same extremes; in
  # the AVX2 and the baseline build.  Without the fallback the loss is
  # infinite (an error)
  set.seed(14)
  x <- matrix(stats::rexp(24 * 10) + 0.5, 24, 10)
  x <- x / mean(x)
  old <- betanmf:::simd_baseline(FALSE)
  on.exit(betanmf:::simd_baseline(old))
  for (baseline in c(FALSE, TRUE)) for (r in c(2, 6)) {
    betanmf:::simd_baseline(baseline)
    w0 <- matrix(stats::runif(24 * r) + 0.5, 24, r)
    h <- matrix(stats::runif(r * 10) + 0.5, r, 10)
    for (case in list(c(-2, 1e-40), c(1.5, 1e-40), c(0, 1e80))) {
      beta <- case[1]
      w <- w0
      w[1:8, ] <- case[2] * w[1:8, ]
      ref <- ref_mu(x, w, h, beta)
      fit <- suppressWarnings(nmf(x, r, beta = beta, solver = "mu", init = list(w = w, h = h), maxit = 1,
                                  tol = 0, control = list(check = 1)))
      # the scaled rows and the others apart (all.equal is relative to the mean)
      y <- ref$w %*% ref$h
      for (rows in list(1:8, 9:24))
        expect_equal(fitted(fit)[rows, ], y[rows, ], tolerance = 1e-12, ignore_attr = TRUE,
                     label = sprintf("rows %d-%d at %g, beta %g rank %d%s", min(rows), max(rows), case[2],
                                     beta, r, if (baseline) ", baseline build" else ""))
    }
  }
})

test_that("MU with penalties equals the plain-R update, and threads change nothing", {
  # ranks <= 4 on dense data run the fused kernels (one pass per half, the W
  # half along the rows of the user's array); ranks 8 and 9 the blocked ones;
  # 37 x 23 leaves row and column remainders
  set.seed(31)
  x <- matrix(stats::rpois(37 * 23, 2), 37, 23) * 1
  x <- x / mean(x)
  for (r in c(1, 3, 8, 9)) {
    w <- matrix(stats::runif(37 * r) + 0.1, 37, r)
    h <- matrix(stats::runif(r * 23) + 0.1, r, 23)
    for (beta in c(1, 1.5, 0, 3, -1)) { # gamma = 1, 1, 1/2, 1/2, 1/3
      xb <- if (beta <= 0) x + 0.25 else x # beta <= 0: positive data
      ref <- ref_mu(xb, w, h, beta, l1 = c(0.3, 0.1), l2 = c(0.2, 0.5))
      for (xx in list(xb, Matrix::Matrix(xb, sparse = TRUE))) {
        fit <- suppressWarnings(nmf(xx, r, beta = beta, solver = "mu", init = list(w = w, h = h), maxit = 1,
                                    tol = 0, control = list(check = 1, l1 = c(0.3, 0.1), l2 = c(0.2, 0.5))))
        expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-12, ignore_attr = TRUE,
                     label = sprintf("penalised MU beta %g rank %d %s", beta, r, class(xx)[1]))
      }
    }
  }
  # threads: columns and row blocks shared differently, the same numbers
  p <- planted(203, 61, 3, seed = 8)
  for (r in c(3, 8)) for (beta in c(1, 1.5)) {
    a <- suppressWarnings(nmf(p$x, r, beta = beta, solver = "mu", seed = 4, maxit = 25, tol = 0))
    b <- suppressWarnings(nmf(p$x, r, beta = beta, solver = "mu", seed = 4, maxit = 25, tol = 0, threads = 2))
    expect_identical(a$w, b$w)
    expect_identical(a$h, b$h)
  }
})

test_that("the loss never increases, for every beta, dense and sparse", {
  p <- planted(40, 50, 3, seed = 3)
  xpos <- p$x + 1
  for (beta in c(0, 0.5, 1, 1.5, 2, 3)) {
    for (sparse in c(FALSE, TRUE)) {
      x <- if (beta <= 0) xpos else p$x
      if (sparse) x <- Matrix::Matrix(x, sparse = TRUE)
      fit <- suppressWarnings(nmf(x, 4, beta = beta, solver = "mu", maxit = 60, tol = 0,
                                  control = list(check = 1), seed = 2))
      tr <- fit$trace$loss
      expect_true(all(diff(tr) <= 1e-10 * tr[-length(tr)]),
                  label = sprintf("MU monotone beta = %g sparse = %s", beta, sparse))
      expect_equal(fit$loss, ref_div(as.matrix(x), fitted(fit), beta), tolerance = 1e-10)
    }
  }
  for (sparse in c(FALSE, TRUE)) {
    x <- if (sparse) Matrix::Matrix(p$x, sparse = TRUE) else p$x
    fit <- suppressWarnings(nmf(x, 4, beta = 2, maxit = 60, tol = 0, seed = 2))
    tr <- fit$trace$loss
    expect_true(all(diff(tr) <= 1e-10 * tr[-length(tr)]))
    expect_equal(fit$loss, ref_div(as.matrix(x), fitted(fit), 2), tolerance = 1e-10)
  }
})

test_that("the vector loss falls back entry by entry where its formulas fail", {
  # a subnormal ratio x / y fails the vector logarithm (KL, IS) in one lane
  # of one column; that column is summed again, its other entries by the
  # vector formulas and the failing ones by the scalar one; in the AVX2 and
  # the baseline build of the kernels (test-simd.R).  KL and IS sum a
  # column in chunks of 64 entries (loss.c): 150 rows are two whole chunks,
  # a part one and a remainder, the failing lane and the zero in the second
  # and third
  old <- betanmf:::simd_baseline(FALSE)
  on.exit(betanmf:::simd_baseline(old))
  for (m in c(37, 150)) for (baseline in c(FALSE, TRUE)) {
    betanmf:::simd_baseline(baseline)
    set.seed(21)
    x <- matrix(stats::rexp(m * 6) + 0.5, m, 6)
    x[if (m > 100) 70 else 5, 2] <- 1e-310
    x[if (m > 100) 130 else 30, 4] <- 0
    w <- matrix(stats::runif(m * 2) + 0.5, m, 2)
    h <- matrix(stats::runif(2 * 6) + 0.5, 2, 6)
    for (beta in c(1, 0, 1.5)) {
      xb <- if (beta == 0) pmax(x, 1e-310) else x
      fit <- suppressWarnings(nmf(xb, 2, beta = beta, solver = "mu", init = list(w = w, h = h), maxit = 1,
                                  tol = 0, control = list(check = 1)))
      what <- sprintf("%d rows, beta = %g%s", m, beta, if (baseline) ", baseline build" else "")
      expect_equal(fit$trace$loss[1], ref_div(xb, w %*% h, beta), tolerance = 1e-13,
                   label = paste("initial loss", what))
      expect_equal(fit$loss, ref_div(xb, fitted(fit), beta), tolerance = 1e-13,
                   label = paste("final loss", what))
    }
  }
})

test_that("one coordinate-descent iteration equals the plain-R update, dense, sparse and masked", {
  set.seed(21)
  for (r in c(1, 3, 6, 9)) {
    x <- matrix(stats::rpois(13 * 11, 3), 13, 11) * 1
    x[1:5, 2] <- 0                       # one column gathered (mostly zero)
    x[2, ] <- 0                          # and an all-zero row
    x[, 11] <- c(rep(0, 12), 4)          # a column with a single positive entry
    w <- matrix(stats::runif(13 * r) + 0.05, 13, r)
    h <- matrix(stats::runif(r * 11) + 0.05, r, 11)
    ref <- ref_cd(x, w, h)
    fit <- one_step(x, w, h, 1, "cd")
    expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-12, ignore_attr = TRUE,
                 label = sprintf("dense CD rank %d", r))
    fs <- one_step(Matrix::Matrix(x, sparse = TRUE), w, h, 1, "cd")
    expect_equal(fitted(fs), ref$w %*% ref$h, tolerance = 1e-12, ignore_attr = TRUE,
                 label = sprintf("sparse CD rank %d", r))
    held <- matrix(stats::runif(length(x)) < 0.2, nrow(x))
    refm <- ref_cd(x, w, h, observed = !held)
    fm <- suppressWarnings(nmf(x, r, beta = 1, solver = "cd", init = list(w = w, h = h), mask = held,
                               maxit = 1, tol = 0, control = list(check = 1)))
    expect_equal(fitted(fm), refm$w %*% refm$h, tolerance = 1e-12, ignore_attr = TRUE,
                 label = sprintf("masked CD rank %d", r))
  }
  # penalties, on data whose internal scale is 1 (mean 1, so the penalties
  # are in the user's units)
  x <- matrix(stats::rpois(12 * 10, 1), 12, 10) * 1
  x <- x / mean(x)
  expect_equal(betanmf:::prepare_data(x, beta = 1)$scale, 1)
  w <- matrix(stats::runif(12 * 3) + 0.1, 12, 3)
  h <- matrix(stats::runif(3 * 10) + 0.1, 3, 10)
  ref <- ref_cd(x, w, h, l1 = c(0.3, 0.1), l2 = c(0.2, 0.5))
  fit <- suppressWarnings(nmf(x, 3, beta = 1, solver = "cd", init = list(w = w, h = h), maxit = 1, tol = 0,
                              control = list(check = 1, l1 = c(0.3, 0.1), l2 = c(0.2, 0.5))))
  expect_equal(fitted(fit), ref$w %*% ref$h, tolerance = 1e-12, ignore_attr = TRUE)
})

test_that("coordinate descent never increases the loss and meets the KKT conditions", {
  p <- planted(40, 50, 3, seed = 31)
  for (sparse in c(FALSE, TRUE)) {
    x <- if (sparse) Matrix::Matrix(p$x, sparse = TRUE) else p$x
    fit <- suppressWarnings(nmf(x, 4, beta = 1, solver = "cd", maxit = 60, tol = 0, seed = 2))
    tr <- fit$trace$loss
    expect_true(all(diff(tr) <= 1e-10 * tr[-length(tr)]), label = sprintf("CD monotone sparse = %s", sparse))
    expect_equal(fit$loss, ref_div(p$x, fitted(fit), 1), tolerance = 1e-10)
  }
  fit <- nmf(p$x, 3, beta = 1, solver = "cd", maxit = 5000, tol = 1e-14, seed = 1)
  w <- basis(fit)
  h <- coef(fit)
  q <- ifelse(p$x == 0, 1, 1 - p$x / (w %*% h)) # d KL / d(WH); 1 where x = 0, even at WH = 0
  gw <- q %*% t(h)
  gh <- t(w) %*% q
  expect_gt(min(gw / rowSums(h)[col(gw)]), -1e-6)  # gradients non-negative
  expect_gt(min(gh / colSums(w)[row(gh)]), -1e-6)
  expect_lt(max(abs(w * gw)) / max(w * rowSums(h)[col(w)]), 1e-6) # complementary slackness
  expect_lt(max(abs(h * gh)) / max(h * colSums(w)[row(h)]), 1e-6)
  # the same optimum as the multiplicative updates reach, from the same start
  mu <- suppressWarnings(nmf(p$x, 3, beta = 1, solver = "mu", maxit = 20000, tol = 1e-14, seed = 1))
  expect_lte(fit$loss, mu$loss * (1 + 1e-7))
})

test_that("a coordinate-descent step to the bound never empties the model at a positive entry", {
  # Columns with one positive entry and large column sums of G: the Newton
  # steps go to the bound, coordinate after coordinate, until one coordinate
  # alone makes y at that entry; its step to the bound would empty y there
  # (an infinite loss).  y - f_k g_k leaves a rounding residue of either
  # sign, and a positive one used to pass for a finite gain: about a third
  # of these columns ended all zero, the loss infinite, and which ones
  # turned on the last bit of y (so a fit in blocks, whose start differs by
  # rounding, parted from the fit in memory).
  set.seed(1)
  r <- 3
  m <- 8L
  n <- 400L
  g <- matrix(stats::runif(r * m, 0.5, 2), r, m)
  x <- matrix(0, m, n)
  x[1, ] <- stats::runif(n, 0.01, 0.2)
  f0 <- matrix(stats::runif(r * n, 0.5, 2), r, n)
  col_kl <- function(f) colSums(ifelse(x > 0, x * log(x / crossprod(g, f)), 0) - x + crossprod(g, f))
  data <- list(dense = x, sparse = NULL, dims = c(m, n), hold = NULL)
  ctl <- list(solver = 3L, beta = 1, inner = 1L, inner_tol = 0, l1 = 0, l2 = 0, threads = 1L, update = TRUE,
              loss = FALSE)
  for (baseline in c(FALSE, TRUE)) {
    old <- betanmf:::simd_baseline(baseline)
    f <- .Call(betanmf:::C_block_half, data, f0, g, ctl)$f
    betanmf:::simd_baseline(old)
    info <- if (baseline) "baseline build" else "machine's build"
    expect_true(all(crossprod(g, f)[1, ] > 0), label = info)
    expect_true(all(col_kl(f) <= col_kl(f0)), label = info)
    expect_equal(f, ref_cd_half(x, f0, g), tolerance = 1e-12, label = info)
  }
})

test_that("coordinate descent reads a zero observed column sum of G as zero, whatever the held-out rows", {
  # s_k, the sum of g_k over a column's observed rows, is the column sum
  # less the held-out rows' share: here (0.1 + 0.2) - 0.1 - 0.2, a residue
  # of 2.8e-17, not 0.  Its sign decides f_k where the loss is linear in
  # f_k (column 1: no positive entry; column 2: g_k = 0 at the positive
  # one): a positive residue sent f_k to the bound, a negative one would
  # have kept it, so the step turned on rounding.  With s_k = 0 the loss
  # does not depend on f_k, which stays.
  g <- rbind(c(0, 0, 0, 0.1, 0.2), c(1, 2, 1, 3, 1))
  x <- cbind(c(0, 0, 0, 5, 7), c(2, 0, 0, 5, 7))
  held <- matrix(c(FALSE, FALSE, FALSE, TRUE, TRUE), 5, 2)
  xz <- x
  xz[held] <- 0
  f0 <- matrix(c(0.7, 0.4, 0.7, 0.4), 2, 2)
  data <- list(dense = xz, sparse = NULL, dims = c(5L, 2L), hold = list(p = c(0L, 2L, 4L), i = c(3L, 4L, 3L, 4L)))
  ctl <- list(solver = 3L, beta = 1, inner = 1L, inner_tol = 0, l1 = 0, l2 = 0, threads = 1L, update = TRUE,
              loss = FALSE)
  f <- .Call(betanmf:::C_block_half, data, f0, g, ctl)$f
  ref <- ref_cd_half(xz, f0, g, observed = !held)
  expect_identical(f[1, ], c(0.7, 0.7))
  expect_equal(f, ref, tolerance = 1e-12)
  # sparse storage of the same column
  sp <- methods::as(Matrix::Matrix(xz, sparse = TRUE), "CsparseMatrix")
  data_sp <- list(dense = NULL, sparse = list(p = sp@p, i = sp@i, x = sp@x), dims = c(5L, 2L), hold = data$hold)
  expect_identical(.Call(betanmf:::C_block_half, data_sp, f0, g, ctl)$f, f)
})

test_that("coordinate descent is the beta = 1 default, on dense and sparse data alike, masked or not", {
  p <- planted(20, 25, 2, seed = 32)
  expect_identical(nmf(p$x, 2, beta = 1, seed = 1)$solver, "cd")
  expect_identical(nmf(Matrix::Matrix(p$x, sparse = TRUE), 2, beta = 1, seed = 1)$solver, "cd")
  expect_identical(suppressWarnings(nmf(Matrix::Matrix(p$x, sparse = TRUE), 2, beta = 1.5, seed = 1))$solver, "mu")
  expect_identical(nmf(p$x, 2, beta = 2, seed = 1)$solver, "hals")
  held <- matrix(FALSE, 20, 25)
  held[3, 4] <- TRUE
  expect_identical(suppressWarnings(nmf(p$x, 2, beta = 1, seed = 1, mask = held))$solver, "cd")
  expect_identical(suppressWarnings(nmf(p$x, 2, beta = 1, seed = 1, mask = held, solver = "mu"))$solver, "mu")
  expect_error(nmf(p$x, 2, beta = 1.5, solver = "cd"), "beta = 1 loss only")
  f1 <- suppressWarnings(nmf(p$x, 2, beta = 1, solver = "cd", seed = 3, maxit = 30, tol = 0, threads = 1))
  f2 <- suppressWarnings(nmf(p$x, 2, beta = 1, solver = "cd", seed = 3, maxit = 30, tol = 0, threads = 2))
  expect_identical(f1$w, f2$w)
  expect_identical(f1$h, f2$h)
  # an exact planted zero pattern is reached exactly, which MU only approaches
  set.seed(33)
  w <- matrix(stats::rexp(60 * 3), 60, 3) * (matrix(stats::runif(60 * 3), 60, 3) > 0.4)
  h <- matrix(stats::rexp(3 * 40), 3, 40) * 20
  x <- matrix(stats::rpois(60 * 40, w %*% h), 60, 40)
  cd <- nmf(x, 3, beta = 1, seed = 1, maxit = 2000)
  expect_gt(sum(basis(cd) == 0), 0.2 * sum(w == 0))
})

test_that("KKT conditions hold at HALS convergence", {
  p <- planted(25, 30, 3, seed = 4)
  fit <- nmf(p$x, 3, beta = 2, maxit = 5000, tol = 1e-13, seed = 1)
  w <- basis(fit)
  h <- coef(fit)
  r <- w %*% h - p$x
  gw <- r %*% t(h)
  gh <- t(w) %*% r
  sw <- max(abs(p$x %*% t(h)))
  sh <- max(abs(t(w) %*% p$x))
  expect_gt(min(gw) / sw, -1e-5)           # gradient non-negative
  expect_gt(min(gh) / sh, -1e-5)
  expect_lt(max(abs(w * gw)) / max(w * sw), 1e-5) # complementary slackness
  expect_lt(max(abs(h * gh)) / max(h * sh), 1e-5)
})

test_that("HALS takes the loss directly where its expansion would cancel (a near-exact fit)", {
  # exact rank-3 data from a start near the truth: within a few iterations
  # the loss is far below ||X||^2 / 2 * 1e-6, where the expansion from the
  # products (hals_loss) is rounding noise, or clipped to 0, which stopped
  # the fit as if it were exact
  set.seed(2)
  m <- 60
  n <- 45
  w <- matrix(0, m, 3)
  w[cbind(1:m, rep(1:3, length.out = m))] <- rexp(m) + 1
  h <- matrix(rexp(3 * n), 3, n)
  x <- w %*% h
  set.seed(9)
  init <- list(w = w * runif(length(w), 0.9, 1.1) + 0.01, h = h)
  a <- nmf(x, 3, beta = 2, solver = "hals", maxit = 8, tol = 0, init = init)
  expect_identical(a$iterations, 8L)
  loss <- a$trace$loss
  expect_true(all(loss > 0))
  expect_lt(loss[length(loss)], 1e-12 * sum(x^2) / 2)
  # the loss of the returned factors, in plain R
  expect_equal(a$loss, sum((x - a$w %*% a$h)^2) / 2, tolerance = 1e-3)
  expect_equal(loss[length(loss)], a$loss, tolerance = 1e-12)
})

test_that("sparse and dense input give the same fit", {
  p <- planted(30, 40, 3, seed = 5)
  xs <- Matrix::Matrix(p$x, sparse = TRUE)
  for (case in list(list(1, "mu"), list(1, "cd"), list(2, "auto"), list(1.5, "auto"))) {
    beta <- case[[1]]
    fd <- suppressWarnings(nmf(p$x, 3, beta = beta, solver = case[[2]], seed = 9, maxit = 100))
    fs <- suppressWarnings(nmf(xs, 3, beta = beta, solver = case[[2]], seed = 9, maxit = 100))
    expect_equal(fs$w, fd$w, tolerance = 1e-6)
    expect_equal(fs$h, fd$h, tolerance = 1e-6)
    expect_true(fs$sparse)
  }
})

test_that("verbose prints the loss that fit$loss reports, with the run number for restarts", {
  p <- planted(30, 40, 3, seed = 16)
  x <- p$x * 1000 # far from the solvers' internal scale (mean about 1)
  last_loss <- function(out) as.numeric(sub(".*loss ([^ ]+) .*", "\\1", out[length(out)]))
  for (case in list(list(beta = 2, solver = "hals"), list(beta = 1, solver = "cd"),
                    list(beta = 1.5, solver = "mu"))) {
    out <- capture.output(fit <- suppressWarnings(nmf(x, 3, beta = case$beta, solver = case$solver, seed = 1,
                                                      maxit = 40, verbose = TRUE)))
    expect_true(length(out) >= 2, label = case$solver)
    expect_match(out, "^iteration +[0-9]+  loss ", all = TRUE)
    expect_equal(last_loss(out), fit$loss, tolerance = 1e-6, label = case$solver)
    expect_equal(last_loss(out), beta_divergence(x, fitted(fit), case$beta), tolerance = 1e-6)
  }
  out <- capture.output(fit <- suppressWarnings(nmf(x, 3, beta = 1, nrun = 2, seed = 1, maxit = 40,
                                                    verbose = TRUE)))
  expect_match(out, "^run [12]  iteration ", all = TRUE)
  runs <- as.integer(sub("^run ([0-9]+) .*", "\\1", out))
  expect_setequal(unique(runs), 1:2)
  expect_equal(last_loss(out[runs == fit$best]), fit$loss, tolerance = 1e-6)
  expect_equal(last_loss(out[runs != fit$best]), fit$runs[[3 - fit$best]]$loss, tolerance = 1e-6)
})

test_that("restarts from a deterministic start are an error that names the fix", {
  p <- planted(30, 40, 3, seed = 17)
  # the NNDSVD starts of two runs' streams point the same way, random ones do not
  streams <- betanmf:::rng_streams(1L, 2L)
  xd <- p$x * 1 # double, as prepare_data() hands it over
  starts <- function(init) {
    lapply(streams, function(s) betanmf:::with_stream(s, betanmf:::init_factors(xd, 3, init, mean(xd))))
  }
  min_cosine <- function(st) min(diag(cosine_similarity(st[[1]]$w, st[[2]]$w)))
  for (init in c("nndsvd", "nndsvda", "nndsvdar")) expect_gt(min_cosine(starts(init)), 0.95, label = init)
  expect_lt(min_cosine(starts("random")), 0.9)
  for (init in c("nndsvd", "nndsvda", "nndsvds", "nndsvdar")) {
    expect_error(nmf(p$x, 3, beta = 1, nrun = 10, seed = 1, init = init),
                 sprintf("init = \"%s\".*nrun = 10 runs would all start from the same point.*init = \"random\"", init),
                 label = init)
  }
  start <- list(w = p$w, h = p$h)
  expect_error(nmf(p$x, 3, beta = 1, nrun = 2, seed = 1, init = start), "list\\(w, h\\) is one point.*init = \"random\"")
  # a single run from them, and restarts from random starts, are fine
  expect_identical(suppressWarnings(nmf(p$x, 3, beta = 1, seed = 1, init = "nndsvda", maxit = 5))$init, "nndsvda")
  expect_identical(suppressWarnings(nmf(p$x, 3, beta = 1, nrun = 2, seed = 1, maxit = 5))$init, "random")
})

# Coordinate descent can turn on the last bit of its start or of a sum: a
# step to the bound that would empty a fitted value at a positive count is
# taken, or halved, by rounding (found on case 1 below: dense and sparse fits
# 1e-2 apart from starts 1e-15 apart).  So a fit is storage-independent only
# if dense and sparse data give the same bits: the same NNDSVD start
# (src/range.c) and the same sums in every coordinate step (src/kl_cd.c).
test_that("the starts are the same bits for a matrix and its dgCMatrix copy", {
  set.seed(71)
  x <- matrix(stats::rpois(70 * 50, 0.6), 70, 50) * 1
  x[, 1:12] <- stats::rpois(70 * 12, 6)   # some mostly positive columns
  x[9, ] <- 0
  x[, 30] <- 0
  dd <- betanmf:::prepare_data(x, beta = 1)
  ds <- betanmf:::prepare_data(Matrix::Matrix(x, sparse = TRUE), beta = 1)
  expect_true(ds$sparse)
  mean_d <- sum(dd$dense) / dd$n_obs
  mean_s <- sum(ds$sp$x) / ds$xscale / ds$n_obs
  expect_identical(mean_s, mean_d)
  # rank 25: a sketch of 35 columns, past the kernels' 32 (done in blocks)
  for (rank in c(1, 4, 25)) {
    for (init in betanmf:::init_methods) {
      set.seed(3)
      a <- betanmf:::init_factors(dd$xs, rank, init, mean_d, dd$xscale)
      set.seed(3)
      b <- betanmf:::init_factors(ds$xs, rank, init, mean_s, ds$xscale)
      expect_identical(b, a, label = sprintf("sparse start, rank %d, init %s", rank, init))
    }
  }
})

test_that("one coordinate-descent iteration is the same bits on dense and sparse data", {
  set.seed(72)
  for (r in c(1, 3, 7)) {
    x <- matrix(stats::rpois(40 * 30, 0.4), 40, 30) * 1
    x[, 1:10] <- stats::rpois(40 * 10, 5)  # walked whole (mostly positive)
    x[, 11] <- c(rep(0, 19), rep(2, 21))    # just over half positive
    x[3, ] <- 0
    x[, 20] <- 0
    w <- matrix(stats::runif(40 * r) + 0.05, 40, r)
    h <- matrix(stats::runif(r * 30) + 0.05, r, 30)
    fd <- one_step(x, w, h, 1, "cd")
    fs <- one_step(Matrix::Matrix(x, sparse = TRUE), w, h, 1, "cd")
    expect_identical(fs$w, fd$w, label = sprintf("sparse W, rank %d", r))
    expect_identical(fs$h, fd$h, label = sprintf("sparse H, rank %d", r))
  }
})

test_that("coordinate descent's sparse W half, block by block of rows, equals the plain-R update", {
  # 4500 rows at rank 2: the W half sorts the user's CSC arrays into rows in
  # blocks of 2048 (src/kl_cd.c, data.c's table), three blocks here
  set.seed(73)
  m <- 4500
  x <- matrix(stats::rpois(m * 7, 0.4), m, 7) * 1
  x[, 7] <- stats::rpois(m, 4) + 1            # a column walked whole in the H half
  x[c(10, 2100, 4400), ] <- 0                 # empty rows in each block
  x[2048:2049, 1:6] <- 3                      # rows either side of a block edge
  held <- matrix(FALSE, m, 7)
  held[cbind(c(5, 2047, 2050, 4499), c(1, 7, 2, 7))] <- TRUE
  w <- matrix(stats::runif(m * 2) + 0.05, m, 2)
  h <- matrix(stats::runif(2 * 7) + 0.05, 2, 7)
  xs <- Matrix::Matrix(x, sparse = TRUE)
  for (threads in 1:2) {
    ref <- ref_cd(x, w, h)
    fs <- one_step(xs, w, h, 1, "cd", threads = threads)
    expect_equal(fitted(fs), ref$w %*% ref$h, tolerance = 1e-12, ignore_attr = TRUE)
    expect_identical(fs$w, one_step(x, w, h, 1, "cd")$w)
    refm <- ref_cd(x, w, h, observed = !held)
    fm <- one_step(xs, w, h, 1, "cd", mask = held, threads = threads)
    expect_equal(fitted(fm), refm$w %*% refm$h, tolerance = 1e-12, ignore_attr = TRUE)
    expect_identical(fm$w, one_step(x, w, h, 1, "cd", mask = held)$w)
  }
})

test_that("a matrix and its dgCMatrix copy give the same beta = 1 fit", {
  rel <- function(a, b) max(abs(a - b)) / max(abs(b))
  poisson_set <- function(m, n, r, scale, seed) {
    set.seed(seed)
    w <- matrix(stats::rexp(m * r), m, r)
    h <- matrix(stats::rexp(r * n), r, n)
    matrix(stats::rpois(m * n, scale * w %*% h), m, n) * 1
  }
  cases <- list()
  x <- poisson_set(120, 90, 4, 0.5, 2)      # 1: where the fits parted before
  x[5, ] <- 0
  x[, 7] <- 0
  cases[[1]] <- list(x = x, rank = 4)
  x <- poisson_set(60, 45, 1, 0.05, 3)      # 2: rank 1, about 5 % non-zero
  x[2, ] <- 0
  x[, 3] <- 0
  cases[[2]] <- list(x = x, rank = 1)
  x <- poisson_set(80, 50, 3, 0.1, 4)       # 3: many zeros, some dense columns
  x[, 1:8] <- stats::rpois(80 * 8, 4)
  cases[[3]] <- list(x = x, rank = 3)
  cases[[4]] <- list(x = poisson_set(40, 60, 5, 0.3, 5), rank = 25) # 4: a 35-column sketch
  for (i in seq_along(cases)) {
    x <- cases[[i]]$x
    xs <- Matrix::Matrix(x, sparse = TRUE)
    expect_s4_class(xs, "dgCMatrix")
    for (solver in c("auto", "cd")) {
      what <- sprintf("case %d, solver = \"%s\"", i, solver)
      fd <- suppressWarnings(nmf(x, cases[[i]]$rank, beta = 1, solver = solver, seed = 1, maxit = 300))
      fs <- suppressWarnings(nmf(xs, cases[[i]]$rank, beta = 1, solver = solver, seed = 1, maxit = 300))
      expect_identical(fs$solver, "cd", label = paste(what, "solver"))
      expect_identical(fs$iterations, fd$iterations, label = paste(what, "iterations"))
      expect_lt(rel(fs$w, fd$w), 1e-8, label = paste(what, "W"))
      expect_lt(rel(fs$h, fd$h), 1e-8, label = paste(what, "H"))
      expect_equal(fs$loss, fd$loss, tolerance = 1e-12, label = paste(what, "loss"))
    }
  }
  # explicit stored zeros, restarts and two threads
  x <- cases[[3]]$x
  xs <- Matrix::Matrix(x, sparse = TRUE)
  xs@x[seq(1, length(xs@x), by = 5)] <- 0
  expect_true(any(xs@x == 0))
  fd <- suppressWarnings(nmf(as.matrix(xs), 3, beta = 1, nrun = 2, seed = 4, maxit = 200, threads = 2))
  fs <- suppressWarnings(nmf(xs, 3, beta = 1, nrun = 2, seed = 4, maxit = 200, threads = 2))
  expect_identical(fs$solver, "cd")
  expect_lt(rel(fs$w, fd$w), 1e-8)
  expect_lt(rel(fs$h, fd$h), 1e-8)
})

test_that("a seed reproduces the fit exactly and threads do not change it", {
  p <- planted(30, 40, 3, seed = 6)
  xs <- Matrix::Matrix(p$x, sparse = TRUE)
  for (x in list(p$x, xs)) {
    for (beta in c(2, 1, 0.5)) {
      a <- suppressWarnings(nmf(x, 3, beta = beta, init = "random", seed = 42, maxit = 50))
      b <- suppressWarnings(nmf(x, 3, beta = beta, init = "random", seed = 42, maxit = 50))
      c2 <- suppressWarnings(nmf(x, 3, beta = beta, init = "random", seed = 42, maxit = 50, threads = 2))
      expect_identical(a$w, b$w)
      expect_identical(a$h, c2$h)
      expect_identical(a$w, c2$w)
      expect_identical(a$trace, c2$trace)
    }
  }
  set.seed(5)
  before <- runif(1)
  set.seed(5)
  invisible(nmf(p$x, 2, seed = 1, init = "random"))
  expect_identical(runif(1), before) # the user's RNG stream is untouched
})

test_that("a planted factorization is recovered", {
  set.seed(8)
  w <- matrix(0, 40, 3)
  w[1:15, 1] <- 1; w[13:28, 2] <- 1; w[26:40, 3] <- 1
  h <- matrix(rexp(3 * 60), 3, 60) * 50
  x <- w %*% h
  for (beta in c(2, 1)) {
    fit <- suppressWarnings(nmf(x, 3, beta = beta, maxit = 3000, tol = 1e-12, seed = 3))
    expect_lt(sqrt(sum((fitted(fit) - x)^2) / sum(x^2)), 1e-3)
    cos <- abs(crossprod(scale(basis(fit), FALSE, sqrt(colSums(basis(fit)^2))),
                         scale(w, FALSE, sqrt(colSums(w^2)))))
    expect_true(all(apply(cos, 2, max) > 0.99))
  }
})

test_that("the fit object follows the numerics contract", {
  p <- planted(20, 25, 3, seed = 7)
  rownames(p$x) <- paste0("r", 1:20)
  colnames(p$x) <- paste0("c", 1:25)
  fit <- nmf(p$x, 3, beta = 1, seed = 1)
  expect_s3_class(fit, "nmf_fit")
  expect_equal(unname(colSums(basis(fit))), rep(1, 3))
  expect_false(is.unsorted(rev(rowSums(coef(fit)))))
  expect_identical(rownames(basis(fit)), rownames(p$x))
  expect_identical(colnames(coef(fit)), colnames(p$x))
  expect_true(all(c("w", "h", "beta", "rank", "loss", "trace", "iterations", "converged",
                    "solver", "call", "seed") %in% names(fit)))
  expect_equal(fit$solver, "cd")
  expect_equal(nmf(p$x, 2, seed = 1)$solver, "hals")
  expect_equal(nmf(p$x, 2, solver = "mu", seed = 1)$solver, "mu")
})

test_that("the thin products of the randomized SVD equal R's", {
  set.seed(3)
  x <- matrix(runif(50 * 40), 50, 40)
  for (k in c(1, 7, 32, 33)) {
    q <- matrix(rnorm(40 * k), 40, k)
    q2 <- matrix(rnorm(50 * k), 50, k)
    expect_equal(betanmf:::thin_mult(x, q), x %*% q, tolerance = 1e-13)
    expect_equal(betanmf:::thin_crossprod(x, q2), crossprod(x, q2), tolerance = 1e-13)
  }
  # a dgCMatrix (with an empty row and column) through the sparse C path,
  # against R's dense products; xscale divides exactly
  xs <- x * (matrix(runif(50 * 40), 50, 40) < 0.2)
  xs[7, ] <- 0
  xs[, 11] <- 0
  sp <- Matrix::Matrix(xs, sparse = TRUE)
  expect_s4_class(sp, "dgCMatrix")
  for (k in c(1, 7, 40)) {
    q <- matrix(rnorm(40 * k), 40, k)
    q2 <- matrix(rnorm(50 * k), 50, k)
    expect_equal(betanmf:::thin_mult(sp, q), xs %*% q, tolerance = 1e-13)
    expect_equal(betanmf:::thin_crossprod(sp, q2), crossprod(xs, q2), tolerance = 1e-13)
    expect_identical(betanmf:::thin_mult(sp, q, 8), betanmf:::thin_mult(sp / 8, q))
  }
})

test_that("the randomized SVD of the NNDSVD starts is exact when the sketch is full, dense and sparse", {
  set.seed(4)
  x <- matrix(rexp(30 * 18), 30, 18) * (matrix(runif(30 * 18), 30, 18) < 0.5)
  x[5, ] <- 0
  ref <- svd(x / 4)
  for (xs in list(x, Matrix::Matrix(x, sparse = TRUE))) {
    # rank 8: k = min(8 + 10, 30, 18) = 18 = ncol, the whole range
    s <- betanmf:::truncated_svd(xs, 8, xscale = 4)
    expect_equal(s$d, ref$d[1:8], tolerance = 1e-10)
    expect_equal(abs(s$u), abs(ref$u[, 1:8]), tolerance = 1e-8)
    expect_equal(abs(t(s$vt[1:8, ])), abs(ref$v[, 1:8]), tolerance = 1e-8)
    expect_equal(crossprod(s$u), diag(8), tolerance = 1e-12)
  }
  # rank deficient (exact rank 2 with a sketch of 12): still orthonormal,
  # the two leading values right and the rest zero
  lo <- tcrossprod(matrix(runif(30 * 2), 30), matrix(runif(18 * 2), 18))
  s <- betanmf:::truncated_svd(Matrix::Matrix(lo, sparse = TRUE), 2)
  expect_equal(s$d, svd(lo)$d[1:2], tolerance = 1e-10)
  # sketches from well to badly conditioned (singular values down to 1e-6,
  # 1e-7, 1e-8 of the first, along random directions): Cholesky QR twice, or
  # the Householder fallback where its Cholesky fails or its first pass is
  # too far from orthonormal -- the basis is orthonormal every time
  u <- qr.Q(qr(matrix(rnorm(60 * 12), 60)))
  v <- qr.Q(qr(matrix(rnorm(40 * 12), 40)))
  for (e in c(6, 7, 8)) {
    xe <- u %*% (10^seq(0, -e, length.out = 12) * t(v))
    s <- betanmf:::truncated_svd(xe, 11)
    expect_equal(crossprod(s$u), diag(11), tolerance = 1e-12, label = sprintf("orthonormal basis, 1e-%d", e))
    expect_equal(s$d[1:3], svd(xe)$d[1:3], tolerance = 1e-10)
  }
})

test_that("the range finder allocates its thin buffers once, sized per side", {
  # on a tall 5000 x 38 matrix at rank 3 (a sketch of 13) the range finder
  # took 7.1 MB a start: each CholeskyQR pass took a fresh 1 MiB scratch
  # chunk, and both thin buffers were sized to the longer side; 3.6 MB since,
  # with two 1 MiB chunks and orth()'s own buffer; 2.4 MB with the scratch in
  # one chunk of what it needs and orth() working in the results' space
  skip_if_not(capabilities("profmem"))
  set.seed(7)
  x <- matrix(stats::rexp(5000 * 38), 5000, 38)
  set.seed(1)
  s0 <- betanmf:::truncated_svd(x, 3) # load everything first
  f <- tempfile()
  on.exit(unlink(f), add = TRUE)
  set.seed(1)
  utils::Rprofmem(f, threshold = 0)
  s <- betanmf:::truncated_svd(x, 3)
  utils::Rprofmem(NULL)
  l <- readLines(f)
  l <- l[grepl("^[0-9]+ :", l)]
  bytes <- as.numeric(sub(" :.*", "", l))
  expect_lt(sum(bytes) / 2^20, 3,
            label = "MB allocated by truncated_svd() (the range finder's .Call and the SVD of its sketch)")
  expect_identical(s, s0)
  expect_equal(s$d[1], svd(x, 0, 0)$d[1], tolerance = 1e-4) # the dominant value of a positive matrix
})

test_that("the range finder draws Omega as stats::rnorm() and takes B's SVD as La.svd() (issue 24)", {
  # truncated_svd() draws Omega in C, into the range finder's own buffer,
  # and takes the SVD of B by dgesdd in place: the twin is the R code it
  # replaced (Omega from stats::rnorm(n * k), the range finder given it,
  # La.svd() of B), which must give the same bits and leave the same RNG
  # state, under the default normal kind and another one
  set.seed(21)
  x <- matrix(rpois(60 * 45, 1.2), 60, 45) * 1
  old_kind <- RNGkind()
  on.exit(RNGkind(old_kind[1], old_kind[2], old_kind[3]), add = TRUE)
  for (kind in c("Inversion", "Box-Muller")) {
    RNGkind(normal.kind = kind)
    for (xs in list(x, Matrix::Matrix(x, sparse = TRUE))) {
      for (rank in c(3L, 40L)) {
        k <- min(rank + 10L, dim(x))
        set.seed(5)
        s <- betanmf:::truncated_svd(xs, rank, xscale = 2)
        seed_after <- .Random.seed
        set.seed(5)
        omega <- matrix(stats::rnorm(ncol(x) * k), ncol(x), k)
        sparse <- inherits(xs, "dgCMatrix")
        sp <- if (sparse) list(p = xs@p, i = xs@i, x = xs@x)
        qb <- .Call(betanmf:::C_range_finder, if (sparse) NULL else xs, sp, dim(xs), omega, 2, 1L, 0L)
        ref <- La.svd(qb$b, nu = k, nv = k) # the same dgesdd call as nu = nv = rank (jobu "S")
        lab <- sprintf("%s, %s, rank %d", kind, if (sparse) "sparse" else "dense", rank)
        expect_identical(.Random.seed, seed_after, label = paste("the RNG state after the draws,", lab))
        expect_identical(s$d, ref$d[seq_len(rank)], label = paste("d,", lab))
        expect_identical(s$u, qb$q %*% ref$u[, seq_len(rank), drop = FALSE], label = paste("u,", lab))
        expect_identical(s$vt, ref$vt, label = paste("vt,", lab))
      }
    }
  }
})

test_that("the NNDSVD start of a wide sparse matrix allocates no more than about five n x k matrices (issue 24)", {
  # R's bytes allocated by truncated_svd() (Rprofmem counts R_alloc too) on a
  # 300 x 20000 sparse matrix at rank 5 (k = 15), in units of one n x k
  # matrix of doubles: 9.4 when the draws were an R matrix and the SVD
  # La.svd()'s (its copy of B, is.finite() masks, V' and its rows, t());
  # 4.7 with the draws in the range finder's buffer and B's SVD in place
  skip_if_not(capabilities("profmem"))
  set.seed(3)
  x <- Matrix::rsparsematrix(300, 20000, 0.02, rand.x = function(n) stats::rpois(n, 2) + 1)
  svd_only <- function() betanmf:::truncated_svd(x, 5)
  invisible(svd_only()) # load everything first
  tf <- tempfile()
  on.exit(unlink(tf), add = TRUE)
  set.seed(1)
  utils::Rprofmem(tf, threshold = 0)
  svd_only()
  utils::Rprofmem(NULL)
  l <- readLines(tf)
  bytes <- sum(as.numeric(sub(" :.*", "", l[grepl("^[0-9]+ :", l)])))
  expect_lt(bytes / (20000 * 15 * 8), 6, label = "n x k matrices allocated by truncated_svd()")
})

test_that("a fit collects its solver's garbage before making the result (issue 24)", {
  # at 1e6 cells the solver's work (garbage once C_nmf_fit returned) was
  # still in memory while finish_factors() made its n-sized copies of H: the
  # peak of the whole fit.  collect_large() (a full collection when n x rank
  # > 2^20) is called from finish_factors(); the callers are recorded here
  callers <- character()
  record <- function() {
    cs <- sys.calls()
    at <- max(which(vapply(cs, function(cl) identical(cl[[1]], as.name("collect_large")), NA)))
    callers <<- c(callers, deparse(cs[[at - 1L]][[1]]))
  }
  suppressMessages(trace("collect_large", where = asNamespace("betanmf"), print = FALSE,
                         tracer = as.call(list(record))))
  on.exit(suppressMessages(untrace("collect_large", where = asNamespace("betanmf"))), add = TRUE)
  p <- planted(30, 40, 3, seed = 2)
  nmf(p$x, 3, beta = 1, solver = "mu", maxit = 2, tol = 0, seed = 1)
  expect_true("finish_factors" %in% callers, label = paste("callers of collect_large():", toString(callers)))
})

test_that("NNDSVD builds its factors without m-vectors per part (issue 28)", {
  # the R side of NNDSVD, given the SVD: 1.17 MB on 5000 x 38 at rank 3 when
  # each component formed pmax(u, 0), pmax(-u, 0), their squares and the
  # scaled part as whole m-vectors, and the zeros were found twice
  skip_if_not(capabilities("profmem"))
  set.seed(7)
  x <- matrix(stats::rexp(5000 * 38), 5000, 38)
  bytes <- function(f) {
    tf <- tempfile()
    on.exit(unlink(tf))
    set.seed(1)
    utils::Rprofmem(tf, threshold = 0)
    f()
    utils::Rprofmem(NULL)
    l <- readLines(tf)
    sum(as.numeric(sub(" :.*", "", l[grepl("^[0-9]+ :", l)])))
  }
  svd_only <- function() betanmf:::truncated_svd(x, 3)
  start <- function() betanmf:::init_factors(x, 3, "nndsvda", mean(x))
  svd_only(); start() # load everything first
  expect_lt((bytes(start) - bytes(svd_only)) / 2^20, 1.1,
            label = "MB allocated by NNDSVD's R code (init_factors() less truncated_svd())")
})

test_that("every initialisation runs and user inits are checked", {
  p <- planted(20, 25, 3, seed = 8)
  for (init in c("random", "nndsvd", "nndsvda", "nndsvds", "nndsvdar")) {
    fit <- suppressWarnings(nmf(p$x, 3, beta = 2, init = init, seed = 1, maxit = 20))
    expect_true(all(is.finite(fit$w)) && all(fit$w >= 0), label = init)
  }
  # NNDSVD of an exactly rank-one matrix is exact
  u <- runif(10); v <- runif(12)
  x1 <- outer(u, v)
  fit1 <- nmf(x1, 1, init = "nndsvd", maxit = 1, tol = 0, seed = 1)
  expect_equal(fitted(fit1), x1, tolerance = 1e-10, ignore_attr = TRUE)
  expect_error(nmf(p$x, 3, init = "svd"), "'init'")
  expect_error(nmf(p$x, 3, init = list(w = matrix(1, 20, 2), h = matrix(1, 3, 25))), "init\\$w")
  expect_error(nmf(p$x, 3, init = list(w = matrix(1, 20, 3), h = matrix(-1, 3, 25))), "non-negative")
})

test_that("nndsvds fills NNDSVD's zeros with sqrt(mean / rank) and is MU's default start", {
  p <- planted(30, 40, 4, seed = 3)
  p$x <- p$x + 0 # double, as nmf() hands it to init_factors
  mx <- mean(p$x)
  set.seed(11)
  s0 <- betanmf:::init_factors(p$x, 4, "nndsvd", mx)
  set.seed(11)
  s1 <- betanmf:::init_factors(p$x, 4, "nndsvds", mx)
  set.seed(11)
  sa <- betanmf:::init_factors(p$x, 4, "nndsvda", mx)
  expect_true(any(s0$w == 0) && any(s0$h == 0))
  for (f in c("w", "h")) {
    z <- s0[[f]] == 0
    expect_equal(s1[[f]][!z], s0[[f]][!z])
    expect_equal(s1[[f]][z], rep(sqrt(mx / 4), sum(z)))
    expect_equal(sa[[f]][z], rep(mx, sum(z)))
  }
  # the defaults: nndsvds for MU, nndsvda for HALS and CD, random for restarts
  fit_init <- function(...) suppressWarnings(nmf(p$x, 4, maxit = 2, seed = 1, ...))$init
  expect_identical(fit_init(beta = 1, solver = "mu"), "nndsvds")
  expect_identical(fit_init(beta = 1.5), "nndsvds")
  expect_identical(fit_init(beta = 1, solver = "cd"), "nndsvda")
  expect_identical(fit_init(beta = 2), "nndsvda")
  expect_identical(fit_init(beta = 1, solver = "mu", nrun = 2), "random")
  # why: on Poisson counts from few sparse signatures (a mutational-catalog
  # shape) MU gets further in the same iterations from nndsvds (deviance
  # 29480 against 32116 after 20; 28118 against 28151 after 60)
  set.seed(12)
  w <- matrix(stats::rgamma(96 * 5, shape = 0.3), 96, 5)
  w <- sweep(w, 2, colSums(w), "/")
  h <- matrix(stats::rgamma(5 * 300, shape = 0.5, scale = 400), 5, 300)
  x <- matrix(as.double(stats::rpois(96 * 300, w %*% h)), 96, 300)
  x[, colSums(x) == 0] <- 1
  mu_loss <- function(init) deviance(nmf(x, 5, beta = 1, solver = "mu", init = init, maxit = 20, tol = 0, seed = 1))
  expect_lt(mu_loss("nndsvds"), 0.95 * mu_loss("nndsvda"))
})

test_that("bad input gets a clear error naming the problem", {
  x <- matrix(1:20, 4, 5)
  expect_error(nmf(x - 5, 2), "negative")
  xn <- x; xn[2, 3] <- NA
  expect_error(nmf(xn, 2), "NA value.*row 2, column 3")
  xn[2, 3] <- NaN
  expect_error(nmf(xn, 2), "NaN")
  xn[2, 3] <- Inf
  expect_error(nmf(xn, 2), "infinite")
  expect_error(nmf(x, 0), "'rank'")
  expect_error(nmf(x, 1.5), "'rank'")
  expect_error(nmf(x, 5), "min\\(dim\\(x\\)\\) = 4")
  expect_error(nmf(matrix(letters[1:6], 2), 1), "numeric")
  expect_error(nmf(data.frame(a = 1:3, b = factor(1:3)), 1), "non-numeric")
  expect_error(nmf(matrix(numeric(0), 0, 3), 1), "at least one")
  expect_error(nmf(matrix(0, 3, 3), 1), "all zero")
  expect_error(nmf(x, 2, beta = NA), "'beta'")
  expect_error(nmf(x, 2, beta = Inf), "'beta'")
  expect_error(nmf(x, 2, beta = "1"), "'beta'")
  xz <- x; xz[1, 1] <- 0
  expect_error(nmf(xz, 2, beta = 0), "zero entries.*beta = 0.*offset")
  expect_error(nmf(x, 2, beta = 1, solver = "hals"), "solver")
  expect_error(nmf(x, 2, maxit = 0), "'maxit'")
  expect_error(nmf(x, 2, threads = 0), "'threads'")
  expect_error(nmf(x, 2, nrun = 0), "'nrun'")
  expect_error(nmf(x, 2, seed = NA), "'seed'")
  expect_error(nmf(x, 2, control = list(foo = 1)), "control")
  expect_error(nmf("a", 1), "'x'")
})

test_that("inputs: integer, data frame, sparse and Bioconductor containers", {
  p <- planted(15, 12, 2, seed = 9)
  xi <- p$x
  storage.mode(xi) <- "integer"
  f1 <- nmf(xi, 2, beta = 1, seed = 1)
  f2 <- nmf(as.data.frame(p$x), 2, beta = 1, seed = 1)
  expect_equal(f1$w, f2$w, ignore_attr = TRUE)
  skip_if_not_installed("SummarizedExperiment")
  se <- SummarizedExperiment::SummarizedExperiment(assays = list(counts = p$x))
  f3 <- nmf(se, 2, beta = 1, seed = 1, assay = "counts")
  expect_equal(f3$w, f1$w, ignore_attr = TRUE)
})

test_that("an ExpressionSet is factorized through its exprs()", {
  skip_if_not_installed("Biobase")
  p <- planted(15, 12, 2, seed = 9)
  dimnames(p$x) <- list(paste0("g", 1:15), paste0("s", 1:12))
  es <- Biobase::ExpressionSet(p$x)
  f <- nmf(es, 2, beta = 1, seed = 1)
  expect_identical(f$w, nmf(p$x, 2, beta = 1, seed = 1)$w)
  expect_identical(rownames(basis(f)), rownames(p$x))
})

test_that("a fit that hits maxit says so", {
  p <- planted(20, 20, 2, seed = 10)
  expect_warning(fit <- nmf(p$x, 2, beta = 1, maxit = 3, tol = 1e-12), "maxit = 3")
  # tol = 0 asks for exactly maxit iterations: no warning
  expect_no_warning(fit0 <- nmf(p$x, 2, beta = 1, maxit = 3, tol = 0))
  expect_identical(fit0$iterations, 3L)
  expect_false(fit$converged)
})

# The driver (src/nmf.c): named lists in, named list out; the data's layout
# from each solver's plan function; the environment switches read once per
# .Call.
driver_fit <- function(x, beta, solver, w, h, mask = NULL, maxit = 1L, tol = 0, update_w = TRUE) {
  ns <- asNamespace("betanmf")
  d <- ns$prepare_data(x, beta = beta, mask = mask)
  ctl <- ns$solver_control(list(check = 1L, inner = 1L), solver, d$dims, ncol(w), maxit, tol)
  list(d = d, args = ns$solver_args(d, w, h, beta, solver, ctl, update_w, 1L, FALSE))
}
call_driver <- function(args) do.call(.Call, c(list(asNamespace("betanmf")$C_nmf_fit), unname(args)))

test_that("the driver returns every output as a named element, converged included", {
  p <- planted(12, 10, 2, seed = 31)
  set.seed(1)
  w <- matrix(stats::runif(24) + 0.5, 12, 2)
  h <- matrix(stats::runif(20) + 0.5, 2, 10)
  ns <- asNamespace("betanmf")
  d <- ns$prepare_data(p$x, beta = 1)
  solve <- function(maxit, tol) {
    ctl <- ns$solver_control(list(check = 1L), "mu", d$dims, 2L, maxit, tol)
    ns$run_solver(d, w, h, 1, "mu", ctl, TRUE, 1L, FALSE)
  }
  res <- solve(2L, 0)
  expect_named(res, c("wt", "h", "trace", "trace_iter", "iterations", "loss", "sweeps", "converged", "layout",
                      "trace_penalty", "penalty", "lam"))
  expect_identical(names(attributes(res)), "names") # no attribute carries an output
  expect_identical(res$converged, FALSE) # tol = 0: exactly maxit iterations
  expect_identical(res$iterations, 2L)
  # a fit that stops on tol says so in the element
  res <- solve(500L, 0.5)
  expect_identical(res$converged, TRUE)
  expect_lt(res$iterations, 500L)
})

test_that("the driver reads control, data and held-out lists by name, in any order", {
  p <- planted(12, 10, 2, seed = 32)
  set.seed(2)
  w <- matrix(stats::runif(24) + 0.5, 12, 2)
  h <- matrix(stats::runif(20) + 0.5, 2, 10)
  mask <- matrix(FALSE, 12, 10)
  mask[cbind(c(1, 5, 9, 12), c(2, 2, 7, 10))] <- TRUE
  xs <- methods::as(Matrix::Matrix(p$x, sparse = TRUE), "CsparseMatrix")
  for (x in list(p$x, xs)) {
    run <- driver_fit(x, 1.5, "mu", w, h, mask = mask)
    a <- run$args
    a$control <- rev(a$control)
    a$data <- rev(a$data)
    if (!is.null(a$data$sparse)) a$data$sparse <- rev(a$data$sparse)
    a$data$hold <- rev(a$data$hold)
    res <- call_driver(a)
    # one multiplicative iteration, by the plain-R twin on the internal units
    xi <- as.matrix(x) / run$d$scale
    ref <- ref_mu(xi, w, h, 1.5, keep = !mask)
    expect_equal(t(res$wt), ref$w, tolerance = 1e-10)
    expect_equal(res$h, ref$h, tolerance = 1e-10)
  }
  # a missing element is an internal error that names it
  run <- driver_fit(xs, 1, "mu", w, h)
  a <- run$args
  a$control$tol <- NULL
  expect_error(call_driver(a), "internal error: missing 'tol'")
  a <- run$args
  a$control$maxit <- NA_real_
  expect_error(call_driver(a), "internal error: 'maxit' must be an integer")
  a <- run$args
  a$data$sparse$x <- NULL
  expect_error(call_driver(a), "internal error: missing 'x'")
  a <- run$args
  a$data$sparse$i <- a$data$sparse$i + 100L
  expect_error(call_driver(a), "internal error: 'i' out of range")
})

test_that("the range finder and thin products read sparse lists by name", {
  ns <- asNamespace("betanmf")
  set.seed(3)
  x <- matrix(stats::rpois(40 * 12, 1), 40, 12)
  xs <- methods::as(Matrix::Matrix(x, sparse = TRUE), "CsparseMatrix")
  q <- matrix(stats::rnorm(40 * 3), 40, 3)
  sp <- list(x = xs@x, i = xs@i, p = xs@p) # not the slots' order
  got <- t(.Call(ns$C_thin_product, NULL, sp, dim(xs), q, TRUE, FALSE))
  expect_equal(got, crossprod(x, q), tolerance = 1e-12)
  omega <- matrix(stats::rnorm(12 * 4), 12, 4)
  qb <- .Call(ns$C_range_finder, NULL, sp, dim(xs), omega, 1, 1L, 0L)
  expect_named(qb, c("q", "b"))
  expect_equal(crossprod(qb$q), diag(4), tolerance = 1e-10)
  expect_equal(qb$b, crossprod(qb$q, x), tolerance = 1e-10)
})

test_that("each solver's plan sets the data's layout, and the switches are read per fit", {
  p <- planted(60, 50, 2, seed = 33)
  set.seed(4)
  w <- matrix(stats::runif(120) + 0.5, 60, 2)
  h <- matrix(stats::runif(100) + 0.5, 2, 50)
  xs <- methods::as(Matrix::Matrix(p$x, sparse = TRUE), "CsparseMatrix")
  layout <- function(x, beta, solver, ...) call_driver(driver_fit(x, beta, solver, w, h, ...)$args)$layout
  vars <- c("BETANMF_BLAS", "BETANMF_FUSE", "BETANMF_NOFUSE")
  old <- Sys.getenv(vars, NA, names = TRUE)
  on.exit(for (v in vars) if (is.na(old[[v]])) Sys.unsetenv(v) else do.call(Sys.setenv, as.list(old[v])))
  Sys.unsetenv(vars)
  # HALS: a transposed copy below 2^22 entries, the one-pass update (no
  # copy, partial sums) from 2^20 entries or with BETANMF_FUSE
  expect_identical(layout(p$x, 2, "hals")[c("copy", "parts", "fused", "npos", "blas")],
                   c(copy = 1L, parts = 0L, fused = 0L, npos = 0L, blas = 0L))
  # MU: the fused update of dense data at rank <= 4 without held-out
  # entries, for beta = 1 and the power chain; a copy otherwise
  expect_identical(layout(p$x, 1, "mu")[c("copy", "fused")], c(copy = 0L, fused = 1L))
  expect_identical(layout(p$x, 0.5, "mu")[c("copy", "fused")], c(copy = 0L, fused = 1L))
  expect_identical(layout(p$x, 2, "mu")[c("copy", "fused")], c(copy = 1L, fused = 0L))
  expect_identical(layout(p$x, 1, "mu", mask = p$x == 0)[c("copy", "fused")], c(copy = 1L, fused = 0L))
  expect_identical(layout(xs, 1, "mu")[["fused"]], 0L)
  # CD: a copy of dense data and the positive entries counted
  expect_identical(layout(p$x, 1, "cd")[c("copy", "npos")], c(copy = 1L, npos = 1L))
  Sys.setenv(BETANMF_FUSE = "1")
  lay <- layout(p$x, 2, "hals")
  expect_gt(lay[["parts"]], 1L)
  expect_identical(lay[["copy"]], 0L)
  Sys.setenv(BETANMF_NOFUSE = "1")
  expect_identical(layout(p$x, 2, "hals")[["parts"]], 0L)
  expect_identical(layout(p$x, 1, "mu")[c("copy", "fused")], c(copy = 1L, fused = 0L))
  Sys.unsetenv(c("BETANMF_NOFUSE", "BETANMF_FUSE"))
  Sys.setenv(BETANMF_BLAS = "1")
  lay <- layout(p$x, 2, "hals")
  expect_identical(lay[["blas"]], 1L)
  Sys.setenv(BETANMF_FUSE = "1")
  expect_identical(layout(p$x, 2, "hals")[["parts"]], 0L) # the one-pass update needs the kernels
})

test_that("the NNDSVD start allocates its sketch-sized matrices once", {
  skip_if_not(capabilities("profmem"), "R built without memory profiling")
  set.seed(1)
  x <- Matrix::rsparsematrix(100, 5000, 0.02, rand.x = function(k) rpois(k, 2) + 1)
  d <- betanmf:::prepare_data(x, beta = 1)
  rank <- 4L
  sketch <- ncol(x) * (rank + 10) * 8 # n x k doubles, k = rank + 10
  f <- tempfile()
  on.exit(unlink(f), add = TRUE)
  utils::Rprofmem(f, threshold = sketch)
  s <- betanmf:::init_factors(d$xs, rank, "nndsvds", 1, d$xscale)
  utils::Rprofmem(NULL)
  a <- readLines(f)
  bytes <- as.numeric(sub(" *:.*", "", a[grepl("^[0-9]", a)]))
  # n x k doubles (with a vector header): the draws, the range finder's B
  # and its transposed sketch, La.svd's copy of B and its V'; the draws
  # given their dimensions in place, not copied by matrix(): at most five
  expect_lte(sum(bytes >= sketch & bytes <= sketch + 64), 5)
})

test_that("the in-place orthonormalisation and SVD never write over a matrix bound elsewhere", {
  set.seed(3)
  y <- matrix(rnorm(3 * 40), 3, 40)
  z <- y
  keep <- y + 0
  q <- .Call(betanmf:::C_orth, y)
  expect_identical(z, keep)
  expect_identical(y, keep)
  expect_equal(tcrossprod(q), diag(3), tolerance = 1e-12)
  b <- matrix(rnorm(3 * 40), 3, 40)
  b2 <- b
  vt <- matrix(0, 3, 40)
  vt2 <- vt
  keep_b <- b + 0
  s <- .Call(betanmf:::C_svd_s, b, vt)
  expect_identical(b2, keep_b)
  expect_identical(vt2, matrix(0, 3, 40))
  ref <- La.svd(keep_b, nu = 3, nv = 3)
  expect_identical(s$d, ref$d)
  expect_identical(s$vt, ref$vt)
})
