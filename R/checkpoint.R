#' Checkpoints: resumable restarts and rank surveys, on any future backend
#'
#' The restarts of [nmf()] (`nrun`) and the fits of [nmf_rank()] (one per
#' rank and fold, plus one unmasked fit per rank) are independent tasks,
#' each with its own random stream fixed up front from `seed`. Given a
#' directory in `checkpoint`, each task's result is saved there as soon as
#' it finishes, and a later call with the same directory reads back the
#' tasks it finds and computes only the others.
#'
#' @section Resuming and clusters:
#' With `checkpoint = dir`, every finished task is written to `dir` as
#' `task-<number>.rds`: first to a temporary file in the same directory,
#' then renamed, so a task killed while writing leaves no partial file
#' (only, at worst, a `.tmp` file, which is never read and may be deleted).
#' A call with the same directory after an interruption (a killed session,
#' a cluster job over its wall time, a lost node) reads the tasks that
#' finished and computes the rest; the result is `identical()` to an
#' uninterrupted run with the same `seed`, whatever `future::plan()` ran
#' either part (apart from its `call`, which records the `checkpoint`
#' argument, and the attribute below). A task file that cannot be read is computed again, with a
#' warning of class `betanmf_warning_checkpoint`.
#'
#' The directory belongs to one call. Its `manifest.rds` records what
#' decides each task's result: the data (dimensions and an MD5 digest of a
#' serialised copy of the matrix, with the mask and the entries left out),
#' the ranks, `beta`, the solver, the start, `seed`, `nrun`, the folds and
#' their hold-out pattern, `maxit`, `tol`, `control`, and betanmf's
#' version. A call whose manifest differs stops with an error (class
#' `betanmf_error_input`) naming what differs; use a new directory for it.
#' Give a whole-number `seed`: with `seed = NULL` each call draws a new one,
#' and the rerun would not match. Arguments that never change a result
#' (`threads`, `verbose`, `rule`, the future plan) may differ between the
#' runs.
#'
#' The result carries `attr(result, "checkpoint")`, a list with `dir`,
#' `tasks` (their number), `done_before` (read back from `dir`) and
#' `computed` (run by this call); a call that read tasks back also says so
#' in a message.
#'
#' The tasks run through `future.apply` on the session's `future::plan()`:
#' sequentially, on `future::multisession` workers, or as jobs of a batch
#' scheduler through the future.batchtools package (SLURM, SGE, LSF, PBS,
#' Torque). Every worker writes its task files itself, so on a cluster the
#' directory must be on a file system that the compute nodes and the
#' submitting session share (a project or scratch directory, not `/tmp`),
#' and betanmf must be installed where the nodes' R finds it. On SLURM:
#'
#' ```
#' library(betanmf)
#' future::plan(future.batchtools::batchtools_slurm, template = "slurm.tmpl",
#'              resources = list(time = "02:00:00", mem = "4G"))
#' survey <- nmf_rank(x, ranks = 2:10, beta = 1, folds = 5, nrun = 50,
#'                    seed = 1, checkpoint = "/scratch/me/survey-1")
#' ```
#'
#' The submitting session waits for the jobs; if it (or a job) dies, run the
#' same lines again: the finished tasks are read back and only the missing
#' ones are submitted. `slurm.tmpl` is a batchtools template (brew syntax)
#' for one job: it must name the job and its log file, may turn the entries
#' of `resources` into `#SBATCH` options, sets up R on the node, and ends by
#' running the job collection:
#'
#' ```
#' #!/bin/bash
#' #SBATCH --job-name=<%= job.name %>
#' #SBATCH --output=<%= log.file %>
#' #SBATCH --ntasks=1
#' <% for (r in names(resources)) { -%>
#' #SBATCH --<%= r %>=<%= resources[[r]] %>
#' <% } -%>
#' module load R   # whatever puts the Rscript with betanmf on the PATH
#' export OMP_NUM_THREADS=1
#' Rscript -e 'batchtools::doJobCollection("<%= uri %>")'
#' ```
#'
#' (future.batchtools ships such a template:
#' `system.file("templates", "slurm.tmpl", package = "future.batchtools")`.)
#' With several workers each fit runs with one thread, so one core per job
#' is enough.
#'
#' @name checkpoints
#' @seealso [nmf()], [nmf_rank()], [betanmf_conditions].
#' @examples
#' x <- simulate_nmf(30, 20, rank = 2, seed = 1)$x
#' dir <- file.path(tempdir(), "restarts")
#' fit <- nmf(x, 2, beta = 1, nrun = 3, seed = 1, checkpoint = dir)
#' attr(fit, "checkpoint")$computed
#' # as if the third restart had been lost:
#' unlink(file.path(dir, "task-0003.rds"))
#' again <- nmf(x, 2, beta = 1, nrun = 3, seed = 1, checkpoint = dir)
#' attr(again, "checkpoint")[c("done_before", "computed")]
#' identical(again$w, fit$w)
#' unlink(dir, recursive = TRUE)
NULL

# Bumped when the layout of the directory or of a task file changes, so an
# old directory is refused rather than misread.
checkpoint_format <- 1L

# Opens (or creates) a checkpoint directory for one call and checks that
# what it holds was computed for the same tasks. `what` names the caller; `x`
# is the data (its dimensions stored, its contents digested); `digests` holds
# further objects that decide the tasks (masks, a given start), digested,
# and `settings` the arguments that decide them, stored and compared (its
# entry `dots`, the arguments passed on to nmf(), one field each, without
# `verbose`, which changes no result). NULL when dir is NULL.
checkpoint_open <- function(dir, what, x, digests = list(), settings = list()) {
  if (is.null(dir)) return(NULL)
  dir <- check_checkpoint(dir)
  if (!is.null(settings$dots)) {
    dots <- settings$dots
    nm <- names(dots)
    if (is.null(nm)) nm <- character(length(dots))
    nm[!nzchar(nm)] <- paste0("..", which(!nzchar(nm)))
    names(dots) <- nm
    settings <- c(settings[names(settings) != "dots"], dots[nm != "verbose"])
  }
  manifest <- c(list(format = checkpoint_format, call = what,
                     betanmf = as.character(utils::packageVersion("betanmf")),
                     dims = as.numeric(dim(x)), data = checkpoint_digest(x)),
                lapply(digests, checkpoint_digest),
                lapply(settings, canonical))
  path <- file.path(dir, "manifest.rds")
  if (file.exists(path)) {
    old <- tryCatch(readRDS(path), error = function(e) NULL)
    if (!is.list(old) || is.null(names(old))) {
      abort(sprintf(paste0("the checkpoint directory '%s' has a manifest.rds that cannot be read; ",
                           "use a new directory (or delete this one to start over)"), dir))
    }
    differ <- manifest_differences(old, manifest)
    if (length(differ)) {
      # seed = NULL draws a new seed each call: say which one the directory's tasks used
      resume <- if (is.numeric(old$seed) && !identical(old$seed, manifest$seed)) {
        sprintf(" (to resume that call, pass seed = %.0f)", old$seed)
      } else ""
      abort(sprintf(paste0("the checkpoint directory '%s' holds the tasks of another call: %s differ%s; ",
                           "use a new directory for this call (or delete this one to start over)%s"),
                    dir, paste(differ, collapse = ", "), if (length(differ) == 1L) "s" else "", resume))
    }
  } else {
    if (length(task_files(dir))) {
      abort(sprintf(paste0("the checkpoint directory '%s' has task files but no manifest.rds, so what they ",
                           "were computed for is unknown; use a new directory"), dir))
    }
    write_atomic(manifest, path)
  }
  list(dir = dir, key = checkpoint_digest(manifest))
}

# Every field that differs, as "name (old there, new here)"; lists (such as
# `control`) field by field.
manifest_differences <- function(old, new, prefix = "") {
  fields <- union(names(new), names(old))
  fields <- fields[!vapply(fields, function(f) identical(old[[f]], new[[f]]), logical(1))]
  show <- function(f, v) {
    if (is.null(v)) return("absent")
    if (f == "dims") return(paste(v, collapse = " x "))
    if (is.character(v) && length(v) == 1L && grepl("^[0-9a-f]{32}$", v)) return(paste("digest", substr(v, 1, 8)))
    if (is.atomic(v) && length(v) <= 6L) {
      return(paste(if (is.character(v)) v else format(v, digits = 15), collapse = " "))
    }
    "another value"
  }
  as.character(unlist(lapply(fields, function(f) {
    if (is.list(old[[f]]) && is.list(new[[f]]) && !is.null(names(new[[f]]))) {
      inner <- manifest_differences(old[[f]], new[[f]], prefix = paste0(prefix, f, "$"))
      if (length(inner)) return(inner) # else they differ in something other than their fields
    }
    label <- if (nzchar(prefix)) paste0(prefix, f) else {
      switch(f, betanmf = "the betanmf version", dims = "the data's dimensions", data = "the data", f)
    }
    sprintf("%s (%s there, %s here)", label, show(f, old[[f]]), show(f, new[[f]]))
  })))
}

# Integers as doubles and named lists in name order, so 500L and 500, or
# control = list(l1 = 0, check = 5) and its reordering, compare equal.
canonical <- function(v) {
  if (is.integer(v) && !is.factor(v)) {
    a <- attributes(v)
    v <- as.double(v)
    attributes(v) <- a
  } else if (is.list(v) && !is.data.frame(v)) {
    v <- lapply(v, canonical)
    nm <- names(v)
    if (!is.null(nm) && all(nzchar(nm))) v <- v[order(nm)]
  }
  v
}

# MD5 of the object's serialisation (format 2, which writes compact
# sequences out in full, so equal values give equal digests). A large dense
# matrix is digested a block of columns at a time, so the temporary copy
# never holds more than one block.
checkpoint_digest <- function(object, block = 2^24) {
  file <- tempfile(fileext = ".rds")
  on.exit(unlink(file))
  md5 <- function(v) {
    saveRDS(v, file, version = 2, compress = FALSE)
    unname(tools::md5sum(file))
  }
  if (is_delayed_matrix(object)) return(delayed_digest(object, block, md5))
  if (!is.matrix(object) || length(object) <= block) return(md5(object))
  cols_per_block <- max(1, floor(block / max(1, nrow(object))))
  starts <- seq(1, ncol(object), by = cols_per_block)
  parts <- vapply(starts, function(s) {
    md5(object[, s:min(ncol(object), s + cols_per_block - 1), drop = FALSE])
  }, character(1))
  md5(list(parts = parts, dims = dim(object), dimnames = dimnames(object), type = typeof(object)))
}

# A DelayedMatrix is digested by its values, read a fixed number of columns
# at a time (whatever the auto block size), never by its serialisation: that
# holds the file's path, not its contents, so a file rewritten in place
# would otherwise resume a sweep of other data.
delayed_digest <- function(object, block, md5) {
  cols_per_block <- max(1, floor(block / max(1, nrow(object))))
  grid <- DelayedArray::colAutoGrid(object, ncol = min(ncol(object), cols_per_block))
  sparse <- isTRUE(DelayedArray::is_sparse(object))
  parts <- vapply(grid_viewports(grid), function(vp) md5(read_one_block(object, vp, sparse)), character(1))
  md5(list(parts = parts, dims = dim(object), dimnames = dimnames(object), type = DelayedArray::type(object)))
}

checkpoint_task_file <- function(dir, k) file.path(dir, sprintf("task-%04d.rds", k))

task_files <- function(dir) list.files(dir, pattern = "^task-[0-9]+[.]rds$")

# saveRDS() to a temporary name in the target's directory, then rename: a
# reader sees the whole file or none.
write_atomic <- function(object, path) {
  tmp <- tempfile(pattern = paste0(".", basename(path), "-"), tmpdir = dirname(path), fileext = ".tmp")
  ok <- tryCatch({
    saveRDS(object, tmp)
    file.rename(tmp, path)
  }, error = function(e) conditionMessage(e))
  if (!isTRUE(ok)) {
    unlink(tmp)
    abort(sprintf("could not write the checkpoint file '%s'%s; check that the directory is writable and has space",
                  path, if (is.character(ok)) paste0(": ", ok) else ""))
  }
  invisible(path)
}

# Task k's saved result, or NULL (with a warning when a file is there but
# unusable: unreadable, or written for another task or another call).
checkpoint_read <- function(ck, k) {
  path <- checkpoint_task_file(ck$dir, k)
  if (!file.exists(path)) return(NULL)
  saved <- tryCatch(readRDS(path), error = function(e) e)
  problem <- if (inherits(saved, "error")) {
    conditionMessage(saved)
  } else if (!is.list(saved) || !identical(saved$key, ck$key) || !identical(saved$task, k) ||
             !("result" %in% names(saved))) {
    "it was not written for this task of this call"
  }
  if (is.null(problem)) return(saved)
  warn(sprintf("the checkpoint file '%s' cannot be used (%s); computing that task again", path, problem),
       "checkpoint")
  unlink(path)
  NULL
}

# run_streams() with a checkpoint: read back the finished tasks, run the
# others (each saving its result where it runs, as it finishes) and merge in
# task order; the counts travel in attr(, "checkpoint").
checkpoint_run <- function(ck, n, streams, fun, label) {
  out <- vector("list", n)
  done <- logical(n)
  for (k in seq_len(n)) {
    saved <- checkpoint_read(ck, k)
    if (!is.null(saved)) {
      out[k] <- list(saved$result)
      done[k] <- TRUE
    }
  }
  todo <- which(!done)
  if (any(done)) {
    message(sprintf("checkpoint '%s': %d of %d tasks read back, %d to compute", ck$dir, sum(done), n,
                    length(todo)))
  }
  save_task <- saving_task(fun, ck$key, ck$dir)
  if (length(todo)) out[todo] <- stream_apply(todo, streams, save_task, label)
  attr(out, "checkpoint") <- list(dir = ck$dir, tasks = n, done_before = sum(done), computed = length(todo))
  out
}

# Task k's function that also writes its result to the checkpoint directory,
# where it runs (a future worker, a cluster job). Made here so the closure
# shipped to the workers holds only these three objects.
saving_task <- function(fun, key, dir) {
  function(k) {
    res <- fun(k)
    write_atomic(list(key = key, task = k, result = res), checkpoint_task_file(dir, k))
    res
  }
}
