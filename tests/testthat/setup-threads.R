# The house rule: tests run with at most 2 OpenMP threads, whatever the
# machine (threads = NULL resolves to default_threads(), half the cores).
if (is.null(getOption("betanmf.threads"))) options(betanmf.threads = min(2L, betanmf::default_threads()))
