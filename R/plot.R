#' Plots of an NMF fit
#'
#' `autoplot()` returns a ggplot2 object (restyle it, or put it in a report);
#' `plot()` draws it.
#'
#' @param object,x an `nmf_fit`.
#' @param type `"trace"` (the loss by iteration), `"basis"` (a heatmap of W),
#'   `"coef"` (a heatmap of H), `"signatures"` (W as SBS-96, DBS-78 or ID-83
#'   profiles, see [plot_profiles()]; needs rows named by the channels of one
#'   set, or 96, 78 or 83 unnamed rows), `"exposures"` (H as stacked bars per
#'   sample, see [plot_exposures()]), `"assemblies"` (W as a neuron-weight
#'   heatmap, neurons grouped by their strongest component) or
#'   `"activations"` (the rows of H over the columns of x, read as time).
#' @param ... passed to [plot_profiles()] for `"signatures"` and to
#'   [plot_exposures()] for `"exposures"` (e.g. `relative = TRUE`).
#' @return `autoplot()`: a ggplot object; `plot()`: the same, invisibly.
#' @examples
#' x <- matrix(rpois(300, 4), 30, 10)
#' fit <- nmf(x, 2, beta = 1, seed = 1)
#' p <- autoplot(fit, type = "basis")
#' class(p)
#' @name plot.nmf_fit
NULL

#' @importFrom ggplot2 autoplot
#' @export
ggplot2::autoplot

#' @rdname plot.nmf_fit
#' @method autoplot nmf_fit
#' @export
autoplot.nmf_fit <- function(object, type = c("trace", "basis", "coef", "signatures", "exposures",
                                             "assemblies", "activations"), ...) {
  type <- check_choice(type)
  switch(type,
    trace = {
      tr <- object$trace
      ggplot2::ggplot(tr, ggplot2::aes(x = .data$iteration, y = .data$loss)) +
        ggplot2::geom_line() + ggplot2::geom_point(size = 0.8) +
        ggplot2::scale_y_log10() +
        ggplot2::labs(x = "iteration", y = sprintf("beta-divergence (beta = %g)", object$beta),
                      title = "Loss by iteration") +
        ggplot2::theme_minimal()
    },
    basis = factor_heatmap(object$w, "row of x", "component", "W (basis)"),
    coef = factor_heatmap(t(object$h), "column of x", "component", "H (coefficients)"),
    signatures = plot_profiles(object$w, ...),
    exposures = plot_exposures(object$h, ...),
    assemblies = assembly_heatmap(object$w),
    activations = activation_lines(object$h)
  )
}

#' @rdname plot.nmf_fit
#' @export
plot.nmf_fit <- function(x, type = c("trace", "basis", "coef", "signatures", "exposures",
                                     "assemblies", "activations"), ...) {
  p <- autoplot(x, type = type, ...)
  print(p)
  invisible(p)
}

# a long-format heatmap of a matrix whose columns are components
factor_heatmap <- function(mat, row_label, col_label, title) {
  rn <- rownames(mat)
  if (is.null(rn)) rn <- as.character(seq_len(nrow(mat)))
  cn <- colnames(mat)
  if (is.null(cn)) cn <- paste0("NMF", seq_len(ncol(mat)))
  df <- data.frame(row = factor(rep(rn, ncol(mat)), levels = rev(unique(rn))),
                   component = factor(rep(cn, each = nrow(mat)), levels = cn),
                   value = as.vector(mat))
  ggplot2::ggplot(df, ggplot2::aes(x = .data$component, y = .data$row, fill = .data$value)) +
    ggplot2::geom_tile() +
    ggplot2::scale_fill_gradient(low = "white", high = "#08306b") +
    ggplot2::labs(x = col_label, y = row_label, fill = "weight", title = title) +
    ggplot2::theme_minimal() +
    ggplot2::theme(axis.text.y = if (nrow(mat) > 40) ggplot2::element_blank() else ggplot2::element_text())
}
