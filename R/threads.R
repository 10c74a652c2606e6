# How many OpenMP threads a fit uses when the caller does not say.
#
# A share of the machine rather than all of it (the BLAS, the user's other
# work and other processes share the cores; on a machine with two hardware
# threads per core, half the logical cores is one per physical core, as
# data.table's default), within every limit the session has been given,
# and 1 where threads would multiply: inside a parallel worker, where the
# workers already occupy the cores, and in a forked child, where GNU
# OpenMP's thread pool inherited from the parent can deadlock.

#' Threads used by default
#'
#' The number of OpenMP threads a fit uses when its `threads` argument is
#' `NULL` (the default of [nmf()], [nmf_rank()] and `predict()`). Results do
#' not depend on the number of threads.
#'
#' In order:
#' 1. 1 in a forked child (`parallel::mclapply()`, `future`'s `multicore`),
#'    where the OpenMP thread pool inherited from the parent can deadlock;
#' 2. `getOption("betanmf.threads")`, if set (a whole number >= 1), as is;
#' 3. otherwise half of `parallel::detectCores()` (at least 1), capped by
#'    the environment variables `OMP_THREAD_LIMIT` and `OMP_NUM_THREADS`
#'    and the option `mc.cores` when they are set (a `future` worker sets
#'    `mc.cores` to 1, so fits there use 1 thread), and at 2 when
#'    `_R_CHECK_LIMIT_CORES_` is set (as `R CMD check --as-cran` does).
#'
#' A `threads` argument given explicitly is used as given. "Inside a
#' parallel worker" covers `future` workers and forked children only: a
#' PSOCK cluster of `parallel::makeCluster()` sets neither `mc.cores` nor a
#' fork, so set `options(betanmf.threads = 1)` on its workers (e.g. with
#' `parallel::clusterEvalQ()`).
#'
#' @return A whole number >= 1.
#' @examples
#' default_threads()
#' old <- options(betanmf.threads = 1)
#' default_threads()
#' options(old)
#' @export
default_threads <- function() {
  if (in_forked_child()) return(1L)
  opt <- getOption("betanmf.threads")
  if (!is.null(opt)) return(check_thread_count(opt, "options(betanmf.threads)"))
  threads_share(detected_cores())
}

# parallel::detectCores() runs a shell command on Linux: ask once a session
# (refits call default_threads() once per call, but a session makes many).
detected_cores <- function() {
  if (is.null(thread_state$cores)) thread_state$cores <- suppressWarnings(parallel::detectCores())
  thread_state$cores
}
thread_state <- new.env(parent = emptyenv())

# Half of `cores`, within the limits set for the session.
threads_share <- function(cores) {
  n <- if (is.na(cores) || cores < 2L) 1L else as.integer(cores %/% 2L)
  for (var in c("OMP_THREAD_LIMIT", "OMP_NUM_THREADS")) {
    # OMP_NUM_THREADS may list one count per nesting level: the first applies
    limit <- suppressWarnings(as.numeric(strsplit(Sys.getenv(var), ",", fixed = TRUE)[[1]][1]))
    if (length(limit) == 1L && !is.na(limit) && limit >= 1) n <- min(n, as.integer(limit))
  }
  mc <- getOption("mc.cores")
  if (is.numeric(mc) && length(mc) == 1L && !is.na(mc) && mc >= 1) n <- min(n, as.integer(mc))
  check <- tolower(Sys.getenv("_R_CHECK_LIMIT_CORES_"))
  if (nzchar(check) && check != "false") n <- min(n, 2L)
  max(1L, as.integer(n))
}

in_forked_child <- function() {
  is_child <- tryCatch(utils::getFromNamespace("isChild", "parallel"), error = function(e) NULL)
  is.function(is_child) && isTRUE(is_child())
}
