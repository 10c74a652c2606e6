# Reference signatures: matching extracted components to a reference by
# optimal one-to-one assignment (reading and writing files: catalogs.R).

#' Match extracted components to reference signatures
#'
#' Pairs each column of `fit_or_w` with a distinct reference signature so
#' that the total cosine similarity is as large as possible (the linear
#' assignment problem, solved exactly by [hungarian()]), and reports for each
#' component also its runner-up: the most similar reference other than the
#' assigned one. With more components than references, the components left
#' over get no match (`NA`).
#'
#' Rows are matched by name when both sides have row names (SBS labels in
#' any style of [sbs96_labels()] are converted first); an unnamed 96-row
#' side is read in the canonical SBS-96 order, so an unnamed COSMIC or
#' MutationalPatterns matrix meets a named catalog or fit in any row order
#' (see Matching rows).
#'
#' @inheritSection fit_signatures Matching rows
#' @param fit_or_w an [nmf()] fit or a non-negative matrix whose columns are
#'   components (e.g. its basis W).
#' @param reference a non-negative matrix whose columns are reference
#'   signatures (e.g. from [read_signatures()]).
#' @return An object of class `signature_match`: a list with `matches`, a
#'   data frame with one row per component (`component`, `reference`,
#'   `cosine`, `runner_up`, `runner_up_cosine`), `cosine`, the full
#'   components x references cosine matrix, and `total`, the summed cosine of
#'   the assignment.
#' @seealso [fit_signatures()], [cosine_similarity()].
#' @examples
#' sim <- simulate_nmf(96, 40, 3, w = sbs_signatures[, 1:3], seed = 1)
#' fit <- nmf(sim$x, 3, beta = 1, seed = 1)
#' match_signatures(fit, sbs_signatures)
#' @export
match_signatures <- function(fit_or_w, reference) {
  w <- if (inherits(fit_or_w, "nmf_fit")) fit_or_w$w else fit_or_w
  w <- check_profile_matrix(w, "fit_or_w")
  reference <- check_profile_matrix(reference, "reference")
  reference <- conform_rows(reference, w, "reference", "fit_or_w")
  if (is.null(colnames(w))) colnames(w) <- paste0("NMF", seq_len(ncol(w)))
  if (is.null(colnames(reference))) colnames(reference) <- paste0("ref", seq_len(ncol(reference)))
  sim <- cosine_similarity(w, reference)
  sim <- matrix(sim, ncol(w), ncol(reference), dimnames = list(colnames(w), colnames(reference)))
  k <- ncol(w)
  r <- ncol(reference)
  # the assignment on a square matrix: dummy references (cosine 0) absorb
  # surplus components, dummy components absorb surplus references
  size <- max(k, r)
  square <- matrix(0, size, size)
  square[seq_len(k), seq_len(r)] <- sim
  assigned <- hungarian(square, maximize = TRUE)$assignment[seq_len(k)]
  assigned[assigned > r] <- NA
  best_cos <- ifelse(is.na(assigned), NA_real_, sim[cbind(seq_len(k), ifelse(is.na(assigned), 1L, assigned))])
  runner <- vapply(seq_len(k), function(i) {
    s <- sim[i, ]
    if (!is.na(assigned[i])) s[assigned[i]] <- -Inf
    if (all(!is.finite(s))) NA_integer_ else which.max(s)
  }, integer(1))
  matches <- data.frame(
    component = colnames(w),
    reference = colnames(reference)[assigned],
    cosine = best_cos,
    runner_up = colnames(reference)[runner],
    runner_up_cosine = ifelse(is.na(runner), NA_real_, sim[cbind(seq_len(k), ifelse(is.na(runner), 1L, runner))]),
    stringsAsFactors = FALSE
  )
  structure(list(matches = matches, cosine = sim, total = sum(best_cos, na.rm = TRUE)),
            class = "signature_match")
}

#' @rdname match_signatures
#' @param x a `signature_match`.
#' @param digits significant digits for the cosines.
#' @param ... unused.
#' @export
print.signature_match <- function(x, digits = 3, ...) {
  cat(sprintf("Components matched to reference signatures (total cosine %.*f)\n", digits, x$total))
  df <- x$matches
  df$cosine <- round(df$cosine, digits)
  df$runner_up_cosine <- round(df$runner_up_cosine, digits)
  print(df, row.names = FALSE)
  invisible(x)
}

#' @rdname match_signatures
#' @param row.names,optional as in [as.data.frame()].
#' @export
as.data.frame.signature_match <- function(x, row.names = NULL, optional = FALSE, ...) x$matches
