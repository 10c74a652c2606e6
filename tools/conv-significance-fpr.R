# False-positive rate and power of conv_significance() (issue 27).
#
# Usage: R_LIBS=<library with betanmf> Rscript tools/conv-significance-fpr.R [seeds] [nnull]
#
# For each seed:
# * null: Poisson spike counts with no sequence (each neuron at its own rate,
#   Gamma-distributed across neurons), 50 neurons x 2000 bins; nmf_conv() at
#   rank 3 and 10 lags on the first 1000 bins, conv_significance() on the
#   last 1000. Every component found there is a false positive.
# * planted: simulate_sequences() with 3 sequences of 12 neurons over 10 bins
#   (each starting in 2 % of bins, 2 expected spikes per neuron, background 0.05)
#   in the same shape, the same fit and test. A planted sequence counts as
#   found when a significant component matches it (cosine >= 0.7 between the
#   motifs, at the best relative shift in time, since a fitted motif may be
#   offset by a few lags).
# It prints, at alpha = 0.05 with the Bonferroni threshold alpha / 3: the
# fraction of null components called significant, the fraction of null fits
# with at least one (the family-wise rate the Bonferroni correction bounds by
# alpha), the distribution of the null p-values, and the power on the planted
# data. Slow (minutes): it is not a test.

suppressPackageStartupMessages(library(betanmf))
args <- commandArgs(trailingOnly = TRUE)
n_seeds <- if (length(args) >= 1) as.integer(args[1]) else 100L
nnull <- if (length(args) >= 2) as.integer(args[2]) else 999L
alpha <- 0.05
m <- 50
n <- 2000
rank <- 3
lags <- 10
train <- seq_len(n / 2)
test <- setdiff(seq_len(n), train)

# the best cosine between two motifs over relative shifts in time
shifted_cosine <- function(a, b) {
  lags <- ncol(a)
  best <- 0
  for (d in seq(-(lags - 1), lags - 1)) {
    sa <- matrix(0, nrow(a), lags)
    keep <- seq_len(lags)[seq_len(lags) + d >= 1 & seq_len(lags) + d <= lags]
    sa[, keep + d] <- a[, keep]
    den <- sqrt(sum(sa^2) * sum(b^2))
    if (den > 0) best <- max(best, sum(sa * b) / den)
  }
  best
}

one_seed <- function(seed) {
  set.seed(seed)
  rates <- rgamma(m, shape = 2, rate = 2 / 0.1) # mean 0.1 spikes a bin
  null_x <- matrix(rpois(m * n, rates), m, n, dimnames = list(sprintf("n%03d", seq_len(m)), NULL))
  null_fit <- suppressWarnings(nmf_conv(null_x[, train], rank = rank, lags = lags, seed = seed, maxit = 100))
  null_res <- conv_significance(null_fit, null_x[, test], nnull = nnull, alpha = alpha, seed = seed)

  sim <- simulate_sequences(m = m, n = n, n_seq = 3, seq_neurons = 12, lags = lags, onset_rate = 0.02,
                            amplitude = 2, jitter = 0.5, background = 0.05, seed = seed)
  fit <- suppressWarnings(nmf_conv(sim$x[, train], rank = rank, lags = lags, seed = seed, maxit = 100))
  res <- conv_significance(fit, sim$x[, test], nnull = nnull, alpha = alpha, seed = seed)
  oracle <- conv_significance(sim$w, sim$x[, test], nnull = nnull, alpha = alpha, seed = seed)
  cosine <- sapply(seq_len(rank), function(k) sapply(1:3, function(s) shifted_cosine(fit$w[, k, ], sim$w[, s, ])))
  found <- vapply(1:3, function(s) any(cosine[s, ] >= 0.7 & res$significant), logical(1))
  list(null_p = null_res$p_value, null_sig = null_res$significant,
       planted_sig = res$significant, found = found, oracle_sig = oracle$significant)
}

started <- proc.time()
results <- lapply(seq_len(n_seeds), one_seed)
null_p <- unlist(lapply(results, `[[`, "null_p"))
null_sig <- unlist(lapply(results, `[[`, "null_sig"))
any_sig <- vapply(results, function(r) any(r$null_sig), logical(1))
found <- unlist(lapply(results, `[[`, "found"))
oracle <- unlist(lapply(results, `[[`, "oracle_sig"))
planted_sig <- unlist(lapply(results, `[[`, "planted_sig"))

cat(sprintf("conv_significance(): %d seeds, nnull = %d, alpha = %g, Bonferroni threshold %g\n",
            n_seeds, nnull, alpha, alpha / rank))
cat(sprintf("sequence-free data (%d x %d, fit on %d bins, tested on %d; rank %d, %d lags):\n",
            m, n, length(train), length(test), rank, lags))
cat(sprintf("  components called significant: %d of %d = %.3f (Bonferroni bound %.3f per component)\n",
            sum(null_sig), length(null_sig), mean(null_sig), alpha / rank))
cat(sprintf("  fits with any component significant: %d of %d = %.3f (nominal family-wise rate %.2f)\n",
            sum(any_sig), length(any_sig), mean(any_sig), alpha))
cat(sprintf("  null p-values <= 0.05: %.3f, <= 0.1: %.3f, <= 0.5: %.3f (uniform: 0.05, 0.1, 0.5)\n",
            mean(null_p <= 0.05), mean(null_p <= 0.1), mean(null_p <= 0.5)))
cat("planted data (3 sequences of 12 neurons over 10 bins):\n")
cat(sprintf("  planted sequences found (significant and matched at cosine >= 0.7): %d of %d = %.3f\n",
            sum(found), length(found), mean(found)))
cat(sprintf("  fitted components significant: %.3f; the true motifs significant: %.3f\n",
            mean(planted_sig), mean(oracle)))
cat(sprintf("(%.0f s)\n", (proc.time() - started)[["elapsed"]]))
