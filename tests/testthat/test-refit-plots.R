# Refit plots at COSMIC scale (65 signatures): which signatures are drawn,
# the pooled "other" against plain-R sums, relative intervals against plain-R
# quantiles of each replicate's own shares, and the reconstruction's cosine
# against a plain-R cosine.

w65 <- refit65_signatures()
x65 <- refit65_catalog(w65)
boot65 <- fit_signatures(x65, w65, bootstrap = 20, seed = 1, threads = 1)
plain65 <- fit_signatures(x65, w65, threads = 1)

drawn <- function(p) levels(p$data$signature)
value_of <- function(p, signature, column = "value") {
  d <- p$data[p$data$signature == signature, ]
  stats::setNames(d[[column]], as.character(d$sample))
}

test_that("every exposure plot of a 65-signature refit builds and stays readable", {
  n_present <- sum(rowSums(boot65$contributions) > 0)
  expect_gt(n_present, 12)  # the fixture needs pooling by default
  for (refit in list(boot65, plain65)) {
    for (type in c("exposures", "intervals", "stacked")) {
      if (type == "intervals" && is.null(refit$replicates)) next
      for (relative in c(FALSE, TRUE)) {
        p <- autoplot(refit, type = type, relative = relative)
        expect_no_error(built <- ggplot2::ggplot_build(p))
        # the 12 largest and "other", drawn last and in grey
        expect_length(drawn(p), 13)
        expect_identical(utils::tail(drawn(p), 1), "other")
        stacked <- type == "stacked" || (type == "exposures" && is.null(refit$replicates))
        aesthetic <- if (stacked) "fill" else "colour"
        expect_identical(built$plot$scales$get_scales(aesthetic)$map("other"), "grey65")
        colours <- built$data[[length(built$data)]][[aesthetic]]
        expect_length(unique(colours), 13)
      }
    }
  }
  # with bootstrap the default is the intervals plot, without it the stacked bars
  expect_identical(vapply(autoplot(boot65)$layers, function(l) class(l$geom)[1], ""),
                   c("GeomErrorbar", "GeomPoint"))
  expect_identical(vapply(autoplot(plain65)$layers, function(l) class(l$geom)[1], ""), "GeomCol")
  # plot() draws the same thing
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  expect_identical(drawn(plot(boot65, type = "stacked", top = 3)),
                   drawn(autoplot(boot65, type = "stacked", top = 3)))
  # plot_exposures() of the 65 x 8 exposures too
  p <- plot_exposures(coef(boot65))
  expect_no_error(ggplot2::ggplot_build(p))
  expect_length(drawn(p), 13)
})

test_that("the default draws the signatures present, the largest by contribution", {
  totals <- rowSums(boot65$contributions)
  largest <- names(sort(totals[totals > 0], decreasing = TRUE))[1:12]
  p <- autoplot(boot65, type = "stacked")
  # the 12 largest, in the refit's row order, then "other"
  expect_identical(drawn(p), c(colnames(w65)[colnames(w65) %in% largest], "other"))
  # with 12 or fewer present, exactly those and nothing pooled
  pruned <- fit_signatures(x65, w65, prune = TRUE, threads = 1)
  present <- colnames(w65)[rowSums(coef(pruned)) > 0]
  expect_lte(length(present), 12)
  expect_identical(drawn(autoplot(pruned)), present)
  expect_identical(drawn(plot_exposures(coef(pruned))), present)
  # only the samples shown count: a signature present elsewhere is not drawn
  only <- colnames(x65)[1]
  sub_present <- colnames(w65)[pruned$contributions[, only] > 0]
  expect_identical(drawn(autoplot(pruned, samples = only)), sub_present)
})

test_that("the pooled \"other\" is exactly the sum of the signatures pooled", {
  h <- coef(boot65)
  top3 <- names(sort(rowSums(h), decreasing = TRUE))[1:3]
  pooled <- setdiff(rownames(h), top3)
  p <- plot_exposures(h, top = 3)
  expect_identical(drawn(p), c(rownames(h)[rownames(h) %in% top3], "other"))
  expect_equal(value_of(p, "other")[colnames(h)], colSums(h[pooled, ]))
  # the subtitle counts the pooled signatures that are present, not the zeros
  expect_identical(p$labels$subtitle, sprintf("%d more signatures present, pooled as \"other\" (grey)",
                                              sum(rowSums(h[pooled, ]) > 0)))
  for (s in top3) expect_equal(value_of(p, s)[colnames(h)], h[s, ])
  # every bar keeps its height
  expect_equal(c(tapply(p$data$value, p$data$sample, sum))[colnames(h)], colSums(h))
  # the same through the refit, absolute and relative (shares of contributions)
  q <- autoplot(boot65, type = "stacked", signatures = c("SBS40", "SBS1"))
  expect_identical(drawn(q), c("SBS40", "SBS1", "other"))
  pooled <- setdiff(rownames(h), c("SBS40", "SBS1"))
  expect_equal(value_of(q, "other")[colnames(h)], colSums(h[pooled, ]))
  r <- autoplot(boot65, type = "stacked", signatures = c("SBS40", "SBS1"), relative = TRUE)
  contrib <- boot65$contributions
  expect_equal(value_of(r, "other")[colnames(h)], colSums(contrib[pooled, ]) / colSums(contrib))
  expect_equal(value_of(r, "SBS40")[colnames(h)], contrib["SBS40", ] / colSums(contrib))
  expect_equal(c(tapply(r$data$value, r$data$sample, sum)), rep(1, 8), ignore_attr = TRUE)
  # in the intervals plot "other" is the pooled sum replicate by replicate
  i <- autoplot(boot65, type = "intervals", signatures = c("SBS40", "SBS1"))
  expect_equal(value_of(i, "other")[colnames(h)], colSums(h[pooled, ]))
  probs <- c(0.025, 0.975)
  for (j in colnames(h)) {
    q_other <- stats::quantile(colSums(boot65$replicates[pooled, j, ]), probs, names = FALSE)
    expect_equal(c(value_of(i, "other", "lower")[j], value_of(i, "other", "upper")[j]), q_other,
                 ignore_attr = TRUE)
  }
  # a signature called "other" is never merged with the pooled ones
  h2 <- h
  rownames(h2)[65] <- "other"
  p2 <- plot_exposures(h2, top = 3)
  expect_identical(utils::tail(drawn(p2), 1), "other.1")
  expect_equal(value_of(p2, "other.1")[colnames(h)], colSums(h2[setdiff(rownames(h2), top3), ]))
  # nothing is pooled (no "other") when what is left out is zero everywhere
  zero <- h
  zero[-c(1, 3, 5), ] <- 0
  expect_identical(drawn(plot_exposures(zero, top = 3)), c("SBS1", "SBS3", "SBS5"))
})

test_that("relative intervals are the quantiles of each replicate's own shares", {
  p <- autoplot(boot65, type = "intervals", relative = TRUE, top = 4)
  reps <- boot65$replicates
  probs <- c(0.025, 0.975)
  shown <- setdiff(drawn(p), "other")
  expect_length(shown, 4)
  naive_differs <- FALSE
  for (s in shown) {
    for (j in colnames(x65)) {
      props <- reps[s, j, ] / colSums(reps[, j, ])
      q <- stats::quantile(props, probs, names = FALSE, type = 7)
      expect_equal(c(value_of(p, s, "lower")[j], value_of(p, s, "upper")[j]), q, ignore_attr = TRUE)
      point <- boot65$contributions[s, j] / sum(boot65$contributions[, j])
      expect_equal(value_of(p, s)[j], point, ignore_attr = TRUE)
      # not the absolute interval over the point total
      naive <- c(boot65$lower[s, j], boot65$upper[s, j]) / sum(boot65$exposures[, j])
      if (!isTRUE(all.equal(naive, q))) naive_differs <- TRUE
    }
  }
  expect_true(naive_differs)
  # "other": the pooled shares of each replicate
  pooled <- setdiff(colnames(w65), shown)
  for (j in colnames(x65)) {
    props <- colSums(reps[pooled, j, ]) / colSums(reps[, j, ])
    expect_equal(c(value_of(p, "other", "lower")[j], value_of(p, "other", "upper")[j]),
                 stats::quantile(props, probs, names = FALSE), ignore_attr = TRUE)
  }
  # absolute intervals are the refit's own
  a <- autoplot(boot65, type = "intervals", top = 4)
  for (s in shown) {
    expect_equal(value_of(a, s, "lower")[colnames(x65)], boot65$lower[s, ])
    expect_equal(value_of(a, s, "upper")[colnames(x65)], boot65$upper[s, ])
  }
  expect_match(p$labels$y, "share")
})

test_that("relative intervals weigh replicates by the opportunity (shares of mutations)", {
  sim <- simulate_nmf(w = sbs_signatures, n = 3, depth = 400, seed = 5)
  opp <- with_seed_local65(6, stats::runif(96, 0.5, 2))
  names(opp) <- rownames(sim$x)
  refit <- fit_signatures(sim$x, sbs_signatures, opportunity = opp, bootstrap = 15, seed = 2, threads = 1)
  p <- autoplot(refit, type = "intervals", relative = TRUE)
  w <- sweep(sbs_signatures, 2, colSums(sbs_signatures), "/")
  scale <- colSums(w * opp)  # mutations per unit exposure of each signature
  for (s in colnames(w)) {
    for (j in colnames(sim$x)) {
      mutations <- refit$replicates[, j, ] * scale
      q <- stats::quantile(mutations[s, ] / colSums(mutations), c(0.025, 0.975), names = FALSE)
      expect_equal(c(value_of(p, s, "lower")[j], value_of(p, s, "upper")[j]), q, ignore_attr = TRUE)
    }
  }
})

test_that("'signatures' and 'top' choose the signatures drawn, and are checked", {
  p <- autoplot(boot65, signatures = c("SBS5", "SBS1"))
  expect_identical(drawn(p), c("SBS5", "SBS1", "other"))
  expect_identical(drawn(autoplot(boot65, signatures = c(5, 1))), c("SBS5", "SBS1", "other"))
  # a signature asked for is drawn even where it is zero
  absent <- colnames(w65)[rowSums(plain65$contributions) == 0][1]
  expect_identical(drawn(autoplot(plain65, signatures = c("SBS1", absent)))[1:2], c("SBS1", absent))
  expect_identical(drawn(autoplot(boot65, top = 2, relative = TRUE)),
                   c(colnames(w65)[colnames(w65) %in% names(sort(rowSums(boot65$contributions),
                                                                 decreasing = TRUE))[1:2]], "other"))
  expect_identical(drawn(plot_exposures(coef(boot65), signatures = "SBS3")), c("SBS3", "other"))

  expect_error(autoplot(boot65, signatures = "nonexistent"), class = "betanmf_error_input")
  expect_error(autoplot(boot65, signatures = c("SBS1", "nonexistent")), "nonexistent")
  e <- tryCatch(plot_exposures(coef(boot65), signatures = c("SBS99", "zz")), error = function(e) e)
  expect_s3_class(e, "betanmf_error_input")
  expect_identical(e$unknown, c("SBS99", "zz"))
  expect_match(conditionMessage(e), "SBS99, zz")
  expect_error(autoplot(boot65, type = "stacked", signatures = "nonexistent"), "nonexistent",
               class = "betanmf_error_input")
  expect_error(autoplot(boot65, signatures = 66), "between 1 and 65", class = "betanmf_error_input")
  expect_error(autoplot(boot65, signatures = c(1, 1)), "more than once", class = "betanmf_error_input")
  expect_error(autoplot(boot65, signatures = 1, top = 2), "not both", class = "betanmf_error_input")
  expect_error(autoplot(boot65, top = 0), "'top'", class = "betanmf_error_input")
  expect_error(plot_exposures(coef(boot65), top = "a"), "'top'", class = "betanmf_error_input")
  expect_error(autoplot(boot65, relative = NA), "'relative'", class = "betanmf_error_input")
  expect_error(autoplot(plain65, type = "intervals"), "bootstrap", class = "betanmf_error_input")
})

test_that("the reconstruction plot shows the refit's cosine, for any channel set", {
  j <- "T3"
  p <- autoplot(boot65, type = "reconstruction", sample = j)
  expect_no_error(ggplot2::ggplot_build(p))
  reconstruction <- drop(w65 %*% coef(boot65)[, j])
  title_cosine <- as.numeric(sub(".*cosine ([0-9.]+).*", "\\1", p$labels$title))
  expect_equal(title_cosine, round(plain_cosine(x65[, j], reconstruction), 3))
  expect_identical(levels(p$data$channel), sbs96_channels())
  # relative: both in shares of the sample's observed mutations
  r <- autoplot(boot65, type = "reconstruction", sample = j, relative = TRUE)
  expect_equal(r$data$observed, unname(x65[, j] / sum(x65[, j])))
  expect_equal(r$data$fitted, unname(reconstruction / sum(x65[, j])), tolerance = 1e-6)
  expect_identical(r$labels$title, p$labels$title)

  # DBS-78 (COSMIC's labels, rows shuffled): drawn in COSMIC's order in its
  # ten classes' colours; an 83-row set of no known channels: in the
  # catalog's order with one neutral fill
  dbs <- c(paste0("AC>", c("CA", "CG", "CT", "GA", "GG", "GT", "TA", "TG", "TT")),
           paste0("AT>", c("CA", "CC", "CG", "GA", "GC", "TA")),
           paste0("CC>", c("AA", "AG", "AT", "GA", "GG", "GT", "TA", "TG", "TT")),
           paste0("CG>", c("AT", "GC", "GT", "TA", "TC", "TT")),
           paste0("CT>", c("AA", "AC", "AG", "GA", "GC", "GG", "TA", "TC", "TG")),
           paste0("GC>", c("AA", "AG", "AT", "CA", "CG", "TA")),
           paste0("TA>", c("AT", "CG", "CT", "GC", "GG", "GT")),
           paste0("TC>", c("AA", "AG", "AT", "CA", "CG", "CT", "GA", "GG", "GT")),
           paste0("TG>", c("AA", "AC", "AT", "CA", "CC", "CT", "GA", "GC", "GT")),
           paste0("TT>", c("AA", "AC", "AG", "CA", "CC", "CG", "GA", "GC", "GG")))
  expect_length(unique(dbs), 78)
  shuffled <- with_seed_local65(6, sample(dbs))
  for (labels in list(shuffled, sprintf("ID%02d", 1:83))) {
    m <- length(labels)
    w <- with_seed_local65(7, matrix(stats::rgamma(m * 62, 0.3), m, 62,
                                     dimnames = list(labels, paste0("S", 1:62))))
    w <- sweep(w, 2, colSums(w), "/")
    h <- with_seed_local65(8, matrix(stats::rgamma(62 * 3, 0.2) * 20, 62, 3))
    x <- with_seed_local65(9, matrix(stats::rpois(m * 3, w %*% h), m, 3,
                                     dimnames = list(labels, c("a", "b", "c"))))
    refit <- fit_signatures(x, w, bootstrap = 5, seed = 1, threads = 1)
    for (type in c("exposures", "stacked")) {
      for (relative in c(FALSE, TRUE)) {
        expect_no_error(ggplot2::ggplot_build(autoplot(refit, type = type, relative = relative)))
      }
    }
    q <- autoplot(refit, type = "reconstruction", sample = 2, relative = TRUE)
    built <- ggplot2::ggplot_build(q)
    if (identical(labels, shuffled)) {
      expect_identical(levels(q$data$channel), dbs)
      # each bar in the colour of its reference dinucleotide ("AC>NN", ...)
      bars <- built$data[[1]]
      layout <- built$layout$layout
      cls <- as.character(layout$class[match(bars$PANEL, layout$PANEL)])
      ref <- substr(cls, 1, 2)
      expect_equal(as.vector(table(factor(ref, levels = unique(substr(dbs, 1, 2))))),
                   c(9, 6, 9, 6, 9, 6, 6, 9, 9, 9))
      # SigProfilerPlotting's DBS colours, written out here
      palette <- c(AC = "#03BDEF", AT = "#0366CC", CC = "#A2CF63", CG = "#016601", CT = "#FF9999",
                   GC = "#E42926", TA = "#FFB266", TC = "#FF8001", TG = "#CC99FF", TT = "#4C0199")
      expect_identical(toupper(bars$fill), unname(palette[ref]))
    } else {
      expect_identical(unique(built$data[[1]]$fill), "grey55")
      expect_identical(levels(q$data$channel), labels)
    }
    expect_equal(q$data$observed, unname(x[, 2] / sum(x[, 2])))
    title_cosine <- as.numeric(sub(".*cosine ([0-9.]+).*", "\\1", q$labels$title))
    expect_equal(title_cosine, round(plain_cosine(x[, 2], w %*% coef(refit)[, 2]), 3))
  }
})
