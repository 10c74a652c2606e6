#' Errors and warnings signalled by betanmf
#'
#' Every error and warning that betanmf raises from R carries a class, so a
#' caller can catch one kind apart from another with [tryCatch()] or
#' [withCallingHandlers()] instead of matching message texts. Each message
#' still names the argument at fault and what to do about it.
#'
#' @section Errors:
#' Every error has class `betanmf_error` (and `error`, `condition`), plus one
#' of these:
#' \describe{
#'   \item{`betanmf_error_input`}{a bad argument: wrong type, length or range
#'     (`rank`, `beta`, `tol`, `mask`, `fraction`, `ranks`, `seed`, ...), not
#'     one of its choices (`solver = "foo"`), an option that does not apply
#'     (`solver = "hals"` with `beta = 1`), or an object that cannot do what
#'     was asked (a fit without its data has no residuals).}
#'   \item{`betanmf_error_data`}{bad values in the data: NA, NaN, infinite or
#'     negative entries, zeros where the beta-divergence is infinite
#'     (`beta <= 0`), nothing observed, non-integer counts where counts are
#'     resampled. Also of class `betanmf_error_input`.}
#'   \item{`betanmf_error_alignment`}{rows (or columns) cannot be matched
#'     by name: one side lacks names, names repeat, the two sides name
#'     different channels or samples, labels are not channels of SBS-96,
#'     DBS-78 or ID-83 (also in files read by [read_catalog()] and
#'     [read_signatures()]), two unnamed sides differ in length, or a
#'     catalog has its samples in rows
#'     (e.g. the signatures and the catalog of [fit_signatures()], the
#'     `newdata` of [predict()][predict.nmf_fit]). Also of class
#'     `betanmf_error_input`.}
#'   \item{`betanmf_error_dependency`}{the input needs a suggested package
#'     that is not installed (SummarizedExperiment, Biobase).}
#'   \item{`betanmf_error_numerical`}{the computation gave no usable answer:
#'     [nmf_rank()] found no rank with a finite held-out error.}
#' }
#' Errors raised from the C code (`"internal error: ..."`) are not classed:
#' they report a broken invariant of betanmf itself, never bad input. Nor are
#' the errors R itself raises before betanmf's code runs, such as a missing
#' argument with no default (`nmf(x)` without `rank`).
#'
#' @section Warnings:
#' Every warning has class `betanmf_warning` (and `warning`, `condition`),
#' plus one of these:
#' \describe{
#'   \item{`betanmf_warning_convergence`}{an iterative method stopped at its
#'     iteration limit before meeting its tolerance: [nmf()] (and the fits of
#'     [nmf_rank()]) or [nmf_conv()] reached `maxit`, or [stability()]'s
#'     alignment still changed after `max_iter` rounds. The result is returned, but is not
#'     converged. betanmf never stops with an error for this.}
#'   \item{`betanmf_warning_empty`}{rows or columns of the data had no
#'     observed entry (all NA with `missing = "mask"`); they were left out of
#'     the fit and their factors are NA; [nmf_conv()] keeps them, with zero
#'     loadings for such neurons.}
#'   \item{`betanmf_warning_numerical`}{some held-out errors in [nmf_rank()]
#'     are not finite; those ranks are not chosen.}
#'   \item{`betanmf_warning_checkpoint`}{a task file in the `checkpoint`
#'     directory of [nmf()] or [nmf_rank()] could not be read (or was not
#'     written for that task); the task was computed again ([checkpoints]).}
#' }
#'
#' @name betanmf_conditions
#' @aliases betanmf_error betanmf_warning
#' @examples
#' x <- simulate_nmf(40, 20, rank = 3, seed = 1)$x
#'
#' # bad input apart from anything else
#' tryCatch(nmf(x, rank = 100),
#'          betanmf_error_input = function(e) conditionMessage(e))
#'
#' # bad values in the data are also bad input
#' x_na <- x
#' x_na[1, 1] <- NA
#' tryCatch(nmf(x_na, rank = 3),
#'          betanmf_error_data = function(e) "data problem",
#'          betanmf_error_input = function(e) "other bad input")
#'
#' # note an unconverged fit and keep it
#' converged <- TRUE
#' fit <- withCallingHandlers(
#'   nmf(x, rank = 3, maxit = 2, seed = 1),
#'   betanmf_warning_convergence = function(w) {
#'     converged <<- FALSE
#'     invokeRestart("muffleWarning")
#'   })
#' converged
NULL

# The kinds of condition, each with the kinds it is also an instance of, most
# specific first: a handler for betanmf_error_input catches bad data and
# names that cannot be aligned too.
error_kinds <- list(
  input = "input",
  data = c("data", "input"),
  alignment = c("alignment", "input"),
  dependency = "dependency",
  numerical = "numerical"
)
warning_kinds <- list(
  convergence = "convergence",
  empty = "empty",
  numerical = "numerical",
  checkpoint = "checkpoint"
)

condition_class <- function(type, kind, kinds) {
  if (!is.character(kind) || length(kind) != 1L || is.null(kinds[[kind]])) {
    stop(sprintf("internal error: unknown %s kind '%s'", type, paste(kind, collapse = " ")))
  }
  c(paste0("betanmf_", type, "_", kinds[[kind]]), paste0("betanmf_", type))
}

# The one way betanmf stops: an error of class betanmf_error_<kind> (see
# ?betanmf_conditions), without the call, as stop(..., call. = FALSE) did.
# Fields in `...` travel in the condition object.
abort <- function(message, kind = "input", ..., call = NULL) {
  stop(errorCondition(message, ..., class = condition_class("error", kind, error_kinds), call = call))
}

# The warning twin of abort(): class betanmf_warning_<kind>, no call.
warn <- function(message, kind, ..., call = NULL) {
  warning(warningCondition(message, ..., class = condition_class("warning", kind, warning_kinds), call = call))
}
