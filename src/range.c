/* range.c: the randomized range finder behind the NNDSVD initialisations.
 *
 * Halko, Martinsson & Tropp (2011), "Finding structure with randomness",
 * SIAM Review 53(2), Algorithm 4.4 (randomized subspace iteration):
 *     Q = orth(X Omega);  repeat: Z = orth(X' Q), Q = orth(X Z);
 *     B = Q' X  (k x n)
 * R/init.R takes the SVD of the small B.  Everything runs in one .Call on
 * buffers allocated once, so the m x k and n x k intermediates do not pile up
 * as garbage in R's heap (which, for a large sparse matrix, made the
 * initialisation the memory peak of a whole fit).  orth() is Householder QR
 * (LAPACK dgeqrf + dorgqr): Q has orthonormal columns spanning the columns
 * of its argument, whatever that argument's rank.  Products with X use the
 * package's kernels (dense) or one pass over the non-zeros (sparse, never
 * transposed or densified); every product is divided by xscale, the power of
 * two between the user's units and the internal ones (exact).
 */
#include "betanmf.h"
#include <R_ext/Lapack.h>

typedef struct {
    int m, n;
    const double *dense;          /* m x n, or NULL */
    const int *p, *i;             /* CSC, when dense is NULL */
    const double *x;
} range_data;

/* out (k x n) = t(X' Q) for Q (m x k) given as qt = t(Q) (k x m), or
 * out (k x m) = t(X Z) for Z (n x k) given as zt (k x n) */
static void thin(const range_data *X, const double *ft, int k, int trans, double *out)
{
    int m = X->m, n = X->n;
    if (X->dense) {
        if (trans) kernel_gx(ft, k, X->dense, m, n, out, 1);   /* t(Q) X */
        else kernel_gxt(ft, k, X->dense, n, m, out, 1);        /* t(Z) t(X) */
        return;
    }
    size_t len = (size_t) k * (trans ? n : m);
    for (size_t t = 0; t < len; t++) out[t] = 0.0;
    for (int j = 0; j < n; j++)
        for (int t = X->p[j]; t < X->p[j + 1]; t++) {
            double v = X->x[t];
            if (trans) {
                const double *g = ft + (size_t) X->i[t] * k;
                double *a = out + (size_t) j * k;
                for (int c = 0; c < k; c++) a[c] += v * g[c];
            } else {
                const double *g = ft + (size_t) j * k;
                double *a = out + (size_t) X->i[t] * k;
                for (int c = 0; c < k; c++) a[c] += v * g[c];
            }
        }
}

/* A (rows x k, column-major) = t(At) / xscale, then A <- orth(A), and
 * At <- t(A) again (the layout the products take) */
static void orth(double *At, double *A, int rows, int k, double xscale,
                 double *tau, double *work, int lwork)
{
    for (int c = 0; c < k; c++)
        for (int r = 0; r < rows; r++) A[r + (size_t) c * rows] = At[c + (size_t) r * k] / xscale;
    int info = 0;
    F77_CALL(dgeqrf)(&rows, &k, A, &rows, tau, work, &lwork, &info);
    if (info != 0) error("internal error: dgeqrf info %d", info);
    F77_CALL(dorgqr)(&rows, &k, &k, A, &rows, tau, work, &lwork, &info);
    if (info != 0) error("internal error: dorgqr info %d", info);
    for (int c = 0; c < k; c++)
        for (int r = 0; r < rows; r++) At[c + (size_t) r * k] = A[r + (size_t) c * rows];
}

SEXP C_range_finder(SEXP x, SEXP sp, SEXP dims, SEXP omega, SEXP sxscale, SEXP siters)
{
    scratch_end();
    range_data X;
    X.m = INTEGER(dims)[0]; X.n = INTEGER(dims)[1];
    X.dense = NULL; X.p = X.i = NULL; X.x = NULL;
    if (!isNull(sp)) {
        X.i = INTEGER(VECTOR_ELT(sp, 0));
        X.p = INTEGER(VECTOR_ELT(sp, 1));
        X.x = REAL(VECTOR_ELT(sp, 2));
        if (XLENGTH(VECTOR_ELT(sp, 1)) != (R_xlen_t) X.n + 1) error("internal error: range_finder pointers");
    } else {
        if (!isReal(x) || XLENGTH(x) != (R_xlen_t) X.m * X.n) error("internal error: range_finder data");
        X.dense = REAL(x);
    }
    int m = X.m, n = X.n, k = ncols(omega), iters = asInteger(siters);
    double xscale = asReal(sxscale);
    if (!isReal(omega) || nrows(omega) != n || k < 1 || k > m || k > n || (X.dense && k > 32))
        error("internal error: range_finder sketch size");
    int big = m > n ? m : n;
    double *ft = (double *) R_alloc((size_t) k * big, sizeof(double));  /* a thin factor, transposed */
    double *pt = (double *) R_alloc((size_t) k * big, sizeof(double));  /* its product with X */
    double *A = (double *) R_alloc((size_t) k * big, sizeof(double));
    double *tau = (double *) R_alloc((size_t) k, sizeof(double));
    int lwork = -1, info = 0;
    double wq = 0.0;
    F77_CALL(dgeqrf)(&big, &k, A, &big, tau, &wq, &lwork, &info);
    lwork = (int) wq;
    F77_CALL(dorgqr)(&big, &k, &k, A, &big, tau, &wq, &(int){-1}, &info);
    if ((int) wq > lwork) lwork = (int) wq;
    if (lwork < k) lwork = k;
    double *work = (double *) R_alloc((size_t) lwork, sizeof(double));

    const double *om = REAL(omega);
    for (int c = 0; c < k; c++)
        for (int j = 0; j < n; j++) ft[c + (size_t) j * k] = om[j + (size_t) c * n];
    thin(&X, ft, k, 0, pt);                        /* t(X Omega), k x m */
    orth(pt, A, m, k, xscale, tau, work, lwork);   /* pt = t(Q) */
    for (int it = 0; it < iters; it++) {
        R_CheckUserInterrupt();
        thin(&X, pt, k, 1, ft);                    /* t(X' Q), k x n */
        orth(ft, A, n, k, xscale, tau, work, lwork);
        thin(&X, ft, k, 0, pt);                    /* t(X Z), k x m */
        orth(pt, A, m, k, xscale, tau, work, lwork);
    }
    SEXP q = PROTECT(allocMatrix(REALSXP, m, k));
    SEXP b = PROTECT(allocMatrix(REALSXP, k, n));
    double *qp = REAL(q), *bp = REAL(b);
    for (int c = 0; c < k; c++)
        for (int r = 0; r < m; r++) qp[r + (size_t) c * m] = pt[c + (size_t) r * k];
    thin(&X, pt, k, 1, bp);                        /* t(X' Q) = Q' X, k x n */
    for (size_t t = 0; t < (size_t) k * n; t++) bp[t] /= xscale;
    SEXP out = PROTECT(allocVector(VECSXP, 2));
    SET_VECTOR_ELT(out, 0, q);
    SET_VECTOR_ELT(out, 1, b);
    UNPROTECT(3);
    return out;
}
