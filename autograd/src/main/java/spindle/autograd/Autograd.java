// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Reverse-mode differentiation over the tape: {@link #backward} fills {@code .grad}, {@link #grad} returns gradients. */
public final class Autograd {
    private Autograd() {}

    /**
     * Backpropagates from {@code root}: d root / d leaf (times {@code seed}) is added to each leaf's grad.
     * {@code seed} may be null for a one-element root. Unless {@code retainGraph}, the graph is released:
     * intermediates' values and saved arrays are freed and a second backward through it is an error.
     */
    public static void backward(Tensor root, INDArray seed, boolean retainGraph) {
        List<Tensor> roots = List.of(root);
        List<INDArray> seeds = List.of(seedFor(root, seed, "backward"));
        List<Tensor> order = new Engine(null).run(roots, seeds, new boolean[] {seed == null});
        if (!retainGraph) {
            release(order, roots);
        }
    }

    /**
     * Adds d root / d leaves[j] (times {@code seed}) into {@code targets[j]}, arrays the caller owns (a data-parallel
     * replica's views into its flat gradient buffer, say), instead of into {@code .grad}; other leaves get nothing.
     * {@code seed} may be null for a one-element root. The graph is released, as by {@link #backward}. Returns,
     * per leaf, whether the backward reached it (a leaf it did not reach got nothing, not even zeros).
     */
    public static boolean[] backwardInto(Tensor root, INDArray seed, List<Tensor> leaves, List<INDArray> targets) {
        return backwardInto(root, seed, leaves, targets, null);
    }

    /**
     * {@link #backwardInto(Tensor, INDArray, List, List)} that also calls {@code onComplete} with the index of each
     * leaf, once, as soon as no op left in the pass adds into its target (a leaf the pass does not reach is told at
     * the end), so a caller can send finished gradients while the pass runs on; null for no calls.
     */
    public static boolean[] backwardInto(Tensor root, INDArray seed, List<Tensor> leaves, List<INDArray> targets,
                                         IntConsumer onComplete) {
        if (leaves.size() != targets.size()) {
            throw new IllegalArgumentException("backwardInto: " + leaves.size() + " leaves but " + targets.size()
                + " targets");
        }
        Map<Tensor, INDArray> into = new IdentityHashMap<>();
        for (int i = 0; i < leaves.size(); i++) {
            Tensor leaf = leaves.get(i);
            INDArray target = targets.get(i);
            if (!leaf.isLeaf()) {
                throw new IllegalArgumentException("backwardInto: leaves[" + i + "] is the output of an op, not a leaf");
            }
            if (!Arrays.equals(leaf.shape(), target.shape()) || leaf.dtype() != target.dataType()) {
                throw new IllegalArgumentException("backwardInto: targets[" + i + "] is " + target.dataType() + " "
                    + Arrays.toString(target.shape()) + " but leaves[" + i + "] is " + leaf.dtype() + " "
                    + Arrays.toString(leaf.shape()));
            }
            into.put(leaf, target);
        }
        List<Tensor> roots = List.of(root);
        List<INDArray> seeds = List.of(seedFor(root, seed, "backwardInto"));
        Engine engine = new Engine(null, into);
        if (onComplete != null) {
            Map<Tensor, Integer> index = new IdentityHashMap<>();
            for (int i = 0; i < leaves.size(); i++) {
                index.put(leaves.get(i), i);
            }
            engine.onTargetDone(leaves, leaf -> onComplete.accept(index.get(leaf)));
        }
        List<Tensor> order = engine.run(roots, seeds, new boolean[] {seed == null});
        release(order, roots);
        boolean[] reached = new boolean[leaves.size()];
        for (int i = 0; i < reached.length; i++) {
            reached[i] = engine.reachedTarget(leaves.get(i));
        }
        return reached;
    }

    /**
     * d (sum of outputs[i] * seeds[i]) / d inputs[j], without touching any {@code .grad}; a null seed means
     * ones for a one-element output. An input the outputs do not depend on gets a zero gradient.
     */
    public static List<INDArray> grad(List<Tensor> outputs, List<Tensor> inputs, List<INDArray> seeds, boolean retainGraph) {
        Map<Tensor, INDArray> captured = new IdentityHashMap<>();
        for (Tensor in : inputs) {
            captured.put(in, null);
        }
        List<INDArray> seedList = new ArrayList<>();
        boolean[] owned = new boolean[outputs.size()];
        for (int i = 0; i < outputs.size(); i++) {
            INDArray given = seeds == null ? null : seeds.get(i);
            seedList.add(seedFor(outputs.get(i), given, "grad"));
            owned[i] = given == null;
        }
        List<Tensor> order = new Engine(captured).run(outputs, seedList, owned);
        List<INDArray> result = new ArrayList<>();
        for (Tensor in : inputs) {
            INDArray g = captured.get(in);
            result.add(g != null ? g : Nd4j.zeros(in.dtype(), in.shape()));
        }
        if (!retainGraph) {
            release(order, outputs);
        }
        return result;
    }

    /** {@link #grad(List, List, List, boolean)} of one scalar output, releasing the graph. */
    public static List<INDArray> grad(Tensor output, Tensor... inputs) {
        return grad(List.of(output), Arrays.asList(inputs), null, false);
    }

    private static INDArray seedFor(Tensor root, INDArray seed, String where) {
        if (!root.requiresGrad()) {
            throw new IllegalStateException(where + ": the tensor does not require grad (no input of the ops that made it"
                + " requires grad, or it was computed with grad mode disabled)");
        }
        if (seed == null) {
            if (root.value().length() != 1) {
                throw new IllegalArgumentException(where + ": a seed gradient is needed for a non-scalar output of shape "
                    + Arrays.toString(root.shape()));
            }
            return Nd4j.onesLike(root.value());
        }
        if (!Arrays.equals(seed.shape(), root.shape())) {
            throw new IllegalArgumentException(where + ": seed has shape " + Arrays.toString(seed.shape())
                + " but the output has shape " + Arrays.toString(root.shape()));
        }
        return seed;
    }

    /** Frees the graph's intermediates except the roots, tensors marked keep(), and buffers they share. */
    private static void release(List<Tensor> order, List<Tensor> roots) {
        Set<DataBuffer> kept = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : order) {
            if (t.isKept() || roots.contains(t)) {
                DataBuffer d = t.rawValue().data();
                kept.add(d);
                if (d.originalDataBuffer() != null) {
                    kept.add(d.originalDataBuffer());
                }
            }
        }
        for (Tensor t : order) {
            t.node().free(kept);
            boolean keep = t.isKept() || roots.contains(t) || kept.contains(t.rawValue().data());
            if (!keep) {
                t.release();
            }
        }
    }
}
