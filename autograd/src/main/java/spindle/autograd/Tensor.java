// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An ND4J value, an optional gradient, and the tape node that made it (none for a leaf).
 *
 * <p>Leaves are made with {@link #of} and opt into gradients with {@link #requiresGrad(boolean)};
 * every other tensor comes out of an op. After {@link #backward()} the intermediate tensors of the
 * graph are released (their off-heap memory is freed at once); the root and tensors marked with
 * {@link #keep()} stay readable.
 */
public final class Tensor implements AutoCloseable {
    private INDArray value;
    private INDArray grad;
    private INDArray spareGrad;   // a cleared .grad whose memory the next backward writes into
    private boolean requiresGrad;
    private final boolean ownsValue;
    private Node node;
    private int version;
    private boolean kept;
    private String releasedBy;

    Tensor(INDArray value, boolean ownsValue, Node node) {
        this.value = value;
        this.ownsValue = ownsValue;
        this.node = node;
        this.requiresGrad = node != null;
    }

    /** A leaf holding {@code value} (not copied); it needs no gradient until {@link #requiresGrad(boolean)}. */
    public static Tensor of(INDArray value) {
        if (value == null) {
            throw new IllegalArgumentException("Tensor.of: value must not be null");
        }
        return new Tensor(value, true, null);
    }

    /** A float64 scalar leaf, handy for constants in tests. */
    public static Tensor scalar(double v) {
        return of(Nd4j.scalar(DataType.DOUBLE, v));
    }

    /** Marks a leaf as a parameter-like tensor whose {@code .grad} backward fills; returns this. */
    public Tensor requiresGrad(boolean requires) {
        if (node != null) {
            throw new IllegalStateException("requiresGrad can only be set on a leaf; this tensor comes from op '"
                + node.op() + "' (use detach() first)");
        }
        this.requiresGrad = requires;
        return this;
    }

    /** The value. Changing it in place bypasses the saved-tensor check: use {@link #mutate} for that. */
    public INDArray value() {
        if (releasedBy != null) {
            throw new IllegalStateException("this tensor (output of op '" + releasedBy + "') was released after backward;"
                + " call keep() on it before backward to read it afterwards");
        }
        return value;
    }

    /** Accumulated gradient of a leaf, or null when backward has not reached it since the last zeroGrad. */
    public INDArray grad() {
        return grad;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    public boolean isLeaf() {
        return node == null;
    }

    public long[] shape() {
        return value().shape();
    }

    public int rank() {
        return value().rank();
    }

    /** Size of dimension {@code dim}; negative dims count from the end as in PyTorch. */
    public long size(int dim) {
        return value().size(dim);
    }

    public DataType dtype() {
        return value().dataType();
    }

    /** The single element of a one-element tensor, as a double. */
    public double item() {
        INDArray v = value();
        if (v.length() != 1) {
            throw new IllegalStateException("item() needs a one-element tensor but shape is " + Arrays.toString(v.shape()));
        }
        return v.getDouble(0);
    }

    /** Backpropagates from a scalar: d this / d leaf is added to every leaf's {@code .grad}. */
    public void backward() {
        Autograd.backward(this, null, false);
    }

    /** Backpropagates with an explicit seed {@code d loss / d this} (needed when this is not a scalar). */
    public void backward(INDArray seed) {
        Autograd.backward(this, seed, false);
    }

    /** A leaf sharing this value, cut from the graph (no gradient flows through it). */
    public Tensor detach() {
        return new Tensor(value(), false, null);
    }

    /**
     * Adds {@code g} to {@code .grad} as backward does (a data-parallel step adds its replicas' summed gradients
     * this way); g is copied, the caller keeps it.
     */
    public void addToGrad(INDArray g) {
        if (!Arrays.equals(g.shape(), shape()) || g.dataType() != dtype()) {
            throw new IllegalArgumentException("addToGrad: the gradient is " + g.dataType() + " " + Arrays.toString(g.shape())
                + " but the tensor is " + dtype() + " " + Arrays.toString(shape()));
        }
        accumulateGrad(g, null);
    }

    /** Clears the gradient (PyTorch's set_to_none): its memory is freed now. */
    public void zeroGrad() {
        Memory.release(grad);
        Memory.release(spareGrad);
        grad = null;
        spareGrad = null;
    }

    /**
     * Clears the gradient as {@link #zeroGrad} does, but keeps its array for the next backward to write into
     * (a trainer's step then creates no gradient array per parameter). The array {@link #grad()} returned before
     * is reused: do not read it after this call.
     */
    public void zeroGradKeepingMemory() {
        if (grad != null) {
            Memory.release(spareGrad);
            spareGrad = grad;
            grad = null;
        }
    }

    /** Keeps this intermediate's value readable after backward releases the graph; returns this. */
    public Tensor keep() {
        kept = true;
        return this;
    }

    /**
     * Changes the value in place outside the graph (optimizer steps, initialisation). Bumps the version so
     * that a backward which saved the old value fails instead of computing a wrong gradient.
     */
    public void mutate(java.util.function.Consumer<INDArray> change) {
        if (requiresGrad && isLeaf() && GradMode.isEnabled()) {
            throw new IllegalStateException("a leaf that requires grad is changed in place while grad mode is on;"
                + " wrap the change in try (var off = GradMode.disable()) { ... }");
        }
        change.accept(value());
        version++;
    }

    /** How many in-place changes this tensor has seen. */
    public int version() {
        return version;
    }

    /** Frees the value (if this tensor owns it) and the gradient now rather than at garbage collection. */
    @Override
    public void close() {
        if (releasedBy == null) {
            release();
        }
        zeroGrad();
    }

    @Override
    public String toString() {
        if (releasedBy != null) {
            return "Tensor(released, from " + releasedBy + ")";
        }
        String from = node == null ? (requiresGrad ? ", requiresGrad" : "") : ", from " + node.op();
        return "Tensor(" + Arrays.toString(value.shape()) + " " + value.dataType() + from + ")\n" + value;
    }

    // ---- package-private: used by the tape and the engine ----

    Node node() {
        return node;
    }

    boolean ownsValue() {
        return ownsValue;
    }

    boolean isKept() {
        return kept;
    }

    INDArray rawValue() {
        return value;
    }

    /** .grad for an in-place addition, zeros first if there is none. */
    INDArray gradForInPlaceAdd() {
        if (grad == null) {
            grad = takeSpareGrad();
            if (grad == null) {
                grad = Nd4j.zeros(dtype(), shape());
            } else {
                Nd4j.getMemoryManager().memset(grad);
            }
        }
        return grad;
    }

    /** Adds g to .grad; {@code owner} (g, the base of g, or null) is taken over or freed. */
    void accumulateGrad(INDArray g, INDArray owner) {
        if (grad == null && owner == g) {
            grad = g;
            Memory.release(takeSpareGrad());
            return;
        }
        if (grad == null) {
            INDArray spare = takeSpareGrad();
            grad = spare == null ? GradArrays.copy(g) : GradArrays.assign(spare, g);
        } else {
            GradArrays.addInto(grad, g);
        }
        Memory.release(owner);
    }

    /** The kept gradient array when it still fits this tensor (its contents are stale), else null. */
    private INDArray takeSpareGrad() {
        INDArray spare = spareGrad;
        spareGrad = null;
        if (spare != null && (spare.wasClosed() || spare.isView() || spare.ordering() != 'c'
                || spare.dataType() != dtype() || !Arrays.equals(spare.shape(), shape()))) {
            Memory.release(spare);
            return null;
        }
        return spare;
    }

    /** Frees the value after backward; later reads fail with a message naming the op. */
    void release() {
        if (ownsValue) {
            Memory.release(value);
        }
        releasedBy = node == null ? "leaf" : node.op();
        value = null;
    }
}
