// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.kernels.NativeStrided;

/**
 * The engine's copies and sums of gradients: in one native pass for float32 arrays of any strides (a transposed
 * or sliced gradient included), else through ND4J. Each ND4J op costs some 10-20 us whatever the size, and ND4J
 * copies a transposed view element by element (about 180 us for a [64, 64] expert weight's gradient); the native
 * pass makes the same float32 additions in the same order, so the sums are bitwise ND4J's.
 */
final class GradArrays {
    private GradArrays() {}

    /** A fresh c-order copy of g. */
    static INDArray copy(INDArray g) {
        return NativeStrided.readable(g) ? NativeStrided.denseCopy(g) : g.dup('c');
    }

    /** into = g; returns into. */
    static INDArray assign(INDArray into, INDArray g) {
        if (writable(into, g)) {
            NativeStrided.addInto(into, g, true);
            return into;
        }
        return into.assign(g);
    }

    /** into += g (into is written, g only read); returns into. */
    static INDArray addInto(INDArray into, INDArray g) {
        if (writable(into, g)) {
            NativeStrided.addInto(into, g, false);
            return into;
        }
        return into.addi(g);
    }

    /** A fresh c-order array holding a + b. */
    static INDArray sum(INDArray a, INDArray b) {
        return NativeStrided.fits(a, b) ? NativeStrided.sum(a, b) : a.add(b);
    }

    /**
     * True when the native pass may write into {@code into}: float32 arrays of one shape, and no two of into's
     * elements share memory (a broadcast view's stride 0 would make each write land several times).
     */
    private static boolean writable(INDArray into, INDArray g) {
        if (!NativeStrided.fits(into, g) || into.dataType() != g.dataType()) {
            return false;
        }
        for (int k = 0; k < into.rank(); k++) {
            if (into.size(k) > 1 && into.stride(k) == 0) {
                return false;
            }
        }
        return true;
    }
}
