/* mu_template.h: one build of the vector kernels of mu.c (see
 * there for what they compute and why they are shaped so).  Included once
 * per CPU target, after target_base.h or target_avx2.h: KFN names the
 * build's functions, KATTR is its target, KT its square root of four lanes
 * (the baseline's four scalar ones or the AVX instruction, which can only
 * appear in a function compiled for its target).  The always_inline bodies
 * take the rank R and the exponent n2 as arguments that every call passes
 * as constants, so each instantiation keeps its accumulators in registers
 * and its power chain straight-line. */

/* the coefficients four entries at a time (coefficients(), mu.c);
 * returns how many entries it did (a multiple of 4) */
KATTR static inline __attribute__((always_inline))
size_t KFN(coef_loop)(const double *x, double *qx, double *qd, size_t n, int kl, const int n2)
{
    const v4 eps = VSET1(EPS_Y);
    size_t i = 0;
    if (kl) {
        for (; i + 4 <= n; i += 4) {
            v4 y, xv;
            VLOAD(y, qd + i);
            VLOAD(xv, x + i);
            y = VFLOOR_K(y, eps);
            VSTORE(qx + i, xv / y);
        }
        return i;
    }
    /* two vectors a step, one division for both (vpow_chain2) */
    for (; i + 8 <= n; i += 8) {
        v4 y0, y1, x0, x1, t0, t1;
        VLOAD(y0, qd + i);
        VLOAD(y1, qd + i + 4);
        VLOAD(x0, x + i);
        VLOAD(x1, x + i + 4);
        y0 = VFLOOR_K(y0, eps);
        y1 = VFLOOR_K(y1, eps);
        KFN(vpow_chain2)(&t0, &t1, &y0, &y1, n2);
        VSTORE(qd + i, t0 * y0);
        VSTORE(qx + i, x0 * t0);
        VSTORE(qd + i + 4, t1 * y1);
        VSTORE(qx + i + 4, x1 * t1);
    }
    for (; i + 4 <= n; i += 4) {
        v4 y, xv, t;
        VLOAD(y, qd + i);
        VLOAD(xv, x + i);
        y = VFLOOR_K(y, eps);
        KFN(vpow_chain)(&t, &y, n2);
        VSTORE(qd + i, t * y);
        VSTORE(qx + i, xv * t);
    }
    return i;
}

/* n2 a constant for beta = 1.5 (n2 = -1) and beta = 0 (-4), the common
 * exponents, so that their power chains are straight-line code (a loop on
 * a variable n2 around each square root and division keeps consecutive
 * entries from overlapping), and a variable for the others */
KATTR static size_t KFN(coef_vec)(const double *x, double *qx, double *qd, size_t n, int kl, int n2)
{
    if (n2 == -1) return KFN(coef_loop)(x, qx, qd, n, kl, -1);
    if (n2 == -4) return KFN(coef_loop)(x, qx, qd, n, kl, -4);
    return KFN(coef_loop)(x, qx, qd, n, kl, n2);
}

/* the fused H half of one column f of F, lanes along the rows of x and of
 * Gc (G by coordinate), rank R */
KATTR static inline __attribute__((always_inline))
void KFN(fuse_col)(const double *Gc, size_t nrow, const double *f, const double *x, double *num,
                   double *den, int kl, const int n2, double beta, const int R)
{
    v4 a0[FUSE_MAXR], a1[FUSE_MAXR], fk[FUSE_MAXR];
    const v4 eps = VSET1(EPS_Y);
    UNROLL for (int k = 0; k < R; k++) {
        a0[k] = a1[k] = VSET1(0.0);
        fk[k] = VSET1(f[k]);
    }
    size_t i = 0;
    if (kl) for (; i + 8 <= nrow; i += 8) {
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
        y0 = VFLOOR_K(y0, eps);
        y1 = VFLOOR_K(y1, eps);
        v4 q0 = x0 / y0, q1 = x1 / y1;
        UNROLL for (int k = 0; k < R; k++) {
            v4 g0, g1;
            VLOAD(g0, Gc + (size_t) k * nrow + i);
            VLOAD(g1, Gc + (size_t) k * nrow + i + 4);
            a0[k] += q0 * g0;
            a1[k] += q1 * g1;
        }
    }
    if (!kl) for (; i + 4 <= nrow; i += 4) {
        v4 y0 = VSET1(0.0), x0, t;
        UNROLL for (int k = 0; k < R; k++) {
            v4 g0;
            VLOAD(g0, Gc + (size_t) k * nrow + i);
            y0 += g0 * fk[k];
        }
        VLOAD(x0, x + i);
        y0 = VFLOOR_K(y0, eps);
        KFN(vpow_chain)(&t, &y0, n2);
        v4 qx = x0 * t, qd = t * y0;
        UNROLL for (int k = 0; k < R; k++) {
            v4 g0;
            VLOAD(g0, Gc + (size_t) k * nrow + i);
            a0[k] += qx * g0;
            a1[k] += qd * g0;
        }
    }
    UNROLL for (int k = 0; k < R; k++) {
        if (kl) {
            v4 s_ = a0[k] + a1[k];
            num[k] = HSUM(s_);
            den[k] = 0.0;
        } else {
            num[k] = HSUM(a0[k]);
            den[k] = HSUM(a1[k]);
        }
    }
    for (; i < nrow; i++) {
        double y = 0.0;
        for (int k = 0; k < R; k++) y += Gc[(size_t) k * nrow + i] * f[k];
        if (y < EPS_Y) y = EPS_Y;
        double cx, cd;
        fuse_coef(x[i], y, kl, beta, &cx, &cd);
        for (int k = 0; k < R; k++) {
            num[k] += cx * Gc[(size_t) k * nrow + i];
            den[k] += cd * Gc[(size_t) k * nrow + i];
        }
    }
}

KATTR static inline __attribute__((always_inline))
void KFN(fuse_col_range)(const double *Gc, size_t nrow, const double *F, const double *Xd, int j0,
                         int j1, double *NUM, double *DEN, int kl, const int n2, double beta,
                         const int R)
{
    for (int jj = j0; jj < j1; jj++) {
        const double *f = F + (size_t) jj * (R), *x = Xd + (size_t) jj * nrow;
        double *num = NUM + (size_t) jj * (R), *den = DEN + (size_t) jj * (R);
        KFN(fuse_col)(Gc, nrow, f, x, num, den, kl, n2, beta, R);
    }
}

KATTR static inline __attribute__((always_inline))
void KFN(fuse_cols_n2)(const double *Gc, size_t nrow, int r, const double *F, const double *Xd, int j0,
                       int j1, double *NUM, double *DEN, int kl, const int n2, double beta)
{
    switch (r) {
    case 1: KFN(fuse_col_range)(Gc, nrow, F, Xd, j0, j1, NUM, DEN, kl, n2, beta, 1); break;
    case 2: KFN(fuse_col_range)(Gc, nrow, F, Xd, j0, j1, NUM, DEN, kl, n2, beta, 2); break;
    case 3: KFN(fuse_col_range)(Gc, nrow, F, Xd, j0, j1, NUM, DEN, kl, n2, beta, 3); break;
    default: KFN(fuse_col_range)(Gc, nrow, F, Xd, j0, j1, NUM, DEN, kl, n2, beta, 4); break;
    }
}

/* the H half's fused pass over the columns [j0, j1) */
KATTR static void KFN(fuse_cols)(const double *Gc, size_t nrow, int r, const double *F, const double *Xd,
                                 int j0, int j1, double *NUM, double *DEN, int kl, int n2, double beta)
{
    if (n2 == -1) KFN(fuse_cols_n2)(Gc, nrow, r, F, Xd, j0, j1, NUM, DEN, kl, -1, beta);
    else if (n2 == -4) KFN(fuse_cols_n2)(Gc, nrow, r, F, Xd, j0, j1, NUM, DEN, kl, -4, beta);
    else KFN(fuse_cols_n2)(Gc, nrow, r, F, Xd, j0, j1, NUM, DEN, kl, n2, beta);
}

/* The fused W half at rank R: lanes along rows i..i+3 of the m x n array
 * Xd, summed over its columns j in order; F = t(W) (r x m), G = H (r x n).
 * Each step reads a column m doubles after the last, one cache line in two
 * new: every eighth row, the step asks for the line 32 rows on in its
 * column (a prefetch never faults, past the array's end either); the
 * hardware's prefetchers do not follow so many columns at once.  Placed
 * first in the step: between the products of y it changed how the compiler
 * fused them, and so the last bits of H. */
KATTR static inline __attribute__((always_inline))
void KFN(fuse_row)(const double *Xd, size_t m, size_t n, const double *G, const double *F, size_t i,
                   double *NUM, double *DEN, int kl, const int n2, const int R)
{
    v4 w[FUSE_MAXR], a[FUSE_MAXR], b[FUSE_MAXR];
    const v4 eps = VSET1(EPS_Y);
    UNROLL for (int k = 0; k < R; k++) {
        w[k] = (v4){F[k + i * R], F[k + (i + 1) * R], F[k + (i + 2) * R],
                    F[k + (i + 3) * R]};
        a[k] = b[k] = VSET1(0.0);
    }
    const double *xp = Xd + i;
    size_t j = 0;
    /* beta != 1 at R <= 3: two columns a step, summed in column order
     * as one at a time would (at rank 4 the second column's registers
     * spill).  Each column has its own division: sharing one between the
     * two (vpow_chain2, as the blocked passes do) pays only where the
     * divider is slow, and costs where it keeps up. */
    if (!kl && R <= 3) for (; j + 2 <= n; j += 2, xp += 2 * m) {
        if (!(i & 7)) { PREFETCH(xp + 32); PREFETCH(xp + m + 32); }
        const double *h0 = G + j * R, *h1 = h0 + R;
        v4 y0 = w[0] * h0[0], y1 = w[0] * h1[0], x0, x1, t0, t1;
        UNROLL for (int k = 1; k < R; k++) {
            y0 += w[k] * h0[k];
            y1 += w[k] * h1[k];
        }
        VLOAD(x0, xp);
        VLOAD(x1, xp + m);
        y0 = VFLOOR_K(y0, eps);
        y1 = VFLOOR_K(y1, eps);
        KFN(vpow_chain)(&t0, &y0, n2);
        KFN(vpow_chain)(&t1, &y1, n2);
        v4 qx0 = x0 * t0, qd0 = t0 * y0, qx1 = x1 * t1, qd1 = t1 * y1;
        UNROLL for (int k = 0; k < R; k++) {
            a[k] += qx0 * h0[k];
            b[k] += qd0 * h0[k];
            a[k] += qx1 * h1[k];
            b[k] += qd1 * h1[k];
        }
    }
    for (; j < n; j++, xp += m) {
        if (!(i & 7)) PREFETCH(xp + 32);
        const double *h = G + j * R;
        v4 y = w[0] * h[0], xv;
        UNROLL for (int k = 1; k < R; k++) y += w[k] * h[k];
        VLOAD(xv, xp);
        y = VFLOOR_K(y, eps);
        if (kl) {
            v4 q = xv / y;
            UNROLL for (int k = 0; k < R; k++) a[k] += q * h[k];
        } else {
            v4 t;
            KFN(vpow_chain)(&t, &y, n2);
            v4 qx = xv * t, qd = t * y;
            UNROLL for (int k = 0; k < R; k++) {
                a[k] += qx * h[k];
                b[k] += qd * h[k];
            }
        }
    }
    UNROLL for (int k = 0; k < R; k++) {
        for (int l = 0; l < 4; l++) {
            NUM[k + (i + l) * R] = a[k][l];
            if (!kl) DEN[k + (i + l) * R] = b[k][l];
        }
    }
}

KATTR static inline __attribute__((always_inline))
void KFN(fuse_rows_n2)(const double *Xd, size_t m, size_t n, int r, const double *G, const double *F,
                       size_t i0, size_t i1, double *NUM, double *DEN, int kl, const int n2)
{
    switch (r) {
    case 1: for (size_t i = i0; i < i1; i += 4) KFN(fuse_row)(Xd, m, n, G, F, i, NUM, DEN, kl, n2, 1); break;
    case 2: for (size_t i = i0; i < i1; i += 4) KFN(fuse_row)(Xd, m, n, G, F, i, NUM, DEN, kl, n2, 2); break;
    case 3: for (size_t i = i0; i < i1; i += 4) KFN(fuse_row)(Xd, m, n, G, F, i, NUM, DEN, kl, n2, 3); break;
    default: for (size_t i = i0; i < i1; i += 4) KFN(fuse_row)(Xd, m, n, G, F, i, NUM, DEN, kl, n2, 4); break;
    }
}

/* the W half's fused pass over the rows [i0, i1) (a multiple of 4 apart) */
KATTR static void KFN(fuse_rows)(const double *Xd, size_t m, size_t n, int r, const double *G,
                                 const double *F, size_t i0, size_t i1, double *NUM, double *DEN, int kl,
                                 int n2)
{
    if (n2 == -1) KFN(fuse_rows_n2)(Xd, m, n, r, G, F, i0, i1, NUM, DEN, kl, -1);
    else if (n2 == -4) KFN(fuse_rows_n2)(Xd, m, n, r, G, F, i0, i1, NUM, DEN, kl, -4);
    else KFN(fuse_rows_n2)(Xd, m, n, r, G, F, i0, i1, NUM, DEN, kl, n2);
}

/* f_k *= (num_k / (den_k + l1 + l2 f_k))^gamma for the columns [j0, j1)
 * (fuse_update, mu.c) */
KATTR static void KFN(fuse_update)(double *F, int r, int j0, int j1, const double *NUM, const double *DEN,
                                   const double *gs, double l1, double l2, double gam)
{
    size_t t = (size_t) j0 * r, t1 = (size_t) j1 * r;
    int per = r % 4 == 0 ? r : r % 2 == 0 ? 2 * r : 4 * r;
    double pat[4 * MAXV * 4];
    for (int u = 0; u < per; u++) pat[u] = gs ? gs[u % r] : 0.0;
    const v4 epsd = VSET1(EPS_DEN), vl1 = VSET1(l1), vl2 = VSET1(l2);
    for (int u = 0; t + 4 <= t1; t += 4, u = u + 4 == per ? 0 : u + 4) {
        v4 f, nv, dv;
        VLOAD(f, F + t);
        VLOAD(nv, NUM + t);
        if (gs) VLOAD(dv, pat + u);
        else VLOAD(dv, DEN + t);
        dv = dv + vl1 + vl2 * f;
        dv = VBLEND(VCMP(KWIDE, dv, >, epsd), dv, epsd);
        v4 q = nv / dv;
        if (gam == 0.5) q = KT(q);
        else if (gam != 1.0)
            q = (v4){pow(q[0], gam), pow(q[1], gam), pow(q[2], gam), pow(q[3], gam)};
        VSTORE(F + t, f * q);
    }
    for (; t < t1; t++) {
        double d = (gs ? gs[t % r] : DEN[t]) + l1 + l2 * F[t];
        if (!(d > EPS_DEN)) d = EPS_DEN;
        F[t] *= mu_step(NUM[t] / d, gam);
    }
}

/* ---- minimum volume (mu_minvol_half, mu.c): passes over the rows of
 * F = t(W), the r columns of W in the lanes of NV vectors (struct mv_rows
 * has the arrays; rows below n_fast are read with whole vectors, whose
 * lanes past r hold the next row's entries and are never used) ---- */

/* one row's w~ (f), P (den), Q (num) and a2 = lam2 Y+ w~, b2 = lam2 Y- w~,
 * the sums over l in order as mv_columns's */
KATTR static inline __attribute__((always_inline))
void KFN(mv_row)(const double *f, const double *num, const double *den, const double *YP, const double *YM,
                 int r, v4 lam2, v4 *w0, v4 *P, v4 *Q, v4 *a2, v4 *b2, const int NV)
{
    const int rp = 4 * NV;
    v4 ap[MAXV], bm[MAXV];
    UNROLL for (int v = 0; v < NV; v++) {
        VLOAD(w0[v], f + 4 * v);
        VLOAD(P[v], den + 4 * v);
        VLOAD(Q[v], num + 4 * v);
        ap[v] = bm[v] = VSET1(0.0);
    }
    for (int l = 0; l < r; l++) {
        v4 fl = VSET1(f[l]);
        UNROLL for (int v = 0; v < NV; v++) {
            v4 yp, ym;
            VLOAD(yp, YP + (size_t) l * rp + 4 * v);
            VLOAD(ym, YM + (size_t) l * rp + 4 * v);
            ap[v] += yp * fl;
            bm[v] += ym * fl;
        }
    }
    UNROLL for (int v = 0; v < NV; v++) {
        a2[v] = lam2 * ap[v];
        b2[v] = lam2 * bm[v];
    }
}

/* the rows [i0, i1) of mv_pass_body, TAIL: through padded copies */
KATTR static inline __attribute__((always_inline))
void KFN(mv_pass_rows)(const struct mv_rows *a, size_t i0, size_t i1, v4 *g, v4 *dg, v4 *g2, v4 *smin,
                       const v4 *mu, const int TAIL, const int NV)
{
    const int r = a->r, rp = 4 * NV, kl = a->kl;
    const double *F = a->F, *NUM = a->NUM, *DEN = a->DEN, *YP = a->YP, *YM = a->YM;
    double *RHO = a->RHO, *TS = a->TS, *HS = a->ID;
    const v4 zero = VSET1(0.0), one = VSET1(1.0), two = VSET1(2.0), four = VSET1(4.0);
    const v4 lam2 = VSET1(a->lam2);
    double pf[4 * MAXV], pn[4 * MAXV], pd[4 * MAXV];
    for (size_t i = i0; i < i1; i++) {
        const double *f = F + i * r, *num = NUM + i * r, *den = DEN + i * r;
        if (TAIL) {
            for (int k = 0; k < rp; k++) {
                pf[k] = k < r ? f[k] : 0.0;
                pn[k] = k < r ? num[k] : 0.0;
                pd[k] = k < r ? den[k] : 0.0;
            }
            f = pf; num = pn; den = pd;
        }
        v4 w0[MAXV], P[MAXV], Q[MAXV], a2[MAXV], b2[MAXV];
        KFN(mv_row)(f, num, den, YP, YM, r, lam2, w0, P, Q, a2, b2, NV);
        UNROLL for (int v = 0; v < NV; v++) {
            v4 A, B, C;
            if (kl) { A = a2[v]; B = P[v] + mu[v]; C = Q[v] + b2[v]; }
            else { A = P[v] + a2[v]; B = mu[v] - Q[v]; C = b2[v]; }
            v4 sq = KT(B * B + four * A * C);
            v4i pos = VCMP(KWIDE, B, >=, zero);
            v4 num = VBLEND(pos, two * C, sq - B), den = VBLEND(pos, B + sq, two * A);
            v4 q = den * sq;
            v4 inv = VBLEND(VCMP(KWIDE, q, >, zero), one / q, zero);
            v4 rr = num * sq * inv, t = num * inv;
            /* rho'' / 2 = C / s^3, with 1 / s = den inv */
            v4 is = den * inv, h = C * is * is * is;
            VSTORE(RHO + i * rp + 4 * v, rr);
            VSTORE(TS + i * rp + 4 * v, t);
            VSTORE(HS + i * rp + 4 * v, h);
            v4i valid = VCMP(KWIDE, w0[v], !=, zero);
            g[v] += VBLEND(valid, w0[v] * rr, zero);
            dg[v] += VBLEND(valid, w0[v] * t, zero);
            g2[v] += VBLEND(valid, w0[v] * h, zero);
            v4i low = valid & VCMP(KWIDE, rr, >, zero) & VCMP(KWIDE, sq, <, smin[v]);
            smin[v] = VBLEND(low, sq, smin[v]);
        }
    }
}

/* One Newton pass of mv_closed (mu.c) for every column at once, rows
 * [i0, i1): each entry's root rho(mu), -rho' = rho / s and rho'' / 2 =
 * C / s^3 into RHO, TS and ID (rp a row), and per lane the sums of w~ rho,
 * w~ rho / s, the smallest s of an entry with w~ > 0 and rho > 0, and the
 * sum of w~ C / s^3 into acc[0, rp, 2 rp, 3 rp) */
KATTR static inline __attribute__((always_inline))
void KFN(mv_pass_body)(const struct mv_rows *a, size_t i0, size_t i1, double *acc, const int NV)
{
    const int rp = 4 * NV;
    v4 g[MAXV], dg[MAXV], g2[MAXV], smin[MAXV], mu[MAXV];
    UNROLL for (int v = 0; v < NV; v++) {
        g[v] = dg[v] = g2[v] = VSET1(0.0);
        smin[v] = VSET1(HUGE_VAL);
        VLOAD(mu[v], a->mu + 4 * v);
    }
    size_t im = i1 < a->n_fast ? i1 : (i0 > a->n_fast ? i0 : a->n_fast);
    KFN(mv_pass_rows)(a, i0, im, g, dg, g2, smin, mu, 0, NV);
    KFN(mv_pass_rows)(a, im, i1, g, dg, g2, smin, mu, 1, NV);
    UNROLL for (int v = 0; v < NV; v++) {
        VSTORE(acc + 4 * v, g[v]);
        VSTORE(acc + rp + 4 * v, dg[v]);
        VSTORE(acc + 2 * rp + 4 * v, smin[v]);
        VSTORE(acc + 3 * rp + 4 * v, g2[v]);
    }
}

/* The new rows [i0, i1), w~ max(rho - (rho / s) d + (C / s^3) d^2, 0)
 * (rho(mu + d) to second order, d = step; w~ where w~ = 0), into W (rp a
 * row), and per lane their sums into acc[0, rp) */
KATTR static inline __attribute__((always_inline))
void KFN(mv_write_body)(const struct mv_rows *a, size_t i0, size_t i1, double *acc, const int NV)
{
    const int r = a->r, rp = 4 * NV;
    const double *F = a->F, *RHO = a->RHO, *TS = a->TS, *HS = a->ID;
    double *W = a->W;
    size_t nf = a->n_fast;
    const v4 zero = VSET1(0.0);
    v4 s[MAXV], st[MAXV], st2[MAXV];
    UNROLL for (int v = 0; v < NV; v++) {
        s[v] = zero;
        VLOAD(st[v], a->step + 4 * v);
        st2[v] = st[v] * st[v];
    }
    for (size_t i = i0; i < i1; i++) {
        const double *f = F + i * r;
        double pf[4 * MAXV];
        if (i >= nf) {
            for (int k = 0; k < rp; k++) pf[k] = k < r ? f[k] : 0.0;
            f = pf;
        }
        UNROLL for (int v = 0; v < NV; v++) {
            v4 w0, rho, t, h;
            VLOAD(w0, f + 4 * v);
            VLOAD(rho, RHO + i * rp + 4 * v);
            VLOAD(t, TS + i * rp + 4 * v);
            VLOAD(h, HS + i * rp + 4 * v);
            v4 c = rho - t * st[v] + h * st2[v];
            c = VBLEND(VCMP(KWIDE, c, >, zero), c, zero);
            v4 wn = VBLEND(VCMP(KWIDE, w0, !=, zero), w0 * c, w0);
            s[v] += wn;
            VSTORE(W + i * rp + 4 * v, wn);
        }
    }
    UNROLL for (int v = 0; v < NV; v++) VSTORE(acc + 4 * v, s[v]);
}

/* phi and phi' (mv_phi, mu.c) of four entries at rho, in the same
 * operations; p2 = rho^(beta - 2) by the power chain (N2 = 2 (beta - 2), a
 * half-integer exponent; N2 = -1: sqrt(rho) / rho, which shares mv_phi's
 * division 1 / rho, within an ulp of 1 / sqrt(rho)) or, N2 = 0 with
 * half = 0, by pow_beta lane by lane; at rho = 1 (first) 1 / rho and p2
 * are 1 */
KATTR static inline __attribute__((always_inline))
void KFN(mv_phi4)(v4 rho, v4 P, v4 Q, v4 a2, v4 b2, double beta, int half, int first, const int N2, v4 *phi,
                  v4 *dphi)
{
    const v4 one = VSET1(1.0);
    v4 ir, p2, v, dv;
    if (first) ir = p2 = one;
    else {
        ir = one / rho;
        if (half && N2 == -1) p2 = KT(rho) * ir;
        else if (half) KFN(vpow_chain)(&p2, &rho, N2);
        else p2 = (v4){pow_beta(rho[0], beta - 2.0), pow_beta(rho[1], beta - 2.0), pow_beta(rho[2], beta - 2.0),
                       pow_beta(rho[3], beta - 2.0)};
    }
    const v4 bm1 = VSET1(beta - 1.0), bm2 = VSET1(beta - 2.0);
    if (beta > 1.0 && beta < 2.0) {
        v = p2 * rho * P - p2 * Q;
        dv = bm1 * p2 * P - bm2 * p2 * ir * Q;
    } else if (beta > 2.0) {
        v = p2 * rho * P - Q;
        dv = bm1 * p2 * P;
    } else {
        v = P - p2 * Q;
        dv = -bm2 * p2 * ir * Q;
    }
    *dphi = dv + a2 + b2 * ir * ir;
    *phi = v + a2 * rho - b2 * ir;
}

/* One pass of mv_joint (mu.c) for every column at once, rows [i0, i1):
 * unless a->first, each entry of a column still open (a->open, 1 a lane)
 * takes its Newton step from the last pass's phi / phi' at the multiplier
 * a->mu (rho_i -= (phi_i + mu) / phi_i', in log rho where that would more
 * than halve or double it); then phi and 1 / phi' at the new rho.  RHO,
 * FV, ID hold rho, phi, 1 / phi' (rp a row; a->first: rho = 1).  Per lane
 * into acc: the sums of w~ rho, w~ phi / phi', w~ / phi' and whether a
 * step exceeded 1e-7 rho (1) or not (0). */
KATTR static inline __attribute__((always_inline))
void KFN(mv_joint_rows)(const struct mv_rows *a, size_t i0, size_t i1, v4 *sr, v4 *sf, v4 *sd, v4i *big,
                        const v4 *mu, const v4i *open, const int TAIL, const int N2, const int NV)
{
    const int r = a->r, rp = 4 * NV, first = a->first, half = a->half;
    const double *F = a->F, *NUM = a->NUM, *DEN = a->DEN, *YP = a->YP, *YM = a->YM;
    double *RHO = a->RHO, *FV = a->TS, *ID = a->ID;
    const double beta = a->beta;
    const v4 zero = VSET1(0.0), one = VSET1(1.0), lo = VSET1(-0.5), tiny = VSET1(1e-7);
    const v4 lam2 = VSET1(a->lam2);
    double pf[4 * MAXV], pn[4 * MAXV], pd[4 * MAXV];
    for (size_t i = i0; i < i1; i++) {
        const double *f = F + i * r, *num = NUM + i * r, *den = DEN + i * r;
        if (TAIL) {
            for (int k = 0; k < rp; k++) {
                pf[k] = k < r ? f[k] : 0.0;
                pn[k] = k < r ? num[k] : 0.0;
                pd[k] = k < r ? den[k] : 0.0;
            }
            f = pf; num = pn; den = pd;
        }
        v4 w0[MAXV], P[MAXV], Q[MAXV], a2[MAXV], b2[MAXV];
        KFN(mv_row)(f, num, den, YP, YM, r, lam2, w0, P, Q, a2, b2, NV);
        UNROLL for (int v = 0; v < NV; v++) {
            double *rp_i = RHO + i * rp + 4 * v, *fp_i = FV + i * rp + 4 * v, *ip_i = ID + i * rp + 4 * v;
            v4i valid = VCMP(KWIDE, w0[v], !=, zero);
            v4 rho = one;
            if (!first) {
                v4 r0, fv, id;
                VLOAD(r0, rp_i);
                VLOAD(fv, fp_i);
                VLOAD(id, ip_i);
                v4 step = -(fv + mu[v]) * id;
                v4i move = valid & open[v];
                v4i in = VCMP(KWIDE, step, >, lo * r0) & VCMP(KWIDE, step, <, r0);
                rho = VBLEND(move, r0 + step, r0);
                v4i out = move & ~in;
                if (out[0] | out[1] | out[2] | out[3])
                    for (int l = 0; l < 4; l++)
                        if (out[l]) {
                            double rel = step[l] / r0[l];
                            rho[l] = r0[l] * exp(rel < -3.0 ? -3.0 : (rel > 3.0 ? 3.0 : rel));
                        }
                /* settled: every step of the column within 1e-7 of rho */
                v4 as = VBLEND(VCMP(KWIDE, step, <, zero), -step, step);
                big[v] |= move & ~VCMP(KWIDE, as, <=, tiny * r0);
            }
            v4 phi, dphi;
            KFN(mv_phi4)(rho, P[v], Q[v], a2[v], b2[v], beta, half, first, N2, &phi, &dphi);
            v4 id = one / dphi;
            VSTORE(rp_i, rho);
            VSTORE(fp_i, phi);
            VSTORE(ip_i, id);
            sr[v] += VBLEND(valid, w0[v] * rho, zero);
            sf[v] += VBLEND(valid, w0[v] * phi * id, zero);
            sd[v] += VBLEND(valid, w0[v] * id, zero);
        }
    }
}

KATTR static inline __attribute__((always_inline))
void KFN(mv_joint_n2)(const struct mv_rows *a, size_t i0, size_t i1, double *acc, const int N2, const int NV)
{
    const int rp = 4 * NV;
    v4 sr[MAXV], sf[MAXV], sd[MAXV], mu[MAXV];
    v4i big[MAXV], open[MAXV];
    UNROLL for (int v = 0; v < NV; v++) {
        sr[v] = sf[v] = sd[v] = VSET1(0.0);
        VLOAD(mu[v], a->mu + 4 * v);
        v4 o;
        VLOAD(o, a->step + 4 * v); /* 1 where the column is open */
        open[v] = VCMP(KWIDE, o, !=, VSET1(0.0));
        big[v] = open[v] & ~open[v];
    }
    size_t im = i1 < a->n_fast ? i1 : (i0 > a->n_fast ? i0 : a->n_fast);
    KFN(mv_joint_rows)(a, i0, im, sr, sf, sd, big, mu, open, 0, N2, NV);
    KFN(mv_joint_rows)(a, im, i1, sr, sf, sd, big, mu, open, 1, N2, NV);
    UNROLL for (int v = 0; v < NV; v++) {
        VSTORE(acc + 4 * v, sr[v]);
        VSTORE(acc + rp + 4 * v, sf[v]);
        VSTORE(acc + 2 * rp + 4 * v, sd[v]);
        v4 b = VBLEND(big[v], VSET1(1.0), VSET1(0.0));
        VSTORE(acc + 3 * rp + 4 * v, b);
    }
}

/* beta = 1.5 (N2 = -1), the common case, with its chain straight-line */
KATTR static inline __attribute__((always_inline))
void KFN(mv_joint_body)(const struct mv_rows *a, size_t i0, size_t i1, double *acc, const int NV)
{
    if (a->half && a->n2 == -1) KFN(mv_joint_n2)(a, i0, i1, acc, -1, NV);
    else KFN(mv_joint_n2)(a, i0, i1, acc, a->n2, NV);
}

#define MV_BODY(BODY, a, i0, i1, acc, nv) \
    switch (nv) {                         \
    case 1: BODY(a, i0, i1, acc, 1); break; \
    case 2: BODY(a, i0, i1, acc, 2); break; \
    case 3: BODY(a, i0, i1, acc, 3); break; \
    case 4: BODY(a, i0, i1, acc, 4); break; \
    case 5: BODY(a, i0, i1, acc, 5); break; \
    case 6: BODY(a, i0, i1, acc, 6); break; \
    case 7: BODY(a, i0, i1, acc, 7); break; \
    default: BODY(a, i0, i1, acc, 8); break; \
    }

KATTR static void KFN(mv_pass)(const struct mv_rows *a, size_t i0, size_t i1, double *acc)
{
    MV_BODY(KFN(mv_pass_body), a, i0, i1, acc, a->nv)
}

KATTR static void KFN(mv_write)(const struct mv_rows *a, size_t i0, size_t i1, double *acc)
{
    MV_BODY(KFN(mv_write_body), a, i0, i1, acc, a->nv)
}

KATTR static void KFN(mv_joint)(const struct mv_rows *a, size_t i0, size_t i1, double *acc)
{
    MV_BODY(KFN(mv_joint_body), a, i0, i1, acc, a->nv)
}
#undef MV_BODY

/* S (4 x 4, lanes past r unused) = F F' and the row sums of F (r x m,
 * r <= 4) with the sums in registers: S[a, b] and S[b, a] add the same
 * products in the same order, so S is exactly symmetric */
KATTR static void KFN(mv_gram)(const double *F, int r, size_t m, size_t n_fast, double *S, double *tot)
{
    v4 s[4], t = VSET1(0.0);
    for (int l = 0; l < 4; l++) s[l] = VSET1(0.0);
    for (size_t i = 0; i < m; i++) {
        const double *f = F + i * r;
        double pf[4];
        if (i >= n_fast) {
            for (int k = 0; k < 4; k++) pf[k] = k < r ? f[k] : 0.0;
            f = pf;
        }
        v4 fv;
        VLOAD(fv, f);
        t += fv;
        s[0] += fv * VSET1(f[0]);
        if (r > 1) s[1] += fv * VSET1(f[1]);
        if (r > 2) s[2] += fv * VSET1(f[2]);
        if (r > 3) s[3] += fv * VSET1(f[3]);
    }
    for (int l = 0; l < 4; l++) VSTORE(S + 4 * l, s[l]);
    VSTORE(tot, t);
}
