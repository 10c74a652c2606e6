/* loss_template.h: one build of the vector sums of loss.c (see there),
 * included once per CPU target after target_base.h or target_avx2.h (KFN:
 * the build's names, KATTR: its target, KT: its square root, KWIDE: its
 * lane compares).  kind: LOSS_IS (beta = 0), LOSS_KL (beta = 1) or
 * LOSS_POW (the power chains), a constant in every instantiation. */

/* d(x|y) of four lanes and their lane mask (simd_template.h) */
KATTR static inline __attribute__((always_inline))
void KFN(div4)(v4 *d, v4i *ok, const v4 *xv, const v4 *yv, const int kind, int n2x, int n2y, double c1,
               double c2, double beta)
{
    if (kind == LOSS_POW) KFN(vdiv_pow4)(d, ok, xv, yv, n2x, n2y, c1, c2, beta);
    else KFN(vdiv_log4)(d, ok, xv, yv, kind == LOSS_KL);
}

/* the second pass of a column in which a lane failed: every vector again
 * with a test, the vectors with a failed lane through beta_div_scalar
 * (added to *tail); returns the sum of the others */
KATTR static inline __attribute__((always_inline))
double KFN(column_redo)(const double *x, const double *y, size_t m, double beta, const int kind,
                        double *tail)
{
    int n2x = (int) (2.0 * beta), n2y = (int) (2.0 * (beta - 1.0));
    double c1 = beta - 1.0, c2 = 1.0 / (beta * (beta - 1.0));
    const v4 eps = VSET1(EPS_Y);
    v4 acc = VSET1(0.0), xv, yv, d;
    v4i ok;
    for (size_t i = 0; i + 4 <= m; i += 4) {
        VLOAD(xv, x + i);
        VLOAD(yv, y + i);
        yv = VFLOOR(KWIDE, yv, eps);
        KFN(div4)(&d, &ok, &xv, &yv, kind, n2x, n2y, c1, c2, beta);
        if (ALL4(ok)) acc += d;
        else for (int l = 0; l < 4; l++) *tail += beta_div_scalar(x[i + l], yv[l], beta);
    }
    return HSUM(acc);
}

/* a column's sum: sum, that of its first pass, if every lane was fine
 * (all_ok), else the second pass's; then entries i.. one at a time */
KATTR static inline __attribute__((always_inline))
double KFN(column_finish)(const double *x, const double *y, size_t m, double beta, const int kind,
                          double sum, int all_ok, size_t i)
{
    double tail = 0.0;
    if (!all_ok) sum = KFN(column_redo)(x, y, m, beta, kind, &tail);
    for (; i < m; i++) tail += beta_div_scalar(x[i], y[i] < EPS_Y ? EPS_Y : y[i], beta);
    return sum + tail;
}

/* every beta of the power chains: one pass with no test per vector */
KATTR static double KFN(pow_column)(const double *x, const double *y, size_t m, double beta)
{
    const int kind = LOSS_POW;
    int n2x = (int) (2.0 * beta), n2y = (int) (2.0 * (beta - 1.0));
    double c1 = beta - 1.0, c2 = 1.0 / (beta * (beta - 1.0));
    const v4 eps = VSET1(EPS_Y);
    v4 acc = VSET1(0.0), xv, yv, d;
    v4i okall = {-1, -1, -1, -1}, ok;
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
        VLOAD(xv, x + i);
        VLOAD(yv, y + i);
        yv = VFLOOR(KWIDE, yv, eps);
        KFN(div4)(&d, &ok, &xv, &yv, kind, n2x, n2y, c1, c2, beta);
        okall &= ok;
        acc += d;
    }
    return KFN(column_finish)(x, y, m, beta, kind, HSUM(acc), ALL4(okall), i);
}

/* KL and IS in chunks of LOG_CHUNK entries, two loops each (loss.c) */
KATTR static inline __attribute__((always_inline))
double KFN(log_column)(const double *x, const double *y, size_t m, double beta, const int kind)
{
    const int W = KWIDE, KL = kind == LOSS_KL;
    const v4 eps = VSET1(EPS_Y);
    v4 acc = VSET1(0.0), xv, yv, d, vmin = VSET1(1.0), vmax = VSET1(1.0);
    v4i okall = {-1, -1, -1, -1}, ok;
    double sb[LOG_CHUNK], eb[LOG_CHUNK], tb[LOG_CHUNK]; /* tb: y (KL), q (IS) */
    (void) ok; /* the AVX build tracks the ratios, not their masks */
    size_t i = 0, mv = m & ~(size_t) 3;
    for (size_t c0 = 0; c0 < mv; c0 += LOG_CHUNK) {
        size_t c1 = c0 + LOG_CHUNK < mv ? c0 + LOG_CHUNK : mv;
        for (i = c0; i < c1; i += 4) {
            v4 q, s, e;
            VLOAD(xv, x + i);
            VLOAD(yv, y + i);
            yv = VFLOOR_K(yv, eps);
            v4 q0 = xv / yv;
            KFN(vlog_ratio)(&q, &ok, &xv, &q0, KL);
            LOG_TRACK(q, ok);
            KFN(vlog_reduce)(&s, &e, &q);
            VSTORE(sb + (i - c0), s);
            VSTORE(eb + (i - c0), e);
            VSTORE(tb + (i - c0), KL ? yv : q);
        }
        for (i = c0; i < c1; i += 4) {
            v4 t, s, e, lq;
            VLOAD(xv, x + i);
            VLOAD(t, tb + (i - c0));
            VLOAD(s, sb + (i - c0));
            VLOAD(e, eb + (i - c0));
            KFN(vlog_series)(&lq, &s, &e);
            KFN(vlog_div)(&d, &lq, &xv, &t, &t, KL);
            acc += d;
        }
    }
    okall &= VCMP(W, vmin, >=, VSET1(DBL_MIN)) & VCMP(W, vmax, <=, VSET1(DBL_MAX)) & VCMP(W, acc, ==, acc);
    i = mv;
    return KFN(column_finish)(x, y, m, beta, kind, HSUM(acc), ALL4(okall), i);
}

KATTR static double KFN(kl_column)(const double *x, const double *y, size_t m, double beta)
{
    return KFN(log_column)(x, y, m, beta, LOSS_KL);
}

KATTR static double KFN(is_column)(const double *x, const double *y, size_t m, double beta)
{
    return KFN(log_column)(x, y, m, beta, LOSS_IS);
}

