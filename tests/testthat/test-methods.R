test_that("accessors return W, H, the product and the residuals", {
  p <- planted(20, 15, 2, seed = 21)
  fit <- nmf(p$x, 2, beta = 1, seed = 1)
  expect_identical(basis(fit), fit$w)
  expect_identical(coef(fit), fit$h)
  expect_equal(fitted(fit), fit$w %*% fit$h)
  expect_equal(residuals(fit), p$x - fit$w %*% fit$h, ignore_attr = TRUE)
  expect_equal(deviance(fit), 2 * fit$loss)
  expect_equal(nobs(fit), 300)
})

test_that("logLik matches the likelihoods computed directly", {
  p <- planted(20, 15, 2, seed = 22)
  fit <- nmf(p$x, 2, beta = 1, seed = 1)
  y <- fitted(fit)
  ll <- logLik(fit)
  expect_equal(as.numeric(ll), sum(dpois(p$x, y, log = TRUE)), tolerance = 1e-10)
  expect_equal(attr(ll, "df"), 2 * (20 + 15) - 2)
  expect_equal(AIC(fit), -2 * sum(dpois(p$x, y, log = TRUE)) + 2 * attr(ll, "df"), tolerance = 1e-10)

  fit2 <- nmf(p$x, 2, beta = 2, seed = 1)
  y2 <- fitted(fit2)
  s2 <- sum((p$x - y2)^2) / length(p$x)
  expect_equal(as.numeric(logLik(fit2)), sum(dnorm(p$x, y2, sqrt(s2), log = TRUE)), tolerance = 1e-10)
  expect_equal(attr(logLik(fit2), "df"), 2 * 35 - 2 + 1)

  x0 <- p$x + 1
  fit0 <- suppressWarnings(nmf(x0, 2, beta = 0, seed = 1, maxit = 200))
  y0 <- fitted(fit0)
  expect_equal(as.numeric(logLik(fit0)), sum(dexp(x0, 1 / y0, log = TRUE)), tolerance = 1e-10)
  expect_true(is.finite(BIC(fit0)))

  fit15 <- suppressWarnings(nmf(p$x, 2, beta = 1.5, seed = 1, maxit = 20))
  expect_error(logLik(fit15), "beta = 2.*1.*0")
})

test_that("logLik and nobs count only observed entries", {
  p <- planted(20, 15, 2, seed = 23)
  m <- matrix(FALSE, 20, 15)
  m[cbind(1:10, 1:10)] <- TRUE
  fit <- nmf(p$x, 2, beta = 1, seed = 1, mask = m)
  y <- fitted(fit)
  expect_equal(nobs(fit), 290)
  expect_equal(as.numeric(logLik(fit)), sum(dpois(p$x[!m], y[!m], log = TRUE)), tolerance = 1e-10)
  xs <- Matrix::Matrix(p$x, sparse = TRUE)
  fits <- nmf(xs, 2, beta = 1, seed = 1, mask = m)
  expect_equal(as.numeric(logLik(fits)), sum(dpois(p$x[!m], fitted(fits)[!m], log = TRUE)), tolerance = 1e-8)
})

test_that("print and summary are readable", {
  p <- planted(20, 15, 2, seed = 24)
  fit <- nmf(p$x, 2, beta = 1, seed = 1)
  out <- capture.output(print(fit))
  expect_match(out[1], "20 x 15 dense matrix, rank 2, beta = 1")
  expect_true(any(grepl("converged", out)))
  s <- summary(fit)
  expect_s3_class(s, "summary.nmf_fit")
  so <- capture.output(print(s))
  expect_true(any(grepl("log-likelihood", so)))
  expect_true(any(grepl("NMF1", so)))
  fit2 <- nmf(p$x, 2, beta = 2, seed = 1)
  expect_gt(summary(fit2)$r_squared, 0.5)
})

test_that("predict solves for new columns with W fixed", {
  set.seed(25)
  w <- matrix(rexp(30 * 3), 30, 3)
  w <- sweep(w, 2, colSums(w), "/")
  h <- matrix(rexp(3 * 10) * 100, 3, 10)
  x <- w %*% h
  fit <- suppressWarnings(nmf(x, 3, beta = 1, seed = 1, maxit = 5))
  fit$w <- w # a known basis: predict must recover h from exact data
  for (beta in c(1, 2)) {
    fit$beta <- beta
    fit$solver <- if (beta == 2) "hals" else "mu"
    hp <- predict(fit, newdata = x, maxit = 5000, tol = 1e-14)
    expect_equal(unname(hp), h, tolerance = 1e-4)
  }
  # the beta = 2 solve is non-negative least squares: compare with the KKT
  # conditions of the NNLS problem on noisy data
  xn <- x + matrix(rnorm(300, sd = 0.5), 30, 10)^2
  hp <- predict(fit, newdata = xn, maxit = 5000, tol = 1e-15)
  g <- t(w) %*% (w %*% hp - xn)
  expect_gt(min(g), -1e-6 * max(abs(t(w) %*% xn)))
  expect_lt(max(abs(hp * g)), 1e-6 * max(abs(t(w) %*% xn)) * max(hp))
  h0 <- predict(fit, newdata = matrix(0, 30, 2))
  expect_equal(dim(h0), c(3L, 2L))
  expect_true(all(h0 == 0))
  expect_error(predict(fit), "newdata")
  expect_error(predict(fit, newdata = x[1:10, ]), "30 rows")
})

test_that("the beta = 1 solve with W fixed meets the Poisson-regression KKT conditions", {
  set.seed(27)
  w <- matrix(rexp(40 * 5), 40, 5)
  w <- sweep(w, 2, colSums(w), "/")
  h <- matrix(rexp(5 * 12) * 200, 5, 12)
  h[sample(60, 20)] <- 0 # absent components: the optimum sits on the bound
  x <- matrix(rpois(480, w %*% h), 40, 12)
  for (xin in list(x, Matrix::Matrix(x, sparse = TRUE))) {
    hc <- betanmf:::solve_coefficients(w, xin, beta = 1, tol = 1e-12, maxit = 5000)
    y <- w %*% hc
    grad <- t(w) %*% (1 - x / y) # gradient of sum(y - x log y)
    expect_gt(min(grad), -1e-6)
    expect_lt(max(abs(grad[hc > 0])), 1e-6)
    expect_true(any(hc == 0)) # projected Newton steps reach the bound exactly
    # the same optimum as the (slower) multiplicative solver
    hm <- betanmf:::solve_coefficients(w, xin, beta = 1, solver = "mu", tol = 1e-14, maxit = 50000)
    obj <- function(hh) { yy <- w %*% hh; sum(yy - ifelse(x > 0, x * log(yy), 0)) }
    expect_lte(obj(hc), obj(hm) + 1e-8 * abs(obj(hm)))
  }
})

test_that("plots are ggplot objects", {
  p <- planted(20, 15, 2, seed = 26)
  fit <- nmf(p$x, 2, beta = 1, seed = 1)
  for (type in c("trace", "basis", "coef")) {
    g <- autoplot(fit, type = type)
    expect_s3_class(g, "ggplot")
    expect_gt(length(g$layers), 0)
  }
})

# ---- rows meet by name (issue 22, item 1) ------------------------------------

test_that("predict() matches newdata's rows to the fit's by name or canonical SBS order", {
  set.seed(12)
  h <- matrix(rexp(5 * 6) * 300, 5, 6)
  x <- sbs_signatures %*% h
  alpha <- order(rownames(x))
  # a fit whose rows are in alphabetical order, with a known basis
  fit <- suppressWarnings(nmf(x[alpha, ], 5, beta = 1, seed = 1, maxit = 2))
  fit$w <- sbs_signatures[alpha, ]
  recovers <- function(newdata) {
    expect_equal(unname(predict(fit, newdata, maxit = 5000, tol = 1e-14)), unname(h), tolerance = 1e-4)
  }
  recovers(x[alpha, ])
  recovers(x)                # named, another order: by name
  recovers(x[96:1, ])
  recovers(unname(x))        # unnamed 96 rows: canonical order
  recovers(Matrix::Matrix(unname(x), sparse = TRUE))
  expect_error(predict(fit, x[-1, ]), "'newdata' lacks 1 channel\\(s\\) of the data 'object' was fitted on")
  # outside SBS-96: a mix of named and unnamed rows is an error with advice
  g <- matrix(rpois(60, 5) + 1, 20, 3, dimnames = list(paste0("g", 1:20), NULL))
  gfit <- nmf(g, 2, beta = 1, seed = 1)
  expect_equal(predict(gfit, g[20:1, ]), predict(gfit, g))
  expect_error(predict(gfit, unname(g)), "'newdata' has no row names but the data 'object' was fitted on has")
  expect_error(predict(nmf(unname(g), 2, beta = 1, seed = 1), g), "unname\\(newdata\\)")
  expect_error(predict(gfit, rbind(g, extra = 1)),
               "'newdata' has 1 row\\(s\\) that the data 'object' was fitted on lacks: extra")
})

test_that("as.data.frame() puts both factors in one long table that survives a CSV", {
  p <- planted(12, 9, 2, seed = 27)
  x <- p$x
  dimnames(x) <- list(paste0("ch", 1:12), paste0("s", 1:9))
  fit <- nmf(x, 2, beta = 1, seed = 1)
  df <- as.data.frame(fit)
  expect_named(df, c("factor", "name", "index", "component", "value"))
  expect_equal(nrow(df), 12 * 2 + 2 * 9)
  # rebuilt entry by entry from the rows, by name
  w_rows <- df[df$factor == "w", ]
  h_rows <- df[df$factor == "h", ]
  w <- matrix(NA_real_, 12, 2, dimnames = dimnames(fit$w))
  w[cbind(w_rows$name, w_rows$component)] <- w_rows$value
  h <- matrix(NA_real_, 2, 9, dimnames = dimnames(fit$h))
  h[cbind(h_rows$component, h_rows$name)] <- h_rows$value
  expect_identical(w, fit$w)
  expect_identical(h, fit$h)
  expect_identical(w_rows$index, match(w_rows$name, rownames(x)))
  expect_identical(h_rows$index, match(h_rows$name, colnames(x)))
  expect_identical(as.data.frame(fit, what = "w"), w_rows, ignore_attr = TRUE)
  expect_equal(as.data.frame(fit, what = "h"), h_rows, ignore_attr = TRUE)
  csv <- tempfile(fileext = ".csv")
  on.exit(unlink(csv))
  utils::write.csv(df, csv, row.names = FALSE)
  back <- utils::read.csv(csv, stringsAsFactors = FALSE)
  expect_equal(back$value, df$value, tolerance = 1e-14)
  expect_identical(back$name, df$name)
  # unnamed data: the names are the positions
  fit0 <- nmf(p$x, 2, beta = 1, seed = 1)
  df0 <- as.data.frame(fit0, what = "h")
  expect_identical(df0$name, as.character(df0$index))
  expect_error(as.data.frame(fit, what = "x"), "'what' must be one of \"both\", \"w\", \"h\", not \"x\"")
})
