/* loss.c: the beta-divergence (Fevotte & Idier 2011, eq. 2.3), entrywise
 * and for a factored model Y = W H without forming Y.
 *
 *   d(x|y) = x/y - log(x/y) - 1                       beta = 0
 *          = x log(x/y) - x + y   (0 log 0 = 0)        beta = 1
 *          = (x - y)^2 / 2                             beta = 2
 *          = (x^b + (b-1) y^b - b x y^(b-1)) / (b(b-1)) otherwise
 *
 * Sums are accumulated per column into an array and added up in column
 * order afterwards, so the result does not depend on the number of threads.
 */
#include "betanmf.h"
#include "simd.h"
#include "kernels.h"
#include <float.h>
#include <math.h>
#include <string.h>

/* d >= 0, with equality at x = y; the closed forms below cancel to about
 * -1e-16 x^beta near x = y, so they are floored at zero (an exact fit must
 * not report a negative loss) */
double beta_div_scalar(double x, double y, double beta)
{
    double d;
    if (beta == 2.0) { d = x - y; return 0.5 * d * d; }
    if (beta == 1.0) d = (x == 0.0) ? y : x * log(x / y) - x + y;
    else if (beta == 0.0) { double q = x / y; d = q - log(q) - 1.0; }
    else if (x == 0.0 && beta > 0.0) return pow_beta(y, beta) / beta;
    else /* pow_beta: (half-)integer beta by multiplications and a sqrt */
        d = (pow_beta(x, beta) + (beta - 1.0) * pow_beta(y, beta) - beta * x * pow_beta(y, beta - 1.0)) /
            (beta * (beta - 1.0));
    return d > 0.0 ? d : (d == d ? 0.0 : d);
}

/* Sums of d(x|y) over one dense column, four entries at a time through
 * vdiv_log4 (beta = 1 and 0) or vdiv_pow4 (every other beta with 2 beta an
 * integer in [-16, 16], where one scalar pow_beta per entry was most of a
 * beta = 1.5 loss; simd_template.h): first with no test per vector, then,
 * only if a lane failed, again with one, the failing vectors through
 * beta_div_scalar (the same sum when none fails).  loss_template.h, once
 * per target (the square root of the power chains): pow_column, kl_column
 * and is_column.
 *
 * KL and IS (vdiv_log4's stages) go in chunks of LOG_CHUNK entries
 * with two loops each: the first forms the ratios and the logarithm's
 * reduction, with its two divisions, and stores them; the second sums the
 * series and d.  The same operations in the same order, so the same sums
 * as one loop; but each vector's ~50 operations hang on a long chain (two
 * divisions, the reduction, Estrin's levels), so in one loop the scheduler
 * holds only two or three vectors at a time; the shorter chains of the two
 * loops let it overlap more of them.  Thread-safe: the buffers are on the
 * stack.
 *
 * The two loops are then bound by their number of operations.  On AVX the
 * ratios are checked by their running minimum and maximum (two operations
 * a vector where two compares and two ANDs were four; LOG_TRACK) and, after
 * the column, by its sums being numbers: a NaN ratio comes only from a NaN
 * x or y or from x = y = Inf, and each makes d NaN (vlog_div keeps NaN). */
#define LOG_CHUNK 64
#define LOG_TRACK_SQRT4_LANES(Q, OK) (okall &= (OK))
#define LOG_TRACK_SQRT4_AVX(Q, OK)                                            \
    (vmin = (v4) _mm256_min_pd((__m256d) vmin, (__m256d) (Q)),                \
     vmax = (v4) _mm256_max_pd((__m256d) vmax, (__m256d) (Q)))
/* the tracking of the build's square root KT (target_base.h, target_avx2.h) */
#define LOG_TRACK(Q, OK) LOG_TRACK_EXPAND(KT, Q, OK)
#define LOG_TRACK_EXPAND(T, Q, OK) LOG_TRACK_T(T, Q, OK)
#define LOG_TRACK_T(T, Q, OK) LOG_TRACK_##T(Q, OK)

enum { LOSS_IS, LOSS_KL, LOSS_POW };

#include "target_base.h"
#include "simd_template.h"
#include "loss_template.h"
#ifdef HAVE_X86_DISPATCH
#include "target_avx2.h"
#include "simd_template.h"
#include "loss_template.h"
#endif

void kernels_fill_loss(betanmf_kernels *k, int avx2)
{
    k->kl_column = PICK(avx2, kl_column);
    k->is_column = PICK(avx2, is_column);
    k->pow_column = PICK(avx2, pow_column);
}

/* 2 beta an integer in [-16, 16], beta not 0, 1 or 2 */
static int pow_chain_beta(double beta)
{
    return beta != 0.0 && beta != 1.0 && beta != 2.0 && half_integer(beta);
}

/* the loss of one dense column, through the vector paths where they apply */
static double div_column(const double *x, const double *y, size_t m, double beta)
{
    if (beta == 1.0) return kern.kl_column(x, y, m, beta);
    if (beta == 0.0) return kern.is_column(x, y, m, beta);
    return kern.pow_column(x, y, m, beta);
}

#define LOSS_COLS 4

static inline double dot(const double *a, const double *b, int r)
{
    double s = 0.0;
    for (int k = 0; k < r; k++) s += a[k] * b[k];
    return s;
}

static inline double model(const double *g, const double *h, int r)
{
    double y = dot(g, h, r);
    return y < EPS_Y ? EPS_Y : y;
}

double loss_factored(const nmf_data *X, const double *Wt, const double *H,
                     int r, double beta, int threads)
{
    int m = X->nrow, n = X->ncol, nthr = threads > 0 ? threads : 1;
    const int *hp = X->hp, *hi = X->hi;
    double *part = (double *) scratch_alloc((size_t) n + 1, sizeof(double));
    char *flag = NULL;
    if (hp) {
        flag = scratch_alloc((size_t) nthr * m + 1, 1);
        memset(flag, 0, (size_t) nthr * m + 1);
    }
    double *gs = (double *) scratch_alloc((size_t) r, sizeof(double));
    double *S = (double *) scratch_alloc((size_t) r * r, sizeof(double));
    /* the column sums of W, for the sparse KL loss only: through a pointer
     * the compiler cannot tell from Wt's, each sum was a load, an add and
     * a store in a chain, for sums the dense loss never reads */
    for (int k = 0; k < r; k++) gs[k] = 0.0;
    if (X->p && beta == 1.0)
        for (int k = 0; k < r; k++) {
            double t = 0.0;
            for (int i = 0; i < m; i++) t += Wt[k + (size_t) i * r];
            gs[k] = t;
        }
    if (X->p && beta == 2.0) gram(Wt, r, m, S, X->blas);
    /* dense data: each column of the model W H comes from the vectorised
     * kernel (W in column layout), not from one r-length dot per entry */
    double *Gc = NULL, *ybuf = NULL, *obuf = NULL;
    int vec = beta == 1.0 || beta == 0.0 || pow_chain_beta(beta);
    if (!X->p && kernels_available(r)) {
        Gc = (double *) scratch_alloc((size_t) m * r + 1, sizeof(double));
        coordinate_copy(Wt, r, (size_t) m, Gc, NULL);
        ybuf = (double *) scratch_alloc((size_t) nthr * LOSS_COLS * m + 1, sizeof(double));
        /* held-out entries: each column's observed x and y, packed */
        if (hp && vec) obuf = (double *) scratch_alloc((size_t) nthr * 2 * m + 1, sizeof(double));
    }

    /* columns in groups of LOSS_COLS, whose model columns come from one
     * call of the kernel (its 4-column register tile: one column a call
     * ran a tile of 3 loads to 3 multiply-adds); every sum is per column */
    int ngrp = (n + LOSS_COLS - 1) / LOSS_COLS;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int g = 0; g < ngrp; g++) {
        int jg = g * LOSS_COLS, nb = n - jg < LOSS_COLS ? n - jg : LOSS_COLS;
        int tid = thread_id();
        if (!X->p && Gc) kernel_gf_cols(Gc, (size_t) m, r, H + (size_t) jg * r, nb, ybuf + (size_t) tid * LOSS_COLS * m);
        for (int j = jg; j < jg + nb; j++) {
            const double *h = H + (size_t) j * r;
            char *fl = flag ? flag + (size_t) tid * m : NULL;
            double s = 0.0;
            if (fl) for (int t = hp[j]; t < hp[j + 1]; t++) fl[hi[t]] = 1;
            if (!X->p && Gc) {
                const double *xc = X->dense + (size_t) j * m;
                double *y = ybuf + ((size_t) tid * LOSS_COLS + (size_t) (j - jg)) * m;
                if (!fl && vec) s = div_column(xc, y, (size_t) m, beta);
                else if (obuf) {
                    /* the observed entries, packed, through the vector
                     * kernel of a column without held-out entries rather
                     * than one scalar logarithm or power per entry: the
                     * same sum as the unmasked loss of those entries */
                    double *xo = obuf + (size_t) tid * 2 * m, *yo = xo + m;
                    size_t no = 0;
                    for (int i = 0; i < m; i++) {
                        if (fl[i]) continue;
                        xo[no] = xc[i];
                        yo[no++] = y[i];
                    }
                    s = div_column(xo, yo, no, beta);
                } else for (int i = 0; i < m; i++) {
                    if (fl && fl[i]) continue;
                    s += beta_div_scalar(xc[i], y[i] < EPS_Y ? EPS_Y : y[i], beta);
                }
            } else if (!X->p) {
                const double *xc = X->dense + (size_t) j * m;
                for (int i = 0; i < m; i++) {
                    if (fl && fl[i]) continue;
                    s += beta_div_scalar(xc[i], model(Wt + (size_t) i * r, h, r), beta);
                }
            } else if (beta == 1.0 || beta == 2.0) {
                /* zeros contribute y (KL) or y^2/2: sum them through the
                 * factors, then correct at the non-zeros and held-out entries */
                double base;
                if (beta == 1.0) base = dot(gs, h, r);
                else {
                    base = 0.0;
                    for (int a = 0; a < r; a++) base += h[a] * dot(S + (size_t) a * r, h, r);
                    base *= 0.5;
                }
                s = base;
                for (int t = X->p[j]; t < X->p[j + 1]; t++) {
                    double x = XVAL(X, t);
                    if (x == 0.0) continue;
                    double y = model(Wt + (size_t) X->i[t] * r, h, r);
                    s += beta_div_scalar(x, y, beta) - beta_div_scalar(0.0, y, beta);
                }
                if (hp)
                    for (int t = hp[j]; t < hp[j + 1]; t++)
                        s -= beta_div_scalar(0.0, model(Wt + (size_t) hi[t] * r, h, r), beta);
            } else {
                for (int i = 0; i < m; i++) {
                    if (fl && fl[i]) continue;
                    s += beta_div_scalar(0.0, model(Wt + (size_t) i * r, h, r), beta);
                }
                for (int t = X->p[j]; t < X->p[j + 1]; t++) {
                    double x = XVAL(X, t);
                    if (x == 0.0) continue;
                    double y = model(Wt + (size_t) X->i[t] * r, h, r);
                    s += beta_div_scalar(x, y, beta) - beta_div_scalar(0.0, y, beta);
                }
            }
            if (fl) for (int t = hp[j]; t < hp[j + 1]; t++) fl[hi[t]] = 0;
            part[j] = s;
        }
    }
    double total = 0.0;
    for (int j = 0; j < n; j++) total += part[j];
    if (total < 0.0) total = 0.0; /* the sparse corrections above can cancel below zero */
    return total;
}

/* .Call entry: sum of d(x|y) over entries where keep is TRUE (or all) */
SEXP C_beta_divergence(SEXP x, SEXP y, SEXP beta, SEXP keep)
{
    R_xlen_t N = XLENGTH(x);
    if (XLENGTH(y) != N || (!isNull(keep) && XLENGTH(keep) != N))
        error("internal error: beta_divergence lengths differ");
    const double *xp = REAL(x), *yp = REAL(y);
    const int *kp = isNull(keep) ? NULL : LOGICAL(keep);
    double b = asReal(beta), s = 0.0;
    for (R_xlen_t t = 0; t < N; t++) {
        if (kp && !kp[t]) continue;
        s += beta_div_scalar(xp[t], yp[t], b);
    }
    return ScalarReal(s);
}
