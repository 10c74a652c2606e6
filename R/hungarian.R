# Aligning components: the assignment problem (hungarian()), cosine
# similarity between columns, and matching two fits' components.

#' Solve the linear assignment problem (Hungarian method)
#'
#' Finds the one-to-one assignment of rows to columns of `cost` with the
#' smallest (or, with `maximize = TRUE`, the largest) total cost, exactly, by
#' the shortest-augmenting-path form of the Hungarian method (Kuhn 1955;
#' Munkres 1957; Jonker & Volgenant 1987) in C, in \eqn{O(n^2 m)} time for
#' `n` rows and `m` columns.
#'
#' With at least as many columns as rows every row gets a distinct column.
#' With more rows than columns the problem is solved on `t(cost)` (every
#' column gets a distinct row) and the rows left over are `NA` in
#' `assignment`. Ties are broken deterministically (the same `cost` always
#' gives the same assignment) but not in any documented order.
#'
#' @param cost a numeric matrix of finite costs (no `NA`, `NaN` or `Inf`),
#'   with at least one row and one column.
#' @param maximize `FALSE` to minimise the total, `TRUE` to maximise it.
#' @return A list with `assignment`, an integer vector with, for each row of
#'   `cost`, the (1-based) column assigned to it (`NA` for unassigned rows
#'   when `nrow(cost) > ncol(cost)`), and `total`, the summed cost of the
#'   assigned pairs.
#' @references
#' Kuhn, H. W. (1955). The Hungarian method for the assignment problem. Naval
#' Research Logistics Quarterly 2, 83-97.
#'
#' Munkres, J. (1957). Algorithms for the assignment and transportation
#' problems. Journal of the SIAM 5(1), 32-38.
#'
#' Jonker, R. and Volgenant, A. (1987). A shortest augmenting path algorithm
#' for dense and sparse linear assignment problems. Computing 38, 325-340.
#' @seealso [match_components()], which uses it to align NMF components.
#' @examples
#' cost <- matrix(c(4, 1, 3,
#'                  2, 0, 5,
#'                  3, 2, 2), 3, 3, byrow = TRUE)
#' hungarian(cost)
#' hungarian(cost, maximize = TRUE)
#' hungarian(cost[1:2, ])   # rectangular: two rows, three columns
#' @export
hungarian <- function(cost, maximize = FALSE) {
  if (is.data.frame(cost)) cost <- as.matrix(cost)
  if (!is.matrix(cost) || !(is.numeric(cost) || is.logical(cost))) {
    abort("'cost' must be a numeric matrix")
  }
  if (nrow(cost) < 1L || ncol(cost) < 1L) {
    abort("'cost' must have at least one row and one column")
  }
  if (anyNA(cost) || any(!is.finite(cost))) {
    abort("'cost' must contain only finite numbers (no NA, NaN or Inf)", "data")
  }
  if (!is.logical(maximize) || length(maximize) != 1L || is.na(maximize)) {
    abort("'maximize' must be TRUE or FALSE")
  }
  storage.mode(cost) <- "double"
  dimnames(cost) <- NULL
  if (nrow(cost) <= ncol(cost)) return(.Call(C_hungarian, cost, maximize))
  # more rows than columns: assign every column a row, then invert
  res <- .Call(C_hungarian, t(cost), maximize)
  assignment <- rep(NA_integer_, nrow(cost))
  assignment[res$assignment] <- seq_len(ncol(cost))
  list(assignment = assignment, total = res$total)
}

#' Cosine similarity between columns
#'
#' The cosine of the angle between every column of `a` and every column of
#' `b`: \eqn{a_i^T b_j / (\|a_i\| \|b_j\|)}{a_i'b_j / (|a_i| |b_j|)}. For
#' non-negative data (signatures, NMF components) it lies in \[0, 1\] and
#' ignores scale.
#'
#' A column that is entirely zero has no direction; its cosine with
#' anything is reported as 0 (not `NaN`).
#'
#' @param a a numeric vector or matrix (columns are the vectors compared).
#' @param b `NULL` (compare `a` with itself) or a numeric vector or matrix
#'   with the rows of `a`: matched to them by name when both are named (the
#'   names of plain vectors count), by the canonical order of a channel set
#'   when one side is unnamed with 96, 78 or 83 rows and the other named by
#'   the SBS-96, DBS-78 or ID-83 channels (see Matching rows).
#' @inheritSection fit_signatures Matching rows
#' @return A matrix with one row per column of `a` and one column per column
#'   of `b`, named by their column names; a single number when `a` and `b`
#'   are both plain vectors.
#' @seealso [match_components()], [match_signatures()].
#' @examples
#' cosine_similarity(c(1, 0, 1), c(1, 1, 0))
#' w <- matrix(c(1, 0, 0, 1, 1, 1), 3, 2)
#' cosine_similarity(w)
#' @export
cosine_similarity <- function(a, b = NULL) {
  both_vectors <- is.null(dim(a)) && !is.null(b) && is.null(dim(b))
  a <- as_numeric_columns(a, "a")
  b <- if (is.null(b)) a else conform_rows(as_numeric_columns(b, "b"), a, "b", "a", arg_is_vector = is.null(dim(b)))
  sim <- crossprod(unit_columns(a), unit_columns(b))
  # rounding can leave |cos| a few ulps above 1
  sim <- pmin(pmax(sim, -1), 1)
  dimnames(sim) <- list(colnames(a), colnames(b))
  if (both_vectors) sim[1, 1] else sim
}

#' Match the components of two NMF solutions
#'
#' Pairs each component of `a` with a distinct component of `b` so that the
#' total cosine similarity is as large as possible. Two NMF solutions of the
#' same data can differ by the scale of each component (`W D`, `D^-1 H`) and
#' by their order (`W P`, `P^T H`): the scale is resolved by comparing
#' columns of unit length (cosine similarity), the order by solving the
#' assignment problem on the cosine matrix with [hungarian()].
#'
#' @param a,b [nmf()] fits (their `w` is used) or non-negative matrices whose
#'   columns are components, with the same rows (matched by name when both
#'   are named; see Matching rows). When `a` has more components than `b`,
#'   the components of `a` left over get `NA`.
#' @inheritSection fit_signatures Matching rows
#' @return An object of class `nmf_match`: a list with `permutation` (for
#'   each component of `a`, the index of the matching component of `b`, so
#'   `b_w[, permutation]` is `b` in `a`'s order), `cosine` (the cosine
#'   similarity of each matched pair), `similarity` (the full cosine matrix,
#'   components of `a` by components of `b`) and `total` (the summed cosine).
#' @seealso [hungarian()], [cosine_similarity()], [stability()].
#' @examples
#' set.seed(1)
#' w <- matrix(rexp(60), 20, 3)
#' shuffled <- sweep(w[, c(3, 1, 2)], 2, c(2, 5, 0.1), "*")
#' m <- match_components(w, shuffled)
#' m
#' m$permutation   # c(2, 3, 1): shuffled[, 2] is w[, 1], ...
#' as.data.frame(m)
#' @export
match_components <- function(a, b) {
  wa <- component_matrix(a, "a")
  wb <- conform_rows(component_matrix(b, "b"), wa, "b", "a")
  if (is.null(colnames(wa))) colnames(wa) <- paste0("NMF", seq_len(ncol(wa)))
  if (is.null(colnames(wb))) colnames(wb) <- paste0("NMF", seq_len(ncol(wb)))
  sim <- cosine_similarity(wa, wb)
  perm <- hungarian(sim, maximize = TRUE)$assignment
  cos <- rep(NA_real_, length(perm))
  ok <- !is.na(perm)
  cos[ok] <- sim[cbind(which(ok), perm[ok])]
  names(perm) <- names(cos) <- colnames(wa)
  structure(list(permutation = perm, cosine = cos, similarity = sim,
                 total = sum(cos, na.rm = TRUE)),
            class = "nmf_match")
}

#' @rdname match_components
#' @param x an `nmf_match`.
#' @param digits digits to print for the cosines.
#' @param ... unused.
#' @export
print.nmf_match <- function(x, digits = 3L, ...) {
  sim <- x$similarity
  cat(sprintf("<nmf_match> %d components of 'a' matched to %d of 'b' (total cosine %.*f)\n",
              nrow(sim), ncol(sim), digits, x$total))
  df <- data.frame(a = rownames(sim),
                   b = ifelse(is.na(x$permutation), NA_character_, colnames(sim)[x$permutation]),
                   cosine = round(x$cosine, digits), stringsAsFactors = FALSE)
  print(df, row.names = FALSE)
  invisible(x)
}

#' @rdname match_components
#' @param row.names,optional unused.
#' @return `as.data.frame()`: one row per component of `a`: `a`, `b` (the
#'   matching component of `b`, `NA` if none), `b_index` (its position) and
#'   `cosine`.
#' @export
as.data.frame.nmf_match <- function(x, row.names = NULL, optional = FALSE, ...) {
  sim <- x$similarity
  perm <- as.integer(x$permutation)
  data.frame(a = rownames(sim),
             b = ifelse(is.na(perm), NA_character_, colnames(sim)[perm]),
             b_index = perm,
             cosine = as.numeric(x$cosine), stringsAsFactors = FALSE)
}

# --- helpers ---------------------------------------------------------------

# a numeric vector or matrix as a finite double matrix with columns
as_numeric_columns <- function(x, arg) {
  if (is.data.frame(x) || inherits(x, "Matrix")) x <- as.matrix(x)
  if (is.null(dim(x))) x <- matrix(x, ncol = 1L, dimnames = list(names(x), NULL))
  if (!is.numeric(x) || length(dim(x)) != 2L) {
    abort(sprintf("'%s' must be a numeric vector or matrix", arg))
  }
  if (nrow(x) < 1L) abort(sprintf("'%s' must have at least one row", arg))
  if (anyNA(x) || any(!is.finite(x))) {
    na_rows <- which(rowSums(is.na(x)) == ncol(x))
    hint <- if (length(na_rows) && ncol(x) > 1L) {
      # nmf() leaves rows with no observed entry NA in W
      sprintf(paste0("; its row(s) %s are NA throughout, as nmf() leaves the rows of W without an observed ",
                     "entry: drop them from both sides first, e.g. %s[stats::complete.cases(%s), ]"),
              paste(utils::head(na_rows, 5), collapse = ", "), arg, arg)
    } else ""
    abort(sprintf("'%s' must contain only finite numbers%s", arg, hint), "data")
  }
  storage.mode(x) <- "double"
  x
}

# columns scaled to unit l2 norm; zero columns stay zero
unit_columns <- function(x) {
  norms <- sqrt(colSums(x^2))
  norms[norms == 0] <- 1
  sweep(x, 2, norms, "/")
}

# the W of a fit, or a component matrix given directly
component_matrix <- function(x, arg) {
  if (inherits(x, "nmf_fit")) x <- x$w
  x <- as_numeric_columns(x, arg)
  if (any(x < 0)) abort(sprintf("'%s' must be non-negative", arg), "data")
  x
}
