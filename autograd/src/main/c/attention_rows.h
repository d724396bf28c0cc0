// SPDX-License-Identifier: Apache-2.0
// Causal attention's per-row steps on float32, shared by attention.c (one step per call) and attention_fused.c
// (the whole attention in one call): the masked softmax of a score row and the step from a dP row to dS, in the
// order of the Java twins in AttentionKernels; sums and products in float64, each result rounded to float once.
#ifndef SPINDLE_ATTENTION_ROWS_H
#define SPINDLE_ATTENTION_ROWS_H
#include <stdint.h>
#include "kernel_math.h"
#include "kernel_mathf.h"

// Softmax of one row over its first `seen` keys into out (0 at the others, NaN everywhere when a masked key holds
// NaN or +inf, as adding a -inf mask would); e holds `seen` floats of scratch. The exponentials are float32
// (kernel_mathf.h, eight at a time: a fifth of a float64 exp's cost), summed in float64 in eight lanes (key j into
// lane j % 8, a vector add each; a serial sum waits on every add) and the lanes as ((0 + 1) + (2 + 3)) + ((4 + 5) +
// (6 + 7)); each probability is its exponential times 1 / sum in float64, rounded once.
static inline void softmax_row(float *row, int keys, int seen, float *e) {
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
    __m256 max8 = _mm256_set1_ps((float) km_max_floats(row, seen));   // the max of floats: exact
    __m256d sum_low = _mm256_setzero_pd();    // lane i sums the e[j] with j % 8 == i, in increasing j
    __m256d sum_high = _mm256_setzero_pd();   // and lane i the e[j] with j % 8 == 4 + i
    int j = 0;
    for (; j + 8 <= seen; j += 8) {
        __m256 e8 = kmf_exp8(_mm256_sub_ps(_mm256_loadu_ps(row + j), max8));
        _mm256_storeu_ps(e + j, e8);
        sum_low = _mm256_add_pd(sum_low, _mm256_cvtps_pd(_mm256_castps256_ps128(e8)));
        sum_high = _mm256_add_pd(sum_high, _mm256_cvtps_pd(_mm256_extractf128_ps(e8, 1)));
    }
    double lanes[8];
    _mm256_storeu_pd(lanes, sum_low);
    _mm256_storeu_pd(lanes + 4, sum_high);
    float max = _mm256_cvtss_f32(max8);
    for (; j < seen; j++) {
        e[j] = kmf_exp(row[j] - max);
        lanes[j & 7] += e[j];
    }
    double sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    double scale = 1 / sum;
    __m256d scale4 = _mm256_set1_pd(scale);
    for (j = 0; j + 4 <= seen; j += 4) {
        _mm_storeu_ps(row + j, _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(e + j)), scale4)));
    }
    for (; j < seen; j++) {
        row[j] = (float) ((double) e[j] * scale);
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
