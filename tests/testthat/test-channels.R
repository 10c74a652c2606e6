test_that("sbs96_channels() lists the 96 channels in COSMIC order", {
  ch <- sbs96_channels()
  expect_length(ch, 96)
  expect_false(anyDuplicated(ch) > 0)
  expect_identical(ch[1:5], c("A[C>A]A", "A[C>A]C", "A[C>A]G", "A[C>A]T", "C[C>A]A"))
  expect_identical(ch[16], "T[C>A]T")
  expect_identical(ch[17], "A[C>G]A")
  expect_identical(ch[96], "T[T>G]T")
  # six blocks of 16, in the order C>A, C>G, C>T, T>A, T>C, T>G
  expect_identical(unique(substr(ch, 3, 5)), c("C>A", "C>G", "C>T", "T>A", "T>C", "T>G"))
  expect_true(all(table(substr(ch, 3, 5)) == 16))
  # the reference base is always a pyrimidine and differs from the alternate
  expect_true(all(substr(ch, 3, 3) %in% c("C", "T")))
  expect_true(all(substr(ch, 3, 3) != substr(ch, 5, 5)))
})

test_that("trinucleotide-pair labels round-trip to canonical ones", {
  ch <- sbs96_channels()
  # an independent construction of the "ACA>AAA" style
  tri <- paste0(substr(ch, 1, 1), substr(ch, 3, 3), substr(ch, 7, 7), ">",
                substr(ch, 1, 1), substr(ch, 5, 5), substr(ch, 7, 7))
  expect_identical(tri[1], "ACA>AAA")
  expect_identical(sbs96_labels(tri), ch)
  shuffled <- sample(96)
  expect_identical(sbs96_labels(tri[shuffled]), ch[shuffled])
  expect_identical(sbs96_labels(ch), ch)
  expect_identical(sbs96_labels(tolower(tri[1:3])), ch[1:3])
  expect_identical(sbs96_labels(c(" A[C>T]G ", "TCG>TTG")), c("A[C>T]G", "T[C>T]G"))
  expect_identical(sbs96_labels(factor(ch[10:12])), ch[10:12])
})

test_that("SigProfiler Type/SubType pairs convert to canonical labels", {
  ch <- sbs96_channels()
  type <- substr(ch, 3, 5)
  subtype <- paste0(substr(ch, 1, 1), substr(ch, 3, 3), substr(ch, 7, 7))
  expect_identical(sbs96_labels(type, subtype = subtype), ch)
  expect_identical(sbs96_labels("C>T", subtype = "TCG"), "T[C>T]G")
})

test_that("unknown or missing channels are clear errors", {
  expect_error(sbs96_labels("A[G>T]A"), "not among the 96")
  expect_error(sbs96_labels("ACA>CAA"), "not among the 96")      # flanks may not change
  expect_error(sbs96_labels("A[C>C]A"), "not among the 96")
  expect_error(sbs96_labels("hello"), "hello")
  expect_error(sbs96_labels(c("A[C>A]A", NA)), "missing")
  expect_error(sbs96_labels(c("A[C>A]A", "")), "missing")
  expect_error(sbs96_labels(1:3), "'labels'")
  expect_error(sbs96_labels("C>A", subtype = "AGA"), "C>A / AGA")
  expect_error(sbs96_labels(c("C>A", "C>T"), subtype = "ACA"), "'subtype'")
  expect_error(sbs96_labels("C>A", subtype = NA_character_), "missing")
})

test_that("the ACA>AGA label is canonical A[C>G]A, not an error", {
  expect_identical(sbs96_labels("ACA>AGA"), "A[C>G]A")
})

# ---- rows meet by name (issue 22, item 1) ------------------------------------

test_that("conform_rows() matches rows by name, by the canonical SBS order, or refuses", {
  conform_rows <- betanmf:::conform_rows
  ch <- sbs96_channels()
  canonical <- matrix(seq_len(96 * 2), 96, 2, dimnames = list(ch, c("a", "b")))
  alpha <- canonical[order(ch), ]
  unnamed <- function(m) {
    rownames(m) <- NULL
    m
  }
  # both named: rows follow the target's order, whatever the label style
  expect_identical(conform_rows(alpha, canonical, "m", "t"), canonical)
  tri <- paste0(substr(ch, 1, 1), substr(ch, 3, 3), substr(ch, 7, 7), ">",
                substr(ch, 1, 1), substr(ch, 5, 5), substr(ch, 7, 7))
  styled <- canonical
  rownames(styled) <- tri
  expect_identical(conform_rows(alpha, styled, "m", "t"), styled)
  # an unnamed 96-row side is in canonical order, named side aligned to it
  expect_identical(conform_rows(unnamed(canonical), alpha, "m", "t"), alpha)
  expect_identical(conform_rows(alpha, unnamed(canonical), "m", "t"), canonical)
  # both unnamed: by position
  expect_identical(conform_rows(unnamed(alpha), unnamed(canonical), "m", "t"), unnamed(alpha))
  expect_error(conform_rows(unnamed(alpha[1:90, ]), unnamed(canonical), "m", "t"),
               "'m' must have 96 rows \\(those of 't'\\), not 90")
  # named sets that differ: missing and extra rows are named
  expect_error(conform_rows(alpha[1:90, ], canonical, "m", "t"), "'m' lacks 6 channel\\(s\\) of 't'")
  expect_error(conform_rows(canonical, canonical[1:90, ], "m", "t"), "'m' has 6 channel\\(s\\) that 't' lacks")
  dup <- canonical
  rownames(dup)[2] <- rownames(dup)[1]
  expect_error(conform_rows(dup, canonical, "m", "t"), "'m' has duplicated row names: A\\[C>A\\]A")
  # the same channel twice in two label styles is a duplicate too
  rownames(dup)[2] <- "ACA>AAA"
  expect_error(conform_rows(dup, canonical, "m", "t"), "duplicated row names \\(as SBS channels\\)")
  # named/unnamed mixes that cannot be aligned say which side lacks names
  genes <- matrix(1:10, 5, 2, dimnames = list(paste0("g", 1:5), NULL))
  expect_error(conform_rows(unnamed(genes), genes, "m", "t"), "'m' has no row names but 't' has.*rownames\\(m\\)")
  expect_error(conform_rows(genes, unnamed(genes), "m", "t"), "'m' has row names but 't' has none.*unname\\(m\\)")
  expect_error(conform_rows(unnamed(canonical[1:90, ]), canonical[1:90, ], "m", "t"), "'m' has no row names")
  genes96 <- canonical
  rownames(genes96) <- paste0("g", 1:96)
  expect_error(conform_rows(unnamed(canonical), genes96, "m", "t"), "canonical SBS-96 order")
})
