# Shared by bench.R and targets.R: packages and settings, the benchmark data
# sets, the loss every method is scored by (computed here from the returned
# factors), and timing.

suppressPackageStartupMessages({
  library(Matrix)
  library(betanmf)
})
for (p in c("RcppML", "NMF")) {
  if (!requireNamespace(p, quietly = TRUE)) stop("bench needs package ", p, " (bash bench/run.sh installs it)")
}
quick <- nzchar(Sys.getenv("BENCH_QUICK"))
repeats <- as.integer(Sys.getenv("BENCH_REPEATS", if (quick) 1L else 5L))
RcppML::setRcppMLthreads(1L)

# a 5000 x 38-like expression matrix: low rank times log-normal noise
make_expr <- function(m, n, rank, seed) {
  set.seed(seed)
  w <- matrix(rgamma(m * rank, shape = 1), m, rank)
  h <- matrix(rgamma(rank * n, shape = 2), rank, n)
  (w %*% h) * matrix(exp(rnorm(m * n, sd = 0.5)), m, n)
}
# a mutational catalog: Poisson counts from sparse signatures, columns
# summing to one, and gamma exposures
make_catalog <- function(m, n, rank, seed) {
  set.seed(seed)
  w <- matrix(rgamma(m * rank, shape = 0.3), m, rank)
  w <- sweep(w, 2, colSums(w), "/")
  h <- matrix(rgamma(rank * n, shape = 0.5, scale = 400), rank, n)
  x <- matrix(as.double(rpois(m * n, w %*% h)), m, n)
  x[, colSums(x) == 0] <- 1
  x
}

make_dense <- function(m, n, rank, seed) {
  set.seed(seed)
  w <- matrix(rexp(m * rank), m, rank)
  h <- matrix(rexp(rank * n), rank, n)
  x <- w %*% h
  noise <- matrix(rnorm(m * n, sd = 0.1 * sd(x)), m, n)
  pmax(x + noise, 0)
}

# Poisson counts X ~ Pois(W H), scaled so that about `density` of the entries
# are non-zero; drawn a block of columns at a time to keep memory small.
make_sparse <- function(m, n, rank, density, seed) {
  set.seed(seed)
  w <- matrix(rgamma(m * rank, shape = 0.5), m, rank)
  h <- matrix(rgamma(rank * n, shape = 0.5), rank, n)
  probe <- w[sample.int(m, min(m, 2000)), , drop = FALSE] %*% h[, sample.int(n, min(n, 200)), drop = FALSE]
  scale <- uniroot(function(s) mean(1 - exp(-s * probe)) - density, c(1e-6, 1e4))$root
  h <- h * scale
  is <- js <- xs <- vector("list", 0)
  for (cols in split(seq_len(n), ceiling(seq_len(n) / 250))) {
    counts <- rpois(m * length(cols), w %*% h[, cols, drop = FALSE])
    nz <- which(counts > 0)
    is[[length(is) + 1]] <- (nz - 1L) %% m + 1L
    js[[length(js) + 1]] <- cols[(nz - 1L) %/% m + 1L]
    xs[[length(xs) + 1]] <- as.double(counts[nz])
  }
  sparseMatrix(i = unlist(is), j = unlist(js), x = unlist(xs), dims = c(m, n))
}

# beta-divergence D_beta(X | W H) summed over all entries, beta in {1, 2},
# 0 log 0 = 0; for sparse X without forming the m x n product.
loss <- function(x, w, h, beta) {
  if (inherits(x, "sparseMatrix")) {
    x <- as(x, "CsparseMatrix")
    if (beta == 2) {
      # ||X||^2 - 2 <X, WH> + ||WH||^2, all from small products
      return(0.5 * (sum(x@x^2) - 2 * sum((crossprod(w, x)) * h) +
                      sum(crossprod(w) * tcrossprod(h))))
    }
    i <- x@i + 1L
    j <- rep.int(seq_len(ncol(x)), diff(x@p))
    y <- rowSums(w[i, , drop = FALSE] * t(h)[j, , drop = FALSE])
    return(sum(x@x * log(x@x / y)) - sum(x@x) + sum(colSums(w) * rowSums(h)))
  }
  y <- w %*% h
  if (beta == 2) return(0.5 * sum((x - y)^2))
  pos <- x > 0
  sum(x[pos] * log(x[pos] / y[pos])) - sum(x) + sum(y)
}

timed <- function(expr) {
  gc(FALSE)
  t0 <- proc.time()
  value <- expr
  t1 <- proc.time() - t0
  list(value = value, elapsed = t1[["elapsed"]], cpu = t1[["user.self"]] + t1[["sys.self"]])
}
