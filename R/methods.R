#' Methods for NMF fits
#'
#' The usual model accessors for an [nmf()] fit.
#'
#' * `basis()` is W (rows of x by components; columns sum to one), `coef()`
#'   is H (components by columns of x).
#' * `fitted()` is `W %*% H`, `residuals()` is `x - W %*% H` (response
#'   residuals; held-out entries included), both dense m x n matrices. A
#'   column (row) of `x` with no observed entry, every entry `NA` or masked
#'   (e.g. dropped frames), is left out of the fit: its column of `H` (row
#'   of `W`) is `NA`, and so are its fitted values and residuals (see
#'   [nmf()]).
#' * `deviance()` is twice the beta-divergence over the observed entries: the
#'   residual sum of squares for beta = 2 (the beta = 2 divergence carries a
#'   factor 1/2), the Poisson deviance for beta = 1, the Gamma (shape 1)
#'   deviance for beta = 0.
#' * `logLik()` is the log-likelihood of the noise model behind beta:
#'   Gaussian with the variance estimated by RSS / N (beta = 2), Poisson
#'   (beta = 1), exponential, i.e. Gamma of shape 1 (beta = 0). Its `df` is
#'   `rank * (m + n) - rank` (each component's scale is not free), plus one
#'   for the Gaussian variance; `nobs` is the number of observed entries, so
#'   `AIC()` and `BIC()` work. Other beta have no likelihood here: an error.
#'   For a minimum-volume fit (`nmf(..., volume > 0)`) it is the likelihood
#'   of the data at the fitted `W` and `H`, the divergence only: the
#'   penalty is a preference among factorizations, not part of the noise
#'   model, so it is left out, and `df` is counted as for ordinary NMF (the
#'   penalty shrinks the effective degrees of freedom by an amount with no
#'   closed form). `AIC()` and `BIC()` of min-volume fits therefore compare
#'   their fit to the data, not their objectives (`$loss + $penalty`).
#'
#' @section With the NMF or RcppML package attached:
#' The NMF package (attached, for instance, by MutationalPatterns) exports
#' functions of the same names: `nmf()`, `basis()`, `consensus()`, `coef()`,
#' `fitted()`, `residuals()`, `deviance()`, `predict()`, `summary()` and
#' `plot()`; RcppML exports `nmf()`. Whichever package is attached last
#' answers the bare name. On a betanmf fit every accessor and summary gives
#' betanmf's answer in either order: betanmf registers its `basis()` and
#' `consensus()` as methods of NMF's generics when NMF loads, and NMF's other
#' generics fall back to betanmf's methods. `nmf()` itself cannot be shared:
#' attached after betanmf, NMF's (or RcppML's) `nmf()` fits their model. So
#' a user of both should type `betanmf::nmf()` to fit, and may type
#' `betanmf::basis()`, `betanmf::consensus()`, ... to be explicit; betanmf's
#' `basis()` and `consensus()` given an NMF object stop with an error that
#' names `NMF::basis()` or `NMF::consensus()`.
#' @param object,x an `nmf_fit`.
#' @param ... unused.
#' @return See the description of each method.
#' @name nmf_fit
#' @examples
#' set.seed(2)
#' x <- matrix(rpois(200, 5), 20, 10)
#' fit <- nmf(x, 2, beta = 1, seed = 1)
#' summary(fit)
#' logLik(fit); BIC(fit)
#' range(residuals(fit))
NULL

#' @rdname nmf_fit
#' @export
basis <- function(object, ...) UseMethod("basis")

#' @rdname nmf_fit
#' @export
basis.nmf_fit <- function(object, ...) object$w

#' @rdname nmf_fit
#' @export
basis.default <- function(object, ...) {
  abort(sprintf("basis() is betanmf's, for fits from betanmf::nmf(); 'object' is a %s%s",
                class(object)[1], foreign_hint(object, "basis")))
}

#' @rdname nmf_fit
#' @export
coef.nmf_fit <- function(object, ...) object$h

#' @rdname nmf_fit
#' @export
fitted.nmf_fit <- function(object, ...) object$w %*% object$h

#' @rdname nmf_fit
#' @export
residuals.nmf_fit <- function(object, ...) {
  if (is.null(object$x)) abort("this fit does not keep its data, so it has no residuals")
  as.matrix(object$x) - fitted(object)
}

#' @rdname nmf_fit
#' @export
deviance.nmf_fit <- function(object, ...) 2 * object$loss

#' @rdname nmf_fit
#' @export
nobs.nmf_fit <- function(object, ...) object$n_obs

# observed data values, without materialising a dense copy of sparse x; for
# sparse x the zeros are left out, which changes none of the sums used here
observed_values <- function(object) {
  x <- object$x
  hold <- object$mask
  if (inherits(x, "sparseMatrix")) {
    if (!is.null(hold)) {
      hm <- Matrix::sparseMatrix(i = hold$i + 1L, j = hold$j + 1L, x = 1, dims = dim(x))
      x <- x - x * hm
    }
    vals <- x@x
    return(vals[!is.na(vals)])
  }
  if (is.null(hold)) return(as.vector(x))
  as.vector(x)[-(hold$i + 1 + hold$j * nrow(x))]
}

#' @rdname nmf_fit
#' @export
logLik.nmf_fit <- function(object, ...) {
  beta <- object$beta
  if (is.null(object$x)) abort("this fit does not keep its data, so it has no likelihood")
  n_obs <- object$n_obs
  # rows and columns without an observed entry have no parameters in the fit
  n_free <- sum(object$dims) - length(object$dropped$rows) - length(object$dropped$cols)
  df <- object$rank * n_free - object$rank
  x <- observed_values(object)
  # each in closed form from the divergence: d_beta is the negative
  # log-likelihood up to terms that involve the data only
  val <- if (beta == 2) {
    rss <- 2 * object$loss
    df <- df + 1
    -n_obs / 2 * (log(2 * pi * rss / n_obs) + 1)
  } else if (beta == 1) {
    pos <- x[x > 0]
    sum(pos * log(pos)) - sum(x) - sum(lgamma(x + 1)) - object$loss
  } else if (beta == 0) {
    -object$loss - sum(log(x)) - n_obs
  } else {
    abort(sprintf(paste0("logLik() is defined for beta = 2 (Gaussian), 1 (Poisson) and 0 (Gamma); ",
                         "this fit has beta = %g"), beta))
  }
  structure(val, df = df, nobs = n_obs, class = "logLik")
}

beta_name <- function(beta) {
  if (beta == 2) "least squares / Gaussian"
  else if (beta == 1) "generalized KL / Poisson"
  else if (beta == 0) "Itakura-Saito / Gamma"
  else "Tweedie-type"
}

#' @rdname nmf_fit
#' @param digits significant digits to print.
#' @export
print.nmf_fit <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat(sprintf("<nmf_fit> %d x %d %s matrix, rank %d, beta = %g (%s)\n",
              x$dims[1], x$dims[2], if (isTRUE(x$sparse)) "sparse" else "dense",
              x$rank, x$beta, beta_name(x$beta)))
  cat(sprintf("solver %s, init %s, seed %d%s\n", x$solver, x$init, x$seed,
              if (!is.null(x$runs)) sprintf(", best of %d runs (run %d)", length(x$runs), x$best) else ""))
  cat(sprintf("loss %s after %d iterations (%s)\n", format(x$loss, digits = digits), x$iterations,
              if (x$converged) "converged" else "not converged: maxit reached"))
  if (!is.null(x$volume)) {
    cat(sprintf("minimum volume %s: penalty lam * logdet(W'W + %g I) = %s (lam = %s)\n",
                format(x$volume, digits = digits), x$delta, format(x$penalty, digits = digits),
                format(x$lam, digits = digits)))
  }
  if (!is.null(x$volume_selection)) {
    cat(sprintf("volume = \"auto\": %s chosen by held-out error and stability ($volume_selection)\n",
                format(x$volume_selection$chosen)))
  }
  if (!is.null(x$mask)) cat(sprintf("%d entries held out of the fit\n", length(x$mask$i)))
  if (!is.null(x$dropped)) {
    cat(sprintf("%d rows and %d columns without an observed entry: NA in W and H\n",
                length(x$dropped$rows), length(x$dropped$cols)))
  }
  share <- rowSums(x$h, na.rm = TRUE) / sum(x$h, na.rm = TRUE)
  cat("share of the fit per component:",
      paste(sprintf("%s %.1f%%", names(share), 100 * share), collapse = ", "), "\n")
  invisible(x)
}

#' @rdname nmf_fit
#' @export
summary.nmf_fit <- function(object, ...) {
  share <- rowSums(object$h, na.rm = TRUE) / sum(object$h, na.rm = TRUE)
  comp <- data.frame(component = rownames(object$h),
                     share = share,
                     w_sparsity = colMeans(object$w < 1e-10 * max(object$w, na.rm = TRUE), na.rm = TRUE),
                     h_sparsity = rowMeans(object$h < 1e-10 * max(object$h, na.rm = TRUE), na.rm = TRUE),
                     row.names = NULL)
  out <- list(dims = object$dims, rank = object$rank, beta = object$beta, solver = object$solver,
              loss = object$loss, deviance = deviance(object), iterations = object$iterations,
              converged = object$converged, n_obs = object$n_obs, components = comp,
              runs = if (!is.null(object$runs)) vapply(object$runs, function(r) r$loss, numeric(1)))
  if (!is.null(object$x) && object$beta == 2) {
    x <- observed_values(object)
    tss <- sum(x^2) - sum(x)^2 / object$n_obs
    out$r_squared <- 1 - 2 * object$loss / tss
  }
  if (object$beta %in% c(0, 1, 2) && !is.null(object$x)) {
    ll <- logLik(object)
    out$logLik <- ll
    out$AIC <- stats::AIC(ll)
    out$BIC <- stats::BIC(ll)
  }
  class(out) <- "summary.nmf_fit"
  out
}

#' @export
print.summary.nmf_fit <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat(sprintf("NMF of a %d x %d matrix, rank %d, beta = %g (%s), solver %s\n",
              x$dims[1], x$dims[2], x$rank, x$beta, beta_name(x$beta), x$solver))
  cat(sprintf("loss %s, deviance %s, %d observed entries, %d iterations, %s\n",
              format(x$loss, digits = digits), format(x$deviance, digits = digits), x$n_obs,
              x$iterations, if (x$converged) "converged" else "NOT converged"))
  if (!is.null(x$r_squared)) cat(sprintf("R-squared %.4f\n", x$r_squared))
  if (!is.null(x$logLik)) {
    cat(sprintf("log-likelihood %s (df %d), AIC %s, BIC %s\n", format(as.numeric(x$logLik), digits = digits),
                attr(x$logLik, "df"), format(x$AIC, digits = digits), format(x$BIC, digits = digits)))
  }
  if (!is.null(x$runs)) {
    cat(sprintf("%d runs: loss min %s, median %s, max %s\n", length(x$runs),
                format(min(x$runs), digits = digits), format(stats::median(x$runs), digits = digits),
                format(max(x$runs), digits = digits)))
  }
  cat("components:\n")
  comp <- x$components
  comp$share <- sprintf("%.1f%%", 100 * comp$share)
  print(comp, row.names = FALSE, digits = digits)
  invisible(x)
}

#' @rdname nmf_fit
#' @param row.names,optional unused (the rows are the entries of the factors).
#' @param what for `as.data.frame()`: `"both"` (the default), `"w"` or `"h"`.
#' @return `as.data.frame()`: the factors in long form, one row per entry,
#'   with columns `factor` (`"w"` or `"h"`), `name` (the row of `x` for W,
#'   the column of `x` for H; their position when `x` had no names),
#'   `index` (that position), `component` and `value`; W first, each factor
#'   component by component. `write.csv(as.data.frame(fit), file)` saves
#'   both factors in one file.
#' @export
as.data.frame.nmf_fit <- function(x, row.names = NULL, optional = FALSE, ..., what = c("both", "w", "h")) {
  what <- check_choice(what)
  long <- function(m, factor) {
    # m: entries by components (W, or t(H))
    names_m <- rownames(m)
    if (is.null(names_m)) names_m <- as.character(seq_len(nrow(m)))
    comp <- colnames(m)
    if (is.null(comp)) comp <- paste0("NMF", seq_len(ncol(m)))
    data.frame(factor = rep(factor, length(m)),
               name = rep(names_m, ncol(m)),
               index = rep(seq_len(nrow(m)), ncol(m)),
               component = rep(comp, each = nrow(m)),
               value = as.vector(m), stringsAsFactors = FALSE)
  }
  parts <- list(w = if (what != "h") long(x$w, "w"), h = if (what != "w") long(t(x$h), "h"))
  out <- do.call(rbind, unname(parts[!vapply(parts, is.null, logical(1))]))
  rownames(out) <- NULL
  out
}
