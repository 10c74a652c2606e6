/* kernels_sparse_template.h: one build of the sparse product kernels of
 * kernels_sparse.c, each padded size (nv vectors of 4 rows) an
 * instantiation of its always_inline body (GX_CASES, simd.h).  Included
 * once per CPU target, after target_base.h or target_avx2.h. */

KATTR static void KFN(sgx)(const double *Gp, int nv, const int *p, const int *idx, const double *xv,
                           double xs, int j0, int j1, double *Ap)
{
    GX_CASES(sgx_body, Gp, p, idx, xv, xs, j0, j1, Ap)
}

KATTR static void KFN(skl)(const double *Gp, int nv, const int *p, const int *idx, const double *xv,
                           double xs, const double *Fp, int j0, int j1, double *Ap)
{
    GX_CASES(skl_body, Gp, p, idx, xv, xs, Fp, j0, j1, Ap)
}

KATTR static void KFN(ssc)(const double *Hp, int nv, const int *p, const int *idx, const double *xv,
                           double xs, const int *st, int n, int i0, int i1, const double *Fp, int kl,
                           double *Ap)
{
    GX_CASES(ssc_body, Hp, p, idx, xv, xs, st, n, i0, i1, Fp, kl, Ap)
}
