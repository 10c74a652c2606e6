# Rank surveys, old commit against new (issue 28): the three surveys of the
# issue timed in two builds of betanmf, in one run, interleaved (each repeat
# runs every survey in the old build and in the new, in separate R
# processes, alternating which build goes first), so the machine's drift
# over minutes falls on both sides alike. Prints per survey the median
# seconds of each build, the median of the per-repeat speed-ups old / new and
# their spread (min-max over repeats), the median speed-up in CPU seconds
# (user + system of the worker, less sensitive to other jobs on a shared
# machine), the chosen rank of each build, the
# number of fits that reached maxit, and whether the held-out error curves
# agree within their spread across folds; per rank, each build's held-out
# error and training loss (mean over folds), the training loss showing how
# far each build's fits went before they stopped.
#
#   BENCH_OLD=<rev> BENCH_ONLY=survey bash bench/run.sh   (new = the work tree)
#   Rscript --vanilla bench/survey.R <old lib> <new lib>  (two installed builds)
#
# The surveys (threads = 1, every other argument at nmf_rank()'s defaults:
# 5 folds, 10 runs, solver "auto", maxit 1000, tol 1e-5):
#   sbs_catalog    nmf_rank(sbs_catalog, 2:8, beta = 1, seed = 1)   (96 x 60)
#   spikes         an 80 x 3000 spike-count matrix (five bursting assemblies
#                  on a background rate, as data-raw/make-data.R builds
#                  spike_counts), ranks 2:7, nrun = 5
#   catalog        a 96 x 300 Poisson catalog of planted rank 6, ranks 2:10,
#                  5 folds, 10 runs (BENCH_CATALOG_NRUN changes the runs)
# BENCH_REPEATS (default 3) sets the repeats; BENCH_QUICK=1 runs small
# versions once, as a smoke test.

args <- commandArgs(TRUE)
if (length(args) >= 4L && args[1] == "--worker") {
  # worker: run every survey once in the build of library args[2]
  .libPaths(c(args[2], .libPaths()))
  suppressPackageStartupMessages({ library(Matrix); library(betanmf) })
  surveys <- readRDS(args[3])
  out <- lapply(surveys, function(sv) {
    x <- if (is.character(sv$x)) get(sv$x, envir = asNamespace("betanmf")) else readRDS(sv$file)
    n_maxit <- 0L
    gc(FALSE)
    t0 <- proc.time()
    s <- withCallingHandlers(
      do.call(nmf_rank, c(list(x), sv$args, list(threads = 1))),
      warning = function(w) {
        # "<k> of <n> fits reached 'maxit' ..." (one warning per survey)
        msg <- conditionMessage(w)
        if (grepl("fits reached 'maxit'", msg)) n_maxit <<- as.integer(sub(" of .*", "", msg))
        invokeRestart("muffleWarning")
      })
    used <- proc.time() - t0
    elapsed <- used[["elapsed"]]
    cpu <- used[["user.self"]] + used[["sys.self"]]
    n_fits <- length(s$table$rank) * (s$folds + 1L)
    list(elapsed = elapsed, cpu = cpu, chosen = s$chosen, n_maxit = n_maxit, n_fits = n_fits,
         cv = s$table$cv_error, cv_sd = s$table$cv_sd, train = s$table$train_loss, ranks = s$table$rank,
         solver = if (is.null(s$solver)) s$fits[[1]]$solver else s$solver)
  })
  saveRDS(out, args[4])
  quit(save = "no")
}

old_lib <- args[1]
new_lib <- args[2]
source("bench/common.R", local = TRUE) # make_catalog() (loads betanmf from the default library: unused)
quick <- nzchar(Sys.getenv("BENCH_QUICK"))
repeats <- as.integer(Sys.getenv("BENCH_REPEATS", if (quick) 1L else 3L))
catalog_nrun <- as.integer(Sys.getenv("BENCH_CATALOG_NRUN", if (quick) 2L else 10L))
dir <- tempfile("betanmf-survey-")
dir.create(dir)
on.exit(unlink(dir, recursive = TRUE), add = TRUE)

# 80 neurons x 3000 bins: five assemblies with overlapping membership fire
# in bursts on top of a low background rate (data-raw/make-data.R's recipe)
make_spikes <- function(n_neurons, n_bins, seed) {
  set.seed(seed)
  members <- list(1:20, 16:36, 32:50, 46:64, 60:75) # neurons 76-80 belong to none
  w <- matrix(0, n_neurons, length(members))
  for (k in seq_along(members)) w[members[[k]], k] <- rgamma(length(members[[k]]), shape = 4, rate = 4)
  h <- matrix(0, length(members), n_bins)
  for (k in seq_along(members)) {
    for (s in sort(sample.int(n_bins - 10, n_bins / 40))) {
      len <- sample(3:8, 1)
      h[k, s:(s + len - 1)] <- h[k, s:(s + len - 1)] + runif(1, 1.5, 3)
    }
  }
  rate <- w %*% h + runif(n_neurons, 0.05, 0.3)
  matrix(as.double(rpois(n_neurons * n_bins, rate)), n_neurons, n_bins)
}
save_data <- function(name, x) {
  f <- file.path(dir, paste0(name, ".rds"))
  saveRDS(x, f)
  f
}
spikes <- save_data("spikes", make_spikes(80, if (quick) 600 else 3000, seed = 1))
catalog <- save_data("catalog", make_catalog(96, 300, 6, seed = 2))
surveys <- list(
  "sbs_catalog 2:8" = list(x = "sbs_catalog", args = list(ranks = if (quick) 2:4 else 2:8, beta = 1, seed = 1,
                                                          nrun = if (quick) 2 else 10)),
  "spikes 80x3000 2:7 nrun 5" = list(file = spikes, args = list(ranks = if (quick) 2:4 else 2:7, beta = 1,
                                                                 seed = 1, nrun = if (quick) 2 else 5)),
  "catalog 96x300 2:10" = list(file = catalog, args = list(ranks = if (quick) 5:7 else 2:10, beta = 1, seed = 1,
                                                            folds = 5, nrun = catalog_nrun))
)
names(surveys)[3] <- sprintf("catalog 96x300 2:10 nrun %d", catalog_nrun)
survey_file <- file.path(dir, "surveys.rds")
saveRDS(surveys, survey_file)
rscript <- file.path(R.home("bin"), "Rscript")
run_worker <- function(lib) {
  out <- file.path(dir, "out.rds")
  status <- system2(rscript, c("--vanilla", "bench/survey.R", "--worker", lib, survey_file, out))
  if (status != 0) stop("the worker in ", lib, " failed")
  readRDS(out)
}
old <- new <- vector("list", repeats)
for (r in seq_len(repeats)) {
  if (r %% 2 == 1) {
    old[[r]] <- run_worker(old_lib)
    new[[r]] <- run_worker(new_lib)
  } else {
    new[[r]] <- run_worker(new_lib)
    old[[r]] <- run_worker(old_lib)
  }
  cat(sprintf("survey: repeat %d of %d done (old %s s, new %s s)\n", r, repeats,
              paste(sprintf("%.1f", vapply(old[[r]], function(s) s$elapsed, 0)), collapse = " / "),
              paste(sprintf("%.1f", vapply(new[[r]], function(s) s$elapsed, 0)), collapse = " / ")))
}
secs <- function(runs, k, what = "elapsed") vapply(runs, function(run) run[[k]][[what]], numeric(1))
res <- do.call(rbind, lapply(names(surveys), function(k) {
  o <- old[[1]][[k]]
  n <- new[[1]][[k]]
  speedup <- secs(old, k) / secs(new, k)
  # the curves agree where they differ by less than the larger of the two
  # standard deviations across folds
  within <- abs(n$cv - o$cv) <= pmax(o$cv_sd, n$cv_sd)
  data.frame(survey = k, old_s = signif(stats::median(secs(old, k)), 3),
             new_s = signif(stats::median(secs(new, k)), 3),
             speedup = round(stats::median(speedup), 2),
             spread = sprintf("%.2f-%.2f", min(speedup), max(speedup)),
             cpu_speedup = round(stats::median(secs(old, k, "cpu") / secs(new, k, "cpu")), 2),
             chosen = sprintf("%d / %d", o$chosen, n$chosen),
             maxit = sprintf("%d / %d of %d", o$n_maxit, n$n_maxit, o$n_fits),
             solver = sprintf("%s / %s", o$solver, n$solver),
             curves = sprintf("%d of %d ranks", sum(within), length(within)))
}))
cat(sprintf(paste0("\nold: %s\nnew: %s\n%d interleaved repeats, threads = 1; speedup = old / new seconds ",
                   "(median over repeats), spread = min-max over repeats; cpu_speedup: the same of the ",
                   "workers' CPU seconds (user + system), less sensitive to other jobs on a shared machine;",
                   "\nchosen, maxit (fits that reached maxit) and solver (of the unmasked fits) as old / new; curves: ranks whose mean held-out ",
                   "errors differ by less than the larger sd across folds\n\n"),
            Sys.getenv("BENCH_OLD_DESC", old_lib), Sys.getenv("BENCH_NEW_DESC", new_lib), repeats))
print(res, row.names = FALSE)
for (k in names(surveys)) {
  o <- old[[1]][[k]]
  n <- new[[1]][[k]]
  cat(sprintf(paste0("\n%s: per rank, held-out error (sd across folds in brackets) and training loss per ",
                     "entry (mean over folds), old and new\n"), k))
  print(data.frame(rank = o$ranks, old_cv = sprintf("%.5g (%.2g)", o$cv, o$cv_sd),
                   new_cv = sprintf("%.5g (%.2g)", n$cv, n$cv_sd), old_train = sprintf("%.6g", o$train),
                   new_train = sprintf("%.6g", n$train), train_new_old = sprintf("%.5f", n$train / o$train)),
        row.names = FALSE)
}
