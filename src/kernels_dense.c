/* kernels_dense.c: register-blocked products with dense data for small rank.
 *
 * NMF's products are tall and skinny: A = G X with G r x nrow, r small
 * (typically 2..32), X nrow x ncol large.  A general GEMM (R's reference
 * BLAS in particular) is far from the machine's limit on these shapes, so
 * for r <= 32 we keep a whole r-vector of accumulators in SIMD registers:
 *
 *   gx  (X stored as nrow x ncol):  a_j  = sum_i x_ij g_i  (several columns
 *        at a time, so each load of g_i feeds several fused multiply-adds)
 *   gxt, hxt (X stored transposed, ncol x nrow, i.e. the data's own layout
 *        when updating W):  a_i += x_ji h_j for each stored column j
 *   gf  (the model's columns along contiguous rows of W: y = W f)
 *   gram (F F' for the Gram matrices of HALS and the loss)
 *
 * r is padded to a multiple of 4 doubles and each padded size is a separate
 * instantiation of one inline body (the accumulator count must be a
 * compile-time constant to live in registers: GX_CASES in simd.h).
 * kernels_dense_template.h compiles them once per CPU target and
 * kernels_fill_dense() puts this file's share in the dispatch table
 * (kernels.h).  Every output column is computed by one thread with a fixed
 * summation order, so results do not depend on the number of threads.
 */
#include "betanmf.h"
#include <limits.h>
#include <string.h>

#include "simd.h"
#include "kernels.h"

/* nc columns of A = Gp X from column j, restricted to the vt vectors of
 * padded rows from v0: a register tile of vt x nc accumulators with the vt
 * vectors of G kept in registers and each x broadcast once, so every load
 * feeds several fused multiply-adds (vt * nc of them for vt + nc loads).
 * Each output is a sum over the rows in order, whatever the tiling.
 * Gp is in the tile-packed layout of kernel_pack_gx: the tile's vectors of
 * all nrow rows are contiguous (from Gp + 4 v0 nrow, 4 vt doubles a row). */
#define GX_TV 3 /* vectors of G per register tile (gx_cols, kernel_pack_gx) */
static inline __attribute__((always_inline))
void gx_tile(const double *Gp, size_t rp, int v0, int vt, int nc, const double *X, size_t nrow,
             int j, double *Ap)
{
    v4 a[8][GX_TV];
    const double *x0 = X + (size_t) j * nrow, *g0 = Gp + 4 * (size_t) v0 * nrow;
    UNROLL
    for (int c = 0; c < nc; c++)
        UNROLL
        for (int v = 0; v < vt; v++) a[c][v] = VSET1(0.0);
    for (size_t i = 0; i < nrow; i++) {
        const double *g = g0 + i * 4 * (size_t) vt;
        v4 gv[GX_TV];
        UNROLL
        for (int v = 0; v < vt; v++) VLOAD(gv[v], g + 4 * v);
        UNROLL
        for (int c = 0; c < nc; c++) {
            double b = x0[i + (size_t) c * nrow]; /* scalar: broadcast from memory */
            UNROLL
            for (int v = 0; v < vt; v++) a[c][v] += b * gv[v];
        }
    }
    UNROLL
    for (int c = 0; c < nc; c++)
        UNROLL
        for (int v = 0; v < vt; v++) VSTORE(Ap + (size_t) (j + c) * rp + 4 * (v0 + v), a[c][v]);
}

/* nc columns from j, all nv vectors, in tiles of at most 3 vectors (a tile
 * of 3 x 4 accumulators plus 3 vectors of G fills the 16 AVX2 registers) */
static inline __attribute__((always_inline))
void gx_cols(const double *Gp, int nv, int nc, const double *X, size_t nrow, int j, double *Ap)
{
    size_t rp = (size_t) nv * 4;
    int v0 = 0;
    for (; v0 + GX_TV <= nv; v0 += GX_TV) gx_tile(Gp, rp, v0, GX_TV, nc, X, nrow, j, Ap);
    if (nv - v0 == 2) gx_tile(Gp, rp, v0, 2, nc, X, nrow, j, Ap);
    else if (nv - v0 == 1) gx_tile(Gp, rp, v0, 1, nc, X, nrow, j, Ap);
}

/* columns per pass for the tiles of gx_cols: 8 for r <= 4 (1 vector), 6 for
 * r <= 8 (2 vectors), else 4: as many accumulators as the registers hold
 * (bench/NOTES.md has the rates against two columns of all nv vectors) */
#define NCOLS(nv) ((nv) == 1 ? 8 : ((nv) == 2 ? 6 : 4))

/* A (rp x ncol, padded) = Gp (rp x nrow) X (nrow x ncol), columns [j0, j1) */
static inline __attribute__((always_inline))
void gx_body(const double *Gp, const double *X, size_t nrow, int j0, int j1, double *Ap,
             int nv)
{
    const int nc = NCOLS(nv);
    int j = j0;
    for (; j + nc <= j1; j += nc) gx_cols(Gp, nv, nc, X, nrow, j, Ap);
    /* the remainder in passes of 4, 2, 1 (never one latency-bound chain
     * for each left-over column) */
    if (nc > 4 && j + 4 <= j1) { gx_cols(Gp, nv, 4, X, nrow, j, Ap); j += 4; }
    if (j + 2 <= j1) { gx_cols(Gp, nv, 2, X, nrow, j, Ap); j += 2; }
    if (j < j1) gx_cols(Gp, nv, 1, X, nrow, j, Ap);
}

/* Ap[, i] += sum over nc stored columns from j of x_ij * Hp[:, j], rows
 * [i0, i1); the nc terms are summed pairwise before they meet A */
static inline __attribute__((always_inline))
void gxt_cols(const double *Hp, int nv, int nc, const double *D, size_t nout, int j,
              size_t i0, size_t i1, double *Ap)
{
    size_t rp = (size_t) nv * 4;
    const double *h = Hp + (size_t) j * rp; /* nc columns, read from L1 */
    const double *d0 = D + (size_t) j * nout;
    for (size_t i = i0; i < i1; i++) {
        double b[8];
        UNROLL
        for (int c = 0; c < nc; c++) b[c] = d0[i + (size_t) c * nout];
        double *a = Ap + i * rp;
        UNROLL
        for (int v = 0; v < nv; v++) {
            v4 t[8];
            UNROLL
            for (int c = 0; c < nc; c++) {
                v4 hv;
                VLOAD(hv, h + (size_t) c * rp + 4 * v);
                t[c] = b[c] * hv;
            }
            UNROLL
            for (int w = 1; w < nc; w *= 2)
                UNROLL
                for (int c = 0; c + w < nc; c += 2 * w) t[c] += t[c + w];
            v4 av;
            VLOAD(av, a + 4 * v);
            av += t[0];
            VSTORE(a + 4 * v, av);
        }
    }
}

/* Ap (rp x nout, padded) = sum over stored columns j of x_ij * Hp[:, j],
 * for output columns (= stored rows) i in [i0, i1).  D is nout x nin. */
static inline __attribute__((always_inline))
void gxt_body(const double *Hp, const double *D, size_t nout, int nin, size_t i0, size_t i1,
              double *Ap, int nv)
{
    size_t rp = (size_t) nv * 4;
    for (size_t i = i0; i < i1; i++)
        UNROLL
        for (int v = 0; v < nv; v++) {
            v4 z = VSET1(0.0);
            VSTORE(Ap + i * rp + 4 * v, z);
        }
    /* eight stored columns per pass: each load and store of A then carries
     * eight multiply-adds per vector, not two; H is read from L1 rather
     * than held */
    int j = 0;
    for (; j + 8 <= nin; j += 8) gxt_cols(Hp, nv, 8, D, nout, j, i0, i1, Ap);
    if (j + 4 <= nin) { gxt_cols(Hp, nv, 4, D, nout, j, i0, i1, Ap); j += 4; }
    if (j + 2 <= nin) { gxt_cols(Hp, nv, 2, D, nout, j, i0, i1, Ap); j += 2; }
    if (j < nin) gxt_cols(Hp, nv, 1, D, nout, j, i0, i1, Ap);
}

/* Bp[, i0 + c] += sum over the nin columns j of D of D[i0 + c, j] Hp[, j]
 * (D nout x nin, Hp rp x nin), for nc rows from i0 and the vt vectors of
 * padded rows from v0: the tile of gx_tile with the roles of the sum and
 * the output swapped.  The sums over j stay in registers and meet B once;
 * each j costs vt loads of H and nc broadcasts of D (contiguous: a column
 * of D) for vt * nc fused multiply-adds. */
static inline __attribute__((always_inline))
void hxt_tile(const double *Hp, size_t rp, int v0, int vt, int nc, const double *D, size_t nout,
              int nin, size_t i0, double *Bp)
{
    v4 a[4][3];
    UNROLL
    for (int c = 0; c < nc; c++)
        UNROLL
        for (int v = 0; v < vt; v++) a[c][v] = VSET1(0.0);
    for (int j = 0; j < nin; j++) {
        const double *h = Hp + (size_t) j * rp + 4 * v0, *d = D + (size_t) j * nout + i0;
        v4 hv[3];
        UNROLL
        for (int v = 0; v < vt; v++) VLOAD(hv[v], h + 4 * v);
        UNROLL
        for (int c = 0; c < nc; c++) {
            double b = d[c]; /* scalar: broadcast from memory */
            UNROLL
            for (int v = 0; v < vt; v++) a[c][v] += b * hv[v];
        }
    }
    UNROLL
    for (int c = 0; c < nc; c++)
        UNROLL
        for (int v = 0; v < vt; v++) {
            double *bp = Bp + (i0 + c) * rp + 4 * (v0 + v);
            v4 bv;
            VLOAD(bv, bp);
            bv += a[c][v];
            VSTORE(bp, bv);
        }
}

static inline __attribute__((always_inline))
void hxt_rows(const double *Hp, int nv, int nc, const double *D, size_t nout, int nin, size_t i,
              double *Bp)
{
    size_t rp = (size_t) nv * 4;
    int v0 = 0;
    for (; v0 + 3 <= nv; v0 += 3) hxt_tile(Hp, rp, v0, 3, nc, D, nout, nin, i, Bp);
    if (nv - v0 == 2) hxt_tile(Hp, rp, v0, 2, nc, D, nout, nin, i, Bp);
    else if (nv - v0 == 1) hxt_tile(Hp, rp, v0, 1, nc, D, nout, nin, i, Bp);
}

/* Bp[, i] += sum over the nin columns j of D (nout x nin) of D[i, j] Hp[, j],
 * rows i in [i0, i1), four at a time */
static inline __attribute__((always_inline))
void hxt_body(const double *Hp, const double *D, size_t nout, int nin, size_t i0, size_t i1,
              double *Bp, const double *pf, int npf, int nv)
{
    size_t i = i0;
    for (; i + 4 <= i1; i += 4) {
        /* the next block of the data, a cache line per column every 8 rows:
         * its product then reads it from cache instead of waiting on memory */
        if (pf && !(i & 7))
            for (int j = 0; j < npf; j++) PREFETCH(pf + (size_t) j * nout + i);
        hxt_rows(Hp, nv, 4, D, nout, nin, i, Bp);
    }
    if (i + 2 <= i1) { hxt_rows(Hp, nv, 2, D, nout, nin, i, Bp); i += 2; }
    if (i < i1) hxt_rows(Hp, nv, 1, D, nout, nin, i, Bp);
}

int kernels_available(int r) { return r >= 1 && r <= 4 * MAXV; }

/* Ap (padded) = Gp X for columns [j0, j1), on the calling thread; Gp from
 * kernel_pack_gx */
void kernel_gx_cols(const double *Gp, int nv, const double *X, size_t nrow, int j0, int j1, double *Ap)
{
    kern.gx(Gp, nv, X, nrow, j0, j1, Ap);
}

/* Bp[, i] += sum over the nin columns j of D (nout x nin) of D[i, j] Hp[, j],
 * rows i in [i0, i1), on the calling thread; Hp is rp x nin (padded).
 * pf: the npf columns (nout long) to fetch into cache meanwhile, or NULL. */
void kernel_gxt_acc(const double *Hp, int nv, const double *D, size_t nout, int nin,
                    size_t i0, size_t i1, double *Bp, const double *pf, int npf)
{
    kern.hxt(Hp, nv, D, nout, nin, i0, i1, Bp, pf, npf);
}

/* y_c = sum_k F[k, c] Gc[, k] for nb columns: Gc is nrow x r (column-major,
 * the layout of W), so the sums run along contiguous memory in vector lanes.
 * Four columns at a time share each load of Gc, in a 3 x 4 register tile
 * (twelve independent sums, enough to hide the latency of the fused
 * multiply-adds, where one column's two sums waited on each other; three
 * vectors of rows, not two, put 12 multiply-adds on each 7 loads instead of
 * 8 on 6: bench/NOTES.md); every entry is still the sum over k in order,
 * whatever the tiling. */
/* rows [i, i + 4 NV) of the nc columns: NV x nc sums in registers.  With
 * the data's columns X (nrow apart), Y gets x / max(y, EPS_Y) instead of y:
 * the KL coefficients of the blocked MU (mu.c), the same operations
 * as its separate pass, made while the sums are in registers.  That pass
 * ran one division per four entries after the products, so the divider
 * and the multiply-adds took turns; here a tile's divisions overlap the
 * next tile's multiply-adds, in part (bench/NOTES.md). */
static inline __attribute__((always_inline))
void gf_rows(const double *Gc, size_t nrow, int r, const double *F, int nc, double *Y, size_t i, int NV,
             const double *X, int wide)
{
    v4 a[4][3];
    UNROLL
    for (int c = 0; c < nc; c++)
        UNROLL
        for (int v = 0; v < NV; v++) a[c][v] = VSET1(0.0);
    for (int k = 0; k < r; k++) {
        v4 g[3];
        UNROLL
        for (int v = 0; v < NV; v++) VLOAD(g[v], Gc + i + 4 * v + (size_t) k * nrow);
        UNROLL
        for (int c = 0; c < nc; c++) {
            double b = F[k + (size_t) c * r];
            UNROLL
            for (int v = 0; v < NV; v++) a[c][v] += b * g[v];
        }
    }
    const v4 eps = VSET1(EPS_Y);
    UNROLL
    for (int c = 0; c < nc; c++)
        UNROLL
        for (int v = 0; v < NV; v++) {
            size_t at = (size_t) c * nrow + i + 4 * v;
            if (X) {
                v4 xv;
                VLOAD(xv, X + at);
                VSTORE(Y + at, xv / VFLOOR(wide, a[c][v], eps));
            } else
                VSTORE(Y + at, a[c][v]);
        }
}

static inline __attribute__((always_inline))
void gf_tile(const double *Gc, size_t nrow, int r, const double *F, int nc, double *Y, const double *X,
             int wide)
{
    size_t i = 0;
    for (; i + 12 <= nrow; i += 12) gf_rows(Gc, nrow, r, F, nc, Y, i, 3, X, wide);
    if (i + 8 <= nrow) { gf_rows(Gc, nrow, r, F, nc, Y, i, 2, X, wide); i += 8; }
    if (i + 4 <= nrow) { gf_rows(Gc, nrow, r, F, nc, Y, i, 1, X, wide); i += 4; }
    for (int c = 0; c < nc; c++) {
        const double *f = F + (size_t) c * r;
        double *y = Y + (size_t) c * nrow;
        for (size_t i1 = i; i1 < nrow; i1++) {
            double a = 0.0;
            for (int k = 0; k < r; k++) a += f[k] * Gc[i1 + (size_t) k * nrow];
            if (X) y[i1] = X[(size_t) c * nrow + i1] / (a < EPS_Y ? EPS_Y : a);
            else y[i1] = a;
        }
    }
}

static inline __attribute__((always_inline))
void gf_body(const double *Gc, size_t nrow, int r, const double *F, int nb, double *Y, const double *X,
             int wide)
{
    int c = 0;
    for (; c + 4 <= nb; c += 4)
        gf_tile(Gc, nrow, r, F + (size_t) c * r, 4, Y + (size_t) c * nrow, X ? X + (size_t) c * nrow : NULL, wide);
    for (; c < nb; c++)
        gf_tile(Gc, nrow, r, F + (size_t) c * r, 1, Y + (size_t) c * nrow, X ? X + (size_t) c * nrow : NULL, wide);
}

/* Y (nrow x nb) = t(Gc) F for nb columns of F (r x nb); Gc is nrow x r */
void kernel_gf_cols(const double *Gc, size_t nrow, int r, const double *F, int nb, double *Y)
{
    kern.gf(Gc, nrow, r, F, nb, Y, NULL);
}

/* Q (nrow x nb) = X / max(t(Gc) F, EPS_Y), X the nb data columns (nrow x nb) */
void kernel_gf_kl_cols(const double *Gc, size_t nrow, int r, const double *F, int nb, const double *X,
                       double *Q)
{
    kern.gf(Gc, nrow, r, F, nb, Q, X);
}

/* S (rp x rp, padded, both triangles) = sum over the k columns g of F (r x k)
 * of g g': one rank-one update per column, accumulated in a fixed order, so
 * S is exactly symmetric (entry (a, b) and (b, a) add the same products) */
static inline __attribute__((always_inline))
void gram_body(const double *F, int r, size_t k, double *Sp, int nv)
{
    size_t rp = (size_t) nv * 4;
    double gp[4 * MAXV];
    for (size_t t = 0; t < rp * rp; t++) Sp[t] = 0.0;
    for (size_t t = (size_t) r; t < rp; t++) gp[t] = 0.0;
    for (size_t i = 0; i < k; i++) {
        const double *g = F + i * (size_t) r;
        for (int a = 0; a < r; a++) gp[a] = g[a];
        v4 gv[MAXV];
        UNROLL
        for (int v = 0; v < nv; v++) VLOAD(gv[v], gp + 4 * v);
        for (int a = 0; a < r; a++) VAXPY_MEM(Sp + (size_t) a * rp, gp[a], gv, nv);
    }
}
/* S (r x r, full) = F F' for an r x k factor, r <= 32.  For long factors
 * through hxt (the register tile of the one-pass H half: S[, b] = sum over
 * the k columns j of F[b, j] F[, j], with F as both its data, r x k, and
 * its padded factor), whose 4 x 12 tile keeps the sums in registers; the
 * rank-one updates of gram_body load and store a row of S per entry of F,
 * on the main thread alone while the other threads wait.  Each entry is the
 * same sum over j in order either way, so both give the same bits, and
 * S[a, b] and S[b, a] add the same products: S is exactly symmetric. */
#define GRAM_HXT_MIN 64
void kernel_gram(const double *F, int r, size_t k, double *S)
{
    int nv = (r + 3) / 4, rp = 4 * nv;
    double Sp[16 * MAXV * MAXV];
    if (k >= GRAM_HXT_MIN && k <= (size_t) INT_MAX) {
        const double *Fp = rp == r ? F : kernel_pad(F, r, rp, k);
        for (int t = 0; t < rp * r; t++) Sp[t] = 0.0;
        kernel_gxt_acc(Fp, nv, F, (size_t) r, (int) k, 0, (size_t) r, Sp, NULL, 0);
    } else
        kern.gram(F, r, nv, k, Sp);
    for (int b = 0; b < r; b++)
        for (int a = 0; a < r; a++) S[a + b * r] = Sp[a + (size_t) b * rp];
}

/* G (r x k) in the layout gx_tile reads: zero-padded to rp = 4 nv rows and
 * cut into the tiles of gx_cols (3 vectors each, the last 1 or 2), each
 * tile's k rows contiguous -- for r <= 12 (one tile) the padded rp x k
 * array.  A tile read from the padded array took 12 of every 20 doubles of
 * a row at r = 20, so its rows straddled cache lines it only partly used
 * (bench/NOTES.md).  Where r is a multiple of 4 up to 12 that layout is
 * G's own, and G itself is returned, with no copy. */
const double *kernel_pack_gx(const double *G, int r, size_t k)
{
    int nv = (r + 3) / 4;
    if (r == 4 * nv && nv <= GX_TV) return G;
    double *P = (double *) scratch_alloc((size_t) 4 * nv * k, sizeof(double));
    for (int v0 = 0; v0 < nv; v0 += GX_TV) {
        int vt = nv - v0 < GX_TV ? nv - v0 : GX_TV, w = 4 * vt;
        double *T = P + (size_t) 4 * v0 * k;
        for (size_t c = 0; c < k; c++)
            for (int t = 0; t < w; t++) {
                int row = 4 * v0 + t;
                T[c * w + t] = row < r ? G[c * r + row] : 0.0;
            }
    }
    return P;
}

/* copy an r x k factor into a zero-padded rp x k array */
double *kernel_pad(const double *F, int r, int rp, size_t k)
{
    double *P = (double *) scratch_alloc((size_t) rp * k, sizeof(double));
    for (size_t c = 0; c < k; c++) {
        memcpy(P + c * rp, F + c * r, (size_t) r * sizeof(double));
        for (int t = r; t < rp; t++) P[c * rp + t] = 0.0;
    }
    return P;
}

/* the r x k factor out of its padded rp x k copy */
void kernel_unpad(const double *P, int rp, double *A, int r, size_t k)
{
    for (size_t c = 0; c < k; c++) memcpy(A + c * r, P + c * rp, (size_t) r * sizeof(double));
}

/* G (r x nrow) by coordinate, Gc[i + k nrow] = G[k, i], and, if gs is not
 * NULL, its row sums gs.  Each sum in four parts (rows i mod 4), added in a
 * fixed order, so that no single chain of additions per k bounds the loop.
 * Four rows a step, the rank a constant up to 4, so that the loops unroll
 * and the parts stay in registers (each coordinate's four values as one
 * vector would be built through the stack in the baseline build).  The loss (loss.c)
 * copies W the same way, without the sums (computed and not read: four
 * additions a row, next to the copy's stores). */
static inline __attribute__((always_inline))
void coord_body(const double *G, const int R, size_t nrow, double *Gc, double *gs)
{
    double p0[4 * MAXV], p1[4 * MAXV], p2[4 * MAXV], p3[4 * MAXV];
    for (int k = 0; k < (R); k++) p0[k] = p1[k] = p2[k] = p3[k] = 0.0;
    size_t i = 0;
    for (; i + 4 <= nrow; i += 4) {
        const double *g = G + i * (size_t) (R);
        double *c = Gc + i;
        UNROLL for (int k = 0; k < (R); k++) {
            double a = g[k], b = g[k + (R)], d = g[k + 2 * (R)], e = g[k + 3 * (R)];
            c[(size_t) k * nrow] = a;
            c[(size_t) k * nrow + 1] = b;
            c[(size_t) k * nrow + 2] = d;
            c[(size_t) k * nrow + 3] = e;
            p0[k] += a;
            p1[k] += b;
            p2[k] += d;
            p3[k] += e;
        }
    }
    for (; i < nrow; i++)
        for (int k = 0; k < (R); k++) {
            double v = G[k + i * (size_t) (R)];
            double *p = (i & 3) == 0 ? p0 : (i & 3) == 1 ? p1 : (i & 3) == 2 ? p2 : p3;
            Gc[i + (size_t) k * nrow] = v;
            p[k] += v;
        }
    if (gs)
        for (int k = 0; k < (R); k++) gs[k] = (p0[k] + p1[k]) + (p2[k] + p3[k]);
}

void coordinate_copy(const double *G, int r, size_t nrow, double *Gc, double *gs)
{
    switch (r) {
    case 1: coord_body(G, 1, nrow, Gc, gs); break;
    case 2: coord_body(G, 2, nrow, Gc, gs); break;
    case 3: coord_body(G, 3, nrow, Gc, gs); break;
    case 4: coord_body(G, 4, nrow, Gc, gs); break;
    default: coord_body(G, r, nrow, Gc, gs); break;
    }
}

/* A (r x ncol) = G (r x nrow) X, X dense nrow x ncol (column-major) */
typedef struct {
    const double *G, *X;
    int nv;
    size_t nrow;
    double *A;
} product_args;

static long gx_range(const void *ctx, int t, int j0, int j1)
{
    const product_args *a = ctx;
    (void) t;
    kern.gx(a->G, a->nv, a->X, a->nrow, j0, j1, a->A);
    return 0;
}

void kernel_gx(const double *G, int r, const double *X, int nrow, int ncol, double *A, int threads)
{
    int nv = (r + 3) / 4, rp = 4 * nv;
    product_args a = {kernel_pack_gx(G, r, (size_t) nrow), X, nv, (size_t) nrow,
                      (double *) scratch_alloc((size_t) rp * ncol + 1, sizeof(double))};
    parallel_ranges(ncol, threads, gx_range, &a);
    kernel_unpad(a.A, rp, A, r, (size_t) ncol);
}

/* A (r x ncol) = H (r x nrow) t(D), D dense ncol x nrow (column-major), i.e.
 * the product with the transpose of the stored data, without transposing */
void kernel_gxt(const double *H, int r, const double *D, int nrow, int ncol, double *A, int threads)
{
    int nv = (r + 3) / 4, rp = 4 * nv;
    double *Hp = kernel_pad(H, r, rp, (size_t) nrow);
    double *Ap = (double *) scratch_alloc((size_t) rp * ncol + 1, sizeof(double));
    int nthr = threads > 0 ? threads : 1;
    /* rows of D in blocks small enough that the block of A stays in cache
     * while all stored columns stream past it */
    size_t blk = ((size_t) ncol + nthr - 1) / nthr;
    if (blk > 2048) blk = 2048;
    if (blk < 64) blk = 64;
    size_t nblk = ((size_t) ncol + blk - 1) / blk;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (size_t b = 0; b < nblk; b++) {
        size_t i0 = b * blk, i1 = i0 + blk < (size_t) ncol ? i0 + blk : (size_t) ncol;
        kern.gxt(Hp, nv, D, (size_t) ncol, nrow, i0, i1, Ap);
    }
    kernel_unpad(Ap, rp, A, r, (size_t) ncol);
}

/* the builds of the kernels above, one per target */
#include "target_base.h"
#include "kernels_dense_template.h"
#ifdef HAVE_X86_DISPATCH
#include "target_avx2.h"
#include "kernels_dense_template.h"
#endif

void kernels_fill_dense(betanmf_kernels *k, int avx2)
{
    k->gx = PICK(avx2, gx);
    k->gxt = PICK(avx2, gxt);
    k->hxt = PICK(avx2, hxt);
    k->gf = PICK(avx2, gf);
    k->gram = PICK(avx2, gram);
}
