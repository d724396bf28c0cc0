// SPDX-License-Identifier: Apache-2.0
// Float32 fake quantization (spindle.autograd.kernels.NativeFakeQuant): per block of consecutive values, its
// quantization parameters, then each value's code, clamp and dequantized value, and the straight-through
// gradient. Every operation is a float32 operation in torch's order, as the Java loops of spindle.layers.qat do.
#include <jni.h>
#include <math.h>
#include <immintrin.h>
#include <stdint.h>
#include "java_math.h"

static const float FLOAT32_EPS = 0x1p-23f;
static const float SMALLEST_NORMAL = 0x1p-126f;

enum grid { INT8_ASYMMETRIC = 0, INT4_SYMMETRIC = 1, INT8_SYMMETRIC = 2 };

// min and max of v[0, n), both NaN when one value is. Eight lanes at a time: a lane keeps x < min ? x : min as the
// Java loop does, and the lanes merge in another order, which can only pick another zero sign for a zero min or max;
// the parameters come out the same for either zero.
static void min_max(const float *v, int n, float *min_out, float *max_out) {
    __m256 min8 = _mm256_set1_ps(v[0]), max8 = min8, nan8 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(v + i);
        min8 = _mm256_min_ps(x, min8);
        max8 = _mm256_max_ps(x, max8);
        nan8 = _mm256_or_ps(nan8, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    }
    float mins[8], maxs[8];
    _mm256_storeu_ps(mins, min8);
    _mm256_storeu_ps(maxs, max8);
    float min = mins[0], max = maxs[0];
    int nan = _mm256_movemask_ps(nan8) != 0;
    for (int k = 1; k < 8; k++) {
        min = mins[k] < min ? mins[k] : min;
        max = maxs[k] > max ? maxs[k] : max;
    }
    for (; i < n; i++) {
        float x = v[i];
        min = x < min ? x : min;
        max = x > max ? x : max;
        nan |= x != x;
    }
    *min_out = nan ? NAN : min;
    *max_out = nan ? NAN : max;
}

// One value: its code rounded half to even (sign of zero kept, as torch.round), plus zp for the asymmetric grid; the
// clamp; the dequantized value into out[i]; and its bit in pass where the clamp left the code alone.
static inline void quantize_one(const float *in, float *out, int64_t i, float scale, float zp, float inverse, float lo,
                                float hi, int asymmetric, uint64_t *pass) {
    float c = rintf(in[i] * inverse);
    if (asymmetric) {
        c += zp;
    }
    if (c >= lo && c <= hi) {
        pass[i >> 6] |= UINT64_C(1) << (i & 63);
    } else {
        c = c < lo ? lo : c > hi ? hi : c;
    }
    out[i] = (c - zp) * scale;
}

// quantize_one over [off, off + n), eight values at a time from an index that is a multiple of 8 (so their eight
// bits fall in one word of pass). NaN codes stay NaN through the clamp (max_ps and min_ps return their second operand
// for a NaN) and fail the equality, so their bit stays clear, as in the scalar code.
static void quantize_block(const float *in, float *out, int64_t off, int n, float scale, float zp, float inverse,
                           float lo, float hi, int asymmetric, uint64_t *pass) {
    int64_t i = off, end = off + n;
    for (; i < end && (i & 7) != 0; i++) {
        quantize_one(in, out, i, scale, zp, inverse, lo, hi, asymmetric, pass);
    }
    __m256 scale8 = _mm256_set1_ps(scale), zp8 = _mm256_set1_ps(zp), inverse8 = _mm256_set1_ps(inverse);
    __m256 lo8 = _mm256_set1_ps(lo), hi8 = _mm256_set1_ps(hi);
    for (; i + 8 <= end; i += 8) {
        __m256 c = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(in + i), inverse8),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        if (asymmetric) {
            c = _mm256_add_ps(c, zp8);
        }
        __m256 clamped = _mm256_min_ps(hi8, _mm256_max_ps(lo8, c));
        uint64_t kept = (uint64_t) _mm256_movemask_ps(_mm256_cmp_ps(clamped, c, _CMP_EQ_OQ));
        pass[i >> 6] |= kept << (i & 63);
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_sub_ps(clamped, zp8), scale8));
    }
    for (; i < end; i++) {
        quantize_one(in, out, i, scale, zp, inverse, lo, hi, asymmetric, pass);
    }
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
        quantize_block(in, out, off, block, scale, zp, inverse, lo, hi, asymmetric, pass);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, passes, pass, 0);
    (*env)->ReleasePrimitiveArrayCritical(env, inverses, inverse_of, 0);
    (*env)->ReleasePrimitiveArrayCritical(env, scales, scale_of, 0);
}

// out = (g * scale) * (1/scale) where the element's bit is set, else 0, over [off, off + n); eight at a time from a
// multiple of 8.
static void pass_block(const float *g, float *out, int64_t off, int n, float scale, float inverse, const uint64_t *pass) {
    int64_t i = off, end = off + n;
    for (; i < end && (i & 7) != 0; i++) {
        out[i] = (pass[i >> 6] >> (i & 63) & 1) ? g[i] * scale * inverse : 0.0f;
    }
    __m256 scale8 = _mm256_set1_ps(scale), inverse8 = _mm256_set1_ps(inverse);
    __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    for (; i + 8 <= end; i += 8) {
        __m256i bits = _mm256_set1_epi32((int) (pass[i >> 6] >> (i & 63) & 0xff));
        __m256 kept = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(bits, lane_bit), lane_bit));
        __m256 passed = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(g + i), scale8), inverse8);
        _mm256_storeu_ps(out + i, _mm256_and_ps(kept, passed));
    }
    for (; i < end; i++) {
        out[i] = (pass[i >> 6] >> (i & 63) & 1) ? g[i] * scale * inverse : 0.0f;
    }
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
        pass_block(g, out, off, block, s, inverse, pass);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, passes, pass, JNI_ABORT);
    (*env)->ReleasePrimitiveArrayCritical(env, inverses, inverse_of, JNI_ABORT);
    (*env)->ReleasePrimitiveArrayCritical(env, scales, scale_of, JNI_ABORT);
}
