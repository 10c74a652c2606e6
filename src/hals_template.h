/* hals_template.h: one build of the inner sweeps of hals.c (sweep_lanes_body,
 * see there), included once per CPU target after target_base.h or
 * target_avx2.h (KFN: the build's name, KATTR: its target, KWIDE: its lane
 * compares). */

KATTR static long KFN(sweep_lanes)(lane_state *L, double *F, const double *A, const int *hp, int avail,
                                   int need, const double *S, int r, int inner, double inner_tol, double l1)
{
    return sweep_lanes_body(L, F, A, hp, avail, need, S, r, inner, inner_tol, l1, KWIDE);
}
