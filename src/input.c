/* input.c: passes over the data values for R/input.R (prepare_data).
 *
 * C_scan_values returns list(na = count of NA (not NaN), nan = count of NaN,
 * inf = count of infinite values, negative = count of negative values, min
 * = smallest non-NaN value) over a double vector, so validating a large
 * matrix costs one read instead of the half-dozen full-size temporaries of
 * the R idiom.
 *
 * C_scale_values returns list(x = x / scale with x's attributes, sum = its
 * sum): the data in the solvers' units and the total the starts need, in
 * one read where R made the copy and then read it again for sum().  The sum
 * is R's own sum() (summary.c, rsum): one long double accumulator (R's
 * LDOUBLE) over the values in order, rounded to double once, Inf beyond
 * DBL_MAX, so it equals sum(x / scale) bit for bit and the starts that read
 * it keep their bits (tests/testthat/test-input.R).
 */
#include "betanmf.h"
#include <float.h>

static double as_r_sum(long double s)
{
    if (s > DBL_MAX) return R_PosInf;
    if (s < -DBL_MAX) return R_NegInf;
    return (double) s;
}

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

/* x / scale (the power of two of prepare_data: the quotient is R's x /
 * scale, value for value) and the sum of the quotients */
SEXP C_scale_values(SEXP x, SEXP sscale)
{
    if (!isReal(x)) error("internal error: scale_values needs doubles");
    double scale = asReal(sscale);
    if (!(scale > 0.0) || !R_FINITE(scale)) error("internal error: scale_values scale");
    R_xlen_t n = XLENGTH(x);
    const double *v = REAL(x);
    SEXP y = PROTECT(allocVector(REALSXP, n));
    DUPLICATE_ATTRIB(y, x);
    double *yp = REAL(y);
    long double s = 0.0;
    for (R_xlen_t t = 0; t < n; t++) {
        double q = v[t] / scale;
        yp[t] = q;
        s += q;
    }
    const char *names[] = {"x", "sum", ""};
    SEXP out = PROTECT(mkNamed(VECSXP, names));
    SET_VECTOR_ELT(out, 0, y);
    SET_VECTOR_ELT(out, 1, ScalarReal(as_r_sum(s)));
    UNPROTECT(2);
    return out;
}
