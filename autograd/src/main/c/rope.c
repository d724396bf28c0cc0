// SPDX-License-Identifier: Apache-2.0
// Rotary position embedding over float32 x viewed as [n0, n1, t, d] with any non-negative strides (a permuted view
// of a projection's output included), tables cos and sin [t, d] dense (spindle.autograd.kernels.NativeRotary). In
// float64 with the operations and their order of the Java kernels in RotaryKernels, so both round the same values.
#include <jni.h>
#include <stdint.h>

struct view {
    int64_t size[4];
    int64_t stride[4];
};

static void read_view(JNIEnv *env, jlongArray sizes, jlongArray strides, struct view *v) {
    (*env)->GetLongArrayRegion(env, sizes, 0, 4, v->size);
    (*env)->GetLongArrayRegion(env, strides, 0, 4, v->stride);
}

// One row of d channels: channel j pairs with k = j + partner. Forward: y = x cos + rotate(x) sin; backward:
// y = x cos - rotate(x sin), rotate mapping (x_j, x_k) to (-x_k, x_j). Inlined with constant flags (and unit
// strides for the common layout), so each variant is a branch-free loop that gcc can vectorize; y never overlaps x.
static inline void rotate_row(const float *restrict x, int64_t xs, float *restrict y, int64_t ys,
                              const float *cos, const float *sin, int64_t d, int half, int backward) {
    int64_t step = half ? 1 : 2;
    int64_t partner = half ? d / 2 : 1;
    for (int64_t p = 0; p < d / 2; p++) {
        int64_t j = p * step;
        int64_t k = j + partner;
        double xj = x[j * xs];
        double xk = x[k * xs];
        if (backward) {
            y[j * ys] = (float) (xj * (double) cos[j] + xk * (double) sin[k]);
            y[k * ys] = (float) (xk * (double) cos[k] - xj * (double) sin[j]);
        } else {
            y[j * ys] = (float) (xj * (double) cos[j] - xk * (double) sin[j]);
            y[k * ys] = (float) (xk * (double) cos[k] + xj * (double) sin[k]);
        }
    }
}

static void rotate_row_any(const float *x, int64_t xs, float *y, int64_t ys, const float *cos, const float *sin,
                           int64_t d, int half, int backward) {
    if (xs == 1 && ys == 1 && half) {
        if (backward) {
            rotate_row(x, 1, y, 1, cos, sin, d, 1, 1);
        } else {
            rotate_row(x, 1, y, 1, cos, sin, d, 1, 0);
        }
    } else if (backward) {
        rotate_row(x, xs, y, ys, cos, sin, d, half, 1);
    } else {
        rotate_row(x, xs, y, ys, cos, sin, d, half, 0);
    }
}

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeRotary_apply(
        JNIEnv *env, jclass cls, jlong in_address, jlongArray sizes, jlongArray in_strides, jlong out_address,
        jlongArray out_strides, jlong cos_address, jlong sin_address, jboolean half, jboolean backward) {
    (void) cls;
    struct view in, out;
    read_view(env, sizes, in_strides, &in);
    read_view(env, sizes, out_strides, &out);
    const float *x = (const float *) (intptr_t) in_address;
    float *y = (float *) (intptr_t) out_address;
    const float *cos = (const float *) (intptr_t) cos_address;
    const float *sin = (const float *) (intptr_t) sin_address;
    int64_t t = in.size[2];
    int64_t d = in.size[3];
    for (int64_t a = 0; a < in.size[0]; a++) {
        for (int64_t b = 0; b < in.size[1]; b++) {
            for (int64_t i = 0; i < t; i++) {
                const float *xi = x + a * in.stride[0] + b * in.stride[1] + i * in.stride[2];
                float *yi = y + a * out.stride[0] + b * out.stride[1] + i * out.stride[2];
                rotate_row_any(xi, in.stride[3], yi, out.stride[3], cos + i * d, sin + i * d, d, half, backward);
            }
        }
    }
}
