// SPDX-License-Identifier: Apache-2.0
// SwiGLU's gate silu(gate) * up over n float32 values (spindle.autograd.kernels.NativeGating), in float32 with the
// operations and their order of the Java kernels in GatingKernels and their exp (kernel_mathf.h), so both give the
// same bits. Eight values at a time (AVX2; each lane the scalar operations), a scalar tail. The backward recomputes
// the sigmoid instead of keeping it.
#include <jni.h>
#include <stdint.h>
#include "kernel_mathf.h"

static inline float sigmoid(float a) {
    return 1.0f / (1.0f + kmf_exp(-a));
}

static inline __m256 sigmoid8(__m256 a) {
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 minus_a = _mm256_xor_ps(a, _mm256_set1_ps(-0.0f));   // negation, exact as in the scalar -a
    return _mm256_div_ps(one, _mm256_add_ps(one, kmf_exp8(minus_a)));
}

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeGating_forward(
        JNIEnv *env, jclass cls, jlong gate_address, jlong up_address, jlong n, jlong y_address) {
    (void) env;
    (void) cls;
    const float *gate = (const float *) (intptr_t) gate_address;
    const float *up = (const float *) (intptr_t) up_address;
    float *y = (float *) (intptr_t) y_address;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_loadu_ps(gate + i);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(a, sigmoid8(a)), _mm256_loadu_ps(up + i)));   // (a s) up
    }
    for (; i < n; i++) {
        float a = gate[i];
        y[i] = a * sigmoid(a) * up[i];
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
    __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_loadu_ps(gate + i);
        __m256 s = sigmoid8(a);
        __m256 gi = _mm256_loadu_ps(g + i);
        if (dup != NULL) {
            _mm256_storeu_ps(dup + i, _mm256_mul_ps(_mm256_mul_ps(gi, a), s));
        }
        if (dgate != NULL) {
            __m256 slope = _mm256_add_ps(one, _mm256_mul_ps(a, _mm256_sub_ps(one, s)));
            _mm256_storeu_ps(dgate + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(gi, _mm256_loadu_ps(up + i)), s),
                                                      slope));
        }
    }
    for (; i < n; i++) {
        float a = gate[i];
        float s = sigmoid(a);
        if (dup != NULL) {
            dup[i] = g[i] * a * s;
        }
        if (dgate != NULL) {
            dgate[i] = g[i] * up[i] * s * (1.0f + a * (1.0f - s));
        }
    }
}
