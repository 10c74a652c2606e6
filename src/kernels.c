/* kernels.c: the dispatch table of the vector kernels (kernels.h).
 *
 * Each kernel is compiled once per CPU target from its template (the
 * *_template.h files, included per target by the file that owns the
 * kernel): the baseline instruction set everywhere and, on x86-64 with GCC
 * or clang, AVX2 + FMA as well, with no special flags in Makevars.
 * kernels_init() asks the CPU once, when the library loads, and fills the
 * table `kern` with one build of every kernel through each owner's filler;
 * call sites go through the table and never ask the CPU themselves.
 */
#include "betanmf.h"
#include "simd.h"
#include "kernels.h"

attribute_hidden betanmf_kernels kern;

/* set by C_simd_baseline (tests): the baseline kernels even on an AVX2 CPU */
static int force_baseline = 0;

/* does the CPU run the AVX2 + FMA builds (only compiled on x86-64)? */
static int cpu_avx2(void)
{
#ifdef HAVE_X86_DISPATCH
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

void kernels_init(void)
{
    int avx2 = cpu_avx2() && !force_baseline;
    kernels_fill_dense(&kern, avx2);
    kernels_fill_sparse(&kern, avx2);
    kernels_fill_mu(&kern, avx2);
    kernels_fill_hals(&kern, avx2);
    kernels_fill_cd(&kern, avx2);
    kernels_fill_loss(&kern, avx2);
}

/* .Call entry (R/nmf.R, simd_baseline): on = TRUE fills the table with the
 * baseline build of every kernel (the code non-AVX2 x86 CPUs and other
 * architectures run), so the tests check it on any machine; returns the
 * previous setting (always TRUE where only the baseline is compiled).
 * Never while a fit runs. */
SEXP C_simd_baseline(SEXP on)
{
    int old = force_baseline;
#ifndef HAVE_X86_DISPATCH
    old = 1;
#endif
    force_baseline = asLogical(on) == TRUE;
    kernels_init();
    return ScalarLogical(old);
}

/* .Call entry (R/nmf.R, simd_builds): the kernel builds this library can
 * run on this CPU, "avx2+fma" and "baseline", or "baseline" alone; the
 * digests of the tests (helper-digests.R) are keyed by it */
SEXP C_simd_builds(void)
{
    int n = cpu_avx2() ? 2 : 1;
    SEXP out = PROTECT(allocVector(STRSXP, n));
    if (n == 2) SET_STRING_ELT(out, 0, mkChar("avx2+fma"));
    SET_STRING_ELT(out, n - 1, mkChar("baseline"));
    UNPROTECT(1);
    return out;
}
