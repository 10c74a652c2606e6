# Record the bit-for-bit baseline of tests/testthat/test-digests.R (issue 23)
# for this platform, from the betanmf installed in R_LIBS:
#
#   R CMD INSTALL --preclean --library=$LIB . && rm -f src/*.o src/*.so
#   R_LIBS=$LIB Rscript tools/digests.R --reason "why the bits may change"
#
# Run from the repository's root. It writes tests/testthat/digests/<platform>.R
# and prints which fits changed against the file it replaces. A new recording
# of a platform already recorded changes what "behaviour does not change"
# means: it needs a reason (which fits, and why the change is worth it), given
# with --reason, kept in the file and repeated in the commit body.
# `Rscript tools/digests.R --check` only prints what differs.

args <- commandArgs(trailingOnly = TRUE)
check_only <- "--check" %in% args
reason <- if ("--reason" %in% args) args[match("--reason", args) + 1L] else NA_character_
if (!check_only && (is.na(reason) || !nzchar(reason))) {
  stop("give the reason for recording: Rscript tools/digests.R --reason \"...\" (or --check)", call. = FALSE)
}
if (!file.exists("tests/testthat/helper-digests.R")) stop("run from the repository's root", call. = FALSE)

suppressPackageStartupMessages(library(betanmf))
source("tests/testthat/helper-digests.R")

platform <- digest_platform()
dir <- file.path("tests", "testthat", "digests")
old <- digest_recorded(dir, platform)
if (is.null(old$digests)) old <- NULL
started <- proc.time()[["elapsed"]]
now <- digest_grid(threads = 1L)
cat(sprintf("%d fits in %.1f s\n", length(now), proc.time()[["elapsed"]] - started))
if (any(startsWith(now, "error:"))) {
  print(now[startsWith(now, "error:")])
  stop("some fits failed: nothing recorded", call. = FALSE)
}

if (is.null(old)) {
  cat("no digests recorded for this platform yet\n")
} else {
  changed <- union(setdiff(names(old$digests), names(now)), setdiff(names(now), names(old$digests)))
  both <- intersect(names(now), names(old$digests))
  changed <- c(changed, both[now[both] != old$digests[both]])
  cat(sprintf("%d of %d fits differ from the recorded ones%s\n", length(changed), length(now),
              if (length(changed)) ":" else ""))
  if (length(changed)) cat(paste0("  ", changed, collapse = "\n"), "\n")
}
if (check_only) quit(save = "no", status = if (is.null(old) || length(changed)) 1L else 0L)

q <- function(x) encodeString(x, quote = "\"")
rev <- tryCatch(system2("git", c("rev-parse", "--short", "HEAD"), stdout = TRUE, stderr = FALSE),
                error = function(e) "unknown")
text <- c(
  "# Digests of the fits of helper-digests.R on one platform (test-digests.R).",
  sprintf("# Recorded by tools/digests.R on %s in the tree of commit %s.",
          format(Sys.Date()), paste(rev, collapse = "")),
  "# Do not edit by hand; re-record only with a reason (see test-digests.R).",
  "list(",
  "  platform = c(",
  paste0("    ", names(platform), " = ", q(platform), c(rep(",", length(platform) - 1L), "")),
  "  ),",
  paste0("  reason = ", q(reason), ","),
  "  digests = c(",
  paste0("    ", q(names(now)), " = ", q(unname(now)), c(rep(",", length(now) - 1L), "")),
  "  )",
  ")"
)
dir.create(dir, showWarnings = FALSE)
name <- paste(platform[["platform"]], gsub("[^a-z0-9]+", "", tolower(platform[["cpu"]])),
              substr(digest_doubles(utf8ToInt(paste(platform, collapse = "\n"))), 1, 8), sep = "-")
file <- file.path(dir, paste0(name, ".R"))
writeLines(text, file)
cat("wrote", file, "\n")
