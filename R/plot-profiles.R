# Signature profiles for the three channel sets (SBS-96, DBS-78, ID-83) in
# one layout: bars in the set's canonical order, coloured and faceted by its
# classes, one row of panels per signature.

#' Plot signature profiles (SBS-96, DBS-78, ID-83)
#'
#' Draws each column of a channels x signatures matrix as a profile in the
#' field's layout: bars in the canonical order of [mutation_channels()],
#' coloured by class in COSMIC's palette (6 substitution classes for SBS-96,
#' 10 reference dinucleotides for DBS-78, 16 indel classes for ID-83), one
#' row of panels per signature and one column of panels per class. With many
#' signatures (a refit against all of COSMIC) the rows stay one per
#' signature; give the figure a height to match (about 0.6 inch a row).
#'
#' @param w a non-negative matrix whose rows are the channels of one set
#'   (named in any label style of [mutation_channels()], or unnamed and in
#'   canonical order), e.g. an NMF basis or [read_signatures()] output; a
#'   vector is one profile.
#' @param set `NULL` (the default) to tell the set from the row names (or,
#'   for unnamed rows, from their number: 96, 78 or 83), or `"SBS96"`,
#'   `"DBS78"` or `"ID83"`.
#' @param normalize rescale each column to sum to one (the default), so
#'   heights are proportions of the signature's mutations.
#' @param labels show a short label under each bar (the trinucleotide for
#'   SBS-96, the alternative dinucleotide for DBS-78, the repeat,
#'   homopolymer or microhomology length for ID-83).
#' @return A ggplot object; its data has one row per channel and signature
#'   (`channel`, `class`, `signature`, `value`).
#' @seealso [autoplot.nmf_fit()] with `type = "signatures"`, [plot_sbs96()].
#' @examples
#' p <- plot_profiles(sbs_signatures[, 1:2])
#' id <- read_signatures(system.file("extdata", "toy_signatures_ID83.tsv", package = "betanmf"))
#' q <- plot_profiles(id)
#' @export
plot_profiles <- function(w, set = NULL, normalize = TRUE, labels = FALSE) {
  w <- check_profile_matrix(w, "w")
  set <- rows_channel_set(w, set, "w")
  info <- channel_set(set)
  # unnamed: in canonical order; named: put in canonical order by name
  w <- to_channel_order(w, "w", set)
  if (is.null(colnames(w))) colnames(w) <- paste0("Sig", seq_len(ncol(w)))
  if (isTRUE(normalize)) {
    cs <- colSums(w)
    w <- sweep(w, 2, ifelse(cs > 0, cs, 1), "/")
  }
  m <- length(info$channels)
  k <- ncol(w)
  df <- data.frame(
    channel = factor(rep(info$channels, k), levels = info$channels),
    class = factor(rep(info$class, k), levels = info$class_levels),
    signature = factor(rep(colnames(w), each = m), levels = colnames(w)),
    value = as.vector(w)
  )
  ticks <- stats::setNames(info$tick, info$channels)
  many <- k > 12
  ggplot2::ggplot(df, ggplot2::aes(x = .data$channel, y = .data$value, fill = .data$class)) +
    ggplot2::geom_col(width = 0.75) +
    ggplot2::facet_grid(signature ~ class, scales = "free", space = "free_x") +
    ggplot2::scale_fill_manual(values = info$colours, drop = FALSE) +
    ggplot2::scale_x_discrete(labels = function(b) unname(ticks[b])) +
    ggplot2::scale_y_continuous(n.breaks = if (many) 2 else 4) +
    ggplot2::labs(x = NULL, y = if (isTRUE(normalize)) "proportion of mutations" else "value",
                  fill = "class", title = sprintf("%s profiles", info$title)) +
    ggplot2::theme_bw() +
    ggplot2::theme(
      panel.spacing.x = ggplot2::unit(0.5, "mm"),
      panel.spacing.y = ggplot2::unit(if (many) 0.5 else 2, "mm"),
      panel.grid.major.x = ggplot2::element_blank(),
      panel.grid.minor = ggplot2::element_blank(),
      legend.position = "none",
      strip.text.x = ggplot2::element_text(size = if (set == "ID83") 6 else 8),
      strip.text.y = ggplot2::element_text(angle = 0, size = if (many) 6 else 8, hjust = 0),
      axis.text.y = ggplot2::element_text(size = if (many) 5 else 7),
      axis.text.x = if (isTRUE(labels)) {
        ggplot2::element_text(angle = 90, vjust = 0.5, size = 5, family = "mono")
      } else {
        ggplot2::element_blank()
      },
      axis.ticks.x = ggplot2::element_blank()
    )
}
