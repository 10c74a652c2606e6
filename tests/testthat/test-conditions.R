# Every error and warning raised from R carries a class (?betanmf_conditions):
# a caller catches bad input, bad data, names that cannot be aligned and
# unconverged fits apart, without matching message texts. The messages
# themselves are checked where each function is tested.

# the condition `expr` signals, or NULL
condition_of <- function(expr) {
  tryCatch({
    expr
    NULL
  }, condition = identity)
}

toy <- function() simulate_nmf(30, 20, rank = 3, seed = 1)$x

# each case: list(quoted call, pattern its message must match); every call must
# stop with an error of each of `classes`, without a call
expect_classed_errors <- function(cases, classes, env = parent.frame()) {
  for (case in cases) {
    label <- deparse1(case[[1]])
    e <- condition_of(eval(case[[1]], env))
    expect_true(inherits(e, "error"), info = label)
    for (cls in classes) expect_true(inherits(e, cls), info = paste(label, "is not", cls))
    if (inherits(e, "condition")) {
      expect_match(conditionMessage(e), case[[2]], info = label)
      expect_null(conditionCall(e))
    }
  }
}

test_that("abort() and warn() signal classed conditions without a call", {
  e <- condition_of(betanmf:::abort("bad 'rank'"))
  expect_identical(class(e), c("betanmf_error_input", "betanmf_error", "error", "condition"))
  expect_identical(conditionMessage(e), "bad 'rank'")
  expect_null(conditionCall(e))
  # data and alignment errors are bad input too
  expect_identical(class(condition_of(betanmf:::abort("m", "data"))),
                   c("betanmf_error_data", "betanmf_error_input", "betanmf_error", "error", "condition"))
  expect_identical(class(condition_of(betanmf:::abort("m", "alignment"))),
                   c("betanmf_error_alignment", "betanmf_error_input", "betanmf_error", "error", "condition"))
  expect_identical(class(condition_of(betanmf:::abort("m", "dependency"))),
                   c("betanmf_error_dependency", "betanmf_error", "error", "condition"))
  expect_identical(class(condition_of(betanmf:::abort("m", "numerical"))),
                   c("betanmf_error_numerical", "betanmf_error", "error", "condition"))
  # fields travel in the condition
  expect_identical(condition_of(betanmf:::abort("m", arg = "rank"))$arg, "rank")
  w <- condition_of(betanmf:::warn("slow", "convergence"))
  expect_identical(class(w), c("betanmf_warning_convergence", "betanmf_warning", "warning", "condition"))
  expect_null(conditionCall(w))
  expect_identical(class(condition_of(betanmf:::warn("m", "empty")))[1], "betanmf_warning_empty")
  expect_identical(class(condition_of(betanmf:::warn("m", "numerical")))[1], "betanmf_warning_numerical")
  # a kind that does not exist is a bug in betanmf, not a user error
  expect_error(betanmf:::abort("m", "nonsense"), "internal error: unknown error kind 'nonsense'")
  expect_error(betanmf:::warn("m", "input"), "internal error: unknown warning kind 'input'")
  # printed as before: "Error: <message>", no call
  out <- tryCatch(stop(condition_of(betanmf:::abort("bad 'rank'"))), error = function(e) conditionCall(e))
  expect_null(out)
})

test_that("bad arguments across the API are betanmf_error_input", {
  x <- toy()
  fit <- nmf(x, 3, seed = 1)
  fit2 <- suppressWarnings(nmf(x, 2, nrun = 2, init = "random", seed = 1, maxit = 20))
  cases <- list(
    list(quote(nmf(x, 0)), "'rank' must be a single whole number between 1 and min\\(dim\\(x\\)\\) = 20"),
    list(quote(nmf(x, 21)), "'rank'"),
    list(quote(nmf(x, 3, beta = NA)), "'beta' must be a single finite number"),
    list(quote(nmf(x, 3, beta = "1")), "'beta'"),
    list(quote(nmf(x, 3, beta = 1, solver = "hals")), "solver = \"hals\" minimises the beta = 2 loss only"),
    list(quote(nmf(x, 3, solver = "foo")), "'solver' must be one of \"auto\", \"hals\", \"mu\", \"cd\", not \"foo\""),
    list(quote(nmf(x, 3, missing = c("error", "mask", "drop"))),
         "'missing' must be one of .*, not a character of length 3"),
    list(quote(as.data.frame(fit, what = "x")), "'what' must be one of \"both\", \"w\", \"h\", not \"x\""),
    list(quote(autoplot(fit, type = NA)), "'type' must be one of \"trace\""),
    list(quote(fit_signatures(x, x[, 1:3], prune = TRUE, prune_rule = "aic")), "'prune_rule' must be one of"),
    list(quote(nmf(x, 3, tol = -1)), "'tol'"),
    list(quote(nmf(x, 3, seed = "a")), "'seed'"),
    list(quote(nmf(x, 3, threads = 0)), "'threads'"),
    list(quote(nmf(x, 3, control = list(foo = 1))), "unknown 'control' entry: foo"),
    list(quote(nmf(x, 3, init = "svd")), "'init' must be one of"),
    list(quote(nmf(x, 3, nrun = 2, init = "nndsvd")), "would all start from the same point"),
    list(quote(nmf(x, 3, init = list(w = matrix(1, 2, 2), h = matrix(1, 2, 2)))), "'init\\$w' must be a numeric"),
    list(quote(nmf(x, 3, mask = matrix(TRUE, 2, 2))), "'mask' must be a logical matrix with the dimensions"),
    list(quote(nmf(x, 3, mask = x)), "'mask' must be logical"),
    list(quote(nmf(x, 3, mask = replace(x > 1, 1, NA))), "'mask' contains NA"),
    list(quote(nmf(letters, 3)), "'x' must be a numeric matrix"),
    list(quote(nmf(x[0, ], 1)), "'x' has 0 rows"),
    list(quote(predict(fit)), "'newdata' is required"),
    list(quote(residuals(structure(list(), class = "nmf_fit"))), "does not keep its data"),
    list(quote(consensus(fit)), "needs several runs"),
    list(quote(stability(list())), "'fit' must be an nmf_fit"),
    list(quote(stability(fit2, max_iter = 0)), "'max_iter'"),
    list(quote(cv_mask(x, fraction = 1.5)), "'fraction' must be a single number between 0 and 1"),
    list(quote(cv_mask(x, fraction = 1e-6)), "holds out none"),
    list(quote(cv_mask(x, type = "rows", block = 100)), "'block'"),
    list(quote(nmf_rank(x, ranks = 0)), "'ranks' must be whole numbers between 1 and min\\(dim\\(x\\)\\) = 20"),
    list(quote(nmf_rank(x, ranks = c(2, 50))), "'ranks'"),
    list(quote(nmf_rank(x, 2, mask = x > 1)), "'mask' cannot be passed"),
    list(quote(nmf_rank(x, 2, folds = 1, rule = "1se")), "needs a standard error across folds"),
    list(quote(fit_signatures(x, x[, 1:3], level = 2)), "'level'"),
    list(quote(fit_signatures(x, x[, 1:3], opportunity = rep(1, 5))), "one value per channel"),
    list(quote(hungarian("a")), "'cost' must be a numeric matrix"),
    list(quote(hungarian(diag(2), maximize = NA)), "'maximize'"),
    list(quote(read_signatures(tempfile())), "'file' must be the path of an existing file"),
    list(quote(simulate_nmf(10, 10, 2, depth = -1)), "'depth'"),
    list(quote(beta_divergence(x, x[-1, ], 1)), "the same dimensions")
  )
  expect_classed_errors(cases, c("betanmf_error_input", "betanmf_error"))
})

test_that("check_choice() chooses as match.arg() does, and names the argument when it cannot", {
  twin <- function(solver = c("auto", "hals", "mu", "cd")) match.arg(solver)
  ours <- function(solver = c("auto", "hals", "mu", "cd")) betanmf:::check_choice(solver)
  values <- list(c("auto", "hals", "mu", "cd"), NULL, "auto", "hals", "h", "m", "c", "cd", "mu", "foo", "",
                 NA_character_, c("mu", "cd"), 1, "HALS", " mu")
  for (v in values) {
    expected <- tryCatch(twin(v), error = function(e) "error")
    got <- tryCatch(ours(v), betanmf_error_input = function(e) "error")
    expect_identical(got, expected, info = deparse1(v))
  }
  expect_identical(betanmf:::check_choice("cos", c("deviance", "cosine"), "prune_rule"), "cosine")
  expect_error(ours("foo"), "^'solver' must be one of \"auto\", \"hals\", \"mu\", \"cd\", not \"foo\"$",
               class = "betanmf_error_input")
})

test_that("bad values in the data are betanmf_error_data (also bad input)", {
  x <- toy()
  x_na <- replace(x, 5, NA)
  x_zero <- replace(x, 5, 0)
  cases <- list(
    list(quote(nmf(x_na, 3)), "'x' contains 1 NA value"),
    list(quote(nmf(replace(x, 5, NaN), 3)), "'x' contains 1 NaN value"),
    list(quote(nmf(replace(x, 5, Inf), 3)), "'x' contains 1 infinite value"),
    list(quote(nmf(-x, 3)), "negative value"),
    list(quote(nmf(Matrix::Matrix(-x, sparse = TRUE), 3)), "negative value"),
    list(quote(nmf(x * 0, 3)), "has no positive observed entry"),
    list(quote(nmf(x_zero, 3, beta = 0)), "zero entries, where the beta-divergence with beta = 0 is infinite"),
    list(quote(nmf(x, 3, mask = matrix(TRUE, 30, 20))), "has no observed entry"),
    list(quote(nmf(x, 3, init = list(w = matrix(-1, 30, 3), h = matrix(1, 3, 20)))), "must be non-negative"),
    list(quote(fit_signatures(-x, x[, 1:3])), "'catalog' must hold finite non-negative counts"),
    list(quote(fit_signatures(x + 0.5, x[, 1:3], bootstrap = 2)), "whole-number counts"),
    list(quote(fit_signatures(x, cbind(x[, 1:2], 0))), "'signatures' has all-zero column"),
    list(quote(beta_divergence(x, -x, 1)), "must be non-negative"),
    list(quote(hungarian(matrix(NA_real_, 2, 2))), "'cost' must contain only finite numbers"),
    list(quote(match_components(-diag(2), diag(2))), "'a' must be non-negative")
  )
  expect_classed_errors(cases, c("betanmf_error_data", "betanmf_error_input"))
  # a handler for bad data sees it before a handler for bad input
  got <- tryCatch(nmf(x_na, 3), betanmf_error_data = function(e) "data",
                  betanmf_error_input = function(e) "input")
  expect_identical(got, "data")
  got <- tryCatch(nmf(x, 0), betanmf_error_data = function(e) "data", betanmf_error_input = function(e) "input")
  expect_identical(got, "input")
})

test_that("rows that cannot be matched by name are betanmf_error_alignment", {
  sim <- simulate_nmf(w = sbs_signatures[, 1:3], n = 4, seed = 1)
  catalog <- sim$x
  unnamed <- unname(sbs_signatures[1:90, 1:3])
  relabelled <- catalog
  rownames(relabelled)[1] <- "nonsense"
  samples_in_rows <- as.data.frame(t(catalog))
  dup <- data.frame(type = rep("a", 96), s1 = 1, s2 = 2)
  fit <- nmf(catalog, 2, beta = 1, seed = 1)
  newdata <- catalog
  rownames(newdata) <- NULL
  newdata <- newdata[1:90, ]
  cases <- list(
    list(quote(fit_signatures(catalog, sbs_signatures[1:90, ])), "'signatures' lacks 6 channel"),
    list(quote(fit_signatures(catalog, unnamed)), "'signatures' has no row names but 'catalog' has"),
    list(quote(fit_signatures(relabelled, sbs_signatures)), "rows are matched by name"),
    list(quote(fit_signatures(samples_in_rows, sbs_signatures)), "the samples seem to be in rows"),
    list(quote(fit_signatures(dup, sbs_signatures)), "but they repeat"),
    list(quote(predict(fit, newdata)), "'newdata' has no row names"),
    list(quote(match_components(diag(3), diag(2)[, 1, drop = FALSE])), "'b' must have 3 rows"),
    list(quote(sbs96_labels("C>A")), "not among the 96 pyrimidine-centred SBS channels"),
    list(quote(sbs96_labels(c("A[C>A]A", NA))), "label\\(s\\) are missing")
  )
  expect_classed_errors(cases, c("betanmf_error_alignment", "betanmf_error_input"))
})

test_that("no rank with a finite held-out error is betanmf_error_numerical", {
  tab <- data.frame(rank = 2:3, cv_error = c(Inf, NaN), cv_sd = c(NaN, NaN))
  e <- condition_of(betanmf:::choose_rank(tab, "min", 3))
  expect_s3_class(e, "betanmf_error_numerical")
  expect_false(inherits(e, "betanmf_error_input"))
  expect_match(conditionMessage(e), "no rank has a finite held-out error")
  cv <- matrix(c(1, Inf), 2, 1, dimnames = list(rank = 2:3, fold = 1))
  expect_warning(betanmf:::report_nonfinite(cv), "1 of 2 held-out errors are not finite",
                 class = "betanmf_warning_numerical")
})

test_that("reaching maxit is a betanmf_warning_convergence, and the fit is returned", {
  x <- toy()
  expect_warning(fit <- nmf(x, 3, maxit = 2, tol = 1e-12, seed = 1), "reached maxit = 2",
                 class = "betanmf_warning_convergence")
  expect_false(fit$converged)
  expect_warning(nmf(x, 3, beta = 1, nrun = 2, maxit = 2, tol = 1e-12, seed = 1), "2 of 2 runs reached maxit",
                 class = "betanmf_warning_convergence")
  expect_warning(nmf_rank(x, 2, beta = 1, folds = 2, nrun = 1, seed = 9, maxit = 2), "of 3 fits reached 'maxit'",
                 class = "betanmf_warning_convergence")
  two_runs <- structure(list(w = diag(2), h = matrix(1, 2, 4), rank = 2L, best = 1L,
                             runs = rep(list(list(w = diag(2), h = matrix(1, 2, 4), loss = 0)), 2)),
                        class = "nmf_fit")
  expect_warning(stability(two_runs, max_iter = 1), "still changed after max_iter = 1",
                 class = "betanmf_warning_convergence")
  # the documented way to note an unconverged fit and keep it
  converged <- TRUE
  fit <- withCallingHandlers(nmf(x, 3, maxit = 2, tol = 1e-12, seed = 1),
                             betanmf_warning_convergence = function(w) {
                               converged <<- FALSE
                               invokeRestart("muffleWarning")
                             })
  expect_false(converged)
  expect_s3_class(fit, "nmf_fit")
})

test_that("nmf_rank() counts unconverged fits by class, not by a word in a message", {
  x <- toy()
  # the traced fit (nmf_prepared(), what nmf() and every fit of nmf_rank()
  # run) lives in this session only: no worker processes
  if (requireNamespace("future", quietly = TRUE)) {
    old_plan <- future::plan(future::sequential)
    on.exit(future::plan(old_plan), add = TRUE)
  }
  # a warning that mentions maxit but is not about convergence passes through
  suppressMessages(trace("nmf_prepared", exit = quote(warning("maxit is mentioned here")), print = FALSE,
                         where = asNamespace("betanmf")))
  on.exit(suppressMessages(untrace("nmf_prepared", where = asNamespace("betanmf"))), add = TRUE)
  warnings <- character(0)
  withCallingHandlers(nmf_rank(x, 2, beta = 1, folds = 2, nrun = 1, seed = 9, maxit = 500, tol = 1e-3),
                      warning = function(w) {
                        warnings <<- c(warnings, conditionMessage(w))
                        invokeRestart("muffleWarning")
                      })
  expect_true("maxit is mentioned here" %in% warnings)
  expect_false(any(grepl("fits reached 'maxit'", warnings)))
})

test_that("rows or columns with nothing observed are a betanmf_warning_empty", {
  x <- toy()
  row <- matrix(FALSE, 30, 20)
  row[4, ] <- TRUE
  expect_warning(nmf(x, 2, mask = row), "1 row \\(4\\) with no observed entry", class = "betanmf_warning_empty")
  x_na <- x
  x_na[, 5] <- NA
  expect_warning(nmf_rank(x_na, 2, folds = 2, nrun = 1, seed = 1, missing = "mask"),
                 "1 column \\(5\\) with no observed entry", class = "betanmf_warning_empty")
})

test_that("no R code signals an unclassed error or warning", {
  src <- testthat::test_path("../../R")
  skip_if_not(file.exists(file.path(src, "conditions.R")), "the R sources are not here (R CMD check)")
  files <- setdiff(list.files(src, pattern = "\\.[Rr]$", full.names = TRUE), file.path(src, "conditions.R"))
  expect_gt(length(files), 10)
  bare <- character(0)
  for (f in files) {
    code <- readLines(f, warn = FALSE)
    code <- gsub("\"([^\"\\\\]|\\\\.)*\"", "\"\"", code) # strings may say stop(),
    code <- sub("#.*$", "", code)                                # and so may comments
    hit <- grep("(^|[^[:alnum:]_.])(stop|warning|stopifnot|signalCondition|match\\.arg)[[:space:]]*\\(", code)
    bare <- c(bare, sprintf("%s:%d", basename(f), hit))
  }
  expect_identical(bare, character(0),
                   info = "use abort(message, kind) or warn(message, kind) (R/conditions.R), check_choice()")
})
