/* kernels_sparse.c: products with sparse data (CSC) for small rank.
 *
 * The gathers of the H half walk each column's non-zeros (sgx: the product
 * G X; skl: the beta = 1 numerator, which needs the model only where
 * x != 0), and the scatter of the W half (ssc) gives the products with the
 * transpose without a transposed copy, in the same order of terms as the
 * gathers would on one.  Padded factors and one instantiation per padded
 * size as in kernels_dense.c; kernels_sparse_template.h compiles them once
 * per CPU target and kernels_fill_sparse() puts them in the dispatch table
 * (kernels.h).  Each output column is owned by one thread and summed in
 * storage order, so results do not depend on the number of threads.
 */
#include "betanmf.h"
#include <string.h>

#include "simd.h"
#include "kernels.h"

/* sparse data (CSC): Ap[, j] = sum over the non-zeros x_ij of x_ij Gp[, i] */
static inline __attribute__((always_inline))
void sgx_body(const double *Gp, const int *p, const int *idx, const double *xv, double xs,
              int j0, int j1, double *Ap, int nv)
{
    size_t rp = (size_t) nv * 4;
    for (int j = j0; j < j1; j++) {
        v4 a[MAXV];
        UNROLL
        for (int v = 0; v < nv; v++) a[v] = VSET1(0.0);
        for (int t = p[j]; t < p[j + 1]; t++) {
            double b = xv[t] * xs;
            const double *g = Gp + (size_t) idx[t] * rp;
            UNROLL
            for (int v = 0; v < nv; v++) {
                v4 gv;
                VLOAD(gv, g + 4 * v);
                a[v] += b * gv;
            }
        }
        UNROLL
        for (int v = 0; v < nv; v++) VSTORE(Ap + (size_t) j * rp + 4 * v, a[v]);
    }
}

/* the KL numerator on sparse data: Ap[, j] = sum_nz (x_ij / y_ij) Gp[, i]
 * with y_ij = Gp[, i] . Fp[, j] floored at EPS_Y (Fevotte & Idier, beta = 1) */
static inline __attribute__((always_inline))
void skl_body(const double *Gp, const int *p, const int *idx, const double *xv, double xs,
              const double *Fp, int j0, int j1, double *Ap, int nv)
{
    size_t rp = (size_t) nv * 4;
    for (int j = j0; j < j1; j++) {
        v4 a[MAXV], f[MAXV];
        UNROLL
        for (int v = 0; v < nv; v++) {
            a[v] = VSET1(0.0);
            VLOAD(f[v], Fp + (size_t) j * rp + 4 * v);
        }
        for (int t = p[j]; t < p[j + 1]; t++) {
            if (xv[t] == 0.0) continue;
            const double *g = Gp + (size_t) idx[t] * rp;
            v4 gv[MAXV], s = VSET1(0.0);
            UNROLL
            for (int v = 0; v < nv; v++) {
                VLOAD(gv[v], g + 4 * v);
                s += gv[v] * f[v];
            }
            double y = (s[0] + s[1]) + (s[2] + s[3]);
            if (y < EPS_Y) y = EPS_Y;
            double c = xv[t] * xs / y;
            UNROLL
            for (int v = 0; v < nv; v++) a[v] += c * gv[v];
        }
        UNROLL
        for (int v = 0; v < nv; v++) VSTORE(Ap + (size_t) j * rp + 4 * v, a[v]);
    }
}

/* The W half of a sparse fit without a transposed copy of the data: the
 * output column i (row i of the user's CSC matrix) is
 *   Ap[, i] = sum over stored columns j, in order, of c_ij Hp[, j]
 * with c = x_ij (the product, kl = 0) or x_ij / y_ij, y_ij = Fp[, i] . Hp[, j]
 * floored at EPS_Y (the beta = 1 numerator, kl = 1).  Each call owns the
 * output rows [i0, i1) (one cache-sized block) and walks every stored
 * column's entries in that range (start[j]: the first of them), so each
 * output column adds the same terms in the same order as the gather kernels
 * sgx_body / skl_body would on a transposed copy: bit for bit the same. */
static inline __attribute__((always_inline))
void ssc_body(const double *Hp, const int *p, const int *idx, const double *xv, double xs,
              const int *start, int n, int i0, int i1, const double *Fp, int kl, double *Ap, int nv)
{
    size_t rp = (size_t) nv * 4;
    for (size_t i = (size_t) i0; i < (size_t) i1; i++)
        UNROLL
        for (int v = 0; v < nv; v++) {
            v4 z = VSET1(0.0);
            VSTORE(Ap + i * rp + 4 * v, z);
        }
    for (int j = 0; j < n; j++) {
        /* each stored column's slice of this block starts at an address
         * the hardware cannot guess: fetch a few columns ahead */
        if (j + PF_AHEAD < n) {
            PREFETCH(idx + start[j + PF_AHEAD]);
            PREFETCH(xv + start[j + PF_AHEAD]);
        }
        int t = start[j], end = p[j + 1];
        if (t >= end || idx[t] >= i1) continue;
        v4 h[MAXV];
        UNROLL
        for (int v = 0; v < nv; v++) VLOAD(h[v], Hp + (size_t) j * rp + 4 * v);
        for (; t < end && idx[t] < i1; t++) {
            double c = xv[t];
            size_t i = (size_t) idx[t];
            if (kl) {
                if (c == 0.0) continue;
                v4 s = VSET1(0.0);
                UNROLL
                for (int v = 0; v < nv; v++) {
                    v4 f;
                    VLOAD(f, Fp + i * rp + 4 * v);
                    s += h[v] * f;
                }
                double y = (s[0] + s[1]) + (s[2] + s[3]);
                if (y < EPS_Y) y = EPS_Y;
                c = c * xs / y;
            } else c *= xs;
            VAXPY_MEM(Ap + i * rp, c, h, nv);
        }
    }
}


/* what the column ranges of one product share */
typedef struct {
    const double *G, *F;
    const nmf_data *D;
    int nv;
    double *A;
} product_args;

/* sparse X (CSC): the product G X (F NULL) or the beta = 1 numerator with
 * the padded F, for the columns [j0, j1) */
static long sparse_range(const void *ctx, int t, int j0, int j1)
{
    const product_args *a = ctx;
    const nmf_data *X = a->D;
    (void) t;
    if (a->F) kern.skl(a->G, a->nv, X->p, X->i, X->x, X->xs, a->F, j0, j1, a->A);
    else kern.sgx(a->G, a->nv, X->p, X->i, X->x, X->xs, j0, j1, a->A);
    return 0;
}

/* A (r x ncol) = G (r x nrow) X for sparse X (CSC), columns shared among
 * threads in contiguous ranges; each column summed in storage order */
void kernel_sparse_gx(const double *G, int r, const nmf_data *X, double *A, int threads)
{
    int nv = (r + 3) / 4, rp = 4 * nv, ncol = X->ncol;
    product_args a = {kernel_pad(G, r, rp, (size_t) X->nrow), NULL, X, nv,
                      (double *) scratch_alloc((size_t) rp * ncol + 1, sizeof(double))};
    parallel_ranges(ncol, threads, sparse_range, &a);
    kernel_unpad(a.A, rp, A, r, (size_t) ncol);
}

/* NUM (r x ncol): the beta = 1 multiplicative numerator on sparse X */
void kernel_sparse_klnum(const double *G, int r, const nmf_data *X, const double *F, double *NUM,
                         int threads)
{
    int nv = (r + 3) / 4, rp = 4 * nv, ncol = X->ncol;
    double *Gp = kernel_pad(G, r, rp, (size_t) X->nrow);
    double *Fp = kernel_pad(F, r, rp, (size_t) ncol);
    product_args a = {Gp, Fp, X, nv,
                      (double *) scratch_alloc((size_t) rp * ncol + 1, sizeof(double))};
    parallel_ranges(ncol, threads, sparse_range, &a);
    kernel_unpad(a.A, rp, NUM, r, (size_t) ncol);
}

/* A (r x m) for the W half of a sparse fit (Xt flagged sparse_trans: its
 * arrays are the user's m x n CSC matrix): the product H t(X) (kl = 0) or
 * the beta = 1 numerator with the current F = t(W) (kl = 1), one block of
 * output rows per task; blocks never share an output column, so the thread
 * count changes nothing */
void kernel_sparse_scatter(const double *H, int r, const nmf_data *Xt, const double *F, double *A,
                           int kl, int threads)
{
    int nv = (r + 3) / 4, rp = 4 * nv, n = Xt->nrow, m = Xt->ncol, nb = Xt->nblk, bs = Xt->bsize;
    double *Hp = kernel_pad(H, r, rp, (size_t) n);
    double *Fp = kl ? kernel_pad(F, r, rp, (size_t) m) : NULL;
    double *Ap = (double *) scratch_alloc((size_t) rp * m + 1, sizeof(double));
    int nthr = threads > 0 ? threads : 1;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(dynamic, 1)
#endif
    for (int b = 0; b < nb; b++) {
        int i0 = b * bs, i1 = i0 + bs < m ? i0 + bs : m;
        const int *st = Xt->bstart + (size_t) b * n;
        kern.ssc(Hp, nv, Xt->p, Xt->i, Xt->x, Xt->xs, st, n, i0, i1, Fp, kl, Ap);
    }
    kernel_unpad(Ap, rp, A, r, (size_t) m);
}

/* the builds of the kernels above, one per target */
#include "target_base.h"
#include "kernels_sparse_template.h"
#ifdef HAVE_X86_DISPATCH
#include "target_avx2.h"
#include "kernels_sparse_template.h"
#endif

void kernels_fill_sparse(betanmf_kernels *k, int avx2)
{
    k->sgx = PICK(avx2, sgx);
    k->skl = PICK(avx2, skl);
    k->ssc = PICK(avx2, ssc);
}
