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
