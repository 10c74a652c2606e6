#' Convolutive NMF for sequences (seqNMF) under the beta-divergence
#'
#' Approximates a non-negative matrix `x` (neurons x time bins) by a sum of
#' time-shifted factorizations,
#' \deqn{X \approx \sum_{l=0}^{L-1} W_l \, S_l(H),}{X ~ sum_{l = 0}^{L - 1} W_l S_l(H),}
#' where \eqn{S_l}{S_l} shifts the columns of `H` right by `l` bins (zeros
#' enter): component `k` is a motif `w[, k, ]` (neurons x lags), a sequence of
#' firing over `lags` bins, and its activation row `h[k, ]` says when the
#' sequence starts. Ordinary NMF (`lags = 1`) splits one sequence into
#' several components, one per lag. The fit minimises
#' \deqn{D_\beta(X | Y) + \lambda' R(W, H) + l1w \sum W + l1h \sum H}{D_beta(X | Y) + lambda' R(W, H) + l1w sum(W) + l1h sum(H)}
#' over the observed entries, with `beta = 1` (Kullback-Leibler, the Poisson
#' likelihood: spike counts) by default.
#'
#' The updates are the multiplicative updates of Fevotte & Idier (2011) for
#' the stacked problem (every lag of `W` against the shifted copies of `H`,
#' without forming them), with their exponent: every lag of `W` moves
#' together from one model (as in seqNMF), then `H`. With `lambda = 0` and
#' `l1w = l1h = 0` the divergence never increases.
#'
#' @section The x-ortho penalty:
#' seqNMF's cross-orthogonality penalty (Mackevicius et al. 2019) is
#' \eqn{R = \sum_{i \ne j} [(W^T \circledast X) S H^T]_{ij}}{R = sum_{i != j} [(W' (*) X) S H']_ij},
#' where \eqn{(W^T \circledast X)[k, t] = \sum_l \sum_i W[i, k, l] X[i, t + l]}{(W' (*) X)[k, t] = sum_l sum_i W[i, k, l] X[i, t + l]}
#' and `S` sums over a band of `2 * lags - 1` bins: it is large when two
#' components are active at overlapping times on the same part of the data,
#' and so stops one sequence from being explained by several components.
#' Like seqNMF, its gradient enters the denominators of the updates. `R` is
#' linear in `H` for `W` fixed and in `W` for `H` fixed, so for `beta = 1`
#' (Fevotte & Idier's majorizer plus a linear term) and `beta = 2` (Lee &
#' Seung's diagonal majorizer, which a positive term in the denominator only
#' enlarges) each half update is an exact majorize-minimize step of the
#' penalised objective, L1 included, and the objective (`loss + penalty` in
#' the trace) does not increase. For other `beta` the penalised update is
#' the usual heuristic, not proven to descend. seqNMF also rescales the rows of `H` to unit
#' norm every iteration, which changes `R` (it is not invariant to moving
#' scale between a component's motif and its activations) and makes its
#' update no longer a descent step; here the scale is left free during the
#' fit and fixed only on return, so `penalty` (at the returned factors) can
#' differ from the trace's last value, which is at the iterate. Held-out
#' entries are zero in the `X` of the penalty.
#'
#' Scaling of `lambda`: for `beta = 2` the objective is seqNMF's
#' (\eqn{\frac12 \|X - Y\|^2 + \lambda R}{||X - Y||^2 / 2 + lambda R}, the
#' objective its update descends), and both terms scale as the square of the
#' units of `x`, so `lambda` does not depend on them. For other `beta` the
#' divergence scales as the `beta`-th power, so the weight used is
#' \eqn{\lambda' = \lambda \bar{x}^{\beta - 2}}{lambda' = lambda * xbar^(beta - 2)},
#' `xbar` the mean of the observed entries of `x`: `lambda` then means the
#' same whatever the units (spike counts or rates). seqNMF recommends
#' choosing `lambda` by a sweep: fit over a range of values (e.g. 10^-5 to
#' 10^-1 on a log scale), scale the reconstruction cost and the x-ortho cost
#' each to \[0, 1\] over the sweep, and take `lambda` a little above the
#' crossover, where the two curves meet (Mackevicius et al. 2019, "Choosing
#' lambda"): below it several components share a sequence, far above it the
#' reconstruction suffers.
#'
#' @section Starts:
#' The convolutive objective has many local minima: from a random start a
#' motif often ends up holding pieces of two sequences, or a sequence
#' shifted and cut at the end of the motif, and the multiplicative updates
#' cannot move it back. On the planted sequences of issue 27 (3 sequences of
#' 20 neurons over 20 bins in 100 neurons x 5000 bins of Poisson counts on a
#' background, `tools/conv-planted-starts.R`), 18 of 100 random starts found
#' every motif at a cosine of at least 0.9, and a fit started at the planted
#' factors ended at a lower objective than the best of 10 random starts on
#' every seed: the misses are local minima of the start, not a bias of the
#' model (which has no baseline term). `init = "windows"` starts from the
#' co-firing of each sequence's neurons instead: the data are summed over
#' windows of `lags` bins (an occurrence of a sequence then puts all its
#' members' spikes in the bin of its onset), an ordinary KL-NMF of those sums
#' at the same rank finds each sequence's neurons and onsets, and each motif
#' starts flat over the lags at its neurons; the updates then find the
#' timing. On the same data it found every motif on all 10 seeds from a
#' single start (smallest matched cosine 0.96 to 0.98, as from the planted
#' factors), at the objective of the fit started at the truth to within
#' 0.02 %, below the best of 10 random starts on every seed. With
#' `nrun > 1`, each restart's NMF draws its own start. It is the default;
#' `init = "random"` gives the random start.
#'
#' @param x a non-negative matrix (neurons x time bins), a data frame of
#'   numbers or a `Matrix::dgCMatrix` (kept sparse: at `beta = 1` an
#'   iteration then costs in proportion to the non-zeros times `rank * lags`).
#' @param rank the number of components (motifs).
#' @param lags the length `L` of each motif in time bins, between 1 and
#'   `ncol(x)`. `lags = 1` is ordinary NMF (the iterates of
#'   `nmf(solver = "mu")`).
#' @param beta the beta of the divergence (1: KL/Poisson, 2: least squares).
#' @param lambda the relative weight of the x-ortho penalty (see its section),
#'   0 for none.
#' @param l1w,l1h L1 penalties on `W` and `H` (in the units of the loss),
#'   added to the denominators of the updates as in [nmf()]. The scale
#'   between a motif and its activations is free during the fit, so a
#'   penalty on one factor alone can be lowered by moving scale into the
#'   other: the fit then drifts that way instead of making the factor
#'   sparse. Penalise both (`l1w` and `l1h` together act on the product of
#'   each component's totals).
#' @param mask `NULL`, or a logical matrix (or sparse pattern) of the
#'   dimensions of `x` whose `TRUE` entries are left out of the fit. Time
#'   bins with no observed entry (dropped frames) are kept: the activations
#'   around them are fitted on the other bins. A neuron with no observed
#'   entry gets zero loadings, with a warning of class
#'   `betanmf_warning_empty`.
#' @param missing `"error"` or `"mask"` for `NA` in `x`, as in [nmf()].
#' @param nrun the number of restarts; the one with the lowest objective is
#'   returned and all are kept in `$runs`.
#' @param seed `NULL` or a whole number; each restart draws its start from its
#'   own stream derived from it, as in [nmf()].
#' @param maxit the maximum number of iterations.
#' @param tol the relative decrease of the objective per iteration below
#'   which the fit stops; `0` runs `maxit` iterations.
#' @param init `"windows"` (the default: from an ordinary NMF of `x` summed
#'   over windows of `lags` bins; see "Starts"), `"random"` (entries
#'   `|N(0, 1)|` scaled so that the model has the mean of `x`), or a list with `w` (an m x rank x
#'   lags array) and `h` (a rank x n matrix).
#' @param threads the number of OpenMP threads (results do not depend on it).
#' @param verbose print the loss (and penalty) every iteration.
#' @return An object of class `nmf_conv`: `w` (array neurons x rank x lags,
#'   each motif summing to one over neurons and lags), `h` (rank x time bins,
#'   carrying the scale), `beta`, `rank`, `lags`, `lambda`, `lam` (the
#'   absolute weight \eqn{\lambda'}{lambda'}), `l1w`, `l1h`, `loss` (the
#'   beta-divergence at the returned factors, in the units of `x`),
#'   `penalty` (\eqn{\lambda' R}{lambda' R} at the returned factors),
#'   `objective` (the divergence plus the penalty at the last iterate: what
#'   the fit minimised, and what picks the best of several runs), `trace`
#'   (data frame of iteration, loss and penalty at the iterates),
#'   `iterations`, `converged`, `seed`, `call`, and with `nrun > 1` `runs`
#'   and `best`. Components are ordered by decreasing total activation
#'   `rowSums(h)`.
#' @references
#' Smaragdis, P. (2004). Non-negative matrix factor deconvolution;
#' extraction of multiple sound sources from monophonic inputs. ICA 2004,
#' LNCS 3195, 494-499.
#'
#' Mackevicius, E. L., Bahle, A. H., Williams, A. H., Gu, S., Denisenko,
#' N. I., Goldman, M. S. and Fee, M. S. (2019). Unsupervised discovery of
#' temporal sequences in high-dimensional datasets, with applications to
#' neuroscience. eLife 8, e38471.
#'
#' Fevotte, C. and Idier, J. (2011). Algorithms for nonnegative matrix
#' factorization with the beta-divergence. Neural Computation 23(9),
#' 2421-2456.
#' @seealso [predict.nmf_conv()], [nmf()].
#' @examples
#' set.seed(1)
#' m <- 30; n <- 400; L <- 8
#' w <- array(0, c(m, 2, L))
#' for (i in 1:15) w[i, 1, 1 + (i - 1) %% L] <- 1
#' for (i in 16:30) w[i, 2, 1 + (i - 16) %% L] <- 1
#' h <- matrix(rbinom(2 * n, 1, 0.02) * 5, 2, n)
#' y <- Reduce(`+`, lapply(1:L, function(l)
#'   w[, , l] %*% cbind(matrix(0, 2, l - 1), h[, seq_len(n - l + 1)])))
#' x <- matrix(rpois(m * n, y + 0.05), m, n)
#' fit <- nmf_conv(x, rank = 2, lags = L, seed = 1, maxit = 100)
#' fit
#' @export
nmf_conv <- function(x, rank, lags, beta = 1, lambda = 0, l1w = 0, l1h = 0, mask = NULL,
                     missing = c("error", "mask"), nrun = 1, seed = NULL, maxit = 200, tol = 1e-4,
                     init = "windows", threads = 1, verbose = FALSE) {
  call <- match.call()
  beta <- check_beta(beta)
  missing <- check_choice(missing)
  a <- check_fit_args(nrun, maxit, tol, threads, verbose)
  lambda <- check_nonneg(lambda, "lambda")
  l1w <- check_nonneg(l1w, "l1w")
  l1h <- check_nonneg(l1h, "l1h")
  d <- prepare_data(x, beta = beta, mask = mask, missing = missing, drop_empty = FALSE)
  rank <- check_rank(rank, d$dims)
  lags <- check_lags(lags, d$dims[2])
  if (is.list(init)) {
    start <- check_conv_init(init, d$dims, rank, lags, d$scale)
    init_name <- "user"
  } else {
    if (!(identical(init, "random") || identical(init, "windows"))) {
      abort("'init' must be \"random\", \"windows\" or a list with an array 'w' and a matrix 'h'")
    }
    init_name <- init
  }
  # each restart of "windows" draws its own NMF start
  if (init_name != "windows") check_restart_init(init_name, a$nrun)
  seed <- resolve_seed(seed)
  streams <- rng_streams(seed, a$nrun)
  mean_int <- data_sum(d) / d$n_obs
  # the weights in internal units (data divided by d$scale): the objective
  # divided by scale^beta, W unit-free and H in the units of x
  lam <- lambda * mean_int^(beta - 2)
  ctl <- list(beta = beta, lags = lags, maxit = a$maxit, tol = tol, l1w = l1w / d$scale^beta,
              l1h = l1h * d$scale^(1 - beta), lam = lam, update_w = TRUE, threads = a$threads,
              verbose = isTRUE(verbose), unit = d$scale^beta, run = 0L)
  one_run <- function(k) {
    s <- switch(init_name, user = start, random = conv_random_start(d, rank, lags, mean_int),
                windows = conv_windows_start(d, rank, lags, a$threads))
    res <- conv_call(d, s$w, s$h, utils::modifyList(ctl, list(run = if (a$nrun > 1L) k else 0L)))
    conv_finish(res, d, beta, lags, lam)
  }
  runs <- run_streams(a$nrun, streams, one_run, label = "nmf_conv restarts")
  if (d$n_held > 0) {
    # a neuron never observed says nothing about its loadings: the updates
    # take its rows of W to zero (a time bin never observed is different:
    # the activations before it are fitted on the bins after them)
    empty_rows <- which(tabulate(d$hold_ij$i + 1L, nbins = d$dims[1]) >= d$dims[2])
    if (length(empty_rows)) {
      warn(sprintf(paste0("'x' has %d row%s (%s) with no observed entry: %s loadings in 'w' are zero, ",
                          "and fitted values there mean nothing"), length(empty_rows),
                   if (length(empty_rows) > 1) "s" else "", index_ranges(empty_rows),
                   if (length(empty_rows) > 1) "their" else "its"), "empty")
    }
  }
  # the objective each run minimised, at its last iterate (the penalty at
  # the returned, rescaled factors is another number: see "The x-ortho penalty")
  objectives <- vapply(runs, function(r) r$objective, numeric(1))
  best <- which.min(objectives)
  fit <- runs[[best]]
  n_unconverged <- sum(!vapply(runs, function(r) r$converged, logical(1)))
  if (n_unconverged > 0 && tol > 0) {
    warn(sprintf(paste0("%s reached maxit = %d before the objective stopped decreasing by tol = %g per ",
                        "iteration; raise 'maxit' or 'tol'"),
                 if (a$nrun == 1L) "the fit" else sprintf("%d of %d runs", n_unconverged, a$nrun),
                 a$maxit, tol), "convergence")
  }
  fit$beta <- beta
  fit$rank <- rank
  fit$lags <- lags
  fit$lambda <- lambda
  fit$lam <- lam * d$scale^(beta - 2)
  fit$l1w <- l1w
  fit$l1h <- l1h
  fit$init <- init_name
  fit$seed <- seed
  fit$nrun <- a$nrun
  fit$call <- call
  fit$x <- d$x
  fit$mask <- if (d$n_held > 0) d$hold_ij else NULL
  fit$n_obs <- d$n_obs
  if (a$nrun > 1L) {
    fit$runs <- lapply(runs, function(r) r[c("w", "h", "loss", "penalty", "objective", "iterations", "converged")])
    fit$best <- best
  }
  class(fit) <- "nmf_conv"
  fit
}

check_nonneg <- function(value, arg) {
  if (!is.numeric(value) || length(value) != 1L || is.na(value) || !is.finite(value) || value < 0) {
    abort(sprintf("'%s' must be a single non-negative number", arg))
  }
  as.double(value)
}

check_lags <- function(lags, n) {
  if (!is.numeric(lags) || length(lags) != 1L || is.na(lags) || !is.finite(lags) || lags != round(lags) ||
      lags < 1 || lags > n) {
    abort(sprintf("'lags' must be a single whole number between 1 and ncol(x) = %d (the motif length in time bins)",
                  n))
  }
  as.integer(lags)
}

# A user start list(w = m x rank x lags array, h = rank x n), checked, in
# internal units (H divided by the data's scale).
check_conv_init <- function(init, dims, rank, lags, scale) {
  if (!all(c("w", "h") %in% names(init))) {
    abort("'init' must be \"random\" or a list with an array 'w' and a matrix 'h'")
  }
  w <- init$w
  h <- init$h
  if (is.matrix(w) && lags == 1L) w <- array(w, c(dim(w), 1L))
  want_w <- as.integer(c(dims[1], rank, lags))
  if (!is.numeric(w) || !identical(as.integer(dim(w)), want_w)) {
    abort(sprintf("'init$w' must be a numeric %d x %d x %d array (rows of x by rank by lags)",
                  want_w[1], want_w[2], want_w[3]))
  }
  if (!is.matrix(h) || !is.numeric(h) || !identical(as.integer(dim(h)), as.integer(c(rank, dims[2])))) {
    abort(sprintf("'init$h' must be a numeric %d x %d matrix (rank by columns of x)", rank, dims[2]))
  }
  if (any(!is.finite(w)) || any(!is.finite(h))) abort("'init$w' and 'init$h' must be finite", "data")
  if (any(w < 0) || any(h < 0)) abort("'init$w' and 'init$h' must be non-negative", "data")
  w <- array(as.double(w), want_w)
  list(w = w, h = matrix(as.double(h), rank, dims[2]) / scale)
}

# |N(0, 1)| entries scaled so that the model sum_l W_l S_l(H) has about the
# data's mean (rank * lags terms per entry), in internal units.
conv_random_start <- function(d, rank, lags, mean_int) {
  a <- sqrt(mean_int / (rank * lags))
  m <- d$dims[1]
  n <- d$dims[2]
  w <- array(abs(stats::rnorm(m * rank * lags)) * a, c(m, rank, lags))
  h <- matrix(abs(stats::rnorm(rank * n)) * a, rank, n)
  list(w = w, h = h)
}

# A start from the co-firing of each sequence's neurons (init = "windows"):
# the members of a sequence fire within `lags` bins of its onset, so in the
# sums of the data over windows of `lags` bins, V[, t] = sum of X[, t .. t +
# lags - 1], an occurrence starting at t adds the whole motif's mass to its
# members at t, and ordinary KL-NMF of V at the rank finds the sequences'
# neurons (W) and onsets (H) without their timing. Each motif starts flat
# over the lags at its column of W, with H / lags as activations (the model
# is then V's fit spread over the window), plus a thousandth of their means
# so that the multiplicative updates can move every entry. Held-out (and NA)
# entries are zero in V, so a fold never sees what it is scored on. The NMF
# draws its start from the run's stream. In internal units.
conv_windows_start <- function(d, rank, lags, threads) {
  xs <- if (is.null(d$sp)) d$xs else d$xs / d$xscale
  n <- d$dims[2]
  band <- Matrix::bandSparse(n, n, k = -(seq_len(lags) - 1L))
  v <- xs %*% band
  v <- if (is.null(d$sp)) as.matrix(v) else methods::as(v, "CsparseMatrix")
  fit <- withCallingHandlers(
    nmf(v, rank, beta = 1, seed = sample.int(.Machine$integer.max, 1L), maxit = 200, tol = 1e-4,
        threads = threads),
    betanmf_warning_convergence = function(w) invokeRestart("muffleWarning"),
    betanmf_warning_empty = function(w) invokeRestart("muffleWarning"))
  w <- unname(fit$w)
  h <- unname(fit$h) / lags
  list(w = array(rep(w + 1e-3 * mean(w), lags), c(d$dims[1], rank, lags)), h = h + 1e-3 * mean(h))
}

conv_call <- function(d, w, h, ctl) {
  data <- list(dense = d$dense, sparse = d$sp, dims = as.integer(d$dims), hold = d$hold)
  storage.mode(w) <- "double"
  storage.mode(h) <- "double"
  .Call(C_nmf_conv, data, w, h, ctl)
}

# Back to the user's units: each motif sums to one over neurons and lags, H
# carries the scale, components by decreasing total activation, names as nmf().
conv_finish <- function(res, d, beta, lags, lam) {
  m <- d$dims[1]
  rank <- nrow(res$h)
  w <- array(res$w, c(m, rank, lags))
  h <- res$h * d$scale
  cs <- apply(w, 2, sum)
  nz <- cs > 0
  for (k in which(nz)) {
    w[, k, ] <- w[, k, ] / cs[k]
    h[k, ] <- h[k, ] * cs[k]
  }
  ord <- order(rowSums(h), decreasing = TRUE)
  w <- w[, ord, , drop = FALSE]
  h <- h[ord, , drop = FALSE]
  comp <- paste0("NMF", seq_len(rank))
  dimnames(w) <- list(d$dimnames[[1]], comp, paste0("lag", seq_len(lags) - 1L))
  dimnames(h) <- list(comp, d$dimnames[[2]])
  unit <- d$scale^beta
  penalty <- 0
  if (lam > 0) {
    # lam R at the returned factors, in internal units (H / scale)
    penalty <- lam * conv_penalty(w, h / d$scale, d) * unit
  }
  list(w = w, h = h, loss = res$loss * unit, penalty = penalty, objective = (res$loss + res$penalty) * unit,
       trace = data.frame(iteration = res$trace_iter, loss = res$trace * unit,
                          penalty = res$trace_penalty * unit),
       iterations = res$iterations, converged = res$converged)
}

# seqNMF's R = sum_{i != j} [(W' (*) X) S H']_ij on the prepared data
conv_penalty <- function(w, h, d) {
  ct <- conv_transpose_data(w, d)
  lags <- dim(w)[3]
  b <- band_sum(ct, lags)
  sum(b * (matrix(colSums(h), nrow(h), ncol(h), byrow = TRUE) - h))
}

# B[k, t] = sum over |u| < lags of A[k, t + u] (within the columns)
band_sum <- function(a, lags) {
  n <- ncol(a)
  cs <- cbind(0, t(apply(a, 1, cumsum)))
  hi <- pmin(seq_len(n) + lags - 1L, n)
  lo <- pmax(seq_len(n) - lags + 1L, 1L)
  out <- cs[, hi + 1L, drop = FALSE] - cs[, lo, drop = FALSE]
  dimnames(out) <- dimnames(a)
  out
}

conv_transpose_data <- function(w, d, threads = 1L) {
  data <- list(dense = d$dense, sparse = d$sp, dims = as.integer(d$dims), hold = NULL)
  w <- array(as.double(w), dim(w))
  .Call(C_conv_transpose, data, w, as.integer(dim(w)[3]), as.integer(threads))
}

# Internal (exported to the namespace only): W' (*) X, the rank x n matrix
# out[k, t] = sum_l sum_i w[i, k, l] x[i, t + l] (0 where t + l > n), seqNMF's
# transposed convolution, in C.  w: an m x rank x lags array; x: a matrix or
# dgCMatrix with m rows (aligned by name when both are named).
conv_transpose <- function(w, x, threads = 1L) {
  if (!is.array(w) || length(dim(w)) != 3L || !is.numeric(w)) {
    abort("'w' must be a numeric array (rows x rank x lags)")
  }
  x <- as_nmf_matrix(x)
  if (!is.null(rownames(x)) && !is.null(dimnames(w)[[1]])) {
    x <- conform_rows(x, w[, , 1], "x", "w", target_names_code = "dimnames(w)[[1]]")
  } else if (nrow(x) != dim(w)[1]) {
    abort(sprintf("'x' must have %d rows (those of 'w'), not %d", dim(w)[1], nrow(x)), "alignment")
  }
  sparse <- inherits(x, "dgCMatrix")
  data <- list(dense = if (sparse) NULL else x,
               sparse = if (sparse) list(p = x@p, i = x@i, x = x@x, xs = 1) else NULL,
               dims = as.integer(dim(x)), hold = NULL)
  out <- .Call(C_conv_transpose, data, array(as.double(w), dim(w)), as.integer(dim(w)[3]),
               as.integer(check_thread_count(threads, "'threads'")))
  dimnames(out) <- list(dimnames(w)[[2]], colnames(x))
  out
}

# The model sum_l W_l S_l(H) (m x n) in R
conv_model <- function(w, h) {
  lags <- dim(w)[3]
  n <- ncol(h)
  y <- matrix(0, dim(w)[1], n)
  for (l in seq_len(lags)) {
    if (l > n) break
    cols <- l:n
    wl <- matrix(w[, , l], dim(w)[1], dim(w)[2])
    y[, cols] <- y[, cols] + wl %*% h[, seq_len(n - l + 1L), drop = FALSE]
  }
  y
}

#' Methods for convolutive NMF fits
#'
#' * `fitted()` is the model \eqn{\sum_l W_l S_l(H)}{sum_l W_l S_l(H)} (a
#'   dense neurons x time bins matrix), `residuals()` is `x` minus it
#'   (response residuals; held-out entries included).
#' * `deviance()` is twice the beta-divergence of `x` against `fitted()` over
#'   the observed entries, as for [nmf()] fits: the residual sum of squares
#'   for beta = 2, the Poisson deviance for beta = 1.
#' * `predict(object, newdata)` finds the activations of the fitted motifs in
#'   new data (`W` fixed, only `H` moves, by the same updates and penalties
#'   as the fit): "do these sequences replay during sleep?". The rows of
#'   `newdata` are matched to the fit's rows by name when both are named
#'   (extra rows of `newdata` are ignored); unnamed rows must be as many, in
#'   the same order.
#' @param object,x an `nmf_conv` fit.
#' @param newdata a non-negative matrix or `dgCMatrix` of neurons x time bins.
#' @param maxit,tol iteration limit and tolerance of the activations' fit.
#' @param threads OpenMP threads.
#' @param digits digits to print.
#' @param ... unused.
#' @return `predict()`: a rank x time bins matrix of activations.
#' @name nmf_conv_methods
#' @examples
#' set.seed(2)
#' x <- matrix(rpois(20 * 200, 1), 20, 200)
#' fit <- nmf_conv(x, rank = 2, lags = 5, seed = 1, maxit = 20, tol = 0)
#' dim(fitted(fit)); deviance(fit)
#' h_new <- predict(fit, x[, 1:100])
NULL

#' @rdname nmf_conv_methods
#' @export
fitted.nmf_conv <- function(object, ...) {
  y <- conv_model(object$w, object$h)
  dimnames(y) <- list(dimnames(object$w)[[1]], colnames(object$h))
  y
}

#' @rdname nmf_conv_methods
#' @export
residuals.nmf_conv <- function(object, ...) {
  if (is.null(object$x)) abort("this fit does not keep its data, so it has no residuals")
  as.matrix(object$x) - fitted(object)
}

#' @rdname nmf_conv_methods
#' @export
deviance.nmf_conv <- function(object, ...) {
  if (is.null(object$x)) abort("this fit does not keep its data, so it has no deviance")
  x <- as.matrix(object$x)
  held <- NULL
  if (!is.null(object$mask)) {
    held <- matrix(FALSE, nrow(x), ncol(x))
    held[cbind(object$mask$i + 1L, object$mask$j + 1L)] <- TRUE
  }
  2 * beta_divergence(x, fitted(object), object$beta, mask = held)
}

#' @rdname nmf_conv_methods
#' @export
predict.nmf_conv <- function(object, newdata, maxit = 500, tol = 1e-6, threads = 1, ...) {
  if (missing(newdata) || is.null(newdata)) {
    abort(paste0("'newdata' is required: predict() finds the activations of the fitted motifs in new data; ",
                 "use object$h for the fitted ones"))
  }
  a <- check_fit_args(1, maxit, tol, threads, FALSE)
  w <- object$w
  newdata <- as_nmf_matrix(newdata, arg = "newdata")
  newdata <- conform_rows(newdata, matrix(0, dim(w)[1], dim(w)[2], dimnames = list(dimnames(w)[[1]], NULL)),
                          "newdata", "object", target_desc = "the data 'object' was fitted on",
                          target_names_code = "dimnames(object$w)[[1]]")
  beta <- object$beta
  rank <- dim(w)[2]
  lags <- dim(w)[3]
  comp <- dimnames(w)[[2]]
  d <- prepare_data(newdata, beta = beta, arg = "newdata", drop_empty = FALSE)
  check_lags(lags, d$dims[2])
  mean_int <- data_sum(d) / d$n_obs
  # the same absolute penalties as the fit, in this data's internal units
  lam <- object$lam * d$scale^(2 - beta)
  # start: each bin's total spread evenly over the components (motifs sum to one)
  h0 <- matrix(mean_int * nrow(newdata) / (rank * lags), rank, d$dims[2])
  ctl <- list(beta = beta, lags = lags, maxit = a$maxit, tol = tol, l1w = 0,
              l1h = object$l1h * d$scale^(1 - beta), lam = lam, update_w = FALSE, threads = a$threads,
              verbose = FALSE, unit = d$scale^beta, run = 0L)
  res <- conv_call(d, array(as.double(w), dim(w)), h0, ctl)
  h <- res$h * d$scale
  dimnames(h) <- list(comp, colnames(newdata))
  h
}

#' @rdname nmf_conv_methods
#' @export
print.nmf_conv <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat(sprintf("<nmf_conv> %d x %d %s matrix, rank %d, lags %d, beta = %g (%s)\n",
              nrow(x$x), ncol(x$x), if (inherits(x$x, "sparseMatrix")) "sparse" else "dense",
              x$rank, x$lags, x$beta, beta_name(x$beta)))
  cat(sprintf("init %s, seed %d%s\n", x$init, x$seed,
              if (!is.null(x$runs)) sprintf(", best of %d runs (run %d)", length(x$runs), x$best) else ""))
  cat(sprintf("loss %s after %d iterations (%s)\n", format(x$loss, digits = digits), x$iterations,
              if (x$converged) "converged" else "not converged: maxit reached"))
  if (x$lambda > 0) {
    cat(sprintf("x-ortho penalty lambda = %s: %s\n", format(x$lambda, digits = digits),
                format(x$penalty, digits = digits)))
  }
  if (!is.null(x$mask)) cat(sprintf("%d entries held out of the fit\n", length(x$mask$i)))
  share <- rowSums(x$h) / sum(x$h)
  cat("share of the fit per component:",
      paste(sprintf("%s %.1f%%", names(share), 100 * share), collapse = ", "), "\n")
  invisible(x)
}

#' @rdname nmf_conv_methods
#' @export
summary.nmf_conv <- function(object, ...) {
  share <- rowSums(object$h) / sum(object$h)
  # the lag of each motif's centre of mass, and how many neurons carry 90 % of it
  lag_of <- function(k) {
    p <- apply(object$w[, k, , drop = FALSE], 3, sum)
    sum(p * (seq_along(p) - 1L))
  }
  neurons90 <- function(k) {
    r <- sort(apply(object$w[, k, , drop = FALSE], 1, sum), decreasing = TRUE)
    which(cumsum(r) >= 0.9 * sum(r))[1]
  }
  comp <- data.frame(component = rownames(object$h), share = share,
                     mean_lag = vapply(seq_len(object$rank), lag_of, numeric(1)),
                     neurons_90 = vapply(seq_len(object$rank), neurons90, integer(1)),
                     row.names = NULL)
  out <- list(dims = dim(object$x), rank = object$rank, lags = object$lags, beta = object$beta,
              lambda = object$lambda, loss = object$loss, penalty = object$penalty,
              deviance = deviance(object), iterations = object$iterations, converged = object$converged,
              components = comp,
              runs = if (!is.null(object$runs)) vapply(object$runs, function(r) r$objective, numeric(1)))
  class(out) <- "summary.nmf_conv"
  out
}

#' @rdname nmf_conv_methods
#' @export
print.summary.nmf_conv <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat(sprintf("Convolutive NMF: %d x %d, rank %d, lags %d, beta = %g, lambda = %g\n", x$dims[1], x$dims[2],
              x$rank, x$lags, x$beta, x$lambda))
  cat(sprintf("loss %s, penalty %s, deviance %s, %d iterations (%s)\n", format(x$loss, digits = digits),
              format(x$penalty, digits = digits), format(x$deviance, digits = digits), x$iterations,
              if (x$converged) "converged" else "not converged"))
  if (!is.null(x$runs)) cat("objective of each run:", format(x$runs, digits = digits), "\n")
  print(x$components, digits = digits, row.names = FALSE)
  invisible(x)
}
