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

void mu_half_dense(const nmf_data *X, double *F, const double *G, int r,
                   double beta, double l1, double l2, int threads)
{
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
