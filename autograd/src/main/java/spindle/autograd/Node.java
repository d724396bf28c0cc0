// SPDX-License-Identifier: Apache-2.0
package spindle.autograd;

import java.util.Set;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A tape entry: which op made a tensor, from which inputs (at which versions), and how to go back. */
final class Node {
    private final String op;
    private final Tensor[] inputs;
    private final int[] versions;
    private Backward backward;
    private INDArray[] saved;
    private final boolean savesOutput;

    /** {@code savesOutput}: one of the saved arrays is (a view of) the op's own output. */
    Node(String op, Tensor[] inputs, INDArray[] saved, boolean savesOutput, Backward backward) {
        this.op = op;
        this.inputs = inputs;
        this.saved = saved;
        this.savesOutput = savesOutput;
        this.backward = backward;
        this.versions = new int[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            versions[i] = inputs[i].version();
        }
    }

    String op() {
        return op;
    }

    Tensor[] inputs() {
        return inputs;
    }

    INDArray[] saved() {
        return saved;
    }

    /**
     * The backward, after checking that no input was changed in place since the forward saved it, nor the
     * op's {@code output} when the op saved that.
     */
    Backward backward(Tensor output) {
        if (backward == null) {
            throw new IllegalStateException("backward through op '" + op + "' a second time: the graph was released"
                + " after the first backward (pass retainGraph = true to Autograd.backward to keep it)");
        }
        if (savesOutput && output.version() != 0) {
            throw new IllegalStateException("op '" + op + "' saved its output for backward, but it was modified in"
                + " place afterwards (version 0 -> " + output.version() + ")");
        }
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i].version() != versions[i]) {
                throw new IllegalStateException("op '" + op + "' saved input " + i + " for backward, but it was modified"
                    + " in place afterwards (version " + versions[i] + " -> " + inputs[i].version() + ")");
            }
        }
        return backward;
    }

    /**
     * Drops the backward closure and frees the arrays saved only for it: not those in {@code kept} (the
     * buffers of roots and kept tensors, which an op may save, e.g. its own output).
     */
    void free(Set<DataBuffer> kept) {
        backward = null;
        if (saved != null) {
            for (INDArray s : saved) {
                DataBuffer d = s.wasClosed() ? null : s.data();
                boolean spare = d == null || kept.contains(d)   // already freed, or a kept tensor's buffer
                    || (d.originalDataBuffer() != null && kept.contains(d.originalDataBuffer()));
                if (!spare) {
                    Memory.release(s);
                }
            }
            saved = null;
        }
    }
}
