// SPDX-License-Identifier: Apache-2.0
// SwiGLU's gate silu(gate) * up over n float32 values (spindle.autograd.kernels.NativeGating), in float64 with the
// operations and their order of the Java kernels in GatingKernels, and the same exp (kernel_exp.h), so both round
// the same float64 values to float32. The backward recomputes the sigmoid instead of keeping it.
#include <jni.h>
#include <stdint.h>
#include "kernel_exp.h"

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeGating_forward(
        JNIEnv *env, jclass cls, jlong gate_address, jlong up_address, jlong n, jlong y_address) {
    (void) env;
    (void) cls;
    const float *gate = (const float *) (intptr_t) gate_address;
    const float *up = (const float *) (intptr_t) up_address;
    float *y = (float *) (intptr_t) y_address;
    for (int64_t i = 0; i < n; i++) {
        double a = gate[i];
        double s = 1 / (1 + kernel_exp(-a));
        y[i] = (float) (a * s * (double) up[i]);
    }
}

// One pass for the gradients asked for; called with constant flags, so each variant is a branch-free loop that
// vectorizes.
static inline void backward_pass(const float *gate, const float *up, const float *g, int64_t n, float *dgate,
                                 float *dup, int with_dgate, int with_dup) {
    for (int64_t i = 0; i < n; i++) {
        double a = gate[i];
        double s = 1 / (1 + kernel_exp(-a));
        if (with_dup) {
            dup[i] = (float) ((double) g[i] * a * s);
        }
        if (with_dgate) {
            dgate[i] = (float) ((double) g[i] * (double) up[i] * s * (1 + a * (1 - s)));
        }
    }
}

// dgate or dup may be 0 (not needed).
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
    if (dgate != NULL && dup != NULL) {
        backward_pass(gate, up, g, n, dgate, dup, 1, 1);
    } else if (dgate != NULL) {
        backward_pass(gate, up, g, n, dgate, dup, 1, 0);
    } else if (dup != NULL) {
        backward_pass(gate, up, g, n, dgate, dup, 0, 1);
    }
}

// For the tests that hold kernel_exp to KernelExp.exp bit for bit.
JNIEXPORT void JNICALL Java_spindle_autograd_kernels_KernelExp_nativeExp(
        JNIEnv *env, jclass cls, jdoubleArray x_array, jdoubleArray out_array) {
    (void) cls;
    jsize n = (*env)->GetArrayLength(env, x_array);
    jdouble *x = (*env)->GetPrimitiveArrayCritical(env, x_array, NULL);
    jdouble *out = (*env)->GetPrimitiveArrayCritical(env, out_array, NULL);
    for (jsize i = 0; i < n; i++) {
        out[i] = kernel_exp(x[i]);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, out_array, out, 0);
    (*env)->ReleasePrimitiveArrayCritical(env, x_array, x, JNI_ABORT);
}
