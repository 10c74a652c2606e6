/* blocks.c: one half update on one block of the data, for fits of data
 * that are read block by block (a DelayedMatrix: R/blocks.R).
 *
 * Every solver's half update moves each column of the factor F (r x ncol)
 * from its own column of the data and the whole other factor G (r x nrow)
 * alone (betanmf.h): HALS's closed-form sweeps of a column from its product
 * and the Gram matrix G G' (Cichocki & Phan 2009), MU's ratio of a
 * column's numerator and denominator (Fevotte & Idier 2011), coordinate
 * descent's Newton steps on a column (Hsieh & Dhillon 2011).  So the half
 * update of the columns of a block of the data, given the whole other
 * factor, is that of the same columns in the whole matrix, and a fit that
 * walks the blocks (R/blocks.R: H from blocks of columns of X, t(W) from
 * blocks of columns of t(X), i.e. of rows of X) makes the iterates of the
 * fit in memory, to the rounding of the products' order of terms.
 *
 * C_block_half(data, f, g, control): data = list(dense, sparse, dims, hold)
 * as for C_nmf_fit (src/nmf.c), one block whose columns are those of f;
 * control = list(solver, beta, inner, inner_tol, l1, l2, threads, update,
 * loss).  update = FALSE leaves f as it is (the loss of the start).
 * Returns list(f, loss, sweeps): loss (when asked) is the beta-divergence
 * of the block at (g, the new f) over its observed entries, so the sum
 * over the blocks of a pass is the loss at the end of the iteration.
 * Memory from R_alloc and the PROTECTed scratch (scratch.c) only; no R API
 * inside the kernels' parallel regions; the caller (an R loop, interruptible
 * between blocks) runs on the main thread.
 */
#include "betanmf.h"

static double ctl_num(SEXP list, const char *name)
{
    SEXP v = list_elt(list, name, 1);
    if (XLENGTH(v) != 1 || !(isReal(v) || isInteger(v) || isLogical(v)))
        error("internal error: '%s' must be a single number", name);
    return asReal(v);
}

SEXP C_block_half(SEXP data, SEXP f0, SEXP g, SEXP control)
{
    int solver = (int) ctl_num(control, "solver"), inner = (int) ctl_num(control, "inner");
    int threads = (int) ctl_num(control, "threads"), upd = ctl_num(control, "update") != 0.0;
    int want_loss = ctl_num(control, "loss") != 0.0;
    double beta = ctl_num(control, "beta"), inner_tol = ctl_num(control, "inner_tol");
    double l1 = ctl_num(control, "l1"), l2 = ctl_num(control, "l2");
    if (threads < 1) threads = 1;
    if (solver != SOLVER_HALS && solver != SOLVER_MU && solver != SOLVER_CD)
        error("internal error: unknown solver %d", solver);
    if (solver == SOLVER_CD && beta != 1.0) error("internal error: coordinate descent is for beta = 1");
    SEXP dims = list_elt(data, "dims", 1);
    if (TYPEOF(dims) != INTSXP || XLENGTH(dims) != 2) error("internal error: 'dims' must be 2 integers");
    int m = INTEGER(dims)[0], n = INTEGER(dims)[1];
    if (!isReal(f0) || !isReal(g) || !isMatrix(f0) || !isMatrix(g))
        error("internal error: factors must be double matrices");
    int r = nrows(f0);
    if (m < 0 || n < 0 || ncols(f0) != n || nrows(g) != r || ncols(g) != m)
        error("internal error: factor shapes do not match the block");
    nmf_data X;
    data_read(list_elt(data, "dense", 1), list_elt(data, "sparse", 1), m, n, &X);
    data_read_held_out(list_elt(data, "hold", 1), &X);
    nmf_switches sw;
    read_switches(&sw);
    X.blas = sw.blas;

    int nprotect = 0;
    SEXP ws = PROTECT(allocVector(VECSXP, 64)); nprotect++;
    scratch_begin(ws);
    SEXP F = PROTECT(duplicate(f0)); nprotect++;
    double *f = REAL(F);
    const double *gp = REAL(g);
    double sweeps = 0.0;
    if (upd) {
        scratch_reset();
        if (solver == SOLVER_HALS) {
            double *A = (double *) R_alloc((size_t) r * n + 1, sizeof(double));
            double *S = (double *) R_alloc((size_t) r * r, sizeof(double));
            sweeps = (double) hals_half(&X, f, gp, r, inner, inner_tol, l1, l2, A, S, 0, threads);
        } else if (solver == SOLVER_CD) {
            data_count_positive(&X);
            kl_cd_half(&X, f, gp, r, inner, l1, l2, threads);
        } else {
            nmf_plan plan = mu_plan(&X, beta, r, &sw);
            mu_half(&X, f, gp, r, beta, l1, l2, plan.fused, threads);
        }
    }
    double loss = NA_REAL;
    if (want_loss) {
        scratch_reset();
        loss = loss_factored(&X, gp, f, r, beta, threads);
    }
    scratch_end();

    const char *nm[] = {"f", "loss", "sweeps"};
    SEXP out = PROTECT(allocVector(VECSXP, 3)); nprotect++;
    SEXP names = PROTECT(allocVector(STRSXP, 3)); nprotect++;
    for (int k = 0; k < 3; k++) SET_STRING_ELT(names, k, mkChar(nm[k]));
    setAttrib(out, R_NamesSymbol, names);
    SET_VECTOR_ELT(out, 0, F);
    SET_VECTOR_ELT(out, 1, ScalarReal(loss));
    SET_VECTOR_ELT(out, 2, ScalarReal(sweeps));
    UNPROTECT(nprotect);
    return out;
}
