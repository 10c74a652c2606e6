fixture <- function(name) system.file("extdata", name, package = "betanmf", mustWork = TRUE)

test_that("read_signatures() reads every label style into the same matrix", {
  cosmic <- read_signatures(fixture("toy_signatures_cosmic.tsv"))
  sigprof <- read_signatures(fixture("toy_signatures_sigprofiler.tsv"))
  trinuc <- read_signatures(fixture("toy_signatures_trinucleotide.tsv"))
  expect_equal(dim(cosmic), c(96L, 3L))
  expect_identical(rownames(cosmic), sbs96_channels())
  expect_identical(colnames(cosmic), c("ToyX", "ToyY", "ToyZ"))
  expect_equal(unname(colSums(cosmic)), rep(1, 3))
  expect_equal(sigprof, cosmic)
  expect_equal(trinuc, cosmic)
  # the COSMIC-style fixture has shuffled rows: check values by label
  raw <- utils::read.delim(fixture("toy_signatures_cosmic.tsv"), check.names = FALSE)
  i <- match("T[C>T]G", raw$Type)
  expect_equal(cosmic["T[C>T]G", "ToyY"], raw$ToyY[i] / sum(raw$ToyY))
  expect_false(identical(raw$Type, sbs96_channels()))
})

test_that("read_signatures() errors on missing, unknown or bad entries", {
  raw <- utils::read.delim(fixture("toy_signatures_cosmic.tsv"), check.names = FALSE)
  tmp <- tempfile(fileext = ".tsv")
  on.exit(unlink(tmp))
  write_tsv <- function(df) utils::write.table(df, tmp, sep = "\t", quote = FALSE, row.names = FALSE)
  write_tsv(raw[-5, ])
  expect_error(read_signatures(tmp), "lacks 1 channel")
  bad <- raw
  bad$Type[3] <- "A[G>T]A"
  write_tsv(bad)
  expect_error(read_signatures(tmp), "A\\[G>T\\]A")
  dup <- raw
  dup$Type[3] <- dup$Type[4]
  write_tsv(dup)
  expect_error(read_signatures(tmp), "duplicated")
  neg <- raw
  neg$ToyX[2] <- -1
  write_tsv(neg)
  expect_error(read_signatures(tmp), "non-negative")
  names(raw)[1] <- "Channel"
  write_tsv(raw)
  expect_error(read_signatures(tmp), "Type")
  expect_error(read_signatures(file.path(tempdir(), "no-such-file.tsv")), "'file'")
})

test_that("match_signatures() recovers a hidden permutation and the runner-up", {
  set.seed(11)
  ref <- matrix(rgamma(96 * 5, 0.5), 96, 5, dimnames = list(sbs96_channels(), paste0("R", 1:5)))
  perm <- c(4, 2, 5, 1)
  w <- ref[, perm] * matrix(exp(rnorm(96 * 4, sd = 0.2)), 96, 4)
  colnames(w) <- paste0("NMF", 1:4)
  m <- match_signatures(w, ref)
  expect_s3_class(m, "signature_match")
  expect_identical(m$matches$reference, paste0("R", perm))
  # independent cosines
  cosine <- function(a, b) sum(a * b) / sqrt(sum(a^2) * sum(b^2))
  expect_equal(m$matches$cosine, sapply(1:4, function(i) cosine(w[, i], ref[, perm[i]])))
  expect_equal(m$total, sum(m$matches$cosine))
  # runner-up: the most similar reference other than the assigned one
  for (i in 1:4) {
    others <- setdiff(1:5, perm[i])
    sims <- sapply(others, function(k) cosine(w[, i], ref[, k]))
    expect_identical(m$matches$runner_up[i], paste0("R", others[which.max(sims)]))
    expect_equal(m$matches$runner_up_cosine[i], max(sims))
  }
  expect_output(print(m), "R4")
})

test_that("match_signatures() finds the optimal assignment, not the greedy one", {
  # cosines: c1-A 0.75, c1-B 0.66, c2-A 0.94, c2-B 0.11.  Greedy in row
  # order gives c1-A, c2-B (total 0.86); the optimum is c1-B, c2-A (1.60)
  ref <- cbind(A = c(1, 0, 0), B = c(0, 1, 0))
  cs <- function(v) v / sqrt(sum(v^2))
  wn <- cbind(c1 = cs(c(0.9, 0.8, 0.1)), c2 = cs(c(0.85, 0.1, 0.3)))
  m <- match_signatures(wn, ref)
  cosmat <- crossprod(wn, ref)
  totals <- c(cosmat[1, 1] + cosmat[2, 2], cosmat[1, 2] + cosmat[2, 1])
  expect_identical(which.max(totals), 2L)
  expect_identical(m$matches$reference, c("B", "A"))
  expect_equal(m$total, max(totals))
})

test_that("match_signatures() handles fits, surplus components and label styles", {
  sim <- simulate_nmf(w = sbs_signatures[, 1:3], n = 40, depth = 2000, seed = 1)
  fit <- nmf(sim$x, 3, beta = 1, seed = 1)
  m <- match_signatures(fit, sbs_signatures)
  expect_setequal(m$matches$reference, c("SynA", "SynB", "SynC"))
  expect_true(all(m$matches$cosine > 0.95))
  # more components than references: the surplus gets NA
  m2 <- match_signatures(sbs_signatures, sbs_signatures[, 1:3])
  expect_identical(m2$matches$reference, c("SynA", "SynB", "SynC", NA, NA))
  expect_equal(m2$matches$cosine[1:3], c(1, 1, 1))
  # references labelled in the trinucleotide style, rows shuffled
  ref <- sbs_signatures[96:1, ]
  ch <- rownames(ref)
  rownames(ref) <- paste0(substr(ch, 1, 1), substr(ch, 3, 3), substr(ch, 7, 7), ">",
                          substr(ch, 1, 1), substr(ch, 5, 5), substr(ch, 7, 7))
  m3 <- match_signatures(sbs_signatures, ref)
  expect_identical(m3$matches$reference, colnames(sbs_signatures))
  expect_equal(m3$matches$cosine, rep(1, 5))
  expect_error(match_signatures(sbs_signatures, sbs_signatures[1:90, ]), "lacks 6 channel")
  expect_error(match_signatures(sbs_signatures, -sbs_signatures), "'reference'")
  expect_error(match_signatures("a", sbs_signatures), "'fit_or_w'")
})

# ---- rows meet by name (issue 22, item 1) ------------------------------------

test_that("match_signatures() reads an unnamed side in canonical order and aligns the named one", {
  ch <- sbs96_channels()
  # the extracted components unnamed (canonical order), the references in
  # SigProfiler's alphabetical order
  m <- match_signatures(unname(sbs_signatures[, c(4, 2)]), sbs_signatures[order(ch), ])
  expect_identical(m$matches$reference, c("SynD", "SynB"))
  expect_equal(m$matches$cosine, c(1, 1))
  # and the other way round
  m2 <- match_signatures(sbs_signatures[order(ch), c(5, 1)], unname(sbs_signatures))
  expect_identical(m2$matches$reference, c("ref5", "ref1"))
  expect_equal(m2$matches$cosine, c(1, 1))
  genes <- sbs_signatures
  rownames(genes) <- paste0("g", 1:96)
  expect_error(match_signatures(genes, unname(sbs_signatures)), "'reference' has no row names but 'fit_or_w' has")
  expect_error(match_signatures(sbs_signatures, sbs_signatures[-1, ]), "'reference' lacks 1 channel")
})
