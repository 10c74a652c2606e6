/* kl_cd.c: beta = 1 (Poisson / KL) by cyclic coordinate descent with
 * projected Newton steps, for either factor.
 *
 * Hsieh & Dhillon (2011), "Fast coordinate descent methods with variable
 * selection for non-negative matrix factorization", KDD, section 5 (KL
 * divergence).  For one column x with G fixed, f >= 0 minimises
 *   sum_i (y_i - x_i log y_i),  y = G' f,
 * and along coordinate k, phi(d) = d s_k - sum_i x_i log(1 + g_ki d / y_i)
 * with s_k = sum_i g_ki over the observed rows.  Only rows with x_i > 0
 * enter the logarithms, so sparse data cost O(nnz r) per sweep.  With
 * q = x / y:  phi'(0) = s_k - sum g q,  phi''(0) = sum g^2 q / y.  The
 * Newton step d = max(-f_k, -phi'(0) / phi''(0)) reaches the bound f_k = 0
 * exactly, which multiplicative updates only approach.
 *
 * Why the loss never increases.  phi'' is a sum of x g^2 / (y + g t)^2,
 * each term decreasing in t.  A step d > 0 therefore undershoots (phi'
 * stays <= 0 on [0, d]).  A step d < 0 overshoots, but on [d, 0] phi'' is
 * at most M = phi''(d), so by Taylor phi(d) <= phi(0) + phi'(0) d + M d^2/2,
 * which is <= phi(0) when M |d| <= 2 phi'(0).  M comes out of the same pass
 * that forms the new y (and the next coordinate's gradient), so the usual
 * step costs one pass with one division per entry; when the bound cannot
 * decide (a step to the bound that empties some y), the exact change with
 * logarithms decides, and a step that does not lower phi is halved.  At a
 * step to the bound the new y is the other coordinates' share of y, summed
 * afresh (not y - f_k g_k, which cancels to a rounding residue where
 * coordinate k made all of y): a y emptied at a positive x is an infinite
 * loss, whatever the last bits of y.
 *
 * Each column is gathered once per sweep into contiguous arrays (its
 * positive entries and the matching rows of G, one coordinate after
 * another), so every pass runs in vector lanes (the baseline and AVX2
 * builds of cd_column_body, from kl_cd_template.h); a column at least half
 * positive is walked whole instead (still at most twice its positive entries), dense or sparse alike, so
 * that both storages add the same terms in the same lanes.  On sparse data
 * the W half reads the rows of the user's CSC matrix one block of rows at a
 * time, sorted into columns (no transposed copy of the data).  Columns are
 * independent: threads never change a result.  Used by nmf(solver = "cd")
 * for both factors, and with W fixed by predict() and fit_signatures().
 */
#include "betanmf.h"
#include "simd.h"
#include "kernels.h"
#include <math.h>
#include <string.h>
#include <float.h>

/* the per-column buffers of one thread */
typedef struct cd_work {
    double *gz, *gz2, *xv, *y, *ry, *y2, *ry2;
    int *idx;
} cd_work;


/* sum of g q and of g^2 q / y for coordinate k, q = x / y */
static inline __attribute__((always_inline))
void cd_grad(const double *g, const double *xv, const double *ry, int nzp, double *gq, double *hq)
{
    v4 a = VSET1(0.0), b = VSET1(0.0);
    for (int t = 0; t < nzp; t += 4) {
        v4 gv, xx, rv;
        VLOAD(gv, g + t); VLOAD(xx, xv + t); VLOAD(rv, ry + t);
        v4 q = xx * rv, gqv = gv * q;
        a += gqv;
        b += gqv * gv * rv;
    }
    *gq = HSUM(a); *hq = HSUM(b);
}

/* y2 = y + d g (and its floored reciprocal); M = sum g^2 x / y2^2 (only
 * needed, so only formed, for d < 0) and, for the next coordinate gn (when
 * there is one), its sums of g q and g^2 q / y at the new y.  g2 and gn2
 * hold the squares, formed once per half update: the multiplications, not
 * the division, bound this loop.  want_m and next are constants at every
 * call, so each combination compiles to its own loop. */
static inline __attribute__((always_inline))
void cd_step_v(const double *g, const double *g2, const double *gn, const double *gn2, const double *xv,
               const double *y, double d, int nzp, double *y2, double *ry2, double *M, double *gq,
               double *hq, int want_m, int next, int wide)
{
    const v4 eps = VSET1(EPS_Y), one = VSET1(1.0), dv = VSET1(d);
    v4 m = VSET1(0.0), a = VSET1(0.0), b = VSET1(0.0);
    for (int t = 0; t < nzp; t += 4) {
        v4 gv, xx, yv;
        VLOAD(gv, g + t); VLOAD(xx, xv + t); VLOAD(yv, y + t);
        v4 yn = yv + dv * gv;
        v4 yf = VFLOOR(wide, yn, eps);
        v4 rn = one / yf, q = xx * rn, qr = q * rn;
        VSTORE(y2 + t, yn); VSTORE(ry2 + t, rn);
        if (want_m) {
            v4 g2v;
            VLOAD(g2v, g2 + t);
            m += g2v * qr;
        }
        if (next) {
            v4 hv, h2v;
            VLOAD(hv, gn + t); VLOAD(h2v, gn2 + t);
            a += hv * q;
            b += h2v * qr;
        }
    }
    *M = HSUM(m);
    if (next) { *gq = HSUM(a); *hq = HSUM(b); }
}

static inline __attribute__((always_inline))
void cd_step(const double *g, const double *g2, const double *gn, const double *gn2, const double *xv,
             const double *y, double d, int nzp, double *y2, double *ry2, double *M, double *gq, double *hq,
             int wide)
{
    if (d < 0.0) {
        if (gn) cd_step_v(g, g2, gn, gn2, xv, y, d, nzp, y2, ry2, M, gq, hq, 1, 1, wide);
        else cd_step_v(g, g2, gn, gn2, xv, y, d, nzp, y2, ry2, M, gq, hq, 1, 0, wide);
    } else {
        if (gn) cd_step_v(g, g2, gn, gn2, xv, y, d, nzp, y2, ry2, M, gq, hq, 0, 1, wide);
        else cd_step_v(g, g2, gn, gn2, xv, y, d, nzp, y2, ry2, M, gq, hq, 0, 0, wide);
    }
}

/* `sweeps` cyclic sweeps over the coordinates of f; the nz positive entries
 * xv are padded to nzp (a multiple of 4) with x = 0, g = 0, so the padding
 * contributes nothing to any sum */
static inline __attribute__((always_inline))
void cd_column_body(const double *gz, const double *gz2, int r, int nz, int nzp, const double *xv,
                    const double *s, double *f, cd_work *w, int sweeps, double l1, double l2, int wide)
{
    double *y = w->y, *ry = w->ry, *y2 = w->y2, *ry2 = w->ry2;
    const v4 eps = VSET1(EPS_Y), one = VSET1(1.0);
    /* y = G' f, coordinates added in order for each entry, and the first
     * coordinate's sums in the same pass */
    v4 a = VSET1(0.0), b = VSET1(0.0);
    for (int t = 0; t < nzp; t += 4) {
        v4 yv = VSET1(0.0), g0, xx;
        for (int k = 0; k < r; k++) {
            v4 gv;
            VLOAD(gv, gz + (size_t) k * nzp + t);
            yv += f[k] * gv;
        }
        v4 rv = one / VFLOOR(wide, yv, eps);
        VSTORE(y + t, yv);
        VSTORE(ry + t, rv);
        VLOAD(g0, gz + t); VLOAD(xx, xv + t);
        v4 gqv = g0 * (xx * rv);
        a += gqv;
        b += gqv * g0 * rv;
    }
    double gq = HSUM(a), hq = HSUM(b);
    int fresh = 1; /* gq, hq hold coordinate k's sums at the current y */
    for (int sweep = 0; sweep < sweeps; sweep++) {
        for (int k = 0; k < r; k++) {
            const double *g = gz + (size_t) k * nzp, *g2 = gz2 + (size_t) k * nzp;
            if (!fresh) cd_grad(g, xv, ry, nzp, &gq, &hq);
            fresh = 0;
            /* penalties l1 f_k + l2 f_k^2 / 2 (as in mu.c) */
            double grad = s[k] + l1 + l2 * f[k] - gq, hess = hq + l2, d;
            if (hess > 0.0) {
                d = -grad / hess;
                if (d < -f[k]) d = -f[k];
            } else {
                d = (grad > 0.0) ? -f[k] : 0.0; /* linear in f_k: to the bound, or stay */
            }
            if (!(d != 0.0) || !R_FINITE(d)) continue;
            const double *gn = (k + 1 < r) ? g + nzp : NULL, *gn2 = (k + 1 < r) ? g2 + nzp : NULL;
            double M = 0.0, gq2 = 0.0, hq2 = 0.0;
            int accepted = 0;
            for (int halve = 0; halve < 30 && !accepted; halve++) {
                cd_step(g, g2, gn, gn2, xv, y, d, nzp, y2, ry2, &M, &gq2, &hq2, wide);
                if (d > 0.0 || (M + l2) * -d <= 2.0 * grad) {
                    accepted = 1;
                } else {
                    /* the exact change of phi; a step that empties a y_i
                     * with x_i > 0 is an infinite loss.  A step to the
                     * bound (d = -f_k) leaves y_i the other coordinates'
                     * share, rest = sum_{l != k} f_l g_li, summed afresh:
                     * y_i - f_k g_ki cancels where coordinate k made all of
                     * y_i, leaving a rounding residue of either sign, and a
                     * positive residue would pass for a finite (and large)
                     * gain, so that whether the column empties would turn
                     * on the last bit of y_i (and differ between storages) */
                    double change = d * (s[k] + l1 + l2 * (f[k] + 0.5 * d));
                    int to_bound = d == -f[k];
                    for (int t = 0; t < nz && R_FINITE(change); t++) {
                        if (g[t] == 0.0 || xv[t] == 0.0) continue;
                        if (to_bound) {
                            double rest = 0.0;
                            for (int l = 0; l < r; l++)
                                if (l != k) rest += f[l] * gz[(size_t) l * nzp + t];
                            /* -log(rest / (rest + f_k g_ki)) */
                            change += (rest > 0.0) ? xv[t] * log1p(f[k] * g[t] / rest) : R_PosInf;
                        } else {
                            double yt = y[t] < EPS_Y ? EPS_Y : y[t], ratio = g[t] * d / yt;
                            change -= (ratio > -1.0) ? xv[t] * log1p(ratio) : R_NegInf;
                        }
                    }
                    if (change <= 0.0) accepted = 1;
                    else d *= 0.5;
                }
            }
            if (!accepted) continue;
            f[k] += d;
            if (f[k] < 0.0) f[k] = 0.0;
            double *tp = y; y = y2; y2 = tp;
            tp = ry; ry = ry2; ry2 = tp;
            if (gn) { gq = gq2; hq = hq2; fresh = 1; }
        }
    }
}

/* the builds of cd_column_body, one per target */
#include "target_base.h"
#include "kl_cd_template.h"
#ifdef HAVE_X86_DISPATCH
#include "target_avx2.h"
#include "kl_cd_template.h"
#endif

void kernels_fill_cd(betanmf_kernels *k, int avx2)
{
    k->cd_column = PICK(avx2, cd_column);
}

/* what every column of one half update shares */
typedef struct {
    const nmf_data *X;
    int r, nrow, sweeps;
    size_t nrp;
    const double *G, *gs, *Gc, *Gc2;
    double *buf, *s, *F, l1, l2;
    int *ibuf;
    unsigned char *mark; /* per thread, nrow flags of held-out rows, all 0 between uses */
} cd_half;

/* Column j of F, on the calling thread.  Sparse data: its cnt stored
 * entries, rows ri and values rx (times X->xs); dense data: ri = NULL. */
static void cd_column(const cd_half *c, int j, const int *ri, const double *rx, int cnt)
{
    const nmf_data *X = c->X;
    int r = c->r, nrow = c->nrow;
    size_t nrp = c->nrp;
    int tid = thread_id();
    double *b = c->buf + (size_t) tid * (2 * r + 5) * nrp, *sk = c->s + (size_t) tid * r, *cb = b + (size_t) 2 * r * nrp;
    cd_work w = {b, b + (size_t) r * nrp, cb, cb + nrp, cb + 2 * nrp, cb + 3 * nrp, cb + 4 * nrp,
                 c->ibuf + (size_t) tid * nrp};
    int nz = 0, full = 0;
    /* the observed positive entries of column j (held-out ones are zero) */
    if (ri) {
        for (int t = 0; t < cnt; t++) nz += rx[t] > 0.0;
        /* the dense rule below, on the same count, and the same arrays: a
         * mostly positive column is scattered whole (zeros between), so
         * every sum adds the same terms in the same vector lanes as on the
         * dense copy of the data, and a fit does not depend on the storage
         * (CD steps to the bound can turn on the last bit) */
        full = 2 * nz >= nrow;
        if (full) {
            memset(w.xv, 0, (size_t) nrow * sizeof(double));
            for (int t = 0; t < cnt; t++)
                if (rx[t] > 0.0) w.xv[ri[t]] = rx[t] * X->xs;
            nz = nrow;
        } else {
            nz = 0;
            for (int t = 0; t < cnt; t++)
                if (rx[t] > 0.0) { w.idx[nz] = ri[t]; w.xv[nz++] = rx[t] * X->xs; }
        }
    } else {
        const double *xc = X->dense + (size_t) j * nrow;
        if (X->npos) nz = X->npos[j];
        else for (int i = 0; i < nrow; i++) nz += xc[i] > 0.0;
        /* mostly positive: walk the whole column against Gc (a zero x adds
         * nothing to any sum) rather than gather r rows of G */
        full = 2 * nz >= nrow;
        if (full) {
            memcpy(w.xv, xc, (size_t) nrow * sizeof(double));
            nz = nrow;
        } else {
            /* without a branch: where zeros and positives alternate at
             * random (counts, held-out entries) a branch per entry is
             * mispredicted about as often as not; each entry is written at
             * nz, which moves on only past a positive one (nz <= i < nrp,
             * inside the buffers), so the gathered entries are the same */
            nz = 0;
            for (int i = 0; i < nrow; i++) {
                double v = xc[i];
                w.idx[nz] = i;
                w.xv[nz] = v;
                nz += v > 0.0;
            }
        }
    }
    int nzp = 4 * ((nz + 3) / 4);
    for (int t = nz; t < nzp; t++) w.xv[t] = 0.0;
    /* the rows of G at those entries, one coordinate after another; read
     * from G itself, whose row of r values is contiguous (from Gc, r cache
     * lines an entry) */
    const double *gz = c->Gc, *gz2 = c->Gc2;
    if (!full && nz < nrow) {
        for (int t = 0; t < nz; t++) {
            const double *g = c->G + (size_t) w.idx[t] * r;
            for (int k = 0; k < r; k++) {
                double v = g[k];
                w.gz[(size_t) k * nzp + t] = v;
                w.gz2[(size_t) k * nzp + t] = v * v;
            }
        }
        for (int k = 0; k < r; k++)
            for (int t = nz; t < nzp; t++) w.gz[(size_t) k * nzp + t] = w.gz2[(size_t) k * nzp + t] = 0.0;
        gz = w.gz; gz2 = w.gz2;
    }
    for (int k = 0; k < r; k++) sk[k] = c->gs[k];
    if (X->hp && X->hp[j + 1] > X->hp[j]) {
        int h0 = X->hp[j], h1 = X->hp[j + 1];
        for (int t = h0; t < h1; t++)
            for (int k = 0; k < r; k++) sk[k] -= c->G[k + (size_t) X->hi[t] * r];
        /* s_k = the column sum less the held-out rows' share.  Where the
         * observed share is zero, or below the rounding of that
         * subtraction (at most (nrow + held) ulps of the column sum), the
         * difference is a residue of either sign, and the sign of s_k
         * decides whether f_k goes to the bound (a column without positive
         * entries, a coordinate without curvature): those s_k are summed
         * afresh over the observed rows, so a zero share is exactly zero */
        double tol = ((double) nrow + (h1 - h0) + 2) * DBL_EPSILON;
        int redo = 0;
        for (int k = 0; k < r; k++) redo |= c->gs[k] > 0.0 && sk[k] <= tol * c->gs[k];
        if (redo) {
            unsigned char *held = c->mark + (size_t) tid * nrow;
            for (int t = h0; t < h1; t++) held[X->hi[t]] = 1;
            for (int k = 0; k < r; k++) {
                if (!(c->gs[k] > 0.0 && sk[k] <= tol * c->gs[k])) continue;
                double sum = 0.0;
                for (int i = 0; i < nrow; i++)
                    if (!held[i]) sum += c->G[k + (size_t) i * r];
                sk[k] = sum;
            }
            for (int t = h0; t < h1; t++) held[X->hi[t]] = 0;
        }
    }
    double *f = c->F + (size_t) j * r;
    if (nz == 0) {
        /* no positive entry: the loss is linear (plus the penalties) in
         * each f_k, least at f_k = 0 unless its slope is <= 0 */
        for (int k = 0; k < r; k++) if (sk[k] + c->l1 > 0.0 || c->l2 > 0.0) f[k] = 0.0;
        return;
    }
    kern.cd_column(gz, gz2, r, nz, nzp, w.xv, sk, f, &w, c->sweeps, c->l1, c->l2);
}

/* The W half on sparse data without a transposed copy (X flagged
 * sparse_trans: its arrays are the user's CSC matrix, whose rows are the
 * columns of F).  One block of rows at a time (data.c's table of where each
 * stored column enters each block) is turned into columns by a counting
 * sort, in stored-column order: each column of F then sees its entries in
 * the order of a transposed copy, for O(nnz of a block) memory. */
static void cd_half_blocks(const cd_half *c, int nthr)
{
    const nmf_data *X = c->X;
    int n = X->nrow, m = X->ncol, nb = X->nblk, bs = X->bsize;
    const int *p = X->p, *idx = X->i;
    const double *xv = X->x;
    /* the largest block, from the table alone */
    size_t most = 0;
    for (int b = 0; b < nb; b++) {
        const int *st = X->bstart + (size_t) b * n, *nx = b + 1 < nb ? st + n : NULL;
        size_t cnt = 0;
        for (int j = 0; j < n; j++) cnt += (size_t) ((nx ? nx[j] : p[j + 1]) - st[j]);
        if (cnt > most) most = cnt;
    }
    int *cp = (int *) scratch_alloc((size_t) bs + 2, sizeof(int));
    int *ci = (int *) scratch_alloc(most + 1, sizeof(int));
    double *cx = (double *) scratch_alloc(most + 1, sizeof(double));
    for (int b = 0; b < nb; b++) {
        int i0 = b * bs, i1 = i0 + bs < m ? i0 + bs : m, len = i1 - i0;
        const int *st = X->bstart + (size_t) b * n;
        for (int t = 0; t <= len + 1; t++) cp[t] = 0;
        for (int j = 0; j < n; j++)
            for (int t = st[j]; t < p[j + 1] && idx[t] < i1; t++) cp[idx[t] - i0 + 2]++;
        for (int t = 2; t <= len + 1; t++) cp[t] += cp[t - 1];
        /* cp[i + 1] is where column i0 + i fills next; after the fill,
         * cp[i] .. cp[i + 1] are its entries */
        for (int j = 0; j < n; j++)
            for (int t = st[j]; t < p[j + 1] && idx[t] < i1; t++) {
                int at = cp[idx[t] - i0 + 1]++;
                ci[at] = j;
                cx[at] = xv[t];
            }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
        for (int i = 0; i < len; i++) cd_column(c, i0 + i, ci + cp[i], cx + cp[i], cp[i + 1] - cp[i]);
    }
}

/* What coordinate descent needs of the data: it walks the columns of
 * t(X) too, so dense data get a transposed copy (the rows of sparse data
 * come block by block from the user's arrays, with no copy), and the
 * positive entries of each dense column are counted once per fit. */
nmf_plan cd_plan(void)
{
    nmf_plan plan = {1, 0, 0, 1};
    return plan;
}

void kl_cd_half(const nmf_data *X, double *F, const double *G, int r, int sweeps,
                double l1, double l2, int threads)
{
    int nrow = X->nrow, ncol = X->ncol, nthr = threads > 0 ? threads : 1;
    size_t nrp = 4 * (((size_t) nrow + 3) / 4);
    double *gs = (double *) scratch_alloc((size_t) r, sizeof(double));
    for (int k = 0; k < r; k++) gs[k] = 0.0;
    for (int i = 0; i < nrow; i++)
        for (int k = 0; k < r; k++) gs[k] += G[k + (size_t) i * r];
    /* G by coordinate (Gc[k * nrp + i] = G[k, i], zero padded to nrp
     * rows): a column's gather then reads and writes contiguously, and a
     * column whose entries are all positive uses Gc itself */
    double *Gc = (double *) scratch_alloc((size_t) r * nrp + 1, sizeof(double));
    for (int i = 0; i < nrow; i++)
        for (int k = 0; k < r; k++) Gc[(size_t) k * nrp + i] = G[k + (size_t) i * r];
    for (int k = 0; k < r; k++)
        for (size_t i = nrow; i < nrp; i++) Gc[(size_t) k * nrp + i] = 0.0;
    double *Gc2 = (double *) scratch_alloc((size_t) r * nrp + 1, sizeof(double));
    for (size_t t = 0; t < (size_t) r * nrp; t++) Gc2[t] = Gc[t] * Gc[t];
    cd_half c;
    c.X = X; c.r = r; c.nrow = nrow; c.sweeps = sweeps; c.nrp = nrp;
    c.G = G; c.gs = gs; c.Gc = Gc; c.Gc2 = Gc2; c.F = F; c.l1 = l1; c.l2 = l2;
    c.buf = (double *) scratch_alloc((size_t) nthr * (2 * r + 5) * nrp + 1, sizeof(double));
    c.ibuf = (int *) scratch_alloc((size_t) nthr * nrp + 1, sizeof(int));
    c.s = (double *) scratch_alloc((size_t) nthr * r, sizeof(double));
    c.mark = NULL;
    if (X->hp) {
        c.mark = (unsigned char *) scratch_alloc((size_t) nthr * nrow + 1, 1);
        memset(c.mark, 0, (size_t) nthr * nrow + 1);
    }
    if (X->sparse_trans) {
        cd_half_blocks(&c, nthr);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int j = 0; j < ncol; j++) {
        if (X->p) cd_column(&c, j, X->i + X->p[j], X->x + X->p[j], X->p[j + 1] - X->p[j]);
        else cd_column(&c, j, NULL, NULL, 0);
    }
}
