// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

/**
 * The Java twin of attention_fused.c, for the tests: each element computed as FusedAttention states, element by
 * element on c-order copies. Query i sees keys 0 .. Tk - Tq + i, and no value at a later key is read for it.
 * Products are fma chains from 0.0f over the terms with a seen key, in increasing index order, times alpha in
 * float; the softmax is {@link AttentionKernels#causalSoftmaxFloat32} over the seen keys, dS the formula of
 * {@link AttentionKernels#scoreGradInPlace}. Sizes are B, H, Hkv, Tq, Tk, D, Dv; query head h reads key/value head
 * h / (H / Hkv).
 */
final class FusedAttentionTwin {
    private final int b, h, hkv, tq, tk, d, dv, rep;

    FusedAttentionTwin(long[] sizes) {
        b = (int) sizes[0];
        h = (int) sizes[1];
        hkv = (int) sizes[2];
        tq = (int) sizes[3];
        tk = (int) sizes[4];
        d = (int) sizes[5];
        dv = (int) sizes[6];
        rep = h / hkv;
    }

    /** {out [B, H, Tq, Dv], P [B, H, Tq, Tk]} in c order. */
    float[][] forward(float[] q, float[] k, float[] v, float scale) {
        float[] out = new float[b * h * tq * dv];
        float[] p = new float[b * h * tq * tk];
        double[] row = new double[tk];
        for (int bi = 0; bi < b; bi++) {
            for (int hi = 0; hi < h; hi++) {
                int kv = bi * hkv + hi / rep;
                for (int i = 0; i < tq; i++) {
                    int qr = (bi * h + hi) * tq + i;
                    int seen = seen(i);
                    java.util.Arrays.fill(row, 0);
                    for (int j = 0; j < seen; j++) {
                        float acc = 0f;
                        for (int x = 0; x < d; x++) {
                            acc = Math.fma(q[qr * d + x], k[(kv * tk + j) * d + x], acc);
                        }
                        row[j] = scale * acc;
                    }
                    AttentionKernels.causalSoftmaxFloat32(row, 1, seen, 1);   // over the seen keys, zeros after them
                    for (int j = 0; j < tk; j++) {
                        p[qr * tk + j] = (float) row[j];
                    }
                    for (int e = 0; e < dv; e++) {
                        float acc = 0f;
                        for (int j = 0; j < seen; j++) {
                            acc = Math.fma(p[qr * tk + j], v[(kv * tk + j) * dv + e], acc);
                        }
                        out[qr * dv + e] = 1f * acc;
                    }
                }
            }
        }
        return new float[][] {out, p};
    }

    /** {dq, dk, dv} in c order; the rows of a group are r = head-in-group · Tq + query, as the native kernel's. */
    float[][] backward(float[] q, float[] k, float[] v, float[] o, float[] dO, float[] p, float scale) {
        float[] dq = new float[q.length];
        float[] dk = new float[k.length];
        float[] dvOut = new float[v.length];
        int rows = rep * tq;
        for (int bi = 0; bi < b; bi++) {
            for (int g = 0; g < hkv; g++) {
                int kv = bi * hkv + g;
                int first = (bi * h + g * rep) * tq;   // the group's first row in [B·H·Tq]
                float[] ds = new float[rows * tk];
                for (int j = 0; j < tk; j++) {
                    for (int e = 0; e < dv; e++) {
                        float acc = 0f;
                        for (int r = 0; r < rows; r++) {
                            if (seen(r % tq) <= j) {
                                continue;
                            }
                            acc = Math.fma(p[(first + r) * tk + j], dO[(first + r) * dv + e], acc);
                        }
                        dvOut[(kv * tk + j) * dv + e] = 1f * acc;
                    }
                }
                for (int r = 0; r < rows; r++) {
                    double dot = 0;
                    for (int e = 0; e < dv; e++) {
                        dot += (double) dO[(first + r) * dv + e] * (double) o[(first + r) * dv + e];
                    }
                    for (int j = 0; j < seen(r % tq); j++) {
                        float acc = 0f;
                        for (int e = 0; e < dv; e++) {
                            acc = Math.fma(dO[(first + r) * dv + e], v[(kv * tk + j) * dv + e], acc);
                        }
                        float dp = 1f * acc;
                        ds[r * tk + j] = (float) (((double) dp - dot) * (double) p[(first + r) * tk + j]);
                    }
                }
                for (int r = 0; r < rows; r++) {
                    for (int x = 0; x < d; x++) {
                        float acc = 0f;
                        for (int j = 0; j < seen(r % tq); j++) {
                            acc = Math.fma(ds[r * tk + j], k[(kv * tk + j) * d + x], acc);
                        }
                        dq[(first + r) * d + x] = scale * acc;
                    }
                }
                for (int j = 0; j < tk; j++) {
                    for (int x = 0; x < d; x++) {
                        float acc = 0f;
                        for (int r = 0; r < rows; r++) {
                            if (seen(r % tq) <= j) {
                                continue;
                            }
                            acc = Math.fma(ds[r * tk + j], q[(first + r) * d + x], acc);
                        }
                        dk[(kv * tk + j) * d + x] = scale * acc;
                    }
                }
            }
        }
        return new float[][] {dq, dk, dvOut};
    }

    /** The keys query i sees: 0 .. its position Tk - Tq + i. */
    private int seen(int i) {
        return tk - tq + i + 1;
    }
}
