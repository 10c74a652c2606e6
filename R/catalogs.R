# Catalogs, signatures and exposures in and out, in the tab-separated layouts
# of SigProfiler (SigProfilerMatrixGenerator's `.SBS96.all`, `.DBS78.all`,
# `.ID83.all`; SigProfilerAssignment's activities) and COSMIC's signature
# tables. Every label is validated against its channel set and rows come back
# in the set's canonical order; numbers are written so that reading them back
# gives the same doubles.

check_file_path <- function(file) {
  if (is.character(file) && (length(file) != 1L || is.na(file) || !file.exists(file))) {
    abort(sprintf("'file' must be the path of an existing file, not %s",
                  if (length(file) == 1L) sQuote(file, FALSE) else "a vector"))
  }
}

check_output_path <- function(file) {
  if (!is.character(file) || length(file) != 1L || is.na(file) || file == "") {
    abort("'file' must be a single file path")
  }
  if (!dir.exists(dirname(file))) {
    abort(sprintf("the directory of 'file' (%s) does not exist", dirname(file)))
  }
}

# The rows and columns of a channels x columns table: list(mat, set), `mat`
# in canonical order and named by the canonical labels. `what` says what the
# columns are ("sample", "signature").
read_channel_table <- function(file, set, what) {
  check_file_path(file)
  if (!is.null(set)) set <- check_channel_set(set)
  tab <- utils::read.delim(file, check.names = FALSE, stringsAsFactors = FALSE,
                           colClasses = "character", comment.char = "", quote = "\"")
  first <- tolower(gsub("[ _]", "", names(tab)[1]))
  if (ncol(tab) < 2L || !(first %in% c("type", "mutationtype"))) {
    abort(sprintf(paste0("'file' must have a first column named 'MutationType' or 'Type' holding the channel ",
                         "labels, then one column per %s (its header is: %s)"),
                  what, paste(utils::head(names(tab), 3), collapse = ", ")))
  }
  has_subtype <- tolower(names(tab)[2]) == "subtype"
  if (has_subtype) {
    if (!is.null(set) && set != "SBS96") {
      abort(sprintf("'file' has SigProfiler's Type and SubType columns, which label SBS-96 channels, not %s",
                    channel_set(set)$title), "alignment")
    }
    set <- "SBS96"
    labels <- sbs96_labels(tab[[1]], subtype = tab[[2]])
  } else {
    if (is.null(set)) {
      set <- likely_channel_set(tab[[1]])
      if (is.null(set)) {
        abort(sprintf(paste0("the labels in the first column of 'file' are not channels of SBS-96, DBS-78 or ",
                             "ID-83 (see ?mutation_channels): %s"),
                      paste(utils::head(unique(tab[[1]]), 5), collapse = ", ")), "alignment")
      }
    }
    labels <- channel_labels(tab[[1]], set)
  }
  value_cols <- if (has_subtype) -(1:2) else -1
  vals <- tab[, value_cols, drop = FALSE]
  if (ncol(vals) == 0L) abort(sprintf("'file' has no %s columns", what))
  cols <- names(tab)[value_cols] # `[.data.frame` would make repeated names unique
  if (anyNA(cols) || any(cols == "") || anyDuplicated(cols)) {
    bad <- cols[is.na(cols) | cols == "" | duplicated(cols)]
    abort(sprintf("the %s columns of 'file' must have distinct, non-empty names (repeated or empty: %s)",
                  what, paste(utils::head(unique(bad), 5), collapse = ", ")), "alignment")
  }
  mat <- vapply(vals, function(col) suppressWarnings(as.numeric(col)), numeric(nrow(tab)))
  mat <- matrix(mat, nrow(tab), dimnames = list(labels, cols))
  bad <- is.na(mat) | !is.finite(mat) | mat < 0
  if (any(bad)) {
    where <- which(bad, arr.ind = TRUE)[1, ]
    abort(sprintf("'file' has %d entries that are not finite non-negative numbers (the first: channel %s, %s %s)",
                  sum(bad), labels[where[1]], what, colnames(mat)[where[2]]), "data")
  }
  list(mat = to_channel_order(mat, "file", set), set = set)
}

#' Read a mutation catalog from a SigProfiler matrix file
#'
#' Reads a tab-separated mutation matrix as SigProfilerMatrixGenerator writes
#' it (`*.SBS96.all`, `*.DBS78.all`, `*.ID83.all`): a first column
#' `MutationType` holding the channel labels, then one column of counts per
#' sample. Labels may be in any style of [mutation_channels()] (for SBS-96
#' also SigProfiler's pair of columns `Type` and `SubType`), and rows in any
#' order: every label is checked, and an unknown, repeated or missing channel
#' is an error (class `betanmf_error_alignment`) that names it.
#'
#' @param file a path (or connection) to a tab-separated file with a header.
#' @param set `NULL` (the default) to tell the channel set from the labels,
#'   or `"SBS96"`, `"DBS78"` or `"ID83"` to require that set.
#' @return A numeric matrix, channels x samples, rows in the canonical order
#'   of [mutation_channels()] and named by its labels, columns named by the
#'   samples of the file.
#' @section Example files:
#' `system.file("extdata", package = "betanmf")` holds small synthetic files
#' of each kind (not real data; made by `data-raw/make-fixtures.R` in the
#' package sources from random signature shapes and Poisson counts):
#' `toy.SBS96.all` (12 samples, rows sorted by label as
#' SigProfilerMatrixGenerator writes them, counts from [sbs_signatures]),
#' `toy.DBS78.all` and `toy.ID83.all` (12 samples each; the ID-83 rows sorted
#' by label, not in COSMIC's order), and the COSMIC-style signature tables
#' `toy_signatures_DBS78.tsv` and `toy_signatures_ID83.tsv` (3 signatures
#' each, from which the DBS-78 and ID-83 catalogs were drawn).
#' @seealso [write_catalog()], [read_signatures()], [fit_signatures()].
#' @examples
#' f <- system.file("extdata", "toy.DBS78.all", package = "betanmf")
#' x <- read_catalog(f)
#' dim(x)
#' head(rownames(x))
#' @export
read_catalog <- function(file, set = NULL) {
  read_channel_table(file, set, "sample")$mat
}

#' Read mutational signatures from a COSMIC or SigProfiler table
#'
#' Reads a tab-separated file whose first column, `Type` (COSMIC's
#' `COSMIC_v3.x_SBS_GRCh37.txt` layout) or `MutationType` (SigProfiler's),
#' holds the channel labels and whose other columns are signatures. All three
#' channel sets are read (SBS-96, DBS-78, ID-83; see [mutation_channels()]
#' for the label styles), and for SBS-96 also SigProfiler's pair of columns
#' `Type` (`"C>A"`) and `SubType` (`"ACA"`); see [sbs96_labels()]. Every
#' label is checked: an unknown, repeated or missing channel is an error that
#' names it.
#'
#' @param file a path (or connection) to a tab-separated file with a header.
#' @param normalize rescale each signature to sum to one (the default; a
#'   catalog-like file of counts becomes a set of profiles).
#' @param set `NULL` (the default) to tell the channel set from the labels,
#'   or `"SBS96"`, `"DBS78"` or `"ID83"` to require that set.
#' @return A channels x signatures numeric matrix, rows in the canonical
#'   order of [mutation_channels()] and named by its labels, columns named as
#'   in the file, each column summing to one when `normalize = TRUE`.
#' @seealso [match_signatures()], [fit_signatures()], [write_signatures()].
#' @examples
#' f <- system.file("extdata", "toy_signatures_cosmic.tsv", package = "betanmf")
#' sigs <- read_signatures(f)
#' dim(sigs); colSums(sigs)
#' f2 <- system.file("extdata", "toy_signatures_sigprofiler.tsv", package = "betanmf")
#' all.equal(read_signatures(f2), sigs)
#' id <- read_signatures(system.file("extdata", "toy_signatures_ID83.tsv", package = "betanmf"))
#' head(id)
#' @export
read_signatures <- function(file, normalize = TRUE, set = NULL) {
  mat <- read_channel_table(file, set, "signature")$mat
  if (isTRUE(normalize)) {
    cs <- colSums(mat)
    if (any(cs <= 0)) {
      abort(sprintf("signature(s) %s in 'file' are all zero", paste(colnames(mat)[cs <= 0], collapse = ", ")), "data")
    }
    mat <- sweep(mat, 2, cs, "/")
  }
  mat
}

# Doubles as text that reads back as the same doubles: 15 significant digits
# where that is exact (short, and what a reader expects to see), else 17,
# which always is (IEEE 754 binary64).
format_exact <- function(x) {
  out <- sprintf("%.15g", x)
  inexact <- as.numeric(out) != x
  out[inexact] <- sprintf("%.17g", x[inexact])
  out
}

# The rows of a set in the order SigProfiler's files list them: SBS-96
# sorted by label (SigProfilerMatrixGenerator's and COSMIC's SBS tables:
# A[C>A]A, A[C>A]C, ..., A[C>G]A, ...), DBS-78 and ID-83 in COSMIC's order.
file_row_order <- function(set) {
  ch <- channel_set(set)$channels
  if (set == "SBS96") sort(ch, method = "radix") else ch
}

check_table_names <- function(names, what) {
  bad <- is.na(names) | names == "" | grepl("[\t\n\r\"]", names) | duplicated(names)
  if (any(bad)) {
    abort(sprintf(paste0("the %s names must be distinct, non-empty and free of tabs, line breaks and ",
                         "double quotes (offending: %s)"),
                  what, paste(utils::head(unique(names[bad]), 5), collapse = ", ")), "alignment")
  }
}

# Rows `labels`, a header `first` then `cols`, the numbers of `mat`
# (length(labels) x length(cols)), tab-separated.
write_table_lines <- function(file, first, labels, cols, mat) {
  body <- matrix(format_exact(as.vector(mat)), nrow(mat))
  lines <- c(paste(c(first, cols), collapse = "\t"),
             do.call(paste, c(list(labels), lapply(seq_len(ncol(body)), function(j) body[, j]), sep = "\t")))
  writeLines(lines, file)
  invisible(file)
}

write_channel_table <- function(mat, file, set, arg, what, default_prefix) {
  check_output_path(file)
  if (is.data.frame(mat)) mat <- as.matrix(mat)
  if (is.numeric(mat) && is.null(dim(mat))) mat <- matrix(mat, ncol = 1L, dimnames = list(names(mat), NULL))
  if (!is.matrix(mat) || !is.numeric(mat) || anyNA(mat) || any(!is.finite(mat)) || any(mat < 0)) {
    abort(sprintf("'%s' must be a finite non-negative numeric matrix, channels x %ss", arg, what), "data")
  }
  set <- rows_channel_set(mat, set, arg, by_size = FALSE)
  mat <- to_channel_order(mat, arg, set)
  if (is.null(colnames(mat))) colnames(mat) <- paste0(default_prefix, seq_len(ncol(mat)))
  check_table_names(colnames(mat), what)
  rows <- file_row_order(set)
  write_table_lines(file, "MutationType", rows, colnames(mat),
                    mat[match(rows, channel_set(set)$channels), , drop = FALSE])
}

#' Write catalogs, signatures and exposures in SigProfiler's layout
#'
#' Tab-separated text that SigProfilerAssignment, SigProfilerExtractor,
#' spreadsheets and [read_catalog()] / [read_signatures()] /
#' [read_exposures()] read back.
#'
#' * `write_catalog()`: a first column `MutationType` with the channel
#'   labels in SigProfiler's style (`"A[C>A]A"`, `"AC>CA"`, `"1:Del:C:0"`),
#'   then one column of counts per sample, as SigProfilerMatrixGenerator
#'   writes it. Rows in SigProfiler's file order: SBS-96 sorted by label (as
#'   in SigProfilerMatrixGenerator's and COSMIC's SBS files), DBS-78 and
#'   ID-83 in COSMIC's order.
#' * `write_signatures()`: the same layout, one column per signature.
#' * `write_exposures()`: a first column `Samples`, one row per sample and
#'   one column per signature (SigProfilerAssignment's activities layout):
#'   the refit's `exposures`, which are mutation counts unless the refit has
#'   an `opportunity` (then they are per unit of opportunity, and its
#'   `contributions` are the counts: `write_exposures(refit$contributions,
#'   file)` writes those).
#'   When the refit has bootstrap intervals, they follow as columns
#'   `<signature>_lower` for every signature and then `<signature>_upper`
#'   for every signature (percentile intervals at the refit's `level`), so
#'   the first columns are still the plain activities table.
#'
#' Labels and names are written without quotes, so they may not contain
#' tabs, line breaks or double quotes (the readers also accept
#' double-quoted fields, as `write.table(sep = "\t")` writes them).
#' Numbers are written with 15 significant digits where that reads back
#' exactly, else 17, so writing and reading back gives identical matrices.
#' Rows are matched to the channel set by name (any label style); a matrix
#' without row names needs `set`, and is then taken to be in the set's
#' canonical order ([mutation_channels()]).
#'
#' @param x for `write_catalog()`: a non-negative matrix, channels x
#'   samples. For `write_exposures()`: a [fit_signatures()] result (its
#'   `exposures`, with `lower` and `upper` when bootstrapped), an [nmf()] fit
#'   (its `h`) or a signatures x samples matrix.
#' @param w a channels x signatures matrix, or an [nmf()] fit (its basis).
#' @param file the path of the file to write.
#' @param set `NULL` (the default: the set named by the row names), or
#'   `"SBS96"`, `"DBS78"` or `"ID83"`.
#' @return `file`, invisibly.
#' @seealso [read_catalog()], [read_signatures()], [read_exposures()].
#' @examples
#' x <- read_catalog(system.file("extdata", "toy.SBS96.all", package = "betanmf"))
#' f <- tempfile(fileext = ".SBS96.all")
#' write_catalog(x, f)
#' identical(read_catalog(f), x)
#' refit <- fit_signatures(x, sbs_signatures, bootstrap = 20, seed = 1)
#' g <- tempfile(fileext = ".txt")
#' write_exposures(refit, g)
#' str(read_exposures(g))
#' @name write_catalog
NULL

#' @rdname write_catalog
#' @export
write_catalog <- function(x, file, set = NULL) {
  write_channel_table(x, file, set, "x", "sample", "sample")
}

#' @rdname write_catalog
#' @export
write_signatures <- function(w, file, set = NULL) {
  if (inherits(w, "nmf_fit")) w <- w$w
  write_channel_table(w, file, set, "w", "signature", "Sig")
}

#' @rdname write_catalog
#' @export
write_exposures <- function(x, file) {
  check_output_path(file)
  lower <- upper <- NULL
  if (inherits(x, "signature_refit")) {
    h <- x$exposures
    lower <- x$lower
    upper <- x$upper
  } else if (inherits(x, "nmf_fit")) {
    h <- x$h
  } else {
    h <- if (is.data.frame(x)) as.matrix(x) else x
  }
  if (!is.matrix(h) || !is.numeric(h) || anyNA(h) || any(!is.finite(h))) {
    abort("'x' must be a signature refit, an nmf() fit or a finite numeric matrix, signatures x samples", "data")
  }
  if (is.null(rownames(h))) rownames(h) <- paste0("Sig", seq_len(nrow(h)))
  if (is.null(colnames(h))) colnames(h) <- paste0("sample", seq_len(ncol(h)))
  check_table_names(rownames(h), "signature")
  check_table_names(colnames(h), "sample")
  cols <- rownames(h)
  values <- t(h)
  if (!is.null(lower)) {
    cols <- c(cols, paste0(rownames(h), "_lower"), paste0(rownames(h), "_upper"))
    check_table_names(cols, "column (signature and interval)")
    values <- cbind(values, t(lower), t(upper))
  }
  write_table_lines(file, "Samples", colnames(h), cols, values)
}

#' Read exposures written by write_exposures()
#'
#' Reads SigProfilerAssignment's activities layout (a first column
#' `Samples`, one row per sample, one column per signature), with the
#' interval columns `<signature>_lower` and `<signature>_upper` that
#' [write_exposures()] adds for a bootstrapped refit.
#'
#' @param file a path (or connection) to a tab-separated file with a header.
#' @return A list with `exposures` (signatures x samples), and `lower` and
#'   `upper` (the same shape, or `NULL` when the file has no intervals).
#' @seealso [write_exposures()].
#' @examples
#' h <- matrix(c(10, 0, 5.5, 2), 2, dimnames = list(c("SBS1", "SBS5"), c("s1", "s2")))
#' f <- tempfile()
#' write_exposures(h, f)
#' identical(read_exposures(f)$exposures, h)
#' @export
read_exposures <- function(file) {
  check_file_path(file)
  tab <- utils::read.delim(file, check.names = FALSE, stringsAsFactors = FALSE,
                           colClasses = "character", comment.char = "", quote = "\"")
  if (ncol(tab) < 2L || tolower(names(tab)[1]) != "samples") {
    abort("'file' must have a first column named 'Samples', then one column per signature")
  }
  samples <- tab[[1]]
  check_table_names(samples, "sample")
  cols <- names(tab)[-1]
  check_table_names(cols, "signature")
  vals <- vapply(tab[-1], function(col) suppressWarnings(as.numeric(col)), numeric(nrow(tab)))
  vals <- matrix(vals, nrow(tab), dimnames = list(samples, cols))
  if (anyNA(vals) || any(!is.finite(vals))) {
    abort("'file' has entries that are not finite numbers", "data")
  }
  is_lower <- grepl("_lower$", cols)
  is_upper <- grepl("_upper$", cols)
  sigs <- cols[!is_lower & !is_upper]
  check_table_names(sigs, "signature")
  has_intervals <- any(is_lower | is_upper)
  if (has_intervals && (!setequal(sub("_lower$", "", cols[is_lower]), sigs) ||
                        !setequal(sub("_upper$", "", cols[is_upper]), sigs))) {
    abort("'file' has interval columns (_lower, _upper) that do not match its signature columns one for one")
  }
  block <- function(names) {
    m <- t(vals[, names, drop = FALSE])
    rownames(m) <- sigs
    m
  }
  list(exposures = block(sigs),
       lower = if (has_intervals) block(paste0(sigs, "_lower")) else NULL,
       upper = if (has_intervals) block(paste0(sigs, "_upper")) else NULL)
}
