// SPDX-License-Identifier: Apache-2.0
package spindle.data;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One batch. For language modelling {@code inputs} and {@code targets} are INT64 [B, T] and
 * targets[b, t] is the token after inputs[b, t], or {@link #IGNORE_INDEX} where no loss is taken
 * (prompt tokens, padding). Tabular data: inputs FLOAT [B, F], targets INT64 [B] (classes) or FLOAT [B, 1].
 */
public record Batch(INDArray inputs, INDArray targets) {
    /** Target value that the loss skips, PyTorch's {@code ignore_index} default. */
    public static final int IGNORE_INDEX = -100;

    /** Number of examples, the first dimension. */
    public int size() {
        return (int) inputs.size(0);
    }

    /**
     * Stacks rows into INT64 [B, T] with T the longest row: shorter rows are right-padded with
     * {@code padId} in inputs and {@link #IGNORE_INDEX} in targets (causal attention never lets a real
     * token see the padding after it, so no attention mask is needed).
     */
    public static Batch ofRows(int[][] inputs, int[][] targets, int padId) {
        int b = inputs.length;
        int t = 0;
        for (int i = 0; i < b; i++) {
            if (inputs[i].length != targets[i].length) {
                throw new IllegalArgumentException("row " + i + ": " + inputs[i].length + " inputs but "
                    + targets[i].length + " targets");
            }
            t = Math.max(t, inputs[i].length);
        }
        long[] x = new long[b * t];
        long[] y = new long[b * t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                boolean real = j < inputs[i].length;
                x[i * t + j] = real ? inputs[i][j] : padId;
                y[i * t + j] = real ? targets[i][j] : IGNORE_INDEX;
            }
        }
        return new Batch(Nd4j.createFromArray(x).reshape(b, t),   // long[] gives INT64
            Nd4j.createFromArray(y).reshape(b, t));
    }
}
