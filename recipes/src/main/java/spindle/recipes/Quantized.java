// SPDX-License-Identifier: Apache-2.0
package spindle.recipes;

import java.nio.file.Path;
import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import spindle.data.HfConfig;
import spindle.layers.models.CausalLm;
import spindle.layers.qat.QatConfig;
import spindle.layers.qat.QatConvert;
import spindle.layers.qat.QuantizedModels;

/** Convert a model (torchao's convert step), write it, and load it back with quantized linears. */
final class Quantized {
    private Quantized() {}

    /** Writes the converted {@code model} to {@code dir}, prints its size, and returns the loaded quantized model. */
    static CausalLm convert(CausalLm model, HfConfig hf, QatConfig qat, Path dir) {
        QatConvert.Report report = QatConvert.write(model, hf, qat, dir);
        System.out.println(String.format(Locale.ROOT, "converted %s: %d linears quantized, %.1f%% of the float32 size",
            dir, report.quantized().size(), 100 * report.ratio()));
        return QuantizedModels.fromPretrained(dir, DataType.FLOAT);
    }
}
