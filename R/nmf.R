#' Non-negative matrix factorization under the beta-divergence
#'
#' Approximates a non-negative matrix `x` (m x n) by `W %*% H` with `W`
#' (m x rank) and `H` (rank x n) non-negative, minimising the
#' beta-divergence \eqn{D_\beta(X \| WH)}{D_beta(X | WH)} summed over the
#' observed entries.
#'
#' Choose `beta` by the noise in the data: `2` for Gaussian noise (least
#' squares), `1` for counts (generalized Kullback-Leibler, the Poisson
#' likelihood), `0` for multiplicative noise (Itakura-Saito, scale invariant);
#' any other real value gives the corresponding Tweedie-type divergence.
#'
#' Solvers: `"hals"` (beta = 2 only) is hierarchical alternating least
#' squares (Cichocki & Phan 2009) with the accelerated inner sweeps of Gillis &
#' Glineur (2012); `"mu"` is the majorize-minimize multiplicative update of
#' Fevotte & Idier (2011), whose exponent makes the loss non-increasing for
#' every beta; `"cd"` (beta = 1 only) is cyclic coordinate descent with
#' projected Newton steps (Hsieh & Dhillon 2011), safeguarded so the loss
#' never increases. An iteration of `"cd"` costs a few MU iterations but
#' reaches a given loss in far fewer iterations, and it sets coefficients
#' exactly to zero where MU only approaches zero. `"auto"` picks HALS for
#' beta = 2, coordinate descent for beta = 1, with or without left-out
#' entries (`mask`, or `NA` with `missing = "mask"`: they are left out of its
#' gradients, curvatures and column sums, so it minimises the loss over the
#' observed entries, which never increases), and MU otherwise and for
#' minimum volume (`volume > 0`). Left-out
#' entries are not fitted, so coordinate descent's exact zeros can give a
#' fitted value of zero at a left-out positive entry, whose divergence is
#' infinite; MU approaches zero without reaching it. To score left-out
#' entries, floor the fitted values as [nmf_rank()] does (its "Zero
#' predictions"), or pass `solver = "mu"`. The storage of `x` never changes the
#' solver: a dense matrix and its `dgCMatrix` copy get the same solver and
#' the same start for the same `seed`, and give the same fit (by coordinate
#' descent the same factors, bit for bit; the other solvers sum their
#' products over the non-zeros in another order, so their factors agree to
#' rounding). On sparse data coordinate descent touches only the non-zeros
#' (plus the column sums of the other factor) and makes no copy of them.
#'
#' Scale and order are fixed on return: the columns of `W` sum to one (so `H`
#' carries the units of `x`), and components are ordered by decreasing total
#' contribution (row sums of `H`).
#'
#' The fit stops when the loss, evaluated every `control$check` iterations,
#' decreased by less than `tol` (relative, per iteration) since the previous
#' evaluation, or after `maxit` iterations (with a warning that says so). The
#' decrease is relative to the current loss, or to a millionth of the initial
#' loss once the fit is closer to exact than that (exactly factorizable data
#' would otherwise never stop).
#'
#' @param x a non-negative numeric matrix, a data frame of numbers, a
#'   `Matrix::dgCMatrix` (kept sparse throughout), a `DelayedMatrix` (an
#'   `HDF5Matrix`, `TENxMatrix` or any `DelayedArray` operation on them: read
#'   block by block, never realised; see "Data larger than memory"), a
#'   `SummarizedExperiment` or `SingleCellExperiment` (see `assay`; its assay
#'   may be a `DelayedMatrix`) or an `ExpressionSet`; features (channels, genes,
#'   neurons) in rows, samples in columns. A data frame whose first column
#'   holds labels (SigProfiler's `MutationType`, gene ids) takes them as row
#'   names. Column names that are SBS-96, DBS-78 or ID-83 channels (with row
#'   names that are not) are an error: the samples are in rows, and `t(x)` is the fix.
#' @param rank the number of components, a whole number between 1 and
#'   `min(dim(x))`.
#' @param beta the beta of the divergence, a single finite number.
#' @param solver `"auto"`, `"hals"`, `"mu"` or `"cd"`.
#' @param init `"nndsvda"` (the default for a single run of `"hals"` and
#'   `"cd"`), `"nndsvds"` (the default for a single run of `"mu"`),
#'   `"nndsvd"`, `"nndsvdar"`, `"random"` (the default when `nrun > 1`, since
#'   NNDSVD is deterministic), or a list with matrices `w` and `h`.  The
#'   NNDSVD starts (Boutsidis & Gallopoulos 2008) differ in what replaces
#'   their zeros: nothing (`"nndsvd"`), the mean of `x` (`"nndsvda"`),
#'   `sqrt(mean(x) / rank)` (`"nndsvds"`, so that the filled products add up
#'   to the mean of `x`; MU reached a given loss in about half the
#'   iterations from it on count data), or small random values
#'   (`"nndsvdar"`).  With `nrun > 1` only `"random"` is accepted: the
#'   NNDSVD starts (and a start given as a list) put every run at the same
#'   point, `"nndsvdar"` only perturbs that point's zeros, and the runs would
#'   then be copies that [consensus()] and [stability()] report as perfectly
#'   stable; such a call is an error.
#' @param nrun the number of restarts; the fit with the lowest loss is
#'   returned and all runs are kept in `$runs`.
#' @param seed `NULL` or a whole number; every random choice (random
#'   initialisation, the randomized SVD of NNDSVD, restarts) derives from it,
#'   and the seed used is stored in the fit.
#' @param maxit the maximum number of iterations.
#' @param tol the relative decrease of the loss per iteration below which the
#'   fit is considered converged; `tol = 0` runs exactly `maxit` iterations
#'   (unless the fit becomes exact).
#' @param mask `NULL`, or a logical matrix (or sparse logical pattern) of the
#'   dimensions of `x` whose `TRUE` entries are left out of the fit.
#' @param missing what to do with `NA` in `x`: `"error"` (the default), or
#'   `"mask"` to leave them out of the fit. A column (row) of `x` with no
#'   observed entry, every entry `NA` or masked (e.g. dropped frames of a
#'   calcium trace), carries no information about its own coefficients: the
#'   rest is fitted exactly as `x[, -those]` would be (same `W` for the same
#'   `seed` and `init`), its column of `H` (row of `W`) is `NA`, and one
#'   warning gives their count.
#' @param threads the number of OpenMP threads (results do not depend on
#'   it), or `NULL` (the default) for [default_threads()]:
#'   `getOption("betanmf.threads")` if set, else half of
#'   `parallel::detectCores()` (at least 1), no more than the environment
#'   variables `OMP_THREAD_LIMIT` and `OMP_NUM_THREADS` or the option
#'   `mc.cores` allow, at most 2 when `_R_CHECK_LIMIT_CORES_` is set (as
#'   `R CMD check --as-cran` does), and 1 inside a parallel worker (a
#'   `future` worker, which sets `mc.cores = 1`, or a forked
#'   `parallel::mclapply()` child). With restarts running on several
#'   `future` workers each run uses 1 thread. Set
#'   `options(betanmf.threads = n)` to choose once for the session.
#' @param verbose print the loss as the fit progresses, every
#'   `control$check` iterations: the same beta-divergence as `$loss` (in the
#'   units of `x`), and with `nrun > 1` the run it belongs to
#'   (`"run 2  iteration ..."`).
#' @param control a list of tuning constants: `check` (iterations between
#'   loss evaluations; 1 for HALS, 5 for CD, 10 for MU), `inner` (maximum HALS inner
#'   sweeps per product with the data; by default from Gillis & Glineur's
#'   cost ratio; for `"cd"`, coordinate sweeps per column and iteration, 1),
#'   `inner_tol` (0.01), `l1` and `l2` (penalties on W and H, each
#'   a number or a pair `c(w, h)`).
#' @param assay for a `SummarizedExperiment`, which assay to factorize.
#' @param volume the relative weight of a minimum-volume penalty on `W`
#'   (Leplat, Gillis & Ang 2020), a single non-negative number or `"auto"`; `0` (the
#'   default) fits ordinary NMF. With `volume > 0` the fit minimises
#'   \eqn{D_\beta(X | WH) + \lambda \log\det(W^T W + \delta I)}{D_beta(X | WH) +
#'   lam * logdet(W'W + delta I)} with every column of `W` summing to one,
#'   which picks, among the factorizations that explain the data about as
#'   well, the one whose basis spans the smallest volume: it separates
#'   overlapping components (flat mutational signatures, assemblies that
#'   share neurons) that plain NMF blends. The weight is relative, as in
#'   Leplat et al. and MuSiCal (Jin et al. 2024): \eqn{\lambda}{lam} =
#'   `volume` times \eqn{D_\beta(X | W_0 H_0) / |\log\det(W_0^T W_0 +
#'   \delta I)|}{D_beta(X | W0 H0) / |logdet(W0'W0 + delta I)|} at the
#'   start (its `W` columns scaled to sum to one; with restarts, the first
#'   run's start, and that one weight for every run so that their
#'   objectives compare), so it does not depend on the units of `x`; \eqn{\delta = 1}{delta = 1} (MuSiCal's
#'   default), which keeps the log-determinant non-negative and finite when
#'   `W` is rank deficient. Useful values of `volume` are small (around
#'   `0.01`): larger ones trade fit for volume and pull distinct components
#'   towards each other, so compare a few. Any
#'   `beta`, dense or sparse `x`, masks and restarts; the solver is `"mu"`
#'   (`"auto"` picks it; `"hals"` and `"cd"` are an error): `H` takes the
#'   ordinary multiplicative update, `W` one majorize-minimize step of the
#'   whole objective under the column-sum constraint, so the objective never
#'   increases. With restarts the run with the lowest objective is returned.
#'   Penalties on `W` through `control$l1`, `control$l2` cannot be combined
#'   with it. `"auto"` chooses the weight from the data (see "Choosing the
#'   volume").
#' @section Choosing the volume:
#' `volume = "auto"` tries the relative weights 0, 0.001, 0.003, 0.01, 0.03
#' and 0.1 and keeps one by two criteria, in this order:
#' 1. held-out divergence: 3 speckled hold-outs of 10% of the observed
#'    entries ([cv_mask()]; entries left out by `mask` or `NA` are never held
#'    out), each fitted once from its own random start, the same start and
#'    hold-out for every weight, and scored as [nmf_rank()] scores them (the
#'    mean divergence per held-out entry, fitted values floored as in its
#'    "Zero predictions"). The weights whose mean over the hold-outs is
#'    within one standard error of the smallest are candidates (the
#'    one-standard-error rule of `nmf_rank(rule = "1se")`).
#' 2. stability: for each weight, the three hold-out fits are aligned as
#'    restarts ([stability()]) and the weight is scored by its least stable
#'    component (the smallest mean cosine to its centroid). Among the
#'    candidates, the largest weight whose score is within 0.01 of the best
#'    candidate's is chosen.
#'
#' Why: the penalty is there to settle a direction the data leave open (how
#' far overlapping components blend), so it should cost next to nothing in
#' the fit to entries the model has not seen; a weight that does cost
#' (beyond the hold-outs' own spread) is bending components the data do
#' determine. Among the weights the hold-outs cannot tell apart, the largest
#' is the one that settles that direction most firmly, as in MuSiCal, which
#' keeps the largest weight whose error stays within a tolerance of the
#' unpenalised fit's; the stability score keeps it from choosing a weight
#' whose components move from one start to the next. On flat overlapping
#' signatures the held-out cost of the penalty is small and a positive
#' weight is chosen; on well-separated ones it grows fast and the choice
#' stays at 0 or the smallest weights. On data with no structure at the
#' given rank (pure noise) the penalty only regularises, the held-out error
#' keeps falling as it grows, and the largest weight of the grid is chosen:
#' read a choice of 0.1 as "the data do not decide", and check the rank
#' first ([nmf_rank()]).
#'
#' The choice is reproducible: the hold-outs and starts derive from `seed`,
#' and the returned fit is `nmf(..., volume = <chosen>, seed = seed)` (with
#' `nrun`, `mask`, `init` and the rest as given), with
#' `$volume_selection`: `table` (a data frame with one row per weight:
#' `volume`, `cv_error` and `cv_se`, the mean held-out divergence per entry
#' and its standard error, `stability`, and `candidate`), `chosen`, `cv`
#' (hold-outs x weights), `folds`, `fraction`, `fold_seeds` (the [cv_mask()]
#' seeds) and `fit_seeds`. It costs 18 single fits before the returned one.
#' A `checkpoint` saves the runs of the returned fit only.
#' @param checkpoint `NULL`, or the path of a directory where each restart is
#'   saved as it finishes; a later call with the same directory and the same
#'   arguments (a whole-number `seed`) reads those back and runs only the
#'   others, with the same result. See [checkpoints].
#' @section Data larger than memory:
#' A `DelayedMatrix` is fitted block by block: its blocks come from
#' DelayedArray's grids (`colAutoGrid()`, `rowAutoGrid()`), of the size
#' `DelayedArray::getAutoBlockSize()` (100 MB unless set with
#' `DelayedArray::setAutoBlockSize()`), read as dense arrays, or as sparse ones
#' when `DelayedArray::is_sparse(x)`, and each goes to the same solvers as data
#' in memory. A dense block of columns holds that many bytes of doubles,
#' rounded down to whole chunks of columns of the file (at least one chunk),
#' and is read into a buffer the fit allocates once and reuses, so the fit
#' needs about one block of memory beyond the factors, whatever the
#' solver: a larger block size means fewer, larger reads, a smaller one
#' less memory. An `HDF5Matrix` (or the `H5ADMatrix` of a dense h5ad `X`)
#' with no delayed operation on it is read straight into that buffer by HDF5
#' (rhdf5's `H5Dread()`) when its dataset holds floating-point values, or
#' through a second buffer of integers of the block's shape when it holds
#' integers (counts, as `writeHDF5Array()` writes an integer matrix; `NA`
#' stays `NA`); any other `DelayedMatrix` (a delayed subset or operation,
#' 64-bit or unsigned 32-bit integers) goes through
#' `DelayedArray::extract_array()`, with the same values. A dataset written by HDF5Array carries
#' the shuffle and deflate filters (at `level = 0` too), which HDF5 undoes
#' chunk by chunk in memory it allocates for each chunk; on Linux the fit
#' has the C library (glibc) keep that memory from one chunk to the next
#' (its malloc thresholds, unless set by `MALLOC_*_` or `GLIBC_TUNABLES`), so
#' the read's speed does not depend on what the session did before. A
#' dataset with no filter (`rhdf5::h5createDataset(filter = "NONE",
#' shuffle = FALSE)`) is read into the buffer with no copy at all.
#' A sparse HDF5 matrix whose arrays run over its columns, with no delayed
#' operation on it, is read from its own arrays (the non-zeros of a run of
#' columns are one stretch of the file): a `TENxMatrix`, and an
#' `H5SparseMatrix` or `H5ADMatrix` whose group HDF5Array presents in that
#' layout (`class(x@seed)` is a `CSC_H5SparseMatrixSeed`; an h5ad `X` stored
#' as CSR, cells by genes, is the genes by cells matrix read by cells). One
#' stored the other way (a `CSR_H5SparseMatrixSeed`: an h5ad `X` stored as
#' CSC) is read through `DelayedArray::extract_sparse_array()`, which
#' gathers each block of columns from every row's stretch: for a large fit,
#' rewrite it stored the other way (e.g. with `HDF5Array::writeTENxMatrix()`).
#' Blocks hold at most the block size in
#' bytes of non-zeros (12 bytes each: the value and its row index), so the
#' fit needs about one such block beyond the factors. With HALS and multiplicative updates each iteration reads the
#' data once, by blocks of columns: the pass that updates a block's columns
#' of `H` also adds that block's share of the next `W` half's sums, so a file
#' chunked by columns (or a `TENxMatrix`) is read in its own order.
#' Coordinate descent (`solver = "cd"`, the default at `beta = 1`) updates a
#' row of `W` entry by entry from the whole row of the data, so its
#' iterations also read the data by blocks of rows, a second pass: on a file
#' chunked by whole columns that reads every chunk for each block of rows,
#' so chunk the file in tiles, or use `solver = "mu"`. The start (NNDSVD's products with `x`
#' made block by block), the scale and the iterates are those of the same fit
#' in memory, to rounding: the storage is never a modelling choice. `mask`
#' may be an ordinary logical matrix, a sparse pattern, or a logical
#' `DelayedMatrix`; `NA` works as in memory. The factors are ordinary
#' matrices; `fit$x` is the `DelayedMatrix` itself. Rows or columns with no
#' observed entry are an error here (subset them away first), and minimum
#' volume (`volume > 0`) is not available. [store_nmf()] puts the factors
#' into a `SingleCellExperiment`.
#' @inheritSection checkpoints Resuming and clusters
#' @return An object of class `nmf_fit`: a list with `w`, `h`, `beta`,
#'   `rank`, `loss` (the beta-divergence), `trace` (a data frame of iteration
#'   and loss), `iterations`, `converged`, `solver`, `init`, `seed`, `call`,
#'   and, when `nrun > 1`, `runs` (each run's `w`, `h`, `loss`, `iterations`,
#'   `converged`) and `best` (the index of the returned run).  HALS fits also
#'   have `sweeps`: the inner sweeps run (see `control$inner`), summed over
#'   the rows of `w`, the columns of `h` and the iterations; each costs about
#'   `2 * rank^2` flops.  Minimum-volume fits (`volume > 0`) also have
#'   `volume`, `delta`, `lam` (the absolute weight, in the units of the
#'   loss) and `penalty` (\eqn{\lambda \log\det(W^T W + \delta I)}{lam *
#'   logdet(W'W + delta I)} at the returned factors), and their `trace` a
#'   column `penalty` beside `loss` (the objective is their sum). Fits with
#'   `volume = "auto"` also have `volume_selection` (see "Choosing the
#'   volume"). With a `checkpoint`, `attr(fit, "checkpoint")`
#'   counts the runs read back and computed ([checkpoints]).
#' @references
#' Fevotte, C. and Idier, J. (2011). Algorithms for nonnegative matrix
#' factorization with the beta-divergence. Neural Computation 23(9), 2421-2456.
#'
#' Cichocki, A. and Phan, A.-H. (2009). Fast local algorithms for large scale
#' nonnegative matrix and tensor factorizations. IEICE Transactions on
#' Fundamentals E92-A(3), 708-721.
#'
#' Gillis, N. and Glineur, F. (2012). Accelerated multiplicative updates and
#' hierarchical ALS algorithms for nonnegative matrix factorization. Neural
#' Computation 24(4), 1085-1105.
#'
#' Hsieh, C.-J. and Dhillon, I. S. (2011). Fast coordinate descent methods
#' with variable selection for non-negative matrix factorization. KDD 2011,
#' 1064-1072.
#'
#' Boutsidis, C. and Gallopoulos, E. (2008). SVD based initialization: a head
#' start for nonnegative matrix factorization. Pattern Recognition 41(4).
#'
#' Leplat, V., Gillis, N. and Ang, A. M. S. (2020). Blind audio source
#' separation with minimum-volume beta-divergence NMF. IEEE Transactions on
#' Signal Processing 68, 3400-3410.
#'
#' Jin, H. et al. (2024). Accurate and sensitive mutational signature
#' analysis with MuSiCal. Nature Genetics 56, 541-552.
#' @seealso [predict.nmf_fit()], [beta_divergence()], [basis()].
#' @examples
#' set.seed(1)
#' w <- matrix(rexp(60), 20, 3)
#' h <- matrix(rexp(90), 3, 30)
#' x <- matrix(rpois(600, w %*% h * 5), 20, 30)
#' fit <- nmf(x, rank = 3, beta = 1, seed = 1)
#' fit
#' dim(basis(fit)); dim(coef(fit))
#' deviance(fit); AIC(fit)
#' @export
nmf <- function(x, rank, beta = 2, solver = c("auto", "hals", "mu", "cd"), init = NULL,
                nrun = 1, seed = NULL, maxit = 1000, tol = 1e-5, mask = NULL,
                missing = c("error", "mask"), threads = NULL, verbose = FALSE,
                control = list(), assay = NULL, volume = 0, checkpoint = NULL) {
  call <- match.call()
  beta <- check_beta(beta)
  solver <- check_choice(solver)
  missing <- check_choice(missing)
  volume <- check_volume(volume, solver, auto = TRUE)
  check_solver_beta(solver, beta)
  check_fit_args(nrun, maxit, tol, threads, verbose) # a bad argument is reported before the data are read
  d <- prepare_data(x, beta = beta, mask = mask, missing = missing, assay = assay)
  if (identical(volume, "auto")) {
    return(nmf_auto_volume(d, rank, beta, solver, init, nrun, seed, maxit, tol, threads, verbose, control, call,
                           checkpoint, missing))
  }
  nmf_prepared(d, rank, beta, solver, init, nrun, seed, maxit, tol, threads, verbose, control, call,
               volume = volume, checkpoint = checkpoint, missing = missing)
}

# solver = "hals" and "cd" minimise one beta only
check_solver_beta <- function(solver, beta) {
  if (solver == "hals" && beta != 2) {
    abort(sprintf("solver = \"hals\" minimises the beta = 2 loss only; use solver = \"mu\" for beta = %g", beta))
  }
  if (solver == "cd" && beta != 1) {
    abort(sprintf("solver = \"cd\" minimises the beta = 1 loss only; use solver = \"mu\" for beta = %g", beta))
  }
}

# The scalar arguments of a fit, checked; returns nrun, maxit and threads as
# the fit uses them.
check_fit_args <- function(nrun, maxit, tol, threads, verbose) {
  nrun <- check_count(nrun, "nrun")
  maxit <- check_count(maxit, "maxit")
  if (!is.numeric(tol) || length(tol) != 1L || is.na(tol) || tol < 0) {
    abort("'tol' must be a single non-negative number")
  }
  threads <- check_threads(threads)
  if (!is.logical(verbose) || length(verbose) != 1L || is.na(verbose)) {
    abort("'verbose' must be TRUE or FALSE")
  }
  list(nrun = nrun, maxit = maxit, threads = threads)
}

# The solver "auto" stands for: MU for minimum volume (its W update is an
# MU step, src/mu.c); else HALS for beta = 2, coordinate descent for beta = 1
# (with or without held-out entries: they are left out of its gradients,
# curvatures and column sums, src/kl_cd.c), MU otherwise.
auto_solver <- function(beta, volume = 0) {
  if (volume > 0) "mu" else if (beta == 2) "hals" else if (beta == 1) "cd" else "mu"
}

# nmf() from the data prepared by prepare_data() (its checks done): the fits
# of a rank survey share one prepared data set per fold (R/rank.R).  `beta`
# checked, `solver` one of the choices and compatible with `beta`, `volume`
# checked against `solver` (check_volume()); `checkpoint`, `missing` as in
# nmf() (`missing` only enters a checkpoint's manifest).
nmf_prepared <- function(d, rank, beta, solver = "auto", init = NULL, nrun = 1, seed = NULL, maxit = 1000,
                         tol = 1e-5, threads = NULL, verbose = FALSE, control = list(), call = NULL,
                         volume = 0, checkpoint = NULL, missing = "error") {
  a <- check_fit_args(nrun, maxit, tol, threads, verbose)
  nrun <- a$nrun
  maxit <- a$maxit
  threads <- a$threads
  volume <- check_volume(volume, solver)
  if (solver == "auto") solver <- auto_solver(beta, volume)
  rank <- check_rank(rank, d$dims)
  if (is.null(init)) init <- if (nrun > 1L) "random" else if (solver == "mu") "nndsvds" else "nndsvda"
  user_init <- NULL
  if (is.list(init)) {
    user_init <- check_user_init(drop_init(init, d$dropped), d$dims, rank, d$scale)
    init_name <- "user"
  } else {
    if (!is.character(init) || length(init) != 1L || !(init %in% init_methods)) {
      abort(paste0("'init' must be one of \"", paste(init_methods, collapse = "\", \""),
                   "\" or a list with matrices 'w' and 'h'"))
    }
    init_name <- init
  }
  check_restart_init(init_name, nrun)
  ctl <- solver_control(control, solver, d$dims, rank, maxit, tol)
  check_volume(volume, solver, ctl)
  seed <- resolve_seed(seed)
  streams <- rng_streams(seed, nrun)
  mean_x <- if (!is.null(d$blocks)) d$blocks$mean_x else data_sum(d) / d$n_obs

  run_threads <- if (nrun > 1L && parallel_workers() > 1L) 1L else threads
  start_of <- function() {
    start <- if (is.null(user_init)) init_factors(d$xs, rank, init_name, mean_x, d$xscale) else user_init
    if (volume > 0) simplex_start(start) else start
  }
  # minimum volume: one absolute weight for every run, Leplat's relative
  # rule at the first run's start (its stream's first draws), so the runs'
  # objectives compare; a single run (lam = 0) takes it from its own start,
  # the same draws, in the same .Call
  lam <- 0
  if (volume > 0 && nrun > 1L) {
    start1 <- with_stream(streams[[1]], start_of())
    lam <- run_solver(d, start1$w, start1$h, beta, solver, utils::modifyList(ctl, list(maxit = 0L)), FALSE,
                      threads, FALSE, volume = volume)$lam
  }
  one_run <- function(k) {
    start <- start_of()
    res <- run_solver(d, start$w, start$h, beta, solver, ctl, TRUE, run_threads, verbose,
                      run = if (nrun > 1L) k else 0L, volume = volume, lam = lam)
    finish_factors(res, d, beta, volume)
  }
  ck <- checkpoint_open(checkpoint, "nmf", d$x,
                        digests = list(held_out = d$hold, dropped = d$dropped, start = user_init),
                        settings = list(rank = rank, beta = beta, solver = solver, init = init_name, nrun = nrun,
                                        seed = seed, maxit = maxit, tol = tol, missing = missing,
                                        volume = volume,
                                        control = ctl[setdiff(names(ctl), c("maxit", "tol"))]))
  runs <- run_streams(nrun, streams, one_run, label = "nmf restarts", checkpoint = ck)
  progress <- attr(runs, "checkpoint")
  runs <- lapply(runs, restore_dropped, d$dropped)
  warn_dropped(d$dropped)
  # minimum volume: the best run by the objective (divergence + penalty)
  losses <- vapply(runs, function(r) r$loss + if (volume > 0) r$penalty else 0, numeric(1))
  best <- which.min(losses)
  fit <- runs[[best]]
  n_unconverged <- sum(!vapply(runs, function(r) r$converged, logical(1)))
  if (n_unconverged > 0 && tol > 0) { # tol = 0 asked for maxit iterations
    warn(sprintf(paste0("%s reached maxit = %d before the loss stopped decreasing by tol = %g per iteration; ",
                        "raise 'maxit' or 'tol'"),
                 if (nrun == 1L) "the fit" else sprintf("%d of %d runs", n_unconverged, nrun),
                 maxit, tol), "convergence")
  }
  if (solver != "hals") fit$sweeps <- NULL
  fit$beta <- beta
  fit$rank <- rank
  fit$solver <- solver
  fit$init <- init_name
  fit$seed <- seed
  fit$nrun <- nrun
  fit$call <- call
  fit$control <- ctl
  fit$dims <- d$dims
  fit$n_obs <- d$n_obs
  fit$x <- d$x
  fit$mask <- if (d$n_held > 0) d$hold_ij else NULL
  if (!is.null(d$dropped)) {
    fit$dims <- d$dropped$dims
    fit$x <- d$dropped$x
    fit$mask <- d$dropped$hold_ij
    fit$dropped <- d$dropped[c("rows", "cols")]
  }
  fit$sparse <- d$sparse
  if (volume > 0) {
    fit$volume <- volume
    fit$delta <- 1
  }
  if (nrun > 1L) {
    keep <- c("w", "h", "loss", "iterations", "converged", if (volume > 0) c("penalty", "lam"))
    fit$runs <- lapply(runs, function(r) r[keep])
    fit$best <- best
  }
  attr(fit, "checkpoint") <- progress
  class(fit) <- "nmf_fit"
  fit
}

# A user's start given at the dimensions of x, without the rows and columns
# that have no observed entry (those of the prepared data).
drop_init <- function(init, dropped) {
  if (is.null(dropped) || !is.list(init)) return(init)
  if (is.matrix(init$w) && nrow(init$w) == dropped$dims[1]) init$w <- init$w[dropped$keep_rows, , drop = FALSE]
  if (is.matrix(init$h) && ncol(init$h) == dropped$dims[2]) init$h <- init$h[, dropped$keep_cols, drop = FALSE]
  init
}

# Tests only: on = TRUE runs every C kernel in its baseline build (what a
# CPU without AVX2, or another architecture, runs) even on an AVX2 machine.
# Returns the previous setting, invisibly.
simd_baseline <- function(on) {
  invisible(.Call(C_simd_baseline, isTRUE(on)))
}

# Tests only: the kernel builds this library runs on this CPU,
# c("avx2+fma", "baseline") or "baseline" (what simd_baseline() switches
# between; the key of the recorded digests).
simd_builds <- function() .Call(C_simd_builds)

# One call of the C driver on prepared data; factors in internal units.
# verbose = TRUE prints the loss in the user's units (what fit$loss reports),
# prefixed by the run number when run > 0.  Every list the C side reads is
# named and read by name (src/nmf.c, src/data.c).
run_solver <- function(d, w, h, beta, solver, ctl, update_w, threads, verbose, run = 0L, volume = 0,
                       lam = 0) {
  if (!is.null(d$blocks)) {
    return(block_solver(d, w, h, beta, solver, ctl, update_w, threads, verbose, run, volume, lam)) # R/blocks.R
  }
  a <- solver_args(d, w, h, beta, solver, ctl, update_w, threads, verbose, run, volume, lam)
  .Call(C_nmf_fit, a$data, a$wt, a$h, a$control)
}

# The arguments of C_nmf_fit: data = list(dense, sparse, dims, hold), t(W),
# H and the named control list (volume > 0: minimum volume, with delta = 1
# and the absolute weight lam in the solver's units, or 0 to take it from
# the start by the relative rule).
solver_args <- function(d, w, h, beta, solver, ctl, update_w, threads, verbose, run = 0L, volume = 0,
                        lam = 0) {
  data <- list(dense = d$dense, sparse = d$sp, dims = as.integer(d$dims), hold = d$hold)
  control <- list(solver = switch(solver, hals = 1L, mu = 2L, cd = 3L), beta = as.double(beta),
                  maxit = ctl$maxit, tol = ctl$tol, check = ctl$check, inner = ctl$inner,
                  inner_tol = ctl$inner_tol, l1_w = ctl$l1[1], l1_h = ctl$l1[2],
                  l2_w = ctl$l2[1], l2_h = ctl$l2[2], update_w = isTRUE(update_w),
                  threads = as.integer(threads), verbose = isTRUE(verbose), unit = d$scale^beta,
                  run = as.integer(run), volume = as.double(volume), delta = 1,
                  lam = as.double(lam))
  list(data = data, wt = t(w), h = h, control = control)
}

# The start of a minimum-volume fit: the columns of W on the simplex (the
# constraint set of its W update), H's rows carrying their sums.
simplex_start <- function(start) {
  cs <- colSums(start$w)
  if (any(!(cs > 0))) {
    abort("volume > 0 needs every column of the starting W to have a positive entry", "numerical")
  }
  list(w = sweep(start$w, 2, cs, "/"), h = start$h * cs)
}

# Back to the user's units, W columns summing to one, components ordered by
# contribution, dimnames from x.  Minimum volume (volume > 0): the penalty
# lam logdet(W'W + I) in the units of the loss, in the trace as a column of
# its own, and lam.
finish_factors <- function(res, d, beta, volume = 0) {
  # the solver's buffers (its .Call's work, garbage once it returned) are
  # collected before the result's n-sized copies are made on top of them
  collect_large(ncol(res$h), nrow(res$h))
  # the column sums of W as the row sums of t(W) (the same long double sums
  # in the same order); a zero column is divided by 1, which leaves it as it
  # is, so W and H are scaled where they lie, with no copies of parts
  cs <- rowSums(res$wt)
  cs[!(cs > 0)] <- 1
  h <- res$h * d$scale * cs # (h * scale) * cs, row by row: cs recycles down the columns
  ord <- order(rowSums(h), decreasing = TRUE)
  wt <- res$wt / cs
  if (!identical(ord, seq_along(ord))) {
    wt <- wt[ord, , drop = FALSE]
    h <- h[ord, , drop = FALSE]
  }
  w <- t(wt)
  comp <- paste0("NMF", seq_len(ncol(w)))
  dimnames(w) <- list(d$dimnames[[1]], comp)
  dimnames(h) <- list(comp, d$dimnames[[2]])
  unit <- d$scale^beta
  # the data frame data.frame(iteration, loss) makes, without its checks
  trace <- structure(list(iteration = res$trace_iter, loss = res$trace * unit), class = "data.frame",
                     row.names = .set_row_names(length(res$trace_iter)))
  out <- list(w = w, h = h, loss = res$loss * unit, trace = trace,
              iterations = res$iterations, converged = res$converged, sweeps = res$sweeps)
  if (volume > 0) {
    out$trace$penalty <- res$trace_penalty * unit
    out$penalty <- res$penalty * unit
    out$lam <- res$lam * unit
  }
  out
}

solver_control <- function(control, solver, dims, rank, maxit, tol) {
  if (!is.list(control)) abort("'control' must be a list")
  known <- c("check", "inner", "inner_tol", "l1", "l2")
  bad <- setdiff(names(control), known)
  if (length(bad)) {
    abort(sprintf("unknown 'control' entr%s: %s (known: %s)", if (length(bad) > 1) "ies" else "y",
                  paste(bad, collapse = ", "), paste(known, collapse = ", ")))
  }
  # as doubles: m * n overflows integer arithmetic beyond 2^31 cells (sparse x)
  m <- as.numeric(dims[1])
  n <- as.numeric(dims[2])
  # Gillis & Glineur (2012): inner sweeps cost r^2 per column against a
  # product with the data of about 2 m n r / (m + n) per column
  rho <- 1 + (m * n) / ((m + n) * (rank + 1))
  inner_default <- if (solver == "hals") max(1L, min(20L, as.integer(floor(1 + 0.5 * rho)))) else 1L
  out <- list(maxit = maxit, tol = tol,
              # a loss evaluation costs about a third of a CD iteration (one
              # logarithm per entry), a tenth of a HALS one (from its products)
              check = if (is.null(control$check)) c(hals = 1L, mu = 10L, cd = 5L)[[solver]] else control$check,
              inner = if (is.null(control$inner)) inner_default else control$inner,
              inner_tol = if (is.null(control$inner_tol)) 0.01 else control$inner_tol,
              l1 = if (is.null(control$l1)) c(0, 0) else rep_len(control$l1, 2),
              l2 = if (is.null(control$l2)) c(0, 0) else rep_len(control$l2, 2))
  out$check <- check_count(out$check, "control$check")
  out$inner <- check_count(out$inner, "control$inner")
  for (nm in c("inner_tol", "l1", "l2")) {
    v <- out[[nm]]
    if (!is.numeric(v) || anyNA(v) || any(!is.finite(v)) || any(v < 0)) {
      abort(sprintf("'control$%s' must be non-negative and finite", nm))
    }
  }
  out
}
