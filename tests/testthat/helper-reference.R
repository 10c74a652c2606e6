# Plain-R twins of the C updates (MATH.md), used as independent references.

ref_gamma <- function(beta) if (beta < 1) 1 / (2 - beta) else if (beta > 2) 1 / (beta - 1) else 1

# one multiplicative iteration (W first, then H), Fevotte & Idier (2011)
# (penalties l1, l2: c(W, H), added to the denominators as l1 + l2 * factor)
ref_mu <- function(x, w, h, beta, keep = NULL, l1 = c(0, 0), l2 = c(0, 0)) {
  g <- ref_gamma(beta)
  m <- if (is.null(keep)) 1 else keep * 1
  y <- w %*% h
  w <- w * (((m * x * y^(beta - 2)) %*% t(h)) / ((m * y^(beta - 1)) %*% t(h) + l1[1] + l2[1] * w))^g
  y <- w %*% h
  h <- h * ((t(w) %*% (m * x * y^(beta - 2))) / (t(w) %*% (m * y^(beta - 1)) + l1[2] + l2[2] * h))^g
  list(w = w, h = h)
}

# one HALS iteration with a single inner sweep (Cichocki & Phan 2009)
ref_hals <- function(x, w, h) {
  r <- ncol(w)
  a <- x %*% t(h)
  b <- h %*% t(h)
  # a component whose other factor is all zero has no gradient: left as is
  for (k in seq_len(r)) if (b[k, k] > 0) w[, k] <- pmax(0, w[, k] + (a[, k] - w %*% b[, k]) / b[k, k])
  cc <- t(w) %*% x
  d <- t(w) %*% w
  for (k in seq_len(r)) if (d[k, k] > 0) h[k, ] <- pmax(0, h[k, ] + (cc[k, ] - d[k, ] %*% h) / d[k, k])
  list(w = w, h = h)
}

# one HALS iteration with up to `inner` sweeps per row of W and column of H,
# each stopped by the rule of Gillis & Glineur (2012): once a sweep changes
# the vector by at most inner_tol times the first sweep's change (squared
# norms), or not at all; also returns the sweeps run, summed
ref_hals_inner <- function(x, w, h, inner, inner_tol) {
  sweeps <- 0
  solve_vec <- function(f, a, s) {
    first <- 0
    for (it in seq_len(inner)) {
      sweeps <<- sweeps + 1
      change <- 0
      for (k in seq_along(f)) {
        if (!(s[k, k] > 0)) next
        nv <- max(0, f[k] + (a[k] - sum(s[k, ] * f)) / s[k, k])
        change <- change + (nv - f[k])^2
        f[k] <- nv
      }
      if (it == 1) first <- change else if (change <= inner_tol * first) break
      if (change == 0) break
    }
    f
  }
  a <- x %*% t(h)
  b <- h %*% t(h)
  for (i in seq_len(nrow(w))) w[i, ] <- solve_vec(w[i, ], a[i, ], b)
  cc <- t(w) %*% x
  d <- t(w) %*% w
  for (j in seq_len(ncol(h))) h[, j] <- solve_vec(h[, j], cc[, j], d)
  list(w = w, h = h, sweeps = sweeps)
}

ref_div <- function(x, y, beta) {
  if (beta == 2) return(sum((x - y)^2) / 2)
  if (beta == 1) return(sum(ifelse(x > 0, x * log(x / y), 0) - x + y))
  if (beta == 0) return(sum(x / y - log(x / y) - 1))
  sum((x^beta + (beta - 1) * y^beta - beta * x * y^(beta - 1)) / (beta * (beta - 1)))
}

planted <- function(m = 30, n = 40, r = 3, seed = 1, scale = 5) {
  set.seed(seed)
  w <- matrix(stats::rexp(m * r), m, r)
  h <- matrix(stats::rexp(r * n), r, n)
  list(x = matrix(stats::rpois(m * n, w %*% h * scale), m, n), w = w, h = h * scale)
}

one_step <- function(x, w, h, beta, solver, ...) {
  suppressWarnings(nmf(x, ncol(w), beta = beta, solver = solver, init = list(w = w, h = h),
                       maxit = 1, tol = 0, control = list(inner = 1, check = 1), ...))
}

# one coordinate-descent sweep for beta = 1 over the columns of f (r x n)
# given g (r x m) and data x (m x n), Hsieh & Dhillon (2011): projected Newton
# steps, a step towards zero accepted when the curvature bound
# (M + l2) |d| <= 2 phi'(0) or the exact change says it lowers the loss
# (a step that empties the model at a positive entry never does), halved
# otherwise; observed = FALSE entries are left out
ref_cd_half <- function(x, f, g, observed = NULL, l1 = 0, l2 = 0) {
  eps <- 1e-50
  if (is.null(observed)) observed <- matrix(TRUE, nrow(x), ncol(x))
  for (j in seq_len(ncol(x))) {
    obs <- observed[, j]
    pos <- obs & x[, j] > 0
    xx <- x[pos, j]
    gp <- g[, pos, drop = FALSE]
    s <- rowSums(g[, obs, drop = FALSE])
    ff <- f[, j]
    y <- drop(crossprod(gp, ff))
    for (k in seq_along(ff)) {
      gk <- gp[k, ]
      yy <- pmax(y, eps)
      grad <- s[k] + l1 + l2 * ff[k] - sum(gk * xx / yy)
      hess <- sum(gk^2 * xx / yy^2) + l2
      d <- if (hess > 0) max(-ff[k], -grad / hess) else if (grad > 0) -ff[k] else 0
      if (d == 0) next
      ok <- d > 0
      for (i in 1:30) {
        if (ok) break
        m_curv <- sum(gk^2 * xx / pmax(y + d * gk, eps)^2)
        if ((m_curv + l2) * -d <= 2 * grad) {
          ok <- TRUE
        } else {
          nzg <- gk != 0
          if (d == -ff[k]) {
            # to the bound: y becomes the other coordinates' share, summed
            # afresh; zero at a positive entry is an infinite loss
            rest <- drop(crossprod(gp[-k, nzg, drop = FALSE], ff[-k]))
            gain <- if (any(rest <= 0)) -Inf else -sum(xx[nzg] * log1p(ff[k] * gk[nzg] / rest))
          } else {
            u <- (gk * d / yy)[nzg]
            gain <- if (any(u <= -1)) -Inf else sum(xx[nzg] * log1p(u))
          }
          change <- d * (s[k] + l1 + l2 * (ff[k] + d / 2)) - gain
          if (change <= 0) ok <- TRUE else d <- d / 2
        }
      }
      if (!ok) next
      ff[k] <- max(0, ff[k] + d)
      y <- y + d * gk
    }
    f[, j] <- ff
  }
  f
}

# one coordinate-descent iteration: W (through t(X)) first, then H
ref_cd <- function(x, w, h, observed = NULL, l1 = c(0, 0), l2 = c(0, 0)) {
  wt <- ref_cd_half(t(x), t(w), h, if (is.null(observed)) NULL else t(observed), l1[1], l2[1])
  h <- ref_cd_half(x, h, wt, observed, l1[2], l2[2])
  list(w = t(wt), h = h)
}
