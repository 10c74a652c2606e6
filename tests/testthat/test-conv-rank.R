# nmf_conv_rank(): rank and lag surveys of convolutive NMF on planted
# sequences, held-out scores against a plain-R twin (helper-conv.R).

conv_rank_data <- function(seed = 1) {
  simulate_sequences(m = 30, n = 600, n_seq = 2, seq_neurons = 12, lags = 6, onset_rate = 0.03,
                     amplitude = 4, jitter = 0, background = 0.05, seed = seed)
}

quiet_conv_survey <- function(...) suppressWarnings(nmf_conv_rank(...))

test_that("planted sequences: the survey chooses the planted rank and a lag >= the planted length", {
  sim <- conv_rank_data()
  s <- quiet_conv_survey(sim$x, ranks = 1:3, lags = c(3, 6, 9), folds = 3, nrun = 2, fraction = 0.2,
                         seed = 1, maxit = 200, refit = FALSE)
  expect_s3_class(s, "nmf_conv_survey")
  tab <- s$table
  expect_identical(names(tab), c("rank", "lags", "cv_error", "cv_sd", "train_loss"))
  expect_identical(tab$rank, rep(1:3, each = 3))
  expect_identical(tab$lags, rep(c(3L, 6L, 9L), 3))
  expect_identical(dim(s$cv), c(9L, 3L))
  expect_equal(tab$cv_error, unname(rowMeans(s$cv)))
  expect_equal(tab$cv_sd, unname(apply(s$cv, 1, sd)))
  expect_identical(s$block, 9L) # the longest candidate motif
  expect_identical(s$chosen[["rank"]], 2L)
  expect_gte(s$chosen[["lags"]], 6L)
  # too short a motif cannot follow the sequence: at the planted rank the
  # held-out error of lags 3 is above that of every longer motif
  at2 <- tab[tab$rank == 2, ]
  expect_true(all(at2$cv_error[1] > at2$cv_error[-1]))
  # the training loss keeps falling with the rank: it cannot choose
  expect_true(all(diff(tab$train_loss[tab$lags == 9]) < 0))
  # "1se": the smallest rank, then the shortest motif, within one SE
  s1 <- quiet_conv_survey(sim$x, ranks = 1:3, lags = c(3, 6, 9), folds = 3, nrun = 2, fraction = 0.2,
                          seed = 1, maxit = 200, refit = FALSE, rule = "1se")
  expect_identical(s1$table, tab)
  best <- which.min(tab$cv_error)
  near <- tab[tab$cv_error <= tab$cv_error[best] + tab$cv_sd[best] / sqrt(3), ]
  expect_identical(s1$chosen, c(rank = min(near$rank), lags = min(near$lags[near$rank == min(near$rank)])))
  expect_identical(s1$chosen[["rank"]], 2L)
  expect_gte(s1$chosen[["lags"]], 6L)
})

test_that("each fold's score is the floored held-out divergence of nmf_conv() on cv_mask()'s hold-out", {
  sim <- conv_rank_data(2)
  x <- sim$x
  s <- quiet_conv_survey(x, ranks = 2, lags = c(4, 6), folds = 2, nrun = 1, fraction = 0.15, block = 8,
                         seed = 3, maxit = 30, tol = 0, refit = FALSE)
  for (fold in 1:2) {
    mask <- cv_mask(x, fraction = 0.15, seed = s$fold_seeds[fold], type = "columns", block = 8)
    # blocks of 8 time bins, each in half of the 30 neurons
    expect_true(all(colSums(mask) %in% c(0, 15)))
    for (L in c(4, 6)) {
      fit <- suppressWarnings(nmf_conv(x, 2, L, mask = mask, seed = s$fit_seeds[fold], maxit = 30, tol = 0))
      y <- ref_conv_model(fit$w, fit$h)
      floor <- 0.01 * mean(x[!mask])
      want <- sum(ref_conv_dbeta(x[mask], pmax(y[mask], floor), 1)) / sum(mask)
      expect_equal(s$cv[sprintf("2, lags %d", L), fold], want, tolerance = 1e-10)
    }
  }
})

test_that("the survey is reproducible by seed, and the refit is nmf_conv() at the chosen pair", {
  sim <- conv_rank_data(3)
  a <- quiet_conv_survey(sim$x, ranks = 1:2, lags = c(3, 6), folds = 2, nrun = 1, seed = 5, maxit = 40)
  b <- quiet_conv_survey(sim$x, ranks = 1:2, lags = c(3, 6), folds = 2, nrun = 1, seed = 5, maxit = 40)
  c <- quiet_conv_survey(sim$x, ranks = 1:2, lags = c(3, 6), folds = 2, nrun = 1, seed = 6, maxit = 40)
  expect_identical(a$cv, b$cv)
  expect_identical(a$fit$w, b$fit$w)
  expect_false(identical(a$cv, c$cv))
  # the user's generator is left alone
  set.seed(9)
  before <- .Random.seed
  quiet_conv_survey(sim$x, ranks = 1, lags = 3, folds = 2, nrun = 1, seed = 5, maxit = 5, refit = FALSE)
  expect_identical(.Random.seed, before)
  ref <- suppressWarnings(nmf_conv(sim$x, a$chosen[["rank"]], a$chosen[["lags"]], nrun = 1, seed = a$fit$seed,
                                   maxit = 40))
  expect_identical(a$fit$w, ref$w)
  expect_identical(a$fit$h, ref$h)
})

test_that("sequential and multisession surveys are identical", {
  skip_on_cran()
  skip_if_not_installed("future")
  skip_if_not_installed("future.apply")
  sim <- conv_rank_data(4)
  old_plan <- future::plan(future::sequential)
  on.exit(future::plan(old_plan), add = TRUE)
  seq_survey <- quiet_conv_survey(sim$x, ranks = 1:2, lags = c(3, 6), folds = 2, nrun = 2, seed = 7, maxit = 40,
                                  refit = FALSE)
  future::plan(future::multisession, workers = 2)
  par_survey <- quiet_conv_survey(sim$x, ranks = 1:2, lags = c(3, 6), folds = 2, nrun = 2, seed = 7, maxit = 40,
                                  refit = FALSE)
  expect_identical(par_survey$cv, seq_survey$cv)
  expect_identical(par_survey$table, seq_survey$table)
  expect_identical(par_survey$chosen, seq_survey$chosen)
})

test_that("bad input stops with classed errors naming the argument", {
  x <- conv_rank_data()$x
  expect_error(nmf_conv_rank(x, ranks = 0:2, lags = 3), "'ranks' must be whole numbers",
               class = "betanmf_error_input")
  expect_error(nmf_conv_rank(x, ranks = 2, lags = c(3, 601)), "'lags' must be whole numbers between 1 and ncol",
               class = "betanmf_error_input")
  expect_error(nmf_conv_rank(x, ranks = 2, lags = 2.5), "'lags'", class = "betanmf_error_input")
  expect_error(nmf_conv_rank(x, ranks = 2, lags = 3, mask = matrix(FALSE, 30, 600)), "'mask' cannot be passed",
               class = "betanmf_error_input")
  expect_error(nmf_conv_rank(x, ranks = 2, lags = 3, seed = 1, nrun = 1, maxiter = 5),
               "'maxiter' is not", class = "betanmf_error_input")
  expect_error(nmf_conv_rank(x, ranks = 2, lags = 3, rank = 2), "'rank' cannot be passed",
               class = "betanmf_error_input")
  expect_error(nmf_conv_rank(x, ranks = 2, lags = 3, folds = 1, rule = "1se"), "folds >= 2",
               class = "betanmf_error_input")
  expect_error(nmf_conv_rank(x, ranks = 2, lags = 3, fraction = 0.7), "'fraction'",
               class = "betanmf_error_input")
  expect_error(nmf_conv_rank(x, ranks = 2, lags = 3, block = 0), "'block'", class = "betanmf_error_input")
  expect_error(nmf_conv_rank(x, ranks = 2, lags = 3, refit = NA), "'refit'", class = "betanmf_error_input")
  expect_error(nmf_conv_rank(x, ranks = 2, lags = 3, init = list(w = 1, h = 1)), "'init' must be",
               class = "betanmf_error_input")
})

test_that("the chooser: min, and 1se by smallest rank then shortest motif; never a non-finite pair", {
  tab <- data.frame(rank = c(1L, 1L, 2L, 2L, 3L), lags = c(5L, 10L, 5L, 10L, 5L),
                    cv_error = c(1.30, 1.20, 1.05, 1.00, Inf), cv_sd = c(0.1, 0.1, 0.2, 0.2, 0.1))
  expect_identical(choose_conv_pair(tab, "min", 4), c(rank = 2L, lags = 10L))
  # SE at the minimum 0.2 / 2 = 0.1: (2, 5) at 1.05 is within, (1, 10) at 1.20 is not
  expect_identical(choose_conv_pair(tab, "1se", 4), c(rank = 2L, lags = 5L))
  tab$cv_error <- NaN
  expect_error(choose_conv_pair(tab, "min", 4), class = "betanmf_error_numerical")
})

test_that("print, as.data.frame and autoplot show the survey and the chosen pair", {
  sim <- conv_rank_data(5)
  s <- quiet_conv_survey(sim$x, ranks = 1:2, lags = c(3, 6), folds = 2, nrun = 1, seed = 1, maxit = 30,
                         refit = FALSE)
  out <- capture.output(print(s))
  expect_match(out[1], "<nmf_conv_survey> 30 x 600 matrix, beta = 1, ranks 1, 2, lags 3, 6", fixed = TRUE)
  expect_true(any(grepl(sprintf("chosen: rank %d, lags %d (rule \"min\"", s$chosen[["rank"]], s$chosen[["lags"]]),
                        out, fixed = TRUE)))
  expect_identical(as.data.frame(s), s$table)
  skip_if_not_installed("ggplot2")
  p <- autoplot(s)
  expect_s3_class(p, "ggplot")
  built <- ggplot2::ggplot_build(p)
  ringed <- built$data[[length(built$data)]]
  expect_identical(c(ringed$x, ringed$y),
                   c(s$chosen[["lags"]], s$table$cv_error[s$table$rank == s$chosen[["rank"]] &
                                                             s$table$lags == s$chosen[["lags"]]]))
})
