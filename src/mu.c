/* mu.c: any beta by majorisation-minimisation multiplicative updates.
 *
 * Fevotte & Idier (2011), "Algorithms for nonnegative matrix factorization
 * with the beta-divergence", Neural Computation 23(9), eq. (4.4)-(4.6):
 *     F <- F * [ G (X * Y^(beta-2)) / G Y^(beta-1) ]^gamma(beta)
 * with Y = G'F and gamma = 1/(2-beta) (beta < 1), 1 (1 <= beta <= 2),
 * 1/(beta-1) (beta > 2); with that exponent the loss never increases.
 *
 * Each column of F needs only its own column of X and of Y, so the update is
 * one fused pass per column: form y_i = g_i . f, accumulate numerator and
 * denominator, update f.  No m x n temporary exists.  beta = 1 is special:
 * the denominator is the column sums of G, and the numerator needs y only
 * where x != 0, so sparse data cost O(nnz r).  For beta != 1 on sparse data
 * the denominator still involves every y_i: O(nrow r) per column.
 *
 * Held-out entries have x = 0 already; they are removed from the
 * denominators explicitly (skipped, or subtracted for beta = 1).
 * Model values are floored at EPS_Y inside the ratios and the denominator at
 * EPS_DEN, so y^(beta-2) and the ratio stay finite (data are scaled to mean 1
 * by the caller, which makes these absolute floors meaningful).
 */
#include "betanmf.h"
#include <math.h>
#include <string.h>

/* coefficients of g_i in the numerator (cx) and denominator (cd) */
static inline void mu_coef(double x, double y, double beta, double *cx, double *cd)
{
    if (beta == 2.0) { *cx = x; *cd = y; }
    else if (beta == 1.0) { *cx = x / y; *cd = 1.0; }
    else if (beta == 0.0) { double iy = 1.0 / y; *cd = iy; *cx = x * iy * iy; }
    else {
        double t = pow_beta(y, beta - 2.0); /* one pow per entry: y^(beta-1) = t y */
        *cx = x * t; *cd = t * y;
    }
}

static inline double dot(const double *a, const double *b, int r)
{
    double s = 0.0;
    for (int k = 0; k < r; k++) s += a[k] * b[k];
    return s;
}

/* What MU needs of the data: its column kernels walk a dense transposed
 * copy for the W half, except the fused update of small ranks, whose W half
 * reads the user's array along its rows (mu_dense.c); BETANMF_NOFUSE turns
 * that update off, for comparisons. */
nmf_plan mu_plan(const nmf_data *X, double beta, int r, const nmf_switches *sw)
{
    nmf_plan plan = {0, 0, 0, 0};
    plan.fused = !sw->nofuse && mu_fused(X, beta, r);
    plan.copy = !plan.fused;
    return plan;
}

void mu_half(const nmf_data *X, double *F, const double *G, int r,
             double beta, double l1, double l2, int fused, int threads)
{
    if (X->dense_trans && fused) {
        mu_half_fused_rows(X, F, G, r, beta, l1, l2, threads);
        return;
    }
    if (!X->p && !X->dense_trans && kernels_available(r)) {
        mu_half_dense(X, F, G, r, beta, l1, l2, fused, threads);
        return;
    }
    int nrow = X->nrow, ncol = X->ncol;
    int nthr = threads > 0 ? threads : 1;
    double gam = mu_gamma(beta);
    int kl = (beta == 1.0);
    const int *hp = X->hp, *hi = X->hi;
    int sparse = X->p != NULL;

    double *gs = (double *) scratch_alloc((size_t) r, sizeof(double));
    for (int k = 0; k < r; k++) gs[k] = 0.0;
    for (int i = 0; i < nrow; i++)
        for (int k = 0; k < r; k++) gs[k] += G[k + (size_t) i * r];

    double *nd = (double *) scratch_alloc((size_t) nthr * 2 * r, sizeof(double));
    char *flag = NULL;
    if (hp && !kl) {
        flag = scratch_alloc((size_t) nthr * nrow, 1);
        memset(flag, 0, (size_t) nthr * nrow);
    }
    double *ybuf = (sparse && !kl) ? (double *) scratch_alloc((size_t) nthr * nrow, sizeof(double)) : NULL;
    /* beta = 1 on sparse data: every numerator at once through the
     * register-blocked kernel, O(nnz r) */
    double *klnum = NULL, *scnum = NULL;
    if (sparse && kl && X->sparse_trans) {
        /* the W half reads the user's matrix by scattering (no transposed copy) */
        klnum = (double *) scratch_alloc((size_t) r * ncol + 1, sizeof(double));
        scatter_sparse(G, r, X, F, klnum, 1, 1.0, threads);
    } else if (sparse && kl && kernels_available(r)) {
        klnum = (double *) scratch_alloc((size_t) r * ncol + 1, sizeof(double));
        kernel_sparse_klnum(G, r, X, F, klnum, threads);
    } else if (sparse && X->sparse_trans) {
        scnum = (double *) scratch_alloc((size_t) r * ncol + 1, sizeof(double));
        scatter_sparse(G, r, X, F, scnum, 2, beta, threads);
    }

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int j = 0; j < ncol; j++) {
        int tid = thread_id();
        double *num = nd + (size_t) tid * 2 * r, *den = num + r;
        double *f = F + (size_t) j * r;
        char *fl = flag ? flag + (size_t) tid * nrow : NULL;
        for (int k = 0; k < 2 * r; k++) num[k] = 0.0;
        if (fl) for (int t = hp[j]; t < hp[j + 1]; t++) fl[hi[t]] = 1;

        if (!sparse) {
            const double *xc = X->dense + (size_t) j * nrow;
            for (int i = 0; i < nrow; i++) {
                if (fl && fl[i]) continue;
                double x = xc[i];
                if (kl && x == 0.0) continue;
                const double *g = G + (size_t) i * r;
                double y = dot(g, f, r), cx, cd;
                if (y < EPS_Y) y = EPS_Y;
                mu_coef(x, y, beta, &cx, &cd);
                if (kl) for (int k = 0; k < r; k++) num[k] += cx * g[k];
                else for (int k = 0; k < r; k++) { num[k] += cx * g[k]; den[k] += cd * g[k]; }
            }
        } else if (kl && klnum) {
            for (int k = 0; k < r; k++) num[k] = klnum[k + (size_t) j * r];
        } else if (kl) {
            for (int t = X->p[j]; t < X->p[j + 1]; t++) {
                double x = XVAL(X, t);
                if (x == 0.0) continue;
                const double *g = G + (size_t) X->i[t] * r;
                double y = dot(g, f, r);
                if (y < EPS_Y) y = EPS_Y;
                double c = x / y;
                for (int k = 0; k < r; k++) num[k] += c * g[k];
            }
        } else {
            double *yb = ybuf + (size_t) tid * nrow;
            for (int i = 0; i < nrow; i++) {
                const double *g = G + (size_t) i * r;
                double y = dot(g, f, r), cx, cd;
                if (y < EPS_Y) y = EPS_Y;
                yb[i] = y;
                if (fl && fl[i]) continue;
                mu_coef(0.0, y, beta, &cx, &cd);
                for (int k = 0; k < r; k++) den[k] += cd * g[k];
            }
            if (scnum) for (int k = 0; k < r; k++) num[k] = scnum[k + (size_t) j * r];
            else for (int t = X->p[j]; t < X->p[j + 1]; t++) {
                double x = XVAL(X, t);
                if (x == 0.0) continue;
                double cx, cd;
                mu_coef(x, yb[X->i[t]], beta, &cx, &cd);
                const double *g = G + (size_t) X->i[t] * r;
                for (int k = 0; k < r; k++) num[k] += cx * g[k];
            }
        }
        if (kl) {
            for (int k = 0; k < r; k++) den[k] = gs[k];
            if (hp)
                for (int t = hp[j]; t < hp[j + 1]; t++) {
                    const double *g = G + (size_t) hi[t] * r;
                    for (int k = 0; k < r; k++) den[k] -= g[k];
                }
        }
        if (fl) for (int t = hp[j]; t < hp[j + 1]; t++) fl[hi[t]] = 0;

        for (int k = 0; k < r; k++) {
            double d = den[k] + l1 + l2 * f[k];
            if (!(d > EPS_DEN)) d = EPS_DEN;
            double ratio = num[k] / d;
            f[k] *= mu_step(ratio, gam);
        }
    }
}
