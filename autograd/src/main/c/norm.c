// SPDX-License-Identifier: Apache-2.0
// RMSNorm over the rows of float32 x [rows, d] (spindle.autograd.kernels.NativeNorm): the forward and the backward,
// one pass over the rows each, in float64 with the operations and their order of the Java kernels in NormKernels,
// so both round the same float64 values to float32.
#include <jni.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

enum dx_mode { DX_NONE = 0, DX_STORE = 1, DX_ADD = 2 };

// s[k] = the sum over j = 0 .. d-1, in that order, of x[k][j]² in float64, for the n <= 4 rows from x (row stride
// d): the rows' chains of adds run side by side, each as the Java twin sums it, so they overlap instead of waiting
// on every add.
static void sums_of_squares(const float *x, int64_t d, int n, double s[4]) {
    const float *x0 = x, *x1 = x + (n > 1 ? d : 0), *x2 = x + (n > 2 ? 2 * d : 0), *x3 = x + (n > 3 ? 3 * d : 0);
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;   // rows past n repeat row 0 and are dropped
    for (int64_t j = 0; j < d; j++) {
        double v0 = x0[j], v1 = x1[j], v2 = x2[j], v3 = x3[j];
        s0 += v0 * v0;
        s1 += v1 * v1;
        s2 += v2 * v2;
        s3 += v3 * v3;
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3;
}

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeNorm_forward(
        JNIEnv *env, jclass cls, jlong x_address, jlong w_address, jdouble eps, jlong rows, jlong d,
        jlong y_address, jlong r_address) {
    (void) env;
    (void) cls;
    const float *x = (const float *) (intptr_t) x_address;
    const float *w = (const float *) (intptr_t) w_address;
    float *y = (float *) (intptr_t) y_address;
    double *r = (double *) (intptr_t) r_address;
    for (int64_t i0 = 0; i0 < rows; i0 += 4) {
        int n = rows - i0 < 4 ? (int) (rows - i0) : 4;
        double squares[4];
        sums_of_squares(x + i0 * d, d, n, squares);
        for (int k = 0; k < n; k++) {
            const float *xi = x + (i0 + k) * d;
            float *yi = y + (i0 + k) * d;
            double ri = 1 / sqrt(squares[k] / (double) d + eps);
            r[i0 + k] = ri;
            for (int64_t j = 0; j < d; j++) {
                yi[j] = (float) ((double) xi[j] * ri * (double) w[j]);
            }
        }
    }
}

// For the n <= 4 rows from x and g: m[k] = mean over j of g x̂ w (x̂ = x · r[k]), summed in order j = 0 .. d-1, and
// dw_sums[j] += g x̂ row after row when dw_sums is not NULL; four rows' chains side by side, as sums_of_squares.
static void weighted_means(const float *x, const float *g, const float *w, const double *r, int64_t d, int n,
                           double m[4], double *dw_sums) {
    double s[4] = {0, 0, 0, 0};
    for (int64_t j = 0; j < d; j++) {
        double gx[4];
        for (int k = 0; k < 4; k++) {
            int row = k < n ? k : 0;   // rows past n repeat row 0 and are dropped
            gx[k] = (double) g[row * d + j] * (double) x[row * d + j] * r[row];   // g x̂
            s[k] += gx[k] * (double) w[j];
        }
        if (dw_sums != NULL) {
            for (int k = 0; k < n; k++) {
                dw_sums[j] += gx[k];
            }
        }
    }
    for (int k = 0; k < 4; k++) {
        m[k] = s[k] / (double) d;
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
    for (int64_t i0 = 0; i0 < rows; i0 += 4) {
        int n = rows - i0 < 4 ? (int) (rows - i0) : 4;
        double m[4];
        weighted_means(x + i0 * d, g + i0 * d, w, r + i0, d, n, m, dw_sums);
        for (int k = 0; k < n; k++) {
            const float *xi = x + (i0 + k) * d;
            const float *gi = g + (i0 + k) * d;
            double ri = r[i0 + k], mk = m[k];
            float *dxi = dx + (i0 + k) * d;
            if (mode == DX_STORE) {
                for (int64_t j = 0; j < d; j++) {
                    dxi[j] = (float) (ri * ((double) gi[j] * (double) w[j] - (double) xi[j] * ri * mk));
                }
            } else if (mode == DX_ADD) {   // the residual stream's gradient so far plus this part, rounded once
                for (int64_t j = 0; j < d; j++) {
                    dxi[j] = (float) ((double) dxi[j] + ri * ((double) gi[j] * (double) w[j]
                                                              - (double) xi[j] * ri * mk));
                }
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
