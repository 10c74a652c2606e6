# Initialisation of W and H (in the internal, scaled units of the data).
#
# "random": entries |N(0, 1)| * sqrt(mean(x) / rank), so W H has the data's
#   mean, as scikit-learn does.
# "nndsvd", "nndsvda", "nndsvdar": non-negative double SVD, Boutsidis &
#   Gallopoulos (2008), Pattern Recognition 41(4), 1350-1362.  The rank-r
#   truncated SVD is randomized (Halko, Martinsson & Tropp 2011, Algorithm
#   4.4 with one power iteration): it only multiplies by x, so sparse input
#   is never densified.  One power iteration rather than two: on the four
#   benchmark sets (bench/targets.R) the losses after 5, 10 and 20 iterations
#   differ by under 0.1 % either way, and the start costs two products with x
#   fewer (0.42 -> 0.37 s on the 20000 x 3000 sparse set).
# "nndsvds": NNDSVD with its zeros filled with sqrt(mean(x) / rank), the
#   scale of "random", where "nndsvda" fills them with mean(x) itself: a
#   filled entry of W times one of H is then mean(x) / rank, and the r
#   terms of a filled entry of W H add up to the data's mean, not rank
#   times it.  MU can only shrink a too-large entry by a factor per
#   iteration, and this is its default start.  bench/mu_start.R, beta = 1,
#   12 sets (count catalogs, expression-like, dense low-rank, sparse counts;
#   three seeds each), iterations MU took to come within 1 % of the best
#   loss, from "nndsvds" against from "nndsvda":
#   - 0.41-0.64 times as many on the five catalogs and the sparse counts
#     (96 x 1000 at rank 8: 157 against 247);
#   - 833 on a dense 500 x 500 rank-10 set, where from NNDSVDa it was not
#     within 1 % after 1500;
#   - on the five expression-like sets 0.49, 0.59, 1.00, 1.07 and 1.19
#     times as many.
#   HALS and CD gained nothing from it (as many sets slower as faster), so
#   they keep "nndsvda".

init_methods <- c("nndsvda", "nndsvds", "nndsvd", "nndsvdar", "random")

init_factors <- function(xs, rank, init, mean_x, xscale = 1) {
  dims <- if (inherits(xs, "betanmf_blocks")) xs$dims else dim(xs) # data in blocks: R/blocks.R
  m <- dims[1]
  n <- dims[2]
  if (init == "random") {
    a <- sqrt(mean_x / rank)
    w <- matrix(abs(stats::rnorm(m * rank)) * a, m, rank)
    h <- matrix(abs(stats::rnorm(rank * n)) * a, rank, n)
    return(list(w = w, h = h))
  }
  nndsvd(xs, rank, fill = sub("^nndsvd", "", init), mean_x = mean_x, xscale = xscale)
}

# x %*% q and crossprod(x, q) for a thin q, through the solvers' products
# (src/range.c): dense x through the register-tiled kernels (R's reference
# BLAS is slow on these shapes), a dgCMatrix never densified nor transposed.
# xs / xscale is the data in internal units (a sparse xs is kept in the
# user's units, see prepare_data); dividing the thin product by the power of
# two xscale is exact, so this equals the product with a scaled copy bit for
# bit.
thin_mult <- function(xs, q, xscale = 1) thin_product(xs, q, FALSE) / xscale
thin_crossprod <- function(xs, q, xscale = 1) thin_product(xs, q, TRUE) / xscale
thin_product <- function(xs, q, trans) {
  sparse <- inherits(xs, "dgCMatrix")
  sp <- if (sparse) list(p = xs@p, i = xs@i, x = xs@x) else NULL
  t(.Call(C_thin_product, if (sparse) NULL else xs, sp, dim(xs), q, trans, FALSE))
}

# Returns the rank leading singular values d, left vectors u (m x rank) and
# right vectors as the rows of vt (k x n: its first rank rows; a transposed
# n x rank copy would be one more matrix of the start's memory peak).
truncated_svd <- function(xs, rank, xscale = 1) {
  if (inherits(xs, "betanmf_blocks")) return(truncated_svd_blocks(xs, rank)) # R/blocks.R
  m <- nrow(xs)
  n <- ncol(xs)
  # randomized for every input, so dense and sparse copies of the same data
  # start from the same point; with k = min(m, n) it is an exact SVD
  k <- min(rank + 10L, m, n)
  collect_large(n, rank) # the garbage of what ran before (collect_large())
  # in C on buffers allocated once (src/range.c): the draws of Omega (those
  # of stats::rnorm(n * k)) made into the range finder's own buffer, and the
  # SVD of B by dgesdd in place (that of La.svd(b, nu = rank, nv = rank)):
  # the n x k intermediates would otherwise be the memory peak of a large
  # sparse fit
  sparse <- inherits(xs, "dgCMatrix")
  sp <- if (sparse) list(p = xs@p, i = xs@i, x = xs@x) else NULL
  s <- .Call(C_range_finder, if (sparse) NULL else xs, sp, dim(xs), as.integer(k), as.double(xscale), 1L,
             as.integer(rank))
  collect_large(n, rank) # the .Call's work (t(Z), the scatter's table, the kernels' scratch)
  list(d = s$d[seq_len(rank)], u = s$q %*% s$u[, seq_len(rank), drop = FALSE], vt = s$vt)
}

nndsvd <- function(xs, rank, fill = "", mean_x, xscale = 1) {
  s <- truncated_svd(xs, rank, xscale)
  m <- nrow(s$u)
  n <- ncol(s$vt)
  w <- matrix(0, m, rank)
  h <- matrix(0, rank, n)
  norm2 <- function(v) sqrt(sum(v * v))
  # the leading singular pair can be taken non-negative (Perron-Frobenius)
  w[, 1] <- sqrt(s$d[1]) * abs(s$u[, 1])
  h[1, ] <- sqrt(s$d[1]) * abs(s$vt[1, ])
  for (j in seq_len(rank)[-1]) {
    # each component leaves a few n-vectors of garbage (the row of V', its
    # masks, parts and scaled parts): collected here, or R's collector,
    # whose trigger grows with the heap, lets the rank's worth pile up
    collect_large(n, rank, full = FALSE)
    u <- s$u[, j]
    v <- s$vt[j, ]
    # the positive and negative parts by their entries only: the norms of
    # pmax(u, 0) and pmax(-u, 0) without those m-vectors (their zeros add
    # nothing to the sums), and the entries outside the chosen part stay
    # the zeros w and h start with
    pu <- u > 0; nu <- u < 0
    pv <- v > 0; nv <- v < 0
    nup <- norm2(u[pu]); nun <- norm2(u[nu])
    nvp <- norm2(v[pv]); nvn <- norm2(v[nv])
    np <- nup * nvp
    nn <- nun * nvn
    if (!(s$d[j] > 0)) next
    if (np >= nn) {
      if (np > 0) {
        sc <- sqrt(s$d[j] * np)
        w[pu, j] <- sc * u[pu] / nup
        h[j, pv] <- sc * v[pv] / nvp
      }
    } else if (nn > 0) {
      sc <- sqrt(s$d[j] * nn)
      w[nu, j] <- sc * -u[nu] / nun
      h[j, nv] <- sc * -v[nv] / nvn
    }
  }
  s <- u <- v <- NULL
  # tiny values from rounding are zeros, and the zeros take the fill
  zw <- w < 1e-12 * max(w)
  zh <- h < 1e-12 * max(h)
  fill_value <- switch(fill, a = mean_x, s = sqrt(mean_x / rank), 0)
  if (fill == "ar") {
    w[zw] <- stats::runif(sum(zw), 0, mean_x / 100)
    h[zh] <- stats::runif(sum(zh), 0, mean_x / 100)
  } else {
    w[zw] <- fill_value
    h[zh] <- fill_value
  }
  zh <- NULL
  collect_large(n, rank) # the start's temporaries, before the fit's buffers
  list(w = w, h = h)
}

# For a large matrix (n x rank above 2^20 doubles), a full collection of
# R's garbage.  The NNDSVD start allocates several n x k matrices (the
# draws, the range finder's B, the SVD's V, the masks) that are garbage once
# it returns, and R's collector, which runs when the heap reaches a trigger
# that grows with it, would leave them in memory while the fit allocates its
# own buffers on top, and the garbage of what ran before the start (an
# earlier fit's buffers) under the start's: one collection before and one
# after the start keep the fit's peak near the data, the factors and one
# set of buffers.  Full, since temporaries that lived through a collection
# of the young generation are older (full = FALSE: the garbage of one step
# of a loop, all of it young).  Smaller fits skip it (its cost is
# that of a collection of the whole heap).
collect_large <- function(n, rank, full = TRUE) {
  if (as.numeric(n) * rank > 2^20) gc(verbose = FALSE, full = full)
  invisible()
}
