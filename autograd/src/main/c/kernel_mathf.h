// SPDX-License-Identifier: Apache-2.0
// exp in plain float arithmetic for the float32 kernels, operation for operation as
// spindle.autograd.kernels.FloatMath (which explains the method), so native kernels and Java twins round alike:
// eight lanes at once cost a fifth of kernel_math.h's float64 exp over four.
#ifndef SPINDLE_KERNEL_MATHF_H
#define SPINDLE_KERNEL_MATHF_H
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static const float KMF_INV_LN2 = 1.44269504088896341f;
static const float KMF_LN2_HI = 0.693359375f;         // 9 significant bits: k * KMF_LN2_HI is exact
static const float KMF_LN2_LO = -2.12194440e-4f;
static const float KMF_OVERFLOW = 88.72283935546875f;
static const float KMF_UNDERFLOW = -103.972084f;
static const float KMF_P0 = 1.9875691500e-4f;
static const float KMF_P1 = 1.3981999507e-3f;
static const float KMF_P2 = 8.3334519073e-3f;
static const float KMF_P3 = 4.1665795894e-2f;
static const float KMF_P4 = 1.6666665459e-1f;
static const float KMF_P5 = 5.0000001201e-1f;

static inline float kmf_power_of_two(int e) {
    uint32_t bits = (uint32_t) (e + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline float kmf_exp(float x) {
    if (x != x) return x;
    if (x > KMF_OVERFLOW) return INFINITY;
    if (x < KMF_UNDERFLOW) return 0.0f;
    float k = rintf(x * KMF_INV_LN2);
    float r = (x - k * KMF_LN2_HI) - k * KMF_LN2_LO;
    float z = r * r;
    float p = ((((KMF_P0 * r + KMF_P1) * r + KMF_P2) * r + KMF_P3) * r + KMF_P4) * r + KMF_P5;
    float y = (p * z + r) + 1.0f;
    int e = (int) k;
    if (e < -126) return y * kmf_power_of_two(e + 64) * 0x1p-64f;
    if (e > 127) return y * 2.0f * kmf_power_of_two(e - 1);
    return y * kmf_power_of_two(e);
}

#define KMF_SET(c) _mm256_set1_ps(c)

// kmf_exp of eight values, lane for lane the same operations (separate multiplies and adds: build.sh's
// -ffp-contract=off). Lanes below -87 (e^x near or below the smallest normal float, common in a softmax row far from
// its maximum) scale by 2^(k + 64) then 2^-64, as the scalar function does below 2^-126: for the few of them whose
// 2^k is normal the two exact-or-once-rounded steps give the one step's bits. Lanes below the underflow are 0; NaN and
// lanes above 88 (rare: overflow) send all eight to the scalar function.
static inline __m256 kmf_exp8(__m256 x) {
    if (_mm256_movemask_ps(_mm256_cmp_ps(x, KMF_SET(88.0f), _CMP_NLE_UQ)) != 0) {
        float v[8];
        _mm256_storeu_ps(v, x);
        for (int i = 0; i < 8; i++) {
            v[i] = kmf_exp(v[i]);
        }
        return _mm256_loadu_ps(v);
    }
    __m256 low = _mm256_cmp_ps(x, KMF_SET(-87.0f), _CMP_LT_OQ);
    __m256 gone = _mm256_cmp_ps(x, KMF_SET(KMF_UNDERFLOW), _CMP_LT_OQ);
    __m256 xs = _mm256_max_ps(x, KMF_SET(KMF_UNDERFLOW));   // x itself in every lane that is not gone
    __m256 k = _mm256_round_ps(_mm256_mul_ps(xs, KMF_SET(KMF_INV_LN2)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_sub_ps(_mm256_sub_ps(xs, _mm256_mul_ps(k, KMF_SET(KMF_LN2_HI))),
                             _mm256_mul_ps(k, KMF_SET(KMF_LN2_LO)));
    __m256 z = _mm256_mul_ps(r, r);
    __m256 p = _mm256_add_ps(_mm256_mul_ps(KMF_SET(KMF_P0), r), KMF_SET(KMF_P1));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), KMF_SET(KMF_P2));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), KMF_SET(KMF_P3));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), KMF_SET(KMF_P4));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), KMF_SET(KMF_P5));
    __m256 y = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(p, z), r), KMF_SET(1.0f));
    __m256i shift = _mm256_and_si256(_mm256_castps_si256(low), _mm256_set1_epi32(64));
    __m256i e = _mm256_add_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), shift), _mm256_set1_epi32(127));
    __m256 scaled = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(e, 23)));
    scaled = _mm256_mul_ps(scaled, _mm256_blendv_ps(KMF_SET(1.0f), KMF_SET(0x1p-64f), low));   // exact when 1
    return _mm256_andnot_ps(gone, scaled);
}
#endif
