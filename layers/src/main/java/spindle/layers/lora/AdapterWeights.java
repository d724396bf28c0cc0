// SPDX-License-Identifier: Apache-2.0
package spindle.layers.lora;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import spindle.autograd.GradMode;
import spindle.autograd.Tensor;
import spindle.autograd.ops.Widening;
import spindle.data.Safetensors;
import spindle.layers.Module;

/**
 * The tensors of a PEFT adapter ({@value #FILE}): for every adapted module N of a model,
 * {@code base_model.model.N.lora_A.weight} [r, in], {@code base_model.model.N.lora_B.weight} [out, r] and, for
 * DoRA, {@code base_model.model.N.lora_magnitude_vector} [out] (no ".weight"). These are the keys PEFT's
 * {@code save_pretrained} writes and {@code PeftModel.from_pretrained} reads.
 */
public final class AdapterWeights {
    /** The adapter's tensor file in a PEFT adapter directory. */
    public static final String FILE = "adapter_model.safetensors";
    /** What PEFT puts before a module's name: its wrapper (base_model) around the wrapped model (model). */
    public static final String PREFIX = "base_model.model.";

    private AdapterWeights() {}

    /**
     * Every adapter parameter of {@code model} under its PEFT key, in module order; the tensors are the live
     * parameters. Empty when the model has no {@link LoraLinear}.
     */
    public static Map<String, Tensor> peftParameters(Module model) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        model.namedModules().forEach((name, m) -> {
            if (m instanceof LoraLinear lora) {
                out.putAll(adapterOf(name, lora));
            }
        });
        return out;
    }

    /**
     * Writes the adapters of {@code model} to {@code file} (atomically), each tensor in the dtype of the base
     * weight it adapts, as PEFT saves an adapter trained on that base; over a base kept in bf16 the adapters
     * trained in float32 and are saved so (PEFT's autocast_adapter_dtype).
     */
    public static void save(Module model, Path file) {
        Map<String, INDArray> tensors = new LinkedHashMap<>();
        List<INDArray> casts = new ArrayList<>();
        model.namedModules().forEach((name, m) -> {
            if (m instanceof LoraLinear lora) {
                DataType dtype = Widening.computeDtype(lora.weight().dtype());   // float32 over a bf16 base, as PEFT
                adapterOf(name, lora).forEach((key, p) -> {
                    INDArray v = p.value();
                    INDArray stored = v.dataType() == dtype ? v : v.castTo(dtype);
                    if (stored != v) {
                        casts.add(stored);
                    }
                    tensors.put(key, stored);
                });
            }
        });
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("cannot write " + file + ": the model has no LoRA adapters");
        }
        try {
            Safetensors.write(file, tensors, Map.of("format", "pt"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        } finally {
            casts.forEach(INDArray::close);
        }
    }

    /**
     * Loads {@code file} into the adapters of {@code model}, converting each tensor to its parameter's dtype.
     * Strict: a tensor the model lacks, a missing one or one of another shape is an error naming the file, the
     * key and the shapes, and nothing is loaded.
     */
    public static void load(Module model, Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("adapter file " + file + " does not exist");
        }
        Map<String, INDArray> stored;
        try {
            stored = Safetensors.read(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        try {
            load(model, stored, file.toString());
        } finally {
            stored.values().forEach(INDArray::close);
        }
    }

    /**
     * Copies {@code stored} (tensors by PEFT key) into the adapters of {@code model}, converting each to its
     * parameter's dtype; the caller keeps the arrays. Strict: a tensor the model lacks, a missing one or one of
     * another shape is an error naming {@code source}, the key and the shapes, and nothing is loaded.
     */
    public static void load(Module model, Map<String, INDArray> stored, String source) {
        Map<String, Tensor> own = peftParameters(model);
        List<String> problems = mismatches(own, stored);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(source + " does not fit the model's adapters: "
                + String.join("; ", problems));
        }
        try (GradMode.Scope off = GradMode.disable()) {
            own.forEach((key, p) -> p.mutate(v -> {
                INDArray s = stored.get(key);
                INDArray converted = s.dataType() == v.dataType() ? s : s.castTo(v.dataType());
                v.assign(converted);
                if (converted != s) {
                    converted.close();
                }
            }));
        }
    }

    /** The parameters of the adapter on module {@code name}, by PEFT key. */
    private static Map<String, Tensor> adapterOf(String name, LoraLinear lora) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        String key = PREFIX + name + ".";
        out.put(key + "lora_A.weight", lora.loraA().weight());
        out.put(key + "lora_B.weight", lora.loraB().weight());
        if (lora.magnitude() != null) {
            out.put(key + "lora_magnitude_vector", lora.magnitude());
        }
        return out;
    }

    /** One line per key that is missing from {@code stored}, not in {@code own}, or shaped differently. */
    static List<String> mismatches(Map<String, Tensor> own, Map<String, INDArray> stored) {
        List<String> problems = new ArrayList<>();
        own.forEach((key, p) -> {
            INDArray s = stored.get(key);
            if (s == null) {
                problems.add("tensor '" + key + "' is missing (the model's is " + Arrays.toString(p.shape()) + ")");
            } else if (!Arrays.equals(s.shape(), p.shape())) {
                problems.add("tensor '" + key + "' has shape " + Arrays.toString(s.shape()) + " but the model's is "
                    + Arrays.toString(p.shape()));
            }
        });
        stored.forEach((key, s) -> {
            if (!own.containsKey(key)) {
                problems.add("tensor '" + key + "' " + Arrays.toString(s.shape()) + " is not an adapter of the model"
                    + " (the model has no such module or adapter kind)");
            }
        });
        return problems;
    }
}
