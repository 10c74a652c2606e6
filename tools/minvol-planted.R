# Minimum-volume NMF on planted signatures with two flat, overlapping
# profiles (issue 26): does nmf(..., volume > 0) recover the overlapping pair
# better than plain KL-NMF?
#
#   R CMD INSTALL --preclean --library=$LIB . && rm -f src/*.o src/*.so
#   R_LIBS=$LIB Rscript tools/minvol-planted.R            # 20 seeds
#   MINVOL_SEEDS=5 R_LIBS=$LIB Rscript tools/minvol-planted.R
#
# Each seed draws its own data: 96 channels x 200 samples, rank 5. Two flat
# SBS-like profiles (Gamma(8) entries, like SBS3/SBS5/SBS40; the second a
# perturbation of the first, their cosine between 0.8 and 0.9) and three
# peaked ones (sbs_signatures SynA, SynC, SynD); exposures Gamma(0.7), each
# sample about 1500 mutations, Poisson counts. Every fit starts from the same
# random start per seed (nrun = 1, init = "random"), plain KL-NMF with the
# default solver (coordinate descent) and with MU, and min-volume KL-NMF at
# each weight in `volumes`. Reported: the quantiles over seeds of the matched
# cosine (Hungarian matching to the truth) of the two flat signatures (the
# worse of the two, and their mean), and of the three peaked ones.

suppressPackageStartupMessages(library(betanmf))
n_seeds <- as.integer(Sys.getenv("MINVOL_SEEDS", "20"))
volumes <- c(0.002, 0.01, 0.05)
m <- 96
n <- 200
depth <- 1500

planted <- function(seed) {
  set.seed(seed)
  repeat {
    flat1 <- rgamma(m, 8)
    flat2 <- flat1 * exp(rnorm(m, 0, 0.6))
    cs <- sum(flat1 * flat2) / sqrt(sum(flat1^2) * sum(flat2^2))
    if (cs >= 0.8 && cs <= 0.9) break
  }
  w <- cbind(flat1 = flat1, flat2 = flat2, sbs_signatures[, c("SynA", "SynC", "SynD")])
  w <- sweep(w, 2, colSums(w), "/")
  h <- matrix(rgamma(5 * n, 0.7), 5, n)
  h <- sweep(h, 2, colSums(h), "/") * depth
  x <- matrix(rpois(m * n, w %*% h), m, n, dimnames = list(rownames(sbs_signatures), NULL))
  list(x = x, w = w, cos_pair = cs)
}

# matched cosines to the truth, in the truth's order
matched <- function(truth, w) {
  cs <- cosine_similarity(truth, w)
  a <- hungarian(cs, maximize = TRUE)$assignment
  cs[cbind(seq_len(nrow(cs)), a)]
}

fit_one <- function(x, volume, solver, seed) {
  suppressWarnings(nmf(x, 5, beta = 1, solver = solver, init = "random", seed = seed, maxit = 5000,
                       tol = 1e-7, volume = volume))
}

methods <- c("KL-NMF (cd)", "KL-NMF (mu)", sprintf("min-vol %g", volumes))
rows <- list()
t0 <- proc.time()[["elapsed"]]
for (s in seq_len(n_seeds)) {
  p <- planted(s)
  fits <- c(list(fit_one(p$x, 0, "auto", s), fit_one(p$x, 0, "mu", s)),
            lapply(volumes, function(v) fit_one(p$x, v, "auto", s)))
  for (k in seq_along(fits)) {
    cs <- matched(p$w, fits[[k]]$w)
    rows[[length(rows) + 1L]] <- data.frame(seed = s, method = methods[k], pair_min = min(cs[1:2]),
                                            pair_mean = mean(cs[1:2]), peaked_min = min(cs[3:5]),
                                            iterations = fits[[k]]$iterations)
  }
}
res <- do.call(rbind, rows)
res$method <- factor(res$method, methods)
cat(sprintf("%d seeds, 96 x %d, rank 5, planted flat pair at cosine 0.8-0.9; %.0f s\n\n", n_seeds, n,
            proc.time()[["elapsed"]] - t0))
q <- c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)
for (what in c("pair_min", "pair_mean", "peaked_min")) {
  cat(sprintf("quantiles of %s (matched cosine to the truth)\n", what))
  tab <- t(vapply(split(res[[what]], res$method), stats::quantile, numeric(length(q)), probs = q))
  print(round(tab, 4))
  cat("\n")
}
wins <- with(res, tapply(pair_min, list(seed, method), identity))
for (v in sprintf("min-vol %g", volumes)) {
  cat(sprintf("%s: flat pair's worse cosine above KL-NMF (cd) in %d of %d seeds\n", v,
              sum(wins[, v] > wins[, "KL-NMF (cd)"]), n_seeds))
}
cat("\nmedian iterations\n")
print(tapply(res$iterations, res$method, stats::median))
