/* tools/log-poly.c: the coefficients of P in simd.h's VLOG_SERIES.
 *
 *   log u = 2 atanh(s) = s (2 + z P(z)),  s = (u - 1) / (u + 1),  z = s^2,
 *
 * for u in [sqrt(1/2), sqrt(2)], so z <= zmax = (3 - 2 sqrt(2))^2.  P, of
 * degree 6, interpolates f(z) = (2 atanh(sqrt(z)) / sqrt(z) - 2) / z =
 * sum_k 2 z^k / (2k + 3) at the 7 Chebyshev nodes of [0, 1.0001 zmax], by
 * solving the Vandermonde system in long double.  Prints the coefficients
 * (as simd.h has them) and the largest relative error of s (2 + z P(z))
 * against 2 atanhl(s) over a grid of u.
 *
 *   cc -O2 -o log-poly tools/log-poly.c -lm && ./log-poly
 */
#include <math.h>
#include <stdio.h>
#define N 7

static long double f(long double z)
{
    long double s = 0;
    for (int k = 40; k >= 0; k--) s = s * z + 2.0L / (2 * k + 3);
    return s;
}

int main(void)
{
    long double zmax = 3 - 2 * sqrtl(2.0L), A[N][N + 1];
    zmax *= zmax * 1.0001L;
    for (int i = 0; i < N; i++) {
        long double z = zmax * (1 - cosl((2 * i + 1) * 3.14159265358979323846264L / (2 * N))) / 2, p = 1;
        for (int j = 0; j < N; j++, p *= z) A[i][j] = p;
        A[i][N] = f(z);
    }
    for (int c = 0; c < N; c++) { /* Gauss-Jordan with partial pivoting */
        int piv = c;
        for (int r = c + 1; r < N; r++)
            if (fabsl(A[r][c]) > fabsl(A[piv][c])) piv = r;
        for (int j = 0; j <= N; j++) {
            long double t = A[c][j];
            A[c][j] = A[piv][j];
            A[piv][j] = t;
        }
        for (int r = 0; r < N; r++)
            if (r != c) {
                long double m = A[r][c] / A[c][c];
                for (int j = c; j <= N; j++) A[r][j] -= m * A[c][j];
            }
    }
    double co[N];
    for (int i = 0; i < N; i++) {
        co[i] = (double) (A[i][N] / A[i][i]);
        printf("c%d = %.17g\n", i, co[i]);
    }
    long double worst = 0;
    for (int t = 0; t <= 2000000; t++) {
        long double u = sqrtl(0.5L) + (sqrtl(2.0L) - sqrtl(0.5L)) * t / 2000000.0L;
        long double s = (double) ((u - 1) / (u + 1)), z = s * s, p = 0;
        for (int k = N - 1; k >= 0; k--) p = p * z + co[k];
        long double exact = 2 * atanhl(s), e = fabsl((s * (2 + z * p) - exact) / exact);
        if (s != 0 && e > worst) worst = e;
    }
    printf("largest relative error %Lg (2^%.1f)\n", worst, log2((double) worst));
    return 0;
}
