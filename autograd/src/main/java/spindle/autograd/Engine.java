// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One reverse pass: orders the graph, runs each node's backward once its output gradient is complete,
 * and frees every gradient it no longer needs on the way (a node's output gradient right after its
 * backward ran), so memory does not wait for the garbage collector.
 */
final class Engine {
    /** A gradient being summed, and the array to free once it is used (null when the engine does not own it). */
    private static final class Slot {
        INDArray grad;
        INDArray owner;
    }

    private final Map<Tensor, Slot> pending = new IdentityHashMap<>();
    private final Map<Tensor, INDArray> captured;   // non-null for Autograd.grad: these inputs are not written
    private final Map<Tensor, INDArray> targets;    // non-null for Autograd.backwardInto: leaves' gradients go here
    private final Set<Tensor> reachedTargets = Collections.newSetFromMap(new IdentityHashMap<>());
    private LeafDone leafDone;                      // null: nobody waits for targets to be complete
    private List<Tensor> leafOrder;                 // the targets, in the order the rest are told

    /** Told each backwardInto target once no node left in the pass adds into it. */
    @FunctionalInterface
    interface LeafDone {
        void done(Tensor leaf);
    }

    Engine(Map<Tensor, INDArray> captured) {
        this(captured, null);
    }

    Engine(Map<Tensor, INDArray> captured, Map<Tensor, INDArray> targets) {
        this.captured = captured;
        this.targets = targets;
    }

    /** Calls {@code listener} for each backwardInto target as soon as its gradient is complete, during {@link #run}. */
    Engine onTargetDone(List<Tensor> leaves, LeafDone listener) {
        this.leafOrder = leaves;
        this.leafDone = listener;
        return this;
    }

    /** Runs the reverse pass from {@code roots} seeded with {@code seeds} (freed after use where owned); returns the nodes' tensors in topological order. */
    List<Tensor> run(List<Tensor> roots, List<INDArray> seeds, boolean[] seedsOwned) {
        List<Tensor> order = topologicalOrder(roots);
        for (int i = 0; i < roots.size(); i++) {
            accumulate(roots.get(i), seeds.get(i), seedsOwned[i] ? seeds.get(i) : null);
        }
        TargetCompletion completion = leafDone == null ? null : new TargetCompletion(order, leafOrder);
        for (int i = order.size() - 1; i >= 0; i--) {
            runNode(order.get(i));
            if (completion != null) {
                completion.afterNode(i, leafDone);
            }
        }
        if (completion != null) {
            completion.rest(leafDone);
        }
        return order;
    }

    /** Runs the backward of the node that made {@code t}, once its output gradient is complete. */
    private void runNode(Tensor t) {
        Slot slot = pending.remove(t);
        if (slot == null) {
            return;   // no path from a root carries a gradient here
        }
        if (captured != null && captured.containsKey(t)) {
            captured.put(t, GradArrays.copy(slot.grad));
        }
        Node node = t.node();
        Grads grads = new Grads(this, node, slot.grad);
        node.backward(t).apply(grads);
        if (!grads.flush(slot.owner)) {
            Memory.release(slot.owner);
        }
    }

    /**
     * Adds {@code g} to the gradient of {@code t}: a leaf's {@code .grad}, a captured input, or a pending slot.
     * {@code owner} is the array behind {@code g} that the engine now owns (g itself, or the base of a view),
     * or null when g belongs to someone else and must be neither written nor freed.
     */
    void accumulate(Tensor t, INDArray g, INDArray owner) {
        if (t.isLeaf()) {
            if (targets != null) {
                INDArray target = targets.get(t);
                if (target != null) {
                    GradArrays.addInto(target, g);
                    reachedTargets.add(t);
                }
                Memory.release(owner);
            } else if (captured == null) {
                t.accumulateGrad(g, owner);
            } else if (captured.containsKey(t)) {
                INDArray prev = captured.get(t);
                captured.put(t, prev == null ? GradArrays.copy(g) : GradArrays.addInto(prev, g));
                Memory.release(owner);
            } else {
                Memory.release(owner);
            }
            return;
        }
        Slot slot = pending.get(t);
        if (slot == null) {
            slot = new Slot();
            slot.grad = g;
            slot.owner = owner;
            pending.put(t, slot);
        } else if (slot.owner != null) {
            GradArrays.addInto(slot.grad, g);
            Memory.release(owner);
        } else if (owner != null) {
            slot.grad = GradArrays.addInto(g, slot.grad);
            slot.owner = owner;
        } else {
            slot.grad = GradArrays.sum(slot.grad, g);
            slot.owner = slot.grad;
        }
    }

    /** True when this pass added a gradient into {@code leaf}'s backwardInto target. */
    boolean reachedTarget(Tensor leaf) {
        return reachedTargets.contains(leaf);
    }

    /**
     * Lets {@code writer} add into the gradient of {@code t} where it is kept (a pending slot the engine owns, a
     * leaf's .grad, a backwardInto target, a captured input), creating it as zeros first when there is none;
     * a leaf that is neither a target nor captured (when those are asked for) gets nothing.
     */
    void accumulateInPlace(Tensor t, Grads.PartWriter writer, String op) {
        INDArray into;
        boolean zeros = false;
        if (t.isLeaf()) {
            if (targets != null) {
                into = targets.get(t);
                if (into != null) {
                    reachedTargets.add(t);
                }
            } else if (captured == null) {
                zeros = t.grad() == null;
                into = t.gradForInPlaceAdd();
            } else if (captured.containsKey(t)) {
                zeros = captured.get(t) == null;
                into = zeros ? Nd4j.zeros(t.dtype(), t.shape()) : captured.get(t);
                captured.put(t, into);
            } else {
                into = null;
            }
        } else {
            Slot slot = pending.get(t);
            if (slot == null) {
                slot = new Slot();
                slot.grad = Nd4j.zeros(t.dtype(), t.rawValue().shape());
                slot.owner = slot.grad;
                pending.put(t, slot);
                zeros = true;
            } else if (slot.owner == null) {
                slot.grad = GradArrays.copy(slot.grad);   // borrowed: never written
                slot.owner = slot.grad;
            }
            into = slot.grad;
        }
        if (into != null) {
            writer.write(into, zeros);
            AnomalyMode.check(op, into, true);
        }
    }

    /** Non-leaf tensors reachable from the roots, every tensor after the inputs it was made from. */
    private static List<Tensor> topologicalOrder(List<Tensor> roots) {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object[]> stack = new ArrayDeque<>();   // {tensor, next input index}
        for (Tensor root : roots) {
            if (root.isLeaf() || !visited.add(root)) {
                continue;
            }
            stack.push(new Object[] {root, 0});
            while (!stack.isEmpty()) {
                Object[] top = stack.peek();
                Tensor t = (Tensor) top[0];
                Tensor[] inputs = t.node().inputs();
                int next = (Integer) top[1];
                if (next < inputs.length) {
                    top[1] = next + 1;
                    Tensor in = inputs[next];
                    if (!in.isLeaf() && in.requiresGrad() && visited.add(in)) {
                        stack.push(new Object[] {in, 0});
                    }
                } else {
                    stack.pop();
                    order.add(t);
                }
            }
        }
        return order;
    }
}
