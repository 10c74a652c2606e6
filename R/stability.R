# Stability of the components over restarts: align every run to consensus
# centroids (Hungarian on cosine), iterate, summarise (after Alexandrov et
# al. 2013).

#' Stability of NMF components over restarts
#'
#' Clusters the components of all the runs of a fit with restarts into
#' `rank` clusters with exactly one member per run, and reports how tightly
#' each cluster holds together.
#'
#' The procedure (after Alexandrov et al. 2013):
#' 1. resolve scale: every run's W columns to unit length;
#' 2. start from the best run's components as centroids;
#' 3. align every run to the centroids: the one-to-one matching of its
#'    components to centroids that maximises the total cosine similarity
#'    ([hungarian()]);
#' 4. recompute each centroid as the mean of its aligned unit columns,
#'    renormalised to unit length; repeat 3-4 until no assignment changes
#'    (or `max_iter` rounds, with a warning).
#'
#' Per component: the mean and the minimum cosine similarity of its members
#' to the centroid, and the average silhouette width of its members with the
#' cosine distance \eqn{1 - \cos}{1 - cos} (Rousseeuw 1987; computed here,
#' as `cluster::silhouette()` would); a silhouette near 1 means every
#' run finds the component and no other component resembles it. With
#' `rank = 1` the silhouette is undefined (`NA`).
#'
#' The consensus W is the centroids rescaled so that each column sums to one
#' (as in [nmf()]). The consensus H is, for each component, the mean over
#' runs of the aligned rows of H, each run's W columns summing to one: a
#' simple average, not a refit (use `predict()` with the consensus W for
#' that).
#'
#' @param fit an [nmf()] fit with `nrun > 1`.
#' @param max_iter the largest number of align-and-average rounds.
#' @return An object of class `nmf_stability`: a list with `components` (a
#'   data frame with columns `component`, `mean_cosine`, `min_cosine`,
#'   `silhouette`), `mean_stability` (the mean of `mean_cosine`), `w` and
#'   `h` (the consensus factors), `assignments` (a runs x rank integer matrix:
#'   which component of each run is aligned to each consensus component),
#'   `cosine` (runs x rank: each member's cosine to its centroid),
#'   `iterations`, `converged` and `nrun`. It has `print()`, `summary()`,
#'   `as.data.frame()`, `autoplot()` and `plot()` methods.
#' @references
#' Alexandrov, L. B., Nik-Zainal, S., Wedge, D. C., Campbell, P. J. and
#' Stratton, M. R. (2013). Deciphering signatures of mutational processes
#' operative in human cancer. Cell Reports 3(1), 246-259.
#'
#' Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the
#' interpretation and validation of cluster analysis. Journal of
#' Computational and Applied Mathematics 20, 53-65.
#' @seealso [consensus()] for the stability of the clustering of samples,
#'   [match_components()] to align two solutions.
#' @examples
#' sim <- simulate_nmf(30, 24, 3, noise = "poisson", depth = 300, seed = 1)
#' fit <- nmf(sim$x, 3, beta = 1, nrun = 5, seed = 1)
#' st <- stability(fit)
#' st
#' st$components
#' summary(st)
#' head(as.data.frame(st, what = "runs"))
#' p <- autoplot(st)
#' @export
stability <- function(fit, max_iter = 100) {
  check_restart_fit(fit, "stability")
  max_iter <- check_count(max_iter, "max_iter")
  runs <- fit$runs
  n_runs <- length(runs)
  rank <- ncol(runs[[1]]$w)
  # rows with no observed entry (NA in W, see nmf()) count as zero in the
  # cosines and stay NA in the consensus W
  gone <- is.na(rowSums(runs[[1]]$w))
  units <- lapply(runs, function(run) unit_columns(replace(run$w, is.na(run$w), 0)))
  best <- if (is.null(fit$best)) 1L else fit$best
  centroids <- units[[best]]
  assignments <- NULL
  converged <- FALSE
  for (iter in seq_len(max_iter)) {
    new_assignments <- t(vapply(units, function(u) {
      hungarian(crossprod(centroids, u), maximize = TRUE)$assignment
    }, integer(rank)))
    if (rank == 1L) new_assignments <- t(new_assignments)
    if (!is.null(assignments) && identical(new_assignments, assignments)) {
      converged <- TRUE
      break
    }
    assignments <- new_assignments
    centroids <- unit_columns(Reduce(`+`, lapply(seq_len(n_runs), function(t) {
      units[[t]][, assignments[t, ], drop = FALSE]
    })) / n_runs)
  }
  if (!converged) {
    warn(sprintf("the alignment of components still changed after max_iter = %d rounds; raise 'max_iter'",
                 max_iter), "convergence")
  }
  iterations <- iter
  component <- colnames(runs[[best]]$w)
  if (is.null(component)) component <- paste0("NMF", seq_len(rank))
  dimnames(assignments) <- list(paste0("run", seq_len(n_runs)), component)

  # members' cosine to their centroid, runs x rank
  cosine <- t(vapply(seq_len(n_runs), function(t) {
    colSums(units[[t]][, assignments[t, ], drop = FALSE] * centroids)
  }, numeric(rank)))
  if (rank == 1L) cosine <- t(cosine)
  dimnames(cosine) <- dimnames(assignments)

  members <- do.call(cbind, lapply(seq_len(n_runs), function(t) units[[t]][, assignments[t, ], drop = FALSE]))
  labels <- rep(seq_len(rank), n_runs)
  silhouette <- cosine_silhouette(members, labels)

  w <- centroids
  sums <- colSums(w)
  w[, sums > 0] <- sweep(w[, sums > 0, drop = FALSE], 2, sums[sums > 0], "/")
  w[gone, ] <- NA
  dimnames(w) <- list(rownames(runs[[best]]$w), component)
  h <- Reduce(`+`, lapply(seq_len(n_runs), function(t) runs[[t]]$h[assignments[t, ], , drop = FALSE])) / n_runs
  dimnames(h) <- list(component, colnames(runs[[best]]$h))

  components <- data.frame(component = component,
                           mean_cosine = colMeans(cosine),
                           min_cosine = apply(cosine, 2, min),
                           silhouette = silhouette,
                           stringsAsFactors = FALSE, row.names = NULL)
  structure(list(components = components,
                 mean_stability = mean(components$mean_cosine),
                 w = w, h = h, assignments = assignments, cosine = cosine,
                 iterations = iterations, converged = converged, nrun = n_runs),
            class = "nmf_stability")
}

#' @rdname stability
#' @param x an `nmf_stability`.
#' @param digits digits to print.
#' @param ... unused.
#' @export
print.nmf_stability <- function(x, digits = 3L, ...) {
  cat(sprintf("<nmf_stability> %d components over %d runs (alignment %s after %d round%s)\n",
              nrow(x$components), x$nrun, if (x$converged) "converged" else "NOT converged",
              x$iterations, if (x$iterations == 1L) "" else "s"))
  cat(sprintf("  mean stability (mean cosine to centroid) %.*f\n", digits, x$mean_stability))
  df <- x$components
  for (col in c("mean_cosine", "min_cosine", "silhouette")) df[[col]] <- round(df[[col]], digits)
  print(df, row.names = FALSE)
  invisible(x)
}

#' @rdname stability
#' @param object an `nmf_stability`.
#' @return `autoplot()`: a ggplot of each run's cosine to its centroid, per
#'   component (points), with the mean (a bar) and the silhouette in the
#'   labels; `plot()` draws it and returns it invisibly.
#' @method autoplot nmf_stability
#' @export
autoplot.nmf_stability <- function(object, ...) {
  comp <- object$components
  labels <- sprintf("%s\nsil. %s", comp$component,
                    ifelse(is.na(comp$silhouette), "NA", sprintf("%.2f", comp$silhouette)))
  cosine <- object$cosine
  members <- data.frame(component = factor(rep(comp$component, each = nrow(cosine)), levels = comp$component),
                        cosine = as.vector(cosine))
  means <- data.frame(component = factor(comp$component, levels = comp$component),
                      cosine = comp$mean_cosine)
  ggplot2::ggplot(members, ggplot2::aes(x = .data$component, y = .data$cosine)) +
    ggplot2::geom_col(data = means, fill = "grey85", width = 0.6) +
    ggplot2::geom_point(alpha = 0.6, colour = "#08306b") +
    ggplot2::scale_x_discrete(labels = labels) +
    ggplot2::coord_cartesian(ylim = c(min(0, min(cosine)), 1)) +
    ggplot2::labs(x = NULL, y = "cosine similarity to the centroid",
                  title = sprintf("Component stability over %d runs", object$nrun),
                  subtitle = sprintf("mean stability %.3f (bars: mean; points: runs)", object$mean_stability)) +
    ggplot2::theme_minimal()
}

#' @rdname stability
#' @export
plot.nmf_stability <- function(x, ...) {
  p <- autoplot(x, ...)
  print(p)
  invisible(p)
}

#' @rdname stability
#' @param row.names,optional unused.
#' @param what for `as.data.frame()`: `"components"` (the default: one row
#'   per component, as `$components`) or `"runs"` (one row per component and
#'   run: `component`, `run`, `run_component` the component of that run
#'   aligned to it, `cosine` its cosine similarity to the centroid).
#' @return `as.data.frame()`: a data frame, ready for `write.csv()`.
#' @export
as.data.frame.nmf_stability <- function(x, row.names = NULL, optional = FALSE, ...,
                                        what = c("components", "runs")) {
  what <- check_choice(what)
  if (what == "components") return(x$components)
  n_runs <- nrow(x$cosine)
  comp <- colnames(x$cosine)
  data.frame(component = rep(comp, each = n_runs),
             run = rep(seq_len(n_runs), length(comp)),
             run_component = as.vector(x$assignments),
             cosine = as.vector(x$cosine), stringsAsFactors = FALSE)
}

#' @rdname stability
#' @return `summary()`: a `summary.nmf_stability` list with `nrun`, `rank`,
#'   `mean_stability`, `converged`, `iterations` and `components`: the
#'   per-component table with, besides `mean_cosine`, `min_cosine` and
#'   `silhouette`, the `median_cosine` and `below_0.9` (how many runs'
#'   member has a cosine below 0.9 to the centroid), ordered from the least
#'   stable component.
#' @export
summary.nmf_stability <- function(object, ...) {
  comp <- object$components
  cosine <- object$cosine
  comp$median_cosine <- apply(cosine, 2, stats::median)
  comp$below_0.9 <- colSums(cosine < 0.9)
  comp <- comp[order(comp$mean_cosine), c("component", "mean_cosine", "median_cosine", "min_cosine",
                                           "below_0.9", "silhouette")]
  rownames(comp) <- NULL
  out <- list(nrun = object$nrun, rank = nrow(object$components), mean_stability = object$mean_stability,
              converged = object$converged, iterations = object$iterations, components = comp)
  class(out) <- "summary.nmf_stability"
  out
}

#' @export
print.summary.nmf_stability <- function(x, digits = 3L, ...) {
  cat(sprintf("Stability of %d components over %d runs (alignment %s after %d round%s)\n",
              x$rank, x$nrun, if (x$converged) "converged" else "NOT converged", x$iterations,
              if (x$iterations == 1L) "" else "s"))
  cat(sprintf("mean stability %.*f; least stable first:\n", digits, x$mean_stability))
  df <- x$components
  for (col in c("mean_cosine", "median_cosine", "min_cosine", "silhouette")) df[[col]] <- round(df[[col]], digits)
  print(df, row.names = FALSE)
  invisible(x)
}

# Average silhouette width per cluster (Rousseeuw 1987) of the columns of
# `points` (unit length) with the cosine distance 1 - cos. Members of a
# singleton cluster get 0, as in cluster::silhouette(); NA with one cluster.
cosine_silhouette <- function(points, labels) {
  k <- max(labels)
  if (k < 2L) return(rep(NA_real_, k))
  dist <- pmax(1 - crossprod(points), 0)
  sizes <- tabulate(labels, k)
  # mean distance of each point to each cluster (own point excluded below)
  sums <- dist %*% outer(labels, seq_len(k), "==")
  own <- cbind(seq_along(labels), labels)
  a <- sums[own] / pmax(sizes[labels] - 1, 1)
  means <- sweep(sums, 2, sizes, "/")
  means[own] <- Inf
  b <- apply(means, 1, min)
  s <- ifelse(sizes[labels] > 1, (b - a) / pmax(a, b), 0)
  s[is.nan(s)] <- 0 # a = b = 0: identical points in different clusters
  vapply(seq_len(k), function(j) mean(s[labels == j]), numeric(1))
}
