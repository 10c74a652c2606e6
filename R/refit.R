# Refitting known signatures: the exposures of each sample with the
# signature matrix W held fixed (MATH.md, "Refitting known signatures").

#' Exposures of known signatures in each sample
#'
#' With the signatures W fixed, each sample's exposures h solve an
#' independent non-negative problem, min D_beta(x | o * (W h)): with the
#' default `beta = 1` a Poisson regression with identity link and
#' non-negative coefficients (the likelihood of mutation counts), with
#' `beta = 2` non-negative least squares. Both are solved in C by the solver
#' behind [predict.nmf_fit()].
#'
#' **Opportunity.** A known mutational opportunity o (e.g. trinucleotide
#' counts of the sequenced territory relative to the genome) enters the
#' Poisson model as Y = o * (W H): a vector of one value per channel is the
#' same for all samples (W becomes diag(o) W), a channels x samples matrix
#' gives each sample its own. Exposures are then in units of mutations per
#' unit opportunity; `contributions` holds the expected number of mutations
#' each signature explains in each sample, sum_i o_i W_ik h_kj.
#'
#' **Bootstrap.** With `bootstrap = B > 0`, each sample's N mutations are
#' resampled as Multinomial(N, x / N), the exposures refitted, and the
#' `level` percentile intervals of the B replicates reported in `lower` and
#' `upper`. The catalog must then hold whole-number counts. The multinomial
#' keeps each sample's total fixed, so the intervals are conditional on the
#' mutation burden N; under the Poisson model the total varies too, and a
#' signature carrying a share s of the mutations has its variance
#' understated by about s^2 N. `resample = "poisson"` draws the total as
#' Poisson(N) first (equivalently, each channel as Poisson(x)), which
#' targets the unconditional Poisson variability. With
#' `prune = TRUE` the replicates are refitted with each sample's pruned set of
#' signatures, so the intervals are conditional on that selection.
#'
#' **Pruning.** With `prune = TRUE`, each sample's signatures are removed by
#' backward elimination: at each step the signature whose removal worsens the
#' sample's fit the least is dropped (the rest refitted), as long as that
#' worsening is below `prune_threshold`. Two measures of worsening:
#' * `prune_rule = "deviance"` (the default for `beta = 1`): the increase in
#'   the sample's Poisson deviance, 2 x the increase of its KL divergence, a
#'   likelihood-ratio statistic for "this exposure is zero"; the default
#'   threshold `qchisq(0.99, 1)` = 6.63 keeps a signature when its removal
#'   would be rejected at the 1% level (conservatively: on the boundary the
#'   null distribution is half chi-square(0), half chi-square(1)).
#' * `prune_rule = "cosine"` (the default for other beta): the drop in the
#'   cosine similarity between the sample and its reconstruction; default
#'   threshold 0.01, the order SigProfiler-style assignment tools use. Cosine
#'   is blind to flat signatures: removing a flat one barely moves the
#'   cosine even when it carries a large share of the mutations, so prefer
#'   the deviance rule for counts.
#'
#' Signatures with zero exposure are dropped first, and at least one
#' signature is always kept. Exposures below 1e-8 of a sample's total are
#' reported as exactly 0, in the fit and in every bootstrap replicate (the
#' beta = 1 coordinate-descent solver reaches zeros exactly; the
#' multiplicative solver used for other beta approaches them only
#' asymptotically).
#'
#' @section Matching rows:
#' Wherever two matrices with the same rows meet (a catalog and signatures,
#' new data and a fit's basis, two sets of components), their rows are
#' matched by name, never paired by position when a side is named:
#' * both named: the rows are matched by name (SBS-96, DBS-78 and ID-83
#'   labels in any style of [mutation_channels()] are compared in canonical
#'   form); the two sets of names must be the same, without duplicates, or
#'   it is an error that lists the missing and extra ones;
#' * one side unnamed with 96, 78 or 83 rows and the other named by all the
#'   channels of that set (SBS-96, DBS-78, ID-83): the unnamed side is
#'   taken to be in the canonical order of COSMIC and MutationalPatterns
#'   ([mutation_channels()]; e.g.
#'   `MutationalPatterns::get_known_signatures()`), and the named side,
#'   whatever its order (SigProfiler's alphabetical one, say), is aligned to
#'   it;
#' * any other mix of a named and an unnamed side is an error that says
#'   which side lacks row names and how to add them;
#' * both unnamed: the rows are paired by position, and their numbers must
#'   agree.
#'
#' @param catalog a non-negative matrix of mutation counts, channels x
#'   samples (or a vector, one sample), a data frame or a dgCMatrix. A data
#'   frame whose first column holds labels (SigProfiler's `MutationType`)
#'   takes them as row names. Column names that are channels (SBS-96,
#'   DBS-78, ID-83) are an error: the samples are then in rows, use
#'   `t(catalog)`. [read_catalog()] reads SigProfiler's matrix files. A
#'   `DelayedMatrix` (e.g. an `HDF5Matrix` of many samples) is read in
#'   blocks of samples and never realised, without `bootstrap`, `prune` or
#'   `opportunity`: its exposures are those of the same catalog in memory,
#'   `catalog` in the result is the `DelayedMatrix` and the fitted values
#'   (the size of the data) are not kept.
#' @param signatures a channels x signatures matrix (e.g. from
#'   [read_signatures()]; a data frame with COSMIC's `Type` column is read
#'   as for `catalog`) or an [nmf()] fit (its basis). Columns are rescaled
#'   to sum to one. Its rows are matched to those of `catalog` by name, or
#'   by the canonical order of the channel set when one side has no row
#'   names (see Matching rows).
#' @param beta the beta-divergence: 1 (Poisson, the default) or 2 (least
#'   squares), or any other value the solver accepts.
#' @param bootstrap the number of bootstrap replicates (0 for none).
#' @param opportunity `NULL`, a positive vector with one value per channel,
#'   or a positive channels x samples matrix; its channels are matched to
#'   those of `catalog` as the signatures are (see Matching rows), and the
#'   columns of a matrix to the samples by name when both are named.
#' @param prune drop signatures that barely contribute (see Details).
#' @param prune_rule `"deviance"` or `"cosine"`, how the worsening of the fit
#'   by a removal is measured (see Details); by default `"deviance"` for
#'   `beta = 1` and `"cosine"` otherwise.
#' @param prune_threshold the largest worsening that still allows a
#'   signature to be removed: by default `qchisq(0.99, 1)` for the deviance
#'   rule and 0.01 for the cosine rule.
#' @param resample `"multinomial"` (the default: each sample's total is
#'   kept) or `"poisson"` (the total varies as Poisson(N)); see Details.
#' @param level the coverage of the bootstrap intervals.
#' @param seed `NULL` or a whole number for the bootstrap draws (the user's
#'   random-number state is left untouched when a seed is given).
#' @param maxit,tol iteration limit and relative tolerance of each solve.
#' @param threads OpenMP threads of each solve; `NULL` (the default) is
#'   [default_threads()], worked out once for the whole call.
#' @return An object of class `signature_refit`, a list with `exposures`
#'   (signatures x samples), `contributions` (the same in mutations),
#'   `lower` and `upper` (bootstrap intervals, or `NULL`), `replicates` (the
#'   signatures x samples x B array, or `NULL`), `active` (logical, the
#'   signatures kept per sample), `cosine` (per-sample cosine similarity
#'   between catalog and reconstruction), `fitted` (the reconstruction),
#'   `catalog`, `signatures`, `opportunity`, `beta`, `loss` (the total
#'   beta-divergence), `level`, `bootstrap`, `prune`, `prune_rule`,
#'   `prune_threshold`, `resample`, `seed` and `call`. Methods: `print()`, `coef()`, `fitted()`,
#'   `as.data.frame()` (long format), `autoplot()` and `plot()`.
#' @seealso [match_signatures()], [autoplot.signature_refit()].
#' @examples
#' sim <- simulate_nmf(w = sbs_signatures, n = 6, depth = 800, seed = 1)
#' refit <- fit_signatures(sim$x, sbs_signatures, bootstrap = 50, seed = 2)
#' refit
#' round(refit$exposures[, 1:3])
#' round(sim$h[, 1:3])
#' @export
fit_signatures <- function(catalog, signatures, beta = 1, bootstrap = 0, opportunity = NULL,
                           prune = FALSE, prune_rule = NULL, prune_threshold = NULL,
                           resample = c("multinomial", "poisson"),
                           level = 0.95, seed = NULL, maxit = 1000, tol = 1e-8, threads = NULL) {
  call <- match.call()
  threads <- check_threads(threads)
  resample <- check_choice(resample)
  beta <- check_beta(beta)
  if (is.numeric(catalog) && is.null(dim(catalog))) {
    catalog <- matrix(catalog, ncol = 1L, dimnames = list(names(catalog), "sample1"))
  }
  x <- as_nmf_matrix(catalog, arg = "catalog")
  if (!is_delayed_matrix(x)) x <- as.matrix(x) # a DelayedMatrix is read in blocks (R/blocks.R)
  if (anyNA(x) || any(!is.finite(x)) || any(x < 0)) {
    abort("'catalog' must hold finite non-negative counts (no NA)", "data")
  }
  if (is.null(colnames(x))) colnames(x) <- paste0("sample", seq_len(ncol(x)))
  w <- if (inherits(signatures, "nmf_fit")) signatures$w else signatures
  w <- check_profile_matrix(w, "signatures")
  w <- conform_rows(w, x, "signatures", "catalog")
  # an unnamed 96-row catalog is in canonical order: name it so
  if (is.null(rownames(x))) rownames(x) <- rownames(w)
  if (is.null(colnames(w))) colnames(w) <- paste0("Sig", seq_len(ncol(w)))
  w <- sweep(w, 2, colSums(w), "/")
  bootstrap <- check_count(bootstrap, "bootstrap", min = 0)
  if (is_delayed_matrix(x) && (bootstrap > 0 || !identical(prune, FALSE) || !is.null(opportunity))) {
    abort(paste0("a DelayedMatrix 'catalog' is refitted in blocks without 'bootstrap', 'prune' or ",
                 "'opportunity'; for those, refit an in-memory subset (as.matrix(catalog[, samples]))"))
  }
  if (bootstrap > 0 && any(x != round(x))) {
    abort("'catalog' must hold whole-number counts when 'bootstrap' > 0 (mutations are resampled)", "data")
  }
  if (!is.logical(prune) || length(prune) != 1L || is.na(prune)) {
    abort("'prune' must be TRUE or FALSE")
  }
  if (is.null(prune_rule)) prune_rule <- if (beta == 1) "deviance" else "cosine"
  prune_rule <- check_choice(prune_rule, c("deviance", "cosine"))
  if (prune_rule == "deviance" && beta != 1) {
    abort(sprintf("prune_rule = \"deviance\" is the Poisson likelihood-ratio rule and needs beta = 1, not %g; use prune_rule = \"cosine\"",
                  beta))
  }
  if (is.null(prune_threshold)) prune_threshold <- if (prune_rule == "deviance") stats::qchisq(0.99, 1) else 0.01
  if (!is.numeric(prune_threshold) || length(prune_threshold) != 1L || is.na(prune_threshold) ||
      !is.finite(prune_threshold) || prune_threshold < 0 || (prune_rule == "cosine" && prune_threshold >= 1)) {
    abort(sprintf("'prune_threshold' must be a single number %s", if (prune_rule == "cosine") "in [0, 1)" else ">= 0"))
  }
  if (!is.numeric(level) || length(level) != 1L || is.na(level) || level <= 0 || level >= 1) {
    abort("'level' must be a single number strictly between 0 and 1")
  }
  opp <- check_opportunity(opportunity, x)
  solve <- function(data, active) {
    refit_exposures(w, data, active, opp, beta, maxit, tol, threads)
  }

  active <- matrix(TRUE, ncol(w), ncol(x), dimnames = list(colnames(w), colnames(x)))
  h <- solve(x, active)
  if (is_delayed_matrix(x)) return(refit_blocks_result(x, w, h, active, beta, level, resample, prune_rule, prune_threshold, call))
  if (prune) {
    for (j in seq_len(ncol(x))) {
      res <- prune_sample(w, x[, j, drop = FALSE], h[, j], opp_column(opp, j), beta, maxit, tol,
                          prune_rule, prune_threshold, threads)
      active[, j] <- res$active
      h[, j] <- res$h
    }
  }
  dimnames(h) <- dimnames(active)
  fitted <- reconstruct(w, h, opp)
  dimnames(fitted) <- dimnames(x)

  lower <- upper <- replicates <- NULL
  seed_used <- NULL
  if (bootstrap > 0) {
    seed_used <- resolve_seed(seed)
    stream <- rng_streams(seed_used, 1L)[[1]]
    draws <- with_stream(stream, {
      out <- array(0, c(nrow(x), ncol(x), bootstrap))
      for (j in seq_len(ncol(x))) {
        total <- sum(x[, j])
        if (total <= 0) next
        sizes <- if (resample == "poisson") stats::rpois(bootstrap, total) else rep(total, bootstrap)
        for (b in seq_len(bootstrap)) out[, j, b] <- stats::rmultinom(1L, sizes[b], x[, j] / total)
      }
      out
    })
    replicates <- array(0, c(ncol(w), ncol(x), bootstrap),
                        dimnames = list(colnames(w), colnames(x), NULL))
    for (b in seq_len(bootstrap)) {
      xb <- draws[, , b]
      dim(xb) <- dim(x)
      replicates[, , b] <- solve(xb, active)
    }
    probs <- c((1 - level) / 2, 1 - (1 - level) / 2)
    q <- apply(replicates, c(1, 2), stats::quantile, probs = probs, names = FALSE, type = 7)
    lower <- q[1, , ]
    upper <- q[2, , ]
    dim(lower) <- dim(upper) <- dim(h)
    dimnames(lower) <- dimnames(upper) <- dimnames(h)
  }
  scale_k <- if (is.null(opp)) matrix(1, ncol(w), ncol(x)) else crossprod(w, opp$matrix)
  contributions <- h * scale_k
  structure(list(
    exposures = h, contributions = contributions, lower = lower, upper = upper,
    replicates = replicates, active = active, cosine = column_cosine(x, fitted),
    fitted = fitted, catalog = x, signatures = w,
    opportunity = if (is.null(opp)) NULL else opp$value, beta = beta,
    loss = beta_divergence(x, fitted, beta), level = level, bootstrap = bootstrap,
    prune = prune, prune_rule = prune_rule, prune_threshold = prune_threshold, resample = resample,
    seed = seed_used, call = call
  ), class = "signature_refit")
}

opp_column <- function(opp, j) {
  if (is.null(opp)) NULL else list(value = NULL, matrix = opp$matrix[, j, drop = FALSE], per_sample = FALSE)
}

# Y = o * (W H)
reconstruct <- function(w, h, opp) {
  y <- w %*% h
  if (!is.null(opp)) y <- y * opp$matrix
  y
}

# Exposures for the columns of x, each with its own set of active
# signatures: columns sharing a set (and an opportunity) are solved together.
refit_exposures <- function(w, x, active, opp, beta, maxit, tol, threads) {
  k <- ncol(w)
  n <- ncol(x)
  h <- matrix(0, k, n)
  totals <- if (is_delayed_matrix(x)) block_col_sums(x) else colSums(x)
  key <- apply(active, 2, function(a) paste(as.integer(a), collapse = ""))
  if (!is.null(opp) && opp$per_sample) key <- paste(key, seq_len(n))
  key[totals <= 0] <- NA  # an empty sample has zero exposures
  for (g in unique(stats::na.omit(key))) {
    cols <- which(key == g)
    act <- active[, cols[1]]
    wg <- unname(w[, act, drop = FALSE])
    if (!is.null(opp)) wg <- wg * opp$matrix[, cols[1]]
    h[act, cols] <- solve_coefficients(wg, unname(x[, cols, drop = FALSE]), beta = beta,
                                       maxit = maxit, tol = tol, threads = threads, arg = "catalog")
  }
  # multiplicative updates reach zero only asymptotically: snap numerical
  # zeros (relative to the sample's total) to exact zeros
  h[h < 1e-8 * rep(totals, each = k)] <- 0
  h
}

# Backward elimination of one sample's signatures (see fit_signatures()):
# `score` is larger for a better fit, and a removal is allowed while the
# score drops by less than `threshold`.
prune_sample <- function(w, xj, hj, opp, beta, maxit, tol, rule, threshold, threads) {
  k <- ncol(w)
  total <- sum(xj)
  active <- rep(TRUE, k)
  if (total <= 0) return(list(active = active, h = hj))
  active <- hj > 0
  if (!any(active)) active[which.max(hj)] <- TRUE
  score <- function(h) {
    y <- reconstruct(w, matrix(h), opp)
    if (rule == "cosine") column_cosine(xj, y) else -2 * beta_divergence(xj, y, beta)
  }
  fit_set <- function(a) refit_exposures(w, xj, matrix(a), opp, beta, maxit, tol, threads)[, 1]
  h <- fit_set(active)
  current <- score(h)
  while (sum(active) > 1L) {
    cand <- which(active)
    trial <- lapply(cand, function(kk) {
      a <- active
      a[kk] <- FALSE
      hh <- fit_set(a)
      list(active = a, h = hh, score = score(hh))
    })
    scores <- vapply(trial, function(t) t$score, numeric(1))
    best <- which.max(scores)
    if (current - scores[best] >= threshold) break
    active <- trial[[best]]$active
    h <- trial[[best]]$h
    current <- scores[best]
  }
  list(active = active, h = h)
}

# cosine similarity between matching columns of a and b
column_cosine <- function(a, b) {
  num <- colSums(a * b)
  den <- sqrt(colSums(a^2) * colSums(b^2))
  out <- ifelse(den > 0, num / den, NA_real_)
  names(out) <- colnames(a)
  out
}

# The expected mutations per unit exposure of each signature in each sample
# (signatures x samples): sum_i o_ij W_ik, or 1 without an opportunity, so
# that contributions = exposures * refit_scale(). The opportunity is stored as
# the user gave it, so it is matched to the catalog's channels again.
refit_scale <- function(object) {
  opp <- check_opportunity(object$opportunity, object$catalog)
  k <- ncol(object$signatures)
  n <- ncol(object$catalog)
  if (is.null(opp)) matrix(1, k, n) else crossprod(object$signatures, opp$matrix)
}

# Each bootstrap replicate's share of a sample's mutations by signature
# (signatures x samples x B): replicate contributions over the replicate's
# own total, sum_k replicates[k, j, b] * scale[k, j]. A replicate with no
# mutations (a Poisson total of 0) has no shares (NA); a sample whose every
# replicate is empty has shares 0, as its point estimate does.
replicate_shares <- function(object) {
  reps <- object$replicates * as.vector(refit_scale(object))
  totals <- colSums(reps)  # samples x B
  shares <- sweep(reps, c(2, 3), totals, "/")
  shares[is.nan(shares)] <- NA
  empty <- rowSums(totals > 0) == 0
  shares[, empty, ] <- 0
  shares
}

# The `level` percentile intervals over the last dimension of a
# rows x samples x B array (the rule of fit_signatures(); NA replicates
# are left out), as two rows x samples matrices.
replicate_intervals <- function(reps, level) {
  probs <- c((1 - level) / 2, 1 - (1 - level) / 2)
  q <- apply(reps, c(1, 2), function(v) {
    v <- v[!is.na(v)]
    if (length(v) == 0L) c(NA_real_, NA_real_) else stats::quantile(v, probs, names = FALSE, type = 7)
  })
  d <- dim(reps)[1:2]
  list(lower = matrix(q[1, , ], d[1], d[2]), upper = matrix(q[2, , ], d[1], d[2]))
}

#' @rdname fit_signatures
#' @param x,object a `signature_refit`.
#' @param n `print()` lists at most this many signatures (the largest).
#' @param ... unused.
#' @export
print.signature_refit <- function(x, n = 20, ...) {
  n <- check_count(n, "n")
  k <- nrow(x$exposures)
  n_samples <- ncol(x$exposures)
  cat(sprintf("Signature refit: %d signatures x %d samples, beta = %g%s\n", k, n_samples, x$beta,
              if (is.null(x$opportunity)) "" else ", with opportunity"))
  if (any(!is.na(x$cosine))) {
    cat(sprintf("Reconstruction cosine: median %.3f (range %.3f-%.3f)\n", stats::median(x$cosine, na.rm = TRUE),
                min(x$cosine, na.rm = TRUE), max(x$cosine, na.rm = TRUE)))
  }
  if (x$prune) {
    cat(sprintf("Pruned (%s rule, threshold %g): %.1f signatures per sample on average\n",
                x$prune_rule, x$prune_threshold, mean(colSums(x$active))))
  }
  if (x$bootstrap > 0) {
    cat(sprintf("Bootstrap: %d %s replicates, %g%% percentile intervals (seed %d)\n",
                x$bootstrap, x$resample, 100 * x$level, x$seed))
  }
  by_signature <- rowSums(x$contributions)
  present <- which(by_signature > 0)
  present <- present[order(-by_signature[present])]
  if (length(present) == 0L) {
    cat("No signature explains any mutation (every sample is empty)\n")
  } else {
    listed <- present[seq_len(min(n, length(present)))]
    share <- by_signature / sum(by_signature)
    in_samples <- rowSums(x$contributions > 0)
    table <- data.frame(
      signature = rownames(x$exposures)[listed],
      share = format_share(share[listed]),
      samples = sprintf("%d/%d", in_samples[listed], n_samples),
      stringsAsFactors = FALSE
    )
    if (!is.null(x$replicates)) {
      # the width of the interval of the signature's share of a sample,
      # median over the samples where it is present
      iv <- replicate_intervals(replicate_shares(x)[listed, , , drop = FALSE], x$level)
      width <- iv$upper - iv$lower
      width[x$contributions[listed, , drop = FALSE] <= 0] <- NA
      table$interval <- format_share(apply(width, 1, stats::median, na.rm = TRUE))
      names(table)[4] <- sprintf("%g%% width", 100 * x$level)
    }
    cat(sprintf("%d signature%s present, by share of all mutations:\n", length(present),
                if (length(present) == 1L) "" else "s"))
    print(table, row.names = FALSE, right = FALSE)
    if (length(present) > length(listed)) {
      rest <- present[-seq_along(listed)]
      cat(sprintf("... and %d more present, %s of all mutations: print(x, n = %d) lists them\n",
                  length(rest), format_share(sum(share[rest])), length(present)))
    }
    cat(sprintf("(samples: where present%s)\n", if (is.null(x$replicates)) "" else
      sprintf("; %g%% width: of the interval of its share of a sample, median where present", 100 * x$level)))
  }
  if (length(present) < k) {
    cat(sprintf("%d of %d signatures contribute nothing; see coef()\n", k - length(present), k))
  }
  invisible(x)
}

# proportions as percentages that never print a non-zero share as 0
format_share <- function(p) {
  out <- sprintf("%.1f%%", 100 * p)
  out[!is.na(p) & p > 0 & p < 5e-4] <- "<0.1%"
  out[is.na(p)] <- "NA"
  out
}

#' @rdname fit_signatures
#' @export
coef.signature_refit <- function(object, ...) object$exposures

#' @rdname fit_signatures
#' @export
fitted.signature_refit <- function(object, ...) {
  if (is.null(object$fitted)) {
    abort(paste0("this refit's catalog is a DelayedMatrix, whose fitted values (the size of the data) are ",
                 "not kept; compute those of some samples with signatures %*% exposures[, samples]"))
  }
  object$fitted
}

#' @rdname fit_signatures
#' @param row.names,optional as in [as.data.frame()].
#' @export
as.data.frame.signature_refit <- function(x, row.names = NULL, optional = FALSE, ...) {
  k <- nrow(x$exposures)
  n <- ncol(x$exposures)
  df <- data.frame(
    sample = factor(rep(colnames(x$exposures), each = k), levels = colnames(x$exposures)),
    signature = factor(rep(rownames(x$exposures), n), levels = rownames(x$exposures)),
    exposure = as.vector(x$exposures),
    contribution = as.vector(x$contributions),
    active = as.vector(x$active)
  )
  if (!is.null(x$lower)) {
    df$lower <- as.vector(x$lower)
    df$upper <- as.vector(x$upper)
  }
  df
}
