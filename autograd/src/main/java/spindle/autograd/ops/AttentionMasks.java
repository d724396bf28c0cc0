// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The masks of {@link Attention#causal}: the causal one, a key padding mask, and the queries that see nothing. */
final class AttentionMasks {
    private static final Map<String, INDArray> MASKS = new ConcurrentHashMap<>();   // causal masks by shape

    private AttentionMasks() {}

    /**
     * Additive [Tq·Tk] row: 0 where key j ≤ Tk - Tq + i, -inf after it. Kept for the next layer and step (each
     * call would otherwise build it again); only read, so threads share it. A few shapes at a time are kept.
     */
    static INDArray causalMask(long tq, long tk, DataType dtype) {
        String key = tq + "x" + tk + " " + dtype;
        INDArray cached = MASKS.get(key);
        if (cached != null) {
            return cached;
        }
        if (MASKS.size() >= 8) {
            MASKS.clear();   // the arrays go with the garbage collector: another thread may still read one
        }
        INDArray mask = buildCausalMask(tq, tk, dtype);
        MASKS.put(key, mask);
        return mask;
    }

    static INDArray buildCausalMask(long tq, long tk, DataType dtype) {
        double[] m = new double[(int) (tq * tk)];
        for (int i = 0; i < tq; i++) {
            Arrays.fill(m, (int) (i * tk + tk - tq + i + 1), (int) ((i + 1) * tk), Double.NEGATIVE_INFINITY);
        }
        return Nd4j.create(m, new long[] {1, tq * tk}, dtype);
    }

    /** A BOOL [B, Tk] keep mask as Java rows, read in one copy instead of one native call per element. */
    static boolean[][] keptKeys(INDArray keep) {
        double[][] values = keep.castTo(DataType.DOUBLE).toDoubleMatrix();
        boolean[][] kept = new boolean[values.length][];
        for (int i = 0; i < values.length; i++) {
            kept[i] = new boolean[values[i].length];
            for (int j = 0; j < values[i].length; j++) {
                kept[i][j] = values[i][j] != 0;
            }
        }
        return kept;
    }

    /** Per sequence, the first kept key (Tk when none): queries before it see nothing. */
    static long[] firstKeptKeys(boolean[][] kept) {
        long[] firstKept = new long[kept.length];
        for (int i = 0; i < kept.length; i++) {
            int j = 0;
            while (j < kept[i].length && !kept[i][j]) {
                j++;
            }
            firstKept[i] = j;
        }
        return firstKept;
    }

    /** The additive scores [B, Tk] of a keep mask: 0 at kept keys, -inf at padding; null when nothing is padding. */
    static INDArray paddingScores(boolean[][] kept, DataType dtype) {
        int tk = kept[0].length;
        double[] add = new double[kept.length * tk];
        boolean any = false;
        for (int i = 0; i < kept.length; i++) {
            for (int j = 0; j < tk; j++) {
                add[i * tk + j] = kept[i][j] ? 0 : Double.NEGATIVE_INFINITY;
                any |= !kept[i][j];
            }
        }
        return any ? Nd4j.create(add, new long[] {kept.length, tk}, dtype) : null;
    }

    /** Sets to 0 the probability rows (NaN from an all -inf row) of queries at positions before the first kept key. */
    static void zeroBlindRows(INDArray p, long[] firstKept, long offset, long b, long hkv, long rep, long tq,
                              long tk) {
        INDArray p5 = p.reshape(b, hkv, rep, tq, tk);
        for (int i = 0; i < b; i++) {
            long blind = Math.min(tq, Math.max(0, firstKept[i] - offset));   // query i sees keys ≤ offset + i
            if (blind > 0) {
                p5.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, blind),
                    NDArrayIndex.all()).assign(0);
            }
        }
    }
}
