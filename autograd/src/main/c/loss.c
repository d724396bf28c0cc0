// SPDX-License-Identifier: Apache-2.0
// Cross-entropy over float32 logits [n, c] with class targets (spindle.autograd.kernels.NativeLoss), in double
// and in the order of the Java twins in LossKernels, so both give the same bits. The forward keeps each row's
// max and sum of exponentials; the backward recomputes the probabilities from them (no [n, c] array is kept).
#include <jni.h>
#include <stdint.h>
#include "kernel_math.h"

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeLoss_forward(
        JNIEnv *env, jclass cls, jlong x_address, jlongArray targets, jlong ignore, jint n, jint c,
        jdoubleArray losses, jdoubleArray maxes, jdoubleArray sums) {
    (void) cls;
    const float *x = (const float *) (intptr_t) x_address;
    jlong *t = (*env)->GetPrimitiveArrayCritical(env, targets, NULL);
    jdouble *loss = (*env)->GetPrimitiveArrayCritical(env, losses, NULL);
    jdouble *row_max = (*env)->GetPrimitiveArrayCritical(env, maxes, NULL);
    jdouble *row_sum = (*env)->GetPrimitiveArrayCritical(env, sums, NULL);
    for (int r = 0; r < n; r++) {
        const float *row = x + (int64_t) r * c;
        double max = km_max_floats(row, c);
        double sum = 0;
        int j = 0;
        for (; j + 4 <= c; j += 4) {   // four exponentials at a time, added in order
            double e[4];
            _mm256_storeu_pd(e, km_exp4(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(row + j)), _mm256_set1_pd(max))));
            sum = sum + e[0] + e[1] + e[2] + e[3];
        }
        for (; j < c; j++) {
            sum += km_exp((double) row[j] - max);
        }
        row_max[r] = max;
        row_sum[r] = sum;
        loss[r] = t[r] == ignore ? 0 : max + km_log(sum) - (double) row[t[r]];
    }
    (*env)->ReleasePrimitiveArrayCritical(env, sums, row_sum, 0);
    (*env)->ReleasePrimitiveArrayCritical(env, maxes, row_max, 0);
    (*env)->ReleasePrimitiveArrayCritical(env, losses, loss, 0);
    (*env)->ReleasePrimitiveArrayCritical(env, targets, t, JNI_ABORT);
}

// dx = (softmax(x) - onehot(t)) · s per row, s = row_scale[r] (or `scale` when row_scale is null); 0 for ignored rows.
JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeLoss_backward(
        JNIEnv *env, jclass cls, jlong x_address, jlongArray targets, jlong ignore, jdoubleArray row_scales,
        jdouble scale, jint n, jint c, jdoubleArray maxes, jdoubleArray sums, jlong dx_address) {
    (void) cls;
    const float *x = (const float *) (intptr_t) x_address;
    float *dx = (float *) (intptr_t) dx_address;
    jlong *t = (*env)->GetPrimitiveArrayCritical(env, targets, NULL);
    jdouble *row_scale = row_scales == NULL ? NULL : (*env)->GetPrimitiveArrayCritical(env, row_scales, NULL);
    jdouble *row_max = (*env)->GetPrimitiveArrayCritical(env, maxes, NULL);
    jdouble *row_sum = (*env)->GetPrimitiveArrayCritical(env, sums, NULL);
    for (int r = 0; r < n; r++) {
        const float *row = x + (int64_t) r * c;
        float *out = dx + (int64_t) r * c;
        if (t[r] == ignore) {
            for (int j = 0; j < c; j++) {
                out[j] = 0.0f;
            }
            continue;
        }
        double s = row_scale == NULL ? scale : row_scale[r];
        double max = row_max[r], sum = row_sum[r];
        __m256d max4 = _mm256_set1_pd(max), sum4 = _mm256_set1_pd(sum), s4 = _mm256_set1_pd(s);
        int j = 0;
        for (; j + 4 <= c; j += 4) {
            __m256d e = km_exp4(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(row + j)), max4));
            _mm_storeu_ps(out + j, _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_div_pd(e, sum4), s4)));
        }
        for (; j < c; j++) {
            out[j] = (float) (km_exp((double) row[j] - max) / sum * s);
        }
        out[t[r]] = (float) (km_exp((double) row[t[r]] - max) / sum * s - s);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, sums, row_sum, JNI_ABORT);
    (*env)->ReleasePrimitiveArrayCritical(env, maxes, row_max, JNI_ABORT);
    if (row_scale != NULL) {
        (*env)->ReleasePrimitiveArrayCritical(env, row_scales, row_scale, JNI_ABORT);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, targets, t, JNI_ABORT);
}
