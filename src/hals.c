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
#include "kernels.h"
#include <string.h>
#include <stdlib.h>

/* returns the number of sweeps it ran */
static int sweep_column(double *f, const double *a, const double *S, int r,
                        int inner, double inner_tol, double l1)
{
    double first = 0.0;
    int it = 0;
    for (; it < inner; it++) {
        double change = 0.0;
        for (int k = 0; k < r; k++) {
            double skk = S[k + k * r];
            if (!(skk > 0.0)) continue; /* component k absent from G: f_k is free, leave it */
            /* two partial sums (even and odd l): the order of the lanes
             * below, which split the chain for latency */
            double num = a[k] - l1, odd = 0.0;
            const double *sk = S + (size_t) k * r;
            int l = 0;
            for (; l + 1 < r; l += 2) {
                num -= sk[l] * f[l];
                odd -= sk[l + 1] * f[l + 1];
            }
            if (l < r) num -= sk[l] * f[l];
            num += odd;
            double nv = f[k] + num * (1.0 / skk);
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
    return it < inner ? it + 1 : inner;
}

/* The same sweeps for a range of columns of F, LANES at a time, one
 * column per vector lane.  Within a column every coordinate update waits for
 * the previous one (the r-term dot product, then a product with 1 / S_kk),
 * so one column at a time runs at the latency of that chain; independent
 * columns side by side in vector lanes fill the pipelines instead, and each
 * dot product is summed in two halves (even and odd l), eight chains of r / 2
 * multiply-adds in flight, not four of r.  fb and ab hold
 * the lanes' f and a interleaved (fb[k * LANES + c] is f_k of lane c).  Each
 * lane stops its column's inner sweeps by the rule of sweep_column, writes
 * the column back and takes the next one of the range, so a lane computes
 * what sweep_column computes for its column, in the same order of
 * operations, whichever lane and whatever neighbours it has.  Before, a
 * block of LANES columns swept until its slowest column stopped, the others
 * frozen by a mask (bench/NOTES.md has how many sweeps that wasted).  The lanes keep their state between calls (lane_state),
 * so the one-pass H half can hand them its columns a block at a time.
 * Columns with held-out rows (hp) are skipped: they have their own Gram
 * matrix (sweep_held).  Returns the sweeps of the columns, summed: what
 * sweep_column would return for each. */
#define LANEQ 4             /* vectors of lanes */
#define LANES (4 * LANEQ)   /* columns in flight */

/* the next column from j on without held-out rows, or j1 */
static inline int next_plain(const int *hp, int j, int j1)
{
    while (j < j1 && hp && hp[j + 1] > hp[j]) j++;
    return j;
}

/* put column j (or nothing, j < 0) in lane c */
static inline void lane_fill(double *fb, double *ab, const double *F, const double *A, int r, int c, int j)
{
    for (int k = 0; k < r; k++) {
        fb[(size_t) k * LANES + c] = j >= 0 ? F[(size_t) k + (size_t) j * r] : 0.0;
        ab[(size_t) k * LANES + c] = j >= 0 ? A[(size_t) k + (size_t) j * r] : 0.0;
    }
}

/* The lanes between calls: the column in each lane (-1: none), its sweeps
 * so far and its first sweep's change, its f and a (fb, ab: r x LANES,
 * the caller's scratch), and the next column to take. */
typedef struct lane_state {
    int col[LANES], next;
    double its[LANES], first[LANES];
    double *fb, *ab;
} lane_state;

static void lanes_start(lane_state *L, double *fb, double *ab, int j0)
{
    for (int c = 0; c < LANES; c++) {
        L->col[c] = -1;
        L->its[c] = L->first[c] = 0.0;
    }
    L->next = j0;
    L->fb = fb;
    L->ab = ab;
}

/* no lane holds a column before `need` and none is left to take before it */
static inline int lanes_done(const lane_state *L, int need)
{
    if (L->next < need) return 0;
    for (int c = 0; c < LANES; c++)
        if (L->col[c] >= 0 && L->col[c] < need) return 0;
    return 1;
}

/* Sweeps the lanes, taking columns from L->next up to `avail` as lanes
 * free up, until every column before `need` (<= avail) has stopped and is
 * back in F; lanes holding later columns keep their state for the next
 * call.  The one-pass H half hands it each block of columns as soon as
 * their products are made and asks only for the block before to be done,
 * so a block's slow columns sweep side by side with the next block's
 * instead of beside idle lanes. */
static inline __attribute__((always_inline))
long sweep_lanes_body(lane_state *L, double *F, const double *A, const int *hp, int avail, int need,
                      const double *S, int r, int inner, double inner_tol, double l1, int wide)
{
    long sweeps = 0;
    double *fb = L->fb, *ab = L->ab;
    int *col = L->col, next = next_plain(hp, L->next, avail);
    v4i act[LANEQ];
    v4 first[LANEQ], its[LANEQ];
    const v4 zero = VSET1(0.0), l1v = VSET1(l1), tolv = VSET1(inner_tol), last = VSET1(inner - 1.0);
    for (int c = 0; c < LANES; c++) {
        if (col[c] >= 0 || next >= avail) continue;
        col[c] = next;
        next = next_plain(hp, next + 1, avail);
        lane_fill(fb, ab, F, A, r, c, col[c]);
        L->its[c] = L->first[c] = 0.0;
    }
    L->next = next;
    if (lanes_done(L, need)) return 0;
    UNROLL
    for (int q = 0; q < LANEQ; q++) {
        v4 on = {col[4 * q] >= 0, col[4 * q + 1] >= 0, col[4 * q + 2] >= 0, col[4 * q + 3] >= 0};
        act[q] = VCMP(wide, on, >, zero);
        VLOAD(first[q], L->first + 4 * q);
        VLOAD(its[q], L->its + 4 * q);
    }
    for (;;) {
        v4 ch[LANEQ];
        UNROLL
        for (int q = 0; q < LANEQ; q++) {
            ch[q] = zero;
            sweeps -= act[q][0] + act[q][1] + act[q][2] + act[q][3]; /* active lanes are -1 */
        }
        for (int k = 0; k < r; k++) {
            double skk = S[k + k * r];
            if (!(skk > 0.0)) continue;
            v4 num[LANEQ], odd[LANEQ];
            UNROLL
            for (int q = 0; q < LANEQ; q++) {
                VLOAD(num[q], ab + (size_t) k * LANES + 4 * q);
                num[q] -= l1v;
                odd[q] = zero;
            }
            const double *sk = S + (size_t) k * r;
            int l = 0;
            for (; l + 1 < r; l += 2) {
                double s0 = sk[l], s1 = sk[l + 1]; /* scalars: broadcast from memory */
                const double *f0 = fb + (size_t) l * LANES, *f1 = f0 + LANES;
                UNROLL
                for (int q = 0; q < LANEQ; q++) {
                    v4 fv0, fv1;
                    VLOAD(fv0, f0 + 4 * q);
                    VLOAD(fv1, f1 + 4 * q);
                    num[q] -= s0 * fv0;
                    odd[q] -= s1 * fv1;
                }
            }
            UNROLL
            for (int q = 0; q < LANEQ; q++) {
                if (l < r) {
                    v4 fv;
                    VLOAD(fv, fb + (size_t) l * LANES + 4 * q);
                    num[q] -= sk[l] * fv;
                }
                num[q] += odd[q];
            }
            const v4 iv = VSET1(1.0 / skk); /* off the chain: a product, not a division */
            double *fk = fb + (size_t) k * LANES;
            UNROLL
            for (int q = 0; q < LANEQ; q++) {
                v4 fo, nv;
                VLOAD(fo, fk + 4 * q);
                nv = fo + num[q] * iv;
                nv = (v4) ((v4i) nv & VCMP(wide, nv, >, zero));
                v4 d = (v4) ((v4i) (nv - fo) & act[q]);
                ch[q] += d * d;
                VSTORE(fk + 4 * q, VBLEND(act[q], nv, fo));
            }
        }
        /* sweep_column's rule, lane by lane: stop when nothing changed, when
         * the change fell below inner_tol times the first sweep's, or after
         * `inner` sweeps */
        long long any = 0, stopped = 0;
        v4i stop[LANEQ];
        UNROLL
        for (int q = 0; q < LANEQ; q++) {
            v4i fresh = VCMP(wide, its[q], ==, zero);
            first[q] = VBLEND(fresh, ch[q], first[q]);
            stop[q] = VCMP(wide, ch[q], ==, zero) | VCMP(wide, its[q], >=, last) |
                      (~fresh & VCMP(wide, ch[q], <=, tolv * first[q]));
            stop[q] &= act[q];
            its[q] += VSET1(1.0);
            act[q] &= ~stop[q];
            stopped |= stop[q][0] | stop[q][1] | stop[q][2] | stop[q][3];
        }
        if (stopped) {
            /* a finished column goes back to F, the lane takes the next one */
            for (int c = 0; c < LANES; c++) {
                if (!stop[c / 4][c % 4]) continue;
                for (int k = 0; k < r; k++) F[(size_t) k + (size_t) col[c] * r] = fb[(size_t) k * LANES + c];
                col[c] = next < avail ? next : -1;
                if (next >= avail) continue;
                next = next_plain(hp, next + 1, avail);
                lane_fill(fb, ab, F, A, r, c, col[c]);
                act[c / 4][c % 4] = -1;
                first[c / 4][c % 4] = its[c / 4][c % 4] = 0.0;
            }
        }
        UNROLL
        for (int q = 0; q < LANEQ; q++) any |= act[q][0] | act[q][1] | act[q][2] | act[q][3];
        L->next = next;
        if (!any || (stopped && lanes_done(L, need))) break;
    }
    UNROLL
    for (int q = 0; q < LANEQ; q++) {
        VSTORE(L->first + 4 * q, first[q]);
        VSTORE(L->its + 4 * q, its[q]);
    }
    return sweeps;
}

/* the builds of sweep_lanes_body, one per target */
#include "target_base.h"
#include "hals_template.h"
#ifdef HAVE_X86_DISPATCH
#include "target_avx2.h"
#include "hals_template.h"
#endif

void kernels_fill_hals(betanmf_kernels *k, int avx2)
{
    k->sweep_lanes = PICK(avx2, sweep_lanes);
}

/* the sweeps of the columns of [j0, j1) with held-out rows, one at a time,
 * each with its own Gram matrix (S less the held-out rows' outer products,
 * in Sl: r x r, the calling thread's scratch); the lanes skip them.
 * Returns their sweeps, summed. */
static long sweep_held(const nmf_data *X, double *F, const double *A, const double *S,
                       const double *G, int r, int j0, int j1, int inner, double inner_tol,
                       double l1, double *Sl)
{
    const int *hp = X->hp, *hi = X->hi;
    long sweeps = 0;
    for (int j = j0; hp && j < j1; j++) {
        if (hp[j + 1] == hp[j]) continue;
        for (int t = 0; t < r * r; t++) Sl[t] = S[t];
        for (int t = hp[j]; t < hp[j + 1]; t++) {
            const double *g = G + (size_t) hi[t] * r;
            for (int c = 0; c < r; c++)
                for (int a2 = 0; a2 < r; a2++) Sl[a2 + c * r] -= g[a2] * g[c];
        }
        sweeps += sweep_column(F + (size_t) j * r, A + (size_t) j * r, Sl, r, inner, inner_tol, l1);
    }
    return sweeps;
}

/* what the ranges of columns of one HALS half share */
typedef struct {
    const nmf_data *X;
    double *F, *A, *LW;
    const double *S, *G;
    int r, inner;
    double inner_tol, l1;
    size_t lw;
} hals_args;

/* the columns [j0, j1), on thread t: its lanes refilled from them */
static long hals_range(const void *ctx, int t, int j0, int j1)
{
    const hals_args *h = ctx;
    int r = h->r;
    double *fb = h->LW + (size_t) t * (2 * h->lw + (size_t) r * r);
    lane_state L;
    lanes_start(&L, fb, fb + h->lw, j0);
    long sweeps = sweep_held(h->X, h->F, h->A, h->S, h->G, r, j0, j1, h->inner, h->inner_tol, h->l1,
                             fb + 2 * h->lw);
    sweeps += kern.sweep_lanes(&L, h->F, h->A, h->X->hp, j1, j1, h->S, r, h->inner, h->inner_tol, h->l1);
    return sweeps;
}

/* have_A: A holds G X already (the H half of the fused update below made
 * it for the next W half); otherwise it is computed here.  Returns the
 * inner sweeps of the columns of F, summed (an integer sum: the same for
 * any number of threads). */
long hals_half(const nmf_data *X, double *F, const double *G, int r,
               int inner, double inner_tol, double l1, double l2,
               double *A, double *S, int have_A, int threads)
{
    if (!have_A) product_gx(X, G, r, A, threads);
    gram(G, r, X->nrow, S, X->blas);
    for (int k = 0; k < r; k++) S[k + k * r] += l2;
    return hals_half_given(X, F, G, r, inner, inner_tol, l1, A, S, threads);
}

/* the sweeps of hals_half from its product A = G X and its Gram matrix S
 * = G G' + l2 I, both given (blocks.c: the bands of rows of one W half
 * share one Gram matrix) */
long hals_half_given(const nmf_data *X, double *F, const double *G, int r,
                     int inner, double inner_tol, double l1, double *A, double *S, int threads)
{
    int nthr = threads > 0 ? threads : 1;
    size_t lw = (size_t) r * LANES;
    double *LW = (double *) scratch_alloc((size_t) nthr * (2 * lw + (size_t) r * r), sizeof(double));
    hals_args h = {X, F, A, LW, S, G, r, inner, inner_tol, l1, lw};
    return parallel_ranges(X->ncol, threads, hals_range, &h);
}

/* The H half of a dense fit in one pass over the data, which also makes the
 * product the next W half needs.  HALS updates each column of H from its own
 * product a_j = t(W) x_j alone, so the columns can be finished one block at
 * a time: for each block of FUSED_COLS columns, its products (the
 * register-tiled G X kernel), its sweeps, and, while the block of X is still
 * in cache, its share B += H_block t(X_block) of the product H t(X) with the
 * new H (hxt in kernels_dense.c, the next block fetched into cache meanwhile).
 * The share is one block late: block b's columns join the lanes as soon as
 * their products are made, the lanes sweep until block b - 1's columns have
 * all stopped, and then block b - 1's share is added.  Taking a block's
 * share at once made its 16 lanes wait, more and more of them idle, for its
 * slowest column, so its lanes idled (bench/NOTES.md).
 * The unfused fit reads X twice per iteration, the W half from a
 * transposed copy (up to 32 MB, made at set-up) or, above that, through the
 * slower H t(X) kernel on the original array; this reads it once and needs
 * no copy.  Per iteration it gains little, the products being compute-bound;
 * it saves the copy's memory and set-up time (bench/NOTES.md).
 *
 * B is summed in `nparts` partial sums over fixed ranges of blocks, added
 * in order at the end: the number depends on the data's shape only
 * (hals_fused_parts), and threads take whole ranges, so results never
 * depend on the number of threads.
 *
 * xs: the data's values are X->dense times xs, an exact power of two (1 in
 * memory, where the data are scaled at set-up).  A block read from storage
 * (blocks.c) is handed over unscaled, and the scale is applied to the
 * products instead, r values per column of A and per row of B rather than
 * a pass over the block: each product and partial sum of the scaled data
 * is the unscaled one times xs, exactly, while none is subnormal or
 * overflows (R/blocks.R takes this only for scales between 2^-512 and
 * 2^512), so A and B have the bits of the scaled block's. */
#define FUSED_PARTS 4
#define FUSED_MIN ((size_t) 1 << 20)
#define FUSED_COLS LANES /* columns per block of the pass (2 and 4 x LANES: no faster) */
#define FUSED_ROWS 512 /* rows of B per accumulation step (its block stays in L2) */

static int hals_fused_parts(const nmf_data *X, int r, const nmf_switches *sw)
{
    if (!X->dense || X->dense_trans || X->p || !kernels_available(r) || sw->blas || sw->nofuse)
        return 0;
    size_t m = (size_t) X->nrow, n = (size_t) X->ncol, rp = 4 * (size_t) ((r + 3) / 4);
    /* below FUSED_MIN entries the copy is cheap and the two passes are as
     * fast (bench/NOTES.md); BETANMF_FUSE=1 takes the fused pass whatever
     * the size (tests) */
    if (m * n < FUSED_MIN && !sw->fuse) return 0;
    size_t nblk = (n + FUSED_COLS - 1) / FUSED_COLS;
    int P = nblk < FUSED_PARTS ? (int) nblk : FUSED_PARTS;
    /* one block of columns: nothing to share among threads */
    if (P < 2) return 0;
    /* the partial sums must stay small next to the data */
    if ((size_t) P * rp * m > m * n / 2 && (size_t) P * rp * m > ((size_t) 1 << 22)) return 0;
    return P;
}

/* The partial sums of the one-pass H half on one block of columns of data
 * read in blocks (blocks.c), where it is taken at any size: the block was
 * read from storage for this pass, and a second pass over it for the next
 * W half's H t(X) (the unfused way) would read it again from memory.  As
 * hals_fused_parts, but one part is enough (a narrow block), and fewer
 * parts where FUSED_PARTS of them would outgrow the block.  0: not dense,
 * or BETANMF_NOFUSE / BETANMF_BLAS. */
int hals_block_parts(const nmf_data *X, int r, const nmf_switches *sw)
{
    if (!X->dense || X->dense_trans || X->p || !kernels_available(r) || sw->blas || sw->nofuse) return 0;
    size_t m = (size_t) X->nrow, n = (size_t) X->ncol, rp = 4 * (size_t) ((r + 3) / 4);
    if (m == 0 || n == 0) return 0;
    size_t nblk = (n + FUSED_COLS - 1) / FUSED_COLS;
    int P = nblk < FUSED_PARTS ? (int) nblk : FUSED_PARTS;
    while (P > 1 && (size_t) P * rp * m > m * n / 2 && (size_t) P * rp * m > ((size_t) 1 << 22)) P--;
    return P;
}

/* largest dense m x n for which unfused HALS keeps a transposed copy (32 MB;
 * from 2^20 entries the one-pass update needs none) */
#define TRANSPOSE_COPY_MAX ((size_t) 1 << 22)

/* What HALS needs of the data: on dense data from FUSED_MIN entries the
 * one-pass update, whose H half makes the W half's product, so there is no
 * copy to walk; otherwise a dense transposed copy lets the W half use the
 * register-tiled G X kernel instead of H t(X) on the original array,
 * taken while it costs at most TRANSPOSE_COPY_MAX entries. */
nmf_plan hals_plan(const nmf_data *X, int r, const nmf_switches *sw)
{
    nmf_plan plan = {0, 0, 0, 0};
    plan.parts = hals_fused_parts(X, r, sw);
    plan.copy = !plan.parts && (size_t) X->nrow * X->ncol <= TRANSPOSE_COPY_MAX;
    return plan;
}

long hals_half_fused(const nmf_data *X, double *F, const double *G, int r, int nparts,
                     int inner, double inner_tol, double l1, double l2,
                     double *A, double *S, double *B, double xs, int threads)
{
    int nrow = X->nrow, ncol = X->ncol, nv = (r + 3) / 4, rp = 4 * nv;
    const double *Gp = kernel_pack_gx(G, r, (size_t) nrow);
    gram(G, r, nrow, S, X->blas);
    for (int k = 0; k < r; k++) S[k + k * r] += l2;
    int nthr = threads > 0 ? threads : 1;
    size_t lw = (size_t) r * LANES, per = 2 * lw + (size_t) r * r + 2 * (size_t) rp * FUSED_COLS;
    double *LW = (double *) scratch_alloc((size_t) nthr * per, sizeof(double));
    size_t bsz = (size_t) rp * nrow;
    double *Bp = B ? (double *) scratch_alloc((size_t) nparts * bsz, sizeof(double)) : NULL;
    int nblk = (ncol + FUSED_COLS - 1) / FUSED_COLS;
    long sweeps = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static) reduction(+ : sweeps)
#endif
    for (int c = 0; c < nparts; c++) {
        double *fb = LW + (size_t) thread_id() * per, *ab = fb + lw, *Sl = ab + lw;
        double *Ab = Sl + (size_t) r * r, *Hb = Ab + (size_t) rp * FUSED_COLS;
        double *Bc = Bp ? Bp + (size_t) c * bsz : NULL;
        if (Bc) memset(Bc, 0, bsz * sizeof(double));
        int b0 = (int) ((long long) nblk * c / nparts), b1 = (int) ((long long) nblk * (c + 1) / nparts);
        lane_state L;
        lanes_start(&L, fb, ab, b0 * FUSED_COLS);
        /* block b's products, then its columns into the lanes, which are
         * swept until block b - 1's are all done, then block b - 1's share
         * of B (its X fetched by gx a step before, still in L2) */
        for (int b = b0; b <= b1; b++) {
            if (b < b1) {
                int j0 = b * FUSED_COLS, nc = j0 + FUSED_COLS < ncol ? FUSED_COLS : ncol - j0;
                kernel_gx_cols(Gp, nv, X->dense + (size_t) j0 * nrow, (size_t) nrow, 0, nc, Ab);
                for (int j = 0; j < nc; j++) {
                    double *a = A + (size_t) (j0 + j) * r;
                    const double *ab = Ab + (size_t) j * rp;
                    if (xs == 1.0) memcpy(a, ab, (size_t) r * sizeof(double));
                    else for (int k = 0; k < r; k++) a[k] = ab[k] * xs;
                }
                sweeps += sweep_held(X, F, A, S, G, r, j0, j0 + nc, inner, inner_tol, l1, Sl);
                sweeps += kern.sweep_lanes(&L, F, A, X->hp, j0 + nc, j0, S, r, inner, inner_tol, l1);
            } else {
                int end = b1 * FUSED_COLS < ncol ? b1 * FUSED_COLS : ncol;
                sweeps += kern.sweep_lanes(&L, F, A, X->hp, end, end, S, r, inner, inner_tol, l1);
            }
            if (!Bc || b == b0) continue;
            int j0 = (b - 1) * FUSED_COLS, nc = j0 + FUSED_COLS < ncol ? FUSED_COLS : ncol - j0;
            const double *Xb = X->dense + (size_t) j0 * nrow;
            for (int j = 0; j < nc; j++) {
                memcpy(Hb + (size_t) j * rp, F + (size_t) (j0 + j) * r, (size_t) r * sizeof(double));
                for (int k = r; k < rp; k++) Hb[(size_t) j * rp + k] = 0.0;
            }
            /* the block gx reads next is fetched meanwhile */
            int jn = (b + 1) * FUSED_COLS;
            const double *pf = b + 1 < b1 ? X->dense + (size_t) jn * nrow : NULL;
            int npf = pf ? (jn + FUSED_COLS <= ncol ? FUSED_COLS : ncol - jn) : 0;
            for (size_t i0 = 0; i0 < (size_t) nrow; i0 += FUSED_ROWS) {
                size_t i1 = i0 + FUSED_ROWS < (size_t) nrow ? i0 + FUSED_ROWS : (size_t) nrow;
                kernel_gxt_acc(Hb, nv, Xb, (size_t) nrow, nc, i0, i1, Bc, pf, npf);
            }
        }
    }
    if (!B) return sweeps;
    /* B (r x nrow) = the partial sums, added in order */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
    for (int i = 0; i < nrow; i++)
        for (int k = 0; k < r; k++) {
            size_t at = (size_t) i * rp + k;
            double s = Bp[at];
            for (int c = 1; c < nparts; c++) s += Bp[(size_t) c * bsz + at];
            B[(size_t) i * r + k] = xs == 1.0 ? s : s * xs;
        }
    return sweeps;
}

/* HALS loss from quantities the H half update already paid for:
 * 1/2 ||X_obs - Y_obs||^2 = 1/2 (sum x^2 - 2 <A, H> + <S, H H'> - sum_ho y^2)
 * where A = t(W) X and S = t(W) W (held-out x are zero already). */
double hals_loss(const nmf_data *X, double xx, const double *A, const double *S, double l2,
                 const double *Wt, const double *H, int r, double *HH)
{
    int n = X->ncol;
    double ah = 0.0, sh = 0.0, ho = 0.0;
    for (size_t t = 0; t < (size_t) r * n; t++) ah += A[t] * H[t];
    gram(H, r, n, HH, X->blas);
    for (int a = 0; a < r; a++)
        for (int b = 0; b < r; b++)
            sh += (S[a + b * r] - (a == b ? l2 : 0.0)) * HH[a + b * r];
    if (X->hp)
        for (int j = 0; j < n; j++)
            for (int t = X->hp[j]; t < X->hp[j + 1]; t++) {
                const double *g = Wt + (size_t) X->hi[t] * r, *h = H + (size_t) j * r;
                double y = 0.0;
                for (int k = 0; k < r; k++) y += g[k] * h[k];
                ho += y * y;
            }
    double L = 0.5 * (xx - 2.0 * ah + sh - ho);
    return L > 0.0 ? L : 0.0; /* cancellation can leave -1e-16 * ||X||^2 */
}
