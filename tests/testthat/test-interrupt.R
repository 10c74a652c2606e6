# Interrupting long fits (issue 7): the C driver calls R_CheckUserInterrupt()
# once per iteration (src/nmf.c) and takes all its memory from R_alloc or
# PROTECT, so an interrupt must stop a fit within about one iteration and leave
# nothing behind.  setTimeLimit() raises its error from inside that same
# R_CheckUserInterrupt() call (R_ProcessEvents), so it stands in for the
# user's Ctrl-C here.

# outcome: the error message; in_c: whether the error came from inside the
# C loop (.Call errors carry the call of the closure that made the .Call,
# here run_solver()) rather than from the R code that prepares the fit
interrupted_after <- function(seconds, expr) {
  on.exit(setTimeLimit(), add = TRUE)
  t0 <- proc.time()[["elapsed"]]
  res <- tryCatch({
    setTimeLimit(elapsed = seconds, transient = TRUE)
    force(expr)
    list(message = "finished", call = NULL)
  }, error = function(e) list(message = conditionMessage(e), call = conditionCall(e)))
  setTimeLimit()
  in_c <- !is.null(res$call) && identical(res$call[[1]], as.name("run_solver"))
  list(outcome = res$message, in_c = in_c, elapsed = proc.time()[["elapsed"]] - t0)
}

# resident set size in MB (Linux), NA elsewhere
rss_mb <- function() {
  status <- "/proc/self/status"
  if (!file.exists(status)) return(NA_real_)
  line <- grep("^VmRSS:", readLines(status), value = TRUE)
  if (length(line) != 1L) return(NA_real_)
  as.numeric(gsub("[^0-9]", "", line)) / 1024
}

long_fit_data <- function() {
  set.seed(8)
  x <- matrix(stats::rexp(160 * 120), 160, 120)
  # a user init skips NNDSVD, so the time limit falls in the C loop, not in
  # the R set-up
  list(dense = x,
       sparse = methods::as(Matrix::Matrix(x * (x > 1), sparse = TRUE), "CsparseMatrix"),
       init = list(w = matrix(stats::runif(160 * 5), 160, 5), h = matrix(stats::runif(5 * 120), 5, 120)))
}

test_that("an interrupted fit stops within about one iteration", {
  skip_on_cran()
  dat <- long_fit_data()
  x <- dat$dense
  # the cost of one iteration, and the set-up before the C loop starts
  t_short <- system.time(suppressWarnings(nmf(x, 5, beta = 1, maxit = 20, tol = 0, seed = 1,
                                               init = dat$init)))[["elapsed"]]
  per_iter <- t_short / 20
  for (k in 1:5) {
    r <- interrupted_after(0.05, nmf(x, 5, beta = 1, maxit = 1e6, tol = 0, seed = 1, init = dat$init))
    expect_match(r$outcome, "elapsed time limit")
    expect_true(r$in_c)
    # generous for a loaded machine: the limit, the set-up, a handful of iterations
    expect_lt(r$elapsed, 0.05 + t_short + 20 * per_iter + 1)
  }
})

test_that("200 interrupted fits leave memory at baseline and the session working", {
  skip_on_cran()
  dat <- long_fit_data()
  reference <- suppressWarnings(nmf(dat$dense, 3, beta = 1, maxit = 30, seed = 4))
  invisible(gc())
  before <- sum(gc()[, 2])
  rss_before <- rss_mb()
  settings <- list(
    list(x = dat$dense, beta = 1, solver = "mu", threads = 1),
    list(x = dat$dense, beta = 2, solver = "hals", threads = 1),
    list(x = dat$sparse, beta = 1, solver = "mu", threads = 2),
    list(x = dat$sparse, beta = 2, solver = "hals", threads = 1),
    list(x = dat$dense, beta = 1.5, solver = "mu", threads = 2),
    list(x = dat$dense, beta = 1, solver = "cd", threads = 2),
    list(x = dat$sparse, beta = 1, solver = "cd", threads = 1)
  )
  mask <- matrix(stats::runif(length(dat$dense)) < 0.05, nrow(dat$dense))
  outcomes <- character(200)
  in_c <- logical(200)
  for (k in seq_len(200)) {
    s <- settings[[(k - 1) %% length(settings) + 1]]
    r <- interrupted_after(0.04, nmf(s$x, 5, beta = s$beta, solver = s$solver, maxit = 1e6, tol = 0,
                                     seed = k, threads = s$threads, init = dat$init,
                                     mask = if (k %% 3 == 0) mask else NULL))
    outcomes[k] <- r$outcome
    in_c[k] <- r$in_c
    if (k == 100L) rss_mid <- rss_mb()
  }
  expect_true(all(grepl("elapsed time limit", outcomes)))
  # nearly all of them land in the C loop (a loaded machine may stretch the
  # R set-up past the limit now and then)
  expect_gt(mean(in_c), 0.9)
  invisible(gc())
  after <- sum(gc()[, 2])
  # R_alloc scratch and the PROTECTed copies of W and H are all reclaimed:
  # 200 fits' worth of leaked factors alone would be ~ 200 * 1.1 MB
  expect_lt(after - before, 5)
  # and nothing outside R's heap (malloc) piles up either: measured over the
  # second hundred fits, after the first hundred have made the OpenMP
  # threads and their malloc arenas (a one-off cost that a loaded machine
  # can inflate); a leak of the factors would add ~ 100 * 1.1 MB here
  if (!is.na(rss_before)) expect_lt(rss_mb() - rss_mid, 20)
  # the session still works, and gives the same answer as before
  again <- suppressWarnings(nmf(dat$dense, 3, beta = 1, maxit = 30, seed = 4))
  expect_identical(again$w, reference$w)
  expect_identical(again$h, reference$h)
  expect_identical(again$trace, reference$trace)
})
