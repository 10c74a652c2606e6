#' betanmf: non-negative matrix factorization under the beta-divergence
#'
#' Solvers in C for X ~ WH under the beta-divergence; see [nmf()].
#'
#' @keywords internal
#' @useDynLib betanmf, .registration = TRUE, .fixes = "C_"
#' @importFrom stats coef fitted residuals deviance nobs logLik predict
#' @importFrom ggplot2 .data
"_PACKAGE"
