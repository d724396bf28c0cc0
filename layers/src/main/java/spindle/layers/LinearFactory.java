// SPDX-License-Identifier: Apache-2.0
package spindle.layers;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * Builds the projections of a model. Models take a factory instead of calling {@code new Linear}, so
 * that LoRA or QAT can supply their own layer for the projections they target, and the base weight keeps
 * its plain key. Containers pass their children a {@link #scoped} factory, so the name a model's factory
 * sees is the projection's full module name, the one PEFT matches ("model.layers.1.mlp.experts.3.up_proj").
 */
@FunctionalInterface
public interface LinearFactory {
    /**
     * @param name the projection's module name: the full dotted name inside a model
     *     ("model.layers.0.self_attn.q_proj"), or only its name within its parent ("q_proj") for a layer
     *     built on its own with an unscoped factory
     */
    Layer create(String name, int in, int out, boolean bias);

    /**
     * This factory with {@code prefix + "."} put before every name; scoping a scoped factory nests, so
     * {@code f.scoped("model.layers.0").scoped("mlp")} names "model.layers.0.mlp.up_proj".
     */
    default LinearFactory scoped(String prefix) {
        if (prefix == null || prefix.isEmpty() || prefix.startsWith(".") || prefix.endsWith(".")) {
            throw new IllegalArgumentException("LinearFactory.scoped: prefix must be a non-empty dotted module name,"
                + " got '" + prefix + "'");
        }
        LinearFactory outer = this;
        return (name, in, out, bias) -> outer.create(prefix + "." + name, in, out, bias);
    }

    /** The last segment of a module name: "q_proj" for "model.layers.0.self_attn.q_proj". */
    static String lastSegment(String name) {
        return name.substring(name.lastIndexOf('.') + 1);
    }

    /** Plain {@link Linear} layers of one dtype, filled by {@code init}. */
    static LinearFactory plain(DataType dtype, Init init) {
        return (name, in, out, bias) -> new Linear(in, out, bias, dtype, init);
    }
}
