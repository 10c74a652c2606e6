# The main job (run by tools/main-job.sh after installing betanmf):
#
#   Rscript tools/main-job.R [output-dir]
#
# If the installed package ships the mutational-signature report
# (inst/reports/signature-report.Rmd, which uses the example catalog
# betanmf::sbs_catalog), render it to <output-dir>/signature-report.html.
# Otherwise fit a small simulated SBS96 catalog by KL-NMF with restarts, print
# the fit, and save its loss trace to <output-dir>/fit-trace.png.
# Prints the path of every file it writes.

args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1L && nzchar(args[[1]])) args[[1]] else "output"
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)
out_dir <- normalizePath(out_dir, mustWork = TRUE)

suppressPackageStartupMessages(library(betanmf))
cat("betanmf", format(utils::packageVersion("betanmf")), "from",
    dirname(find.package("betanmf")), "\n")

report <- system.file("reports", "signature-report.Rmd", package = "betanmf")

if (nzchar(report)) {
  # Render from a writable copy of the report folder: the installed package
  # may be read-only, and knitr writes figures next to the source.
  work <- tempfile("signature-report-")
  dir.create(work)
  file.copy(list.files(dirname(report), full.names = TRUE), work, recursive = TRUE)
  html <- rmarkdown::render(
    file.path(work, basename(report)),
    output_file = "signature-report.html",
    output_dir = out_dir,
    intermediates_dir = work,
    envir = new.env(parent = globalenv()),
    quiet = TRUE
  )
  cat("report:", normalizePath(html), "\n")
  # and the headline fit on the console, with its signature profiles as a PNG
  fit <- nmf(betanmf::sbs_catalog, rank = 5, beta = 1, nrun = 10, seed = 1)
  print(fit)
  png_file <- file.path(out_dir, "signatures.png")
  ggplot2::ggsave(png_file, autoplot(fit, type = "signatures"), width = 10, height = 7, dpi = 100)
  cat("plot:", normalizePath(png_file), "\n")
} else {
  cat("the installed betanmf ships no signature report;",
      "fitting a simulated catalog instead\n")
  # 96 trinucleotide channels (5' base, substitution, 3' base) x 60 tumours,
  # mutation counts from 4 planted signatures with gamma-distributed exposures.
  if (exists("sbs96_channels", envir = asNamespace("betanmf")) &&
      "sbs96_channels" %in% getNamespaceExports("betanmf")) {
    channels <- betanmf::sbs96_channels()
  } else {
    bases <- c("A", "C", "G", "T")
    subs <- c("C>A", "C>G", "C>T", "T>A", "T>C", "T>G")
    grid <- expand.grid(three = bases, five = bases, sub = subs,
                        stringsAsFactors = FALSE)
    channels <- sprintf("%s[%s]%s", grid$five, grid$sub, grid$three)
  }
  set.seed(1)
  n_channels <- length(channels)
  n_tumours <- 60
  n_signatures <- 4
  signatures <- matrix(rgamma(n_channels * n_signatures, shape = 0.3), n_channels, n_signatures)
  signatures <- sweep(signatures, 2, colSums(signatures), "/")
  exposures <- matrix(rgamma(n_signatures * n_tumours, shape = 0.7, rate = 0.7 / 500),
                      n_signatures, n_tumours)
  catalog <- matrix(rpois(n_channels * n_tumours, signatures %*% exposures),
                    n_channels, n_tumours,
                    dimnames = list(channels, sprintf("tumour%02d", seq_len(n_tumours))))

  fit <- nmf(catalog, rank = n_signatures, beta = 1, nrun = 10, seed = 1)
  print(fit)

  # How well the planted signatures were recovered (cosine similarity of each
  # planted signature with its best-matching fitted one).
  w <- basis(fit)
  cosine <- crossprod(signatures, w) /
    outer(sqrt(colSums(signatures^2)), sqrt(colSums(w^2)))
  cat("best cosine similarity of each planted signature with a fitted one:",
      format(round(apply(cosine, 1, max), 3)), "\n")

  png_file <- file.path(out_dir, "fit-trace.png")
  ggplot2::ggsave(png_file, autoplot(fit), width = 6, height = 4, dpi = 120)
  cat("trace plot:", png_file, "\n")
}
