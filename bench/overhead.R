# Per-call overhead of small fits, old commit against new (issue 28): the
# same calls of nmf() timed in two builds of betanmf, in one run,
# interleaved (each repeat runs every case in the old build and in the new,
# each case in an R process of its own, alternating which build goes
# first), so the machine's drift over minutes falls on both sides alike. A
# process per case and kind of call, and a collection before the timed
# batch: R's collector sets its thresholds by what the session allocated
# before, so calls timed after others would inherit those calls' (and that
# build's) allocations. Prints per case
# the median seconds per call of each build, the median of the per-repeat
# ratios old / new and their spread (min-max over repeats): a ratio inside
# the spread's distance from 1 is noise.
#
#   BENCH_OLD=<rev> BENCH_ONLY=overhead bash bench/run.sh   (new = the work tree)
#   Rscript --vanilla bench/overhead.R <old lib> <new lib>  (two installed builds)
#
# Each case is timed twice: at maxit = 1 ("set-up": the checks, scaling,
# the NNDSVD start, the driver's set-up, one iteration and the result) and
# as a normal fit (maxit 1000, tol 1e-5: set-up plus the iterations to
# convergence). A time is the mean over a batch of calls (BENCH_CALLS, 20 at
# maxit = 1, a quarter as many for the normal fit), so R's garbage
# collections, which the calls' allocations trigger, are paid in it as a
# user pays them. With them, the bytes one maxit = 1 call allocates (utils::
# Rprofmem: every R vector, R_alloc and the C scratch), which no load on the
# machine changes. Data of bench/common.R (threads = 1, seed = 1, solver and
# start at their defaults):
#   expr k3 b=2         5000 x 38 expression-like matrix, rank 3, beta = 2 (HALS)
#   catalog k8 b=2      96 x 1000 Poisson catalog, rank 8, beta = 2 (HALS)
#   catalog k8 b=1      the same at beta = 1 (coordinate descent)
#   spikes mask k5 b=1  80 x 3000 counts with a dense logical mask of 20 %
#                       held-out entries (every CV fold's set-up), rank 5
# BENCH_REPEATS (default 5) sets the repeats; BENCH_QUICK=1 runs once, with
# fewer calls, as a smoke test.

args <- commandArgs(TRUE)
if (length(args) >= 6L && args[1] == "--worker") {
  # worker: time case args[5] at maxit args[6] once in the build of library args[2]
  .libPaths(c(args[2], .libPaths()))
  suppressPackageStartupMessages({ library(Matrix); library(betanmf) })
  cases <- readRDS(args[3])
  calls <- as.integer(args[4])
  out <- list()
  for (nm in args[5]) {
    cs <- cases[[nm]]
    x <- readRDS(cs$file)
    mask <- if (is.null(cs$mask)) NULL else readRDS(cs$mask)
    fit <- function(maxit) {
      suppressWarnings(nmf(x, cs$rank, beta = cs$beta, mask = mask, seed = 1, maxit = maxit, threads = 1))
    }
    for (maxit in as.integer(args[6])) {
      n <- if (maxit == 1L) calls else max(1L, calls %/% 4L)
      fit(maxit) # warm-up: page in the data and the library
      gc(FALSE)
      t0 <- proc.time()[["elapsed"]]
      for (i in seq_len(n)) fit(maxit)
      out[[paste0(nm, if (maxit == 1L) "|set-up (maxit 1)" else "|normal fit")]] <- (proc.time()[["elapsed"]] - t0) / n
      if (maxit == 1L && capabilities("profmem")) {
        # bytes R allocated in one call (every vector, R_alloc and the C
        # scratch included): what drives the collections a call pays for
        f <- tempfile()
        utils::Rprofmem(f, threshold = 0)
        fit(maxit)
        utils::Rprofmem(NULL)
        l <- readLines(f)
        unlink(f)
        out[[paste0(nm, "|MB allocated (maxit 1)")]] <- sum(as.numeric(sub(" :.*", "", l[grepl("^[0-9]+ :", l)]))) / 2^20
      }
    }
  }
  cat(paste(names(out), format(unlist(out), digits = 6), sep = "\t"), sep = "\n")
  quit(save = "no")
}

old_lib <- args[1]
new_lib <- args[2]
quick <- nzchar(Sys.getenv("BENCH_QUICK"))
repeats <- as.integer(Sys.getenv("BENCH_REPEATS", if (quick) 1L else 5L))
calls <- as.integer(Sys.getenv("BENCH_CALLS", if (quick) 4L else 20L))
suppressPackageStartupMessages(library(Matrix))
source("bench/common.R", local = TRUE) # data generators (loads betanmf from the default library: unused)
dir <- tempfile("betanmf-overhead-")
dir.create(dir)
on.exit(unlink(dir, recursive = TRUE), add = TRUE)
save_data <- function(name, x) {
  f <- file.path(dir, paste0(name, ".rds"))
  saveRDS(x, f)
  f
}
expr <- save_data("expr", make_expr(5000, 38, 3, seed = 1))
catalog <- save_data("catalog", make_catalog(96, 1000, 8, seed = 2))
set.seed(5)
spikes <- save_data("spikes", matrix(as.double(rpois(80 * 3000, 2)), 80, 3000))
spikes_mask <- save_data("spikes_mask", matrix(runif(80 * 3000) < 0.2, 80, 3000))
case <- function(file, rank, beta, mask = NULL) list(file = file, rank = rank, beta = beta, mask = mask)
cases <- list(
  "expr k3 b=2" = case(expr, 3, 2),
  "catalog k8 b=2" = case(catalog, 8, 2),
  "catalog k8 b=1" = case(catalog, 8, 1),
  "spikes mask k5 b=1" = case(spikes, 5, 1, spikes_mask)
)
case_file <- file.path(dir, "cases.rds")
saveRDS(cases, case_file)
rscript <- file.path(R.home("bin"), "Rscript")
run_worker <- function(lib, case, maxit) {
  out <- system2(rscript, c("--vanilla", "bench/overhead.R", "--worker", lib, case_file, calls, shQuote(case), maxit),
                 stdout = TRUE)
  tab <- do.call(rbind, strsplit(out, "\t"))
  stats::setNames(as.numeric(tab[, 2]), tab[, 1])
}
run_all <- function(lib) unlist(lapply(names(cases), function(cs) c(run_worker(lib, cs, 1L), run_worker(lib, cs, 1000L))))
old <- new <- NULL
for (r in seq_len(repeats)) {
  # alternate which build goes first
  if (r %% 2L == 1L) {
    o <- run_all(old_lib)
    n <- run_all(new_lib)
  } else {
    n <- run_all(new_lib)
    o <- run_all(old_lib)
  }
  old <- rbind(old, o)
  new <- rbind(new, n[names(o)])
  cat(sprintf("overhead: repeat %d of %d done\n", r, repeats))
}
ratio <- old / new
mb <- grepl("MB allocated", colnames(old), fixed = TRUE)
parts <- do.call(rbind, strsplit(colnames(old), "|", fixed = TRUE))
res <- data.frame(case = parts[, 1], what = parts[, 2],
                  old = signif(ifelse(mb, 1, 1000) * apply(old, 2, stats::median), 3),
                  new = signif(ifelse(mb, 1, 1000) * apply(new, 2, stats::median), 3),
                  old_over_new = round(apply(ratio, 2, stats::median), 2),
                  spread = sprintf("%.2f-%.2f", apply(ratio, 2, min), apply(ratio, 2, max)),
                  row.names = NULL)
cat(sprintf(paste0("\nold: %s\nnew: %s\n%d interleaved repeats, %d calls per set-up time and %d per normal fit; ",
                   "old and new: ms per call, or MB allocated in one call (median over repeats), old_over_new = speed-up (median of the per-repeat ratios), ",
                   "spread = min-max over repeats\n\n"),
            Sys.getenv("BENCH_OLD_DESC", old_lib), Sys.getenv("BENCH_NEW_DESC", new_lib), repeats, calls,
            max(1L, calls %/% 4L)))
options(width = 200)
print(res, row.names = FALSE)
