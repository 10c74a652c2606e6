/* nmf.c: the alternating driver behind nmf(), predict() and refitting.
 *
 * Alternates a half update of t(W) (from t(X)) and of H (from X) with the
 * HALS (beta = 2), multiplicative (any beta) or coordinate-descent
 * (beta = 1) kernels until the loss,
 * evaluated every `check` iterations, decreases by less than a fraction
 * `tol` per iteration (of the current loss, or of a millionth of the
 * initial loss when the fit is closer to exact than that), or `maxit` is
 * reached.  With update_w = FALSE only H
 * moves (W held fixed): predict() and signature refitting.
 *
 * Everything allocated here comes from R_alloc or is PROTECTed, so a user
 * interrupt (checked once per iteration, outside any parallel region) or an
 * R error leaves nothing behind.
 */
#include "betanmf.h"
#include <math.h>
#include <string.h>
#include <stdlib.h>

/* largest dense m x n for which unfused HALS keeps a transposed copy (32 MB;
 * from 2^20 entries the one-pass update of hals.c needs none) */
#define TRANSPOSE_COPY_MAX ((size_t) 1 << 22)

/* HALS loss from quantities the H half update already paid for:
 * 1/2 ||X_obs - Y_obs||^2 = 1/2 (sum x^2 - 2 <A, H> + <S, H H'> - sum_ho y^2)
 * where A = t(W) X and S = t(W) W (held-out x are zero already). */
static double hals_loss(const nmf_data *X, double xx, const double *A,
                        const double *S, double l2, const double *Wt,
                        const double *H, int r, double *HH)
{
    int n = X->ncol;
    double ah = 0.0, sh = 0.0, ho = 0.0;
    for (size_t t = 0; t < (size_t) r * n; t++) ah += A[t] * H[t];
    gram(H, r, n, HH);
    for (int a = 0; a < r; a++)
        for (int b = 0; b < r; b++)
            sh += (S[a + b * r] - (a == b ? l2 : 0.0)) * HH[a + b * r];
    if (X->hp)
        for (int j = 0; j < n; j++)
            for (int t = X->hp[j]; t < X->hp[j + 1]; t++) {
                const double *g = Wt + (size_t) X->hi[t] * r, *h = H + (size_t) j * r;
                double y = 0.0;
                for (int k = 0; k < r; k++) y += g[k] * h[k];
                ho += y * y;
            }
    double L = 0.5 * (xx - 2.0 * ah + sh - ho);
    return L > 0.0 ? L : 0.0; /* cancellation can leave -1e-16 * ||X||^2 */
}

SEXP C_nmf_fit(SEXP x, SEXP sp, SEXP dims, SEXP hold, SEXP wt0, SEXP h0,
               SEXP sbeta, SEXP ssolver, SEXP control, SEXP supdate_w,
               SEXP sthreads, SEXP sverbose)
{
    int nprotect = 0;
    int m = INTEGER(dims)[0], n = INTEGER(dims)[1];
    int r = nrows(h0);
    if (ncols(h0) != n || nrows(wt0) != r || ncols(wt0) != m)
        error("internal error: factor shapes do not match the data");
    if (XLENGTH(control) != 9) error("internal error: control must have 9 entries");
    double beta = asReal(sbeta);
    int solver = asInteger(ssolver), update_w = asLogical(supdate_w);
    int threads = asInteger(sthreads), verbose = 0, run = 0;
    /* verbose: FALSE, or c(unit, run) from R: the loss is printed in the
     * user's units (the solver's times unit = scale^beta, as finish_factors()
     * reports it) and labelled with the restart it belongs to (run > 0) */
    double unit = 1.0;
    if (isReal(sverbose) && XLENGTH(sverbose) == 2) {
        verbose = 1;
        unit = REAL(sverbose)[0];
        run = (int) REAL(sverbose)[1];
    } else verbose = asLogical(sverbose) == 1;
    const double *ctl = REAL(control);
    int maxit = (int) ctl[0], check = (int) ctl[2], inner = (int) ctl[3];
    double tol = ctl[1], inner_tol = ctl[4];
    double l1w = ctl[5], l1h = ctl[6], l2w = ctl[7], l2h = ctl[8];
    if (check < 1) check = 1;
    if (threads < 1) threads = 1;

    nmf_data X, Xt;
    data_init(&X, m, n);
    if (!isNull(sp)) {
        X.i = INTEGER(VECTOR_ELT(sp, 0));
        X.p = INTEGER(VECTOR_ELT(sp, 1));
        X.x = REAL(VECTOR_ELT(sp, 2));
        /* the values in the solver's units are x * xs: R passes the user's
         * values with the power-of-two scale rather than a scaled copy */
        if (XLENGTH(sp) > 3) X.xs = asReal(VECTOR_ELT(sp, 3));
        if (XLENGTH(VECTOR_ELT(sp, 1)) != (R_xlen_t) n + 1)
            error("internal error: column pointers do not match the data");
    } else {
        if (XLENGTH(x) != (R_xlen_t) m * n) error("internal error: data size");
        X.dense = REAL(x);
    }
    if (!isNull(hold)) {
        X.hp = INTEGER(VECTOR_ELT(hold, 0));
        X.hi = INTEGER(VECTOR_ELT(hold, 1));
    }
    if (solver == SOLVER_CD && beta != 1.0)
        error("internal error: coordinate descent is for beta = 1");
    /* a dense transposed copy lets the W half use the register-tiled G X
     * kernel instead of H t(X) on the original array (35 against 27
     * GFLOP/s at 2000 x 2000, and more for small m): MU needs it anyway;
     * HALS takes it while it costs at most TRANSPOSE_COPY_MAX entries */
    int copy = solver == SOLVER_MU || (size_t) m * n <= TRANSPOSE_COPY_MAX;
    /* HALS on dense data: the H half makes the W half's product in the
     * same pass over X (hals.c), so there is no copy to walk */
    int hparts = solver == SOLVER_HALS ? hals_fused_parts(&X, r) : 0;
    if (hparts) copy = 0;
    /* ... except the fused update of small ranks, whose W half reads the
     * user's array along its rows (mu_dense.c) */
    if (solver == SOLVER_MU && mu_fused(&X, beta, r)) copy = 0;
    /* coordinate descent walks the columns of t(X) too: a dense copy; the
     * rows of sparse data come block by block from the user's arrays
     * (kl_cd.c), with no copy */
    if (solver == SOLVER_CD) copy = 1;
    if (update_w) data_transpose(&X, &Xt, copy, r);
    if (solver == SOLVER_CD) {
        data_count_positive(&X);
        if (update_w) data_count_positive(&Xt);
    }

    /* the kernels' scratch, reused across iterations (scratch.c) */
    SEXP ws = PROTECT(allocVector(VECSXP, 64)); nprotect++;
    scratch_begin(ws);

    SEXP Wt = PROTECT(duplicate(wt0)); nprotect++;
    SEXP H = PROTECT(duplicate(h0)); nprotect++;
    double *wt = REAL(Wt), *h = REAL(H);

    int big = m > n ? m : n;
    double *A = (double *) R_alloc((size_t) r * big + 1, sizeof(double));
    double *S = (double *) R_alloc((size_t) r * r, sizeof(double));
    double *HH = (double *) R_alloc((size_t) r * r, sizeof(double));
    /* the fused HALS fit's H t(X), made by each H half for the next W half */
    double *B = hparts && update_w ? (double *) R_alloc((size_t) r * m + 1, sizeof(double)) : NULL;
    double xx = 0.0;
    if (solver == SOLVER_HALS) {
        if (X.p) for (int t = 0; t < X.p[n]; t++) xx += XVAL(&X, t) * XVAL(&X, t);
        else for (size_t t = 0; t < (size_t) m * n; t++) xx += X.dense[t] * X.dense[t];
    }

    /* the trace starts small and doubles when full: maxit can be huge while a
     * fit converges after a few checks (and maxit / check + 3 overflows int
     * at maxit = INT_MAX), so it is not sized by maxit up front */
    int ntrace = 0;
    size_t cap = (size_t) maxit / (size_t) check + 3;
    if (cap > 1024) cap = 1024;
    double *trace = (double *) R_alloc(cap, sizeof(double));
    int *trace_it = (int *) R_alloc(cap, sizeof(int));
    /* the initial loss: for HALS through one product and a Gram matrix (the
     * expansion hals_loss uses), a fraction of a pass over the data with an
     * r-term dot product per entry; directly when the expansion would
     * cancel (a start already within a millionth of ||X||^2) */
    double prev;
    if (solver == SOLVER_HALS) {
        product_gx(&X, wt, r, A, threads);
        gram(wt, r, m, S);
        prev = hals_loss(&X, xx, A, S, 0.0, wt, h, r, HH);
        if (!(prev > 1e-6 * xx)) prev = loss_factored(&X, wt, h, r, beta, threads);
        if (B) product_gx(&Xt, h, r, B, threads); /* the first W half's product */
    } else prev = loss_factored(&X, wt, h, r, beta, threads);
    double loss0 = prev;
    trace[ntrace] = prev; trace_it[ntrace++] = 0;
    int prev_it = 0, it = 0, converged = 0;
    /* HALS: inner sweeps run, summed over the rows of W, the columns of H
     * and the iterations (what the sweeps cost: 2 r^2 flops each) */
    double sweeps = 0.0;
    if (!R_FINITE(prev)) error("the loss at the initial factors is not finite");

    for (it = 1; it <= maxit; it++) {
        /* the kernels' scratch starts over each iteration (scratch.c); any
         * R_alloc made in the iteration is released after the updates and
         * after the loss (only the trace outlives them) */
        const void *vmax = vmaxget();
        scratch_reset();
        if (solver == SOLVER_HALS) {
            if (hparts) {
                if (update_w) sweeps += hals_half(&Xt, wt, h, r, inner, inner_tol, l1w, l2w, B, S, 1, threads);
                sweeps += hals_half_fused(&X, h, wt, r, hparts, inner, inner_tol, l1h, l2h, A, S, B, threads);
            } else {
                if (update_w) sweeps += hals_half(&Xt, wt, h, r, inner, inner_tol, l1w, l2w, A, S, 0, threads);
                sweeps += hals_half(&X, h, wt, r, inner, inner_tol, l1h, l2h, A, S, 0, threads);
            }
        } else if (solver == SOLVER_CD) {
            if (update_w) kl_cd_half(&Xt, wt, h, r, inner, l1w, l2w, threads);
            kl_cd_half(&X, h, wt, r, inner, l1h, l2h, threads);
        } else {
            if (update_w) mu_half(&Xt, wt, h, r, beta, l1w, l2w, threads);
            mu_half(&X, h, wt, r, beta, l1h, l2h, threads);
        }
        vmaxset(vmax);
        if (it % check == 0 || it == maxit) {
            double cur = (solver == SOLVER_HALS)
                ? hals_loss(&X, xx, A, S, l2h, wt, h, r, HH)
                : loss_factored(&X, wt, h, r, beta, threads);
            if (!R_FINITE(cur)) error("internal error: the loss became non-finite at iteration %d", it);
            vmaxset(vmax);
            if ((size_t) ntrace == cap) {
                double *t2 = (double *) R_alloc(2 * cap, sizeof(double));
                int *i2 = (int *) R_alloc(2 * cap, sizeof(int));
                memcpy(t2, trace, cap * sizeof(double));
                memcpy(i2, trace_it, cap * sizeof(int));
                trace = t2; trace_it = i2; cap *= 2;
            }
            trace[ntrace] = cur; trace_it[ntrace++] = it;
            /* relative to the current loss; on (nearly) exactly factorizable
             * data the loss itself heads to zero, so below a millionth of
             * the initial loss the decrease is measured against that floor */
            double denom = prev > 1e-6 * loss0 ? prev : 1e-6 * loss0;
            double rel = (denom > 0.0) ? (prev - cur) / denom / (it - prev_it) : 0.0;
            if (verbose) {
                if (run > 0) Rprintf("run %d  ", run);
                Rprintf("iteration %5d  loss %.10g  relative decrease %.3e\n", it, cur * unit, rel);
            }
            prev = cur; prev_it = it;
            /* tol = 0 asks for exactly maxit iterations (benchmarks, tests) */
            if (cur == 0.0 || (tol > 0.0 && rel < tol)) { converged = 1; break; }
        }
        R_CheckUserInterrupt();
    }
    if (it > maxit) it = maxit;

    /* the last iteration is always a check, so `prev` is the loss at the
     * final factors already; HALS's check is the expansion through the
     * products, which cancels near an exact fit: there, recompute */
    double final = prev;
    if (solver == SOLVER_HALS && !(prev > 1e-6 * xx)) {
        scratch_reset();
        final = loss_factored(&X, wt, h, r, beta, threads);
    }
    scratch_end();
    SEXP out = PROTECT(allocVector(VECSXP, 7)); nprotect++;
    SEXP names = PROTECT(allocVector(STRSXP, 7)); nprotect++;
    SEXP tr = PROTECT(allocVector(REALSXP, ntrace)); nprotect++;
    SEXP tri = PROTECT(allocVector(INTSXP, ntrace)); nprotect++;
    for (int t = 0; t < ntrace; t++) { REAL(tr)[t] = trace[t]; INTEGER(tri)[t] = trace_it[t]; }
    SET_VECTOR_ELT(out, 0, Wt); SET_STRING_ELT(names, 0, mkChar("wt"));
    SET_VECTOR_ELT(out, 1, H); SET_STRING_ELT(names, 1, mkChar("h"));
    SET_VECTOR_ELT(out, 2, tr); SET_STRING_ELT(names, 2, mkChar("trace"));
    SET_VECTOR_ELT(out, 3, tri); SET_STRING_ELT(names, 3, mkChar("trace_iter"));
    SET_VECTOR_ELT(out, 4, ScalarInteger(it)); SET_STRING_ELT(names, 4, mkChar("iterations"));
    SET_VECTOR_ELT(out, 5, ScalarReal(final)); SET_STRING_ELT(names, 5, mkChar("loss"));
    SET_VECTOR_ELT(out, 6, ScalarReal(solver == SOLVER_HALS ? sweeps : NA_REAL));
    SET_STRING_ELT(names, 6, mkChar("sweeps"));
    setAttrib(out, R_NamesSymbol, names);
    setAttrib(out, install("converged"), ScalarLogical(converged));
    UNPROTECT(nprotect);
    return out;
}
