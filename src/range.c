/* range.c: the randomized range finder behind the NNDSVD initialisations.
 *
 * Halko, Martinsson & Tropp (2011), "Finding structure with randomness",
 * SIAM Review 53(2), Algorithm 4.4 (randomized subspace iteration):
 *     Q = orth(X Omega);  repeat: Z = orth(X' Q), Q = orth(X Z);
 *     B = Q' X  (k x n)
 * R/init.R takes the SVD of the small B.  Everything runs in one .Call on
 * buffers allocated once, so the m x k and n x k intermediates do not pile up
 * as garbage in R's heap (which, for a large sparse matrix, made the
 * initialisation the memory peak of a whole fit).  orth() is CholeskyQR2,
 * or Householder QR (LAPACK dgeqrf + dorgqr) when the sketch is too
 * ill-conditioned for it: Q has orthonormal columns spanning the columns of
 * its argument, whatever that argument's rank.  Products with X are the
 * kernels of the solvers (kernels_*.c: a gather over sparse columns, a
 * scatter for the transposed side; sparse data are never transposed or
 * densified), chosen so that dense and sparse data give the same bits.
 * Only B depends on the units: it is divided by xscale, the power of two
 * between the user's units and the internal ones (exact).
 */
#include "betanmf.h"
#include <R_ext/Lapack.h>
#include <math.h>
#include <string.h>

/* the data in both orientations: dense (the W-side product reads it
 * transposed in place) or the user's CSC arrays (the W side scatters) */
static void range_data(SEXP x, SEXP sp, SEXP dims, int k, nmf_data *X, nmf_data *Xt, int block_doubles)
{
    if (TYPEOF(dims) != INTSXP || XLENGTH(dims) != 2) error("internal error: range data dims");
    data_read(x, sp, INTEGER(dims)[0], INTEGER(dims)[1], X);
    nmf_switches sw;
    read_switches(&sw);
    X->blas = sw.blas;
    data_transpose_sized(X, Xt, 0, k, block_doubles);
}

/* one product of thin(), kc <= 32 columns, through the kernels: dense and
 * sparse data add the same terms in the same order into each output (a
 * zero entry of dense data adds an exact zero), so the two storages give
 * the same bits and nmf() the same start for either (kl_cd.c: a fit can
 * turn on the last bit of its start).  H side (trans): each output column
 * sums over the rows in order (gx, sparse gx); W side: each output column
 * sums over the data's columns in order -- for dense data through the
 * register tile that keeps those sums in registers (hxt), for sparse data
 * by the scatter over the user's CSC arrays. */
static void thin_chunk(const nmf_data *X, const nmf_data *Xt, const double *ft, int kc, int trans,
                       double *out)
{
    int m = X->nrow, n = X->ncol;
    if (trans) {
        if (X->p) kernel_sparse_gx(ft, kc, X, out, 1);
        else kernel_gx(ft, kc, X->dense, m, n, out, 1);
        return;
    }
    if (X->p) {
        kernel_sparse_scatter(ft, kc, Xt, NULL, out, 0, 1);
        return;
    }
    int nv = (kc + 3) / 4, rp = 4 * nv;
    double *Hp = kernel_pad(ft, kc, rp, (size_t) n);
    double *Bp = (double *) scratch_alloc((size_t) rp * m + 1, sizeof(double));
    memset(Bp, 0, ((size_t) rp * m + 1) * sizeof(double));
    kernel_gxt_acc(Hp, nv, X->dense, (size_t) m, n, 0, (size_t) m, Bp, NULL, 0);
    for (size_t i = 0; i < (size_t) m; i++) memcpy(out + i * kc, Bp + i * rp, (size_t) kc * sizeof(double));
}

/* out (k x n) = t(X' Q) for Q (m x k) given as qt = t(Q) (k x m)
 * (trans), or out (k x m) = t(X Z) for Z (n x k) given as zt (k x n), in
 * blocks of at most 32 columns of the thin factor (the kernels' widest;
 * each output entry is the same sum whatever the blocking) */
#define THIN_COLS 32
static void thin(const nmf_data *X, const nmf_data *Xt, const double *ft, int k, int trans, double *out)
{
    size_t lin = (size_t) (trans ? X->nrow : X->ncol), lout = (size_t) (trans ? X->ncol : X->nrow);
    for (int c0 = 0; c0 < k; c0 += THIN_COLS) {
        scratch_reset(); /* the kernels' scratch of the previous product is dead */
        int kc = k - c0 < THIN_COLS ? k - c0 : THIN_COLS;
        if (kc == k) {
            thin_chunk(X, Xt, ft, k, trans, out);
            return;
        }
        double *fc = (double *) scratch_alloc((size_t) kc * lin + 1, sizeof(double));
        double *oc = (double *) scratch_alloc((size_t) kc * lout + 1, sizeof(double));
        for (size_t i = 0; i < lin; i++)
            memcpy(fc + i * kc, ft + i * k + c0, (size_t) kc * sizeof(double));
        thin_chunk(X, Xt, fc, kc, trans, oc);
        for (size_t i = 0; i < lout; i++)
            memcpy(out + i * k + c0, oc + i * kc, (size_t) kc * sizeof(double));
    }
}

/* .Call entry (R/init.R, thin_product; R/blocks.R): t(x) %*% q (trans =
 * TRUE) or x %*% q for a thin q, x dense (x) or sparse (sp = list(p, i,
 * x)), through thin(); returns the product transposed (k x n or k x m).
 * q_t = TRUE: q is given transposed (k x rows), as the block path keeps
 * its n x k factors, and is read in place (the same values, the same
 * bits). */
SEXP C_thin_product(SEXP x, SEXP sp, SEXP dims, SEXP q, SEXP trans, SEXP q_t)
{
    scratch_end();
    nmf_data X, Xt;
    int given_t = asLogical(q_t);
    int k = given_t ? nrows(q) : ncols(q), tr = asLogical(trans);
    range_data(x, sp, dims, k, &X, &Xt, 8192);
    if (!isReal(q) || (given_t ? ncols(q) : nrows(q)) != (tr ? X.nrow : X.ncol))
        error("internal error: thin_product arguments");
    size_t qr = (size_t) (given_t ? ncols(q) : nrows(q));
    const double *qp = REAL(q);
    const double *qt = qp;
    if (!given_t) {
        double *t = (double *) R_alloc((size_t) k * qr + 1, sizeof(double));
        for (size_t i = 0; i < qr; i++)
            for (int c = 0; c < k; c++) t[c + i * k] = qp[i + (size_t) c * qr];
        qt = t;
    }
    SEXP out = PROTECT(allocMatrix(REALSXP, k, tr ? X.ncol : X.nrow));
    thin(&X, &Xt, qt, k, tr, REAL(out));
    UNPROTECT(1);
    return out;
}

/* Cholesky QR, twice (Fukaya, Nakatsukasa, Yanagisawa & Yamamoto 2014,
 * "CholeskyQR2: a simple and communication-avoiding algorithm for computing
 * a tall-skinny QR factorization"): Y'Y = R'R, Q = Y R^-1, repeated once to
 * restore orthogonality.  Works on At = t(Y) (k x rows), through the Gram
 * kernel, the first pass writing t(Q1) to B and the second t(Q) back to At:
 * much cheaper than Householder QR on R's reference LAPACK (level-2 BLAS),
 * which dominated the initialisation of small fits.  The second pass's Gram
 * Q1'Q1 is also the check: within 0.5 / k of I entrywise (so within 0.5 in
 * the 2-norm), Q1 has condition number at most sqrt(3), and one more
 * Cholesky QR leaves Q orthonormal to rounding (Yamamoto, Nakatsukasa,
 * Yanagisawa & Fukaya 2015, "Roundoff error analysis of the CholeskyQR2
 * algorithm") -- no third Gram matrix to verify it.  Returns 0 when Y is
 * too ill-conditioned for that (Cholesky fails, or Q1 is that far from
 * orthonormal); At is then untouched (only the second pass writes it), and
 * the caller falls back to Householder on it.  S: k x k for R, G: k x k for R^-T, B: k x rows. */
static int orth_cholqr2(double *At, int rows, int k, double *S, double *G, double *B, int blas)
{
    for (int pass = 0; pass < 2; pass++) {
        double *in = pass ? B : At, *out = pass ? At : B;
        /* the kernels' scratch of the previous product is dead (in and out
         * are R_alloc'd): each pass reuses the first chunk, not a fresh one */
        scratch_reset();
        gram(in, k, rows, S, blas);
        scratch_reset(); /* the Gram's padded copy is dead: the product takes its place */
        if (pass == 1)
            for (int a = 0; a < k; a++)
                for (int c = 0; c < k; c++)
                    if (!(fabs(S[a + (size_t) c * k] - (a == c ? 1.0 : 0.0)) <= 0.5 / k)) return 0;
        int info = 0;
        F77_CALL(dpotrf)("U", &k, S, &k, &info FCONE);
        if (info == 0) F77_CALL(dtrtri)("U", "N", &k, S, &k, &info FCONE FCONE);
        if (info != 0) return 0;
        /* t(Q) = R^-T t(Y): one small product through the kernels */
        for (int a = 0; a < k; a++)
            for (int c = 0; c < k; c++) G[a + (size_t) c * k] = (c <= a) ? S[c + (size_t) a * k] : 0.0;
        if (kernels_available(k)) kernel_gx(G, k, in, k, rows, out, 1);
        else {
            const double one = 1.0, zero = 0.0;
            F77_CALL(dgemm)("N", "N", &k, &rows, &k, &one, G, &k, in, &k, &zero, out, &k FCONE FCONE);
        }
    }
    return 1;
}

static void householder(double *At, double *A, int rows, int k, double *tau, double *work, int lwork);

/* At (k x rows) <- t(orth(t(At))): CholeskyQR2, or Householder QR (LAPACK
 * dgeqrf + dorgqr on A = t(At)) when that fails */
static void orth(double *At, double *A, int rows, int k, double *S,
                 double *tau, double *work, int lwork, int blas)
{
    if (orth_cholqr2(At, rows, k, S, S + (size_t) k * k, A, blas)) return;
    householder(At, A, rows, k, tau, work, lwork);
}

/* At (k x rows) <- t(Q) of the Householder QR of t(At), A (rows x k) its work */
static void householder(double *At, double *A, int rows, int k, double *tau, double *work, int lwork)
{
    for (int c = 0; c < k; c++)
        for (int r = 0; r < rows; r++) A[r + (size_t) c * rows] = At[c + (size_t) r * k];
    int info = 0;
    F77_CALL(dgeqrf)(&rows, &k, A, &rows, tau, work, &lwork, &info);
    if (info != 0) error("internal error: dgeqrf info %d", info);
    F77_CALL(dorgqr)(&rows, &k, &k, A, &rows, tau, work, &lwork, &info);
    if (info != 0) error("internal error: dorgqr info %d", info);
    for (int c = 0; c < k; c++)
        for (int r = 0; r < rows; r++) At[c + (size_t) r * k] = A[r + (size_t) c * rows];
}

/* t(Omega) (k x n) for Omega = matrix(stats::rnorm(n * k), n, k): rnorm(0,
 * 1) is 0 + 1 * norm_rand(), drawn in Omega's column-major order under
 * GetRNGstate, so the same values and the same RNG state after */
static void draw_t(double *ft, int n, int k)
{
    GetRNGstate();
    for (int c = 0; c < k; c++)
        for (int j = 0; j < n; j++) ft[c + (size_t) j * k] = 0.0 + 1.0 * norm_rand();
    PutRNGstate();
}

/* the SVD of B (k x n, k <= n, overwritten) by dgesdd as La.svd(B, nu, nv)
 * calls it for nu, nv <= k (jobz "S", ldu = ldvt = k, the workspace from
 * the same query): the same bits.  d: k values, u: k x k, vt: k x n. */
static void svd_s(double *B, int k, int n, double *d, double *u, double *vt)
{
    /* La.svd() stops on a non-finite entry; B has none unless the
     * products overflowed */
    for (size_t t = 0; t < (size_t) k * n; t++)
        if (!R_FINITE(B[t])) error("the NNDSVD start's sketch of the data is not finite");
    int ldu = k, ldvt = k, lwork = -1, info = 0, *iwork = (int *) R_alloc((size_t) 8 * k, sizeof(int));
    double tmp = 0.0;
    F77_CALL(dgesdd)("S", &k, &n, B, &k, d, u, &ldu, vt, &ldvt, &tmp, &lwork, iwork, &info FCONE);
    if (info != 0) error("error code %d from Lapack routine '%s'", info, "dgesdd");
    lwork = (int) tmp;
    double *work = (double *) R_alloc((size_t) lwork, sizeof(double));
    F77_CALL(dgesdd)("S", &k, &n, B, &k, d, u, &ldu, vt, &ldvt, work, &lwork, iwork, &info FCONE);
    if (info != 0) error("error code %d from Lapack routine '%s'", info, "dgesdd");
}

/* .Call entry (R/init.R, truncated_svd): the range finder on x (dense) or
 * sp (sparse), then, when rank > 0, the SVD of B in place.
 *   omega: the draws, an n x k double matrix; or the sketch's width k
 *     (integer), and the draws are made here, straight into t(Omega): the
 *     values of stats::rnorm(n * k) (rnorm(0, 1) is 0 + 1 * norm_rand(),
 *     under GetRNGstate, in the same order), so the same bits and the same
 *     RNG state after, without an n x k matrix of them in R's heap.
 *   rank = 0: returns list(q = Q (m x k), b = B (k x n)).
 *   rank > 0: B's SVD by LAPACK's dgesdd as La.svd(B, nu = rank, nv =
 *     rank) calls it (jobz "S", the same leading dimensions, the workspace
 *     from the same query; so the same bits), with B made in the buffer of
 *     t(Z), which dgesdd overwrites, and V' written to the vector that was
 *     orth()'s work; returns list(q = Q, d = the k singular values, u = U
 *     (k x k), vt = V' (k x n)).  The start's n x k memory is then two
 *     such matrices (t(Omega) / t(Z) / B, and orth()'s work / V') and the
 *     padded copy the kernels take, where R's rnorm and La.svd added
 *     the draws, La.svd's copy of B, its V' and the transposed V. */
SEXP C_range_finder(SEXP x, SEXP sp, SEXP dims, SEXP omega, SEXP sxscale, SEXP siters, SEXP srank)
{
    scratch_end();
    nmf_data X, Xt;
    int draw = !isReal(omega);
    int k = draw ? asInteger(omega) : ncols(omega);
    if (k == NA_INTEGER || k < 1) error("internal error: range_finder sketch size");
    /* the scatter's output blocks four times the fits' (a table a quarter
     * of theirs: at 1e6 columns it would otherwise be the size of two n x
     * k matrices); the bits are the same (data_transpose_sized) */
    range_data(x, sp, dims, k, &X, &Xt, 32768);
    /* every product's scratch from the same chunks (scratch.c), not a fresh
     * m x k of garbage each time */
    SEXP ws = PROTECT(allocVector(VECSXP, 16));
    scratch_begin(ws);
    int m = X.nrow, n = X.ncol, iters = asInteger(siters), rank = asInteger(srank);
    double xscale = asReal(sxscale);
    if ((!draw && nrows(omega) != n) || k > m || k > n || rank == NA_INTEGER || rank < 0 || rank > k)
        error("internal error: range_finder sketch size");
    int big = m > n ? m : n;
    if (!X.p) {
        /* dense data: the most scratch asked for between two resets is an
         * orthonormalisation's (the Gram matrix's padded copy and the
         * product, 2 rp x max(m, n)) or a product's (a padded factor and
         * the padded output), plus the column slices when k > 32; in one
         * chunk, not a second 1 MiB one for the last request (sparse data:
         * the kernels' own smaller demands, chunk by chunk) */
        size_t kc = k < THIN_COLS ? (size_t) k : THIN_COLS, rp = 4 * ((kc + 3) / 4);
        size_t need = 2 * rp * (size_t) big + rp * (size_t) k + 64;
        if ((size_t) k > kc) need += 2 * kc * (size_t) big;
        scratch_reserve(need);
    }
    /* the results, allocated first: until they are written, the larger of
     * the two (k x max(m, n)) is orth()'s work, either side */
    SEXP q = PROTECT(allocMatrix(REALSXP, m, k));
    SEXP b = PROTECT(allocMatrix(REALSXP, k, n));
    double *qp = REAL(q), *bp = REAL(b);
    double *ft = (double *) R_alloc((size_t) k * n, sizeof(double));    /* t(Omega), then t(Z): k x n */
    double *pt = (double *) R_alloc((size_t) k * m, sizeof(double));    /* t(X Omega), t(X Z), t(Q): k x m */
    double *A = m >= n ? qp : bp;
    double *tau = (double *) R_alloc((size_t) k, sizeof(double));
    double *S = (double *) R_alloc((size_t) 2 * k * k, sizeof(double)); /* R, and R^-T */
    int lwork = -1, info = 0;
    double wq = 0.0;
    F77_CALL(dgeqrf)(&big, &k, A, &big, tau, &wq, &lwork, &info);
    lwork = (int) wq;
    F77_CALL(dorgqr)(&big, &k, &k, A, &big, tau, &wq, &(int){-1}, &info);
    if ((int) wq > lwork) lwork = (int) wq;
    if (lwork < k) lwork = k;
    double *work = (double *) R_alloc((size_t) lwork, sizeof(double));

    if (draw) {
        draw_t(ft, n, k);
    } else {
        const double *om = REAL(omega);
        for (int c = 0; c < k; c++)
            for (int j = 0; j < n; j++) ft[c + (size_t) j * k] = om[j + (size_t) c * n];
    }
    thin(&X, &Xt, ft, k, 0, pt);                        /* t(X Omega), k x m */
    orth(pt, A, m, k, S, tau, work, lwork, X.blas);   /* pt = t(Q) */
    for (int it = 0; it < iters; it++) {
        R_CheckUserInterrupt();
        thin(&X, &Xt, pt, k, 1, ft);                    /* t(X' Q), k x n */
        orth(ft, A, n, k, S, tau, work, lwork, X.blas);
        thin(&X, &Xt, ft, k, 0, pt);                    /* t(X Z), k x m */
        orth(pt, A, m, k, S, tau, work, lwork, X.blas);
    }
    /* orth()'s work is dead: the results may take their places */
    for (int c = 0; c < k; c++)
        for (int r = 0; r < m; r++) qp[r + (size_t) c * m] = pt[c + (size_t) r * k];
    /* t(X' Q) = Q' X, k x n: into b, or into t(Z)'s buffer for the SVD */
    double *B = rank > 0 ? ft : bp;
    thin(&X, &Xt, pt, k, 1, B);
    for (size_t t = 0; t < (size_t) k * n; t++) B[t] /= xscale;
    scratch_end();
    int nout = rank > 0 ? 4 : 2;
    SEXP out = PROTECT(allocVector(VECSXP, nout));
    SEXP names = PROTECT(allocVector(STRSXP, nout));
    SET_VECTOR_ELT(out, 0, q); SET_STRING_ELT(names, 0, mkChar("q"));
    if (rank > 0) {
        SEXP d = PROTECT(allocVector(REALSXP, k));
        SEXP u = PROTECT(allocMatrix(REALSXP, k, k));
        svd_s(B, k, n, REAL(d), REAL(u), bp);
        SET_VECTOR_ELT(out, 1, d); SET_STRING_ELT(names, 1, mkChar("d"));
        SET_VECTOR_ELT(out, 2, u); SET_STRING_ELT(names, 2, mkChar("u"));
        SET_VECTOR_ELT(out, 3, b); SET_STRING_ELT(names, 3, mkChar("vt"));
        UNPROTECT(2);
    } else {
        SET_VECTOR_ELT(out, 1, b); SET_STRING_ELT(names, 1, mkChar("b"));
    }
    setAttrib(out, R_NamesSymbol, names);
    UNPROTECT(5);
    return out;
}

/* .Call entries of the range finder of data read in blocks (R/blocks.R):
 * the products with the data are made block by block in R (thin_product
 * on each block, summed in block order); these keep the draws, the
 * orthonormalisation and the SVD those of C_range_finder, on the block
 * path's k x n matrices without copies of them.
 *
 * C_orth: t(orth(y)) for y (rows x k) given transposed, yt (k x rows),
 * written over yt (the caller's own matrix, used by nothing else), with
 * one k x rows work buffer (CholeskyQR2's first pass, or Householder's). */
SEXP C_orth(SEXP yt)
{
    scratch_end(); /* the products of orth() take R_alloc memory */
    if (!isReal(yt) || !isMatrix(yt)) error("internal error: orth needs a double matrix");
    int k = nrows(yt), rows = ncols(yt);
    if (k < 1 || k > rows) error("internal error: orth sketch size");
    int nprotect = 0;
    /* a matrix bound anywhere else is never written to: a copy then */
    if (MAYBE_SHARED(yt)) { yt = PROTECT(duplicate(yt)); nprotect++; }
    nmf_switches sw;
    read_switches(&sw);
    /* the kernels' scratch in one chunk, reused by each pass (the padded
     * copy for the Gram matrix, then the padded product), not a fresh
     * rows-sized chunk per request */
    SEXP ws = PROTECT(allocVector(VECSXP, 4)); nprotect++;
    scratch_begin(ws);
    size_t rp = 4 * (((size_t) k + 3) / 4);
    scratch_reserve(rp * (size_t) rows + rp * (size_t) k + 64);
    double *A = (double *) R_alloc((size_t) k * rows, sizeof(double));
    double *tau = (double *) R_alloc((size_t) k, sizeof(double));
    double *S = (double *) R_alloc((size_t) 2 * k * k, sizeof(double));
    int lwork = -1, info = 0;
    double wq = 0.0;
    F77_CALL(dgeqrf)(&rows, &k, A, &rows, tau, &wq, &lwork, &info);
    lwork = (int) wq;
    F77_CALL(dorgqr)(&rows, &k, &k, A, &rows, tau, &wq, &(int){-1}, &info);
    if ((int) wq > lwork) lwork = (int) wq;
    if (lwork < k) lwork = k;
    double *work = (double *) R_alloc((size_t) lwork, sizeof(double));
    orth(REAL(yt), A, rows, k, S, tau, work, lwork, sw.blas);
    scratch_end();
    UNPROTECT(nprotect);
    return yt;
}

/* C_draw_t: t(Omega), k x n, for Omega = matrix(stats::rnorm(n * k), n, k) */
SEXP C_draw_t(SEXP sn, SEXP sk)
{
    int n = asInteger(sn), k = asInteger(sk);
    if (n == NA_INTEGER || k == NA_INTEGER || n < 1 || k < 1) error("internal error: draw_t sizes");
    SEXP ft = PROTECT(allocMatrix(REALSXP, k, n));
    draw_t(REAL(ft), n, k);
    UNPROTECT(1);
    return ft;
}

/* C_svd_s: La.svd(b, nu = rank, nv = rank)'s d, u (k x k) and vt (k x n)
 * for b (k x n, k <= n), its SVD taken in b (overwritten: the caller's
 * own matrix) and V' written to vt (a k x n matrix of the caller's that
 * is dead, reused rather than a fresh one) */
SEXP C_svd_s(SEXP b, SEXP vt)
{
    if (!isReal(b) || !isMatrix(b) || !isReal(vt) || !isMatrix(vt) || nrows(vt) != nrows(b) ||
        ncols(vt) != ncols(b) || nrows(b) > ncols(b) || b == vt)
        error("internal error: svd_s arguments");
    int k = nrows(b), n = ncols(b), nprotect = 0;
    /* matrices bound anywhere else are never written to: copies then */
    if (MAYBE_SHARED(b)) { b = PROTECT(duplicate(b)); nprotect++; }
    if (MAYBE_SHARED(vt)) { vt = PROTECT(duplicate(vt)); nprotect++; }
    SEXP d = PROTECT(allocVector(REALSXP, k));
    SEXP u = PROTECT(allocMatrix(REALSXP, k, k));
    svd_s(REAL(b), k, n, REAL(d), REAL(u), REAL(vt));
    SEXP out = PROTECT(allocVector(VECSXP, 3));
    SEXP names = PROTECT(allocVector(STRSXP, 3));
    SET_VECTOR_ELT(out, 0, d); SET_STRING_ELT(names, 0, mkChar("d"));
    SET_VECTOR_ELT(out, 1, u); SET_STRING_ELT(names, 1, mkChar("u"));
    SET_VECTOR_ELT(out, 2, vt); SET_STRING_ELT(names, 2, mkChar("vt"));
    setAttrib(out, R_NamesSymbol, names);
    UNPROTECT(4 + nprotect);
    return out;
}
