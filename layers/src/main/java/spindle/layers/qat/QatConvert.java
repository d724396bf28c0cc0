// SPDX-License-Identifier: Apache-2.0
package spindle.layers.qat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.Tensor;
import spindle.data.HfConfig;
import spindle.data.Safetensors;
import spindle.layers.Linear;
import spindle.layers.Module;
import spindle.layers.lora.LoraLinear;
import spindle.layers.models.CausalLm;

/**
 * torchao's convert step: a model (prepared for QAT or plain, which is post-training quantization) becomes a
 * quantized model directory. Each linear the scheme quantizes (the rule of {@link QatModels}: input size
 * divisible by the group size, the router never, a tied head on the embedding's weight) is stored as
 * {@code <module>.weight} int8 codes, {@code <module>.scales} and, for int4wo, {@code <module>.zeros} (see
 * {@link QuantizedWeight}); every other tensor is written as it is. config.json gets the scheme under
 * {@value #CONFIG_KEY}; a quantized tied head is written as an untied {@code lm_head}, so config.json then says
 * {@code "tie_word_embeddings": false}.
 */
public final class QatConvert {
    /** The config.json key of a converted model: {"quant_method": "spindle_qat", "scheme": ..., "group_size": ...}. */
    public static final String CONFIG_KEY = "quantization_config";
    /** The quant_method value that marks a Spindle-converted model. */
    public static final String QUANT_METHOD = "spindle_qat";
    private static final String WEIGHTS = "model.safetensors";

    private QatConvert() {}

    /** The converted tensors in checkpoint order, the quantized modules and the skipped linears with reasons. */
    public record Converted(Map<String, INDArray> tensors, List<String> quantized, List<String> skipped) {}

    /**
     * What {@link #write} wrote: the weights file, its size in bytes, the bytes the same model's tensors take in
     * float32 (header excluded), and the quantized and skipped modules.
     */
    public record Report(Path file, long fileBytes, long float32Bytes, List<String> quantized, List<String> skipped) {
        /** File size over the float32 size. */
        public double ratio() {
            return (double) fileBytes / float32Bytes;
        }

        /** One JSON line, e.g. {"file": ..., "bytes": 2048, "float32_bytes": 8192, "ratio": 0.25, ...}. */
        public String toJson() {
            return String.format(Locale.ROOT, "{\"file\": \"%s\", \"bytes\": %d, \"float32_bytes\": %d, \"ratio\": %.4f,"
                + " \"quantized\": %d, \"skipped\": %s}", file.toString().replace("\\", "/"), fileBytes, float32Bytes,
                ratio(), quantized.size(), skipped.stream().map(s -> "\"" + s + "\"").toList());
        }
    }

    /** The quantized state of {@code model} under {@code qat}; the model is not changed. */
    public static Converted convert(CausalLm model, QatConfig qat) {
        List<String> skipped = new ArrayList<>();
        Map<String, Tensor> targets = targets(model, qat, skipped);
        Map<String, INDArray> out = new LinkedHashMap<>();
        model.stateDict().forEach((key, value) -> {
            String module = key.endsWith(".weight") ? key.substring(0, key.length() - ".weight".length()) : null;
            if (module != null && targets.containsKey(module)) {
                putQuantized(out, module, targets.get(module), qat);
            } else {
                out.put(key, value);
            }
        });
        if (targets.containsKey("lm_head") && !out.containsKey("lm_head.weight")) {
            putQuantized(out, "lm_head", targets.get("lm_head"), qat);   // the tied head
        }
        return new Converted(out, List.copyOf(targets.keySet()), List.copyOf(skipped));
    }

    /**
     * Writes the converted model to {@code dir} (model.safetensors and config.json, the latter from {@code config}
     * with the scheme added) and reports the file size against float32.
     */
    public static Report write(CausalLm model, HfConfig config, QatConfig qat, Path dir) {
        Converted converted = convert(model, qat);
        Path file = dir.resolve(WEIGHTS);
        Map<String, Object> json = new LinkedHashMap<>(config.asMap());
        Map<String, Object> scheme = new LinkedHashMap<>();
        scheme.put("quant_method", QUANT_METHOD);
        scheme.put("scheme", qat.scheme().id());
        scheme.put("group_size", qat.groupSize());
        json.put(CONFIG_KEY, scheme);
        if (config.bool("tie_word_embeddings", false) && converted.quantized().contains("lm_head")) {
            json.put("tie_word_embeddings", false);
        }
        try {
            Files.createDirectories(dir);
            Safetensors.write(file, converted.tensors(), Map.of("format", "pt"));
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), json);
            long float32 = model.stateDict().values().stream().mapToLong(a -> a.length() * Float.BYTES).sum();
            return new Report(file, Files.size(file), float32, converted.quantized(), converted.skipped());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the converted model to " + dir, e);
        }
    }

    /** The weight of every linear to quantize, by module name; the linears left float go to {@code skipped}. */
    private static Map<String, Tensor> targets(CausalLm model, QatConfig qat, List<String> skipped) {
        Map<String, Tensor> targets = new LinkedHashMap<>();
        Map<String, Module> modules = model.namedModules();
        modules.forEach((name, m) -> {
            if (m instanceof LoraLinear) {
                throw new IllegalArgumentException("convert: " + name + " has LoRA adapters; merge them first");
            }
            if (m instanceof QatLinear q && (q.scheme() != qat.scheme() || q.groupSize() != qat.groupSize())) {
                throw new IllegalArgumentException("convert: " + name + " is prepared for " + q.scheme().id()
                    + " with group_size " + q.groupSize() + " but the conversion asks for " + qat.scheme().id()
                    + " with group_size " + qat.groupSize());
            }
            Tensor weight = m instanceof Linear l ? l.weight() : m instanceof QatLinear q ? q.weight() : null;
            if (weight != null) {
                addIfQualifies(targets, skipped, name, weight, qat);
            }
        });
        if (!modules.containsKey("lm_head")) {
            addIfQualifies(targets, skipped, "lm_head", model.model().embedTokens().weight(), qat);
        }
        return targets;
    }

    private static void addIfQualifies(Map<String, Tensor> targets, List<String> skipped, String name, Tensor weight,
                                       QatConfig qat) {
        int in = (int) weight.shape()[1];
        if (qat.scheme().qualifies(in, qat.groupSize())) {
            targets.put(name, weight);
        } else {
            skipped.add(name + " (in_features " + in + " not divisible by group_size " + qat.groupSize() + ")");
        }
    }

    private static void putQuantized(Map<String, INDArray> out, String module, Tensor weight, QatConfig qat) {
        QuantizedWeight q = QuantizedWeight.quantize(weight.value(), qat.scheme(), qat.groupSize());
        out.put(module + ".weight", q.codes());
        out.put(module + ".scales", q.scales());
        if (q.zeros() != null) {
            out.put(module + ".zeros", q.zeros());
        }
    }
}
