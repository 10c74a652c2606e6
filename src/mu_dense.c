/* mu_dense.c: the multiplicative update (mu.c) for dense data, in blocks.
 *
 * Same update as mu.c (Fevotte & Idier 2011), organised as three
 * matrix-shaped passes per block of nb columns so every pass runs through the
 * register-blocked kernels of kernels.c instead of one r-length dot product
 * per entry:
 *   Y  = W F_b                       (kernel_gf_cols, vector lanes along rows)
 *   Qx = X .* Y^(beta-2),  Qd = Y^(beta-1)   (entrywise; held-out entries 0)
 *   numerator = t(W) Qx,  denominator = t(W) Qd   (kernel_gx_cols)
 * For beta = 1 the denominator is the column sums of W (less held-out rows).
 * Blocks are independent and each is computed by one thread in a fixed
 * order, so results do not depend on the number of threads.  Workspace:
 * 2 nrow x nb doubles per thread, never nrow x ncol.
 */
#include "betanmf.h"
#include "simd.h"
#include <math.h>
#include <string.h>
#include <stdlib.h>

#define NB 32

/* The coefficients four entries at a time: beta = 1 (x / y), beta = 0, and
 * every beta whose exponent e = beta - 2 is an integer or half-integer in
 * [-8, 8] (beta = 0.5, 1.5, 3, ...), for which y^e is the multiplication
 * chain of pow_beta (betanmf.h) -- the same operations, so the same
 * values, lane by lane.  The divisions (and square roots) dominate these
 * passes; a vector division costs about what a scalar one does.  mode: 1
 * for beta = 1, 0 for the power chain with exponent n2 / 2.  Returns how
 * many entries it did (a multiple of 4). */
/* the loop, written once for two square roots: four scalar ones (the
 * baseline) and the AVX instruction (an intrinsic can only appear in a
 * function compiled for its target, hence a macro, not an inline body) */
#define COEF_VEC_LOOP(SQRT4)                                                  \
    const v4 eps = VSET1(EPS_Y), one = VSET1(1.0);                            \
    size_t i = 0;                                                             \
    for (; i + 4 <= n; i += 4) {                                              \
        v4 y, xv;                                                             \
        VLOAD(y, qd + i);                                                     \
        VLOAD(xv, x + i);                                                     \
        y = VBLEND((v4i) (y < eps), eps, y);                                  \
        if (kl) {                                                             \
            VSTORE(qx + i, xv / y);                                           \
            continue;                                                         \
        }                                                                     \
        v4 t;                                                                 \
        VPOW_CHAIN(t, y, n2, SQRT4);                                          \
        VSTORE(qd + i, t * y);                                                \
        VSTORE(qx + i, xv * t);                                               \
    }                                                                         \
    return i

static size_t coef_vec_base(const double *x, double *qx, double *qd, size_t n, int kl, int n2)
{
    COEF_VEC_LOOP(SQRT4_LANES);
}
#ifdef HAVE_X86_DISPATCH
TARGET_AVX2 static size_t coef_vec_avx2(const double *x, double *qx, double *qd, size_t n, int kl, int n2)
{
    COEF_VEC_LOOP(SQRT4_AVX);
}
#endif

/* Qx = x y^(beta-2), Qd = y^(beta-1) for one column (y floored at EPS_Y) */
static void coefficients(const double *x, double *qx, double *qd, size_t n, double beta)
{
    size_t i0 = 0;
    if (beta == 1.0 || (beta != 2.0 && half_integer(beta - 2.0))) {
        int kl = beta == 1.0, n2 = (int) (2.0 * (beta - 2.0));
#ifdef HAVE_X86_DISPATCH
        if (kernels_use_avx2()) i0 = coef_vec_avx2(x, qx, qd, n, kl, n2);
        else
#endif
            i0 = coef_vec_base(x, qx, qd, n, kl, n2);
    }
    if (beta == 1.0) {
        for (size_t i = i0; i < n; i++) {
            double y = qd[i] < EPS_Y ? EPS_Y : qd[i];
            qx[i] = x[i] / y;
        }
    } else if (beta == 2.0) {
        for (size_t i = 0; i < n; i++) {
            qx[i] = x[i];
            if (qd[i] < EPS_Y) qd[i] = EPS_Y;
        }
    } else {
        for (size_t i = i0; i < n; i++) {
            double y = qd[i] < EPS_Y ? EPS_Y : qd[i], t = pow_beta(y, beta - 2.0);
            qd[i] = t * y;
            qx[i] = x[i] * t;
        }
    }
}

/* beta = 1 at rank R <= KLF_MAXR without held-out entries: the three
 * passes of the blocked update fused into one pass per column, 8 rows at a
 * time in registers: y = G' f (lanes along rows), q = x / max(y, EPS_Y),
 * num[k] += q G[k, ].  Nothing of length nrow is written, so the column
 * streams through the cache once instead of five times; for small ranks
 * (the 5000 x 38 expression and 96 x 1000 catalog shapes) that, and not the
 * arithmetic, bounds the blocked passes.  Two accumulators per k (even and
 * odd row quartets) are added at the end in a fixed order, so the sum
 * depends on nrow only, never on threads. */
#define KLF_MAXR 8
static inline __attribute__((always_inline))
void klf_col(const double *Gc, size_t nrow, int R, const double *f, const double *x, double *num)
{
    v4 a0[KLF_MAXR], a1[KLF_MAXR], fk[KLF_MAXR];
    const v4 eps = VSET1(EPS_Y);
    UNROLL for (int k = 0; k < R; k++) { a0[k] = a1[k] = VSET1(0.0); fk[k] = VSET1(f[k]); }
    size_t i = 0;
    for (; i + 8 <= nrow; i += 8) {
        v4 y0 = VSET1(0.0), y1 = VSET1(0.0), x0, x1;
        UNROLL for (int k = 0; k < R; k++) {
            v4 g0, g1;
            VLOAD(g0, Gc + (size_t) k * nrow + i);
            VLOAD(g1, Gc + (size_t) k * nrow + i + 4);
            y0 += g0 * fk[k];
            y1 += g1 * fk[k];
        }
        VLOAD(x0, x + i);
        VLOAD(x1, x + i + 4);
        y0 = VBLEND((v4i) (y0 < eps), eps, y0);
        y1 = VBLEND((v4i) (y1 < eps), eps, y1);
        v4 q0 = x0 / y0, q1 = x1 / y1;
        UNROLL for (int k = 0; k < R; k++) {
            v4 g0, g1;
            VLOAD(g0, Gc + (size_t) k * nrow + i);
            VLOAD(g1, Gc + (size_t) k * nrow + i + 4);
            a0[k] += q0 * g0;
            a1[k] += q1 * g1;
        }
    }
    UNROLL for (int k = 0; k < R; k++) {
        v4 a = a0[k] + a1[k];
        num[k] = HSUM(a);
    }
    for (; i < nrow; i++) {
        double y = 0.0;
        for (int k = 0; k < R; k++) y += Gc[(size_t) k * nrow + i] * f[k];
        if (y < EPS_Y) y = EPS_Y;
        double q = x[i] / y;
        for (int k = 0; k < R; k++) num[k] += q * Gc[(size_t) k * nrow + i];
    }
}

#define KLF_CASES(BODY) \
    switch (r) {        \
    case 1: BODY(1); break; case 2: BODY(2); break; case 3: BODY(3); break; case 4: BODY(4); break; \
    case 5: BODY(5); break; case 6: BODY(6); break; case 7: BODY(7); break; default: BODY(8); break; \
    }
#define KLF_LOOP(R) for (int j = j0; j < j1; j++) \
    klf_col(Gc, nrow, R, F + (size_t) j * (R), X + (size_t) j * nrow, NUM + (size_t) j * (R))

static void klf_base(const double *Gc, size_t nrow, int r, const double *F, const double *X,
                     int j0, int j1, double *NUM)
{
    KLF_CASES(KLF_LOOP)
}
#ifdef HAVE_X86_DISPATCH
TARGET_AVX2 static void klf_avx2(const double *Gc, size_t nrow, int r, const double *F, const double *X,
                                 int j0, int j1, double *NUM)
{
    KLF_CASES(KLF_LOOP)
}
#endif

/* the fused beta = 1 half: numerators by klf_col, denominators the column
 * sums of G; columns shared among threads in contiguous ranges */
static void mu_half_kl_fused(const nmf_data *X, double *F, const double *G, int r,
                             double l1, double l2, int threads)
{
    int nrow = X->nrow, ncol = X->ncol, nthr = threads > 0 ? threads : 1;
    double *Gc = (double *) scratch_alloc((size_t) nrow * r + 1, sizeof(double));
    double *NUM = (double *) scratch_alloc((size_t) ncol * r + 1, sizeof(double));
    double gs[KLF_MAXR];
    for (int k = 0; k < r; k++) gs[k] = 0.0;
    for (int i = 0; i < nrow; i++)
        for (int k = 0; k < r; k++) {
            double g = G[k + (size_t) i * r];
            Gc[i + (size_t) k * nrow] = g;
            gs[k] += g;
        }
#ifdef HAVE_X86_DISPATCH
    int avx = kernels_use_avx2();
#endif
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int t = 0; t < nthr; t++) {
        int j0 = (int) ((long long) ncol * t / nthr), j1 = (int) ((long long) ncol * (t + 1) / nthr);
#ifdef HAVE_X86_DISPATCH
        if (avx) klf_avx2(Gc, (size_t) nrow, r, F, X->dense, j0, j1, NUM);
        else
#endif
            klf_base(Gc, (size_t) nrow, r, F, X->dense, j0, j1, NUM);
        for (int j = j0; j < j1; j++) {
            double *f = F + (size_t) j * r;
            const double *nc = NUM + (size_t) j * r;
            for (int k = 0; k < r; k++) {
                double d = gs[k] + l1 + l2 * f[k];
                if (!(d > EPS_DEN)) d = EPS_DEN;
                f[k] *= nc[k] / d;
            }
        }
    }
}

/* The W half of the same update on the user's array (no transposed copy):
 * lanes along four rows i of X, the loop along its n columns j:
 * y = W[i, ] H[, j] from the block of W held in registers and H's column,
 * q = X[i, j] / max(y, EPS_Y), num[i, k] += q H[k, j].  No horizontal sums:
 * each lane is its own row, summed over j in column order (the same order
 * for any thread count).  Xd: the m x n array; Wt: r x m; H: r x n. */
static inline __attribute__((always_inline))
void klw_block(const double *Xd, size_t m, size_t n, int R, const double *H, double *Wt, size_t i,
               const double *den)
{
    v4 w[KLF_MAXR], a[KLF_MAXR], b[KLF_MAXR];
    const v4 eps = VSET1(EPS_Y);
    UNROLL for (int k = 0; k < R; k++) {
        w[k] = (v4){Wt[k + i * R], Wt[k + (i + 1) * R], Wt[k + (i + 2) * R], Wt[k + (i + 3) * R]};
        a[k] = b[k] = VSET1(0.0);
    }
    const double *xp = Xd + i;
    size_t j = 0;
    for (; j + 2 <= n; j += 2, xp += 2 * m) {
        const double *h = H + j * R, *h1 = h + R;
        v4 y = w[0] * h[0], y1 = w[0] * h1[0], xv, x1;
        UNROLL for (int k = 1; k < R; k++) { y += w[k] * h[k]; y1 += w[k] * h1[k]; }
        VLOAD(xv, xp);
        VLOAD(x1, xp + m);
        y = VBLEND((v4i) (y < eps), eps, y);
        y1 = VBLEND((v4i) (y1 < eps), eps, y1);
        v4 q = xv / y, q1 = x1 / y1;
        UNROLL for (int k = 0; k < R; k++) { a[k] += q * h[k]; b[k] += q1 * h1[k]; }
    }
    if (j < n) {
        const double *h = H + j * R;
        v4 y = w[0] * h[0], xv;
        UNROLL for (int k = 1; k < R; k++) y += w[k] * h[k];
        VLOAD(xv, xp);
        y = VBLEND((v4i) (y < eps), eps, y);
        v4 q = xv / y;
        UNROLL for (int k = 0; k < R; k++) a[k] += q * h[k];
    }
    UNROLL for (int k = 0; k < R; k++) {
        v4 s = a[k] + b[k];
        for (int l = 0; l < 4; l++) Wt[k + (i + l) * R] *= s[l] / den[k + (i + l) * R];
    }
}

#define KLW_LOOP(R) for (size_t i = i0; i < i1; i += 4) klw_block(Xd, m, n, R, H, Wt, i, den)
static void klw_base(const double *Xd, size_t m, size_t n, int r, const double *H, double *Wt,
                     size_t i0, size_t i1, const double *den)
{
    KLF_CASES(KLW_LOOP)
}
#ifdef HAVE_X86_DISPATCH
TARGET_AVX2 static void klw_avx2(const double *Xd, size_t m, size_t n, int r, const double *H, double *Wt,
                                 size_t i0, size_t i1, const double *den)
{
    KLF_CASES(KLW_LOOP)
}
#endif

/* Xt: the W half's view of dense data (dense_trans: Xt->dense is the user's
 * m x n array, Xt->ncol = m); F = t(W), r x m; G = H, r x n */
void mu_half_kl_rows(const nmf_data *Xt, double *F, const double *G, int r,
                     double l1, double l2, int threads)
{
    size_t m = (size_t) Xt->ncol, n = (size_t) Xt->nrow;
    int nthr = threads > 0 ? threads : 1;
    const double *Xd = Xt->dense;
    double gs[KLF_MAXR];
    for (int k = 0; k < r; k++) gs[k] = 0.0;
    for (size_t j = 0; j < n; j++)
        for (int k = 0; k < r; k++) gs[k] += G[k + j * r];
    /* the denominators (penalties use the current W) */
    double *den = (double *) scratch_alloc(m * r + 1, sizeof(double));
    for (size_t i = 0; i < m; i++)
        for (int k = 0; k < r; k++) {
            double d = gs[k] + l1 + l2 * F[k + i * r];
            den[k + i * r] = d > EPS_DEN ? d : EPS_DEN;
        }
    size_t m4 = m - m % 4, nq = m4 / 4;
#ifdef HAVE_X86_DISPATCH
    int avx = kernels_use_avx2();
#endif
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int t = 0; t < nthr; t++) {
        size_t i0 = 4 * (nq * t / nthr), i1 = 4 * (nq * (t + 1) / nthr);
#ifdef HAVE_X86_DISPATCH
        if (avx) klw_avx2(Xd, m, n, r, G, F, i0, i1, den);
        else
#endif
            klw_base(Xd, m, n, r, G, F, i0, i1, den);
    }
    /* the last m % 4 rows, one at a time, in the same order */
    for (size_t i = m4; i < m; i++) {
        double a[KLF_MAXR], *f = F + i * r;
        for (int k = 0; k < r; k++) a[k] = 0.0;
        for (size_t j = 0; j < n; j++) {
            const double *h = G + j * r;
            double y = f[0] * h[0];
            for (int k = 1; k < r; k++) y += f[k] * h[k];
            if (y < EPS_Y) y = EPS_Y;
            double q = Xd[i + j * m] / y;
            for (int k = 0; k < r; k++) a[k] += q * h[k];
        }
        for (int k = 0; k < r; k++) f[k] *= a[k] / den[k + i * r];
    }
}

int mu_kl_fused(const nmf_data *X, double beta, int r)
{
    return beta == 1.0 && !X->p && !X->hp && r >= 1 && r <= KLF_MAXR && !getenv("BETANMF_NOFUSE");
}

void mu_half_dense(const nmf_data *X, double *F, const double *G, int r,
                   double beta, double l1, double l2, int threads)
{
    if (mu_kl_fused(X, beta, r)) {
        mu_half_kl_fused(X, F, G, r, l1, l2, threads);
        return;
    }
    int nrow = X->nrow, ncol = X->ncol, kl = (beta == 1.0);
    int nv = (r + 3) / 4, rp = 4 * nv, nthr = threads > 0 ? threads : 1;
    double gam = mu_gamma(beta);
    const int *hp = X->hp, *hi = X->hi;
    double *Gp = kernel_pad(G, r, rp, (size_t) nrow);
    double *Gc = (double *) scratch_alloc((size_t) nrow * r + 1, sizeof(double));
    double *gs = (double *) scratch_alloc((size_t) r, sizeof(double));
    for (int k = 0; k < r; k++) gs[k] = 0.0;
    for (int i = 0; i < nrow; i++)
        for (int k = 0; k < r; k++) {
            double g = G[k + (size_t) i * r];
            Gc[i + (size_t) k * nrow] = g;
            gs[k] += g;
        }
    size_t per = (size_t) nrow * NB;
    double *Qx = (double *) scratch_alloc((size_t) nthr * per, sizeof(double));
    double *Qd = (double *) scratch_alloc((size_t) nthr * per, sizeof(double));
    double *ND = (double *) scratch_alloc((size_t) nthr * 2 * rp * NB, sizeof(double));
    int nblk = (ncol + NB - 1) / NB;

#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int b = 0; b < nblk; b++) {
        int tid = thread_id();
        int j0 = b * NB, nb = (j0 + NB <= ncol) ? NB : ncol - j0;
        double *qx = Qx + (size_t) tid * per, *qd = Qd + (size_t) tid * per;
        double *num = ND + (size_t) tid * 2 * rp * NB, *den = num + (size_t) rp * NB;
        kernel_gf_cols(Gc, (size_t) nrow, r, F + (size_t) j0 * r, nb, qd);
        for (int c = 0; c < nb; c++) {
            size_t off = (size_t) c * nrow;
            coefficients(X->dense + (size_t) (j0 + c) * nrow, qx + off, qd + off, (size_t) nrow, beta);
            if (hp)
                for (int t = hp[j0 + c]; t < hp[j0 + c + 1]; t++) qx[off + hi[t]] = qd[off + hi[t]] = 0.0;
        }
        kernel_gx_cols(Gp, nv, qx, (size_t) nrow, 0, nb, num);
        if (!kl) kernel_gx_cols(Gp, nv, qd, (size_t) nrow, 0, nb, den);
        for (int c = 0; c < nb; c++) {
            int j = j0 + c;
            double *f = F + (size_t) j * r, *nc = num + (size_t) c * rp, *dc = den + (size_t) c * rp;
            if (kl) {
                for (int k = 0; k < r; k++) dc[k] = gs[k];
                if (hp)
                    for (int t = hp[j]; t < hp[j + 1]; t++)
                        for (int k = 0; k < r; k++) dc[k] -= G[k + (size_t) hi[t] * r];
            }
            for (int k = 0; k < r; k++) {
                double d = dc[k] + l1 + l2 * f[k];
                if (!(d > EPS_DEN)) d = EPS_DEN;
                double ratio = nc[k] / d;
                f[k] *= mu_step(ratio, gam);
            }
        }
    }
}
