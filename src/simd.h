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

#ifdef HAVE_X86_DISPATCH
int kernels_use_avx2(void);
#endif

#endif
