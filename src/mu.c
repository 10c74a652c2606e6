/* mu.c: any beta by majorisation-minimisation multiplicative updates.
 *
 * Fevotte & Idier (2011), "Algorithms for nonnegative matrix factorization
 * with the beta-divergence", Neural Computation 23(9), eq. (4.4)-(4.6):
 *     F <- F * [ G (X * Y^(beta-2)) / G Y^(beta-1) ]^gamma(beta)
 * with Y = G'F and gamma = 1/(2-beta) (beta < 1), 1 (1 <= beta <= 2),
 * 1/(beta-1) (beta > 2); with that exponent the loss never increases.
 *
 * Each column of F needs only its own column of X and of Y, so the update is
 * one fused pass per column: form y_i = g_i . f, accumulate numerator and
 * denominator, update f.  No m x n temporary exists.  beta = 1 is special:
 * the denominator is the column sums of G, and the numerator needs y only
 * where x != 0, so sparse data cost O(nnz r).  For beta != 1 on sparse data
 * the denominator still involves every y_i: O(nrow r) per column.
 *
 * Held-out entries have x = 0 already; they are removed from the
 * denominators explicitly (skipped, or subtracted for beta = 1).
 * Model values are floored at EPS_Y inside the ratios and the denominator at
 * EPS_DEN, so y^(beta-2) and the ratio stay finite (data are scaled to mean 1
 * by the caller, which makes these absolute floors meaningful).
 *
 * Three paths compute that one update, with the same operations entry by
 * entry:
 *   - mu_half, at the end of this file: the update as written, one r-long
 *     dot product per entry; for sparse data, ranks above 32, and where
 *     the data are held transposed;
 *   - mu_half_dense: dense data in blocks of NB columns, as three
 *     matrix-shaped passes that run through the register-blocked kernels
 *     (kernels_dense.c) instead of one dot product per entry:
 *       Y  = W F_b                              (kernel_gf_cols)
 *       Qx = X .* Y^(beta-2),  Qd = Y^(beta-1)  (held-out entries 0)
 *       numerator = t(W) Qx,  denominator = t(W) Qd   (kernel_gx_cols)
 *     For beta = 1 the denominator is the column sums of W (less held-out
 *     rows).  Workspace: 2 nrow x NB doubles per thread, never nrow x ncol.
 *   - the fused update of ranks <= 4 (mu_half_fused, mu_half_fused_rows):
 *     one pass per column with everything in registers.
 * Blocks and columns are each computed by one thread in a fixed order, so
 * results do not depend on the number of threads.
 *
 * Minimum volume (mu_minvol_half, at the end of this file): the W half of
 * Leplat, Gillis & Ang (2020), "Blind audio source separation with
 * minimum-volume beta-divergence NMF", IEEE TSP 68: each path above, in
 * store mode, hands back its numerators and denominators instead of
 * stepping, and a majorize-minimize step of D_beta + lam logdet(W'W + dI)
 * with the columns of W on the simplex uses them.
 */
#include "betanmf.h"
#include "simd.h"
#include "kernels.h"
#include <R_ext/Lapack.h>
#include <math.h>
#include <string.h>

/* coefficients of g_i in the numerator (cx) and denominator (cd) */
static inline void mu_coef(double x, double y, double beta, double *cx, double *cd)
{
    if (beta == 2.0) { *cx = x; *cd = y; }
    else if (beta == 1.0) { *cx = x / y; *cd = 1.0; }
    else if (beta == 0.0) { double iy = 1.0 / y; *cd = iy; *cx = x * iy * iy; }
    else {
        double t = pow_beta(y, beta - 2.0); /* one pow per entry: y^(beta-1) = t y */
        *cx = x * t; *cd = t * y;
    }
}

static inline double dot(const double *a, const double *b, int r)
{
    double s = 0.0;
    for (int k = 0; k < r; k++) s += a[k] * b[k];
    return s;
}

#define NB 32

/* Qx = x y^(beta-2), Qd = y^(beta-1) for one column (y floored at EPS_Y) */
static void coefficients(const double *x, double *qx, double *qd, size_t n, double beta)
{
    size_t i0 = 0;
    if (beta == 1.0 || (beta != 2.0 && half_integer(beta - 2.0))) {
        int kl = beta == 1.0, n2 = (int) (2.0 * (beta - 2.0));
        i0 = kern.coef_vec(x, qx, qd, n, kl, n2);
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

/* G by coordinate (coordinate_copy, kernels_dense.c) into scratch */
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
 * passes win.  In the H half beta = 1 takes 8 rows a step with two sets of
 * accumulators (even and odd quartets, added at the end), the others 4 rows;
 * the W half takes one column a step (a second set of accumulators for a
 * second column spills them to the stack at rank 3), or two into the same
 * accumulators for beta != 1 at ranks <= 3.  Each sum depends on nrow only,
 * never on threads.
 *
 * mu_template.h holds them, once per target for its square root:
 * fuse_cols (H half, lanes along the rows of X) and fuse_rows (W half on
 * the user's array, lanes along four rows of X, the loop along its
 * columns). */
#define FUSE_MAXR 4

/* minimum volume's passes over the rows of F = t(W) (mu_minvol_half, at
 * the end of this file; mu_template.h's mv_pass, mv_write): F, NUM, DEN are
 * r x m (row i at i r; den_one: DEN is one row of rp, every row's), YP and YM rp x r (column l of Y's positive and
 * negative parts at l rp, zero past r), mu, step and scale rp (one lane per
 * column of W), RHO, TS (mv_joint: phi), ID (mv_joint: 1 / phi') rp x m;
 * Fw is F, which the write pass overwrites (times_w: its entries are w~
 * rho, not w~ times rho's expansion); beta, n2 = 2 (beta - 2) where that is
 * an integer (half), and first (mv_joint's first pass: rho = 1, or with
 * warm the roots RHO holds from the last solve).
 * The rows below n_fast are read with whole vectors, which stay inside the
 * r x m arrays; the others through a padded copy. */
struct mv_rows {
    const double *F, *NUM, *DEN, *YP, *YM, *mu, *step, *scale;
    double *RHO, *TS, *ID, *Fw;
    size_t m, n_fast;
    int r, nv, kl, den_one;
    double lam2, beta;
    int n2, half, first, times_w, warm;
};

/* the builds of the fused passes and the vector update, one per target */
#include "target_base.h"
#include "simd_template.h"
#include "mu_template.h"
#ifdef HAVE_X86_DISPATCH
#include "target_avx2.h"
#include "simd_template.h"
#include "mu_template.h"
#endif

void kernels_fill_mu(betanmf_kernels *k, int avx2)
{
    k->coef_vec = PICK(avx2, coef_vec);
    k->fuse_cols = PICK(avx2, fuse_cols);
    k->fuse_rows = PICK(avx2, fuse_rows);
    k->fuse_update = PICK(avx2, fuse_update);
    k->mv_pass = PICK(avx2, mv_pass);
    k->mv_write = PICK(avx2, mv_write);
    k->mv_joint = PICK(avx2, mv_joint);
    k->mv_gram = PICK(avx2, mv_gram);
}

/* f_k *= (num_k / (den_k + l1 + l2 f_k))^gamma for the columns [j0, j1),
 * four entries at a time along the flat r x ncol array (the den_k of
 * beta = 1, the sums gs of G, repeat every r entries, so every lcm(r, 4)
 * along the vectors; r <= 32): the same operations as mu_step's, lane by
 * lane (a scalar loop is bound by one division an entry, one after the
 * other).  The blocked update uses it too where r is a multiple of 4 (its
 * NUM and DEN are then unpadded). */
static void fuse_update(double *F, int r, int j0, int j1, const double *NUM, const double *DEN,
                        const double *gs, double l1, double l2, double gam)
{
    kern.fuse_update(F, r, j0, j1, NUM, DEN, gs, l1, l2, gam);
}

static int fuse_beta(double beta)
{
    return beta == 1.0 || (beta != 2.0 && half_integer(beta - 2.0));
}

static int mu_fused(const nmf_data *X, double beta, int r)
{
    return fuse_beta(beta) && !X->p && !X->hp && r >= 1 && r <= FUSE_MAXR;
}

/* what the ranges of one fused half share */
typedef struct {
    const double *Gc, *Xd;
    size_t nrow, n;
    double *F;
    const double *G;
    int r;
    double *NUM, *DEN;
    int kl, n2;
    double beta, *gs, l1, l2, gam;
} fused_args;

/* the columns [j0, j1) of the H half: their sums, then their update */
static long fused_cols_range(const void *ctx, int t, int j0, int j1)
{
    const fused_args *a = ctx;
    (void) t;
    kern.fuse_cols(a->Gc, a->nrow, a->r, a->F, a->Xd, j0, j1, a->NUM, a->DEN, a->kl, a->n2, a->beta);
    fuse_update(a->F, a->r, j0, j1, a->NUM, a->DEN, a->kl ? a->gs : NULL, a->l1, a->l2, a->gam);
    return 0;
}

/* the quartets of rows [q0, q1) of the W half: their sums */
static long fused_rows_range(const void *ctx, int t, int q0, int q1)
{
    const fused_args *a = ctx;
    (void) t;
    kern.fuse_rows(a->Xd, a->nrow, a->n, a->r, a->G, a->F, 4 * (size_t) q0, 4 * (size_t) q1, a->NUM,
                   a->DEN, a->kl, a->n2);
    return 0;
}

/* the H half (X: the data's own columns) */
static void mu_half_fused(const nmf_data *X, double *F, const double *G, int r, double beta,
                          double l1, double l2, int threads)
{
    int nrow = X->nrow, ncol = X->ncol;
    int kl = beta == 1.0, n2 = (int) (2.0 * (beta - 2.0));
    double gam = mu_gamma(beta);
    double gs[FUSE_MAXR];
    double *Gc = coordinate_layout(G, r, nrow, gs);
    double *NUM = (double *) scratch_alloc((size_t) ncol * r + 1, sizeof(double));
    double *DEN = (double *) scratch_alloc((size_t) ncol * r + 1, sizeof(double));
    fused_args a = {Gc, X->dense, (size_t) nrow, 0, F, G, r, NUM, DEN, kl, n2, beta, gs, l1, l2, gam};
    parallel_ranges(ncol, threads, fused_cols_range, &a);
}

/* the W half on the user's array.  Xt: the W half's view of dense data
 * (dense_trans: Xt->dense is the user's m x n array, Xt->ncol = m);
 * F = t(W), r x m; G = H, r x n */
static int mu_half_fused_rows(const nmf_data *Xt, double *F, const double *G, int r, double beta,
                              double l1, double l2, int threads, double *ONUM, double *ODEN)
{
    size_t m = (size_t) Xt->ncol, n = (size_t) Xt->nrow;
    int kl = beta == 1.0, n2 = (int) (2.0 * (beta - 2.0));
    double gam = mu_gamma(beta);
    const double *Xd = Xt->dense;
    double gs[FUSE_MAXR];
    for (int k = 0; k < r; k++) gs[k] = 0.0;
    for (size_t j = 0; j < n; j++)
        for (int k = 0; k < r; k++) gs[k] += G[k + j * r];
    /* store mode (ONUM): the sums straight into the caller's arrays */
    double *NUM = ONUM ? ONUM : (double *) scratch_alloc(m * r + 1, sizeof(double));
    double *DEN = ONUM ? ODEN : (double *) scratch_alloc(m * r + 1, sizeof(double));
    size_t m4 = m - m % 4, nq = m4 / 4;
    fused_args a = {NULL, Xd, m, n, F, G, r, NUM, DEN, kl, n2, beta, gs, l1, l2, gam};
    parallel_ranges((int) nq, threads, fused_rows_range, &a);
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
    if (ONUM) {
        /* the min-volume update's terms; beta = 1: the denominator of every
         * row is gs, stored once in ODEN's first row (returns 1) */
        if (kl) for (int k = 0; k < r; k++) ODEN[k] = gs[k];
        return kl;
    }
    /* the update needs every row's sums first (F is read by all rows' y) */
    fuse_update(F, r, 0, (int) m, NUM, DEN, kl ? gs : NULL, l1, l2, gam);
    return 0;
}

static void mu_half_dense(const nmf_data *X, double *F, const double *G, int r,
                          double beta, double l1, double l2, int fused, int threads,
                          double *ONUM, double *ODEN)
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
        /* beta = 1: the product and x / y in one pass (kernels_dense.c) */
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
        if (rp == r && !hp && !ONUM) {
            /* unpadded: the vector update of the fused passes */
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
            if (ONUM) {
                memcpy(ONUM + (size_t) j * r, nc, (size_t) r * sizeof(double));
                memcpy(ODEN + (size_t) j * r, dc, (size_t) r * sizeof(double));
                continue;
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

/* What MU needs of the data: its column kernels walk a dense transposed
 * copy for the W half, except the fused update of small ranks, whose W half
 * reads the user's array along its rows (mu_half_fused_rows); BETANMF_NOFUSE turns
 * that update off, for comparisons. */
nmf_plan mu_plan(const nmf_data *X, double beta, int r, const nmf_switches *sw)
{
    nmf_plan plan = {0, 0, 0, 0};
    plan.fused = !sw->nofuse && mu_fused(X, beta, r);
    plan.copy = !plan.fused;
    return plan;
}

/* The half update of F, or with ONUM (r x ncol) only its numerators and
 * denominators stored there and in ODEN, F left as it is (the min-volume
 * W half, mu_minvol_half).  Returns 1 when every column's denominators are
 * those of the first (beta = 1 without held-out entries, the fused pass),
 * stored there only; else 0. */
static int half(const nmf_data *X, double *F, const double *G, int r, double beta, double l1,
                double l2, int fused, int threads, double *ONUM, double *ODEN)
{
    if (X->dense_trans && fused) return mu_half_fused_rows(X, F, G, r, beta, l1, l2, threads, ONUM, ODEN);
    if (!X->p && !X->dense_trans && kernels_available(r)) {
        mu_half_dense(X, F, G, r, beta, l1, l2, fused, threads, ONUM, ODEN);
        return 0;
    }
    int nrow = X->nrow, ncol = X->ncol;
    int nthr = threads > 0 ? threads : 1;
    double gam = mu_gamma(beta);
    int kl = (beta == 1.0);
    const int *hp = X->hp, *hi = X->hi;
    int sparse = X->p != NULL;

    double *gs = (double *) scratch_alloc((size_t) r, sizeof(double));
    for (int k = 0; k < r; k++) gs[k] = 0.0;
    for (int i = 0; i < nrow; i++)
        for (int k = 0; k < r; k++) gs[k] += G[k + (size_t) i * r];

    double *nd = (double *) scratch_alloc((size_t) nthr * 2 * r, sizeof(double));
    char *flag = NULL;
    if (hp && !kl) {
        flag = scratch_alloc((size_t) nthr * nrow, 1);
        memset(flag, 0, (size_t) nthr * nrow);
    }
    double *ybuf = (sparse && !kl) ? (double *) scratch_alloc((size_t) nthr * nrow, sizeof(double)) : NULL;
    /* beta = 1 on sparse data: every numerator at once through the
     * register-blocked kernel, O(nnz r) */
    double *klnum = NULL, *scnum = NULL;
    if (sparse && kl && X->sparse_trans) {
        /* the W half reads the user's matrix by scattering (no transposed copy) */
        klnum = (double *) scratch_alloc((size_t) r * ncol + 1, sizeof(double));
        scatter_sparse(G, r, X, F, klnum, 1, 1.0, threads);
    } else if (sparse && kl && kernels_available(r)) {
        klnum = (double *) scratch_alloc((size_t) r * ncol + 1, sizeof(double));
        kernel_sparse_klnum(G, r, X, F, klnum, threads);
    } else if (sparse && X->sparse_trans) {
        scnum = (double *) scratch_alloc((size_t) r * ncol + 1, sizeof(double));
        scatter_sparse(G, r, X, F, scnum, 2, beta, threads);
    }

#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int j = 0; j < ncol; j++) {
        int tid = thread_id();
        double *num = nd + (size_t) tid * 2 * r, *den = num + r;
        double *f = F + (size_t) j * r;
        char *fl = flag ? flag + (size_t) tid * nrow : NULL;
        for (int k = 0; k < 2 * r; k++) num[k] = 0.0;
        if (fl) for (int t = hp[j]; t < hp[j + 1]; t++) fl[hi[t]] = 1;

        if (!sparse) {
            const double *xc = X->dense + (size_t) j * nrow;
            for (int i = 0; i < nrow; i++) {
                if (fl && fl[i]) continue;
                double x = xc[i];
                if (kl && x == 0.0) continue;
                const double *g = G + (size_t) i * r;
                double y = dot(g, f, r), cx, cd;
                if (y < EPS_Y) y = EPS_Y;
                mu_coef(x, y, beta, &cx, &cd);
                if (kl) for (int k = 0; k < r; k++) num[k] += cx * g[k];
                else for (int k = 0; k < r; k++) { num[k] += cx * g[k]; den[k] += cd * g[k]; }
            }
        } else if (kl && klnum) {
            for (int k = 0; k < r; k++) num[k] = klnum[k + (size_t) j * r];
        } else if (kl) {
            for (int t = X->p[j]; t < X->p[j + 1]; t++) {
                double x = XVAL(X, t);
                if (x == 0.0) continue;
                const double *g = G + (size_t) X->i[t] * r;
                double y = dot(g, f, r);
                if (y < EPS_Y) y = EPS_Y;
                double c = x / y;
                for (int k = 0; k < r; k++) num[k] += c * g[k];
            }
        } else {
            double *yb = ybuf + (size_t) tid * nrow;
            for (int i = 0; i < nrow; i++) {
                const double *g = G + (size_t) i * r;
                double y = dot(g, f, r), cx, cd;
                if (y < EPS_Y) y = EPS_Y;
                yb[i] = y;
                if (fl && fl[i]) continue;
                mu_coef(0.0, y, beta, &cx, &cd);
                for (int k = 0; k < r; k++) den[k] += cd * g[k];
            }
            if (scnum) for (int k = 0; k < r; k++) num[k] = scnum[k + (size_t) j * r];
            else for (int t = X->p[j]; t < X->p[j + 1]; t++) {
                double x = XVAL(X, t);
                if (x == 0.0) continue;
                double cx, cd;
                mu_coef(x, yb[X->i[t]], beta, &cx, &cd);
                const double *g = G + (size_t) X->i[t] * r;
                for (int k = 0; k < r; k++) num[k] += cx * g[k];
            }
        }
        if (kl) {
            for (int k = 0; k < r; k++) den[k] = gs[k];
            if (hp)
                for (int t = hp[j]; t < hp[j + 1]; t++) {
                    const double *g = G + (size_t) hi[t] * r;
                    for (int k = 0; k < r; k++) den[k] -= g[k];
                }
        }
        if (fl) for (int t = hp[j]; t < hp[j + 1]; t++) fl[hi[t]] = 0;
        if (ONUM) {
            for (int k = 0; k < r; k++) { ONUM[k + (size_t) j * r] = num[k]; ODEN[k + (size_t) j * r] = den[k]; }
            continue;
        }

        for (int k = 0; k < r; k++) {
            double d = den[k] + l1 + l2 * f[k];
            if (!(d > EPS_DEN)) d = EPS_DEN;
            double ratio = num[k] / d;
            f[k] *= mu_step(ratio, gam);
        }
    }
    return 0;
}

/* every column of the r x n array D its first (half()'s return 1) */
static void den_rows(double *D, int r, int n)
{
    for (size_t j = 1; j < (size_t) n; j++)
        for (int k = 0; k < r; k++) D[k + j * r] = D[k];
}

void mu_half(const nmf_data *X, double *F, const double *G, int r,
             double beta, double l1, double l2, int fused, int threads)
{
    half(X, F, G, r, beta, l1, l2, fused, threads, NULL, NULL);
}

/* the numerators (ONUM) and denominators (ODEN) of the half update of F,
 * r x ncol each, F left as it is: the W half of a fit read in column
 * blocks (blocks.c) sums them over the blocks of t(X) */
void mu_half_store(const nmf_data *X, double *F, const double *G, int r, double beta, int fused,
                   int threads, double *ONUM, double *ODEN)
{
    if (half(X, F, G, r, beta, 0.0, 0.0, fused, threads, ONUM, ODEN)) den_rows(ODEN, r, X->ncol);
}

/* The W half's numerators and denominators (NUM, DEN: r x nrow each, the
 * layout of mu_half_store's on t(X)) from one block of columns of dense
 * data X (nrow x ncol) in its own layout, at the factors Wt (r x nrow) and
 * H (r x ncol, the block's columns): the share of a column block that a
 * fit read in blocks adds up (blocks.c), without the dense transposed copy
 * mu_half_store's column kernels would walk (writing it cost more than the
 * sums).  Row i of W needs, over the block's columns j,
 *   NUM[, i] = sum_j h_j x_ij y_ij^(beta-2),  DEN[, i] = sum_j h_j y_ij^(beta-1):
 * for each chunk of NB columns, as mu_half_dense makes them for the H half,
 *   Y = W H_c (kernel_gf_cols; beta = 1: x / y at once, kernel_gf_kl_cols),
 *   Qx = X .* Y^(beta-2), Qd = Y^(beta-1) (coefficients(); held-out 0),
 * then NUM += H_c t(Qx), DEN += H_c t(Qd) through hxt (the register tile
 * of HALS's one-pass H half), MUB_ROWS rows of the sums at a time so their
 * block stays in cache while the chunk's columns stream past.  beta = 1:
 * DEN[, i] = the row sums of H less the columns held out in row i, as the
 * W half in memory makes it.  The chunks are cut into MUB_PARTS fixed
 * ranges (fewer for a tall, narrow block), one partial sum each, added in
 * order: their number depends on the block's shape only, so the result
 * does not depend on the number of threads. */
#define MUB_PARTS 4
#define MUB_ROWS 512
void mu_block_sums(const nmf_data *X, const double *Wt, const double *H, int r, double beta, int threads,
                   double *NUM, double *DEN)
{
    int nrow = X->nrow, ncol = X->ncol, kl = (beta == 1.0);
    int nv = (r + 3) / 4, rp = 4 * nv, nthr = threads > 0 ? threads : 1, nacc = kl ? 1 : 2;
    const int *hp = X->hp, *hi = X->hi;
    /* A tall, narrow block (a few dozen columns of many rows) must not
     * need more than itself: chunks of w <= NB columns, narrower until
     * the chunk buffers (nacc for each of up to MUB_PARTS threads) hold at
     * most the block's columns (down to 4 columns); fewer partial sums
     * where MUB_PARTS of them would outgrow the block, as
     * hals_block_parts.  Both from the block's shape only, so the sums'
     * order of terms never depends on the number of threads. */
    int w = NB;
    while (w > 4 && (long long) nacc * MUB_PARTS * w > ncol) w /= 2;
    int nchunk = (ncol + w - 1) / w;
    int P = nchunk < MUB_PARTS ? nchunk : MUB_PARTS;
    size_t bsz = (size_t) rp * nrow, per = (size_t) nrow * (ncol < w ? ncol : w);
    while (P > 1 && (size_t) P * nacc * bsz > (size_t) nrow * ncol / 2
           && (size_t) P * nacc * bsz > ((size_t) 1 << 22))
        P--;
    int nq = nthr < P ? nthr : (P > 0 ? P : 1);
    for (size_t t = 0; t < (size_t) r * nrow; t++) NUM[t] = DEN[t] = 0.0;
    if (nrow == 0 || P < 1) return;
    double *Gc = coordinate_layout(Wt, r, nrow, NULL);
    const double *Hp = kernel_pad(H, r, rp, (size_t) ncol);
    double *Acc = (double *) scratch_alloc((size_t) P * nacc * bsz, sizeof(double));
    double *Qx = (double *) scratch_alloc((size_t) nq * per, sizeof(double));
    double *Qd = kl ? NULL : (double *) scratch_alloc((size_t) nq * per, sizeof(double));
#ifdef _OPENMP
#pragma omp parallel for num_threads(nq) schedule(static)
#endif
    for (int c = 0; c < P; c++) {
        int tid = thread_id();
        double *qx = Qx + (size_t) tid * per, *qd = Qd ? Qd + (size_t) tid * per : NULL;
        double *bn = Acc + (size_t) c * nacc * bsz, *bd = kl ? NULL : bn + bsz;
        memset(bn, 0, (size_t) nacc * bsz * sizeof(double));
        int b0 = (int) ((long long) nchunk * c / P), b1 = (int) ((long long) nchunk * (c + 1) / P);
        for (int b = b0; b < b1; b++) {
            int j0 = b * w, nb = (j0 + w <= ncol) ? w : ncol - j0;
            const double *xc = X->dense + (size_t) j0 * nrow;
            if (kl) kernel_gf_kl_cols(Gc, (size_t) nrow, r, H + (size_t) j0 * r, nb, xc, qx);
            else kernel_gf_cols(Gc, (size_t) nrow, r, H + (size_t) j0 * r, nb, qd);
            for (int cc = 0; cc < nb; cc++) {
                size_t off = (size_t) cc * nrow;
                if (!kl) coefficients(xc + off, qx + off, qd + off, (size_t) nrow, beta);
                if (hp)
                    for (int t = hp[j0 + cc]; t < hp[j0 + cc + 1]; t++) {
                        qx[off + hi[t]] = 0.0;
                        if (qd) qd[off + hi[t]] = 0.0;
                    }
            }
            const double *hc = Hp + (size_t) j0 * rp;
            for (size_t i0 = 0; i0 < (size_t) nrow; i0 += MUB_ROWS) {
                size_t i1 = i0 + MUB_ROWS < (size_t) nrow ? i0 + MUB_ROWS : (size_t) nrow;
                kernel_gxt_acc(hc, nv, qx, (size_t) nrow, nb, i0, i1, bn, NULL, 0);
                if (!kl) kernel_gxt_acc(hc, nv, qd, (size_t) nrow, nb, i0, i1, bd, NULL, 0);
            }
        }
    }
    /* the partial sums, added in order */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int i = 0; i < nrow; i++)
        for (int q = 0; q < nacc; q++) {
            double *out = q == 0 ? NUM : DEN;
            for (int k = 0; k < r; k++) {
                size_t at = (size_t) q * bsz + (size_t) i * rp + k;
                double s = Acc[at];
                for (int c = 1; c < P; c++) s += Acc[(size_t) c * nacc * bsz + at];
                out[(size_t) i * r + k] = s;
            }
        }
    if (!kl) return;
    double hs[4 * 8];
    double *hsum = r <= 32 ? hs : (double *) scratch_alloc((size_t) r, sizeof(double));
    for (int k = 0; k < r; k++) hsum[k] = 0.0;
    for (size_t j = 0; j < (size_t) ncol; j++)
        for (int k = 0; k < r; k++) hsum[k] += H[k + j * r];
    for (size_t i = 0; i < (size_t) nrow; i++)
        for (int k = 0; k < r; k++) DEN[k + i * r] = hsum[k];
    if (hp)
        for (int j = 0; j < ncol; j++)
            for (int t = hp[j]; t < hp[j + 1]; t++)
                for (int k = 0; k < r; k++) DEN[k + (size_t) hi[t] * r] -= H[k + (size_t) j * r];
}

/* ---- minimum volume: the W half of Leplat, Gillis & Ang (2020) ----
 *
 * min D_beta(X | WH) + lam logdet(W'W + delta I), every column of W summing
 * to 1.  One majorize-minimize step from the current W~ (rows w~, r-vectors;
 * here the columns of F = t(W), r x m):
 *   - logdet is concave in W'W: logdet(W'W + dI) <= c + tr(Y W'W) with
 *     Y = (W~'W~ + dI)^-1, a sum over rows of w Y w'.  With Y = Y+ - Y-
 *     (elementwise positive and negative parts), a = Y+ w~, b = Y- w~:
 *       w Y+ w' <= sum_k a_k w_k^2 / w~_k            (Y+ >= 0)
 *      -w Y- w' <= c - 2 sum_k b_k w~_k log w_k      (z >= 1 + log z);
 *   - the divergence by Fevotte & Idier's (2011) majoriser, whose
 *     derivative in w_k, with rho = w_k / w~_k, P and Q the MU denominator
 *     and numerator (half(), store mode), is
 *       rho^(beta-1) P - rho^(beta-2) Q   (1 <= beta <= 2)
 *       rho^(beta-1) P - Q                (beta > 2)
 *       P - rho^(beta-2) Q                (beta < 1).
 * With a multiplier mu_k for column k's sum, each entry solves
 *   phi(rho) = [that derivative] + 2 lam a rho - 2 lam b / rho + mu_k = 0,
 * phi strictly increasing (a > 0), so rho(mu) is unique and decreasing, and
 * mu_k is the one root of sum_i w~_ik rho_ik(mu_k) = 1.  For beta = 1 and
 * 2, where each rho(mu) has a closed form, Newton on mu from the last
 * multiplier (mv_closed) finds it in about one pass once the fit settles;
 * for other beta, Newton on the column's whole system (mv_joint) finds it
 * in a few passes (in mv_rows_solve from the last solve's roots, the
 * fixed point of the MM iteration being rho = 1 and entries headed for
 * zero keeping their ratio from one iteration to the next).  Up to rank 32 both run for all columns at once
 * (mv_rows_solve): one pass over the rows of t(W) per step, the columns in
 * vector lanes (mu_template.h), a and b recomputed in each pass rather
 * than stored.  A safeguarded Newton search on mu alone, each trial
 * solving every entry (mv_column, d rho / d mu = -1 / phi'(rho)), is the
 * fallback.  The new W minimises a
 * majoriser of the objective over a set that contains W~ (its columns sum
 * to 1, made exact after each update): the objective never increases.
 * Entries with w~ = 0 stay 0. */

typedef struct {
    double P, Q, a2, b2;   /* a2 = 2 lam a, b2 = 2 lam b */
} mv_entry;

/* phi(rho) without the multiplier's term, and phi'(rho), of one entry */
static double mv_phi(const mv_entry *e, double rho, double beta, double *dphi)
{
    double v, dv, ir = 1.0 / rho;
    if (beta == 1.0) {
        v = e->P - e->Q * ir;
        dv = e->Q * ir * ir;
    } else if (beta == 2.0) {
        v = rho * e->P - e->Q;
        dv = e->P;
    } else {
        double p2 = pow_beta(rho, beta - 2.0); /* rho^(beta-2) */
        if (beta > 1.0 && beta < 2.0) {
            v = p2 * rho * e->P - p2 * e->Q;
            dv = (beta - 1.0) * p2 * e->P - (beta - 2.0) * p2 * ir * e->Q;
        } else if (beta > 2.0) {
            v = p2 * rho * e->P - e->Q;
            dv = (beta - 1.0) * p2 * e->P;
        } else {
            v = e->P - p2 * e->Q;
            dv = -(beta - 2.0) * p2 * ir * e->Q;
        }
    }
    *dphi = dv + e->a2 + e->b2 * ir * ir;
    return v + e->a2 * rho - e->b2 * ir;
}

/* the non-negative root of A rho^2 + B rho - C = 0 (A > 0, C >= 0), without
 * cancellation */
static double pos_root(double A, double B, double C)
{
    double s = sqrt(B * B + 4.0 * A * C);
    if (B >= 0.0) return (s + B > 0.0) ? 2.0 * C / (B + s) : 0.0;
    return (s - B) / (2.0 * A);
}

/* rho(mu) of one entry: closed forms for beta = 1 and 2, else safeguarded
 * Newton on t = log rho from the start rho0 (phi is increasing in t too) */
static double mv_rho(const mv_entry *e, double beta, double mu, double rho0)
{
    if (beta == 1.0) return pos_root(e->a2, e->P + mu, e->Q + e->b2);
    if (beta == 2.0) return pos_root(e->P + e->a2, mu - e->Q, e->b2);
    double d, t = log(rho0 > 0.0 ? rho0 : 1.0), f = mv_phi(e, exp(t), beta, &d) + mu;
    if (f == 0.0) return exp(t);
    /* bracket [lo, hi]: phi(lo) < 0 < phi(hi); phi -> +inf as rho -> inf
     * (a > 0); if phi stays >= 0 as rho -> 0 the minimiser is rho = 0 */
    double lo = t, hi = t, step = 1.0;
    if (f > 0.0) {
        for (;;) {
            lo = t - step;
            if (lo < -700.0) return 0.0;
            if (mv_phi(e, exp(lo), beta, &d) + mu < 0.0) break;
            hi = lo; step *= 2.0;
        }
    } else {
        for (;;) {
            hi = t + step;
            if (hi > 700.0) hi = 700.0;
            if (mv_phi(e, exp(hi), beta, &d) + mu > 0.0 || hi == 700.0) break;
            lo = hi; step *= 2.0;
        }
    }
    t = 0.5 * (lo + hi);
    for (int it = 0; it < 200; it++) {
        double rho = exp(t);
        f = mv_phi(e, rho, beta, &d) + mu;
        if (f == 0.0) break;
        if (f < 0.0) lo = t; else hi = t;
        double tn = t - f / (d * rho);
        if (!(tn > lo && tn < hi)) tn = 0.5 * (lo + hi);
        if (fabs(tn - t) <= 1e-15 * (1.0 + fabs(t)) || hi - lo <= 1e-15 * (1.0 + fabs(t))) { t = tn; break; }
        t = tn;
    }
    return exp(t);
}

/* sum_i w~_i rho_i(mu) - 1 and its derivative in mu; rho holds each
 * entry's last root (the next solve's start) */
static double mv_gap(const mv_entry *E, const double *w0, int m, double beta, double mu, double *rho,
                     double *dgap)
{
    double g = -1.0, dg = 0.0, d;
    for (int i = 0; i < m; i++) {
        if (w0[i] == 0.0) continue;
        rho[i] = mv_rho(&E[i], beta, mu, rho[i]);
        if (rho[i] > 0.0) {
            mv_phi(&E[i], rho[i], beta, &d);
            dg -= w0[i] / d;
        }
        g += w0[i] * rho[i];
    }
    *dgap = dg;
    return g;
}

/* the multiplier of one column: the root of the decreasing gap, bracketed
 * and then safeguarded Newton, from the previous iteration's mu */
static double mv_column(const mv_entry *E, const double *w0, int m, double beta, double mu, double *rho)
{
    double s = 0.0, dg;
    for (int i = 0; i < m; i++)
        if (w0[i] > 0.0) s = fmax(s, E[i].P + E[i].Q + E[i].a2 + E[i].b2);
    double g = mv_gap(E, w0, m, beta, mu, rho, &dg);
    if (g == 0.0) return mu;
    /* g decreasing: bracket g(lo) > 0 > g(hi), then Newton from the end
     * nearer the root (the start, when one step brackets it) */
    double lo = mu, hi = mu, glo = g, ghi = g, step = s > 0.0 ? s : 1.0;
    while (R_FINITE(step)) {
        double c = g > 0.0 ? hi + step : lo - step, dc;
        double gc = mv_gap(E, w0, m, beta, c, rho, &dc);
        if (gc == 0.0) return c;
        if (g > 0.0) { lo = hi; glo = ghi; hi = c; ghi = gc; if (gc < 0.0) break; }
        else { hi = lo; ghi = glo; lo = c; glo = gc; if (gc > 0.0) break; }
        step *= 2.0;
    }
    mu = fabs(glo) < fabs(ghi) ? lo : hi;
    g = mv_gap(E, w0, m, beta, mu, rho, &dg);
    for (int it = 0; it < 200 && g != 0.0; it++) {
        if (g > 0.0) lo = mu; else hi = mu;
        double mn = (dg < 0.0) ? mu - g / dg : 0.5 * (lo + hi);
        if (!(mn > lo && mn < hi)) mn = 0.5 * (lo + hi);
        int done = fabs(mn - mu) <= 1e-15 * (fabs(mu) + s) || hi - lo <= 1e-15 * (fabs(lo) + fabs(hi));
        mu = mn;
        g = mv_gap(E, w0, m, beta, mu, rho, &dg);
        if (done) break;
    }
    return mu;
}

/* The column's system at once: Newton on (rho_1..rho_m, mu) for
 *   phi_i(rho_i) + mu = 0,  sum_i w~_i rho_i = 1,
 * whose step eliminates mu in closed form (the constraint is linear in
 * rho): mu = (sum w~ rho - 1 - sum w~ phi / phi') / sum w~ / phi', then
 * rho_i -= (phi_i + mu) / phi_i'.  One phi per entry and step, from rho = 1
 * (the fixed point of the MM iteration), so it costs a few passes where the
 * nested search (mv_column) solves every entry afresh for each trial mu.
 * Steps that would more than halve or double an entry are taken in log rho
 * (positivity).  Returns 0 when it does not settle: mv_column then. */
static int mv_joint(const mv_entry *E, const double *w0, int m, double beta, double *rho, double *fd,
                    double *mu_out)
{
    for (int it = 0; it < 60; it++) {
        double sr = 0.0, sf = 0.0, sd = 0.0;
        for (int i = 0; i < m; i++) {
            if (w0[i] == 0.0) continue;
            double d, f = mv_phi(&E[i], rho[i], beta, &d), id = 1.0 / d;
            fd[2 * i] = f;
            fd[2 * i + 1] = id;
            sr += w0[i] * rho[i];
            sf += w0[i] * f * id;
            sd += w0[i] * id;
        }
        double mu = (sr - 1.0 - sf) / sd;
        if (!R_FINITE(mu)) return 0;
        int settled = 1;
        for (int i = 0; i < m; i++) {
            if (w0[i] == 0.0) continue;
            double step = -(fd[2 * i] + mu) * fd[2 * i + 1], r0 = rho[i];
            if (step > -0.5 * r0 && step < r0) rho[i] = r0 + step;
            else {
                double rel = step / r0;
                rho[i] = r0 * exp(rel < -3.0 ? -3.0 : (rel > 3.0 ? 3.0 : rel));
            }
            /* quadratic convergence: after a step of 1e-7 (relative) the
             * error is of the order of its square, 1e-14, so the pass that
             * takes it is the last (as in mv_closed) */
            if (!(fabs(step) <= 1e-7 * r0)) settled = 0;
        }
        if (settled) { *mu_out = mu; return 1; }
    }
    return 0;
}

/* beta = 1 and 2: each rho_i(mu) is the non-negative root of
 *   A rho^2 + B rho - C = 0,  s = sqrt(B^2 + 4 A C) = 2 A rho + B,
 * (beta = 1: A = a2, B = P + mu, C = Q + b2; beta = 2: A = P + a2,
 * B = mu - Q, C = b2), with d rho / d mu = -rho / s; rho is convex and
 * decreasing in mu, so Newton on the column's gap from the last multiplier
 * overshoots at most once and then approaches the root from the left.  One
 * pass per step, each entry in closed form.  Once a step moves every rho_i
 * by at most 1e-7 relative (|step| <= 1e-7 s_i), the pass that finds it is
 * the last: its linear correction rho_i - (rho_i / s_i) step is off by
 * |rho''| step^2 / 2 <= rho_i (step / s_i)^2 (rho'' = 2 C / s^3, C / rho <= s),
 * and the multiplier by |g''| step^2 / 2 |g'|, which moves each rho_i by at
 * most rho_i (step / s_min)^2: relative errors below 2e-14, which the
 * column's normalisation does not enlarge.
 * Returns 0 when it does not settle: mv_column then. */
static int mv_closed(const mv_entry *E, const double *w0, int m, double beta, double *rho, double *ts,
                     double *mu_io)
{
    double mu = *mu_io;
    for (int it = 0; it < 100; it++) {
        double g = -1.0, dg = 0.0, smin = R_PosInf;
        for (int i = 0; i < m; i++) {
            if (w0[i] == 0.0) continue;
            double A, B, C;
            if (beta == 1.0) { A = E[i].a2; B = E[i].P + mu; C = E[i].Q + E[i].b2; }
            else { A = E[i].P + E[i].a2; B = mu - E[i].Q; C = E[i].b2; }
            /* the root num / den without cancellation, as pos_root(), its
             * two forms weighted by the sign of B (0 or 1) rather than
             * branched on, and rho and rho / s from one division (den > 0
             * implies s > 0) */
            double sq = sqrt(B * B + 4.0 * A * C), pos = (double) (B >= 0.0);
            double num = pos * (2.0 * C) + (1.0 - pos) * (sq - B);
            double den = pos * (B + sq) + (1.0 - pos) * (2.0 * A);
            double q = den * sq, inv = q > 0.0 ? 1.0 / q : 0.0;
            double r = num * sq * inv, t = num * inv;
            rho[i] = r;
            ts[i] = t;
            g += w0[i] * r;
            dg -= w0[i] * t;
            if (r > 0.0 && sq < smin) smin = sq;
        }
        if (g == 0.0) { *mu_io = mu; return 1; }
        double step = -g / dg;
        if (!R_FINITE(step)) return 0;
        mu += step;
        if (fabs(step) <= 1e-7 * smin) {
            for (int i = 0; i < m; i++) {
                double r = rho[i] - ts[i] * step;
                if (w0[i] != 0.0) rho[i] = r > 0.0 ? r : 0.0;
            }
            *mu_io = mu;
            return 1;
        }
    }
    return 0;
}

/* the leading rows of an r x m array (row i at i r) whose vectors of w
 * doubles from the row's start stay inside it */
static size_t rows_fast(int r, size_t m, int w)
{
    size_t n = (size_t) r * m, k = n < (size_t) w ? 0 : (n - (size_t) w) / (size_t) r + 1;
    return k < m ? k : m;
}

/* Y = (F F' + delta I)^-1 (r x r, full) by Cholesky; returns
 * logdet(F F' + delta I).  At r <= 4 the Gram matrix from mv_gram, the
 * sums in registers in one pass over F (gram()'s kernels are shaped for
 * larger ranks), with F's row sums into tot (r) if asked. */
static double mv_inverse(const double *F, int r, int m, double delta, double *Y, int blas, int invert,
                         double *tot)
{
    int info = 0;
    if (r <= 4 && !blas) {
        double S[16], t4[4];
        kern.mv_gram(F, r, (size_t) m, rows_fast(r, (size_t) m, 4), S, t4);
        for (int b = 0; b < r; b++)
            for (int a = 0; a < r; a++) Y[a + b * r] = S[a + 4 * b];
        if (tot) for (int k = 0; k < r; k++) tot[k] = t4[k];
    } else {
        gram(F, r, m, Y, blas);
        if (tot) {
            for (int k = 0; k < r; k++) tot[k] = 0.0;
            for (size_t i = 0; i < (size_t) m; i++)
                for (int k = 0; k < r; k++) tot[k] += F[k + i * r];
        }
    }
    for (int k = 0; k < r; k++) Y[k + k * r] += delta;
    F77_CALL(dpotrf)("U", &r, Y, &r, &info FCONE);
    if (info != 0) error("internal error: W'W + delta I is not positive definite (dpotrf %d)", info);
    double ld = 0.0;
    for (int k = 0; k < r; k++) ld += 2.0 * log(Y[k + k * r]);
    if (!invert) return ld;
    F77_CALL(dpotri)("U", &r, Y, &r, &info FCONE);
    if (info != 0) error("internal error: dpotri %d", info);
    for (int k = 0; k < r; k++)
        for (int l = k + 1; l < r; l++) Y[l + k * r] = Y[k + l * r];
    return ld;
}

/* logdet(W'W + delta I) of F = t(W) (r x m): the driver's penalty */
double mu_minvol_logdet(const double *F, int r, int m, double delta, int blas)
{
    double *Y = (double *) R_alloc((size_t) r * r, sizeof(double));
    return mv_inverse(F, r, m, delta, Y, blas, 0, NULL);
}

typedef struct {
    const double *F, *NUM, *DEN, *YP, *YM;   /* Y's positive and negative parts */
    int r, m, nested;
    double beta, lam, *mu, *W0, *RHO, *Wn, *FD;
    mv_entry *E;
} mv_args;

/* the columns [k0, k1) of W: their multipliers and new entries, one column
 * at a time (ranks above 32, BETANMF_MINVOL_NESTED, and the columns
 * mv_rows_solve leaves over) */
static long mv_columns(const void *ctx, int t, int k0, int k1)
{
    const mv_args *a = ctx;
    int r = a->r, m = a->m;
    mv_entry *E = a->E + (size_t) t * m;
    double *fd = a->FD + (size_t) t * 2 * m;
    for (int k = k0; k < k1; k++) {
        double *w0 = a->W0 + (size_t) k * m, *rho = a->RHO + (size_t) k * m, *wn = a->Wn + (size_t) k * m;
        double tot = 0.0;
        for (int i = 0; i < m; i++) {
            const double *f = a->F + (size_t) i * r;
            double ap = 0.0, bm = 0.0;
            for (int l = 0; l < r; l++) {
                ap += a->YP[k + l * r] * f[l];
                bm += a->YM[k + l * r] * f[l];
            }
            E[i].P = a->DEN[k + (size_t) i * r];
            E[i].Q = a->NUM[k + (size_t) i * r];
            E[i].a2 = 2.0 * a->lam * ap;
            E[i].b2 = 2.0 * a->lam * bm;
            w0[i] = f[k];
            rho[i] = 1.0;
            tot += f[k];
        }
        if (!(tot > 0.0)) { for (int i = 0; i < m; i++) wn[i] = w0[i]; continue; }
        /* the joint Newton iteration, or (BETANMF_MINVOL_NESTED, or when
         * it does not settle) the nested search from the last multiplier */
        double muk = a->mu[k];
        int closed = a->beta == 1.0 || a->beta == 2.0;
        if (a->nested || !(closed ? mv_closed(E, w0, m, a->beta, rho, fd, &muk)
                                  : mv_joint(E, w0, m, a->beta, rho, fd, &muk))) {
            for (int i = 0; i < m; i++) rho[i] = 1.0;
            muk = mv_column(E, w0, m, a->beta, a->mu[k], rho);
        }
        a->mu[k] = muk;
        /* the sum is 1 to rounding; make it exact for the next majoriser */
        double s = 0.0;
        for (int i = 0; i < m; i++) { wn[i] = w0[i] * rho[i]; s += wn[i]; }
        double is = 1.0 / s;
        for (int i = 0; i < m; i++) wn[i] *= is;
    }
    return 0;
}

/* Rows [b0, b1) of MV_BLOCK rows each: a pass (mode 0: mv_closed's, 1:
 * mv_joint's, 2: the write pass), each block's sums into its own slot of
 * acc (MV_SLOTS rp a block), so that the column sums, added over the blocks in
 * order, do not depend on the number of threads */
#define MV_BLOCK 1024
#define MV_SLOTS 5 /* a block's sums: MV_SLOTS rp doubles */
typedef struct {
    const struct mv_rows *rows;
    double *acc;
    int mode;
} mv_blocks_args;

static long mv_blocks(const void *ctx, int t, int b0, int b1)
{
    const mv_blocks_args *a = ctx;
    size_t m = a->rows->m, rp4 = (size_t) MV_SLOTS * 4 * a->rows->nv;
    (void) t;
    for (int b = b0; b < b1; b++) {
        size_t i0 = (size_t) b * MV_BLOCK, i1 = i0 + MV_BLOCK < m ? i0 + MV_BLOCK : m;
        double *acc = a->acc + (size_t) b * rp4;
        if (a->mode == 0) kern.mv_pass(a->rows, i0, i1, acc);
        else if (a->mode == 1) kern.mv_joint(a->rows, i0, i1, acc);
        else kern.mv_write(a->rows, i0, i1);
    }
    return 0;
}

/* lane k's sum over the blocks of slot q (0..3) of acc */
static double mv_sum(const double *acc, int nblk, int rp, int q, int k)
{
    double s = 0.0;
    for (int b = 0; b < nblk; b++) s += acc[(size_t) b * MV_SLOTS * rp + (size_t) q * rp + k];
    return s;
}

/* mv_rows_solve's mv_closed: the pass whose Newton step on mu is at most
 * MV_SETTLE s_min is the last.  Its step d solves g's second-order model
 * and each rho_i(mu + d) is taken to second order (rho'' = 2 C / s^3, and
 * |rho'''| <= 6 C / s^4 <= 3 rho'' / s), so each rho_i is off by at most
 * rho_i (d / s_i)^3 from its own expansion and about as much from the
 * multiplier's: relative errors below 3e-15 at 1e-5. */
#define MV_SETTLE 1e-5

/* At r <= 32, beta = 1 and 2: mv_closed, other beta: mv_joint, for every
 * column at once, one pass over the rows of F per Newton step (the columns
 * in vector lanes, each with its own multiplier), then the write pass and
 * the normalisation (which packs the rows back into F).  A column that has
 * settled keeps its last multiplier: the later passes give its lanes the
 * same values again (mv_closed) or leave its rho as they are (mv_joint),
 * and the write pass applies its own last step.  Columns that do not settle
 * (or whose step is not finite) go to the nested search (mv_columns), from
 * F as it was. */
static void mv_rows_solve(double *F, const double *NUM, double *DEN, int den_one, const double *Y, int r,
                          int m, double beta, double lam, double *mu, const double *tot, int threads)
{
    int nv = (r + 3) / 4, rp = 4 * nv, nblk = (m + MV_BLOCK - 1) / MV_BLOCK;
    int closed = beta == 1.0 || beta == 2.0, half = half_integer(beta - 2.0);
    double *YP = (double *) scratch_alloc((size_t) 2 * rp * r, sizeof(double)), *YM = YP + (size_t) rp * r;
    for (int l = 0; l < r; l++)
        for (int k = 0; k < rp; k++) {
            double y = k < r ? Y[k + l * r] : 0.0;
            YP[k + l * rp] = y > 0.0 ? y : 0.0;
            YM[k + l * rp] = y > 0.0 ? 0.0 : -y;
        }
    /* mup: each lane's multiplier in the passes; step: mv_closed's last
     * step, or mv_joint's lane state (0 settled, 1 a step and phi, 2 a step
     * alone, 3 phi alone) */
    double *mup = (double *) scratch_alloc((size_t) 3 * rp, sizeof(double)), *step = mup + rp;
    double *scale = step + rp;
    int *state = (int *) scratch_alloc((size_t) r, sizeof(int)); /* 0 open, 1 settled, 2 fallback */
    int open = 0;
    for (int k = 0; k < r; k++) {
        state[k] = tot[k] > 0.0 ? 0 : 1; /* a zero column stays as it is */
        open += state[k] == 0;
    }
    for (int k = 0; k < rp; k++) {
        mup[k] = k < r ? mu[k] : 0.0;
        step[k] = !closed && k < r && state[k] == 0 ? 3.0 : 0.0;
    }
    double *acc = (double *) scratch_alloc((size_t) nblk * MV_SLOTS * rp, sizeof(double));
    double *den1 = DEN;
    if (den_one) {
        den1 = (double *) scratch_alloc((size_t) rp, sizeof(double));
        for (int k = 0; k < rp; k++) den1[k] = k < r ? DEN[k] : 0.0;
    }
    /* mv_joint's roots stay in the state for the next solve's start */
    int warm = !closed && mu[r] != 0.0;
    struct mv_rows rows = {F, NUM, den1, YP, YM, mup, step, scale,
                           closed ? (double *) scratch_alloc((size_t) rp * m, sizeof(double)) : mu + r + 1,
                           (double *) scratch_alloc((size_t) rp * m, sizeof(double)),
                           (double *) scratch_alloc((size_t) rp * m, sizeof(double)), F,
                           (size_t) m, rows_fast(r, (size_t) m, rp), r, nv, beta == 1.0, den_one, 2.0 * lam, beta,
                           half ? (int) (2.0 * (beta - 2.0)) : 0, half, 1, !closed, warm};
    mv_blocks_args ba = {&rows, acc, closed ? 0 : 1};
    int evals[MAXV]; /* mv_joint: whether the pass takes phi in vector v */
    for (int it = 0; it < (closed ? 100 : 61) && open; it++) {
        for (int v = 0; v < nv; v++) {
            evals[v] = rows.first;
            for (int k = 4 * v; k < 4 * v + 4; k++) evals[v] |= step[k] == 1.0 || step[k] == 3.0;
        }
        parallel_ranges(nblk, threads, mv_blocks, &ba);
        for (int k = 0; k < r; k++) {
            if (state[k] != 0) continue;
            if (closed) {
                double g = mv_sum(acc, nblk, rp, 0, k) - 1.0, dg = -mv_sum(acc, nblk, rp, 1, k), smin = R_PosInf;
                for (int b = 0; b < nblk; b++) smin = fmin(smin, acc[(size_t) b * MV_SLOTS * rp + 2 * rp + k]);
                if (g == 0.0) { state[k] = 1; open--; mu[k] = mup[k]; continue; }
                double st = -g / dg;
                if (!R_FINITE(st)) { state[k] = 2; open--; continue; }
                if (fabs(st) <= MV_SETTLE * smin) {
                    /* the last pass: the root of g's second-order model
                     * (g'' = 2 sum w~ C / s^3), rho to second order */
                    double g2 = 2.0 * mv_sum(acc, nblk, rp, 3, k), d = st - 0.5 * g2 * st * st / dg;
                    if (!R_FINITE(d)) { state[k] = 2; open--; continue; }
                    step[k] = d;
                    mu[k] = mup[k] + d;
                    state[k] = 1;
                    open--;
                } else
                    mup[k] += st;
            } else {
                /* a pass that took the steps of the last multiplier:
                 * settled if none exceeded 1e-7 rho (as mv_joint, the pass
                 * that takes such steps is the last).  Newton's steps
                 * square: after steps within 1e-4 rho the next are of the
                 * order of 1e-8 rho, so the next pass takes them alone
                 * (lane state 2), without phi at the new rho, and if they
                 * do not settle after all, a pass takes phi alone (3) */
                int lane = (int) step[k];
                if (lane != 3 && mv_sum(acc, nblk, rp, 3, k) == 0.0) {
                    state[k] = 1; open--; step[k] = 0.0; mu[k] = mup[k];
                    continue;
                }
                if (!evals[k / 4]) { step[k] = 3.0; continue; }
                double mk = (mv_sum(acc, nblk, rp, 0, k) - 1.0 - mv_sum(acc, nblk, rp, 1, k)) /
                            mv_sum(acc, nblk, rp, 2, k);
                if (!R_FINITE(mk)) { state[k] = 2; open--; step[k] = 0.0; continue; }
                mup[k] = mk;
                step[k] = lane != 3 && mv_sum(acc, nblk, rp, 4, k) == 0.0 ? 2.0 : 1.0;
            }
        }
        rows.first = 0;
    }
    /* the columns left over, by the nested search from F as it was */
    double *Wn = NULL;
    mv_args fb;
    for (int k = 0; k < r; k++) {
        if (state[k] == 1) continue;
        if (!Wn) {
            if (den_one) den_rows(DEN, r, m);
            double *Ys = (double *) scratch_alloc((size_t) 2 * r * r, sizeof(double));
            for (int q = 0; q < r * r; q++) {
                Ys[q] = Y[q] > 0.0 ? Y[q] : 0.0;
                Ys[r * r + q] = Y[q] > 0.0 ? 0.0 : -Y[q];
            }
            Wn = (double *) scratch_alloc((size_t) 3 * r * m + 1, sizeof(double));
            fb = (mv_args) {F, NUM, DEN, Ys, Ys + (size_t) r * r, r, m, 1, beta, lam, mu, Wn + (size_t) r * m,
                            Wn + (size_t) 2 * r * m, Wn,
                            (double *) scratch_alloc((size_t) 2 * m + 1, sizeof(double)),
                            (mv_entry *) scratch_alloc((size_t) m + 1, sizeof(mv_entry))};
        }
        mv_columns(&fb, 0, k, k + 1);
    }
    /* the new columns' sums, 1 to rounding, from the last pass's (where a
     * column settled, the later passes repeated its values): sum w~ rho(mu +
     * d) to second order, as the write pass takes each entry (no entry's
     * expansion is negative at |d| <= MV_SETTLE s_min, so none is clamped),
     * or mv_joint's sum w~ rho; the write pass divides by them, to make the
     * sums exact for the next majoriser */
    for (int k = 0; k < rp; k++) {
        double sum = 1.0;
        if (k < r && state[k] == 1 && tot[k] > 0.0) {
            double d = closed ? step[k] : 0.0;
            sum = mv_sum(acc, nblk, rp, 0, k);
            if (closed) sum += -d * mv_sum(acc, nblk, rp, 1, k) + d * d * mv_sum(acc, nblk, rp, 3, k);
        }
        scale[k] = 1.0 / sum;
    }
    /* mv_joint's new entries are w~ rho: its step 0, and TS and ID (phi
     * and 1 / phi') replaced by RHO, finite */
    if (!closed) {
        for (int k = 0; k < rp; k++) step[k] = 0.0;
        rows.TS = rows.ID = rows.RHO;
    }
    ba.mode = 2;
    if (!closed) mu[r] = 1.0;
    parallel_ranges(nblk, threads, mv_blocks, &ba);
    for (int k = 0; k < r; k++)
        if (state[k] != 1)
            for (int i = 0; i < m; i++) F[k + (size_t) i * r] = Wn[(size_t) k * m + i];
}

/* mu_minvol_half's state between iterations: the r multipliers (the next
 * solve's start), then 1 once the rest holds mv_joint's last roots rho
 * (rp x m, the next joint iteration's start) */
size_t mu_minvol_state(int r, int m)
{
    return (size_t) r + 1 + (size_t) 4 * ((r + 3) / 4) * (size_t) m;
}

/* One min-volume W half: F = t(W) (r x m) from the W half's view of the
 * data Xt and G = H; mu holds its state between iterations
 * (mu_minvol_state()) */
void mu_minvol_half(const nmf_data *Xt, double *F, const double *G, int r, double beta, double lam,
                    double delta, int fused, double *mu, const nmf_switches *sw, int threads)
{
    int m = Xt->ncol, nthr = threads > 0 ? threads : 1;
    double *NUM = (double *) scratch_alloc((size_t) r * m + 1, sizeof(double));
    double *DEN = (double *) scratch_alloc((size_t) r * m + 1, sizeof(double));
    int den_one = half(Xt, F, G, r, beta, 0.0, 0.0, fused, threads, NUM, DEN);
    double *Y = (double *) scratch_alloc((size_t) r * r, sizeof(double));
    double *tot = (double *) scratch_alloc((size_t) r, sizeof(double));
    mv_inverse(F, r, m, delta, Y, sw->blas, 1, tot);
    if (r <= 32 && !sw->minvol_nested) {
        mv_rows_solve(F, NUM, DEN, den_one, Y, r, m, beta, lam, mu, tot, threads);
        return;
    }
    if (den_one) den_rows(DEN, r, m);
    /* Y = Y+ - Y-, split once so that the rows' a and b take no branch */
    double *YPM = (double *) scratch_alloc((size_t) 2 * r * r, sizeof(double));
    for (int q = 0; q < r * r; q++) {
        YPM[q] = Y[q] > 0.0 ? Y[q] : 0.0;
        YPM[r * r + q] = Y[q] > 0.0 ? 0.0 : -Y[q];
    }
    mv_args a = {F, NUM, DEN, YPM, YPM + (size_t) r * r, r, m, sw->minvol_nested, beta, lam, mu,
                 (double *) scratch_alloc((size_t) r * m + 1, sizeof(double)),
                 (double *) scratch_alloc((size_t) r * m + 1, sizeof(double)),
                 (double *) scratch_alloc((size_t) r * m + 1, sizeof(double)),
                 (double *) scratch_alloc((size_t) nthr * 2 * m + 1, sizeof(double)),
                 (mv_entry *) scratch_alloc((size_t) nthr * m + 1, sizeof(mv_entry))};
    parallel_ranges(r, threads, mv_columns, &a);
    for (int k = 0; k < r; k++)
        for (int i = 0; i < m; i++) F[k + (size_t) i * r] = a.Wn[(size_t) k * m + i];
}
