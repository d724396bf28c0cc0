// SPDX-License-Identifier: Apache-2.0
// Float32 matrix products (spindle.autograd.kernels.NativeGemm): C = alpha·op(A)·op(B) + beta·C for row-major
// matrices with leading dimensions, op a transpose where asked, batched with a stride per operand (0: one matrix for
// every batch entry), on one thread, as the data-parallel replicas already fill the cores. Small products run here
// with only B packed (their operands sit in cache already, and packing A would cost more than it saves); products
// above BLOCKED_MIN run in gemm_blocked.c, blocked for the caches.
//
// Every output element is computed the same way whatever the blocking, so the Java twin in the tests gives the same
// bits: acc = 0, then acc = fma(A[i][p], B[p][j], acc) for p = 0 .. k-1, then t = alpha·acc (one rounding), then
// C[i][j] = t when beta is 0 (C is not read, as BLAS) else fma(beta, C[i][j], t). The fused multiply-adds come from
// the target attribute below (build.sh's -ffp-contract=off still keeps the compiler from fusing anything else), and
// the library asks the CPU before the Java side calls in.
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>
#include "gemm.h"

#define STACK_DEPTH 512           // a B panel of up to this many k lives on the stack (32 KB), else on the heap
#define BLOCKED_MIN (1 << 24)     // products of more multiply-adds than this go to gemm_blocked.c

static operand op_of(const float *x, int64_t ld, int transposed) {
    operand o = {x, transposed ? 1 : ld, transposed ? ld : 1};
    return o;
}

// Copies columns j0 .. j0+nr-1 of op(B) [k, n] into panel [k][NR], zeros after nr.
FMA_TARGET static void pack_panel(operand b, int64_t k, int64_t j0, int nr, float *panel) {
    for (int64_t p = 0; p < k; p++) {
        const float *src = b.x + p * b.row_step + j0 * b.col_step;
        float *dst = panel + p * NR;
        for (int j = 0; j < nr; j++) {
            dst[j] = src[j * b.col_step];
        }
        for (int j = nr; j < NR; j++) {
            dst[j] = 0.0f;
        }
    }
}

// Lanes 0 .. n-1 set (n in 0 .. 8), for loads and stores that must not touch the columns past C's edge.
FMA_TARGET static __m256i lanes(int n) {
    __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), index);
}

// c[0 .. nr-1] = alpha·acc (+ beta·c), the lanes past nr left alone.
FMA_TARGET static void store_row(float *c, __m256 acc0, __m256 acc1, float alpha, float beta, int nr) {
    __m256 a = _mm256_set1_ps(alpha);
    __m256 t0 = _mm256_mul_ps(a, acc0);
    __m256 t1 = _mm256_mul_ps(a, acc1);
    if (nr == NR) {
        if (beta != 0.0f) {
            __m256 b = _mm256_set1_ps(beta);
            t0 = _mm256_fmadd_ps(b, _mm256_loadu_ps(c), t0);
            t1 = _mm256_fmadd_ps(b, _mm256_loadu_ps(c + 8), t1);
        }
        _mm256_storeu_ps(c, t0);
        _mm256_storeu_ps(c + 8, t1);
        return;
    }
    __m256i m0 = lanes(nr < 8 ? nr : 8);
    __m256i m1 = lanes(nr > 8 ? nr - 8 : 0);
    if (beta != 0.0f) {
        __m256 b = _mm256_set1_ps(beta);
        t0 = _mm256_fmadd_ps(b, _mm256_maskload_ps(c, m0), t0);
        t1 = _mm256_fmadd_ps(b, _mm256_maskload_ps(c + 8, m1), t1);
    }
    _mm256_maskstore_ps(c, m0, t0);
    _mm256_maskstore_ps(c + 8, m1, t1);
}

#define ROW_FMA(r) {                                                        \
        __m256 x = _mm256_broadcast_ss(ap + offset##r);                     \
        c##r##0 = _mm256_fmadd_ps(x, b0, c##r##0);                          \
        c##r##1 = _mm256_fmadd_ps(x, b1, c##r##1);                          \
    }
#define STORE_ROW(r) \
    if (r < mr) store_row(c + (i0 + r) * ldc, c##r##0, c##r##1, alpha, beta, nr);

// Rows i0 .. i0+mr-1 (mr <= MR) of C times one packed panel of nr columns. Rows past mr repeat the last row's
// reads (never past A's edge) and are not stored. The accumulators are named variables rather than an array, which
// gcc would keep in memory.
FMA_TARGET static void tile(operand a, int64_t i0, int mr, int64_t k, const float *panel, float *c, int64_t ldc,
                            int nr, float alpha, float beta) {
    int64_t offset0 = i0 * a.row_step;
    int64_t offset1 = (i0 + (mr > 1 ? 1 : mr - 1)) * a.row_step;
    int64_t offset2 = (i0 + (mr > 2 ? 2 : mr - 1)) * a.row_step;
    int64_t offset3 = (i0 + (mr > 3 ? 3 : mr - 1)) * a.row_step;
    int64_t offset4 = (i0 + (mr > 4 ? 4 : mr - 1)) * a.row_step;
    int64_t offset5 = (i0 + (mr > 5 ? 5 : mr - 1)) * a.row_step;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t p = 0; p < k; p++) {
        const float *ap = a.x + p * a.col_step;
        __m256 b0 = _mm256_load_ps(panel + p * NR);
        __m256 b1 = _mm256_load_ps(panel + p * NR + 8);
        ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3) ROW_FMA(4) ROW_FMA(5)
    }
    STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5)
}

FMA_TARGET static void product(operand a, operand b, float *c, int64_t ldc, int64_t m, int64_t n, int64_t k,
                               float alpha, float beta, float *panel) {
    for (int64_t j0 = 0; j0 < n; j0 += NR) {
        int nr = n - j0 < NR ? (int) (n - j0) : NR;
        pack_panel(b, k, j0, nr, panel);
        for (int64_t i0 = 0; i0 < m; i0 += MR) {
            int mr = m - i0 < MR ? (int) (m - i0) : MR;
            tile(a, i0, mr, k, panel, c + j0, ldc, nr, alpha, beta);
        }
    }
}

JNIEXPORT jboolean JNICALL Java_spindle_autograd_kernels_NativeGemm_cpuHasFma(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? JNI_TRUE : JNI_FALSE;
}

// Returns 0, or 1 when scratch memory (a B panel deeper than STACK_DEPTH, or gemm_blocked.c's blocks) could not be
// allocated.
JNIEXPORT jint JNICALL Java_spindle_autograd_kernels_NativeGemm_gemm(
        JNIEnv *env, jclass cls, jlong a_address, jlong b_address, jlong c_address, jlong batch, jlong m, jlong n,
        jlong k, jboolean ta, jboolean tb, jlong lda, jlong ldb, jlong ldc, jlong batch_a, jlong batch_b,
        jlong batch_c, jfloat alpha, jfloat beta) {
    (void) env;
    (void) cls;
    const float *a = (const float *) (intptr_t) a_address;
    const float *b = (const float *) (intptr_t) b_address;
    float *c = (float *) (intptr_t) c_address;
    if ((double) m * n * k > BLOCKED_MIN) {
        for (int64_t t = 0; t < batch; t++) {
            if (gemm_blocked(op_of(a + t * batch_a, lda, ta), op_of(b + t * batch_b, ldb, tb), c + t * batch_c, ldc,
                             m, n, k, alpha, beta) != 0) {
                return 1;
            }
        }
        return 0;
    }
    _Alignas(32) float stack_panel[STACK_DEPTH * NR];
    float *panel = stack_panel;
    if (k > STACK_DEPTH) {
        panel = aligned_alloc(32, (size_t) k * NR * sizeof(float));
        if (panel == NULL) {
            return 1;
        }
    }
    for (int64_t t = 0; t < batch; t++) {
        product(op_of(a + t * batch_a, lda, ta), op_of(b + t * batch_b, ldb, tb), c + t * batch_c, ldc, m, n, k,
                alpha, beta, panel);
    }
    if (panel != stack_panel) {
        free(panel);
    }
    return 0;
}
