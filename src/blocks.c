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
 * fit in memory, to the rounding of the products' order of terms.  HALS
 * and MU take their W half from the column blocks instead (below: the
 * share of C_block_half, C_block_w_step), so their fits read X once per
 * iteration, by columns; coordinate descent keeps the blocks of rows.
 *
 * C_block_half(data, f, g, control): data = list(dense, sparse, dims, hold)
 * as for C_nmf_fit (src/nmf.c), one block whose columns are those of f;
 * control = list(solver, beta, inner, inner_tol, l1, l2, threads, update,
 * loss[, share, xx, dense_xs]).  update = FALSE leaves f as it is (the loss
 * of the start).  dense_xs: the dense block's values are to be multiplied
 * by it (an exact power of two; R/blocks.R hands the fit's own buffer over
 * unscaled for HALS's H half, whose one-pass update applies it to the
 * products; where another part of this call reads the values, the buffer
 * is scaled in place first).  share = TRUE (HALS, MU): also the block's share of the next W
 * half's sums at (g, the new f) (block_share(); for HALS on dense data
 * made by the one-pass H half, hals_half_fused, in the same pass over the
 * block).  xx (HALS): the block's sum of squares, for the loss after an
 * update by hals.c's expansion (hals_loss) from the H half's product and
 * Gram matrix, as the fit in memory checks it; NA: the loss directly, the
 * sum of squares returned.  Returns list(f, loss, sweeps, num, den, xx):
 * loss (when asked) is the beta-divergence of the block at (g, the new f)
 * over its observed entries, so the sum over the blocks of a pass is the
 * loss at the end of the iteration; num, den the share (NULL when not
 * asked; den NULL for HALS); xx the sum of squares made here, or NA;
 * deferred TRUE where dense_xs was applied to the products, not the block.
 * Memory from R_alloc and the PROTECTed scratch (scratch.c) only; no R API
 * inside the kernels' parallel regions; the caller (an R loop, interruptible
 * between blocks) runs on the main thread.
 */
#include "betanmf.h"
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h> /* mallopt: C_block_heap_keep */
#endif

static double ctl_num(SEXP list, const char *name)
{
    SEXP v = list_elt(list, name, 1);
    if (XLENGTH(v) != 1 || !(isReal(v) || isInteger(v) || isLogical(v)))
        error("internal error: '%s' must be a single number", name);
    return asReal(v);
}

/* A block as the kernels read it: data = list(dense, sparse, dims, hold),
 * an nrow x ncol block, with the factor being updated (or H's block) hf,
 * r x ncol, and the other, wf, r x nrow; returns r */
static int block_read(SEXP data, SEXP hf, SEXP wf, nmf_data *X, nmf_switches *sw)
{
    SEXP dims = list_elt(data, "dims", 1);
    if (TYPEOF(dims) != INTSXP || XLENGTH(dims) != 2) error("internal error: 'dims' must be 2 integers");
    int m = INTEGER(dims)[0], n = INTEGER(dims)[1];
    if (!isReal(hf) || !isReal(wf) || !isMatrix(hf) || !isMatrix(wf))
        error("internal error: factors must be double matrices");
    int r = nrows(hf);
    if (m < 0 || n < 0 || ncols(hf) != n || nrows(wf) != r || ncols(wf) != m)
        error("internal error: factor shapes do not match the block");
    data_read(list_elt(data, "dense", 1), list_elt(data, "sparse", 1), m, n, X);
    data_read_held_out(list_elt(data, "hold", 1), X);
    read_switches(sw);
    X->blas = sw->blas;
    return r;
}

/* an optional number of the control list, or `absent` */
static double ctl_opt(SEXP list, const char *name, double absent)
{
    SEXP v = list_elt(list, name, 0);
    if (v == NULL) return absent;
    if (XLENGTH(v) != 1 || !(isReal(v) || isInteger(v) || isLogical(v)))
        error("internal error: '%s' must be a single number", name);
    return asReal(v);
}

/* b[t] *= f, for f an exact power of two (a block's scale or its
 * reciprocal: the product is exact, so rounded as the division is) */
static void scale_in_place(double *b, R_xlen_t n, double f)
{
    for (R_xlen_t t = 0; t < n; t++) b[t] *= f;
}

/* the block's sum of squares (HALS's loss expansion), held-out values zero
 * already */
static double block_xx(const nmf_data *X)
{
    double xx = 0.0;
    if (X->p)
        for (int t = 0; t < X->p[X->ncol]; t++) xx += XVAL(X, t) * XVAL(X, t);
    else
        for (size_t t = 0; t < (size_t) X->nrow * X->ncol; t++) xx += X->dense[t] * X->dense[t];
    return xx;
}

/* The W half from blocks of columns (HALS and MU): one pass over the column
 * blocks of X per iteration instead of a second pass over its rows.  The W
 * half's update of row i of W needs, summed over the columns j of X,
 *   MU (Fevotte & Idier 2011):  NUM[k, i] = sum_j h_kj x_ij y_ij^(beta-2),
 *                               DEN[k, i] = sum_j h_kj y_ij^(beta-1)
 *   (beta = 1: DEN the sums of h_kj over the observed j),
 *   HALS (Cichocki & Phan 2009): A[k, i] = sum_j h_kj x_ij = (H t(X))[k, i]
 *   and the Gram matrix H t(H) (less the held-out columns' outer products),
 * held-out entries left out; each sum splits over blocks of columns.  This
 * is one block's share (num, den: r x m; den unused for HALS) at g = Wt and
 * the block's columns f of H: HALS's product on the block's transposed
 * view (read in place; no copy of sparse data); MU's from the dense block
 * as stored (mu_block_sums), else mu.c's store mode on the transposed
 * block (sparse data: not copied; dense data at ranks above the kernels':
 * a copy in R_alloc memory).  R/blocks.R adds the shares in block order. */
static void block_share(int solver, const nmf_data *X, const nmf_switches *sw, const double *g, const double *f,
                        int r, double beta, int threads, double *num, double *den)
{
    nmf_data Xt;
    if (solver == SOLVER_HALS) {
        /* H_b t(X_b): the block's transposed view, read in place */
        data_transpose(X, &Xt, 0, r);
        product_gx(&Xt, f, r, num, threads);
        return;
    }
    if (X->dense && kernels_available(r)) {
        /* from the block as stored: no transposed copy */
        driver_mu_block_sums(X, g, f, r, beta, threads, num, den);
        return;
    }
    nmf_plan plan = driver_plan(solver, X, beta, r, sw);
    data_transpose(X, &Xt, plan.copy, r);
    /* store mode leaves F as it is; F is a copy all the same, so the
     * caller's matrix is never written to */
    double *F = (double *) R_alloc((size_t) r * X->nrow + 1, sizeof(double));
    memcpy(F, g, (size_t) r * X->nrow * sizeof(double));
    driver_mu_sums(&Xt, F, f, r, beta, plan.fused, threads, num, den);
}

SEXP C_block_half(SEXP data, SEXP f0, SEXP g, SEXP control)
{
    int solver = (int) ctl_num(control, "solver"), inner = (int) ctl_num(control, "inner");
    int threads = (int) ctl_num(control, "threads"), upd = ctl_num(control, "update") != 0.0;
    int want_loss = ctl_num(control, "loss") != 0.0, share = ctl_opt(control, "share", 0.0) != 0.0;
    double beta = ctl_num(control, "beta"), inner_tol = ctl_num(control, "inner_tol");
    double l1 = ctl_num(control, "l1"), l2 = ctl_num(control, "l2"), xx = ctl_opt(control, "xx", NA_REAL);
    double dxs = ctl_opt(control, "dense_xs", 1.0);
    if (threads < 1) threads = 1;
    if (solver != SOLVER_HALS && solver != SOLVER_MU && solver != SOLVER_CD)
        error("internal error: unknown solver %d", solver);
    if (solver == SOLVER_CD && beta != 1.0) error("internal error: coordinate descent is for beta = 1");
    if (share && solver == SOLVER_CD) error("internal error: the column-block W half is for HALS and MU");
    nmf_data X;
    nmf_switches sw;
    int r = block_read(data, f0, g, &X, &sw), n = X.ncol, m = X.nrow;
    /* HALS with the share asked: the one-pass H half (below) */
    int parts = upd && share ? driver_block_parts(solver, &X, r, &sw) : 0;
    int deferred = 0;
    if (dxs != 1.0) {
        /* a dense block handed over unscaled (dense_xs): the one-pass H
         * half scales its products instead (hals_half_fused), when nothing
         * else here reads the block's values (the loss by the expansion);
         * otherwise the block is scaled here, in its buffer, as
         * C_block_prepare would have */
        SEXP dense = list_elt(data, "dense", 1);
        if (!isReal(dense) || !(dxs > 0.0) || !R_FINITE(dxs))
            error("internal error: 'dense_xs' is for a dense block, and must be positive");
        deferred = parts > 0 && (!want_loss || R_FINITE(xx));
        if (!deferred) {
            scale_in_place(REAL(dense), XLENGTH(dense), dxs);
            dxs = 1.0;
        }
    }

    int nprotect = 0;
    SEXP ws = PROTECT(allocVector(VECSXP, 64)); nprotect++;
    scratch_begin(ws);
    SEXP F = PROTECT(duplicate(f0)); nprotect++;
    SEXP num = R_NilValue, den = R_NilValue;
    if (share) {
        num = PROTECT(allocMatrix(REALSXP, r, m)); nprotect++;
        if (solver == SOLVER_MU) { den = PROTECT(allocMatrix(REALSXP, r, m)); nprotect++; }
    }
    double *f = REAL(F);
    const double *gp = REAL(g);
    double sweeps = 0.0, *A = NULL, *S = NULL;
    int have_share = 0;
    if (upd) {
        scratch_reset();
        /* the driver's half update (nmf.c), on the block as it is laid out:
         * no transposed copy is made, so the plan's layout is not asked */
        nmf_plan plan = driver_plan(solver, &X, beta, r, &sw);
        if (plan.npos) data_count_positive(&X);
        if (solver == SOLVER_HALS) {
            A = (double *) R_alloc((size_t) r * n + 1, sizeof(double));
            S = (double *) R_alloc((size_t) r * r, sizeof(double));
        }
        /* HALS with the share asked: the one-pass H half, which makes the
         * share H_b t(X_b) with the new H while each part of the block is
         * in cache, so the block is read once, as in memory */
        if (parts > 0) {
            sweeps = driver_hals_fused(&X, f, gp, r, parts, inner, inner_tol, l1, l2, A, S, REAL(num), dxs,
                                       threads);
            have_share = 1;
        } else {
            sweeps = driver_half(solver, &X, f, gp, r, beta, inner, inner_tol, l1, l2, A, S, 0, plan.fused,
                                 threads);
        }
    }
    if (share && !have_share) {
        scratch_reset();
        block_share(solver, &X, &sw, gp, f, r, beta, threads, REAL(num), isNull(den) ? NULL : REAL(den));
    }
    double loss = NA_REAL, xx_out = NA_REAL;
    if (want_loss) {
        scratch_reset();
        if (solver == SOLVER_HALS && upd && R_FINITE(xx)) {
            /* the expansion of the fit in memory (hals_loss), from the H
             * half's product and Gram matrix: no pass over the block */
            double *HH = (double *) R_alloc((size_t) r * r, sizeof(double));
            loss = driver_hals_loss(&X, xx, A, S, l2, gp, f, r, HH);
        } else {
            loss = loss_factored(&X, gp, f, r, beta, threads);
            if (solver == SOLVER_HALS && !R_FINITE(xx)) xx_out = block_xx(&X);
        }
    }
    scratch_end();

    const char *nm[] = {"f", "loss", "sweeps", "num", "den", "xx", "deferred"};
    int nout = (int) (sizeof(nm) / sizeof(nm[0]));
    SEXP out = PROTECT(allocVector(VECSXP, nout)); nprotect++;
    SEXP names = PROTECT(allocVector(STRSXP, nout)); nprotect++;
    for (int k = 0; k < nout; k++) SET_STRING_ELT(names, k, mkChar(nm[k]));
    setAttrib(out, R_NamesSymbol, names);
    SET_VECTOR_ELT(out, 0, F);
    SET_VECTOR_ELT(out, 1, ScalarReal(loss));
    SET_VECTOR_ELT(out, 2, ScalarReal(sweeps));
    SET_VECTOR_ELT(out, 3, num);
    SET_VECTOR_ELT(out, 4, den);
    SET_VECTOR_ELT(out, 5, ScalarReal(xx_out));
    SET_VECTOR_ELT(out, 6, ScalarLogical(deferred));
    UNPROTECT(nprotect);
    return out;
}

/* The W step from the totals of the column blocks' shares (HALS and MU;
 * the shares from C_block_half, above): C_block_w_step(hold, dims,
 * wt, h, num, den, control, hh) takes the W half's step from the totals,
 * exactly as in memory: MU's ratio with its EPS_DEN floor and exponent,
 * HALS's column sweeps (hals_half with the product given).  hold: the
 * held-out pattern of t(X) (its columns are the rows of X), dims = c(n, m).
 * control = list(solver, beta, inner, inner_tol, l1, l2, threads).  For
 * HALS, hh = H H' (r x r) or NULL to make it here; the result's hh is the
 * one used (NULL for MU), so a survey fold's W step, taken a band of rows
 * of X at a time (R/blocks-rank.R), makes it once per W half. */
SEXP C_block_w_step(SEXP hold, SEXP dims, SEXP wt, SEXP h, SEXP num, SEXP den, SEXP control, SEXP hh)
{
    int solver = (int) ctl_num(control, "solver"), inner = (int) ctl_num(control, "inner");
    int threads = (int) ctl_num(control, "threads");
    double beta = ctl_num(control, "beta"), inner_tol = ctl_num(control, "inner_tol");
    double l1 = ctl_num(control, "l1"), l2 = ctl_num(control, "l2");
    if (threads < 1) threads = 1;
    if (solver != SOLVER_HALS && solver != SOLVER_MU)
        error("internal error: the column-block W half is for HALS and MU");
    if (TYPEOF(dims) != INTSXP || XLENGTH(dims) != 2) error("internal error: 'dims' must be 2 integers");
    int n = INTEGER(dims)[0], m = INTEGER(dims)[1];
    if (!isReal(wt) || !isReal(h) || !isMatrix(wt) || !isMatrix(h) || !isReal(num))
        error("internal error: factors and sums must be double matrices");
    int r = nrows(wt);
    if (ncols(wt) != m || nrows(h) != r || ncols(h) != n || XLENGTH(num) != (R_xlen_t) r * m)
        error("internal error: factor shapes do not match the data");
    if (solver == SOLVER_MU && (!isReal(den) || XLENGTH(den) != (R_xlen_t) r * m))
        error("internal error: MU needs its denominators");
    nmf_data Xt;
    data_init(&Xt, n, m);
    data_read_held_out(hold, &Xt);
    nmf_switches sw;
    read_switches(&sw);
    Xt.blas = sw.blas;

    int nprotect = 0;
    SEXP ws = PROTECT(allocVector(VECSXP, 64)); nprotect++;
    scratch_begin(ws);
    SEXP F = PROTECT(duplicate(wt)); nprotect++;
    SEXP HH = R_NilValue;
    double *f = REAL(F), sweeps = 0.0;
    if (solver == SOLVER_HALS) {
        double *A = (double *) R_alloc((size_t) r * m + 1, sizeof(double));
        double *S = (double *) R_alloc((size_t) r * r, sizeof(double));
        memcpy(A, REAL(num), (size_t) r * m * sizeof(double));
        /* H H' as hals_half makes it, or as an earlier band's call made it */
        HH = PROTECT(allocMatrix(REALSXP, r, r)); nprotect++;
        if (isNull(hh)) {
            gram(REAL(h), r, n, REAL(HH), Xt.blas);
        } else {
            if (!isReal(hh) || XLENGTH(hh) != (R_xlen_t) r * r) error("internal error: 'hh' must be the r x r H H'");
            memcpy(REAL(HH), REAL(hh), (size_t) r * r * sizeof(double));
        }
        memcpy(S, REAL(HH), (size_t) r * r * sizeof(double));
        for (int k = 0; k < r; k++) S[k + k * r] += l2;
        sweeps = driver_hals_given(&Xt, f, REAL(h), r, inner, inner_tol, l1, A, S, threads);
    } else {
        /* mu.c's step, entry by entry (mu_half_dense, half) */
        double gam = mu_gamma(beta);
        const double *nu = REAL(num), *de = REAL(den);
        for (size_t t = 0; t < (size_t) r * m; t++) {
            double d = de[t] + l1 + l2 * f[t];
            if (!(d > EPS_DEN)) d = EPS_DEN;
            f[t] *= mu_step(nu[t] / d, gam);
        }
    }
    scratch_end();
    SEXP out = PROTECT(allocVector(VECSXP, 3)); nprotect++;
    SEXP names = PROTECT(allocVector(STRSXP, 3)); nprotect++;
    SET_STRING_ELT(names, 0, mkChar("f"));
    SET_STRING_ELT(names, 1, mkChar("sweeps"));
    SET_STRING_ELT(names, 2, mkChar("hh"));
    setAttrib(out, R_NamesSymbol, names);
    SET_VECTOR_ELT(out, 0, F);
    SET_VECTOR_ELT(out, 1, ScalarReal(sweeps));
    SET_VECTOR_ELT(out, 2, HH);
    UNPROTECT(nprotect);
    return out;
}

/* C_block_prepare(buf, src, scale, hi, hj): a dense block of columns in the
 * layout the entries above read, made in place in buf (an m x nc double
 * matrix that R/blocks.R allocates once per block shape for one fit and
 * reuses for every block of that shape, never a user's object, so it is
 * written to here as rhdf5's H5Dread(buf =) writes to it): buf = src / scale
 * (src NULL: buf already holds the block's values as read; a double or
 * integer array of the block's length otherwise, integer NA becoming NA),
 * then the entries (hi[t], hj[t]) (0-based, held out or NA) set to zero.
 * The scale is an exact power of two, so the division is exact and the
 * values are those of the scaled copy in memory (prepare_data()), bit for
 * bit (made as a multiplication by the reciprocal, below).  Returns NULL. */
SEXP C_block_prepare(SEXP buf, SEXP src, SEXP scale, SEXP hi, SEXP hj)
{
    if (!isReal(buf) || !isMatrix(buf)) error("internal error: the block buffer must be a double matrix");
    R_xlen_t len = XLENGTH(buf);
    int m = nrows(buf), nc = ncols(buf);
    double sc = asReal(scale);
    if (!(sc > 0) || !R_FINITE(sc)) error("internal error: the scale must be positive");
    double *b = REAL(buf);
    /* a power of two (as prepare_data() makes it): times its reciprocal,
     * exact, so rounded as the division is, for the cost of a
     * multiplication (the division made the in-place pass compute-bound);
     * any other scale by the division */
    int ex, pow2 = frexp(sc, &ex) == 0.5 && R_FINITE(1.0 / sc) && 1.0 / sc != 0.0;
    double inv = 1.0 / sc;
    if (!isNull(src)) {
        if (XLENGTH(src) != len) error("internal error: the block does not match its buffer");
        if (isReal(src)) {
            const double *v = REAL(src);
            if (pow2) for (R_xlen_t t = 0; t < len; t++) b[t] = v[t] * inv;
            else for (R_xlen_t t = 0; t < len; t++) b[t] = v[t] / sc;
        } else if (isInteger(src)) {
            const int *v = INTEGER(src);
            for (R_xlen_t t = 0; t < len; t++) b[t] = v[t] == NA_INTEGER ? NA_REAL : v[t] / sc;
        } else {
            error("internal error: a block must be double or integer");
        }
    } else if (sc != 1.0) {
        if (pow2) scale_in_place(b, len, inv);
        else for (R_xlen_t t = 0; t < len; t++) b[t] /= sc;
    }
    if (TYPEOF(hi) != INTSXP || TYPEOF(hj) != INTSXP || XLENGTH(hi) != XLENGTH(hj))
        error("internal error: held-out indices must be integer vectors of one length");
    const int *ii = INTEGER(hi), *jj = INTEGER(hj);
    for (R_xlen_t t = 0; t < XLENGTH(hi); t++) {
        if (ii[t] < 0 || ii[t] >= m || jj[t] < 0 || jj[t] >= nc) error("internal error: held-out index out of the block");
        b[ii[t] + (size_t) jj[t] * m] = 0.0;
    }
    return R_NilValue;
}

/* C_block_heap_keep(): on glibc, keep the heap's memory between the blocks'
 * chunk reads.  HDF5 (1.10) takes a filtered chunk (HDF5Array writes
 * every dataset with shuffle and deflate, at level 0 too) through its
 * filter pipeline in buffers of the chunk's size that it mallocs and frees
 * for every chunk: the read, the inflated and the unshuffled bytes.  Under
 * glibc's adaptive thresholds (mmap threshold = the largest block freed so
 * far, trim threshold = twice it) those buffers are mapped afresh or handed
 * back to the system by heap trimming after every chunk, so each page of
 * every chunk is faulted in two or three times (bench/NOTES.md, issue 24:
 * system time, and how fast depending on what the process freed before).
 * Set here: the thresholds glibc's own rule reaches after freeing one
 * block at its cap (DEFAULT_MMAP_THRESHOLD_MAX: 4 Mi longs, 32 MiB on
 * 64-bit), i.e. blocks up to the cap from the heap and up to twice it kept
 * free there; from that state the adaptive rule would change nothing
 * more.  Chunks up to the cap then cycle through memory already mapped
 * (at most two of a chunk's buffers are live at once).  R/blocks.R calls
 * this once per session for a filtered file and leaves thresholds the
 * user set (MALLOC_*_ or GLIBC_TUNABLES) alone.  Returns TRUE when
 * applied. */
SEXP C_block_heap_keep(void)
{
    int done = 0;
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    int cap = (int) (4 * 1024 * 1024 * sizeof(long));
    done = mallopt(M_MMAP_THRESHOLD, cap) == 1 && mallopt(M_TRIM_THRESHOLD, 2 * cap) == 1;
#endif
    return ScalarLogical(done);
}
