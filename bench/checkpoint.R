# Issue 24: kill an nmf_rank() sweep with a checkpoint midway, rerun it, and
# check that the result is identical() to an uninterrupted run and that the
# rerun computed only the missing fits.
#
#   R CMD INSTALL --preclean --library=$LIB . && rm -f src/*.o src/*.so
#   R_LIBS=$LIB Rscript bench/checkpoint.R
#
# The sweep runs in a child R process (sequential plan), killed with SIGKILL
# (no chance to clean up, as when a scheduler ends a job) once about 40 % of
# its task files are written. BENCH_CHECKPOINT_KILL_AT sets that share.
# Prints the counts of the rerun and the times of the three runs; stops with
# an error if the results differ.

suppressPackageStartupMessages(library(betanmf))

kill_at <- as.numeric(Sys.getenv("BENCH_CHECKPOINT_KILL_AT", "0.4"))
x <- simulate_nmf(200, 120, rank = 4, noise = "poisson", depth = 200, seed = 24)$x
args <- list(ranks = 2:6, beta = 1, folds = 3, nrun = 4, seed = 24, maxit = 300, tol = 1e-5, threads = 1)
n_tasks <- length(args$ranks) * (args$folds + 1)

work <- tempfile("bench-checkpoint-")
dir.create(work)
on.exit(unlink(work, recursive = TRUE), add = TRUE)
saveRDS(list(x = x, args = args), file.path(work, "input.rds"))
ck <- file.path(work, "checkpoint")

time_of <- function(expr) {
  t0 <- proc.time()[["elapsed"]]
  value <- suppressWarnings(expr) # convergence warnings: the same in every run
  list(value = value, seconds = proc.time()[["elapsed"]] - t0)
}

cat(sprintf("nmf_rank() on a %d x %d Poisson matrix: ranks %s, %d folds, nrun = %d: %d tasks\n",
            nrow(x), ncol(x), paste(range(args$ranks), collapse = "-"), args$folds, args$nrun, n_tasks))
reference <- time_of(do.call(nmf_rank, c(list(x), args)))
cat(sprintf("uninterrupted, no checkpoint:  %6.1f s\n", reference$seconds))

# the child: the same sweep with a checkpoint, killed midway
child <- file.path(work, "child.R")
writeLines(c(
  "suppressPackageStartupMessages(library(betanmf))",
  "args <- commandArgs(TRUE)",
  "writeLines(as.character(Sys.getpid()), file.path(args[1], 'pid'))",
  "input <- readRDS(file.path(args[1], 'input.rds'))",
  "invisible(suppressWarnings(do.call(nmf_rank, c(list(input$x), input$args, checkpoint = args[2]))))"
), child)
rscript <- file.path(R.home("bin"), "Rscript")
t0 <- proc.time()[["elapsed"]]
system2(rscript, c(shQuote(child), shQuote(work), shQuote(ck)), wait = FALSE)
target <- ceiling(kill_at * n_tasks)
repeat {
  done <- if (dir.exists(ck)) length(list.files(ck, pattern = "^task-[0-9]+[.]rds$")) else 0L
  if (done >= target) break
  if (proc.time()[["elapsed"]] - t0 > 20 * reference$seconds + 60) stop("the child sweep did not progress")
  Sys.sleep(0.05)
}
pid <- as.integer(readLines(file.path(work, "pid")))
tools::pskill(pid, tools::SIGKILL)
Sys.sleep(0.5)
killed_after <- proc.time()[["elapsed"]] - t0
on_disk <- length(list.files(ck, pattern = "^task-[0-9]+[.]rds$"))
partial <- length(list.files(ck, pattern = "[.]tmp$", all.files = TRUE))
cat(sprintf("child killed (SIGKILL) after:  %6.1f s, %d of %d task files written, %d temporary file(s) left\n",
            killed_after, on_disk, n_tasks, partial))

rerun <- time_of(suppressMessages(do.call(nmf_rank, c(list(x), args, checkpoint = ck))))
counts <- attr(rerun$value, "checkpoint")
cat(sprintf("rerun with the checkpoint:     %6.1f s, %d tasks read back, %d computed (of %d)\n",
            rerun$seconds, counts$done_before, counts$computed, counts$tasks))
strip <- function(s) {
  s$call <- NULL
  attr(s, "checkpoint") <- NULL
  s
}
same <- identical(strip(rerun$value), strip(reference$value))
cat(sprintf("identical() to the uninterrupted run: %s\n", same))
if (!same) stop("the resumed survey differs from the uninterrupted one")
if (counts$done_before != on_disk || counts$computed != n_tasks - on_disk) {
  stop("the rerun did not compute exactly the missing tasks")
}
