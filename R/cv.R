#' A hold-out mask for cross-validating an NMF
#'
#' Draws the entries of `x` to leave out of a fit: pass the result as
#' `nmf(x, rank, mask = m)`, then score the held-out entries with
#' `beta_divergence(x, fitted(fit), beta, mask = !m)`. [nmf_rank()] uses it
#' for its folds of a matrix in memory (a `DelayedMatrix`'s folds are made
#' block by block, see "Data larger than memory" in [nmf_rank()]), and for
#' beta <= 1 scores them with each held-out fitted value raised to at least
#' 1 % of the fold's mean observed entry (see "Zero predictions" in
#' [nmf_rank()]), so its `cv_error` differs from that plain score, which is
#' infinite where a held-out positive count is fitted as zero.
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
#' without one, and, if it has a positive entry, an observed positive entry:
#' with sparse counts (a time bin with two spikes) a column whose positive
#' entries were all held out is fitted as zero, and its held-out counts are
#' then scored against a prediction of zero (an infinite divergence for
#' beta <= 1), whatever the rank. A speckled draw that breaks this gives one
#' held-out entry back in each offending row or column and draws as many
#' afresh among the others, so the count stays `round(fraction * N)`; a
#' block's rows are drawn again until its columns keep such entries (a block
#' for which 20 draws fail is passed over). Rows and columns of `x` with no
#' non-missing entry at all are left as they are ([nmf()] leaves them out of
#' the fit). If no such hold-out is found in 100 tries, `cv_mask()` stops
#' with an error (lower `fraction`).
#'
#' Missing values (`NA`) of `x` are never drawn: fit with
#' `nmf(x, rank, mask = m, missing = "mask")`, which leaves out both.
#'
#' @param x a non-negative matrix, data frame of numbers or `dgCMatrix` (only
#'   its dimensions, dimnames, missing values and which entries are positive
#'   are used).
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
  type <- check_choice(type)
  x <- as_nmf_matrix(x, arg = "x")
  if (is_delayed_matrix(x)) abort_delayed_cv("cv_mask()") # R/blocks.R
  dims <- dim(x)
  if (any(dims == 0L)) abort("'x' must have at least one row and one column")
  ok <- is.numeric(fraction) && length(fraction) == 1L && !is.na(fraction) && fraction > 0 &&
    (if (type == "speckled") fraction < 1 else fraction <= 0.5)
  if (!ok) {
    abort(if (type == "speckled") "'fraction' must be a single number between 0 and 1 (exclusive)"
          else sprintf("'fraction' must be a single number in (0, 0.5] for type = \"%s\" (each block is held out in half of the %s)",
                       type, if (type == "columns") "rows" else "columns"))
  }
  extent <- if (type == "rows") dims[1] else dims[2]
  if (type != "speckled") {
    if (!is.numeric(block) || length(block) != 1L || is.na(block) || block != round(block) ||
        block < 1 || block > extent) {
      abort(sprintf("'block' must be a whole number between 1 and the number of %s of 'x' (%d)",
                    type, extent))
    }
    other <- if (type == "rows") dims[2] else dims[1]
    if (other < 2L) {
      abort(sprintf("type = \"%s\" needs at least two %s in 'x'", type,
                    if (type == "rows") "columns" else "rows"))
    }
  }
  missing_ij <- na_entries(x)
  if (type == "speckled" && round(fraction * (prod(as.numeric(dims)) - length(missing_ij$lin))) < 1) {
    abort(sprintf("'fraction' = %g of the %.0f entries of 'x' holds out none; use a larger 'fraction'",
                  fraction, prod(as.numeric(dims)) - length(missing_ij$lin)))
  }
  support <- entry_support(x, missing_ij, patterns = type != "speckled")
  seed <- resolve_seed(seed)
  tries <- 100L
  found <- preserve_rng({
    set.seed(seed, kind = "L'Ecuyer-CMRG", normal.kind = "Inversion", sample.kind = "Rejection")
    out <- NULL
    for (k in seq_len(tries)) {
      ij <- switch(type,
        speckled = draw_speckled_kept(x, dims, fraction, missing_ij, support),
        columns = draw_blocks(dims, fraction, block, block_keeper(support, "columns")),
        rows = draw_blocks(rev(dims), fraction, block, block_keeper(support, "rows"))[, 2:1, drop = FALSE])
      if (is.null(ij)) next
      if (type != "speckled" && length(missing_ij$lin)) {
        ij <- ij[!(ij_linear(ij, dims) %in% missing_ij$lin), , drop = FALSE]
      }
      if (!any(kept_violations(ij, held_positive(x, ij), dims, support))) {
        out <- ij
        break
      }
    }
    out
  })
  if (is.null(found)) {
    abort(sprintf(paste0("cv_mask() could not draw a hold-out of fraction = %g that leaves every row and column ",
                        "of 'x' with an observed (and, where it has one, an observed positive) entry ",
                        "(%d tries); %s"), fraction, tries,
                 if (type == "speckled") "use a smaller 'fraction'"
                 else sprintf("use a smaller 'block' (each block is held out in half of the %s, whatever 'fraction' is)",
                              if (type == "columns") "rows" else "columns")))
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

# How many non-missing and how many positive entries each row and column
# of x has, and, with `patterns`, the patterns themselves (logical, dense or
# sparse), which only the block draws need.
entry_support <- function(x, missing_ij, patterns = TRUE) {
  dims <- dim(x)
  if (inherits(x, "sparseMatrix")) {
    j_all <- rep(seq_len(dims[2]), diff(x@p))
    is_pos <- !is.na(x@x) & x@x > 0
    pos_i <- x@i[is_pos] + 1L
    pos_j <- j_all[is_pos]
    pos <- Matrix::sparseMatrix(i = pos_i, j = pos_j, x = TRUE, dims = dims)
    na <- Matrix::sparseMatrix(i = x@i[is.na(x@x)] + 1L, j = j_all[is.na(x@x)], x = TRUE, dims = dims)
  } else {
    pos <- !is.na(x) & x > 0
    na <- if (patterns) is.na(x) else NULL
    w <- which(pos, arr.ind = TRUE)
    pos_i <- w[, 1]
    pos_j <- w[, 2]
    if (!patterns) pos <- NULL
  }
  list(obs_row = dims[2] - missing_ij$per_row, obs_col = dims[1] - missing_ij$per_col,
       pos_row = tabulate(pos_i, dims[1]), pos_col = tabulate(pos_j, dims[2]), pos = pos, na = na)
}

# whether each held-out entry (i, j) of x is positive
held_positive <- function(x, ij) {
  if (!nrow(ij)) return(logical(0))
  v <- x[ij]
  !is.na(v) & v > 0
}

# The held-out entries to give back so that every row and column keeps an
# observed entry and, if it has a positive one, an observed positive entry:
# one entry (a positive one where positives are missing) drawn at random in
# each offending column, then likewise in each row still offending.  Rows
# and columns without any non-missing entry have nothing to keep.
kept_violations <- function(ij, pos, dims, support) {
  release <- rep(FALSE, nrow(ij))
  for (side in c(2L, 1L)) {
    keep <- !release
    idx <- ij[keep, side]
    obs <- if (side == 2L) support$obs_col else support$obs_row
    npos <- if (side == 2L) support$pos_col else support$pos_row
    held_all <- tabulate(idx, dims[side])
    held_pos <- tabulate(idx[pos[keep]], dims[side])
    lost_obs <- obs > 0 & held_all >= obs
    lost_pos <- npos > 0 & held_pos >= npos
    bad <- which(lost_obs | lost_pos)
    if (!length(bad)) next
    cand <- which(keep & ij[, side] %in% bad)
    needs_pos <- lost_pos[ij[cand, side]]
    cand <- cand[!needs_pos | pos[cand]]
    if (length(cand) > 1L) cand <- cand[sample.int(length(cand))]
    release[cand[!duplicated(ij[cand, side])]] <- TRUE
  }
  release
}

# Uniform draw of round(fraction * N) of the N non-missing entries, then, if
# a row or column lost its last observed (positive) entry, one such entry is
# given back per offending row or column and as many are drawn afresh among
# the others, until none offends (NULL if that does not happen in 20 rounds).
# A column whose positive counts were all held out would be fitted as zero,
# and its held-out counts scored against a zero prediction.
draw_speckled_kept <- function(x, dims, fraction, missing_ij, support) {
  ij <- draw_speckled(dims, fraction, missing_ij)
  k <- nrow(ij)
  for (round in seq_len(20L)) {
    release <- kept_violations(ij, held_positive(x, ij), dims, support)
    if (!any(release)) return(ij)
    ij <- ij[!release, , drop = FALSE]
    more <- draw_speckled(dims, fraction, missing_ij, k = k - nrow(ij),
                          exclude = c(missing_ij$lin, ij_linear(ij, dims)))
    ij <- rbind(ij, more)
    ij <- ij[order(ij[, 2], ij[, 1]), , drop = FALSE]
  }
  NULL
}

# Uniform draw of k (by default round(fraction * N)) of the N non-missing
# entries, leaving out the linear indices in `exclude`.
draw_speckled <- function(dims, fraction, missing_ij, k = NULL, exclude = missing_ij$lin) {
  total <- prod(as.numeric(dims))
  n_avail <- total - length(missing_ij$lin)
  if (is.null(k)) k <- round(fraction * n_avail)
  k <- min(k, total - length(exclude))
  if (length(exclude) == 0) {
    lin <- sample.int(total, k)
  } else {
    # draw among the other entries without listing all of them:
    # oversample, drop the excluded ones, top up
    lin <- numeric(0)
    while (length(lin) < k) {
      cand <- sample.int(total, min(total, ceiling(1.2 * (k - length(lin))) + 10))
      cand <- cand[!(cand %in% exclude) & !(cand %in% lin)]
      lin <- c(lin, cand)
    }
    lin <- lin[seq_len(k)]
  }
  lin <- sort(lin)
  cbind(i = as.integer((lin - 1) %% dims[1] + 1), j = as.integer((lin - 1) %/% dims[1] + 1))
}

# For type = "columns" ("rows": the same on the transpose): whether holding
# out rows `rows` of columns `cols` leaves each of those columns an observed
# entry and, if it has a positive one, an observed positive entry, so the
# block's coefficients are learnt from the other rows.
block_keeper <- function(support, type) {
  pos <- support$pos
  na <- support$na
  if (type == "rows") {
    pos <- Matrix::t(pos)
    na <- Matrix::t(na)
  }
  function(rows, cols) {
    p_all <- Matrix::colSums(pos[, cols, drop = FALSE])
    p_kept <- p_all - Matrix::colSums(pos[rows, cols, drop = FALSE])
    n_kept <- (nrow(pos) - length(rows)) - (Matrix::colSums(na[, cols, drop = FALSE]) -
                                              Matrix::colSums(na[rows, cols, drop = FALSE]))
    n_all <- nrow(pos) - Matrix::colSums(na[, cols, drop = FALSE])
    all((p_kept > 0 | p_all == 0) & (n_kept > 0 | n_all == 0))
  }
}

# Contiguous blocks of `block` columns, each held out in a random floor(m/2)
# of the rows, taken in random order while the held-out share comes closer
# to `fraction`.  A block's rows are drawn again (up to 20 times) until
# `keeps(rows, cols)` holds; a block for which that fails is passed over.
draw_blocks <- function(dims, fraction, block, keeps) {
  m <- dims[1]
  n <- dims[2]
  starts <- seq(1L, n, by = block)
  widths <- pmin(block, n - starts + 1L)
  half <- m %/% 2L
  target <- fraction * m * n
  ord <- sample.int(length(starts))
  held <- 0
  pieces <- list()
  for (b in ord) {
    size <- widths[b] * half
    if (held > 0 && abs(held + size - target) >= abs(held - target)) break
    cols <- starts[b] + seq_len(widths[b]) - 1L
    rows <- NULL
    for (attempt in seq_len(20L)) {
      cand <- sort(sample.int(m, half))
      if (keeps(cand, cols)) {
        rows <- cand
        break
      }
    }
    if (is.null(rows)) next
    pieces[[length(pieces) + 1L]] <- cbind(i = rep(rows, length(cols)), j = rep(cols, each = half))
    held <- held + size
  }
  if (!length(pieces)) return(NULL)
  ij <- do.call(rbind, pieces)
  ij[order(ij[, 2], ij[, 1]), , drop = FALSE]
}

# The folds of a cross-validated survey (nmf_rank(), nmf_conv_rank(), the
# choice of nmf(volume = "auto")), all drawn from `seed`: 2 * folds (+ extra)
# seeds -- one hold-out mask and one fit seed per fold, then `extra` more
# (the full-data fit's) --, the masks (cv_mask(x, ...)), their held-out
# entries and values, and the floor of held-out predictions per fold for
# beta <= 1: a hundredth (held_floor) of the mean observed entry of that
# fold's fit, so that a fitted zero at a held-out count scores as finite.
cv_folds <- function(x, beta, folds, seed, extra = 0L, ..., masks = NULL) {
  seeds <- fold_seeds(seed, folds, extra)
  # masks given (tests only, see rank_survey()): held out instead of the draws
  if (is.null(masks)) masks <- lapply(seeds[seq_len(folds)], function(s) cv_mask(x, seed = s, ...))
  held <- lapply(masks, mask_entries)
  held_x <- lapply(held, function(ij) as.numeric(x[ij]))
  x_vals <- if (inherits(x, "sparseMatrix")) x@x else as.vector(x)
  n_known <- prod(as.numeric(dim(x))) - sum(is.na(x_vals))
  sum_known <- sum(x_vals, na.rm = TRUE)
  floors <- vapply(held_x, function(v) {
    if (beta > 1) 0 else held_floor * (sum_known - sum(v)) / (n_known - length(v))
  }, numeric(1))
  list(mask_seeds = seeds[seq_len(folds)], fit_seeds = seeds[folds + seq_len(folds)],
       extra_seeds = seeds[2L * folds + seq_len(extra)], masks = masks, held = held, held_x = held_x,
       floors = floors)
}

# The seeds of a survey drawn from `seed`: one hold-out seed and one fit
# seed per fold, then `extra` more.
fold_seeds <- function(seed, folds, extra = 0L) {
  preserve_rng({
    set.seed(seed, kind = "L'Ecuyer-CMRG", normal.kind = "Inversion", sample.kind = "Rejection")
    sample.int(.Machine$integer.max, 2L * folds + extra)
  })
}
