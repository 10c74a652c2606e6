# Data read in blocks: a DelayedMatrix (HDF5Array's HDF5Matrix, TENxMatrix,
# any delayed operation on them; also the assay of a SummarizedExperiment or
# SingleCellExperiment) is never realised.  Its blocks come from
# DelayedArray's grids (colAutoGrid(), rowAutoGrid(); block size
# getAutoBlockSize(), set with DelayedArray::setAutoBlockSize(); dense
# column blocks chunk-aligned, dense_col_grid()), read as dense arrays (into
# buffers reused for the whole fit, dense_col_block()), or as sparse ones
# (dgCMatrix) when the matrix is sparse (DelayedArray::is_sparse()), and each
# goes to the same C kernels as data in memory (src/blocks.c,
# C_block_half).
#
# Every solver's half update moves each column of the factor it updates from
# that column of the data and the whole other factor alone, so:
# - the H half walks blocks of columns of X, updating their columns of H;
# - HALS and MU: the W half's update of a row of W needs sums over the
#   columns of X (MU's numerator and denominator, HALS's H t(X); its Gram
#   matrix H t(H) is made from H in memory), and each sum splits over
#   blocks of columns.  So the pass of the H half, once block b's columns of
#   H are updated, also adds block b's share of the next W half's sums at
#   (W, the new H) (the same C_block_half call; for dense HALS blocks in the
#   same pass over the block, hals.c's one-pass H half; MU's from the block
#   as stored, no transposed copy), and the W half is one step from the
#   totals (C_block_w_step): one pass over column blocks per iteration, plus
#   one at the start (with the start's loss) for the first W half's sums.
#   The shares are added in block order, so results do not depend on the
#   threads;
# - coordinate descent (beta = 1, solver = "cd", the default at beta = 1):
#   its W half takes Newton steps entry by entry along a whole row of W, each
#   step needing the model at the entries just changed, so its sums do not
#   split over column blocks.  Its W half walks blocks of rows of X, each
#   transposed in memory (a block of columns of t(X)), updating their rows
#   of W: a second pass per iteration, by rows.  On a file chunked by
#   columns (or a TENxMatrix, compressed by columns) a block of rows touches
#   every chunk, so such data are read many times per iteration: chunk
#   HDF5 data in squarish tiles (writeHDF5Array()'s default geometry) for
#   this solver, or fit with solver = "mu";
# - the loss is summed over the H half's blocks at the new factors, so a
#   check costs no extra pass (HALS: from the H half's product and Gram
#   matrix and the block's sum of squares, as in memory, not from the
#   model); the start's loss is one more pass.
# The iterates are those of the fit in memory from the same start, to the
# rounding of the products' order of terms (tests/testthat/test-blocks.R:
# relative difference below 1e-10 after 50 iterations).  The loop over blocks
# is in R, calling C per block: every block read goes through DelayedArray's
# R methods anyway, and a C driver calling back into R per block would save
# only the R loop's overhead per block.
#
# The scale to mean ~1 (prepare_data()), the checks of the values and the
# held-out pattern (mask and NA) come from one pass over column blocks; the
# NNDSVD start's range finder (src/range.c) makes each product with X block by
# block (thin_product per block, summed in block order) and orthonormalises
# with the same orth() (C_orth).

# counters of the blocks read (tests: the input is read block by block,
# never whole)
blocks_env <- new.env(parent = emptyenv())
blocks_env$reads <- 0
blocks_env$largest <- 0
blocks_env$row_reads <- 0
blocks_env$direct_reads <- 0
blocks_env$deferred <- 0 # HALS H halves that took a block's scale on their products

# (a DelayedMatrix is an S4 object: isS4() spares the class lookup of
# methods::is() for the matrices of every other call)
is_delayed_matrix <- function(x) isS4(x) && methods::is(x, "DelayedMatrix")

need_delayed <- function(arg) {
  if (!requireNamespace("DelayedArray", quietly = TRUE)) {
    abort(sprintf("'%s' is a DelayedMatrix, but the DelayedArray package is not installed", arg), "dependency")
  }
}

# The viewports of a grid as a list, in order (a column grid is 1 x nb, a
# row grid nb x 1)
grid_viewports <- function(grid) {
  d <- dim(grid)
  if (d[1] == 1L) lapply(seq_len(d[2]), function(b) grid[[1L, b]]) else lapply(seq_len(d[1]), function(b) grid[[b, 1L]])
}

# One block as read: a double matrix or a dgCMatrix.  Through
# extract_array() / extract_sparse_array() on the viewport's ranges, the
# primitives read_block() calls after a good deal of dispatch: the same
# values at a fraction of the cost per block.
read_one_block <- function(x, vp, sparse) {
  full <- dim(x)
  index <- lapply(1:2, function(k) {
    idx <- vp_range(vp, k)
    if (length(idx) == full[k]) NULL else idx
  })
  src <- if (sparse && is.null(index[[1]])) h5sparse_direct(x)
  if (!is.null(src)) {
    b <- h5sparse_read_cols(src, vp_range(vp, 2), full[1])
    blocks_env$direct_reads <- blocks_env$direct_reads + 1
  } else if (sparse) {
    b <- methods::as(DelayedArray::extract_sparse_array(x, index), "dgCMatrix")
  } else {
    b <- DelayedArray::extract_array(x, index)
    if (!is.double(b)) storage.mode(b) <- "double"
  }
  if (sparse) b@Dimnames <- list(NULL, NULL) else dimnames(b) <- NULL
  blocks_env$reads <- blocks_env$reads + 1
  blocks_env$largest <- max(blocks_env$largest, prod(as.numeric(dim(b))))
  b
}

# A sparse HDF5 matrix in the CSC layout of its columns, with no delayed
# operation on it, is read by columns straight from its arrays: HDF5Array's
# CSC_H5SparseMatrixSeed (data, indices and indptr in one HDF5 group) under
# a TENxMatrix (the 10x Genomics layout, TENxMatrixSeed), an
# H5SparseMatrix or an H5ADMatrix.  HDF5Array presents such a group so that
# indptr runs over the columns of the matrix the user fits: a group stored
# as "csr" (anndata's cells x genes X) is the genes x cells matrix whose
# columns are the file's rows, a CSC_H5SparseMatrixSeed.  The non-zeros of
# a run of columns are then one contiguous range of the data and indices
# datasets (the seed's indptr_ranges), two rhdf5 reads with start and
# count, which become the block's dgCMatrix slots as they are.
# DelayedArray::extract_sparse_array() on the same columns matches every
# column index against the indptr ranges and builds a SparseArraySeed, then
# a dgCMatrix from it: most of the time of a pass.  A group stored as "csc"
# (HDF5Array's CSR_H5SparseMatrixSeed: indptr over the rows of the matrix
# fitted) has a block of columns scattered over every row's range, and any
# delayed operation or subset (x[, j], t(x), x * 2) changes what the arrays
# mean: both return NULL here and read through DelayedArray.
h5sparse_direct <- function(x) {
  if (!(class(x)[[1]] %in% c("TENxMatrix", "H5SparseMatrix", "H5ADMatrix")) ||
      !requireNamespace("rhdf5", quietly = TRUE)) {
    return(NULL)
  }
  seed <- x@seed
  # the seed's slots as HDF5Array (1.26) has them; an older layout reads through DelayedArray
  if (!methods::is(seed, "CSC_H5SparseMatrixSeed") ||
      !all(vapply(c("subdata", "indptr_ranges", "group", "filepath"), methods::.hasSlot, logical(1),
                  object = seed))) {
    return(NULL)
  }
  if (!is.character(seed@filepath) || length(seed@filepath) != 1L) return(NULL)
  if (!identical(as.integer(seed@dim), as.integer(dim(x)))) return(NULL)
  ranges <- seed@indptr_ranges
  if (!is.data.frame(ranges) || nrow(ranges) != ncol(x)) return(NULL)
  group <- sub("/+$", "", seed@group)
  # values in a dataset inside a group "data" (the seed's subdata): HDF5Array
  # 1.26 itself reads group/data for them and fails, so they stay on its path
  if (!is.null(seed@subdata)) return(NULL)
  list(file = seed@filepath, data = paste0(group, "/data"), indices = paste0(group, "/indices"),
       start = ranges$start, width = ranges$width)
}

# columns `cols` (consecutive) of a sparse HDF5 matrix (h5sparse_direct()) as
# an m-row dgCMatrix
h5sparse_read_cols <- function(src, cols, m) {
  width <- src$width[cols]
  start <- src$start[cols[1]]
  nnz <- sum(as.numeric(width))
  # the columns' ranges must follow one another (CSC); otherwise the file
  # is not what its indptr says
  if (length(cols) > 1L && any(diff(src$start[cols]) != width[-length(width)])) {
    abort(sprintf("the sparse HDF5 file '%s' has column ranges (indptr) that do not follow one another", src$file))
  }
  # the blocks read before this one are garbage by now (the loops over
  # blocks drop them): a collection of the young generation, cheap, frees
  # them before this block is allocated, so a pass holds about one block,
  # not as many as R's collector would otherwise let pile up
  if (nnz > 2^16) gc(verbose = FALSE, full = FALSE)
  read <- function(name) {
    if (nnz == 0) return(NULL)
    # 64-bit and unsigned 32-bit values as doubles (rhdf5's default turns
    # those above .Machine$integer.max into NA)
    v <- rhdf5::h5read(src$file, name, start = start, count = nnz, bit64conversion = "double")
    dim(v) <- NULL
    v
  }
  vals <- read(src$data)
  rows <- read(src$indices)
  if (is.null(vals)) vals <- numeric(0)
  if (is.null(rows)) rows <- integer(0)
  if (!is.double(vals)) vals <- as.double(vals)
  if (!is.integer(rows)) rows <- as.integer(rows)
  # new() validates the slots (row indices inside 0 .. m - 1, increasing
  # within each column): the C kernels index with them.  CSC allows a
  # column's row indices in any order (a file written without sorting
  # them): such a block is sorted within its columns and validated again.
  p <- c(0L, as.integer(cumsum(width)))
  make <- function(rows, vals) {
    methods::new("dgCMatrix", i = rows, p = p, x = vals, Dim = c(as.integer(m), length(cols)))
  }
  tryCatch(make(rows, vals),
           error = function(e) {
             col <- rep.int(seq_along(width), width)
             if (length(rows) > 1L && any(diff(rows) <= 0L & diff(col) == 0L)) {
               o <- order(col, rows)
               sorted <- tryCatch(make(rows[o], vals[o]), error = function(e2) NULL)
               if (!is.null(sorted)) return(sorted)
             }
             abort(sprintf(paste0("the sparse HDF5 file '%s' has invalid row indices in columns %d-%d (%s); ",
                                  "the file is damaged or not in the CSC layout its group says"),
                           src$file, cols[1], cols[length(cols)], conditionMessage(e)))
           })
}

# The grid of a sparse DelayedMatrix's column blocks.  DelayedArray's
# colAutoGrid() sizes blocks as if they were dense (getAutoBlockSize()
# bytes over 8 m per column), so at 0.5 % non-zeros a block holds a tenth
# of a megabyte of them and a pass is thousands of reads.  A sparse HDF5
# matrix read directly (h5sparse_direct()) says how many non-zeros each
# column has: its blocks are runs of columns with at most
# getAutoBlockSize() bytes of non-zeros (12 a non-zero: the double and its
# row index), each as long as that allows (a column with more is a block
# of its own).  Any other sparse DelayedMatrix keeps colAutoGrid().
sparse_col_grid <- function(x) {
  src <- h5sparse_direct(x)
  if (is.null(src)) return(DelayedArray::colAutoGrid(x))
  per_block <- max(1, floor(DelayedArray::getAutoBlockSize() / 12))
  total <- cumsum(as.numeric(src$width))
  n <- length(total)
  ends <- integer(0)
  last <- 0L
  while (last < n) {
    # the last column whose running total stays within the block's budget
    end <- findInterval((if (last > 0L) total[last] else 0) + per_block, total)
    last <- max(last + 1L, end)
    ends <- c(ends, last)
  }
  DelayedArray::ArbitraryArrayGrid(list(as.integer(nrow(x)), as.integer(ends)))
}

# the indices of x a viewport covers along dimension `along` (1 rows, 2 columns)
vp_range <- function(vp, along) {
  r <- DelayedArray::ranges(vp)
  seq.int(methods::slot(r, "start")[along], length.out = methods::slot(r, "width")[along])
}

# Dense blocks of columns are read into buffers the fit allocates once per
# block shape and reuses for every block of that shape, on every pass (a
# regular grid has at most two shapes: its blocks and its last one): no
# allocation per block, so neither R's collector nor the kernel's page
# faults on fresh memory run per block, and the fit's memory is one block
# over the factors.  The scale and the
# held-out zeros are applied in C, in the buffer (C_block_prepare), not by
# an R expression that would copy the block.
#
# A dense HDF5 dataset with no delayed operation on it (an HDF5Matrix, or
# the H5ADMatrix of an h5ad file whose X is dense) is read straight into
# the buffer by HDF5's own H5Dread (rhdf5, which HDF5Array is built on) on
# the block's hyperslab of columns: a block of whole columns of a file
# chunked by columns is one contiguous read per chunk.  A floating-point
# dataset is read into the double buffer itself.  An integer one (counts,
# as writeHDF5Array() writes an integer matrix) is read into an integer
# buffer of the block's shape, reused likewise, and C_block_prepare makes
# the doubles from it in the double buffer, NA_integer_ becoming NA, as
# from the integer block extract_array() returns; only integer types whose
# every value R's integers hold (signed up to 32 bits, unsigned up to 16),
# so rhdf5's conversion and HDF5Array's agree.  Any other DelayedMatrix
# goes through DelayedArray::extract_array() and is copied into the
# buffer.

# The grid of a dense DelayedMatrix's column blocks: getAutoBlockSize()
# bytes of doubles per block (the buffer's size), rounded down to whole
# chunks of columns when x is chunked (at least one chunk), so that a pass
# reads each chunk once and whole
dense_col_grid <- function(x) {
  m <- as.numeric(nrow(x))
  n <- ncol(x)
  ncol_block <- max(1, floor(DelayedArray::getAutoBlockSize() / (8 * m)))
  chunk <- DelayedArray::chunkdim(x)
  if (!is.null(chunk) && chunk[2] > 0) ncol_block <- max(1, floor(ncol_block / chunk[2])) * chunk[2]
  DelayedArray::colAutoGrid(x, ncol = as.integer(min(n, ncol_block)))
}

# list(file, name, filtered, type) of a dense HDF5 dataset read directly
# (type "double" or "integer": the buffer H5Dread writes to), or NULL
h5_direct <- function(x) {
  if (!(class(x)[[1]] %in% c("HDF5Matrix", "H5ADMatrix")) || !requireNamespace("rhdf5", quietly = TRUE)) {
    return(NULL)
  }
  seed <- x@seed
  if (!(class(seed)[[1]] %in% c("HDF5ArraySeed", "Dense_H5ADMatrixSeed")) || isTRUE(seed@as_sparse) ||
      !is.character(seed@filepath)) {
    return(NULL)
  }
  if (!identical(as.integer(seed@dim), as.integer(dim(x)))) return(NULL)
  info <- tryCatch(rhdf5::h5ls(seed@filepath, all = TRUE), error = function(e) NULL)
  if (is.null(info)) return(NULL)
  path <- sub("^/+", "", paste(info$group, info$name, sep = "/"))
  k <- match(sub("^/+", "", seed@name), sub("^/+", "", path))
  if (is.na(k) || !identical(info$otype[k], "H5I_DATASET")) return(NULL)
  type <- DelayedArray::type(x)
  # the buffer's type from the file's type, and the type HDF5Array reads it as
  direct <- if (identical(info$dclass[k], "FLOAT") && identical(type, "double")) {
    "double"
  } else if (grepl("^H5T_STD_(I8|I16|I32|U16)(LE|BE)$", info$dtype[k]) && identical(type, "integer")) {
    "integer"
  }
  if (is.null(direct)) return(NULL)
  list(file = seed@filepath, name = seed@name, filtered = h5_filtered(seed@filepath, seed@name), type = direct)
}

# whether the dataset's chunks go through HDF5's filter pipeline (HDF5Array
# writes every dataset with shuffle and deflate, at level 0 too); NA when
# that cannot be read
h5_filtered <- function(file, name) {
  tryCatch({
    fid <- rhdf5::H5Fopen(file, flags = "H5F_ACC_RDONLY")
    on.exit(rhdf5::H5Fclose(fid))
    did <- rhdf5::H5Dopen(fid, name)
    on.exit(rhdf5::H5Dclose(did), add = TRUE, after = FALSE)
    dcpl <- rhdf5::H5Dget_create_plist(did)
    on.exit(rhdf5::H5Pclose(dcpl), add = TRUE, after = FALSE)
    rhdf5::H5Pget_nfilters(dcpl) > 0
  }, error = function(e) NA)
}

# HDF5 mallocs and frees buffers of a chunk's size for every filtered chunk
# it reads; under glibc's adaptive malloc thresholds those pages can go
# back to the system after every chunk and be faulted in again, which made
# a pass several times slower, depending on what the process had freed
# before (after printing the matrix, say).  C_block_heap_keep (src/blocks.c)
# sets the thresholds glibc's own rule ends at, once per session, unless
# the user set them (environment variables read by glibc at start).
keep_heap <- function() {
  if (isTRUE(blocks_env$heap_kept)) return(invisible(TRUE))
  set_by_user <- any(nzchar(Sys.getenv(c("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")))) ||
    grepl("malloc\\.(mmap|trim)_threshold", Sys.getenv("GLIBC_TUNABLES"))
  if (set_by_user) return(invisible(FALSE))
  blocks_env$heap_kept <- .Call(C_block_heap_keep)
  invisible(blocks_env$heap_kept)
}

# columns j0 .. j0 + ncol(buf) - 1 of the dataset into buf, in place
h5_read_into <- function(src, j0, buf) {
  fid <- rhdf5::H5Fopen(src$file, flags = "H5F_ACC_RDONLY")
  on.exit(rhdf5::H5Fclose(fid))
  # no chunk cache: each chunk of a pass is read once, and with HDF5's
  # default cache (1 MiB, smaller than a chunk of whole columns) every chunk
  # is staged through it instead of going straight to the buffer
  dapl <- rhdf5::H5Pcreate("H5P_DATASET_ACCESS")
  on.exit(rhdf5::H5Pclose(dapl), add = TRUE, after = FALSE)
  rhdf5::H5Pset_chunk_cache(dapl, 521L, 0, 1)
  did <- rhdf5::H5Dopen(fid, src$name, dapl = dapl)
  on.exit(rhdf5::H5Dclose(did), add = TRUE, after = FALSE)
  fsp <- rhdf5::H5Dget_space(did)
  on.exit(rhdf5::H5Sclose(fsp), add = TRUE, after = FALSE)
  rhdf5::H5Sselect_hyperslab(fsp, start = c(1, j0), count = dim(buf))
  msp <- rhdf5::H5Screate_simple(dim(buf))
  on.exit(rhdf5::H5Sclose(msp), add = TRUE, after = FALSE)
  rhdf5::H5Dread(did, fsp, msp, buf = buf)
  invisible(NULL)
}

# the fit's buffer for an m x nc block (see above)
block_buffer <- function(B, m, nc, what = "x") {
  key <- paste(what, m, nc)
  buf <- B$bufs[[key]]
  if (is.null(buf)) {
    keys <- ls(B$bufs, pattern = paste0("^", what, " "))
    # a grid of irregular blocks keeps the two shapes used last
    if (length(keys) >= 2) rm(list = keys[1], envir = B$bufs)
    # "int": the integers an integer dataset is read into (dense_col_block())
    buf <- matrix(if (what == "int") 0L else 0, m, nc)
    assign(key, buf, envir = B$bufs)
  }
  buf
}

# dense block vp of columns in its buffer, divided by sc, the entries
# (hi, hj) (0-based, in the block) zero
dense_col_block <- function(B, vp, sc = 1, hi = integer(0), hj = integer(0)) {
  d <- dim(vp)
  buf <- block_buffer(B, d[1], d[2])
  if (is.null(B$direct)) {
    full <- dim(B$x)
    cols <- vp_range(vp, 2)
    src <- DelayedArray::extract_array(B$x, list(NULL, if (length(cols) == full[2]) NULL else cols))
    if (!identical(as.integer(dim(src)), as.integer(d))) abort("internal error: a block of the wrong shape")
  } else if (identical(B$direct$type, "integer")) {
    src <- block_buffer(B, d[1], d[2], "int")
    h5_read_into(B$direct, vp_range(vp, 2)[1], src)
  } else {
    src <- NULL
    h5_read_into(B$direct, vp_range(vp, 2)[1], buf)
  }
  .Call(C_block_prepare, buf, src, as.double(sc), as.integer(hi), as.integer(hj))
  blocks_env$reads <- blocks_env$reads + 1
  blocks_env$direct_reads <- blocks_env$direct_reads + !is.null(B$direct)
  blocks_env$largest <- max(blocks_env$largest, prod(as.numeric(d)))
  buf
}

# The held-out pattern (0-based i, j) from a DelayedMatrix of logicals, block
# by block; NA in the mask is an error, as for a mask in memory.
delayed_mask_pattern <- function(mask, dims) {
  if (!identical(as.integer(dim(mask)), as.integer(dims))) {
    abort(sprintf("'mask' must have the dimensions of x (%d x %d), not %d x %d",
                  dims[1], dims[2], nrow(mask), ncol(mask)))
  }
  if (!identical(DelayedArray::type(mask), "logical")) {
    abort("'mask' must be logical (TRUE = held out), not a numeric matrix")
  }
  ii <- list()
  jj <- list()
  for (vp in grid_viewports(DelayedArray::colAutoGrid(mask))) {
    cols <- vp_range(vp, 2)
    b <- as.matrix(DelayedArray::read_block(mask, vp))
    if (anyNA(b)) abort("'mask' contains NA; it must be TRUE (held out) or FALSE")
    w <- which(b, arr.ind = TRUE)
    ii[[length(ii) + 1L]] <- w[, 1] - 1L
    jj[[length(jj) + 1L]] <- cols[w[, 2]] - 1L
  }
  pattern_csc(unlist(ii), unlist(jj), dims)
}

# prepare_data() for a DelayedMatrix: the same checks, scale and held-out
# pattern, from one pass over blocks of columns; the data stay where they
# are.  d$blocks says how to read them.
prepare_blocks <- function(x, beta, mask = NULL, missing = "error", arg = "x") {
  need_delayed(arg)
  dims <- dim(x)
  if (any(dims == 0L)) {
    abort(sprintf("'%s' has %d rows and %d columns: it needs at least one of each", arg, dims[1], dims[2]))
  }
  if (!(DelayedArray::type(x) %in% c("double", "integer"))) {
    abort(sprintf("'%s' must be numeric, not %s", arg, DelayedArray::type(x)))
  }
  sparse <- isTRUE(DelayedArray::is_sparse(x))
  # a rank survey's fold: its held-out entries made block by block (R/blocks-rank.R)
  rule <- if (inherits(mask, "betanmf_fold_rule")) mask
  if (!is.null(rule)) mask <- NULL
  hold <- if (is_delayed_matrix(mask)) delayed_mask_pattern(mask, dims) else check_mask(mask, dims)
  # blocks sized by their non-zeros only where they are read as sparse ones
  # (beta > 0); dense blocks of sparse data keep the dense size
  cvps <- grid_viewports(if (sparse && beta > 0) sparse_col_grid(x)
                         else if (sparse) DelayedArray::colAutoGrid(x) else dense_col_grid(x))
  B <- list(x = x, dims = dims, sparse = sparse && beta > 0, cvps = cvps,
            rvps = grid_viewports(DelayedArray::rowAutoGrid(x)), scale = 1, hold = hold,
            bufs = new.env(parent = emptyenv()), direct = if (sparse) NULL else h5_direct(x))
  if (!is.null(B$direct) && !isFALSE(B$direct$filtered)) keep_heap()
  na_i <- list()
  na_j <- list()
  n_nan <- n_inf <- n_neg <- 0
  min_val <- Inf
  # the observed total, the column sums and the zeros, from the blocks as the
  # C core sees them (held-out entries zero), in the user's units: for dense
  # data from the same reads as the checks, for sparse data in a second pass
  total <- 0
  top <- 1
  colsums <- numeric(dims[2])
  n_pos <- 0
  for (vp in cvps) {
    cols <- vp_range(vp, 2)
    b <- if (sparse) read_one_block(x, vp, sparse) else dense_col_block(B, vp)
    scan <- .Call(C_scan_values, if (sparse) as.double(b@x) else b)
    n_nan <- n_nan + scan$nan
    n_inf <- n_inf + scan$inf
    n_neg <- n_neg + scan$negative
    if (scan$negative > 0) min_val <- min(min_val, scan$min)
    if (scan$na > 0) {
      if (sparse) {
        tj <- rep(seq_len(ncol(b)) - 1L, diff(b@p))
        na <- is.na(b@x)
        na_i[[length(na_i) + 1L]] <- b@i[na]
        na_j[[length(na_j) + 1L]] <- cols[tj[na] + 1L] - 1L
      } else {
        w <- which(is.na(b), arr.ind = TRUE)
        na_i[[length(na_i) + 1L]] <- w[, 1] - 1L
        na_j[[length(na_j) + 1L]] <- cols[w[, 2]] - 1L
      }
    }
    if (!sparse) {
      # held out in this block: the mask's entries and the NA just found
      # (with NA and missing = "error" the fit stops below all the same)
      hi <- hj <- integer(0)
      if (!is.null(hold)) {
        s <- seq.int(hold$p[cols[1]] + 1L, length.out = hold$p[cols[length(cols)] + 1L] - hold$p[cols[1]])
        hi <- hold$i[s]
        hj <- hold$j[s] - (cols[1] - 1L)
      }
      if (scan$na > 0) {
        hi <- c(hi, w[, 1] - 1L)
        hj <- c(hj, w[, 2] - 1L)
      }
      if (!is.null(rule)) { # a rank survey's fold (R/blocks-rank.R)
        e <- rule_block_entries(rule, "col", cols)
        hi <- c(hi, e$i)
        hj <- c(hj, e$j)
      }
      .Call(C_block_prepare, b, NULL, 1, as.integer(hi), as.integer(hj))
      total <- total + sum(b)
      n_pos <- n_pos + sum(b > 0)
      colsums[cols] <- colSums(b)
    }
    b <- NULL # a sparse block dropped before the next is read (h5sparse_read_cols())
  }
  if (n_nan > 0) abort(sprintf("'%s' contains %d NaN value(s); NMF needs finite non-negative data", arg, n_nan), "data")
  n_na <- sum(lengths(na_i))
  if (n_na > 0) {
    if (!identical(missing, "mask")) {
      abort(sprintf(paste0("'%s' contains %d NA value(s); remove them, or use missing = \"mask\" ",
                           "to leave them out of the fit"), arg, n_na), "data")
    }
    old <- if (is.null(hold)) list(i = integer(0), j = integer(0)) else hold
    hold <- pattern_csc(c(old$i, unlist(na_i)), c(old$j, unlist(na_j)), dims)
  }
  if (n_inf > 0) abort(sprintf("'%s' contains %d infinite value(s); NMF needs finite data", arg, n_inf), "data")
  if (n_neg > 0) {
    abort(sprintf("'%s' contains %d negative value(s) (the smallest is %g); NMF needs non-negative data",
                  arg, n_neg, min_val), "data")
  }
  n_held <- if (is.null(hold)) 0 else length(hold$i)
  if (n_held > 0) {
    if (any(tabulate(hold$i + 1L, nbins = dims[1]) >= dims[2]) || any(diff(hold$p) >= dims[1])) {
      abort(sprintf(paste0("'%s' has a row or column with no observed entry (every entry NA or masked); ",
                           "a DelayedMatrix is fitted as it is: subset it to the rows and columns with ",
                           "observed entries first"), arg), "data")
    }
  }
  B$hold <- hold
  B$rule <- rule
  if (n_held > 0) {
    # the held-out entries by row too, for the blocks of rows
    o <- order(hold$i, hold$j)
    B$hold_rows <- list(i = hold$i[o], j = hold$j[o],
                        p = c(0L, cumsum(tabulate(hold$i + 1L, nbins = dims[1]))))
  }
  if (sparse) for (b in seq_along(cvps)) {
    cols <- vp_range(cvps[[b]], 2)
    blk <- block_data(B, "col", b, scaled = FALSE)
    v <- if (is.null(blk$dense)) blk$sparse$x else blk$dense
    total <- total + sum(v)
    n_pos <- n_pos + sum(v > 0)
    colsums[cols] <- if (is.null(blk$dense)) {
      # diff(c(0, cumsum(x))[p + 1]) without the copy c() makes of the
      # running sum: p starts with its zeros (empty leading columns)
      p <- blk$sparse$p
      run <- cumsum(blk$sparse$x)
      diff(c(numeric(sum(p == 0)), run[p[p > 0]]))
    } else {
      colSums(blk$dense)
    }
    blk <- v <- run <- NULL # dropped before the next block is read (h5sparse_read_cols())
  }
  if (is.infinite(total)) {
    abort(sprintf("'%s' has entries whose sum overflows; divide it by a power of two first", arg), "data")
  }
  if (!is.null(rule)) n_held <- n_held + rule$n_held
  n_obs <- prod(as.numeric(dims)) - n_held
  if (!(total > 0)) {
    abort(sprintf("'%s' has no positive observed entry (all zero): there is nothing to factorize", arg), "data")
  }
  if (beta <= 0 && n_obs - n_pos > 0) {
    abort(sprintf(paste0("'%s' has %.0f zero entries, where the beta-divergence with beta = %g is infinite; ",
                         "use beta > 0 (e.g. beta = 1 for counts), or add a small positive offset ",
                         "to x yourself (e.g. x + 1e-6 * mean(x))"), arg, n_obs - n_pos, beta), "data")
  }
  scale <- 2^min(1023, round(log2(top) + log2(total / n_obs)))
  B$scale <- scale
  B$mean_x <- total / scale / n_obs
  B$colsums <- colsums / scale
  B <- structure(B, class = "betanmf_blocks")
  list(x = x, dims = dims, dimnames = dimnames(x), sparse = sparse, scale = scale,
       dense = NULL, sp = NULL, xs = B, xscale = 1,
       hold = if (n_held > 0) hold[c("p", "i")] else NULL, hold_ij = hold,
       n_obs = n_obs, n_held = n_held, blocks = B)
}

# Block b of the column ("col") or row ("row") grid, in the layout the C
# entries read (data = list(dense, sparse, dims, hold)): a block of rows is
# transposed, so that the columns of the block are always the columns of the
# factor it updates; held-out (and NA) entries zero, the values divided by the
# scale (exact, a power of two) unless scaled = FALSE.  $index: the block's
# columns ("col") or rows ("row") of x.  defer = TRUE (HALS's H half): a
# dense block of columns is left unscaled in its buffer, with $dense_xs the
# reciprocal of the scale for C_block_half, which applies it to the
# products (src/blocks.c, hals_half_fused) and so saves a pass over the
# block.  Those keep the scaled block's bits while no product or partial
# sum is subnormal; only for scales from 2^-512 to 2^512, so that none
# overflows either.
block_data <- function(B, along, b, scaled = TRUE, defer = FALSE) {
  vp <- if (along == "col") B$cvps[[b]] else B$rvps[[b]]
  idx <- vp_range(vp, if (along == "col") 2 else 1)
  dense_col <- along == "col" && !B$sparse
  blk <- if (dense_col) NULL else read_one_block(B$x, vp, B$sparse)
  if (along == "row") blocks_env$row_reads <- blocks_env$row_reads + 1
  # the held-out entries inside the block, in the block's coordinates
  hi <- hj <- integer(0)
  if (!is.null(B$hold)) {
    if (along == "col") {
      s <- seq.int(B$hold$p[idx[1]] + 1L, length.out = B$hold$p[idx[length(idx)] + 1L] - B$hold$p[idx[1]])
      hi <- B$hold$i[s]
      hj <- B$hold$j[s] - (idx[1] - 1L)
    } else {
      hr <- B$hold_rows
      s <- seq.int(hr$p[idx[1]] + 1L, length.out = hr$p[idx[length(idx)] + 1L] - hr$p[idx[1]])
      hi <- hr$i[s] - (idx[1] - 1L)
      hj <- hr$j[s]
    }
  }
  if (!is.null(B$rule)) { # a rank survey's fold (R/blocks-rank.R); NA entries held out once
    e <- rule_block_entries(B$rule, along, idx)
    hi <- c(hi, e$i)
    hj <- c(hj, e$j)
    once <- !duplicated(hj * as.numeric(length(idx) + nrow(B$x)) + hi)
    hi <- hi[once]
    hj <- hj[once]
  }
  sc <- if (scaled) B$scale else 1
  if (dense_col) {
    xs <- 1
    if (defer && sc != 1 && sc >= 2^-512 && sc <= 2^512) {
      xs <- 1 / sc
      sc <- 1
    }
    blk <- dense_col_block(B, vp, sc, hi, hj)
    dims <- as.integer(dim(blk))
    hold <- if (length(hi)) pattern_csc(hi, hj, dims)[c("p", "i")] else NULL
    return(list(dense = blk, sparse = NULL, dims = dims, hold = hold, index = idx, dense_xs = xs))
  }
  if (length(hi)) {
    if (B$sparse) {
      hm <- Matrix::sparseMatrix(i = hi + 1L, j = hj + 1L, x = 1, dims = dim(blk))
      blk <- Matrix::drop0(blk - blk * hm)
      blk@x[is.na(blk@x)] <- 0
      blk <- Matrix::drop0(blk)
    } else {
      blk[cbind(hi + 1L, hj + 1L)] <- 0
    }
  }
  if (along == "row") {
    blk <- if (B$sparse) Matrix::t(blk) else t(blk)
    tmp <- hi
    hi <- hj
    hj <- tmp
  }
  dims <- as.integer(dim(blk))
  hold <- if (length(hi)) pattern_csc(hi, hj, dims)[c("p", "i")] else NULL
  if (B$sparse) {
    list(dense = NULL, sparse = list(p = blk@p, i = blk@i, x = blk@x, xs = 1 / sc), dims = dims, hold = hold,
         index = idx)
  } else {
    list(dense = if (sc == 1) blk else blk / sc, sparse = NULL, dims = dims, hold = hold, index = idx)
  }
}

# One C half update on one block (src/blocks.c)
# (share: also the block's share of the next W half's sums, at g and the
# new f, for HALS and MU; xx: for HALS's loss, the block's sum of squares,
# or NA to take the loss directly and return the sum of squares as $xx)
block_half <- function(blk, f, g, solver, beta, ctl, side, threads, update = TRUE, loss = FALSE, share = FALSE,
                       xx = NA_real_) {
  k <- if (side == "w") 1L else 2L
  control <- list(solver = switch(solver, hals = 1L, mu = 2L, cd = 3L), beta = as.double(beta),
                  inner = ctl$inner, inner_tol = ctl$inner_tol, l1 = ctl$l1[k], l2 = ctl$l2[k],
                  threads = as.integer(threads), update = update, loss = loss, share = share, xx = as.double(xx),
                  dense_xs = if (is.null(blk$dense_xs)) 1 else blk$dense_xs)
  res <- .Call(C_block_half, blk[c("dense", "sparse", "dims", "hold")], f, g, control)
  blocks_env$deferred <- blocks_env$deferred + res$deferred
  res
}

# run_solver() for data in blocks: the alternating loop of src/nmf.c
# (nmf_run), its stopping rule and trace, over the blocks.  Returns what
# C_nmf_fit returns.
block_solver <- function(d, w, h, beta, solver, ctl, update_w, threads, verbose, run = 0L, volume = 0, lam = 0) {
  if (volume > 0) abort("minimum volume (volume > 0) is not available for a DelayedMatrix; realise it first")
  B <- d$blocks
  wt <- t(w)
  storage.mode(wt) <- "double"
  storage.mode(h) <- "double"
  unit <- d$scale^beta
  ncb <- length(B$cvps)
  nrb <- length(B$rvps)
  # HALS and MU: the W half from the column blocks (its sums made in the
  # pass of the H half before, at the W of that pass and the new H)
  col_w <- update_w && solver != "cd"
  wctl <- list(solver = switch(solver, hals = 1L, mu = 2L, cd = 3L), beta = as.double(beta),
               inner = ctl$inner, inner_tol = ctl$inner_tol, l1 = ctl$l1[1], l2 = ctl$l2[1],
               threads = as.integer(threads))
  hold_t <- if (is.null(B$hold_rows)) NULL else list(p = as.integer(B$hold_rows$p), i = as.integer(B$hold_rows$j))
  num <- den <- NULL
  # HALS's loss after an H half comes from that half's product and Gram
  # matrix (hals_loss(), as the fit in memory checks it), given each
  # block's sum of squares: those are kept from the start's pass, which
  # takes the loss directly
  bufs <- B$bufs
  if (solver == "hals" && is.null(bufs$xx)) bufs$xx <- rep(NA_real_, ncb)
  h_pass <- function(update, loss, share = FALSE) {
    total <- 0
    sweeps <- 0
    if (share) {
      num <<- matrix(0, nrow(wt), ncol(wt))
      if (solver == "mu") den <<- matrix(0, nrow(wt), ncol(wt))
    }
    expand <- loss && update && solver == "hals" && !anyNA(bufs$xx)
    for (b in seq_len(ncb)) {
      # HALS's one-pass H half with the share takes the block unscaled
      # (block_data()); any other call would scale it in C, a second pass
      # over a block copied into its buffer
      blk <- block_data(B, "col", b, defer = solver == "hals" && update && share)
      j <- blk$index
      # with the share: this block's share of the next W half's sums, at
      # (W, the new H), made in the same call (HALS: in the same pass over
      # the block as its H half)
      res <- block_half(blk, h[, j, drop = FALSE], wt, solver, beta, ctl, "h", threads, update, loss, share,
                        if (expand) bufs$xx[b] else NA_real_)
      if (update) h[, j] <<- res$f
      if (!is.na(res$xx)) bufs$xx[b] <- res$xx
      total <- total + res$loss
      sweeps <- sweeps + res$sweeps
      if (share) {
        num <<- num + res$num
        if (solver == "mu") den <<- den + res$den
      }
      blk <- res <- NULL # dropped before the next block is read (h5sparse_read_cols())
    }
    # the expansion cancels near an exact fit (within a millionth of the
    # data's sum of squares): there, the loss directly, in one more pass
    if (expand && !(total > 1e-6 * sum(bufs$xx))) total <- h_pass(FALSE, TRUE)$loss
    list(loss = total, sweeps = sweeps)
  }
  w_step <- function() {
    res <- if (!is.null(B$rule) && solver == "hals") {
      rule_w_step(B, wt, h, num, den, wctl) # a rank survey's fold, in bands of rows (R/blocks-rank.R)
    } else .Call(C_block_w_step, hold_t, as.integer(rev(B$dims)), wt, h, num, den, wctl, NULL)
    wt <<- res$f
    res$sweeps
  }
  w_pass <- function() {
    sweeps <- 0
    for (b in seq_len(nrb)) {
      blk <- block_data(B, "row", b)
      i <- blk$index
      res <- block_half(blk, wt[, i, drop = FALSE], h, solver, beta, ctl, "w", threads)
      wt[, i] <<- res$f
      sweeps <- sweeps + res$sweeps
    }
    sweeps
  }
  maxit <- ctl$maxit
  check <- max(1L, ctl$check)
  # the start's loss, and the first W half's sums, in one pass
  prev <- h_pass(FALSE, TRUE, col_w)$loss
  if (!is.finite(prev)) abort("the loss at the initial factors is not finite", "numerical")
  trace <- prev
  trace_iter <- 0L
  loss <- prev
  loss0 <- prev
  prev_it <- 0L
  converged <- FALSE
  sweeps <- 0
  it <- 0L
  while (it < maxit) {
    it <- it + 1L
    is_check <- it %% check == 0L || it == maxit
    if (col_w) {
      sweeps <- sweeps + w_step()
    } else if (update_w) {
      sweeps <- sweeps + w_pass()
    }
    p <- h_pass(TRUE, is_check, col_w && it < maxit)
    sweeps <- sweeps + p$sweeps
    if (is_check) {
      cur <- p$loss
      if (!is.finite(cur)) abort(sprintf("internal error: the loss became non-finite at iteration %d", it))
      trace <- c(trace, cur)
      trace_iter <- c(trace_iter, it)
      loss <- cur
      denom <- if (prev > 1e-6 * loss0) prev else 1e-6 * loss0
      rel <- if (denom > 0) (prev - cur) / denom / (it - prev_it) else 0
      if (verbose) {
        if (run > 0) cat(sprintf("run %d  ", run))
        cat(sprintf("iteration %5d  loss %.10g  relative decrease %.3e\n", it, loss * unit, rel))
      }
      prev <- cur
      prev_it <- it
      if (cur == 0 || (ctl$tol > 0 && rel < ctl$tol)) {
        converged <- TRUE
        break
      }
    }
  }
  list(wt = wt, h = h, trace = trace, trace_iter = as.integer(trace_iter), iterations = it, loss = loss,
       sweeps = if (solver == "hals") sweeps else NA_real_, converged = converged, layout = NULL,
       trace_penalty = numeric(length(trace)), penalty = 0, lam = 0)
}

# The randomized range finder of truncated_svd() (R/init.R, src/range.c:
# Halko, Martinsson & Tropp 2011, Algorithm 4.4, one power iteration) on data
# in blocks: each product with X made block by block and summed in block
# order, the same orth() between them, the same draws of Omega.
truncated_svd_blocks <- function(B, rank) {
  m <- B$dims[1]
  n <- B$dims[2]
  k <- min(rank + 10L, m, n)
  # the n x k factors kept transposed (k x n), the layout the C side reads,
  # so that no t() copies them: one such matrix, ft, holds in turn t(Omega)
  # (the draws of stats::rnorm(n * k), made in C), t(X' Q), its orth() (in
  # place), t(X' Q) again (B) and, after B's SVD taken in place, V'
  thin_t <- function(blk, qt, trans) {
    # a sparse block's values with its power-of-two scale xs, which the
    # kernels apply entry by entry (exact), not a scaled copy of the block
    .Call(C_thin_product, blk$dense, blk$sparse, blk$dims, qt, trans, TRUE)
  }
  ncb <- length(B$cvps)
  # t(X q) for q (n x k) given as ft = t(q): the blocks' shares summed in
  # block order
  x_times <- function(ft) {
    acc <- matrix(0, k, m)
    for (b in seq_len(ncb)) {
      blk <- block_data(B, "col", b)
      acc <- acc + thin_t(blk, ft[, blk$index, drop = FALSE], FALSE)
      blk <- NULL # dropped before the next block is read (h5sparse_read_cols())
    }
    acc
  }
  # C_orth writes over its argument, a matrix of this function's own (called
  # directly: a wrapper's argument would count as shared, and be copied)
  ft <- .Call(C_draw_t, n, k)
  pt <- .Call(C_orth, x_times(ft)) # t(Q), k x m
  # t(X' q) for q (m x k) given as pt = t(q), column-separable: each block's
  # columns written into ft (whose values are dead by then) in place
  xt_into <- function(pt) {
    for (b in seq_len(ncb)) {
      blk <- block_data(B, "col", b)
      ft[, blk$index] <<- thin_t(blk, pt, TRUE)
      blk <- NULL
    }
  }
  xt_into(pt)
  ft <- .Call(C_orth, ft) # t(Z)
  pt <- .Call(C_orth, x_times(ft))
  xt_into(pt) # B = Q' X
  b <- ft
  ft <- NULL
  # La.svd(b, nu = rank, nv = rank)'s bits: dgesdd in b, V' written into a
  # fresh k x n matrix (src/range.c)
  s <- .Call(C_svd_s, b, matrix(0, k, n))
  b <- NULL
  list(d = s$d[seq_len(rank)], u = t(pt) %*% s$u[, seq_len(rank), drop = FALSE], vt = s$vt)
}

# fit_signatures() of a DelayedMatrix catalog (no bootstrap, pruning or
# opportunity): the exposures h come from the block path of
# solve_coefficients() (the in-memory iterates); the per-sample cosine
# similarities and the loss from one more pass over blocks of columns, each
# block's reconstruction made and dropped.  `fitted` is not kept (it is the
# size of the data); `catalog` is the DelayedMatrix.
refit_blocks_result <- function(x, w, h, active, beta, level, resample, prune_rule, prune_threshold, call) {
  dimnames(h) <- dimnames(active)
  cosine <- numeric(ncol(x))
  loss <- 0
  sparse <- isTRUE(DelayedArray::is_sparse(x))
  for (vp in grid_viewports(DelayedArray::colAutoGrid(x))) {
    j <- vp_range(vp, 2)
    xb <- read_one_block(x, vp, sparse)
    if (sparse) xb <- as.matrix(xb)
    yb <- w %*% h[, j, drop = FALSE]
    cosine[j] <- column_cosine(xb, yb)
    loss <- loss + beta_divergence(xb, yb, beta)
  }
  names(cosine) <- colnames(x)
  structure(list(
    exposures = h, contributions = h, lower = NULL, upper = NULL,
    replicates = NULL, active = active, cosine = cosine,
    fitted = NULL, catalog = x, signatures = w,
    opportunity = NULL, beta = beta,
    loss = loss, level = level, bootstrap = 0,
    prune = FALSE, prune_rule = prune_rule, prune_threshold = prune_threshold, resample = resample,
    seed = NULL, call = call
  ), class = "signature_refit")
}

# colSums() of a DelayedMatrix, block by block (NA propagates as in colSums())
block_col_sums <- function(x) {
  out <- numeric(ncol(x))
  sparse <- isTRUE(DelayedArray::is_sparse(x))
  for (vp in grid_viewports(DelayedArray::colAutoGrid(x))) {
    b <- read_one_block(x, vp, sparse)
    out[vp_range(vp, 2)] <- if (sparse) Matrix::colSums(b) else colSums(b)
  }
  out
}

# cv_mask() (and fit_signatures()'s bootstrap) work on the whole matrix in
# memory: not for a DelayedMatrix, and said so rather than realised.
# nmf_rank() makes its folds block by block (R/blocks-rank.R).
abort_delayed_cv <- function(what) {
  if (identical(what, "cv_mask()")) {
    abort(paste0("cv_mask() draws a mask in memory, not for a DelayedMatrix; nmf_rank() on a DelayedMatrix ",
                 "makes its folds' held-out entries block by block (see ?nmf_rank), and nmf() takes a mask ",
                 "that is itself a DelayedMatrix of logicals"))
  }
  abort(sprintf(paste0("%s does not read a DelayedMatrix in blocks yet: its held-out patterns are drawn ",
                       "in memory; survey the ranks on an in-memory subset (e.g. as.matrix(x[, samples])), ",
                       "then fit the chosen rank to the whole DelayedMatrix with nmf()"), what))
}
