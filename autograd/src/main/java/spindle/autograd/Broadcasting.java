// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import spindle.autograd.kernels.NativeStrided;

/** PyTorch broadcasting rules: shapes align at the right; a dimension of size 1 stretches. */
public final class Broadcasting {
    /** Longer sums go to ND4J, whose reduction loses less to float32 rounding than one running sum. */
    static final long NATIVE_MAX_TERMS = 2048;

    private Broadcasting() {}

    /** The broadcast shape of {@code a} and {@code b}, or an error naming both shapes and {@code where}. */
    public static long[] shape(long[] a, long[] b, String where) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(where + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                    + " do not broadcast (dimension " + i + ": " + da + " vs " + db + ")");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /**
     * {@code a} stretched to {@code shape}: a itself when the shapes are equal, else a fresh c-order copy: for
     * float32 one native pass, else -0 everywhere plus a, exact for every a (also -0). ND4J's own
     * INDArray.broadcast (tile) costs about 20 ms even for [1, 8] to [2048, 8]. Not assign(a): with a smaller a
     * it copies a cyclically instead of broadcasting ([[1], [2]] into [2, 3] gives [[1, 2, 1], [2, 1, 2]]).
     */
    public static INDArray expand(INDArray a, long[] shape) {
        if (Arrays.equals(a.shape(), shape)) {
            return a;
        }
        INDArray r = a;
        if (a.rank() < shape.length) {
            long[] padded = new long[shape.length];
            Arrays.fill(padded, 1);
            System.arraycopy(a.shape(), 0, padded, shape.length - a.rank(), a.rank());
            r = a.reshape('c', padded);
        }
        INDArray out = Nd4j.createUninitialized(a.dataType(), shape);
        if (NativeStrided.readable(r)) {   // a copy: the same values, no ND4J op
            NativeStrided.expandInto(out, r);
            return out;
        }
        return out.assign(-0.0).addi(r);
    }

    /**
     * Sums a gradient of broadcast shape down to {@code shape}, the shape of the input that was broadcast: for float32
     * in one native pass adding in row-major order, else ND4J's sum.
     */
    public static INDArray sumTo(INDArray g, long[] shape, String where) {
        long[] gs = g.shape();
        int lead = gs.length - shape.length;
        if (lead < 0) {
            throw new IllegalStateException(where + ": gradient of shape " + Arrays.toString(gs)
                + " cannot be reduced to " + Arrays.toString(shape));
        }
        int[] dims = new int[gs.length];
        int n = 0;
        for (int i = 0; i < gs.length; i++) {
            if (i < lead || (shape[i - lead] == 1 && gs[i] != 1)) {
                dims[n++] = i;
            } else if (shape[i - lead] != gs[i]) {
                throw new IllegalStateException(where + ": gradient of shape " + Arrays.toString(gs)
                    + " does not match input shape " + Arrays.toString(shape));
            }
        }
        long[] kept = gs.clone();
        long terms = 1;   // g's elements per sum
        for (int i = 0; i < n; i++) {
            kept[dims[i]] = 1;
            terms *= gs[dims[i]];
        }
        if (n > 0 && terms <= NATIVE_MAX_TERMS && NativeStrided.readable(g)) {   // one native pass, no ND4J op
            INDArray summed = Nd4j.zeros(g.dataType(), shape);
            NativeStrided.sumInto(Nd4j.create(summed.data(), kept, Nd4j.getStrides(kept, 'c'), 0, 'c'), g);
            return summed;
        }
        INDArray summed = n == 0 ? g : g.sum(true, Arrays.copyOf(dims, n));
        return summed.reshape(shape);
    }
}
