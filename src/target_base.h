/* target_base.h: before a *_template.h, the names and vocabulary of the
 * baseline build of its kernels (see target_avx2.h) */
#undef KFN
#undef KATTR
#undef KT
#undef KWIDE
#define KFN(name) name##_base /* the build's name of kernel `name` */
#define KATTR                 /* its target attribute */
#define KT SQRT4_LANES        /* its square root of four lanes (simd.h) */
#define KWIDE 0               /* its lane compares: two halves (simd.h, VCMP) */
