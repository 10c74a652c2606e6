# Old commit against new: the same fits timed in two builds of betanmf, in
# one run, interleaved (each repeat runs every case in the old build, then in
# the new, in separate R processes), so the machine's drift over minutes
# falls on both sides alike. Prints per case the median seconds per
# iteration of each build, the median of the per-repeat ratios new / old and
# their spread (min-max over repeats): a ratio inside the spread's distance
# from 1 is noise.
#
#   BENCH_OLD=<rev> BENCH_ONLY=commits bash bench/run.sh   (new = the work tree)
#
# Fits run a fixed number of iterations (tol = 0) from a fixed seed, with an
# explicit solver, so both builds do the same work whatever their defaults;
# threads = 1.

args <- commandArgs(TRUE)
if (length(args) >= 3L && args[1] == "--worker") {
  # worker: time every case once in the build of library args[2]
  .libPaths(c(args[2], .libPaths()))
  suppressPackageStartupMessages({ library(Matrix); library(betanmf) })
  cases <- readRDS(args[3])
  out <- vapply(cases, function(cs) {
    x <- readRDS(cs$file)
    fit_once <- function(maxit) {
      t0 <- proc.time()[["elapsed"]]
      suppressWarnings(nmf(x, cs$rank, beta = cs$beta, solver = cs$solver, seed = 1, maxit = maxit,
                           tol = 0, threads = 1))
      proc.time()[["elapsed"]] - t0
    }
    fit_once(2L) # warm-up: page in the data and the library
    # per iteration: the difference of a long and a short fit, so the set-up
    # (validation, start) cancels; the best of 2 of each
    long <- min(fit_once(cs$iters + 1L), fit_once(cs$iters + 1L))
    short <- min(fit_once(1L), fit_once(1L))
    max(long - short, 1e-9) / cs$iters
  }, numeric(1))
  cat(paste(names(cases), format(out, digits = 6), sep = "\t"), sep = "\n")
  quit(save = "no")
}

old_lib <- args[1]
new_lib <- args[2]
quick <- nzchar(Sys.getenv("BENCH_QUICK"))
repeats <- as.integer(Sys.getenv("BENCH_REPEATS", if (quick) 1L else 5L))
suppressPackageStartupMessages(library(Matrix))
source("bench/common.R", local = TRUE) # data generators (loads betanmf from the default library: unused)
dir <- tempfile("betanmf-commits-")
dir.create(dir)
on.exit(unlink(dir, recursive = TRUE), add = TRUE)
save_data <- function(name, x) {
  f <- file.path(dir, paste0(name, ".rds"))
  saveRDS(x, f)
  f
}
s <- if (quick) 0.1 else 1
expr <- save_data("expr", make_expr(round(5000 * s), 38, 3, seed = 1))
catalog <- save_data("catalog", make_catalog(96, round(1000 * s), 8, seed = 2))
dense <- save_data("dense", make_dense(round(2000 * s), round(2000 * s), 20, seed = 3))
sparse <- save_data("sparse", make_sparse(round(20000 * s), round(3000 * s), 10, 0.05, seed = 4))
case <- function(file, rank, beta, solver, iters) list(file = file, rank = rank, beta = beta, solver = solver, iters = iters)
cases <- list(
  "expr k3 HALS" = case(expr, 3, 2, "hals", 200),
  "expr k3 MU b=1" = case(expr, 3, 1, "mu", 200),
  "expr k3 MU b=1.5" = case(expr, 3, 1.5, "mu", 100),
  "catalog k8 CD" = case(catalog, 8, 1, "cd", 100),
  "catalog k8 MU b=1" = case(catalog, 8, 1, "mu", 200),
  "dense2000 k20 HALS" = case(dense, 20, 2, "hals", 20),
  "dense2000 k20 MU b=1" = case(dense, 20, 1, "mu", 10),
  "dense2000 k20 CD" = case(dense, 20, 1, "cd", 5),
  "sparse k10 HALS" = case(sparse, 10, 2, "hals", 20),
  "sparse k10 MU b=1" = case(sparse, 10, 1, "mu", 20),
  "sparse k10 CD" = case(sparse, 10, 1, "cd", 5)
)
case_file <- file.path(dir, "cases.rds")
saveRDS(cases, case_file)
rscript <- file.path(R.home("bin"), "Rscript")
run_worker <- function(lib) {
  out <- system2(rscript, c("--vanilla", "bench/commits.R", "--worker", lib, case_file), stdout = TRUE)
  tab <- do.call(rbind, strsplit(out, "\t"))
  stats::setNames(as.numeric(tab[, 2]), tab[, 1])
}
old <- new <- matrix(NA_real_, repeats, length(cases), dimnames = list(NULL, names(cases)))
for (r in seq_len(repeats)) {
  old[r, ] <- run_worker(old_lib)[names(cases)]
  new[r, ] <- run_worker(new_lib)[names(cases)]
  cat(sprintf("commits: repeat %d of %d done\n", r, repeats))
}
ratio <- new / old
res <- data.frame(case = names(cases),
                  old_s_per_iter = signif(apply(old, 2, stats::median), 3),
                  new_s_per_iter = signif(apply(new, 2, stats::median), 3),
                  ratio = round(apply(ratio, 2, stats::median), 3),
                  spread = sprintf("%.3f-%.3f", apply(ratio, 2, min), apply(ratio, 2, max)),
                  row.names = NULL)
cat(sprintf("\nold: %s\nnew: %s\n%d interleaved repeats; ratio = new / old seconds per iteration (median), spread = min-max over repeats\n\n",
            Sys.getenv("BENCH_OLD_DESC", old_lib), Sys.getenv("BENCH_NEW_DESC", new_lib), repeats))
print(res, row.names = FALSE)
