#' betanmf: non-negative matrix factorization under the beta-divergence
#'
#' Solvers in C for X ~ WH under the beta-divergence; see [nmf()].
#'
#' With the NMF package (attached by MutationalPatterns, among others) or
#' RcppML attached after betanmf, the bare name `nmf()` is theirs: type
#' `betanmf::nmf()`. On betanmf's fits, `basis()`, `consensus()`, `coef()`,
#' `summary()`, ... give betanmf's answer whatever the order of attachment
#' (see the section on NMF in [nmf_fit]).
#'
#' The number of OpenMP threads a fit uses by default is
#' [default_threads()]; set `options(betanmf.threads = n)` to choose it.
#'
#' @keywords internal
#' @useDynLib betanmf, .registration = TRUE, .fixes = "C_"
#' @importFrom stats coef fitted residuals deviance nobs logLik predict
#' @importFrom ggplot2 .data
"_PACKAGE"
