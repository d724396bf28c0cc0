// SPDX-License-Identifier: Apache-2.0
// Causal attention's elementwise steps on float32 scores (spindle.autograd.kernels.NativeAttention): the masked
// softmax over the keys and the step from dP to dS (attention_rows.h), in the order of the Java twins in
// AttentionKernels, so both give the same bits.
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include "attention_rows.h"

// Row r of the scores [rows, keys] is query r % queries of its block, which sees keys 0 .. keys - queries + that.
// Returns 0, or 1 when the scratch row could not be allocated.
JNIEXPORT jint JNICALL Java_spindle_autograd_kernels_NativeAttention_causalSoftmax(
        JNIEnv *env, jclass cls, jlong s_address, jlong rows, jint keys, jint queries) {
    (void) env;
    (void) cls;
    float *s = (float *) (intptr_t) s_address;
    float *e = malloc(sizeof(float) * ((size_t) keys + 8));   // softmax_row writes whole vectors
    if (e == NULL) {
        return 1;
    }
    for (int64_t r = 0; r < rows; r++) {
        softmax_row(s + r * keys, s + r * keys, keys, keys - queries + (int) (r % queries) + 1, e);
    }
    free(e);
    return 0;
}

// dP [rows, keys] becomes P ⊙ (dP - rowsum(dO ⊙ O)), with P [rows, keys] and dO, O [rows, dv].
JNIEXPORT void JNICALL Java_spindle_autograd_kernels_NativeAttention_scoreGrad(
        JNIEnv *env, jclass cls, jlong dp_address, jlong p_address, jlong do_address, jlong o_address, jlong rows,
        jint keys, jint dv) {
    (void) env;
    (void) cls;
    float *ds = (float *) (intptr_t) dp_address;
    const float *p = (const float *) (intptr_t) p_address;
    const float *d_out = (const float *) (intptr_t) do_address;
    const float *out = (const float *) (intptr_t) o_address;
    for (int64_t r = 0; r < rows; r++) {
        score_grad_row(ds + r * keys, p + r * keys, keys, row_dot(d_out + r * dv, 1, out + r * dv, 1, dv));
    }
}
