// SPDX-License-Identifier: Apache-2.0
// A MoE layer's weighted combination of its experts' output rows and its backward, for float32
// (spindle.autograd.kernels.NativeCombine), with the operations and their order of the Java twin in CombineKernels:
// y[n] = sum over k of w[n, k] rows[row[n K + k]] in float64 in k order, rounded once; the rows' gradient adds
// w[n, k] g[n] into row[n K + k] in slot order, rounding each sum to float32; the weights' gradient is the float64
// dot product of the row and g[n], in channel order, rounded once. Rows are checked in range by the Java side.
#include <jni.h>
#include <stdint.h>

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeCombine_forward(
        JNIEnv *env, jclass cls, jlong rows_address, jlong row_address, jlong w_address, jlong n, jint k, jlong h,
        jlong y_address) {
    (void) env;
    (void) cls;
    const float *rows = (const float *) (intptr_t) rows_address;
    const int64_t *row = (const int64_t *) (intptr_t) row_address;
    const float *w = (const float *) (intptr_t) w_address;
    float *y = (float *) (intptr_t) y_address;
    for (int64_t t = 0; t < n; t++) {
        float *out = y + t * h;
        for (int64_t j = 0; j < h; j++) {
            double acc = 0;
            for (int s = 0; s < k; s++) {
                acc += (double) w[t * k + s] * (double) rows[row[t * k + s] * h + j];
            }
            out[j] = (float) acc;
        }
    }
}

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeCombine_backward(
        JNIEnv *env, jclass cls, jlong rows_address, jlong m, jlong row_address, jlong w_address, jlong g_address,
        jlong n, jint k, jlong h, jlong drows_address, jlong dw_address) {
    (void) env;
    (void) cls;
    const float *rows = (const float *) (intptr_t) rows_address;
    const int64_t *row = (const int64_t *) (intptr_t) row_address;
    const float *w = (const float *) (intptr_t) w_address;
    const float *g = (const float *) (intptr_t) g_address;
    float *drows = (float *) (intptr_t) drows_address;
    float *dw = (float *) (intptr_t) dw_address;
    if (drows) {
        for (int64_t i = 0; i < m * h; i++) {
            drows[i] = 0;
        }
    }
    for (int64_t t = 0; t < n; t++) {
        const float *gt = g + t * h;
        for (int s = 0; s < k; s++) {
            int64_t p = t * k + s;
            const float *r = rows + row[p] * h;
            if (drows) {
                float *d = drows + row[p] * h;
                double ws = w[p];
                for (int64_t j = 0; j < h; j++) {
                    d[j] = (float) ((double) d[j] + ws * (double) gt[j]);
                }
            }
            if (dw) {
                double dot = 0;
                for (int64_t j = 0; j < h; j++) {
                    dot += (double) r[j] * (double) gt[j];
                }
                dw[p] = (float) dot;
            }
        }
    }
}
