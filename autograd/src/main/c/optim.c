// SPDX-License-Identifier: Apache-2.0
// Float32 optimizer updates and gradient-norm sums (spindle.autograd.kernels.NativeOptim): PyTorch's Adam/AdamW
// (with amsgrad) and SGD rules per element, in the order of operations of the Java loops of spindle.optim
// (SmallUpdates, GradClip): each operation rounded to float32 after it, as the Java loops round their double
// results, so the results are the Java loops' bit for bit. The scalars arrive already rounded to float32, as Java rounds them.
#include <immintrin.h>
#include <jni.h>
#include <math.h>
#include <stdint.h>

// A double result rounded to float32: one float32 operation of PyTorch's kernels. Where the Java loops round a
// single +, -, *, / or sqrt of float32 values computed in double, the loops below use the float32 operation itself:
// double has more than 2 * 24 + 2 bits, so rounding first to double and then to float32 gives the correctly rounded
// float32 result (the double rounding is innocuous), and float32 lanes are twice as many as double lanes. Sums with
// a product, a + b * c, stay in double: rounded once there and once to float32, as in Java.
#define F(x) ((float) (x))

// Java's Math.max of two float32 values (as doubles in Java): NaN when either is NaN, and 0.0 above -0.0. In
// integers, so the loop around it vectorizes: order(x) orders floats as their values do, -0.0 below 0.0, and puts
// every NaN above everything.
static inline uint32_t order(uint32_t bits) {
    uint32_t key = (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
    return (bits & 0x7fffffffu) > 0x7f800000u ? 0xffffffffu : key;
}

static inline float java_max(float a, float b) {
    union { float f; uint32_t u; } x = {a}, y = {b};
    return order(x.u) >= order(y.u) ? a : b;
}

// One Adam/AdamW step over elements [0, n); the flags are constants at each call, so each variant is a loop
// without branches. keep = 1 - lr * wd (AdamW), l2 = wd (Adam); w * keep equals w when keep is 1.
static inline __attribute__((always_inline)) void adam_loop(
        float *restrict w, const float *restrict g, float *restrict m, float *restrict v, float *restrict vmax,
        int64_t n, const int with_l2, const int lerp_from_m, float keep, float l2, float b2, float toward,
        float rest, float sq_weight, float eps, float minus_step, float bc2_sqrt) {
    for (int64_t i = 0; i < n; i++) {
        float wi = w[i] * keep;
        float gi = with_l2 ? F(g[i] + (double) l2 * wi) : g[i];
        float diff = gi - m[i];
        float mi = lerp_from_m ? F(m[i] + (double) toward * diff) : gi - diff * rest;
        float vi = v[i] * b2 + sq_weight * gi * gi;
        m[i] = mi;
        v[i] = vi;
        if (vmax != NULL) {
            vi = vmax[i] = java_max(vmax[i], vi);
        }
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        w[i] = wi + minus_step * (mi / denom);
    }
}

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeOptim_adam(
        JNIEnv *env, jclass cls, jlong w_address, jlong g_address, jlong m_address, jlong v_address,
        jlong vmax_address, jlong n, jfloat keep, jfloat l2, jfloat b2, jfloat toward, jfloat rest, jfloat sq_weight,
        jfloat eps, jfloat minus_step, jfloat bc2_sqrt) {
    (void) env;
    (void) cls;
    float *w = (float *) (intptr_t) w_address;
    const float *g = (const float *) (intptr_t) g_address;
    float *m = (float *) (intptr_t) m_address;
    float *v = (float *) (intptr_t) v_address;
    float *vmax = (float *) (intptr_t) vmax_address;
#define ADAM(L2, LERP, VMAX) adam_loop(w, g, m, v, VMAX, n, L2, LERP, keep, l2, b2, toward, rest, sq_weight, eps, \
                                       minus_step, bc2_sqrt)
    int with_l2 = l2 != 0.0f, lerp_from_m = toward < 0.5f;   // torch's lerp_ picks its formula by the weight
    if (vmax == NULL) {
        if (with_l2) {
            if (lerp_from_m) ADAM(1, 1, NULL); else ADAM(1, 0, NULL);
        } else {
            if (lerp_from_m) ADAM(0, 1, NULL); else ADAM(0, 0, NULL);
        }
    } else {
        if (with_l2) {
            if (lerp_from_m) ADAM(1, 1, vmax); else ADAM(1, 0, vmax);
        } else {
            if (lerp_from_m) ADAM(0, 1, vmax); else ADAM(0, 0, vmax);
        }
    }
#undef ADAM
}

// buf is 0 without momentum; on the momentum's first step (first) it starts as d itself, as PyTorch's does.
JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeOptim_sgd(
        JNIEnv *env, jclass cls, jlong w_address, jlong g_address, jlong buf_address, jlong n, jfloat wd, jfloat mu,
        jfloat damp, jboolean first, jboolean nesterov, jfloat minus_lr) {
    (void) env;
    (void) cls;
    float *restrict w = (float *) (intptr_t) w_address;
    const float *restrict g = (const float *) (intptr_t) g_address;
    float *restrict buf = (float *) (intptr_t) buf_address;
    for (int64_t i = 0; i < n; i++) {
        float wi = w[i];
        float d = wd != 0.0f ? F(g[i] + (double) wd * wi) : g[i];
        if (buf != NULL) {
            float b = first ? d : F(buf[i] * mu + (double) damp * d);
            buf[i] = b;
            d = nesterov ? F(d + (double) mu * b) : b;
        }
        w[i] = F(wi + (double) minus_lr * d);
    }
}

// The sum of x's squares in double, in four running sums (element i goes to sum i % 4, each square exact),
// added as (s0 + s1) + (s2 + s3): four lanes of one AVX2 register, the order GradClip's Java loop keeps.
JNIEXPORT jdouble JNICALL Java_spindle_autograd_kernels_NativeOptim_sumOfSquares(
        JNIEnv *env, jclass cls, jlong x_address, jlong n) {
    (void) env;
    (void) cls;
    const float *x = (const float *) (intptr_t) x_address;
    __m256d sums = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d xi = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
        sums = _mm256_add_pd(sums, _mm256_mul_pd(xi, xi));
    }
    double s[4];
    _mm256_storeu_pd(s, sums);
    for (int lane = 0; i < n; i++, lane++) {
        s[lane] += (double) x[i] * x[i];
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

// x *= c in float32 (a float32 product rounds the exact product once, as the Java loop's double product does).
JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeOptim_scale(
        JNIEnv *env, jclass cls, jlong x_address, jlong n, jfloat c) {
    (void) env;
    (void) cls;
    float *x = (float *) (intptr_t) x_address;
    for (int64_t i = 0; i < n; i++) {
        x[i] *= c;
    }
}
