// SPDX-License-Identifier: Apache-2.0
// A MoE router's top-k selection and routing weights over float32 scores [n, e] (spindle.autograd.kernels.
// NativeRouting), with the operations and their order of the Java twin in RoutingKernels, so both give the same
// indices and bitwise the same weights and gradients.
#include <float.h>
#include <jni.h>
#include <stdint.h>

// The selection key of score s: s + bias rounded to float32 (a float sum is exact in double, so one rounding),
// -inf raised to the lowest finite value as the ND4J selection did.
static inline double key_of(const float *s, const float *bias, int64_t i) {
    double key = bias ? (double) (float) ((double) s[i] + (double) bias[i]) : (double) s[i];
    return key < -FLT_MAX ? -FLT_MAX : key;
}

// k rounds of "the first largest key not chosen yet": ties go to the lower index. Weights are the chosen scores,
// divided by their sum (in choice order) when normalize, times scale when it is not 1, rounded once.
JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeRouting_forward(
        JNIEnv *env, jclass cls, jlong scores_address, jlong bias_address, jlong n, jint e, jint k,
        jboolean normalize, jdouble scale, jlong indices_address, jlong weights_address) {
    (void) env;
    (void) cls;
    const float *scores = (const float *) (intptr_t) scores_address;
    const float *bias = (const float *) (intptr_t) bias_address;
    int64_t *indices = (int64_t *) (intptr_t) indices_address;
    float *weights = (float *) (intptr_t) weights_address;
    double w[k];
    unsigned char chosen[e];
    for (int64_t row = 0; row < n; row++) {
        const float *s = scores + row * e;
        for (int i = 0; i < e; i++) {
            chosen[i] = 0;
        }
        double sum = 0;
        for (int j = 0; j < k; j++) {
            int best = -1;
            double bestKey = 0;
            for (int i = 0; i < e; i++) {
                if (chosen[i]) {
                    continue;
                }
                double key = key_of(s, bias, i);
                if (best < 0 || key > bestKey) {
                    best = i;
                    bestKey = key;
                }
            }
            chosen[best] = 1;
            indices[row * k + j] = best;
            w[j] = s[best];
            sum += w[j];
        }
        for (int j = 0; j < k; j++) {
            double v = normalize ? w[j] / sum : w[j];
            weights[row * k + j] = (float) (scale != 1 ? v * scale : v);
        }
    }
}

// d scores from d weights g [n, k]: zero outside the chosen experts; at chosen i, scale (g_i - Σ_j g_j s_j / S) / S
// with S = Σ_j s_j when normalize, else g_i scale.
JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeRouting_backward(
        JNIEnv *env, jclass cls, jlong scores_address, jlong indices_address, jlong g_address, jlong n, jint e, jint k,
        jboolean normalize, jdouble scale, jlong ds_address) {
    (void) env;
    (void) cls;
    const float *scores = (const float *) (intptr_t) scores_address;
    const int64_t *indices = (const int64_t *) (intptr_t) indices_address;
    const float *g = (const float *) (intptr_t) g_address;
    float *ds = (float *) (intptr_t) ds_address;
    for (int64_t row = 0; row < n; row++) {
        const float *s = scores + row * e;
        const int64_t *idx = indices + row * k;
        const float *gr = g + row * k;
        float *out = ds + row * e;
        for (int i = 0; i < e; i++) {
            out[i] = 0;
        }
        double sum = 0;
        double dot = 0;
        for (int j = 0; j < k; j++) {
            sum += (double) s[idx[j]];
            dot += (double) gr[j] * (double) s[idx[j]];
        }
        for (int j = 0; j < k; j++) {
            double v = normalize ? ((double) gr[j] - dot / sum) / sum : (double) gr[j];
            out[idx[j]] = (float) (v * scale);
        }
    }
}
