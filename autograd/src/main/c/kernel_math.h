// SPDX-License-Identifier: Apache-2.0
// exp and log in plain double arithmetic, operation for operation as spindle.autograd.kernels.KernelMath (which
// explains the method), so the native kernels and their Java twins round alike; glibc's exp/log and Java's
// Math.exp/log each differ from the other in the last bit for some inputs. Also Java's Math.max for doubles.
#ifndef SPINDLE_KERNEL_MATH_H
#define SPINDLE_KERNEL_MATH_H
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

// Java's Math.max for doubles: NaN when either is NaN, and 0.0 above -0.0.
static inline double java_maxd(double a, double b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == 0.0 && b == 0.0) return signbit(a) ? b : a;
    return a > b ? a : b;
}
#endif
