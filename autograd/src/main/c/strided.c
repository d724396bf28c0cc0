// SPDX-License-Identifier: Apache-2.0
// window = part or window += part for two float32 arrays of one shape laid out with any non-negative strides
// (spindle.autograd.kernels.NativeStrided): one pass, no temporary, where ND4J adds into a strided window slowly and
// so went through a contiguous copy and back.
#include <jni.h>
#include <stdint.h>

#define MAX_RANK 8

static void add_row(float *dst, int64_t ds, const float *src, int64_t ss, int64_t n, int assign) {
    if (ds == 1 && ss == 1) {
        if (assign) {
            for (int64_t i = 0; i < n; i++) dst[i] = src[i];
        } else {
            for (int64_t i = 0; i < n; i++) dst[i] += src[i];
        }
    } else if (assign) {
        for (int64_t i = 0; i < n; i++) dst[i * ds] = src[i * ss];
    } else {
        for (int64_t i = 0; i < n; i++) dst[i * ds] += src[i * ss];
    }
}

JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeStrided_addInto(
        JNIEnv *env, jclass cls, jlong dst_address, jlong src_address, jlongArray shape_array,
        jlongArray dst_stride_array, jlongArray src_stride_array, jboolean assign) {
    (void) cls;
    int rank = (int) (*env)->GetArrayLength(env, shape_array);
    jlong shape[MAX_RANK], dst_stride[MAX_RANK], src_stride[MAX_RANK];
    (*env)->GetLongArrayRegion(env, shape_array, 0, rank, shape);
    (*env)->GetLongArrayRegion(env, dst_stride_array, 0, rank, dst_stride);
    (*env)->GetLongArrayRegion(env, src_stride_array, 0, rank, src_stride);
    float *dst = (float *) (intptr_t) dst_address;
    const float *src = (const float *) (intptr_t) src_address;
    int64_t rows = 1;
    for (int k = 0; k < rank - 1; k++) rows *= shape[k];
    int64_t at[MAX_RANK] = {0};
    int64_t d = 0, s = 0;   // offsets of the current row
    for (int64_t r = 0; r < rows; r++) {
        add_row(dst + d, dst_stride[rank - 1], src + s, src_stride[rank - 1], shape[rank - 1], assign);
        for (int k = rank - 2; k >= 0; k--) {   // next row: an odometer over the leading dims
            at[k]++;
            d += dst_stride[k];
            s += src_stride[k];
            if (at[k] < shape[k]) break;
            d -= dst_stride[k] * shape[k];
            s -= src_stride[k] * shape[k];
            at[k] = 0;
        }
    }
}
