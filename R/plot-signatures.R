# Plots for mutational-signature and neural-assembly work.  All return
# ggplot objects built from long data frames; nothing is drawn here.

# The six substitution classes in the colours the field uses for SBS-96
# profiles (COSMIC's palette).
sbs96_colours <- c("C>A" = "#1EBFF0", "C>G" = "#050708", "C>T" = "#E62725",
                   "T>A" = "#CBCACB", "T>C" = "#A1CF64", "T>G" = "#EDC8C5")

#' Plot SBS-96 signature profiles
#'
#' [plot_profiles()] for SBS-96 (kept for code written before the DBS-78 and
#' ID-83 sets): each column of a channels x signatures matrix as a
#' 96-channel profile in the field's layout, bars in [sbs96_channels()]
#' order, coloured by the six substitution classes, one row of panels per
#' signature and one column of panels per substitution class.
#'
#' @param w a 96-row non-negative matrix (rows named by SBS channels in any
#'   style of [sbs96_labels()], or unnamed and in COSMIC order), e.g. an NMF
#'   basis or [read_signatures()] output; a vector is one profile.
#' @param normalize rescale each column to sum to one (the default), so
#'   heights are proportions of the signature's mutations.
#' @param labels show the trinucleotide context under each bar.
#' @return A ggplot object (as [plot_profiles()]'s, its data also carrying
#'   the class as `substitution`).
#' @seealso [plot_profiles()], [autoplot.nmf_fit()] with `type = "signatures"`.
#' @examples
#' p <- plot_sbs96(sbs_signatures[, 1:2])
#' class(p)
#' @export
plot_sbs96 <- function(w, normalize = TRUE, labels = FALSE) {
  w <- check_profile_matrix(w, "w")
  if (nrow(w) != 96L) abort(sprintf("'w' must have 96 rows (SBS channels), not %d", nrow(w)))
  p <- plot_profiles(w, set = "SBS96", normalize = normalize, labels = labels)
  p$data$substitution <- p$data$class
  p
}

#' Plot exposures as stacked bars
#'
#' One stacked bar per sample, one colour per signature or component, in
#' absolute units or as proportions.
#'
#' @param h a signatures x samples non-negative matrix (e.g. [coef()] of a fit
#'   or the exposures of [fit_signatures()]).
#' @param relative plot each sample's proportions instead of its counts.
#' @param order how samples are ordered: `"dominant"` (grouped by their
#'   largest signature, then by its share, the default), `"total"`
#'   (decreasing total), or `"none"` (as given).
#' @return A ggplot object.
#' @examples
#' p <- plot_exposures(sbs_exposures, relative = TRUE)
#' class(p)
#' @export
plot_exposures <- function(h, relative = FALSE, order = c("dominant", "total", "none")) {
  order <- check_choice(order)
  if (is.data.frame(h)) h <- as.matrix(h)
  if (!is.matrix(h) || !is.numeric(h) || anyNA(h) || any(!is.finite(h)) || any(h < 0)) {
    abort("'h' must be a finite non-negative numeric matrix (signatures x samples)")
  }
  if (is.null(rownames(h))) rownames(h) <- paste0("Sig", seq_len(nrow(h)))
  if (is.null(colnames(h))) colnames(h) <- paste0("sample", seq_len(ncol(h)))
  totals <- colSums(h)
  share <- sweep(h, 2, ifelse(totals > 0, totals, 1), "/")
  idx <- switch(order,
    dominant = {
      dom <- apply(share, 2, which.max)
      base::order(dom, -share[cbind(dom, seq_len(ncol(h)))])
    },
    total = base::order(totals, decreasing = TRUE),
    none = seq_len(ncol(h))
  )
  vals <- if (isTRUE(relative)) share else h
  df <- data.frame(
    sample = factor(rep(colnames(h), each = nrow(h)), levels = colnames(h)[idx]),
    signature = factor(rep(rownames(h), ncol(h)), levels = rownames(h)),
    value = as.vector(vals)
  )
  ggplot2::ggplot(df, ggplot2::aes(x = .data$sample, y = .data$value, fill = .data$signature)) +
    ggplot2::geom_col(width = 0.9) +
    ggplot2::labs(x = "sample", y = if (isTRUE(relative)) "share of mutations" else "exposure",
                  fill = "signature") +
    ggplot2::theme_minimal() +
    ggplot2::theme(axis.text.x = if (ncol(h) > 40) ggplot2::element_blank() else
      ggplot2::element_text(angle = 90, vjust = 0.5, hjust = 1, size = 7))
}

# neuron-weight heatmap: neurons grouped by their strongest assembly
assembly_heatmap <- function(w) {
  if (is.null(rownames(w))) rownames(w) <- paste0("neuron", seq_len(nrow(w)))
  if (is.null(colnames(w))) colnames(w) <- paste0("NMF", seq_len(ncol(w)))
  wn <- sweep(w, 1, pmax(apply(w, 1, max), .Machine$double.xmin), "/")
  dom <- apply(w, 1, which.max)
  idx <- order(dom, -wn[cbind(seq_len(nrow(w)), dom)])
  df <- data.frame(
    neuron = factor(rep(rownames(w), ncol(w)), levels = rev(rownames(w)[idx])),
    assembly = factor(rep(colnames(w), each = nrow(w)), levels = colnames(w)),
    weight = as.vector(w)
  )
  ggplot2::ggplot(df, ggplot2::aes(x = .data$assembly, y = .data$neuron, fill = .data$weight)) +
    ggplot2::geom_tile() +
    ggplot2::scale_fill_gradient(low = "white", high = "#7f2704") +
    ggplot2::labs(x = "assembly (component)", y = "neuron", fill = "weight",
                  title = "Assemblies: neuron weights (W)") +
    ggplot2::theme_minimal() +
    ggplot2::theme(axis.text.y = if (nrow(w) > 60) ggplot2::element_blank() else
      ggplot2::element_text(size = 6))
}

# H rows over time, one panel per component
activation_lines <- function(h) {
  if (is.null(rownames(h))) rownames(h) <- paste0("NMF", seq_len(nrow(h)))
  cn <- colnames(h)
  time <- suppressWarnings(as.numeric(cn))
  if (is.null(cn) || anyNA(time)) time <- seq_len(ncol(h))
  df <- data.frame(
    time = rep(time, each = nrow(h)),
    component = factor(rep(rownames(h), ncol(h)), levels = rownames(h)),
    activation = as.vector(h)
  )
  ggplot2::ggplot(df, ggplot2::aes(x = .data$time, y = .data$activation)) +
    ggplot2::geom_line(linewidth = 0.3, colour = "#08306b") +
    ggplot2::facet_wrap(ggplot2::vars(.data$component), ncol = 1, scales = "free_y", strip.position = "right") +
    ggplot2::labs(x = "time bin", y = "activation (H)", title = "Activations over time") +
    ggplot2::theme_minimal()
}

#' Plots of a signature refit
#'
#' `type = "exposures"`: each sample's exposures, with bootstrap intervals
#' when the refit has them (points and error bars, one panel per signature),
#' or stacked bars without. `type = "reconstruction"`: one sample's observed
#' catalog (bars) against the model's reconstruction (points), by channel.
#'
#' @param object,x a [fit_signatures()] result.
#' @param type `"exposures"` or `"reconstruction"`.
#' @param sample for `"reconstruction"`, the sample (name or index; the
#'   first by default).
#' @param relative for `"exposures"` without intervals, plot proportions.
#' @param samples for `"exposures"`, the samples to show (names or
#'   indices; all by default).
#' @param ... unused.
#' @return A ggplot object (`plot()` draws it and returns it invisibly).
#' @examples
#' sim <- simulate_nmf(w = sbs_signatures, n = 5, depth = 500, seed = 1)
#' refit <- fit_signatures(sim$x, sbs_signatures, bootstrap = 20, seed = 1)
#' p <- autoplot(refit)
#' p2 <- autoplot(refit, type = "reconstruction", sample = 2)
#' @method autoplot signature_refit
#' @export
autoplot.signature_refit <- function(object, type = c("exposures", "reconstruction"), sample = 1,
                                     relative = FALSE, samples = NULL, ...) {
  type <- check_choice(type)
  if (type == "exposures") {
    all_samples <- colnames(object$exposures)
    keep <- if (is.null(samples)) seq_along(all_samples) else if (is.character(samples)) {
      match(samples, all_samples)
    } else if (is.numeric(samples) && all(samples == round(samples))) {
      ifelse(samples >= 1 & samples <= length(all_samples), samples, NA)
    } else {
      NA
    }
    if (length(keep) == 0L || anyNA(keep)) {
      abort(sprintf("'samples' must name samples of the refit or be indices between 1 and %d",
                    length(all_samples)))
    }
    if (is.null(object$lower)) return(plot_exposures(object$exposures[, keep, drop = FALSE], relative = relative))
    df <- as.data.frame(object)
    df <- df[df$sample %in% all_samples[keep], , drop = FALSE]
    df$sample <- factor(as.character(df$sample), levels = all_samples[keep])
    return(
      ggplot2::ggplot(df, ggplot2::aes(x = .data$sample, y = .data$exposure, colour = .data$signature)) +
        ggplot2::geom_errorbar(ggplot2::aes(ymin = .data$lower, ymax = .data$upper), width = 0.3) +
        ggplot2::geom_point(size = 1.2) +
        ggplot2::facet_wrap(ggplot2::vars(.data$signature), ncol = 1, scales = "free_y") +
        ggplot2::labs(x = "sample", y = "exposure",
                      title = sprintf("Exposures with %g%% bootstrap intervals (%d replicates)",
                                      100 * object$level, object$bootstrap)) +
        ggplot2::theme_minimal() +
        ggplot2::theme(legend.position = "none",
                       axis.text.x = if (length(keep) > 40) ggplot2::element_blank() else
                         ggplot2::element_text(angle = 90, vjust = 0.5, hjust = 1, size = 7))
    )
  }
  samples <- colnames(object$catalog)
  if (length(sample) != 1L || is.na(sample) ||
      (is.numeric(sample) && (sample < 1 || sample > length(samples) || sample != round(sample))) ||
      (is.character(sample) && !(sample %in% samples)) || !(is.numeric(sample) || is.character(sample))) {
    abort(sprintf("'sample' must be one sample name or an index between 1 and %d", length(samples)))
  }
  j <- if (is.character(sample)) match(sample, samples) else as.integer(sample)
  channels <- rownames(object$catalog)
  if (is.null(channels)) channels <- as.character(seq_len(nrow(object$catalog)))
  canon <- as_sbs96_or_null(channels)
  # bars in canonical order whatever the catalog's row order
  levels <- if (is.null(canon)) channels else channels[order(match(canon, sbs96_channels()))]
  df <- data.frame(
    channel = factor(channels, levels = levels),
    observed = object$catalog[, j],
    fitted = object$fitted[, j]
  )
  df$class <- if (is.null(canon)) factor("all") else factor(sbs96_class(canon), levels = sbs_substitutions)
  p <- ggplot2::ggplot(df, ggplot2::aes(x = .data$channel)) +
    ggplot2::geom_col(ggplot2::aes(y = .data$observed, fill = .data$class), width = 0.75) +
    ggplot2::geom_point(ggplot2::aes(y = .data$fitted), size = 0.9, shape = 21, fill = "white") +
    ggplot2::labs(x = NULL, y = "mutations",
                  title = sprintf("%s: observed (bars) and reconstructed (points), cosine %.3f",
                                  samples[j], object$cosine[j])) +
    ggplot2::theme_bw() +
    ggplot2::theme(legend.position = "none", axis.text.x = ggplot2::element_blank(),
                   axis.ticks.x = ggplot2::element_blank(), panel.grid.major.x = ggplot2::element_blank())
  if (!is.null(canon)) {
    p <- p + ggplot2::facet_grid(cols = ggplot2::vars(.data$class), scales = "free_x", space = "free_x") +
      ggplot2::scale_fill_manual(values = sbs96_colours, drop = FALSE) +
      ggplot2::theme(panel.spacing.x = ggplot2::unit(0.5, "mm"))
  }
  p
}

#' @rdname autoplot.signature_refit
#' @export
plot.signature_refit <- function(x, type = c("exposures", "reconstruction"), ...) {
  p <- autoplot(x, type = type, ...)
  print(p)
  invisible(p)
}
