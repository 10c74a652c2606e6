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
