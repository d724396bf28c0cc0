// SPDX-License-Identifier: Apache-2.0
// Float32 fake quantization (spindle.autograd.kernels.NativeFakeQuant): per block of consecutive values, its
// quantization parameters, then each value's code, clamp and dequantized value, and the straight-through
// gradient. Every operation is a float32 operation in torch's order, as the Java loops of spindle.layers.qat do.
#include <jni.h>
#include <math.h>
#include <stdint.h>
#include "java_math.h"

// 1.5 * 2^23: for |x| < 2^22, (x + ROUND) - ROUND is x rounded half to even.
static const float ROUND = 0x1.8p23f;
static const float FLOAT32_EPS = 0x1p-23f;
static const float SMALLEST_NORMAL = 0x1p-126f;

enum grid { INT8_ASYMMETRIC = 0, INT4_SYMMETRIC = 1, INT8_SYMMETRIC = 2 };

// min and max of v[0, n), both NaN when one value is.
static void min_max(const float *v, int n, float *min_out, float *max_out) {
    float min = v[0], max = v[0];
    int nan = 0;
    for (int i = 0; i < n; i++) {
        float x = v[i];
        min = x < min ? x : min;
        max = x > max ? x : max;
        nan |= x != x;
    }
    *min_out = nan ? NAN : min;
    *max_out = nan ? NAN : max;
}

// {scale, zero point, 1/scale} of a block, as QuantGrid.rowParams in float32.
static void params(int grid, float min, float max, float *scale, float *zp, float *inverse) {
    float s, z = 0.0f;
    if (grid == INT8_ASYMMETRIC) {
        float min_neg = java_minf(min, 0.0f);
        s = java_maxf((java_maxf(max, 0.0f) - min_neg) / 255.0f, FLOAT32_EPS);
        z = java_minf(java_maxf(-128.0f - rintf(min_neg / s), -128.0f), 127.0f);
    } else {
        float amax = java_maxf(-java_minf(min, 0.0f), java_maxf(max, 0.0f));
        s = java_maxf(amax / (grid == INT4_SYMMETRIC ? 7.5f : 127.5f), SMALLEST_NORMAL);
    }
    *scale = s;
    *zp = z;
    *inverse = 1.0f / s;
}

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeFakeQuant_quantize(
        JNIEnv *env, jclass cls, jint grid, jlong in_address, jlong out_address, jint blocks, jint block,
        jdoubleArray scales, jdoubleArray inverses, jlongArray passes) {
    (void) cls;
    const float *in = (const float *) (intptr_t) in_address;
    float *out = (float *) (intptr_t) out_address;
    float lo = grid == INT4_SYMMETRIC ? -8.0f : -128.0f;
    float hi = grid == INT4_SYMMETRIC ? 7.0f : 127.0f;
    int asymmetric = grid == INT8_ASYMMETRIC;
    jdouble *scale_of = (*env)->GetPrimitiveArrayCritical(env, scales, NULL);
    jdouble *inverse_of = (*env)->GetPrimitiveArrayCritical(env, inverses, NULL);
    uint64_t *pass = (*env)->GetPrimitiveArrayCritical(env, passes, NULL);
    for (int b = 0; b < blocks; b++) {
        int64_t off = (int64_t) b * block;
        float min, max, scale, zp, inverse;
        min_max(in + off, block, &min, &max);
        params(grid, min, max, &scale, &zp, &inverse);
        scale_of[b] = scale;
        inverse_of[b] = inverse;
        for (int64_t i = off; i < off + block; i++) {
            float x = in[i] * inverse;
            float c = (x + ROUND) - ROUND;
            if (asymmetric) {
                c += zp;
            } else if (c == 0.0f && signbit(x)) {
                c = -0.0f;   // torch.round keeps the sign of a zero, and q * scale shows it
            }
            if (c >= lo && c <= hi) {
                pass[i >> 6] |= UINT64_C(1) << (i & 63);
            } else {
                c = c < lo ? lo : c > hi ? hi : c;
            }
            out[i] = (c - zp) * scale;
        }
    }
    (*env)->ReleasePrimitiveArrayCritical(env, passes, pass, 0);
    (*env)->ReleasePrimitiveArrayCritical(env, inverses, inverse_of, 0);
    (*env)->ReleasePrimitiveArrayCritical(env, scales, scale_of, 0);
}

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeFakeQuant_passGradient(
        JNIEnv *env, jclass cls, jlong g_address, jlong out_address, jint blocks, jint block,
        jdoubleArray scales, jdoubleArray inverses, jlongArray passes) {
    (void) cls;
    const float *g = (const float *) (intptr_t) g_address;
    float *out = (float *) (intptr_t) out_address;
    jdouble *scale_of = (*env)->GetPrimitiveArrayCritical(env, scales, NULL);
    jdouble *inverse_of = (*env)->GetPrimitiveArrayCritical(env, inverses, NULL);
    uint64_t *pass = (*env)->GetPrimitiveArrayCritical(env, passes, NULL);
    for (int b = 0; b < blocks; b++) {
        float s = (float) scale_of[b];
        float inverse = (float) inverse_of[b];
        int64_t off = (int64_t) b * block;
        for (int64_t i = off; i < off + block; i++) {
            out[i] = (pass[i >> 6] >> (i & 63) & 1) ? g[i] * s * inverse : 0.0f;
        }
    }
    (*env)->ReleasePrimitiveArrayCritical(env, passes, pass, JNI_ABORT);
    (*env)->ReleasePrimitiveArrayCritical(env, inverses, inverse_of, JNI_ABORT);
    (*env)->ReleasePrimitiveArrayCritical(env, scales, scale_of, JNI_ABORT);
}
