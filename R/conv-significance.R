#' Significance of convolutive motifs on held-out data
#'
#' Tests each motif of a convolutive fit on time bins it was not fitted on,
#' with the skewness test of seqNMF (Mackevicius et al. 2019): is the motif
#' present in the held-out data as a sequence, more than the same neurons
#' with their timing scrambled?
#'
#' For component `k` the overlap of its motif with the held-out data `X`
#' (`m` neurons x `n` bins) is
#' \deqn{o_k(t) = \sum_{l=0}^{L-1} \sum_i w_{ik,l} x_{i,t+l}}{o_k(t) = sum_l sum_i w[i, k, l] x[i, t + l]}
#' (zero where `t + l > n`): seqNMF's \eqn{W^\top \circledast X}{W' (*) X}. Where
#' the sequence occurs the overlap is large, elsewhere it is small, so a
#' motif that is present gives a right-skewed overlap. The statistic is the
#' skewness of \eqn{o_k} over the `n` bins,
#' \eqn{m_3 / m_2^{3/2}} with \eqn{m_j} the `j`-th central moment (divided by
#' `n`; MATLAB's `skewness(x, 1)`).
#'
#' The null: `nnull` motifs are made from the fitted one by shifting each
#' neuron's row `w[i, k, ]` circularly along the lags by its own random amount
#' (uniform over `0, ..., L - 1`, independently for every neuron, component
#' and null motif). This keeps each neuron's weights, hence its firing rate's
#' share of the overlap, and destroys the timing between neurons; the
#' skewness of each null motif's overlap with the same held-out data forms the
#' null distribution. The p-value is `(1 + #(null skewness >= observed)) /
#' (1 + nnull)` (a null equal to the observed within rounding counts against
#' the motif), and a motif is significant when its p-value is at most
#' `alpha / K` (Bonferroni over the `K` components, as seqNMF does), so that
#' the chance that any motif of a fit is called significant when the data
#' hold no sequence stays at or below `alpha` (the null's shifted motifs
#' match the fitted one's weights but not its exact dependence over time, so
#' this is approximate; `tools/conv-significance-fpr.R` in the package
#' sources measures it on simulated recordings).
#'
#' Assumptions, and what the test does not see:
#' * the held-out bins must not have been used by the fit (take a contiguous
#'   block of time the fit did not see, e.g. the second half of a recording),
#'   and they must contain occurrences of the sequence;
#' * the test asks whether the motif's timing matters, not whether its
#'   neurons are active: a motif whose rows are flat over the lags (no
#'   sequence, an assembly firing together) is unchanged by the shifts and is
#'   never significant, nor is a motif of one lag (`L = 1`);
#' * a sequence active in most bins gives little skew, whatever its timing;
#' * the smallest p-value is `1 / (1 + nnull)`: `nnull` must be at least
#'   `K / alpha - 1` for a motif to be able to pass the Bonferroni threshold
#'   (an error says so otherwise).
#'
#' An empty motif (all zeros) or a constant overlap (held-out data with no
#' spikes on the motif's neurons) has no skewness: `NA`, with p-value 1. A
#' null motif whose overlap is constant counts as skewness 0.
#'
#' @param fit an `nmf_conv` fit ([nmf_conv()]), or its motifs: a
#'   non-negative `m` x `K` x `L` array (neurons x components x lags).
#' @param newdata the held-out data: a non-negative matrix (or data frame,
#'   `dgCMatrix`) of the same neurons in rows, time bins the fit did not see
#'   in columns. Rows are matched by name to the motifs' rows when both have
#'   names; unnamed rows must be as many, in the same order.
#' @param nnull the number of null motifs per component.
#' @param alpha the family-wise significance level (before the Bonferroni
#'   division by the number of components).
#' @param seed `NULL` or a whole number for the random shifts; the user's
#'   random-number state is left untouched when a seed is given.
#' @return A data frame with one row per component: `component` (its name),
#'   `skewness` (of the overlap with `newdata`), `p_value` and `significant`
#'   (`p_value <= alpha / K`). Attributes: `alpha`, `threshold` (`alpha /
#'   K`), `nnull`, `seed` and `null`, the `K` x `nnull` matrix of null
#'   skewnesses.
#' @references Mackevicius, E. L., Bahle, A. H., Williams, A. H., Gu, S.,
#'   Denisenko, N. I., Goldman, M. S. and Fee, M. S. (2019). Unsupervised
#'   discovery of temporal sequences in high-dimensional datasets, with
#'   applications to neuroscience. *eLife* 8, e38471.
#' @examples
#' sim <- simulate_sequences(m = 40, n = 2000, n_seq = 2, seq_neurons = 10,
#'                           lags = 10, seed = 1)
#' # the planted motifs, tested on the second half of the recording
#' conv_significance(sim$w, sim$x[, 1001:2000], nnull = 199, seed = 1)
#' # the same neurons with random weights: no sequence
#' noise <- array(rexp(length(sim$w)), dim(sim$w), dimnames(sim$w))
#' conv_significance(noise, sim$x[, 1001:2000], nnull = 199, seed = 1)
#' @export
conv_significance <- function(fit, newdata, nnull = 1000, alpha = 0.05, seed = NULL) {
  w <- conv_motifs(fit)
  if (missing(newdata) || is.null(newdata)) {
    abort(paste0("'newdata' is required: the held-out data (the fit's neurons in rows, ",
                 "time bins the fit did not see in columns) that each motif is tested on"))
  }
  nnull <- check_count(nnull, "nnull")
  if (!is.numeric(alpha) || length(alpha) != 1L || is.na(alpha) || alpha <= 0 || alpha >= 1) {
    abort("'alpha' must be a single number between 0 and 1")
  }
  m <- dim(w)[1]
  k <- dim(w)[2]
  lags <- dim(w)[3]
  threshold <- alpha / k
  # p-values are multiples of 1 / (1 + nnull): compare with the threshold
  # up to rounding, so that e.g. 5 / 200 passes alpha / K = 0.05 / 2
  passes <- function(p) p <= threshold * (1 + 1e-12)
  if (!passes(1 / (1 + nnull))) {
    abort(sprintf(paste0("'nnull' = %d null motifs give p-values of at least 1/%d, above the Bonferroni ",
                         "threshold alpha / K = %g / %d: no motif could be significant; use nnull >= %d"),
                  nnull, nnull + 1L, alpha, k, as.integer(ceiling(k / alpha - 1))))
  }
  x <- as_nmf_matrix(newdata, arg = "newdata")
  x <- conform_rows(x, matrix(0, m, 0L, dimnames = list(dimnames(w)[[1]], NULL)), "newdata", "fit",
                    target_desc = "the motifs of 'fit'", target_names_code = "dimnames(fit$w)[[1]]")
  values <- if (inherits(x, "sparseMatrix")) x@x else x
  if (anyNA(values) || any(!is.finite(values)) || any(values < 0)) {
    abort("'newdata' must be finite and non-negative, without NA: the test needs every held-out bin", "data")
  }
  if (ncol(x) < 3L) abort("'newdata' must have at least 3 time bins (columns) for a skewness")

  seed <- resolve_seed(seed)
  shifts <- with_stream(rng_streams(seed, 1L)[[1]],
                        array(sample.int(lags, m * k * nnull, replace = TRUE) - 1L, c(m, k, nnull)))
  observed <- apply(conv_transpose(w, x), 1, skewness_of)
  null <- conv_null_skewness(w, x, shifts)
  null[is.na(null)] <- 0 # a constant null overlap has no peak
  # a tie within rounding counts against the motif
  ties <- sqrt(.Machine$double.eps) * pmax(1, abs(observed))
  exceed <- rowSums(null >= observed - ties)
  p_value <- ifelse(is.na(observed), 1, (1 + exceed) / (1 + nnull))
  out <- data.frame(component = dimnames(w)[[2]], skewness = unname(observed), p_value = unname(p_value),
                    significant = unname(passes(p_value)), stringsAsFactors = FALSE)
  dimnames(null) <- list(dimnames(w)[[2]], NULL)
  structure(out, alpha = alpha, threshold = threshold, nnull = nnull, seed = seed, null = null)
}

# The motifs of a convolutive fit (or the array given), checked: a
# non-negative m x K x L array with component names.
conv_motifs <- function(fit) {
  w <- if (inherits(fit, "nmf_conv")) fit$w else fit
  if (!is.array(w) || length(dim(w)) != 3L || !is.numeric(w) || any(dim(w) == 0L)) {
    abort("'fit' must be an nmf_conv fit or an m x K x L array of motifs (neurons x components x lags)")
  }
  if (anyNA(w) || any(!is.finite(w)) || any(w < 0)) {
    abort("the motifs of 'fit' must be finite and non-negative")
  }
  storage.mode(w) <- "double"
  if (is.null(dimnames(w))) dimnames(w) <- vector("list", 3L)
  if (is.null(dimnames(w)[[2]])) dimnames(w)[[2]] <- paste0("k", seq_len(dim(w)[2]))
  w
}

# The skewness m3 / m2^(3/2) of a vector (central moments over n); NA when
# the vector is constant (to rounding).
skewness_of <- function(v) {
  d <- v - mean(v)
  m2 <- mean(d^2)
  if (!(m2 > .Machine$double.eps * max(1, mean(v^2)))) return(NA_real_)
  mean(d^3) / m2^1.5
}

# The skewness of the overlap of every null motif with x: K x nnull, the
# null motif j of component k having row i equal to w[i, k, ] shifted
# circularly by shifts[i, k, j] lags (null w[i, k, l] = w[i, k, (l - s) mod L]).
#
# Never builds the null motifs: for each neuron i the overlaps of its L
# shifted rows with x_i are one product, the lagged copies of x_i (n x L)
# times the circulant matrix of w[i, k, ] (L x L), giving an n x (m L) block
# per component (in column chunks of at most `chunk_entries` values); each
# null overlap is the sum of m of the block's columns, picked by a sparse
# selection matrix. The moments are accumulated chunk by chunk as power sums
# centred at the observed overlap's mean (which every null overlap shares
# up to edge effects), so a long recording needs one chunk at a time.
conv_null_skewness <- function(w, x, shifts, chunk_entries = 2^21) {
  m <- dim(w)[1]
  k <- dim(w)[2]
  lags <- dim(w)[3]
  n <- ncol(x)
  nnull <- dim(shifts)[3]
  centre <- unname(rowMeans(conv_transpose(w, x)))
  sums <- array(0, c(k, nnull, 3))
  # selection[(i - 1) L + s + 1, j] = 1: null j takes neuron i at shift s
  selection <- lapply(seq_len(k), function(kk) {
    Matrix::sparseMatrix(i = rep((seq_len(m) - 1L) * lags, nnull) + as.vector(shifts[, kk, ]) + 1L,
                         j = rep(seq_len(nnull), each = m), x = 1, dims = c(m * lags, nnull))
  })
  # circulant[l + 1, s + 1] = w[i, k, (l - s) mod L + 1], for all k side by side
  circulant <- as.vector(outer(seq_len(lags), seq_len(lags), "-") %% lags) + 1L
  width <- max(1L, as.integer(chunk_entries %/% (m * lags)))
  for (first in seq(1L, n, by = width)) {
    last <- min(n, first + width - 1L)
    cw <- last - first + 1L
    # the chunk's bins and the L - 1 after it, zero past the end, time in rows
    span <- first:min(n, last + lags - 1L)
    xt <- matrix(0, cw + lags - 1L, m)
    xt[seq_along(span), ] <- t(as.matrix(x[, span, drop = FALSE]))
    lagged_rows <- outer(seq_len(cw), seq_len(lags) - 1L, "+")
    blocks <- replicate(k, matrix(0, cw, m * lags), simplify = FALSE)
    for (i in seq_len(m)) {
      lagged <- matrix(xt[, i][lagged_rows], cw, lags)
      circ <- matrix(vapply(seq_len(k), function(kk) w[i, kk, ][circulant], numeric(lags * lags)), lags)
      prod <- lagged %*% circ
      cols <- (i - 1L) * lags + seq_len(lags)
      for (kk in seq_len(k)) blocks[[kk]][, cols] <- prod[, (kk - 1L) * lags + seq_len(lags)]
    }
    for (kk in seq_len(k)) {
      d <- as.matrix(blocks[[kk]] %*% selection[[kk]]) - centre[kk]
      sums[kk, , 1] <- sums[kk, , 1] + colSums(d)
      sums[kk, , 2] <- sums[kk, , 2] + colSums(d^2)
      sums[kk, , 3] <- sums[kk, , 3] + colSums(d^3)
    }
  }
  mean1 <- sums[, , 1, drop = FALSE][, , 1] / n
  raw2 <- sums[, , 2, drop = FALSE][, , 1] / n
  raw3 <- sums[, , 3, drop = FALSE][, , 1] / n
  m2 <- raw2 - mean1^2
  m3 <- raw3 - 3 * mean1 * raw2 + 2 * mean1^3
  out <- m3 / m2^1.5
  out[!(m2 > .Machine$double.eps * pmax(1, raw2 + 2 * abs(mean1 * centre) + centre^2))] <- NA_real_
  matrix(out, k, nnull)
}
