// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * Builds the projections of a model. Models take a factory instead of calling {@code new Linear}, so
 * that LoRA or QAT can supply their own layer for the projections they target (by checkpoint name,
 * e.g. "q_proj"), and the base weight keeps its plain key.
 */
@FunctionalInterface
public interface LinearFactory {
    /**
     * @param name the projection's checkpoint name within its parent ("q_proj", "gate_proj")
     */
    Layer create(String name, int in, int out, boolean bias);

    /** Plain {@link Linear} layers of one dtype, filled by {@code init}. */
    static LinearFactory plain(DataType dtype, Init init) {
        return (name, in, out, bias) -> new Linear(in, out, bias, dtype, init);
    }
}
