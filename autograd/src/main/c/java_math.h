// SPDX-License-Identifier: Apache-2.0
// Java's Math.min and Math.max for floats: NaN when either argument is NaN, and -0.0 below 0.0 (C's fminf and
// fmaxf return the other argument for a NaN, and may return either zero).
#ifndef SPINDLE_JAVA_MATH_H
#define SPINDLE_JAVA_MATH_H
#include <math.h>

static inline float java_minf(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == 0.0f && b == 0.0f) return signbit(a) ? a : b;
    return a < b ? a : b;
}

static inline float java_maxf(float a, float b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == 0.0f && b == 0.0f) return signbit(a) ? b : a;
    return a > b ? a : b;
}
#endif
