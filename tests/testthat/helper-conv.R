# Plain-R twins of convolutive NMF (R/conv.R, src/conv.c), written with
# explicit shifted copies, independent of the C code: the model, the
# beta-divergence, seqNMF's x-ortho penalty and one multiplicative iteration
# (the W half, every lag from one model, then the H half).  Dense matrices in
# the user's units; `held` a logical matrix, TRUE = left out.

# S_l(H): the columns of h shifted right by l (zeros enter)
ref_conv_shift <- function(h, l) {
  n <- ncol(h)
  if (l == 0) return(h)
  out <- matrix(0, nrow(h), n)
  if (l < n) out[, (l + 1):n] <- h[, 1:(n - l)]
  out
}

# S_{-l}(A): the columns shifted left by l
ref_conv_unshift <- function(a, l) {
  n <- ncol(a)
  if (l == 0) return(a)
  out <- matrix(0, nrow(a), n)
  if (l < n) out[, 1:(n - l)] <- a[, (l + 1):n]
  out
}

ref_conv_wl <- function(w, l) matrix(w[, , l + 1], dim(w)[1], dim(w)[2])

ref_conv_model <- function(w, h) {
  y <- 0
  for (l in 0:(dim(w)[3] - 1)) y <- y + ref_conv_wl(w, l) %*% ref_conv_shift(h, l)
  y
}

ref_conv_dbeta <- function(x, y, beta) {
  if (beta == 2) return(0.5 * (x - y)^2)
  if (beta == 1) return(ifelse(x > 0, x * log(x / y), 0) - x + y)
  if (beta == 0) return(x / y - log(x / y) - 1)
  ifelse(x == 0 & beta > 0, y^beta / beta,
         (x^beta + (beta - 1) * y^beta - beta * x * y^(beta - 1)) / (beta * (beta - 1)))
}

ref_conv_loss <- function(x, w, h, beta, held = NULL) {
  d <- ref_conv_dbeta(x, ref_conv_model(w, h), beta)
  if (!is.null(held)) d[held] <- 0
  sum(d)
}

# W' (*) X: sum over lags of t(W_l) times X shifted left by l
ref_conv_transpose <- function(w, x) {
  out <- 0
  for (l in 0:(dim(w)[3] - 1)) out <- out + t(ref_conv_wl(w, l)) %*% ref_conv_unshift(x, l)
  out
}

# sum over |u| < L of a[, t + u], by explicit shifts
ref_conv_band <- function(a, L) {
  out <- a
  for (u in seq_len(L - 1)) out <- out + ref_conv_shift(a, u) + ref_conv_unshift(a, u)
  out
}

# seqNMF's R = sum_{i != j} [(W' (*) X) S H']_ij
ref_conv_penalty <- function(x, w, h) {
  m <- ref_conv_band(ref_conv_transpose(w, x), dim(w)[3]) %*% t(h)
  sum(m) - sum(diag(m))
}

# One iteration in the user's units: lam the absolute weight of R, l1w, l1h
# the L1 weights; the gradients of R (linear in each factor) in the
# denominators.  x: held-out entries are zero in the penalty's X.
ref_conv_iterate <- function(x, w, h, beta, lam = 0, l1w = 0, l1h = 0, held = NULL, update_w = TRUE) {
  gam <- if (beta < 1) 1 / (2 - beta) else if (beta > 2) 1 / (beta - 1) else 1
  K <- dim(w)[2]
  L <- dim(w)[3]
  obs <- if (is.null(held)) matrix(1, nrow(x), ncol(x)) else 1 * !held
  x0 <- x * obs
  off <- 1 - diag(K)
  if (update_w) {
    y <- ref_conv_model(w, h)
    qx <- ifelse(obs == 0, 0, x * y^(beta - 2))
    qd <- ifelse(obs == 0, 0, y^(beta - 1))
    hbar <- off %*% ref_conv_band(h, L)
    w_new <- w
    for (l in 0:(L - 1)) {
      num <- qx %*% t(ref_conv_shift(h, l))
      den <- qd %*% t(ref_conv_shift(h, l)) + l1w + lam * x0 %*% t(ref_conv_shift(hbar, l))
      # a neuron with no observed entry: 0 / 0, its row goes to zero
      w_new[, , l + 1] <- ref_conv_wl(w, l) * ifelse(num == 0, 0, num / den)^gam
    }
    w <- w_new
  }
  y <- ref_conv_model(w, h)
  qx <- ifelse(obs == 0, 0, x * y^(beta - 2))
  qd <- ifelse(obs == 0, 0, y^(beta - 1))
  num <- ref_conv_transpose(w, qx)
  den <- ref_conv_transpose(w, qd) + l1h + lam * off %*% ref_conv_band(ref_conv_transpose(w, x0), L)
  h <- h * ifelse(num == 0, 0, num / den)^gam
  list(w = w, h = h)
}

# A fit's factors in the normalised form nmf_conv() returns: each motif
# summing to one, components by decreasing total activation
ref_conv_normalise <- function(w, h) {
  cs <- apply(w, 2, sum)
  for (k in seq_along(cs)) {
    w[, k, ] <- w[, k, ] / cs[k]
    h[k, ] <- h[k, ] * cs[k]
  }
  ord <- order(rowSums(h), decreasing = TRUE)
  list(w = w[, ord, , drop = FALSE], h = h[ord, , drop = FALSE])
}

# Planted sequences: `rank` motifs of `per` neurons each firing in order over
# `lags` bins, activations sparse, Poisson counts around the model
ref_conv_planted <- function(m = 30, n = 300, rank = 2, lags = 6, per = 10, rate = 0.03, amp = 4,
                             background = 0.05, seed = 1) {
  set.seed(seed)
  w <- array(0, c(m, rank, lags))
  for (k in seq_len(rank)) {
    rows <- (k - 1) * per + seq_len(per)
    for (j in seq_along(rows)) w[rows[j], k, 1 + (j - 1) %% lags] <- 1
  }
  h <- matrix(rbinom(rank * n, 1, rate) * amp, rank, n)
  y <- ref_conv_model(w, h) + background
  list(x = matrix(rpois(m * n, y), m, n), w = w, h = h, y = y)
}
