#' Choose the rank and motif length of a convolutive NMF by cross-validation
#'
#' For every candidate pair of `ranks` and `lags`, holds out contiguous
#' blocks of time bins in each of `folds` folds, fits [nmf_conv()] on the
#' rest and scores the held-out entries by their mean beta-divergence, as
#' [nmf_rank()] does for [nmf()].
#'
#' The hold-out of each fold is [cv_mask()]'s `type = "columns"`: blocks of
#' `block` contiguous time bins, each held out in a random half of the
#' neurons, until `fraction` of the entries are held out. A held-out entry
#' is then predicted by the motifs (learnt from the other bins) and by the
#' activations around it (learnt from the other half of the neurons in the
#' same bins), never from its own count; a speckled hold-out would leak
#' through the neighbouring bins of the same sequence. `block` defaults to
#' the largest candidate `lags`, so a held-out block spans a whole motif.
#' The masks are the same for every pair, and every fold's fits of every
#' pair start from the same seed, so differences between pairs are not
#' blurred by differences between masks or starts.
#'
#' The score of a fold is the beta-divergence of the held-out counts from
#' the model \eqn{\sum_l W_l S_l(H)}{sum_l W_l S_l(H)} of the fold's fit
#' (the best of `nrun` restarts by objective), per held-out entry; for
#' beta <= 1 each held-out fitted value is scored as at least a hundredth
#' of the mean observed entry of the fold, as in [nmf_rank()] ("Zero
#' predictions"). Too short a motif cannot follow a sequence to its end,
#' and too few components leave sequences unexplained: both raise the
#' held-out error; extra components or lags fit noise and raise it again,
#' more slowly.
#'
#' The rule: `"min"` takes the pair with the smallest mean held-out error;
#' `"1se"` takes, among the pairs whose mean held-out error is within one
#' standard error (`cv_sd / sqrt(folds)`) of that minimum, the smallest rank
#' and, at that rank, the shortest motif. Pairs whose mean held-out error is
#' not finite are never chosen (one warning names them).
#'
#' Reproducibility: from `seed` one seed per fold mask and one per fold's
#' fits are derived up front; the (rank, lags, fold) fits run through
#' `future.apply` when it is installed, so the survey is the same whatever
#' `future::plan()` runs it.
#'
#' @param x a non-negative matrix (neurons x time bins) or `dgCMatrix`, as
#'   for [nmf_conv()].
#' @param ranks the candidate ranks (whole numbers from 1 to `min(dim(x))`).
#' @param lags the candidate motif lengths in time bins (whole numbers from 1
#'   to `ncol(x)`).
#' @param beta the beta of the divergence (fit and held-out score).
#' @param folds the number of hold-out folds (at least 2 for `rule = "1se"`).
#' @param nrun restarts per fold's fit (the best by objective is scored).
#' @param fraction the share of entries held out in each fold, at most 0.5.
#' @param block the number of contiguous time bins per held-out block;
#'   `NULL` is `max(lags)`.
#' @param seed `NULL` or a whole number.
#' @param rule `"min"` or `"1se"` (see Details).
#' @param refit whether to fit the chosen pair on all of `x` (with `nrun`
#'   restarts) and return it as `fit`.
#' @param threads OpenMP threads per fit; `NULL` is 1.
#' @param ... further arguments to [nmf_conv()] (e.g. `maxit`, `tol`,
#'   `lambda`, `init = "random"`); not `mask`. With `init = "windows"` (the
#'   default) the
#'   start of each fold's fit is computed from that fold's observed entries
#'   only.
#' @return An object of class `nmf_conv_survey`: `table` (one row per pair:
#'   `rank`, `lags`, `cv_error` and `cv_sd`, the mean and standard deviation
#'   across folds of the held-out divergence per held-out entry, and
#'   `train_loss`, the mean training divergence per observed entry),
#'   `chosen` (a named integer vector: `rank`, `lags`), `rule`, `cv` (pairs x
#'   folds matrix of held-out errors), `fit` (the fit of the chosen pair on
#'   all of `x`, or `NULL`), `beta`, `folds`, `nrun`, `fraction`, `block`,
#'   `dims`, `seed`, `fold_seeds`, `fit_seeds` and `call`. It has `print()`,
#'   `as.data.frame()`, `autoplot()` and `plot()` methods
#'   ([nmf_conv_survey]).
#' @seealso [nmf_rank()] (the same survey for [nmf()]), [cv_mask()],
#'   [nmf_conv()].
#' @examples
#' sim <- simulate_sequences(m = 30, n = 600, n_seq = 2, seq_neurons = 10, lags = 6,
#'                           onset_rate = 0.02, amplitude = 2, jitter = 0, seed = 1)
#' survey <- nmf_conv_rank(sim$x, ranks = 1:3, lags = c(3, 6, 9), folds = 2, nrun = 1,
#'                         init = "windows", seed = 1, maxit = 100)
#' survey
#' survey$chosen
#' @export
nmf_conv_rank <- function(x, ranks, lags, beta = 1, folds = 5, nrun = 3, fraction = 0.1, block = NULL,
                          seed = NULL, rule = c("min", "1se"), refit = TRUE, threads = NULL, ...) {
  call <- match.call()
  rule <- check_choice(rule)
  beta <- check_beta(beta)
  folds <- check_count(folds, "folds")
  nrun <- check_count(nrun, "nrun")
  threads <- if (is.null(threads)) 1L else check_threads(threads)
  if (!is.logical(refit) || length(refit) != 1L || is.na(refit)) abort("'refit' must be TRUE or FALSE")
  dots <- list(...)
  if ("mask" %in% names(dots)) {
    abort(paste0("nmf_conv_rank() draws its own hold-out masks, so 'mask' cannot be passed; ",
                 "to leave entries out of every fit, set them to NA and pass missing = \"mask\""))
  }
  taken <- intersect(names(dots), c("x", "rank", "lags", "nrun", "seed", "beta", "threads"))
  if (length(taken)) {
    abort(sprintf("'%s' cannot be passed through '...' (nmf_conv_rank() sets it)", taken[1]))
  }
  dot_names <- if (is.null(names(dots))) rep("", length(dots)) else names(dots)
  unknown <- setdiff(dot_names, names(formals(nmf_conv)))
  if (length(unknown)) {
    abort(sprintf("the arguments in '...' must be named arguments of nmf_conv(); %s is not",
                  if (nzchar(unknown[1])) sprintf("'%s'", unknown[1]) else "an unnamed one"))
  }
  if (is.list(dots[["init"]])) {
    abort("'init' must be \"random\" or \"windows\" in a survey: a start given as list(w, h) fits one rank and length")
  }
  x <- as_nmf_matrix(x, arg = "x")
  top <- min(dim(x))
  if (!is.numeric(ranks) || length(ranks) < 1L || anyNA(ranks) || any(!is.finite(ranks)) ||
      any(ranks != round(ranks)) || any(ranks < 1) || any(ranks > top)) {
    abort(sprintf("'ranks' must be whole numbers between 1 and min(dim(x)) = %d", top))
  }
  if (!is.numeric(lags) || length(lags) < 1L || anyNA(lags) || any(!is.finite(lags)) ||
      any(lags != round(lags)) || any(lags < 1) || any(lags > ncol(x))) {
    abort(sprintf("'lags' must be whole numbers between 1 and ncol(x) = %d (motif lengths in time bins)",
                  ncol(x)))
  }
  ranks <- sort(unique(as.integer(ranks)))
  lags <- sort(unique(as.integer(lags)))
  if (is.null(block)) block <- max(lags)
  if (rule == "1se" && folds < 2L) {
    abort("rule = \"1se\" needs a standard error across folds: use folds >= 2")
  }
  seed <- resolve_seed(seed)
  # cv_mask() checks 'fraction' and 'block' and names them
  folds_cv <- cv_folds(x, beta, folds, seed, extra = 1L, fraction = fraction, type = "columns", block = block)
  masks <- folds_cv$masks
  held <- folds_cv$held
  held_x <- folds_cv$held_x
  floors <- folds_cv$floors
  mask_seeds <- folds_cv$mask_seeds
  fit_seeds <- folds_cv$fit_seeds
  full_seed <- folds_cv$extra_seeds

  pairs <- expand.grid(lags = lags, rank = ranks)[, c("rank", "lags")]
  jobs <- expand.grid(fold = seq_len(folds), pair = seq_len(nrow(pairs)))
  run_threads <- if (parallel_workers() > 1L) 1L else threads
  run_job <- function(k) {
    fold <- jobs$fold[k]
    pair <- jobs$pair[k]
    n_warn <- 0L
    fit <- withCallingHandlers(
      do.call(nmf_conv, c(list(x, rank = pairs$rank[pair], lags = pairs$lags[pair], beta = beta,
                               mask = masks[[fold]], nrun = nrun, seed = fit_seeds[fold],
                               threads = run_threads), dots)),
      betanmf_warning_convergence = function(w) {
        n_warn <<- n_warn + 1L
        invokeRestart("muffleWarning")
      },
      betanmf_warning_empty = function(w) invokeRestart("muffleWarning"))
    ij <- held[[fold]]
    y <- conv_model(fit$w, fit$h)[ij]
    y <- pmax(y, floors[fold])
    list(cv = beta_divergence(held_x[[fold]], y, beta) / length(y), train = fit$loss / fit$n_obs,
         n_warn = n_warn)
  }
  res <- run_streams(nrow(jobs), rng_streams(seed, nrow(jobs)), run_job, label = "nmf_conv survey")
  n_warn <- sum(vapply(res, function(r) r$n_warn, integer(1)))
  if (n_warn > 0) {
    warn(sprintf("%d of %d fits reached 'maxit' before converging; pass a larger 'maxit' (or 'tol') through '...'",
                 n_warn, nrow(jobs)), "convergence")
  }
  pair_names <- sprintf("%d, lags %d", pairs$rank, pairs$lags)
  cv <- matrix(vapply(res, function(r) r$cv, numeric(1)), nrow(pairs), folds, byrow = TRUE,
               dimnames = list(pair = pair_names, fold = seq_len(folds)))
  train <- matrix(vapply(res, function(r) r$train, numeric(1)), nrow(pairs), folds, byrow = TRUE)
  table <- data.frame(rank = pairs$rank, lags = pairs$lags, cv_error = rowMeans(cv),
                      cv_sd = if (folds > 1L) apply(cv, 1, stats::sd) else NA_real_,
                      train_loss = rowMeans(train), row.names = NULL)
  report_nonfinite(cv)
  chosen <- choose_conv_pair(table, rule, folds)
  fit <- NULL
  if (refit) {
    fit <- do.call(nmf_conv, c(list(x, rank = chosen[["rank"]], lags = chosen[["lags"]], beta = beta,
                                    nrun = nrun, seed = full_seed, threads = threads), dots))
    fit$call <- call("nmf_conv", quote(x), rank = chosen[["rank"]], lags = chosen[["lags"]], beta = beta,
                     nrun = nrun, seed = full_seed)
  }
  out <- list(table = table, chosen = chosen, rule = rule, cv = cv, fit = fit, beta = beta, folds = folds,
              nrun = nrun, fraction = fraction, block = as.integer(block), dims = dim(x), seed = seed,
              fold_seeds = mask_seeds, fit_seeds = fit_seeds, call = call)
  class(out) <- "nmf_conv_survey"
  out
}

# The (rank, lags) pair by `rule` among the pairs with a finite mean
# held-out error: "min" the smallest; "1se" the smallest rank, then the
# shortest motif, within one standard error of it.
choose_conv_pair <- function(table, rule, folds) {
  finite <- is.finite(table$cv_error)
  if (!any(finite)) {
    abort(paste0("no (rank, lags) pair has a finite held-out error, so none can be chosen; ",
                 "see the survey's 'cv' matrix"), "numerical")
  }
  err <- ifelse(finite, table$cv_error, Inf)
  best <- which.min(err)
  if (rule == "1se") {
    se <- table$cv_sd[best] / sqrt(folds)
    near <- which(finite & err <= err[best] + se)
    best <- near[order(table$rank[near], table$lags[near])][1]
  }
  c(rank = table$rank[best], lags = table$lags[best])
}

#' Methods for convolutive NMF rank and lag surveys
#'
#' `print()` shows the survey's table and the chosen pair; `as.data.frame()`
#' is the table (one row per (rank, lags) pair); `autoplot()` draws the mean
#' held-out error against the motif length, one line per rank, with +/- one
#' standard deviation across folds (never below zero) and the chosen pair
#' ringed, as a ggplot object; `plot()` draws it.
#'
#' @param x,object an `nmf_conv_survey` from [nmf_conv_rank()].
#' @param digits significant digits to print.
#' @param row.names,optional unused.
#' @param ... unused.
#' @return `print()` and `plot()`: `x` and the ggplot, invisibly;
#'   `as.data.frame()`: a data frame; `autoplot()`: a ggplot object.
#' @name nmf_conv_survey
#' @examples
#' sim <- simulate_sequences(m = 20, n = 300, n_seq = 1, seq_neurons = 10, lags = 5,
#'                           onset_rate = 0.03, amplitude = 2, jitter = 0, seed = 1)
#' survey <- nmf_conv_rank(sim$x, ranks = 1:2, lags = c(2, 5), folds = 2, nrun = 1,
#'                         seed = 1, maxit = 200, refit = FALSE)
#' as.data.frame(survey)
#' p <- autoplot(survey)
NULL

#' @rdname nmf_conv_survey
#' @export
print.nmf_conv_survey <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat(sprintf("<nmf_conv_survey> %d x %d matrix, beta = %g, ranks %s, lags %s\n", x$dims[1], x$dims[2], x$beta,
              paste(unique(x$table$rank), collapse = ", "), paste(unique(x$table$lags), collapse = ", ")))
  cat(sprintf("%d folds holding out %g%% of the entries (time bins in blocks of %d, each in half of the rows), %d run%s per fit\n",
              x$folds, 100 * x$fraction, x$block, x$nrun, if (x$nrun == 1L) "" else "s"))
  cat(sprintf("chosen: rank %d, lags %d (rule \"%s\": %s)\n", x$chosen[["rank"]], x$chosen[["lags"]], x$rule,
              if (x$rule == "min") "smallest mean held-out error"
              else "smallest rank, then shortest motif, within one standard error of the smallest mean held-out error"))
  print(x$table, digits = digits, row.names = FALSE)
  invisible(x)
}

#' @rdname nmf_conv_survey
#' @export
as.data.frame.nmf_conv_survey <- function(x, row.names = NULL, optional = FALSE, ...) {
  x$table
}

#' @rdname nmf_conv_survey
#' @method autoplot nmf_conv_survey
#' @export
autoplot.nmf_conv_survey <- function(object, ...) {
  tab <- object$table
  tab$rank_f <- factor(tab$rank)
  tab$lower <- pmax(tab$cv_error - tab$cv_sd, 0)
  tab$upper <- tab$cv_error + tab$cv_sd
  shown <- tab[is.finite(tab$cv_error), , drop = FALSE]
  bars <- shown[is.finite(shown$lower) & is.finite(shown$upper), , drop = FALSE]
  pick <- tab[tab$rank == object$chosen[["rank"]] & tab$lags == object$chosen[["lags"]], , drop = FALSE]
  p <- ggplot2::ggplot(shown, ggplot2::aes(x = .data$lags, y = .data$cv_error, colour = .data$rank_f,
                                           group = .data$rank_f)) +
    ggplot2::geom_line() +
    ggplot2::geom_point()
  if (nrow(bars)) {
    p <- p + ggplot2::geom_errorbar(data = bars, ggplot2::aes(ymin = .data$lower, ymax = .data$upper),
                                    width = 0.3)
  }
  p + ggplot2::geom_point(data = pick, shape = 21, size = 5, colour = "#b2182b", stroke = 1.2) +
    ggplot2::scale_x_continuous(breaks = sort(unique(tab$lags))) +
    ggplot2::labs(x = "lags (motif length in time bins)", y = "held-out error per entry", colour = "rank",
                  title = sprintf("Rank and lag survey: chosen rank %d, lags %d (rule \"%s\")",
                                  object$chosen[["rank"]], object$chosen[["lags"]], object$rule),
                  subtitle = sprintf("beta = %g; mean \u00b1 sd over %d folds of time blocks of %d bins",
                                     object$beta, object$folds, object$block)) +
    ggplot2::theme_minimal()
}

#' @rdname nmf_conv_survey
#' @export
plot.nmf_conv_survey <- function(x, ...) {
  p <- autoplot(x, ...)
  print(p)
  invisible(p)
}
