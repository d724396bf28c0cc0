// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a {@link Backward} sees: the gradient of the op's output and a way to add each input's gradient.
 * A gradient handed to {@link #add} becomes the engine's (it may be summed into or freed), unless it is
 * {@link #out()} itself or a view of it; never hand over an input's value or an array kept elsewhere.
 */
public final class Grads {
    private final Engine engine;
    private final Node node;
    private final INDArray out;
    private final List<Object[]> passedThrough = new ArrayList<>(2);

    Grads(Engine engine, Node node, INDArray out) {
        this.engine = engine;
        this.node = node;
        this.out = out;
    }

    /** d loss / d output, shaped like the output. Do not modify it in place. */
    public INDArray out() {
        return out;
    }

    /** True when input {@code i} needs a gradient; skip the work for it otherwise. */
    public boolean needs(int i) {
        return node.inputs()[i].requiresGrad();
    }

    /**
     * Adds {@code grad} as d loss / d input {@code i}. A gradient of a broadcast input may come in the
     * broadcast shape: it is summed down to the input's shape here, once for every op.
     */
    public void add(int i, INDArray grad) {
        AnomalyMode.check(node.op(), grad, true);
        Tensor input = node.inputs()[i];
        if (!input.requiresGrad()) {
            return;
        }
        long[] shape = input.rawValue().shape();
        boolean fromOut = Memory.sharesBuffer(grad, out);
        INDArray owner = fromOut || borrowed(grad) ? null : grad;
        if (!Arrays.equals(grad.shape(), shape)) {
            INDArray reduced = Broadcasting.sumTo(grad, shape, node.op() + " input " + i);
            if (!Memory.sharesBuffer(reduced, grad)) {
                Memory.release(owner);
                owner = reduced;
                fromOut = false;
            }
            grad = reduced;
        }
        if (grad.dataType() != input.rawValue().dataType()) {
            INDArray cast = grad.castTo(input.rawValue().dataType());
            Memory.release(owner);
            grad = cast;
            owner = cast;
            fromOut = false;
        }
        if (fromOut) {
            passedThrough.add(new Object[] {input, grad});   // handed on after the backward returns
        } else {
            engine.accumulate(input, grad, owner);
        }
    }

    /** Adds an op's part of an input's gradient into the full-size array that holds that gradient. */
    @FunctionalInterface
    public interface PartWriter {
        /**
         * Adds the part into {@code grad}; {@code zeros} tells that grad holds nothing yet, so a copy does
         * (ND4J copies into a strided window about ten times faster than it adds into one).
         */
        void write(INDArray grad, boolean zeros);
    }

    /**
     * Adds to d loss / d input {@code i} in place: {@code writer} gets the input's full-size gradient so far
     * (zeros if none yet, in the input's shape and dtype) and adds its part into it, e.g. one window or some
     * rows. An op that touches a small part of a large input saves the full-size temporary and the full-size
     * sum that {@link #add} would need.
     */
    public void addInPlace(int i, PartWriter writer) {
        Tensor input = node.inputs()[i];
        if (input.requiresGrad()) {
            engine.accumulateInPlace(input, writer, node.op());
        }
    }

    /**
     * Hands on the gradients that are {@link #out()} itself or views of it, once the backward has stopped
     * reading out: the last one takes over {@code outOwner} (no copy), the others get copies so that no two
     * pending gradients share a buffer. Returns true when ownership of out was passed on.
     */
    boolean flush(INDArray outOwner) {
        for (int k = passedThrough.size() - 1; k >= 0; k--) {
            Tensor target = (Tensor) passedThrough.get(k)[0];
            INDArray g = (INDArray) passedThrough.get(k)[1];
            INDArray owner = k == 0 ? outOwner : null;
            if (owner == null && !target.isLeaf()) {
                g = GradArrays.copy(g);
                owner = g;
            }
            engine.accumulate(target, g, owner);
        }
        return !passedThrough.isEmpty() && outOwner != null;
    }

    /** True when {@code grad} is an input's value or a saved array: alive until the graph is released. */
    private boolean borrowed(INDArray grad) {
        for (Tensor t : node.inputs()) {
            if (Memory.sharesBuffer(grad, t.rawValue())) {
                return true;
            }
        }
        INDArray[] saved = node.saved();
        if (saved != null) {
            for (INDArray s : saved) {
                if (Memory.sharesBuffer(grad, s)) {
                    return true;
                }
            }
        }
        return false;
    }
}
