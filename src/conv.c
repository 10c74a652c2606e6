/* conv.c: convolutive beta-NMF by multiplicative updates (nmf_conv()).
 *
 * Model (Smaragdis 2004; seqNMF, Mackevicius et al. 2019, eLife 8:e38471):
 *     X ~ Y = sum_{l=0}^{L-1} W_l S_l(H),   (S_l H)[, t] = H[, t - l] (0 for t < l)
 * with W an m x K x L array (W_l = W[, , l]) and H K x n.  Y is linear in the
 * stacked [W_0 ... W_{L-1}] for H fixed and linear in H for W fixed, each with
 * non-negative coefficients, so the majorize-minimize updates of Fevotte &
 * Idier (2011, Neural Computation 23(9)) apply to each half as they stand:
 *     H   <- H   * [ sum_l W_l' S_{-l}(Qx) / (sum_l W_l' S_{-l}(Qd) + l1h + lam dR/dH) ]^gamma
 *     W_l <- W_l * [ Qx S_l(H)' / (Qd S_l(H)' + l1w + lam dR/dW_l) ]^gamma
 * with Qx = M X Y^(beta-2), Qd = M Y^(beta-1) (M = 0 at held-out entries) and
 * gamma(beta) as in mu.c.  All lags of W move together from one Y (the
 * update of the stacked W, as seqNMF does), so each half is one MM step.
 *
 * The x-ortho penalty of seqNMF, R = sum_{i != j} [(W' (*) X) S H']_ij with
 * (W' (*) X)[k, t] = sum_l sum_i W[i, k, l] X[i, t + l] and S the band of ones
 * of half-width L - 1, is linear in H for W fixed and linear in W for H
 * fixed; with its gradient in the denominators (seqNMF's update) each half is
 * then still an exact MM step of D_beta + lam R for 1 <= beta <= 2 (a linear
 * term adds to the majorizer without changing its form), and so is L1 on
 * either factor.  Unlike seqNMF, the rows of H are not renormalised between
 * iterations: R is not invariant to moving scale between a component's W and
 * H, so such a rescale could increase the objective; the scale is fixed on
 * return, in R.
 *
 * No product forms L shifted copies of X or H: every product is a sum over
 * lags of column ranges (gather: K x n from an m x n source, scatter:
 * m x K x L).  On sparse data at beta = 1 the model is needed only at the
 * non-zeros (and held-out entries), and the denominators are column sums of
 * W_l and partial row sums of H less the held-out terms, so an iteration
 * costs O((nnz + held out) K L) plus O(n K L); for beta != 1 the model is
 * formed densely (Qd involves every entry).
 *
 * Threads: H columns, model columns and W rows are each computed by one
 * thread in a fixed order of terms, so results do not depend on `threads`.
 * Workspace from R_alloc; R_CheckUserInterrupt once per iteration.
 */
#include "betanmf.h"
#include <string.h>

/* an m x n source of values for the products: dense, or CSC with values v
 * times vs (v NULL: a pattern whose values are all 1) */
typedef struct {
    const double *dense;
    const int *p, *i;
    const double *v;
    double vs;
} conv_src;

typedef struct {
    int m, n, K, L, threads;
    double beta, gam, l1w, l1h, lam;
    conv_src X;          /* the data, held-out entries zero */
    const int *hp, *hi;  /* held-out CSC pattern or NULL */
    int sparse;
} conv_problem;

/* the workspace of one fit */
typedef struct {
    double *Y;       /* dense model m x n (dense data or beta != 1) */
    double *ynz;     /* sparse beta = 1: the model at the non-zeros */
    double *yheld;   /* sparse beta = 1: the model at the held-out entries */
    double *Qx;      /* dense m x n, or at the non-zeros */
    double *Qd;      /* dense m x n (beta != 1), or NULL */
    double *NW, *DW, *GW;  /* m x K x L */
    double *NH, *DH, *GH;  /* K x n */
    double *C, *B, *Hb;    /* K x n: W' (*) X, its band sums, and H's */
} conv_work;

static inline double src_val(const conv_src *s, int k)
{
    return s->v ? s->v[k] * s->vs : 1.0;
}

/* out[k, t] = sum_{l: t + l < n} sum_i W[i, k, l] src[i, t + l] (K x n) */
static void gather(const double *W, const conv_src *s, int m, int n, int K, int L, double *out,
                   int threads)
{
    int nthr = threads > 0 ? threads : 1;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int t = 0; t < n; t++) {
        double *o = out + (size_t) t * K;
        for (int k = 0; k < K; k++) o[k] = 0.0;
        for (int l = 0; l < L && t + l < n; l++) {
            int c = t + l;
            const double *Wl = W + (size_t) l * m * K;
            if (s->dense) {
                const double *xc = s->dense + (size_t) c * m;
                for (int k = 0; k < K; k++) {
                    const double *wk = Wl + (size_t) k * m;
                    double a = 0.0;
                    for (int i = 0; i < m; i++) a += wk[i] * xc[i];
                    o[k] += a;
                }
            } else {
                for (int q = s->p[c]; q < s->p[c + 1]; q++) {
                    double x = src_val(s, q);
                    const double *wi = Wl + s->i[q];
                    for (int k = 0; k < K; k++) o[k] += x * wi[(size_t) k * m];
                }
            }
        }
    }
}

/* out[i, k, l] = sum_{t >= l} src[i, t] G[k, t - l] (m x K x L), by blocks
 * of rows, each block on one thread, its terms in the order of t: dense
 * sources in blocks of ROWBLOCK rows (kept in cache across t), sparse ones
 * in one block per thread (each block walks every stored entry once and
 * keeps its own rows, so the walk costs nnz per thread, not per block) */
#define ROWBLOCK 64
static void scatter(const conv_src *s, const double *G, int m, int n, int K, int L, double *out,
                    int threads)
{
    int nthr = threads > 0 ? threads : 1;
    int bsize = s->dense ? ROWBLOCK : (m + nthr - 1) / nthr;
    if (bsize < 1) bsize = 1;
    int nblk = (m + bsize - 1) / bsize;
    size_t mk = (size_t) m * K;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int b = 0; b < nblk; b++) {
        int i0 = b * bsize, i1 = i0 + bsize < m ? i0 + bsize : m;
        for (int l = 0; l < L; l++)
            for (int k = 0; k < K; k++) {
                double *o = out + l * mk + (size_t) k * m;
                for (int i = i0; i < i1; i++) o[i] = 0.0;
            }
        for (int t = 0; t < n; t++) {
            if (s->dense) {
                const double *xc = s->dense + (size_t) t * m;
                for (int l = 0; l < L && l <= t; l++) {
                    const double *g = G + (size_t) (t - l) * K;
                    for (int k = 0; k < K; k++) {
                        double a = g[k];
                        if (a == 0.0) continue;
                        double *o = out + l * mk + (size_t) k * m;
                        for (int i = i0; i < i1; i++) o[i] += xc[i] * a;
                    }
                }
            } else {
                for (int q = s->p[t]; q < s->p[t + 1]; q++) {
                    int i = s->i[q];
                    if (i < i0 || i >= i1) continue;
                    double x = src_val(s, q);
                    for (int l = 0; l < L && l <= t; l++) {
                        const double *g = G + (size_t) (t - l) * K;
                        double *o = out + l * mk + i;
                        for (int k = 0; k < K; k++) o[(size_t) k * m] += x * g[k];
                    }
                }
            }
        }
    }
}

/* the dense model Y = sum_l W_l S_l(H) (m x n) */
static void model_dense(const double *W, const double *H, int m, int n, int K, int L, double *Y,
                        int threads)
{
    int nthr = threads > 0 ? threads : 1;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int t = 0; t < n; t++) {
        double *y = Y + (size_t) t * m;
        for (int i = 0; i < m; i++) y[i] = 0.0;
        for (int l = 0; l < L && l <= t; l++) {
            const double *h = H + (size_t) (t - l) * K;
            const double *Wl = W + (size_t) l * m * K;
            for (int k = 0; k < K; k++) {
                double a = h[k];
                if (a == 0.0) continue;
                const double *wk = Wl + (size_t) k * m;
                for (int i = 0; i < m; i++) y[i] += wk[i] * a;
            }
        }
    }
}

/* the model at the entries of a CSC pattern (m x n): out[q] = Y[i[q], t] */
static void model_at(const double *W, const double *H, int m, int n, int K, int L, const int *p,
                     const int *pi, double *out, int threads)
{
    int nthr = threads > 0 ? threads : 1;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int t = 0; t < n; t++)
        for (int q = p[t]; q < p[t + 1]; q++) {
            const double *wi = W + pi[q];
            double y = 0.0;
            for (int l = 0; l < L && l <= t; l++) {
                const double *h = H + (size_t) (t - l) * K;
                const double *wl = wi + (size_t) l * m * K;
                for (int k = 0; k < K; k++) y += wl[(size_t) k * m] * h[k];
            }
            out[q] = y;
        }
}

/* d_beta(x | y) of one entry (0 log 0 = 0; for beta > 0, d(0 | y) = y^beta /
 * beta, finite at y = 0 where the general formula gives 0 * Inf) */
static inline double dbeta(double x, double y, double beta)
{
    if (beta == 2.0) return 0.5 * (x - y) * (x - y);
    if (beta == 1.0) return (x > 0.0 ? x * log(x / y) : 0.0) - x + y;
    if (x == 0.0 && beta > 0.0) return pow(y, beta) / beta;
    if (beta == 0.0) return x / y - log(x / y) - 1.0;
    return (pow(x, beta) + (beta - 1.0) * pow(y, beta) - beta * x * pow(y, beta - 1.0)) /
           (beta * (beta - 1.0));
}

/* the model where the updates and the loss need it */
static void conv_model(const conv_problem *P, const double *W, const double *H, conv_work *w)
{
    if (w->Y) model_dense(W, H, P->m, P->n, P->K, P->L, w->Y, P->threads);
    else {
        model_at(W, H, P->m, P->n, P->K, P->L, P->X.p, P->X.i, w->ynz, P->threads);
        if (P->hp) model_at(W, H, P->m, P->n, P->K, P->L, P->hp, P->hi, w->yheld, P->threads);
    }
}

/* column sums of each W_l (K x L) and partial row sums of H:
 * hs[k + K l] = sum_{t < n - l} H[k, t] (L x K) */
static void sums(const conv_problem *P, const double *W, const double *H, double *cs, double *hs)
{
    int m = P->m, n = P->n, K = P->K, L = P->L;
    if (cs)
        for (int l = 0; l < L; l++)
            for (int k = 0; k < K; k++) {
                const double *wk = W + ((size_t) l * K + k) * m;
                double a = 0.0;
                for (int i = 0; i < m; i++) a += wk[i];
                cs[k + K * l] = a;
            }
    if (hs)
        for (int k = 0; k < K; k++) {
            double a = 0.0;
            int l = L - 1;
            /* hs for lag l sums t < n - l: accumulate forward, store on the way */
            for (int t = 0; t < n; t++) {
                while (l >= 0 && t == n - l) { hs[k + K * l] = a; l--; }
                a += H[k + (size_t) t * K];
            }
            while (l >= 0) { hs[k + K * l] = a; l--; }
        }
}

/* the beta-divergence over the observed entries at the model in w */
static double conv_loss(const conv_problem *P, const double *W, const double *H, const conv_work *w)
{
    int m = P->m, n = P->n;
    double beta = P->beta, s = 0.0;
    if (!P->sparse) {
        for (int t = 0; t < n; t++) {
            const double *x = P->X.dense + (size_t) t * m, *y = w->Y + (size_t) t * m;
            for (int i = 0; i < m; i++) s += dbeta(x[i], y[i], beta);
            if (P->hp)
                for (int q = P->hp[t]; q < P->hp[t + 1]; q++) s -= dbeta(x[P->hi[q]], y[P->hi[q]], beta);
        }
        return s;
    }
    if (w->Y) {
        /* beta != 1 on sparse data: d(0 | y) everywhere observed, corrected at the non-zeros */
        for (int t = 0; t < n; t++) {
            const double *y = w->Y + (size_t) t * m;
            for (int i = 0; i < m; i++) s += dbeta(0.0, y[i], beta);
            if (P->hp)
                for (int q = P->hp[t]; q < P->hp[t + 1]; q++) s -= dbeta(0.0, y[P->hi[q]], beta);
            for (int q = P->X.p[t]; q < P->X.p[t + 1]; q++) {
                double yi = y[P->X.i[q]];
                s += dbeta(src_val(&P->X, q), yi, beta) - dbeta(0.0, yi, beta);
            }
        }
        return s;
    }
    /* beta = 1: sum of x log(x / y) - x at the non-zeros, plus the sum of
     * the model over the observed entries (all of it, less the held out) */
    int K = P->K, L = P->L;
    double *cs = (double *) R_alloc((size_t) K * L, sizeof(double));
    double *hs = (double *) R_alloc((size_t) K * L, sizeof(double));
    sums(P, W, H, cs, hs);
    for (int q = 0; q < P->X.p[n]; q++) {
        double x = src_val(&P->X, q);
        if (x > 0.0) s += x * log(x / w->ynz[q]) - x;
    }
    for (int j = 0; j < K * L; j++) s += cs[j] * hs[j];
    if (P->hp)
        for (int q = 0; q < P->hp[n]; q++) s -= w->yheld[q];
    return s;
}

/* Qx and Qd from the model (y floored at EPS_Y in the ratios, as mu.c) */
static void coefficients(const conv_problem *P, conv_work *w)
{
    int m = P->m, n = P->n;
    double beta = P->beta;
    if (!P->sparse) {
        size_t mn = (size_t) m * n;
        for (size_t e = 0; e < mn; e++) {
            double y = w->Y[e] < EPS_Y ? EPS_Y : w->Y[e], x = P->X.dense[e];
            if (beta == 1.0) w->Qx[e] = x / y;
            else if (beta == 2.0) { w->Qx[e] = x; w->Qd[e] = y; }
            else { double tt = pow_beta(y, beta - 2.0); w->Qx[e] = x * tt; w->Qd[e] = tt * y; }
        }
    } else {
        for (int t = 0; t < n; t++)
            for (int q = P->X.p[t]; q < P->X.p[t + 1]; q++) {
                double y = w->Y ? w->Y[P->X.i[q] + (size_t) t * m] : w->ynz[q];
                if (y < EPS_Y) y = EPS_Y;
                w->Qx[q] = src_val(&P->X, q) * (beta == 1.0 ? 1.0 / y : pow_beta(y, beta - 2.0));
            }
        if (w->Qd) {
            size_t mn = (size_t) m * n;
            for (size_t e = 0; e < mn; e++) {
                double y = w->Y[e] < EPS_Y ? EPS_Y : w->Y[e];
                w->Qd[e] = beta == 2.0 ? y : pow_beta(y, beta - 2.0) * y;
            }
        }
    }
    /* held-out entries: no term (their data are zero already, so Qx is) */
    if (w->Qd && P->hp)
        for (int t = 0; t < n; t++)
            for (int q = P->hp[t]; q < P->hp[t + 1]; q++) w->Qd[P->hi[q] + (size_t) t * m] = 0.0;
}

/* the source of Qx: dense, or the values at the data's non-zeros */
static conv_src qx_source(const conv_problem *P, const conv_work *w)
{
    conv_src s = {NULL, NULL, NULL, NULL, 1.0};
    if (P->sparse) { s.p = P->X.p; s.i = P->X.i; s.v = w->Qx; }
    else s.dense = w->Qx;
    return s;
}

/* out[k, t] = sum_{j != k} A[j, t] */
static void others(const double *A, int K, int n, double *out)
{
    for (int t = 0; t < n; t++) {
        const double *a = A + (size_t) t * K;
        double *o = out + (size_t) t * K;
        for (int k = 0; k < K; k++) {
            double s = 0.0;
            for (int j = 0; j < K; j++) if (j != k) s += a[j];
            o[k] = s;
        }
    }
}

/* B[k, t] = sum_{|u| < L, 0 <= t + u < n} A[k, t + u]: seqNMF's smoothing
 * by a band of 2L - 1 ones (conv2(A, ones(1, 2L - 1), 'same')) */
static void band(const double *A, int K, int n, int L, double *B)
{
    for (int t = 0; t < n; t++) {
        int a = t - (L - 1) < 0 ? 0 : t - (L - 1), b = t + (L - 1) >= n ? n - 1 : t + (L - 1);
        for (int k = 0; k < K; k++) {
            double s = 0.0;
            for (int u = a; u <= b; u++) s += A[k + (size_t) u * K];
            B[k + (size_t) t * K] = s;
        }
    }
}

/* dR/dH = (1 - I) band(W' (*) X) into w->GH, from the current W */
static void penalty_grad_h(const conv_problem *P, const double *W, conv_work *w)
{
    gather(W, &P->X, P->m, P->n, P->K, P->L, w->C, P->threads);
    band(w->C, P->K, P->n, P->L, w->B);
    others(w->B, P->K, P->n, w->GH);
}

/* R = sum_{k, t} H[k, t] dR/dH[k, t] (R is linear in H) */
static double penalty_value(const conv_problem *P, const double *H, const conv_work *w)
{
    double s = 0.0;
    for (size_t e = 0; e < (size_t) P->K * P->n; e++) s += H[e] * w->GH[e];
    return s;
}

static inline double conv_factor(double num, double den, double gam)
{
    if (!(den > EPS_DEN)) den = EPS_DEN;
    return mu_step(num / den, gam);
}

/* the W half: every lag from one model */
static void half_w(const conv_problem *P, double *W, const double *H, conv_work *w)
{
    int m = P->m, n = P->n, K = P->K, L = P->L;
    size_t mkl = (size_t) m * K * L;
    conv_src qx = qx_source(P, w);
    scatter(&qx, H, m, n, K, L, w->NW, P->threads);
    if (P->beta == 1.0) {
        /* D_l[i, k] = sum_{t >= l, observed} H[k, t - l] */
        double *hs = (double *) R_alloc((size_t) K * L, sizeof(double));
        sums(P, W, H, NULL, hs);
        for (int l = 0; l < L; l++)
            for (int k = 0; k < K; k++) {
                double *d = w->DW + ((size_t) l * K + k) * m;
                for (int i = 0; i < m; i++) d[i] = hs[k + K * l];
            }
        if (P->hp) {
            conv_src held = {NULL, P->hp, P->hi, NULL, 1.0};
            scatter(&held, H, m, n, K, L, w->GW, P->threads);
            for (size_t e = 0; e < mkl; e++) w->DW[e] -= w->GW[e];
        }
    } else {
        conv_src qd = {w->Qd, NULL, NULL, NULL, 1.0};
        scatter(&qd, H, m, n, K, L, w->DW, P->threads);
    }
    if (P->lam > 0.0) {
        /* dR/dW_l = X S_l(Hbar)', Hbar[k] = sum_{j != k} band(H)[j] */
        band(H, K, n, L, w->B);
        others(w->B, K, n, w->Hb);
        scatter(&P->X, w->Hb, m, n, K, L, w->GW, P->threads);
        for (size_t e = 0; e < mkl; e++) w->DW[e] += P->lam * w->GW[e];
    }
    for (size_t e = 0; e < mkl; e++) W[e] *= conv_factor(w->NW[e], w->DW[e] + P->l1w, P->gam);
}

/* the H half */
static void half_h(const conv_problem *P, const double *W, double *H, conv_work *w)
{
    int m = P->m, n = P->n, K = P->K, L = P->L;
    size_t kn = (size_t) K * n;
    conv_src qx = qx_source(P, w);
    gather(W, &qx, m, n, K, L, w->NH, P->threads);
    if (P->beta == 1.0) {
        /* D[k, t] = sum_{l: t + l < n} colsum(W_l)[k], less the held-out rows */
        double *cs = (double *) R_alloc((size_t) K * L, sizeof(double));
        sums(P, W, H, cs, NULL);
        for (int t = 0; t < n; t++)
            for (int k = 0; k < K; k++) {
                double a = 0.0;
                for (int l = 0; l < L && t + l < n; l++) a += cs[k + K * l];
                w->DH[k + (size_t) t * K] = a;
            }
        if (P->hp) {
            conv_src held = {NULL, P->hp, P->hi, NULL, 1.0};
            gather(W, &held, m, n, K, L, w->C, P->threads);
            for (size_t e = 0; e < kn; e++) w->DH[e] -= w->C[e];
        }
    } else {
        conv_src qd = {w->Qd, NULL, NULL, NULL, 1.0};
        gather(W, &qd, m, n, K, L, w->DH, P->threads);
    }
    if (P->lam > 0.0) {
        penalty_grad_h(P, W, w);
        for (size_t e = 0; e < kn; e++) w->DH[e] += P->lam * w->GH[e];
    }
    for (size_t e = 0; e < kn; e++) H[e] *= conv_factor(w->NH[e], w->DH[e] + P->l1h, P->gam);
}

typedef struct {
    int maxit, update_w, verbose, run;
    double tol, unit;
} conv_control;

typedef struct {
    double *trace, *trace_pen, loss, pen;
    int *trace_it, ntrace, iterations, converged;
} conv_result;

/* the objective's parts at (W, H): the divergence into *loss, lam R into *pen */
static void objective(const conv_problem *P, const double *W, const double *H, conv_work *w,
                      double *loss, double *pen)
{
    conv_model(P, W, H, w);
    *loss = conv_loss(P, W, H, w);
    *pen = 0.0;
    if (P->lam > 0.0) {
        penalty_grad_h(P, W, w);
        *pen = P->lam * penalty_value(P, H, w);
    }
}

/* Alternate the W half (unless W is fixed) and the H half until the
 * objective decreases by less than tol (relative, per iteration) or maxit. */
static void conv_run(const conv_problem *P, const conv_control *C, double *W, double *H, conv_work *w,
                     conv_result *res)
{
    double loss, pen;
    res->trace = (double *) R_alloc((size_t) C->maxit + 1, sizeof(double));
    res->trace_pen = (double *) R_alloc((size_t) C->maxit + 1, sizeof(double));
    res->trace_it = (int *) R_alloc((size_t) C->maxit + 1, sizeof(int));
    objective(P, W, H, w, &loss, &pen);
    if (!R_FINITE(loss)) error("the loss at the initial factors is not finite");
    res->trace[0] = loss; res->trace_pen[0] = pen; res->trace_it[0] = 0; res->ntrace = 1;
    double prev = loss + pen, obj0 = prev;
    res->converged = 0;
    int it;
    for (it = 1; it <= C->maxit; it++) {
        const void *vmax = vmaxget();
        /* w->Y (or the model at the non-zeros) holds the model at (W, H) */
        if (C->update_w) {
            coefficients(P, w);
            half_w(P, W, H, w);
            conv_model(P, W, H, w);
        }
        coefficients(P, w);
        half_h(P, W, H, w);
        vmaxset(vmax);
        /* the model for the loss is the next W half's */
        conv_model(P, W, H, w);
        loss = conv_loss(P, W, H, w);
        vmaxset(vmax);
        /* w->GH was made from this W by the H half */
        pen = P->lam > 0.0 ? P->lam * penalty_value(P, H, w) : 0.0;
        if (!R_FINITE(loss)) error("internal error: the loss became non-finite at iteration %d", it);
        res->trace[res->ntrace] = loss; res->trace_pen[res->ntrace] = pen; res->trace_it[res->ntrace++] = it;
        double cur = loss + pen;
        double denom = prev > 1e-6 * obj0 ? prev : 1e-6 * obj0;
        double rel = denom > 0.0 ? (prev - cur) / denom : 0.0;
        if (C->verbose) {
            if (C->run > 0) Rprintf("run %d  ", C->run);
            Rprintf("iteration %5d  loss %.10g  ", it, loss * C->unit);
            if (P->lam > 0.0) Rprintf("penalty %.10g  ", pen * C->unit);
            Rprintf("relative decrease %.3e\n", rel);
        }
        prev = cur;
        if (cur == 0.0 || (C->tol > 0.0 && rel < C->tol)) { res->converged = 1; break; }
        R_CheckUserInterrupt();
    }
    res->iterations = it > C->maxit ? C->maxit : it;
    res->loss = loss;
    res->pen = pen;
}

static double num_elt(SEXP list, const char *name)
{
    SEXP v = list_elt(list, name, 1);
    if (XLENGTH(v) != 1 || !(isReal(v) || isInteger(v) || isLogical(v)))
        error("internal error: '%s' must be a single number", name);
    return asReal(v);
}

/* the data list(dense, sparse, dims, hold) into P (dims m x n) */
static void read_data(SEXP data, conv_problem *P)
{
    SEXP dims = list_elt(data, "dims", 1);
    if (TYPEOF(dims) != INTSXP || XLENGTH(dims) != 2) error("internal error: 'dims'");
    P->m = INTEGER(dims)[0];
    P->n = INTEGER(dims)[1];
    nmf_data X;
    data_read(list_elt(data, "dense", 0), list_elt(data, "sparse", 0), P->m, P->n, &X);
    data_read_held_out(list_elt(data, "hold", 0), &X);
    P->sparse = X.p != NULL;
    P->X.dense = X.dense; P->X.p = X.p; P->X.i = X.i; P->X.v = X.x; P->X.vs = X.xs;
    P->hp = X.hp; P->hi = X.hi;
}

/* C_nmf_conv(data, w, h, control): w an m x K x L array, h K x n (internal
 * units), control = list(beta, lags, maxit, tol, l1w, l1h, lam, update_w,
 * threads, verbose, unit, run).  Returns list(w, h, trace, trace_penalty,
 * trace_iter, iterations, converged, loss, penalty). */
SEXP C_nmf_conv(SEXP data, SEXP w0, SEXP h0, SEXP control)
{
    int nprotect = 0;
    conv_problem P;
    read_data(data, &P);
    P.L = (int) num_elt(control, "lags");
    if (P.L < 1 || P.L > P.n) error("internal error: lags");
    if (!isReal(h0) || XLENGTH(h0) % P.n) error("internal error: h");
    P.K = (int) (XLENGTH(h0) / P.n);
    if (P.K < 1 || !isReal(w0) || XLENGTH(w0) != (R_xlen_t) P.m * P.K * P.L) error("internal error: w");
    P.beta = num_elt(control, "beta");
    P.gam = mu_gamma(P.beta);
    P.l1w = num_elt(control, "l1w");
    P.l1h = num_elt(control, "l1h");
    P.lam = num_elt(control, "lam");
    P.threads = (int) num_elt(control, "threads");
    conv_control C;
    C.maxit = (int) num_elt(control, "maxit");
    C.tol = num_elt(control, "tol");
    C.update_w = (int) num_elt(control, "update_w");
    C.verbose = (int) num_elt(control, "verbose");
    C.unit = num_elt(control, "unit");
    C.run = (int) num_elt(control, "run");
    if (C.maxit < 0) error("internal error: maxit");

    SEXP wo = PROTECT(duplicate(w0)); nprotect++;
    SEXP ho = PROTECT(duplicate(h0)); nprotect++;
    double *W = REAL(wo), *H = REAL(ho);
    size_t m = (size_t) P.m, n = (size_t) P.n, K = (size_t) P.K, L = (size_t) P.L;

    conv_work w;
    memset(&w, 0, sizeof w);
    int dense_model = !P.sparse || P.beta != 1.0;
    if (dense_model) w.Y = (double *) R_alloc(m * n, sizeof(double));
    else {
        w.ynz = (double *) R_alloc((size_t) P.X.p[P.n] + 1, sizeof(double));
        if (P.hp) w.yheld = (double *) R_alloc((size_t) P.hp[P.n] + 1, sizeof(double));
    }
    w.Qx = (double *) R_alloc(P.sparse ? (size_t) P.X.p[P.n] + 1 : m * n, sizeof(double));
    if (P.beta != 1.0) w.Qd = (double *) R_alloc(m * n, sizeof(double));
    w.NW = (double *) R_alloc(m * K * L, sizeof(double));
    w.DW = (double *) R_alloc(m * K * L, sizeof(double));
    w.GW = (double *) R_alloc(m * K * L, sizeof(double));
    w.NH = (double *) R_alloc(K * n, sizeof(double));
    w.DH = (double *) R_alloc(K * n, sizeof(double));
    w.GH = (double *) R_alloc(K * n, sizeof(double));
    w.C = (double *) R_alloc(K * n, sizeof(double));
    w.B = (double *) R_alloc(K * n, sizeof(double));
    w.Hb = (double *) R_alloc(K * n, sizeof(double));
    memset(w.GH, 0, K * n * sizeof(double));

    conv_result res;
    conv_run(&P, &C, W, H, &w, &res);

    const char *nm[] = {"w", "h", "trace", "trace_penalty", "trace_iter", "iterations", "converged",
                        "loss", "penalty", ""};
    SEXP out = PROTECT(mkNamed(VECSXP, nm)); nprotect++;
    SEXP tr = PROTECT(allocVector(REALSXP, res.ntrace)); nprotect++;
    SEXP trp = PROTECT(allocVector(REALSXP, res.ntrace)); nprotect++;
    SEXP tri = PROTECT(allocVector(INTSXP, res.ntrace)); nprotect++;
    for (int t = 0; t < res.ntrace; t++) {
        REAL(tr)[t] = res.trace[t];
        REAL(trp)[t] = res.trace_pen[t];
        INTEGER(tri)[t] = res.trace_it[t];
    }
    SET_VECTOR_ELT(out, 0, wo);
    SET_VECTOR_ELT(out, 1, ho);
    SET_VECTOR_ELT(out, 2, tr);
    SET_VECTOR_ELT(out, 3, trp);
    SET_VECTOR_ELT(out, 4, tri);
    SET_VECTOR_ELT(out, 5, ScalarInteger(res.iterations));
    SET_VECTOR_ELT(out, 6, ScalarLogical(res.converged));
    SET_VECTOR_ELT(out, 7, ScalarReal(res.loss));
    SET_VECTOR_ELT(out, 8, ScalarReal(res.pen));
    UNPROTECT(nprotect);
    return out;
}

/* C_conv_transpose(data, w, threads): the K x n matrix
 * out[k, t] = sum_l sum_i w[i, k, l] x[i, t + l] (0 beyond n) of an m x K x L
 * array w and the data list(dense, sparse, dims) */
SEXP C_conv_transpose(SEXP data, SEXP w, SEXP lags, SEXP threads)
{
    conv_problem P;
    read_data(data, &P);
    int L = asInteger(lags);
    if (!isReal(w) || L < 1 || XLENGTH(w) % ((R_xlen_t) P.m * L)) error("internal error: w");
    int K = (int) (XLENGTH(w) / ((R_xlen_t) P.m * L));
    SEXP out = PROTECT(allocMatrix(REALSXP, K, P.n));
    gather(REAL(w), &P.X, P.m, P.n, K, L, REAL(out), asInteger(threads));
    UNPROTECT(1);
    return out;
}
