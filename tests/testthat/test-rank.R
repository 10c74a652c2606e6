# nmf_rank(): cross-validated rank surveys on planted data.

planted_poisson <- function(m, n, r, seed, depth = 3) {
  set.seed(seed)
  w <- matrix(rexp(m * r), m, r)
  h <- matrix(rexp(r * n), r, n)
  matrix(rpois(m * n, depth * w %*% h), m, n)
}

planted_gaussian <- function(m, n, r, seed, noise = 0.25) {
  set.seed(seed)
  w <- matrix(rexp(m * r), m, r)
  h <- matrix(rexp(r * n), r, n)
  y <- w %*% h
  pmax(y + matrix(rnorm(m * n, sd = noise * sd(y)), m, n), 0)
}

quiet_survey <- function(...) suppressWarnings(nmf_rank(...))

test_that("Poisson counts of planted rank 4: the survey chooses 4, the held-out error falls then rises", {
  x <- planted_poisson(80, 50, 4, seed = 61)
  s <- quiet_survey(x, 2:6, beta = 1, folds = 3, nrun = 2, seed = 1, maxit = 150, tol = 1e-4)
  expect_s3_class(s, "nmf_rank_survey")
  tab <- s$table
  expect_identical(names(tab), c("rank", "cv_error", "cv_sd", "train_loss", "cophenetic", "dispersion",
                                 "stability"))
  expect_identical(tab$rank, 2:6)
  expect_identical(s$chosen, 4L)
  cv <- tab$cv_error
  expect_true(all(diff(cv[1:3]) < 0)) # falls up to the true rank
  expect_true(all(diff(cv[3:5]) > 0)) # and rises after it
  # the training loss keeps falling: it cannot choose a rank
  expect_true(all(diff(tab$train_loss) < 0))
  expect_true(all(tab$train_loss < tab$cv_error))
  expect_identical(dim(s$cv), c(5L, 3L))
  expect_equal(tab$cv_error, unname(rowMeans(s$cv)))
  expect_equal(tab$cv_sd, unname(apply(s$cv, 1, sd)))
  # the unmasked fits, one per rank, with nrun restarts
  expect_identical(names(s$fits), as.character(2:6))
  expect_identical(vapply(s$fits, function(f) f$rank, integer(1)), setNames(2:6, 2:6))
  expect_length(s$fits[["4"]]$runs, 2)
})

test_that("Gaussian data of planted rank 6: the survey chooses 6 (beta = 2, HALS)", {
  x <- planted_gaussian(80, 50, 6, seed = 62)
  s <- quiet_survey(x, 4:8, beta = 2, folds = 3, nrun = 2, seed = 1, maxit = 150, tol = 1e-4)
  expect_identical(s$chosen, 6L)
  cv <- s$table$cv_error
  expect_true(all(diff(cv[1:3]) < 0))
  expect_true(all(diff(cv[3:5]) > 0))
  expect_identical(s$fits[["6"]]$solver, "hals")
  # column blocks (bi-cross-validation style) agree
  sb <- quiet_survey(x, 5:7, beta = 2, folds = 2, nrun = 1, seed = 2, type = "columns", block = 4,
                     maxit = 150, tol = 1e-3)
  expect_identical(sb$chosen, 6L)
  expect_identical(sb$type, "columns")
})

test_that("the held-out error is the mean beta-divergence over the held-out entries of each fold", {
  x <- planted_poisson(40, 30, 2, seed = 63)
  s <- quiet_survey(x, 2:3, beta = 1, folds = 2, nrun = 1, seed = 5, maxit = 100)
  # redo every fold at rank 3 by hand from the recorded seeds
  cv <- train <- numeric(2)
  for (f in 1:2) {
    m <- cv_mask(x, 0.1, seed = s$fold_seeds[f])
    fit <- suppressWarnings(nmf(x, 3, beta = 1, seed = s$fit_seeds[f], mask = m, maxit = 100))
    y <- fitted(fit)
    cv[f] <- sum(ifelse(x[m] > 0, x[m] * log(x[m] / y[m]), 0) - x[m] + y[m]) / sum(m)
    train[f] <- sum(ifelse(x[!m] > 0, x[!m] * log(x[!m] / y[!m]), 0) - x[!m] + y[!m]) / sum(!m)
  }
  expect_equal(unname(s$cv["3", ]), cv, tolerance = 1e-10)
  expect_equal(s$table$cv_error[2], mean(cv), tolerance = 1e-10)
  expect_equal(s$table$train_loss[2], mean(train), tolerance = 1e-10)
  expect_equal(s$table$cv_sd[2], sd(cv), tolerance = 1e-10)
})

test_that("missing values are left out of every fit with missing = \"mask\"", {
  x <- planted_poisson(30, 25, 2, seed = 69)
  x[sample(length(x), 20)] <- NA
  expect_error(quiet_survey(x, 2, beta = 1, folds = 2, nrun = 1, seed = 1), "NA")
  s <- quiet_survey(x, 1:3, beta = 1, folds = 2, nrun = 1, seed = 1, maxit = 60, missing = "mask")
  expect_true(all(is.finite(s$cv)))
  expect_equal(nobs(s$fits[["2"]]), sum(!is.na(x)))
})

test_that("surveys are reproducible from the seed and leave the session's RNG alone", {
  x <- planted_poisson(30, 25, 2, seed = 64)
  a <- quiet_survey(x, 1:2, beta = 1, folds = 2, nrun = 2, seed = 9, maxit = 40)
  set.seed(1)
  before <- .Random.seed
  b <- quiet_survey(x, 1:2, beta = 1, folds = 2, nrun = 2, seed = 9, maxit = 40)
  expect_identical(.Random.seed, before)
  expect_identical(a$table, b$table)
  expect_identical(a$chosen, b$chosen)
  c <- quiet_survey(x, 1:2, beta = 1, folds = 2, nrun = 2, seed = 10, maxit = 40)
  expect_false(identical(a$cv, c$cv))
  # sparse input gives the same survey
  xs <- Matrix::Matrix(x, sparse = TRUE)
  d <- quiet_survey(xs, 1:2, beta = 1, folds = 2, nrun = 2, seed = 9, maxit = 40)
  expect_equal(d$table$cv_error, a$table$cv_error, tolerance = 1e-8)
  # the survey is reported as one warning, not one per fit
  expect_warning(nmf_rank(x, 3, beta = 1, folds = 2, nrun = 1, seed = 9, maxit = 2), "of 3 fits reached 'maxit'")
})

test_that("rule = \"1se\" picks the smallest rank within one standard error of the minimum", {
  x <- planted_poisson(30, 25, 2, seed = 65)
  s <- quiet_survey(x, 1:4, beta = 1, folds = 3, nrun = 1, seed = 3, rule = "1se", maxit = 60)
  tab <- s$table
  best <- which.min(tab$cv_error)
  within <- tab$cv_error <= tab$cv_error[best] + tab$cv_sd[best] / sqrt(3)
  expect_identical(s$chosen, tab$rank[which(within)[1]])
  expect_true(s$chosen <= tab$rank[best])
  # the choice rule on a constructed table
  t2 <- data.frame(rank = 1:4, cv_error = c(3, 1.05, 1, 1.2), cv_sd = c(0.1, 0.1, 0.1, 0.1))
  expect_identical(betanmf:::choose_rank(t2, "min", 4), 3L)
  expect_identical(betanmf:::choose_rank(t2, "1se", 4), 2L) # 1.05 <= 1 + 0.1 / 2
  expect_identical(betanmf:::choose_rank(t2, "1se", 1), 2L)
  expect_identical(betanmf:::choose_rank(transform(t2, cv_sd = 0.01), "1se", 4), 3L)
})

test_that("consensus and stability columns are filled when those functions exist, NA otherwise", {
  x <- planted_poisson(30, 25, 2, seed = 66)
  s <- quiet_survey(x, 2:3, beta = 1, folds = 2, nrun = 3, seed = 1, maxit = 60)
  ns <- asNamespace("betanmf")
  for (crit in c("cophenetic", "dispersion", "stability")) {
    fun <- if (crit == "stability") "stability" else "consensus"
    if (exists(fun, envir = ns, mode = "function", inherits = FALSE)) {
      expect_true(all(is.finite(s$table[[crit]])), label = crit)
    } else {
      expect_true(all(is.na(s$table[[crit]])), label = crit)
    }
  }
  # with a single run they mean nothing
  s1 <- quiet_survey(x, 2:3, beta = 1, folds = 2, nrun = 1, seed = 1, maxit = 60)
  expect_true(all(is.na(s1$table[c("cophenetic", "dispersion", "stability")])))
})

test_that("print, summary, as.data.frame, autoplot and plot work", {
  x <- planted_poisson(30, 25, 2, seed = 67)
  s <- quiet_survey(x, 1:3, beta = 1, folds = 2, nrun = 1, seed = 1, maxit = 60)
  out <- capture.output(print(s))
  expect_match(out[1], "30 x 25 matrix, beta = 1, ranks 1-3")
  expect_true(any(grepl(sprintf("chosen rank: %d", s$chosen), out)))
  sm <- summary(s)
  expect_s3_class(sm, "summary.nmf_rank_survey")
  expect_identical(sm$chosen_min, s$chosen)
  expect_true(any(grepl("one standard error", capture.output(print(sm)))))
  expect_identical(as.data.frame(s), s$table)
  p <- autoplot(s)
  expect_s3_class(p, "ggplot")
  built <- ggplot2::ggplot_build(p)
  # facets: held-out error and training loss (the NA criteria are dropped)
  expect_identical(levels(p$data$criterion), c("held-out error", "training loss"))
  expect_true(any(vapply(built$data, function(d) "xintercept" %in% names(d) && all(d$xintercept == s$chosen),
                         logical(1))))
  pdf(NULL)
  on.exit(grDevices::dev.off(), add = TRUE)
  drawn <- plot(s)
  expect_s3_class(drawn, "ggplot")
  expect_identical(drawn$data, p$data)
})

test_that("bad inputs are clear errors", {
  x <- planted_poisson(20, 15, 2, seed = 68)
  expect_error(nmf_rank(x, 0:2), "'ranks'")
  expect_error(nmf_rank(x, 16), "'ranks'.*15")
  expect_error(nmf_rank(x, 1.5), "'ranks'")
  expect_error(nmf_rank(x, c(1, NA)), "'ranks'")
  expect_error(nmf_rank(x, 1:2, folds = 0), "'folds'")
  expect_error(nmf_rank(x, 1:2, nrun = 0), "'nrun'")
  expect_error(nmf_rank(x, 1:2, folds = 1, rule = "1se"), "folds >= 2")
  expect_error(nmf_rank(x, 1:2, fraction = 1.2), "'fraction'")
  expect_error(nmf_rank(x, 1:2, beta = NA), "'beta'")
  expect_error(nmf_rank(x, 1:2, threads = 0), "'threads'")
  expect_error(nmf_rank(x, 1:2, mask = matrix(FALSE, 20, 15)), "'mask' cannot be passed")
  expect_error(nmf_rank(x, 1:2, rule = "max"), "'arg'")
  expect_error(nmf_rank("x", 1:2), "'x'")
  expect_error(nmf_rank(x, 1:2, seed = 1.5), "'seed'")
})
