# The bit-for-bit baseline of issue 23 (one structure for the C core):
# "behaviour does not change" means every fit of helper-digests.R's grid
# returns the same bits as when the digests in digests/ were recorded (from
# commit fe6bdf3, before the restructure) -- W, H, loss, loss trace and
# iterations of every solver, beta, storage, mask and rank 1-35, in both
# kernel builds, plus restarts and predict().
#
# The bits depend on the platform as well as the code (R's BLAS and LAPACK,
# the C library, the CPU's AVX2 + FMA, the compiler and its flags), so each
# recording carries its platform and the comparison is skipped, with a
# message, where none matches. It holds for a package built by
# `R CMD INSTALL --preclean` with R's own flags: pkgbuild::compile_dll(),
# load_all() and roxygenise() build at -O0 and give other bits.
#
# Re-record (after installing the package into $LIB):
#   R_LIBS=$LIB Rscript tools/digests.R --reason "which fits change and why"
# A new recording of a platform already recorded is allowed only with a
# stated reason (issue 23: "Where you decide a bit-level change is worth it,
# say which and why"): the reason is kept in the digests file and goes in the
# commit body. Recording a platform for the first time needs a reason too
# (e.g. "new platform, recorded from commit ...").
#
# Run it alone (skipped on CRAN; R CMD check skips it, make extended-tests runs it):
#   NOT_CRAN=true R_LIBS=$LIB Rscript -e 'testthat::test_file("tests/testthat/test-digests.R",
#     package = "betanmf", load_package = "installed")'

# the cases run again with threads = 2 and once more with threads = 1: they
# split columns (and blocks of rows) across threads on every path
thread_cases <- c("hals/dense/r3", "hals/sparse/r20", "hals/big/r20", "hals/dense-fuse/r5", "hals/masked-dense/r12",
                  "cd/dense/r8", "cd/sparse/r20", "cd/tall_sp/r20", "cd/masked-sparse/r5",
                  "mu/b1/dense/r3", "mu/b1/dense/r20", "mu/b0/dense/r4", "mu/b0.5/sparse/r8", "mu/b3/dense/r35",
                  "mu/b1/tall_sp/r3", "mu/b1.5/masked-dense/r5", "mu/b0/masked-sparse/r12",
                  "cd/dense-nrun2/r4", "predict/b1/sparse/r8", "predict/b2/dense/r3")

report_changed <- function(now, ref, what) {
  missing <- setdiff(names(ref), names(now))
  extra <- setdiff(names(now), names(ref))
  both <- intersect(names(ref), names(now))
  changed <- both[now[both] != ref[both]]
  lines <- c(if (length(changed)) paste0("  ", changed, ifelse(startsWith(now[changed], "error:"),
                                                                 paste0("  (", now[changed], ")"), "")),
             if (length(missing)) paste0("  ", missing, "  (no longer in the grid)"),
             if (length(extra)) paste0("  ", extra, "  (not recorded)"))
  if (length(lines)) {
    msg <- sprintf("%d of %d fits differ from %s:\n%s", length(lines), length(ref), what,
                   paste(lines, collapse = "\n"))
  } else {
    msg <- ""
  }
  msg
}

test_that("every fit of the grid has the bits recorded for this platform", {
  skip_on_cran()
  platform <- digest_platform()
  rec <- digest_recorded(test_path("digests"), platform)
  if (is.null(rec$digests)) {
    skip(paste0("no digests recorded for this platform (", paste(names(platform), platform, sep = ": ", collapse = "; "),
                ")", if (length(rec$differs)) paste0(": ", paste(rec$differs, collapse = "; ")),
                "; record them with tools/digests.R"))
  }
  now <- digest_run(digest_cases(digest_data(), threads = 1L))
  msg <- report_changed(now, rec$digests, "the recorded ones (see the header of test-digests.R)")
  expect(!nzchar(msg), msg)
})

test_that("the fits do not depend on the run or on the number of threads", {
  skip_on_cran()
  data <- digest_data()
  cases <- digest_cases(data)
  expect_true(all(thread_cases %in% names(cases)))
  one <- digest_run(cases[thread_cases])
  expect_false(any(startsWith(one, "error:")))
  again <- digest_run(cases[thread_cases])
  msg <- report_changed(again, one, "a first run with threads = 1")
  expect(!nzchar(msg), msg)
  two <- digest_run(digest_cases(data, threads = 2L)[thread_cases])
  msg <- report_changed(two, one, "the same fits with threads = 1")
  expect(!nzchar(msg), msg)
})
