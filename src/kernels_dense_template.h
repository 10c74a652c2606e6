/* kernels_dense_template.h: one build of the dense product kernels of
 * kernels_dense.c, each padded size (nv vectors of 4 rows) an instantiation
 * of its always_inline body (GX_CASES, simd.h).  Included once per CPU
 * target, after target_base.h or target_avx2.h (KFN: the build's names,
 * KATTR: its target). */

KATTR static void KFN(gx)(const double *Gp, int nv, const double *X, size_t nrow, int j0, int j1,
                          double *Ap)
{
    GX_CASES(gx_body, Gp, X, nrow, j0, j1, Ap)
}

KATTR static void KFN(gxt)(const double *Hp, int nv, const double *D, size_t nout, int nin, size_t i0,
                           size_t i1, double *Ap)
{
    GX_CASES(gxt_body, Hp, D, nout, nin, i0, i1, Ap)
}

KATTR static void KFN(hxt)(const double *Hp, int nv, const double *D, size_t nout, int nin, size_t i0,
                           size_t i1, double *Bp, const double *pf, int npf)
{
    GX_CASES(hxt_body, Hp, D, nout, nin, i0, i1, Bp, pf, npf)
}

/* two inlined copies of the body, X known NULL in one: the plain product
 * keeps no test or load of X in its tile */
KATTR static void KFN(gf)(const double *Gc, size_t nrow, int r, const double *F, int nb, double *Y,
                          const double *X)
{
    if (X) gf_body(Gc, nrow, r, F, nb, Y, X, KWIDE);
    else gf_body(Gc, nrow, r, F, nb, Y, NULL, KWIDE);
}

KATTR static void KFN(gram)(const double *F, int r, int nv, size_t k, double *Sp)
{
    GX_CASES(gram_body, F, r, k, Sp)
}
