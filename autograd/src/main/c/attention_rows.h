// SPDX-License-Identifier: Apache-2.0
// Causal attention's per-row steps on float32, shared by attention.c (one step per call) and attention_fused.c
// (the whole attention in one call): the masked softmax of a score row and the step from a dP row to dS, in the
// order of the Java twins in AttentionKernels; sums and products in float64, each result rounded to float once.
#ifndef SPINDLE_ATTENTION_ROWS_H
#define SPINDLE_ATTENTION_ROWS_H
#include <stdint.h>
#include "kernel_math.h"
#include "kernel_mathf.h"

// Lane l is all ones when key j + l is one of the first `seen`.
static inline __m256i keys_before(int j, int seen) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(seen - j), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The eight keys from j, with `fill` in the lanes at or after `seen`, which are not read (they may lie past the row).
static inline __m256 load_before(const float *row, int j, int seen, float fill) {
    if (j + 8 <= seen) {
        return _mm256_loadu_ps(row + j);
    }
    __m256i in = keys_before(j, seen);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(row + j, in), _mm256_castsi256_ps(in));
}

// The largest of the first `seen` keys, NaN when one is NaN (max is exact: the order of comparisons cannot change
// it, only perhaps the sign of a zero maximum, which x - (+-0) does not show).
static inline float max_before(const float *row, int seen) {
    __m256 max8 = _mm256_set1_ps(-INFINITY);
    __m256 nan = _mm256_setzero_ps();
    for (int j = 0; j < seen; j += 8) {
        __m256 x = load_before(row, j, seen, -INFINITY);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
        max8 = _mm256_max_ps(max8, x);
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(max8), _mm256_extractf128_ps(max8, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    return _mm256_movemask_ps(nan) ? NAN : _mm_cvtss_f32(m4);
}

// Softmax of one row over its first `seen` keys into out, row itself or another row (0 at the others, NaN everywhere
// when a masked key holds NaN or +inf, as adding a -inf mask would); e holds `seen` floats rounded up to eight of
// scratch. The exponentials are float32 (kernel_mathf.h, eight at a time: a fifth of a float64 exp's cost), summed
// in float64 in eight lanes (key j into lane j % 8, a vector add each; a serial sum waits on every add) and the
// lanes as ((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7)); each probability is its exponential times 1 / sum in float64,
// rounded once. A last, partial vector has -inf in its lanes past `seen`: their exponential, 0, leaves the sums as
// they are, so every row runs in vectors.
static inline void softmax_row(const float *row, float *out, int keys, int seen, float *e) {
    int poisoned = 0;
    for (int j = seen; j < keys; j++) {
        poisoned |= !((double) row[j] < INFINITY);
    }
    if (poisoned) {
        for (int j = 0; j < keys; j++) {
            out[j] = NAN;
        }
        return;
    }
    __m256 max8 = _mm256_set1_ps(max_before(row, seen));
    __m256d sum_low = _mm256_setzero_pd();    // lane i sums the e[j] with j % 8 == i, in increasing j
    __m256d sum_high = _mm256_setzero_pd();   // and lane i the e[j] with j % 8 == 4 + i
    for (int j = 0; j < seen; j += 8) {
        __m256 e8 = kmf_exp8(_mm256_sub_ps(load_before(row, j, seen, -INFINITY), max8));
        _mm256_storeu_ps(e + j, e8);
        sum_low = _mm256_add_pd(sum_low, _mm256_cvtps_pd(_mm256_castps256_ps128(e8)));
        sum_high = _mm256_add_pd(sum_high, _mm256_cvtps_pd(_mm256_extractf128_ps(e8, 1)));
    }
    double lanes[8];
    _mm256_storeu_pd(lanes, sum_low);
    _mm256_storeu_pd(lanes + 4, sum_high);
    double sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    __m256d scale4 = _mm256_set1_pd(1 / sum);
    int j = 0;
    for (; j + 4 <= seen; j += 4) {
        _mm_storeu_ps(out + j, _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(e + j)), scale4)));
    }
    if (j < seen) {
        __m128i in = _mm256_castsi256_si128(keys_before(j, seen));
        _mm_maskstore_ps(out + j, in, _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(e + j)), scale4)));
    }
    for (j = seen; j < keys; j++) {
        out[j] = 0.0f;
    }
}

// rowsum(dO ⊙ O) of one row in double, summed in order j = 0 .. dv-1 over the elements at dor[j * do_step] and
// orow[j * o_step].
static inline double row_dot(const float *dor, int64_t do_step, const float *orow, int64_t o_step, int dv) {
    double dot = 0;
    for (int j = 0; j < dv; j++) {
        dot += (double) dor[j * do_step] * (double) orow[j * o_step];
    }
    return dot;
}

// dS row = P row ⊙ (dP row - dot) over `keys` values, written over the dP row; dot is the row's row_dot.
static inline void score_grad_row(float *dsr, const float *pr, int keys, double dot) {
    for (int j = 0; j < keys; j++) {
        dsr[j] = (float) (((double) dsr[j] - dot) * (double) pr[j]);
    }
}
#endif
