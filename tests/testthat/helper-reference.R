# Plain-R twins of the C updates (MATH.md), used as independent references.

ref_gamma <- function(beta) if (beta < 1) 1 / (2 - beta) else if (beta > 2) 1 / (beta - 1) else 1

# one multiplicative iteration (W first, then H), Fevotte & Idier (2011)
ref_mu <- function(x, w, h, beta, keep = NULL) {
  g <- ref_gamma(beta)
  m <- if (is.null(keep)) 1 else keep * 1
  y <- w %*% h
  w <- w * (((m * x * y^(beta - 2)) %*% t(h)) / ((m * y^(beta - 1)) %*% t(h)))^g
  y <- w %*% h
  h <- h * ((t(w) %*% (m * x * y^(beta - 2))) / (t(w) %*% (m * y^(beta - 1))))^g
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
