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

#' Simulate spike counts with planted neural sequences
#'
#' Draws a raster of Poisson spike counts (neurons x time bins) in which
#' groups of neurons fire in a fixed order: the data convolutive NMF
#' ([nmf_conv()]) is made for, and the kind seqNMF (Mackevicius et al. 2019)
#' was validated on.
#'
#' The model, with everything in expected spikes per bin:
#' * sequence `s` (of `n_seq`) has `seq_neurons` member neurons; the `j`-th
#'   member's own lag is `round((j - 1) * (lags - 1) / (seq_neurons - 1))`, so
#'   the members fire in order across the `lags` bins of the motif. Sequence
#'   `s` takes neurons `(s - 1) * (seq_neurons - overlap) + 1` onwards, so
#'   consecutive sequences share `overlap` neurons (late in one, early in the
#'   next); the remaining neurons fire at background only.
#' * each sequence starts in any time bin with probability `onset_rate`
#'   (independently across bins and sequences; an occurrence near the end is
#'   cut off at the last bin);
#' * at each occurrence every member fires `amplitude` expected spikes in one
#'   bin, drawn around its own lag: lag `l` (of 0, ..., `lags` - 1) with
#'   probability proportional to a normal density of standard deviation
#'   `jitter` bins at `l` (a normal discretised to the motif's bins);
#' * every neuron also fires at its `background` rate in every bin, and the
#'   counts are Poisson around the sum.
#'
#' The truth is returned in [nmf_conv()]'s scale: `w[, s, ]` is the expected
#' share of sequence `s`'s spikes in each neuron and lag (each member's lag
#' probabilities divided by `seq_neurons`, so that it sums to one over
#' neurons and lags), and `h[s, t]` is the expected number of spikes of an
#' occurrence starting at bin `t` (`amplitude * seq_neurons`, zero
#' elsewhere), so that, given the onsets, the expected counts are exactly
#' `background + sum_l w[, , l] %*% shift(h, l)` with `shift(h, l)` moving
#' the columns of `h` right by `l` bins.
#'
#' @param m,n the numbers of neurons (rows) and time bins (columns).
#' @param n_seq the number of sequences.
#' @param seq_neurons the number of neurons in each sequence.
#' @param lags the length of each motif in bins (L).
#' @param onset_rate the probability that a sequence starts in a given bin.
#' @param amplitude the expected spikes of each member neuron per occurrence.
#' @param jitter the standard deviation, in bins, of each member's spike time
#'   around its own lag (0: exactly at its lag).
#' @param background the background rate in spikes per bin: one number or
#'   one per neuron (`m`).
#' @param overlap the number of neurons consecutive sequences share (0 to
#'   `seq_neurons - 1`).
#' @param seed `NULL` or a whole number; the same seed gives the same data,
#'   and the user's random-number state is left untouched when a seed is given.
#' @return A list with
#' * `x`: the counts, an `m` x `n` matrix (rows `n001`, ..., columns `t1`,
#'   ...);
#' * `w`: the true motifs, an `m` x `n_seq` x `lags` array (components
#'   `seq1`, ..., lags `lag0`, ...), each `w[, s, ]` summing to one;
#' * `h`: the true activations, `n_seq` x `n`;
#' * `onsets`: a list of each sequence's onset bins;
#' * `neurons`: a list of each sequence's member neurons (row numbers), in
#'   firing order;
#' * `neuron_lag`: an `m` x `n_seq` matrix of each member's own lag (`NA` for
#'   neurons outside the sequence);
#' * `background` (one per neuron) and `seed`.
#' @references Mackevicius, E. L. et al. (2019). Unsupervised discovery of
#'   temporal sequences in high-dimensional datasets, with applications to
#'   neuroscience. *eLife* 8, e38471.
#' @examples
#' sim <- simulate_sequences(m = 40, n = 1000, n_seq = 2, seq_neurons = 10,
#'                           lags = 10, seed = 1)
#' dim(sim$x)
#' sim$neurons[[1]]
#' # the members of sequence 1 fire in order after each onset
#' t0 <- sim$onsets[[1]][sim$onsets[[1]] <= 990]
#' rowMeans(sapply(t0, function(t) diag(sim$x[sim$neurons[[1]], t + 0:9])))
#' @export
simulate_sequences <- function(m = 100, n = 5000, n_seq = 3, seq_neurons = 20, lags = 20,
                               onset_rate = 0.01, amplitude = 1, jitter = 0.5, background = 0.02,
                               overlap = 0, seed = NULL) {
  m <- check_count(m, "m")
  n <- check_count(n, "n")
  n_seq <- check_count(n_seq, "n_seq")
  seq_neurons <- check_count(seq_neurons, "seq_neurons")
  lags <- check_count(lags, "lags")
  overlap <- check_count(overlap, "overlap", min = 0)
  if (overlap >= seq_neurons) {
    abort(sprintf("'overlap' must be smaller than 'seq_neurons' (%d): sequences cannot share all their neurons",
                  seq_neurons))
  }
  used <- n_seq * seq_neurons - (n_seq - 1L) * overlap
  if (used > m) {
    abort(sprintf(paste0("%d sequences of %d neurons sharing %d between neighbours need %d neurons, ",
                         "but 'm' is %d: raise 'm' or lower 'n_seq', 'seq_neurons' or raise 'overlap'"),
                  n_seq, seq_neurons, overlap, used, m))
  }
  if (lags > n) abort(sprintf("'lags' (%d) must not exceed the number of time bins 'n' (%d)", lags, n))
  if (!is.numeric(onset_rate) || length(onset_rate) != 1L || is.na(onset_rate) || onset_rate <= 0 ||
      onset_rate > 1) {
    abort("'onset_rate' must be a single probability in (0, 1]")
  }
  check_positive(amplitude, "amplitude")
  if (!is.numeric(jitter) || length(jitter) != 1L || is.na(jitter) || !is.finite(jitter) || jitter < 0) {
    abort("'jitter' must be a single non-negative number (a standard deviation in bins)")
  }
  if (!is.numeric(background) || !(length(background) %in% c(1L, m)) || anyNA(background) ||
      any(!is.finite(background)) || any(background < 0)) {
    abort(sprintf("'background' must be one non-negative rate or %d (one per neuron)", m))
  }
  background <- rep_len(as.double(background), m)

  neuron_names <- sprintf("n%0*d", max(3L, nchar(m)), seq_len(m))
  seq_names <- paste0("seq", seq_len(n_seq))
  lag_names <- paste0("lag", seq_len(lags) - 1L)
  own_lag <- if (seq_neurons == 1L) 0L else
    as.integer(round((seq_len(seq_neurons) - 1) * (lags - 1) / (seq_neurons - 1)))
  # each member's spike lag: a normal around its own lag, discretised to the
  # motif's bins (a point mass without jitter)
  lag_prob <- function(centre) {
    if (jitter == 0) return(as.double(seq_len(lags) - 1L == centre))
    p <- stats::dnorm(seq_len(lags) - 1L, mean = centre, sd = jitter)
    p / sum(p)
  }
  members <- lapply(seq_len(n_seq), function(s) (s - 1L) * (seq_neurons - overlap) + seq_len(seq_neurons))
  w <- array(0, c(m, n_seq, lags), dimnames = list(neuron_names, seq_names, lag_names))
  neuron_lag <- matrix(NA_integer_, m, n_seq, dimnames = list(neuron_names, seq_names))
  for (s in seq_len(n_seq)) {
    for (j in seq_len(seq_neurons)) {
      w[members[[s]][j], s, ] <- amplitude * lag_prob(own_lag[j])
      neuron_lag[members[[s]][j], s] <- own_lag[j]
    }
  }

  seed <- resolve_seed(seed)
  stream <- rng_streams(seed, 1L)[[1]]
  with_stream(stream, {
    onsets <- lapply(seq_len(n_seq), function(s) which(stats::runif(n) < onset_rate))
    # the rate: the background plus `amplitude` in the bin where each member
    # fires at each occurrence
    hits <- integer(0)
    for (s in seq_len(n_seq)) {
      t0 <- onsets[[s]]
      if (length(t0) == 0L) next
      for (j in seq_len(seq_neurons)) {
        at <- t0 + sample.int(lags, length(t0), replace = TRUE, prob = w[members[[s]][j], s, ]) - 1L
        at <- at[at <= n]
        hits <- c(hits, (at - 1L) * m + members[[s]][j])
      }
    }
    rate <- matrix(background, m, n) + amplitude * tabulate(hits, nbins = m * n)
    x <- matrix(as.double(stats::rpois(m * n, rate)), m, n,
                dimnames = list(neuron_names, paste0("t", seq_len(n))))
  })
  h <- matrix(0, n_seq, n, dimnames = list(seq_names, colnames(x)))
  for (s in seq_len(n_seq)) h[s, onsets[[s]]] <- amplitude * seq_neurons
  w <- w / (amplitude * seq_neurons)
  names(onsets) <- names(members) <- seq_names
  list(x = x, w = w, h = h, onsets = onsets, neurons = members, neuron_lag = neuron_lag,
       background = stats::setNames(background, neuron_names), seed = seed)
}
