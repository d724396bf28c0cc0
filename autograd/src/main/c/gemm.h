// SPDX-License-Identifier: Apache-2.0
// What gemm.c (small products, operands read in place) and gemm_blocked.c (large products, operands packed into
// cache-sized blocks) share. Both compute every element of C the same way (see gemm.c's header), so either may
// take any product and the bits do not change.
#ifndef SPINDLE_GEMM_H
#define SPINDLE_GEMM_H

#include <stdint.h>

#define MR 6                      // rows of C per tile: 6 x 16 accumulators fill 12 of the 16 ymm registers
#define NR 16                     // columns of C per tile, two ymm vectors
#define FMA_TARGET __attribute__((target("avx2,fma")))

// One operand's element (r, c) of op(X) lies at x + r * row_step + c * col_step.
typedef struct {
    const float *x;
    int64_t row_step;
    int64_t col_step;
} operand;

// C [m, n] (row stride ldc) = alpha·op(A)·op(B) + beta·C with both operands packed; returns 0, or 1 when its
// scratch memory could not be allocated (C untouched then).
int gemm_blocked(operand a, operand b, float *c, int64_t ldc, int64_t m, int64_t n, int64_t k, float alpha,
                 float beta);

#endif
