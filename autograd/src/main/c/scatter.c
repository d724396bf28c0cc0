// SPDX-License-Identifier: Apache-2.0
// target[idx[k]] += rows[k] for float32 rows of `width` values (spindle.autograd.kernels.NativeScatter): the backward
// of a row gather (embedding, index_select), in index order, as ND4J's single-threaded scatter_add adds them.
#include <jni.h>
#include <stdint.h>

// Returns -1, or the first k whose index lies outside [0, target_rows) (nothing is added from there on).
JNIEXPORT jlong JNICALL Java_spindle_autograd_kernels_NativeScatter_addRows(
        JNIEnv *env, jclass cls, jlong target_address, jlong target_rows, jlong index_address, jboolean index_is_long,
        jlong rows_address, jlong count, jlong width) {
    (void) env;
    (void) cls;
    float *target = (float *) (intptr_t) target_address;
    const float *rows = (const float *) (intptr_t) rows_address;
    const int64_t *long_index = (const int64_t *) (intptr_t) index_address;
    const int32_t *int_index = (const int32_t *) (intptr_t) index_address;
    for (int64_t k = 0; k < count; k++) {
        int64_t t = index_is_long ? long_index[k] : int_index[k];
        if (t < 0 || t >= target_rows) {
            return k;
        }
        float *to = target + t * width;
        const float *from = rows + k * width;
        for (int64_t j = 0; j < width; j++) {
            to[j] += from[j];
        }
    }
    return -1;
}
