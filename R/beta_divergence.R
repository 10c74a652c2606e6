#' The beta-divergence between two matrices
#'
#' \deqn{D_\beta(x \| y) = \sum_{ij} d_\beta(x_{ij} | y_{ij})}{D_beta(x | y) = sum d_beta(x_ij | y_ij)}
#' with \eqn{d_0(x|y) = x/y - \log(x/y) - 1}{d_0 = x/y - log(x/y) - 1} (Itakura-Saito),
#' \eqn{d_1(x|y) = x \log(x/y) - x + y}{d_1 = x log(x/y) - x + y} (generalized KL, with 0 log 0 = 0),
#' \eqn{d_2(x|y) = (x - y)^2 / 2}{d_2 = (x - y)^2 / 2}, and
#' \eqn{(x^\beta + (\beta - 1) y^\beta - \beta x y^{\beta - 1}) / (\beta (\beta - 1))}{(x^b + (b - 1) y^b - b x y^(b - 1)) / (b (b - 1))}
#' otherwise (Fevotte & Idier 2011). This is the loss [nmf()] reports.
#'
#' @param x,y non-negative matrices (or vectors) of the same dimensions; `x`
#'   may be a `dgCMatrix`.
#' @param beta a single finite number.
#' @param mask `NULL` or a logical matrix of the dimensions of `x`: the `TRUE`
#'   entries are *left out* of the sum, the convention of [nmf()]. To score
#'   held-out entries `m`, pass `mask = !m`.
#' @return A single number.
#' @examples
#' x <- matrix(c(1, 0, 3, 4), 2)
#' y <- matrix(c(1.5, 0.5, 2, 4), 2)
#' beta_divergence(x, y, beta = 1)
#' sum(ifelse(x > 0, x * log(x / y), 0) - x + y)
#' @export
beta_divergence <- function(x, y, beta, mask = NULL) {
  beta <- check_beta(beta)
  if (inherits(x, "Matrix")) x <- as.matrix(x)
  if (inherits(y, "Matrix")) y <- as.matrix(y)
  if (is.data.frame(x)) x <- as.matrix(x)
  if (is.data.frame(y)) y <- as.matrix(y)
  if (!is.numeric(x) || !is.numeric(y)) abort("'x' and 'y' must be numeric")
  if (!identical(dim(x), dim(y)) || length(x) != length(y)) {
    abort("'x' and 'y' must have the same dimensions")
  }
  keep <- NULL
  if (!is.null(mask)) {
    if (inherits(mask, "Matrix")) mask <- as.matrix(mask)
    if (!is.logical(mask) || length(mask) != length(x) || (!is.null(dim(x)) && !identical(dim(mask), dim(x)))) {
      abort("'mask' must be a logical matrix of the dimensions of 'x'")
    }
    if (anyNA(mask)) abort("'mask' contains NA")
    keep <- !mask
  }
  xs <- if (is.null(keep)) x else x[keep]
  ys <- if (is.null(keep)) y else y[keep]
  if (anyNA(xs) || anyNA(ys)) abort("'x' and 'y' must not contain NA (outside the mask)", "data")
  if (any(xs < 0) || any(ys < 0)) abort("'x' and 'y' must be non-negative", "data")
  .Call(C_beta_divergence, as.double(xs), as.double(ys), beta, NULL)
}
