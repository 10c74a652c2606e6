# The check_* validators of the user-facing functions, all in one file; each
# error names the argument the user typed. The data themselves (NA, negative,
# zeros) are checked in prepare_data() (R/input.R), after one pass in C.

check_beta <- function(beta) {
  if (!is.numeric(beta) || length(beta) != 1L || is.na(beta) || !is.finite(beta)) {
    abort("'beta' must be a single finite number (2 = least squares, 1 = KL/Poisson, 0 = Itakura-Saito)")
  }
  as.double(beta)
}

# match.arg() for the user-facing functions: one of `choices` (a unique
# prefix is enough; the default, the whole vector of choices, and NULL give
# the first), with the choices taken from the caller's formals when not given.
# Unlike match.arg()'s "'arg' should be one of", the error names the argument
# and is a betanmf_error_input.
check_choice <- function(value, choices = NULL, arg = deparse1(substitute(value))) {
  if (is.null(choices)) choices <- eval(formals(sys.function(sys.parent()))[[arg]], parent.frame())
  if (is.null(value) || identical(value, choices)) return(choices[1L])
  if (is.character(value) && length(value) == 1L && !is.na(value) && nzchar(value)) {
    i <- pmatch(value, choices)
    if (!is.na(i)) return(choices[i])
  }
  shown <- if (is.character(value) && length(value) == 1L) sprintf("\"%s\"", value) else
    sprintf("a %s of length %d", class(value)[1], length(value))
  abort(sprintf("'%s' must be one of %s, not %s", arg, paste0("\"", choices, "\"", collapse = ", "), shown))
}

check_count <- function(value, arg, min = 1) {
  if (!is.numeric(value) || length(value) != 1L || is.na(value) || !is.finite(value) ||
      value != round(value) || value < min || value > .Machine$integer.max) {
    abort(sprintf("'%s' must be a single whole number between %d and %d", arg, min, .Machine$integer.max))
  }
  as.integer(value)
}

# NULL is the default: default_threads() (R/threads.R)
check_threads <- function(threads) {
  if (is.null(threads)) return(default_threads())
  check_thread_count(threads, "'threads'")
}

check_thread_count <- function(threads, what) {
  if (!is.numeric(threads) || length(threads) != 1L || is.na(threads) || !is.finite(threads) ||
      threads != round(threads) || threads < 1 || threads > .Machine$integer.max) {
    abort(sprintf("%s must be a single whole number >= 1 (or NULL for the default)", what))
  }
  as.integer(threads)
}

check_rank <- function(rank, dims) {
  top <- min(dims)
  if (!is.numeric(rank) || length(rank) != 1L || is.na(rank) || !is.finite(rank) || rank != round(rank) ||
      rank < 1 || rank > top) {
    abort(sprintf("'rank' must be a single whole number between 1 and min(dim(x)) = %d", top))
  }
  as.integer(rank)
}

# Samples in rows: column names that are channels (SBS-96, DBS-78, ID-83)
# over row names that are not mean the catalog was transposed
# (nmf(t(catalog)) would fit, and the mistake show only later).
check_samples_in_columns <- function(x, arg) {
  cn <- colnames(x)
  if (is.null(cn) || length(cn) < 2L) return(invisible())
  set <- detect_channel_set(cn)
  if (!is.null(set) && is.null(detect_channel_set(rownames(x)))) {
    abort(sprintf(paste0("the columns of '%s' are named by %s channels (%s, ...) and its rows are not: ",
                         "the samples seem to be in rows. Channels must be rows and samples columns: use t(%s)"),
                  arg, channel_set(set)$title, paste(utils::head(cn, 2), collapse = ", "), arg), "alignment")
  }
  invisible()
}

# The held-out pattern (TRUE = left out of the fit) as a logical matrix check
# plus CSC column pointers and 0-based row indices.
check_mask <- function(mask, dims, arg = "mask") {
  if (is.null(mask)) return(NULL)
  if (inherits(mask, "sparseMatrix")) {
    if (!identical(as.integer(dim(mask)), as.integer(dims))) {
      abort(sprintf("'%s' must have the dimensions of x (%d x %d), not %d x %d",
                    arg, dims[1], dims[2], nrow(mask), ncol(mask)))
    }
    if (!(methods::is(mask, "lMatrix") || methods::is(mask, "nMatrix"))) {
      abort(sprintf("'%s' must be logical (TRUE = held out), not a numeric matrix", arg))
    }
    tm <- methods::as(mask, "TsparseMatrix")
    keep <- if (methods::.hasSlot(tm, "x")) tm@x else rep(TRUE, length(tm@i))
    if (anyNA(keep)) abort(sprintf("'%s' contains NA", arg))
    i <- tm@i[keep]
    j <- tm@j[keep]
  } else {
    if (!is.matrix(mask) || !identical(as.integer(dim(mask)), as.integer(dims))) {
      abort(sprintf("'%s' must be a logical matrix with the dimensions of x (%d x %d)",
                    arg, dims[1], dims[2]))
    }
    if (!is.logical(mask)) {
      abort(sprintf("'%s' must be logical (TRUE = held out), not %s", arg, typeof(mask)))
    }
    if (anyNA(mask)) abort(sprintf("'%s' contains NA", arg))
    idx <- which(mask) - 1L # integer arithmetic below (double beyond 2^31 entries)
    i <- as.integer(idx %% dims[1])
    j <- as.integer(idx %/% dims[1])
  }
  pattern_csc(i, j, dims)
}

# A user-supplied list(w = , h = ), checked and moved to internal units.
check_user_init <- function(init, dims, rank, scale) {
  if (!is.list(init) || !all(c("w", "h") %in% names(init))) {
    abort(paste0("'init' must be one of \"", paste(init_methods, collapse = "\", \""),
                 "\" or a list with matrices 'w' and 'h'"))
  }
  w <- init$w
  h <- init$h
  if (!is.matrix(w) || !is.numeric(w) || !identical(as.integer(dim(w)), as.integer(c(dims[1], rank)))) {
    abort(sprintf("'init$w' must be a numeric %d x %d matrix (rows of x by rank)", dims[1], rank))
  }
  if (!is.matrix(h) || !is.numeric(h) || !identical(as.integer(dim(h)), as.integer(c(rank, dims[2])))) {
    abort(sprintf("'init$h' must be a numeric %d x %d matrix (rank by columns of x)", rank, dims[2]))
  }
  if (any(!is.finite(w)) || any(!is.finite(h))) {
    abort("'init$w' and 'init$h' must be finite (no NA, NaN or Inf)", "data")
  }
  if (any(w < 0) || any(h < 0)) {
    abort("'init$w' and 'init$h' must be non-negative", "data")
  }
  storage.mode(w) <- "double"
  storage.mode(h) <- "double"
  list(w = unname(w), h = unname(h) / scale)
}

# Restarts compare local minima reached from different starts. The NNDSVD
# starts are one SVD of x (the randomized range finder of each run's stream
# moves them only slightly), "nndsvdar" adds values below mean(x) / 100 at
# that start's zeros, and a user start is one pair of matrices: every run
# would begin at (nearly) the same point and end in the same minimum, and
# consensus() and stability() would report those copies as perfectly stable. On sbs_catalog
# at rank 6 (8 runs) "nndsvdar" gave a stability of 1.000 for every
# component where random starts found components at 0.84 and 0.92.
check_restart_init <- function(init_name, nrun) {
  if (nrun <= 1L || init_name == "random") return(invisible(TRUE))
  what <- if (init_name == "user") {
    "a start given as list(w, h) is one point"
  } else if (init_name == "nndsvdar") {
    "init = \"nndsvdar\" is one SVD of x with only its zeros perturbed (below mean(x) / 100)"
  } else {
    sprintf("init = \"%s\" is deterministic (one SVD of x)", init_name)
  }
  abort(sprintf(paste0("%s, so nrun = %d runs would all start from the same point and end as copies ",
                       "that consensus() and stability() report as perfectly stable; use init = \"random\" ",
                       "(the default when nrun > 1) for restarts, or nrun = 1 for a single fit from this start"),
                what, nrun))
}

# opportunity as NULL or list(value = what the user gave, matrix = m x n,
# per_sample = whether columns differ)
check_opportunity <- function(opportunity, x) {
  if (is.null(opportunity)) return(NULL)
  m <- nrow(x)
  n <- ncol(x)
  value <- opportunity
  if (is.data.frame(opportunity)) opportunity <- as.matrix(opportunity)
  if (!is.numeric(opportunity)) {
    abort("'opportunity' must be NULL, a numeric vector (one value per channel) or a channels x samples matrix")
  }
  if (is.null(dim(opportunity))) {
    if (length(opportunity) != m) {
      abort(sprintf("'opportunity' must have one value per channel (%d), not %d", m, length(opportunity)))
    }
    opportunity <- conform_rows(matrix(opportunity, dimnames = list(names(opportunity), NULL)),
                                x, "opportunity", "catalog", arg_is_vector = TRUE)[, 1]
    mat <- matrix(opportunity, m, n)
  } else {
    if (!identical(dim(opportunity), dim(x))) {
      abort(sprintf("an 'opportunity' matrix must have the dimensions of 'catalog' (%d x %d)", m, n))
    }
    mat <- conform_rows(opportunity, x, "opportunity", "catalog")
    if (!is.null(colnames(mat)) && !is.null(colnames(x))) {
      # samples too are matched by name when both sides name them
      idx <- match(colnames(x), colnames(mat))
      if (anyNA(idx) || anyDuplicated(colnames(mat))) {
        problem <- if (anyNA(idx)) {
          sprintf("missing: %s", paste(utils::head(colnames(x)[is.na(idx)], 5), collapse = ", "))
        } else {
          sprintf("repeated: %s", paste(utils::head(unique(colnames(mat)[duplicated(colnames(mat))]), 5),
                                        collapse = ", "))
        }
        abort(sprintf(paste0("the columns of the 'opportunity' matrix are matched to the samples of 'catalog' ",
                             "by name, so they must name each of its samples once (%s)"), problem), "alignment")
      }
      mat <- mat[, idx, drop = FALSE]
    }
  }
  if (anyNA(mat) || any(!is.finite(mat)) || any(mat <= 0)) {
    abort("'opportunity' must be finite and positive", "data")
  }
  storage.mode(mat) <- "double"
  per_sample <- n > 1L && any(mat != mat[, 1])
  list(value = value, matrix = unname(mat), per_sample = per_sample)
}

# A finite, non-negative numeric matrix with at least one positive entry per
# column; errors name the argument.
check_profile_matrix <- function(mat, arg) {
  if (is.data.frame(mat)) {
    # a first column of labels (COSMIC's `Type`) names the rows
    labelled <- split_label_column(mat, arg)
    mat <- as.matrix(labelled$values)
    if (!is.null(labelled$labels)) rownames(mat) <- labelled$labels
  }
  if (is.numeric(mat) && is.null(dim(mat))) mat <- matrix(mat, ncol = 1L, dimnames = list(names(mat), NULL))
  if (!is.matrix(mat) || !is.numeric(mat)) {
    abort(sprintf("'%s' must be a numeric matrix (rows = channels, columns = signatures)", arg))
  }
  if (anyNA(mat) || any(!is.finite(mat)) || any(mat < 0)) {
    abort(sprintf("'%s' must be finite and non-negative", arg), "data")
  }
  if (any(colSums(mat) <= 0)) {
    abort(sprintf("'%s' has all-zero column(s): %s", arg,
                  paste(utils::head(which(colSums(mat) <= 0), 5), collapse = ", ")), "data")
  }
  storage.mode(mat) <- "double"
  mat
}

# consensus() and stability() summarise restarts: refuse anything else with a
# message that says what is needed
check_restart_fit <- function(fit, what) {
  if (!inherits(fit, "nmf_fit")) {
    hint <- foreign_hint(fit, what)
    abort(sprintf("'fit' must be an nmf_fit from betanmf::nmf(); %s() summarises its restarts%s", what,
                  if (nzchar(hint)) sprintf("; 'fit' is a %s%s", class(fit)[1], hint) else ""))
  }
  if (is.null(fit$runs) || length(fit$runs) < 2L) {
    abort(sprintf(paste0("%s() needs several runs to compare, but 'fit' has a single run; ",
                         "refit with nmf(..., nrun = 10) or more (nrun > 1)"), what))
  }
  invisible(fit)
}

check_positive <- function(value, arg) {
  if (!is.numeric(value) || length(value) != 1L || is.na(value) || !is.finite(value) || value <= 0) {
    abort(sprintf("'%s' must be a single positive number", arg))
  }
  invisible(value)
}

# The minimum-volume weight of nmf(): 0 (off) or positive, and only with the
# solver that has the min-volume update (MU); ctl: the validated control
# list (solver_control()), or NULL before it exists; no penalty on W beside
# the volume.  auto = TRUE (nmf() itself) also accepts "auto", returned as is
# (R/minvol.R chooses the number).
check_volume <- function(volume, solver, ctl = NULL, auto = FALSE) {
  if (auto && is.character(volume) && length(volume) == 1L && !is.na(volume) && volume == "auto") {
    if (solver %in% c("hals", "cd")) {
      abort(sprintf(paste0("volume = \"auto\" (minimum volume) is fitted by multiplicative updates only; ",
                           "use solver = \"mu\" or \"auto\", not \"%s\""), solver))
    }
    return("auto")
  }
  if (!auto && identical(volume, "auto")) {
    abort(paste0("volume = \"auto\" is chosen in nmf() only; give a number here ",
                 "(e.g. the $volume_selection$chosen of an nmf(volume = \"auto\") fit)"))
  }
  if (is.character(volume)) {
    abort(sprintf("'volume' must be a single non-negative number or \"auto\", not \"%s\"",
                  paste(volume, collapse = "\", \"")))
  }
  if (!is.numeric(volume) || length(volume) != 1L || is.na(volume) || !is.finite(volume) || volume < 0) {
    abort("'volume' must be a single non-negative number (0 = no minimum-volume penalty)")
  }
  volume <- as.double(volume)
  if (volume > 0 && solver %in% c("hals", "cd")) {
    abort(sprintf(paste0("volume > 0 (minimum volume) is fitted by multiplicative updates only; ",
                         "use solver = \"mu\" or \"auto\", not \"%s\""), solver))
  }
  if (volume > 0 && !is.null(ctl) && (ctl$l1[1] != 0 || ctl$l2[1] != 0)) {
    abort("volume > 0 cannot be combined with an l1 or l2 penalty on W (control$l1[1], control$l2[1]); set them to 0")
  }
  volume
}

# A checkpoint directory (see ?checkpoints): a single path, created if
# absent; returned absolute, so workers in other directories (cluster jobs)
# write to the same place.
check_checkpoint <- function(dir) {
  if (!is.character(dir) || length(dir) != 1L || is.na(dir) || !nzchar(dir)) {
    abort("'checkpoint' must be NULL or the path of a directory (a single string)")
  }
  if (file.exists(dir) && !dir.exists(dir)) {
    abort(sprintf("'checkpoint' must be a directory, but '%s' is a file", dir))
  }
  if (!dir.exists(dir) && !dir.create(dir, recursive = TRUE, showWarnings = FALSE)) {
    abort(sprintf("the checkpoint directory '%s' could not be created; check the path and its permissions", dir))
  }
  if (file.access(dir, 2L) != 0L) {
    abort(sprintf("the checkpoint directory '%s' is not writable", dir))
  }
  normalizePath(dir, mustWork = TRUE)
}
