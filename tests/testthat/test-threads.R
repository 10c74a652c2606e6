# The default number of threads (R/threads.R): each rule of ?default_threads
# with the options and environment variables set and restored by hand.

with_settings <- function(env = list(), opts = list(), code) {
  vars <- c("OMP_THREAD_LIMIT", "OMP_NUM_THREADS", "_R_CHECK_LIMIT_CORES_")
  old_env <- Sys.getenv(vars, unset = NA, names = TRUE)
  old_opts <- options(betanmf.threads = NULL, mc.cores = NULL)
  on.exit({
    options(old_opts)
    for (v in vars) if (is.na(old_env[[v]])) Sys.unsetenv(v) else do.call(Sys.setenv, as.list(old_env[v]))
  }, add = TRUE)
  Sys.unsetenv(vars)
  if (length(env)) do.call(Sys.setenv, env)
  if (length(opts)) options(opts)
  force(code)
}

half_cores <- function() {
  cores <- parallel::detectCores()
  if (is.na(cores)) 1L else max(1L, cores %/% 2L)
}

test_that("the default is half the cores, within OMP_THREAD_LIMIT, OMP_NUM_THREADS, mc.cores and R CMD check", {
  expect_identical(with_settings(code = default_threads()), half_cores())
  # a 16-core machine, whatever this one has
  share <- function(...) with_settings(..., code = betanmf:::threads_share(16L))
  expect_identical(share(), 8L)
  expect_identical(betanmf:::threads_share(1L), 1L)
  expect_identical(betanmf:::threads_share(NA_integer_), 1L)
  expect_identical(share(env = list(OMP_THREAD_LIMIT = "3")), 3L)
  expect_identical(share(env = list(OMP_NUM_THREADS = "5,2")), 5L)
  expect_identical(share(env = list(OMP_NUM_THREADS = "6", OMP_THREAD_LIMIT = "4")), 4L)
  # future's workers set mc.cores = 1
  expect_identical(share(opts = list(mc.cores = 1)), 1L)
  expect_identical(share(opts = list(mc.cores = 4)), 4L)
  expect_identical(share(env = list(`_R_CHECK_LIMIT_CORES_` = "TRUE")), 2L)
  expect_identical(share(env = list(`_R_CHECK_LIMIT_CORES_` = "false")), 8L)
  # unparsable settings are ignored, not errors
  expect_identical(share(env = list(OMP_THREAD_LIMIT = "lots", OMP_NUM_THREADS = "0")), 8L)
})

test_that("options(betanmf.threads) sets the default, and a bad value is a clear error", {
  expect_identical(with_settings(opts = list(betanmf.threads = 3), code = default_threads()), 3L)
  # the user's choice is not capped by the machine's share
  expect_identical(with_settings(env = list(OMP_THREAD_LIMIT = "1"), opts = list(betanmf.threads = 2),
                                 code = default_threads()), 2L)
  expect_error(with_settings(opts = list(betanmf.threads = 0), code = default_threads()),
               "options\\(betanmf.threads\\) must be a single whole number")
  x <- matrix(rpois(60, 5) + 1, 10, 6)
  expect_error(with_settings(opts = list(betanmf.threads = "four"), code = nmf(x, 2, seed = 1)),
               "options\\(betanmf.threads\\)")
  expect_error(with_settings(opts = list(betanmf.threads = "four"), code = nmf(x, 2, seed = 1, threads = 1)), NA)
})

test_that("the threads default gives the same fit as any explicit count", {
  sim <- simulate_nmf(40, 30, 3, noise = "poisson", depth = 200, seed = 5)
  fits <- lapply(list(NULL, 1, 2), function(th) {
    with_settings(opts = list(betanmf.threads = NULL),
                  code = suppressWarnings(nmf(sim$x, 3, beta = 1, seed = 2, maxit = 30, threads = th)))
  })
  expect_identical(fits[[1]]$w, fits[[2]]$w)
  expect_identical(fits[[1]]$w, fits[[3]]$w)
  expect_identical(fits[[1]]$loss, fits[[3]]$loss)
  p <- lapply(list(NULL, 2), function(th) predict(fits[[1]], newdata = sim$x[, 1:4], threads = th))
  expect_identical(p[[1]], p[[2]])
})

test_that("a forked child uses one thread whatever the option says", {
  skip_on_os("windows")
  in_child <- with_settings(opts = list(betanmf.threads = 2),
                            code = parallel::mclapply(1:2, function(i) default_threads(), mc.cores = 2))
  expect_identical(unlist(in_child), c(1L, 1L))
  expect_identical(with_settings(opts = list(betanmf.threads = 2), code = default_threads()), 2L)
})
