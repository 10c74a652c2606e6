/* nmf.c: the alternating driver behind nmf(), predict() and refitting.
 *
 * C_nmf_fit(data, wt, h, control) unpacks its named lists into an
 * nmf_params and the data (data.c), and nmf_run() fits: it asks the
 * solver's plan function (hals_plan, mu_plan, cd_plan) what layout of the
 * data it needs, lays the data out, and alternates the half updates.
 *
 * Alternates a half update of t(W) (from t(X)) and of H (from X) with the
 * HALS (beta = 2), multiplicative (any beta) or coordinate-descent
 * (beta = 1) kernels until the loss,
 * evaluated every `check` iterations, decreases by less than a fraction
 * `tol` per iteration (of the current loss, or of a millionth of the
 * initial loss when the fit is closer to exact than that), or `maxit` is
 * reached.  With update_w = FALSE only H
 * moves (W held fixed): predict() and signature refitting.
 *
 * Everything allocated here comes from R_alloc or is PROTECTed, so a user
 * interrupt (checked once per iteration, outside any parallel region) or an
 * R error leaves nothing behind.
 */
#include "betanmf.h"
#include <limits.h>
#include <math.h>
#include <string.h>

/* everything a fit reads from R's control list, and the switches */
typedef struct {
    int solver, update_w, threads, maxit, check, inner, verbose, run;
    double beta, tol, inner_tol, l1w, l1h, l2w, l2h;
    double unit;        /* verbose: the loss is printed times unit = scale^beta */
    double volume, delta; /* minimum volume: relative weight (0: off) and delta */
    double lam;         /* its absolute weight, or 0: from the start */
    nmf_switches sw;
} nmf_params;

/* a fit in progress: the data in both orientations, the factors (r x m
 * and r x n), the products and Gram matrices HALS keeps between halves */
typedef struct {
    nmf_data X, Xt;
    nmf_plan plan;
    int r;
    double *wt, *h, *A, *S, *HH, *B, xx, sweeps;
    double lam, *mu;    /* minimum volume: absolute weight, column multipliers */
} nmf_state;

/* what nmf_run() hands back; the trace lives in R_alloc memory */
typedef struct {
    double *trace, *trace_pen, loss, pen;
    int *trace_it, ntrace, cap, iterations, converged;
} nmf_result;

static double num_elt(SEXP list, const char *name)
{
    SEXP v = list_elt(list, name, 1);
    if (XLENGTH(v) != 1 || !(isReal(v) || isInteger(v) || isLogical(v)))
        error("internal error: '%s' must be a single number", name);
    return asReal(v);
}

static int int_elt(SEXP list, const char *name)
{
    double v = num_elt(list, name);
    if (!(v >= INT_MIN && v <= INT_MAX)) error("internal error: '%s' must be an integer", name);
    return (int) v;
}

/* control = list(solver, beta, maxit, tol, check, inner, inner_tol, l1_w,
 * l1_h, l2_w, l2_h, update_w, threads, verbose, unit, run, volume, delta, lam),
 * by name */
static void read_params(SEXP control, nmf_params *P)
{
    P->solver = int_elt(control, "solver");
    P->beta = num_elt(control, "beta");
    P->maxit = int_elt(control, "maxit");
    P->tol = num_elt(control, "tol");
    P->check = int_elt(control, "check");
    P->inner = int_elt(control, "inner");
    P->inner_tol = num_elt(control, "inner_tol");
    P->l1w = num_elt(control, "l1_w");
    P->l1h = num_elt(control, "l1_h");
    P->l2w = num_elt(control, "l2_w");
    P->l2h = num_elt(control, "l2_h");
    P->update_w = num_elt(control, "update_w") != 0.0;
    P->threads = int_elt(control, "threads");
    /* verbose: the loss in the user's units (the solver's times unit, as
     * finish_factors() reports it), labelled with its restart when run > 0 */
    P->verbose = num_elt(control, "verbose") == 1.0;
    P->unit = num_elt(control, "unit");
    P->run = int_elt(control, "run");
    P->volume = num_elt(control, "volume");
    P->delta = num_elt(control, "delta");
    P->lam = num_elt(control, "lam");
    if (P->check < 1) P->check = 1;
    if (P->threads < 1) P->threads = 1;
    if (P->maxit < 0) error("internal error: 'maxit' must be >= 0");
    if (P->solver != SOLVER_HALS && P->solver != SOLVER_MU && P->solver != SOLVER_CD)
        error("internal error: unknown solver %d", P->solver);
    if (P->solver == SOLVER_CD && P->beta != 1.0)
        error("internal error: coordinate descent is for beta = 1");
    if (!(P->volume >= 0.0) || !(P->lam >= 0.0) ||
        (P->volume > 0.0 && (P->solver != SOLVER_MU || !(P->delta > 0.0))))
        error("internal error: minimum volume needs solver MU, volume >= 0, lam >= 0 and delta > 0");
    read_switches(&P->sw);
}

/* The driver's dispatch to the solvers: the only calls into hals.c, mu.c
 * and kl_cd.c outside nmf_run()'s fused and minimum-volume paths, shared
 * with the walk over blocks of the data (blocks.c), so a block fit runs
 * the very half updates of a fit in memory. */

/* what layout of X the solver asks for (betanmf.h: nmf_plan) */
nmf_plan driver_plan(int solver, const nmf_data *X, double beta, int r, const nmf_switches *sw)
{
    if (solver == SOLVER_HALS) return hals_plan(X, r, sw);
    if (solver == SOLVER_MU) return mu_plan(X, beta, r, sw);
    return cd_plan();
}

/* one half update of F (r x ncol) given G (r x nrow); A (r x ncol + 1) and
 * S (r x r): HALS's workspace, A holding G X on entry when have_A; fused:
 * the plan's choice for MU.  Returns HALS's inner sweeps (0 otherwise). */
double driver_half(int solver, const nmf_data *X, double *F, const double *G, int r, double beta,
                   int inner, double inner_tol, double l1, double l2, double *A, double *S,
                   int have_A, int fused, int threads)
{
    if (solver == SOLVER_HALS)
        return (double) hals_half(X, F, G, r, inner, inner_tol, l1, l2, A, S, have_A, threads);
    if (solver == SOLVER_CD) kl_cd_half(X, F, G, r, inner, l1, l2, threads);
    else mu_half(X, F, G, r, beta, l1, l2, fused, threads);
    return 0.0;
}

/* HALS's half update of F given G and S = G G' + l2 I already made (the
 * walk over blocks makes G G' once for all bands of a W half) */
double driver_hals_given(const nmf_data *X, double *F, const double *G, int r, int inner,
                         double inner_tol, double l1, double *A, double *S, int threads)
{
    return (double) hals_half_given(X, F, G, r, inner, inner_tol, l1, A, S, threads);
}

/* MU's numerators and denominators of that half update (r x ncol each),
 * F unchanged: the shares a fit over blocks of columns adds up */
void driver_mu_sums(const nmf_data *X, double *F, const double *G, int r, double beta, int fused,
                    int threads, double *num, double *den)
{
    mu_half_store(X, F, G, r, beta, fused, threads, num, den);
}

/* HALS's one-pass H half on one column block of data read in blocks
 * (blocks.c): its partial sums (0: not taken), and the pass, which also
 * makes the block's share B = H t(X) of the next W half's product */
int driver_block_parts(int solver, const nmf_data *X, int r, const nmf_switches *sw)
{
    return solver == SOLVER_HALS ? hals_block_parts(X, r, sw) : 0;
}

double driver_hals_fused(const nmf_data *X, double *F, const double *G, int r, int nparts, int inner,
                         double inner_tol, double l1, double l2, double *A, double *S, double *B,
                         double xs, int threads)
{
    return (double) hals_half_fused(X, F, G, r, nparts, inner, inner_tol, l1, l2, A, S, B, xs, threads);
}

/* HALS's loss from its H half's product A = G X and S = G G' + l2 I, as
 * nmf_run() checks it; on a block of columns, that block's share */
double driver_hals_loss(const nmf_data *X, double xx, const double *A, const double *S, double l2,
                        const double *Wt, const double *H, int r, double *HH)
{
    return hals_loss(X, xx, A, S, l2, Wt, H, r, HH);
}

/* MU's W half sums from a block of columns of dense data as stored */
void driver_mu_block_sums(const nmf_data *X, const double *Wt, const double *H, int r, double beta,
                          int threads, double *num, double *den)
{
    mu_block_sums(X, Wt, H, r, beta, threads, num, den);
}

/* the plan of the fit's solver, and the data laid out as it asks */
static void plan_data(const nmf_params *P, nmf_state *s)
{
    nmf_data *X = &s->X;
    X->blas = P->sw.blas;
    s->plan = driver_plan(P->solver, X, P->beta, s->r, &P->sw);
    if (P->update_w) data_transpose(X, &s->Xt, s->plan.copy, s->r);
    if (s->plan.npos) {
        data_count_positive(X);
        if (P->update_w) data_count_positive(&s->Xt);
    }
}

/* the workspace of HALS (A, S, HH; B for the one-pass update) and the
 * data's sum of squares its loss expansion starts from */
static void alloc_work(const nmf_params *P, nmf_state *s)
{
    const nmf_data *X = &s->X;
    int m = X->nrow, n = X->ncol, r = s->r, big = m > n ? m : n;
    s->A = (double *) R_alloc((size_t) r * big + 1, sizeof(double));
    s->S = (double *) R_alloc((size_t) r * r, sizeof(double));
    s->HH = (double *) R_alloc((size_t) r * r, sizeof(double));
    /* the fused HALS fit's H t(X), made by each H half for the next W half */
    s->B = s->plan.parts && P->update_w ? (double *) R_alloc((size_t) r * m + 1, sizeof(double)) : NULL;
    s->xx = 0.0;
    s->sweeps = 0.0;
    if (P->solver == SOLVER_HALS) {
        if (X->p) for (int t = 0; t < X->p[n]; t++) s->xx += XVAL(X, t) * XVAL(X, t);
        else for (size_t t = 0; t < (size_t) m * n; t++) s->xx += X->dense[t] * X->dense[t];
    }
}

/* the initial loss: for HALS through one product and a Gram matrix (the
 * expansion hals_loss uses), a fraction of a pass over the data with an
 * r-term dot product per entry; directly when the expansion would cancel
 * (a start already within a millionth of ||X||^2) */
static double initial_loss(const nmf_params *P, nmf_state *s)
{
    const nmf_data *X = &s->X;
    int r = s->r;
    if (P->solver != SOLVER_HALS) return loss_factored(X, s->wt, s->h, r, P->beta, P->threads);
    product_gx(X, s->wt, r, s->A, P->threads);
    gram(s->wt, r, X->nrow, s->S, X->blas);
    double L = hals_loss(X, s->xx, s->A, s->S, 0.0, s->wt, s->h, r, s->HH);
    if (!(L > 1e-6 * s->xx)) L = loss_factored(X, s->wt, s->h, r, P->beta, P->threads);
    if (s->B) product_gx(&s->Xt, s->h, r, s->B, P->threads); /* the first W half's product */
    return L;
}

/* one iteration: the W half (unless W is fixed), then the H half.  HALS
 * counts its inner sweeps, summed over the rows of W, the columns of H and
 * the iterations (what the sweeps cost: 2 r^2 flops each); its fused plan
 * makes the next W half's product in the H half. */
static void update(const nmf_params *P, nmf_state *s)
{
    int r = s->r, uw = P->update_w, th = P->threads, sv = P->solver, in = P->inner, fu = s->plan.fused;
    double *wt = s->wt, *h = s->h, itol = P->inner_tol;
    if (sv == SOLVER_HALS && s->plan.parts) {
        if (uw) s->sweeps += hals_half(&s->Xt, wt, h, r, in, itol, P->l1w, P->l2w, s->B, s->S, 1, th);
        s->sweeps += hals_half_fused(&s->X, h, wt, r, s->plan.parts, in, itol, P->l1h, P->l2h, s->A, s->S,
                                     s->B, 1.0, th);
        return;
    }
    if (uw && P->volume > 0.0)
        mu_minvol_half(&s->Xt, wt, h, r, P->beta, s->lam, P->delta, fu, s->mu, &P->sw, th);
    else if (uw)
        s->sweeps += driver_half(sv, &s->Xt, wt, h, r, P->beta, in, itol, P->l1w, P->l2w, s->A, s->S, 0, fu, th);
    s->sweeps += driver_half(sv, &s->X, h, wt, r, P->beta, in, itol, P->l1h, P->l2h, s->A, s->S, 0, fu, th);
}

/* append (it, loss) to the trace, which starts small and doubles when full:
 * maxit can be huge while a fit converges after a few checks (and
 * maxit / check + 3 overflows int at maxit = INT_MAX), so it is not sized
 * by maxit up front */
static void trace_push(nmf_result *res, int it, double loss, double pen)
{
    if (res->ntrace == res->cap) {
        double *t2 = (double *) R_alloc(2 * (size_t) res->cap, sizeof(double));
        double *p2 = (double *) R_alloc(2 * (size_t) res->cap, sizeof(double));
        int *i2 = (int *) R_alloc(2 * (size_t) res->cap, sizeof(int));
        memcpy(t2, res->trace, (size_t) res->cap * sizeof(double));
        memcpy(p2, res->trace_pen, (size_t) res->cap * sizeof(double));
        memcpy(i2, res->trace_it, (size_t) res->cap * sizeof(int));
        res->trace = t2; res->trace_pen = p2; res->trace_it = i2; res->cap *= 2;
    }
    res->trace[res->ntrace] = loss;
    res->trace_pen[res->ntrace] = pen;
    res->trace_it[res->ntrace++] = it;
}

static void trace_begin(const nmf_params *P, nmf_result *res)
{
    size_t cap = (size_t) P->maxit / (size_t) P->check + 3;
    if (cap > 1024) cap = 1024;
    res->cap = (int) cap;
    res->ntrace = 0;
    res->trace = (double *) R_alloc(cap, sizeof(double));
    res->trace_pen = (double *) R_alloc(cap, sizeof(double));
    res->trace_it = (int *) R_alloc(cap, sizeof(int));
}

/* the minimum-volume penalty lam logdet(W'W + delta I) (0 when off) */
static double penalty(const nmf_params *P, const nmf_state *s)
{
    if (!(P->volume > 0.0)) return 0.0;
    return s->lam * mu_minvol_logdet(s->wt, s->r, s->X.nrow, P->delta, s->X.blas);
}

/* the weight given (P->lam > 0), else Leplat et al.'s relative weight
 * lam = volume D(X | W0 H0) / |logdet(W0'W0 + delta I)| at the start, in
 * the solver's units */
static void minvol_begin(const nmf_params *P, nmf_state *s, double loss0)
{
    s->lam = 0.0;
    s->mu = NULL;
    if (!(P->volume > 0.0)) return;
    double ld = mu_minvol_logdet(s->wt, s->r, s->X.nrow, P->delta, s->X.blas);
    if (!(fabs(ld) > 0.0)) error("logdet(W'W + delta I) is 0 at the start: minimum volume has no scale");
    s->lam = P->lam > 0.0 ? P->lam : P->volume * loss0 / fabs(ld);
    size_t n_state = mu_minvol_state(s->r, s->X.nrow);
    s->mu = (double *) R_alloc(n_state, sizeof(double));
    for (size_t k = 0; k < n_state; k++) s->mu[k] = 0.0;
}

/* Fit from the factors in s (updated in place) until the loss, evaluated
 * every `check` iterations, decreases by less than `tol` per iteration, or
 * `maxit` iterations.  Every allocation is R_alloc'd or the kernels'
 * scratch (scratch.c, begun by the caller). */
static void nmf_run(const nmf_params *P, nmf_state *s, nmf_result *res)
{
    plan_data(P, s);
    alloc_work(P, s);
    trace_begin(P, res);
    double prev = initial_loss(P, s);
    if (!R_FINITE(prev)) error("the loss at the initial factors is not finite");
    minvol_begin(P, s, prev);
    double pen = penalty(P, s);
    trace_push(res, 0, prev, pen);
    res->loss = prev;
    res->pen = pen;
    prev += pen; /* the stopping rule follows the objective */
    double loss0 = prev;
    int prev_it = 0, it = 0;
    res->converged = 0;
    for (it = 1; it <= P->maxit; it++) {
        /* the kernels' scratch starts over each iteration (scratch.c); any
         * R_alloc made in the iteration is released after the updates and
         * after the loss (only the trace outlives them) */
        const void *vmax = vmaxget();
        scratch_reset();
        update(P, s);
        vmaxset(vmax);
        if (it % P->check == 0 || it == P->maxit) {
            double cur;
            if (P->solver == SOLVER_HALS) {
                cur = hals_loss(&s->X, s->xx, s->A, s->S, P->l2h, s->wt, s->h, s->r, s->HH);
                /* as initial_loss (and the fit read in blocks): directly
                 * where the expansion would cancel, so a (nearly) exact
                 * fit's loss is not its rounding noise, nor 0 */
                if (!(cur > 1e-6 * s->xx)) cur = loss_factored(&s->X, s->wt, s->h, s->r, P->beta, P->threads);
            } else {
                cur = loss_factored(&s->X, s->wt, s->h, s->r, P->beta, P->threads);
            }
            if (!R_FINITE(cur)) error("internal error: the loss became non-finite at iteration %d", it);
            vmaxset(vmax);
            pen = penalty(P, s);
            vmaxset(vmax);
            trace_push(res, it, cur, pen);
            res->loss = cur;
            res->pen = pen;
            cur += pen;
            /* relative to the current loss; on (nearly) exactly factorizable
             * data the loss itself heads to zero, so below a millionth of
             * the initial loss the decrease is measured against that floor */
            double denom = prev > 1e-6 * loss0 ? prev : 1e-6 * loss0;
            double rel = (denom > 0.0) ? (prev - cur) / denom / (it - prev_it) : 0.0;
            if (P->verbose) {
                if (P->run > 0) Rprintf("run %d  ", P->run);
                Rprintf("iteration %5d  loss %.10g  ", it, res->loss * P->unit);
                if (P->volume > 0.0) Rprintf("penalty %.10g  ", pen * P->unit);
                Rprintf("relative decrease %.3e\n", rel);
            }
            prev = cur; prev_it = it;
            /* tol = 0 asks for exactly maxit iterations (benchmarks, tests) */
            if (cur == 0.0 || (P->tol > 0.0 && rel < P->tol)) { res->converged = 1; break; }
        }
        R_CheckUserInterrupt();
    }
    res->iterations = it > P->maxit ? P->maxit : it;
    /* the last iteration is always a check, so res->loss is the loss at
     * the final factors already (near an exact fit, HALS's taken directly) */
}

/* list(wt, h, trace, trace_iter, iterations, loss, sweeps, converged,
 * layout, trace_penalty, penalty, lam): every element named */
static SEXP fit_output(const nmf_params *P, const nmf_state *s, const nmf_result *res, SEXP Wt, SEXP H)
{
    const char *nm[] = {"wt", "h", "trace", "trace_iter", "iterations", "loss", "sweeps", "converged",
                        "layout", "trace_penalty", "penalty", "lam"};
    const char *lay[] = {"copy", "parts", "fused", "npos", "blas"};
    int nout = (int) (sizeof(nm) / sizeof(nm[0])), nprotect = 0;
    SEXP out = PROTECT(allocVector(VECSXP, nout)); nprotect++;
    SEXP names = PROTECT(allocVector(STRSXP, nout)); nprotect++;
    for (int k = 0; k < nout; k++) SET_STRING_ELT(names, k, mkChar(nm[k]));
    setAttrib(out, R_NamesSymbol, names);
    SEXP tr = PROTECT(allocVector(REALSXP, res->ntrace)); nprotect++;
    SEXP tri = PROTECT(allocVector(INTSXP, res->ntrace)); nprotect++;
    SEXP trp = PROTECT(allocVector(REALSXP, res->ntrace)); nprotect++;
    for (int t = 0; t < res->ntrace; t++) {
        REAL(tr)[t] = res->trace[t];
        REAL(trp)[t] = res->trace_pen[t];
        INTEGER(tri)[t] = res->trace_it[t];
    }
    SEXP layout = PROTECT(allocVector(INTSXP, 5)); nprotect++;
    SEXP lnames = PROTECT(allocVector(STRSXP, 5)); nprotect++;
    int lv[] = {s->plan.copy, s->plan.parts, s->plan.fused, s->plan.npos, s->X.blas};
    for (int k = 0; k < 5; k++) { INTEGER(layout)[k] = lv[k]; SET_STRING_ELT(lnames, k, mkChar(lay[k])); }
    setAttrib(layout, R_NamesSymbol, lnames);
    SET_VECTOR_ELT(out, 0, Wt);
    SET_VECTOR_ELT(out, 1, H);
    SET_VECTOR_ELT(out, 2, tr);
    SET_VECTOR_ELT(out, 3, tri);
    SET_VECTOR_ELT(out, 4, ScalarInteger(res->iterations));
    SET_VECTOR_ELT(out, 5, ScalarReal(res->loss));
    SET_VECTOR_ELT(out, 6, ScalarReal(P->solver == SOLVER_HALS ? s->sweeps : NA_REAL));
    SET_VECTOR_ELT(out, 7, ScalarLogical(res->converged));
    SET_VECTOR_ELT(out, 8, layout);
    SET_VECTOR_ELT(out, 9, trp);
    SET_VECTOR_ELT(out, 10, ScalarReal(res->pen));
    SET_VECTOR_ELT(out, 11, ScalarReal(s->lam));
    UNPROTECT(nprotect);
    return out;
}

/* .Call entry: data = list(dense, sparse, dims, hold) with sparse
 * list(p, i, x, xs) or NULL and hold list(p, i) or NULL; wt (r x m) and
 * h (r x n) the starting factors; control a named list (read_params) */
SEXP C_nmf_fit(SEXP data, SEXP wt0, SEXP h0, SEXP control)
{
    int nprotect = 0;
    nmf_params P;
    read_params(control, &P);
    SEXP dims = list_elt(data, "dims", 1);
    if (TYPEOF(dims) != INTSXP || XLENGTH(dims) != 2) error("internal error: 'dims' must be 2 integers");
    int m = INTEGER(dims)[0], n = INTEGER(dims)[1];
    if (m < 0 || n < 0) error("internal error: negative 'dims'");
    if (!isReal(h0) || !isReal(wt0) || !isMatrix(h0) || !isMatrix(wt0))
        error("internal error: factors must be double matrices");
    nmf_state s;
    s.r = nrows(h0);
    if (ncols(h0) != n || nrows(wt0) != s.r || ncols(wt0) != m)
        error("internal error: factor shapes do not match the data");
    data_read(list_elt(data, "dense", 1), list_elt(data, "sparse", 1), m, n, &s.X);
    data_read_held_out(list_elt(data, "hold", 1), &s.X);

    /* the kernels' scratch, reused across iterations (scratch.c) */
    SEXP ws = PROTECT(allocVector(VECSXP, 64)); nprotect++;
    scratch_begin(ws);
    SEXP Wt = PROTECT(duplicate(wt0)); nprotect++;
    SEXP H = PROTECT(duplicate(h0)); nprotect++;
    s.wt = REAL(Wt); s.h = REAL(H);
    nmf_result res;
    nmf_run(&P, &s, &res);
    scratch_end();
    SEXP out = fit_output(&P, &s, &res, Wt, H);
    UNPROTECT(nprotect);
    return out;
}
