# Every C kernel is built twice on x86-64, for AVX2 + FMA and for the
# baseline instruction set (what older CPUs and other architectures run);
# the machine picks one.  simd_baseline(TRUE) forces the baseline build, so
# both are checked here whatever the machine: the same fits must agree to
# rounding (FMA contraction changes the last bits, nothing more).

fit_both <- function(...) {
  a <- suppressWarnings(nmf(...))
  old <- betanmf:::simd_baseline(TRUE)
  on.exit(betanmf:::simd_baseline(old))
  b <- suppressWarnings(nmf(...))
  list(a = a, b = b)
}

expect_same_fit <- function(f, label) {
  expect_equal(f$b$w, f$a$w, tolerance = 1e-9, label = paste(label, "W"))
  expect_equal(f$b$h, f$a$h, tolerance = 1e-9, label = paste(label, "H"))
  expect_equal(f$b$trace$loss, f$a$trace$loss, tolerance = 1e-11, label = paste(label, "loss trace"))
}

test_that("the baseline kernels give the AVX2 kernels' fits, dense and sparse", {
  p <- planted(61, 43, 3, seed = 17)
  xpos <- p$x + 0.5
  xs <- Matrix::Matrix(p$x, sparse = TRUE)
  # HALS: two passes at small size, the one-pass update when forced
  for (r in c(3, 9)) {
    expect_same_fit(fit_both(p$x, r, beta = 2, maxit = 15, tol = 0, seed = 1), sprintf("HALS rank %d", r))
  }
  Sys.setenv(BETANMF_FUSE = "1")
  on.exit(Sys.unsetenv("BETANMF_FUSE"), add = TRUE)
  expect_same_fit(fit_both(p$x, 5, beta = 2, maxit = 15, tol = 0, seed = 1), "one-pass HALS")
  Sys.unsetenv("BETANMF_FUSE")
  # MU: the fused update (ranks <= 4) and the blocked one, beta = 1, 1.5, 0
  for (r in c(3, 8)) {
    expect_same_fit(fit_both(p$x, r, beta = 1, solver = "mu", maxit = 25, tol = 0, seed = 2,
                             control = list(check = 5)), sprintf("MU KL rank %d", r))
    expect_same_fit(fit_both(p$x, r, beta = 1.5, solver = "mu", maxit = 25, tol = 0, seed = 2,
                             control = list(check = 5)), sprintf("MU beta 1.5 rank %d", r))
    expect_same_fit(fit_both(xpos, r, beta = 0, solver = "mu", maxit = 25, tol = 0, seed = 2,
                             control = list(check = 5)), sprintf("MU IS rank %d", r))
  }
  # coordinate descent, and the sparse products
  expect_same_fit(fit_both(p$x, 3, beta = 1, solver = "cd", maxit = 10, tol = 0, seed = 3), "CD")
  expect_same_fit(fit_both(xs, 3, beta = 1, solver = "mu", maxit = 25, tol = 0, seed = 4), "sparse MU")
  expect_same_fit(fit_both(xs, 3, beta = 2, maxit = 15, tol = 0, seed = 4), "sparse HALS")
  # the NNDSVD start (range finder: Gram, products, Cholesky QR)
  expect_same_fit(fit_both(p$x, 3, beta = 2, init = "nndsvda", maxit = 5, tol = 0, seed = 5), "NNDSVD start")
  # minimum volume's row passes (mu_template.h): one vector of columns and
  # two, the closed-form roots (beta = 1) and the joint Newton iteration
  for (r in c(3, 6)) for (beta in c(1, 1.5)) {
    expect_same_fit(fit_both(p$x + 0.5, r, beta = beta, solver = "mu", volume = 0.1, maxit = 20, tol = 0,
                             seed = 6, control = list(check = 5)), sprintf("min-volume rank %d beta %g", r, beta))
  }
})

# the loss's scalar fallback in the baseline build: test-nmf.R ("the vector
# loss falls back ...") runs in both builds

test_that("simd_baseline() refills every kernel's build and back", {
  p <- planted(61, 43, 3, seed = 21)
  fits <- function() {
    list(suppressWarnings(nmf(p$x, 3, beta = 1.5, solver = "mu", maxit = 10, tol = 0, seed = 1)),
         suppressWarnings(nmf(p$x, 6, beta = 2, maxit = 10, tol = 0, seed = 1)),
         suppressWarnings(nmf(p$x, 3, beta = 1, solver = "cd", maxit = 5, tol = 0, seed = 1)))
  }
  old <- betanmf:::simd_baseline(FALSE)
  on.exit(betanmf:::simd_baseline(old))
  a <- fits()
  betanmf:::simd_baseline(TRUE)
  b <- fits()
  betanmf:::simd_baseline(FALSE)
  c <- fits()
  for (i in seq_along(a)) {
    expect_identical(c[[i]]$w, a[[i]]$w)
    expect_identical(c[[i]]$h, a[[i]]$h)
    expect_equal(b[[i]]$w, a[[i]]$w, tolerance = 1e-9)
  }
})

# The structure of the C core (issue 23), where the sources are at hand (a
# checkout; R CMD check's copy of the tests has no src/): the per-target
# copies of a kernel come from template sources, not from macro bodies, so
# macro-continuation and #if lines stay within what matrixStats,
# data.table, vctrs and base R's stats have (2-50 and 2-9 per 1000 lines;
# tools/src-metrics.sh prints them); no call site chooses a build (one
# dispatch table, kernels.h); one helper splits columns across threads.
test_that("the C sources keep the kernels behind one table, without macro bodies", {
  src <- test_path("..", "..", "src")
  skip_if_not(file.exists(file.path(src, "kernels.c")), "the C sources are not at hand")
  files <- list.files(src, pattern = "\\.[ch]$", full.names = TRUE)
  lines <- unlist(lapply(files, readLines))
  per_1000 <- function(hit) 1000 * sum(hit) / length(lines)
  expect_lte(per_1000(grepl("\\\\$", lines)), 50)
  expect_lte(per_1000(grepl("^[ \t]*#[ \t]*if", lines)), 9)
  code <- unlist(lapply(setdiff(files, file.path(src, "simd.h")), readLines))
  expect_false(any(grepl("kernels_use_avx2|DISPATCH\\(|if \\(avx", code)))
  expect_length(grep("\\* t / nthr", code), 1)
})

# Minimum volume's row passes (mu_template.h) are built once per target:
# each kernel takes the vectors of columns one after another, so neither
# the rank's vector count nor the rows read through a padded copy nor the
# exponent makes another copy of it (instantiated per vector count, tail
# and exponent, they had made betanmf.so four times as large)
test_that("minimum volume's row kernels are one function per target", {
  src <- test_path("..", "..", "src")
  skip_if_not(file.exists(file.path(src, "mu_template.h")), "the C sources are not at hand")
  tpl <- readLines(file.path(src, "mu_template.h"))
  for (k in c("mv_pass", "mv_write", "mv_joint")) {
    def <- grep(sprintf("KFN\\(%s\\)\\(", k), tpl)
    expect_length(def, 1)
    expect_match(tpl[def], "^KATTR static void ", label = k)
    expect_false(grepl("always_inline", tpl[def - 1L]), label = paste(k, "always_inline"))
  }
  # no dispatch on the vector count: the kernels loop over the vectors
  expect_false(any(grepl("switch \\((a->)?nv\\)|MV_BODY", tpl)))
})

# Each solver is one file that calls kernels, never another solver: every
# function named for a solver (mu_*, hals_*, cd_*, kl_cd_*) is defined in
# that solver's file, only the driver (nmf.c) calls a solver's exported
# functions, and no file includes another's C source.
test_that("each solver is one file, called only by the driver", {
  src <- test_path("..", "..", "src")
  skip_if_not(file.exists(file.path(src, "kernels.c")), "the C sources are not at hand")
  cfiles <- list.files(src, pattern = "\\.c$")
  text <- lapply(stats::setNames(file.path(src, cfiles), cfiles), readLines)
  def_re <- "^(static )?(inline )?[a-z][a-z_0-9]*[ *]+([a-z_0-9]+)\\([^;]*$"
  defs <- lapply(text, function(l) sub(def_re, "\\3", grep(def_re, l, value = TRUE)))
  owner <- c(mu = "mu.c", hals = "hals.c", kl_cd = "kl_cd.c", cd = "kl_cd.c", conv = "conv.c")
  for (f in cfiles) for (p in names(owner)) {
    mine <- grep(paste0("^", p, "_"), defs[[f]], value = TRUE)
    expect_true(length(mine) == 0 || f == owner[[p]],
                label = sprintf("%s defines %s (a %s function)", f, paste(mine, collapse = ", "), owner[[p]]))
  }
  # conv.c (convolutive NMF) runs its own loop behind its own .Call entry
  # (the stacked lags are not the alternating driver's shape): everything in
  # it but the entries is static, so no other file can call into it
  conv_defs <- grep(def_re, text[["conv.c"]], value = TRUE)
  expect_true(length(conv_defs) > 0 && all(grepl("^static", conv_defs)))
  exported <- lapply(text[setdiff(unique(owner), "conv.c")], function(l) {
    d <- grep(def_re, l, value = TRUE)
    sub(def_re, "\\3", d[!grepl("^static", d)])
  })
  expect_true(all(lengths(exported) > 0))
  for (f in setdiff(cfiles, "nmf.c")) for (s in setdiff(unique(owner), f)) {
    fns <- setdiff(exported[[s]], grep("^kernels_fill_", exported[[s]], value = TRUE))
    calls <- fns[vapply(fns, function(fn) any(grepl(paste0("\\b", fn, "\\("), text[[f]])), logical(1))]
    expect_true(length(calls) == 0, label = sprintf("%s calls %s's %s", f, s, paste(calls, collapse = ", ")))
  }
  expect_false(any(grepl("#include \"[a-z_]+\\.c\"", unlist(text))))
})
