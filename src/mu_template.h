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
 * F = t(W), four columns of W in the lanes of one vector.  A kernel takes
 * the vectors v (columns [4 v, 4 v + 4)) one after another, each over all
 * its rows, so one build serves every rank up to 32 with its sums in
 * registers; lanes past r are never used.  Rows below n_fast are read with
 * whole vectors from column 4 v, which stay inside the r x m arrays; the
 * others through a padded copy (a branch per row, taken only at the end).
 * The helpers (one row, one phi) are inlined into their one kernel each. ---- */

/* lanes [4 v, 4 v + 4) of row i of the r x m array X, zero past r */
KATTR static inline __attribute__((always_inline))
void KFN(mv_lanes)(v4 *out, const double *X, size_t i, int r, int v, size_t n_fast)
{
    const double *x = X + i * r + 4 * v;
    if (i < n_fast) VLOAD(*out, x);
    else {
        double p[4];
        for (int k = 0; k < 4; k++) p[k] = 4 * v + k < r ? x[k] : 0.0;
        VLOAD(*out, p);
    }
}

/* lanes [4 v, 4 v + 4) of one row's w~ (w0), P (den; a->den_one: every
 * row's is *P1, DEN's lanes padded to rp) Q (num) and a2 = lam2 Y+ w~,
 * b2 = lam2 Y- w~, the sums over l in order as mv_columns's */
KATTR static inline __attribute__((always_inline))
void KFN(mv_row)(const struct mv_rows *a, size_t i, int v, const v4 *P1, v4 *w0, v4 *P, v4 *Q, v4 *a2,
                 v4 *b2)
{
    const int r = a->r, rp = 4 * a->nv;
    const double *f = a->F + i * r, *yp = a->YP + 4 * v, *ym = a->YM + 4 * v;
    KFN(mv_lanes)(w0, a->F, i, r, v, a->n_fast);
    if (a->den_one) *P = *P1;
    else KFN(mv_lanes)(P, a->DEN, i, r, v, a->n_fast);
    KFN(mv_lanes)(Q, a->NUM, i, r, v, a->n_fast);
    v4 ap = VSET1(0.0), bm = VSET1(0.0);
    for (int l = 0; l < r; l++) {
        v4 fl = VSET1(f[l]), y, z;
        VLOAD(y, yp + (size_t) l * rp);
        VLOAD(z, ym + (size_t) l * rp);
        ap += y * fl;
        bm += z * fl;
    }
    const v4 lam2 = VSET1(a->lam2);
    *a2 = lam2 * ap;
    *b2 = lam2 * bm;
}

/* One Newton pass of mv_closed (mu.c) for every column at once, rows
 * [i0, i1): each entry's root rho(mu), -rho' = rho / s and rho'' / 2 =
 * C / s^3, times w~ (0 where w~ = 0), into RHO, TS and ID (rp a row), and
 * per lane the sums of w~ rho, w~ rho / s, the smallest s of an entry with
 * w~ > 0 and rho > 0, and the sum of w~ C / s^3 into acc[0, rp, 2 rp, 3 rp) */
KATTR static void KFN(mv_pass)(const struct mv_rows *a_, size_t i0, size_t i1, double *acc)
{
    /* a copy of the arguments, which the stores (may_alias vectors) cannot
     * touch: read once, not after every store */
    const struct mv_rows A = *a_, *a = &A;
    const int rp = 4 * a->nv, kl = a->kl;
    const v4 zero = VSET1(0.0), one = VSET1(1.0), two = VSET1(2.0), four = VSET1(4.0);
    for (int v = 0; v < a->nv; v++) {
        v4 g = zero, dg = zero, g2 = zero, smin = VSET1(HUGE_VAL), mu, P1 = zero;
        VLOAD(mu, a->mu + 4 * v);
        if (a->den_one) VLOAD(P1, a->DEN + 4 * v);
        for (size_t i = i0; i < i1; i++) {
            v4 w0, P, Q, a2, b2, A, B, C;
            KFN(mv_row)(a, i, v, &P1, &w0, &P, &Q, &a2, &b2);
            if (kl) { A = a2; B = P + mu; C = Q + b2; }
            else { A = P + a2; B = mu - Q; C = b2; }
            v4 sq = KT(B * B + four * A * C);
            v4i pos = VCMP(KWIDE, B, >=, zero);
            v4 num = VBLEND(pos, two * C, sq - B), den = VBLEND(pos, B + sq, two * A);
            v4 q = den * sq;
            v4 inv = VBLEND(VCMP(KWIDE, q, >, zero), one / q, zero);
            v4 rr = num * sq * inv, t = num * inv;
            /* rho'' / 2 = C / s^3, with 1 / s = den inv */
            v4 is = den * inv, h = C * is * is * is;
            size_t o = i * rp + 4 * v;
            v4i valid = VCMP(KWIDE, w0, !=, zero);
            v4 wr = VBLEND(valid, w0 * rr, zero), wt = VBLEND(valid, w0 * t, zero);
            v4 wh = VBLEND(valid, w0 * h, zero);
            VSTORE(a->RHO + o, wr);
            VSTORE(a->TS + o, wt);
            VSTORE(a->ID + o, wh);
            g += wr;
            dg += wt;
            g2 += wh;
            v4i low = valid & VCMP(KWIDE, rr, >, zero) & VCMP(KWIDE, sq, <, smin);
            smin = VBLEND(low, sq, smin);
        }
        VSTORE(acc + 4 * v, g);
        VSTORE(acc + rp + 4 * v, dg);
        VSTORE(acc + 2 * rp + 4 * v, smin);
        VSTORE(acc + 3 * rp + 4 * v, g2);
    }
}

/* The new rows [i0, i1) into F, in place, each column times its
 * a->scale (the normalisation, from the passes' sums): mv_pass's
 * max(w~ rho - (w~ rho / s) d + (w~ C / s^3) d^2, 0) (rho(mu + d) to second
 * order, d = a->step), or (a->times_w, mv_joint's) w~ rho, w~ where w~ = 0.
 * Only the lanes of the row's own columns are stored; F's rows are read
 * through the padded copy at the range's last row, whose whole vector
 * would reach into the next range's rows. */
KATTR static void KFN(mv_write)(const struct mv_rows *a_, size_t i0, size_t i1)
{
    const struct mv_rows A = *a_, *a = &A;
    const int r = a->r, rp = 4 * a->nv;
    const v4 zero = VSET1(0.0);
    for (int v = 0; v < a->nv; v++) {
        v4 st, st2, sc;
        VLOAD(st, a->step + 4 * v);
        VLOAD(sc, a->scale + 4 * v);
        st2 = st * st;
        int nl = r - 4 * v < 4 ? r - 4 * v : 4;
        for (size_t i = i0; i < i1; i++) {
            v4 rho, t, h;
            size_t o = i * rp + 4 * v;
            VLOAD(rho, a->RHO + o);
            VLOAD(t, a->TS + o);
            VLOAD(h, a->ID + o);
            v4 c = rho - t * st + h * st2;
            c = VBLEND(VCMP(KWIDE, c, >, zero), c, zero);
            if (a->times_w) {
                v4 w0;
                KFN(mv_lanes)(&w0, a->Fw, i, r, v, i + 1 < i1 ? a->n_fast : 0);
                c = VBLEND(VCMP(KWIDE, w0, !=, zero), w0 * c, w0);
            }
            c *= sc;
            double *f = a->Fw + i * r + 4 * v;
            if (nl == 4) VSTORE(f, c);
            else { /* lane by lane (a loop would be a call to memcpy) */
                f[0] = c[0];
                if (nl > 1) f[1] = c[1];
                if (nl > 2) f[2] = c[2];
            }
        }
    }
}

/* phi and phi' (mv_phi, mu.c) of four entries at rho, in the same
 * operations; p2 = rho^(beta - 2) by the power chain (n2 = 2 (beta - 2), a
 * half-integer exponent; n2 = -1: sqrt(rho) / rho, which shares mv_phi's
 * division 1 / rho, within an ulp of 1 / sqrt(rho)) or, without half, by
 * pow_beta lane by lane; at rho = 1 (first) 1 / rho and p2 are 1.  The
 * exponent's cases are branches on values fixed for the whole pass. */
KATTR static inline __attribute__((always_inline))
void KFN(mv_phi4)(v4 rho, v4 P, v4 Q, v4 a2, v4 b2, double beta, int half, int first, int n2, v4 *phi,
                  v4 *dphi)
{
    const v4 one = VSET1(1.0);
    v4 ir, p2, v, dv;
    if (first) ir = p2 = one;
    else {
        ir = one / rho;
        if (half && n2 == -1) p2 = KT(rho) * ir;
        else if (half) KFN(vpow_chain)(&p2, &rho, n2);
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

/* One pass of mv_joint (mu.c) for every column at once, rows [i0, i1).
 * Each lane's state (a->step): 0 settled, 1 a step and phi, 2 a step
 * alone, 3 phi alone.  A step (states 1 and 2, not a->first) is Newton's
 * from the last pass's phi / phi' at the multiplier a->mu (rho_i -= (phi_i +
 * mu) / phi_i', in log rho where that would more than halve or double it);
 * then, unless every lane of the vector takes a step alone, phi and
 * 1 / phi' at the new rho.  RHO, TS, ID hold rho, phi, 1 / phi' (rp a row;
 * a->first: rho = 1, or with a->warm the last solve's rho from RHO).  Per lane into acc: the sums of w~ rho, w~ phi / phi',
 * w~ / phi' (lanes that took a step alone: not computed), whether a step
 * exceeded 1e-7 rho (1) or not (0), and whether one exceeded 1e-4 rho. */
KATTR static void KFN(mv_joint)(const struct mv_rows *a_, size_t i0, size_t i1, double *acc)
{
    /* a copy of the arguments, which the stores (may_alias vectors) cannot
     * touch: read once, not after every store */
    const struct mv_rows A = *a_, *a = &A;
    const int rp = 4 * a->nv, first = a->first, half = a->half, n2 = a->n2, at1 = first && !a->warm;
    const double beta = a->beta;
    const v4 zero = VSET1(0.0), one = VSET1(1.0), two = VSET1(2.0), three = VSET1(3.0), lo = VSET1(-0.5);
    const v4 inf = VSET1(HUGE_VAL);
    const v4 tiny = VSET1(1e-7), small = VSET1(1e-4);
    for (int v = 0; v < a->nv; v++) {
        v4 sr = zero, sf = zero, sd = zero, mu, o, P1 = zero;
        VLOAD(mu, a->mu + 4 * v);
        VLOAD(o, a->step + 4 * v);
        if (a->den_one) VLOAD(P1, a->DEN + 4 * v);
        v4i stepping = VCMP(KWIDE, o, ==, one) | VCMP(KWIDE, o, ==, two), big = stepping & ~stepping, mid = big;
        v4i phi_lanes = VCMP(KWIDE, o, ==, one) | VCMP(KWIDE, o, ==, three);
        int eval = first || phi_lanes[0] || phi_lanes[1] || phi_lanes[2] || phi_lanes[3];
        for (size_t i = i0; i < i1; i++) {
            v4 w0, P, Q, a2, b2;
            if (eval) KFN(mv_row)(a, i, v, &P1, &w0, &P, &Q, &a2, &b2);
            else KFN(mv_lanes)(&w0, a->F, i, a->r, v, a->n_fast);
            size_t off = i * rp + 4 * v;
            v4i valid = VCMP(KWIDE, w0, !=, zero);
            v4 rho = one;
            if (first && !at1) {
                /* the last solve's root, where it is one (a column left to
                 * the nested search has none) */
                v4 r0;
                VLOAD(r0, a->RHO + off);
                rho = VBLEND(VCMP(KWIDE, r0, >, zero) & VCMP(KWIDE, r0, <, inf), r0, one);
            }
            if (!first) {
                v4 r0, fv, id;
                VLOAD(r0, a->RHO + off);
                VLOAD(fv, a->TS + off);
                VLOAD(id, a->ID + off);
                v4 step = -(fv + mu) * id;
                v4i move = valid & stepping;
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
                big |= move & ~VCMP(KWIDE, as, <=, tiny * r0);
                mid |= move & ~VCMP(KWIDE, as, <=, small * r0);
            }
            VSTORE(a->RHO + off, rho);
            sr += VBLEND(valid, w0 * rho, zero);
            if (eval) {
                v4 phi, dphi;
                KFN(mv_phi4)(rho, P, Q, a2, b2, beta, half, at1, n2, &phi, &dphi);
                v4 id = one / dphi;
                VSTORE(a->TS + off, phi);
                VSTORE(a->ID + off, id);
                sf += VBLEND(valid, w0 * phi * id, zero);
                sd += VBLEND(valid, w0 * id, zero);
            }
        }
        VSTORE(acc + 4 * v, sr);
        VSTORE(acc + rp + 4 * v, sf);
        VSTORE(acc + 2 * rp + 4 * v, sd);
        VSTORE(acc + 3 * rp + 4 * v, VBLEND(big, one, zero));
        VSTORE(acc + 4 * rp + 4 * v, VBLEND(mid, one, zero));
    }
}

/* row i of F (r <= 4) into mv_gram's sums s (4) and t */
KATTR static inline __attribute__((always_inline))
void KFN(mv_gram_row)(const double *F, int r, size_t i, size_t n_fast, v4 *s, v4 *t)
{
    const double *f = F + i * r;
    double pf[4];
    if (i >= n_fast) {
        for (int k = 0; k < 4; k++) pf[k] = k < r ? f[k] : 0.0;
        f = pf;
    }
    v4 fv;
    VLOAD(fv, f);
    *t += fv;
    s[0] += fv * VSET1(f[0]);
    if (r > 1) s[1] += fv * VSET1(f[1]);
    if (r > 2) s[2] += fv * VSET1(f[2]);
    if (r > 3) s[3] += fv * VSET1(f[3]);
}

/* S (4 x 4, lanes past r unused) = F F' and the row sums of F (r x m,
 * r <= 4) with the sums in registers, the even and the odd rows in two
 * sets (one set alone is a chain of dependent additions a row), added at
 * the end: S[a, b] and S[b, a] add the same products in the same order, so
 * S is exactly symmetric */
KATTR static void KFN(mv_gram)(const double *F, int r, size_t m, size_t n_fast, double *S, double *tot)
{
    v4 s0[4], s1[4], t0 = VSET1(0.0), t1 = VSET1(0.0);
    for (int l = 0; l < 4; l++) s0[l] = s1[l] = VSET1(0.0);
    size_t i = 0;
    for (; i + 2 <= m; i += 2) {
        KFN(mv_gram_row)(F, r, i, n_fast, s0, &t0);
        KFN(mv_gram_row)(F, r, i + 1, n_fast, s1, &t1);
    }
    if (i < m) KFN(mv_gram_row)(F, r, i, n_fast, s0, &t0);
    for (int l = 0; l < 4; l++) VSTORE(S + 4 * l, s0[l] + s1[l]);
    VSTORE(tot, t0 + t1);
}
