# hungarian(), cosine_similarity() and match_components() against brute force,
# clue::solve_LSAP, the direct formula and planted permutations.

# all permutations of 1..n (rows of a matrix), plain R
all_permutations <- function(n) {
  if (n == 1L) return(matrix(1L, 1, 1))
  sub <- all_permutations(n - 1L)
  do.call(rbind, lapply(seq_len(n), function(first) {
    cbind(first, matrix(setdiff(seq_len(n), first)[sub], nrow(sub)))
  }))
}

permutation_cache <- lapply(1:7, all_permutations)

# best total over all injective maps of rows into columns (rows <= cols)
brute_force_total <- function(cost, maximize) {
  n <- nrow(cost)
  perms <- unique(permutation_cache[[ncol(cost)]][, seq_len(n), drop = FALSE])
  picked <- cost[cbind(rep(seq_len(n), each = nrow(perms)), as.vector(perms))]
  totals <- rowSums(matrix(picked, nrow(perms), n))
  if (maximize) max(totals) else min(totals)
}

# one expectation per solution: a valid injective assignment whose total is
# the sum of its costs
expect_valid_assignment <- function(res, cost) {
  a <- res$assignment
  assigned <- a[!is.na(a)]
  valid <- is.integer(a) && length(a) == nrow(cost) && length(assigned) == min(dim(cost)) &&
    !anyDuplicated(assigned) && all(assigned >= 1L & assigned <= ncol(cost)) &&
    isTRUE(all.equal(res$total, sum(cost[cbind(which(!is.na(a)), assigned)])))
  expect_true(valid)
}

test_that("hungarian() matches brute force on square matrices of size 1 to 7", {
  set.seed(1)
  for (n in 1:7) {
    for (rep in seq_len(if (n < 7) 3 else 1)) {
      costs <- list(matrix(rnorm(n * n), n, n),                    # continuous, negative too
                    matrix(sample(0:2, n * n, replace = TRUE), n, n), # tie-heavy integers
                    matrix(3, n, n))                                  # all tied
      for (cost in costs) {
        for (maximize in c(FALSE, TRUE)) {
          res <- hungarian(cost, maximize = maximize)
          expect_valid_assignment(res, cost)
          expect_equal(res$total, brute_force_total(cost, maximize), tolerance = 1e-12,
                       label = sprintf("n = %d, maximize = %s", n, maximize))
        }
      }
    }
  }
})

test_that("hungarian() matches brute force on rectangular matrices, both orientations", {
  set.seed(2)
  shapes <- list(c(1, 4), c(2, 5), c(3, 7), c(4, 6), c(5, 7), c(6, 7))
  for (s in shapes) {
    for (tie_heavy in c(FALSE, TRUE)) {
      cost <- if (tie_heavy) matrix(sample(0:3, prod(s), replace = TRUE), s[1], s[2])
              else matrix(runif(prod(s), -5, 5), s[1], s[2])
      for (maximize in c(FALSE, TRUE)) {
        res <- hungarian(cost, maximize)
        expect_valid_assignment(res, cost)
        expect_equal(res$total, brute_force_total(cost, maximize), tolerance = 1e-12)
        # more rows than columns: solved on the transpose, left-over rows NA
        tres <- hungarian(t(cost), maximize)
        expect_valid_assignment(tres, t(cost))
        expect_equal(sum(is.na(tres$assignment)), s[2] - s[1])
        expect_equal(tres$total, res$total, tolerance = 1e-12)
      }
    }
  }
})

test_that("hungarian() finds a planted permutation exactly", {
  set.seed(3)
  n <- 50
  perm <- sample(n)
  cost <- matrix(runif(n * n, 1, 2), n, n)
  cost[cbind(seq_len(n), perm)] <- 0
  expect_identical(hungarian(cost)$assignment, perm)
  expect_identical(hungarian(-cost, maximize = TRUE)$assignment, perm)
})

test_that("hungarian() agrees with clue::solve_LSAP up to 200 x 200", {
  skip_if_not_installed("clue")
  set.seed(4)
  for (n in c(10, 57, 120, 200)) {
    costs <- list(matrix(runif(n * n), n, n),
                  matrix(sample(0:3, n * n, replace = TRUE), n, n) * 1.0)
    for (cost in costs) {
      for (maximize in c(FALSE, TRUE)) {
        res <- hungarian(cost, maximize)
        ref <- clue::solve_LSAP(cost, maximum = maximize)
        expect_valid_assignment(res, cost)
        expect_equal(res$total, sum(cost[cbind(seq_len(n), as.integer(ref))]), tolerance = 1e-9,
                     label = sprintf("n = %d, maximize = %s", n, maximize))
      }
    }
  }
  # rectangular (clue accepts rows <= columns)
  cost <- matrix(runif(40 * 90), 40, 90)
  ref <- clue::solve_LSAP(cost)
  expect_equal(hungarian(cost)$total, sum(cost[cbind(1:40, as.integer(ref))]), tolerance = 1e-9)
})

test_that("hungarian() rejects bad input with messages naming the argument", {
  expect_error(hungarian(matrix(c(1, NA, 3, 4), 2)), "'cost'.*finite")
  expect_error(hungarian(matrix(c(1, NaN, 3, 4), 2)), "'cost'.*finite")
  expect_error(hungarian(matrix(c(1, Inf, 3, 4), 2)), "'cost'.*finite")
  expect_error(hungarian(matrix(c(1, -Inf, 3, 4), 2)), "'cost'.*finite")
  expect_error(hungarian(letters[1:4]), "'cost' must be a numeric matrix")
  expect_error(hungarian(1:4), "'cost' must be a numeric matrix")
  expect_error(hungarian(matrix(numeric(0), 0, 3)), "'cost' must have at least one row")
  expect_error(hungarian(diag(2), maximize = NA), "'maximize'")
  # integer costs are fine
  expect_equal(hungarian(matrix(1:4, 2))$total, 5)
})

test_that("cosine_similarity() equals the direct formula", {
  set.seed(5)
  a <- matrix(rexp(40), 10, 4, dimnames = list(NULL, paste0("a", 1:4)))
  b <- matrix(rnorm(30), 10, 3)
  direct <- outer(1:4, 1:3, Vectorize(function(i, j) {
    sum(a[, i] * b[, j]) / sqrt(sum(a[, i]^2) * sum(b[, j]^2))
  }))
  expect_equal(cosine_similarity(a, b), direct, ignore_attr = TRUE, tolerance = 1e-14)
  expect_equal(rownames(cosine_similarity(a, b)), colnames(a))
  self <- cosine_similarity(a)
  expect_equal(dim(self), c(4, 4))
  expect_equal(diag(self), rep(1, 4), ignore_attr = TRUE)
  expect_equal(cosine_similarity(a[, 1], a[, 2]), direct_cos <- sum(a[, 1] * a[, 2]) /
                 sqrt(sum(a[, 1]^2) * sum(a[, 2]^2)))
  expect_length(direct_cos, 1)
  expect_equal(cosine_similarity(c(1, 0), c(0, 1)), 0)
  expect_equal(cosine_similarity(c(1, 1), c(2, 2)), 1)
  expect_equal(dim(cosine_similarity(a, b[, 1])), c(4, 1))
})

test_that("cosine_similarity() gives 0 for zero columns and checks its input", {
  a <- cbind(c(1, 2, 3), 0)
  s <- cosine_similarity(a)
  expect_equal(s[2, ], c(0, 0))
  expect_equal(s[1, 1], 1)
  expect_error(cosine_similarity(a, matrix(1, 2, 2)), "'b' must have 3 rows")
  expect_error(cosine_similarity(c(1, NA)), "'a' must contain only finite")
  expect_error(cosine_similarity("x"), "'a' must be a numeric")
})

test_that("match_components() recovers a planted permutation of a scaled W", {
  set.seed(6)
  for (r in c(1, 2, 5, 9)) {
    w <- matrix(rgamma(30 * r, 0.5), 30, r)
    perm <- sample(r)
    shuffled <- sweep(w[, perm, drop = FALSE], 2, runif(r, 0.01, 100), "*")
    m <- match_components(w, shuffled)
    expect_s3_class(m, "nmf_match")
    # b's component matched to a's k is the one that holds w[, k]
    expect_equal(unname(m$permutation), order(perm))
    expect_equal(unname(m$cosine), rep(1, r), tolerance = 1e-12)
    expect_equal(shuffled[, m$permutation] %*% diag(1 / colSums(shuffled[, m$permutation, drop = FALSE]), r),
                 w %*% diag(1 / colSums(w), r), tolerance = 1e-12, ignore_attr = TRUE)
  }
})

test_that("match_components() takes fits and prints", {
  sim <- simulate_nmf(30, 20, 3, noise = "none", seed = 1)
  fit1 <- nmf(sim$x, 3, beta = 2, seed = 1)
  fit2 <- nmf(sim$x, 3, beta = 2, seed = 2, init = "random")
  m <- match_components(fit1, fit2)
  expect_equal(sort(unname(m$permutation)), 1:3)
  expect_true(all(m$cosine > 0.9))
  expect_output(print(m), "nmf_match")
  expect_error(match_components(unname(fit1$w), matrix(1, 5, 3)), "'b' must have 30 rows")
  expect_error(match_components(fit1, matrix(1, 30, 3)), "'b' has no row names but 'a' has")
  expect_error(match_components(-fit1$w, fit1), "'a' must be non-negative")
  # more components in a than in b: the extra one is NA
  m2 <- match_components(fit1$w, fit1$w[, c(3, 1)])
  expect_equal(unname(m2$permutation), c(2L, NA, 1L))
})

# ---- rows meet by name (issue 22, item 1) ------------------------------------

test_that("cosine_similarity() and match_components() pair rows by name, never by foreign position", {
  set.seed(8)
  ch <- sbs96_channels()
  cn <- sbs_signatures[, 1:3]
  perm <- sample(96)
  # the direct formula on rows paired correctly
  direct <- crossprod(cn) / sqrt(outer(colSums(cn^2), colSums(cn^2)))
  expect_equal(cosine_similarity(cn, cn[perm, ]), direct, tolerance = 1e-14)
  expect_equal(diag(cosine_similarity(cn, cn[perm, ])), rep(1, 3), ignore_attr = TRUE)
  # unnamed 96 rows: canonical order, the named side aligned to it
  expect_equal(cosine_similarity(unname(cn), cn[order(ch), ]), direct, tolerance = 1e-14, ignore_attr = TRUE)
  expect_equal(cosine_similarity(cn[order(ch), ], unname(cn)), direct, tolerance = 1e-14, ignore_attr = TRUE)
  # named vectors are matched by name too
  expect_equal(cosine_similarity(cn[, 1], cn[perm, 1]), 1)
  # mixes that cannot be aligned, and differing sets, are errors
  g <- matrix(rexp(20), 10, 2, dimnames = list(paste0("g", 1:10), NULL))
  expect_error(cosine_similarity(g, unname(g)), "'b' has no row names but 'a' has")
  expect_error(cosine_similarity(unname(g), g), "'b' has row names but 'a' has none")
  expect_error(cosine_similarity(g, g[1:9, ]), "'b' lacks 1 row\\(s\\) of 'a': g10")
  # match_components: a component matrix with shuffled, named rows
  m <- match_components(cn, cn[perm, 3:1])
  expect_equal(unname(m$permutation), 3:1)
  expect_equal(unname(m$cosine), rep(1, 3), tolerance = 1e-12)
  m2 <- match_components(unname(cn), cn[order(ch), 3:1])
  expect_equal(unname(m2$cosine), rep(1, 3), tolerance = 1e-12)
  expect_error(match_components(g, unname(g)), "'b' has no row names but 'a' has")
})

test_that("as.data.frame() of a match pairs the components by name", {
  set.seed(9)
  w <- matrix(rexp(60), 20, 3, dimnames = list(NULL, c("A", "B", "C")))
  b <- w[, c(3, 1)] * 2
  colnames(b) <- c("x", "y")
  df <- as.data.frame(match_components(w, b))
  expect_identical(df$a, c("A", "B", "C"))
  expect_identical(df$b, c("y", NA, "x"))
  expect_identical(df$b_index, c(2L, NA, 1L))
  expect_equal(df$cosine, c(1, NA, 1), tolerance = 1e-12)
})

test_that("a basis with NA rows (rows nmf() could not fit) is refused with the way out", {
  w <- matrix(rexp(30), 10, 3)
  w[4, ] <- NA
  expect_error(match_components(w, w), "row\\(s\\) 4 are NA throughout.*complete.cases")
  expect_error(cosine_similarity(w, w), "row\\(s\\) 4 are NA throughout")
})
