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
#' absolute units or as proportions. Against a large reference set (COSMIC's
#' 60-odd signatures) only a readable number of them get a colour of their
#' own; the rest are pooled (see Choosing signatures).
#'
#' @section Choosing signatures:
#' `plot_exposures()` and the exposure plots of a refit
#' ([autoplot.signature_refit()]) choose the signatures they draw in one way:
#' * by default (`signatures = NULL, top = NULL`), the signatures present: a
#'   non-zero value in any of the samples shown; when more than 12 are
#'   present, the 12 with the largest total over those samples;
#' * `top = n`: the `n` signatures with the largest total (of those present);
#' * `signatures = c("SBS1", "SBS5")`, or indices: exactly those, in that
#'   order, even where they are zero. A name that is not a signature is an
#'   error of class `betanmf_error_input` that names it.
#'
#' Give one of `signatures` and `top`, not both. The signatures drawn keep
#' their row order (or that of `signatures`). All the others are pooled into
#' one category, `"other"`, drawn last and in grey: its value in each sample
#' is the sum of theirs (their shares, with `relative = TRUE`), so each bar
#' keeps its height; it is left out when that sum is zero in every sample.
#' The totals that rank signatures are those of `h` here, and of the
#' contributions (expected mutations) for a refit.
#'
#' @param h a signatures x samples non-negative matrix (e.g. [coef()] of a fit
#'   or the exposures of [fit_signatures()]).
#' @param relative plot each sample's proportions instead of its counts.
#' @param order how samples are ordered: `"dominant"` (grouped by their
#'   largest category drawn, then by its share, the default), `"total"`
#'   (decreasing total), or `"none"` (as given).
#' @param signatures `NULL` or the signatures to draw (names or indices of
#'   rows of `h`); see Choosing signatures.
#' @param top `NULL` or how many of the largest signatures to draw; see
#'   Choosing signatures.
#' @return A ggplot object; its data has one row per sample and category
#'   drawn (`sample`, `signature`, `value`).
#' @examples
#' p <- plot_exposures(sbs_exposures, relative = TRUE)
#' class(p)
#' # the two largest signatures, the other three pooled in grey
#' p2 <- plot_exposures(sbs_exposures, top = 2)
#' @export
plot_exposures <- function(h, relative = FALSE, order = c("dominant", "total", "none"),
                           signatures = NULL, top = NULL) {
  order <- check_choice(order)
  if (!is.logical(relative) || length(relative) != 1L || is.na(relative)) {
    abort("'relative' must be TRUE or FALSE")
  }
  if (is.data.frame(h)) h <- as.matrix(h)
  if (!is.matrix(h) || !is.numeric(h) || anyNA(h) || any(!is.finite(h)) || any(h < 0)) {
    abort("'h' must be a finite non-negative numeric matrix (signatures x samples)")
  }
  if (is.null(rownames(h))) rownames(h) <- paste0("Sig", seq_len(nrow(h)))
  if (is.null(colnames(h))) colnames(h) <- paste0("sample", seq_len(ncol(h)))
  exposure_bars(h, h, relative, order, signatures, top, "'h'")
}

# The most signatures an exposure plot gives a colour by default; beyond a
# dozen, hues can no longer be told apart.
readable_signatures <- 12L

# Which rows of a signatures x samples matrix an exposure plot draws (see
# "Choosing signatures" in ?plot_exposures). `totals_of` ranks them; `where`
# names the object in messages. Returns the rows drawn, in display order,
# the rows pooled, whether an "other" category is drawn (the pooled rows are
# not all zero) and its label.
choose_signatures <- function(totals_of, signatures, top, where) {
  k <- nrow(totals_of)
  totals <- rowSums(totals_of)
  if (!is.null(signatures) && !is.null(top)) {
    abort("give 'signatures' (which signatures to draw) or 'top' (how many of the largest), not both")
  }
  if (!is.null(signatures)) {
    keep <- resolve_signatures(signatures, rownames(totals_of), where)
  } else {
    n <- if (is.null(top)) readable_signatures else check_count(top, "top")
    present <- which(totals > 0)
    if (length(present) == 0L) present <- seq_len(k)
    # order() is stable: ties go to the earlier row
    keep <- sort(present[order(-totals[present])][seq_len(min(n, length(present)))])
  }
  pooled <- setdiff(seq_len(k), keep)
  other <- length(pooled) > 0L && any(totals_of[pooled, ] > 0)
  names <- rownames(totals_of)
  # a signature may itself be called "other": never merge the two
  label <- utils::tail(make.unique(c(names, "other")), 1L)
  list(keep = keep, pooled = pooled, other = other, label = label, levels = c(names[keep], if (other) label),
       pooled_present = sum(rowSums(totals_of[pooled, , drop = FALSE] > 0) > 0))
}

# `signatures` (names or indices) as row indices of a matrix with rows `names`
resolve_signatures <- function(signatures, names, where) {
  if (is.factor(signatures)) signatures <- as.character(signatures)
  if (is.character(signatures) && length(signatures) > 0L && !anyNA(signatures)) {
    unknown <- unique(signatures[!signatures %in% names])
    if (length(unknown) > 0L) {
      abort(sprintf("'signatures' names %s not in %s: %s (%s has %s)",
                    if (length(unknown) == 1L) "a signature" else sprintf("%d signatures", length(unknown)),
                    where, list_names(unknown), where, list_names(names)), unknown = unknown)
    }
    idx <- match(signatures, names)
  } else if (is.numeric(signatures) && length(signatures) > 0L && !anyNA(signatures) &&
             all(is.finite(signatures)) && all(signatures == round(signatures))) {
    bad <- signatures[signatures < 1 | signatures > length(names)]
    if (length(bad) > 0L) {
      abort(sprintf("'signatures' indices must be between 1 and %d (the signatures of %s), not %s",
                    length(names), where, list_names(bad)))
    }
    idx <- as.integer(signatures)
  } else {
    abort("'signatures' must be signature names or indices, or NULL for the signatures present")
  }
  if (anyDuplicated(idx)) {
    abort(sprintf("'signatures' lists %s more than once", list_names(unique(names[idx[duplicated(idx)]]))))
  }
  idx
}

# up to 8 names for a message, then how many there are in all
list_names <- function(x) {
  if (length(x) <= 8L) return(paste(x, collapse = ", "))
  sprintf("%s, ... (%d in all)", paste(x[1:6], collapse = ", "), length(x))
}

# The rows `choice$keep` of x (a matrix or a rows x samples x B array), and
# with choice$other a last row, the sum of the rows `choice$pooled`.
pool_rows <- function(x, choice) {
  d <- dim(x)
  flat <- matrix(x, d[1])
  out <- flat[choice$keep, , drop = FALSE]
  if (choice$other) out <- rbind(out, colSums(flat[choice$pooled, , drop = FALSE]))
  dim(out) <- c(nrow(out), d[-1])
  out
}

# ggplot's default hues for the signatures drawn, grey for "other"
signature_palette <- function(choice) {
  cols <- ggplot2::scale_colour_hue()$palette(length(choice$keep))
  if (choice$other) cols <- c(cols, "grey65")
  stats::setNames(cols, choice$levels)
}

# a subtitle saying what was pooled, or NULL
pooled_subtitle <- function(choice) {
  if (!choice$other) return(NULL)
  sprintf("%d more signature%s present, pooled as \"%s\" (grey)", choice$pooled_present,
          if (choice$pooled_present == 1L) "" else "s", choice$label)
}

# Stacked bars of `values` (signatures x samples); `weights` (the same shape)
# rank the signatures and give the shares with `relative = TRUE` (for a
# refit: the contributions in mutations).
exposure_bars <- function(values, weights, relative, order, signatures, top, where) {
  choice <- choose_signatures(weights, signatures, top, where)
  shown <- pool_rows(if (relative) weights else values, choice)
  if (relative) {
    totals <- colSums(weights)
    shown <- sweep(shown, 2, ifelse(totals > 0, totals, 1), "/")
  }
  totals <- colSums(shown)
  share <- sweep(shown, 2, ifelse(totals > 0, totals, 1), "/")
  idx <- switch(order,
    dominant = {
      dom <- apply(share, 2, which.max)
      base::order(dom, -share[cbind(dom, seq_len(ncol(shown)))])
    },
    total = base::order(totals, decreasing = TRUE),
    none = seq_len(ncol(shown))
  )
  df <- data.frame(
    sample = factor(rep(colnames(values), each = nrow(shown)), levels = colnames(values)[idx]),
    signature = factor(rep(choice$levels, ncol(shown)), levels = choice$levels),
    value = as.vector(shown)
  )
  ggplot2::ggplot(df, ggplot2::aes(x = .data$sample, y = .data$value, fill = .data$signature)) +
    ggplot2::geom_col(width = 0.9) +
    ggplot2::scale_fill_manual(values = signature_palette(choice)) +
    ggplot2::labs(x = "sample", y = if (isTRUE(relative)) "share of mutations" else "exposure",
                  fill = "signature", subtitle = pooled_subtitle(choice)) +
    ggplot2::theme_minimal() +
    ggplot2::theme(axis.text.x = if (ncol(values) > 40) ggplot2::element_blank() else
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
#' * `type = "exposures"` (the default): `"intervals"` when the refit has
#'   bootstrap replicates, `"stacked"` without.
#' * `type = "intervals"`: each sample's exposure (a point) and its
#'   bootstrap interval (a bar), one panel per signature; needs a refit with
#'   `bootstrap > 0`.
#' * `type = "stacked"`: stacked bars per sample, as [plot_exposures()].
#' * `type = "reconstruction"`: one sample's observed catalog (bars) against
#'   the model's reconstruction (points), channel by channel, with the cosine
#'   similarity of the two in the title. SBS-96, DBS-78 and ID-83 channels
#'   are drawn in COSMIC's order, in their classes and colours (see
#'   [plot_profiles()]); any other channels in the catalog's row order, in
#'   grey.
#'
#' Against a large reference set (COSMIC's 60-odd signatures) the exposure
#' plots draw the signatures present, at most 12 of them by default, and pool
#' the rest into a grey `"other"`; `signatures =` and `top =` choose others,
#' in the same way as for [plot_exposures()] (see its section Choosing
#' signatures; the totals that rank them are the contributions in mutations,
#' over the samples shown). In the intervals plot, the interval of `"other"`
#' is that of the pooled sum, replicate by replicate.
#'
#' With `relative = TRUE` every plot is in shares of each sample's mutations:
#' the contributions over the sample's total, and for the intervals the
#' percentile intervals of each bootstrap replicate's own shares (its
#' contributions over its own total), not the absolute intervals over the
#' point total; for the reconstruction, the observed and reconstructed counts
#' over the observed total.
#'
#' @param object,x a [fit_signatures()] result.
#' @param type `"exposures"`, `"intervals"`, `"stacked"` or
#'   `"reconstruction"` (see Details).
#' @param sample for `"reconstruction"`, the sample (name or index; the
#'   first by default).
#' @param relative plot shares of each sample's mutations (see Details).
#' @param samples for the exposure plots, the samples to show (names or
#'   indices; all by default).
#' @param signatures,top for the exposure plots, which signatures to draw:
#'   `signatures` names them (or gives their indices), `top` asks for the
#'   largest `top`; the rest are pooled as `"other"`. See Details.
#' @param ... unused.
#' @return A ggplot object (`plot()` draws it and returns it invisibly). The
#'   data of the exposure plots has one row per sample and signature drawn
#'   (`sample`, `signature`, `value`, and for `"intervals"` `lower` and
#'   `upper`); that of the reconstruction one row per channel (`channel`,
#'   `observed`, `fitted`).
#' @examples
#' sim <- simulate_nmf(w = sbs_signatures, n = 5, depth = 500, seed = 1)
#' refit <- fit_signatures(sim$x, sbs_signatures, bootstrap = 20, seed = 1)
#' p <- autoplot(refit)
#' p_share <- autoplot(refit, relative = TRUE, top = 2)
#' p_bars <- autoplot(refit, type = "stacked", signatures = c("SynA", "SynC"))
#' p2 <- autoplot(refit, type = "reconstruction", sample = 2)
#' @method autoplot signature_refit
#' @export
autoplot.signature_refit <- function(object, type = c("exposures", "intervals", "stacked", "reconstruction"),
                                     sample = 1, relative = FALSE, samples = NULL, signatures = NULL,
                                     top = NULL, ...) {
  type <- check_choice(type)
  if (!is.logical(relative) || length(relative) != 1L || is.na(relative)) {
    abort("'relative' must be TRUE or FALSE")
  }
  if (type == "reconstruction") return(reconstruction_plot(object, sample, relative))
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
  if (type == "exposures") type <- if (is.null(object$replicates)) "stacked" else "intervals"
  if (type == "stacked") {
    return(exposure_bars(object$exposures[, keep, drop = FALSE], object$contributions[, keep, drop = FALSE],
                         relative, "dominant", signatures, top, "the refit"))
  }
  interval_panels(object, keep, relative, signatures, top)
}

# Points and bootstrap intervals, one panel per signature drawn (see
# autoplot.signature_refit()); `keep` indexes the samples shown.
interval_panels <- function(object, keep, relative, signatures, top) {
  if (is.null(object$replicates)) {
    abort(paste0("type = \"intervals\" needs a refit with bootstrap replicates: refit with ",
                 "fit_signatures(..., bootstrap = 200), or use type = \"stacked\""))
  }
  contributions <- object$contributions[, keep, drop = FALSE]
  choice <- choose_signatures(contributions, signatures, top, "the refit")
  if (relative) {
    totals <- colSums(contributions)
    value <- sweep(pool_rows(contributions, choice), 2, ifelse(totals > 0, totals, 1), "/")
    # shares within each replicate, pooled by summing shares of one replicate
    reps <- pool_rows(replicate_shares(object)[, keep, , drop = FALSE], choice)
  } else {
    value <- pool_rows(object$exposures[, keep, drop = FALSE], choice)
    reps <- pool_rows(object$replicates[, keep, , drop = FALSE], choice)
  }
  iv <- replicate_intervals(reps, object$level)
  shown <- colnames(object$exposures)[keep]
  df <- data.frame(
    sample = factor(rep(shown, each = nrow(value)), levels = shown),
    signature = factor(rep(choice$levels, length(shown)), levels = choice$levels),
    value = as.vector(value),
    lower = as.vector(iv$lower),
    upper = as.vector(iv$upper)
  )
  ggplot2::ggplot(df, ggplot2::aes(x = .data$sample, y = .data$value, colour = .data$signature)) +
    ggplot2::geom_errorbar(ggplot2::aes(ymin = .data$lower, ymax = .data$upper), width = 0.3) +
    ggplot2::geom_point(size = 1.2) +
    ggplot2::facet_wrap(ggplot2::vars(.data$signature), ncol = 1, scales = "free_y") +
    ggplot2::scale_colour_manual(values = signature_palette(choice)) +
    ggplot2::labs(x = "sample", y = if (relative) "share of mutations" else "exposure",
                  title = sprintf("%s with %g%% bootstrap intervals (%d replicates)",
                                  if (relative) "Shares of mutations" else "Exposures",
                                  100 * object$level, object$bootstrap),
                  subtitle = pooled_subtitle(choice)) +
    ggplot2::theme_minimal() +
    ggplot2::theme(legend.position = "none",
                   axis.text.x = if (length(keep) > 40) ggplot2::element_blank() else
                     ggplot2::element_text(angle = 90, vjust = 0.5, hjust = 1, size = 7))
}

# One sample's observed catalog (bars) and reconstruction (points), the
# cosine between the two (column_cosine() of the refit) in the title.
reconstruction_plot <- function(object, sample, relative) {
  samples <- colnames(object$catalog)
  if (is.factor(sample)) sample <- as.character(sample)
  if (length(sample) != 1L || is.na(sample) || !(is.numeric(sample) || is.character(sample)) ||
      (is.numeric(sample) && (sample < 1 || sample > length(samples) || sample != round(sample))) ||
      (is.character(sample) && !(sample %in% samples))) {
    abort(sprintf("'sample' must be one sample name or an index between 1 and %d", length(samples)))
  }
  j <- if (is.character(sample)) match(sample, samples) else as.integer(sample)
  channels <- rownames(object$catalog)
  if (is.null(channels)) channels <- as.character(seq_len(nrow(object$catalog)))
  # channels of a known set (SBS-96, DBS-78, ID-83) in its canonical order,
  # whatever the catalog's row order, coloured by its classes
  known <- channels_or_null(channels)
  cs <- if (is.null(known)) NULL else channel_set(known$set)
  pos <- if (is.null(cs)) NULL else match(known$labels, cs$channels)
  levels <- if (is.null(cs)) channels else channels[order(pos)]
  observed <- object$catalog[, j]
  fitted <- object$fitted[, j]
  total <- sum(observed)
  if (relative && total > 0) {
    observed <- observed / total
    fitted <- fitted / total
  }
  df <- data.frame(
    channel = factor(channels, levels = levels),
    observed = unname(observed),
    fitted = unname(fitted)
  )
  title <- sprintf("%s: observed (bars) and reconstructed (points), cosine %.3f", samples[j], object$cosine[j])
  y_label <- if (relative) "share of the sample's mutations" else "mutations"
  theme <- ggplot2::theme(legend.position = "none", axis.text.x = ggplot2::element_blank(),
                          axis.ticks.x = ggplot2::element_blank(),
                          panel.grid.major.x = ggplot2::element_blank())
  points <- ggplot2::geom_point(ggplot2::aes(y = .data$fitted), size = 0.9, shape = 21, fill = "white")
  if (is.null(cs)) {
    # channels of no known set: one neutral fill
    return(ggplot2::ggplot(df, ggplot2::aes(x = .data$channel)) +
             ggplot2::geom_col(ggplot2::aes(y = .data$observed), fill = "grey55", width = 0.75) +
             points + ggplot2::labs(x = NULL, y = y_label, title = title) +
             ggplot2::theme_bw() + theme)
  }
  df$class <- factor(cs$class[pos], levels = cs$class_levels)
  ggplot2::ggplot(df, ggplot2::aes(x = .data$channel)) +
    ggplot2::geom_col(ggplot2::aes(y = .data$observed, fill = .data$class), width = 0.75) +
    points +
    ggplot2::facet_grid(cols = ggplot2::vars(.data$class), scales = "free_x", space = "free_x") +
    ggplot2::scale_fill_manual(values = cs$colours, drop = FALSE) +
    ggplot2::labs(x = NULL, y = y_label, title = title) +
    ggplot2::theme_bw() + theme +
    ggplot2::theme(panel.spacing.x = ggplot2::unit(0.5, "mm"))
}

#' @rdname autoplot.signature_refit
#' @export
plot.signature_refit <- function(x, type = c("exposures", "intervals", "stacked", "reconstruction"), ...) {
  p <- autoplot(x, type = type, ...)
  print(p)
  invisible(p)
}
