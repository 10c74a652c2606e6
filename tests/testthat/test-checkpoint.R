# Checkpointed restarts and rank surveys (R/checkpoint.R): every finished
# task saved as it completes, a rerun reads them back and computes only the
# rest, and the merged result is identical() to an uninterrupted run without
# a checkpoint, on any future plan.

checkpoint_data <- function() simulate_nmf(30, 20, 2, noise = "poisson", depth = 200, seed = 3)$x

# A fresh directory, removed when the calling test ends.
checkpoint_dir <- function(env = parent.frame()) {
  dir <- tempfile("checkpoint-")
  do.call(on.exit, list(substitute(unlink(dir, recursive = TRUE), list(dir = dir)), add = TRUE), envir = env)
  dir
}

# The result without what records the call itself: `call` (it holds the
# checkpoint argument) and the checkpoint counts.
without_call <- function(result) {
  result$call <- NULL
  attr(result, "checkpoint") <- NULL
  result
}

# Evaluates `expr` with betanmf's internal run_solver() (one call per fit of
# one restart) counting its calls and, after `fail_after` calls, stopping as
# a killed job would. Returns the value (or the error) and the count.
with_counted_solver <- function(expr, fail_after = Inf) {
  ns <- asNamespace("betanmf")
  real <- get("run_solver", envir = ns)
  calls <- 0L
  counted <- function(...) {
    calls <<- calls + 1L
    if (calls > fail_after) stop("simulated interruption")
    real(...)
  }
  unlockBinding("run_solver", ns)
  assign("run_solver", counted, envir = ns)
  on.exit({
    assign("run_solver", real, envir = ns)
    lockBinding("run_solver", ns)
  })
  value <- tryCatch(expr, error = function(e) e)
  list(value = value, calls = calls)
}

sequential_plan <- function(env = parent.frame()) {
  if (!requireNamespace("future", quietly = TRUE)) return(invisible())
  old <- future::plan(future::sequential)
  do.call(on.exit, list(substitute(future::plan(old), list(old = old)), add = TRUE), envir = env)
}

fit_restarts <- function(x, ...) nmf(x, 2, beta = 1, nrun = 4, seed = 1, maxit = 500, tol = 1e-4, ...)

survey <- function(x, ...) {
  nmf_rank(x, 2:3, beta = 1, folds = 2, nrun = 2, seed = 1, maxit = 500, tol = 1e-4, ...)
}

test_that("an interrupted nmf(nrun = 4) with a checkpoint resumes to the uninterrupted fit", {
  sequential_plan()
  x <- checkpoint_data()
  dir <- checkpoint_dir()
  reference <- fit_restarts(x)

  # killed after two of the four restarts
  first <- with_counted_solver(fit_restarts(x, checkpoint = dir), fail_after = 2)
  expect_s3_class(first$value, "error")
  expect_match(conditionMessage(first$value), "simulated interruption")
  expect_setequal(list.files(dir, pattern = "^task"), c("task-0001.rds", "task-0002.rds"))

  expect_message(resumed <- with_counted_solver(fit_restarts(x, checkpoint = dir)),
                 "2 of 4 tasks read back, 2 to compute")
  expect_identical(resumed$calls, 2L)
  expect_identical(attr(resumed$value, "checkpoint")[c("tasks", "done_before", "computed")],
                   list(tasks = 4L, done_before = 2L, computed = 2L))
  expect_identical(without_call(resumed$value), without_call(reference))
  expect_identical(resumed$value$runs, reference$runs)

  # the same with the files of other restarts lost
  unlink(file.path(dir, c("task-0001.rds", "task-0004.rds")))
  expect_message(again <- with_counted_solver(fit_restarts(x, checkpoint = dir)), "2 of 4 tasks read back")
  expect_identical(again$calls, 2L)
  expect_identical(without_call(again$value), without_call(reference))

  # all there: nothing computed
  expect_message(done <- with_counted_solver(fit_restarts(x, checkpoint = dir)), "4 of 4 tasks read back, 0 to")
  expect_identical(done$calls, 0L)
  expect_identical(attr(done$value, "checkpoint")$computed, 0L)
  expect_identical(without_call(done$value), without_call(reference))
})

test_that("an interrupted nmf_rank() sweep with a checkpoint resumes to the uninterrupted survey", {
  sequential_plan()
  x <- checkpoint_data()
  dir <- checkpoint_dir()
  reference <- survey(x)
  n_tasks <- 2L * 2L + 2L # ranks x folds, and one unmasked fit per rank

  # killed after three of the six fits (each fit: nrun = 2 restarts)
  first <- with_counted_solver(survey(x, checkpoint = dir), fail_after = 3 * 2)
  expect_match(conditionMessage(first$value), "simulated interruption")
  expect_length(list.files(dir, pattern = "^task"), 3)

  expect_message(resumed <- with_counted_solver(survey(x, checkpoint = dir)),
                 "3 of 6 tasks read back, 3 to compute")
  expect_identical(resumed$calls, 3L * 2L)
  expect_identical(attr(resumed$value, "checkpoint")[c("tasks", "done_before", "computed")],
                   list(tasks = n_tasks, done_before = 3L, computed = 3L))
  expect_identical(without_call(resumed$value), without_call(reference))

  # files lost after a complete run; arguments that change no task (threads,
  # rule, 500L for 500) may differ between the runs
  unlink(file.path(dir, c("task-0002.rds", "task-0006.rds")))
  expect_message(again <- with_counted_solver(nmf_rank(x, 2:3, beta = 1, folds = 2, nrun = 2, seed = 1, maxit = 500L,
                                                       tol = 1e-4, threads = 1, rule = "1se", checkpoint = dir)),
                 "4 of 6 tasks read back, 2 to compute")
  expect_identical(again$calls, 2L * 2L)
  survey_1se <- without_call(again$value)
  expect_identical(survey_1se$rule, "1se")
  survey_1se$rule <- reference$rule
  survey_1se$chosen <- reference$chosen
  expect_identical(survey_1se, without_call(reference))
})

test_that("multisession and batchtools workers give the sequential result, resumed across plans", {
  skip_on_cran()
  skip_if_not_installed("future")
  skip_if_not_installed("future.apply")
  skip_if_not_installed("future.batchtools")
  old_plan <- future::plan(future::sequential)
  old_cache <- options(future.cache.path = file.path(tempdir(), "future-batchtools"))
  on.exit({
    future::plan(old_plan)
    options(old_cache)
  }, add = TRUE)
  x <- checkpoint_data()
  reference_fit <- fit_restarts(x)
  reference_survey <- survey(x)

  dir_fit <- checkpoint_dir()
  dir_survey <- checkpoint_dir()
  future::plan(future::multisession, workers = 2)
  fit <- fit_restarts(x, checkpoint = dir_fit)
  swept <- survey(x, checkpoint = dir_survey)
  expect_identical(attr(swept, "checkpoint")$computed, 6L)
  expect_identical(without_call(fit), without_call(reference_fit))
  expect_identical(without_call(swept), without_call(reference_survey))

  # half of each lost, the rest computed by batchtools jobs
  unlink(file.path(dir_fit, c("task-0002.rds", "task-0003.rds")))
  unlink(file.path(dir_survey, c("task-0001.rds", "task-0004.rds", "task-0005.rds")))
  future::plan(future.batchtools::batchtools_local)
  expect_message(fit <- fit_restarts(x, checkpoint = dir_fit), "2 of 4 tasks read back")
  expect_message(swept <- survey(x, checkpoint = dir_survey), "3 of 6 tasks read back")
  expect_identical(attr(fit, "checkpoint")$computed, 2L)
  expect_identical(attr(swept, "checkpoint")$computed, 3L)
  expect_identical(without_call(fit), without_call(reference_fit))
  expect_identical(without_call(swept), without_call(reference_survey))
})

test_that("a checkpoint directory of another call is an error naming what differs", {
  sequential_plan()
  x <- checkpoint_data()
  dir <- checkpoint_dir()
  fit_restarts(x, checkpoint = dir)
  expect_error(nmf(x, 2, beta = 1, nrun = 4, seed = 2, maxit = 500, tol = 1e-4, checkpoint = dir),
               "seed \\(1 there, 2 here\\).*use a new directory.*pass seed = 1\\)", class = "betanmf_error_input")
  x2 <- x
  x2[1, 1] <- x2[1, 1] + 1
  expect_error(fit_restarts(x2, checkpoint = dir), "the data \\(digest", class = "betanmf_error_input")
  expect_error(fit_restarts(x[, -1], checkpoint = dir), "dimensions \\(30 x 20 there, 30 x 19 here\\)",
               class = "betanmf_error_input")
  expect_error(fit_restarts(x, checkpoint = dir, control = list(l1 = 0.1)), "control\\$l1",
               class = "betanmf_error_input")
  mask <- matrix(FALSE, nrow(x), ncol(x))
  mask[2, 3] <- TRUE
  expect_error(fit_restarts(x, checkpoint = dir, mask = mask), "held_out", class = "betanmf_error_input")
  # nothing was overwritten: the original call still reads everything back
  expect_message(fit_restarts(x, checkpoint = dir), "4 of 4 tasks read back")
  # an nmf() directory is not a survey's
  expect_error(survey(x, checkpoint = dir), "call \\(nmf there, nmf_rank here\\)", class = "betanmf_error_input")

  # seed = NULL draws a seed per call: the error says which one to pass
  dir_null <- checkpoint_dir()
  drawn <- nmf(x, 2, beta = 1, nrun = 2, maxit = 500, tol = 1e-4, checkpoint = dir_null)
  expect_error(nmf(x, 2, beta = 1, nrun = 2, maxit = 500, tol = 1e-4, checkpoint = dir_null),
               sprintf("pass seed = %d\\)", drawn$seed), class = "betanmf_error_input")
  expect_message(nmf(x, 2, beta = 1, nrun = 2, maxit = 500, tol = 1e-4, seed = drawn$seed, checkpoint = dir_null),
                 "2 of 2 tasks read back")

  dir_survey <- checkpoint_dir()
  survey(x, checkpoint = dir_survey)
  expect_error(nmf_rank(x, 2:4, beta = 1, folds = 2, nrun = 2, seed = 1, maxit = 500, tol = 1e-4,
                        checkpoint = dir_survey), "ranks", class = "betanmf_error_input")
  expect_error(survey(x, fraction = 0.2, checkpoint = dir_survey), "fraction \\(0.1 there, 0.2 here\\)",
               class = "betanmf_error_input")
  expect_error(survey(x, solver = "mu", checkpoint = dir_survey), "solver \\(absent there, mu here\\)",
               class = "betanmf_error_input")
})

test_that("a corrupt or foreign task file is computed again with a warning", {
  sequential_plan()
  x <- checkpoint_data()
  reference <- fit_restarts(x)
  dir <- checkpoint_dir()
  fit_restarts(x, checkpoint = dir)
  writeLines("not an rds file", file.path(dir, "task-0002.rds"))
  expect_warning(resumed <- suppressMessages(with_counted_solver(fit_restarts(x, checkpoint = dir))),
                 "task-0002.rds' cannot be used", class = "betanmf_warning_checkpoint")
  expect_identical(resumed$calls, 1L)
  expect_identical(attr(resumed$value, "checkpoint")$computed, 1L)
  expect_identical(without_call(resumed$value), without_call(reference))

  # a task file of another call (copied from another directory) is not read
  other <- checkpoint_dir()
  nmf(x, 2, beta = 1, nrun = 4, seed = 9, maxit = 500, tol = 1e-4, checkpoint = other)
  file.copy(file.path(other, "task-0003.rds"), file.path(dir, "task-0003.rds"), overwrite = TRUE)
  expect_warning(resumed <- suppressMessages(fit_restarts(x, checkpoint = dir)),
                 "not written for this task", class = "betanmf_warning_checkpoint")
  expect_identical(attr(resumed, "checkpoint")$computed, 1L)
  expect_identical(without_call(resumed), without_call(reference))

  # what a write killed before its rename leaves is never read
  writeLines("half a file", file.path(dir, ".task-0004.rds-1a2b.tmp"))
  unlink(file.path(dir, "task-0004.rds"))
  expect_message(resumed <- fit_restarts(x, checkpoint = dir), "3 of 4 tasks read back, 1 to compute")
  expect_identical(without_call(resumed), without_call(reference))
})

test_that("a bad checkpoint argument is a clear error", {
  x <- checkpoint_data()
  expect_error(nmf(x, 2, checkpoint = 1), "'checkpoint' must be NULL or the path", class = "betanmf_error_input")
  expect_error(nmf(x, 2, checkpoint = c("a", "b")), "'checkpoint' must be", class = "betanmf_error_input")
  file <- tempfile()
  writeLines("x", file)
  on.exit(unlink(file), add = TRUE)
  expect_error(nmf(x, 2, checkpoint = file), "is a file", class = "betanmf_error_input")
  expect_error(survey(x, checkpoint = NA_character_), "'checkpoint' must be", class = "betanmf_error_input")
  # task files without a manifest: what they were computed for is unknown
  dir <- checkpoint_dir()
  dir.create(dir)
  writeLines("x", file.path(dir, "task-0001.rds"))
  expect_error(nmf(x, 2, checkpoint = dir), "no manifest", class = "betanmf_error_input")
})

test_that("the data digest of a large matrix, taken in column blocks, sees every entry", {
  digest <- function(x) betanmf:::checkpoint_digest(x, block = 40)
  x <- matrix(as.double(1:200), 10, 20, dimnames = list(letters[1:10], NULL))
  expect_identical(digest(x), digest(x + 0))
  for (j in c(1, 4, 5, 20)) { # first and last column of the first block, the last block
    y <- x
    y[10, j] <- y[10, j] + 1
    expect_false(identical(digest(y), digest(x)), info = sprintf("column %d", j))
  }
  z <- x
  rownames(z)[1] <- "A"
  expect_false(identical(digest(z), digest(x)))
  expect_false(identical(digest(x[, 1:19]), digest(x)))
  expect_false(identical(digest(x), betanmf:::checkpoint_digest(x))) # the blocks are in the digest
})

test_that("manifests that differ only in a list's attributes still differ", {
  differences <- betanmf:::manifest_differences
  expect_identical(differences(list(a = 1, b = list(c = 2)), list(a = 1, b = list(c = 2))), character(0))
  expect_identical(differences(list(a = 1, b = list(c = 2)), list(a = 1, b = list(c = 3))), "b$c (2 there, 3 here)")
  expect_identical(differences(list(b = list(c = 2)), list(b = structure(list(c = 2), extra = TRUE))),
                   "b (another value there, another value here)")
})

test_that("a minimum-volume weight is part of the checkpoint's identity", {
  x <- checkpoint_data()
  dir <- checkpoint_dir()
  a <- nmf(x, 2, beta = 1, nrun = 2, seed = 1, volume = 0.01, maxit = 30, tol = 0, threads = 1, checkpoint = dir)
  err <- expect_error(nmf(x, 2, beta = 1, nrun = 2, seed = 1, volume = 0.02, maxit = 30, tol = 0, threads = 1,
                          checkpoint = dir), class = "betanmf_error_input")
  expect_match(conditionMessage(err), "volume")
  again <- nmf(x, 2, beta = 1, nrun = 2, seed = 1, volume = 0.01, maxit = 30, tol = 0, threads = 1, checkpoint = dir)
  expect_identical(attr(again, "checkpoint")$computed, 0L)
  expect_identical(without_call(again), without_call(a))
})
