# Profile plots for SBS-96, DBS-78 and ID-83 (issue 25), readable at COSMIC
# scale: every set builds with 60+ signatures, one panel row per signature.

random_profiles <- function(set, k, seed = 1) {
  set.seed(seed)
  ch <- mutation_channels(set)
  matrix(rgamma(length(ch) * k, 0.5), length(ch), k, dimnames = list(ch, sprintf("Sig%02d", seq_len(k))))
}

test_that("plot_profiles() builds for every set with 60+ signatures", {
  expected <- list(SBS96 = c(96, 6), DBS78 = c(78, 10), ID83 = c(83, 16))
  for (set in names(expected)) {
    w <- random_profiles(set, 62)
    p <- plot_profiles(w)
    expect_identical(levels(p$data$channel), mutation_channels(set))
    expect_identical(nlevels(p$data$class), as.integer(expected[[set]][2]))
    expect_identical(levels(p$data$signature), colnames(w))
    expect_equal(as.vector(tapply(p$data$value, p$data$signature, sum)), rep(1, 62))
    built <- ggplot2::ggplot_build(p)
    expect_identical(nrow(built$data[[1]]), as.integer(expected[[set]][1] * 62))
    # one panel per signature and class: 62 rows of panels
    expect_identical(nrow(built$layout$layout), as.integer(62 * expected[[set]][2]))
    expect_identical(length(unique(built$layout$layout$ROW)), 62L)
    # one COSMIC colour per class
    info <- betanmf:::channel_set(set)
    expect_setequal(unique(built$data[[1]]$fill), unname(info$colours))
  }
})

test_that("plot_profiles() puts channels in canonical order from any label style", {
  w <- random_profiles("ID83", 2)
  styled <- w[83:1, ]
  rownames(styled) <- betanmf:::channel_set("ID83")$styles$mutational_patterns[83:1]
  p <- plot_profiles(styled)
  expect_equal(p$data$value, as.vector(sweep(w, 2, colSums(w), "/")))
  expect_identical(as.character(p$data$class[c(1, 73, 83)]), c("Del C", "MH 2", "MH 5+"))
  d <- random_profiles("DBS78", 3)
  q <- plot_profiles(unname(d)) # unnamed: 78 rows are DBS-78 in canonical order
  expect_identical(levels(q$data$class)[1], "AC>NN")
  expect_equal(q$data$value, as.vector(sweep(d, 2, colSums(d), "/")))
  expect_error(plot_profiles(d, set = "ID83"), "'w' has DBS-78 channels as rows where ID-83 channels are expected")
  expect_error(plot_profiles(matrix(1, 50, 2)), "50 unnamed rows")
  genes <- d
  rownames(genes) <- paste0("g", 1:78)
  expect_error(plot_profiles(genes), "not channels of SBS-96, DBS-78 or ID-83")
  expect_identical(plot_profiles(d, labels = TRUE)$data, plot_profiles(d)$data)
})

test_that("autoplot(type = \"signatures\") draws DBS and ID fits too", {
  w <- read_signatures(system.file("extdata", "toy_signatures_ID83.tsv", package = "betanmf"))
  set.seed(4)
  x <- matrix(as.double(rpois(83 * 8, w %*% matrix(rgamma(24, 2, 0.01), 3))), 83, 8,
              dimnames = list(rownames(w), paste0("s", 1:8)))
  fit <- nmf(x, 3, beta = 1, seed = 1, maxit = 100)
  p <- autoplot(fit, type = "signatures")
  expect_identical(levels(p$data$channel), mutation_channels("ID83"))
  expect_identical(nlevels(p$data$class), 16L)
  expect_s3_class(ggplot2::ggplot_build(p), "ggplot_built")
  # plot_sbs96() is the SBS-96 case
  s <- plot_sbs96(sbs_signatures[, 1:2])
  expect_identical(levels(s$data$class), c("C>A", "C>G", "C>T", "T>A", "T>C", "T>G"))
  expect_error(plot_sbs96(random_profiles("DBS78", 1)), "96 rows")
})
