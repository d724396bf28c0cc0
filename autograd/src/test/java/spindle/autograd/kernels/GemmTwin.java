// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The Java twin of gemm.c, for the tests: every element of c computed as gemm.c states, with Math.fma, on the
 * arrays' logical elements (whatever their layout), so the native result must match it bit for bit.
 */
final class GemmTwin {
    private GemmTwin() {}

    /**
     * alpha·op(a)·op(b) + beta·c in c order, for a [..., m, k] (or [..., k, m] with ta), b [..., k, n] (or
     * [..., n, k] with tb) and c [..., m, n]; a's and b's leading dims are c's or hold one matrix.
     */
    static float[] product(INDArray a, INDArray b, INDArray c, boolean ta, boolean tb, float alpha, float beta) {
        int r = c.rank();
        int m = (int) c.size(r - 2);
        int n = (int) c.size(r - 1);
        int batch = (int) (c.length() / ((long) m * n));
        int aCols = (int) a.size(a.rank() - 1);
        int bCols = (int) b.size(b.rank() - 1);
        int k = ta ? (int) a.size(a.rank() - 2) : aCols;
        float[] av = a.dup('c').data().asFloat();
        float[] bv = b.dup('c').data().asFloat();
        float[] cv = c.dup('c').data().asFloat();
        float[] out = new float[cv.length];
        for (int t = 0; t < batch; t++) {
            int aAt = av.length == m * k ? 0 : t * m * k;
            int bAt = bv.length == k * n ? 0 : t * k * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    float acc = 0f;
                    for (int p = 0; p < k; p++) {
                        float x = av[aAt + (ta ? p * aCols + i : i * aCols + p)];
                        float y = bv[bAt + (tb ? j * bCols + p : p * bCols + j)];
                        acc = Math.fma(x, y, acc);
                    }
                    int at = (t * m + i) * n + j;
                    float scaled = alpha * acc;
                    out[at] = beta == 0f ? scaled : Math.fma(beta, cv[at], scaled);
                }
            }
        }
        return out;
    }
}
