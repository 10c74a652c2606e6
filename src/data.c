/* data.c: the two orientations of the data matrix.
 *
 * Every solver updates H from X (m x n) and t(W) from t(X) (n x m) with the
 * same column kernel, so each fit needs X in both orientations.  Sparse X is
 * never copied: the transposed orientation reads the user's CSC arrays by
 * scattering (kernels.c, kernel_sparse_scatter) or, for coordinate descent,
 * by sorting one block of rows at a time into columns (kl_cd.c), so a
 * sparse fit needs memory for the data once.  The held-out pattern
 * (integers only) is transposed once per fit by a counting sort (O(nnz),
 * never m x n); dense X is transposed only when the column kernels need to
 * walk it (multiplicative updates, coordinate descent), because the product
 * kernels can read the original array transposed.
 * All memory comes from R_alloc, so it is released when .Call returns,
 * normally or through an error or interrupt.
 */
#include "betanmf.h"

/* CSC transpose of an nrow x ncol pattern */
static void csc_transpose(int nrow, int ncol, const int *p, const int *i, int **tp, int **ti)
{
    R_xlen_t nnz = p[ncol];
    int *cp = (int *) R_alloc((size_t) nrow + 1, sizeof(int));
    int *ci = (int *) R_alloc(nnz > 0 ? (size_t) nnz : 1, sizeof(int));
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
        }
    *tp = cp; *ti = ci;
}

void data_init(nmf_data *d, int nrow, int ncol)
{
    d->nrow = nrow; d->ncol = ncol;
    d->dense = NULL; d->dense_trans = 0;
    d->p = d->i = NULL; d->x = NULL; d->xs = 1.0;
    d->sparse_trans = 0; d->bsize = 0; d->nblk = 0; d->bstart = NULL;
    d->hp = d->hi = NULL;
    d->npos = NULL;
}

/* the number of positive entries of each column of dense data, counted once
 * per fit: coordinate descent walks a mostly positive column whole and
 * gathers the positive entries of the others (kl_cd.c) */
void data_count_positive(nmf_data *d)
{
    if (!d->dense || d->dense_trans) return;
    int *np = (int *) R_alloc((size_t) d->ncol + 1, sizeof(int));
    for (int j = 0; j < d->ncol; j++) {
        const double *xc = d->dense + (size_t) j * d->nrow;
        int c = 0;
        for (int i = 0; i < d->nrow; i++) c += xc[i] > 0.0;
        np[j] = c;
    }
    d->npos = np;
}

/* Fill `out` with the transpose of `in`.  need_cols 1: materialise a dense
 * transpose (the column kernels need contiguous columns); otherwise a dense
 * input is passed through flagged as transposed for the product kernels.
 * Sparse input is never copied: `out` points at the same CSC arrays, flagged
 * sparse_trans, with a table of where each stored column enters each block
 * of rows, so the W half can scatter one cache-sized block of its output
 * at a time (r: the rank, which sets the block size). */
void data_transpose(const nmf_data *in, nmf_data *out, int need_cols, int r)
{
    data_init(out, in->ncol, in->nrow);
    if (in->p) {
        out->p = in->p; out->i = in->i; out->x = in->x; out->xs = in->xs;
        out->sparse_trans = 1;
        /* a block of the output (r padded x bsize doubles) of ~64 kB:
         * measured on the 20000 x 3000 benchmark set, larger blocks miss
         * the cache on the output and smaller ones on the start of each
         * stored column's slice */
        int rp = 4 * ((r + 3) / 4), m = in->nrow, n = in->ncol;
        int bs = 8192 / (rp > 0 ? rp : 4);
        if (bs < 64) bs = 64;
        if (bs > m) bs = m > 0 ? m : 1;
        int nb = m > 0 ? (m + bs - 1) / bs : 1;
        /* the table has nb * n entries: keep it below the data's own
         * nnz + n, with larger blocks when the data are very sparse */
        double cap = (double) in->p[n] / (n > 0 ? n : 1) + 1.0;
        if (nb > cap) {
            nb = (int) cap;
            bs = (m + nb - 1) / nb;
            nb = (m + bs - 1) / bs;
        }
        int *bst = (int *) R_alloc((size_t) nb * n + 1, sizeof(int));
        for (int j = 0; j < n; j++) {
            int t = in->p[j], end = in->p[j + 1];
            for (int b = 0; b < nb; b++) {
                int lo = b * bs;
                while (t < end && in->i[t] < lo) t++;
                bst[(size_t) b * n + j] = t;
            }
        }
        out->bsize = bs; out->nblk = nb; out->bstart = bst;
    } else if (need_cols) {
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
        csc_transpose(in->nrow, in->ncol, in->hp, in->hi, &tp, &ti);
        out->hp = tp; out->hi = ti;
    }
}
