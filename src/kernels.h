/* kernels.h: the vector kernels the solvers call, behind one table.
 *
 * Every kernel here exists in two builds on x86-64 with GCC or clang: the
 * baseline instruction set and AVX2 + FMA (one source per kernel, compiled
 * once per target: the *_template.h files, or an always_inline body called
 * from one wrapper per target).  kernels_init() (kernels.c) fills the table
 * `kern` with one build of each, once when the library loads
 * (R_init_betanmf) and again when the tests switch builds
 * (C_simd_baseline); call sites go through the table and never ask the CPU.
 * Elsewhere only the baseline is compiled.
 */
#ifndef BETANMF_KERNELS_H
#define BETANMF_KERNELS_H

#include <stddef.h>
#include <R_ext/Visibility.h>

struct lane_state; /* hals.c: the lanes of the inner sweeps */
struct cd_work;    /* kl_cd.c: one column's work arrays */
struct mv_rows;    /* mu.c: the arrays of minimum volume's row passes */

typedef struct {
    /* kernels_dense.c, kernels_sparse.c: products with padded factors
     * (nv vectors of 4 rows) */
    void (*gx)(const double *Gp, int nv, const double *X, size_t nrow, int j0, int j1, double *Ap);
    void (*gxt)(const double *Hp, int nv, const double *D, size_t nout, int nin, size_t i0, size_t i1,
                double *Ap);
    void (*hxt)(const double *Hp, int nv, const double *D, size_t nout, int nin, size_t i0, size_t i1,
                double *Bp, const double *pf, int npf);
    void (*sgx)(const double *Gp, int nv, const int *p, const int *idx, const double *xv, double xs,
                int j0, int j1, double *Ap);
    void (*skl)(const double *Gp, int nv, const int *p, const int *idx, const double *xv, double xs,
                const double *Fp, int j0, int j1, double *Ap);
    void (*ssc)(const double *Hp, int nv, const int *p, const int *idx, const double *xv, double xs,
                const int *start, int n, int i0, int i1, const double *Fp, int kl, double *Ap);
    void (*gf)(const double *Gc, size_t nrow, int r, const double *F, int nb, double *Y, const double *X);
    void (*gram)(const double *F, int r, int nv, size_t k, double *Sp);
    /* mu_template.h (mu.c): the multiplicative update's coefficients and
     * fused passes */
    size_t (*coef_vec)(const double *x, double *qx, double *qd, size_t n, int kl, int n2);
    void (*fuse_cols)(const double *Gc, size_t nrow, int r, const double *F, const double *Xd, int j0,
                      int j1, double *NUM, double *DEN, int kl, int n2, double beta);
    void (*fuse_rows)(const double *Xd, size_t m, size_t n, int r, const double *G, const double *F,
                      size_t i0, size_t i1, double *NUM, double *DEN, int kl, int n2);
    void (*fuse_update)(double *F, int r, int j0, int j1, const double *NUM, const double *DEN,
                        const double *gs, double l1, double l2, double gam);
    /* and minimum volume's passes over the rows of t(W), W's columns in
     * the lanes (mu_minvol_half) */
    void (*mv_pass)(const struct mv_rows *a, size_t i0, size_t i1, double *acc);
    void (*mv_write)(const struct mv_rows *a, size_t i0, size_t i1);
    void (*mv_joint)(const struct mv_rows *a, size_t i0, size_t i1, double *acc);
    void (*mv_gram)(const double *F, int r, size_t m, size_t n_fast, double *S, double *tot);
    /* hals.c: the inner sweeps of 16 columns in vector lanes */
    long (*sweep_lanes)(struct lane_state *L, double *F, const double *A, const int *hp, int avail,
                        int need, const double *S, int r, int inner, double inner_tol, double l1);
    /* kl_cd.c: the coordinate-descent sweeps of one column */
    void (*cd_column)(const double *gz, const double *gz2, int r, int nz, int nzp, const double *xv,
                      const double *s, double *f, struct cd_work *w, int sweeps, double l1, double l2);
    /* loss_template.h: the beta-divergence summed over one dense column */
    double (*kl_column)(const double *x, const double *y, size_t m, double beta);
    double (*is_column)(const double *x, const double *y, size_t m, double beta);
    double (*pow_column)(const double *x, const double *y, size_t m, double beta);
} betanmf_kernels;

/* hidden: the short name stays inside the package's library */
extern attribute_hidden betanmf_kernels kern;

/* fills `kern` (kernels.c): the AVX2 builds where the CPU runs them and the
 * tests have not asked for the baseline */
void kernels_init(void);
/* each file's share of the table, avx2 = 1 for the AVX2 builds */
void kernels_fill_dense(betanmf_kernels *k, int avx2);
void kernels_fill_sparse(betanmf_kernels *k, int avx2);
void kernels_fill_mu(betanmf_kernels *k, int avx2);
void kernels_fill_hals(betanmf_kernels *k, int avx2);
void kernels_fill_cd(betanmf_kernels *k, int avx2);
void kernels_fill_loss(betanmf_kernels *k, int avx2);

#endif
