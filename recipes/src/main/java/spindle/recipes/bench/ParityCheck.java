// SPDX-License-Identifier: Apache-2.0
package spindle.recipes.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;
import spindle.data.Batch;
import spindle.data.Safetensors;
import spindle.layers.lora.AdaptedModel;
import spindle.layers.lora.AdapterWeights;
import spindle.layers.lora.PeftAdapters;
import spindle.layers.models.CausalLm;
import spindle.layers.models.CausalLms;
import spindle.layers.qat.QatConfig;
import spindle.layers.qat.QatLoraModels;
import spindle.layers.qat.QatModels;
import spindle.trainers.LanguageModeling;

/**
 * Compares one float64 training step with PyTorch's, from the files {@code torch_ref.py export} writes:
 * the loss (cross entropy + MoE balance loss) and every parameter's gradient. A directory holding qat.json
 * ({@code export --qat}) is loaded into a model whose projections are fake-quantized; one holding
 * adapter_config.json ({@code export --lora}) is the frozen base with that PEFT adapter, and its adapter gradients
 * are compared under their PEFT names; one holding both ({@code export --qat --lora}) is QAT-LoRA's model, the
 * frozen base fake-quantized and the adapters in float.
 */
final class ParityCheck {
    static final double MAX_LOSS_ABS_ERR = 1e-10;
    static final double MAX_GRAD_REL_ERR = 1e-8;

    private ParityCheck() {}

    /** The comparison: absolute loss error, the largest relative gradient error and its parameter. */
    record Result(double lossAbsErr, double maxGradRelErr, String worstParam, long params) {
        boolean passes() {
            return lossAbsErr <= MAX_LOSS_ABS_ERR && maxGradRelErr <= MAX_GRAD_REL_ERR;
        }

        String toJson() {
            return String.format(java.util.Locale.ROOT,
                "{\"loss_abs_err\": %s, \"max_grad_rel_err\": %s, \"worst_param\": \"%s\", \"params\": %d, \"pass\": %b}",
                jsonNumber(lossAbsErr), jsonNumber(maxGradRelErr), worstParam, params, passes());
        }

        /** JSON has no NaN or Infinity: those become the strings "NaN", "Infinity", so the line still parses. */
        private static String jsonNumber(double x) {
            return Double.isFinite(x) ? String.format(java.util.Locale.ROOT, "%.3e", x) : "\"" + x + "\"";
        }
    }

    static Result run(Path dir) throws IOException {
        boolean lora = PeftAdapters.isAdapterDir(dir);
        CausalLm model = lora ? adapted(dir).model()
            : QatModels.isQat(dir) ? QatModels.fromPretrained(dir, DataType.DOUBLE).model()
            : CausalLms.fromPretrained(dir, DataType.DOUBLE);
        Map<String, Tensor> compared = lora ? AdapterWeights.peftParameters(model) : model.namedParameters();
        Map<String, INDArray> batch = Safetensors.read(dir.resolve("batch.safetensors"));
        INDArray tokens = require(batch, "tokens", dir);
        INDArray targets = require(batch, "targets", dir);
        JsonNode expected = new ObjectMapper().readTree(dir.resolve("expected.json").toFile());
        String expectedFile = dir.resolve("expected.json").toString();
        double expectedLoss = JsonNumbers.require(expected, "cross_entropy", expectedFile)
            + JsonNumbers.require(expected, "aux_loss", expectedFile);

        Tensor loss = new LanguageModeling(model).loss(new Batch(tokens, targets)).loss();
        loss.backward();
        double lossAbsErr = Math.abs(loss.item() - expectedLoss);

        Map<String, INDArray> refGrads = Safetensors.read(dir.resolve("grads.safetensors"));
        double worst = 0;
        String worstName = "";
        for (String name : refGrads.keySet()) {
            if (!compared.containsKey(name)) {   // PyTorch has a gradient for a parameter Spindle lacks
                return new Result(lossAbsErr, 1.0, name + " (no such parameter)", model.parameterCount());
            }
        }
        for (Map.Entry<String, Tensor> e : compared.entrySet()) {
            INDArray ref = require(refGrads, e.getKey(), dir);
            INDArray grad = e.getValue().grad();
            double err = grad == null ? 1.0 : grad.sub(ref).norm2Number().doubleValue() / Math.max(ref.norm2Number().doubleValue(), 1e-300);
            // a NaN error is the worst there is, and stays the worst once found
            if (worstName.isEmpty() || !Double.isNaN(worst) && !(err <= worst)) {
                worst = err;
                worstName = e.getKey();
            }
        }
        return new Result(lossAbsErr, worst, worstName, model.parameterCount());
    }

    /** The exported base with its PEFT adapter; with a qat.json too (export --qat --lora), QAT-LoRA's model. */
    private static AdaptedModel adapted(Path dir) {
        if (!QatModels.isQat(dir)) {
            return PeftAdapters.fromPretrained(dir, dir, DataType.DOUBLE);
        }
        QatConfig qat = QatConfig.read(dir.resolve(QatModels.QAT_JSON));
        AdaptedModel adapted = QatLoraModels.fromPretrained(dir, DataType.DOUBLE, qat, PeftAdapters.config(dir), 0).adapted();
        PeftAdapters.load(adapted, dir);
        return adapted;
    }

    private static INDArray require(Map<String, INDArray> tensors, String key, Path dir) {
        INDArray t = tensors.get(key);
        if (t == null) {
            throw new IllegalArgumentException(dir + ": tensor '" + key + "' is missing (expected a torch_ref.py export)");
        }
        return t;
    }
}
