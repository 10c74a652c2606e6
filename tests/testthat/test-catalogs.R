# Catalogs and signature tables in and out (issue 25): the readers against
# the fixtures and hand-written expectations, exact round trips, errors that
# name the label at fault, and planted exposures recovered for DBS-78 and
# ID-83.

fixture <- function(name) system.file("extdata", name, package = "betanmf", mustWork = TRUE)

# a copy of a fixture with `edit` applied to its lines
edited_copy <- function(name, edit) {
  tmp <- tempfile(fileext = ".txt")
  writeLines(edit(readLines(fixture(name))), tmp)
  tmp
}

test_that("read_catalog() reads SigProfiler's SBS96 matrix into COSMIC order", {
  x <- read_catalog(fixture("toy.SBS96.all"))
  expect_true(is.double(x))
  expect_identical(dim(x), c(96L, 12L))
  expect_identical(rownames(x), sbs96_channels())
  expect_identical(colnames(x), paste0("Sample", 1:12))
  # lines of the file (sorted by label there), by hand: the first 4 samples
  expect_identical(x["A[C>A]A", 1:4], c(Sample1 = 3, Sample2 = 6, Sample3 = 7, Sample4 = 4))
  expect_identical(x["A[C>G]A", 1:4], c(Sample1 = 2, Sample2 = 2, Sample3 = 2, Sample4 = 4))
  expect_identical(x["C[C>T]G", 1:4], c(Sample1 = 47, Sample2 = 10, Sample3 = 44, Sample4 = 17))
  expect_identical(unname(x[17, 1:4]), c(2, 2, 2, 4)) # A[C>G]A is the 17th channel in COSMIC order
  expect_identical(unname(x[96, 1:4]), c(1, 7, 4, 2)) # T[T>G]T, the last
  expect_identical(read_catalog(fixture("toy.SBS96.all"), set = "SBS96"), x)
})

test_that("read_catalog() reads DBS78 and ID83 matrices", {
  d <- read_catalog(fixture("toy.DBS78.all"))
  expect_identical(rownames(d), mutation_channels("DBS78"))
  expect_identical(colnames(d), paste0("Sample", 1:12))
  expect_identical(d["AC>CA", 1:4], c(Sample1 = 5, Sample2 = 2, Sample3 = 2, Sample4 = 4))
  expect_identical(d["TA>GT", 1:4], c(Sample1 = 49, Sample2 = 11, Sample3 = 75, Sample4 = 33))
  expect_identical(unname(d[78, 1:4]), c(4, 4, 3, 5)) # TT>GG
  i <- read_catalog(fixture("toy.ID83.all"))
  expect_identical(rownames(i), mutation_channels("ID83"))
  # the file lists the channels sorted by label: 2:Del:M:1 comes before
  # 2:Del:R:0 there, and 73rd in COSMIC's order
  expect_identical(sub("\t.*", "", readLines(fixture("toy.ID83.all"))[26:27]), c("2:Del:M:1", "2:Del:R:0"))
  expect_identical(unname(i[73, 1:4]), c(4, 4, 2, 6))
  expect_identical(unname(i[25, 1:4]), c(2, 6, 5, 5))
  expect_identical(i["1:Del:C:0", 1:4], c(Sample1 = 14, Sample2 = 11, Sample3 = 5, Sample4 = 14))
  expect_identical(unname(i["5:Del:M:5", 1:4]), c(2, 0, 4, 5))
  expect_identical(unname(i["1:Ins:T:5", 1:4]), c(1, 3, 2, 5))
  expect_error(read_catalog(fixture("toy.DBS78.all"), set = "ID83"), "not among the 83 ID-83 channels")
})

test_that("read_signatures() reads DBS78 and ID83 tables, Type or MutationType", {
  d <- read_signatures(fixture("toy_signatures_DBS78.tsv"))
  expect_identical(rownames(d), mutation_channels("DBS78"))
  expect_identical(colnames(d), c("ToyDBSA", "ToyDBSB", "ToyDBSC"))
  expect_equal(unname(colSums(d)), rep(1, 3))
  raw <- utils::read.delim(fixture("toy_signatures_DBS78.tsv"), check.names = FALSE)
  expect_identical(raw$ToyDBSA[1], 0.002555) # AC>CA, by hand
  expect_equal(d["AC>CA", "ToyDBSA"], 0.002555 / sum(raw$ToyDBSA))
  expect_equal(d["TT>GG", "ToyDBSC"], 0.006295 / sum(raw$ToyDBSC))
  raw_d <- read_signatures(fixture("toy_signatures_DBS78.tsv"), normalize = FALSE)
  expect_identical(unname(raw_d["TT>GG", ]), c(0.001194, 0.001612, 0.006295))
  id <- read_signatures(fixture("toy_signatures_ID83.tsv"), normalize = FALSE)
  expect_identical(rownames(id), mutation_channels("ID83"))
  expect_identical(unname(id["1:Del:C:0", ]), c(0.002581, 0.004947, 0.012335))
  expect_identical(unname(id["5:Del:M:5", ]), c(0.002352, 0.001478, 0.001814))
  # SigProfiler's header and MutationalPatterns' labels, rows shuffled
  mp <- edited_copy("toy_signatures_DBS78.tsv", function(l) {
    l[1] <- sub("^Type", "MutationType", l[1])
    body <- sub("^(..)>", "\\1_", l[-1])
    c(l[1], rev(body))
  })
  expect_identical(read_signatures(mp), d)
  # PCAWG-style indel labels
  pc <- edited_copy("toy_signatures_ID83.tsv", function(l) {
    lab <- sub("\t.*", "", l[-1])
    pcawg <- betanmf:::channel_set("ID83")$styles$pcawg[match(lab, mutation_channels("ID83"))]
    c(l[1], paste0(pcawg, sub("^[^\t]*", "", l[-1])))
  })
  expect_match(readLines(pc)[2], "^DEL_C_1_0\t")
  expect_identical(read_signatures(pc, normalize = FALSE), id)
  # double-quoted fields, as write.table() writes them by default
  quoted <- tempfile()
  utils::write.table(data.frame(MutationType = rownames(id), id, check.names = FALSE), quoted, sep = "\t",
                     row.names = FALSE)
  expect_match(readLines(quoted)[2], '^"1:Del:C:0"\t')
  expect_identical(read_signatures(quoted, normalize = FALSE), id)
})

test_that("a changed, repeated or missing label is an error that names it", {
  cases <- list(c("toy.SBS96.all", "A[C>A]C", "A[G>A]C"), c("toy.DBS78.all", "AC>CG", "AC>CC"),
                c("toy.ID83.all", "1:Del:C:1", "1:Del:X:1"), c("toy_signatures_ID83.tsv", "3:Del:M:2", "3:Del:M:3"))
  for (cs in cases) {
    read <- if (grepl("signatures", cs[1])) read_signatures else read_catalog
    changed <- edited_copy(cs[1], function(l) sub(cs[2], cs[3], l, fixed = TRUE))
    expect_error(read(changed), cs[3], fixed = TRUE, class = "betanmf_error_alignment")
    dup <- edited_copy(cs[1], function(l) {
      l[3] <- sub("^[^\t]*", sub("\t.*", "", l[4]), l[3])
      l
    })
    dup_label <- sub("\t.*", "", readLines(dup)[4])
    expect_error(read(dup), paste0("duplicated row names.*", gsub("([][])", "\\\\\\1", dup_label)),
                 class = "betanmf_error_alignment")
    missing <- edited_copy(cs[1], function(l) l[-5])
    gone <- sub("\t.*", "", readLines(fixture(cs[1]))[5])
    expect_error(read(missing), paste0("lacks 1 channel.*", gsub("([][])", "\\\\\\1", gone)),
                 class = "betanmf_error_alignment")
  }
  header <- edited_copy("toy.DBS78.all", function(l) sub("^MutationType", "Channel", l))
  expect_error(read_catalog(header), "'MutationType' or 'Type'")
  neg <- edited_copy("toy.DBS78.all", function(l) sub("^(AC>CA\t)[0-9]+", "\\1-1", l))
  expect_error(read_catalog(neg), "non-negative.*AC>CA, sample Sample1", class = "betanmf_error_data")
  genes <- edited_copy("toy.DBS78.all", function(l) {
    c(l[1], paste0("gene", seq_along(l[-1]), sub("^[^\t]*", "", l[-1])))
  })
  expect_error(read_catalog(genes), "not channels of SBS-96, DBS-78 or ID-83", class = "betanmf_error_alignment")
  same_sample <- edited_copy("toy.DBS78.all", function(l) sub("Sample2", "Sample1", l))
  expect_error(read_catalog(same_sample), "distinct.*Sample1")
  expect_error(read_catalog(file.path(tempdir(), "no-such.DBS78.all")), "'file'")
})

test_that("write then read gives identical matrices for every set", {
  set.seed(3)
  for (set in c("SBS96", "DBS78", "ID83")) {
    ch <- mutation_channels(set)
    counts <- matrix(as.double(rpois(length(ch) * 3, 20)), length(ch), 3, dimnames = list(ch, c("a", "b", "c d")))
    f <- tempfile()
    write_catalog(counts, f)
    expect_identical(read_catalog(f), counts)
    # doubles that need 17 digits, rows in another order and label style
    sigs <- matrix(rgamma(length(ch) * 2, 0.5) / 7, length(ch), 2, dimnames = list(ch, c("S1", "S2")))
    sigs[1, 1] <- 0.1 + 0.2
    styled <- sigs[rev(seq_along(ch)), ]
    rownames(styled) <- betanmf:::channel_set(set)$styles[[2]][rev(seq_along(ch))]
    write_signatures(styled, f)
    expect_identical(read_signatures(f, normalize = FALSE), sigs)
    expect_identical(strsplit(readLines(f, n = 1), "\t")[[1]], c("MutationType", "S1", "S2"))
  }
  # SigProfiler's row order: SBS-96 sorted by label, the others COSMIC's
  write_catalog(counts, f)
  expect_identical(sub("\t.*", "", readLines(f)[2:4]), c("1:Del:C:0", "1:Del:C:1", "1:Del:C:2"))
  sbs <- matrix(1, 96, 1, dimnames = list(sbs96_channels(), "s"))
  write_catalog(sbs, f)
  expect_identical(sub("\t.*", "", readLines(f)[2:6]), c("A[C>A]A", "A[C>A]C", "A[C>A]G", "A[C>A]T", "A[C>G]A"))
  # a fit's basis; unnamed rows need the set
  write_signatures(unname(sigs), f, set = "ID83")
  expect_identical(unname(read_signatures(f, normalize = FALSE)), unname(sigs))
  expect_error(write_signatures(unname(sigs), f), "unnamed rows.*'set'")
  expect_error(write_catalog(-counts, f), "non-negative")
  expect_error(write_catalog(counts, file.path(tempdir(), "no", "such", "dir.txt")), "directory")
  bad <- counts
  colnames(bad)[1] <- "a\tb"
  expect_error(write_catalog(bad, f), "tabs")
})

test_that("exposures round trip, with their bootstrap intervals", {
  x <- read_catalog(fixture("toy.DBS78.all"))
  w <- read_signatures(fixture("toy_signatures_DBS78.tsv"))
  refit <- fit_signatures(x, w, bootstrap = 10, seed = 1)
  f <- tempfile()
  write_exposures(refit, f)
  lines <- readLines(f)
  expect_identical(strsplit(lines[1], "\t")[[1]],
                   c("Samples", "ToyDBSA", "ToyDBSB", "ToyDBSC", "ToyDBSA_lower", "ToyDBSB_lower", "ToyDBSC_lower",
                     "ToyDBSA_upper", "ToyDBSB_upper", "ToyDBSC_upper"))
  expect_length(lines, 13)
  back <- read_exposures(f)
  expect_identical(back$exposures, refit$exposures)
  expect_identical(back$lower, refit$lower)
  expect_identical(back$upper, refit$upper)
  plain <- fit_signatures(x, w)
  write_exposures(plain, f)
  expect_identical(read_exposures(f), list(exposures = plain$exposures, lower = NULL, upper = NULL))
  h <- matrix(c(1 / 3, 0, 5, 2e-300), 2, dimnames = list(c("SBS1", "SBS5"), c("s1", "s2")))
  write_exposures(h, f)
  expect_identical(read_exposures(f)$exposures, h)
  expect_error(write_exposures("a", f), "'x'")
})

test_that("the fixtures stay small", {
  files <- c("toy.SBS96.all", "toy.DBS78.all", "toy.ID83.all", "toy_signatures_DBS78.tsv", "toy_signatures_ID83.tsv")
  expect_true(all(file.size(vapply(files, fixture, "")) < 5000))
})

# Planted exposures of DBS-78 and ID-83 signatures recovered within the noise:
# the tolerance of each exposure is 4 standard errors from the Poisson
# Fisher information of the identity-link model, I = W' diag(1 / (W h)) W.
planted_recovery <- function(sig_file, seed) {
  set.seed(seed)
  w <- read_signatures(fixture(sig_file))
  h <- matrix(c(900, 300, 0, 200, 1200, 500, 0, 700, 1500), 3, 3,
              dimnames = list(colnames(w), paste0("s", 1:3)))
  mu <- w %*% h
  x <- matrix(as.double(rpois(length(mu), mu)), nrow(mu), dimnames = dimnames(mu))
  refit <- fit_signatures(x, w)
  for (j in seq_len(ncol(h))) {
    present <- h[, j] > 0
    wj <- w[, present, drop = FALSE]
    info <- crossprod(wj, wj / as.vector(mu[, j]))
    se <- sqrt(diag(solve(info)))
    err <- abs(refit$exposures[present, j] - h[present, j])
    expect_true(all(err < 4 * se), info = sprintf("%s sample %d: errors %s, se %s", sig_file, j,
                                                  paste(round(err), collapse = " "), paste(round(se), collapse = " ")))
  }
  expect_true(all(refit$exposures[h == 0] < 0.05 * max(h)))
  refit
}

test_that("fit_signatures() recovers planted DBS-78 exposures", {
  refit <- planted_recovery("toy_signatures_DBS78.tsv", 11)
  expect_identical(rownames(refit$catalog), mutation_channels("DBS78"))
})

test_that("fit_signatures() recovers planted ID-83 exposures, whatever the catalog's row order", {
  refit <- planted_recovery("toy_signatures_ID83.tsv", 12)
  x <- refit$catalog[83:1, ]
  rownames(x) <- betanmf:::channel_set("ID83")$styles$mutational_patterns[83:1]
  again <- fit_signatures(x, refit$signatures)
  expect_equal(again$exposures, refit$exposures, tolerance = 1e-6)
})
