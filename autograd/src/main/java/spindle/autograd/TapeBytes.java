// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a recorded graph holds until backward releases it: the off-heap bytes of its intermediates' values and
 * of the arrays its ops saved, each buffer counted once (a view counts as the buffer it looks into). Leaves
 * (parameters, inputs) are not counted. This is the activation memory of a training step, the part of its
 * peak memory that grows with the batch.
 *
 * <pre>{@code
 * long bytes = TapeBytes.of(objective.loss(batch).loss());
 * }</pre>
 */
public final class TapeBytes {
    private TapeBytes() {}

    /** Bytes held by the graph that made {@code root}, root included; 0 for a leaf. */
    public static long of(Tensor root) {
        Set<DataBuffer> counted = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Tensor> todo = new ArrayDeque<>();
        todo.push(root);
        long bytes = 0;
        while (!todo.isEmpty()) {
            Tensor t = todo.pop();
            if (t.isLeaf() || !visited.add(t)) {
                continue;
            }
            bytes += bytesOnce(t.value(), counted);
            INDArray[] saved = t.node().saved();
            for (int i = 0; saved != null && i < saved.length; i++) {
                bytes += bytesOnce(saved[i], counted);
            }
            for (Tensor in : t.node().inputs()) {
                todo.push(in);
            }
        }
        return bytes;
    }

    private static long bytesOnce(INDArray a, Set<DataBuffer> counted) {
        DataBuffer d = a.data();
        DataBuffer whole = d.originalDataBuffer() != null ? d.originalDataBuffer() : d;
        return counted.add(whole) ? whole.length() * whole.getElementSize() : 0;
    }
}
