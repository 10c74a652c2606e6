/* product.c: the products with the data that every solver needs.
 *
 * product_gx computes A = G X for an r x nrow factor G and the data in one
 * orientation: R's BLAS dgemm for dense data, and for sparse data a gather
 * over each column's non-zeros (O(nnz r)), one column per iteration so the
 * columns can be shared among threads without changing any sum's order.
 */
#include "betanmf.h"

/* The W half of a sparse fit, any rank (see kernel_sparse_scatter, which
 * does the same for r <= 32 in vector registers): A[, i] = sum over the
 * non-zeros x_ij of row i of the user's matrix, in column order, of
 *   c H[, j],  c = x_ij (mode 0), x_ij / y_ij (mode 1, the beta = 1
 *   numerator), x_ij y_ij^(beta - 2) (mode 2), y_ij = F[, i] . H[, j]
 * floored at EPS_Y.  Blocks of output columns per task. */
void scatter_sparse(const double *H, int r, const nmf_data *Xt, const double *F, double *A,
                    int mode, double beta, int threads)
{
    int n = Xt->nrow, m = Xt->ncol, nb = Xt->nblk, bs = Xt->bsize;
    if (mode <= 1 && kernels_available(r)) {
        kernel_sparse_scatter(H, r, Xt, F, A, mode, threads);
        return;
    }
    const int *p = Xt->p, *idx = Xt->i;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads > 0 ? threads : 1) schedule(dynamic, 1)
#endif
    for (int b = 0; b < nb; b++) {
        int i0 = b * bs, i1 = i0 + bs < m ? i0 + bs : m;
        const int *st = Xt->bstart + (size_t) b * n;
        for (size_t t = (size_t) i0 * r; t < (size_t) i1 * r; t++) A[t] = 0.0;
        for (int j = 0; j < n; j++) {
            const double *h = H + (size_t) j * r;
            for (int t = st[j]; t < p[j + 1] && idx[t] < i1; t++) {
                double c = XVAL(Xt, t);
                size_t i = (size_t) idx[t];
                if (mode > 0) {
                    if (c == 0.0) continue;
                    const double *f = F + i * r;
                    double y = 0.0;
                    for (int k = 0; k < r; k++) y += h[k] * f[k];
                    if (y < EPS_Y) y = EPS_Y;
                    c = (mode == 1) ? c / y : c * pow_beta(y, beta - 2.0);
                }
                double *a = A + i * r;
                for (int k = 0; k < r; k++) a[k] += c * h[k];
            }
        }
    }
}

void product_gx(const nmf_data *X, const double *G, int r, double *A, int threads)
{
    int ncol = X->ncol, nrow = X->nrow;
    if (X->sparse_trans) {
        scatter_sparse(G, r, X, NULL, A, 0, 0.0, threads);
        return;
    }
    if (!X->p) {
        const double one = 1.0, zero = 0.0;
        if (nrow == 0 || ncol == 0) {
            for (size_t k = 0; k < (size_t) r * ncol; k++) A[k] = 0.0;
            return;
        }
        if (kernels_available(r) && !X->blas) {
            if (X->dense_trans) kernel_gxt(G, r, X->dense, nrow, ncol, A, threads);
            else kernel_gx(G, r, X->dense, nrow, ncol, A, threads);
            return;
        }
        if (X->dense_trans)
            F77_CALL(dgemm)("N", "T", &r, &ncol, &nrow, &one, G, &r,
                            X->dense, &ncol, &zero, A, &r FCONE FCONE);
        else
            F77_CALL(dgemm)("N", "N", &r, &ncol, &nrow, &one, G, &r,
                            X->dense, &nrow, &zero, A, &r FCONE FCONE);
        return;
    }
    if (kernels_available(r)) {
        kernel_sparse_gx(G, r, X, A, threads);
        return;
    }
    const int *p = X->p, *ix = X->i;
    const double *xv = X->x;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int j = 0; j < ncol; j++) {
        double *a = A + (size_t) j * r;
        for (int k = 0; k < r; k++) a[k] = 0.0;
        for (int t = p[j]; t < p[j + 1]; t++) {
            const double *g = G + (size_t) ix[t] * r;
            double v = xv[t] * X->xs;
            for (int k = 0; k < r; k++) a[k] += v * g[k];
        }
    }
}

/* S = F F' (r x r, both triangles filled) for an r x k factor F */
void gram(const double *F, int r, int k, double *S, int blas)
{
    const double one = 1.0, zero = 0.0;
    if (k == 0) {
        for (int t = 0; t < r * r; t++) S[t] = 0.0;
        return;
    }
    if (kernels_available(r) && !blas) {
        kernel_gram(F, r, (size_t) k, S);
        return;
    }
    F77_CALL(dsyrk)("U", "N", &r, &k, &one, F, &r, &zero, S, &r FCONE FCONE);
    for (int a = 0; a < r; a++)
        for (int b = a + 1; b < r; b++) S[b + a * r] = S[a + b * r];
}
