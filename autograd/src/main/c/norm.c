// SPDX-License-Identifier: Apache-2.0
// RMSNorm over the rows of float32 x [rows, d] (spindle.autograd.kernels.NativeNorm): the forward and the backward,
// one pass over the rows each, in float64 with the operations and their order of the Java kernels in NormKernels,
// so both round the same float64 values to float32.
#include <jni.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

enum dx_mode { DX_NONE = 0, DX_STORE = 1, DX_ADD = 2 };

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeNorm_forward(
        JNIEnv *env, jclass cls, jlong x_address, jlong w_address, jdouble eps, jlong rows, jlong d,
        jlong y_address, jlong r_address) {
    (void) env;
    (void) cls;
    const float *x = (const float *) (intptr_t) x_address;
    const float *w = (const float *) (intptr_t) w_address;
    float *y = (float *) (intptr_t) y_address;
    double *r = (double *) (intptr_t) r_address;
    for (int64_t i = 0; i < rows; i++) {
        const float *xi = x + i * d;
        float *yi = y + i * d;
        double squares = 0;
        for (int64_t j = 0; j < d; j++) {
            double v = xi[j];
            squares += v * v;
        }
        double ri = 1 / sqrt(squares / (double) d + eps);
        r[i] = ri;
        for (int64_t j = 0; j < d; j++) {
            yi[j] = (float) ((double) xi[j] * ri * (double) w[j]);
        }
    }
}

// Returns 0, or -1 when the float64 sums of dw could not be allocated (nothing is written then).
JNIEXPORT jint JNICALL Java_spindle_autograd_kernels_NativeNorm_backward(
        JNIEnv *env, jclass cls, jlong x_address, jlong w_address, jlong r_address, jlong g_address, jlong rows,
        jlong d, jlong dx_address, jint mode, jlong dw_address) {
    (void) env;
    (void) cls;
    const float *x = (const float *) (intptr_t) x_address;
    const float *w = (const float *) (intptr_t) w_address;
    const double *r = (const double *) (intptr_t) r_address;
    const float *g = (const float *) (intptr_t) g_address;
    float *dx = (float *) (intptr_t) dx_address;
    float *dw = (float *) (intptr_t) dw_address;
    double *dw_sums = NULL;
    if (dw != NULL && (dw_sums = calloc((size_t) d, sizeof(double))) == NULL) {
        return -1;
    }
    for (int64_t i = 0; i < rows; i++) {
        const float *xi = x + i * d;
        const float *gi = g + i * d;
        double ri = r[i];
        double m = 0;
        for (int64_t j = 0; j < d; j++) {
            double gx = (double) gi[j] * (double) xi[j] * ri;   // g x̂
            m += gx * (double) w[j];
            if (dw_sums != NULL) {
                dw_sums[j] += gx;
            }
        }
        m /= (double) d;
        float *dxi = dx + i * d;
        if (mode == DX_STORE) {
            for (int64_t j = 0; j < d; j++) {
                dxi[j] = (float) (ri * ((double) gi[j] * (double) w[j] - (double) xi[j] * ri * m));
            }
        } else if (mode == DX_ADD) {   // the residual stream's gradient so far plus this part, rounded once
            for (int64_t j = 0; j < d; j++) {
                dxi[j] = (float) ((double) dxi[j] + ri * ((double) gi[j] * (double) w[j] - (double) xi[j] * ri * m));
            }
        }
    }
    if (dw_sums != NULL) {
        for (int64_t j = 0; j < d; j++) {
            dw[j] = (float) dw_sums[j];
        }
        free(dw_sums);
    }
    return 0;
}
