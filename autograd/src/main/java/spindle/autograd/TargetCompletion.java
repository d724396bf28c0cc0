// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * When each leaf's gradient is complete during one reverse pass: the pass runs the nodes from the end of the
 * topological order to its start, so a leaf receives its last contribution from the consumer nearest the start.
 * A data-parallel trainer uses this to send a gradient bucket while backward still runs through earlier layers.
 */
final class TargetCompletion {
    private final Map<Integer, List<Tensor>> byIndex = new HashMap<>();   // order index -> leaves it completes
    private final Set<Tensor> told = Collections.newSetFromMap(new IdentityHashMap<>());
    private final List<Tensor> leaves;

    TargetCompletion(List<Tensor> order, List<Tensor> leaves) {
        this.leaves = leaves;
        Set<Tensor> wanted = Collections.newSetFromMap(new IdentityHashMap<>());
        wanted.addAll(leaves);
        Set<Tensor> placed = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < order.size(); i++) {   // ascending: the first consumer found is the last to run
            for (Tensor in : order.get(i).node().inputs()) {
                if (wanted.contains(in) && placed.add(in)) {
                    byIndex.computeIfAbsent(i, k -> new ArrayList<>()).add(in);
                }
            }
        }
    }

    /** Tells {@code listener} the leaves whose last consumer is the node at {@code index}, which has just run. */
    void afterNode(int index, Engine.LeafDone listener) {
        List<Tensor> done = byIndex.get(index);
        if (done != null) {
            for (Tensor leaf : done) {
                told.add(leaf);
                listener.done(leaf);
            }
        }
    }

    /** Tells {@code listener} the leaves that no node of the pass consumed, in the order they were given. */
    void rest(Engine.LeafDone listener) {
        for (Tensor leaf : leaves) {
            if (told.add(leaf)) {
                listener.done(leaf);
            }
        }
    }
}
