# Input validation and conversion, done once per call so the C core can
# assume clean, non-negative, finite doubles (or dgCMatrix slots) and a
# held-out pattern in CSC form.

# Turn whatever the user passed into a double matrix or a dgCMatrix.
as_nmf_matrix <- function(x, assay = NULL, arg = "x") {
  if (inherits(x, "SummarizedExperiment")) {
    if (!requireNamespace("SummarizedExperiment", quietly = TRUE)) {
      abort(sprintf("'%s' is a SummarizedExperiment, but the SummarizedExperiment package is not installed", arg),
            "dependency")
    }
    x <- SummarizedExperiment::assay(x, if (is.null(assay)) 1L else assay, withDimnames = TRUE)
  } else if (inherits(x, "ExpressionSet")) {
    if (!requireNamespace("Biobase", quietly = TRUE)) {
      abort(sprintf("'%s' is an ExpressionSet, but the Biobase package is not installed", arg), "dependency")
    }
    x <- Biobase::exprs(x)
  }
  if (is.data.frame(x)) {
    labelled <- split_label_column(x, arg)
    x <- labelled$values
    bad <- !vapply(x, function(col) is.numeric(col) && !is.factor(col), logical(1))
    if (any(bad)) {
      abort(sprintf("'%s' is a data frame with non-numeric column(s): %s", arg,
                    paste(utils::head(names(x)[bad], 5), collapse = ", ")))
    }
    x <- as.matrix(x)
    if (!is.null(labelled$labels)) rownames(x) <- labelled$labels
  }
  check_samples_in_columns(x, arg)
  if (is_delayed_matrix(x)) return(x) # read in blocks, never realised (R/blocks.R)
  if (inherits(x, "sparseMatrix")) {
    if (!inherits(x, "dgCMatrix")) {
      x <- tryCatch(methods::as(methods::as(methods::as(x, "CsparseMatrix"), "generalMatrix"), "dMatrix"),
                    error = function(e) abort(sprintf("'%s' is a sparse matrix that cannot be converted to a dgCMatrix: %s",
                                                      arg, conditionMessage(e))))
    }
    return(x)
  }
  if (inherits(x, "Matrix")) x <- as.matrix(x)
  if (!is.matrix(x)) {
    abort(sprintf("'%s' must be a numeric matrix, a data frame of numbers or a dgCMatrix, not %s",
                  arg, paste(class(x), collapse = "/")))
  }
  if (!is.numeric(x) || is.logical(x)) {
    abort(sprintf("'%s' must be numeric, not %s", arg, typeof(x)))
  }
  if (!is.double(x)) storage.mode(x) <- "double"
  x
}

# A data frame whose first column holds row labels (SigProfiler's
# `MutationType`, COSMIC's `Type`, gene ids): list(values = the other
# columns, labels = the row names to give them, or NULL when the first
# column is not labels). SigProfiler's pair `Type` ("C>A") and `SubType`
# ("ACA") becomes canonical SBS labels. Labels must be unique: rows are later
# matched by name.
split_label_column <- function(x, arg) {
  is_label <- function(col) is.character(col) || is.factor(col)
  if (ncol(x) < 2L || !is_label(x[[1]])) return(list(values = x, labels = NULL))
  labels <- as.character(x[[1]])
  n_label <- 1L
  if (ncol(x) >= 3L && is_label(x[[2]])) {
    pair <- tryCatch(sbs96_labels(labels, subtype = as.character(x[[2]])), error = function(e) NULL)
    if (!is.null(pair)) {
      labels <- pair
      n_label <- 2L
    }
  }
  holds <- sprintf("'%s' is a data frame whose first column '%s' holds row labels", arg, names(x)[1])
  missing <- is.na(labels) | labels == ""
  if (any(missing)) {
    abort(sprintf("%s, but %d of them are missing (NA or empty)", holds, sum(missing)), "alignment")
  }
  if (anyDuplicated(labels)) {
    abort(sprintf("%s, but they repeat: %s; rows are matched by name, so each label must be unique", holds,
                  paste(utils::head(unique(labels[duplicated(labels)]), 5), collapse = ", ")), "alignment")
  }
  list(values = x[-seq_len(n_label)], labels = labels)
}

# The held-out pattern in CSC form from 0-based row and column indices in any
# order, an entry given twice (a mask entry that is also NA, a sparse mask's
# repeated entry) kept once.  Sorted by column, then row, so a repeat sits
# next to its first: comparing neighbours finds them in one pass, where
# duplicated() on a two-column matrix splits it into a list of rows.
pattern_csc <- function(i, j, dims) {
  ord <- order(j, i)
  i <- as.integer(i[ord])
  j <- as.integer(j[ord])
  n <- length(i)
  if (n > 1L) {
    dup <- c(FALSE, i[-1L] == i[-n] & j[-1L] == j[-n])
    i <- i[!dup]
    j <- j[!dup]
  }
  p <- c(0L, cumsum(tabulate(j + 1L, nbins = dims[2])))
  list(p = as.integer(p), i = i, j = j)
}

# Validate and prepare the data for the C core.  Returns the matrix as the
# user gave it (`x`, kept for fitted/residuals), the held-out pattern, the
# internal scale and the C-ready pieces.  drop_empty = FALSE keeps rows and
# columns with no observed entry (nmf_conv(): a time bin without data is
# still explained by its neighbours' activations, and dropping it would
# shift the time axis).
prepare_data <- function(x, beta, mask = NULL, missing = "error", assay = NULL, arg = "x",
                         drop_empty = TRUE) {
  x <- as_nmf_matrix(x, assay = assay, arg = arg)
  if (is_delayed_matrix(x)) return(prepare_blocks(x, beta, mask = mask, missing = missing, arg = arg))
  dims <- dim(x)
  if (any(dims == 0L)) {
    abort(sprintf("'%s' has %d rows and %d columns: it needs at least one of each", arg, dims[1], dims[2]))
  }
  sparse <- inherits(x, "dgCMatrix")
  vals <- if (sparse) x@x else x
  hold <- check_mask(mask, dims)
  # one pass in C: NA, NaN, infinite and negative counts, smallest value
  scan <- .Call(C_scan_values, vals)
  if (scan$nan > 0) {
    abort(sprintf("'%s' contains %d NaN value(s); NMF needs finite non-negative data", arg, scan$nan), "data")
  }
  na <- if (scan$na > 0) is.na(vals) else FALSE
  if (any(na)) {
    if (!identical(missing, "mask")) {
      where <- if (sparse) which(na)[1] else which(is.na(x), arr.ind = TRUE)[1, ]
      loc <- if (sparse) "" else sprintf(" (the first at row %d, column %d)", where[1], where[2])
      abort(sprintf(paste0("'%s' contains %d NA value(s)%s; remove them, or use missing = \"mask\" ",
                           "to leave them out of the fit"), arg, sum(na), loc), "data")
    }
    if (sparse) {
      tj <- rep(seq_len(dims[2]) - 1L, diff(x@p))
      ni <- x@i[na]
      nj <- tj[na]
    } else {
      idx <- which(na) - 1L
      ni <- idx %% dims[1]
      nj <- idx %/% dims[1]
    }
    old <- if (is.null(hold)) list(i = integer(0), j = integer(0)) else hold
    hold <- pattern_csc(c(old$i, ni), c(old$j, nj), dims)
  }
  if (scan$inf > 0) {
    abort(sprintf("'%s' contains %d infinite value(s); NMF needs finite data", arg, scan$inf), "data")
  }
  if (scan$negative > 0) {
    abort(sprintf("'%s' contains %d negative value(s) (the smallest is %g); NMF needs non-negative data",
                  arg, scan$negative, scan$min), "data")
  }
  n_held <- if (is.null(hold)) 0 else length(hold$i)
  if (n_held > 0 && drop_empty) {
    empty <- list(rows = which(tabulate(hold$i + 1L, nbins = dims[1]) >= dims[2]),
                  cols = which(diff(hold$p) >= dims[1]))
    if (length(empty$rows) || length(empty$cols)) return(prepare_without(x, beta, hold, empty, arg))
  }
  # the data the C core sees: held-out (and NA) entries set to zero
  xc <- x
  if (n_held > 0) {
    if (sparse) {
      hm <- Matrix::sparseMatrix(i = hold$i + 1L, j = hold$j + 1L, x = 1, dims = dims)
      xc <- Matrix::drop0(xc - xc * hm)
      xc@x[is.na(xc@x)] <- 0
      xc <- Matrix::drop0(xc)
    } else {
      xc[cbind(hold$i + 1L, hold$j + 1L)] <- 0
    }
  }
  cvals <- if (sparse) xc@x else xc
  total <- sum(cvals)
  top <- 1
  if (is.infinite(total)) {
    # finite entries near .Machine$double.xmax whose sum overflows: sum
    # relative to the largest, or the scale below becomes Inf (and W H = 0 * Inf)
    top <- max(cvals)
    total <- sum(cvals / top)
  }
  n_obs <- prod(as.numeric(dims)) - n_held
  if (!(total > 0)) {
    abort(sprintf("'%s' has no positive observed entry (all zero): there is nothing to factorize", arg), "data")
  }
  if (beta <= 0) {
    n_zero_obs <- if (sparse) n_obs - sum(xc@x > 0) else sum(xc == 0) - n_held
    if (n_zero_obs > 0) {
      abort(sprintf(paste0("'%s' has %.0f zero entries, where the beta-divergence with beta = %g is infinite; ",
                           "use beta > 0 (e.g. beta = 1 for counts), or add a small positive offset ",
                           "to x yourself (e.g. x + 1e-6 * mean(x))"), arg, n_zero_obs, beta), "data")
    }
  }
  # scale to mean ~1 by an exact power of two: the beta-divergence is
  # homogeneous, d(cx|cy) = c^beta d(x|y), so the fit is unchanged, and the
  # absolute floors inside the C kernels become meaningful for any units
  scale <- 2^min(1023, round(log2(top) + log2(total / n_obs)))
  if (sparse && beta <= 0) {
    # every observed entry is positive here, so the matrix is dense in
    # substance; the dense kernels avoid the zero-entry shortcuts, which are
    # infinite for beta <= 0
    xc <- as.matrix(xc)
    sparse_core <- FALSE
  } else {
    sparse_core <- sparse
  }
  if (sparse_core) {
    # no scaled copy of a sparse matrix (memory): the C core reads the
    # values times 1 / scale, an exact power of two, so every product and
    # ratio is bit for bit what the scaled copy would give; `xs` stays in
    # the user's units and `xscale` says so
    c_dense <- NULL
    c_sparse <- list(p = xc@p, i = xc@i, x = xc@x, xs = 1 / scale)
    xscale <- scale
    # the sum of the data in internal units, as sum(c_sparse$x) / xscale
    sum_xs <- (if (top == 1) total else sum(cvals)) / xscale
  } else if (scale == 1 && top == 1) {
    # the data are already in internal units: no copy
    c_dense <- xc
    c_sparse <- NULL
    xscale <- 1
    sum_xs <- total
  } else {
    # xc / scale and its sum (what sum(c_dense) gives) in one pass
    scaled <- .Call(C_scale_values, xc, scale)
    c_dense <- scaled$x
    c_sparse <- NULL
    xscale <- 1
    sum_xs <- scaled$sum
  }
  list(x = x, dims = dims, dimnames = dimnames(x), sparse = sparse, scale = scale,
       dense = c_dense, sp = c_sparse, xs = if (sparse_core) xc else c_dense, xscale = xscale,
       sum_xs = sum_xs, hold = if (n_held > 0) hold[c("p", "i")] else NULL, hold_ij = hold,
       n_obs = n_obs, n_held = n_held)
}

# The sum of the prepared data in internal units: what prepare_data() found
# in its pass over the values, equal to sum(d$dense) (dense) or sum(d$sp$x) /
# d$xscale (sparse) bit for bit, without another pass over the data.
data_sum <- function(d) {
  if (!is.null(d$sum_xs)) return(d$sum_xs)
  if (is.null(d$sp)) sum(d$dense) else sum(d$sp$x) / d$xscale
}

# Rows and columns with no observed entry (every entry NA or masked, e.g.
# dropped frames) say nothing about their own row of W or column of H: the
# data are prepared without them, exactly as for x[-rows, -cols] with the
# rest of the pattern, and `dropped` records what nmf() gives back as NA.
prepare_without <- function(x, beta, hold, empty, arg) {
  dims <- dim(x)
  if (length(empty$rows) == dims[1] || length(empty$cols) == dims[2]) {
    abort(sprintf("'%s' has no observed entry: every entry is NA or masked", arg), "data")
  }
  keep_rows <- setdiff(seq_len(dims[1]), empty$rows)
  keep_cols <- setdiff(seq_len(dims[2]), empty$cols)
  i <- match(hold$i + 1L, keep_rows)
  j <- match(hold$j + 1L, keep_cols)
  inside <- !is.na(i) & !is.na(j)
  sub_dims <- c(length(keep_rows), length(keep_cols))
  sub_mask <- if (any(inside)) {
    Matrix::sparseMatrix(i = i[inside], j = j[inside], x = TRUE, dims = sub_dims)
  }
  d <- prepare_data(x[keep_rows, keep_cols, drop = FALSE], beta, mask = sub_mask, missing = "mask", arg = arg)
  d$dropped <- list(rows = empty$rows, cols = empty$cols, keep_rows = keep_rows, keep_cols = keep_cols,
                    dims = dims, dimnames = dimnames(x), x = x, hold_ij = hold)
  d
}

# W and H of a fit on the prepared data, back at the dimensions of x: NA in
# the rows of W and the columns of H that had no observed entry.
restore_dropped <- function(run, dropped) {
  if (is.null(dropped)) return(run)
  w <- matrix(NA_real_, dropped$dims[1], ncol(run$w), dimnames = list(dropped$dimnames[[1]], colnames(run$w)))
  h <- matrix(NA_real_, nrow(run$h), dropped$dims[2], dimnames = list(rownames(run$h), dropped$dimnames[[2]]))
  w[dropped$keep_rows, ] <- run$w
  h[, dropped$keep_cols] <- run$h
  run$w <- w
  run$h <- h
  run
}

# One warning, of class betanmf_warning_empty (nmf_rank() gathers them),
# naming how many rows and columns had no observed entry.
warn_dropped <- function(dropped, arg = "x") {
  if (is.null(dropped)) return(invisible())
  part <- function(idx, what, factor) {
    if (!length(idx)) return(NULL)
    sprintf("%d %s%s (%s) with no observed entry: %s NA", length(idx), what, if (length(idx) > 1) "s" else "",
            index_ranges(idx), factor)
  }
  msg <- paste(c(part(dropped$cols, "column", "their coefficients in H are"),
                 part(dropped$rows, "row", "their rows of W are")), collapse = "; ")
  warn(sprintf("'%s' has %s; the rest was fitted without them", arg, msg), "empty")
}

# "3, 7-9, 12": runs of consecutive indices, the first few
index_ranges <- function(idx, max_runs = 5L) {
  runs <- split(idx, cumsum(c(1L, diff(idx) != 1L)))
  text <- vapply(runs, function(r) if (length(r) == 1L) as.character(r) else sprintf("%d-%d", r[1], r[length(r)]),
                 character(1))
  if (length(text) > max_runs) text <- c(text[seq_len(max_runs)], "...")
  paste(text, collapse = ", ")
}
