// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.kernels;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The elementwise parts of causal attention between its products: the masked softmax of the scores and the
 * step from dP to dS in the backward. Scores are [matrices, rows, keys], where row ρ of a matrix is query ρ mod L
 * of a block of L queries (the query heads of a group are stacked), and query i sees keys 0 .. keys - L + i.
 * Float32 arrays of any size go to the native twins ({@link NativeAttention}), which give the same bits.
 */
public final class AttentionKernels {
    private AttentionKernels() {}

    /**
     * True when these arrays (scores, probabilities, gradients of one block) should take these kernels: the native
     * ones ({@link NativeAttention}) for float32 of any size, else the Java ones below the small-kernel limit.
     */
    public static boolean fit(INDArray... arrays) {
        if (NativeAttention.fits(arrays)) {
            return true;
        }
        for (INDArray a : arrays) {
            if (!Dense.contiguous(a)) {
                return false;
            }
        }
        return SmallKernels.fit(arrays);
    }

    /** Replaces the scores s [..., rows, keys] (contiguous) by their causally masked softmax over the keys. */
    public static void causalSoftmaxInPlace(INDArray s, long queries) {
        if (NativeAttention.fits(s)) {
            NativeAttention.causalSoftmaxInPlace(s, queries);
            return;
        }
        int keys = (int) s.size(s.rank() - 1);
        int rows = (int) (s.length() / keys);
        double[] v = Dense.read(s, 0);
        if (s.dataType() == DataType.FLOAT) {
            causalSoftmaxFloat32(v, rows, keys, (int) queries);
        } else {
            causalSoftmax(v, rows, keys, (int) queries);
        }
        Dense.write(v, s);
    }

    /**
     * Softmax of each row over the keys it sees, 0 at the others, in float64 (float32 scores take
     * {@link #causalSoftmaxFloat32}). As adding a -inf mask would, a NaN or +inf score at a masked key makes the whole
     * row NaN.
     */
    static void causalSoftmax(double[] s, int rows, int keys, int queries) {
        double[] lanes = new double[4];
        for (int r = 0; r < rows; r++) {
            int o = r * keys;
            int seen = keys - queries + r % queries + 1;
            boolean poisoned = zeroKeysAfter(s, o, seen, keys);
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < seen; j++) {
                max = Math.max(max, s[o + j]);
            }
            java.util.Arrays.fill(lanes, 0);   // key j into lane j % 4: a serial sum waits on every add
            for (int j = 0; j < seen; j++) {
                double e = KernelMath.exp(s[o + j] - max);
                s[o + j] = e;
                lanes[j & 3] += e;
            }
            double scale = 1 / ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]));
            for (int j = 0; j < seen; j++) {
                s[o + j] *= scale;
            }
            if (poisoned) {
                java.util.Arrays.fill(s, o, o + keys, Double.NaN);
            }
        }
    }

    /**
     * {@link #causalSoftmax} of float32 scores (held exactly in doubles) as attention_rows.h computes it: the
     * exponentials in float32 ({@link FloatMath}), summed in float64 in eight lanes (key j into lane j % 8, the lanes
     * as ((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7))), each times 1 / sum in float64 and rounded to float32.
     */
    public static void causalSoftmaxFloat32(double[] s, int rows, int keys, int queries) {
        double[] lanes = new double[8];
        for (int r = 0; r < rows; r++) {
            int o = r * keys;
            int seen = keys - queries + r % queries + 1;
            boolean poisoned = zeroKeysAfter(s, o, seen, keys);
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < seen; j++) {
                max = Math.max(max, (float) s[o + j]);
            }
            java.util.Arrays.fill(lanes, 0);
            for (int j = 0; j < seen; j++) {
                float e = FloatMath.exp((float) s[o + j] - max);
                s[o + j] = e;
                lanes[j & 7] += e;
            }
            double scale = 1 / (((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
                + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7])));
            for (int j = 0; j < seen; j++) {
                s[o + j] = (float) (s[o + j] * scale);
            }
            if (poisoned) {
                java.util.Arrays.fill(s, o, o + keys, Double.NaN);
            }
        }
    }

    /** Zeros the keys seen .. keys-1 of the row at o; true when one of them held NaN or +inf. */
    private static boolean zeroKeysAfter(double[] s, int o, int seen, int keys) {
        boolean poisoned = false;
        for (int j = seen; j < keys; j++) {
            poisoned |= !(s[o + j] < Double.POSITIVE_INFINITY);
            s[o + j] = 0;
        }
        return poisoned;
    }

    /**
     * dS / scale = P ⊙ (dP - rowsum(dO ⊙ O)), written over dP; dP and P are [all, keys], dO and O [all, dv]
     * (all contiguous).
     */
    public static void scoreGradInPlace(INDArray dp, INDArray p, INDArray dO, INDArray o) {
        if (NativeAttention.fits(dp, p, dO, o)) {
            NativeAttention.scoreGradInPlace(dp, p, dO, o);
            return;
        }
        int keys = (int) dp.size(dp.rank() - 1);
        int rows = (int) (dp.length() / keys);
        int dv = (int) (dO.length() / rows);
        double[] ds = Dense.read(dp, 0);
        double[] pv = Dense.read(p, 1);
        double[] dov = Dense.read(dO, 2);
        double[] ov = Dense.read(o, 3);
        for (int r = 0; r < rows; r++) {
            double dot = 0;
            for (int j = 0; j < dv; j++) {
                dot += dov[r * dv + j] * ov[r * dv + j];
            }
            for (int j = r * keys; j < (r + 1) * keys; j++) {
                ds[j] = (ds[j] - dot) * pv[j];
            }
        }
        Dense.write(ds, dp);
    }
}
