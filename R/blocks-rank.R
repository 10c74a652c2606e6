# nmf_rank() on a DelayedMatrix (R/rank.R, ?nmf_rank "Data larger than
# memory"): the folds' held-out entries are never listed for the whole
# matrix (at 10 % of a 30 000 x 1 000 000 matrix they would be 3e9 entries),
# but made for each block as it is read, from the fold's seed and the
# block's coordinates:
#
# - the rule: the matrix is cut into tiles of cv_tile x cv_tile entries
#   (the last ones smaller), fixed by the matrix's dimensions alone; tile
#   (a, b) (0-based tile row and column) draws its held-out entries on its
#   own random stream, set.seed(tile_seed(fold seed, a, b)) with
#   L'Ecuyer-CMRG: a binomial count (its entries x fraction), then that many
#   distinct entries uniformly (sample.int()).  Any block -- a block of
#   columns, a block of rows, whatever the auto block size -- makes the
#   tiles it overlaps and keeps their entries inside it, so its cost is
#   that of the held-out entries of those tiles, and the pattern does not
#   depend on the block size.  NA entries are not held out (missing = "mask"
#   leaves them out of every fit already).
# - as cv_mask() does, every row and column keeps an observed entry, and an
#   observed positive entry where it has one: one pass over the blocks of
#   columns per fold (block_fold_rule()) gives back, in each column that the
#   draw left without one, its first held-out (positive) entry, then the
#   same in each row, by the counts per row gathered in that pass.  Those
#   entries (at most one per row and column) are kept in the fold's rule,
#   O(m + n), with the count and sum of the held-out values (the floor of
#   ?nmf_rank "Zero predictions").
#
# So a fold's pattern is that of cv_mask(type = "speckled") in law (each
# entry held out with probability `fraction`, a binomial rather than a fixed
# count), but not its draw: a survey of a DelayedMatrix holds out other
# entries than a survey of the same matrix in memory with the same seed.
# The in-memory survey keeps cv_mask()'s draws (its results, cv_mask()'s
# reproduction of the folds and the surveys of nmf_conv_rank() and
# volume = "auto" are unchanged); tests/testthat/test-blocks.R runs the
# in-memory survey with the block rule's patterns (rank_survey(fold_masks
# =)) and finds the same fits, held-out errors and chosen rank.

# the side of the tiles of the hold-out rule; changing it changes every
# DelayedMatrix survey's folds (hence block_holdout_rule, in checkpoints'
# manifests)
cv_tile <- 256L
block_holdout_rule <- "tiles-256-v1"

# The checks of nmf_rank()'s hold-out arguments on a DelayedMatrix
check_delayed_survey <- function(type, fraction) {
  if (type != "speckled") {
    abort(sprintf(paste0("nmf_rank() on a DelayedMatrix holds out speckled entries only, not type = \"%s\"; ",
                         "use type = \"speckled\", or survey an in-memory subset (e.g. as.matrix(x[, samples]))"),
                  type))
  }
  if (!is.numeric(fraction) || length(fraction) != 1L || is.na(fraction) || !(fraction > 0 && fraction < 1)) {
    abort("'fraction' must be a single number between 0 and 1 (exclusive)")
  }
}

# The seed of tile (a, b) of the fold with seed `seed`: a polynomial hash
# modulo 2^31 - 1 in exact double arithmetic (every product stays below
# 2^53), so that neighbouring tiles and folds draw on unrelated streams.
tile_seed <- function(seed, a, b) {
  p <- 1000003
  big <- 2147483647
  h <- (as.numeric(seed) %% big * p + a) %% big
  h <- (h * p + b) %% big
  h <- (h * p + 362436069) %% big
  as.integer(h)
}

# The held-out entries of a fold (`rule` from block_fold_rule()) in rows
# rows[1]..rows[2] and columns cols[1]..cols[2] (1-based, inclusive): their
# 1-based (i, j), ordered by column, then row; NA entries of x included
# (the callers drop them where they are not held out anyway).
rule_entries <- function(rule, rows, cols) {
  m <- rule$dims[1]
  n <- rule$dims[2]
  ta <- seq.int((rows[1] - 1L) %/% cv_tile, (rows[2] - 1L) %/% cv_tile)
  tb <- seq.int((cols[1] - 1L) %/% cv_tile, (cols[2] - 1L) %/% cv_tile)
  ii <- jj <- vector("list", length(ta) * length(tb))
  k <- 0L
  preserve_rng({
    RNGkind("L'Ecuyer-CMRG", "Inversion", "Rejection")
    for (b in tb) {
      for (a in ta) {
        r0 <- a * cv_tile
        c0 <- b * cv_tile
        tm <- min(cv_tile, m - r0)
        size <- tm * min(cv_tile, n - c0)
        set.seed(tile_seed(rule$seed, a, b))
        pos <- sample.int(size, stats::rbinom(1L, size, rule$fraction)) - 1L
        i <- pos %% tm + 1L + r0
        j <- pos %/% tm + 1L + c0
        inside <- i >= rows[1] & i <= rows[2] & j >= cols[1] & j <= cols[2]
        k <- k + 1L
        ii[[k]] <- i[inside]
        jj[[k]] <- j[inside]
      }
    }
  })
  i <- as.integer(unlist(ii))
  j <- as.integer(unlist(jj))
  if (length(rule$release) && length(i)) {
    keep <- !((as.numeric(j) - 1) * m + i) %in% rule$release
    i <- i[keep]
    j <- j[keep]
  }
  o <- order(j, i)
  list(i = i[o], j = j[o])
}

# The values of a block (dense or dgCMatrix) at 1-based (i, j) of the block
block_values <- function(blk, i, j) {
  if (!length(i)) return(numeric(0))
  as.numeric(blk[cbind(i, j)])
}

# A fold's rule for x: the tiles' draw (seed, fraction) and the entries
# given back so every row and column keeps an observed (positive) entry,
# from one pass over the blocks of columns of x.  Also the number and sum
# of the held-out values and of all the observed values.
block_fold_rule <- function(x, seed, fraction) {
  dims <- as.integer(dim(x))
  m <- dims[1]
  rule <- structure(list(seed = seed, fraction = fraction, dims = dims, release = numeric(0)),
                    class = "betanmf_fold_rule")
  sparse <- isTRUE(DelayedArray::is_sparse(x))
  obs_row <- pos_row <- held_obs_row <- held_pos_row <- numeric(m)
  # per row, the first (leftmost) held-out observed and positive entry
  first_obs <- first_pos <- rep(NA_real_, m)
  first_obs_v <- first_pos_v <- numeric(m)
  released <- list()
  n_held <- sum_held <- n_known <- sum_known <- 0
  for (vp in grid_viewports(DelayedArray::colAutoGrid(x))) {
    cols <- vp_range(vp, 2)
    nc <- length(cols)
    blk <- read_one_block(x, vp, sparse)
    if (sparse) {
      v <- blk@x
      bi <- blk@i + 1L
      bj <- rep(seq_len(nc), diff(blk@p))
      na <- is.na(v)
      pos <- !na & v > 0
      na_col <- tabulate(bj[na], nc)
      pos_col <- tabulate(bj[pos], nc)
      na_row <- tabulate(bi[na], m)
      obs_row <- obs_row + nc - na_row
      pos_row <- pos_row + tabulate(bi[pos], m)
    } else {
      na <- is.na(blk)
      pos <- !na & blk > 0
      na_col <- colSums(na)
      pos_col <- colSums(pos)
      obs_row <- obs_row + nc - rowSums(na)
      pos_row <- pos_row + rowSums(pos)
    }
    n_known <- n_known + as.numeric(m) * nc - sum(na_col)
    sum_known <- sum_known + sum(if (sparse) v else blk, na.rm = TRUE)
    e <- rule_entries(rule, c(1L, m), range(cols))
    jl <- e$j - cols[1] + 1L
    hv <- block_values(blk, e$i, jl)
    ok <- !is.na(hv)
    i <- e$i[ok]
    jl <- jl[ok]
    hv <- hv[ok]
    hp <- hv > 0
    # columns left without an observed (positive) entry: their first
    # held-out (positive) entry given back
    lost_pos <- pos_col > 0 & tabulate(jl[hp], nc) >= pos_col
    lost_obs <- (m - na_col) > 0 & tabulate(jl, nc) >= m - na_col
    give <- c(which(hp & lost_pos[jl]), which(lost_obs[jl] & !lost_pos[jl]))
    give <- give[!duplicated(jl[give])]
    keep <- rep(TRUE, length(i))
    if (length(give)) {
      keep[give] <- FALSE
      released[[length(released) + 1L]] <- (as.numeric(cols[jl[give]]) - 1) * m + i[give]
    }
    i <- i[keep]
    jg <- cols[jl[keep]]
    hv <- hv[keep]
    hp <- hp[keep]
    n_held <- n_held + length(i)
    sum_held <- sum_held + sum(hv)
    held_obs_row <- held_obs_row + tabulate(i, m)
    held_pos_row <- held_pos_row + tabulate(i[hp], m)
    # entries in column order: a row's first here is its leftmost
    f <- which(!duplicated(i))
    f <- f[is.na(first_obs[i[f]])]
    first_obs[i[f]] <- jg[f]
    first_obs_v[i[f]] <- hv[f]
    f <- which(hp)
    f <- f[!duplicated(i[f])]
    f <- f[is.na(first_pos[i[f]])]
    first_pos[i[f]] <- jg[f]
    first_pos_v[i[f]] <- hv[f]
  }
  # then rows left without an observed (positive) entry
  lost_pos <- which(pos_row > 0 & held_pos_row >= pos_row)
  lost_obs <- setdiff(which(obs_row > 0 & held_obs_row >= obs_row), lost_pos)
  if (length(lost_pos) || length(lost_obs)) {
    released[[length(released) + 1L]] <- c((first_pos[lost_pos] - 1) * m + lost_pos,
                                            (first_obs[lost_obs] - 1) * m + lost_obs)
    n_held <- n_held - length(lost_pos) - length(lost_obs)
    sum_held <- sum_held - sum(first_pos_v[lost_pos]) - sum(first_obs_v[lost_obs])
  }
  if (n_held < 1) {
    abort(sprintf("'fraction' = %g of the %.0f entries of 'x' holds out none; use a larger 'fraction'",
                  fraction, n_known))
  }
  rule$release <- sort(unlist(released))
  rule$n_held <- n_held
  rule$sum_held <- sum_held
  rule$n_known <- n_known
  rule$sum_known <- sum_known
  rule
}

# cv_folds() for a DelayedMatrix: the same seeds, the folds' rules instead
# of masks, and the same floors.
block_cv_folds <- function(x, beta, folds, seed, extra = 0L, fraction) {
  need_delayed("x")
  seeds <- fold_seeds(seed, folds, extra)
  rules <- lapply(seeds[seq_len(folds)], function(s) block_fold_rule(x, s, fraction))
  floors <- vapply(rules, function(r) {
    if (beta > 1) 0 else held_floor * (r$sum_known - r$sum_held) / (r$n_known - r$n_held)
  }, numeric(1))
  list(mask_seeds = seeds[seq_len(folds)], fit_seeds = seeds[folds + seq_len(folds)],
       extra_seeds = seeds[2L * folds + seq_len(extra)], masks = rules, floors = floors)
}

# A fold's held-out error per held-out entry, as the in-memory survey scores
# it (R/rank.R), from one pass over the blocks of columns.
block_cv_score <- function(x, rule, fit, floor, beta) {
  m <- rule$dims[1]
  sparse <- isTRUE(DelayedArray::is_sparse(x))
  ht <- t(fit$h)
  total <- 0
  count <- 0
  for (vp in grid_viewports(DelayedArray::colAutoGrid(x))) {
    cols <- vp_range(vp, 2)
    e <- rule_entries(rule, c(1L, m), range(cols))
    if (!length(e$i)) next
    v <- block_values(read_one_block(x, vp, sparse), e$i, e$j - cols[1] + 1L)
    ok <- !is.na(v)
    y <- rowSums(fit$w[e$i[ok], , drop = FALSE] * ht[e$j[ok], , drop = FALSE])
    total <- total + beta_divergence(v[ok], pmax(y, floor), beta)
    count <- count + sum(ok)
  }
  total / count
}

# The fold's held-out entries as a logical matrix (small matrices: tests),
# NA entries of x not included, as cv_mask() never holds them out.
fold_rule_mask <- function(x, rule) {
  e <- rule_entries(rule, c(1L, rule$dims[1]), c(1L, rule$dims[2]))
  xv <- as.matrix(x)
  mask <- matrix(FALSE, rule$dims[1], rule$dims[2])
  ij <- cbind(e$i, e$j)
  mask[ij[!is.na(xv[ij]), , drop = FALSE]] <- TRUE
  mask
}

# For block_data() (R/blocks.R): the fold's held-out entries inside block
# `idx` (its columns for along = "col", its rows for "row"), 0-based in the
# block's coordinates (x's orientation)
rule_block_entries <- function(rule, along, idx) {
  if (along == "col") {
    e <- rule_entries(rule, c(1L, rule$dims[1]), range(idx))
    list(i = e$i - 1L, j = e$j - idx[1])
  } else {
    e <- rule_entries(rule, range(idx), c(1L, rule$dims[2]))
    list(i = e$i - idx[1], j = e$j - 1L)
  }
}

# The W step of HALS (block_solver(), R/blocks.R) on a survey's fold: the
# step needs the held-out pattern of t(X) (each row of W's Gram matrix loses
# its held-out columns), made here a band of cv_tile rows of X at a time:
# each row of W is stepped from its own sums alone, so the bands' steps are
# the step of the whole.  HALS's Gram matrix H H' is the same for every
# band: the first band's call makes it, the others take it (hh).
rule_w_step <- function(B, wt, h, num, den, wctl) {
  m <- B$dims[1]
  n <- B$dims[2]
  sweeps <- 0
  hh <- NULL
  for (r0 in seq.int(1L, m, by = cv_tile)) {
    rows <- seq.int(r0, min(m, r0 + cv_tile - 1L))
    e <- rule_block_entries(B$rule, "row", rows)
    hi <- e$i
    hj <- e$j
    if (!is.null(B$hold_rows)) { # NA entries of x in these rows
      hr <- B$hold_rows
      s <- seq.int(hr$p[rows[1]] + 1L, length.out = hr$p[rows[length(rows)] + 1L] - hr$p[rows[1]])
      hi <- c(hi, hr$i[s] - (rows[1] - 1L))
      hj <- c(hj, hr$j[s])
    }
    # t(X)'s pattern: its columns are these rows of X
    hold <- if (length(hi)) pattern_csc(hj, hi, c(n, length(rows)))[c("p", "i")]
    res <- .Call(C_block_w_step, hold, c(n, length(rows)), wt[, rows, drop = FALSE], h,
                 num[, rows, drop = FALSE], if (!is.null(den)) den[, rows, drop = FALSE], wctl, hh)
    hh <- res$hh
    wt[, rows] <- res$f
    sweeps <- sweeps + res$sweeps
  }
  list(f = wt, sweeps = sweeps)
}

# sum(x^2) over the non-missing entries of a DelayedMatrix, block by block
# (the variance accounted for of a beta = 2 survey)
block_sum_squares <- function(x) {
  sparse <- isTRUE(DelayedArray::is_sparse(x))
  total <- 0
  for (vp in grid_viewports(DelayedArray::colAutoGrid(x))) {
    b <- read_one_block(x, vp, sparse)
    total <- total + sum((if (sparse) b@x else b)^2, na.rm = TRUE)
  }
  total
}
