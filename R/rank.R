#' Choose the rank of an NMF by cross-validation
#'
#' For every candidate rank, holds out `fraction` of the entries of `x` in
#' each of `folds` folds ([cv_mask()]), fits [nmf()] on the rest and scores
#' the held-out entries by their mean beta-divergence; one more, unmasked fit
#' per rank (with `nrun` restarts) gives the consensus and stability
#' summaries.
#'
#' Why held-out error: the training loss always falls as the rank grows (more
#' components fit the noise as well as the signal), so it cannot choose a
#' rank. Entries the fit has not seen are predicted well only by the
#' components that are really there: their error falls while components of
#' the signal are added (bias falls) and rises again once extra components
#' start to fit noise (variance grows). The rank with the smallest mean
#' held-out error is chosen (`rule = "min"`), or, with `rule = "1se"`, the
#' smallest rank whose mean held-out error is within one standard error
#' (`cv_sd / sqrt(folds)`) of that minimum, a more parsimonious choice.
#'
#' Each fold's fit uses `nrun` restarts (the best by training loss is scored),
#' because a single run stuck in a poor local minimum would make the curve
#' jagged at the larger ranks; lower `nrun` to trade that off against time.
#' The masks of the folds are the same for every rank, so differences
#' between ranks are not blurred by differences between masks.
#'
#' Solver and set-up: every fit uses the solver [nmf()] would choose for the
#' whole data (`solver = "auto"`: HALS for beta = 2, coordinate descent for
#' beta = 1, multiplicative updates otherwise), held-out entries or not, so
#' each fold runs the algorithm a full fit would; pass `solver = "mu"`
#' through `...` for multiplicative updates. The data are checked and
#' prepared (scaled, with the fold's held-out entries left out) once per
#' fold and once unmasked, and shared by every rank and restart: each
#' unmasked fit equals `nmf(x, rank, nrun = nrun, seed = <its seed>)`, and
#' with `screen = 0` each fold's fit equals `nmf(x, rank, nrun = nrun, mask =
#' <the fold's mask>, seed = <its seed>)`.
#'
#' Screened restarts (`screen`, fold fits only): a fold is scored by its
#' restart of smallest training loss, but above the true rank the restarts
#' end at nearly equal losses after hundreds of iterations each, so running
#' every one to convergence buys little for the held-out score. With `screen
#' = 20` (the default) every restart of a fold's fit runs 20 iterations
#' (rounded up to a whole number of the solver's loss checks,
#' `control$check`); only the `max(2, ceiling(nrun / 5))` restarts of
#' smallest training loss there continue, to convergence under the same
#' `maxit` and `tol`, and the fold is scored by the best of those (at least
#' two finish, so one poor local minimum never scores a fold alone). A
#' continued restart ends exactly where it would have ended uninterrupted
#' (the same random start, solver and stopping rule, the loss checked at the
#' same iterations), so each rank's fit is still a local optimum found by the
#' same solver and stopping rule, and the same rule drops the same share of
#' restarts at every rank; what changes is which restart scores a fold when
#' one that was behind at the screen would have ended best. On the planted
#' sets of the tests (`nrun = 10`: coordinate descent, multiplicative
#' updates and HALS) and on the three surveys of issue 28 the chosen rank is
#' that of `screen = 0` and the mean held-out errors differ by less than
#' their spread across folds. The unmasked fits run every restart to
#' convergence (consensus and stability compare them all). `screen = 0` runs
#' every restart of the fold fits to convergence, as surveys did before
#' screening; with `nrun <= 2` or minimum volume (`volume > 0`) there is
#' nothing to screen.
#'
#' Reproducibility: from `seed` (or, if `NULL`, a seed drawn from the session's
#' generator) one seed per fold mask, one per fold fit and one for the
#' unmasked fits are derived up front, so the survey is identical whatever
#' `future::plan()` runs it; the (rank, fold) fits run through
#' `future.apply` when it is installed and report progress through
#' `progressr`.
#'
#' Zero predictions (beta <= 1): a held-out positive count whose fitted value
#' is zero has an infinite divergence. On sparse counts (neurons x time
#' bins, mostly zeros) the fit drives many fitted values towards zero:
#' coordinate descent (the beta = 1 solver) reaches zero exactly, and
#' multiplicative updates approach it without reaching it, so the fitted
#' value there, and its score, would reflect the solver and how many
#' iterations ran rather than the rank (one such entry can outweigh all the
#' others). Two things keep
#' the score about the rank. The hold-outs leave every row and column an
#' observed positive entry where it has one ([cv_mask()]), so no column is
#' fitted as zero for want of data. And each held-out fitted value is
#' scored as at least a hundredth of the mean observed entry of its fold
#' (for beta <= 1 only, where the divergence is infinite at zero; the floor
#' scales with the data, so the choice does not depend on their units). A
#' rank is never chosen from non-finite held-out errors: any that remain
#' are reported in one warning naming the ranks and folds, the rank is
#' chosen among the ranks whose mean held-out error is finite, and
#' `nmf_rank()` stops if there is none.
#'
#' Data larger than memory: `x` may be a `DelayedMatrix` (an `HDF5Matrix`,
#' a `TENxMatrix`, the assay of a `SingleCellExperiment`), surveyed block by
#' block without being realised: every fit reads it in blocks as [nmf()]
#' does, and each fold's held-out entries are never listed for the whole
#' matrix but made for each block as it is read, from the fold's seed and
#' the block's coordinates. The rule: the matrix is cut into tiles of 256 x
#' 256 entries, and each tile draws its held-out entries on a random stream
#' of its own (a binomial count, `fraction` of its entries on average, then
#' that many entries uniformly), so the pattern does not depend on the block
#' size; as with [cv_mask()], each row and column that the draw leaves
#' without an observed (positive) entry gets its first held-out (positive)
#' entry back, found in one pass over the data per fold. Each fold's
#' held-out error is scored in one more pass per fit. So a survey of a
#' `DelayedMatrix` holds out, in law, what `cv_mask(type = "speckled")`
#' holds out, but not the same entries as the survey of the same matrix in
#' memory with the same `seed` (whose folds stay [cv_mask()]'s draws); given
#' the same held-out entries the two surveys fit and score alike, to
#' rounding. Only `type = "speckled"` is available for a `DelayedMatrix`,
#' and checkpoints work as in memory (the data digested by their values).
#'
#' Variance accounted for (beta = 2): the table has a column `vaf`,
#' \eqn{1 - ||X - WH||^2 / ||X||^2} over the observed entries of the
#' unmasked fit (uncentred, as in muscle-synergy analysis, where the rank is
#' often chosen as the smallest with `vaf >= 0.9`).
#'
#' The cophenetic correlation and dispersion come from `consensus()` and the
#' mean component stability from `stability()` of the unmasked fit; they need
#' `nrun > 1` and are `NA` otherwise.
#'
#' @param x a non-negative matrix, data frame of numbers, `dgCMatrix` or
#'   `DelayedMatrix` (as for [nmf()]; see "Data larger than memory").
#' @param ranks the candidate ranks, whole numbers between 1 and
#'   `min(dim(x))`.
#' @param beta the beta of the divergence (fit and held-out score).
#' @param folds the number of hold-out folds (at least 2 for `rule = "1se"`).
#' @param nrun restarts per fit (each fold's fit and the unmasked fit).
#' @param fraction the share of entries held out in each fold.
#' @param seed `NULL` or a whole number.
#' @param rule `"min"` or `"1se"` (see Details).
#' @param threads OpenMP threads per fit; `NULL` (the default) is
#'   [default_threads()], or 1 when the fits run on several `future` workers.
#' @param type,block the hold-out pattern of each fold, passed to
#'   [cv_mask()]: `"speckled"` (random entries), or blocks of `block`
#'   contiguous `"columns"` (e.g. time bins, the choice for neurons x time
#'   bins, whose neighbouring bins are correlated) or `"rows"`.
#' @param checkpoint `NULL`, or the path of a directory where each fit (one
#'   per rank and fold, and the unmasked fit of each rank) is saved as it
#'   finishes; a later call with the same directory and the same arguments (a
#'   whole-number `seed`) reads those back and runs only the others, with the
#'   same survey. See [checkpoints].
#' @param screen a whole number: the iterations every restart of a fold's
#'   fit runs before only the best `max(2, ceiling(nrun / 5))` continue (see
#'   "Screened restarts"); `0` runs every restart to convergence.
#' @param ... further arguments to [nmf()] (e.g. `maxit`, `tol`, `solver`,
#'   `missing = "mask"`); not `mask`.
#' @return An object of class `nmf_rank_survey`: a list with `table` (a data
#'   frame with one row per rank: `rank`, `cv_error` and `cv_sd`, the mean and
#'   standard deviation across folds of the held-out beta-divergence per
#'   held-out entry (for beta <= 1 with the fitted values floored as in "Zero
#'   predictions"), `train_loss`, the mean across folds of the training
#'   beta-divergence per observed entry, and `cophenetic`, `dispersion`,
#'   `stability`, and for beta = 2 `vaf`), `chosen` (the chosen rank), `rule`, `cv` (ranks x folds
#'   matrix of held-out errors), `fits` (the unmasked fits, named by rank),
#'   `beta`, `solver` (the solver of every fit, the folds' and the unmasked
#'   ones), `folds`, `nrun`, `fraction`, `type`, `block`, `seed`,
#'   `fold_seeds` (the [cv_mask()] seed of each fold), `fit_seeds` (the
#'   [nmf()] seed of each fold's fits), `screen` (the screen of the fold
#'   fits' restarts, 0 if none) and `call`; with a `checkpoint`,
#'   `attr(survey, "checkpoint")` counts the fits read back and computed
#'   ([checkpoints]). It has `print()`,
#'   `summary()`, `as.data.frame()`, `autoplot()` and `plot()` methods
#'   ([nmf_rank_survey]).
#' @inheritSection checkpoints Resuming and clusters
#' @references
#' Wold, S. (1978). Cross-validatory estimation of the number of components in
#' factor and principal components models. Technometrics 20(4), 397-405.
#'
#' Owen, A. B. and Perry, P. O. (2009). Bi-cross-validation of the SVD and the
#' nonnegative matrix factorization. Annals of Applied Statistics 3(2),
#' 564-594.
#' @seealso [cv_mask()], [nmf()].
#' @examples
#' set.seed(1)
#' w <- matrix(rexp(40 * 3), 40, 3)
#' h <- matrix(rexp(3 * 30), 3, 30)
#' x <- matrix(rpois(40 * 30, 10 * w %*% h), 40, 30)
#' survey <- nmf_rank(x, ranks = 2:4, beta = 1, folds = 2, nrun = 2, seed = 1, maxit = 500, tol = 1e-4)
#' survey
#' survey$chosen
#' @export
nmf_rank <- function(x, ranks, beta = 2, folds = 5, nrun = 10, fraction = 0.1, seed = NULL,
                     rule = c("min", "1se"), threads = NULL, type = c("speckled", "columns", "rows"),
                     block = 1, checkpoint = NULL, screen = 20, ...) {
  rank_survey(x, ranks, beta = beta, folds = folds, nrun = nrun, fraction = fraction, seed = seed,
              rule = check_choice(rule), threads = threads, type = check_choice(type), block = block,
              checkpoint = checkpoint, screen = screen, dots = list(...), call = match.call())
}

# nmf_rank() with its choices matched and its '...' as the list `dots`.
# fold_masks (tests only): logical matrices, one per fold, held out instead
# of cv_mask()'s draws (x in memory), e.g. the pattern a DelayedMatrix
# survey's folds hold out (R/blocks-rank.R), to compare the two surveys.
rank_survey <- function(x, ranks, beta, folds, nrun, fraction, seed, rule, threads, type, block, checkpoint,
                        screen, dots, call, fold_masks = NULL) {
  beta <- check_beta(beta)
  folds <- check_count(folds, "folds")
  nrun <- check_count(nrun, "nrun")
  # the fits run on the future workers side by side: one thread each
  threads <- if (is.null(threads) && parallel_workers() > 1L) 1L else check_threads(threads)
  if ("mask" %in% names(dots)) {
    abort(paste0("nmf_rank() draws its own hold-out masks, so 'mask' cannot be passed; ",
                 "to leave entries out of every fit, set them to NA and pass missing = \"mask\""))
  }
  taken <- intersect(names(dots), c("rank", "x", "nrun", "seed", "beta", "threads"))
  if (length(taken)) {
    abort(sprintf("'%s' cannot be passed through '...' (nmf_rank() sets it)", taken[1]))
  }
  # every fit takes them, the screened fold fits too: a misspelt one is
  # reported before any fit runs
  dot_names <- if (is.null(names(dots))) rep("", length(dots)) else names(dots)
  unknown <- setdiff(dot_names, names(formals(nmf)))
  if (length(unknown)) {
    abort(sprintf("the arguments in '...' must be named arguments of nmf(); %s is not",
                  if (nzchar(unknown[1])) sprintf("'%s'", unknown[1]) else "an unnamed one"))
  }
  x <- as_nmf_matrix(x, assay = dots[["assay"]], arg = "x")
  delayed <- is_delayed_matrix(x)
  if (delayed) check_delayed_survey(type, fraction) # R/blocks-rank.R
  dots$assay <- NULL
  missing <- check_choice(if (is.null(dots[["missing"]])) "error" else dots[["missing"]], c("error", "mask"),
                          arg = "missing")
  dots$missing <- NULL
  if (!is.null(dots[["solver"]])) {
    dots$solver <- check_choice(dots[["solver"]], c("auto", "hals", "mu", "cd"), arg = "solver")
    check_solver_beta(dots$solver, beta)
  }
  screen <- check_count(screen, "screen", min = 0)
  # screened restarts need restarts to leave out and the driver's plain
  # stopping rule (minimum volume carries a weight fixed at the first run)
  min_volume <- is.numeric(dots[["volume"]]) && any(dots[["volume"]] > 0)
  screened <- screen > 0L && screen_keep(nrun) < nrun && !min_volume
  top <- min(dim(x))
  if (!is.numeric(ranks) || length(ranks) < 1L || anyNA(ranks) || any(!is.finite(ranks)) ||
      any(ranks != round(ranks)) || any(ranks < 1) || any(ranks > top)) {
    abort(sprintf("'ranks' must be whole numbers between 1 and min(dim(x)) = %d", top))
  }
  ranks <- sort(unique(as.integer(ranks)))
  if (rule == "1se" && folds < 2L) {
    abort("rule = \"1se\" needs a standard error across folds: use folds >= 2")
  }
  seed <- resolve_seed(seed)
  folds_cv <- if (delayed) {
    block_cv_folds(x, beta, folds, seed, extra = 1L, fraction = fraction) # R/blocks-rank.R
  } else {
    cv_folds(x, beta, folds, seed, extra = 1L, fraction = fraction, type = type, block = block, masks = fold_masks)
  }
  masks <- folds_cv$masks
  held <- folds_cv$held
  held_x <- folds_cv$held_x
  floors <- folds_cv$floors
  mask_seeds <- folds_cv$mask_seeds
  fit_seeds <- folds_cv$fit_seeds
  full_seed <- folds_cv$extra_seeds

  # the data each fit sees, checked, scaled and with its fold's held-out
  # pattern, prepared once per fold (and once unmasked) and shared by every
  # rank and restart: what nmf(x, mask = masks[[fold]]) would prepare for
  # each of them
  prepared <- lapply(0:folds, function(fold) {
    prepare_data(x, beta = beta, mask = if (fold > 0) masks[[fold]], missing = missing)
  })

  # one job per (rank, fold), then one unmasked fit per rank
  jobs <- rbind(expand.grid(fold = seq_len(folds), rank = ranks), data.frame(fold = 0L, rank = ranks))
  run_job <- function(k) {
    rank <- jobs$rank[k]
    fold <- jobs$fold[k]
    n_warn <- 0L
    empty <- NULL
    fit <- withCallingHandlers(
      if (fold > 0L && screened) {
        screened_fit(prepared[[fold + 1L]], rank, beta, nrun, fit_seeds[fold], threads, dots, screen)
      } else {
        do.call(nmf_prepared, c(list(prepared[[fold + 1L]], rank, beta = beta, nrun = nrun, threads = threads,
                                     seed = if (fold > 0) fit_seeds[fold] else full_seed), dots))
      },
      betanmf_warning_empty = function(w) {
        empty <<- conditionMessage(w)
        invokeRestart("muffleWarning")
      },
      betanmf_warning_convergence = function(w) {
        n_warn <<- n_warn + 1L
        invokeRestart("muffleWarning")
      })
    if (fold == 0L) {
      # a readable call rather than one that embeds the data
      fit$call <- call("nmf", quote(x), rank = rank, beta = beta, nrun = nrun, seed = full_seed)
      return(list(fit = fit, n_warn = n_warn, empty = empty))
    }
    cv <- if (delayed) {
      block_cv_score(x, masks[[fold]], fit, floors[fold], beta) # R/blocks-rank.R
    } else {
      ij <- held[[fold]]
      y <- rowSums(fit$w[ij[, 1], , drop = FALSE] * t(fit$h)[ij[, 2], , drop = FALSE])
      y <- pmax(y, floors[fold])
      beta_divergence(held_x[[fold]], y, beta) / length(y)
    }
    list(cv = cv, train = fit$loss / fit$n_obs, n_warn = n_warn, empty = empty)
  }
  ck <- checkpoint_open(checkpoint, "nmf_rank", x, settings = c(list(
    ranks = ranks, beta = beta, folds = folds, nrun = nrun, fraction = fraction, seed = seed, type = type,
    block = if (type == "speckled") NA else block, missing = missing, dots = dots),
    if (screened) list(screen = screen), # unscreened: the settings of surveys before screening
    if (delayed) list(holdout = block_holdout_rule))) # the folds' rule (R/blocks-rank.R)
  res <- run_streams(nrow(jobs), rng_streams(seed, nrow(jobs)), run_job, label = "rank survey", checkpoint = ck)
  n_warn <- sum(vapply(res, function(r) r$n_warn, integer(1)))
  if (n_warn > 0) {
    warn(sprintf("%d of %d fits reached 'maxit' before converging; pass a larger 'maxit' (or 'tol') through '...'",
                 n_warn, nrow(jobs)), "convergence")
  }
  # rows or columns without an observed entry (all NA): one warning, from
  # the unmasked fits (the folds' masks never empty another one)
  empty <- unlist(lapply(res[jobs$fold == 0], function(r) r$empty))
  if (length(empty)) warn(empty[1], "empty")
  is_cv <- jobs$fold > 0
  cv <- matrix(vapply(res[is_cv], function(r) r$cv, numeric(1)), length(ranks), folds, byrow = TRUE,
               dimnames = list(rank = ranks, fold = seq_len(folds)))
  train <- matrix(vapply(res[is_cv], function(r) r$train, numeric(1)), length(ranks), folds, byrow = TRUE)
  fits <- lapply(res[!is_cv], function(r) r$fit)
  names(fits) <- as.character(ranks)

  cv_sd <- if (folds > 1L) apply(cv, 1, stats::sd) else rep(NA_real_, length(ranks))
  crit <- vapply(fits, restart_criteria, numeric(3))
  table <- data.frame(rank = ranks, cv_error = rowMeans(cv), cv_sd = cv_sd, train_loss = rowMeans(train),
                      cophenetic = crit["cophenetic", ], dispersion = crit["dispersion", ],
                      stability = crit["stability", ], row.names = NULL)
  if (beta == 2) {
    table$vaf <- if (delayed) {
      1 - 2 * vapply(fits, function(f) f$loss, numeric(1), USE.NAMES = FALSE) / block_sum_squares(x)
    } else {
      vapply(fits, vaf, numeric(1), USE.NAMES = FALSE)
    }
  }
  report_nonfinite(cv)
  out <- list(table = table, chosen = choose_rank(table, rule, folds), rule = rule, cv = cv, fits = fits,
              beta = beta, solver = fits[[1]]$solver, folds = folds, nrun = nrun, fraction = fraction,
              type = type, block = if (type == "speckled") NA_integer_ else as.integer(block), dims = dim(x),
              seed = seed, fold_seeds = mask_seeds, fit_seeds = fit_seeds, screen = if (screened) screen else 0L,
              call = call)
  attr(out, "checkpoint") <- attr(res, "checkpoint")
  class(out) <- "nmf_rank_survey"
  out
}

# Screened restarts (?nmf_rank, "Screened restarts"): how many of nrun
# restarts continue past the screen; at least two, so that no fold is scored
# by a single finished restart (one poor local minimum) where nrun > 1.
screen_keep <- function(nrun) as.integer(max(2, ceiling(nrun / 5)))

# A fold's fit with screened restarts: what nmf_prepared(d, rank, beta,
# nrun = nrun, seed = seed, ...) fits, except that every run stops after
# `screen` iterations (rounded up to a multiple of the solver's check
# interval) and only the screen_keep(nrun) runs of smallest training loss
# there continue. Run k starts as nmf_prepared()'s run k (stream k of
# rng_streams(seed, nrun)), and a continued run ends where it would have
# ended uninterrupted: the solvers keep no state between iterations but the
# factors, and a screen of whole check intervals puts the stopping rule's
# checks at the same iterations. Returns what the survey reads of an
# nmf_fit (w, h, loss, n_obs), with nmf_prepared()'s convergence warning.
screened_fit <- function(d, rank, beta, nrun, seed, threads, dots, screen) {
  maxit <- if (is.null(dots[["maxit"]])) 1000 else dots[["maxit"]]
  tol <- if (is.null(dots[["tol"]])) 1e-5 else dots[["tol"]]
  verbose <- isTRUE(dots[["verbose"]])
  a <- check_fit_args(nrun, maxit, tol, threads, verbose)
  solver <- if (is.null(dots[["solver"]])) "auto" else dots[["solver"]]
  if (solver == "auto") solver <- auto_solver(beta)
  rank <- check_rank(rank, d$dims)
  init <- if (is.null(dots[["init"]])) "random" else dots[["init"]]
  if (!identical(init, "random")) { # nmf_prepared() says what is wrong with it
    return(do.call(nmf_prepared, c(list(d, rank, beta = beta, nrun = nrun, threads = threads, seed = seed), dots)))
  }
  ctl <- solver_control(if (is.null(dots[["control"]])) list() else dots[["control"]], solver, d$dims, rank,
                        a$maxit, tol)
  first <- ctl$check * ((screen + ctl$check - 1L) %/% ctl$check)
  if (first >= a$maxit) {
    return(do.call(nmf_prepared, c(list(d, rank, beta = beta, nrun = nrun, threads = threads, seed = seed), dots)))
  }
  streams <- rng_streams(seed, nrun)
  mean_x <- if (!is.null(d$blocks)) d$blocks$mean_x else data_sum(d) / d$n_obs
  run_threads <- if (parallel_workers() > 1L) 1L else a$threads
  runs <- lapply(seq_len(nrun), function(k) {
    start <- with_stream(streams[[k]], init_factors(d$xs, rank, "random", mean_x, d$xscale))
    run_solver(d, start$w, start$h, beta, solver, utils::modifyList(ctl, list(maxit = first)), TRUE,
               run_threads, verbose, run = k)
  })
  losses <- vapply(runs, function(r) r$loss, numeric(1))
  kept <- order(losses)[seq_len(screen_keep(nrun))]
  for (k in kept) {
    r <- runs[[k]]
    if (r$converged) next
    more <- run_solver(d, t(r$wt), r$h, beta, solver, utils::modifyList(ctl, list(maxit = a$maxit - first)),
                       TRUE, run_threads, verbose, run = k)
    more$iterations <- first + more$iterations
    more$trace_iter <- first + more$trace_iter
    runs[[k]] <- more
  }
  best <- kept[which.min(vapply(runs[kept], function(r) r$loss, numeric(1)))]
  n_unconverged <- sum(!vapply(runs[kept], function(r) r$converged, logical(1)))
  if (n_unconverged > 0 && tol > 0) {
    warn(sprintf("%d of %d continued runs reached maxit = %d before the loss stopped decreasing by tol = %g",
                 n_unconverged, length(kept), a$maxit, tol), "convergence")
  }
  fit <- restore_dropped(finish_factors(runs[[best]], d, beta), d$dropped)
  fit$n_obs <- d$n_obs
  fit
}

# 1-based (i, j) of the TRUE entries of a dense or sparse logical mask
mask_entries <- function(mask) {
  if (inherits(mask, "sparseMatrix")) {
    tm <- methods::as(mask, "TsparseMatrix")
    keep <- if (methods::.hasSlot(tm, "x")) tm@x else rep(TRUE, length(tm@i))
    return(cbind(tm@i[keep] + 1L, tm@j[keep] + 1L))
  }
  which(mask, arr.ind = TRUE, useNames = FALSE)
}

# Held-out predictions below this share of the mean observed entry are
# scored as that share (beta <= 1 only; see ?nmf_rank, "Zero predictions").
held_floor <- 0.01

# The rank by `rule`, among the ranks whose mean held-out error is finite
# (an error if none is).
choose_rank <- function(table, rule, folds) {
  finite <- is.finite(table$cv_error)
  if (!any(finite)) {
    abort(paste0("no rank has a finite held-out error, so none can be chosen; ",
                 "see the survey's 'cv' matrix (e.g. beta <= 0 with fitted values of zero)"), "numerical")
  }
  err <- ifelse(finite, table$cv_error, Inf)
  best <- which.min(err)
  if (rule == "min") return(table$rank[best])
  se <- table$cv_sd[best] / sqrt(folds)
  table$rank[which(finite & err <= err[best] + se)[1]]
}

# One warning naming the (rank, fold) cells whose held-out error is not
# finite: those ranks are not chosen.
report_nonfinite <- function(cv) {
  bad <- !is.finite(cv)
  if (!any(bad)) return(invisible())
  where <- vapply(which(rowSums(bad) > 0), function(r) {
    sprintf("rank %s (fold%s %s)", rownames(cv)[r], if (sum(bad[r, ]) > 1) "s" else "",
            paste(colnames(cv)[bad[r, ]], collapse = ", "))
  }, character(1))
  warn(sprintf(paste0("%d of %d held-out errors are not finite: %s; ",
                      "ranks with a non-finite mean held-out error are not chosen"),
               sum(bad), length(cv), paste(where, collapse = "; ")), "numerical")
}

# Variance accounted for, uncentred (the muscle-synergy convention):
# 1 - ||X - WH||^2 / ||X||^2 over the observed entries of a beta = 2 fit,
# whose loss is half the residual sum of squares.
vaf <- function(fit) {
  x <- observed_values(fit)
  1 - 2 * fit$loss / sum(x^2)
}

# The cophenetic correlation and dispersion come from consensus_criteria()
# (R/consensus.R: consensus()'s values without its n x n matrices); stability() lives in its
# own file and may be absent from a given build: NA then, as for single-run
# fits where they mean nothing.
restart_criteria <- function(fit) {
  out <- c(cophenetic = NA_real_, dispersion = NA_real_, stability = NA_real_)
  if (is.null(fit$runs) || length(fit$runs) < 2L) return(out)
  ns <- environment(restart_criteria)
  scalar <- function(v) if (is.numeric(v) && length(v) == 1L) as.double(v) else NA_real_
  cons <- tryCatch(consensus_criteria(fit), error = function(e) NULL)
  out["cophenetic"] <- scalar(cons[["cophenetic"]])
  out["dispersion"] <- scalar(cons[["dispersion"]])
  if (exists("stability", envir = ns, mode = "function", inherits = FALSE)) {
    stab <- tryCatch(get("stability", envir = ns, mode = "function")(fit), error = function(e) NULL)
    out["stability"] <- scalar(stab$mean_stability)
  }
  out
}

rule_text <- function(rule) {
  if (rule == "min") "smallest mean held-out error"
  else "smallest rank within one standard error of the smallest mean held-out error"
}

#' Methods for rank surveys
#'
#' `print()` shows the survey's table and chosen rank; `summary()` adds the
#' rank each rule would choose; `as.data.frame()` is the table (one row per
#' rank); `autoplot()` draws one panel per criterion (held-out error with
#' +/- one standard deviation across folds, never below zero, training loss,
#' and, when available, variance accounted for, cophenetic correlation,
#' dispersion and stability) with the chosen rank marked by a dashed line, as
#' a ggplot object; `plot()` draws it. When the errors span more than a
#' factor of 10 across the ranks (small cohorts, where the largest ranks
#' overfit badly), the two error panels are drawn on a log10 scale so every
#' rank stays visible; ranks whose held-out error is not finite are named in
#' the caption.
#'
#' @param x,object an `nmf_rank_survey` from [nmf_rank()].
#' @param digits significant digits to print.
#' @param ... unused.
#' @return `print()` and `plot()`: `x` and the ggplot, invisibly; `summary()`:
#'   a `summary.nmf_rank_survey` list; `as.data.frame()`: a data frame;
#'   `autoplot()`: a ggplot object.
#' @name nmf_rank_survey
#' @examples
#' set.seed(2)
#' x <- matrix(rpois(30 * 20, 5 * rexp(30) %o% rexp(20) + 5 * rexp(30) %o% rexp(20)), 30, 20)
#' survey <- nmf_rank(x, 1:3, beta = 1, folds = 2, nrun = 1, seed = 1, tol = 1e-4)
#' summary(survey)
#' as.data.frame(survey)
#' p <- autoplot(survey)
#' class(p)
NULL

#' @rdname nmf_rank_survey
#' @export
print.nmf_rank_survey <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat(sprintf("<nmf_rank_survey> %d x %d matrix, beta = %g, ranks %s\n", x$dims[1], x$dims[2], x$beta,
              paste(range(x$table$rank), collapse = "-")))
  cat(sprintf("%d folds holding out %g%% of the entries (%s), %d run%s per fit\n", x$folds, 100 * x$fraction,
              if (x$type == "speckled") "speckled" else sprintf("%s in blocks of %d", x$type, x$block),
              x$nrun, if (x$nrun == 1L) "" else "s"))
  cat(sprintf("chosen rank: %d (rule \"%s\": %s)\n", x$chosen, x$rule, rule_text(x$rule)))
  tab <- x$table
  tab <- tab[, colSums(!is.na(tab)) > 0, drop = FALSE]
  print(tab, digits = digits, row.names = FALSE)
  if (!is.null(tab$vaf)) cat(vaf_note, sep = "\n")
  invisible(x)
}

vaf_note <- c("vaf: variance accounted for, 1 - ||X - WH||^2 / ||X||^2 over the observed entries of the unmasked fit",
              "(uncentred; muscle synergies often take the smallest rank with vaf >= 0.9)")

#' @rdname nmf_rank_survey
#' @export
summary.nmf_rank_survey <- function(object, ...) {
  tab <- object$table
  best <- which.min(tab$cv_error)
  out <- list(table = tab, chosen = object$chosen, rule = object$rule,
              chosen_min = choose_rank(tab, "min", object$folds),
              chosen_1se = if (object$folds > 1L) choose_rank(tab, "1se", object$folds) else NA_integer_,
              se_at_min = if (length(best)) tab$cv_sd[best] / sqrt(object$folds) else NA_real_,
              beta = object$beta, folds = object$folds, nrun = object$nrun)
  class(out) <- "summary.nmf_rank_survey"
  out
}

#' @export
print.summary.nmf_rank_survey <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat(sprintf("Rank survey, beta = %g, %d folds, %d run%s per fit\n", x$beta, x$folds, x$nrun,
              if (x$nrun == 1L) "" else "s"))
  cat(sprintf("rank with the smallest mean held-out error: %d\n", x$chosen_min))
  if (!is.na(x$chosen_1se)) {
    cat(sprintf("smallest rank within one standard error (%s) of it: %d\n",
                format(x$se_at_min, digits = digits), x$chosen_1se))
  }
  cat(sprintf("chosen (rule \"%s\"): %d\n", x$rule, x$chosen))
  print(x$table, digits = digits, row.names = FALSE)
  if (!is.null(x$table$vaf)) cat(vaf_note, sep = "\n")
  invisible(x)
}

#' @rdname nmf_rank_survey
#' @param row.names,optional unused (the table has one row per rank).
#' @export
as.data.frame.nmf_rank_survey <- function(x, row.names = NULL, optional = FALSE, ...) {
  x$table
}

#' @rdname nmf_rank_survey
#' @param log `NULL` (the default), `TRUE` or `FALSE`: draw the held-out
#'   error and the training loss on a log10 scale. `NULL` does so when either
#'   spans more than a factor of 10 across the ranks, as on small cohorts,
#'   where the error of the larger ranks would otherwise flatten the others.
#' @method autoplot nmf_rank_survey
#' @export
autoplot.nmf_rank_survey <- function(object, log = NULL, ...) {
  tab <- object$table
  if (!is.null(log) && (!is.logical(log) || length(log) != 1L || is.na(log))) {
    abort("'log' must be NULL, TRUE or FALSE")
  }
  crit <- c(cv_error = "held-out error", train_loss = "training loss", vaf = "variance accounted for",
            cophenetic = "cophenetic", dispersion = "dispersion", stability = "stability")
  present <- names(crit)[vapply(names(crit), function(k) any(is.finite(tab[[k]])), logical(1))]
  # spread: mean +/- sd across folds, never below zero (nor below the
  # smallest fold's error on a log scale, where zero cannot be drawn)
  lower <- pmax(tab$cv_error - tab$cv_sd, 0)
  upper <- tab$cv_error + tab$cv_sd
  errors <- c(tab$cv_error, tab$train_loss)
  errors <- errors[is.finite(errors) & errors > 0]
  spans_decades <- function(v) {
    v <- v[is.finite(v) & v > 0]
    length(v) > 1L && max(v) / min(v) > 10
  }
  if (is.null(log)) log <- spans_decades(tab$cv_error) || spans_decades(tab$train_loss)
  if (log) {
    if (!length(errors) || any(c(tab$cv_error, tab$train_loss) <= 0, na.rm = TRUE)) {
      abort("log = TRUE needs positive held-out errors and training losses")
    }
    fold_min <- apply(object$cv, 1, function(v) if (any(is.finite(v))) min(v[is.finite(v)]) else NA_real_)
    lower <- ifelse(lower > 0, lower, fold_min)
  }
  logged <- c("cv_error", "train_loss")
  label <- function(k) if (log && k %in% logged) paste0(crit[[k]], " (log10)") else crit[[k]]
  tr <- function(k, v) if (log && k %in% logged) log10(v) else v
  long <- do.call(rbind, lapply(present, function(k) {
    data.frame(rank = tab$rank, criterion = label(k), value = tr(k, tab[[k]]),
               lower = if (k == "cv_error") tr(k, lower) else NA_real_,
               upper = if (k == "cv_error") tr(k, upper) else NA_real_)
  }))
  long$criterion <- factor(long$criterion, levels = vapply(present, label, character(1), USE.NAMES = FALSE))
  bars <- long[is.finite(long$lower) & is.finite(long$upper), , drop = FALSE]
  not_finite <- tab$rank[!is.finite(tab$cv_error)]
  p <- ggplot2::ggplot(long[is.finite(long$value), , drop = FALSE], ggplot2::aes(x = .data$rank, y = .data$value)) +
    ggplot2::geom_vline(xintercept = object$chosen, linetype = "dashed", colour = "#b2182b") +
    ggplot2::geom_line() +
    ggplot2::geom_point()
  if (nrow(bars)) {
    p <- p + ggplot2::geom_errorbar(data = bars, ggplot2::aes(ymin = .data$lower, ymax = .data$upper),
                                    width = 0.15)
  }
  p + ggplot2::facet_wrap(~criterion, scales = "free_y") +
    ggplot2::scale_x_continuous(breaks = tab$rank, limits = range(tab$rank) + c(-0.3, 0.3)) +
    ggplot2::labs(x = "rank", y = NULL,
                  title = sprintf("Rank survey: chosen rank %d (rule \"%s\")", object$chosen, object$rule),
                  subtitle = sprintf("beta = %g; held-out error per entry, mean \u00b1 sd over %d folds%s",
                                     object$beta, object$folds, if (log) "; errors on a log10 scale" else ""),
                  caption = if (length(not_finite)) {
                    sprintf("held-out error not finite at rank %s", paste(not_finite, collapse = ", "))
                  }) +
    ggplot2::theme_minimal()
}

#' @rdname nmf_rank_survey
#' @export
plot.nmf_rank_survey <- function(x, ...) {
  p <- autoplot(x, ...)
  print(p)
  invisible(p)
}
