# Per-mutation attribution: the posterior probability that a mutation of
# channel i in sample j came from signature k, under the model X ~ Poisson(WH)
# (or the opportunity-scaled o * (WH)) read as a mixture over signatures:
# W_ik H_kj / (WH)_ij, the responsibilities of the E-step of the EM reading of
# KL-NMF (Lee & Seung 2001; what SigProfilerAssignment exports as
# per-mutation probabilities).

#' Attribute each sample's mutations to signatures
#'
#' For every sample, channel and signature, the share of the sample's
#' mutations in that channel that the signature explains, W_ik H_kj /
#' (WH)_ij, and the expected number of mutations it accounts for (that
#' share times the observed count). With an `opportunity` the model is
#' o_ij (WH)_ij, and o_ij cancels from the share.
#'
#' @param object a [fit_signatures()] result, or an [nmf()] fit.
#' @param x for an [nmf()] fit, the data it was fitted on, channels x
#'   samples (by default the data the fit keeps). Its rows are matched to
#'   the fit's by name (see the Matching rows section of [fit_signatures()])
#'   and its columns too when both are named. Not used for a refit, which
#'   keeps its catalog.
#' @return A data frame with one row per sample, channel and signature (in
#'   that nesting, signatures varying fastest): `sample`, `channel`,
#'   `signature` (factors in the order of the fit), `probability` (summing
#'   to 1 over the signatures of a sample and channel wherever (WH)_ij > 0;
#'   `NA` where the model gives the channel no mutations at all) and
#'   `expected` (probability times the observed count: summing to the
#'   observed count over signatures; 0 where nothing was observed).
#' @seealso [fit_signatures()].
#' @examples
#' sim <- simulate_nmf(w = sbs_signatures, n = 3, depth = 500, seed = 1)
#' refit <- fit_signatures(sim$x, sbs_signatures)
#' a <- attribute_mutations(refit)
#' head(a)
#' # mutations of sample s1 attributed to each signature
#' tapply(a$expected[a$sample == "s1"], a$signature[a$sample == "s1"], sum)
#' @export
attribute_mutations <- function(object, x = NULL) {
  if (inherits(object, "signature_refit")) {
    if (!is.null(x)) abort("'x' is for nmf() fits only: a signature refit keeps its catalog")
    w <- object$signatures
    h <- object$exposures
    counts <- object$catalog
  } else if (inherits(object, "nmf_fit")) {
    w <- object$w
    h <- object$h
    if (is.null(x)) {
      if (is.null(object$x)) abort("this fit does not keep its data: give the data it was fitted on as 'x'")
      counts <- as.matrix(object$x)
    } else {
      counts <- as.matrix(as_nmf_matrix(x, arg = "x"))
      counts <- conform_rows(counts, w, "x", "object", target_desc = "the basis of 'object'",
                             target_names_code = "rownames(basis(object))")
      if (ncol(counts) != ncol(h)) {
        abort(sprintf("'x' must have the %d columns (samples) 'object' was fitted on, not %d", ncol(h), ncol(counts)),
              "alignment")
      }
      if (!is.null(colnames(counts)) && !is.null(colnames(h))) {
        idx <- match(colnames(h), colnames(counts))
        if (anyNA(idx) || anyDuplicated(colnames(counts))) {
          abort("the columns of 'x' are matched to the samples of 'object' by name, so they must name each once",
                "alignment")
        }
        counts <- counts[, idx, drop = FALSE]
      }
    }
  } else {
    abort("'object' must be a fit_signatures() result or an nmf() fit")
  }
  m <- nrow(w)
  k <- ncol(w)
  n <- ncol(h)
  channels <- if (is.null(rownames(w))) rownames(counts) else rownames(w)
  if (is.null(channels)) channels <- as.character(seq_len(m))
  signatures <- if (is.null(colnames(w))) paste0("Sig", seq_len(k)) else colnames(w)
  samples <- if (is.null(colnames(h))) colnames(counts) else colnames(h)
  if (is.null(samples)) samples <- paste0("sample", seq_len(n))
  y <- w %*% h
  # [k, i, j] arrays: W_ik, H_kj and (WH)_ij spread over the three indices
  w_part <- array(rep(t(w), n), c(k, m, n))
  h_part <- array(h[, rep(seq_len(n), each = m), drop = FALSE], c(k, m, n))
  y_part <- array(rep(as.vector(y), each = k), c(k, m, n))
  x_part <- array(rep(as.vector(counts), each = k), c(k, m, n))
  probability <- ifelse(y_part > 0, w_part * h_part / y_part, NA_real_)
  expected <- ifelse(x_part == 0, 0, probability * x_part)
  data.frame(
    sample = factor(rep(samples, each = k * m), levels = samples),
    channel = factor(rep(rep(channels, each = k), n), levels = channels),
    signature = factor(rep(signatures, m * n), levels = signatures),
    probability = as.vector(probability),
    expected = as.vector(expected)
  )
}
