#' Simulate data from a planted NMF model
#'
#' Draws a non-negative matrix `x` around `W %*% H` from known factors, for
#' tests, examples and benchmarks.
#'
#' The true factors: the columns of `w` are drawn as Gamma(`w_shape`) values
#' normalised to sum to one (a small `w_shape` gives peaked, nearly disjoint
#' profiles), unless `w` is given; the columns of `h` are Gamma(`h_shape`)
#' weights rescaled so that each column of `W %*% H` sums to `depth` (a
#' number, or one per column), unless `h` is given.
#'
#' The noise, with Y = W H:
#' * `"poisson"`: x ~ Poisson(Y) (counts; beta = 1 is the likelihood);
#' * `"gaussian"`: x = max(0, Y + e), e ~ Normal(0, (`noise_level` * mean(Y))^2),
#'   constant variance (beta = 2), truncated at zero so x stays non-negative;
#' * `"gamma"`: x = Y * g, g ~ Gamma(shape = 1 / `noise_level`^2, rate = shape),
#'   multiplicative noise of mean one and coefficient of variation
#'   `noise_level` (beta = 0);
#' * `"none"`: x = Y.
#'
#' @param m,n the numbers of rows and columns of `x`.
#' @param rank the number of components.
#' @param noise `"poisson"`, `"gaussian"`, `"gamma"` or `"none"`.
#' @param depth the expected column sums of `W %*% H`: one number or `n`.
#' @param noise_level the relative noise size of the Gaussian and Gamma noise.
#' @param w_shape,h_shape Gamma shapes of the random factors.
#' @param w,h optional true factors to use instead of random ones (`w` is
#'   m x rank, `h` rank x n; `w`'s columns are normalised to sum to one and
#'   `h` rescaled accordingly so that `W %*% H` is unchanged).
#' @param seed `NULL` or a whole number; the same seed gives the same data,
#'   and the user's random-number state is left untouched when a seed is given.
#' @return A list with `x` (m x n), `w` (m x rank, columns summing to one),
#'   `h` (rank x n), `noise` and `seed`. Row, column and component names are
#'   taken from `w` and `h` when given (`r1`, `s1`, `k1`, ... otherwise).
#' @examples
#' sim <- simulate_nmf(30, 20, 3, noise = "poisson", depth = 500, seed = 1)
#' str(sim, max.level = 1)
#' fit <- nmf(sim$x, 3, beta = 1, seed = 1)
#' @export
simulate_nmf <- function(m, n, rank, noise = c("poisson", "gaussian", "gamma", "none"),
                         depth = 1000, noise_level = 0.1, w_shape = 0.5, h_shape = 1,
                         w = NULL, h = NULL, seed = NULL) {
  noise <- check_choice(noise)
  if (!is.null(w)) {
    w <- as.matrix(w)
    if (missing(m)) m <- nrow(w)
    if (missing(rank)) rank <- ncol(w)
  }
  if (!is.null(h)) {
    h <- as.matrix(h)
    if (missing(n)) n <- ncol(h)
    if (missing(rank)) rank <- nrow(h)
  }
  m <- check_count(m, "m")
  n <- check_count(n, "n")
  rank <- check_count(rank, "rank")
  check_positive(noise_level, "noise_level")
  check_positive(w_shape, "w_shape")
  check_positive(h_shape, "h_shape")
  if (!is.numeric(depth) || !(length(depth) %in% c(1L, n)) || anyNA(depth) || any(!is.finite(depth)) ||
      any(depth <= 0)) {
    abort(sprintf("'depth' must be one positive number or %d (one per column)", n))
  }
  if (!is.null(w)) {
    if (!identical(dim(w), c(m, rank)) || !is.numeric(w) || anyNA(w) || any(w < 0)) {
      abort(sprintf("'w' must be a non-negative %d x %d matrix", m, rank))
    }
    if (any(colSums(w) <= 0)) abort("'w' has a column of zeros")
  }
  if (!is.null(h) && (!identical(dim(h), c(rank, n)) || !is.numeric(h) || anyNA(h) || any(h < 0))) {
    abort(sprintf("'h' must be a non-negative %d x %d matrix", rank, n))
  }
  seed <- resolve_seed(seed)
  stream <- rng_streams(seed, 1L)[[1]]
  with_stream(stream, {
    if (is.null(w)) {
      w <- matrix(stats::rgamma(m * rank, shape = w_shape), m, rank)
      # a column can underflow to all zeros for a tiny shape: give it mass
      w[, colSums(w) <= 0] <- 1
    }
    cs <- colSums(w)
    w <- sweep(w, 2, cs, "/")
    if (is.null(h)) {
      h <- matrix(stats::rgamma(rank * n, shape = h_shape), rank, n)
      h[, colSums(h) <= 0] <- 1
      h <- sweep(h, 2, rep_len(depth, n) / colSums(h), "*")
    } else {
      h <- h * cs
    }
    y <- w %*% h
    x <- switch(noise,
      poisson = matrix(stats::rpois(m * n, y), m, n),
      gaussian = pmax(0, y + matrix(stats::rnorm(m * n, sd = noise_level * mean(y)), m, n)),
      gamma = {
        shape <- 1 / noise_level^2
        y * matrix(stats::rgamma(m * n, shape = shape, rate = shape), m, n)
      },
      none = y
    )
  })
  rn <- if (is.null(rownames(w))) paste0("r", seq_len(m)) else rownames(w)
  kn <- if (!is.null(colnames(w))) colnames(w) else if (!is.null(rownames(h))) rownames(h) else paste0("k", seq_len(rank))
  cn <- if (is.null(colnames(h))) paste0("s", seq_len(n)) else colnames(h)
  x <- matrix(as.double(x), m, n, dimnames = list(rn, cn))
  dimnames(w) <- list(rn, kn)
  dimnames(h) <- list(kn, cn)
  list(x = x, w = w, h = h, noise = noise, seed = seed)
}
