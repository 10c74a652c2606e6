/* simd.h: the portable SIMD vocabulary of the kernels (kernels_*.c, the solvers).
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
 * function boundary by value, whose ABI would differ between the baseline
 * and the AVX2 builds (simd_template.h passes vectors by pointer) */
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
 * NEON), into four scalar compares with a branch each (bench/NOTES.md);
 * the halves are vector compares everywhere.  WIDE is a constant in every instantiation,
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
 * division.  The kernels that take their target as an argument of an
 * always_inline body (gf, kl_cd) keep VFLOOR: an AVX intrinsic cannot
 * appear in their baseline copies. */
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
 * target, so code that needs a vector sqrt is a template compiled once per
 * target, with one of these as its KT (target_base.h, target_avx2.h). */
#define SQRT4_LANES(v) ((v4){sqrt((v)[0]), sqrt((v)[1]), sqrt((v)[2]), sqrt((v)[3])})
#ifdef HAVE_X86_DISPATCH
#include <immintrin.h>
#define SQRT4_AVX(v) ((v4) _mm256_sqrt_pd((__m256d) (v)))
#define VFLOOR_SQRT4_AVX(Y, FLOOR) ((v4) _mm256_max_pd((__m256d) (FLOOR), (__m256d) (Y)))
#endif

/* every lane of a mask set */
#define ALL4(mask) (((mask)[0] & (mask)[1] & (mask)[2] & (mask)[3]) != 0)
/* the same for a target's square root T (SQRT4_AVX, SQRT4_LANES): on AVX
 * one movemask, where gcc extracted the four lanes one by one */
#define VALL4(T, mask) VALL4_##T(mask)
#define VALL4_SQRT4_LANES(mask) ALL4(mask)
#define VALL4_SQRT4_AVX(mask) (_mm256_movemask_pd((__m256d) (v4) (mask)) == 15)

/* VALL4 for the square root KT of the build a template is compiled for */
#define VALL4_K(mask) VALL4_EXPAND(KT, mask)
#define VALL4_EXPAND(T, mask) VALL4(T, mask)

/* The vector logarithm and power chains of the losses and updates are
 * functions of simd_template.h, one build per target; their constants: */
typedef unsigned long long v4u __attribute__((vector_size(32), aligned(8), may_alias));
#define VLOG_LN2_HI 6.93147180369123816490e-01
#define VLOG_LN2_LO 1.90821492927058770002e-10
#define VLOG_C 0x3fe6a09e667f3bcdULL /* the bits of sqrt(1/2) */

/* One instantiation of an always_inline kernel body per padded size: BODY
 * is called with its arguments and then nv (1..8 vectors of 4 rows) as a
 * compile-time constant, so its accumulators can live in registers; the
 * variable nv selects the case.  For the kernel templates (kernels.h). */
#define GX_CASES(BODY, ...)                      \
    switch (nv) {                                \
    case 1: BODY(__VA_ARGS__, 1); break;         \
    case 2: BODY(__VA_ARGS__, 2); break;         \
    case 3: BODY(__VA_ARGS__, 3); break;         \
    case 4: BODY(__VA_ARGS__, 4); break;         \
    case 5: BODY(__VA_ARGS__, 5); break;         \
    case 6: BODY(__VA_ARGS__, 6); break;         \
    case 7: BODY(__VA_ARGS__, 7); break;         \
    default: BODY(__VA_ARGS__, 8); break;        \
    }

/* the AVX2 build of kernel NAME if AVX2 is set, else its baseline build
 * (the only one compiled off x86-64): for the fillers of the dispatch table
 * (kernels.h) */
#ifdef HAVE_X86_DISPATCH
#define PICK(AVX2, NAME) ((AVX2) ? NAME##_avx2 : NAME##_base)
#else
#define PICK(AVX2, NAME) ((void) (AVX2), NAME##_base)
#endif

#endif
