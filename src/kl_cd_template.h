/* kl_cd_template.h: one build of the sweeps of one column of kl_cd.c
 * (cd_column_body, see there), included once per CPU target after
 * target_base.h or target_avx2.h (KFN: the build's name, KATTR: its target,
 * KWIDE: its lane compares). */

KATTR static void KFN(cd_column)(const double *gz, const double *gz2, int r, int nz, int nzp,
                                 const double *xv, const double *s, double *f, cd_work *w, int sweeps,
                                 double l1, double l2)
{
    cd_column_body(gz, gz2, r, nz, nzp, xv, s, f, w, sweeps, l1, l2, KWIDE);
}
