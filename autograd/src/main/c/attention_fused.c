// SPDX-License-Identifier: Apache-2.0
// Causal attention forward and backward in one call each (spindle.autograd.kernels.FusedAttention) on float32
// q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv] read at their own strides (the heads' transposed views
// need no copy). Per batch entry and key/value head g, the rep = H / Hkv query heads of the group are stacked as
// rows r = head-in-group · Tq + query, so shared keys and values are read in place, not repeated and summed.
//
// Every product element is computed as gemm.c's: acc = 0, acc = fma(a, b, acc) over the contraction index in
// increasing order, then alpha·acc rounded once to float; the softmax and the dP-to-dS step are attention_rows.h's.
// The Java twin in the tests (FusedAttentionTwin) does the same operations, so both give the same bits.
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>
#include "attention_rows.h"

#define FMA_TARGET __attribute__((target("avx2,fma")))
#define W 16   // padded row widths are multiples of this: two ymm vectors

enum { B_, H_, HKV_, TQ_, TK_, D_, DV_, DIMS };   // the sizes at the head of the geometry array

typedef struct {
    int64_t b, h, hkv, tq, tk, d, dv, rep, rows;   // rows = rep · tq: the stacked query rows of one group
} sizes;

static int64_t padded(int64_t n) {
    return (n + W - 1) / W * W;
}

// c [m][npad] = alpha · op over p < k of a(i, p) · b[p][j], a(i, p) = a[i · ar + p · ac], b [k][npad].
FMA_TARGET static void product(const float *a, int64_t ar, int64_t ac, const float *b, int64_t npad, int64_t m,
                               int64_t k, float alpha, float *c) {
    __m256 al = _mm256_set1_ps(alpha);
    for (int64_t j = 0; j < npad; j += W) {
        for (int64_t i = 0; i < m; i += 4) {
            const float *a0 = a + i * ar;   // rows past m repeat row i and are not stored
            const float *a1 = a + (i + 1 < m ? i + 1 : i) * ar;
            const float *a2 = a + (i + 2 < m ? i + 2 : i) * ar;
            const float *a3 = a + (i + 3 < m ? i + 3 : i) * ar;
            __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00;
            __m256 c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (int64_t p = 0; p < k; p++) {
                const float *bp = b + p * npad + j;
                __m256 b0 = _mm256_loadu_ps(bp);
                __m256 b1 = _mm256_loadu_ps(bp + 8);
                __m256 x = _mm256_set1_ps(a0[p * ac]);
                c00 = _mm256_fmadd_ps(x, b0, c00);
                c01 = _mm256_fmadd_ps(x, b1, c01);
                x = _mm256_set1_ps(a1[p * ac]);
                c10 = _mm256_fmadd_ps(x, b0, c10);
                c11 = _mm256_fmadd_ps(x, b1, c11);
                x = _mm256_set1_ps(a2[p * ac]);
                c20 = _mm256_fmadd_ps(x, b0, c20);
                c21 = _mm256_fmadd_ps(x, b1, c21);
                x = _mm256_set1_ps(a3[p * ac]);
                c30 = _mm256_fmadd_ps(x, b0, c30);
                c31 = _mm256_fmadd_ps(x, b1, c31);
            }
            __m256 acc[8] = {c00, c01, c10, c11, c20, c21, c30, c31};
            for (int64_t r = 0; r < 4 && i + r < m; r++) {
                _mm256_storeu_ps(c + (i + r) * npad + j, _mm256_mul_ps(al, acc[2 * r]));
                _mm256_storeu_ps(c + (i + r) * npad + j + 8, _mm256_mul_ps(al, acc[2 * r + 1]));
            }
        }
    }
}

// dst [n][ld] (ld ≥ m, zeros after m) = x(i, j) for i < n, j < m: x(i, j) = x[i · si + j · sj].
static void pack(float *dst, int64_t ld, const float *x, int64_t n, int64_t si, int64_t m, int64_t sj) {
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < m; j++) {
            dst[i * ld + j] = x[i * si + j * sj];
        }
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
        for (int64_t j = 0; j < width; j++) {
            row[j * s[3]] = src[r * ld + j];
        }
    }
}

// x(b, g, j, c) = src[j][c] for j < n, c < width: one key/value head's rows of a [B, Hkv, Tk, X] view at strides s.
static void unpack_head(float *x, const int64_t *s, const float *src, int64_t ld, int64_t b, int64_t g, int64_t n,
                        int64_t width) {
    float *head = x + b * s[0] + g * s[1];
    for (int64_t j = 0; j < n; j++) {
        for (int64_t c = 0; c < width; c++) {
            head[j * s[2] + c * s[3]] = src[j * ld + c];
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
    size_t floats = (size_t) (z.d * tkp + z.tk * dvp + z.rows * z.d + z.rows * tkp + z.rows * dvp);
    float *kt = malloc(sizeof(float) * floats + sizeof(double) * (size_t) z.tk);
    if (kt == NULL) {
        return 1;
    }
    float *vv = kt + z.d * tkp, *qq = vv + z.tk * dvp, *s = qq + z.rows * z.d, *o = s + z.rows * tkp;
    double *e = (double *) (o + z.rows * dvp);
    const float *q = (const float *) (intptr_t) q_address, *k = (const float *) (intptr_t) k_address;
    const float *v = (const float *) (intptr_t) v_address;
    float *out = (float *) (intptr_t) out_address, *p = (float *) (intptr_t) p_address;
    for (int64_t b = 0; b < z.b; b++) {
        for (int64_t g = 0; g < z.hkv; g++) {
            const float *kg = k + b * ks[0] + g * ks[1], *vg = v + b * vs[0] + g * vs[1];
            pack(kt, tkp, kg, z.d, ks[3], z.tk, ks[2]);          // kᵀ [D][Tk]
            pack(vv, dvp, vg, z.tk, vs[2], z.dv, vs[3]);         // v [Tk][Dv]
            pack_rows(qq, z.d, q, qs, &z, b, g, z.d);            // q [rows][D]
            product(qq, z.d, 1, kt, tkp, z.rows, z.d, scale, s);
            float *pg = p + (b * z.h + g * z.rep) * z.tq * z.tk;
            for (int64_t r = 0; r < z.rows; r++) {
                softmax_row(s + r * tkp, (int) z.tk, (int) (z.tk - z.tq + r % z.tq + 1), e);
                memcpy(pg + r * z.tk, s + r * tkp, sizeof(float) * (size_t) z.tk);
            }
            product(s, tkp, 1, vv, dvp, z.rows, z.tk, 1.0f, o);
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
            product(pg, 1, z.tk, dO, dvp, z.tk, z.rows, 1.0f, dvs);
            unpack_head(dv, dvs_at, dvs, dvp, b, g, z.tk, z.dv);
            product(dO, dvp, 1, vt, tkp, z.rows, z.dv, 1.0f, ds);
            for (int64_t r = 0; r < z.rows; r++) {
                const float *orow = o + b * os[0] + (g * z.rep + r / z.tq) * os[1] + (r % z.tq) * os[2];
                score_grad_row(ds + r * tkp, pg + r * z.tk, (int) z.tk, dO + r * dvp, 1, orow, os[3], (int) z.dv);
            }
            product(ds, tkp, 1, kk, dp, z.rows, z.tk, scale, dqs);
            unpack_rows(dq, dqs_at, dqs, dp, &z, b, g, z.d);
            product(ds, 1, tkp, qq, dp, z.tk, z.rows, scale, dks);
            unpack_head(dk, dks_at, dks, dp, b, g, z.tk, z.d);
        }
    }
    free(qq);
    return 0;
}
