# betanmf next to NMF and RcppML, whose exports share names with ours. Each
# case runs in a child R process, so attaching NMF does not change the
# generics this test session sees.

run_child <- function(lines) {
  script <- tempfile(fileext = ".R")
  on.exit(unlink(script), add = TRUE)
  writeLines(lines, script)
  libs <- paste(.libPaths(), collapse = .Platform$path.sep)
  suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", shQuote(script)),
                           stdout = TRUE, stderr = TRUE, env = paste0("R_LIBS=", shQuote(libs))))
}

# one "CHECK <name> <TRUE/FALSE>" line per check, then "DONE"
child_checks <- c(
  "sim <- betanmf::simulate_nmf(30, 20, 2, noise = 'poisson', depth = 300, seed = 1)",
  "fit <- betanmf::nmf(sim$x, 2, beta = 1, nrun = 3, seed = 1)",
  "check <- function(name, ok) cat('CHECK', name, isTRUE(ok), '\\n')",
  "check('basis', identical(basis(fit), fit$w))",
  "cons <- tryCatch(consensus(fit), error = function(e) e)",
  "check('consensus', inherits(cons, 'nmf_consensus') && identical(cons, betanmf::consensus(fit)))",
  "check('coef', identical(coef(fit), fit$h))",
  "check('fitted', identical(fitted(fit), fit$w %*% fit$h))",
  "check('residuals', isTRUE(all.equal(residuals(fit), sim$x - fit$w %*% fit$h, check.attributes = FALSE)))",
  "check('deviance', identical(deviance(fit), 2 * fit$loss))",
  "check('summary', inherits(summary(fit), 'summary.nmf_fit'))",
  "check('predict', identical(predict(fit, newdata = sim$x[, 1:3]), predict(fit, sim$x[, 1:3])) &&",
  "      identical(dim(predict(fit, newdata = sim$x[, 1:3])), c(2L, 3L)))",
  "check('stability', inherits(stability(fit), 'nmf_stability'))",
  "check('plot', inherits(suppressMessages(ggplot2::autoplot(fit)), 'ggplot'))"
)

attach_lines <- function(first, second) {
  c(sprintf("suppressPackageStartupMessages(library(%s))", c(first, second)))
}

parse_checks <- function(out) {
  lines <- grep("^CHECK ", out, value = TRUE)
  stats::setNames(grepl("TRUE", lines), sub("^CHECK (\\S+).*", "\\1", lines))
}

expected_checks <- c("basis", "consensus", "coef", "fitted", "residuals", "deviance", "summary",
                     "predict", "stability", "plot")

test_that("with NMF attached after betanmf, accessors on a betanmf fit give betanmf's answers", {
  skip_if_not_installed("NMF")
  out <- run_child(c(attach_lines("betanmf", "NMF"), child_checks,
                     # NMF's own objects still get NMF's answers
                     "n1 <- NMF::nmf(sim$x, 2, nrun = 1, seed = 1)",
                     "check('nmf_basis', identical(dim(basis(n1)), c(30L, 2L)))",
                     "check('nmf_is_NMF', identical(nmf, NMF::nmf))",
                     "cat('DONE\\n')"))
  expect_true("DONE" %in% out, label = paste(out, collapse = "\n"))
  res <- parse_checks(out)
  expect_setequal(names(res), c(expected_checks, "nmf_basis", "nmf_is_NMF"))
  expect_true(all(res), label = paste(names(res)[!res], collapse = ", "))
})

test_that("with NMF attached before betanmf, both packages' objects get their own answer or a clear error", {
  skip_if_not_installed("NMF")
  out <- run_child(c(attach_lines("NMF", "betanmf"), child_checks,
                     "n1 <- NMF::nmf(sim$x, 2, nrun = 1, seed = 1)",
                     "check('nmf_basis_ns', identical(dim(NMF::basis(n1)), c(30L, 2L)))",
                     "msg <- tryCatch(basis(n1), error = conditionMessage)",
                     "check('basis_hint', grepl('NMF::basis()', msg, fixed = TRUE))",
                     "msg <- tryCatch(consensus(n1), error = conditionMessage)",
                     "check('consensus_hint', grepl('NMF::consensus()', msg, fixed = TRUE))",
                     "cat('DONE\\n')"))
  expect_true("DONE" %in% out, label = paste(out, collapse = "\n"))
  res <- parse_checks(out)
  expect_setequal(names(res), c(expected_checks, "nmf_basis_ns", "basis_hint", "consensus_hint"))
  expect_true(all(res), label = paste(names(res)[!res], collapse = ", "))
})

test_that("with RcppML attached after betanmf, accessors give betanmf's answers and betanmf::nmf() fits", {
  skip_if_not_installed("RcppML")
  out <- run_child(c(attach_lines("betanmf", "RcppML"), child_checks,
                     "check('rcppml_nmf', identical(nmf, RcppML::nmf))",
                     "cat('DONE\\n')"))
  expect_true("DONE" %in% out, label = paste(out, collapse = "\n"))
  res <- parse_checks(out)
  expect_setequal(names(res), c(expected_checks, "rcppml_nmf"))
  expect_true(all(res), label = paste(names(res)[!res], collapse = ", "))
})

test_that("basis() on something that is not a betanmf fit is a clear error", {
  expect_error(basis(matrix(1, 2, 2)), "basis\\(\\) is betanmf's, for fits from betanmf::nmf\\(\\)")
  expect_error(consensus(matrix(1, 2, 2)), "'fit' must be an nmf_fit from betanmf::nmf\\(\\)")
})
