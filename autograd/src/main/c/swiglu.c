// SPDX-License-Identifier: Apache-2.0
// SwiGLU's gate silu(gate) * up over n float32 values (spindle.autograd.kernels.NativeGating), in float64 with the
// operations and their order of the Java kernels in GatingKernels and their exp (kernel_math.h), so both round the
// same float64 values to float32. Four values at a time (AVX2; each lane the scalar operations), a scalar tail.
// The backward recomputes the sigmoid instead of keeping it.
#include <jni.h>
#include <stdint.h>
#include "kernel_math.h"

static inline double sigmoid(double a) {
    return 1 / (1 + km_exp(-a));
}

static inline __m256d sigmoid4(__m256d a) {
    __m256d one = _mm256_set1_pd(1.0);
    __m256d minus_a = _mm256_xor_pd(a, _mm256_set1_pd(-0.0));   // negation, exact as in the scalar -a
    return _mm256_div_pd(one, _mm256_add_pd(one, km_exp4(minus_a)));
}

static inline __m256d load4(const float *v) {
    return _mm256_cvtps_pd(_mm_loadu_ps(v));
}

static inline void store4(float *v, __m256d x) {
    _mm_storeu_ps(v, _mm256_cvtpd_ps(x));
}

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeGating_forward(
        JNIEnv *env, jclass cls, jlong gate_address, jlong up_address, jlong n, jlong y_address) {
    (void) env;
    (void) cls;
    const float *gate = (const float *) (intptr_t) gate_address;
    const float *up = (const float *) (intptr_t) up_address;
    float *y = (float *) (intptr_t) y_address;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d a = load4(gate + i);
        store4(y + i, _mm256_mul_pd(_mm256_mul_pd(a, sigmoid4(a)), load4(up + i)));   // (a s) up
    }
    for (; i < n; i++) {
        double a = gate[i];
        y[i] = (float) (a * sigmoid(a) * (double) up[i]);
    }
}

// dgate or dup may be 0 (not needed): dup = g a s, dgate = g up s (1 + a (1 - s)), each product left to right.
JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeGating_backward(
        JNIEnv *env, jclass cls, jlong gate_address, jlong up_address, jlong g_address, jlong n,
        jlong dgate_address, jlong dup_address) {
    (void) env;
    (void) cls;
    const float *gate = (const float *) (intptr_t) gate_address;
    const float *up = (const float *) (intptr_t) up_address;
    const float *g = (const float *) (intptr_t) g_address;
    float *dgate = (float *) (intptr_t) dgate_address;
    float *dup = (float *) (intptr_t) dup_address;
    __m256d one = _mm256_set1_pd(1.0);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d a = load4(gate + i);
        __m256d s = sigmoid4(a);
        __m256d gi = load4(g + i);
        if (dup != NULL) {
            store4(dup + i, _mm256_mul_pd(_mm256_mul_pd(gi, a), s));
        }
        if (dgate != NULL) {
            __m256d slope = _mm256_add_pd(one, _mm256_mul_pd(a, _mm256_sub_pd(one, s)));
            store4(dgate + i, _mm256_mul_pd(_mm256_mul_pd(_mm256_mul_pd(gi, load4(up + i)), s), slope));
        }
    }
    for (; i < n; i++) {
        double a = gate[i];
        double s = sigmoid(a);
        if (dup != NULL) {
            dup[i] = (float) ((double) g[i] * a * s);
        }
        if (dgate != NULL) {
            dgate[i] = (float) ((double) g[i] * (double) up[i] * s * (1 + a * (1 - s)));
        }
    }
}
