#' Store a fit in a SingleCellExperiment
#'
#' Puts the factors of an [nmf()] fit back into the container its data came
#' from, as Bioconductor pipelines expect: `H` (components x cells) as the
#' reduced dimension `name` (cells x components, `reducedDim(sce, name)`), and
#' `W` (genes x components) as the matrix column `name` of `rowData(sce)`
#' (`rowData(sce)[[name]]`).
#'
#' Rows and columns are aligned by name: a fit on a subset of the genes (for
#' instance the highly variable ones) or of the cells gets `NA` in the rows it
#' did not see. A gene or cell of the fit that `sce` does not have is an
#' error, and so is a side without names whose dimension differs from the
#' fit's.
#'
#' A fit of an assay held on disk (an `HDF5Matrix` or `TENxMatrix`, fitted
#' block by block, see [nmf()]) has ordinary in-memory factors, so this works
#' the same for it; only the factors are stored, never the data.
#'
#' @param sce a `SingleCellExperiment` (a `SummarizedExperiment` can be
#'   turned into one with `as(se, "SingleCellExperiment")`).
#' @param fit an `nmf_fit` from [nmf()] whose data were an assay of `sce`
#'   (or of a subset of it).
#' @param name the name of the reduced dimension and of the `rowData`
#'   column, `"NMF"` by default.
#' @return `sce` with the reduced dimension and the `rowData` column set.
#' @examples
#' \donttest{
#' # (loading SingleCellExperiment takes a few seconds)
#' if (requireNamespace("SingleCellExperiment", quietly = TRUE)) {
#'   set.seed(1)
#'   counts <- matrix(rpois(2000, 5), 40, 50,
#'                    dimnames = list(paste0("gene", 1:40), paste0("cell", 1:50)))
#'   sce <- SingleCellExperiment::SingleCellExperiment(list(counts = counts))
#'   fit <- nmf(sce, rank = 3, beta = 1, assay = "counts", seed = 1)
#'   sce <- store_nmf(sce, fit)
#'   dim(SingleCellExperiment::reducedDim(sce, "NMF"))
#'   dim(SummarizedExperiment::rowData(sce)[["NMF"]])
#' }
#' }
#' @export
store_nmf <- function(sce, fit, name = "NMF") {
  if (!requireNamespace("SingleCellExperiment", quietly = TRUE)) {
    abort("store_nmf() needs the SingleCellExperiment package", "dependency")
  }
  if (!methods::is(sce, "SingleCellExperiment")) {
    if (methods::is(sce, "SummarizedExperiment")) {
      abort(paste0("'sce' is a SummarizedExperiment without reduced dimensions; convert it with ",
                   "as(sce, \"SingleCellExperiment\") first"))
    }
    abort(sprintf("'sce' must be a SingleCellExperiment, not %s", paste(class(sce), collapse = "/")))
  }
  if (!inherits(fit, "nmf_fit")) abort("'fit' must be an nmf_fit from nmf()")
  if (!is.character(name) || length(name) != 1L || is.na(name) || !nzchar(name)) {
    abort("'name' must be a single non-empty string")
  }
  h <- align_to(t(fit$h), colnames(sce), ncol(sce), "columns (cells)", "colnames(sce)")
  w <- align_to(fit$w, rownames(sce), nrow(sce), "rows (genes)", "rownames(sce)")
  SingleCellExperiment::reducedDim(sce, name) <- h
  rd <- SummarizedExperiment::rowData(sce)
  rd[[name]] <- w
  SummarizedExperiment::rowData(sce) <- rd
  sce
}

# The rows of a factor (its rows named by the fit's data) placed at `names`
# (of length `size`): matched by name, NA where the fit has no row; without
# names on either side, only the same size is accepted.
align_to <- function(f, names, size, what, names_code) {
  fn <- rownames(f)
  if (is.null(fn) || is.null(names)) {
    if (nrow(f) != size) {
      side <- if (is.null(fn)) "the fit's" else names_code
      abort(sprintf(paste0("the fit has %d %s and 'sce' %d, and %s are missing, so they cannot be ",
                           "matched by name; name both sides"), nrow(f), what, size, side), "alignment")
    }
    if (!is.null(names)) rownames(f) <- names
    return(f)
  }
  if (anyDuplicated(names)) {
    abort(sprintf("%s repeats names (e.g. %s): rows are matched by name", names_code,
                  names[anyDuplicated(names)]), "alignment")
  }
  idx <- match(fn, names)
  if (anyNA(idx)) {
    abort(sprintf("the fit has %d %s that 'sce' does not (e.g. %s): was it fitted on this object?",
                  sum(is.na(idx)), what, fn[is.na(idx)][1]), "alignment")
  }
  out <- matrix(NA_real_, size, ncol(f), dimnames = list(names, colnames(f)))
  out[idx, ] <- f
  out
}
