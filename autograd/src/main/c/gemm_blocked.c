// SPDX-License-Identifier: Apache-2.0
// Large float32 products for gemm.c, blocked for the caches: a KC x NC block of op(B) is packed into NR-wide
// panels (each panel, KC x 16 floats, stays in L1 while it meets every row panel of A), an MC x KC block of op(A)
// is packed into MR-high panels (the block stays in L2) when A is transposed, whose rows would otherwise be read
// one cache line per k; a row-major A is read in place, its rows already contiguous along k (packing it measured
// slower). Packing pads panels with zeros; the padded rows and columns are computed and dropped.
//
// Splitting k into blocks keeps each element's bits: the float32 sum after a block is stored (in C when beta is 0,
// which then is not read, else in a scratch block) and the next block's multiply-adds continue from it, the same
// chain of roundings as one long loop. alpha and beta apply once, after the last block.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>
#include "gemm.h"

#define KC 256                    // k per block with A packed: a B panel of KC x NR floats is 16 KB, in L1
#define KC_IN_PLACE 1024          // k per block with A read in place (fewer passes over the sums measured faster)
#define MC 144                    // rows of A per block: 144 x 256 floats, 144 KB, in L2
#define NC 4080                   // columns of B per block at most (a multiple of NR)
#define BLOCK_FLOATS (1 << 20)    // a packed B block, and the scratch sums, hold at most this many floats (4 MB)

// Scratch memory per thread, kept between calls (a fresh mmap per call would fault its pages in every time).
typedef struct {
    float *data;
    size_t floats;
} arena;

static pthread_key_t arena_key;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

static void arena_free(void *p) {
    arena *s = p;
    free(s->data);
    free(s);
}

static void arena_init(void) {
    pthread_key_create(&arena_key, arena_free);
}

// At least `floats` floats, 64-byte aligned, owned by the calling thread; NULL when out of memory.
static float *scratch(size_t floats) {
    pthread_once(&arena_once, arena_init);
    arena *s = pthread_getspecific(arena_key);
    if (s == NULL) {
        s = calloc(1, sizeof(arena));
        if (s == NULL || pthread_setspecific(arena_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->floats < floats) {
        free(s->data);
        s->floats = 0;
        s->data = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
        if (s->data == NULL) {
            return NULL;
        }
        s->floats = floats;
    }
    return s->data;
}

// Rows i0 .. i0+mc-1, k p0 .. p0+kc-1 of op(A) into MR-high panels [p][MR], rows past mc zero.
static void pack_a(operand a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float *dst) {
    for (int64_t ir = 0; ir < mc; ir += MR, dst += kc * MR) {
        int mr = mc - ir < MR ? (int) (mc - ir) : MR;
        const float *src = a.x + (i0 + ir) * a.row_step + p0 * a.col_step;
        if (a.row_step == 1) {                       // op(A) column-major: MR rows lie side by side
            for (int64_t p = 0; p < kc; p++) {
                const float *s = src + p * a.col_step;
                for (int r = 0; r < MR; r++) {
                    dst[p * MR + r] = r < mr ? s[r] : 0.0f;
                }
            }
            continue;
        }
        for (int r = 0; r < MR; r++) {
            const float *s = src + r * a.row_step;
            for (int64_t p = 0; p < kc; p++) {
                dst[p * MR + r] = r < mr ? s[p * a.col_step] : 0.0f;
            }
        }
    }
}

// k p0 .. p0+kc-1, columns j0 .. j0+nc-1 of op(B) into NR-wide panels [p][NR], columns past nc zero.
static void pack_b(operand b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float *dst) {
    for (int64_t jr = 0; jr < nc; jr += NR, dst += kc * NR) {
        int nr = nc - jr < NR ? (int) (nc - jr) : NR;
        const float *src = b.x + p0 * b.row_step + (j0 + jr) * b.col_step;
        if (b.col_step == 1) {                       // op(B) row-major: a panel row is contiguous
            for (int64_t p = 0; p < kc; p++) {
                const float *s = src + p * b.row_step;
                for (int j = 0; j < NR; j++) {
                    dst[p * NR + j] = j < nr ? s[j] : 0.0f;
                }
            }
            continue;
        }
        for (int j = 0; j < NR; j++) {
            const float *s = src + j * b.col_step;
            for (int64_t p = 0; p < kc; p++) {
                dst[p * NR + j] = j < nr ? s[p * b.row_step] : 0.0f;
            }
        }
    }
}

// How a tile's sums end: stored as they are (more k blocks follow), or as alpha·acc (+ beta·C) into C.
typedef struct {
    int last;
    float alpha;
    float beta;
} finish;

#define ROW(r) {                                                             \
        __m256 x = _mm256_broadcast_ss(a_ + r);                               \
        c##r##0 = _mm256_fmadd_ps(x, b0, c##r##0);                           \
        c##r##1 = _mm256_fmadd_ps(x, b1, c##r##1);                           \
    }
#define STEP(q) {                                                            \
        __m256 b0 = _mm256_load_ps(bp + (q) * NR);                           \
        __m256 b1 = _mm256_load_ps(bp + (q) * NR + 8);                       \
        const float *a_ = ap + (q) * MR;                                     \
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)                            \
    }
#define IN_PLACE_ROW(r) {                                                    \
        __m256 x = _mm256_broadcast_ss(a##r + p);                            \
        c##r##0 = _mm256_fmadd_ps(x, b0, c##r##0);                           \
        c##r##1 = _mm256_fmadd_ps(x, b1, c##r##1);                           \
    }
#define LOAD(r) {                                                            \
        c##r##0 = _mm256_loadu_ps(in + r * ldin);                            \
        c##r##1 = _mm256_loadu_ps(in + r * ldin + 8);                        \
    }
#define STORE(r) {                                                           \
        __m256 t0 = c##r##0, t1 = c##r##1;                                   \
        if (f.last) {                                                        \
            t0 = _mm256_mul_ps(alpha, t0);                                   \
            t1 = _mm256_mul_ps(alpha, t1);                                   \
            if (f.beta != 0.0f) {                                            \
                t0 = _mm256_fmadd_ps(beta, _mm256_loadu_ps(out + r * ldout), t0);     \
                t1 = _mm256_fmadd_ps(beta, _mm256_loadu_ps(out + r * ldout + 8), t1); \
            }                                                                \
        }                                                                    \
        _mm256_storeu_ps(out + r * ldout, t0);                               \
        _mm256_storeu_ps(out + r * ldout + 8, t1);                           \
    }

#define SUMS &c00, &c01, &c10, &c11, &c20, &c21, &c30, &c31, &c40, &c41, &c50, &c51
#define SUM_PARAMS __m256 *s00, __m256 *s01, __m256 *s10, __m256 *s11, __m256 *s20, __m256 *s21, __m256 *s30, \
    __m256 *s31, __m256 *s40, __m256 *s41, __m256 *s50, __m256 *s51
#define SUMS_IN __m256 c00 = *s00, c01 = *s01, c10 = *s10, c11 = *s11, c20 = *s20, c21 = *s21, c30 = *s30, \
    c31 = *s31, c40 = *s40, c41 = *s41, c50 = *s50, c51 = *s51;
#define SUMS_OUT *s00 = c00; *s01 = c01; *s10 = c10; *s11 = c11; *s20 = c20; *s21 = c21; *s30 = c30; \
    *s31 = c31; *s40 = c40; *s41 = c41; *s50 = c50; *s51 = c51;

// The sums over kc k of a packed A panel ([p][MR]) times a B panel. One k a pass: unrolled by four, gcc kept one of
// the 15 live vectors on the stack (a store and a load per k); as here, the transposed-A products of a tiny-llama
// step ran 3-5% faster (hot, alone: 80 -> 86 GFLOP/s).
FMA_TARGET static inline __attribute__((always_inline)) void packed_sums(int64_t kc, const float *ap,
                                                                          const float *bp, SUM_PARAMS) {
    SUMS_IN
    for (int64_t p = 0; p < kc; p++, ap += MR, bp += NR) {
        STEP(0)
    }
    SUMS_OUT
}

// The same for MR rows of a row-major A read in place (row stride lda): each row is read along k already.
FMA_TARGET static inline __attribute__((always_inline)) void in_place_sums(int64_t kc, const float *ap,
                                                                            int64_t lda, const float *bp,
                                                                            SUM_PARAMS) {
    SUMS_IN
    const float *a0 = ap, *a1 = ap + lda, *a2 = ap + 2 * lda, *a3 = ap + 3 * lda, *a4 = ap + 4 * lda;
    const float *a5 = ap + 5 * lda;
    for (int64_t p = 0; p < kc; p++, bp += NR) {
        __m256 b0 = _mm256_load_ps(bp);
        __m256 b1 = _mm256_load_ps(bp + 8);
        IN_PLACE_ROW(0) IN_PLACE_ROW(1) IN_PLACE_ROW(2) IN_PLACE_ROW(3) IN_PLACE_ROW(4) IN_PLACE_ROW(5)
    }
    SUMS_OUT
}

// A full MR x NR tile: sums start at zero (in NULL) or at in's, run over kc k, and end as f says in out. A's
// panel is packed (lda 0) or MR rows of a row-major A in place (row stride lda).
FMA_TARGET static void kernel(int64_t kc, const float *ap, int64_t lda, const float *bp, const float *in,
                              int64_t ldin, float *out, int64_t ldout, finish f) {
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (in == NULL) {
        c00 = _mm256_setzero_ps();
        c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c00;
    } else {
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5)
    }
    for (int r = 0; r < MR; r++) {                 // C's lines on their way while the sums run
        __builtin_prefetch(out + r * ldout, 1);
        __builtin_prefetch(out + r * ldout + NR - 1, 1);
    }
    if (lda == 0) {
        packed_sums(kc, ap, bp, SUMS);
    } else {
        in_place_sums(kc, ap, lda, bp, SUMS);
    }
    __m256 alpha = _mm256_set1_ps(f.alpha);
    __m256 beta = _mm256_set1_ps(f.beta);
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
}

// A tile cut by C's edge (mr x nr): computed whole in a local tile, then only its mr x nr corner leaves it.
FMA_TARGET static void edge_tile(int64_t kc, const float *ap, int64_t lda, const float *bp, const float *in,
                                 int64_t ldin, float *out, int64_t ldout, int mr, int nr, finish f) {
    _Alignas(32) float t[MR * NR] = {0};   // the lanes past mr x nr are padding
    if (in != NULL) {
        for (int r = 0; r < mr; r++) {
            memcpy(t + r * NR, in + r * ldin, (size_t) nr * sizeof(float));
        }
    }
    finish raw = {0, 1.0f, 0.0f};
    kernel(kc, ap, lda, bp, in == NULL ? NULL : t, NR, t, NR, raw);
    for (int r = 0; r < mr; r++) {
        for (int j = 0; j < nr; j++) {
            float acc = t[r * NR + j];
            float *o = out + r * ldout + j;
            *o = !f.last ? acc : f.beta == 0.0f ? f.alpha * acc : __builtin_fmaf(f.beta, *o, f.alpha * acc);
        }
    }
}

// The rows of A a block's tiles read: MR-high packed panels (lda 0), or rows of a row-major A in place (row stride
// lda) with the last panel packed in `edge` when it has fewer than MR rows (the kernel reads MR rows).
typedef struct {
    const float *x;
    int64_t lda;
    float *edge;
} a_block;

// The tiles of one (MC x KC) · (KC x NC) block pair: each B panel meets every A panel while it sits in L1.
static void macro(a_block a, const float *pb, int64_t mc, int64_t nc, int64_t kc, const float *in, int64_t ldin,
                  float *out, int64_t ldout, finish f) {
    for (int64_t jr = 0; jr < nc; jr += NR) {
        int nr = nc - jr < NR ? (int) (nc - jr) : NR;
        for (int64_t ir = 0; ir < mc; ir += MR) {
            int mr = mc - ir < MR ? (int) (mc - ir) : MR;
            const float *tin = in == NULL ? NULL : in + ir * ldin + jr;
            const float *ap = a.lda == 0 ? a.x + ir * kc : mr < MR ? a.edge : a.x + ir * a.lda;
            int64_t lda = mr < MR ? 0 : a.lda;
            if (mr == MR && nr == NR) {
                kernel(kc, ap, lda, pb + jr * kc, tin, ldin, out + ir * ldout + jr, ldout, f);
            } else {
                edge_tile(kc, ap, lda, pb + jr * kc, tin, ldin, out + ir * ldout + jr, ldout, mr, nr, f);
            }
        }
    }
}

// Columns of B per block: NC, or fewer so that a block of kc x nc floats stays within BLOCK_FLOATS.
static int64_t block_columns(int64_t kc) {
    int64_t nc = BLOCK_FLOATS / kc / NR * NR;
    return nc < NR ? NR : nc > NC ? NC : nc;
}

// k per block: KC when A is packed, KC_IN_PLACE when it is read in place, split evenly (no thin last block).
static int64_t block_depth(int in_place, int64_t k) {
    int64_t limit = in_place ? KC_IN_PLACE : KC;
    int64_t blocks = (k + limit - 1) / limit;
    return (k + blocks - 1) / blocks;
}

static int blocked_rows(operand a, operand b, float *c, int64_t ldc, int64_t m, int64_t n, int64_t k, float alpha,
                        float beta) {
    int in_place = a.col_step == 1;                            // A's rows lie along k: read them where they are
    int64_t kc_max = block_depth(in_place, k);
    int64_t nc_block = block_columns(kc_max);
    int64_t nc_max = n < nc_block ? (n + NR - 1) / NR * NR : nc_block;
    int64_t mc_max = m < MC ? (m + MR - 1) / MR * MR : MC;
    int carry_apart = kc_max < k && beta != 0.0f;             // C's old values are still needed at the end
    size_t pa_size = ((size_t) mc_max * kc_max + 15) / 16 * 16;   // B panels start 64-byte aligned
    size_t pb_size = (size_t) nc_max * kc_max;
    float *pa = scratch(pa_size + pb_size + (carry_apart ? (size_t) m * nc_max : 0));
    if (pa == NULL) {
        return 1;
    }
    float *pb = pa + pa_size;
    float *carry = carry_apart ? pb + pb_size : c;
    int64_t ldcarry = carry_apart ? nc_max : ldc;
    for (int64_t j0 = 0; j0 < n; j0 += nc_block) {
        int64_t nc = n - j0 < nc_block ? n - j0 : nc_block;
        for (int64_t p0 = 0; p0 < k; p0 += kc_max) {
            int64_t kc = k - p0 < kc_max ? k - p0 : kc_max;
            finish f = {p0 + kc == k, alpha, beta};
            pack_b(b, p0, kc, j0, nc, pb);
            for (int64_t i0 = 0; i0 < m; i0 += MC) {
                int64_t mc = m - i0 < MC ? m - i0 : MC;
                a_block ab = {pa, 0, NULL};
                if (in_place) {
                    ab.x = a.x + i0 * a.row_step + p0;
                    ab.lda = a.row_step;
                    ab.edge = pa;
                    if (mc % MR != 0) {
                        pack_a(a, i0 + mc / MR * MR, mc % MR, p0, kc, pa);
                    }
                } else {
                    pack_a(a, i0, mc, p0, kc, pa);
                }
                const float *in = p0 == 0 ? NULL : carry + i0 * ldcarry + (carry_apart ? 0 : j0);
                float *out = f.last ? c + i0 * ldc + j0 : carry + i0 * ldcarry + (carry_apart ? 0 : j0);
                int64_t ldout = f.last ? ldc : ldcarry;
                macro(ab, pb, mc, nc, kc, in, ldcarry, out, ldout, f);
            }
        }
    }
    return 0;
}

int gemm_blocked(operand a, operand b, float *c, int64_t ldc, int64_t m, int64_t n, int64_t k, float alpha,
                 float beta) {
    int64_t kc_max = block_depth(a.col_step == 1, k);
    int64_t nc_max = n < block_columns(kc_max) ? (n + NR - 1) / NR * NR : block_columns(kc_max);
    if (kc_max == k || beta == 0.0f || m * nc_max <= BLOCK_FLOATS) {
        return blocked_rows(a, b, c, ldc, m, n, k, alpha, beta);
    }
    // The sums kept apart from C for so many rows would exceed BLOCK_FLOATS: a few row blocks at a time, each
    // packing B again (a small cost next to its rows' products).
    int64_t rows = BLOCK_FLOATS / nc_max / MC * MC;
    rows = rows < MC ? MC : rows;
    for (int64_t i0 = 0; i0 < m; i0 += rows) {
        operand part = {a.x + i0 * a.row_step, a.row_step, a.col_step};
        if (blocked_rows(part, b, c + i0 * ldc, ldc, m - i0 < rows ? m - i0 : rows, n, k, alpha, beta) != 0) {
            return 1;
        }
    }
    return 0;
}
