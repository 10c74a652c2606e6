# Plots of convolutive fits (issue 27): they build, with the layer data the
# fit implies, and the neurons in the order their sequences fire. Nothing is
# drawn to a screen.

# a fit made of the planted truth (each member at its own lag), neuron rows
# shuffled
planted_conv_fit <- function(seed = 1) {
  sim <- simulate_sequences(m = 30, n = 400, n_seq = 2, seq_neurons = 10, lags = 10, jitter = 0, seed = seed)
  set.seed(seed)
  perm <- sample.int(30)
  fit <- structure(list(w = sim$w[perm, , , drop = FALSE], h = sim$h, beta = 1, rank = 2L, lags = 10L),
                   class = "nmf_conv")
  list(fit = fit, sim = sim, x = sim$x[perm, ])
}

# sum_l W_l shift(H, l) by explicit sums
conv_model_twin <- function(w, h) {
  out <- matrix(0, dim(w)[1], ncol(h))
  for (t in seq_len(ncol(h))) {
    for (l in seq_len(dim(w)[3]) - 1L) {
      if (t - l >= 1) out[, t] <- out[, t] + w[, , l + 1L] %*% h[, t - l]
    }
  }
  out
}

test_that("the motif heat map puts each sequence's neurons in firing order", {
  p <- planted_conv_fit()
  g <- autoplot(p$fit, type = "motifs")
  expect_s3_class(g, "ggplot")
  built <- ggplot2::ggplot_build(g)
  expect_identical(nrow(built$data[[1]]), 30L * 2L * 10L)
  expect_identical(nrow(built$layout$layout), 2L)
  # top to bottom: seq1's members 1-10, seq2's 11-20, then the silent neurons
  top_down <- rev(levels(g$data$neuron))
  expect_identical(top_down[1:20], sprintf("n%03d", 1:20))
  expect_setequal(top_down[21:30], sprintf("n%03d", 21:30))
  # the weights are the motif's, cell by cell
  cell <- g$data[g$data$neuron == "n012" & g$data$component == "seq2", ]
  expect_equal(cell$weight[order(cell$lag)], unname(p$fit$w["n012", "seq2", ]))
  # coloured relative to each motif's largest weight
  expect_equal(cell$relative[order(cell$lag)], unname(p$fit$w["n012", "seq2", ]) / max(p$fit$w[, "seq2", ]))
  expect_equal(as.vector(tapply(g$data$relative, g$data$component, max)), c(1, 1))
  expect_identical(sort(unique(g$data$lag)), 0:9)
})

test_that("the neuron order is by dominant component, then peak lag", {
  w <- array(0, c(5, 2, 3), list(c("a", "b", "c", "d", "e"), c("k1", "k2"), NULL))
  w["a", "k2", 3] <- 1   # k2, lag 2
  w["b", "k1", 2] <- 1   # k1, lag 1
  w["c", "k1", 1] <- 0.5 # k1, lag 0, weaker
  w["d", "k1", 1] <- 0.9 # k1, lag 0
  w["d", "k2", 1] <- 0.1
  # "e" has no weight: last
  expect_identical(betanmf:::motif_neuron_order(w), c(4L, 3L, 2L, 1L, 5L))
})

test_that("activations plot the rows of h over the bins asked for", {
  p <- planted_conv_fit()
  g <- autoplot(p$fit, type = "activations")
  expect_s3_class(g, "ggplot")
  expect_identical(nrow(ggplot2::layer_data(g)), 2L * 400L)
  expect_equal(g$data$activation, as.vector(p$fit$h))
  part <- autoplot(p$fit, type = "activations", bins = 101:200)
  expect_identical(range(part$data$time), c(101, 200))
  expect_equal(part$data$activation, as.vector(p$fit$h[, 101:200]))
  expect_equal(autoplot(p$fit, type = "activations", bins = paste0("t", 101:200))$data, part$data)
  expect_error(autoplot(p$fit, type = "activations", bins = 0:3), "'bins' must be time bin numbers")
  expect_error(autoplot(p$fit, type = "activations", bins = "t9999"), "t9999")
})

test_that("the data plot shows data and reconstruction in the motif order", {
  p <- planted_conv_fit()
  g <- autoplot(p$fit, type = "data", data = p$x)
  expect_s3_class(g, "ggplot")
  built <- ggplot2::ggplot_build(g)
  expect_identical(nrow(built$data[[1]]), 2L * 30L * 400L)
  expect_identical(levels(g$data$panel), c("data", "reconstruction"))
  twin <- conv_model_twin(p$fit$w, p$fit$h)
  rownames(twin) <- dimnames(p$fit$w)[[1]]
  for (neuron in c("n001", "n015", "n030")) {
    shown <- g$data[g$data$neuron == neuron, ]
    expect_equal(shown$value[shown$panel == "data"], unname(p$x[neuron, ]))
    expect_equal(shown$value[shown$panel == "reconstruction"], unname(twin[neuron, ]), tolerance = 1e-12)
  }
  expect_identical(rev(levels(g$data$neuron))[1:20], sprintf("n%03d", 1:20))
  # rows matched by name: the simulation's own order gives the same plot
  expect_equal(autoplot(p$fit, type = "data", data = p$sim$x)$data, g$data)
  # a window of bins, cut after the reconstruction
  part <- autoplot(p$fit, type = "data", data = p$x, bins = 201:260)
  expect_identical(nrow(part$data), 2L * 30L * 60L)
  shown <- part$data[part$data$neuron == "n005" & part$data$panel == "reconstruction", ]
  expect_equal(shown$value, unname(twin["n005", 201:260]), tolerance = 1e-12)
  expect_identical(range(shown$time), c(201L, 260L))
  # a fit that keeps its data needs none
  kept <- p$fit
  kept$x <- p$x
  expect_equal(autoplot(kept, type = "data")$data, g$data)
})

test_that("the data plot refuses data it cannot line up with the fit", {
  p <- planted_conv_fit()
  expect_error(autoplot(p$fit, type = "data"), "needs the data the fit was made on")
  expect_error(autoplot(p$fit, type = "data", data = p$x[, 1:300]), "predict\\(\\)",
               class = "betanmf_error_alignment")
  renamed <- p$x
  colnames(renamed) <- paste0("b", 1:400)
  expect_error(autoplot(p$fit, type = "data", data = renamed), "time bins", class = "betanmf_error_alignment")
  other <- p$x
  rownames(other)[1] <- "zz"
  expect_error(autoplot(p$fit, type = "data", data = other), "zz", class = "betanmf_error_alignment")
  expect_error(autoplot(p$fit, type = "data", data = unname(p$x)), class = "betanmf_error_alignment")
  expect_error(autoplot(p$fit, type = "heat"), "'type' must be one of")
})

test_that("plot() returns the plot it draws", {
  p <- planted_conv_fit()
  pdf(NULL)
  on.exit(dev.off())
  g <- plot(p$fit, type = "motifs")
  expect_s3_class(g, "ggplot")
  expect_equal(g$data, autoplot(p$fit, type = "motifs")$data)
})
