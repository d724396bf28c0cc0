// SPDX-License-Identifier: Apache-2.0
package spindle.autograd.ops;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Memory;
import spindle.autograd.Tensor;

/**
 * Frozen 16-bit weights in float32 products. A LoRA job may keep its frozen base in bf16 (or f16) to halve its
 * memory and still compute in float32: {@link Linalg#linear} and {@link Indexing#embedding} take such a weight,
 * widen it (exactly: every 16-bit float is a float32) for the one product that needs it, and free the copy right
 * after, in the forward and again in the backward. The copy is transient rather than kept for the step because
 * keeping it would bring back the float32 footprint the 16-bit storage saves. A 16-bit weight that requires a
 * gradient is an error: its updates would round to 16 bits, so trained parameters stay float32.
 */
public final class Widening {
    private Widening() {}

    /** True for the 16-bit float dtypes a frozen weight may be stored in: BFLOAT16 and HALF. */
    public static boolean isNarrow(DataType t) {
        return t == DataType.BFLOAT16 || t == DataType.HALF;
    }

    /** The dtype a weight stored in {@code t} computes in: FLOAT for a 16-bit float, {@code t} itself otherwise. */
    public static DataType computeDtype(DataType t) {
        return isNarrow(t) ? DataType.FLOAT : t;
    }

    /**
     * Checks that {@code op} can take {@code weight} with an input of dtype {@code compute}: the same dtype, or a
     * frozen 16-bit weight with a float32 input. Errors name the op, the weight's dtype and what to do.
     */
    static void check(String op, Tensor weight, DataType compute) {
        DataType stored = weight.dtype();
        if (stored == compute) {
            return;
        }
        if (!isNarrow(stored) || compute != DataType.FLOAT) {
            throw new IllegalArgumentException(op + ": dtypes differ (" + compute + " and " + stored
                + "); cast one with Tensors.cast first");
        }
        if (weight.requiresGrad()) {
            throw new IllegalArgumentException(op + ": the weight is " + stored + " and requires grad; a 16-bit weight"
                + " can only be frozen (it is widened to float32 for each product), so train it in float32");
        }
    }

    /** The weight's value in {@code compute}: the live array when it already is, else a new widened copy. */
    static INDArray value(Tensor weight, DataType compute) {
        INDArray w = weight.value();
        return w.dataType() == compute ? w : w.castTo(compute);
    }

    /** Frees {@code widened} when it is a copy {@link #value} made (never the weight's own array). */
    static void release(INDArray widened, Tensor weight) {
        if (widened != weight.value()) {
            Memory.release(widened);
        }
    }
}
