/* simd.h: the portable SIMD vocabulary of the kernels (kernels.c, hals.c).
 *
 * GCC/clang vector extensions of four doubles, which every target compiles
 * (to two SSE2 halves on the baseline x86-64, to one register with AVX2);
 * on x86-64 each kernel is compiled twice, once for the baseline and once
 * with target("avx2,fma"), and kernels_use_avx2() picks one at run time.
 * No special flags in Makevars.
 */
#ifndef BETANMF_SIMD_H
#define BETANMF_SIMD_H

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

#ifdef HAVE_X86_DISPATCH
int kernels_use_avx2(void);
#endif

#endif
