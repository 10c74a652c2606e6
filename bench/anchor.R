# The anchor table of issue 28: betanmf against every peer, single-threaded,
# in one run: time to within 1 % of the best loss, and seconds per
# iteration, on four data sets at beta = 2 and beta = 1, with the ratio
# betanmf / best peer per cell.
#
#   BENCH_ONLY=anchor bash bench/run.sh     (the reference BLAS, then OpenBLAS)
#   Rscript --vanilla bench/anchor.R <library of RcppML 1.0>   (R's BLAS as it is)
#
# Data (bench/common.R, seeded): expr 5000 x 38 rank 3; catalog 96 x 1000
# rank 8; dense 2000 x 2000 rank 20; sparse 20000 x 3000 rank 10 (5 % non-zero,
# dgCMatrix).
# Peers, one thread each:
#   beta = 2  RcppML 1.0 (loss = "mse", from the shared tarball; its own
#             library: it has the same name as CRAN's), RcppML 0.3.7 (CRAN),
#             scikit-learn NMF(solver = "cd") (Frobenius coordinate descent)
#   beta = 1  RcppML 1.0 (loss = "gp", dispersion = "none": Poisson IRLS),
#             NMF brunet (dense only: NMF densifies), scikit-learn
#             NMF(solver = "mu", beta_loss = "kullback-leibler")
# betanmf runs its defaults (HALS at beta = 2, coordinate descent at beta = 1;
# NNDSVDa start); every peer its default start.
#
# Every fit runs in an R (or python) process of its own: two RcppML builds
# cannot share a session, and each process starts with the same collector
# state.
#   1. grid: per method, fits of maxit 1, 2, 4, ... from the default start,
#      until a run exceeds the set's time budget or the loss stops moving;
#      the loss of each from the returned factors, by one formula for all
#      (common.R's loss(): 0.5 ||X - WH||^2 and the generalised KL).
#      best = the lowest loss any method reached on that set and beta; a
#      method's hitting maxit = the first of its grid within 1 % of best.
#   2. repeats (BENCH_REPEATS, default 3), every method in turn in each (the
#      order rotates): one process times the hitting maxit again from the
#      default start, and maxit k0 and k0 + K from one fixed random start
#      (betanmf and sklearn get the identical W0, H0; RcppML 1.0 the same W0;
#      RcppML 0.3.7 and NMF their seeded random start).
#   s/iter  median over repeats of (T(k0 + K) - T(k0)) / K: set-up subtracted.
#   to 1%   median over repeats of the hitting run's elapsed seconds
#           ("> t": never within 1 % in the budget; ratios against it are
#           bounds).
#   ratio   betanmf / the best peer in that column (below 1: betanmf ahead).
# BENCH_QUICK=1: small data, one repeat (smoke test). BENCH_SETS: the sets to
# run (default "expr catalog dense sparse"). BENCH_PYTHON: the python with
# scikit-learn (default /usr/bin/python3).

args <- commandArgs(TRUE)

## ------------------------------------------------------------ worker ----
# Rscript bench/anchor.R --worker <job.rds> <out.rds>: one method, one set,
# the fits the job lists, timed in this fresh process.
if (length(args) >= 3L && args[1] == "--worker") {
  job <- readRDS(args[2])
  if (!is.null(job$lib)) .libPaths(c(job$lib, .libPaths()))
  suppressPackageStartupMessages(library(Matrix))
  d <- readRDS(job$data)
  x <- d$x; rank <- d$rank; beta <- job$beta
  fit <- switch(job$method,
    betanmf = function(k, start) {
      f <- suppressWarnings(betanmf::nmf(x, rank, beta = beta, maxit = k, tol = 0, init = start, seed = 1,
                                         threads = 1))
      list(w = f$w, h = f$h, it = f$iterations)
    },
    rcppml1 = function(k, start) {
      seed <- if (is.null(start)) 1L else start$w
      f <- if (beta == 2) RcppML::nmf(x, rank, tol = 1e-15, maxit = k, seed = seed, threads = 1, loss = "mse") else
        RcppML::nmf(x, rank, tol = 1e-15, maxit = k, seed = seed, threads = 1, loss = "gp", dispersion = "none")
      list(w = f@w %*% diag(f@d, length(f@d)), h = f@h, it = NA)
    },
    rcppml037 = function(k, start) {
      RcppML::setRcppMLthreads(1L)
      f <- RcppML::nmf(x, rank, tol = 1e-300, maxit = k, verbose = FALSE, seed = 1)
      list(w = sweep(f$w, 2, f$d, "*"), h = f$h, it = NA)
    },
    nmf_brunet = function(k, start) {
      f <- NMF::nmf(x, rank, method = "brunet", seed = 1, .stop = NMF::nmf.stop.iteration(k))
      list(w = NMF::basis(f), h = NMF::coef(f), it = NA)
    },
    stop("unknown method ", job$method))
  if (job$method == "rcppml037") RcppML::setRcppMLthreads(1L)
  loss <- function(w, h) {
    if (inherits(x, "sparseMatrix")) {
      if (beta == 2) {
        return(0.5 * (sum(x@x^2) - 2 * sum((crossprod(w, x)) * h) + sum(crossprod(w) * tcrossprod(h))))
      }
      i <- x@i + 1L
      j <- rep.int(seq_len(ncol(x)), diff(x@p))
      y <- rowSums(w[i, , drop = FALSE] * t(h)[j, , drop = FALSE])
      return(sum(x@x * log(x@x / y)) - sum(x@x) + sum(colSums(w) * rowSums(h)))
    }
    y <- w %*% h
    if (beta == 2) return(0.5 * sum((x - y)^2))
    pos <- x > 0
    sum(x[pos] * log(x[pos] / y[pos])) - sum(x) + sum(y)
  }
  timed <- function(k, start) {
    gc(FALSE)
    t0 <- proc.time()[["elapsed"]]
    f <- fit(k, start)
    list(elapsed = proc.time()[["elapsed"]] - t0, f = f)
  }
  invisible(timed(1L, NULL)) # warm-up: page in the data and the libraries
  out <- list()
  if (job$mode == "grid") {
    k <- 1L; ls <- numeric(0)
    repeat {
      r <- timed(k, NULL)
      ls <- c(ls, loss(r$f$w, r$f$h))
      out[[length(out) + 1L]] <- data.frame(kind = "grid", maxit = k, elapsed = r$elapsed, loss = ls[length(ls)])
      n <- length(ls)
      # (a model with a zero where x > 0 has an infinite KL loss: not flat)
      flat <- n >= 3L && is.finite(ls[n]) && is.finite(ls[n - 2L]) && abs(ls[n] / ls[n - 2L] - 1) < 1e-7
      if (r$elapsed > job$budget || flat || k >= 20480L) break
      k <- 2L * k
    }
  } else {
    if (!is.na(job$hit)) out[[1]] <- data.frame(kind = "hit", maxit = job$hit, elapsed = timed(job$hit, NULL)$elapsed, loss = NA)
    for (k in c(job$k0, job$k0 + job$K)) {
      out[[length(out) + 1L]] <- data.frame(kind = "iter", maxit = k, elapsed = timed(k, d$start)$elapsed, loss = NA)
    }
  }
  saveRDS(do.call(rbind, out), args[3])
  quit(save = "no")
}

## ------------------------------------------------------------ driver ----

peer_lib <- args[1] # "none": without RcppML 1.0 (a smoke test of the rest)
if (is.na(peer_lib) || (peer_lib != "none" && !file.exists(file.path(peer_lib, "RcppML", "DESCRIPTION")))) {
  stop("give the library holding RcppML 1.0 (bash bench/run.sh installs it there)", call. = FALSE)
}
v1 <- if (peer_lib == "none") "(none)" else read.dcf(file.path(peer_lib, "RcppML", "DESCRIPTION"), "Version")[1, 1]
if (peer_lib != "none" && package_version(v1) < "1.0.0") stop("RcppML in ", peer_lib, " is ", v1, ", not 1.0", call. = FALSE)
source("bench/common.R", local = TRUE) # data generators, quick, repeats; betanmf, RcppML 0.3.7, NMF present
repeats <- as.integer(Sys.getenv("BENCH_REPEATS", if (quick) 1L else 3L))
options(width = 200, warn = 1)
Sys.setenv(OMP_NUM_THREADS = "1", OPENBLAS_NUM_THREADS = "1", MKL_NUM_THREADS = "1")
tmp <- tempfile("anchor-")
dir.create(tmp)
on.exit(unlink(tmp, recursive = TRUE), add = TRUE)
t_start <- proc.time()[["elapsed"]]
stamp <- function(...) cat(sprintf("[%6.0f s] ", proc.time()[["elapsed"]] - t_start), ..., "\n", sep = "")
rscript <- file.path(R.home("bin"), "Rscript")
py <- Sys.getenv("BENCH_PYTHON", "/usr/bin/python3")
have_sk <- file.exists(py) && identical(suppressWarnings(system2(py, c("-c", shQuote("import sklearn")),
                                                                  stdout = FALSE, stderr = FALSE)), 0L)

# (made only for the sets BENCH_SETS asks for)
sets <- if (quick) {
  list(expr = function() list(x = make_expr(500, 38, 3, 11), rank = 3),
       catalog = function() list(x = make_catalog(96, 200, 8, 12), rank = 8),
       dense = function() list(x = make_dense(300, 300, 20, 1), rank = 20),
       sparse = function() list(x = make_sparse(3000, 500, 10, 0.05, 2), rank = 10))
} else {
  list(expr = function() list(x = make_expr(5000, 38, 3, 11), rank = 3),
       catalog = function() list(x = make_catalog(96, 1000, 8, 12), rank = 8),
       dense = function() list(x = make_dense(2000, 2000, 20, 1), rank = 20),
       sparse = function() list(x = make_sparse(20000, 3000, 10, 0.05, 2), rank = 10))
}
only <- strsplit(Sys.getenv("BENCH_SETS", paste(names(sets), collapse = " ")), "[ ,]+")[[1]]
if (!length(only) || !all(only %in% names(sets))) stop("BENCH_SETS names sets among: ", paste(names(sets), collapse = ", "), call. = FALSE)
sets <- lapply(sets[only], function(f) f())
# the grid's time budget per run (seconds), and K, the iterations of the
# per-iteration difference (fewer for the slowest peers)
budget <- if (quick) c(expr = 1, catalog = 1, dense = 1, sparse = 1) else c(expr = 5, catalog = 5, dense = 20, sparse = 20)
K_fast <- if (quick) c(expr = 20, catalog = 20, dense = 5, sparse = 5) else c(expr = 200, catalog = 200, dense = 10, sparse = 10)
K_slow <- if (quick) c(expr = 5, catalog = 5, dense = 2, sparse = 2) else c(expr = 40, catalog = 40, dense = 3, sparse = 3)

methods <- list(
  list(id = "betanmf", beta = 2, label = "betanmf HALS", k0 = 1, slow = FALSE),
  list(id = "rcppml1", beta = 2, label = "RcppML 1.0", k0 = 5, slow = FALSE, lib = peer_lib),
  list(id = "rcppml037", beta = 2, label = "RcppML 0.3.7", k0 = 5, slow = FALSE),
  list(id = "sk_cd", beta = 2, label = "sklearn CD", k0 = 1, slow = FALSE, py = TRUE),
  list(id = "betanmf", beta = 1, label = "betanmf CD", k0 = 1, slow = FALSE),
  list(id = "rcppml1", beta = 1, label = "RcppML 1.0 gp", k0 = 5, slow = TRUE, lib = peer_lib),
  list(id = "nmf_brunet", beta = 1, label = "NMF brunet", k0 = 5, slow = TRUE, dense_only = TRUE),
  list(id = "sk_mu", beta = 1, label = "sklearn MU", k0 = 1, slow = FALSE, py = TRUE)
)
if (!have_sk) methods <- Filter(function(m) !isTRUE(m$py), methods)
if (peer_lib == "none") methods <- Filter(function(m) m$id != "rcppml1", methods)

random_start <- function(x, rank, seed = 7) {
  set.seed(seed)
  s <- sqrt((sum(if (inherits(x, "sparseMatrix")) x@x else x) / prod(dim(x))) / rank)
  list(w = matrix(runif(nrow(x) * rank, 0, 2 * s), nrow(x), rank),
       h = matrix(runif(rank * ncol(x), 0, 2 * s), rank, ncol(x)))
}
write_dbl <- function(v, f) writeBin(as.double(v), f, endian = "little")
files <- list()
for (s in names(sets)) {
  x <- sets[[s]]$x; rank <- sets[[s]]$rank; st <- random_start(x, rank)
  f <- file.path(tmp, paste0(s, ".rds"))
  saveRDS(list(x = x, rank = rank, start = st), f, compress = FALSE)
  d <- file.path(tmp, paste0(s, "-py"))
  dir.create(d)
  sparse <- inherits(x, "sparseMatrix")
  writeLines(paste(nrow(x), ncol(x), rank, as.integer(sparse)), file.path(d, "spec.txt"))
  if (sparse) {
    write_dbl(x@i, file.path(d, "i.bin")); write_dbl(rep.int(seq_len(ncol(x)) - 1L, diff(x@p)), file.path(d, "j.bin"))
    write_dbl(x@x, file.path(d, "v.bin"))
  } else write_dbl(x, file.path(d, "x.bin"))
  write_dbl(t(st$w), file.path(d, "w0.bin")); write_dbl(t(st$h), file.path(d, "h0.bin"))
  files[[s]] <- list(rds = f, py = d)
}

# one worker process; returns its data frame (kind, maxit, elapsed, loss)
run_job <- function(m, s, mode, hit = NA, K = NA) {
  if (isTRUE(m$py)) {
    solver <- if (m$id == "sk_cd") "cd" else "mu"
    a <- if (mode == "grid") c("grid", budget[[s]]) else c("time", if (is.na(hit)) 0 else hit, m$k0, m$k0 + K)
    out <- system2(py, c(file.path("bench", "sklearn_anchor.py"), files[[s]]$py, solver, m$beta, a), stdout = TRUE,
                   env = c("OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1"))
    if (is.null(sk_info)) sk_info <<- sub("^# ", "", grep("^#", out, value = TRUE)[1])
    return(read.csv(text = grep("^#", out, value = TRUE, invert = TRUE), header = FALSE,
                    col.names = c("kind", "maxit", "elapsed", "loss")))
  }
  jf <- file.path(tmp, "job.rds"); of <- file.path(tmp, "out.rds")
  unlink(of)
  saveRDS(list(method = m$id, lib = m$lib, data = files[[s]]$rds, beta = m$beta, mode = mode, budget = budget[[s]],
               hit = hit, k0 = m$k0, K = K), jf)
  st <- system2(rscript, c("--vanilla", "bench/anchor.R", "--worker", jf, of))
  if (st != 0 || !file.exists(of)) stop(sprintf("worker %s %s beta %g %s failed", m$label, s, m$beta, mode), call. = FALSE)
  readRDS(of)
}
sk_info <- NULL

cat("== the anchor table (issue 28)", if (quick) " [BENCH_QUICK: small data, 1 repeat]", "\n", sep = "")
cat(sprintf("R BLAS:   %s\nLAPACK:   %s\n", sessionInfo()$BLAS, sessionInfo()$LAPACK))
cpu <- tryCatch(sub(".*: ", "", grep("^model name", readLines("/proc/cpuinfo"), value = TRUE)[1]), error = function(e) NA)
cat(sprintf("CPU:      %s; %d cores; %s\n", cpu, parallel::detectCores(), R.version.string))
cat(sprintf("versions: betanmf %s, RcppML %s (CRAN) and %s (%s), NMF %s, Matrix %s\n", packageVersion("betanmf"),
            packageVersion("RcppML"), v1, peer_lib, packageVersion("NMF"), packageVersion("Matrix")))
cat(sprintf("repeats:  %d (medians); threads 1 everywhere\n\n", repeats))

rows <- list()
for (s in names(sets)) {
  x <- sets[[s]]$x
  sparse <- inherits(x, "sparseMatrix")
  stamp(sprintf("== %s: %d x %d, rank %d, %s", s, nrow(x), ncol(x), sets[[s]]$rank, class(x)[1]))
  for (b in c(2, 1)) {
    ms <- Filter(function(m) m$beta == b && !(isTRUE(m$dense_only) && sparse), methods)
    grids <- lapply(ms, function(m) {
      g <- run_job(m, s, "grid")
      stamp(sprintf("   beta %g %-14s grid %s", b, m$label,
                    paste(sprintf("%d:%.4fs:%.7g", g$maxit, g$elapsed, g$loss), collapse = " ")))
      g
    })
    best <- min(vapply(grids, function(g) min(g$loss), 0))
    hits <- vapply(grids, function(g) { i <- which(g$loss <= 1.01 * best)[1]; if (is.na(i)) NA_real_ else g$maxit[i] }, 0)
    reps <- vector("list", length(ms))
    for (r in seq_len(repeats)) {
      ord <- ((seq_along(ms) + r - 2L) %% length(ms)) + 1L # rotate who goes first
      for (j in ord) {
        m <- ms[[j]]
        K <- (if (m$slow) K_slow else K_fast)[[s]]
        o <- run_job(m, s, "time", hit = hits[j], K = K)
        it <- o[o$kind == "iter", ]
        reps[[j]] <- rbind(reps[[j]], data.frame(
          hit = if (is.na(hits[j])) NA else o$elapsed[o$kind == "hit"],
          s_iter = (it$elapsed[2] - it$elapsed[1]) / K, t_k0 = it$elapsed[1]))
      }
    }
    for (j in seq_along(ms)) {
      g <- grids[[j]]
      rows[[length(rows) + 1L]] <- data.frame(
        set = s, beta = b, method = ms[[j]]$label, betanmf = ms[[j]]$id == "betanmf",
        to_1pct = if (is.na(hits[j])) max(g$elapsed) else median(reps[[j]]$hit), bound = is.na(hits[j]),
        maxit = hits[j], s_iter = median(reps[[j]]$s_iter), t_k0 = median(reps[[j]]$t_k0),
        best_loss = min(g$loss), stringsAsFactors = FALSE)
    }
  }
}
tab <- do.call(rbind, rows)

cat("\n== per method: seconds to within 1 % of the best loss (maxit that hit it), seconds per iteration,",
    "and the first timed fit from the fixed start (t_k0: set-up and k0 iterations)\n")
show <- data.frame(set = tab$set, beta = tab$beta, method = tab$method,
                   to_1pct = ifelse(tab$bound, paste0("> ", signif(tab$to_1pct, 4)), signif(tab$to_1pct, 4)),
                   maxit = tab$maxit, s_iter = signif(tab$s_iter, 4), t_k0 = signif(tab$t_k0, 4),
                   loss_over_best = signif(tab$best_loss / ave(tab$best_loss, tab$set, tab$beta, FUN = min), 6))
print(show, row.names = FALSE, right = FALSE)

cat("\n== ratios betanmf / best peer per cell (below 1: betanmf ahead; '<' or '>': a bound, the peer never got within 1 %)\n")
cells <- list()
for (s in names(sets)) for (b in c(2, 1)) {
  tt <- tab[tab$set == s & tab$beta == b, ]
  me <- tt[tt$betanmf, ]; pe <- tt[!tt$betanmf, ]
  if (nrow(me) != 1L || nrow(pe) == 0L) next
  ok <- !pe$bound
  bt <- if (any(ok)) pe[ok, ][which.min(pe$to_1pct[ok]), ] else pe[which.max(pe$to_1pct), ]
  bi <- pe[which.min(pe$s_iter), ]
  r_t <- me$to_1pct / bt$to_1pct
  mark <- if (me$bound && !bt$bound) ">" else if (!any(ok)) "<" else ""
  cells[[length(cells) + 1L]] <- data.frame(
    cell = sprintf("%s b=%g", s, b), betanmf_to_1pct = signif(me$to_1pct, 4), best_peer_to_1pct = bt$method,
    peer_to_1pct = signif(bt$to_1pct, 4), ratio_to_1pct = paste0(mark, sprintf("%.2f", r_t)),
    betanmf_s_iter = signif(me$s_iter, 4), best_peer_s_iter = bi$method, peer_s_iter = signif(bi$s_iter, 4),
    ratio_s_iter = sprintf("%.2f", me$s_iter / bi$s_iter), stringsAsFactors = FALSE)
}
print(do.call(rbind, cells), row.names = FALSE, right = FALSE)
if (!is.null(sk_info)) cat("\nsklearn: ", sk_info, "\n", sep = "")
stamp("done")
