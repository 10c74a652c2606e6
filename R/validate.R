# Argument checks shared by the user-facing functions; each error names the
# argument the user typed.

check_beta <- function(beta) {
  if (!is.numeric(beta) || length(beta) != 1L || is.na(beta) || !is.finite(beta)) {
    stop("'beta' must be a single finite number (2 = least squares, 1 = KL/Poisson, 0 = Itakura-Saito)",
         call. = FALSE)
  }
  as.double(beta)
}

check_count <- function(value, arg, min = 1) {
  if (!is.numeric(value) || length(value) != 1L || is.na(value) || !is.finite(value) ||
      value != round(value) || value < min || value > .Machine$integer.max) {
    stop(sprintf("'%s' must be a single whole number between %d and %d", arg, min, .Machine$integer.max),
         call. = FALSE)
  }
  as.integer(value)
}

# NULL is the default: default_threads() (R/threads.R)
check_threads <- function(threads) {
  if (is.null(threads)) return(default_threads())
  check_thread_count(threads, "'threads'")
}

check_thread_count <- function(threads, what) {
  if (!is.numeric(threads) || length(threads) != 1L || is.na(threads) || !is.finite(threads) ||
      threads != round(threads) || threads < 1 || threads > .Machine$integer.max) {
    stop(sprintf("%s must be a single whole number >= 1 (or NULL for the default)", what), call. = FALSE)
  }
  as.integer(threads)
}

check_rank <- function(rank, dims) {
  top <- min(dims)
  if (!is.numeric(rank) || length(rank) != 1L || is.na(rank) || !is.finite(rank) || rank != round(rank) ||
      rank < 1 || rank > top) {
    stop(sprintf("'rank' must be a single whole number between 1 and min(dim(x)) = %d", top), call. = FALSE)
  }
  as.integer(rank)
}
