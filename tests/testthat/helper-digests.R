# The bit-for-bit baseline of issue 23: a fixed grid of fits, each reduced to
# one MD5 digest of the exact bits of what it returns. test-digests.R compares
# the grid with digests recorded on the same platform; tools/digests.R records
# them. Every solver (HALS, MU, KL coordinate descent), every beta of
# {0, 0.5, 1, 1.5, 2, 3} for MU, dense, sparse (dgCMatrix) and held-out
# entries, ranks 1-35, both kernel builds (AVX2+FMA and baseline), the
# environment switches, penalties, starts, restarts and predict().

# MD5 of the exact bits of some numbers: each vector as its length and its
# IEEE doubles, little-endian, through writeBin (no printing, no rounding; -0
# and NaN payloads count). Names, dimnames, attributes, the call and
# environments are left out: as.double() drops them all.
digest_doubles <- function(...) {
  file <- tempfile("digest")
  con <- file(file, "wb")
  for (v in list(...)) {
    v <- as.double(unname(v))
    writeBin(as.double(length(v)), con, size = 8L, endian = "little")
    writeBin(v, con, size = 8L, endian = "little")
  }
  close(con)
  on.exit(unlink(file))
  unname(tools::md5sum(file))
}

# a fit: the factors, loss, loss trace and iterations; with restarts also
# every run's factors, loss and iterations
digest_fit <- function(fit) {
  parts <- list(fit$w, fit$h, fit$loss, fit$iterations, fit$trace$iteration, fit$trace$loss)
  for (run in fit$runs) parts <- c(parts, list(run$w, run$h, run$loss, run$iterations))
  do.call(digest_doubles, parts)
}

# Fixed data, whatever the user's RNG kind and state (both restored).
digest_data <- function() {
  had <- exists(".Random.seed", envir = globalenv(), inherits = FALSE)
  old <- if (had) get(".Random.seed", envir = globalenv(), inherits = FALSE)
  kind <- RNGkind()
  on.exit({
    RNGkind(kind[1], kind[2], kind[3])
    if (had) assign(".Random.seed", old, envir = globalenv())
    else if (exists(".Random.seed", envir = globalenv(), inherits = FALSE)) rm(".Random.seed", envir = globalenv())
  })
  set.seed(23, kind = "Mersenne-Twister", normal.kind = "Inversion", sample.kind = "Rejection")
  planted_mean <- function(m, n, r) matrix(stats::rexp(m * r), m, r) %*% matrix(stats::rexp(r * n), r, n)
  counts <- function(m, n, r, scale) {
    x <- matrix(stats::rpois(m * n, planted_mean(m, n, r) * scale), m, n)
    storage.mode(x) <- "double"
    x
  }
  # 77 x 69: no dimension a multiple of 4, 16 or 32 (tails of every tile)
  pois <- counts(77, 69, 5, 2)
  mu <- planted_mean(77, 69, 5)
  gam <- matrix(stats::rgamma(77 * 69, shape = 2, rate = 2 / mu), 77, 69) # positive: beta <= 0
  sparse_counts <- counts(77, 69, 5, 0.15) # about 60 % zeros
  tall <- counts(2500, 40, 4, 0.02) # sparse W half: several blocks of rows
  list(pois = pois, gam = gam,
       sp = Matrix::Matrix(sparse_counts, sparse = TRUE),
       sp_gam = methods::as(Matrix::Matrix(gam, sparse = TRUE), "CsparseMatrix"), # no zeros
       mask = cv_mask(pois, 0.1, seed = 5),
       mask_gam = cv_mask(gam, 0.1, seed = 6),
       small = counts(40, 30, 3, 1), # Gram matrices of factors shorter than 64
       tall = tall, tall_sp = Matrix::Matrix(tall, sparse = TRUE),
       big = counts(1024, 1024, 3, 1), # 2^20 entries: HALS's one-pass update
       huge = counts(2100, 2000, 2, 0.5)) # over 2^22 entries: HALS makes no transposed copy
}

# The grid: a named list of cases, each a function returning its digest.
# `threads`: passed to every fit. `ranks`: the main ranks, chosen for the
# thresholds of src/ at commit fe6bdf3: register tiles of 4 columns (1, 2, 3,
# 4 vectors ...), the fused MU pass at rank <= 4, the tiled kernels up to 32
# and BLAS beyond (33, 35).
digest_cases <- function(data, threads = 1L,
                         ranks = c(1, 2, 3, 4, 5, 8, 9, 12, 13, 16, 17, 20, 24, 32, 33, 35)) {
  cases <- list()
  add <- function(name, fun) cases[[name]] <<- fun
  fit <- function(x, rank, beta, solver, ..., maxit = 30, seed = 1) {
    force(x); force(rank); force(beta); force(solver); args <- list(...)
    function() {
      f <- suppressWarnings(do.call(nmf, c(list(x, rank, beta = beta, solver = solver, maxit = maxit, tol = 0,
                                                 seed = seed, threads = threads), args)))
      digest_fit(f)
    }
  }
  with_env <- function(vars, case) {
    force(vars); force(case)
    function() {
      old <- Sys.getenv(names(vars), unset = NA, names = TRUE)
      on.exit(for (v in names(old)) if (is.na(old[[v]])) Sys.unsetenv(v) else do.call(Sys.setenv, as.list(old[v])))
      do.call(Sys.setenv, as.list(vars))
      case()
    }
  }
  d <- data
  mu_betas <- c(0, 0.5, 1, 1.5, 2, 3)
  dense_for <- function(beta) if (beta <= 0) d$gam else d$pois
  sparse_for <- function(beta) if (beta <= 0) d$sp_gam else d$sp
  mask_for <- function(beta) if (beta <= 0) d$mask_gam else d$mask
  as_sparse <- function(x) methods::as(Matrix::Matrix(x, sparse = TRUE), "CsparseMatrix")

  # (for beta <= 0, nmf() runs sparse data through the dense code: the same
  # bits as the dense case, which the digests record too)
  for (r in ranks) {
    add(sprintf("hals/dense/r%d", r), fit(d$pois, r, 2, "hals"))
    add(sprintf("hals/sparse/r%d", r), fit(d$sp, r, 2, "hals"))
    add(sprintf("cd/dense/r%d", r), fit(d$pois, r, 1, "cd"))
    add(sprintf("cd/sparse/r%d", r), fit(d$sp, r, 1, "cd"))
    for (b in mu_betas) {
      add(sprintf("mu/b%g/dense/r%d", b, r), fit(dense_for(b), r, b, "mu"))
      add(sprintf("mu/b%g/sparse/r%d", b, r), fit(sparse_for(b), r, b, "mu"))
    }
  }
  # held-out entries (a cv_mask), dense and sparse
  for (r in c(1, 3, 4, 5, 12, 17, 33)) {
    for (s in c("hals", "cd")) {
      add(sprintf("%s/masked-dense/r%d", s, r), fit(d$pois, r, if (s == "hals") 2 else 1, s, mask = d$mask))
      add(sprintf("%s/masked-sparse/r%d", s, r),
          fit(as_sparse(d$pois), r, if (s == "hals") 2 else 1, s, mask = d$mask))
    }
    for (b in mu_betas) {
      add(sprintf("mu/b%g/masked-dense/r%d", b, r), fit(dense_for(b), r, b, "mu", mask = mask_for(b)))
      add(sprintf("mu/b%g/masked-sparse/r%d", b, r),
          fit(as_sparse(dense_for(b)), r, b, "mu", mask = mask_for(b)))
    }
  }
  # factors shorter than 64 (the Gram kernel's other path)
  for (r in c(1, 4, 5, 13, 24)) {
    add(sprintf("hals/small/r%d", r), fit(d$small, r, 2, "hals"))
    add(sprintf("cd/small/r%d", r), fit(d$small, r, 1, "cd"))
    add(sprintf("mu/b1/small/r%d", r), fit(d$small, r, 1, "mu"))
    add(sprintf("mu/b1.5/small/r%d", r), fit(d$small, r, 1.5, "mu"))
  }
  # tall: the sparse W half in several blocks of rows; the dense copy alike
  for (r in c(3, 20)) {
    for (st in c("tall", "tall_sp")) {
      add(sprintf("hals/%s/r%d", st, r), fit(d[[st]], r, 2, "hals", maxit = 10))
      add(sprintf("cd/%s/r%d", st, r), fit(d[[st]], r, 1, "cd", maxit = 10))
      add(sprintf("mu/b1/%s/r%d", st, r), fit(d[[st]], r, 1, "mu", maxit = 10))
      add(sprintf("mu/b0.5/%s/r%d", st, r), fit(d[[st]], r, 0.5, "mu", maxit = 10))
    }
  }
  # HALS's one-pass update: by size, and forced (BETANMF_FUSE=1) on small data
  for (r in c(3, 20)) {
    add(sprintf("hals/big/r%d", r), fit(d$big, r, 2, "hals", maxit = 4, init = "random"))
  }
  add("hals/big-nofuse/r3", with_env(c(BETANMF_NOFUSE = "1"), fit(d$big, 3, 2, "hals", maxit = 4, init = "random")))
  # without the one-pass update and above the size of the copy: H t(X) on
  # the user's array
  add("hals/huge-nofuse/r3", with_env(c(BETANMF_NOFUSE = "1"), fit(d$huge, 3, 2, "hals", maxit = 3, init = "random")))
  for (r in c(1, 5, 16, 32)) {
    add(sprintf("hals/dense-fuse/r%d", r), with_env(c(BETANMF_FUSE = "1"), fit(d$pois, r, 2, "hals")))
  }
  # MU's fused pass turned off; R's BLAS for the dense products
  for (b in c(0, 0.5, 1, 1.5, 3)) {
    add(sprintf("mu/b%g/dense-nofuse/r3", b), with_env(c(BETANMF_NOFUSE = "1"), fit(dense_for(b), 3, b, "mu")))
  }
  for (r in c(3, 8)) {
    add(sprintf("hals/dense-blas/r%d", r), with_env(c(BETANMF_BLAS = "1"), fit(d$pois, r, 2, "hals")))
    add(sprintf("cd/dense-blas/r%d", r), with_env(c(BETANMF_BLAS = "1"), fit(d$pois, r, 1, "cd")))
    add(sprintf("mu/b1/dense-blas/r%d", r), with_env(c(BETANMF_BLAS = "1"), fit(d$pois, r, 1, "mu")))
    add(sprintf("mu/b0/dense-blas/r%d", r), with_env(c(BETANMF_BLAS = "1"), fit(d$gam, r, 0, "mu")))
  }
  # penalties, inner sweeps and check intervals
  pen <- list(l1 = c(0.5, 1), l2 = c(0.1, 0.2))
  for (st in c("dense", "sparse")) {
    x <- if (st == "dense") d$pois else d$sp
    add(sprintf("hals/%s-penalty/r5", st), fit(x, 5, 2, "hals", control = pen))
    add(sprintf("cd/%s-penalty/r5", st), fit(x, 5, 1, "cd", control = pen))
    add(sprintf("mu/b1/%s-penalty/r5", st), fit(x, 5, 1, "mu", control = pen))
    add(sprintf("mu/b0.5/%s-penalty/r5", st), fit(x, 5, 0.5, "mu", control = pen))
    add(sprintf("mu/b1.5/%s-penalty/r3", st), fit(x, 3, 1.5, "mu", control = pen))
    add(sprintf("hals/%s-inner3/r5", st), fit(x, 5, 2, "hals", control = list(inner = 3, inner_tol = 0)))
    add(sprintf("cd/%s-inner3/r5", st), fit(x, 5, 1, "cd", control = list(inner = 3, check = 1)))
    add(sprintf("mu/b1/%s-check1/r5", st), fit(x, 5, 1, "mu", control = list(check = 1)))
  }
  # every start
  for (init in c("nndsvda", "nndsvds", "nndsvd", "nndsvdar", "random")) {
    add(sprintf("hals/dense-init-%s/r5", init), fit(d$pois, 5, 2, "hals", init = init))
    add(sprintf("mu/b1/sparse-init-%s/r5", init), fit(d$sp, 5, 1, "mu", init = init))
  }
  # restarts (random starts from per-run streams)
  for (st in c("dense", "sparse")) {
    x <- if (st == "dense") d$pois else d$sp
    add(sprintf("hals/%s-nrun2/r4", st), fit(x, 4, 2, "hals", nrun = 2, seed = 7))
    add(sprintf("cd/%s-nrun2/r4", st), fit(x, 4, 1, "cd", nrun = 2, seed = 7))
    add(sprintf("mu/b1.5/%s-nrun2/r4", st), fit(x, 4, 1.5, "mu", nrun = 2, seed = 7))
  }
  # predict(): W fixed (HALS for beta 2, CD for beta 1, MU otherwise)
  pred <- function(beta, solver, rank, newdata) {
    force(beta); force(solver); force(rank); force(newdata)
    function() {
      f <- suppressWarnings(nmf(d$pois, rank, beta = beta, solver = solver, maxit = 30, tol = 0, seed = 3,
                                threads = threads))
      h <- predict(f, newdata, maxit = 30, tol = 0, threads = threads)
      digest_doubles(h)
    }
  }
  for (r in c(3, 8)) {
    add(sprintf("predict/b2/dense/r%d", r), pred(2, "hals", r, d$pois[, 1:25]))
    add(sprintf("predict/b2/sparse/r%d", r), pred(2, "hals", r, d$sp[, 1:25]))
    add(sprintf("predict/b1/dense/r%d", r), pred(1, "cd", r, d$pois[, 1:25]))
    add(sprintf("predict/b1/sparse/r%d", r), pred(1, "cd", r, d$sp[, 1:25]))
    add(sprintf("predict/b1.5/dense/r%d", r), pred(1.5, "mu", r, d$pois[, 1:25]))
  }
  cases
}

# Run cases under both kernel builds (the AVX2 one where the CPU has it, and
# the baseline forced by simd_baseline(TRUE)); names "avx2/..." and "base/...".
# Returns a named character vector of digests; a case that fails gives
# "error: <message>".
digest_run <- function(cases, builds = c("avx2", "base")) {
  old <- betanmf:::simd_baseline(FALSE)
  on.exit(betanmf:::simd_baseline(old))
  switches <- c("BETANMF_BLAS", "BETANMF_FUSE", "BETANMF_NOFUSE")
  saved <- Sys.getenv(switches, unset = NA, names = TRUE)
  Sys.unsetenv(switches)
  on.exit(for (v in names(saved)) if (!is.na(saved[[v]])) do.call(Sys.setenv, as.list(saved[v])), add = TRUE)
  out <- character(0)
  for (b in builds) {
    betanmf:::simd_baseline(b == "base")
    one <- vapply(cases, function(case) {
      tryCatch(case(), error = function(e) paste("error:", conditionMessage(e)))
    }, character(1))
    out <- c(out, stats::setNames(one, paste0(b, "/", names(cases))))
  }
  out
}

digest_grid <- function(threads = 1L) digest_run(digest_cases(digest_data(), threads = threads))

# What the bits depend on besides the code: R, the BLAS and LAPACK it calls
# (products beyond rank 32, Grams, the QR of the NNDSVD starts), the C
# library (pow, exp, log), whether the package's run-time dispatch runs the
# AVX2 + FMA kernels, and the compiler with its optimisation and target flags.
digest_platform <- function() {
  esv <- extSoftVersion()
  # the builds the package's own dispatch runs here (what simd_baseline()
  # switches between), not what the CPU advertises
  cpu <- if ("avx2+fma" %in% betanmf:::simd_builds()) "avx2+fma" else "no avx2+fma"
  r_cmd <- file.path(R.home("bin"), "R")
  config <- function(var) {
    out <- tryCatch(suppressWarnings(system2(r_cmd, c("CMD", "config", var), stdout = TRUE, stderr = FALSE)),
                    error = function(e) character(0))
    paste(out, collapse = " ")
  }
  cc <- config("CC")
  cc_version <- tryCatch({
    v <- suppressWarnings(system2(strsplit(cc, " ")[[1]][1], "--version", stdout = TRUE, stderr = FALSE))
    if (length(v)) v[1] else "unknown"
  }, error = function(e) "unknown")
  cflags <- strsplit(config("CFLAGS"), "[[:space:]]+")[[1]]
  cflags <- cflags[grepl("^-(O|m|ffast-math|ffp-contract|fno-fp-contract|funsafe)", cflags)]
  c(R = R.version.string, platform = R.version$platform,
    BLAS = unname(esv["BLAS"]), LAPACK = La_library(), libc = unname(esv["iconv"]),
    cpu = cpu, CC = paste(cc, "|", cc_version), CFLAGS = paste(cflags, collapse = " "))
}

# The recorded digests (tests/testthat/digests/*.R) whose platform is this
# one: a list(platform, reason, digests); else a list whose `differs` says,
# per recording, in what its platform differs.
digest_recorded <- function(dir, platform = digest_platform()) {
  differs <- character(0)
  for (f in sort(list.files(dir, pattern = "[.]R$", full.names = TRUE))) {
    rec <- source(f, local = new.env())$value
    theirs <- rec$platform[names(platform)]
    if (identical(unname(theirs), unname(platform))) return(rec)
    bad <- names(platform)[is.na(theirs) | theirs != platform]
    differs <- c(differs, sprintf("%s differs in %s", basename(f), paste(bad, collapse = ", ")))
  }
  list(differs = differs)
}
