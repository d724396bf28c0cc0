// SPDX-License-Identifier: Apache-2.0
// e^x by the same float64 operations in the same order as spindle.autograd.kernels.KernelExp, so the native and the
// Java kernels that call it agree bit for bit (glibc's exp and Java's Math.exp differ in the last bit for about one
// input in a thousand). Branch-free, so loops calling it vectorize (AVX2: four at a time); within one ulp of e^x.
#ifndef SPINDLE_KERNEL_EXP_H
#define SPINDLE_KERNEL_EXP_H
#include <stdint.h>
#include <string.h>

static inline double kernel_power_of_two(double n) {
    double biased = n + 1023.0 + 0x1p52;   // n + 1023 in the low bits, moved to the exponent
    uint64_t bits;
    memcpy(&bits, &biased, sizeof bits);
    bits <<= 52;
    double out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

static inline double kernel_exp(double x) {
    const double round = 0x1.8p52;
    double k = (x * 0x1.71547652b82fep+0 + round) - round;
    double r = (x - k * 0x1.62e42ffp-1) - k * -0x1.718432a1b0e26p-35;
    double q = 0x1.6124613a86d09p-33;
    q = q * r + 0x1.1eed8eff8d898p-29;
    q = q * r + 0x1.ae64567f544e4p-26;
    q = q * r + 0x1.27e4fb7789f5cp-22;
    q = q * r + 0x1.71de3a556c734p-19;
    q = q * r + 0x1.a01a01a01a01ap-16;
    q = q * r + 0x1.a01a01a01a01ap-13;
    q = q * r + 0x1.6c16c16c16c17p-10;
    q = q * r + 0x1.1111111111111p-7;
    q = q * r + 0x1.5555555555555p-5;
    q = q * r + 0x1.5555555555555p-3;
    q = q * r + 0x1.0p-1;
    double e = 1.0 + (r + r * r * q);
    double k1 = (k * 0.5 + round) - round;
    double y = e * kernel_power_of_two(k1) * kernel_power_of_two(k - k1);
    // The range checks compare x's bits as integers and select by masks: a float comparison (it may trap) keeps
    // gcc from vectorizing. For doubles of one sign the bits order as the magnitudes do.
    int64_t bits, out;
    memcpy(&bits, &x, sizeof bits);
    memcpy(&out, &y, sizeof out);
    int64_t over = -(int64_t) (bits > INT64_C(0x40862e42fefa39ef));                 // x > 709.78...
    int64_t under = -(int64_t) (bits < 0 && bits > (int64_t) UINT64_C(0xc0874910d52d3052));   // x < -745.13...
    int64_t nan = -(int64_t) ((bits & INT64_MAX) > INT64_C(0x7ff0000000000000));
    out = (out & ~over) | (INT64_C(0x7ff0000000000000) & over);   // +inf
    out &= ~under;                                                 // +0.0
    out = (out & ~nan) | (bits & nan);                             // x itself
    memcpy(&y, &out, sizeof y);
    return y;
}
#endif
