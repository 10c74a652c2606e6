# Generates the SigProfiler-style catalog fixtures and the DBS-78 / ID-83
# signature tables in inst/extdata. Run from the package root with the
# package installed (for the channel lists of mutation_channels(), whose
# orders test-channel-sets.R checks against hand-written lists):
#
#   Rscript data-raw/make-fixtures.R
#
# Nothing here is real data: the signatures are random shapes (gamma draws
# on a few chosen channels over a low background), NOT COSMIC signatures,
# and the catalogs are Poisson draws from them. The files are written with
# base R (write.table), not with betanmf's writers, so the readers' tests
# read files the package did not make.
#
# Files:
#   toy.SBS96.all           12 samples x 96 channels, SigProfilerMatrixGenerator
#                           layout (MutationType, rows sorted by label as that
#                           tool writes them), counts from sbs_signatures
#   toy.DBS78.all           12 samples, DBS-78 in COSMIC order, counts from the
#                           toy DBS signatures
#   toy.ID83.all            12 samples, ID-83 with rows sorted by label (not
#                           COSMIC's order: the reader must sort them)
#   toy_signatures_DBS78.tsv  3 signatures, COSMIC layout (Type column),
#                           6 decimals as in COSMIC's tables
#   toy_signatures_ID83.tsv   3 signatures, likewise

library(betanmf)
set.seed(20261206)

toy_signatures <- function(channels, prefix, n_sig = 3) {
  m <- length(channels)
  sigs <- vapply(seq_len(n_sig), function(k) {
    v <- 0.002 + 0.003 * stats::rgamma(m, 1)
    peaks <- sample(m, 6)
    v[peaks] <- v[peaks] + stats::rgamma(6, 2, 10)
    v / sum(v)
  }, numeric(m))
  sigs <- round(sigs, 6)
  dimnames(sigs) <- list(channels, paste0(prefix, LETTERS[seq_len(n_sig)]))
  sigs
}

toy_catalog <- function(sigs, n = 12, depth = 600) {
  h <- matrix(stats::rgamma(ncol(sigs) * n, 0.8), ncol(sigs), n)
  h <- sweep(h, 2, colSums(h), "/") * depth
  x <- matrix(stats::rpois(nrow(sigs) * n, sigs %*% h), nrow(sigs), n,
              dimnames = list(rownames(sigs), paste0("Sample", seq_len(n))))
  x
}

write_tsv <- function(first, labels, mat, file) {
  df <- data.frame(labels, mat, check.names = FALSE, stringsAsFactors = FALSE)
  names(df)[1] <- first
  utils::write.table(df, file.path("inst/extdata", file), sep = "\t", quote = FALSE, row.names = FALSE)
}

dbs <- toy_signatures(mutation_channels("DBS78"), "ToyDBS")
id <- toy_signatures(mutation_channels("ID83"), "ToyID")
write_tsv("Type", rownames(dbs), dbs, "toy_signatures_DBS78.tsv")
write_tsv("Type", rownames(id), id, "toy_signatures_ID83.tsv")

sbs_x <- toy_catalog(sbs_signatures, depth = 800)
sorted <- order(rownames(sbs_x), method = "radix")
write_tsv("MutationType", rownames(sbs_x)[sorted], sbs_x[sorted, ], "toy.SBS96.all")

dbs_x <- toy_catalog(dbs, depth = 1000)
write_tsv("MutationType", rownames(dbs_x), dbs_x, "toy.DBS78.all")

id_x <- toy_catalog(id, depth = 1000)
sorted <- order(rownames(id_x), method = "radix")
write_tsv("MutationType", rownames(id_x)[sorted], id_x[sorted, ], "toy.ID83.all")
