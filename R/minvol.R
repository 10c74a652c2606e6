# Minimum volume chosen from the data: nmf(..., volume = "auto").
#
# A grid of relative weights (Leplat, Gillis & Ang 2020's relative scaling,
# as a number given to `volume` is read) is scored by speckled hold-outs
# (cv_mask(), scored as nmf_rank() scores them, with held_floor) and by the
# stability of the components across the hold-out fits (stability()); see
# ?nmf, "Choosing the volume", for the rule and why.

# The relative weights tried (0 = plain NMF), the hold-out folds, the share
# of entries each holds out, and the stability tolerance of the rule.
volume_grid <- c(0, 0.001, 0.003, 0.01, 0.03, 0.1)
volume_folds <- 3L
volume_fraction <- 0.1
volume_stability_tol <- 0.01

# nmf(volume = "auto") on the prepared data `d` (its checks done): the
# selection fits, the rule, then the fit at the chosen weight from `seed`
# (what nmf(volume = <chosen>, seed = seed) returns), with the selection in
# $volume_selection.
nmf_auto_volume <- function(d, rank, beta, solver, init, nrun, seed, maxit, tol, threads, verbose, control, call,
                            checkpoint, missing) {
  seed <- resolve_seed(seed)
  rank <- check_rank(rank, d$dims)
  # a penalty on W clashes with the grid's positive weights: say so before
  # any fit runs
  check_volume(volume_grid[length(volume_grid)], solver, solver_control(control, "mu", d$dims, rank, maxit, tol))
  sel <- select_volume(d, rank, beta, solver, seed, maxit, tol, threads, control)
  fit <- nmf_prepared(d, rank, beta, solver, init, nrun, seed, maxit, tol, threads, verbose, control, call,
                      volume = sel$chosen, checkpoint = checkpoint, missing = missing)
  fit$volume_selection <- sel
  fit
}

# The selection: per fold a speckled hold-out of the observed entries and
# one random start (its seed derived from `seed`), shared by every weight of
# the grid, so the weights differ in the weight only.
select_volume <- function(d, rank, beta, solver, seed, maxit, tol, threads, control) {
  folds <- volume_folds
  # the data at the user's dimensions, the user's left-out entries (mask,
  # NA) as NA, so the hold-outs draw among the observed entries only
  x <- if (is.null(d$dropped)) d$x else d$dropped$x
  hold <- if (is.null(d$dropped)) d$hold_ij else d$dropped$hold_ij
  if (!is.null(hold) && length(hold$i)) {
    ij <- cbind(hold$i + 1L, hold$j + 1L)
    if (inherits(x, "sparseMatrix")) {
      x <- x + Matrix::sparseMatrix(i = ij[, 1], j = ij[, 2], x = NA_real_, dims = dim(x))
    } else {
      x[ij] <- NA
    }
  }
  folds_cv <- cv_folds(x, beta, folds, seed, fraction = volume_fraction)
  masks <- folds_cv$masks
  held <- folds_cv$held
  held_x <- folds_cv$held_x
  floors <- folds_cv$floors
  mask_seeds <- folds_cv$mask_seeds
  fit_seeds <- folds_cv$fit_seeds
  prepared <- lapply(masks, function(m) prepare_data(x, beta = beta, mask = m, missing = "mask"))
  jobs <- expand.grid(fold = seq_len(folds), volume = volume_grid)
  run_job <- function(k) {
    fold <- jobs$fold[k]
    fit <- suppressWarnings(nmf_prepared(prepared[[fold]], rank, beta, solver, "random", 1L, fit_seeds[fold], maxit,
                                         tol, threads, FALSE, control, volume = jobs$volume[k]))
    ij <- held[[fold]]
    y <- pmax(rowSums(fit$w[ij[, 1], , drop = FALSE] * t(fit$h)[ij[, 2], , drop = FALSE]), floors[fold])
    list(w = fit$w, h = fit$h, cv = beta_divergence(held_x[[fold]], y, beta) / length(y))
  }
  res <- run_streams(nrow(jobs), rng_streams(seed, nrow(jobs)), run_job, label = "volume selection")
  cv <- matrix(vapply(res, function(r) r$cv, numeric(1)), folds, length(volume_grid),
               dimnames = list(fold = seq_len(folds), volume = volume_grid))
  stab <- vapply(seq_along(volume_grid), function(g) {
    runs <- lapply(res[jobs$volume == volume_grid[g]], function(r) r[c("w", "h")])
    st <- stability(structure(list(runs = runs, best = 1L), class = "nmf_fit"))
    min(st$components$mean_cosine)
  }, numeric(1))
  table <- data.frame(volume = volume_grid, cv_error = colMeans(cv), cv_se = apply(cv, 2, stats::sd) / sqrt(folds),
                      stability = stab, row.names = NULL)
  rule <- volume_rule(table)
  table$candidate <- rule$candidate
  list(table = table, chosen = table$volume[rule$chosen], cv = cv, folds = folds, fraction = volume_fraction,
       fold_seeds = mask_seeds, fit_seeds = fit_seeds)
}

# The rule (?nmf, "Choosing the volume"): the weights whose mean held-out
# error is within one standard error of the smallest are candidates; among
# them, the largest whose least stable component is within
# volume_stability_tol of the most stable candidate's.
volume_rule <- function(table) {
  err <- ifelse(is.finite(table$cv_error), table$cv_error, Inf)
  if (!any(is.finite(err))) {
    abort("no weight of the volume grid has a finite held-out error, so none can be chosen", "numerical")
  }
  best <- which.min(err)
  se <- if (is.finite(table$cv_se[best])) table$cv_se[best] else 0
  candidate <- err <= err[best] + se
  stab <- ifelse(is.finite(table$stability), table$stability, -Inf)
  top <- max(stab[candidate])
  ok <- candidate & stab >= top - volume_stability_tol
  list(candidate = candidate, chosen = max(which(ok)))
}
