/* scratch.c: the kernels' temporary memory during a fit.
 *
 * Every half update needs scratch arrays (padded factors, products, ratio
 * blocks) whose sizes are the same at every iteration.  Taking them from
 * R_alloc each time leaves them to R's garbage collector: a fit then carries
 * megabytes of dead scratch per iteration until the next collection (peak
 * memory well above what the fit needs) and pays fresh pages every time.
 * Instead C_nmf_fit hands scratch_begin() a PROTECTed list whose elements
 * become chunks of doubles on demand; each iteration starts over at the
 * first chunk (scratch_reset), and because the iterations ask for the same
 * sizes in the same order, the chunks made in the first iteration serve
 * all the others.  Nothing here outlives the .Call: the chunks belong to
 * R's heap and go when the list does, on return, error or interrupt.
 *
 * Outside a fit (no list, or after scratch_end) scratch_alloc is R_alloc.
 * Every .Call entry that reaches the kernels calls scratch_begin or
 * scratch_end first, so a list left behind by an error is never used.
 * Only the main thread allocates (never inside a parallel region).
 */
#include "betanmf.h"

static SEXP arena = NULL;
static R_xlen_t chunk = 0, used = 0;

void scratch_begin(SEXP list)
{
    arena = list;
    chunk = used = 0;
}

void scratch_end(void) { arena = NULL; }

/* make the first chunk hold at least n doubles (if it is not made yet), for
 * a caller that knows its largest demand between resets: one chunk of that
 * size instead of a second 1 MiB chunk for the last request that spilled */
void scratch_reserve(size_t n)
{
    if (!arena || XLENGTH(arena) < 1 || VECTOR_ELT(arena, 0) != R_NilValue) return;
    R_xlen_t len = (R_xlen_t) n > (1 << 17) ? (R_xlen_t) n : (1 << 17);
    SET_VECTOR_ELT(arena, 0, allocVector(REALSXP, len));
}

void scratch_reset(void) { chunk = used = 0; }

char *scratch_alloc(size_t n, int size)
{
    size_t bytes = n * (size_t) size;
    if (!arena) return R_alloc(n, size);
    /* in doubles, rounded up to a 64-byte multiple so every block starts
     * on a fresh cache line relative to its chunk */
    R_xlen_t nd = (R_xlen_t) ((bytes + 63) / 64 * 8);
    if (nd == 0) nd = 8;
    while (chunk < XLENGTH(arena)) {
        SEXP c = VECTOR_ELT(arena, chunk);
        if (c == R_NilValue) {
            R_xlen_t len = nd > (1 << 17) ? nd : (1 << 17); /* at least 1 MiB */
            c = allocVector(REALSXP, len);
            SET_VECTOR_ELT(arena, chunk, c);
            used = 0;
        }
        if (used + nd <= XLENGTH(c)) {
            char *p = (char *) (REAL(c) + used);
            used += nd;
            return p;
        }
        chunk++;
        used = 0;
    }
    return R_alloc(n, size); /* out of chunk slots: still correct */
}
