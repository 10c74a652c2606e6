# One read-only pass over an HDF5 file's column blocks, as a fit makes it
# (R/blocks.R), by the direct reads of the layouts beyond a double dataset
# against DelayedArray's path for the same file (what the fit did before
# those layouts were read directly).  One command:
#
#   R_LIBS=$LIB Rscript bench/layouts.R
#
# 1. Integer counts in a dense dataset, LAYOUTS_ROWS x LAYOUTS_COLS (4000 x
#    4000 by default: Poisson(3)), as HDF5Array::writeHDF5Array() writes an
#    integer matrix by default (shuffle, deflate at level 6), chunks of 100
#    whole columns:
#    direct = rhdf5's H5Dread into the fit's integer buffer, then the
#    doubles made in C (dense_col_block()); old =
#    DelayedArray::extract_array() (HDF5Array's h5mread) copied into the
#    buffer.
# 2. Counts (Poisson(3) + 1) at LAYOUTS_DENSITY (5 %) non-zero in a
#    LAYOUTS_ROWS x LAYOUTS_SPARSE_COLS (4000 x 40000) matrix, as an
#    h5sparse group (deflate at level 1) stored by rows (anndata's CSR of the cells x genes matrix, which
#    HDF5Array presents as the genes x cells matrix by its columns):
#    direct = h5sparse_read_cols() (two rhdf5 reads a block); old =
#    DelayedArray::extract_sparse_array() as a dgCMatrix.
# Each case runs in a child R process of its own, as a fit would: the
# matrix opened, prepare_data() (its set-up pass), then two timed passes
# over the fit's column blocks (DelayedArray's default block size, 100 MB,
# unless LAYOUTS_BLOCK bytes); "old" is this build with h5_direct() /
# h5sparse_direct() answering NULL, i.e. the fit before this change: no
# direct read, so also no glibc heap setting for the filtered file
# (keep_heap()), and a sparse group's blocks from colAutoGrid().
# LAYOUTS_REPS (3) repeats, interleaved (the four cases in turn): CPU (user
# + system) and elapsed seconds per pass and minor page faults per pass
# (/proc/self/stat), median [min, max]; the load average with each
# repeat.  Files are written once into LAYOUTS_CACHE
# (/tmp/betanmf-bench-layouts).

suppressMessages({
  library(HDF5Array)
})
env_num <- function(name, default) as.numeric(Sys.getenv(name, default))
m <- env_num("LAYOUTS_ROWS", 4000)
n <- env_num("LAYOUTS_COLS", 4000)
density <- env_num("LAYOUTS_DENSITY", 0.05)
n_sparse <- env_num("LAYOUTS_SPARSE_COLS", 40000)
reps <- env_num("LAYOUTS_REPS", 3)
block <- Sys.getenv("LAYOUTS_BLOCK", "")
if (nzchar(block)) invisible(suppressMessages(DelayedArray::setAutoBlockSize(as.numeric(block))))
cache <- Sys.getenv("LAYOUTS_CACHE", "/tmp/betanmf-bench-layouts")
dir.create(cache, showWarnings = FALSE, recursive = TRUE)
load_avg <- function() paste(strsplit(readLines("/proc/loadavg"), " ")[[1]][1:3], collapse = " ")

counts <- function() {
  set.seed(1)
  matrix(rpois(m * n, 3), m, n)
}

dense_file <- file.path(cache, sprintf("int-%dx%d-cols100.h5", m, n))
if (!file.exists(dense_file)) {
  invisible(writeHDF5Array(counts(), dense_file, "x", chunkdim = c(m, 100L)))
}
sparse_file <- file.path(cache, sprintf("csr-%dx%d-%g.h5", m, n_sparse, density))
if (!file.exists(sparse_file)) {
  set.seed(2)
  s <- Matrix::rsparsematrix(m, n_sparse, density, rand.x = function(k) stats::rpois(k, 3) + 1)
  tmp <- paste0(sparse_file, ".part")
  unlink(tmp)
  rhdf5::h5createFile(tmp)
  rhdf5::h5createGroup(tmp, "X")
  for (part in list(list("data", s@x), list("indices", s@i), list("indptr", s@p))) {
    rhdf5::h5createDataset(tmp, paste0("X/", part[[1]]), length(part[[2]]), storage.mode = "integer",
                           chunk = min(length(part[[2]]), 2^16), level = 1)
    rhdf5::h5write(as.integer(part[[2]]), tmp, paste0("X/", part[[1]]))
  }
  fid <- rhdf5::H5Fopen(tmp)
  gid <- rhdf5::H5Gopen(fid, "X")
  rhdf5::h5writeAttribute(c(n_sparse, m), gid, "shape")
  rhdf5::h5writeAttribute("csr_matrix", gid, "encoding-type")
  rhdf5::H5Gclose(gid)
  rhdf5::H5Fclose(fid)
  rhdf5::h5closeAll()
  invisible(file.rename(tmp, sparse_file))
}

# h5_open(): HDF5Array's constructors worked around where this rhdf5 makes
# them fail (the tests' helper; the bench runs from the package's root)
source(file.path("tests", "testthat", "helper-h5.R"))
h5_open_code <- paste(deparse(h5_open), collapse = "\n")
h5_open_code <- paste("h5_open <-", gsub("%", "%%", h5_open_code))

# one case in a child process: prints its CPU and elapsed seconds and minor
# page faults per pass
child <- function(case) {
  code <- sprintf('
    suppressMessages({library(HDF5Array); library(betanmf)})
    case <- "%s"
    block <- "%s"
    if (nzchar(block)) invisible(suppressMessages(DelayedArray::setAutoBlockSize(as.numeric(block))))
    if (grepl("old", case)) {
      utils::assignInNamespace("h5_direct", function(x) NULL, "betanmf")
      utils::assignInNamespace("h5sparse_direct", function(x) NULL, "betanmf")
    }
    %s
    sparse <- grepl("h5sparse", case)
    X <- if (sparse) h5_open(function() H5SparseMatrix("%s", "X")) else HDF5Array("%s", "x")
    B <- betanmf:::prepare_data(X, beta = 1)$blocks
    stopifnot(identical(is.null(if (sparse) betanmf:::h5sparse_direct(X) else B$direct), grepl("old", case)))
    pass <- function() for (vp in B$cvps) {
      b <- if (sparse) betanmf:::read_one_block(X, vp, TRUE) else betanmf:::dense_col_block(B, vp)
      b <- NULL
    }
    minflt <- function() as.numeric(strsplit(sub("^.*[)] ", "", readLines("/proc/self/stat")), " ")[[1]][8])
    gc()
    f0 <- minflt()
    t <- system.time(for (k in 1:2) pass())
    cat("RESULT", (t[["user.self"]] + t[["sys.self"]]) / 2, t[["elapsed"]] / 2, (minflt() - f0) / 2,
        length(B$cvps), "\\n")', case, block, h5_open_code, sparse_file, dense_file)
  out <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", "-e", shQuote(code)),
                                  stdout = TRUE, stderr = TRUE))
  line <- grep("^RESULT", out, value = TRUE)
  if (length(line) != 1L) stop("the child for ", case, " failed:\n", paste(out, collapse = "\n"))
  v <- as.numeric(strsplit(line, " ")[[1]][-1])
  data.frame(case = case, cpu = v[1], elapsed = v[2], faults = v[3], blocks = v[4])
}

cases <- c("integer dense, direct", "integer dense, old (extract_array)", "h5sparse CSR, direct",
           "h5sparse CSR, old (extract_sparse_array)")
cat(sprintf("integer file %s: %d x %d; h5sparse CSR file %s: %d x %d, %.0f %% non-zero\n", dense_file, m, n,
            sparse_file, m, n_sparse, 100 * density))
res <- list()
for (r in seq_len(reps)) {
  cat(sprintf("repeat %d, load %s\n", r, load_avg()))
  for (cs in cases) res[[length(res) + 1L]] <- child(cs)
}
res <- do.call(rbind, res)
fmt <- function(v, d = 3) sprintf(paste0("%.", d, "f [%.", d, "f, %.", d, "f]"), stats::median(v), min(v), max(v))
for (cs in cases) {
  r <- res[res$case == cs, ]
  cat(sprintf("%-42s %3d blocks: CPU %s s, elapsed %s s, faults %s\n", cs, r$blocks[1],
              fmt(r$cpu), fmt(r$elapsed), fmt(r$faults, 0)))
}
ratio <- function(a, b) stats::median(res$cpu[res$case == b]) / stats::median(res$cpu[res$case == a])
cat(sprintf("old / direct, CPU: integer dense %.1f, h5sparse CSR %.1f; load %s\n",
            ratio(cases[1], cases[2]), ratio(cases[3], cases[4]), load_avg()))
