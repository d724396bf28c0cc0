// SPDX-License-Identifier: Apache-2.0
// Causal attention's per-row steps on float32, shared by attention.c (one step per call) and attention_fused.c
// (the whole attention in one call): the masked softmax of a score row and the step from a dP row to dS. Each
// value is widened to double and rounded to float once, in the order of the Java twins in AttentionKernels.
#ifndef SPINDLE_ATTENTION_ROWS_H
#define SPINDLE_ATTENTION_ROWS_H
#include <stdint.h>
#include "kernel_math.h"

// Softmax of one row over its first `seen` keys into out (0 at the others, NaN everywhere when a masked key holds
// NaN or +inf, as adding a -inf mask would); e holds `seen` doubles of scratch. The exponentials are summed in
// four lanes (key j into lane j % 4, a vector add each) and the lanes as (0 + 1) + (2 + 3): a serial sum waited
// on each add's latency (with the lanes, the fused attention forward took about 10% less time).
static inline void softmax_row(float *row, int keys, int seen, double *e) {
    int poisoned = 0;
    for (int j = seen; j < keys; j++) {
        poisoned |= !((double) row[j] < INFINITY);
    }
    if (poisoned) {
        for (int j = 0; j < keys; j++) {
            row[j] = NAN;
        }
        return;
    }
    double max = km_max_floats(row, seen);
    __m256d max4 = _mm256_set1_pd(max);
    __m256d sum4 = _mm256_setzero_pd();   // lane i sums the e[j] with j % 4 == i, in increasing j
    int j = 0;
    for (; j + 4 <= seen; j += 4) {
        __m256d e4 = km_exp4(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(row + j)), max4));
        _mm256_storeu_pd(e + j, e4);
        sum4 = _mm256_add_pd(sum4, e4);
    }
    double lanes[4];
    _mm256_storeu_pd(lanes, sum4);
    for (; j < seen; j++) {
        e[j] = km_exp((double) row[j] - max);
        lanes[j & 3] += e[j];
    }
    double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    double scale = 1 / sum;
    __m256d scale4 = _mm256_set1_pd(scale);
    for (j = 0; j + 4 <= seen; j += 4) {
        _mm_storeu_ps(row + j, _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_loadu_pd(e + j), scale4)));
    }
    for (; j < seen; j++) {
        row[j] = (float) (e[j] * scale);
    }
    for (j = seen; j < keys; j++) {
        row[j] = 0.0f;
    }
}

// dS row = P row ⊙ (dP row - dot) over `keys` values, written over the dP row; dot = rowsum(dO ⊙ O) in double,
// summed in order j = 0 .. dv-1 over the elements at dor[j * do_step] and orow[j * o_step].
static inline void score_grad_row(float *dsr, const float *pr, int keys, const float *dor, int64_t do_step,
                                  const float *orow, int64_t o_step, int dv) {
    double dot = 0;
    for (int j = 0; j < dv; j++) {
        dot += (double) dor[j * do_step] * (double) orow[j * o_step];
    }
    for (int j = 0; j < keys; j++) {
        dsr[j] = (float) (((double) dsr[j] - dot) * (double) pr[j]);
    }
}
#endif
