/* input.c: one pass over the data values for the checks of R/input.R.
 *
 * Returns list(na = count of NA (not NaN), nan = count of NaN, inf = count of
 * infinite values, negative = count of negative values, min = smallest
 * non-NaN value) over a double vector, so validating a large matrix costs
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
    const char *names[] = {"na", "nan", "inf", "negative", "min", ""};
    const double vals[] = {n_na, n_nan, n_inf, n_neg, lo};
    SEXP out = PROTECT(mkNamed(VECSXP, names));
    for (int k = 0; k < 5; k++) SET_VECTOR_ELT(out, k, ScalarReal(vals[k]));
    UNPROTECT(1);
    return out;
}
