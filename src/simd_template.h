/* simd_template.h: the vector power chains and logarithm of one build,
 * included once per CPU target after target_base.h or target_avx2.h (KFN:
 * the build's names, KATTR: its target, KT: its square root of four lanes,
 * KWIDE: its lane compares), before the templates that use them
 * (mu_template.h, loss_template.h).  Vectors travel by pointer: a
 * 32-byte vector passed by value would have a different ABI in the
 * baseline and the AVX2 builds; always_inline, they stay in registers. */

/* *out = base^(n2 / 2) lane by lane, by the multiplication chain of
 * pow_beta (betanmf.h): the same operations, so the same values */
KATTR static inline __attribute__((always_inline))
void KFN(vpow_chain)(v4 *out, const v4 *base, const int n2)
{
    const v4 one = VSET1(1.0);
    int a = n2 < 0 ? -n2 : n2, half = a & 1;
    int p = half ? a : a >> 1;
    v4 b = *base, acc = one;
    if (half) b = KT(b);
    for (int k = p; k; k >>= 1, b *= b)
        if (k & 1) acc *= b;
    if (n2 < 0) acc = one / acc;
    *out = acc;
}

/* *out0, *out1 = base0^(n2 / 2), base1^(n2 / 2): vpow_chain of two
 * vectors.  For n2 < 0 the two reciprocals come from one division,
 * 1 / (a0 a1) times a1 and a0, wherever every lane of a0 a1 and of its
 * reciprocal is a positive normal number (else two divisions): the square
 * root and the division share one unit, and that unit bounds the
 * beta = 1.5 and beta = 0 coefficients.  Each reciprocal is within about
 * 2 ulp, not 0.5. */
KATTR static inline __attribute__((always_inline))
void KFN(vpow_chain2)(v4 *out0, v4 *out1, const v4 *base0, const v4 *base1, const int n2)
{
    const v4 one = VSET1(1.0);
    int n = n2 < 0 ? -n2 : n2;
    v4 c0, c1;
    KFN(vpow_chain)(&c0, base0, n);
    KFN(vpow_chain)(&c1, base1, n);
    if (n2 < 0) {
        v4 q = c0 * c1;
        if (VALL4_K(VCMP(KWIDE, q, >=, VSET1(DBL_MIN)) & VCMP(KWIDE, q, <=, VSET1(1 / DBL_MIN)))) {
            v4 i = one / q;
            q = c1 * i;
            c1 = c0 * i;
            c0 = q;
        } else {
            c0 = one / c0;
            c1 = one / c1;
        }
    }
    *out0 = c0;
    *out1 = c1;
}

/* The beta-divergence d(x|y) (loss.c) of four lanes, y floored at EPS_Y
 * already, floored at zero (the closed forms cancel to about -1e-16 near
 * x = y).  *ok gets a lane mask, all ones where the vector formula holds;
 * callers AND it over a column and, if a lane failed, evaluate that column
 * again with beta_div_scalar where it fails (a test per vector, extracting
 * lanes, costs a large part of the loop).
 *
 * vdiv_log4, beta = 1 (KL, kl = 1) and beta = 0 (Itakura-Saito), from
 * q = x / y: the logarithm in vector lanes, with q = 2^e u, u in
 * [sqrt(1/2), sqrt(2)), log u = 2 atanh(s) = s (2 + z P(z)),
 * s = (u - 1) / (u + 1), z = s^2 <= 0.0295, and e log 2 added in two parts
 * (Cody & Waite): within 2 ulp of log q (3.8 x 2^-53 relative, the largest
 * over 16 million ratios from 2^-1022 to 2^1023 against long double logl),
 * where libm's scalar log() would cost most of a KL loss.  P, of degree 6,
 * interpolates (2 atanh(s) / s - 2) / z at the 7 Chebyshev nodes of
 * [0, 1.0001 zmax] (its coefficients from tools/log-poly.c; relative error
 * of 2 atanh(s) below 2^-57.5), by Estrin's scheme: three levels of
 * independent multiply-adds.  Lanes with a ratio outside the positive
 * normal range (subnormal, Inf; 0 except for KL at x = 0, where log q is
 * taken as 0 so that d(0|y) = y) fail.
 *
 * The logarithm comes in two stages, so that a loop can run them apart
 * (loss.c): vlog_reduce, from the ratio q (a positive normal number where
 * the lane is to count), gives s = (u - 1) / (u + 1) and e as a double;
 * vlog_series gives log q from them.
 *
 * The reduction in integers: with c the bits of sqrt(1/2), the bits of q
 * minus c, plus 1024 << 52 so that the difference stays positive (AVX2 has
 * no arithmetic 64-bit shift), carry e + 1024 in their top 12 bits and the
 * offset of u from sqrt(1/2) in the rest: u's bits are the rest plus c.
 * Six integer and conversion operations, where the exponent field, a
 * compare with sqrt(2) and a blend take nine. */
KATTR static inline __attribute__((always_inline))
void KFN(vlog_reduce)(v4 *s, v4 *e, const v4 *q)
{
    v4u t = (v4u) *q + (0x4000000000000000ULL - VLOG_C);
    v4u kb = t >> 52; /* e + 1024 */
    v4 u = (v4) ((t & 0x000fffffffffffffULL) + VLOG_C);
    *e = (v4) (kb | 0x4330000000000000ULL) - VSET1(4503599627370496.0 + 1024.0);
    *s = (u - VSET1(1.0)) / (u + VSET1(1.0));
}

KATTR static inline __attribute__((always_inline))
void KFN(vlog_series)(v4 *lq, const v4 *s_in, const v4 *e_in)
{
    v4 s = *s_in, e = *e_in, z = s * s;
    v4 z2 = z * z, z4 = z2 * z2;
    v4 a0 = 0.66666666666666696 + z * 0.39999999999899438;
    v4 a1 = 0.28571428626004847 + z * 0.2222221113006583;
    v4 a2 = 0.18182889467001817 + z * 0.15331710301971346;
    v4 b0 = a0 + z2 * a1, b1 = a2 + z2 * 0.14616588825695084;
    v4 p = b0 + z4 * b1;
    *lq = e * VLOG_LN2_HI + (e * VLOG_LN2_LO + s * (2.0 + z * p));
}

/* the ratio of vdiv_log4: *q_out = q, with KL's x = 0 lanes set to 1, and
 * *ok */
KATTR static inline __attribute__((always_inline))
void KFN(vlog_ratio)(v4 *q_out, v4i *ok, const v4 *xv, const v4 *q_in, const int kl)
{
    v4 q = *q_in;
    if (kl) q = VBLEND(VCMP(KWIDE, *xv, ==, VSET1(0.0)), VSET1(1.0), q);
    *ok = VCMP(KWIDE, q, >=, VSET1(DBL_MIN)) & VCMP(KWIDE, q, <=, VSET1(DBL_MAX));
    *q_out = q;
}

/* d from log q: KL's x log q - x + y or IS's q - log q - 1, floored at 0
 * by VFLOOR_K (one vmaxpd on AVX; a NaN d stays NaN) */
KATTR static inline __attribute__((always_inline))
void KFN(vlog_div)(v4 *d, const v4 *lq, const v4 *xv, const v4 *yv, const v4 *q, const int kl)
{
    v4 t = kl ? *xv * *lq - *xv + *yv : *q - *lq - VSET1(1.0);
    *d = VFLOOR_K(t, VSET1(0.0));
}

KATTR static inline __attribute__((always_inline))
void KFN(vdiv_log4)(v4 *d, v4i *ok, const v4 *xv, const v4 *yv, const int kl)
{
    v4 q0 = *xv / *yv, q, s, e, lq;
    KFN(vlog_ratio)(&q, ok, xv, &q0, kl);
    KFN(vlog_reduce)(&s, &e, &q);
    KFN(vlog_series)(&lq, &s, &e);
    KFN(vlog_div)(d, &lq, xv, yv, &q, kl);
}

/* vdiv_pow4, every other beta with 2 beta an integer in [-16, 16]:
 * (x^b + (b-1) y^b - b x y^(b-1)) / (b (b-1)) with x^b and y^(b-1) by the
 * chains of vpow_chain (n2x = 2 b, n2y = 2 (b - 1), c1 = b - 1,
 * c2 = 1 / (b (b - 1))); lanes with a term not finite (x = 0 with b < 0,
 * overflow) fail */
KATTR static inline __attribute__((always_inline))
void KFN(vdiv_pow4)(v4 *d, v4i *ok, const v4 *xv, const v4 *yv, int n2x, int n2y, double c1, double c2,
                    double beta)
{
    v4 xb, t;
    KFN(vpow_chain)(&xb, xv, n2x);
    KFN(vpow_chain)(&t, yv, n2y);
    v4 dv = (xb + c1 * (t * *yv) - beta * *xv * t) * c2;
    *ok = VCMP(KWIDE, dv, <=, VSET1(DBL_MAX)) & VCMP(KWIDE, dv, >=, VSET1(-DBL_MAX));
    *d = VBLEND(VCMP(KWIDE, dv, >, VSET1(0.0)), dv, VSET1(0.0));
}
