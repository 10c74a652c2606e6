/* hals.c: beta = 2 by hierarchical alternating least squares.
 *
 * Cichocki & Phan (2009), "Fast local algorithms for large scale nonnegative
 * matrix and tensor factorizations", IEICE Trans. Fund. E92-A; with the
 * repeated inner sweeps of Gillis & Glineur (2012), "Accelerated multiplicative
 * updates and hierarchical ALS algorithms for NMF", Neural Computation 24.
 *
 * For the factor F (r x ncol) with the other factor G (r x nrow) fixed, the
 * loss 1/2 ||X - G'F||^2 separates over the columns of F; per column the
 * rank-one block update of component k is the closed form
 *     f_k <- max(0, f_k + (a_k - l1 - sum_l S_kl f_l) / (S_kk + l2))
 * with a = G x_j (the product with the data, paid once per half update) and
 * S = G G' (the Gram matrix).  Updating row i of W for k = 1..r in turn is
 * exactly the column-wise HALS sweep of the papers, because row i of the new
 * W depends on row i only.  The m x n residual is never formed.
 *
 * Held-out entries (a 0/1 mask): the data values there are zero already, so
 * a is right as computed; the Gram matrix of column j loses the held-out rows'
 * outer products, S_j = S - sum_{i held out} g_i g_i', O(r^2) per entry.
 */
#include "betanmf.h"

static void sweep_column(double *f, const double *a, const double *S, int r,
                         int inner, double inner_tol, double l1)
{
    double first = 0.0;
    for (int it = 0; it < inner; it++) {
        double change = 0.0;
        for (int k = 0; k < r; k++) {
            double skk = S[k + k * r];
            if (!(skk > 0.0)) continue; /* component k absent from G: f_k is free, leave it */
            double num = a[k] - l1;
            const double *sk = S + (size_t) k * r;
            for (int l = 0; l < r; l++) num -= sk[l] * f[l];
            double nv = f[k] + num / skk;
            if (nv < 0.0) nv = 0.0;
            double d = nv - f[k];
            change += d * d;
            f[k] = nv;
        }
        /* Gillis & Glineur: stop the inner sweeps once they no longer pay */
        if (it == 0) first = change;
        else if (change <= inner_tol * first) break;
        if (change == 0.0) break;
    }
}

void hals_half(const nmf_data *X, double *F, const double *G, int r,
               int inner, double inner_tol, double l1, double l2,
               double *A, double *S, int threads)
{
    int ncol = X->ncol;
    product_gx(X, G, r, A, threads);
    gram(G, r, X->nrow, S);
    for (int k = 0; k < r; k++) S[k + k * r] += l2;
    const int *hp = X->hp, *hi = X->hi;
    int nthr = threads > 0 ? threads : 1;
    double *Sw = hp ? (double *) R_alloc((size_t) nthr * r * r, sizeof(double)) : NULL;

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int j = 0; j < ncol; j++) {
        const double *Sj = S;
        if (hp && hp[j + 1] > hp[j]) {
            double *Sl = Sw + (size_t) thread_id() * r * r;
            for (int t = 0; t < r * r; t++) Sl[t] = S[t];
            for (int t = hp[j]; t < hp[j + 1]; t++) {
                const double *g = G + (size_t) hi[t] * r;
                for (int b = 0; b < r; b++)
                    for (int a2 = 0; a2 < r; a2++) Sl[a2 + b * r] -= g[a2] * g[b];
            }
            Sj = Sl;
        }
        sweep_column(F + (size_t) j * r, A + (size_t) j * r, Sj, r, inner, inner_tol, l1);
    }
}
