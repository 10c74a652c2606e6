/* kl_cd.c: beta = 1 (Poisson / KL) coefficients with the basis held fixed,
 * by cyclic coordinate descent with projected Newton steps.
 *
 * Hsieh & Dhillon (2011), "Fast coordinate descent methods with variable
 * selection for non-negative matrix factorization", KDD, section 5 (KL
 * divergence).  For one column x with W fixed, h >= 0 minimises
 *   f(h) = sum_i (y_i - x_i log y_i),  y = W h,
 * and along coordinate k, phi(d) = d s_k - sum_i x_i log(1 + w_ik d / y_i)
 * with s_k = sum_i w_ik (observed rows).  The Newton step
 * d = max(-h_k, -phi'(0) / phi''(0)) reaches the bound h_k = 0 exactly,
 * which multiplicative updates only approach.  A step d > 0 always lowers
 * phi (phi'' decreases along it, so Newton undershoots); a step d < 0 that
 * does not lower phi is halved until it does, so the loss never increases.  Only rows with x_i > 0 enter the logarithms, so
 * sparse data cost O(nnz r) per sweep.  Used by predict() and
 * fit_signatures() (update_w = FALSE); columns are independent, so threads
 * never change a result.
 */
#include "betanmf.h"
#include <math.h>

static void cd_column(const double *G, int r, const int *idx, const double *xv, int nz,
                      const double *s, double *y, double *f)
{
    for (int t = 0; t < nz; t++) {
        const double *g = G + (size_t) idx[t] * r;
        double a = 0.0;
        for (int k = 0; k < r; k++) a += g[k] * f[k];
        y[t] = a;
    }
    for (int k = 0; k < r; k++) {
        double grad = s[k], hess = 0.0;
        for (int t = 0; t < nz; t++) {
            double gk = G[k + (size_t) idx[t] * r];
            if (gk == 0.0) continue;
            double yt = y[t] < EPS_Y ? EPS_Y : y[t], q = xv[t] / yt;
            grad -= gk * q;
            hess += gk * gk * q / yt;
        }
        double d;
        if (hess > 0.0) {
            d = -grad / hess;
            if (d < -f[k]) d = -f[k];
        } else {
            d = (grad > 0.0) ? -f[k] : 0.0; /* linear in h_k: to the bound, or stay */
        }
        if (d == 0.0) continue;
        /* d > 0: phi'' decreases along the step, so the Newton step
         * undershoots and phi' stays <= 0 on [0, d]: a guaranteed decrease.
         * d < 0 can overshoot: check and halve. */
        int accepted = d > 0.0;
        for (int halve = 0; halve < 30 && !accepted; halve++) {
            double change = d * s[k];
            for (int t = 0; t < nz && R_FINITE(change); t++) {
                double gk = G[k + (size_t) idx[t] * r];
                if (gk == 0.0) continue;
                double ratio = gk * d / (y[t] < EPS_Y ? EPS_Y : y[t]);
                change -= (ratio > -1.0) ? xv[t] * log1p(ratio) : R_NegInf;
            }
            if (change <= 0.0) accepted = 1;
            else d *= 0.5;
        }
        if (!accepted) continue;
        f[k] += d;
        if (f[k] < 0.0) f[k] = 0.0;
        for (int t = 0; t < nz; t++) y[t] += G[k + (size_t) idx[t] * r] * d;
    }
}

void kl_cd_half(const nmf_data *X, double *F, const double *G, int r, int threads)
{
    int nrow = X->nrow, ncol = X->ncol, nthr = threads > 0 ? threads : 1;
    const int *hp = X->hp, *hi = X->hi;
    double *gs = (double *) scratch_alloc((size_t) r, sizeof(double));
    for (int k = 0; k < r; k++) gs[k] = 0.0;
    for (int i = 0; i < nrow; i++)
        for (int k = 0; k < r; k++) gs[k] += G[k + (size_t) i * r];
    int *idx = (int *) scratch_alloc((size_t) nthr * nrow + 1, sizeof(int));
    double *xv = (double *) scratch_alloc((size_t) nthr * nrow + 1, sizeof(double));
    double *y = (double *) scratch_alloc((size_t) nthr * nrow + 1, sizeof(double));
    double *s = (double *) scratch_alloc((size_t) nthr * r, sizeof(double));

#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int j = 0; j < ncol; j++) {
        int tid = thread_id();
        int *ix = idx + (size_t) tid * nrow, nz = 0;
        double *xx = xv + (size_t) tid * nrow, *yy = y + (size_t) tid * nrow, *sk = s + (size_t) tid * r;
        /* the observed positive entries of column j (held-out ones are zero) */
        if (X->p) {
            for (int t = X->p[j]; t < X->p[j + 1]; t++)
                if (X->x[t] > 0.0) { ix[nz] = X->i[t]; xx[nz++] = XVAL(X, t); }
        } else {
            const double *xc = X->dense + (size_t) j * nrow;
            for (int i = 0; i < nrow; i++)
                if (xc[i] > 0.0) { ix[nz] = i; xx[nz++] = xc[i]; }
        }
        for (int k = 0; k < r; k++) sk[k] = gs[k];
        if (hp)
            for (int t = hp[j]; t < hp[j + 1]; t++)
                for (int k = 0; k < r; k++) sk[k] -= G[k + (size_t) hi[t] * r];
        cd_column(G, r, ix, xx, nz, sk, yy, F + (size_t) j * r);
    }
}
