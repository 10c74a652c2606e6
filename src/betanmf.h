/* betanmf internal header: the kernels shared between the C files.
 *
 * Layout convention used by every kernel: both factors are stored as r x k
 * column-major arrays, H (r x n) and Wt = t(W) (r x m).  Updating H given Wt
 * and X is then the same operation as updating Wt given H and t(X): one
 * "half update" kernel serves both factors, and every column of the factor
 * being updated depends only on its own column of the data, so columns can be
 * processed in any order (or in parallel) with bit-identical results.
 */
#ifndef BETANMF_H
#define BETANMF_H

#define USE_FC_LEN_T
#include <R.h>
#include <Rinternals.h>
#include <R_ext/BLAS.h>
#include <stddef.h>
#include <math.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef FCONE
#define FCONE
#endif

/* One orientation of the data: an nrow x ncol matrix whose columns are the
 * columns of the factor being updated.  Exactly one of `dense` and `x` is
 * used.  `dense_trans` says that `dense` holds the *transpose* (ncol x nrow,
 * column-major); only the BLAS product path can read it that way.
 * Held-out entries (the mask) travel as a CSC pattern (hp, hi) whose column j
 * lists the held-out rows of column j; their data values have already been
 * set to zero by the caller, so only the model side (W H) needs correcting. */
typedef struct {
    int nrow, ncol;
    const double *dense;
    int dense_trans;
    const int *p, *i;    /* CSC column pointers and row indices, or NULL */
    const double *x;     /* CSC values */
    double xs;           /* sparse values are x[t] * xs (an exact power of two) */
    /* sparse_trans: p, i, x are the CSC arrays of the *transpose* of this
     * orientation (the user's matrix, ncol x nrow): the W half of a sparse
     * fit reads the data by scattering along its columns instead of keeping
     * a transposed copy.  bstart[b * nrow + j] is the first entry of stored
     * column j whose row is >= b * bsize (nblk blocks of bsize rows). */
    int sparse_trans, bsize, nblk;
    const int *bstart;
    const int *hp, *hi;  /* held-out CSC pattern, or NULL */
    const int *npos;     /* dense: the positive entries of each column, or NULL */
    int blas;            /* dense products and Gram matrices through R's BLAS
                          * (BETANMF_BLAS, read once by the .Call entry) */
} nmf_data;

/* The environment switches, for comparisons and tests: read once per .Call
 * (read_switches) and passed down, never looked up inside an update. */
typedef struct {
    int blas;    /* BETANMF_BLAS=1: R's BLAS for every dense product */
    int nofuse;  /* BETANMF_NOFUSE=1: no fused pass (HALS, MU) */
    int fuse;    /* BETANMF_FUSE=1: HALS's one-pass update at any size */
    int minvol_nested; /* BETANMF_MINVOL_NESTED=1: min-volume multipliers by
                        * the nested search only (mu.c) */
} nmf_switches;

/* What a solver needs of the data, from its plan function; the driver
 * (nmf.c) lays the data out accordingly and hands the plan back to the
 * solver's half updates. */
typedef struct {
    int copy;    /* the W half walks a dense transposed copy of X */
    int parts;   /* HALS: partial sums of the one-pass update (0: two passes) */
    int fused;   /* MU: the fused update of small ranks (mu.c) */
    int npos;    /* CD: the positive entries of each dense column, counted */
} nmf_plan;

/* the t-th stored value of sparse data, in the solver's units */
#define XVAL(X, t) ((X)->x[t] * (X)->xs)

/* solver codes shared with R/nmf.R */
#define SOLVER_HALS 1
#define SOLVER_MU   2
#define SOLVER_CD   3 /* beta = 1 by coordinate descent (kl_cd.c) */

/* floors, after the data have been scaled to mean 1 (see R/nmf.R):
 * model values below EPS_Y are treated as EPS_Y inside the MU ratios so that
 * y^(beta - 2) stays finite; MU denominators are floored at EPS_DEN. */
#define EPS_Y   1e-50
#define EPS_DEN 1e-300

/* the calling thread's number inside a parallel region (0 without OpenMP) */
static inline int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* The range [0, n) in nthr = max(threads, 1) contiguous parts, part t on
 * thread t: fn(ctx, t, i0, i1) for each.  Every part is a fixed range, so a
 * result computed range by range does not depend on which thread ran it.
 * Returns the sum of what the calls return (an integer sum: the same for
 * any number of threads). */
typedef long (*range_fn)(const void *ctx, int t, int i0, int i1);
static inline long parallel_ranges(int n, int threads, range_fn fn, const void *ctx)
{
    int nthr = threads > 0 ? threads : 1;
    long sum = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static) reduction(+ : sum)
#endif
    for (int t = 0; t < nthr; t++)
        sum += fn(ctx, t, (int) ((long long) n * t / nthr), (int) ((long long) n * (t + 1) / nthr));
    return sum;
}

/* y^e for the exponents the updates need (e = beta - 2): integer and
 * half-integer e (beta = 0.5, 1.5, 3, ...) by multiplication and one sqrt,
 * several times faster than pow(); anything else by pow(). */
static inline int half_integer(double e)
{
    double e2 = 2.0 * e;
    return e2 >= -16.0 && e2 <= 16.0 && e2 == (double) (int) e2;
}
static inline double pow_beta(double y, double e)
{
    double e2 = 2.0 * e;
    if (half_integer(e)) {
        int n = (int) e2, neg = n < 0, half = n & 1;
        if (neg) n = -n;
        double b = half ? sqrt(y) : y, acc = 1.0;
        if (!half) n /= 2;
        for (; n; n >>= 1, b *= b)
            if (n & 1) acc *= b;
        return neg ? 1.0 / acc : acc;
    }
    return pow(y, e);
}

/* the exponent gamma(beta) of Fevotte & Idier (2011) that makes the
 * multiplicative update non-increasing: 1/(2-beta) for beta < 1, 1 for
 * 1 <= beta <= 2, 1/(beta-1) for beta > 2 (mu.c) */
static inline double mu_gamma(double beta)
{
    if (beta < 1.0) return 1.0 / (2.0 - beta);
    if (beta > 2.0) return 1.0 / (beta - 1.0);
    return 1.0;
}

/* the multiplicative factor ratio^gamma: gamma is 1 for 1 <= beta <= 2 and
 * 1/2 for beta = 0 (Itakura-Saito), where sqrt() costs a fraction of pow()
 * (one pow per coefficient was a third of an IS iteration on 96 x 1000) */
static inline double mu_step(double ratio, double gam)
{
    if (gam == 1.0) return ratio;
    if (gam == 0.5) return sqrt(ratio);
    return pow(ratio, gam);
}

/* scratch.c: per-fit scratch memory (R_alloc outside a fit) */
void scratch_begin(SEXP list);
void scratch_end(void);
void scratch_reset(void);
void scratch_reserve(size_t n);
char *scratch_alloc(size_t n, int size);

/* data.c: what the .Call entries hand to the C core */
SEXP list_elt(SEXP list, const char *name, int required);
void read_switches(nmf_switches *sw);
void data_read(SEXP dense, SEXP sparse, int m, int n, nmf_data *X);
void data_read_held_out(SEXP hold, nmf_data *X);
void data_init(nmf_data *d, int nrow, int ncol);
void data_transpose(const nmf_data *in, nmf_data *out, int need_cols, int r);
void data_transpose_sized(const nmf_data *in, nmf_data *out, int need_cols, int r, int block_doubles);
void data_count_positive(nmf_data *d);

/* product.c: A (r x ncol) = G (r x nrow) %*% X (nrow x ncol) */
void product_gx(const nmf_data *X, const double *G, int r, double *A, int threads);
void scatter_sparse(const double *H, int r, const nmf_data *Xt, const double *F, double *A,
                    int mode, double beta, int threads);
/* Gram matrix S = F F' of an r x k factor (full symmetric r x r); blas:
 * through dsyrk (BETANMF_BLAS) */
void gram(const double *F, int r, int k, double *S, int blas);

/* kernels_dense.c: register-blocked products with dense data, r <= 32 */
int kernels_available(int r);
void kernel_gx(const double *G, int r, const double *X, int nrow, int ncol, double *A, int threads);
void kernel_gxt(const double *H, int r, const double *D, int nrow, int ncol, double *A, int threads);
double *kernel_pad(const double *F, int r, int rp, size_t k);
void kernel_unpad(const double *P, int rp, double *A, int r, size_t k);
const double *kernel_pack_gx(const double *G, int r, size_t k);
void kernel_gx_cols(const double *Gp, int nv, const double *X, size_t nrow, int j0, int j1, double *Ap);
void kernel_gxt_acc(const double *Hp, int nv, const double *D, size_t nout, int nin,
                    size_t i0, size_t i1, double *Bp, const double *pf, int npf);
void kernel_gram(const double *F, int r, size_t k, double *S);
void kernel_gf_cols(const double *Gc, size_t nrow, int r, const double *F, int nb, double *Y);
void kernel_gf_kl_cols(const double *Gc, size_t nrow, int r, const double *F, int nb, const double *X,
                       double *Q);
/* G (r x nrow) by coordinate, Gc[i + k nrow] = G[k, i]; gs, if not NULL,
 * its row sums (in a fixed order) */
void coordinate_copy(const double *G, int r, size_t nrow, double *Gc, double *gs);

/* kernels_sparse.c: products with sparse data (CSC), r <= 32 */
void kernel_sparse_gx(const double *G, int r, const nmf_data *X, double *A, int threads);
void kernel_sparse_klnum(const double *G, int r, const nmf_data *X, const double *F, double *NUM,
                         int threads);
void kernel_sparse_scatter(const double *H, int r, const nmf_data *Xt, const double *F, double *A,
                           int kl, int threads);

/* hals.c: one HALS half update of F (r x ncol) given G (r x nrow). */
nmf_plan hals_plan(const nmf_data *X, int r, const nmf_switches *sw);
long hals_half(const nmf_data *X, double *F, const double *G, int r,
               int inner, double inner_tol, double l1, double l2,
               double *A, double *S, int have_A, int threads);
long hals_half_given(const nmf_data *X, double *F, const double *G, int r,
                     int inner, double inner_tol, double l1, double *A, double *S, int threads);
long hals_half_fused(const nmf_data *X, double *F, const double *G, int r, int nparts,
                     int inner, double inner_tol, double l1, double l2,
                     double *A, double *S, double *B, double xs, int threads);
/* the partial sums of hals_half_fused on one block of columns of data read
 * in blocks (blocks.c), at any size; 0: not that update */
int hals_block_parts(const nmf_data *X, int r, const nmf_switches *sw);
/* the HALS loss 1/2 ||X_obs - t(Wt) H||^2 from the H half's A = Wt X and
 * S = Wt t(Wt) (HH: r x r workspace) */
double hals_loss(const nmf_data *X, double xx, const double *A, const double *S, double l2,
                 const double *Wt, const double *H, int r, double *HH);

/* mu.c: one multiplicative half update of F (r x ncol) given G (r x nrow);
 * fused: the plan's choice of the fused update (mu_plan) */
nmf_plan mu_plan(const nmf_data *X, double beta, int r, const nmf_switches *sw);
void mu_half(const nmf_data *X, double *F, const double *G, int r,
             double beta, double l1, double l2, int fused, int threads);
/* the numerators and denominators of that update (r x ncol each), F unchanged */
void mu_half_store(const nmf_data *X, double *F, const double *G, int r, double beta, int fused,
                   int threads, double *ONUM, double *ODEN);
/* the W half's numerators and denominators (r x nrow each) from a block of
 * columns of dense data in its own layout, at Wt (r x nrow) and H (r x ncol) */
void mu_block_sums(const nmf_data *X, const double *Wt, const double *H, int r, double beta, int threads,
                   double *NUM, double *DEN);
/* the minimum-volume W half (F = t(W), columns of W on the simplex; mu:
 * its state between iterations, mu_minvol_state() doubles, zero at the
 * start) and its penalty's logdet */
size_t mu_minvol_state(int r, int m);
void mu_minvol_half(const nmf_data *Xt, double *F, const double *G, int r, double beta, double lam,
                    double delta, int fused, double *mu, const nmf_switches *sw, int threads);
double mu_minvol_logdet(const double *F, int r, int m, double delta, int blas);

/* kl_cd.c: coordinate-descent sweeps of F (r x ncol) given G for beta = 1 */
nmf_plan cd_plan(void);
void kl_cd_half(const nmf_data *X, double *F, const double *G, int r, int sweeps,
                double l1, double l2, int threads);

/* nmf.c: the driver's dispatch to the solvers, for nmf_run() and the
 * walk over blocks of the data (blocks.c) */
nmf_plan driver_plan(int solver, const nmf_data *X, double beta, int r, const nmf_switches *sw);
double driver_half(int solver, const nmf_data *X, double *F, const double *G, int r, double beta,
                   int inner, double inner_tol, double l1, double l2, double *A, double *S,
                   int have_A, int fused, int threads);
void driver_mu_sums(const nmf_data *X, double *F, const double *G, int r, double beta, int fused,
                    int threads, double *num, double *den);
double driver_hals_given(const nmf_data *X, double *F, const double *G, int r, int inner,
                         double inner_tol, double l1, double *A, double *S, int threads);
int driver_block_parts(int solver, const nmf_data *X, int r, const nmf_switches *sw);
double driver_hals_fused(const nmf_data *X, double *F, const double *G, int r, int nparts, int inner,
                         double inner_tol, double l1, double l2, double *A, double *S, double *B,
                         double xs, int threads);
double driver_hals_loss(const nmf_data *X, double xx, const double *A, const double *S, double l2,
                        const double *Wt, const double *H, int r, double *HH);
void driver_mu_block_sums(const nmf_data *X, const double *Wt, const double *H, int r, double beta,
                          int threads, double *num, double *den);

/* loss.c: beta-divergence of X from Wt' H over the observed entries */
double loss_factored(const nmf_data *X, const double *Wt, const double *H,
                     int r, double beta, int threads);
double beta_div_scalar(double x, double y, double beta);

#endif
