# Reproducible random streams that never disturb the user's RNG.
#
# Every independent piece of random work (a restart, a fold) gets its own
# L'Ecuyer-CMRG stream, drawn up front from one seed, so results are the same
# whichever worker runs which piece and however many workers there are.

# Run `expr` with the global RNG state temporarily replaced, restoring the
# user's state (and RNG kind) afterwards.
preserve_rng <- function(expr) {
  env <- globalenv()
  had <- exists(".Random.seed", envir = env, inherits = FALSE)
  old <- if (had) get(".Random.seed", envir = env, inherits = FALSE)
  kind <- RNGkind()
  on.exit({
    RNGkind(kind[1], kind[2], kind[3])
    if (had) assign(".Random.seed", old, envir = env)
    else if (exists(".Random.seed", envir = env, inherits = FALSE)) rm(".Random.seed", envir = env)
  }, add = TRUE)
  force(expr)
}

rng_streams <- function(seed, n) {
  preserve_rng({
    set.seed(seed, kind = "L'Ecuyer-CMRG", normal.kind = "Inversion", sample.kind = "Rejection")
    s <- get(".Random.seed", envir = globalenv())
    out <- vector("list", n)
    for (k in seq_len(n)) {
      s <- parallel::nextRNGStream(s)
      out[[k]] <- s
    }
    out
  })
}

with_stream <- function(stream, expr) {
  preserve_rng({
    assign(".Random.seed", stream, envir = globalenv())
    expr
  })
}

# A seed for the call: the user's, or one drawn from the user's RNG so the
# fit records what reproduces it.
resolve_seed <- function(seed) {
  if (is.null(seed)) return(sample.int(.Machine$integer.max, 1L))
  if (length(seed) != 1L || !is.numeric(seed) || is.na(seed) || !is.finite(seed) || seed != round(seed)) {
    abort("'seed' must be NULL or a single whole number")
  }
  as.integer(seed %% .Machine$integer.max)
}

# Apply `fun` over seq_len(n) with one stream each: through future.apply when
# it is installed (any future::plan()), else lapply; progress via progressr.
# With a `checkpoint` (from checkpoint_open()) each finished task is saved as
# it completes and the tasks found saved are read back, not run (see
# checkpoint_run()).
run_streams <- function(n, streams, fun, label = "runs", checkpoint = NULL) {
  if (!is.null(checkpoint)) return(checkpoint_run(checkpoint, n, streams, fun, label))
  stream_apply(seq_len(n), streams, fun, label)
}

# `fun` over the task numbers `tasks`, task k with streams[[k]].
stream_apply <- function(tasks, streams, fun, label) {
  n <- length(tasks)
  use_future <- n > 1L && requireNamespace("future.apply", quietly = TRUE)
  has_progress <- requireNamespace("progressr", quietly = TRUE)
  p <- if (has_progress) progressr::progressor(steps = n, label = label) else function(...) NULL
  one <- function(k) {
    res <- fun(k)
    p()
    res
  }
  if (use_future) {
    future.apply::future_lapply(tasks, function(k) with_stream(streams[[k]], one(k)),
                                future.seed = FALSE, future.packages = "betanmf")
  } else {
    lapply(tasks, function(k) with_stream(streams[[k]], one(k)))
  }
}

parallel_workers <- function() {
  if (requireNamespace("future", quietly = TRUE)) future::nbrOfWorkers() else 1L
}
