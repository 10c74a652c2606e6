/* data.c: the two orientations of the data matrix.
 *
 * Every solver updates H from X (m x n) and t(W) from t(X) (n x m) with the
 * same column kernel, so each fit needs X in both orientations.  Sparse X and
 * the held-out pattern are transposed once per fit by a counting sort
 * (O(nnz) time and memory, never m x n); dense X is transposed only when the
 * column kernels need to walk it (multiplicative updates), because the BLAS
 * product of the HALS path can read the original array transposed.
 * All memory comes from R_alloc, so it is released when .Call returns,
 * normally or through an error or interrupt.
 */
#include "betanmf.h"

int data_is_sparse(const nmf_data *d) { return d->p != NULL; }

/* CSC transpose of an nrow x ncol pattern (with optional values) */
static void csc_transpose(int nrow, int ncol, const int *p, const int *i,
                          const double *x, int **tp, int **ti, double **tx)
{
    R_xlen_t nnz = p[ncol];
    int *cp = (int *) R_alloc((size_t) nrow + 1, sizeof(int));
    int *ci = (int *) R_alloc(nnz > 0 ? (size_t) nnz : 1, sizeof(int));
    double *cx = x ? (double *) R_alloc(nnz > 0 ? (size_t) nnz : 1, sizeof(double)) : NULL;
    int *next = (int *) R_alloc((size_t) nrow + 1, sizeof(int));
    for (int r = 0; r <= nrow; r++) cp[r] = 0;
    for (R_xlen_t k = 0; k < nnz; k++) cp[i[k] + 1]++;
    for (int r = 0; r < nrow; r++) cp[r + 1] += cp[r];
    for (int r = 0; r < nrow; r++) next[r] = cp[r];
    /* walking the columns in order keeps the row indices of the transpose
     * sorted, which the kernels rely on only for cache friendliness */
    for (int j = 0; j < ncol; j++)
        for (int k = p[j]; k < p[j + 1]; k++) {
            int dst = next[i[k]]++;
            ci[dst] = j;
            if (x) cx[dst] = x[k];
        }
    *tp = cp; *ti = ci;
    if (tx) *tx = cx;
}

/* Fill `out` with the transpose of `in`.  need_dense: materialise a dense
 * transpose (the column kernels need contiguous columns); otherwise a dense
 * input is passed through flagged as transposed for the BLAS path. */
void data_transpose(const nmf_data *in, nmf_data *out, int need_dense)
{
    out->nrow = in->ncol;
    out->ncol = in->nrow;
    out->dense = NULL; out->dense_trans = 0;
    out->p = out->i = NULL; out->x = NULL;
    out->hp = out->hi = NULL;
    if (in->p) {
        int *tp, *ti; double *tx;
        csc_transpose(in->nrow, in->ncol, in->p, in->i, in->x, &tp, &ti, &tx);
        out->p = tp; out->i = ti; out->x = tx;
    } else if (need_dense) {
        size_t m = (size_t) in->nrow, n = (size_t) in->ncol;
        double *t = (double *) R_alloc(m * n, sizeof(double));
        const size_t B = 64; /* blocked so both sides stay in cache */
        for (size_t jb = 0; jb < n; jb += B)
            for (size_t ib = 0; ib < m; ib += B) {
                size_t je = jb + B < n ? jb + B : n, ie = ib + B < m ? ib + B : m;
                for (size_t j = jb; j < je; j++)
                    for (size_t i = ib; i < ie; i++)
                        t[j + i * n] = in->dense[i + j * m];
            }
        out->dense = t;
    } else {
        out->dense = in->dense;
        out->dense_trans = 1;
    }
    if (in->hp) {
        int *tp, *ti;
        csc_transpose(in->nrow, in->ncol, in->hp, in->hi, NULL, &tp, &ti, NULL);
        out->hp = tp; out->hi = ti;
    }
}
