/* hals.c: beta = 2 by hierarchical alternating least squares.
 *
 * Cichocki & Phan (2009), "Fast local algorithms for large scale nonnegative
 * matrix and tensor factorizations", IEICE Trans. Fund. E92-A; with the
 * repeated inner sweeps of Gillis & Glineur (2012), "Accelerated multiplicative
 * updates and hierarchical ALS algorithms for NMF", Neural Computation 24.
 *
 * For the factor F (r x ncol) with the other factor G (r x nrow) fixed, the
 * loss 1/2 ||X - G'F||^2 separates over the columns of F; per column the
 * rank-one block update of component k is the closed form
 *     f_k <- max(0, f_k + (a_k - l1 - sum_l S_kl f_l) / (S_kk + l2))
 * with a = G x_j (the product with the data, paid once per half update) and
 * S = G G' (the Gram matrix).  Updating row i of W for k = 1..r in turn is
 * exactly the column-wise HALS sweep of the papers, because row i of the new
 * W depends on row i only.  The m x n residual is never formed.
 *
 * Held-out entries (a 0/1 mask): the data values there are zero already, so
 * a is right as computed; the Gram matrix of column j loses the held-out rows'
 * outer products, S_j = S - sum_{i held out} g_i g_i', O(r^2) per entry.
 */
#include "betanmf.h"
#include "simd.h"

static void sweep_column(double *f, const double *a, const double *S, int r,
                         int inner, double inner_tol, double l1)
{
    double first = 0.0;
    for (int it = 0; it < inner; it++) {
        double change = 0.0;
        for (int k = 0; k < r; k++) {
            double skk = S[k + k * r];
            if (!(skk > 0.0)) continue; /* component k absent from G: f_k is free, leave it */
            double num = a[k] - l1;
            const double *sk = S + (size_t) k * r;
            for (int l = 0; l < r; l++) num -= sk[l] * f[l];
            double nv = f[k] + num / skk;
            if (nv < 0.0) nv = 0.0;
            double d = nv - f[k];
            change += d * d;
            f[k] = nv;
        }
        /* Gillis & Glineur: stop the inner sweeps once they no longer pay */
        if (it == 0) first = change;
        else if (change <= inner_tol * first) break;
        if (change == 0.0) break;
    }
}

/* The same sweeps for LANES columns at once, one column per vector lane.
 * Within a column every coordinate update waits for the previous one (a
 * division, then the next r-term dot product), so one column at a time runs
 * at the latency of that chain; independent columns side by side in vector
 * lanes fill the pipelines instead.  fb and ab hold the block's f and a
 * interleaved (fb[k * LANES + c] is f_k of lane c).  Each lane stops its
 * inner sweeps by the rule of sweep_column (a stopped lane is frozen by a
 * mask while the others go on), so a lane computes what sweep_column
 * computes for its column, in the same order of operations. */
#define LANEQ 4             /* vectors per block */
#define LANES (4 * LANEQ)   /* columns per block */

static inline __attribute__((always_inline))
void sweep_lanes_body(double *fb, const double *ab, const double *S, int r, int nlanes,
                      int inner, double inner_tol, double l1)
{
    v4i act[LANEQ];
    v4 first[LANEQ];
    const v4 zero = VSET1(0.0), l1v = VSET1(l1), tolv = VSET1(inner_tol);
    UNROLL
    for (int q = 0; q < LANEQ; q++) {
        v4 lane = {4.0 * q, 4.0 * q + 1.0, 4.0 * q + 2.0, 4.0 * q + 3.0};
        act[q] = (v4i) (lane < VSET1((double) nlanes));
        first[q] = zero;
    }
    for (int it = 0; it < inner; it++) {
        v4 ch[LANEQ];
        UNROLL
        for (int q = 0; q < LANEQ; q++) ch[q] = zero;
        for (int k = 0; k < r; k++) {
            double skk = S[k + k * r];
            if (!(skk > 0.0)) continue;
            v4 num[LANEQ];
            UNROLL
            for (int q = 0; q < LANEQ; q++) {
                VLOAD(num[q], ab + (size_t) k * LANES + 4 * q);
                num[q] -= l1v;
            }
            const double *sk = S + (size_t) k * r;
            for (int l = 0; l < r; l++) {
                double s = sk[l]; /* scalar: broadcast from memory */
                const double *fl = fb + (size_t) l * LANES;
                UNROLL
                for (int q = 0; q < LANEQ; q++) {
                    v4 fv;
                    VLOAD(fv, fl + 4 * q);
                    num[q] -= s * fv;
                }
            }
            double sv = skk;
            double *fk = fb + (size_t) k * LANES;
            UNROLL
            for (int q = 0; q < LANEQ; q++) {
                v4 fo, nv;
                VLOAD(fo, fk + 4 * q);
                nv = fo + num[q] / sv;
                nv = (v4) ((v4i) nv & (v4i) (nv > zero));
                v4 d = (v4) ((v4i) (nv - fo) & act[q]);
                ch[q] += d * d;
                VSTORE(fk + 4 * q, VBLEND(act[q], nv, fo));
            }
        }
        long long any = 0;
        UNROLL
        for (int q = 0; q < LANEQ; q++) {
            v4i stop = (v4i) (ch[q] == zero);
            if (it == 0) first[q] = ch[q];
            else stop |= (v4i) (ch[q] <= tolv * first[q]);
            act[q] &= ~stop;
            any |= act[q][0] | act[q][1] | act[q][2] | act[q][3];
        }
        if (!any) break;
    }
}

static void sweep_lanes_base(double *fb, const double *ab, const double *S, int r, int nlanes,
                             int inner, double inner_tol, double l1)
{
    sweep_lanes_body(fb, ab, S, r, nlanes, inner, inner_tol, l1);
}
#ifdef HAVE_X86_DISPATCH
TARGET_AVX2 static void sweep_lanes_avx2(double *fb, const double *ab, const double *S, int r,
                                         int nlanes, int inner, double inner_tol, double l1)
{
    sweep_lanes_body(fb, ab, S, r, nlanes, inner, inner_tol, l1);
}
#endif

void hals_half(const nmf_data *X, double *F, const double *G, int r,
               int inner, double inner_tol, double l1, double l2,
               double *A, double *S, int threads)
{
    int ncol = X->ncol;
    product_gx(X, G, r, A, threads);
    gram(G, r, X->nrow, S);
    for (int k = 0; k < r; k++) S[k + k * r] += l2;
    const int *hp = X->hp, *hi = X->hi;
    int nthr = threads > 0 ? threads : 1;
    double *Sw = hp ? (double *) scratch_alloc((size_t) nthr * r * r, sizeof(double)) : NULL;
    size_t lw = (size_t) r * LANES;
    double *LW = (double *) scratch_alloc((size_t) nthr * 2 * lw, sizeof(double));
    int nblk = (ncol + LANES - 1) / LANES;
#ifdef HAVE_X86_DISPATCH
    int avx = kernels_use_avx2();
#endif

    /* fixed blocks of LANES columns: which lane a column lands in never
     * depends on the number of threads */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int b = 0; b < nblk; b++) {
        int tid = thread_id();
        double *fb = LW + (size_t) tid * 2 * lw, *ab = fb + lw;
        int j0 = b * LANES, j1 = j0 + LANES < ncol ? j0 + LANES : ncol;
        int cols[LANES], nl = 0;
        for (int j = j0; j < j1; j++) {
            if (hp && hp[j + 1] > hp[j]) {
                /* held-out rows: this column has its own Gram matrix */
                double *Sl = Sw + (size_t) tid * r * r;
                for (int t = 0; t < r * r; t++) Sl[t] = S[t];
                for (int t = hp[j]; t < hp[j + 1]; t++) {
                    const double *g = G + (size_t) hi[t] * r;
                    for (int c = 0; c < r; c++)
                        for (int a2 = 0; a2 < r; a2++) Sl[a2 + c * r] -= g[a2] * g[c];
                }
                sweep_column(F + (size_t) j * r, A + (size_t) j * r, Sl, r, inner, inner_tol, l1);
            } else cols[nl++] = j;
        }
        if (nl == 0) continue;
        for (int k = 0; k < r; k++)
            for (int c = 0; c < LANES; c++) {
                size_t src = (size_t) k + (size_t) (c < nl ? cols[c] : 0) * r;
                fb[(size_t) k * LANES + c] = c < nl ? F[src] : 0.0;
                ab[(size_t) k * LANES + c] = c < nl ? A[src] : 0.0;
            }
#ifdef HAVE_X86_DISPATCH
        if (avx) sweep_lanes_avx2(fb, ab, S, r, nl, inner, inner_tol, l1);
        else
#endif
            sweep_lanes_base(fb, ab, S, r, nl, inner, inner_tol, l1);
        for (int c = 0; c < nl; c++)
            for (int k = 0; k < r; k++) F[(size_t) k + (size_t) cols[c] * r] = fb[(size_t) k * LANES + c];
    }
}
