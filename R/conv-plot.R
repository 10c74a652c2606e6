#' Plots of a convolutive NMF fit
#'
#' `autoplot()` returns a ggplot2 object (restyle it, or put it in a report);
#' `plot()` draws it.
#'
#' * `type = "motifs"`: one heat map per component of its motif, neurons x
#'   lags (`w[, k, ]`), each coloured relative to its motif's largest weight.
#'   The neurons are in one order for every panel, the order in which the
#'   sequences fire: each neuron is put with the component it loads most
#'   (the largest `sum(w[i, k, ])`), components in their order, and within a
#'   component by the lag of its peak weight (ties by decreasing loading);
#'   neurons with no weight come last.
#' * `type = "activations"`: the rows of `h` over time, one panel per
#'   component.
#' * `type = "data"`: the data (`data`, or the data kept in the fit) beside
#'   the reconstruction `fitted(object)`, neurons in the order of the motif
#'   plot, so each sequence shows as a diagonal band in both.
#'
#' @param object,x an `nmf_conv` fit ([nmf_conv()]).
#' @param type `"motifs"`, `"activations"` or `"data"` (see Details).
#' @param data for `type = "data"`: the data the fit was made on (neurons x
#'   time bins). Its rows are matched to the fit's by name when both are
#'   named; its columns must be the fit's time bins (matched by name when
#'   both are named). `NULL` (the default) takes the data kept in the fit.
#' @param bins the time bins to show for `"activations"` and `"data"`
#'   (numbers or column names); `NULL` shows all. The reconstruction is
#'   computed from all bins and then cut, so a sequence that started before
#'   the first bin shown is drawn whole.
#' @param ... unused.
#' @return `autoplot()`: a ggplot object; `plot()`: the same, invisibly.
#' @examples
#' sim <- simulate_sequences(m = 30, n = 600, n_seq = 2, seq_neurons = 10,
#'                           lags = 8, seed = 1)
#' fit <- nmf_conv(sim$x, rank = 2, lags = 8, seed = 1)
#' p <- autoplot(fit, type = "motifs")
#' class(p)
#' q <- autoplot(fit, type = "data", data = sim$x, bins = 1:300)
#' @name plot.nmf_conv
NULL

#' @rdname plot.nmf_conv
#' @method autoplot nmf_conv
#' @export
autoplot.nmf_conv <- function(object, type = c("motifs", "activations", "data"), data = NULL, bins = NULL, ...) {
  type <- check_choice(type)
  w <- conv_motifs(object)
  switch(type,
    motifs = motif_heatmap(w),
    activations = {
      h <- object$h
      cols <- conv_bins(bins, colnames(h), ncol(h))
      shown <- h[, cols, drop = FALSE]
      # time on the x axis: the bins' numbers unless their names are numbers
      if (is.null(colnames(h)) || anyNA(suppressWarnings(as.numeric(colnames(h))))) colnames(shown) <- cols
      activation_lines(shown) +
        ggplot2::labs(title = "Motif activations over time")
    },
    data = data_beside_model(object, w, data, bins)
  )
}

#' @rdname plot.nmf_conv
#' @export
plot.nmf_conv <- function(x, type = c("motifs", "activations", "data"), data = NULL, bins = NULL, ...) {
  p <- autoplot(x, type = type, data = data, bins = bins, ...)
  print(p)
  invisible(p)
}

# The neurons in the order their sequences fire: grouped by the component
# they load most, each group by the lag of its peak weight there (ties by
# decreasing loading), neurons without weight last. Row numbers.
motif_neuron_order <- function(w) {
  loading <- apply(w, 1:2, sum)
  loading <- matrix(loading, dim(w)[1], dim(w)[2])
  dominant <- max.col(loading, ties.method = "first")
  empty <- rowSums(loading) <= 0
  dominant[empty] <- dim(w)[2] + 1L
  rows <- seq_len(dim(w)[1])
  peak <- vapply(rows, function(i) {
    if (empty[i]) return(0L)
    which.max(w[i, dominant[i], ]) - 1L
  }, integer(1))
  own <- loading[cbind(rows, pmin(dominant, dim(w)[2]))]
  order(dominant, peak, -own)
}

conv_neuron_names <- function(w) {
  rn <- dimnames(w)[[1]]
  if (is.null(rn)) paste0("neuron", seq_len(dim(w)[1])) else rn
}

# one heat map per component, neurons x lags, neurons in firing order
motif_heatmap <- function(w) {
  m <- dim(w)[1]
  k <- dim(w)[2]
  lags <- dim(w)[3]
  neurons <- conv_neuron_names(w)
  idx <- motif_neuron_order(w)
  df <- data.frame(
    neuron = factor(rep(neurons, k * lags), levels = rev(neurons[idx])),
    component = factor(rep(rep(dimnames(w)[[2]], each = m), lags), levels = dimnames(w)[[2]]),
    lag = rep(seq_len(lags) - 1L, each = m * k),
    weight = as.vector(w)
  )
  # each panel on its own scale: a motif concentrated on few neurons would
  # otherwise wash out the others
  peak <- apply(w, 2, max)
  df$relative <- df$weight / rep(rep(ifelse(peak > 0, peak, 1), each = m), lags)
  ggplot2::ggplot(df, ggplot2::aes(x = .data$lag, y = .data$neuron, fill = .data$relative)) +
    ggplot2::geom_raster() +
    ggplot2::facet_wrap(ggplot2::vars(.data$component), nrow = 1) +
    ggplot2::scale_fill_gradient(low = "white", high = "#7f2704", limits = c(0, 1)) +
    ggplot2::labs(x = "lag (time bins)", y = "neuron", fill = "weight\n(of the motif's\nlargest)",
                  title = "Motifs: neuron weights by lag (W)") +
    ggplot2::theme_minimal() +
    ggplot2::theme(axis.text.y = if (m > 40) ggplot2::element_blank() else
      ggplot2::element_text(size = 6))
}

# the column numbers of `bins` (numbers or names) among n columns
conv_bins <- function(bins, names, n) {
  if (is.null(bins)) return(seq_len(n))
  if (is.character(bins)) {
    if (is.null(names)) abort("'bins' are names, but the time bins of the fit have no names: give bin numbers")
    idx <- match(bins, names)
    if (anyNA(idx)) {
      abort(sprintf("'bins' names time bins the fit does not have: %s",
                    paste(utils::head(bins[is.na(idx)], 5), collapse = ", ")))
    }
    return(idx)
  }
  if (!is.numeric(bins) || length(bins) == 0L || anyNA(bins) || any(bins != round(bins)) ||
      any(bins < 1) || any(bins > n)) {
    abort(sprintf("'bins' must be time bin numbers between 1 and %d (or bin names)", n))
  }
  as.integer(bins)
}

# the data and the reconstruction side by side, neurons in firing order
data_beside_model <- function(object, w, data, bins) {
  if (is.null(data)) data <- object$x
  if (is.null(data)) {
    abort(paste0("type = \"data\" needs the data the fit was made on: give it as 'data' ",
                 "(this fit does not keep its data)"))
  }
  h <- object$h
  x <- as.matrix(as_nmf_matrix(data, arg = "data"))
  x <- conform_rows(x, matrix(0, dim(w)[1], 0L, dimnames = list(dimnames(w)[[1]], NULL)), "data", "object",
                    target_desc = "the fit's neurons", target_names_code = "dimnames(object$w)[[1]]")
  if (ncol(x) != ncol(h)) {
    abort(sprintf(paste0("'data' has %d time bins but the fit has %d: plot the data the fit was made on ",
                         "(for new data, find its activations with predict() first)"), ncol(x), ncol(h)),
          "alignment")
  }
  if (!is.null(colnames(x)) && !is.null(colnames(h)) && !identical(colnames(x), colnames(h))) {
    if (!setequal(colnames(x), colnames(h)) || anyDuplicated(colnames(h))) {
      abort(paste0("the time bins (column names) of 'data' are not those of the fit: ",
                   "plot the data the fit was made on"), "alignment")
    }
    x <- x[, colnames(h), drop = FALSE]
  }
  model <- fitted(object)
  cols <- conv_bins(bins, colnames(h), ncol(h))
  neurons <- conv_neuron_names(w)
  idx <- motif_neuron_order(w)
  time <- suppressWarnings(as.numeric(colnames(h)[cols]))
  if (is.null(colnames(h)) || anyNA(time)) time <- cols
  panel <- function(values, label) {
    data.frame(neuron = factor(rep(neurons, length(cols)), levels = rev(neurons[idx])),
               time = rep(time, each = length(neurons)),
               panel = label,
               value = as.vector(values[, cols, drop = FALSE]))
  }
  df <- rbind(panel(x, "data"), panel(model, "reconstruction"))
  df$panel <- factor(df$panel, levels = c("data", "reconstruction"))
  ggplot2::ggplot(df, ggplot2::aes(x = .data$time, y = .data$neuron, fill = .data$value)) +
    ggplot2::geom_raster() +
    ggplot2::facet_wrap(ggplot2::vars(.data$panel), nrow = 1) +
    ggplot2::scale_fill_gradient(low = "white", high = "#08306b") +
    ggplot2::labs(x = "time bin", y = "neuron (sorted by motif)", fill = "spikes",
                  title = "Data and reconstruction, neurons sorted by motif") +
    ggplot2::theme_minimal() +
    ggplot2::theme(axis.text.y = if (length(neurons) > 40) ggplot2::element_blank() else
      ggplot2::element_text(size = 6))
}
