# Consensus clustering of samples over restarts (Brunet et al. 2004), with
# the cophenetic correlation and the dispersion (Kim & Park 2007).

#' Consensus matrix of an NMF fit with restarts
#'
#' Each run of a fit with restarts clusters the samples (the columns of `x`):
#' sample `j` goes to the component with the largest coefficient,
#' \eqn{\arg\max_k H[k, j]}. Two samples are connected in a run when they land
#' in the same component; the consensus matrix \eqn{\bar C}{C} holds, for every
#' pair of samples, the fraction of runs that connect them (Brunet et al.
#' 2004). The runs' connectivity matrices are accumulated one at a time, so
#' memory is one `n x n` matrix whatever the number of runs. Columns of `x`
#' with no observed entry (`NA` in H, see [nmf()]) belong to no cluster and
#' are left out of the consensus matrix.
#'
#' Two summaries measure how reproducible the clustering is; both are 1 for a
#' perfectly stable one (every entry 0 or 1) and smaller otherwise:
#' * the cophenetic correlation (Brunet et al. 2004): the Pearson correlation
#'   between the distances \eqn{1 - \bar C}{1 - C} and the cophenetic
#'   distances of their average-linkage hierarchical clustering
#'   ([stats::hclust()], [stats::cophenetic()]). When all distances are equal
#'   the correlation is undefined; it is reported as 1, since the tree then
#'   reproduces the distances exactly;
#' * the dispersion (Kim & Park 2007): \eqn{\frac{1}{n^2} \sum_{ij} 4 (\bar
#'   C_{ij} - 1/2)^2}{mean of 4 (C - 1/2)^2} over all entries.
#'
#' The same tree gives the sample order used by the heatmap and a class per
#' sample ([stats::cutree()] into `rank` groups). Samples whose coefficients
#' are all zero in a run go to the first component of that run.
#'
#' @param fit an [nmf()] fit with `nrun > 1`.
#' @param max_samples the largest number of samples (columns of `x`) for
#'   which the `n x n` consensus matrix is built; a guard against running out
#'   of memory (5000 samples take 200 MB).
#' @return An object of class `nmf_consensus`: a list with `consensus` (the
#'   `n x n` consensus matrix, named by the samples), `cophenetic`,
#'   `dispersion`, `order` (the sample order of the average-linkage tree),
#'   `classes` (an integer class per sample, from that tree), `hclust` (the
#'   tree), `nrun` and `rank`. It has `print()`, `summary()`,
#'   `as.data.frame()`, `autoplot()` and `plot()` methods.
#' @references
#' Brunet, J.-P., Tamayo, P., Golub, T. R. and Mesirov, J. P. (2004).
#' Metagenes and molecular pattern discovery using matrix factorization.
#' PNAS 101(12), 4164-4169.
#'
#' Kim, H. and Park, H. (2007). Sparse non-negative matrix factorizations via
#' alternating non-negativity-constrained least squares for microarray data
#' analysis. Bioinformatics 23(12), 1495-1502.
#' @seealso [stability()] for the stability of the components themselves,
#'   [nmf_rank()] which reports both across ranks.
#' @examples
#' sim <- simulate_nmf(30, 24, 3, noise = "poisson", depth = 300, seed = 1)
#' fit <- nmf(sim$x, 3, beta = 1, nrun = 5, seed = 1)
#' cons <- consensus(fit)
#' cons
#' table(cons$classes)
#' summary(cons)
#' head(as.data.frame(cons))
#' p <- autoplot(cons)
#' @export
consensus <- function(fit, max_samples = 5000) {
  check_restart_fit(fit, "consensus")
  max_samples <- check_count(max_samples, "max_samples")
  runs <- fit$runs
  # columns with no observed entry (NA in H, see nmf()) belong to no cluster
  known <- !is.na(colSums(runs[[1]]$h))
  runs <- lapply(runs, function(run) list(h = run$h[, known, drop = FALSE]))
  n <- ncol(runs[[1]]$h)
  if (n > max_samples) {
    abort(sprintf(paste0("the consensus matrix would be %d x %d (%s MB), more samples than ",
                         "max_samples = %d; raise 'max_samples' if you have the memory"),
                  n, n, format(round(8 * n^2 / 2^20)), max_samples))
  }
  samples <- colnames(runs[[1]]$h)
  if (is.null(samples)) samples <- as.character(seq_len(n))
  counts <- matrix(0, n, n, dimnames = list(samples, samples))
  for (run in runs) {
    cluster <- max.col(t(run$h), ties.method = "first")
    for (k in unique(cluster)) {
      members <- which(cluster == k)
      counts[members, members] <- counts[members, members] + 1
    }
  }
  cbar <- counts / length(runs)
  distances <- stats::as.dist(1 - cbar)
  tree <- stats::hclust(distances, method = "average")
  structure(list(consensus = cbar,
                 cophenetic = cophenetic_correlation(distances, tree),
                 dispersion = mean(4 * (cbar - 0.5)^2),
                 order = tree$order,
                 classes = stats::cutree(tree, k = min(fit$rank, n)),
                 hclust = tree,
                 nrun = length(runs),
                 rank = fit$rank),
            class = "nmf_consensus")
}

#' @rdname consensus
#' @param x an `nmf_consensus`.
#' @param digits digits to print.
#' @param ... unused.
#' @export
print.nmf_consensus <- function(x, digits = 3L, ...) {
  n <- nrow(x$consensus)
  cat(sprintf("<nmf_consensus> %d samples, rank %d, %d runs\n", n, x$rank, x$nrun))
  cat(sprintf("  cophenetic correlation %.*f, dispersion %.*f\n", digits, x$cophenetic,
              digits, x$dispersion))
  sizes <- table(x$classes)
  cat(sprintf("  classes (average linkage, %d groups): %s\n", length(sizes),
              paste(sprintf("%s: %d", names(sizes), as.integer(sizes)), collapse = ", ")))
  invisible(x)
}

#' @rdname consensus
#' @param object an `nmf_consensus`.
#' @return `autoplot()`: a ggplot heatmap of the consensus matrix with the
#'   samples in the order of the tree; `plot()` draws it and returns it
#'   invisibly.
#' @method autoplot nmf_consensus
#' @export
autoplot.nmf_consensus <- function(object, ...) {
  cbar <- object$consensus
  samples <- rownames(cbar)
  ordered <- samples[object$order]
  n <- length(samples)
  df <- data.frame(sample_i = factor(rep(samples, n), levels = ordered),
                   sample_j = factor(rep(samples, each = n), levels = rev(ordered)),
                   value = as.vector(cbar))
  many <- n > 40
  ggplot2::ggplot(df, ggplot2::aes(x = .data$sample_i, y = .data$sample_j, fill = .data$value)) +
    ggplot2::geom_raster() +
    ggplot2::scale_fill_gradient(low = "white", high = "#08306b", limits = c(0, 1)) +
    ggplot2::coord_equal() +
    ggplot2::labs(x = NULL, y = NULL, fill = "consensus",
                  title = sprintf("Consensus over %d runs (rank %d)", object$nrun, object$rank),
                  subtitle = sprintf("cophenetic %.3f, dispersion %.3f", object$cophenetic,
                                     object$dispersion)) +
    ggplot2::theme_minimal() +
    ggplot2::theme(panel.grid = ggplot2::element_blank(),
                   axis.text.x = if (many) ggplot2::element_blank()
                                 else ggplot2::element_text(angle = 90, hjust = 1, vjust = 0.5),
                   axis.text.y = if (many) ggplot2::element_blank() else ggplot2::element_text())
}

#' @rdname consensus
#' @export
plot.nmf_consensus <- function(x, ...) {
  p <- autoplot(x, ...)
  print(p)
  invisible(p)
}

#' @rdname consensus
#' @param row.names,optional unused.
#' @param what for `as.data.frame()`: `"pairs"` (the default: one row per
#'   pair of samples, `sample_i`, `sample_j`, `consensus`, the `n^2` entries
#'   of the matrix) or `"samples"` (one row per sample: `sample`, `class`,
#'   `position` in the tree's order).
#' @return `as.data.frame()`: a data frame, ready for `write.csv()`.
#' @export
as.data.frame.nmf_consensus <- function(x, row.names = NULL, optional = FALSE, ...,
                                        what = c("pairs", "samples")) {
  what <- check_choice(what)
  samples <- rownames(x$consensus)
  n <- length(samples)
  if (what == "samples") {
    position <- integer(n)
    position[x$order] <- seq_len(n)
    return(data.frame(sample = samples, class = as.integer(x$classes), position = position,
                      stringsAsFactors = FALSE))
  }
  data.frame(sample_i = rep(samples, n), sample_j = rep(samples, each = n),
             consensus = as.vector(x$consensus), stringsAsFactors = FALSE)
}

#' @rdname consensus
#' @return `summary()`: a `summary.nmf_consensus` list with `n_samples`,
#'   `rank`, `nrun`, `cophenetic`, `dispersion`, `ambiguous` (the share of
#'   pairs of distinct samples whose consensus is strictly between 0 and 1:
#'   connected in some runs and not in others) and `classes` (a data frame
#'   with one row per class: `class`, `size`, `within` the mean consensus
#'   between distinct members, `between` the mean consensus of its members
#'   with the other samples; `NA` where there is no such pair).
#' @export
summary.nmf_consensus <- function(object, ...) {
  cbar <- object$consensus
  n <- nrow(cbar)
  off <- row(cbar) != col(cbar)
  classes <- as.integer(object$classes)
  ids <- sort(unique(classes))
  mean_or_na <- function(v) if (length(v)) mean(v) else NA_real_
  per_class <- data.frame(
    class = ids,
    size = vapply(ids, function(k) sum(classes == k), integer(1)),
    within = vapply(ids, function(k) {
      in_k <- classes == k
      mean_or_na(cbar[in_k, in_k][off[in_k, in_k]])
    }, numeric(1)),
    between = vapply(ids, function(k) {
      in_k <- classes == k
      mean_or_na(cbar[in_k, !in_k])
    }, numeric(1)))
  out <- list(n_samples = n, rank = object$rank, nrun = object$nrun,
              cophenetic = object$cophenetic, dispersion = object$dispersion,
              ambiguous = if (n > 1L) mean(cbar[off] > 0 & cbar[off] < 1) else 0,
              classes = per_class)
  class(out) <- "summary.nmf_consensus"
  out
}

#' @export
print.summary.nmf_consensus <- function(x, digits = 3L, ...) {
  cat(sprintf("Consensus of %d runs over %d samples, rank %d\n", x$nrun, x$n_samples, x$rank))
  cat(sprintf("cophenetic correlation %.*f, dispersion %.*f\n", digits, x$cophenetic, digits, x$dispersion))
  cat(sprintf("pairs of samples connected in some runs but not all: %.1f%%\n", 100 * x$ambiguous))
  cat("classes (average linkage): size, mean consensus within and with the other samples\n")
  df <- x$classes
  df$within <- round(df$within, digits)
  df$between <- round(df$between, digits)
  print(df, row.names = FALSE)
  invisible(x)
}

# --- helpers ---------------------------------------------------------------

# Pearson correlation between the distances and the tree's cophenetic
# distances; 1 when the distances are all equal (the tree reproduces them)
cophenetic_correlation <- function(distances, tree) {
  d <- as.vector(distances)
  coph <- as.vector(stats::cophenetic(tree))
  if (length(d) < 2L || stats::sd(d) == 0 || stats::sd(coph) == 0) {
    return(if (isTRUE(all.equal(d, coph))) 1 else NA_real_)
  }
  stats::cor(d, coph)
}

# consensus(fit)'s cophenetic correlation and dispersion without its n x n
# consensus and cophenetic matrices, which on thousands of columns cost more
# than the survey's fits. Columns with the same cluster in every run have the
# same row of the consensus matrix: with u such groups (u <= n, and at most
# rank^nrun), the consensus is a u x u matrix of group pairs, each pair
# weighted by the product of the group sizes and each group's own pairs
# (consensus 1, distance 0) by size * (size - 1) / 2. The average-linkage
# tree is still built on all n columns, from the same distances bit for bit,
# so its order of merges, ties included, is consensus()'s: its first n - u
# merges join each group at height 0, and the height where two groups join is
# the cophenetic distance of every pair between them. The correlation is
# then the weighted Pearson correlation over the group pairs; the same limits
# as consensus() (NA above max_samples columns).
consensus_criteria <- function(fit, max_samples = 5000) {
  runs <- fit$runs
  known <- !is.na(colSums(runs[[1]]$h))
  n <- sum(known)
  if (n < 2L || n > max_samples) return(c(cophenetic = NA_real_, dispersion = NA_real_))
  n_runs <- length(runs)
  labels <- vapply(runs, function(run) max.col(t(run$h[, known, drop = FALSE]), ties.method = "first"),
                integer(n))
  labels <- matrix(labels, n, n_runs)
  key <- do.call(paste, c(unname(as.data.frame(labels)), sep = "."))
  group <- match(key, unique(key)) # group of each column, numbered by first appearance
  size <- tabulate(group)
  patterns <- labels[!duplicated(group), , drop = FALSE]
  n_groups <- length(size)
  counts <- matrix(0, n_groups, n_groups)
  for (t in seq_len(n_runs)) counts <- counts + outer(patterns[, t], patterns[, t], "==")
  cbar <- counts / n_runs # consensus()'s cbar at the group pairs, bit for bit
  pairs <- outer(size, size)
  dispersion <- sum(pairs * (4 * (cbar - 0.5)^2)) / (as.numeric(n) * n)
  if (n_groups == 1L) return(c(cophenetic = 1, dispersion = dispersion)) # every distance and height 0
  du <- 1 - cbar
  # the n-column distances in dist's order (column j, rows j + 1 .. n)
  j <- rep.int(seq_len(n - 1L), (n - 1L):1L)
  i <- sequence((n - 1L):1L, from = 2:n)
  d <- structure(du[group[i] + (group[j] - 1L) * n_groups], Size = n, Diag = FALSE, Upper = FALSE, class = "dist")
  rm(i, j)
  tree <- stats::hclust(d, method = "average")
  rm(d)
  # the height at which each pair of groups joins
  coph <- matrix(0, n_groups, n_groups)
  held <- vector("list", n - 1L)
  side <- function(k) if (k < 0L) group[-k] else held[[k]]
  for (k in seq_len(n - 1L)) {
    a <- side(tree$merge[k, 1])
    b <- side(tree$merge[k, 2])
    coph[a, b] <- tree$height[k]
    coph[b, a] <- tree$height[k]
    held[[k]] <- if (identical(a, b)) a else c(a, b)
  }
  lower <- lower.tri(cbar)
  wt <- pairs[lower]
  dv <- du[lower]
  cv <- coph[lower]
  w0 <- sum(size * (size - 1) / 2) # pairs within a group: distance 0, height 0
  total <- sum(wt) + w0
  md <- sum(wt * dv) / total
  mc <- sum(wt * cv) / total
  vd <- sum(wt * (dv - md)^2) + w0 * md^2
  vc <- sum(wt * (cv - mc)^2) + w0 * mc^2
  cov <- sum(wt * (dv - md) * (cv - mc)) + w0 * md * mc
  # consensus()'s rule when either has no spread: 1 if they are equal
  cophenetic <- if (vd > 0 && vc > 0) cov / sqrt(vd * vc) else if (isTRUE(all.equal(dv, cv))) 1 else NA_real_
  c(cophenetic = cophenetic, dispersion = dispersion)
}
