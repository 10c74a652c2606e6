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
  expect_identical(s$solver, "cd") # every fit, the folds' too
  # multiplicative updates, by name, choose the same rank
  expect_identical(quiet_survey(x, 2:6, beta = 1, folds = 3, nrun = 2, seed = 1, maxit = 150, tol = 1e-4,
                                solver = "mu")$chosen, 4L)
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
    # held-out fitted values are floored at a hundredth of the mean observed entry
    yh <- pmax(y[m], 0.01 * mean(x[!m]))
    cv[f] <- sum(ifelse(x[m] > 0, x[m] * log(x[m] / yh), 0) - x[m] + yh) / sum(m)
    train[f] <- sum(ifelse(x[!m] > 0, x[!m] * log(x[!m] / y[!m]), 0) - x[!m] + y[!m]) / sum(!m)
  }
  expect_equal(unname(s$cv["3", ]), cv, tolerance = 1e-10)
  expect_equal(s$table$cv_error[2], mean(cv), tolerance = 1e-10)
  expect_equal(s$table$train_loss[2], mean(train), tolerance = 1e-10)
  expect_equal(s$table$cv_sd[2], sd(cv), tolerance = 1e-10)
})

test_that("every fit of a survey is nmf() on its fold's mask with its seed, coordinate descent at beta = 1", {
  x <- planted_poisson(40, 30, 3, seed = 70)
  s <- quiet_survey(x, 2:3, beta = 1, folds = 2, nrun = 2, seed = 4, maxit = 80)
  expect_identical(s$solver, "cd")
  train <- matrix(0, 2, 2)
  for (r in 2:3) {
    for (f in 1:2) {
      m <- cv_mask(x, 0.1, seed = s$fold_seeds[f])
      fit <- suppressWarnings(nmf(x, r, beta = 1, nrun = 2, seed = s$fit_seeds[f], mask = m, maxit = 80,
                                  solver = "cd"))
      ij <- which(m, arr.ind = TRUE, useNames = FALSE)
      y <- rowSums(fit$w[ij[, 1], , drop = FALSE] * t(fit$h)[ij[, 2], , drop = FALSE])
      y <- pmax(y, 0.01 * (sum(x) - sum(x[ij])) / (length(x) - nrow(ij)))
      expect_identical(s$cv[as.character(r), f], beta_divergence(x[ij], y, 1) / length(y),
                       label = sprintf("held-out error, rank %d fold %d", r, f))
      train[r - 1, f] <- fit$loss / fit$n_obs
    }
    full <- suppressWarnings(nmf(x, r, beta = 1, nrun = 2, seed = s$fits[[as.character(r)]]$seed, maxit = 80))
    for (part in c("w", "h", "loss", "runs", "solver", "iterations")) {
      expect_identical(s$fits[[as.character(r)]][[part]], full[[part]], label = sprintf("rank %d %s", r, part))
    }
  }
  expect_identical(s$table$train_loss, rowMeans(train))
})

test_that("screened restarts: a fold's fit is the best continued restart of nmf(), bit for bit", {
  x <- planted_poisson(40, 30, 3, seed = 73)
  for (solver in c("cd", "mu")) {
    s <- quiet_survey(x, 3:4, beta = 1, folds = 2, nrun = 6, seed = 4, maxit = 200, solver = solver)
    expect_identical(s$screen, 20L)
    for (r in 3:4) {
      for (f in 1:2) {
        m <- cv_mask(x, 0.1, seed = s$fold_seeds[f])
        # every restart to convergence, and every restart stopped at the screen
        full <- suppressWarnings(nmf(x, r, beta = 1, nrun = 6, seed = s$fit_seeds[f], mask = m, maxit = 200,
                                     solver = solver))
        short <- suppressWarnings(nmf(x, r, beta = 1, nrun = 6, seed = s$fit_seeds[f], mask = m, maxit = 20,
                                      solver = solver))
        kept <- order(vapply(short$runs, function(run) run$loss, numeric(1)))[1:2] # max(2, ceiling(6 / 5))
        best <- kept[which.min(vapply(full$runs[kept], function(run) run$loss, numeric(1)))]
        ij <- which(m, arr.ind = TRUE, useNames = FALSE)
        w <- full$runs[[best]]$w
        h <- full$runs[[best]]$h
        y <- pmax(rowSums(w[ij[, 1], , drop = FALSE] * t(h)[ij[, 2], , drop = FALSE]),
                  0.01 * (sum(x) - sum(x[ij])) / (length(x) - nrow(ij)))
        expect_identical(s$cv[as.character(r), f], beta_divergence(x[ij], y, 1) / length(y),
                         label = sprintf("%s rank %d fold %d", solver, r, f))
      }
    }
  }
  # screen = 0: every fold's fit is nmf() with every restart to convergence
  s0 <- quiet_survey(x, 3, beta = 1, folds = 2, nrun = 6, seed = 4, maxit = 200, screen = 0)
  expect_identical(s0$screen, 0L)
  m <- cv_mask(x, 0.1, seed = s0$fold_seeds[1])
  full <- suppressWarnings(nmf(x, 3, beta = 1, nrun = 6, seed = s0$fit_seeds[1], mask = m, maxit = 200))
  ij <- which(m, arr.ind = TRUE, useNames = FALSE)
  y <- pmax(rowSums(full$w[ij[, 1], , drop = FALSE] * t(full$h)[ij[, 2], , drop = FALSE]),
            0.01 * (sum(x) - sum(x[ij])) / (length(x) - nrow(ij)))
  expect_identical(s0$cv[1, 1], beta_divergence(x[ij], y, 1) / length(y))
  # the unmasked fits are never screened
  expect_identical(s0$fits, quiet_survey(x, 3, beta = 1, folds = 2, nrun = 6, seed = 4, maxit = 200)$fits)
})

test_that("screened restarts choose the rank of unscreened surveys, curves within their fold spread", {
  within <- function(a, b) all(abs(a$table$cv_error - b$table$cv_error) <= pmax(a$table$cv_sd, b$table$cv_sd))
  x <- planted_poisson(80, 50, 4, seed = 61)
  for (solver in c("cd", "mu")) {
    a <- quiet_survey(x, 3:5, beta = 1, folds = 3, nrun = 10, seed = 1, maxit = 150, tol = 1e-4, solver = solver)
    b <- quiet_survey(x, 3:5, beta = 1, folds = 3, nrun = 10, seed = 1, maxit = 150, tol = 1e-4, solver = solver,
                      screen = 0)
    expect_identical(c(a$chosen, b$chosen), c(4L, 4L), label = solver)
    expect_true(within(a, b), label = solver)
  }
  x <- planted_gaussian(80, 50, 6, seed = 62)
  a <- quiet_survey(x, 5:7, beta = 2, folds = 3, nrun = 10, seed = 1, maxit = 150, tol = 1e-4)
  b <- quiet_survey(x, 5:7, beta = 2, folds = 3, nrun = 10, seed = 1, maxit = 150, tol = 1e-4, screen = 0)
  expect_identical(c(a$chosen, b$chosen), c(6L, 6L))
  expect_true(within(a, b))
  # bad screens
  expect_error(nmf_rank(x, 2, screen = -1), "'screen'")
  expect_error(nmf_rank(x, 2, screen = 1.5), "'screen'")
})

test_that("the survey's cophenetic and dispersion are consensus()'s, without its n x n matrices", {
  # many columns, few runs: groups of columns with the same clusters in every
  # run, and ties among the distances
  set.seed(74)
  w <- matrix(rexp(20 * 3), 20, 3)
  h <- matrix(rexp(3 * 300), 3, 300)
  x <- matrix(rpois(20 * 300, 2 * w %*% h), 20, 300)
  count <- new.env()
  count$n <- 0L
  suppressMessages(trace("consensus", function() count$n <- count$n + 1L, print = FALSE,
                         where = asNamespace("betanmf")))
  s <- quiet_survey(x, 2:4, beta = 1, folds = 2, nrun = 4, seed = 2, maxit = 60)
  suppressMessages(untrace("consensus", where = asNamespace("betanmf")))
  expect_identical(count$n, 0L)
  for (k in seq_along(s$fits)) {
    cons <- consensus(s$fits[[k]])
    expect_equal(s$table$cophenetic[k], cons$cophenetic, tolerance = 1e-12)
    expect_equal(s$table$dispersion[k], cons$dispersion, tolerance = 1e-12)
  }
  # every column in one cluster in every run, and two columns
  fit <- s$fits[[1]]
  one <- fit
  one$runs <- lapply(fit$runs, function(run) within(run, h[] <- rep(c(1, 0), length.out = length(h))))
  expect_equal(betanmf:::consensus_criteria(one), c(cophenetic = consensus(one)$cophenetic,
                                                    dispersion = consensus(one)$dispersion))
  two <- fit
  two$runs <- lapply(fit$runs, function(run) list(w = run$w, h = run$h[, 1:2]))
  expect_equal(betanmf:::consensus_criteria(two), c(cophenetic = consensus(two)$cophenetic,
                                                    dispersion = consensus(two)$dispersion))
})

test_that("a survey prepares the data once per fold, not once per fit", {
  x <- planted_poisson(30, 25, 2, seed = 71)
  count <- new.env()
  count$n <- 0L
  suppressMessages(trace("prepare_data", function() count$n <- count$n + 1L, print = FALSE,
                         where = asNamespace("betanmf")))
  on.exit(suppressMessages(untrace("prepare_data", where = asNamespace("betanmf"))), add = TRUE)
  s <- quiet_survey(x, 1:3, beta = 1, folds = 2, nrun = 2, seed = 1, maxit = 30)
  expect_identical(count$n, 3L) # 2 folds and the unmasked data, for 3 ranks x 2 runs
  expect_true(all(is.finite(s$cv)))
})

test_that("held-out errors stay finite where coordinate descent fits zeros at held-out counts", {
  # sparse counts (about 90 % zeros): coordinate descent sets fitted values
  # exactly to zero, some of them at held-out positive counts, whose
  # divergence is infinite; the floor of ?nmf_rank keeps the score finite
  set.seed(81)
  w <- matrix(rexp(60 * 3)^2, 60, 3)
  h <- matrix(rexp(3 * 120)^2, 3, 120)
  x <- matrix(rpois(60 * 120, 0.15 * w %*% h / mean(w %*% h)), 60, 120)
  s <- quiet_survey(x, 1:4, beta = 1, folds = 2, nrun = 1, seed = 1, maxit = 200)
  expect_identical(s$solver, "cd")
  expect_true(all(is.finite(s$cv)))
  expect_true(all(is.finite(s$table$cv_error)))
  # the floor is doing work: the unfloored score of a fold fit is infinite
  m <- cv_mask(x, 0.1, seed = s$fold_seeds[1])
  fit <- suppressWarnings(nmf(x, 3, beta = 1, seed = s$fit_seeds[1], mask = m, maxit = 200))
  y <- fitted(fit)
  expect_gt(sum(y[m] == 0 & x[m] > 0), 0)
  expect_identical(beta_divergence(x[m], y[m], 1), Inf)
})

test_that("missing values are left out of every fit with missing = \"mask\"", {
  x <- planted_poisson(30, 25, 2, seed = 69)
  x[sample(length(x), 20)] <- NA
  expect_error(quiet_survey(x, 2, beta = 1, folds = 2, nrun = 1, seed = 1), "NA")
  s <- quiet_survey(x, 1:3, beta = 1, folds = 2, nrun = 1, seed = 1, maxit = 60, missing = "mask")
  expect_true(all(is.finite(s$cv)))
  expect_equal(nobs(s$fits[["2"]]), sum(!is.na(x)))
})

test_that("dropped frames: columns with no non-missing entry are left out of every fit, with one warning", {
  x <- planted_poisson(30, 40, 2, seed = 75)
  x[, 21:24] <- NA
  warnings <- character(0)
  s <- withCallingHandlers(
    nmf_rank(x, 1:3, beta = 1, folds = 2, nrun = 2, seed = 1, maxit = 60, missing = "mask"),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  expect_identical(sum(grepl("no observed entry", warnings)), 1L)
  expect_match(warnings[grepl("no observed entry", warnings)], "4 columns \\(21-24\\)")
  expect_true(all(is.finite(s$cv)))
  expect_true(all(is.na(s$fits[["2"]]$h[, 21:24])))
  expect_false(anyNA(s$fits[["2"]]$w))
  expect_true(all(is.finite(s$table$cophenetic[-1])))
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

test_that("non-finite held-out errors are reported where they are and never chosen", {
  cv <- matrix(c(1, 2, 3, 1, Inf, 3, 1, NaN, Inf), 3, 3, dimnames = list(rank = 2:4, fold = 1:3))
  expect_warning(betanmf:::report_nonfinite(cv),
                 "3 of 9 held-out errors are not finite: rank 3 \\(folds 2, 3\\); rank 4 \\(fold 3\\)")
  expect_silent(betanmf:::report_nonfinite(cv[, 1, drop = FALSE]))
  tab <- data.frame(rank = 2:4, cv_error = c(3, Inf, NaN), cv_sd = c(0.1, NaN, NaN))
  expect_identical(betanmf:::choose_rank(tab, "min", 3), 2L)
  expect_identical(betanmf:::choose_rank(tab, "1se", 3), 2L)
  tab$cv_error <- c(Inf, Inf, NaN)
  expect_error(betanmf:::choose_rank(tab, "min", 3), "no rank has a finite held-out error")
})

test_that("the held-out score floors fitted values at a hundredth of the fold's mean observed entry (beta <= 1)", {
  # counts with many zeros: some held-out fitted values fall below the floor
  set.seed(71)
  x <- matrix(rpois(30 * 40, 0.3 * rexp(30) %o% rexp(40)), 30, 40)
  s <- quiet_survey(x, 3, beta = 1, folds = 2, nrun = 1, seed = 4, maxit = 200)
  below <- 0
  for (f in 1:2) {
    m <- cv_mask(x, 0.1, seed = s$fold_seeds[f])
    fit <- suppressWarnings(nmf(x, 3, beta = 1, seed = s$fit_seeds[f], mask = m, maxit = 200))
    floor <- 0.01 * mean(x[!m])
    y <- fitted(fit)[m]
    below <- below + sum(y < floor)
    y <- pmax(y, floor)
    xm <- x[m]
    expect_equal(unname(s$cv[1, f]), sum(ifelse(xm > 0, xm * log(xm / y), 0) - xm + y) / sum(m),
                 tolerance = 1e-10)
  }
  expect_true(below > 0)
})

test_that("sparse spike counts with planted assemblies: both hold-out types choose 4, every error finite", {
  # neurons x time bins: four assemblies of 9 of 40 neurons, each active in
  # about 8 % of 600 bins; 89 % of the counts are zero, dozens of bins have
  # none and many one; the rate (w + 0.05)(h + 0.02) has rank 4 exactly
  set.seed(11)
  w <- matrix(0, 40, 4)
  for (k in 1:4) w[sample.int(40, 9), k] <- runif(9, 1, 3)
  h <- matrix(rbinom(4 * 600, 1, 0.08) * rexp(4 * 600, 1 / 2), 4)
  x <- matrix(rpois(40 * 600, (w + 0.05) %*% (h + 0.02)), 40)
  expect_gt(mean(x == 0), 0.85)
  for (type in c("speckled", "columns")) {
    s <- quiet_survey(x, 2:6, beta = 1, folds = 3, nrun = 2, seed = 1, type = type, block = 5,
                      maxit = 300, tol = 1e-4)
    expect_true(all(is.finite(s$cv)), label = type)
    expect_identical(s$chosen, 4L, label = type)
  }
})

test_that("beta = 2 surveys report the variance accounted for, printed with its definition", {
  x <- planted_gaussian(40, 30, 3, seed = 72)
  s <- quiet_survey(x, 2:4, beta = 2, folds = 2, nrun = 1, seed = 1, maxit = 100)
  expect_true("vaf" %in% names(s$table))
  for (k in 1:3) {
    fit <- s$fits[[k]]
    expect_equal(s$table$vaf[k], 1 - sum((x - fit$w %*% fit$h)^2) / sum(x^2), tolerance = 1e-10)
  }
  expect_true(all(diff(s$table$vaf) > 0))
  expect_output(print(s), "vaf: variance accounted for, 1 - \\|\\|X - WH\\|\\|\\^2 / \\|\\|X\\|\\|\\^2")
  expect_output(print(summary(s)), "vaf")
  expect_true("variance accounted for" %in% levels(autoplot(s)$data$criterion))
  # with missing entries: over the observed ones only
  xn <- x
  xn[sample(length(x), 30)] <- NA
  sn <- quiet_survey(xn, 3, beta = 2, folds = 2, nrun = 1, seed = 1, maxit = 100, missing = "mask")
  fit <- sn$fits[[1]]
  ok <- !is.na(xn)
  expect_equal(sn$table$vaf, 1 - sum(((xn - fit$w %*% fit$h)^2)[ok]) / sum(xn[ok]^2), tolerance = 1e-10)
  # not for other beta
  expect_false("vaf" %in% names(quiet_survey(planted_poisson(20, 15, 2, seed = 73), 2, beta = 1, folds = 2,
                                             nrun = 1, seed = 1, maxit = 50)$table))
})

test_that("the survey plot shows every rank: log scale across decades, spread never below zero", {
  x <- planted_poisson(30, 25, 2, seed = 74)
  s <- quiet_survey(x, 1:4, beta = 1, folds = 3, nrun = 1, seed = 1, maxit = 60)
  # a small cohort: errors span decades, the spread exceeds the mean
  s$cv[] <- c(0.5, 0.4, 3, 40, 0.3, 0.45, 6, 90, 0.7, 0.5, 0.1, 200)
  s$table$cv_error <- unname(rowMeans(s$cv))
  s$table$cv_sd <- unname(apply(s$cv, 1, sd))
  p <- autoplot(s)
  held <- p$data[p$data$criterion == "held-out error (log10)", ]
  expect_identical(held$rank, 1:4)
  expect_equal(held$value, log10(s$table$cv_error))
  # the lower end of the bar: mean - sd if positive, else the smallest fold
  low <- s$table$cv_error - s$table$cv_sd
  expect_equal(held$lower, log10(ifelse(low > 0, low, apply(s$cv, 1, min))))
  expect_true(all(is.finite(held$lower)))
  expect_match(p$labels$subtitle, "log10 scale")
  # on a linear scale the bar stops at zero
  q <- autoplot(s, log = FALSE)
  lin <- q$data[q$data$criterion == "held-out error", ]
  expect_equal(lin$lower, pmax(low, 0))
  expect_true(all(lin$lower >= 0))
  built <- ggplot2::ggplot_build(q)
  bars <- built$data[[which(vapply(built$data, function(d) "ymin" %in% names(d), logical(1)))[1]]]
  expect_true(all(bars$ymin >= 0))
  # errors within a factor of 10: linear by default
  s$cv[] <- 1 + seq_along(s$cv) / 100
  s$table$cv_error <- unname(rowMeans(s$cv))
  s$table$train_loss <- s$table$cv_error / 2
  expect_true("held-out error" %in% levels(autoplot(s)$data$criterion))
  # a rank whose error is not finite is named in the caption
  s$table$cv_error[4] <- Inf
  expect_match(autoplot(s)$labels$caption, "not finite at rank 4")
  expect_error(autoplot(s, log = NA), "'log'")
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
  expect_error(nmf_rank(x, 1:2, rule = "max"), "'rule' must be one of \"min\", \"1se\", not \"max\"")
  expect_error(nmf_rank("x", 1:2), "'x'")
  expect_error(nmf_rank(x, 1:2, seed = 1.5), "'seed'")
  # '...' goes to every fit: a misspelt argument is an error before any fit runs
  expect_error(nmf_rank(x, 1:2, maxiter = 10), "named arguments of nmf\\(\\); 'maxiter' is not")
})
