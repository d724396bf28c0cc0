// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.layers.lora.PeftAdapters;
import spindle.layers.models.CausalLm;
import spindle.layers.qat.QuantizedModels;

/** The model generate and eval run: a model directory as saved, or a base with a PEFT adapter applied unmerged. */
final class RunnableModels {
    private RunnableModels() {}

    /**
     * Without an adapter, the directory's model, quantized or fake-quantized as saved; with one, the base of
     * {@code modelDir} and the adapter directory's LoRA layers, unmerged (what its merged model computes).
     */
    static CausalLm load(Path modelDir, Path adapter) {
        return adapter == null ? QuantizedModels.loadAny(modelDir, DataType.FLOAT)
            : PeftAdapters.fromPretrained(modelDir, adapter, DataType.FLOAT).model();
    }
}
