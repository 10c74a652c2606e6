#' Coefficients of new samples with the basis held fixed
#'
#' Solves for H with W fixed, column by column, under the fit's beta:
#' non-negative least squares by HALS coordinate descent for beta = 2, Poisson
#' regression with identity link and non-negative coefficients by coordinate
#' descent with projected Newton steps for beta = 1 (Hsieh & Dhillon 2011),
#' which reaches exact zeros, and multiplicative updates for any other beta.
#'
#' @param object an `nmf_fit`.
#' @param newdata a non-negative matrix (or data frame, dgCMatrix, ...) whose
#'   rows are the rows of the data the model was fitted on. If both carry row
#'   names, they are matched by name (the same set, in any order); an
#'   unnamed 96-, 78- or 83-row `newdata` meets a fit named by the SBS-96,
#'   DBS-78 or ID-83 channels in the set's canonical order; other mixes of named and unnamed rows are an
#'   error (see Matching rows). Rows whose row of `W` is `NA` (no observed
#'   entry in the fit) are left out of the solve.
#' @inheritSection fit_signatures Matching rows
#' @param maxit,tol iteration limit and relative tolerance of the solve.
#' @param threads OpenMP threads; `NULL` (the default) is [default_threads()].
#' @param ... unused.
#' @return A rank x ncol(newdata) matrix of coefficients (exposures,
#'   activations), in the units of `newdata`.
#' @examples
#' set.seed(3)
#' x <- matrix(rpois(400, 10), 20, 20)
#' fit <- nmf(x[, 1:15], 2, beta = 1, seed = 1)
#' predict(fit, newdata = x[, 16:20])
#' @export
predict.nmf_fit <- function(object, newdata, maxit = 1000, tol = 1e-8, threads = NULL, ...) {
  if (missing(newdata) || is.null(newdata)) {
    abort(paste0("'newdata' is required: predict() solves for the coefficients of new columns with W fixed; ",
                 "use coef() for the fitted ones"))
  }
  w <- object$w
  gone <- rowSums(is.na(w)) > 0
  if (any(gone)) {
    # rows with no observed entry in the fit have no loadings: newdata's rows
    # are matched to all of the fit's rows first, then those are left out
    newdata <- as_nmf_matrix(newdata, arg = "newdata")
    newdata <- conform_rows(newdata, w, "newdata", "object", target_desc = "the data 'object' was fitted on",
                            target_names_code = "rownames(basis(object))")
    newdata <- newdata[!gone, , drop = FALSE]
    w <- w[!gone, , drop = FALSE]
    if (is.null(rownames(w))) rownames(newdata) <- NULL
  }
  solve_coefficients(w, newdata, beta = object$beta,
                     maxit = maxit, tol = tol, threads = threads, arg = "newdata")
}

# H >= 0 minimising D_beta(x | W H) with W fixed; shared by predict() and
# signature refitting.  Returns the rank x n coefficient matrix.
solve_coefficients <- function(w, x, beta, solver = if (beta == 2) "hals" else if (beta == 1) "cd" else "mu",
                               maxit = 1000, tol = 1e-8, threads = NULL, arg = "newdata") {
  maxit <- check_count(maxit, "maxit")
  threads <- check_threads(threads)
  if (!is.numeric(tol) || length(tol) != 1L || is.na(tol) || tol < 0) {
    abort("'tol' must be a single non-negative number")
  }
  x <- as_nmf_matrix(x, arg = arg)
  x <- conform_rows(x, w, arg, "object", target_desc = "the data 'object' was fitted on",
                    target_names_code = "rownames(basis(object))")
  rank <- ncol(w)
  total <- sum(if (inherits(x, "sparseMatrix")) x@x else x)
  if (identical(total, 0)) {
    # nothing to explain: the unique minimiser is H = 0 (for beta > 0)
    return(matrix(0, rank, ncol(x), dimnames = list(colnames(w), colnames(x))))
  }
  d <- prepare_data(x, beta = beta, arg = arg)
  # start from each column's total spread evenly: W's columns sum to one, so
  # the column sums of W H then match those of x
  csum <- if (!is.null(d$blocks)) d$blocks$colsums else if (is.null(d$sp)) colSums(d$dense) else Matrix::colSums(d$xs) / d$xscale
  h0 <- matrix(pmax(csum, 1e-3) / rank, rank, ncol(x), byrow = TRUE)
  wn <- w
  cs <- colSums(wn)
  wn[, cs > 0] <- sweep(wn[, cs > 0, drop = FALSE], 2, cs[cs > 0], "/")
  ctl <- solver_control(list(inner = if (solver == "cd") 1L else 50L, check = if (solver == "mu") 10L else 1L),
                        solver, d$dims, rank, maxit, tol)
  res <- run_solver(d, wn, h0, beta, solver, ctl, FALSE, threads, FALSE)
  h <- res$h * d$scale
  h <- h / ifelse(cs > 0, cs, 1)
  dimnames(h) <- list(colnames(w), colnames(x))
  h
}
