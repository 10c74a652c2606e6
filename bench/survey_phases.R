# Where a rank survey's solver work goes (issue 28): every call of the
# solver driver during one nmf_rank() survey, classed by phase, with its
# iterations. Counts, not timings: they do not depend on the machine's load;
# the CPU time and the share of it inside the C driver (Rprof) are printed
# beside them.
#
#   R_LIBS=<lib with betanmf> Rscript --vanilla bench/survey_phases.R
#
# The survey is the issue's first one, nmf_rank(sbs_catalog, 2:8, beta = 1,
# seed = 1). Phases, told apart by the call's arguments:
#   fold screen    a fold fit's restart, run for the screen's iterations
#   fold continue  a fold fit's screened survivor, run to convergence
#   full run       a restart on the whole data (cophenetic, stability)
suppressPackageStartupMessages(library(betanmf))
data(sbs_catalog, package = "betanmf")

survey <- function() nmf_rank(sbs_catalog, 2:8, beta = 1, seed = 1, threads = 1)

# First run: CPU time and the C driver's share (run_solver's own time is its .Call).
prof <- tempfile()
Rprof(prof, interval = 0.005)
t0 <- proc.time()
r <- survey()
cpu <- sum((proc.time() - t0)[c("user.self", "sys.self")])
Rprof(NULL)
self <- summaryRprof(prof)$by.self
share <- sum(self$self.pct[rownames(self) == "\"run_solver\""])

# Second run, traced: the iterations of every driver call.
calls <- NULL
invisible(suppressMessages(trace(betanmf:::run_solver, print = FALSE, exit = quote({
  z <- returnValue()
  calls <<- rbind(calls, data.frame(masked = !is.null(d$hold), maxit = ctl$maxit, k = nrow(h),
                                    iter = z$iter))
}), where = asNamespace("betanmf"))))
r2 <- survey()
suppressMessages(untrace(betanmf:::run_solver, where = asNamespace("betanmf")))
stopifnot(identical(r$cv, r2$cv))

screen <- r$screen
calls$phase <- ifelse(calls$masked, ifelse(calls$maxit <= screen, "fold screen", "fold continue"),
                      ifelse(calls$maxit <= screen, "full screen", "full run"))
cat(sprintf("nmf_rank(sbs_catalog, 2:8, beta = 1, seed = 1): chosen rank %d, CPU %.2f s, %.0f %% of it in the C driver\n\n",
            r$chosen, cpu, share))
by <- do.call(rbind, lapply(split(calls, calls$phase), function(p)
  data.frame(phase = p$phase[1], calls = nrow(p), iterations = sum(p$iter), mean = round(mean(p$iter), 1))))
print(by, row.names = FALSE)
cat("\nIterations per rank (phases to convergence):\n")
conv <- calls[calls$phase %in% c("fold continue", "full run"), ]
print(xtabs(iter ~ k + phase, conv))
