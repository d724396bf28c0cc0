// SPDX-License-Identifier: Apache-2.0
// Causal attention forward and backward in one call each (spindle.autograd.kernels.FusedAttention) on float32
// q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv] read at their own strides (the heads' transposed views
// need no copy). Per batch entry and key/value head g, the rep = H / Hkv query heads of the group are stacked as
// rows r = head-in-group · Tq + query, so shared keys and values are read in place, not repeated and summed.
//
// No value at a key after a query's position is read for that query (a future key cannot reach the past, and the
// masked half of every product is skipped). Every product element is as gemm.c's: acc = 0, acc = fma(a, b, acc)
// over the terms it sums in increasing index order, then alpha·acc rounded once to float; the softmax and the
// dP-to-dS step are attention_rows.h's.
// The Java twin in the tests (FusedAttentionTwin) does the same operations, so both give the same bits.
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>
#include "attention_rows.h"

#define FMA_TARGET __attribute__((target("avx2,fma")))
#define W 16   // padded row widths are multiples of this: two ymm vectors
#define ROWS 16   // a row block: its scores or dS (ROWS · Tk floats) stay in the first-level cache

enum { B_, H_, HKV_, TQ_, TK_, D_, DV_, DIMS };   // the sizes at the head of the geometry array

typedef struct {
    int64_t b, h, hkv, tq, tk, d, dv, rep, rows;   // rows = rep · tq: the stacked query rows of one group
} sizes;

static int64_t padded(int64_t n) {
    return (n + W - 1) / W * W;
}

// Which terms of a product's contraction an output row sums, so that no query reads a key after its own position:
// every p < k (ALL); the keys its query sees (SEEN: stacked query row r sums p < seen(r)); or the stacked query
// rows that see its key (SEEING: key row i sums, head by head, the rows r with seen(r) > i). The terms left out
// are the products with a masked probability, 0 in P and dS: skipping them halves the work when Tq = Tk.
enum { ALL, SEEN, SEEING };

// The keys stacked query row r sees: 0 .. its position Tk - Tq + r % Tq.
static int64_t seen(const sizes *z, int64_t r) {
    return z->tk - z->tq + r % z->tq + 1;
}

// [lo, hi) of the contraction terms output row i sums in segment seg (a query head's rows for SEEING).
static void span(const sizes *z, int terms, int64_t k, int64_t i, int64_t seg, int64_t *lo, int64_t *hi) {
    if (terms == ALL) {
        *lo = 0;
        *hi = k;
    } else if (terms == SEEN) {
        *lo = 0;
        *hi = seen(z, i);
    } else {
        int64_t first = i - (z->tk - z->tq);   // the first query of a head that sees key i
        *hi = (seg + 1) * z->tq;
        *lo = seg * z->tq + (first > 0 ? first : 0);
        *lo = *lo < *hi ? *lo : *hi;
    }
}

// One row's terms p in [lo, hi) into its two accumulators: c += a[p · ac] · b[p][0..15].
FMA_TARGET static void row_terms(__m256 *c, const float *a, int64_t ac, const float *b, int64_t npad, int64_t lo,
                                 int64_t hi) {
    __m256 c0 = c[0], c1 = c[1];
    for (int64_t p = lo; p < hi; p++) {
        __m256 x = _mm256_set1_ps(a[p * ac]);
        c0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + p * npad), c0);
        c1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + p * npad + 8), c1);
    }
    c[0] = c0;
    c[1] = c1;
}

// Four rows' terms [lo[r], hi[r]) into acc (two vectors a row), each row's in increasing p: the terms all four
// share run four rows at a time, the others row by row before and after them.
FMA_TARGET static void block_terms(__m256 acc[8], const float *const a[4], int64_t ac, const float *b,
                                   int64_t npad, const int64_t lo[4], const int64_t hi[4]) {
    int64_t from = lo[0], to = hi[0];
    for (int r = 1; r < 4; r++) {
        from = lo[r] > from ? lo[r] : from;
        to = hi[r] < to ? hi[r] : to;
    }
    if (from >= to) {
        for (int r = 0; r < 4; r++) {
            row_terms(acc + 2 * r, a[r], ac, b, npad, lo[r], hi[r]);
        }
        return;
    }
    for (int r = 0; r < 4; r++) {
        row_terms(acc + 2 * r, a[r], ac, b, npad, lo[r], from);
    }
    __m256 c00 = acc[0], c01 = acc[1], c10 = acc[2], c11 = acc[3];
    __m256 c20 = acc[4], c21 = acc[5], c30 = acc[6], c31 = acc[7];
    for (int64_t p = from; p < to; p++) {
        const float *bp = b + p * npad;
        __m256 b0 = _mm256_loadu_ps(bp);
        __m256 b1 = _mm256_loadu_ps(bp + 8);
        __m256 x = _mm256_set1_ps(a[0][p * ac]);
        c00 = _mm256_fmadd_ps(x, b0, c00);
        c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_set1_ps(a[1][p * ac]);
        c10 = _mm256_fmadd_ps(x, b0, c10);
        c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_set1_ps(a[2][p * ac]);
        c20 = _mm256_fmadd_ps(x, b0, c20);
        c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_set1_ps(a[3][p * ac]);
        c30 = _mm256_fmadd_ps(x, b0, c30);
        c31 = _mm256_fmadd_ps(x, b1, c31);
    }
    acc[0] = c00, acc[1] = c01, acc[2] = c10, acc[3] = c11;
    acc[4] = c20, acc[5] = c21, acc[6] = c30, acc[7] = c31;
    for (int r = 0; r < 4; r++) {
        row_terms(acc + 2 * r, a[r], ac, b, npad, to, hi[r]);
    }
}

// c [m][npad] = alpha · the sum over the terms p of row i (see the enum) of a(i, p) · b[p][j], with
// a(i, p) = a[i · ar + p · ac] and b [k][npad]; row i is the group's row row0 + i (a block of a group's stacked
// query rows for SEEN and ALL). With cols_seen (the products over the keys, whose columns are keys) only the
// 16-column tiles holding a key the row block sees are written: the rest is never read.
FMA_TARGET static void product(const float *a, int64_t ar, int64_t ac, const float *b, int64_t npad, int64_t m,
                               int64_t k, float alpha, float *c, const sizes *z, int terms, int cols_seen,
                               int64_t row0) {
    __m256 al = _mm256_set1_ps(alpha);
    int64_t segments = terms == SEEING ? z->rep : 1;
    for (int64_t i = 0; i < m; i += 4) {
        int64_t row[4], sees = 0;   // sees: the most keys a row of the block sees, for cols_seen
        const float *arow[4];
        for (int r = 0; r < 4; r++) {
            row[r] = i + r < m ? i + r : i;   // rows past m repeat row i and are not stored
            arow[r] = a + row[r] * ar;
            int64_t s = cols_seen ? seen(z, row0 + row[r]) : 0;
            sees = s > sees ? s : sees;
        }
        int64_t lo[2][4], hi[2][4];   // [0]: segment 0's spans, the same for every column tile; [1]: the others'
        for (int r = 0; r < 4; r++) {
            span(z, terms, k, row0 + row[r], 0, lo[0] + r, hi[0] + r);
        }
        for (int64_t j = 0; j < npad && !(cols_seen && j >= sees); j += W) {
            __m256 acc[8];
            for (int r = 0; r < 8; r++) {
                acc[r] = _mm256_setzero_ps();
            }
            block_terms(acc, arow, ac, b + j, npad, lo[0], hi[0]);
            for (int64_t seg = 1; seg < segments; seg++) {
                for (int r = 0; r < 4; r++) {
                    span(z, terms, k, row0 + row[r], seg, lo[1] + r, hi[1] + r);
                }
                block_terms(acc, arow, ac, b + j, npad, lo[1], hi[1]);
            }
            for (int64_t r = 0; r < 4 && i + r < m; r++) {
                _mm256_storeu_ps(c + (i + r) * npad + j, _mm256_mul_ps(al, acc[2 * r]));
                _mm256_storeu_ps(c + (i + r) * npad + j + 8, _mm256_mul_ps(al, acc[2 * r + 1]));
            }
        }
    }
}

// dst[r][c] = src[c][r] for r, c < 8 (src's rows at stride ss, dst's at stride ld): eight loads, eight stores.
FMA_TARGET static void transpose8(float *dst, int64_t ld, const float *src, int64_t ss) {
    __m256 t[8], u[8];
    for (int c = 0; c < 8; c += 2) {   // t: pairs of rows interleaved
        t[c] = _mm256_unpacklo_ps(_mm256_loadu_ps(src + c * ss), _mm256_loadu_ps(src + (c + 1) * ss));
        t[c + 1] = _mm256_unpackhi_ps(_mm256_loadu_ps(src + c * ss), _mm256_loadu_ps(src + (c + 1) * ss));
    }
    for (int h = 0; h < 8; h += 4) {   // u: four rows' columns r and r + 4, for r = 0 .. 3
        u[h] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int r = 0; r < 4; r++) {
        _mm256_storeu_ps(dst + r * ld, _mm256_permute2f128_ps(u[r], u[r + 4], 0x20));
        _mm256_storeu_ps(dst + (r + 4) * ld, _mm256_permute2f128_ps(u[r], u[r + 4], 0x31));
    }
}

// dst[j · dst_step] = src[j · src_step] for j < n: one memcpy when both are contiguous.
static void copy_row(float *dst, int64_t dst_step, const float *src, int64_t src_step, int64_t n) {
    if (dst_step == 1 && src_step == 1) {
        memcpy(dst, src, sizeof(float) * (size_t) n);
        return;
    }
    for (int64_t j = 0; j < n; j++) {
        dst[j * dst_step] = src[j * src_step];
    }
}

// dst [n][ld] (ld ≥ m, zeros after m) = x(i, j) for i < n, j < m: x(i, j) = x[i · si + j · sj]. Rows that lie
// along j are copied whole; a transpose (i along the source's rows) goes in 8 x 8 blocks, not element by element.
static void pack(float *dst, int64_t ld, const float *x, int64_t n, int64_t si, int64_t m, int64_t sj) {
    int64_t n8 = si == 1 && sj != 1 ? n / 8 * 8 : 0, m8 = m / 8 * 8;
    for (int64_t i = 0; i < n8; i += 8) {
        for (int64_t j = 0; j < m8; j += 8) {
            transpose8(dst + i * ld + j, ld, x + j * sj + i, sj);
        }
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t j0 = i < n8 ? m8 : 0;   // the columns the blocks left
        copy_row(dst + i * ld + j0, 1, x + i * si + j0 * sj, sj, m - j0);
        memset(dst + i * ld + m, 0, sizeof(float) * (size_t) (ld - m));
    }
}

// The group's stacked rows of a [B, H, T, X] view at strides s: dst [rows][ld] (zeros after X).
static void pack_rows(float *dst, int64_t ld, const float *x, const int64_t *s, const sizes *z, int64_t b,
                      int64_t g, int64_t width) {
    for (int64_t hr = 0; hr < z->rep; hr++) {
        const float *head = x + b * s[0] + (g * z->rep + hr) * s[1];
        pack(dst + hr * z->tq * ld, ld, head, z->tq, s[2], width, s[3]);
    }
}

// out(b, head of row r, query of row r, j) = src[r][j] for j < width, out at strides s.
static void unpack_rows(float *out, const int64_t *s, const float *src, int64_t ld, const sizes *z, int64_t b,
                        int64_t g, int64_t width) {
    for (int64_t r = 0; r < z->rows; r++) {
        float *row = out + b * s[0] + (g * z->rep + r / z->tq) * s[1] + (r % z->tq) * s[2];
        copy_row(row, s[3], src + r * ld, 1, width);
    }
}

// x(b, g, j, c) = src[j][c] for j < n, c < width: one key/value head's rows of a [B, Hkv, Tk, X] view at strides s.
static void unpack_head(float *x, const int64_t *s, const float *src, int64_t ld, int64_t b, int64_t g, int64_t n,
                        int64_t width) {
    float *head = x + b * s[0] + g * s[1];
    for (int64_t j = 0; j < n; j++) {
        copy_row(head + j * s[2], s[3], src + j * ld, 1, width);
    }
}

// dot[r] = rowsum(dO ⊙ O) of the group's rows r0 + r, r < m, as row_dot sums it (in order over the columns), from
// the packed dO rows [m][dvp] and O at strides os: four rows at a time, so four chains of adds overlap.
static void block_dots(double *dot, const float *d_o, int64_t dvp, const float *o, const int64_t *os,
                       const sizes *z, int64_t b, int64_t g, int64_t r0, int64_t m) {
    for (int64_t i = 0; i < m; i += 4) {
        const float *orow[4], *drow[4];
        double acc[4] = {0, 0, 0, 0};
        for (int r = 0; r < 4; r++) {
            int64_t row = r0 + (i + r < m ? i + r : i);   // rows past m repeat row i and are not stored
            orow[r] = o + b * os[0] + (g * z->rep + row / z->tq) * os[1] + (row % z->tq) * os[2];
            drow[r] = d_o + (row - r0) * dvp;
        }
        for (int64_t j = 0; j < z->dv; j++) {
            for (int r = 0; r < 4; r++) {
                acc[r] += (double) drow[r][j] * (double) orow[r][j * os[3]];
            }
        }
        for (int64_t r = 0; r < 4 && i + r < m; r++) {
            dot[i + r] = acc[r];
        }
    }
}

static sizes sizes_of(const int64_t *geo) {
    sizes z = {geo[B_], geo[H_], geo[HKV_], geo[TQ_], geo[TK_], geo[D_], geo[DV_], geo[H_] / geo[HKV_], 0};
    z.rows = z.rep * z.tq;
    return z;
}

// Forward: out = P v with P = causal softmax(scale · q kᵀ); P [B, H, Tq, Tk] dense is kept for the backward.
// geo: the 7 sizes, then the strides of q, k, v, out (4 each). Returns 0, or 1 when scratch could not be had.
JNIEXPORT jint JNICALL Java_spindle_autograd_kernels_FusedAttention_forward(
        JNIEnv *env, jclass cls, jlongArray geometry, jlong q_address, jlong k_address, jlong v_address,
        jlong out_address, jlong p_address, jfloat scale) {
    (void) cls;
    int64_t geo[DIMS + 16];
    (*env)->GetLongArrayRegion(env, geometry, 0, DIMS + 16, (jlong *) geo);
    const int64_t *qs = geo + DIMS, *ks = geo + DIMS + 4, *vs = geo + DIMS + 8, *os = geo + DIMS + 12;
    sizes z = sizes_of(geo);
    int64_t tkp = padded(z.tk), dvp = padded(z.dv);
    size_t floats = (size_t) (z.d * tkp + z.tk * dvp + z.rows * z.d + ROWS * tkp + z.rows * dvp);
    float *kt = malloc(sizeof(float) * (floats + (size_t) tkp));   // e: softmax_row's whole vectors
    if (kt == NULL) {
        return 1;
    }
    float *vv = kt + z.d * tkp, *qq = vv + z.tk * dvp, *s = qq + z.rows * z.d, *o = s + ROWS * tkp;
    float *e = o + z.rows * dvp;
    const float *q = (const float *) (intptr_t) q_address, *k = (const float *) (intptr_t) k_address;
    const float *v = (const float *) (intptr_t) v_address;
    float *out = (float *) (intptr_t) out_address, *p = (float *) (intptr_t) p_address;
    for (int64_t b = 0; b < z.b; b++) {
        for (int64_t g = 0; g < z.hkv; g++) {
            const float *kg = k + b * ks[0] + g * ks[1], *vg = v + b * vs[0] + g * vs[1];
            pack(kt, tkp, kg, z.d, ks[3], z.tk, ks[2]);          // kᵀ [D][Tk]
            pack(vv, dvp, vg, z.tk, vs[2], z.dv, vs[3]);         // v [Tk][Dv]
            pack_rows(qq, z.d, q, qs, &z, b, g, z.d);            // q [rows][D]
            float *pg = p + (b * z.h + g * z.rep) * z.tq * z.tk;   // P [rows][Tk]
            for (int64_t r0 = 0; r0 < z.rows; r0 += ROWS) {   // a block's scores stay in the first cache
                int64_t m = z.rows - r0 < ROWS ? z.rows - r0 : ROWS;
                product(qq + r0 * z.d, z.d, 1, kt, tkp, m, z.d, scale, s, &z, ALL, 1, r0);
                for (int64_t r = 0; r < m; r++) {
                    int64_t keys = seen(&z, r0 + r);
                    float *prow = pg + (r0 + r) * z.tk;
                    softmax_row(s + r * tkp, prow, (int) keys, (int) keys, e);
                    memset(prow + keys, 0, sizeof(float) * (size_t) (z.tk - keys));
                }
                product(pg + r0 * z.tk, z.tk, 1, vv, dvp, m, z.tk, 1.0f, o + r0 * dvp, &z, SEEN, 0, r0);
            }
            unpack_rows(out, os, o, dvp, &z, b, g, z.dv);
        }
    }
    free(kt);
    return 0;
}

// Backward: dv = Pᵀ dO, dS = P ⊙ (dO vᵀ - rowsum(dO ⊙ O)), dq = scale · dS k, dk = scale · dSᵀ q, the last and
// dv summed over the group's stacked rows by the products. geo: the 7 sizes, then the strides of q, k, v, O, dO,
// dq, dk, dv (the last three written, of q's, k's and v's shapes). Returns 0, or 1 when scratch could not be had.
JNIEXPORT jint JNICALL Java_spindle_autograd_kernels_FusedAttention_backward(
        JNIEnv *env, jclass cls, jlongArray geometry, jlong q_address, jlong k_address, jlong v_address,
        jlong o_address, jlong do_address, jlong p_address, jlong dq_address, jlong dk_address, jlong dv_address,
        jfloat scale) {
    (void) cls;
    int64_t geo[DIMS + 32];
    (*env)->GetLongArrayRegion(env, geometry, 0, DIMS + 32, (jlong *) geo);
    const int64_t *qs = geo + DIMS, *ks = geo + DIMS + 4, *vs = geo + DIMS + 8, *os = geo + DIMS + 12;
    const int64_t *dos = geo + DIMS + 16, *dqs_at = geo + DIMS + 20, *dks_at = geo + DIMS + 24;
    const int64_t *dvs_at = geo + DIMS + 28;
    sizes z = sizes_of(geo);
    int64_t tkp = padded(z.tk), dp = padded(z.d), dvp = padded(z.dv);
    size_t floats = (size_t) (2 * z.rows * dp + 2 * z.tk * dp + z.dv * tkp + z.rows * dvp + z.tk * dvp
                              + z.rows * tkp);
    float *qq = malloc(sizeof(float) * floats);
    if (qq == NULL) {
        return 1;
    }
    float *kk = qq + z.rows * dp, *vt = kk + z.tk * dp, *dO = vt + z.dv * tkp, *dvs = dO + z.rows * dvp;
    float *ds = dvs + z.tk * dvp, *dqs = ds + z.rows * tkp, *dks = dqs + z.rows * dp;
    const float *q = (const float *) (intptr_t) q_address, *k = (const float *) (intptr_t) k_address;
    const float *v = (const float *) (intptr_t) v_address, *o = (const float *) (intptr_t) o_address;
    const float *d_out = (const float *) (intptr_t) do_address, *p = (const float *) (intptr_t) p_address;
    float *dq = (float *) (intptr_t) dq_address, *dk = (float *) (intptr_t) dk_address;
    float *dv = (float *) (intptr_t) dv_address;
    for (int64_t b = 0; b < z.b; b++) {
        for (int64_t g = 0; g < z.hkv; g++) {
            const float *kg = k + b * ks[0] + g * ks[1], *vg = v + b * vs[0] + g * vs[1];
            const float *pg = p + (b * z.h + g * z.rep) * z.tq * z.tk;   // P [rows][Tk]
            pack_rows(qq, dp, q, qs, &z, b, g, z.d);             // q [rows][D]
            pack(kk, dp, kg, z.tk, ks[2], z.d, ks[3]);           // k [Tk][D]
            pack(vt, tkp, vg, z.dv, vs[3], z.tk, vs[2]);         // vᵀ [Dv][Tk]
            pack_rows(dO, dvp, d_out, dos, &z, b, g, z.dv);      // dO [rows][Dv]
            product(pg, 1, z.tk, dO, dvp, z.tk, z.rows, 1.0f, dvs, &z, SEEING, 0, 0);
            unpack_head(dv, dvs_at, dvs, dvp, b, g, z.tk, z.dv);
            for (int64_t r0 = 0; r0 < z.rows; r0 += ROWS) {   // dP, dS and dq of a block of rows, dS in cache
                int64_t m = z.rows - r0 < ROWS ? z.rows - r0 : ROWS;
                float *dsb = ds + r0 * tkp;
                product(dO + r0 * dvp, dvp, 1, vt, tkp, m, z.dv, 1.0f, dsb, &z, ALL, 1, r0);
                double dot[ROWS];
                block_dots(dot, dO + r0 * dvp, dvp, o, os, &z, b, g, r0, m);
                for (int64_t r = 0; r < m; r++) {
                    score_grad_row(dsb + r * tkp, pg + (r0 + r) * z.tk, (int) seen(&z, r0 + r), dot[r]);
                }
                product(dsb, tkp, 1, kk, dp, m, z.tk, scale, dqs + r0 * dp, &z, SEEN, 0, r0);
            }
            unpack_rows(dq, dqs_at, dqs, dp, &z, b, g, z.d);
            product(ds, 1, tkp, qq, dp, z.tk, z.rows, scale, dks, &z, SEEING, 0, 0);
            unpack_head(dk, dks_at, dks, dp, b, g, z.tk, z.d);
        }
    }
    free(qq);
    return 0;
}
