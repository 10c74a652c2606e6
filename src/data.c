/* data.c: the two orientations of the data matrix.
 *
 * Every solver updates H from X (m x n) and t(W) from t(X) (n x m) with the
 * same column kernel, so each fit needs X in both orientations.  Sparse X is
 * never copied: the transposed orientation reads the user's CSC arrays by
 * scattering (kernels_sparse.c, kernel_sparse_scatter) or, for coordinate descent,
 * by sorting one block of rows at a time into columns (kl_cd.c), so a
 * sparse fit needs memory for the data once.  The held-out pattern
 * (integers only) is transposed once per fit by a counting sort (O(nnz),
 * never m x n); dense X is transposed only when the column kernels need to
 * walk it (multiplicative updates, coordinate descent), because the product
 * kernels can read the original array transposed.
 * All memory comes from R_alloc, so it is released when .Call returns,
 * normally or through an error or interrupt.
 *
 * The .Call entries read their data here, by name and in one field order
 * everywhere: sparse data list(p, i, x[, xs]) (the dgCMatrix slots, xs the
 * power-of-two scale of the values), held-out patterns list(p, i).
 */
#include "betanmf.h"
#include <stdlib.h>
#include <string.h>

/* the element `name` of a named list; a missing one is an internal error
 * when required, NULL otherwise */
SEXP list_elt(SEXP list, const char *name, int required)
{
    SEXP names = getAttrib(list, R_NamesSymbol);
    if (TYPEOF(list) == VECSXP && !isNull(names))
        for (R_xlen_t k = 0; k < XLENGTH(list); k++)
            if (strcmp(CHAR(STRING_ELT(names, k)), name) == 0) return VECTOR_ELT(list, k);
    if (required) error("internal error: missing '%s'", name);
    return NULL;
}

/* the environment switches, once per .Call (see nmf_switches) */
void read_switches(nmf_switches *sw)
{
    sw->blas = getenv("BETANMF_BLAS") != NULL;
    sw->nofuse = getenv("BETANMF_NOFUSE") != NULL;
    sw->fuse = getenv("BETANMF_FUSE") != NULL;
    sw->minvol_nested = getenv("BETANMF_MINVOL_NESTED") != NULL;
}

static const int *int_elt(SEXP list, const char *name, R_xlen_t len)
{
    SEXP v = list_elt(list, name, 1);
    if (TYPEOF(v) != INTSXP || (len >= 0 && XLENGTH(v) != len))
        error("internal error: '%s' must be an integer vector of length %lld", name, (long long) len);
    return INTEGER(v);
}

/* column pointers p (length ncol + 1, from 0 to nnz, non-decreasing) and
 * row indices i (nnz, in [0, nrow)) by name: whatever is checked here the
 * kernels may index with */
static void read_pattern(SEXP list, int nrow, int ncol, const int **p, const int **i)
{
    const int *pp = int_elt(list, "p", (R_xlen_t) ncol + 1);
    if (pp[0] != 0) error("internal error: 'p' must start at 0");
    for (int j = 0; j < ncol; j++)
        if (pp[j + 1] < pp[j]) error("internal error: 'p' must not decrease");
    const int *ii = int_elt(list, "i", pp[ncol]);
    for (int t = 0; t < pp[ncol]; t++)
        if (ii[t] < 0 || ii[t] >= nrow) error("internal error: 'i' out of range");
    *p = pp; *i = ii;
}

/* X (m x n) from a dense array or a sparse list(p, i, x[, xs]) */
void data_read(SEXP dense, SEXP sparse, int m, int n, nmf_data *X)
{
    data_init(X, m, n);
    if (!isNull(sparse)) {
        read_pattern(sparse, m, n, &X->p, &X->i);
        SEXP x = list_elt(sparse, "x", 1), xs = list_elt(sparse, "xs", 0);
        if (TYPEOF(x) != REALSXP || XLENGTH(x) != X->p[n])
            error("internal error: 'x' must be a double vector of length %d", X->p[n]);
        X->x = REAL(x);
        /* the values in the solver's units are x * xs: R passes the user's
         * values with the power-of-two scale rather than a scaled copy */
        if (xs) X->xs = asReal(xs);
    } else {
        if (TYPEOF(dense) != REALSXP || XLENGTH(dense) != (R_xlen_t) m * n)
            error("internal error: data size");
        X->dense = REAL(dense);
    }
}

/* the held-out pattern list(p, i) of X, or none */
void data_read_held_out(SEXP hold, nmf_data *X)
{
    if (!isNull(hold)) read_pattern(hold, X->nrow, X->ncol, &X->hp, &X->hi);
}

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
    d->blas = 0;
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
    data_transpose_sized(in, out, need_cols, r, 8192);
}

/* the same, with a sparse scatter's output blocks of about block_doubles
 * doubles (its table has one entry per block and column: larger blocks, a
 * smaller table); the products' bits do not depend on the blocks, each
 * output row summing over the stored columns in order whatever they are */
void data_transpose_sized(const nmf_data *in, nmf_data *out, int need_cols, int r, int block_doubles)
{
    data_init(out, in->ncol, in->nrow);
    out->blas = in->blas;
    if (in->p) {
        out->p = in->p; out->i = in->i; out->x = in->x; out->xs = in->xs;
        out->sparse_trans = 1;
        /* a block of the output (r padded x bsize doubles) of ~64 kB
         * for the fits (block_doubles 8192): measured on the 20000 x
         * 3000 benchmark set, larger blocks miss the cache on the output
         * and smaller ones on the start of each stored column's slice */
        int rp = 4 * ((r + 3) / 4), m = in->nrow, n = in->ncol;
        int bs = block_doubles / (rp > 0 ? rp : 4);
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
