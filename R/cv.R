#' A hold-out mask for cross-validating an NMF
#'
#' Draws the entries of `x` to leave out of a fit: pass the result as
#' `nmf(x, rank, mask = m)`, then score the held-out entries with
#' `beta_divergence(x, fitted(fit), beta, mask = !m)`. [nmf_rank()] uses it
#' for its folds.
#'
#' * `"speckled"`: `round(fraction * N)` entries drawn uniformly at random
#'   without replacement among the `N` non-missing entries of `x` (Wold 1978).
#' * `"columns"`: the columns are cut into contiguous blocks of `block`
#'   columns (the last block may be shorter), e.g. runs of time bins in
#'   neurons x time data, where a speckled hold-out would leak through the
#'   autocorrelation of neighbouring bins. A column held out entirely cannot be
#'   predicted by NMF (its column of H would be unconstrained), so, after the
#'   bi-cross-validation of Owen & Perry (2009), each chosen block is held out
#'   in a random half of the rows (`floor(m / 2)` rows, drawn anew for every
#'   block): the held-out block `X[I, J]` is then predicted by `W[I, ] H[, J]`,
#'   where `H[, J]` is learnt from the other rows of the block and `W[I, ]`
#'   from the other columns. Blocks are drawn at random until the held-out
#'   share is as close as possible to `fraction`, which is therefore at most
#'   one half.
#' * `"rows"`: the same with the roles of rows and columns exchanged (blocks
#'   of `block` contiguous rows, each held out in a random half of the
#'   columns).
#'
#' Every row and every column keeps at least one observed (non-missing,
#' not held-out) entry, since NMF cannot fit a row of W or a column of H
#' without one: a draw that violates this is redrawn, up to 100 times, after
#' which `cv_mask()` stops with an error (lower `fraction`).
#'
#' Missing values (`NA`) of `x` are never drawn: fit with
#' `nmf(x, rank, mask = m, missing = "mask")`, which leaves out both.
#'
#' @param x a non-negative matrix, data frame of numbers or `dgCMatrix` (only
#'   its dimensions, dimnames and missing values are used).
#' @param fraction the share of entries to hold out, in (0, 1) (at most 0.5 for
#'   `"columns"` and `"rows"`).
#' @param seed `NULL` or a whole number. With `NULL` a seed is drawn from the
#'   R session's generator, so `set.seed()` beforehand also reproduces the
#'   mask; the draws themselves run on their own stream and leave the
#'   session's generator where that seed draw put it.
#' @param type `"speckled"`, `"columns"` or `"rows"` (see Details).
#' @param block the number of contiguous columns (rows) per held-out block for
#'   `type = "columns"` (`"rows"`); ignored for `"speckled"`.
#' @return A logical matrix of the dimensions and dimnames of `x`, `TRUE` for
#'   the held-out entries. When `x` is a sparse matrix with more than 10^7
#'   entries, a sparse logical `Matrix::lgCMatrix` instead, so memory stays
#'   proportional to the held-out entries; both are accepted as `mask` by
#'   [nmf()]. The attributes `seed`, `type` and `block` record how it was
#'   drawn.
#' @references
#' Wold, S. (1978). Cross-validatory estimation of the number of components in
#' factor and principal components models. Technometrics 20(4), 397-405.
#'
#' Owen, A. B. and Perry, P. O. (2009). Bi-cross-validation of the SVD and the
#' nonnegative matrix factorization. Annals of Applied Statistics 3(2),
#' 564-594.
#' @seealso [nmf_rank()], [nmf()], [beta_divergence()].
#' @examples
#' set.seed(1)
#' x <- matrix(rpois(40 * 30, 5), 40, 30)
#' m <- cv_mask(x, fraction = 0.1, seed = 1)
#' mean(m)
#' fit <- nmf(x, 3, beta = 1, mask = m, seed = 1)
#' # held-out error per held-out entry
#' beta_divergence(x, fitted(fit), beta = 1, mask = !m) / sum(m)
#' # blocks of 5 time bins, each held out in half of the rows
#' mb <- cv_mask(x, fraction = 0.1, type = "columns", block = 5, seed = 1)
#' colSums(mb)
#' @export
cv_mask <- function(x, fraction = 0.1, seed = NULL, type = c("speckled", "columns", "rows"), block = 1) {
  type <- match.arg(type)
  x <- as_nmf_matrix(x, arg = "x")
  dims <- dim(x)
  if (any(dims == 0L)) stop("'x' must have at least one row and one column", call. = FALSE)
  ok <- is.numeric(fraction) && length(fraction) == 1L && !is.na(fraction) && fraction > 0 &&
    (if (type == "speckled") fraction < 1 else fraction <= 0.5)
  if (!ok) {
    stop(if (type == "speckled") "'fraction' must be a single number between 0 and 1 (exclusive)"
         else sprintf("'fraction' must be a single number in (0, 0.5] for type = \"%s\" (each block is held out in half of the %s)",
                      type, if (type == "columns") "rows" else "columns"), call. = FALSE)
  }
  extent <- if (type == "rows") dims[1] else dims[2]
  if (type != "speckled") {
    if (!is.numeric(block) || length(block) != 1L || is.na(block) || block != round(block) ||
        block < 1 || block > extent) {
      stop(sprintf("'block' must be a whole number between 1 and the number of %s of 'x' (%d)",
                   type, extent), call. = FALSE)
    }
    other <- if (type == "rows") dims[2] else dims[1]
    if (other < 2L) {
      stop(sprintf("type = \"%s\" needs at least two %s in 'x'", type,
                   if (type == "rows") "columns" else "rows"), call. = FALSE)
    }
  }
  missing_ij <- na_entries(x)
  if (type == "speckled" && round(fraction * (prod(as.numeric(dims)) - length(missing_ij$lin))) < 1) {
    stop(sprintf("'fraction' = %g of the %.0f entries of 'x' holds out none; use a larger 'fraction'",
                 fraction, prod(as.numeric(dims)) - length(missing_ij$lin)), call. = FALSE)
  }
  seed <- resolve_seed(seed)
  tries <- 100L
  found <- preserve_rng({
    set.seed(seed, kind = "L'Ecuyer-CMRG", normal.kind = "Inversion", sample.kind = "Rejection")
    out <- NULL
    for (k in seq_len(tries)) {
      ij <- switch(type,
        speckled = draw_speckled(dims, fraction, missing_ij),
        columns = draw_blocks(dims, fraction, block),
        rows = draw_blocks(rev(dims), fraction, block)[, 2:1, drop = FALSE])
      if (type != "speckled" && length(missing_ij$lin)) {
        ij <- ij[!(ij_linear(ij, dims) %in% missing_ij$lin), , drop = FALSE]
      }
      if (all_observed(ij, dims, missing_ij)) {
        out <- ij
        break
      }
    }
    out
  })
  if (is.null(found)) {
    stop(sprintf(paste0("cv_mask() could not draw a hold-out of fraction = %g that leaves every row and column ",
                        "of 'x' with an observed entry (%d tries); use a smaller 'fraction'"), fraction, tries),
         call. = FALSE)
  }
  dn <- dimnames(x)
  if (all(vapply(dn, is.null, logical(1)))) dn <- NULL # a dgCMatrix has list(NULL, NULL)
  big <- inherits(x, "sparseMatrix") && prod(as.numeric(dims)) > 1e7
  if (big) {
    m <- Matrix::sparseMatrix(i = found[, 1], j = found[, 2], x = TRUE, dims = dims,
                              dimnames = if (is.null(dn)) list(NULL, NULL) else dn)
  } else {
    m <- matrix(FALSE, dims[1], dims[2], dimnames = dn)
    m[found] <- TRUE
  }
  attr(m, "seed") <- seed
  attr(m, "type") <- type
  attr(m, "block") <- if (type == "speckled") NA_integer_ else as.integer(block)
  m
}

# 1-based (i, j) of the NA entries of x, with their linear indices and the
# count per row and column.
na_entries <- function(x) {
  dims <- dim(x)
  if (inherits(x, "sparseMatrix")) {
    na <- which(is.na(x@x))
    i <- x@i[na] + 1L
    j <- rep(seq_len(dims[2]), diff(x@p))[na]
  } else {
    w <- which(is.na(x), arr.ind = TRUE)
    i <- w[, 1]
    j <- w[, 2]
  }
  list(lin = ij_linear(cbind(i, j), dims),
       per_row = tabulate(i, dims[1]), per_col = tabulate(j, dims[2]))
}

ij_linear <- function(ij, dims) (ij[, 2] - 1) * dims[1] + ij[, 1]

# Uniform draw of round(fraction * N) of the N non-missing entries.
draw_speckled <- function(dims, fraction, missing_ij) {
  total <- prod(as.numeric(dims))
  n_avail <- total - length(missing_ij$lin)
  k <- round(fraction * n_avail)
  if (length(missing_ij$lin) == 0) {
    lin <- sample.int(total, k)
  } else {
    # draw among the non-missing entries without listing all of them:
    # oversample, drop the missing ones, top up
    lin <- numeric(0)
    while (length(lin) < k) {
      cand <- sample.int(total, min(total, ceiling(1.2 * (k - length(lin))) + 10))
      cand <- cand[!(cand %in% missing_ij$lin) & !(cand %in% lin)]
      lin <- c(lin, cand)
    }
    lin <- lin[seq_len(k)]
  }
  lin <- sort(lin)
  cbind(i = as.integer((lin - 1) %% dims[1] + 1), j = as.integer((lin - 1) %/% dims[1] + 1))
}

# Contiguous blocks of `block` columns, each held out in a random floor(m/2)
# of the rows, drawn until the held-out share is closest to `fraction`.
draw_blocks <- function(dims, fraction, block) {
  m <- dims[1]
  n <- dims[2]
  starts <- seq(1L, n, by = block)
  widths <- pmin(block, n - starts + 1L)
  half <- m %/% 2L
  target <- fraction * m * n
  ord <- sample.int(length(starts))
  held <- cumsum(widths[ord] * half)
  n_blocks <- which.min(abs(held - target))
  chosen <- ord[seq_len(n_blocks)]
  pieces <- lapply(chosen, function(b) {
    cols <- starts[b] + seq_len(widths[b]) - 1L
    rows <- sort(sample.int(m, half))
    cbind(i = rep(rows, length(cols)), j = rep(cols, each = half))
  })
  ij <- do.call(rbind, pieces)
  ij[order(ij[, 2], ij[, 1]), , drop = FALSE]
}

all_observed <- function(ij, dims, missing_ij) {
  per_row <- tabulate(ij[, 1], dims[1]) + missing_ij$per_row
  per_col <- tabulate(ij[, 2], dims[2]) + missing_ij$per_col
  all(per_row < dims[2]) && all(per_col < dims[1])
}
