# Generates the package's example data sets (all synthetic) and the fixture
# files in inst/extdata.  Run from the package root with the package
# installed (or loaded with devtools::load_all()):
#
#   Rscript data-raw/make-data.R
#
# Nothing here is real data: the signature shapes below are invented for
# illustration and are NOT COSMIC signatures.

library(betanmf)

set.seed(20261124)
channels <- sbs96_channels()
sub <- substr(channels, 3, 5)
five <- substr(channels, 1, 1)
three <- substr(channels, 7, 7)

# Five made-up signature shapes, each a sum of a few "features" on top of a
# small jittered background, normalised to sum to one.
shape <- function(weights) {
  v <- weights + 0.002 * stats::rgamma(96, shape = 2)
  v <- v * exp(stats::rnorm(96, sd = 0.15))
  v / sum(v)
}
syn <- cbind(
  # C>T at CpG (3' G), a "clock-like" pattern
  SynA = shape(ifelse(sub == "C>T", 0.02, 0.001) + ifelse(sub == "C>T" & three == "G", 0.25, 0)),
  # broad and flat, with a mild T>C bump
  SynB = shape(0.01 + ifelse(sub == "T>C", 0.01, 0) + ifelse(sub == "C>T", 0.004, 0)),
  # dominated by C>A, strongest at CpC and CpT
  SynC = shape(ifelse(sub == "C>A", 0.04 + 0.05 * (five %in% c("C", "T")), 0.002) +
                 ifelse(sub == "C>T", 0.004, 0)),
  # C>T and C>G at TpCpN
  SynD = shape(ifelse(sub %in% c("C>T", "C>G") & five == "T", 0.2, 0.001)),
  # T>A and T>C at ApTpN
  SynE = shape(ifelse(sub %in% c("T>A", "T>C") & five == "A", 0.08, 0.002) +
                 ifelse(sub == "T>A", 0.01, 0))
)
rownames(syn) <- channels
sbs_signatures <- syn

# 60 synthetic tumours: SynA and SynB in every tumour, plus 0-2 of the rest.
n_tumours <- 60
tumours <- sprintf("T%02d", seq_len(n_tumours))
burden <- round(exp(stats::rnorm(n_tumours, log(1500), 0.6)))
share <- matrix(0, 5, n_tumours, dimnames = list(colnames(syn), tumours))
for (j in seq_len(n_tumours)) {
  extra <- sample(3:5, sample(0:2, 1, prob = c(0.2, 0.5, 0.3)))
  share[c(1, 2, extra), j] <- stats::rgamma(2 + length(extra), shape = 2)
  share[1:2, j] <- share[1:2, j] * 0.5
}
share <- sweep(share, 2, colSums(share), "/")
sbs_exposures <- round(sweep(share, 2, burden, "*"), 1)
sbs_catalog <- matrix(stats::rpois(96 * n_tumours, syn %*% sbs_exposures), 96, n_tumours,
                      dimnames = list(channels, tumours))
storage.mode(sbs_catalog) <- "integer"

# Spike counts: 60 neurons x 500 time bins; four assemblies with overlapping
# membership fire in bursts on top of a low background rate.
n_neurons <- 60
n_bins <- 500
neurons <- sprintf("n%02d", seq_len(n_neurons))
members <- list(1:18, 13:30, 28:45, 40:55)  # neurons 56-60 belong to none
assembly_w <- matrix(0, n_neurons, 4, dimnames = list(neurons, paste0("assembly", 1:4)))
for (k in 1:4) assembly_w[members[[k]], k] <- stats::rgamma(length(members[[k]]), shape = 4, rate = 4)
assembly_h <- matrix(0, 4, n_bins, dimnames = list(colnames(assembly_w), paste0("t", seq_len(n_bins))))
for (k in 1:4) {
  starts <- sort(sample.int(n_bins - 10, 12))
  for (s in starts) {
    len <- sample(3:8, 1)
    assembly_h[k, s:(s + len - 1)] <- assembly_h[k, s:(s + len - 1)] + stats::runif(1, 1.5, 3)
  }
}
baseline <- stats::runif(n_neurons, 0.05, 0.3)
rate <- assembly_w %*% assembly_h + baseline
spike_counts <- matrix(stats::rpois(n_neurons * n_bins, rate), n_neurons, n_bins,
                       dimnames = list(neurons, colnames(assembly_h)))
storage.mode(spike_counts) <- "integer"
spike_assemblies <- list(w = assembly_w, h = assembly_h, baseline = stats::setNames(baseline, neurons))

dir.create("data", showWarnings = FALSE)
save(sbs_catalog, file = "data/sbs_catalog.rda", compress = "xz")
save(sbs_signatures, file = "data/sbs_signatures.rda", compress = "xz")
save(sbs_exposures, file = "data/sbs_exposures.rda", compress = "xz")
save(spike_counts, file = "data/spike_counts.rda", compress = "xz")
save(spike_assemblies, file = "data/spike_assemblies.rda", compress = "xz")

# Fixture files: three made-up signatures (random Dirichlet-like profiles,
# not COSMIC's) written in the two file layouts read_signatures() accepts.
dir.create("inst/extdata", recursive = TRUE, showWarnings = FALSE)
toy <- matrix(stats::rgamma(96 * 3, shape = 0.6), 96, 3, dimnames = list(channels, c("ToyX", "ToyY", "ToyZ")))
toy <- round(sweep(toy, 2, colSums(toy), "/"), 6)
# COSMIC layout: Type column of "A[C>A]A" labels, rows shuffled to show that
# the reader reorders them
perm <- sample.int(96)
cosmic <- data.frame(Type = channels[perm], toy[perm, ], check.names = FALSE)
utils::write.table(cosmic, "inst/extdata/toy_signatures_cosmic.tsv", sep = "\t", quote = FALSE,
                   row.names = FALSE)
# SigProfiler layout: Type ("C>A") and SubType ("ACA") columns
sigprofiler <- data.frame(Type = substr(channels, 3, 5),
                          SubType = paste0(five, substr(channels, 3, 3), three), toy, check.names = FALSE)
utils::write.table(sigprofiler, "inst/extdata/toy_signatures_sigprofiler.tsv", sep = "\t", quote = FALSE,
                   row.names = FALSE)
# trinucleotide-pair layout: "ACA>AAA"
tri <- data.frame(Type = paste0(five, substr(channels, 3, 3), three, ">", five, substr(channels, 5, 5), three),
                  toy, check.names = FALSE)
utils::write.table(tri, "inst/extdata/toy_signatures_trinucleotide.tsv", sep = "\t", quote = FALSE,
                   row.names = FALSE)
