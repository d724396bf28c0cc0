// SPDX-License-Identifier: Apache-2.0
// Causal attention's elementwise steps on float32 scores (spindle.autograd.kernels.NativeAttention): the masked
// softmax over the keys and the step from dP to dS. Each value is widened to double and rounded to float once,
// in the order of the Java twins in AttentionKernels, so both give the same bits.
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include "kernel_math.h"

// Softmax of one row over its first `seen` keys into out (0 at the others, NaN everywhere when a masked key holds
// NaN or +inf, as adding a -inf mask would); e holds `seen` doubles of scratch.
static void softmax_row(float *row, int keys, int seen, double *e) {
    int poisoned = 0;
    for (int j = seen; j < keys; j++) {
        poisoned |= !((double) row[j] < INFINITY);
    }
    if (poisoned) {
        for (int j = 0; j < keys; j++) {
            row[j] = NAN;
        }
        return;
    }
    double max = km_max_floats(row, seen);
    __m256d max4 = _mm256_set1_pd(max);
    int j = 0;
    for (; j + 4 <= seen; j += 4) {
        _mm256_storeu_pd(e + j, km_exp4(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(row + j)), max4)));
    }
    for (; j < seen; j++) {
        e[j] = km_exp((double) row[j] - max);
    }
    double sum = 0;
    for (j = 0; j < seen; j++) {
        sum += e[j];
    }
    double scale = 1 / sum;
    __m256d scale4 = _mm256_set1_pd(scale);
    for (j = 0; j + 4 <= seen; j += 4) {
        _mm_storeu_ps(row + j, _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_loadu_pd(e + j), scale4)));
    }
    for (; j < seen; j++) {
        row[j] = (float) (e[j] * scale);
    }
    for (j = seen; j < keys; j++) {
        row[j] = 0.0f;
    }
}

// Row r of the scores [rows, keys] is query r % queries of its block, which sees keys 0 .. keys - queries + that.
// Returns 0, or 1 when the scratch row could not be allocated.
JNIEXPORT jint JNICALL Java_spindle_autograd_kernels_NativeAttention_causalSoftmax(
        JNIEnv *env, jclass cls, jlong s_address, jlong rows, jint keys, jint queries) {
    (void) env;
    (void) cls;
    float *s = (float *) (intptr_t) s_address;
    double *e = malloc(sizeof(double) * (size_t) keys);
    if (e == NULL) {
        return 1;
    }
    for (int64_t r = 0; r < rows; r++) {
        softmax_row(s + r * keys, keys, keys - queries + (int) (r % queries) + 1, e);
    }
    free(e);
    return 0;
}

// dP [rows, keys] becomes P ⊙ (dP - rowsum(dO ⊙ O)), with P [rows, keys] and dO, O [rows, dv].
JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeAttention_scoreGrad(
        JNIEnv *env, jclass cls, jlong dp_address, jlong p_address, jlong do_address, jlong o_address, jlong rows,
        jint keys, jint dv) {
    (void) env;
    (void) cls;
    float *ds = (float *) (intptr_t) dp_address;
    const float *p = (const float *) (intptr_t) p_address;
    const float *d_out = (const float *) (intptr_t) do_address;
    const float *out = (const float *) (intptr_t) o_address;
    for (int64_t r = 0; r < rows; r++) {
        const float *dor = d_out + r * dv;
        const float *orow = out + r * dv;
        double dot = 0;
        for (int j = 0; j < dv; j++) {
            dot += (double) dor[j] * (double) orow[j];
        }
        float *dsr = ds + r * keys;
        const float *pr = p + r * keys;
        for (int j = 0; j < keys; j++) {
            dsr[j] = (float) (((double) dsr[j] - dot) * (double) pr[j]);
        }
    }
}
