/* Measured double-precision FMA peak of one core, for bench/targets.R.
 *
 * A register-blocked 4 x 12 micro-kernel (12 ymm accumulators, the shape of a
 * GEMM inner kernel: C[4 x 12] += A[4 x k] B[k x 12] with broadcasts of A),
 * run over k = 256 with A and B in L1, repeated.  Compiled by the bench with
 *   cc -O2 -mavx2 -mfma bench/peak.c -o /tmp/...
 * Prints one line: "peak_gflops <GFLOP/s> ..." (best of 5 timings).
 * Without AVX2/FMA (cc fails or CPU lacks it) the bench reports no peak. */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define K 256
static double A[K * 4] __attribute__((aligned(32)));
static double B[K * 12] __attribute__((aligned(32)));
static double C[4 * 12] __attribute__((aligned(32)));

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void kernel(long reps) {
  for (long r = 0; r < reps; r++) {
    __m256d c00 = _mm256_load_pd(C + 0), c01 = _mm256_load_pd(C + 4), c02 = _mm256_load_pd(C + 8);
    __m256d c10 = _mm256_load_pd(C + 12), c11 = _mm256_load_pd(C + 16), c12 = _mm256_load_pd(C + 20);
    __m256d c20 = _mm256_load_pd(C + 24), c21 = _mm256_load_pd(C + 28), c22 = _mm256_load_pd(C + 32);
    __m256d c30 = _mm256_load_pd(C + 36), c31 = _mm256_load_pd(C + 40), c32 = _mm256_load_pd(C + 44);
    const double *a = A, *b = B;
    for (int k = 0; k < K; k++, a += 4, b += 12) {
      __m256d b0 = _mm256_load_pd(b), b1 = _mm256_load_pd(b + 4), b2 = _mm256_load_pd(b + 8);
      __m256d a0 = _mm256_broadcast_sd(a + 0);
      c00 = _mm256_fmadd_pd(a0, b0, c00); c01 = _mm256_fmadd_pd(a0, b1, c01); c02 = _mm256_fmadd_pd(a0, b2, c02);
      __m256d a1 = _mm256_broadcast_sd(a + 1);
      c10 = _mm256_fmadd_pd(a1, b0, c10); c11 = _mm256_fmadd_pd(a1, b1, c11); c12 = _mm256_fmadd_pd(a1, b2, c12);
      __m256d a2 = _mm256_broadcast_sd(a + 2);
      c20 = _mm256_fmadd_pd(a2, b0, c20); c21 = _mm256_fmadd_pd(a2, b1, c21); c22 = _mm256_fmadd_pd(a2, b2, c22);
      __m256d a3 = _mm256_broadcast_sd(a + 3);
      c30 = _mm256_fmadd_pd(a3, b0, c30); c31 = _mm256_fmadd_pd(a3, b1, c31); c32 = _mm256_fmadd_pd(a3, b2, c32);
    }
    _mm256_store_pd(C + 0, c00); _mm256_store_pd(C + 4, c01); _mm256_store_pd(C + 8, c02);
    _mm256_store_pd(C + 12, c10); _mm256_store_pd(C + 16, c11); _mm256_store_pd(C + 20, c12);
    _mm256_store_pd(C + 24, c20); _mm256_store_pd(C + 28, c21); _mm256_store_pd(C + 32, c22);
    _mm256_store_pd(C + 36, c30); _mm256_store_pd(C + 40, c31); _mm256_store_pd(C + 44, c32);
  }
}

int main(void) {
  for (int i = 0; i < K * 4; i++) A[i] = 1e-9 * (i % 7);
  for (int i = 0; i < K * 12; i++) B[i] = 1e-9 * (i % 5);
  long reps = 20000;
  kernel(reps); /* warm up (and let the clock ramp) */
  double best = 1e30;
  for (int t = 0; t < 5; t++) {
    double t0 = now();
    kernel(reps);
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  double flops = 2.0 * 4 * 12 * K * (double)reps;
  double check = 0;
  for (int i = 0; i < 48; i++) check += C[i];
  printf("peak_gflops %.3f seconds %.4f flops %.0f checksum %g\n", flops / best / 1e9, best, flops, check);
  return 0;
}
