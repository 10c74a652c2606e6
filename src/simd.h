/* simd.h: the portable SIMD vocabulary of the kernels (kernels.c, hals.c).
 *
 * GCC/clang vector extensions of four doubles, which every target compiles
 * (to two SSE2 halves on the baseline x86-64, to one register with AVX2);
 * on x86-64 each kernel is compiled twice, once for the baseline and once
 * with target("avx2,fma"), and the dispatch table of kernels.h holds the
 * one the CPU runs.
 * No special flags in Makevars.
 */
#ifndef BETANMF_SIMD_H
#define BETANMF_SIMD_H

#include <float.h>
#include <math.h>

#define MAXV 8 /* up to r = 32 */

/* the loops over the accumulators must be unrolled for them to stay in
 * registers; nv is a compile-time constant in every instantiation */
#if defined(__clang__)
#define UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define UNROLL _Pragma("GCC unroll 8")
#else
#define UNROLL
#endif

typedef double v4 __attribute__((vector_size(32), aligned(8), may_alias));

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define HAVE_X86_DISPATCH 1
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define TARGET_AVX2
#endif

/* unaligned vector access (the type's alignment is that of a double, and it
 * may alias doubles); macros rather than functions so no vector crosses a
 * function boundary, whose ABI would differ between the baseline and the
 * AVX2 versions */
#define VLOAD(dst, p) ((dst) = *(const v4 *) (p))
#define VSTORE(p, src) (*(v4 *) (p) = (src))
#define VSET1(x) ((v4){(x), (x), (x), (x)})
/* a[0 .. 4 nv) += c * x[0 .. nv) for a vector array x held in registers,
 * the destination in memory */
#define VAXPY_MEM(a, c, x, nv)                 \
    do {                                       \
        UNROLL                                 \
        for (int v_ = 0; v_ < (nv); v_++) {    \
            v4 av_;                            \
            VLOAD(av_, (a) + 4 * v_);          \
            av_ += (c) * (x)[v_];              \
            VSTORE((a) + 4 * v_, av_);         \
        }                                      \
    } while (0)

/* a hint to start loading an address that will be needed soon */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void) 0)
#endif
#define PF_AHEAD 4

/* lane masks: a comparison of two v4 yields all-ones / all-zeros lanes */
typedef long long v4i __attribute__((vector_size(32), aligned(8), may_alias));
#define VBLEND(mask, a, b) ((v4) (((v4i) (a) & (mask)) | ((v4i) (b) & ~(mask))))

/* Lane masks of a comparison, A OP B.  WIDE = 1 in the AVX2 build: one
 * 256-bit compare.  WIDE = 0 in the baseline build: two 128-bit compares --
 * gcc compiles a 256-bit compare, on a target without 256-bit vectors (SSE2,
 * NEON), into four scalar compares with a branch each (part of why the
 * baseline kernels ran 4-22 times slower than the AVX2 ones, the rest
 * being tiles sized for 16 ymm registers); the halves are vector compares
 * everywhere.  WIDE is a constant in every instantiation,
 * so only one of the two is compiled.  VWIDE(T): WIDE for the square root
 * T of a target (SQRT4_AVX or SQRT4_LANES, below). */
typedef double v2 __attribute__((vector_size(16), aligned(8), may_alias));
typedef long long v2i __attribute__((vector_size(16), aligned(8), may_alias));
#define VCMP_HALVES(A, OP, B)                                                 \
    __extension__({                                                           \
        union { v4 v; v2 h[2]; } ca_ = {(A)}, cb_ = {(B)};                    \
        union { v4i v; v2i h[2]; } cr_;                                       \
        cr_.h[0] = (v2i) (ca_.h[0] OP cb_.h[0]);                              \
        cr_.h[1] = (v2i) (ca_.h[1] OP cb_.h[1]);                              \
        cr_.v;                                                                \
    })
#define VCMP(WIDE, A, OP, B) ((WIDE) ? (v4i) ((A) OP (B)) : VCMP_HALVES(A, OP, B))
#define VWIDE(T) WIDE_##T
#define WIDE_SQRT4_LANES 0
#define WIDE_SQRT4_AVX 1
/* lanes y < floor set to floor */
#define VFLOOR(WIDE, Y, FLOOR) VBLEND(VCMP(WIDE, Y, <, FLOOR), FLOOR, Y)
/* the same for a target's square root T (SQRT4_AVX, SQRT4_LANES): on AVX
 * one vmaxpd, max(FLOOR, Y), which returns Y where Y is NaN as the blend
 * does and FLOOR where Y < FLOOR, so the same values; the blend is a
 * compare and an integer-domain vpblendvb on the chain from y to its
 * division (the fused W half, 5000 x 38 at rank 3, beta = 1: 0.61-0.63
 * against 0.56 ns an entry on a Zen 3 core).  The kernels that take their
 * target as a run-time argument (gf, kl_cd) keep VFLOOR: an AVX intrinsic
 * cannot appear in their baseline copies. */
#define VFLOOR_T(T, Y, FLOOR) VFLOOR_##T(Y, FLOOR)
#define VFLOOR_SQRT4_LANES(Y, FLOOR) VFLOOR(0, Y, FLOOR)
/* VFLOOR_T for the square root KT of the build a template is compiled
 * for (target_base.h, target_avx2.h) */
#define VFLOOR_K(Y, FLOOR) VFLOOR_EXPAND(KT, Y, FLOOR)
#define VFLOOR_EXPAND(T, Y, FLOOR) VFLOOR_T(T, Y, FLOOR)

/* horizontal sum of a vector in a fixed order (lane order never depends
 * on threads) */
#define HSUM(a) ((((a)[0] + (a)[1]) + ((a)[2] + (a)[3])))

/* square roots of four lanes: four scalar ones (the baseline) and the AVX
 * instruction.  An intrinsic can only appear in a function compiled for its
 * target, so code that needs a vector sqrt is written as a macro taking
 * one of these and instantiated once per target. */
#define SQRT4_LANES(v) ((v4){sqrt((v)[0]), sqrt((v)[1]), sqrt((v)[2]), sqrt((v)[3])})
#ifdef HAVE_X86_DISPATCH
#include <immintrin.h>
#define SQRT4_AVX(v) ((v4) _mm256_sqrt_pd((__m256d) (v)))
#define VFLOOR_SQRT4_AVX(Y, FLOOR) ((v4) _mm256_max_pd((__m256d) (FLOOR), (__m256d) (Y)))
#endif

/* OUT = BASE^(N2 / 2) lane by lane, by the multiplication chain of
 * pow_beta (betanmf.h): the same operations, so the same values.  Needs a
 * v4 `one` in scope. */
#define VPOW_CHAIN(OUT, BASE, N2, SQRT4)                                      \
    do {                                                                      \
        int a_ = (N2) < 0 ? -(N2) : (N2), half_ = a_ & 1;                     \
        int p_ = half_ ? a_ : a_ >> 1;                                        \
        v4 b_ = (BASE), acc_ = one;                                           \
        if (half_) b_ = SQRT4(b_);                                            \
        for (int k_ = p_; k_; k_ >>= 1, b_ *= b_)                             \
            if (k_ & 1) acc_ *= b_;                                           \
        if ((N2) < 0) acc_ = one / acc_;                                      \
        OUT = acc_;                                                           \
    } while (0)

/* every lane of a mask set */
#define ALL4(mask) (((mask)[0] & (mask)[1] & (mask)[2] & (mask)[3]) != 0)
/* the same for a target's square root T (SQRT4_AVX, SQRT4_LANES): on AVX
 * one movemask, where gcc extracted the four lanes one by one */
#define VALL4(T, mask) VALL4_##T(mask)
#define VALL4_SQRT4_LANES(mask) ALL4(mask)
#define VALL4_SQRT4_AVX(mask) (_mm256_movemask_pd((__m256d) (v4) (mask)) == 15)

/* OUT0, OUT1 = BASE0^(N2 / 2), BASE1^(N2 / 2): VPOW_CHAIN of two vectors.
 * For N2 < 0 the two reciprocals come from one division, 1 / (a0 a1) times
 * a1 and a0, wherever every lane of a0 a1 and of its reciprocal is a
 * positive normal number (else two divisions).  The square root and the division share one unit
 * and that unit bounds the beta = 1.5 and beta = 0 coefficients: one
 * division in two saved 17 % of x / sqrt(y) (1.18 against 0.98 ns an
 * entry on a Zen 3 core; on a Zen 4 core it still pays in the blocked
 * passes but not in the fused W half, which no longer uses it: see
 * mu_dense.c).  Each reciprocal is within about 2 ulp, not 0.5.  Needs a
 * v4 `one` in scope. */
#define VPOW_CHAIN2(OUT0, OUT1, BASE0, BASE1, N2, SQRT4)                      \
    do {                                                                      \
        int n_ = (N2) < 0 ? -(N2) : (N2);                                     \
        v4 c0_, c1_;                                                          \
        VPOW_CHAIN(c0_, BASE0, n_, SQRT4);                                    \
        VPOW_CHAIN(c1_, BASE1, n_, SQRT4);                                    \
        if ((N2) < 0) {                                                       \
            v4 q_ = c0_ * c1_;                                                \
            if (VALL4(SQRT4, VCMP(VWIDE(SQRT4), q_, >=, VSET1(DBL_MIN)) &     \
                             VCMP(VWIDE(SQRT4), q_, <=, VSET1(1 / DBL_MIN)))) { \
                v4 i_ = one / q_;                                             \
                q_ = c1_ * i_;                                                \
                c1_ = c0_ * i_;                                               \
                c0_ = q_;                                                     \
            } else {                                                          \
                c0_ = one / c0_;                                              \
                c1_ = one / c1_;                                              \
            }                                                                 \
        }                                                                     \
        OUT0 = c0_;                                                           \
        OUT1 = c1_;                                                           \
    } while (0)

/* The beta-divergence d(x|y) (loss.c) of four lanes, y floored at EPS_Y
 * already, floored at zero (the closed forms cancel to about -1e-16 near
 * x = y).  OK gets a lane mask, all ones where the vector formula holds;
 * callers AND it over a column and, if a lane failed, evaluate that column
 * again with beta_div_scalar where it fails (a test per vector, extracting
 * lanes, was a tenth of the loop).
 *
 * VDIV_LOG4, beta = 1 (KL, KL = 1) and beta = 0 (Itakura-Saito), from
 * Q = x / y: the logarithm in vector lanes, with q = 2^e u, u in
 * [sqrt(1/2), sqrt(2)), log u = 2 atanh(s) = s (2 + z P(z)),
 * s = (u - 1) / (u + 1), z = s^2 <= 0.0295, and e log 2 added in two parts
 * (Cody & Waite): within 2 ulp of log q (3.8 x 2^-53 relative, the largest
 * over 16 million ratios from 2^-1022 to 2^1023 against long double logl;
 * the odd Taylor series to s^21 used before reached 5.6), where libm's
 * scalar log() cost most of a KL loss.  P, of degree 6, interpolates
 * (2 atanh(s) / s - 2) / z at the 7 Chebyshev nodes of [0, 1.0001 zmax]
 * (its coefficients from tools/log-poly.c; relative error of 2 atanh(s)
 * below 2^-57.5), by Estrin's scheme: three levels of independent
 * multiply-adds, where the Taylor series needed eleven terms and four.
 * Lanes with a ratio outside the positive normal range (subnormal, Inf; 0
 * except for KL at x = 0, where log q is taken as 0 so that d(0|y) = y)
 * fail.  KL should be a constant, T the target's square root (VFLOOR_T). */
typedef unsigned long long v4u __attribute__((vector_size(32), aligned(8), may_alias));
#define VLOG_LN2_HI 6.93147180369123816490e-01
#define VLOG_LN2_LO 1.90821492927058770002e-10
/* The logarithm in two stages, so that a loop can run them apart
 * (loss.c): VLOG_REDUCE, from the ratio Q (a positive normal number where
 * the lane is to count), gives S = (u - 1) / (u + 1) and E = e as a double;
 * VLOG_SERIES gives log q from them.  VDIV_LOG4 is the two in one.
 *
 * The reduction in integers: with c the bits of sqrt(1/2), the bits of q
 * minus c, plus 1024 << 52 so that the difference stays positive (AVX2 has
 * no arithmetic 64-bit shift), carry e + 1024 in their top 12 bits and the
 * offset of u from sqrt(1/2) in the rest: u's bits are the rest plus c.
 * Six integer and conversion operations, where the exponent field, a
 * compare with sqrt(2) and a blend took nine (this loss's first loop is
 * bound by the number of operations, not by its two divisions: one
 * division fewer, by reducing x and y apart, measured slower). */
#define VLOG_C 0x3fe6a09e667f3bcdULL /* the bits of sqrt(1/2) */
#define VLOG_REDUCE(S, E, Q)                                                  \
    do {                                                                      \
        v4u t_ = (v4u) (Q) + (0x4000000000000000ULL - VLOG_C);                \
        v4u kb_ = t_ >> 52; /* e + 1024 */                                    \
        v4 u_ = (v4) ((t_ & 0x000fffffffffffffULL) + VLOG_C);                 \
        (E) = (v4) (kb_ | 0x4330000000000000ULL) - VSET1(4503599627370496.0 + 1024.0); \
        (S) = (u_ - VSET1(1.0)) / (u_ + VSET1(1.0));                          \
    } while (0)
#define VLOG_SERIES(LQ, S, E)                                                 \
    do {                                                                      \
        v4 s_ = (S), e_ = (E), z_ = s_ * s_;                                  \
        v4 z2_ = z_ * z_, z4_ = z2_ * z2_;                                    \
        v4 a0_ = 0.66666666666666696 + z_ * 0.39999999999899438;              \
        v4 a1_ = 0.28571428626004847 + z_ * 0.2222221113006583;               \
        v4 a2_ = 0.18182889467001817 + z_ * 0.15331710301971346;              \
        v4 b0_ = a0_ + z2_ * a1_, b1_ = a2_ + z2_ * 0.14616588825695084;      \
        v4 p_ = b0_ + z4_ * b1_;                                              \
        (LQ) = e_ * VLOG_LN2_HI + (e_ * VLOG_LN2_LO + s_ * (2.0 + z_ * p_));  \
    } while (0)
/* the ratio of VDIV_LOG4: Q, with KL's x = 0 lanes set to 1, and OK */
#define VLOG_RATIO(QOUT, OK, XV, Q, KL, W)                                    \
    do {                                                                      \
        v4 q_ = (Q);                                                          \
        if (KL) q_ = VBLEND(VCMP(W, XV, ==, VSET1(0.0)), VSET1(1.0), q_);     \
        (OK) = VCMP(W, q_, >=, VSET1(DBL_MIN)) & VCMP(W, q_, <=, VSET1(DBL_MAX)); \
        (QOUT) = q_;                                                          \
    } while (0)
/* d from log q: KL's x log q - x + y or IS's q - log q - 1, floored at 0
 * by VFLOOR_T (one vmaxpd on AVX; a NaN d stays NaN) */
#define VLOG_DIV(D, LQ, XV, YV, Q, KL, T)                                     \
    do {                                                                      \
        v4 d_ = (KL) ? (XV) * (LQ) - (XV) + (YV) : (Q) - (LQ) - VSET1(1.0);   \
        (D) = VFLOOR_T(T, d_, VSET1(0.0));                                    \
    } while (0)
#define VDIV_LOG4(D, OK, XV, YV, Q, KL, T)                                    \
    do {                                                                      \
        v4 q4_, s4_, e4_, lq4_;                                               \
        VLOG_RATIO(q4_, OK, XV, Q, KL, VWIDE(T));                             \
        VLOG_REDUCE(s4_, e4_, q4_);                                           \
        VLOG_SERIES(lq4_, s4_, e4_);                                          \
        VLOG_DIV(D, lq4_, XV, YV, q4_, KL, T);                                \
    } while (0)

/* VDIV_POW4, every other beta with 2 beta an integer in [-16, 16]:
 * (x^b + (b-1) y^b - b x y^(b-1)) / (b (b-1)) with x^b and y^(b-1) by the
 * chains of VPOW_CHAIN (N2X = 2 b, N2Y = 2 (b - 1), C1 = b - 1,
 * C2 = 1 / (b (b - 1))); lanes with a term not finite (x = 0 with b < 0,
 * overflow) fail.  Needs a v4 `one` in scope. */
#define VDIV_POW4(D, OK, XV, YV, N2X, N2Y, C1, C2, BETA, SQRT4)               \
    do {                                                                      \
        v4 xb_, t_;                                                           \
        VPOW_CHAIN(xb_, XV, N2X, SQRT4);                                      \
        VPOW_CHAIN(t_, YV, N2Y, SQRT4);                                       \
        v4 d_ = (xb_ + (C1) * (t_ * (YV)) - (BETA) * (XV) * t_) * (C2);       \
        (OK) = VCMP(VWIDE(SQRT4), d_, <=, VSET1(DBL_MAX)) &                   \
               VCMP(VWIDE(SQRT4), d_, >=, VSET1(-DBL_MAX));                   \
        (D) = VBLEND(VCMP(VWIDE(SQRT4), d_, >, VSET1(0.0)), d_, VSET1(0.0));  \
    } while (0)

/* the AVX2 build of kernel NAME if AVX2 is set, else its baseline build
 * (the only one compiled off x86-64): for the fillers of the dispatch table
 * (kernels.h) */
#ifdef HAVE_X86_DISPATCH
#define PICK(AVX2, NAME) ((AVX2) ? NAME##_avx2 : NAME##_base)
#else
#define PICK(AVX2, NAME) ((void) (AVX2), NAME##_base)
#endif

#endif
