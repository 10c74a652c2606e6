/* target_avx2.h: before a *_template.h, the names and vocabulary of the
 * AVX2 + FMA build of its kernels (x86-64 only; see target_base.h) */
#undef KFN
#undef KATTR
#undef KT
#undef KWIDE
#define KFN(name) name##_avx2
#define KATTR TARGET_AVX2
#define KT SQRT4_AVX
#define KWIDE 1
