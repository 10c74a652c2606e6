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

/* STMT compiled with n2 a constant for beta = 1.5 (n2 = -1) and beta = 0
 * (-4), the common exponents, so that their power chains are straight-line
 * code (a loop on a variable n2 around each square root and division kept
 * consecutive entries from overlapping; with constants the fused H half,
 * ranks 1-4 at beta = 1.5 on 5000 x 38, takes 0.73-0.99 of its time
 * without, median 0.88), and with n2 = N2ARG for the others */
#define BY_N2(N2ARG, STMT)                                                    \
    do {                                                                      \
        if ((N2ARG) == -1) { const int n2 = -1; STMT; }                       \
        else if ((N2ARG) == -4) { const int n2 = -4; STMT; }                  \
        else { const int n2 = (N2ARG); STMT; }                                \
    } while (0)

/* The coefficients four entries at a time: beta = 1 (x / y), beta = 0, and
 * every beta whose exponent e = beta - 2 is an integer or half-integer in
 * [-8, 8] (beta = 0.5, 1.5, 3, ...), for which y^e is the multiplication
 * chain of pow_beta (betanmf.h) -- the same operations, so the same
 * values, lane by lane, except that for e < 0 two vectors share one
 * division (VPOW_CHAIN2, within 2 ulp).  The divisions (and square roots)
 * dominate these passes; a vector division costs about what a scalar one
 * does.  kl: 1 for beta = 1, 0 for the power chain with exponent n2 / 2.
 * Returns how many entries it did (a multiple of 4). */
/* the loop, written once for two square roots: four scalar ones (the
 * baseline) and the AVX instruction (an intrinsic can only appear in a
 * function compiled for its target, hence a macro, not an inline body) */
#define COEF_VEC_LOOP(SQRT4)                                                  \
    const v4 eps = VSET1(EPS_Y), one = VSET1(1.0);                            \
    size_t i = 0;                                                             \
    if (kl) {                                                                 \
        for (; i + 4 <= n; i += 4) {                                          \
            v4 y, xv;                                                         \
            VLOAD(y, qd + i);                                                 \
            VLOAD(xv, x + i);                                                 \
            y = VFLOOR_T(SQRT4, y, eps);                                      \
            VSTORE(qx + i, xv / y);                                           \
        }                                                                     \
        return i;                                                             \
    }                                                                         \
    /* two vectors a step, one division for both (VPOW_CHAIN2): 10-12 %      \
     * off the H half of a 96 x 1000 rank-8 fit at beta = 1.5 and 0 */       \
    for (; i + 8 <= n; i += 8) {                                              \
        v4 y0, y1, x0, x1, t0, t1;                                            \
        VLOAD(y0, qd + i);                                                    \
        VLOAD(y1, qd + i + 4);                                                \
        VLOAD(x0, x + i);                                                     \
        VLOAD(x1, x + i + 4);                                                 \
        y0 = VFLOOR_T(SQRT4, y0, eps);                                        \
        y1 = VFLOOR_T(SQRT4, y1, eps);                                        \
        VPOW_CHAIN2(t0, t1, y0, y1, n2, SQRT4);                               \
        VSTORE(qd + i, t0 * y0);                                              \
        VSTORE(qx + i, x0 * t0);                                              \
        VSTORE(qd + i + 4, t1 * y1);                                          \
        VSTORE(qx + i + 4, x1 * t1);                                          \
    }                                                                         \
    for (; i + 4 <= n; i += 4) {                                              \
        v4 y, xv, t;                                                          \
        VLOAD(y, qd + i);                                                     \
        VLOAD(xv, x + i);                                                     \
        y = VFLOOR_T(SQRT4, y, eps);                                          \
        VPOW_CHAIN(t, y, n2, SQRT4);                                          \
        VSTORE(qd + i, t * y);                                                \
        VSTORE(qx + i, xv * t);                                               \
    }                                                                         \
    return i

static size_t coef_vec_base(const double *x, double *qx, double *qd, size_t n, int kl, int n2_arg)
{
    BY_N2(n2_arg, COEF_VEC_LOOP(SQRT4_LANES));
}
#ifdef HAVE_X86_DISPATCH
TARGET_AVX2 static size_t coef_vec_avx2(const double *x, double *qx, double *qd, size_t n, int kl, int n2_arg)
{
    BY_N2(n2_arg, COEF_VEC_LOOP(SQRT4_AVX));
}
#endif

/* Qx = x y^(beta-2), Qd = y^(beta-1) for one column (y floored at EPS_Y) */
static void coefficients(const double *x, double *qx, double *qd, size_t n, double beta)
{
    size_t i0 = 0;
    if (beta == 1.0 || (beta != 2.0 && half_integer(beta - 2.0))) {
        int kl = beta == 1.0, n2 = (int) (2.0 * (beta - 2.0));
        i0 = DISPATCH(coef_vec, x, qx, qd, n, kl, n2);
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

/* G (r x nrow) by coordinate, Gc[i + k nrow] = G[k, i], and, if gs is not
 * NULL, its row sums gs.  Each sum in four parts (rows i mod 4), added in a
 * fixed order: a single chain of additions per k bounded the first scalar
 * loop (7 % of a 5000 x 38 rank-3 KL iteration).  That loop, its parts in
 * memory behind a row-dependent index, still cost 6 % of the two fused
 * halves on that set (perf, Zen 3).  Here four rows a step, the rank a
 * constant up to 4, so that the loops unroll and the parts stay in
 * registers (each coordinate's four values as one vector were built
 * through the stack in the baseline build: slower).  The loss (loss.c)
 * copies W the same way, without the sums (computed and not read: four
 * additions a row, next to the copy's stores). */
#define COORD_BODY(R)                                                           \
    do {                                                                        \
        double p0[4 * MAXV], p1[4 * MAXV], p2[4 * MAXV], p3[4 * MAXV];         \
        for (int k = 0; k < (R); k++) p0[k] = p1[k] = p2[k] = p3[k] = 0.0;      \
        size_t i = 0;                                                           \
        for (; i + 4 <= nrow; i += 4) {                                         \
            const double *g = G + i * (size_t) (R);                             \
            double *c = Gc + i;                                                 \
            UNROLL for (int k = 0; k < (R); k++) {                              \
                double a = g[k], b = g[k + (R)], d = g[k + 2 * (R)], e = g[k + 3 * (R)]; \
                c[(size_t) k * nrow] = a;                                       \
                c[(size_t) k * nrow + 1] = b;                                   \
                c[(size_t) k * nrow + 2] = d;                                   \
                c[(size_t) k * nrow + 3] = e;                                   \
                p0[k] += a;                                                     \
                p1[k] += b;                                                     \
                p2[k] += d;                                                     \
                p3[k] += e;                                                     \
            }                                                                   \
        }                                                                       \
        for (; i < nrow; i++)                                                   \
            for (int k = 0; k < (R); k++) {                                     \
                double v = G[k + i * (size_t) (R)];                             \
                double *p = (i & 3) == 0 ? p0 : (i & 3) == 1 ? p1 : (i & 3) == 2 ? p2 : p3; \
                Gc[i + (size_t) k * nrow] = v;                                  \
                p[k] += v;                                                      \
            }                                                                   \
        if (gs)                                                                 \
            for (int k = 0; k < (R); k++) gs[k] = (p0[k] + p1[k]) + (p2[k] + p3[k]); \
    } while (0)

void coordinate_copy(const double *G, int r, size_t nrow, double *Gc, double *gs)
{
    switch (r) {
    case 1: COORD_BODY(1); break;
    case 2: COORD_BODY(2); break;
    case 3: COORD_BODY(3); break;
    case 4: COORD_BODY(4); break;
    default: COORD_BODY(r); break;
    }
}

/* the same into scratch */
static double *coordinate_layout(const double *G, int r, int nrow, double *gs)
{
    double *Gc = (double *) scratch_alloc((size_t) nrow * r + 1, sizeof(double));
    coordinate_copy(G, r, (size_t) nrow, Gc, gs);
    return Gc;
}

/* one entry's numerator and denominator coefficients, y floored already:
 * the scalar remainders of the fused loops, by pow_beta as the vector
 * chain (beta = 1: the denominator is the sums of G, cd unused) */
static inline void fuse_coef(double x, double y, int kl, double beta, double *cx, double *cd)
{
    if (kl) { *cx = x / y; *cd = 0.0; }
    else { double t = pow_beta(y, beta - 2.0); *cx = x * t; *cd = t * y; }
}

/* The fused update: at rank R <= FUSE_MAXR without held-out entries, for
 * beta = 1 and every beta whose exponent beta - 2 is a half-integer in
 * [-8, 8] (beta = 0, 0.5, 1.5, 3, ...), the three passes of the blocked
 * update become one pass per column with everything in registers:
 *   y = G' f (lanes along rows), t = max(y, EPS_Y)^(beta - 2),
 *   num[k] += x t G[k, ],  den[k] += t y G[k, ]   (beta = 1: x / y only).
 * Nothing of length nrow is written, so the column streams through the cache
 * once instead of five times: for small ranks (the 5000 x 38 expression
 * shape) that, not the arithmetic, bounds the blocked passes.  Above rank 4
 * the accumulators no longer fit in the 16 vector registers and the blocked
 * passes win (96 x 1000 at rank 8: 0.33 against 0.46 ms an iteration; equal
 * at rank 6).  In the H half beta = 1 takes 8 rows a step with two sets of
 * accumulators (even and odd quartets, added at the end), the others 4 rows;
 * the W half takes one column a step (two, with a second set of
 * accumulators, spilled them to the stack at rank 3: 0.35 against 0.32 ms an
 * iteration on 5000 x 38), or two into the same accumulators for beta != 1
 * at ranks <= 3.  Each sum depends on nrow only, never on threads.
 *
 * Written as a macro so each target gets its own square root (see
 * COEF_VEC_LOOP); FUSE_DEFS(sfx, SQRT4) defines fuse_cols_<sfx> (H half,
 * lanes along the rows of X) and fuse_rows_<sfx> (W half on the user's
 * array, lanes along four rows of X, the loop along its columns). */
#define FUSE_MAXR 4

#define FUSE_COL_BODY(R, SQRT4)                                                 \
    do {                                                                        \
        v4 a0[FUSE_MAXR], a1[FUSE_MAXR], fk[FUSE_MAXR];                         \
        const v4 eps = VSET1(EPS_Y), one = VSET1(1.0);                          \
        UNROLL for (int k = 0; k < R; k++) {                                    \
            a0[k] = a1[k] = VSET1(0.0);                                         \
            fk[k] = VSET1(f[k]);                                                \
        }                                                                       \
        size_t i = 0;                                                           \
        if (kl) for (; i + 8 <= nrow; i += 8) {                                 \
            v4 y0 = VSET1(0.0), y1 = VSET1(0.0), x0, x1;                        \
            UNROLL for (int k = 0; k < R; k++) {                                \
                v4 g0, g1;                                                      \
                VLOAD(g0, Gc + (size_t) k * nrow + i);                          \
                VLOAD(g1, Gc + (size_t) k * nrow + i + 4);                      \
                y0 += g0 * fk[k];                                               \
                y1 += g1 * fk[k];                                               \
            }                                                                   \
            VLOAD(x0, x + i);                                                   \
            VLOAD(x1, x + i + 4);                                               \
            y0 = VFLOOR_T(SQRT4, y0, eps);                                      \
            y1 = VFLOOR_T(SQRT4, y1, eps);                                      \
            v4 q0 = x0 / y0, q1 = x1 / y1;                                      \
            UNROLL for (int k = 0; k < R; k++) {                                \
                v4 g0, g1;                                                      \
                VLOAD(g0, Gc + (size_t) k * nrow + i);                          \
                VLOAD(g1, Gc + (size_t) k * nrow + i + 4);                      \
                a0[k] += q0 * g0;                                               \
                a1[k] += q1 * g1;                                               \
            }                                                                   \
        }                                                                       \
        if (!kl) for (; i + 4 <= nrow; i += 4) {                                \
            v4 y0 = VSET1(0.0), x0, t;                                          \
            UNROLL for (int k = 0; k < R; k++) {                                \
                v4 g0;                                                          \
                VLOAD(g0, Gc + (size_t) k * nrow + i);                          \
                y0 += g0 * fk[k];                                               \
            }                                                                   \
            VLOAD(x0, x + i);                                                   \
            y0 = VFLOOR_T(SQRT4, y0, eps);                                      \
            VPOW_CHAIN(t, y0, n2, SQRT4);                                       \
            v4 qx = x0 * t, qd = t * y0;                                        \
            UNROLL for (int k = 0; k < R; k++) {                                \
                v4 g0;                                                          \
                VLOAD(g0, Gc + (size_t) k * nrow + i);                          \
                a0[k] += qx * g0;                                               \
                a1[k] += qd * g0;                                               \
            }                                                                   \
        }                                                                       \
        UNROLL for (int k = 0; k < R; k++) {                                    \
            if (kl) {                                                           \
                v4 s_ = a0[k] + a1[k];                                          \
                num[k] = HSUM(s_);                                              \
                den[k] = 0.0;                                                   \
            } else {                                                            \
                num[k] = HSUM(a0[k]);                                           \
                den[k] = HSUM(a1[k]);                                           \
            }                                                                   \
        }                                                                       \
        for (; i < nrow; i++) {                                                 \
            double y = 0.0;                                                     \
            for (int k = 0; k < R; k++) y += Gc[(size_t) k * nrow + i] * f[k];  \
            if (y < EPS_Y) y = EPS_Y;                                           \
            double cx, cd;                                                      \
            fuse_coef(x[i], y, kl, beta, &cx, &cd);                             \
            for (int k = 0; k < R; k++) {                                       \
                num[k] += cx * Gc[(size_t) k * nrow + i];                       \
                den[k] += cd * Gc[(size_t) k * nrow + i];                       \
            }                                                                   \
        }                                                                       \
    } while (0)

/* lanes along rows i..i+3 of the m x n array Xd, summed over its columns j in
 * order; F = t(W) (r x m), G = H (r x n).  Each step reads a column m
 * doubles after the last, one cache line in two new: every eighth row, the
 * step asks for the line 32 rows on in its column (a prefetch never faults,
 * past the array's end either); the hardware's prefetchers seem not to
 * follow 38 columns at once.  On a Zen 3 core the W half of 5000 x 38 at
 * rank 3 went from 0.63-0.64 to 0.595-0.60 ns an entry at beta = 1 (a C
 * harness, minimum of 3000 calls; 16 to 64 rows on measured alike); beta
 * = 1.5 and 0, bound by the square root and the divisions, unchanged.
 * Placed first in the step: between the products of y it changed how the
 * compiler fused them, and the last bits of H. */
#define FUSE_ROW_BODY(R, SQRT4)                                                 \
    do {                                                                        \
        v4 w[FUSE_MAXR], a[FUSE_MAXR], b[FUSE_MAXR];                            \
        const v4 eps = VSET1(EPS_Y), one = VSET1(1.0);                          \
        UNROLL for (int k = 0; k < R; k++) {                                    \
            w[k] = (v4){F[k + i * R], F[k + (i + 1) * R], F[k + (i + 2) * R],   \
                        F[k + (i + 3) * R]};                                    \
            a[k] = b[k] = VSET1(0.0);                                           \
        }                                                                       \
        const double *xp = Xd + i;                                              \
        size_t j = 0;                                                           \
        /* beta != 1 at R <= 3: two columns a step, summed in column order    \
         * as one at a time would; at rank 4 the second column's registers     \
         * spill (20 % slower), and in the H half two quartets a step gained   \
         * nothing.  Each column has its own division: sharing one between     \
         * the two (VPOW_CHAIN2, as the blocked passes do) took 10-15 % off    \
         * this half on a Zen 3 core but cost 7 % of the whole 5000 x 38       \
         * rank-3 beta = 1.5 iteration on a Zen 4 one (0.49 against 0.46 ms,    \
         * and 0.37 against 0.34 at beta = 0), whose divider keeps up; the     \
         * blocked passes still gain from it there (96 x 1000 at rank 8,       \
         * beta = 1.5: 0.366 against 0.396 ms) */                               \
        if (!kl && R <= 3) for (; j + 2 <= n; j += 2, xp += 2 * m) {            \
            if (!(i & 7)) { PREFETCH(xp + 32); PREFETCH(xp + m + 32); }          \
            const double *h0 = G + j * R, *h1 = h0 + R;                         \
            v4 y0 = w[0] * h0[0], y1 = w[0] * h1[0], x0, x1, t0, t1;            \
            UNROLL for (int k = 1; k < R; k++) {                                \
                y0 += w[k] * h0[k];                                             \
                y1 += w[k] * h1[k];                                             \
            }                                                                   \
            VLOAD(x0, xp);                                                      \
            VLOAD(x1, xp + m);                                                  \
            y0 = VFLOOR_T(SQRT4, y0, eps);                                      \
            y1 = VFLOOR_T(SQRT4, y1, eps);                                      \
            VPOW_CHAIN(t0, y0, n2, SQRT4);                                      \
            VPOW_CHAIN(t1, y1, n2, SQRT4);                                      \
            v4 qx0 = x0 * t0, qd0 = t0 * y0, qx1 = x1 * t1, qd1 = t1 * y1;      \
            UNROLL for (int k = 0; k < R; k++) {                                \
                a[k] += qx0 * h0[k];                                            \
                b[k] += qd0 * h0[k];                                            \
                a[k] += qx1 * h1[k];                                            \
                b[k] += qd1 * h1[k];                                            \
            }                                                                   \
        }                                                                       \
        for (; j < n; j++, xp += m) {                                           \
            if (!(i & 7)) PREFETCH(xp + 32);                                    \
            const double *h = G + j * R;                                        \
            v4 y = w[0] * h[0], xv;                                             \
            UNROLL for (int k = 1; k < R; k++) y += w[k] * h[k];                \
            VLOAD(xv, xp);                                                      \
            y = VFLOOR_T(SQRT4, y, eps);                                        \
            if (kl) {                                                           \
                v4 q = xv / y;                                                  \
                UNROLL for (int k = 0; k < R; k++) a[k] += q * h[k];            \
            } else {                                                            \
                v4 t;                                                           \
                VPOW_CHAIN(t, y, n2, SQRT4);                                    \
                v4 qx = xv * t, qd = t * y;                                     \
                UNROLL for (int k = 0; k < R; k++) {                            \
                    a[k] += qx * h[k];                                          \
                    b[k] += qd * h[k];                                          \
                }                                                               \
            }                                                                   \
        }                                                                       \
        UNROLL for (int k = 0; k < R; k++) {                                    \
            for (int l = 0; l < 4; l++) {                                       \
                NUM[k + (i + l) * R] = a[k][l];                                 \
                if (!kl) DEN[k + (i + l) * R] = b[k][l];                        \
            }                                                                   \
        }                                                                       \
    } while (0)

#define FUSE_CASES(BODY, SQRT4)                                                 \
    switch (r) {                                                                \
    case 1: BODY(1, SQRT4); break;                                              \
    case 2: BODY(2, SQRT4); break;                                              \
    case 3: BODY(3, SQRT4); break;                                              \
    default: BODY(4, SQRT4); break;                                             \
    }

#define FUSE_COL_LOOP(R, SQRT4)                                                 \
    for (int jj = j0; jj < j1; jj++) {                                          \
        const double *f = F + (size_t) jj * (R), *x = Xd + (size_t) jj * nrow;  \
        double *num = NUM + (size_t) jj * (R), *den = DEN + (size_t) jj * (R);  \
        FUSE_COL_BODY(R, SQRT4);                                                \
    }
#define FUSE_ROW_LOOP(R, SQRT4)                                                 \
    for (size_t i = i0; i < i1; i += 4) FUSE_ROW_BODY(R, SQRT4);

#define FUSE_DEFS(SFX, ATTR, SQRT4)                                             \
    ATTR static void fuse_cols_##SFX(const double *Gc, size_t nrow, int r, const double *F, \
                                     const double *Xd, int j0, int j1, double *NUM, double *DEN, \
                                     int kl, int n2_arg, double beta)           \
    {                                                                           \
        BY_N2(n2_arg, FUSE_CASES(FUSE_COL_LOOP, SQRT4));                        \
    }                                                                           \
    ATTR static void fuse_rows_##SFX(const double *Xd, size_t m, size_t n, int r, const double *G, \
                                     const double *F, size_t i0, size_t i1, double *NUM, double *DEN, \
                                     int kl, int n2_arg)                        \
    {                                                                           \
        BY_N2(n2_arg, FUSE_CASES(FUSE_ROW_LOOP, SQRT4));                        \
    }

FUSE_DEFS(base, , SQRT4_LANES)
#ifdef HAVE_X86_DISPATCH
FUSE_DEFS(avx2, TARGET_AVX2, SQRT4_AVX)
#endif

/* f_k *= (num_k / (den_k + l1 + l2 f_k))^gamma for the columns [j0, j1),
 * four entries at a time along the flat r x ncol array (the den_k of
 * beta = 1, the sums gs of G, repeat every r entries, so every lcm(r, 4)
 * along the vectors; r <= 32): the same operations as mu_step's, lane by
 * lane.  After the W half's pass this was 8 % of a 5000 x 38 iteration at
 * rank 3 as a scalar loop (one division an entry, latency-bound); the
 * blocked update uses it too where r is a multiple of 4 (its NUM and DEN
 * are then unpadded). */
#define FUSE_UPDATE_BODY(SQRT4)                                                 \
    size_t t = (size_t) j0 * r, t1 = (size_t) j1 * r;                           \
    int per = r % 4 == 0 ? r : r % 2 == 0 ? 2 * r : 4 * r;                      \
    double pat[4 * MAXV * 4];                                                   \
    for (int u = 0; u < per; u++) pat[u] = gs ? gs[u % r] : 0.0;                \
    const v4 epsd = VSET1(EPS_DEN), vl1 = VSET1(l1), vl2 = VSET1(l2);          \
    for (int u = 0; t + 4 <= t1; t += 4, u = u + 4 == per ? 0 : u + 4) {       \
        v4 f, nv, dv;                                                           \
        VLOAD(f, F + t);                                                        \
        VLOAD(nv, NUM + t);                                                     \
        if (gs) VLOAD(dv, pat + u);                                             \
        else VLOAD(dv, DEN + t);                                                \
        dv = dv + vl1 + vl2 * f;                                                \
        dv = VBLEND(VCMP(VWIDE(SQRT4), dv, >, epsd), dv, epsd);                 \
        v4 q = nv / dv;                                                         \
        if (gam == 0.5) q = SQRT4(q);                                           \
        else if (gam != 1.0)                                                    \
            q = (v4){pow(q[0], gam), pow(q[1], gam), pow(q[2], gam), pow(q[3], gam)}; \
        VSTORE(F + t, f * q);                                                   \
    }                                                                           \
    for (; t < t1; t++) {                                                       \
        double d = (gs ? gs[t % r] : DEN[t]) + l1 + l2 * F[t];                  \
        if (!(d > EPS_DEN)) d = EPS_DEN;                                        \
        F[t] *= mu_step(NUM[t] / d, gam);                                       \
    }

static void fuse_update_base(double *F, int r, int j0, int j1, const double *NUM, const double *DEN,
                             const double *gs, double l1, double l2, double gam)
{
    FUSE_UPDATE_BODY(SQRT4_LANES)
}
#ifdef HAVE_X86_DISPATCH
TARGET_AVX2 static void fuse_update_avx2(double *F, int r, int j0, int j1, const double *NUM,
                                         const double *DEN, const double *gs, double l1, double l2,
                                         double gam)
{
    FUSE_UPDATE_BODY(SQRT4_AVX)
}
#endif

static void fuse_update(double *F, int r, int j0, int j1, const double *NUM, const double *DEN,
                        const double *gs, double l1, double l2, double gam)
{
    DISPATCH(fuse_update, F, r, j0, j1, NUM, DEN, gs, l1, l2, gam);
}

static int fuse_beta(double beta)
{
    return beta == 1.0 || (beta != 2.0 && half_integer(beta - 2.0));
}

int mu_fused(const nmf_data *X, double beta, int r)
{
    return fuse_beta(beta) && !X->p && !X->hp && r >= 1 && r <= FUSE_MAXR;
}

/* the H half (X: the data's own columns) */
static void mu_half_fused(const nmf_data *X, double *F, const double *G, int r, double beta,
                          double l1, double l2, int threads)
{
    int nrow = X->nrow, ncol = X->ncol, nthr = threads > 0 ? threads : 1;
    int kl = beta == 1.0, n2 = (int) (2.0 * (beta - 2.0));
    double gam = mu_gamma(beta);
    double gs[FUSE_MAXR];
    double *Gc = coordinate_layout(G, r, nrow, gs);
    double *NUM = (double *) scratch_alloc((size_t) ncol * r + 1, sizeof(double));
    double *DEN = (double *) scratch_alloc((size_t) ncol * r + 1, sizeof(double));
#ifdef HAVE_X86_DISPATCH
    int avx = kernels_use_avx2();
#endif
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int t = 0; t < nthr; t++) {
        int j0 = (int) ((long long) ncol * t / nthr), j1 = (int) ((long long) ncol * (t + 1) / nthr);
#ifdef HAVE_X86_DISPATCH
        if (avx) fuse_cols_avx2(Gc, (size_t) nrow, r, F, X->dense, j0, j1, NUM, DEN, kl, n2, beta);
        else
#endif
            fuse_cols_base(Gc, (size_t) nrow, r, F, X->dense, j0, j1, NUM, DEN, kl, n2, beta);
        fuse_update(F, r, j0, j1, NUM, DEN, kl ? gs : NULL, l1, l2, gam);
    }
}

/* the W half on the user's array.  Xt: the W half's view of dense data
 * (dense_trans: Xt->dense is the user's m x n array, Xt->ncol = m);
 * F = t(W), r x m; G = H, r x n */
void mu_half_fused_rows(const nmf_data *Xt, double *F, const double *G, int r, double beta,
                        double l1, double l2, int threads)
{
    size_t m = (size_t) Xt->ncol, n = (size_t) Xt->nrow;
    int nthr = threads > 0 ? threads : 1, kl = beta == 1.0, n2 = (int) (2.0 * (beta - 2.0));
    double gam = mu_gamma(beta);
    const double *Xd = Xt->dense;
    double gs[FUSE_MAXR];
    for (int k = 0; k < r; k++) gs[k] = 0.0;
    for (size_t j = 0; j < n; j++)
        for (int k = 0; k < r; k++) gs[k] += G[k + j * r];
    double *NUM = (double *) scratch_alloc(m * r + 1, sizeof(double));
    double *DEN = (double *) scratch_alloc(m * r + 1, sizeof(double));
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
        if (avx) fuse_rows_avx2(Xd, m, n, r, G, F, i0, i1, NUM, DEN, kl, n2);
        else
#endif
            fuse_rows_base(Xd, m, n, r, G, F, i0, i1, NUM, DEN, kl, n2);
    }
    /* the last m % 4 rows, one at a time, in the same order */
    for (size_t i = m4; i < m; i++) {
        const double *f = F + i * r;
        double *a = NUM + i * r, *d = DEN + i * r;
        for (int k = 0; k < r; k++) a[k] = d[k] = 0.0;
        for (size_t j = 0; j < n; j++) {
            const double *h = G + j * r;
            double y = f[0] * h[0];
            for (int k = 1; k < r; k++) y += f[k] * h[k];
            if (y < EPS_Y) y = EPS_Y;
            double cx, cd;
            fuse_coef(Xd[i + j * m], y, kl, beta, &cx, &cd);
            for (int k = 0; k < r; k++) { a[k] += cx * h[k]; d[k] += cd * h[k]; }
        }
    }
    /* the update needs every row's sums first (F is read by all rows' y) */
    fuse_update(F, r, 0, (int) m, NUM, DEN, kl ? gs : NULL, l1, l2, gam);
}

void mu_half_dense(const nmf_data *X, double *F, const double *G, int r,
                   double beta, double l1, double l2, int fused, int threads)
{
    if (fused) {
        mu_half_fused(X, F, G, r, beta, l1, l2, threads);
        return;
    }
    int nrow = X->nrow, ncol = X->ncol, kl = (beta == 1.0);
    int nv = (r + 3) / 4, rp = 4 * nv, nthr = threads > 0 ? threads : 1;
    double gam = mu_gamma(beta);
    const int *hp = X->hp, *hi = X->hi;
    const double *Gp = kernel_pack_gx(G, r, (size_t) nrow);
    double *gs = (double *) scratch_alloc((size_t) r, sizeof(double));
    double *Gc = coordinate_layout(G, r, nrow, gs);
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
        /* beta = 1: the product and x / y in one pass (kernels.c) */
        if (kl) kernel_gf_kl_cols(Gc, (size_t) nrow, r, F + (size_t) j0 * r, nb, X->dense + (size_t) j0 * nrow, qx);
        else kernel_gf_cols(Gc, (size_t) nrow, r, F + (size_t) j0 * r, nb, qd);
        for (int c = 0; c < nb; c++) {
            size_t off = (size_t) c * nrow;
            if (!kl) coefficients(X->dense + (size_t) (j0 + c) * nrow, qx + off, qd + off, (size_t) nrow, beta);
            if (hp)
                for (int t = hp[j0 + c]; t < hp[j0 + c + 1]; t++) qx[off + hi[t]] = qd[off + hi[t]] = 0.0;
        }
        kernel_gx_cols(Gp, nv, qx, (size_t) nrow, 0, nb, num);
        if (!kl) kernel_gx_cols(Gp, nv, qd, (size_t) nrow, 0, nb, den);
        if (rp == r && !hp) {
            /* unpadded: the vector update of the fused passes (8 scalar
             * divisions a column were 5 % of a 96 x 1000 rank-8 KL fit) */
            fuse_update(F + (size_t) j0 * r, r, 0, nb, num, den, kl ? gs : NULL, l1, l2, gam);
            continue;
        }
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
