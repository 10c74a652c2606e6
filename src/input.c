/* input.c: one pass over the data values for the checks of R/input.R.
 *
 * Returns c(NA count (not NaN), NaN count, infinite count, negative count,
 * smallest value) over a double vector, so validating a large matrix costs
 * one read instead of the half-dozen full-size temporaries of the R idiom.
 */
#include "betanmf.h"

SEXP C_scan_values(SEXP x)
{
    if (!isReal(x)) error("internal error: scan_values needs doubles");
    R_xlen_t n = XLENGTH(x);
    const double *v = REAL(x);
    double n_na = 0, n_nan = 0, n_inf = 0, n_neg = 0, lo = R_PosInf;
    for (R_xlen_t t = 0; t < n; t++) {
        double a = v[t];
        if (ISNAN(a)) {
            if (R_IsNA(a)) n_na++;
            else n_nan++;
            continue;
        }
        if (!R_FINITE(a)) n_inf++;
        if (a < 0) n_neg++;
        if (a < lo) lo = a;
    }
    SEXP out = PROTECT(allocVector(REALSXP, 5));
    REAL(out)[0] = n_na; REAL(out)[1] = n_nan; REAL(out)[2] = n_inf;
    REAL(out)[3] = n_neg; REAL(out)[4] = lo;
    UNPROTECT(1);
    return out;
}
