/* hungarian.c: the linear assignment problem, exactly, in O(n^2 m).
 *
 * Shortest augmenting paths with dual potentials (Jonker & Volgenant 1987,
 * "A shortest augmenting path algorithm for dense and sparse linear
 * assignment problems", Computing 38; the same dual scheme as the Hungarian
 * method of Kuhn 1955 / Munkres 1957).  Rows are added one at a time; for
 * each, a Dijkstra-like search over columns on the reduced costs
 * c[i, j] - u[i] - v[j] (kept >= 0 on the search tree) finds the cheapest
 * augmenting path to a free column, and the potentials are shifted so the
 * reduced costs of the matched pairs stay zero.  Invariant: the dual
 * (u, v) is feasible (every reduced cost >= 0) and every matched pair is
 * tight (reduced cost 0); once every row is matched, complementary
 * slackness makes the assignment optimal.
 *
 * Works for n rows <= m columns (every row gets a distinct column).  The R
 * side (R/hungarian.R) validates the input (finite, at least one row and
 * column), transposes when there are more rows than columns, and negates for
 * maximisation through the `sign` argument here.
 */
#include <R.h>
#include <Rinternals.h>

/* Minimise sum_i sign * cost[i, col[i]] over injective col: rows 0..n-1,
 * columns 0..m-1, cost column-major n x m with n <= m.  Writes the 0-based
 * column of every row into `col`.  Returns 0, or -1 if the search got stuck
 * (only possible when reduced costs overflow to infinity). */
static int lsap_min(const double *cost, int n, int m, double sign, int *col)
{
    /* 1-based indices as in the textbook form: column 0 is a virtual column
     * that holds the row being inserted; row_of[j] = 0 means column j free */
    double *u = (double *) R_alloc((size_t) n + 1, sizeof(double));
    double *v = (double *) R_alloc((size_t) m + 1, sizeof(double));
    double *minv = (double *) R_alloc((size_t) m + 1, sizeof(double));
    int *row_of = (int *) R_alloc((size_t) m + 1, sizeof(int));
    int *way = (int *) R_alloc((size_t) m + 1, sizeof(int));
    int *used = (int *) R_alloc((size_t) m + 1, sizeof(int));
    int *matched = (int *) R_alloc((size_t) n + 1, sizeof(int));
    for (int j = 0; j <= m; j++) { v[j] = 0.0; row_of[j] = 0; way[j] = 0; }

    /* Cheap start (in the spirit of Jonker & Volgenant's initialisation):
     * u[i] = the row minimum and v = 0 is a feasible dual (all reduced costs
     * >= 0); each row then greedily takes a free column where its reduced
     * cost is 0.  The augmentation below needs only a feasible dual with
     * every matched pair tight, so it starts from this partial matching;
     * on tie-heavy costs most rows are matched here. */
    u[0] = 0.0;
    for (int i = 1; i <= n; i++) {
        const double *crow = cost + (i - 1);
        double best = R_PosInf;
        for (int j = 1; j <= m; j++) {
            double c = sign * crow[(size_t) (j - 1) * n];
            if (c < best) best = c;
        }
        u[i] = best;
        matched[i] = 0;
        for (int j = 1; j <= m; j++) {
            if (row_of[j] == 0 && sign * crow[(size_t) (j - 1) * n] - best == 0.0) {
                row_of[j] = i;
                matched[i] = 1;
                break;
            }
        }
    }

    for (int i = 1; i <= n; i++) {
        if (matched[i]) continue;
        R_CheckUserInterrupt();
        row_of[0] = i;
        int j0 = 0;
        for (int j = 0; j <= m; j++) { minv[j] = R_PosInf; used[j] = 0; }
        do {
            used[j0] = 1;
            int i0 = row_of[j0], j1 = -1;
            double delta = R_PosInf;
            const double *crow = cost + (i0 - 1);
            for (int j = 1; j <= m; j++) {
                if (used[j]) continue;
                double cur = sign * crow[(size_t) (j - 1) * n] - u[i0] - v[j];
                if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                /* strict < keeps the first column among ties: deterministic */
                if (minv[j] < delta || j1 < 0) { delta = minv[j]; j1 = j; }
            }
            if (j1 < 0 || !R_FINITE(delta)) return -1;
            for (int j = 0; j <= m; j++) {
                if (used[j]) { u[row_of[j]] += delta; v[j] -= delta; }
                else minv[j] -= delta;
            }
            j0 = j1;
        } while (row_of[j0] != 0);
        /* augment along the path back to the virtual column */
        do {
            int j1 = way[j0];
            row_of[j0] = row_of[j1];
            j0 = j1;
        } while (j0 != 0);
    }
    for (int j = 1; j <= m; j++)
        if (row_of[j] != 0) col[row_of[j] - 1] = j - 1;
    return 0;
}

/* .Call entry: cost (double matrix, rows <= columns, finite), maximize
 * (logical).  Returns list(assignment = 1-based integer, total = double),
 * the total summed from the original costs. */
SEXP C_hungarian(SEXP cost, SEXP smaximize)
{
    int nprotect = 0;
    if (!isReal(cost) || !isMatrix(cost))
        error("internal error: 'cost' must be a double matrix");
    int n = nrows(cost), m = ncols(cost);
    if (n > m) error("internal error: more rows than columns");
    int maximize = asLogical(smaximize);
    const double *c = REAL(cost);

    int *col = (int *) R_alloc((size_t) (n > 0 ? n : 1), sizeof(int));
    if (n > 0 && lsap_min(c, n, m, maximize ? -1.0 : 1.0, col) != 0)
        error("the assignment search failed: costs too large in magnitude "
              "(their differences overflow a double)");

    SEXP assignment = PROTECT(allocVector(INTSXP, n)); nprotect++;
    int *a = INTEGER(assignment);
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        a[i] = col[i] + 1;
        total += c[i + (size_t) col[i] * n];
    }
    SEXP out = PROTECT(allocVector(VECSXP, 2)); nprotect++;
    SET_VECTOR_ELT(out, 0, assignment);
    SET_VECTOR_ELT(out, 1, ScalarReal(total));
    SEXP names = PROTECT(allocVector(STRSXP, 2)); nprotect++;
    SET_STRING_ELT(names, 0, mkChar("assignment"));
    SET_STRING_ELT(names, 1, mkChar("total"));
    setAttrib(out, R_NamesSymbol, names);
    UNPROTECT(nprotect);
    return out;
}
