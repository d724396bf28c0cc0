// SPDX-License-Identifier: Apache-2.0
// exp and log in plain double arithmetic, operation for operation as spindle.autograd.kernels.KernelMath (which
// explains the method), so the native kernels and their Java twins round alike; glibc's exp/log and Java's
// Math.exp/log each differ from the other in the last bit for some inputs. Also Java's Math.max for doubles.
#ifndef SPINDLE_KERNEL_MATH_H
#define SPINDLE_KERNEL_MATH_H
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static const double KM_LN2_HI = 6.93147180369123816490e-01;
static const double KM_LN2_LO = 1.90821492927058770002e-10;
static const double KM_INV_LN2 = 1.44269504088896338700e+00;
static const double KM_EXP_OVERFLOW = 7.09782712893383973096e+02;
static const double KM_EXP_UNDERFLOW = -7.45133219101941108420e+02;
static const double KM_P1 = 1.66666666666666019037e-01;
static const double KM_P2 = -2.77777777770155933842e-03;
static const double KM_P3 = 6.61375632143793436117e-05;
static const double KM_P4 = -1.65339022054652515390e-06;
static const double KM_P5 = 4.13813679705723846039e-08;
static const double KM_LG1 = 6.666666666666735130e-01;
static const double KM_LG2 = 3.999999999940941908e-01;
static const double KM_LG3 = 2.857142874366239149e-01;
static const double KM_LG4 = 2.222219843214978396e-01;
static const double KM_LG5 = 1.818357216161805012e-01;
static const double KM_LG6 = 1.531383769920937332e-01;
static const double KM_LG7 = 1.479819860511658591e-01;
static const double KM_SQRT2 = 1.41421356237309504880;

static inline double km_power_of_two(int e) {
    uint64_t bits = (uint64_t) (e + 1023) << 52;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static inline double km_exp(double x) {
    if (x != x) return x;
    if (x > KM_EXP_OVERFLOW) return INFINITY;
    if (x < KM_EXP_UNDERFLOW) return 0.0;
    double k = rint(x * KM_INV_LN2);
    double hi = x - k * KM_LN2_HI;
    double lo = k * KM_LN2_LO;
    double r = hi - lo;
    double rr = r * r;
    double c = r - rr * (KM_P1 + rr * (KM_P2 + rr * (KM_P3 + rr * (KM_P4 + rr * KM_P5))));
    double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    int e = (int) k;
    if (e < -1021) return y * km_power_of_two(e + 1000) * 0x1p-1000;
    if (e > 1023) return y * 2.0 * km_power_of_two(e - 1);
    return y * km_power_of_two(e);
}

static inline double km_log(double x) {
    if (!(x > 0)) return x == 0 ? -INFINITY : NAN;
    if (x == INFINITY) return x;
    int e = 0;
    if (x < 0x1p-1022) {
        x *= 0x1p54;
        e = -54;
    }
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    e += (int) (bits >> 52) - 1023;
    bits = (bits & UINT64_C(0x000fffffffffffff)) | UINT64_C(0x3ff0000000000000);
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > KM_SQRT2) {
        m *= 0.5;
        e += 1;
    }
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double w = z * z;
    double t1 = w * (KM_LG2 + w * (KM_LG4 + w * KM_LG6));
    double t2 = z * (KM_LG1 + w * (KM_LG3 + w * (KM_LG5 + w * KM_LG7)));
    double hfsq = 0.5 * f * f;
    return e * KM_LN2_HI - ((hfsq - (s * (hfsq + (t2 + t1)) + e * KM_LN2_LO)) - f);
}

// km_exp of four values, lane for lane the same operations (no fused multiply-add: -ffp-contract=off, and the
// intrinsics below are separate multiplies and adds). Lanes outside [-707, 709] (where 2^k needs two steps or
// overflows) and NaN take the scalar function.
static inline __m256d km_exp4(__m256d x) {
    __m256d inside = _mm256_and_pd(_mm256_cmp_pd(x, _mm256_set1_pd(-707.0), _CMP_GE_OQ),
                                   _mm256_cmp_pd(x, _mm256_set1_pd(709.0), _CMP_LE_OQ));
    if (_mm256_movemask_pd(inside) != 0xF) {
        double v[4];
        _mm256_storeu_pd(v, x);
        return _mm256_set_pd(km_exp(v[3]), km_exp(v[2]), km_exp(v[1]), km_exp(v[0]));
    }
    __m256d k = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(KM_INV_LN2)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d hi = _mm256_sub_pd(x, _mm256_mul_pd(k, _mm256_set1_pd(KM_LN2_HI)));
    __m256d lo = _mm256_mul_pd(k, _mm256_set1_pd(KM_LN2_LO));
    __m256d r = _mm256_sub_pd(hi, lo);
    __m256d rr = _mm256_mul_pd(r, r);
    __m256d poly = _mm256_add_pd(_mm256_set1_pd(KM_P4), _mm256_mul_pd(rr, _mm256_set1_pd(KM_P5)));
    poly = _mm256_add_pd(_mm256_set1_pd(KM_P3), _mm256_mul_pd(rr, poly));
    poly = _mm256_add_pd(_mm256_set1_pd(KM_P2), _mm256_mul_pd(rr, poly));
    poly = _mm256_add_pd(_mm256_set1_pd(KM_P1), _mm256_mul_pd(rr, poly));
    __m256d c = _mm256_sub_pd(r, _mm256_mul_pd(rr, poly));
    __m256d q = _mm256_div_pd(_mm256_mul_pd(r, c), _mm256_sub_pd(_mm256_set1_pd(2.0), c));
    __m256d y = _mm256_sub_pd(_mm256_set1_pd(1.0), _mm256_sub_pd(_mm256_sub_pd(lo, q), hi));
    // k is an integer of magnitude below 2^51: k + 1.5 * 2^52 holds it in its low bits, two's complement.
    __m256d shifter = _mm256_set1_pd(0x1.8p52);
    __m256i e = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(k, shifter)), _mm256_castpd_si256(shifter));
    __m256i two_to_e = _mm256_slli_epi64(_mm256_add_epi64(e, _mm256_set1_epi64x(1023)), 52);
    return _mm256_mul_pd(y, _mm256_castsi256_pd(two_to_e));
}

// Java's Math.max for doubles: NaN when either is NaN, and 0.0 above -0.0.
static inline double java_maxd(double a, double b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == 0.0 && b == 0.0) return signbit(a) ? b : a;
    return a > b ? a : b;
}

// Java's Math.max over n floats widened to double: NaN when one is NaN. Max is exact, so the order of the
// comparisons does not change the value (only, perhaps, the sign of a zero maximum, which no caller's result shows:
// x - (+-0) and m + (+-0) round alike).
static inline double km_max_floats(const float *v, int n) {
    __m256d m = _mm256_set1_pd(-INFINITY);
    __m256d nan = _mm256_setzero_pd();
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(v + j));
        nan = _mm256_or_pd(nan, _mm256_cmp_pd(x, x, _CMP_UNORD_Q));
        m = _mm256_max_pd(m, x);
    }
    double lanes[4];
    _mm256_storeu_pd(lanes, m);
    double max = -INFINITY;
    for (int i = 0; i < 4; i++) {
        max = java_maxd(max, lanes[i]);
    }
    for (; j < n; j++) {
        max = java_maxd(max, (double) v[j]);
    }
    return _mm256_movemask_pd(nan) ? NAN : max;
}
#endif
