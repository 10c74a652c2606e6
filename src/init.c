/* init.c: registration of the .Call entry points (exact arities). */
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>

SEXP C_nmf_fit(SEXP, SEXP, SEXP, SEXP);
SEXP C_beta_divergence(SEXP, SEXP, SEXP, SEXP);
SEXP C_hungarian(SEXP, SEXP);
SEXP C_scan_values(SEXP);
SEXP C_scale_values(SEXP, SEXP);
SEXP C_thin_product(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_range_finder(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_block_half(SEXP, SEXP, SEXP, SEXP);
SEXP C_block_prepare(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_block_w_step(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_block_heap_keep(void);
SEXP C_orth(SEXP);
SEXP C_draw_t(SEXP, SEXP);
SEXP C_svd_s(SEXP, SEXP);
SEXP C_simd_baseline(SEXP);
SEXP C_simd_builds(void);
SEXP C_nmf_conv(SEXP, SEXP, SEXP, SEXP);
SEXP C_conv_transpose(SEXP, SEXP, SEXP, SEXP);
void kernels_init(void); /* kernels.h: fills the dispatch table of the vector kernels */

static const R_CallMethodDef call_methods[] = {
    {"nmf_fit", (DL_FUNC) &C_nmf_fit, 4},
    {"beta_divergence", (DL_FUNC) &C_beta_divergence, 4},
    {"hungarian", (DL_FUNC) &C_hungarian, 2},
    {"scan_values", (DL_FUNC) &C_scan_values, 1},
    {"scale_values", (DL_FUNC) &C_scale_values, 2},
    {"thin_product", (DL_FUNC) &C_thin_product, 6},
    {"range_finder", (DL_FUNC) &C_range_finder, 7},
    {"block_half", (DL_FUNC) &C_block_half, 4},
    {"block_prepare", (DL_FUNC) &C_block_prepare, 5},
    {"block_w_step", (DL_FUNC) &C_block_w_step, 8},
    {"block_heap_keep", (DL_FUNC) &C_block_heap_keep, 0},
    {"orth", (DL_FUNC) &C_orth, 1},
    {"draw_t", (DL_FUNC) &C_draw_t, 2},
    {"svd_s", (DL_FUNC) &C_svd_s, 2},
    {"simd_baseline", (DL_FUNC) &C_simd_baseline, 1},
    {"simd_builds", (DL_FUNC) &C_simd_builds, 0},
    {"nmf_conv", (DL_FUNC) &C_nmf_conv, 4},
    {"conv_transpose", (DL_FUNC) &C_conv_transpose, 4},
    {NULL, NULL, 0}
};

void R_init_betanmf(DllInfo *dll)
{
    R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
    R_useDynamicSymbols(dll, FALSE);
    R_forceSymbols(dll, TRUE);
    kernels_init();
}
